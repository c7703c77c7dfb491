#!/usr/bin/env bats
# heapsnap why: retention paths on the fixture, and end to end on real
# programs (module cache, closure, thread local, stored exception, bound
# method listener, class attribute, weak cache, cycle, C-held object), on
# the oldest and the newest Python the build made an agent for.

load lib

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# Runs the program on stdin under python $1 and leaves snap.db.
snapshot_of() {
    cat > prog.py
    rm -f snap.db
    "$HEAPSNAP" dump -o snap.db -- "$1" prog.py > dump.log 2>&1 || {
        cat dump.log
        return 1
    }
}

each_python() { # oldest and newest
    pythons | sed -n '1p;$p' | cut -d' ' -f2 | sort -u
}

@test "why: one object on the fixture, every step labelled" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" @17
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "Foo @0x11000 (48 B, retains 92 B) is alive because:" ]
    [ "${lines[1]}" = "  module __main__ .CACHE → dict ['users'] → list [1] → Foo" ]
    [ "${lines[2]}" = "  root: a module in sys.modules" ]
}

@test "why: the retained size of every object on the path" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" @17
    [ "$status" -eq 0 ]
    # (bats drops the empty line before the table)
    [ "${lines[3]}" = "  retains  object" ]
    [ "${lines[4]}" = "  2.0 KiB  module __main__ @0xa000" ]
    [ "${lines[5]}" = "  1.9 KiB  .__dict__ → dict (6 items) @0xb000" ]
    [ "${lines[6]}" = "    601 B  ['CACHE'] → dict (1 item) @0xd000" ]
    [ "${lines[7]}" = "    363 B  ['users'] → list (3 items) @0xf000" ]
    [ "${lines[8]}" = "     92 B  [1] → Foo @0x11000" ]
    [ "${#lines[@]}" -eq 9 ]
    run "$HEAPSNAP" why -f "$snap" @17 --json
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["object"]["retained_size"] == 92
assert d["root"]["object"]["retained_size"] == 2006
assert [s["to"]["retained_size"] for s in d["path"]] == [1934, 601, 363, 92]
'
}

@test "why: the same object by hex address, decimal address and id" {
    snap=$(make_snapshot leak)
    a=$("$HEAPSNAP" why -f "$snap" 0x11000)
    b=$("$HEAPSNAP" why -f "$snap" 69632)
    c=$("$HEAPSNAP" why -f "$snap" @17)
    [ "$a" = "$b" ]
    [ "$b" = "$c" ]
}

@test "why: a type groups its instances by path shape" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" Foo
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "3 Foo objects (144 B, retaining 275 B) are alive because:" ]
    [ "${lines[1]}" = "  3 objects, 144 B (100.0%), retaining 275 B via:" ]
    [ "${lines[2]}" = "    module __main__ .CACHE → dict ['users'] → list [*] → Foo" ]
    [[ "${lines[3]}" == "    e.g. @0x10000 (48 B, retains 92 B): module __main__ .CACHE → dict ['users'] → list [0] → Foo" ]]
}

@test "why: several OBJs are grouped together, each object once" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" 0x10000 @17 69632
    [ "$status" -eq 0 ]
    [ "${lines[0]}" = "2 objects (96 B, retaining 184 B) are alive because:" ]
    [ "${lines[1]}" = "  2 objects, 96 B (100.0%), retaining 184 B via:" ]
    [ "${lines[2]}" = "    module __main__ .CACHE → dict ['users'] → list [*] → Foo" ]
    # One object, however often named, is that object's answer.
    [ "$("$HEAPSNAP" why -f "$snap" @17 0x11000)" = "$("$HEAPSNAP" why -f "$snap" @17)" ]
    # Types and objects mix; --json names the query.
    run "$HEAPSNAP" why -f "$snap" Foo CycleNode --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["query"] == "Foo CycleNode" and d["count"] == 5, d
assert "type" not in d
'
    # One OBJ that matches nothing fails the whole question (1).
    run "$HEAPSNAP" why -f "$snap" 0x10000 NoSuchType
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: no object matches 'NoSuchType'" ]
}

@test "why: a qualified type name works too" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" __main__.Foo
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "3 Foo objects"* ]]
}

@test "why: an unreachable cycle is named" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" @22
    [ "$status" -eq 0 ]
    [ "$output" = "CycleNode @0x16000 (48 B, retains 48 B) is unreachable: in a reference cycle of 2 CycleNode objects, 96 B, awaiting the cyclic gc." ]
}

@test "why: an object held only from outside the heap says so" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" @25
    [ "$status" -eq 0 ]
    [ "$output" = "str 'held from C' @0x19000 (52 B, retains 52 B) is a root: held by 1 reference from outside the heap (C code or a refcount leak)." ]
}

@test "why: weak references never explain anything" {
    snap=$(make_snapshot leak)
    # Foo @16 is also the referent of the WEAK weakref: the path must be
    # the strong one through the cache.
    run "$HEAPSNAP" why -f "$snap" @16
    [[ "${lines[1]}" == *".CACHE → dict ['users'] → list [0] → Foo" ]]
}

@test "why: --json has the object, root and labelled steps" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" @17 --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["reason"] == "path", d
assert d["object"]["id"] == 17 and d["object"]["address"] == "0x11000"
assert d["root"]["kind"] == "module" and d["root"]["label"] == "__main__"
assert [s["label"] for s in d["path"]] == [".__dict__", "['"'"'CACHE'"'"']", "['"'"'users'"'"']", "[1]"]
assert [s["kind"] for s in d["path"]] == ["attr", "value", "value", "item"]
assert d["path"][-1]["to"]["type"] == "__main__.Foo"
assert d["text"].endswith("list [1] → Foo")
'
}

@test "why: --json for a type lists groups" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" CycleNode --json
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["count"] == 2 and d["bytes"] == 96
assert d["groups"][0]["unreachable"] is True
'
}

@test "why: nothing matches (1)" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" NoSuchType
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: no object matches 'NoSuchType'" ]
    run "$HEAPSNAP" why -f "$snap" 0xdead
    [ "$status" -eq 1 ]
    run "$HEAPSNAP" why -f "$snap" @999
    [ "$status" -eq 1 ]
}

@test "why: a type without instances (1)" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap" ReferenceType
    [ "$status" -eq 0 ]
    sqlite3 "$snap" "insert into types values (6, 'int', 'builtins', 'int', 16)"
    run "$HEAPSNAP" why -f "$snap" int
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: 0 instances of int (the class exists: @0x6000, object @6)" ]
}

@test "why: an ambiguous short type name lists the candidates (2)" {
    snap=$(make_snapshot leak)
    sqlite3 "$snap" "update types set module = 'other' where id = 8; update types set name = 'Foo', qualname = 'Foo' where id = 8"
    run "$HEAPSNAP" why -f "$snap" Foo
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: 'Foo' names 2 types; say which:" ]
    [[ "$output" == *"  __main__.Foo (3 objects)"* ]]
    [[ "$output" == *"  other.Foo (2 objects)"* ]]
    run "$HEAPSNAP" why -f "$snap" other.Foo
    [ "$status" -eq 0 ]
}

@test "why: usage errors (2)" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" why -f "$snap"
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: which object?"* ]]
    run "$HEAPSNAP" why -f "$snap" @x
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" why -f "$snap" Foo --paths 0
    [ "$status" -eq 2 ]
}

@test "why: not a snapshot (3), unreadable (4)" {
    echo nope > bad.db
    run "$HEAPSNAP" why -f bad.db Foo
    [ "$status" -eq 3 ]
    run "$HEAPSNAP" why -f missing.db Foo
    [ "$status" -eq 4 ]
}

@test "why e2e: a module-level cache" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Target: pass
CACHE = {"k": Target()}
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .CACHE → dict ['k'] → Target"* ]]
    done
}

@test "why e2e: a closure cell names its free variable" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Target: pass
def make():
    held = Target()
    def inner():
        return held
    return inner
F = make()
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .F → function closure held → Target"* ]]
    done
}

@test "why e2e: a local of a sleeping thread, with the thread's name" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
import threading, heapsnap
class Target: pass
ready, done = threading.Event(), threading.Event()
def worker():
    mine = Target()
    ready.set()
    done.wait()
t = threading.Thread(target=worker, name="worker-A")
t.start()
ready.wait()
heapsnap.dump("live.db")
done.set()
t.join()
PY
        run "$HEAPSNAP" why -f live.db Target
        # 3.11+: the local itself is the root; 3.8-3.10: the frame object.
        [[ "$output" == *"local mine of worker (prog.py:7) in thread 'worker-A' → Target"* ]] ||
            [[ "$output" == *"frame of worker (prog.py:7) in thread 'worker-A' local mine → Target"* ]]
    done
}

@test "why e2e: an exception stored with its traceback" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Target: pass
def fail():
    victim = Target()
    raise ValueError("boom")
try:
    fail()
except ValueError as e:
    SAVED = e
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .SAVED → ValueError .__traceback__ → traceback .tb_next → traceback .tb_frame → frame of fail (prog.py:4)"*"local victim → Target"* ]]
    done
}

@test "why e2e: a bound method in a listener list" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Target:
    def on_event(self, e):
        pass
class Bus:
    def __init__(self):
        self.listeners = []
BUS = Bus()
BUS.listeners.append(Target().on_event)
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .BUS → Bus .listeners → list [*] → method .__self__ → Target"* ]]
    done
}

@test "why e2e: a class attribute" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Target: pass
class Registry:
    items = [Target()]
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .Registry → type .items → list [*] → Target"* ]]
    done
}

@test "why e2e: a weak cache does not keep its values, a strong holder does" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
import weakref
class Target: pass
CACHE = weakref.WeakValueDictionary()
KEEP = [Target()]
CACHE["x"] = KEEP[0]
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"module __main__ .KEEP → list [*] → Target"* ]]
        [[ "$output" != *"CACHE"* ]]
    done
}

@test "why e2e: an unreachable cycle" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
import gc
gc.disable()
class Target: pass
a, b = Target(), Target()
a.peer, b.peer = b, a
del a, b
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"2 objects, "*"unreachable (cyclic garbage awaiting the collector"* ]]
        id=$(sqlite3 snap.db "select o.id from objects o join types t on t.id=o.type_id where t.name='Target' limit 1")
        run "$HEAPSNAP" why -f snap.db "@$id"
        # 3.11+: Target -> Target; before: through the instance dicts.
        [[ "$output" == *"is unreachable: in a reference cycle of 2 Target objects"* ]] ||
            [[ "$output" == *"is unreachable: in a reference cycle of 4 objects (2 Target, 2 dict)"* ]]
    done
}

@test "why e2e: an object held only by C code" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
import ctypes
class Target: pass
t = Target()
ctypes.pythonapi.Py_IncRef(ctypes.py_object(t))
del t
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"external root"*"Target"* ]] || [[ "$output" == *"held by 1 reference from outside the heap"* ]]
        id=$(sqlite3 snap.db "select o.id from objects o join types t on t.id=o.type_id where t.name='Target'")
        run "$HEAPSNAP" why -f snap.db "@$id"
        [[ "$output" == *"is a root: held by 1 reference from outside the heap (C code or a refcount leak)."* ]]
    done
}

@test "why: a long path is cut in the middle unless --full" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Node:
    def __init__(self, nxt): self.nxt = nxt
class Target: pass
head = Target()
for _ in range(30):
    head = Node(head)
HEAD = head
PY
        run "$HEAPSNAP" why -f snap.db Target
        [[ "$output" == *"more steps"* ]]
        run "$HEAPSNAP" why -f snap.db Target --full
        [[ "$output" != *"more steps"* ]]
        [[ "$output" == *"Node .nxt → Node .nxt → Target"* ]]
    done
}

@test "why: a linked list is one group, its step marked as repeating" {
    for py in $(each_python); do
        snapshot_of "$py" <<'PY'
class Node:
    def __init__(self, nxt): self.nxt = nxt
head = None
for _ in range(50):
    head = Node(head)
PY
        run "$HEAPSNAP" why -f snap.db Node
        [[ "$output" == *"49 objects"*"module __main__ .head → Node (.nxt → Node)+"* ]]
    done
}
