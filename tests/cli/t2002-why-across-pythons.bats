#!/usr/bin/env bats
# heapsnap why gives the same retention paths for the same leaky program
# on 3.12 and on every newer Python the build made an agent for (3.13,
# 3.14): stack references in 3.14 frames, the gh-130327 managed-dict
# traversal of 3.13.13+/3.14.4+, tracked-from-creation dicts and
# function.__annotate__ must not change what a user is shown.

load lib

setup() {
    cd "$BATS_TEST_TMPDIR"
}

LEAKS="CacheLeak ClosureLeak AttrLeak DictTouchedLeak ExcLeak ListenerLeak
ClassAttrLeak GenLeak SlotLeak ThreadLeak InternedKeyLeak"

write_program() {
    cat > prog.py <<'PY'
import sys, threading, heapsnap
class CacheLeak: pass
class ClosureLeak: pass
class AttrLeak: pass
class DictTouchedLeak: pass
class ExcLeak: pass
class ListenerLeak:
    def on_event(self, e):
        pass
class ClassAttrLeak: pass
class GenLeak: pass
class SlotLeak: pass
class ThreadLeak: pass
class InternedKeyLeak: pass

CACHE = {"k": CacheLeak()}
def make():
    held = ClosureLeak()
    def inner():
        return held
    return inner
F = make()
class Holder: pass
H = Holder()
H.x = AttrLeak()
T = Holder()
T.y = DictTouchedLeak()
T.__dict__
def fail():
    victim = ExcLeak()
    raise ValueError("boom")
try:
    fail()
except ValueError as e:
    SAVED = e
class Bus:
    def __init__(self):
        self.listeners = []
BUS = Bus()
BUS.listeners.append(ListenerLeak().on_event)
class Registry:
    items = [ClassAttrLeak()]
def gen():
    kept = GenLeak()
    yield 1
G = gen()
next(G)
class Slotted:
    __slots__ = ("s",)
S = Slotted()
S.s = SlotLeak()
BY_NAME = {sys.intern("".join(["inter", "ned"])): InternedKeyLeak()}
ready, done = threading.Event(), threading.Event()
def worker():
    mine = ThreadLeak()
    ready.set()
    done.wait()
t = threading.Thread(target=worker, name="worker-A")
t.start()
ready.wait()
heapsnap.dump("snap.db")
done.set()
t.join()
PY
}

# The example path of every group of every leak, one "Type: shape" line each.
shapes() {
    for leak in $LEAKS; do
        "$HEAPSNAP" why -f snap.db "$leak" --json | python3 -c '
import json, sys
d = json.load(sys.stdin)
print(sys.argv[1] + ": " + " | ".join(sorted(g["example"]["path"] for g in d["groups"])))
' "$leak" || return 1
    done
}

@test "why: the same leaky program gives the same paths on 3.12 and newer" {
    # Keys are full versions (3.12.1, 3.14.10); free-threaded and debug
    # builds (a letter after the version) are left out.
    base=$(pythons | awk '$1 ~ /^3\.12\.[0-9]+$/ { print $1; exit }')
    newer=$(pythons | awk '$1 ~ /^3\.[0-9]+\.[0-9]+$/ { split($1, v, "."); if (v[2] > 12) print $1 }')
    [ -n "$base" ] && [ -n "$newer" ] ||
        skip "needs agents for 3.12 and a newer Python (have: $(pythons | cut -d' ' -f1 | tr '\n' ' '))"
    write_program
    PYTHONPATH="$ROOT/$BUILD/py$base" env "${SAN_ENV[@]}" "$(python_for "$base")" prog.py
    shapes > want.txt
    # Every leak is there, held the way the program holds it.
    [ "$(grep -c . want.txt)" -eq 11 ]
    grep -qx "CacheLeak: module __main__ .CACHE → dict \['k'\] → CacheLeak" want.txt
    grep -qx "ClosureLeak: module __main__ .F → function closure held → ClosureLeak" want.txt
    grep -q "^GenLeak: .*local kept → GenLeak" want.txt
    grep -q "^ThreadLeak: local mine of worker (.*thread 'worker-A' → ThreadLeak" want.txt
    for key in $newer; do
        rm -f snap.db
        PYTHONPATH="$ROOT/$BUILD/py$key" env "${SAN_ENV[@]}" "$(python_for "$key")" prog.py
        shapes > "got-$key.txt"
        diff -u want.txt "got-$key.txt"
    done
}
