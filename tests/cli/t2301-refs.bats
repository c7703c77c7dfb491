#!/usr/bin/env bats
# heapsnap refs / backrefs: objgraph's show_refs and show_backrefs on a
# snapshot.  The DOT text is parsed back (a small DOT reader below) and the
# exact objects, references, labels and "more" boxes are checked on the
# fixture; SVG, PNG and PDF by xmllint and magic bytes; then errors, the
# JSON summary, and a real program.

load lib

setup() {
    cd "$BATS_TEST_TMPDIR"
}

@test "refs: the fixture object's references, exactly" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" @16 -o r.dot
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 'r.dot': 3 objects, 2 references" ]
    check_dot r.dot '
assert sorted(objects) == ["o16", "o19", "o7"], objects
assert pairs == {("o16", "o19"): ".name", ("o16", "o7"): ".__class__"}, pairs
t = objects["o16"]
assert t["color"] == "red" and t["fontcolor"] == "red", t
assert t["label"] == "__main__.Foo\\n48 B · retains 92 B", t["label"]
assert objects["o19"]["label"].startswith("str\\n'"'"'ann'"'"'\\n44 B"), objects["o19"]
# The class is an external root and a leaf: doubled border, no expansion.
assert objects["o7"]["peripheries"] == "2"
assert objects["o7"]["label"].endswith("root: external"), objects["o7"]
assert g["label"] == "refs of Foo @0x10000, depth 3", g
assert not helpers, helpers
'
}

@test "backrefs: referrers up to the module, weak ones dashed" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" backrefs -f "$snap" @16 -o b.gv
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 'b.gv': 6 objects, 6 references" ]
    check_dot b.gv '
assert sorted(objects) == ["o10", "o11", "o13", "o15", "o16", "o24"], objects
want = {("o15", "o16"): "[0]", ("o24", "o16"): "(weak)",
        ("o13", "o15"): "['"'"'users'"'"']", ("o11", "o24"): "['"'"'WEAK'"'"']",
        ("o11", "o13"): "['"'"'CACHE'"'"']", ("o10", "o11"): ".__dict__"}
assert pairs == want, pairs
for t, h, a, l in refs:
    assert (a.get("style") == "dashed") == (l == "(weak)"), (t, h, a)
# The module: green, a root, not expanded further.
m = objects["o10"]
assert m["fillcolor"].startswith("0.3,1,"), m
assert "root: module" in m["label"] and m["peripheries"] == "2", m
'
}

@test "backrefs: --depth limits the steps" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" backrefs -f "$snap" @16 --depth 1 -o d1.dot
    [ "$output" = "wrote 'd1.dot': 3 objects, 2 references" ]
    check_dot d1.dot 'assert sorted(objects) == ["o15", "o16", "o24"], objects'
    run "$HEAPSNAP" backrefs -f "$snap" @16 --depth 2 -o d2.dot
    [ "$output" = "wrote 'd2.dot': 5 objects, 4 references" ]
    check_dot d2.dot 'assert "o10" not in objects and "o11" in objects'
    run "$HEAPSNAP" refs -f "$snap" @16 --depth 0 -o d0.dot
    [ "$output" = "wrote 'd0.dot': 1 object, 0 references" ]
}

@test "backrefs: --too-many shows the strong referrer and a box for the rest" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" backrefs -f "$snap" @16 --too-many 1 -o t1.dot
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 't1.dot': 4 objects, 3 references; cut: 1 more backreference beyond --too-many 1" ]
    check_dot t1.dot '
assert ("o15", "o16") in pairs and "o24" not in objects, pairs
assert sorted(helpers) == ["o16.more_backrefs"], helpers
assert helpers["o16.more_backrefs"]["label"] == "1 more backreference"
'
}

@test "refs: --too-many on a dict counts the references not drawn" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" @11 --depth 1 --too-many 2 -o t2.dot
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 't2.dot': 3 objects, 2 references; cut: 2 more references beyond --too-many 2" ]
    check_dot t2.dot '
assert pairs == {("o11", "o12"): "key '"'"'CACHE'"'"'", ("o11", "o13"): "['"'"'CACHE'"'"']"}, pairs
assert helpers["o11.more_refs"]["label"] == "2 more references", helpers
'
}

@test "refs: a type draws its first --too-many instances" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" Foo --too-many 2 --depth 1 -o ty.dot
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 'ty.dot': 5 objects, 4 references; cut: 1 more instance beyond --too-many 2" ]
    check_dot ty.dot '
red = sorted(k for k, a in objects.items() if a.get("color") == "red")
assert red == ["o16", "o17"], red
assert g["label"] == "refs of 2 of 3 Foo objects, depth 1", g
'
}

@test "refs: --max-nodes caps the picture and says so" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" backrefs -f "$snap" @16 --max-nodes 3 -o cap.dot
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 'cap.dot': 3 objects, 2 references; cut: 2 objects beyond --max-nodes 3" ]
    check_dot cap.dot '
assert len(objects) == 3
assert "(capped: 2 more objects not drawn)" in g["label"], g
assert sum(1 for k in helpers if k.endswith("more_backrefs")) == 2, helpers
'
}

@test "refs: SVG by default, named after the object, with the type's text" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" @16
    [ "$status" -eq 0 ]
    [ "$output" = "wrote 'refs-16.svg': 3 objects, 2 references" ]
    xmllint --noout refs-16.svg
    grep -q '__main__.Foo' refs-16.svg
    grep -q '<title>o16</title>' refs-16.svg
    run "$HEAPSNAP" backrefs -f "$snap" Foo
    [ "$output" = "wrote 'backrefs-Foo.svg': 8 objects, 8 references" ]
    xmllint --noout backrefs-Foo.svg
    [ ! -e backrefs-Foo.svg.tmp ]
}

@test "refs: PNG and PDF by extension" {
    snap=$(make_snapshot leak)
    "$HEAPSNAP" backrefs -f "$snap" @16 -o b.png
    [ "$(head -c 8 b.png | od -An -tx1 | tr -d ' \n')" = "89504e470d0a1a0a" ]
    "$HEAPSNAP" backrefs -f "$snap" @16 -o b.PDF
    [ "$(head -c 5 b.PDF)" = "%PDF-" ]
}

@test "refs: -o - writes DOT on stdout and the summary on stderr" {
    snap=$(make_snapshot leak)
    "$HEAPSNAP" refs -f "$snap" @16 -o - > out.dot 2> err.txt
    head -1 out.dot | grep -q '^digraph heapsnap {'
    [ "$(cat err.txt)" = "heapsnap: wrote DOT to standard output: 3 objects, 2 references" ]
    check_dot out.dot 'assert sorted(objects) == ["o16", "o19", "o7"]'
}

@test "refs: --json summary" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" backrefs -f "$snap" Foo --too-many 1 --json -o j.svg
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
d = json.load(sys.stdin)
assert d["command"] == "backrefs" and d["output"] == "j.svg", d
assert d["format"] == "svg" and d["targets"] == [16] and d["targets_total"] == 3, d
assert d["objects"] == 4 and d["references"] == 3, d
assert d["depth"] == 3 and d["too_many"] == 1 and d["max_nodes"] == 1000, d
assert d["cut"]["beyond_too_many"] == 1, d
assert d["cut"]["targets_beyond_too_many"] == 2, d
assert d["not_expanded"]["module"] == 0 and d["not_expanded"]["depth"] == 1, d
'
    xmllint --noout j.svg
    run "$HEAPSNAP" backrefs -f "$snap" @16 --json -o -
    [ "$status" -eq 2 ]
}

@test "refs: a bad extension is a usage error before anything is read" {
    run "$HEAPSNAP" refs -f missing.db @16 -o x.bmp
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: cannot draw 'x.bmp': unknown picture format '.bmp' (use .svg, .png, .pdf, .dot or .gv)" ]
    run "$HEAPSNAP" refs -f missing.db @16 -o noext
    [ "$status" -eq 2 ]
    [ -z "$(ls)" ]
}

@test "refs: an unknown object is no result (1), nothing written" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" @999 -o u.svg
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: no object matches '@999'" ]
    run "$HEAPSNAP" backrefs -f "$snap" NoSuchType
    [ "$status" -eq 1 ]
    [ ! -e u.svg ] && ! ls backrefs-* 2>/dev/null
}

@test "refs: a folder that cannot be written is an I/O error (4), nothing left" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap" @16 -o nofolder/x.svg
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: cannot write 'nofolder/x.svg': folder 'nofolder': No such file or directory" ]]
    touch afile
    run "$HEAPSNAP" refs -f "$snap" @16 -o afile/x.svg
    [ "$status" -eq 4 ]
    # Root may write anywhere a mode allows; /proc refuses even root.
    mkdir ro && chmod 555 ro
    if [ "$(id -u)" = 0 ]; then dir=/proc; else dir=ro; fi
    run "$HEAPSNAP" refs -f "$snap" @16 -o "$dir/hs-draw-test.svg"
    [ "$status" -eq 4 ]
    [ ! -e "$dir/hs-draw-test.svg" ]
    [ ! -e "$dir/hs-draw-test.svg.tmp" ]
    [ -z "$(ls ro)" ]
}

@test "refs: usage errors (2)" {
    snap=$(make_snapshot leak)
    run "$HEAPSNAP" refs -f "$snap"
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: which object?"* ]]
    run "$HEAPSNAP" refs -f "$snap" @16 --depth -1
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" backrefs -f "$snap" @16 --too-many 0
    [ "$status" -eq 2 ]
    run "$HEAPSNAP" backrefs -f "$snap" @16 --max-nodes 0
    [ "$status" -eq 2 ]
    [ "${lines[1]}" = "try 'heapsnap backrefs --help'" ]
}

@test "refs: help says what is not expanded" {
    run "$HEAPSNAP" refs --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"Type"*"objects and modules are drawn but not expanded"* ]]
    run "$HEAPSNAP" help backrefs
    [[ "$output" == *"does not go past"*"modules"*"nor past roots"* ]]
    run "$HEAPSNAP" --help
    [[ "$output" == *"refs "*"backrefs "* ]]
}

@test "refs e2e: a real program's object, its list and its weak referrer" {
    PY=$(default_python)
    cat > p.py <<'PY'
import weakref
class Leaf: pass
class Holder: pass
HOLDER = Holder()
HOLDER.kids = [Leaf() for _ in range(25)]
HOLDER.name = "holder-name"
WATCH = weakref.ref(HOLDER)
PY
    "$HEAPSNAP" dump -o s.db -- "$PY" p.py 2>/dev/null
    run "$HEAPSNAP" refs -f s.db Holder --depth 2 -o r.dot
    [ "$status" -eq 0 ]
    [[ "$output" == *"cut: 15 more references beyond --too-many 10"* ]]
    check_dot r.dot '
labels = sorted(l for t, h, a, l in refs)
assert sorted(l for l in labels if l.startswith("[")) == sorted(f"[{i}]" for i in range(10)), labels
kids = [l for l in labels if l in (".kids", "['"'"'kids'"'"']")]
assert kids, labels
assert any(l == "[9]" for l in labels) and not any(l == "[10]" for l in labels), labels
boxes = [a["label"] for k, a in helpers.items() if k.endswith("more_refs")]
assert boxes == ["15 more references"], boxes
assert any("holder-name" in a["label"] for a in objects.values()), objects
'
    run "$HEAPSNAP" backrefs -f s.db Holder --depth 4 -o b.dot
    [ "$status" -eq 0 ]
    check_dot b.dot '
weak = [a for t, h, a, l in refs if a.get("style") == "dashed"]
assert weak, refs
mods = [a for a in objects.values() if a["fillcolor"].startswith("0.3,1,")]
assert any("__main__" in a["label"] for a in mods), mods
assert any(l in (".HOLDER", "['"'"'HOLDER'"'"']") for t, h, a, l in refs), refs
'
}
