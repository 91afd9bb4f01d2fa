#!/usr/bin/env bash
# The Debian packages the test suite drives, installed where missing: run by
# `npm test` (pretest) and .ci/run, so a fresh clone's first run never ends in
# `spawn nginx ENOENT`. wrk for the bench harness test, as `npm run bench`
# does; systemd-notify and systemd-socket-activate (in systemd), and python3,
# which binds the NOTIFY_SOCKET the systemd tests read (Node has no unix
# datagram sockets); nginx, the load balancer of the Kubernetes and fleet
# tests (test/integration/); iproute2 (ip), which makes the fleet's hosts;
# util-linux (unshare), the PID 1 test's namespace; chromium, the browser
# playwright-core drives in the admin page's test.
#
# Installs with apt-get as root, or through sudo when it needs no password;
# otherwise stops in one line naming the packages and the command, exit 1.
set -euo pipefail

needs=(wrk:wrk systemd-notify:systemd systemd-socket-activate:systemd python3:python3 nginx:nginx ip:iproute2 unshare:util-linux chromium:chromium)
missing=()
for need in "${needs[@]}"; do
  command -v "${need%%:*}" >/dev/null 2>&1 && continue
  package="${need#*:}"
  [[ " ${missing[*]} " == *" $package "* ]] || missing+=("$package")
done
[ ${#missing[@]} -eq 0 ] && exit 0

install="apt-get install -y ${missing[*]}"
stop() {
  echo "the tests need Debian packages that are missing: ${missing[*]}; install them with: $1" >&2
  exit 1
}
command -v apt-get >/dev/null 2>&1 || stop "$install (or your system's equivalent)"
if [ "$(id -u)" = 0 ]; then
  sudo=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  sudo="sudo "
else
  stop "sudo $install"
fi
# No questions asked: sudo passes the variable on only when given as an argument.
apt() {
  if [ -z "$sudo" ]; then DEBIAN_FRONTEND=noninteractive apt-get "$@"; else sudo -n DEBIAN_FRONTEND=noninteractive apt-get "$@"; fi
}
echo "installing the Debian packages the tests drive: ${missing[*]}" >&2
apt update -qq >/dev/null || stop "${sudo}apt-get update && ${sudo}$install"
apt install -y -qq "${missing[@]}" >/dev/null || stop "${sudo}$install"
