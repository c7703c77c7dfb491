#!/usr/bin/env bats
# The pytest plugin (agent/heapsnap/pytest_plugin.py) on the build tree:
# Debian's python3-pytest under /usr/bin/python3 with its agent on
# PYTHONPATH and `-p heapsnap.pytest_plugin`.  A test marked no_leaks that
# leaves objects alive fails, and its message has heapsnap why's path to
# them; a clean one passes; the counts are the live process's own; what a
# fixture's teardown releases, what existed before, and classes outside the
# project are no leak; --heapsnap-dump-on-leak keeps the snapshot; the
# heapsnap_leaks fixture checks a block.  The overhead per marked test is
# printed (never checked).

load lib

setup() {
    key=$(pythons | while read -r k exe; do
              [ "$(readlink -f "$exe")" = "$(readlink -f /usr/bin/python3)" ] &&
                  echo "$k" && break
          done)
    [ -n "$key" ] && [ -d "$ROOT/$BUILD/py$key/heapsnap" ] ||
        skip "no agent for /usr/bin/python3 in $BUILD"
    /usr/bin/python3 -c 'import pytest' 2>/dev/null || skip "no python3-pytest"
    export PYTHONPATH="$ROOT/$BUILD/py$key"
    export PYTHONDONTWRITEBYTECODE=1
    mkdir -p "$BATS_TEST_TMPDIR/proj" "$BATS_TEST_TMPDIR/tmp"
    export TMPDIR="$BATS_TEST_TMPDIR/tmp"
    cd "$BATS_TEST_TMPDIR/proj"
}

run_pytest() {
    run env "${SAN_ENV[@]}" /usr/bin/python3 -m pytest -p heapsnap.pytest_plugin -q \
        -p no:cacheprovider "$@"
}

@test "pytest: a leaking test fails with the path in its message, a clean one passes" {
    n=$((RANDOM % 50 + 7))
    cat > test_app.py <<EOF
import pytest

CACHE = []


class Request:
    def __init__(self, n):
        self.n = n


@pytest.mark.no_leaks(types=["Request"])
def test_leaks():
    for i in range($n):
        CACHE.append(Request(i))


@pytest.mark.no_leaks(types=["Request"])
def test_clean():
    reqs = [Request(i) for i in range(100)]
    assert len(reqs) == 100
EOF
    run_pytest test_app.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"1 failed, 1 passed"* ]]
    [[ "$output" == *"FAILED test_app.py::test_leaks"* ]]
    [[ "$output" == *"heapsnap: $n objects created during the test are still alive after it and gc.collect(): $n test_app.Request"* ]]
    [[ "$output" == *"$n Request objects ("*") are alive because:"* ]]
    [[ "$output" == *"module test_app .CACHE → list [*] → Request"* ]]
    # No snapshot is left behind without --heapsnap-dump-on-leak.
    [ -z "$(ls -A "$TMPDIR")" ]
}

@test "pytest: no_leaks without types watches the project's classes only" {
    mkdir -p pkg
    cat > pkg/__init__.py <<'EOF'
class Model:
    pass
EOF
    cat > test_proj.py <<'EOF'
import argparse
import pytest
from pkg import Model

KEEP = []


@pytest.mark.no_leaks
def test_project_class():
    KEEP.append(Model())


@pytest.mark.no_leaks
def test_stdlib_class():
    KEEP.append(argparse.Namespace(a=1))


@pytest.mark.no_leaks(types=["argparse.Namespace"])
def test_stdlib_class_named():
    KEEP.append(argparse.Namespace(b=2))
EOF
    run_pytest test_proj.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"2 failed, 1 passed"* ]]
    [[ "$output" == *"FAILED test_proj.py::test_project_class"* ]]
    [[ "$output" == *"1 pkg.Model"*"module test_proj .KEEP → list [0] → Model"* ]]
    [[ "$output" == *"FAILED test_proj.py::test_stdlib_class_named"* ]]
    [[ "$output" == *"1 argparse.Namespace"*"module test_proj .KEEP → list [2] → Namespace"* ]]
}

@test "pytest: fixtures' objects, older objects and a reused address" {
    cat > test_fix.py <<'EOF'
import pytest

OLD = []


class Conn:
    pass


@pytest.fixture(scope="session")
def pool():
    return [Conn() for _ in range(3)]    # made in set-up: no leak


@pytest.fixture
def conn():
    c = Conn()
    yield c                              # released by its teardown


@pytest.mark.no_leaks
def test_fixtures(pool, conn):
    conn.peer = Conn()                   # dies with conn at teardown
    pool.append(None)


def test_make_old():
    OLD.append(Conn())


@pytest.mark.no_leaks
def test_reused_address():
    # The old object dies and a new one takes its address (usually) and
    # stays: new all the same.
    old_id = id(OLD[0])
    del OLD[0]
    OLD.append(Conn())
    print("same address:", id(OLD[0]) == old_id)
EOF
    run_pytest -s test_fix.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"1 failed, 2 passed"* ]]
    [[ "$output" == *"FAILED test_fix.py::test_reused_address"* ]]
    [[ "$output" == *"heapsnap: 1 object created during the test is still alive after it and gc.collect(): 1 test_fix.Conn"* ]]
    [[ "$output" == *"module test_fix .OLD → list [0] → Conn"* ]]
}

@test "pytest: --heapsnap-dump-on-leak DIR keeps the snapshot for heapsnap" {
    cat > test_keep.py <<'EOF'
import pytest

HELD = {}


class Blob:
    pass


@pytest.mark.no_leaks
def test_keeps():
    HELD["blob"] = Blob()
EOF
    run_pytest --heapsnap-dump-on-leak snaps test_keep.py
    echo "$output"
    [ "$status" -eq 1 ]
    f=$(ls snaps/heapsnap-leak-*.db)
    [ "$(echo "$f" | wc -l)" -eq 1 ]
    [[ "$output" == *"snapshot: $PWD/$f"* ]]
    run "$HEAPSNAP" why -f "$f" Blob
    [ "$status" -eq 0 ]
    [[ "$output" == *"module test_keep .HELD → dict ['blob'] → Blob"* ]]
}

@test "pytest: the heapsnap_leaks fixture checks a block" {
    cat > test_block.py <<'EOF'
import pytest

SEEN = []


class Item:
    pass


def test_block_leaks(heapsnap_leaks):
    with heapsnap_leaks(types=[Item]):
        SEEN.append(Item())
        SEEN.append(Item())


def test_block_clean(heapsnap_leaks):
    with heapsnap_leaks():
        items = [Item() for _ in range(5)]
        del items
EOF
    run_pytest test_block.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"1 failed, 1 passed"* ]]
    [[ "$output" == *"heapsnap: 2 objects created in the heapsnap_leaks block are still alive after it and gc.collect(): 2 test_block.Item"* ]]
    [[ "$output" == *"module test_block .SEEN → list [*] → Item"* ]]
}

@test "pytest: a bad no_leaks argument fails the test in one line" {
    cat > test_bad.py <<'EOF'
import pytest


@pytest.mark.no_leaks(types=3)
def test_bad():
    pass
EOF
    run_pytest test_bad.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"@pytest.mark.no_leaks: types must be a list of type names or classes, not int"* ]]
}

@test "pytest: overhead of no_leaks per test (printed, not checked)" {
    {
        echo 'import pytest'
        echo 'class Thing:'
        echo '    pass'
        for i in $(seq 100); do
            printf '@pytest.mark.no_leaks\ndef test_m%d():\n    Thing()\n' "$i"
        done
    } > test_marked.py
    sed '/^@pytest.mark.no_leaks$/d' test_marked.py > test_plain.py
    # Wall time, and pytest's CPU time (steadier on a busy machine).
    cat > cost.py <<'EOF'
import resource, subprocess, sys, time
t = time.perf_counter()
rc = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL).returncode
r = resource.getrusage(resource.RUSAGE_CHILDREN)
print(rc, time.perf_counter() - t, r.ru_utime + r.ru_stime)
EOF
    pytest=(env "${SAN_ENV[@]}" /usr/bin/python3 -m pytest -p heapsnap.pytest_plugin -q -p no:cacheprovider)
    read -r rc1 wall1 cpu1 <<<"$(/usr/bin/python3 cost.py "${pytest[@]}" test_plain.py)"
    read -r rc2 wall2 cpu2 <<<"$(/usr/bin/python3 cost.py "${pytest[@]}" test_marked.py)"
    # Two lines: the first test of an && list cannot fail a bats test.
    [ "$rc1" -eq 0 ]
    [ "$rc2" -eq 0 ]
    awk -v w1="$wall1" -v w2="$wall2" -v c1="$cpu1" -v c2="$cpu2" 'BEGIN {
        printf "# no_leaks overhead per test: %.1f ms CPU, %.1f ms wall (100 tests marked: %.2f s, plain: %.2f s wall)\n",
            (c2 - c1) * 10, (w2 - w1) * 10, w2, w1 }' >&3
}
