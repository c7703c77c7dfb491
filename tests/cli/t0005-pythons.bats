#!/usr/bin/env bats
# tools/pythons.sh and tools/configure.sh key every interpreter by its full
# version and ABI flags: two builds of one minor version are both kept
# (pyenv's 3.11.7 beside Debian's 3.11.2), a free-threaded python3.13t is
# never taken for python3.13 and gets no agent, the newest Debian
# interpreters listed in $BUILD/pythons/list join the search.  The
# interpreters are wrapper scripts around a real CPython that report
# another version, ABI flags and path.

load lib

setup() {
    REAL=$(python3 -c 'import sys; print(sys.executable)')
    FAKES=$BATS_TEST_TMPDIR/fakes
    mkdir -p "$FAKES"
}

# fake NAME MAJOR MINOR MICRO ABIFLAGS: an interpreter at $FAKES/NAME that
# answers `-c CODE` as CPython MAJOR.MINOR.MICRO with sys.abiflags ABIFLAGS.
fake() {
    cat > "$FAKES/$1" <<EOF
#!/bin/sh
[ "\$1" = -c ] || exit 2
exec "$REAL" -c "import sys, sysconfig
sysconfig.get_config_vars()
sys.version_info = ($2, $3, $4, 'final', 0)
sys.abiflags = '$5'
sys.executable = '\$0'
exec(sys.argv[1])" "\$2"
EOF
    chmod +x "$FAKES/$1"
}

@test "pythons.sh: one key per build, several per minor, t kept apart, sorted" {
    fake py3.13.18 3 13 18 ''
    fake py3.13.0 3 13 0 ''
    fake py3.13t 3 13 18 t
    fake py3.11.7 3 11 7 ''
    fake py3.11.2 3 11 2 ''
    fake py3.9 3 9 18 ''
    fake again3.13.18 3 13 18 ''
    fake py3.7 3 7 17 ''
    cd "$ROOT"
    run env HEAPSNAP_PYTHONS="$FAKES/py3.13.18 $FAKES/py3.13t $FAKES/py3.13.0 $FAKES/py3.11.7 $FAKES/again3.13.18 $FAKES/py3.11.2 $FAKES/py3.9 $FAKES/py3.7" \
        tools/pythons.sh
    [ "$status" -eq 0 ]
    printf '%s\n' "${lines[@]}"
    [ "${#lines[@]}" -eq 6 ]
    [ "${lines[0]}" = "3.9.18 $FAKES/py3.9" ]
    [ "${lines[1]}" = "3.11.2 $FAKES/py3.11.2" ]
    [ "${lines[2]}" = "3.11.7 $FAKES/py3.11.7" ]
    [ "${lines[3]}" = "3.13.0 $FAKES/py3.13.0" ]
    # Of two with one key the first found wins.
    [ "${lines[4]}" = "3.13.18 $FAKES/py3.13.18" ]
    [ "${lines[5]}" = "3.13.18t $FAKES/py3.13t" ]
}

@test "configure.sh: a config entry per key; the free-threaded build is named and skipped" {
    fake py3.13.18 3 13 18 ''
    fake py3.13t 3 13 18 t
    fake py3.13.0 3 13 0 ''
    cd "$ROOT"
    HEAPSNAP_PYTHONS="$FAKES/py3.13t $FAKES/py3.13.0 $FAKES/py3.13.18" \
        tools/configure.sh > "$BATS_TEST_TMPDIR/config.mk" 2> "$BATS_TEST_TMPDIR/err"
    cat "$BATS_TEST_TMPDIR/err"
    grep -qx "PYTHONS := 3.13.0 3.13.18" "$BATS_TEST_TMPDIR/config.mk"
    grep -qx "PY_3.13.0_EXE := $FAKES/py3.13.0" "$BATS_TEST_TMPDIR/config.mk"
    grep -qx "PY_3.13.18_EXE := $FAKES/py3.13.18" "$BATS_TEST_TMPDIR/config.mk"
    grep -q "^PY_3.13.18_CFLAGS := -isystem /" "$BATS_TEST_TMPDIR/config.mk"
    ! grep -q "3.13.18t" "$BATS_TEST_TMPDIR/config.mk"
    [ "$(cat "$BATS_TEST_TMPDIR/err")" = "heapsnap: note: no agent for free-threaded Python 3.13.18t ($FAKES/py3.13t): heapsnap does not support free-threaded builds yet" ]
}

@test "configure.sh: an interpreter unpacked outside /usr gets its split pyconfig.h folder" {
    # A prefix laid out as Debian's python3.X-dev: include/python3.X/ and
    # include/MULTIARCH/python3.X/pyconfig.h.
    local prefix=$BATS_TEST_TMPDIR/prefix multiarch
    multiarch=$("$REAL" -c 'import sysconfig; print(sysconfig.get_config_var("MULTIARCH") or "x86_64-linux-gnu")')
    mkdir -p "$prefix/include/python3.13" "$prefix/include/$multiarch/python3.13"
    touch "$prefix/include/python3.13/Python.h" "$prefix/include/$multiarch/python3.13/pyconfig.h"
    cat > "$FAKES/split" <<EOF
#!/bin/sh
[ "\$1" = -c ] || exit 2
exec "$REAL" -c "import sys, sysconfig
sysconfig.get_config_vars()
sys.version_info = (3, 13, 18, 'final', 0)
sys.abiflags = ''
sys.executable = '\$0'
sysconfig.get_paths = lambda *a, **k: {'include': '$prefix/include/python3.13'}
exec(sys.argv[1])" "\$2"
EOF
    chmod +x "$FAKES/split"
    cd "$ROOT"
    HEAPSNAP_PYTHONS="$FAKES/split" tools/configure.sh > "$BATS_TEST_TMPDIR/config.mk"
    grep -qx "PY_3.13.18_CFLAGS := -isystem $prefix/include/python3.13 -isystem $prefix/include" \
        "$BATS_TEST_TMPDIR/config.mk"
}

@test "pythons.sh: the interpreters in BUILD/pythons/list join the search" {
    fake newest3.14 3 14 10 ''
    mkdir -p "$BATS_TEST_TMPDIR/b/pythons"
    echo "$FAKES/newest3.14" > "$BATS_TEST_TMPDIR/b/pythons/list"
    cd "$ROOT"
    run env BUILD="$BATS_TEST_TMPDIR/b" tools/pythons.sh
    [ "$status" -eq 0 ]
    [ "${lines[${#lines[@]} - 1]}" = "3.14.10 $FAKES/newest3.14" ]
}
