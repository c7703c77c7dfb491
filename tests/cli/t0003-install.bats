#!/usr/bin/env bats
# make install: the installed heapsnap finds the agents (one folder per
# interpreter key, py3.12.1) and the attach loader it was installed with,
# away from the build folder.

load lib

@test "install: the installed command snapshots a program and reads it" {
    dest="$BATS_TEST_TMPDIR/root"
    # A folder of the old one-per-minor layout is replaced.
    mkdir -p "$dest/opt/hs/lib/heapsnap/py3.12/heapsnap"
    run make -C "$ROOT" --no-print-directory -s install BUILD="$BUILD" SAN="${SAN:-0}" \
        DESTDIR="$dest" PREFIX=/opt/hs
    [ "$status" -eq 0 ]
    [ -x "$dest/opt/hs/bin/heapsnap" ]
    [ -f "$dest/opt/hs/lib/heapsnap/libheapsnap_inject.so" ]
    while read -r ver exe; do
        [ -f "$dest/opt/hs/lib/heapsnap/py$ver/heapsnap/__init__.py" ]
        [ ! -d "$dest/opt/hs/lib/heapsnap/py$ver/obj" ]
    done <<<"$(pythons)"
    [ ! -e "$dest/opt/hs/lib/heapsnap/py3.12" ]
    cd "$BATS_TEST_TMPDIR"
    printf 'class Kept:\n    pass\nK = [Kept() for _ in range(7)]\n' > p.py
    # No HEAPSNAP_AGENT_DIR: the agent comes from ../lib/heapsnap.
    run env -u HEAPSNAP_AGENT_DIR "$dest/opt/hs/bin/heapsnap" dump -o s.db -- "$(default_python)" p.py
    [ "$status" -eq 0 ]
    run "$dest/opt/hs/bin/heapsnap" why -f s.db Kept
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "7 Kept objects"* ]]
}
