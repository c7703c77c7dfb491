# Helpers shared by the CLI tests (bats).  Load with: load lib
#
#   $HEAPSNAP          the binary under test (tests/run.sh exports it)
#   make_snapshot F N  builds snapshot N.db in $BATS_TEST_TMPDIR from the
#                      schema plus tests/fixtures/F.sql; prints its path
#   python_for KEY     the interpreter of key KEY (3.12.1), from config.mk
#   check_json         stdin must parse as JSON
#   check_dot FILE PY  runs python code PY on the DOT file FILE parsed by
#                      dotlib.py (g, objects, helpers, refs, and
#                      pairs = {(tail, head): label})
#   SAN_ENV            env(1) words a Python importing this build's agent
#                      needs (empty unless SAN=1; tests/sanitizers.bash)

ROOT=${ROOT:-$(cd "$BATS_TEST_DIRNAME/../.." && pwd)}
BUILD=${BUILD:-build}
HEAPSNAP=${HEAPSNAP:-$ROOT/$BUILD/heapsnap}
source "$ROOT/tests/sanitizers.bash"

make_snapshot() {
    local fixture=$1 name=${2:-$1}
    local out="$BATS_TEST_TMPDIR/$name.db"
    rm -f "$out"
    sqlite3 "$out" < "$ROOT/schema/heapsnap.sql" || return 1
    sqlite3 "$out" < "$ROOT/tests/fixtures/$fixture.sql" || return 1
    echo "$out"
}

python_for() {
    sed -n "s/^PY_$1_EXE := //p" "$ROOT/$BUILD/config.mk"
}

# Every Python the build made an agent for, one "KEY EXE" per line (KEY as
# tools/pythons.sh makes it: 3.11.2), oldest first.
pythons() {
    sed -n 's/^PY_\([0-9.]*[a-z]*\)_EXE := \(.*\)$/\1 \2/p' "$ROOT/$BUILD/config.mk"
}

default_python() {
    python_for "$(pythons | tail -1 | cut -d' ' -f1)"
}

check_json() {
    python3 -c 'import json, sys; json.load(sys.stdin)'
}

check_dot() {
    PYTHONPATH="$BATS_TEST_DIRNAME" PYTHONDONTWRITEBYTECODE=1 python3 -c "
from dotlib import load
g, objects, helpers, refs = load('$1')
pairs = {(t, h): l for t, h, a, l in refs}
$2"
}
