"""The oracle of the real-packages suite: a census of the live heap taken
in the same process right before a dump, compared with the snapshot, and
`heapsnap why --json` paths followed step by step in the live process.

    report = check(path, targets, heapsnap_cli)

census: every object gc.get_objects() lists plus everything reachable from
them through gc.get_referents (the closure), with its address, its type's
address and sys.getsizeof; and, for a random sample of gc-tracked objects,
their in-degree counted over the same referents.  It is kept in arrays (a
few objects, not millions), and its own containers are left out, so the
heap it describes is the heap dumped: the cyclic gc is off from the census
to the end of the dump, the workload is finished, and no other thread gets
the GIL meanwhile.

comparison (in SQLite, the census as a temporary table beside the
snapshot): census objects missing from the snapshot, or there with another
type or another size (per type); per-type counts; objects only the snapshot
has (what gc.get_referents cannot see: str dict keys, type names, code
constants...); the sample's in-degrees.

paths: for each target address, `heapsnap why ADDRESS --json`, then from
the live root object each step is resolved by its label (.attr, [index],
['key'], key, closure, cell, __class__) or else found among the current
object's referents, and must reach the object with the step's address;
the last one is the target.
"""

import array
import ast
import gc
import inspect
import json
import random
import sqlite3
import subprocess
import sys
import time
import types

from heapsnap import _heapsnap

WEAK = 9  # edge_kinds.id of 'weak' (schema/heapsnap.sql)
TYPE_GC = 2  # type_flags bit: instances support the gc
FLAG_STATIC = 4  # object_flags bit: statically allocated
FLAG_SIZE_FALLBACK = 256


def _type_attr(t, name, default=None):
    """t.name looked up as type does it (a metaclass's __getattr__ would
    run code in the middle of the census)."""
    try:
        return type.__getattribute__(t, name)
    except Exception:
        return default


def _type_name(t):
    mod = _type_attr(t, "__module__")
    qual = _type_attr(t, "__qualname__") or _type_attr(t, "__name__", "?")
    return qual if mod in (None, "builtins") else "%s.%s" % (mod, qual)


def _python_sizeof(t):
    """True if sys.getsizeof of t's instances runs a Python __sizeof__."""
    for k in _type_attr(t, "__mro__", ()):
        d = _type_attr(k, "__dict__", {})
        if "__sizeof__" in d:
            return isinstance(d["__sizeof__"], types.FunctionType)
    return False


class Census:
    """The census; see the module header.  ids, type_ids, sizes (-1:
    getsizeof raised) and parents are arrays indexed alike."""


def _python_sizes():
    """{address: sys.getsizeof} of the objects whose type has a Python
    __sizeof__, each asked twice (the first call may fill caches)."""
    sizes = {}
    for o in gc.get_objects():
        if _python_sizeof(type(o)):
            try:
                sys.getsizeof(o)
                sizes[id(o)] = sys.getsizeof(o)
            except Exception:
                sizes[id(o)] = -1
    return sizes


def take_census(sample_size, seed, python_sizes):
    """A Census of the heap now.  A function, not a constructor: calling
    a class makes an argument tuple that the gc lists and that dies before
    the dump.  Nothing is allocated before gc.get_objects() that dies
    after it."""
    t0 = time.monotonic()
    objs = gc.get_objects()
    # Not random.sample(): its isinstance() against collections.abc can
    # reset an ABC's negative cache, freeing the weak references in it.
    rng = random.Random(seed)
    tracked = [o for o in objs if type(o) is not type]
    picked = {}
    for _ in range(min(sample_size, len(tracked))):
        o = tracked[rng.randrange(len(tracked))]
        picked[id(o)] = o
    indeg = dict.fromkeys(picked, 0)
    sample_types = {k: _type_name(type(o)) for k, o in picked.items()}
    del tracked, picked, o
    queue = list(objs)
    # parents[i]: the queue index of the object through which object i
    # was found (-1: listed by the gc), for explaining a difference.
    parents = array.array("q", [-1]) * len(queue)
    seen = set(map(id, queue))
    seen.update((id(objs), id(queue), id(seen), id(indeg), id(parents)))
    i = 0
    while i < len(queue):
        for r in gc.get_referents(queue[i]):
            k = id(r)
            if k in indeg:
                indeg[k] += 1
            if k not in seen:
                seen.add(k)
                queue.append(r)
                parents.append(i)
        i += 1
    del objs, seen
    names, py_sizeof = {}, set()
    ids, type_ids = array.array("Q"), array.array("Q")
    sizes = array.array("q")
    for o in queue:
        t = type(o)
        ta = id(t)
        if ta not in names:
            names[ta] = _type_name(t)
            if _python_sizeof(t):
                py_sizeof.add(ta)
        ids.append(id(o))
        type_ids.append(ta)
        k = id(o)
        if k in python_sizes:
            sizes.append(python_sizes[k])
            continue
        try:
            sizes.append(sys.getsizeof(o))
        except Exception:
            sizes.append(-1)
    count = len(queue)
    del queue
    c = Census()
    c.count = count
    c.ids, c.type_ids, c.sizes = ids, type_ids, sizes
    c.parents = parents
    c.types = names            # type address -> name
    c.py_sizeof = py_sizeof    # types with a Python __sizeof__
    c.indegree = indeg         # sampled address -> references
    c.sample_types = sample_types  # sampled address -> type name
    c.seconds = time.monotonic() - t0
    return c


def take_and_dump(path, sample_size=300, seed=1):
    """Census, then the dump (check mode), with the cyclic gc off from
    the census to the end of the dump.  Returns (census, facts).

    A Python-level __sizeof__ runs code that changes the heap (pandas'
    memory_usage fills caches and sets numpy's error state), so those
    sizes are taken first (_python_sizes), and no Python code runs from
    the census to the dump."""
    python_sizes = _python_sizes()
    gc.collect()
    gc.disable()
    # Other threads (a workload's pools, _thread._local cleanups) must not
    # run between the census and the dump: the GIL stays with this thread.
    switch = sys.getswitchinterval()
    sys.setswitchinterval(1000.0)
    try:
        census = take_census(sample_size, seed, python_sizes)
        t0 = time.monotonic()
        facts = _heapsnap._dump(path, check=True)
        facts["wall_seconds"] = time.monotonic() - t0
    finally:
        sys.setswitchinterval(switch)
        gc.enable()
    return census, facts


def compare(path, census):
    """The census against the snapshot; a dict of findings."""
    db = sqlite3.connect(path)
    q = db.execute
    q("CREATE TEMP TABLE census (address INTEGER PRIMARY KEY, type INTEGER,"
      " size INTEGER)")
    # Addresses above 2**63 do not occur in user space on x86-64 Linux.
    q("BEGIN")
    db.executemany("INSERT INTO census VALUES (?, ?, ?)",
                   zip(census.ids, census.type_ids, census.sizes))
    q("COMMIT")
    # visible: gc.get_referents sees this object's references (its type
    # supports the gc, and it is not statically allocated: a static type
    # is no gc object, so gc.get_referents(int) reports nothing).
    q("CREATE TEMP TABLE snap AS SELECT o.id AS oid, o.address AS address,"
      " tt.address AS type, o.size AS size, o.flags AS flags, t.module AS"
      " module, t.qualname AS qualname, t.name AS name, (t.flags & ?) != 0"
      " AND (o.flags & ?) = 0 AS visible FROM objects o JOIN objects tt ON"
      " tt.id = o.type_id JOIN types t ON t.id = o.type_id",
      (TYPE_GC, FLAG_STATIC))
    q("CREATE INDEX temp.snap_address ON snap(address)")
    q("CREATE INDEX temp.snap_type ON snap(type)")
    q("CREATE INDEX temp.snap_oid ON snap(oid)")
    out = {"census_objects": census.count,
           "snapshot_objects": q("SELECT count(*) FROM objects").fetchone()[0]}

    def name(ta):
        return census.types.get(ta, hex(ta))

    out["missing"] = {name(t): n for t, n in q(
        "SELECT c.type, count(*) FROM census c LEFT JOIN snap s ON"
        " s.address = c.address WHERE s.address IS NULL GROUP BY c.type"
        " ORDER BY 2 DESC")}
    index = {a: i for i, a in enumerate(census.ids)} if out["missing"] \
        else {}
    examples = []
    for (a,) in q("SELECT c.address FROM census c LEFT JOIN snap s ON"
                  " s.address = c.address WHERE s.address IS NULL LIMIT 10"):
        i = index[a]
        chain = []
        while i >= 0 and len(chain) < 4:
            chain.append(name(census.type_ids[i]))
            i = census.parents[i]
        examples.append(" <- ".join(chain) + (" <- (gc)" if i < 0 else ""))
    out["missing_examples"] = examples
    out["wrong_type"] = {name(t): n for t, n in q(
        "SELECT c.type, count(*) FROM census c JOIN snap s ON s.address ="
        " c.address WHERE s.type != c.type GROUP BY c.type")}
    size_rows = q(
        "SELECT c.type, count(*), sum(c.size), sum(s.size),"
        " sum(s.flags & ? != 0) FROM census c JOIN snap s ON s.address ="
        " c.address AND s.type = c.type WHERE c.size >= 0 AND c.size !="
        " s.size GROUP BY c.type ORDER BY 2 DESC", (FLAG_SIZE_FALLBACK,)
    ).fetchall()
    # A Python-level __sizeof__ (pandas' deep sizes) is not the object's
    # own size: a difference there is by design, reported apart.
    out["size_differs"] = {
        name(t): {"objects": n, "census_bytes": cb, "snapshot_bytes": sb,
                  "flagged_fallback": fb}
        for t, n, cb, sb, fb in size_rows if t not in census.py_sizeof}
    out["size_differs_python_sizeof"] = {
        name(t): {"objects": n, "census_bytes": cb, "snapshot_bytes": sb}
        for t, n, cb, sb, fb in size_rows if t in census.py_sizeof}
    out["sizes_equal"] = q(
        "SELECT count(*) FROM census c JOIN snap s ON s.address = c.address"
        " AND s.type = c.type AND s.size = c.size").fetchone()[0]
    out["getsizeof_raised"] = sum(1 for s in census.sizes if s < 0)
    # Per type: how many the census counted and how many the snapshot has.
    counts = q(
        "SELECT c.type, count(*), (SELECT count(*) FROM snap s WHERE s.type"
        " = c.type) FROM census c GROUP BY c.type").fetchall()
    out["types"] = len(counts)
    out["types_count_equal"] = sum(1 for _, a, b in counts if a == b)
    out["types_count_differs"] = sorted(
        ((name(t), a, b) for t, a, b in counts if a != b),
        key=lambda r: -abs(r[2] - r[1]))[:15]
    out["only_in_snapshot"] = {
        ("%s.%s" % (m, qn) if m not in (None, "builtins") else qn): n
        for m, qn, n in q(
            "SELECT s.module, coalesce(s.qualname, s.name), count(*) FROM"
            " snap s LEFT JOIN census c ON c.address = s.address WHERE"
            " c.address IS NULL GROUP BY s.type ORDER BY 3 DESC LIMIT 12")}
    out["max_size"], out["total_size"] = q(
        "SELECT max(size), sum(size) FROM objects").fetchone()
    rss = q("SELECT value FROM meta WHERE key = 'rss_bytes'").fetchone()
    out["rss_bytes"] = int(rss[0]) if rss and rss[0] is not None else None
    out["only_in_snapshot_total"] = q(
        "SELECT count(*) FROM snap s LEFT JOIN census c ON c.address ="
        " s.address WHERE c.address IS NULL").fetchone()[0]
    # In-degrees of the sample: references from census objects whose
    # references gc.get_referents reports (visible), weak references left
    # out (gc.get_referents does not report a weakref's referent).  The
    # snapshot's full in-degree, from every object, is reported beside.
    q("CREATE TEMP TABLE sample (address INTEGER PRIMARY KEY, census_in"
      " INTEGER)")
    db.executemany("INSERT INTO sample VALUES (?, ?)",
                   census.indegree.items())
    # One pass over the edges: those into the sample, from census objects.
    q("CREATE TEMP TABLE sample_in AS SELECT d.address AS dst, e.src AS src,"
      " e.kind AS kind FROM edge_list e CROSS JOIN snap d ON d.oid = e.dst JOIN"
      " sample p ON p.address = d.address WHERE e.kind != ?", (WEAK,))
    q("CREATE INDEX temp.sample_in_dst ON sample_in(dst)")
    rows = q(
        "SELECT p.address, p.census_in, (SELECT count(*) FROM sample_in i"
        " JOIN snap src ON src.oid = i.src JOIN census c ON c.address ="
        " src.address WHERE i.dst = p.address AND src.visible) FROM sample p"
        " JOIN snap d ON d.address = p.address").fetchall()
    out["indegree_snapshot_total"] = q(
        "SELECT count(*) FROM sample_in").fetchone()[0]
    out["indegree_census_total"] = sum(census.indegree.values())
    out["indegree_sample"] = len(rows)
    out["indegree_equal"] = sum(1 for _, a, b in rows if a == b)
    differs = []
    for addr, a, b in rows:
        if a != b:
            kinds = q(
                "SELECT k.name || ' from ' || coalesce(src.qualname,"
                " src.name) || CASE WHEN src.visible THEN '' ELSE"
                " ' (not visible to gc)' END || coalesce(' ' || (SELECT"
                " value FROM objects WHERE id = src.oid), ''), count(*)"
                " FROM sample_in i JOIN edge_kinds k ON k.id = i.kind JOIN"
                " snap src ON src.oid = i.src WHERE i.dst = ? GROUP BY 1",
                (addr,)).fetchall()
            differs.append({"type": census.sample_types.get(addr),
                            "census": a, "snapshot": b,
                            "snapshot_edges": dict(kinds)})
    out["indegree_differs"] = differs[:10]
    out["indegree_differs_count"] = len(differs)
    db.close()
    return out


# ---- paths ------------------------------------------------------------------

_MISSING = object()


def _resolve(cur, kind, label):
    """The object a step's label names from `cur`, or _MISSING."""
    if kind == "item" and isinstance(cur, (list, tuple)):
        return cur[int(label[1:-1])]
    if kind == "value" and isinstance(cur, dict):
        return dict.__getitem__(cur, ast.literal_eval(label[1:-1]))
    if kind == "attr":
        attr = label[1:]
        if attr == "__dict__":
            return object.__getattribute__(cur, "__dict__")
        static = inspect.getattr_static(cur, attr)
        if isinstance(static, (property, types.FunctionType)):
            return _MISSING  # Python code: not a stored reference
        return getattr(cur, attr)
    if kind == "cell":
        return cur.cell_contents
    if kind == "closure" and isinstance(cur, types.FunctionType):
        name = label[len("closure "):]
        return cur.__closure__[cur.__code__.co_freevars.index(name)]
    if kind == "class":
        return type(cur)
    return _MISSING


def _step(cur, kind, label, address):
    """(next object, how it was found) or (None, 'lost')."""
    try:
        nxt = _resolve(cur, kind, label)
        if nxt is not _MISSING and id(nxt) == address:
            return nxt, "label"
    except Exception:
        pass
    for r in gc.get_referents(cur):
        if id(r) == address:
            return r, "referent"
    if isinstance(cur, (dict, set, frozenset)):
        for k in cur:  # str keys of a str-keyed dict are not referents
            if id(k) == address:
                return k, "referent"
    return None, "lost"


def _live_root(root, by_address):
    addr = int(root["object"]["address"], 16)
    if root["kind"] == "module":
        m = sys.modules.get(root["label"])
        if m is not None and id(m) == addr:
            return m
    return by_address.get(addr)


def follow(path, targets, heapsnap_cli):
    """Follows `heapsnap why ADDRESS --json` for each target address in
    the live process.  Returns a list of dicts, one per target."""
    by_address = {id(o): o for o in gc.get_objects()}
    results = []
    for target in targets:
        t0 = time.monotonic()
        p = subprocess.run([heapsnap_cli, "why", "-f", path, "--json",
                            hex(target)], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        r = {"target": hex(target), "why_seconds": time.monotonic() - t0}
        results.append(r)
        if p.returncode != 0:
            r["error"] = p.stderr.decode().strip()
            continue
        answer = json.loads(p.stdout)
        r["type"] = answer["object"]["type"]
        if answer.get("reason") != "path":
            r["error"] = "no path: %s" % answer.get("reason")
            continue
        cur = _live_root(answer["root"], by_address)
        r["root"] = answer["root"]["description"]
        if cur is None:
            r["error"] = "root %s not found live" % r["root"]
            continue
        r["steps"], r["by_label"] = len(answer["path"]), 0
        for s in answer["path"]:
            cur, how = _step(cur, s["kind"], s["label"],
                             int(s["to"]["address"], 16))
            if cur is None:
                r["error"] = "lost at %s %s (%s)" % (s["kind"], s["label"],
                                                     answer["text"])
                break
            r["by_label"] += how == "label"
        else:
            r["reached"] = id(cur) == target
    return results


def check(path, targets_of, heapsnap_cli, paths=8, seed=1):
    """The whole oracle: census, dump, comparison, paths.  targets_of is
    called after the dump with the census; it returns candidate target
    addresses (a sample of `paths` is followed)."""
    census, facts = take_and_dump(path, seed=seed)
    report = {"dump": {k: facts[k] for k in ("objects", "edges", "seconds",
                                             "walk_seconds")
                       if k in facts},
              "census_seconds": census.seconds}
    report["dump"]["wall_seconds"] = facts["wall_seconds"]
    t0 = time.monotonic()
    report["compare"] = compare(path, census)
    report["compare_seconds"] = time.monotonic() - t0
    db = sqlite3.connect(path)
    report["check"] = {k: db.execute("SELECT value FROM meta WHERE key = ?",
                                     (k,)).fetchone()[0]
                       for k in ("check_mismatches",
                                 "check_negative_balances")}
    db.close()
    candidates = sorted(targets_of(census))
    rng = random.Random(seed)
    chosen = rng.sample(candidates, min(paths, len(candidates)))
    t0 = time.monotonic()
    report["paths"] = follow(path, chosen, heapsnap_cli)
    report["paths_seconds"] = time.monotonic() - t0
    return report


# ---- compiled classes ----------------------------------------------------------

ATTR, OTHER = 2, 10  # edge_kinds.id of 'attr' and 'other' (schema/heapsnap.sql)


def _mypyc_attrs(t):
    """The attribute names mypyc declares for t (__mypyc_attrs__ of the
    classes of its MRO), or None when no class of it is mypyc-compiled."""
    names = None
    for k in _type_attr(t, "__mro__", ()):
        attrs = _type_attr(k, "__dict__", {}).get("__mypyc_attrs__")
        if isinstance(attrs, tuple):
            names = (names or set()) | set(attrs)
    return names


def compiled_references(path):
    """The references out of mypyc-compiled objects in the snapshot at
    `path`, checked in the live process (the dumped objects still alive).

    attr edges: every `.name` reference (but .__dict__) out of a compiled
    object must be getattr(obj, name), the very object (same id).  other
    edges (`<ref #N>`): one is "unnamed" when the object holds its
    referent under a declared attribute more often than the snapshot has
    attr edges from it to that referent, i.e. a name was there to give.
    Returns the counts and a few examples of each disagreement."""
    objs = gc.get_objects()
    attrs_of = {}
    for o in objs:
        if isinstance(o, type):
            names = _mypyc_attrs(o)
            if names:
                attrs_of[id(o)] = names
    by_address = {id(o): o for o in objs if id(type(o)) in attrs_of}
    del objs
    db = sqlite3.connect(path)
    q = db.execute
    q("CREATE TEMP TABLE compiled (address INTEGER PRIMARY KEY)")
    db.executemany("INSERT INTO compiled VALUES (?)",
                   ((a,) for a in attrs_of))
    rows = q("SELECT s.address, e.kind, n.text, d.address FROM edge_list e"
             " JOIN objects s ON s.id = e.src JOIN objects st ON st.id ="
             " s.type_id JOIN compiled c ON c.address = st.address JOIN"
             " objects d ON d.id = e.dst LEFT JOIN names n ON e.kind = ? AND"
             " n.id = e.arg WHERE e.kind IN (?, ?)", (ATTR, ATTR, OTHER)
             ).fetchall()
    out = {"compiled_types": len(attrs_of), "compiled_objects":
           q("SELECT count(*) FROM objects o JOIN objects t ON t.id ="
             " o.type_id JOIN compiled c ON c.address = t.address"
             ).fetchone()[0],
           "other_edges_total": q("SELECT count(*) FROM edge_list WHERE"
                                  " kind = ?", (OTHER,)).fetchone()[0],
           "attr_edges": 0, "attr_checked": 0, "attr_agree": 0,
           "attr_disagree": [], "other_edges": 0, "other_checked": 0,
           "unnamed": 0, "unnamed_examples": []}
    db.close()
    named = {}  # (src, dst): attr edges between them
    others = []
    for src, kind, label, dst in rows:
        if kind == OTHER:
            out["other_edges"] += 1
            others.append((src, dst))
            continue
        out["attr_edges"] += 1
        named[src, dst] = named.get((src, dst), 0) + 1
        o = by_address.get(src)
        if o is None or label == "__dict__":
            continue
        out["attr_checked"] += 1
        try:
            v = getattr(o, label)
        except Exception as e:
            v = e
        if id(v) == dst:
            out["attr_agree"] += 1
        elif len(out["attr_disagree"]) < 10:
            out["attr_disagree"].append("%s .%s: snapshot 0x%x, live %r" % (
                _type_name(type(o)), label, dst, v)[:200])
    unlabelled = {}  # (src, dst): other edges between them
    for pair in others:
        unlabelled[pair] = unlabelled.get(pair, 0) + 1
    held = {}  # src: {id(value): how many declared attributes hold it}
    for (src, dst), n in unlabelled.items():
        o = by_address.get(src)
        if o is None:
            continue
        out["other_checked"] += n
        if src not in held:
            h = held[src] = {}
            for name in attrs_of[id(type(o))]:
                try:
                    v = getattr(o, name)
                except Exception:
                    continue
                h[id(v)] = h.get(id(v), 0) + 1
        missed = min(n, held[src].get(dst, 0) - named.get((src, dst), 0))
        if missed > 0:
            out["unnamed"] += missed
            if len(out["unnamed_examples"]) < 10:
                out["unnamed_examples"].append("%s -> 0x%x" % (
                    _type_name(type(o)), dst))
    return out


def addresses_of_types(census, names):
    """Census addresses of the objects whose type name ends with one of
    `names` (e.g. '.TypeInfo', 'DataFrame')."""
    want = {ta for ta, n in census.types.items()
            if any(n == x or n.endswith("." + x) for x in names)}
    return [a for a, t in zip(census.ids, census.type_ids) if t in want]
