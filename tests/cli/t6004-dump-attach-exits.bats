#!/usr/bin/env bats
# heapsnap dump --pid against a target that exits the moment its snapshot
# appears (issue 18, group 6): a complete snapshot is a success (exit 0)
# whatever the target did after writing it, and a target that is gone
# before the attach could read it is "exited", not "no dlopen()".

load ../attach/helpers

setup() {
    [ -x "$HEAPSNAP" ] || skip "no $HEAPSNAP (make first)"
    [ -f "$ROOT/$BUILD/inject/libheapsnap_inject.so" ] ||
        skip "no loader library in $BUILD/inject"
    cd "$BATS_TEST_TMPDIR"
    cat > exits.py <<'PY'
import os, sys, time
out = sys.argv[1]
KEEP = [object() for _ in range(1000)]
with open("ready.tmp", "w") as f:
    f.write(str(os.getpid()))
os.rename("ready.tmp", "ready")
while not os.path.exists(out):
    time.sleep(0.0005)
os._exit(0)
PY
}

teardown() {
    cleanup_targets
}

@test "i18.6 attach: a target exiting right after its snapshot is a success" {
    while read -r key exe; do
        case $key in 3.1[0-3].*) ;; *) continue ;; esac
        for round in 1 2 3 4 5; do
            rm -f ready out.db
            env "${SAN_ENV[@]}" "$exe" exits.py "$BATS_TEST_TMPDIR/out.db" 3>&- &
            TARGET_PIDS+=($!)
            for _ in $(seq 400); do [ -s ready ] && break; sleep 0.05; done
            run "$HEAPSNAP" dump --pid "$(cat ready)" --attach ptrace -o out.db
            [ "$status" -eq 0 ] || { echo "$key round $round: $output"; false; }
            [[ "$output" == *"wrote '"*"out.db'"* ]] || { echo "$output"; false; }
            [ "$(sqlite3 out.db "select count(*) from objects")" -gt 1000 ]
            [ ! -e out.db.tmp ]
        done
        return 0
    done < <(pythons_with_agent)
    skip "no Python 3.10 to 3.13 with an agent"
}
