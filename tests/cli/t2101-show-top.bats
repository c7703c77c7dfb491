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
    [[ "$output" == *"  .name      str 'ann'  @0x13000"* ]]
}

@test "show: an unreachable object and a root" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" show -f "$snap" @22
    [[ "$output" == *"flags      gc_tracked, unreachable"* ]]
    [[ "$output" == *"reachable  no: cyclic garbage"* ]]
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
    [ "${lines[0]}" = "heapsnap: error: --by expects one of size, count, not 'weight'" ]
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
