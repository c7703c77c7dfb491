#!/usr/bin/env bats
# heapsnap show (one object in full) and heapsnap top (types by size).

load lib

@test "show: facts, referrers and referents with labels" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" @16
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Foo @0x10000 (object @16)" ]
    [[ "$output" == *"  type       __main__.Foo"* ]]
    [[ "$output" == *"  size       48 B"* ]]
    [[ "$output" == *"  refcount   2"* ]]
    [[ "$output" == *"  flags      gc_tracked"* ]]
    [[ "$output" == *"reachable  yes, 4 steps from a root"* ]]
    [[ "$output" == *"referrers (2):"* ]]
    [[ "$output" == *"  list (3 items)  [0]     @0xf000"* ]]
    [[ "$output" == *"  ReferenceType   (weak)  @0x18000"* ]]
    [[ "$output" == *"referents (2):"* ]]
    [[ "$output" == *"  .name       str 'ann'  @0x13000"* ]]
    [[ "$output" == *"  .__class__  type Foo   @0x7000"* ]]
    [[ "$output" == *"  retained   92 B (0.9% of the 10.4 KiB reachable heap)"* ]]
    [[ "$output" == *"  dominator  list (3 items) @0xf000, retaining 363 B"* ]]
}

@test "show: an unreachable object and a root" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" @22
    [[ "$output" == *"flags      gc_tracked, unreachable"* ]]
    [[ "$output" == *"reachable  no: cyclic garbage"* ]]
    [[ "$output" == *"retained   48 B (its own size: no root reaches it)"* ]]
    [[ "$output" == *"dominator  - (unreachable)"* ]]
    run "$HEAPSNAP" show -f "$snap" @25
    [[ "$output" == *"root       external: 1 reference from outside the heap"* ]]
}

@test "show: a type name shows the class object" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" Foo
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "type Foo @0x7000 (object @7)" ]
    [[ "$output" == *"referrers (3):"* ]]
}

@test "show: -n caps the lists and says how many more" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" Foo -n 1
    [[ "$output" == *"  ... and 2 more (-n N shows more)"* ]]
}

@test "show: --json has address, type, size, refcount, labelled references" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" 0x10000 --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["address"] == "0x10000" and d["type"] == "__main__.Foo"
assert d["size"] == 48 and d["refcount"] == 2 and d["flags"] == ["gc_tracked"]
assert d["reachable"] is True and d["distance"] == 4
assert {r["label"] for r in d["referrers"]} == {"[0]", "(weak)"}
assert d["referents"][0] == {"kind": "attr", "label": ".name", "id": 19,
    "address": "0x13000", "type": "str", "size": 44}
assert d["retained_size"] == 92
assert d["idom"] == {"id": 15, "address": "0xf000", "type": "list",
    "retained_size": 363}, d["idom"]
'
}

@test "show: errors" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" @0
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: no object matches '@0'" ]
    run "$HEAPSNAP" show -f "$snap"
    [ "$status" -eq 2 ]
}

@test "top: types by total size with totals" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" -n 3
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "count      size   %size  type" ]
    [ "${lines[1]}" = "    9   8.4 KiB   79.2%  type" ]
    [ "${lines[2]}" = "    2   1.4 KiB   12.8%  dict" ]
    [ "${lines[3]}" = "    8     397 B    3.7%  str" ]
    [[ "${lines[4]}" == "-----"* ]]
    [ "${lines[5]}" = "   27  10.6 KiB  100.0%  total (8 types, -n 0 lists all)" ]
}

@test "top: --by count" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" --by count -n 2
    [ "${lines[1]}" = "    9   8.4 KiB   79.2%  type" ]
    [ "${lines[2]}" = "    8     397 B    3.7%  str" ]
}

@test "top: --json" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" --json -n 0
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["by"] == "size" and len(d["types"]) == 8
assert d["types"][0] == {"type": "type", "count": 9, "bytes": 8584}
assert d["total"] == {"count": 27, "bytes": 10845, "types": 8}
'
}

@test "top: bad option values are usage errors" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" --by weight
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: --by expects one of size, count, retained, site, not 'weight'" ]
    run "$HEAPSNAP" top -f "$snap" --threshold 0
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: --threshold expects a percentage in (0, 100], not '0'" ]
    run "$HEAPSNAP" top -f "$snap" --objects --suspects
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" top -f "$snap" -n -3
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" top -f "$snap" -n x
    [ "$status" -eq 2 ]
}

@test "top: on a real program, its leaking type is listed" {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    printf 'class Blob:\n    pass\nKEEP = [Blob() for _ in range(5000)]\n' > p.py
    "$HEAPSNAP" dump -o s.db -- "$PY" p.py 2>/dev/null
    run "$HEAPSNAP" top -f s.db -n 0
    [[ "$output" == *"5,000"*"__main__.Blob"* ]]
}

# Retained sizes on the fixture, by hand: Foo 'ann' is 48 B plus its name
# (44 B; its class is shared), the list 88 B plus three Foos and their
# names, and so on up to the module.
@test "top --by retained: nested instances count once, totals are the heap" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" info -f "$snap" --json
    [[ "$output" == *'"retained":	false'* ]]
    run "$HEAPSNAP" top -f "$snap" --by retained -n 0
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "count      size  retained   %heap  type" ]
    [[ "$output" == *"    3     144 B     275 B    2.5%  __main__.Foo"* ]]
    [[ "$output" == *"    2   1.4 KiB   1.9 KiB   17.8%  dict"* ]]
    [[ "$output" == *"    2      96 B      96 B    0.9%  __main__.CycleNode"* ]]
    # Computed once, stored, and then read back.
    run "$HEAPSNAP" info -f "$snap" --json
    [[ "$output" == *'"retained":	true'* ]]
    run "$HEAPSNAP" top -f "$snap" --by retained -n 0 --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["by"] == "retained"
rows = {t["type"]: t for t in d["types"]}
assert rows["__main__.Foo"]["retained_size"] == 275
assert rows["list"]["retained_size"] == 363
assert rows["module"]["retained_size"] == 2006
assert [t["retained_size"] for t in d["types"]] == sorted(
    (t["retained_size"] for t in d["types"]), reverse=True)
'
}

@test "top --by retained on a read-only snapshot computes without storing" {
    snap=$(make_snapshot leak)
    chmod a-w "$snap"
    run "$HEAPSNAP" top -f "$snap" --by retained
    [ "$status" -eq 0 ]
    [[ "$output" == *"is read-only: derived data is computed, not stored"* ]]
    [[ "$output" == *"275 B"*"__main__.Foo"* ]]
    run sqlite3 "$snap" "SELECT count(*) FROM sqlite_master WHERE name = 'retained'"
    [ "$output" = "0" ]
}

@test "top --objects: the biggest single owners with their paths" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" --objects -n 3
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "The objects that retain the most (of 10.4 KiB reachable):" ]
    # (bats drops empty lines from ${lines[@]})
    [ "${lines[1]}" = "    2.0 KiB  18.8%  module __main__ @0xa000 (72 B)" ]
    [ "${lines[3]}" = "    1.9 KiB  18.1%  dict (6 items) @0xb000 (1.2 KiB)" ]
    [ "${lines[4]}" = "                   module __main__ .__dict__ → dict" ]
    run "$HEAPSNAP" top -f "$snap" --objects -n 2 --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert [o["id"] for o in d["objects"]] == [10, 11]
assert d["objects"][1]["retained_size"] == 1934
assert d["objects"][1]["path"] == "module __main__ .__dict__ → dict"
'
}

@test "top --suspects: owners over the threshold with their accumulation point" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" top -f "$snap" --suspects --threshold 15
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Owners of more than 15% of the 10.4 KiB reachable heap:" ]
    [[ "$output" == *"1. module __main__ @0xa000 retains 2.0 KiB (18.8%)"* ]]
    [[ "$output" == *"accumulation point: dict (6 items) @0xb000 retaining 1.9 KiB (18.1%)"* ]]
    [[ "$output" != *"2. "* ]]
    run "$HEAPSNAP" top -f "$snap" --suspects --threshold 50
    [[ "$output" == *"none (--threshold PCT lowers the bar)"* ]]
}

@test "top --suspects on a real leak: the leaking container and its type" {
    PY=$(default_python)
    cd "$BATS_TEST_TMPDIR"
    cat > leak.py <<'PY'
class Session:
    def __init__(self, i):
        self.payload = "x" * 200 + str(i)
SESSIONS = {}
for i in range(20000):
    SESSIONS[i] = Session(i)
PY
    "$HEAPSNAP" dump -o s.db -- "$PY" leak.py 2>/dev/null
    run "$HEAPSNAP" top -f s.db --suspects --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
acc = [s["accumulation_point"] for s in d["objects"]]
assert any(a["type"] == "dict" and a["path"] == "module __main__ .SESSIONS → dict"
           for a in acc), acc
types = {t["type"]: t for t in d["types"]}
assert types["__main__.Session"]["count"] == 20000, types
assert types["__main__.Session"]["share"] > 0.5, types
'
    run "$HEAPSNAP" top -f s.db --suspects
    [[ "$output" == *"in: Session ×20,000"* ]]
}
