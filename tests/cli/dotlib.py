"""A small reader of the DOT text heapsnap writes, for the CLI tests.

load(path) -> graph attributes, objects (node name -> attrs), helpers
("o16.more_refs" boxes, "o16.del" markers) and references (tail, head,
attrs, label), the legend left out.  Labels are as the DOT text spells
them (a line break is a backslash and an n).  Used as: cp it next to the
test, then python3 -c "import dotlib; ...".
"""

import re

TOK = re.compile(r'\s*(?:("(?:[^"\\]|\\.)*")|(->)|([^\s\[\]{};,="]+)|([\[\]{};,=]))', re.S)


def tokens(text):
    out, pos = [], 0
    while True:
        m = TOK.match(text, pos)
        if not m or m.end() == pos:
            return out
        pos = m.end()
        q, arrow, word, punct = m.groups()
        if q is not None:
            out.append(("s", q[1:-1].replace('\\"', '"')))
        elif arrow:
            out.append(("p", "->"))
        elif word is not None:
            out.append(("s", word))
        else:
            out.append(("p", punct))


def parse(text):
    toks, i, depth = tokens(text), 0, 0
    graph, ndef, edef, nodes, edges = {}, {}, {}, {}, []

    def attrs():
        nonlocal i
        a = {}
        while i < len(toks) and toks[i] == ("p", "["):
            i += 1
            while toks[i] != ("p", "]"):
                k, v = toks[i][1], "true"
                i += 1
                if toks[i] == ("p", "="):
                    v = toks[i + 1][1]
                    i += 2
                a[k] = v
                if toks[i] == ("p", ","):
                    i += 1
            i += 1
        return a

    while i < len(toks):
        kind, w = toks[i]
        if kind == "p":
            depth += {"{": 1, "}": -1}.get(w, 0)
            i += 1
        elif w in ("digraph", "subgraph"):
            i += 2
        elif w in ("graph", "node", "edge") and toks[i + 1] == ("p", "["):
            i += 1
            a = attrs()
            if depth == 1:
                {"graph": graph, "node": ndef, "edge": edef}[w].update(a)
        elif i + 1 < len(toks) and toks[i + 1] == ("p", "->"):
            head = toks[i + 2][1]
            i += 3
            a = dict(edef)
            a.update(attrs())
            edges.append((w, head, a))
        else:
            i += 1
            a = dict(ndef)
            a.update(nodes.get(w, {}))
            a.update(attrs())
            nodes[w] = a
    return graph, nodes, edges


def load(path):
    graph, nodes, edges = parse(open(path, encoding="utf-8").read())
    objects = {k: v for k, v in nodes.items() if re.fullmatch(r"o\d+", k)}
    helpers = {k: v for k, v in nodes.items() if re.fullmatch(r"o\d+\.\w+", k)}
    refs = [(t, h, a, a.get("label", a.get("xlabel")))
            for t, h, a in edges if t in objects and h in objects]
    return graph, objects, helpers, refs
