#!/bin/bash
# Browser tests of heapsnap's web viewer (heapsnap serve); prints TAP.
#   1. installs playwright-core from package-lock.json into node_modules
#      when it is missing (npm ci; no browser is downloaded: the tests
#      drive Debian's chromium, see tools/deps.sh web);
#   2. snapshots examples/leaky_service.py with the build's agent, midway
#      (leaky.1.db) and at exit (leaky.db);
#   3. writes what the CLI says about them for the tests to compare with
#      (`top --objects --json`, `diff --json`);
#   4. serves leaky.db with `heapsnap serve --diff leaky.1.db --port 0`
#      and runs viewer.test.js on the address it prints (with its token).
# Environment: BUILD (default build), HEAPSNAP (default $ROOT/$BUILD/heapsnap),
# HEAPSNAP_AGENT_DIR (default $ROOT/$BUILD), CHROMIUM (default
# /usr/bin/chromium).  A SAN=1 build's `heapsnap dump --` preloads the
# sanitizer runtimes into the program itself (cmd_dump.c).
# Without chromium, node or npm it skips (1..0 # SKIP).
set -u
HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BUILD=${BUILD:-build}
HEAPSNAP=${HEAPSNAP:-$ROOT/$BUILD/heapsnap}
export CHROMIUM=${CHROMIUM:-/usr/bin/chromium}

skip_all() {
    echo "1..0 # SKIP $1"
    exit 0
}
bail() {
    echo "Bail out! $1"
    exit 1
}

[ -x "$CHROMIUM" ] || skip_all "no chromium at $CHROMIUM (tools/deps.sh web installs it)"
command -v node >/dev/null && command -v npm >/dev/null || skip_all "no node and npm"
[ -x "$HEAPSNAP" ] || bail "no heapsnap binary at $HEAPSNAP (make first)"

if [ ! -f "$HERE/node_modules/playwright-core/package.json" ]; then
    (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund) >&2 ||
        bail "npm ci failed in tests/web"
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/heapsnap-web.XXXXXX")
SERVER=
cleanup() {
    if [ -n "$SERVER" ]; then
        kill -TERM "$SERVER" 2>/dev/null
        wait "$SERVER" 2>/dev/null
    fi
    rm -rf "$TMP"
}
trap cleanup EXIT

env HEAPSNAP_AGENT_DIR="${HEAPSNAP_AGENT_DIR:-$ROOT/$BUILD}" "$HEAPSNAP" dump -o "$TMP/leaky.db" \
    -- python3 "$ROOT/examples/leaky_service.py" --midway > "$TMP/dump.log" 2>&1 || {
    cat "$TMP/dump.log" >&2
    bail "cannot snapshot examples/leaky_service.py"
}

"$HEAPSNAP" top -f "$TMP/leaky.db" --objects -n 5 --json > "$TMP/top.json" ||
    bail "heapsnap top --objects failed"
"$HEAPSNAP" diff "$TMP/leaky.1.db" "$TMP/leaky.db" -n 0 --paths 5 --json > "$TMP/diff.json" ||
    bail "heapsnap diff failed"
export HEAPSNAP_TOP_JSON="$TMP/top.json" HEAPSNAP_DIFF_JSON="$TMP/diff.json"

"$HEAPSNAP" serve -f "$TMP/leaky.db" --diff "$TMP/leaky.1.db" --port 0 > /dev/null 2> "$TMP/serve.log" &
SERVER=$!
url=
for _ in $(seq 600); do
    url=$(sed -n 's|^heapsnap: serving .* at \(http://127\.0\.0\.1:[0-9]*/?token=[0-9a-f]*\) (Ctrl-C stops)$|\1|p' "$TMP/serve.log")
    [ -n "$url" ] && break
    kill -0 "$SERVER" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$url" ]; then
    cat "$TMP/serve.log" >&2
    bail "heapsnap serve did not start"
fi

node "$HERE/viewer.test.js" "$url"
