#!/usr/bin/env bats
# heapsnap export --format chrome: V8's heap snapshot JSON, checked field by
# field against the snapshot's own tables (sqlite3), and read by a real
# consumer, MemLab's heap analysis (npm, tests/memlab), whose node count,
# dominators and retained sizes must be heapsnap's.

load lib
bats_require_minimum_version 1.5.0

setup_file() {
    export SNAPDIR="$BATS_FILE_TMPDIR"
    cat > "$SNAPDIR/app.py" <<'PY'
import gc, os, signal, threading, time, weakref

class Request:
    def __init__(self, i):
        self.i = i
        self.payload = "x" * (i % 50)
        self.tags = {"a%d" % (i % 7), "b"}

class Cache:
    pass

LOG = {i: Request(i) for i in range(300)}
ITEMS = [Request(i) for i in range(40)]
CACHE = Cache()
WEAK = weakref.ref(CACHE)
ODD = "caf\u00e9 \"quoted\" \\ tab\tnewline\n\u2603"

def make_counter():
    count = [0]
    def bump():
        count[0] += 1
        return count[0]
    return bump

BUMP = make_counter()

class Node:
    pass

def garbage():
    a, b = Node(), Node()
    a.other, b.other = b, a

gc.disable()
garbage()

def handler_frame():
    local_big = ["local"] * 1000
    os.kill(os.getpid(), signal.SIGUSR2)
    time.sleep(0.3)
    return local_big

handler_frame()
PY
    "$HEAPSNAP" dump -o "$SNAPDIR/s.db" -- "$(default_python)" "$SNAPDIR/app.py" \
        > "$SNAPDIR/dump.log" 2>&1 || { cat "$SNAPDIR/dump.log" >&2; return 1; }
    # The derived tables (retained sizes) are stored by the first command.
    "$HEAPSNAP" top -f "$SNAPDIR/s.1.db" --by retained -n 1 > /dev/null
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    SNAP="$SNAPDIR/s.1.db"
}

@test "export --help: the format and the options" {
    run "$HEAPSNAP" export --help
    [ "$status" -eq 0 ]
    [[ "$output" == "usage: heapsnap export [-f FILE] [--format chrome] [-o OUT]"* ]]
    [[ "$output" == *"--format FORMAT"* ]]
    [[ "$output" == *"-o, --output OUT"* ]]
    run "$HEAPSNAP" --help
    [[ "$output" == *"export "*"Chrome DevTools or MemLab"* ]]
}

@test "export: every object a node, every reference an edge, as the snapshot says" {
    run "$HEAPSNAP" export -f "$SNAP" -o out.heapsnapshot
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^wrote\ \'out\.heapsnapshot\':\ [0-9,]+\ nodes,\ [0-9,]+\ edges,\ .*\ \([0-9.]+\ s\)$ ]]
    [ ! -e out.heapsnapshot.tmp ]
    [ "$(stat -c %a out.heapsnapshot)" = 600 ]
    python3 - "$SNAP" out.heapsnapshot <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
snap = json.load(open(sys.argv[2], encoding="utf-8"))
meta = snap["snapshot"]["meta"]
nf, ef = meta["node_fields"], meta["edge_fields"]
assert nf[:6] == ["type", "name", "id", "self_size", "edge_count", "trace_node_id"], nf
assert ef == ["type", "name_or_index", "to_node"], ef
ntypes, etypes = meta["node_types"][0], meta["edge_types"][0]
N, E, S = snap["nodes"], snap["edges"], snap["strings"]
W = len(nf)
nobj = db.execute("select count(*) from objects").fetchone()[0]
nedge = db.execute("select count(*) from edge_list").fetchone()[0]
nroot = db.execute("select count(*) from roots").fetchone()[0]
assert snap["snapshot"]["node_count"] == nobj + 1 == len(N) // W
assert snap["snapshot"]["edge_count"] == nedge + nroot == len(E) // 3
# The root: synthetic, one edge per row of roots, each to that object.
assert ntypes[N[0]] == "synthetic" and N[4] == nroot
root_targets = sorted(E[3 * i + 2] // W for i in range(nroot))
want = sorted(r for (r,) in db.execute("select object_id from roots"))
assert root_targets == want, "root edges differ from the roots table"
root_names = [S[E[3 * i + 1]] for i in range(nroot)]
assert "module __main__" in root_names, root_names[:20]
# Nodes in object order: id, shallow size, out-degree, name.
degree = dict(db.execute("select src, count(*) from edge_list group by src"))
rows = db.execute("""select o.id, o.size, t.name, t.module, o.value
    from objects o join types t on t.id = o.type_id order by o.id""")
for i, (oid, size, tname, tmod, value) in enumerate(rows, start=1):
    n = N[i * W:(i + 1) * W]
    assert n[2] == oid and n[3] == size and n[4] == degree.get(oid, 0), (oid, n)
    if isinstance(value, str):
        value = value.split("\0")[0]  # C strings end at a NUL
    kind, name = ntypes[n[0]], S[n[1]]
    builtin = tmod in (None, "builtins")
    if builtin and tname == "str":
        assert kind == "string" and name.startswith(value or ""), (oid, name)
    elif builtin and tname in ("int", "float", "bool"):
        assert kind == "number" and name == "%s %s" % (tname, value), name
    elif builtin and tname == "function":
        assert kind == "closure" and name == value, (name, value)
    elif builtin and tname == "module":
        assert kind == "object" and name == "module " + value, name
    elif tmod == "__main__":
        assert kind == "object" and name == "__main__." + tname, name
# Edges in the snapshot's order: target, kind, label.
kinds = {k: v for k, v in db.execute("select id, name from edge_kinds")}
labels = db.execute("select e.dst, e.kind, v.label from edge_list e join edges v on v.id = e.rowid order by e.rowid")
seen = set()
for j, (dst, kind, label) in enumerate(labels, start=nroot):
    t, name, to = etypes[E[3 * j]], E[3 * j + 1], E[3 * j + 2]
    assert to == dst * W, (j, to, dst)
    k = kinds[kind]
    seen.add((k, t))
    if k == "weak":
        assert t == "weak", (label, t)
    elif k == "item":
        assert t == "element" and "[%d]" % name == label, (label, name)
    elif k == "attr":
        assert t == "property" and "." + S[name] == label, (label, S[name])
    elif k == "value":
        assert t == "property" and S[name] == label, (label, S[name])
    elif k in ("local", "closure"):
        assert t == "context" and label.endswith(" " + S[name]), label
    elif k == "element":
        assert t == "element" and isinstance(name, int)
    else:
        assert t in ("internal", "property") and S[name].lstrip(".") == label.lstrip("."), (k, label)
for want in [("weak", "weak"), ("item", "element"), ("attr", "property"),
             ("value", "property"), ("closure", "context"), ("element", "element"),
             ("key", "internal")]:
    assert want in seen, ("no %s reference exported as %s" % want)
# The odd string survives JSON escaping.
assert 'caf\u00e9 "quoted" \\ tab\tnewline\n\u2603' in S
print("ok")
PY
}

@test "export -o -: the same JSON on standard output" {
    "$HEAPSNAP" export -f "$SNAP" -o file.heapsnapshot > /dev/null
    run --separate-stderr "$HEAPSNAP" export -f "$SNAP" -o -
    [ "$status" -eq 0 ]
    [[ "$stderr" == "heapsnap: wrote V8 heap snapshot to standard output: "*" nodes, "* ]]
    [ "$output" = "$(cat file.heapsnapshot)" ]
}

@test "export: the default name is the snapshot's, in the current folder" {
    cp "$SNAP" mine.db
    run "$HEAPSNAP" export -f mine.db
    [ "$status" -eq 0 ]
    [ -s mine.heapsnapshot ]
    check_json < mine.heapsnapshot
}

@test "export: bad input is one line naming the thing, with its exit code, and no file" {
    run "$HEAPSNAP" export -f "$SNAP" --format hprof -o x.heapsnapshot
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: "*"hprof"* ]]
    run "$HEAPSNAP" export -f "$SNAP" extra
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: unexpected argument 'extra'"* ]]
    echo "not a database" > bad.db
    run "$HEAPSNAP" export -f bad.db -o x.heapsnapshot
    [ "$status" -eq 3 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "heapsnap: error: "*"bad.db"* ]]
    run "$HEAPSNAP" export -f missing.db -o x.heapsnapshot
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: "*"missing.db"* ]]
    run "$HEAPSNAP" export -f "$SNAP" -o nowhere/x.heapsnapshot
    [ "$status" -eq 4 ]
    [ "$output" = "heapsnap: error: cannot write 'nowhere/x.heapsnapshot': folder 'nowhere': No such file or directory" ]
    [ ! -e x.heapsnapshot ]
    [ ! -e x.heapsnapshot.tmp ]
}

@test "export: a write that fails midway leaves neither the file nor its .tmp" {
    # A 64 KiB file-size limit: write(2) fails with EFBIG (SIGXFSZ ignored).
    run bash -c "trap '' XFSZ; ulimit -f 64; exec '$HEAPSNAP' export -f '$SNAP' -o big.heapsnapshot"
    [ "$status" -eq 4 ]
    [[ "$output" == "heapsnap: error: cannot write 'big.heapsnapshot.tmp': File too large" ]]
    [ ! -e big.heapsnapshot ]
    [ ! -e big.heapsnapshot.tmp ]
}

@test "export: MemLab's heap analysis reads it: same nodes, dominators and retained sizes" {
    command -v npm > /dev/null && command -v node > /dev/null ||
        skip "no npm (tools/deps.sh web installs node and npm)"
    local dir="$ROOT/tests/memlab"
    if [ ! -f "$dir/node_modules/@memlab/heap-analysis/package.json" ]; then
        (cd "$dir" && PUPPETEER_SKIP_DOWNLOAD=1 npm ci --ignore-scripts \
            --no-audit --no-fund) >&2
    fi
    "$HEAPSNAP" export -f "$SNAP" -o m.heapsnapshot > /dev/null
    node "$dir/read_heapsnapshot.js" m.heapsnapshot memlab 10 > memlab.log 2>&1 ||
        { cat memlab.log; false; }
    "$HEAPSNAP" top -f "$SNAP" --objects -n 10 --json > top.json
    python3 - "$SNAP" memlab top.json <<'PY'
import json, sqlite3, sys
db = sqlite3.connect(sys.argv[1])
ml = json.load(open(sys.argv[2] + "/summary.json"))
top = json.load(open(sys.argv[3]))
nobj = db.execute("select count(*) from objects").fetchone()[0]
nedge = db.execute("select count(*) from edge_list").fetchone()[0]
nroot = db.execute("select count(*) from roots").fetchone()[0]
assert ml["nodes"] == nobj + 1, (ml["nodes"], nobj)
assert ml["edges"] == nedge + nroot, (ml["edges"], nedge, nroot)
assert ml["root"]["type"] == "synthetic" and ml["root"]["edges"] == nroot
# The biggest retainers: heapsnap top --objects against MemLab's top ten.
# MemLab hangs the garbage no root reaches under its root too.
total = db.execute("select sum(size) from objects").fetchone()[0]
assert ml["root"]["retained"] == total, (ml["root"], total)
mine = [(o["id"], o["retained_size"]) for o in top["objects"]]
theirs = [(o["id"], o["retained"]) for o in ml["top"]]
assert sorted(s for _, s in mine) == sorted(s for _, s in theirs), (mine, theirs)
assert dict(mine) == {i: s for i, s in theirs if i in dict(mine)}, (mine, theirs)
# Every reachable object: MemLab's retained size and immediate dominator
# are heapsnap's (idom NULL: only the roots dominate it = MemLab's root).
hs = {oid: (size, idom) for oid, size, idom in
      db.execute("select object_id, retained_size, idom from retained")}
checked = 0
for line in open(sys.argv[2] + "/nodes.tsv", encoding="utf-8"):
    oid, size, dom = line.split("\t")[:3]
    want_size, want_idom = hs[int(oid)]
    if want_idom == 0:
        continue  # garbage no root reaches: heapsnap keeps it apart
    assert int(size) == want_size, (oid, size, want_size)
    assert int(dom) == (want_idom or 0), (oid, dom, want_idom)
    checked += 1
assert checked > nobj * 0.9, (checked, nobj)
unreachable = sum(1 for s, i in hs.values() if i == 0)
assert unreachable >= 2, "the test program's garbage cycle is missing"
print(checked, "objects agree")
PY
}
