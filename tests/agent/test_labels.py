"""Every kind of reference carries its kind and label: dict values and keys,
attributes (3.11+ inline values and managed dicts without materialising
__dict__), items, set elements, __slots__, closure cells, function, method,
type, exception and traceback fields, generator and frame locals."""

import gc
import sys
import types
import unittest

from hstest import AgentTest, Marker, PY


class Plain:
    pass


class Slotted:
    __slots__ = ("first", "second")


class SlottedChild(Slotted):
    __slots__ = ("third",)


class WithDel:
    def __del__(self):
        pass


def instance_dict_state(obj):
    """'values' when the instance's attributes are not in a dict object
    (3.11+ inline values, as far as gc can tell), 'dict' otherwise.  Reads
    through gc.get_referents, which never materialises __dict__."""
    refs = gc.get_referents(obj)
    if any(type(r) is dict for r in refs):
        return "dict"
    return "values"


class LabelTest(AgentTest):

    def test_dict_value_and_key(self):
        v = Marker()
        key = "".join(["alpha", "beta"])   # a data key, not interned
        d = {key: v, 42: Marker(), (1, "x"): Marker(), 2.5: Marker()}
        snap = self.dump()
        self.assertEqual(snap.edges(d, v), [("value", "['alphabeta']")])
        self.assertEqual(snap.edges(d, key), [("key", "key 'alphabeta'")])
        self.assertEqual(snap.labels(d, d[42]), ["[42]"])
        self.assertEqual(snap.labels(d, d[(1, "x")]), ["[(1, 'x')]"])
        self.assertEqual(snap.labels(d, d[2.5]), ["[2.5]"])
        k42 = [k for k in d if k == 42][0]
        self.assertIn(("key", "key 42"), snap.edges(d, k42))

    def test_same_object_key_and_value(self):
        k = "".join(["same", "object"])
        d = {k: k}
        snap = self.dump()
        self.assertEqual(sorted(snap.edges(d, k)),
                         [("key", "key 'sameobject'"),
                          ("value", "['sameobject']")])

    def test_str_keys_are_repr(self):
        # A str key labels its value edge as repr() spells it, up to 100
        # characters, cut before the closing quote by "...".  Plain ASCII
        # keys take a shortcut (copied whole); every other kind of key and
        # every way out of the shortcut is here, against Python's repr().
        import random
        rnd = random.Random(7)
        keys = ["", "plain", "it's", 'say "hi"', "both ' and \"",
                "back\\slash", "tab\there", "nl\n", "cr\r", "nul\x00",
                "del\x7f", "us\x1f", "caf\xe9", "nel\x85", "nbsp\xa0",
                "euro\u20ac", "smile\U0001f600", "sur\ud800rogate",
                "zw\u200bsp", "ls\u2028", "pua\ue000", "tag\U000e0041",
                "bom\ufeff", "unassigned\u0378", "\U0010ffff",
                "x" * 100, "y" * 101, "z" * 300, "'" * 150,
                "a" * 99 + "'" + "b" * 50, "a" * 100 + "'",
                "\u20ac" * 120, "e\xe9" * 80]
        alphabet = ("abc XYZ019_-'\"\\\n\t\x01\x7f\x85\xa0\xe9\u20ac"
                    "\u200b\U0001f600")
        keys += ["".join(rnd.choice(alphabet) for _ in range(
            rnd.randint(1, 130))) for _ in range(300)]
        keys += ["".join(rnd.choice("abcdefgh ._-0123") for _ in range(
            rnd.randint(1, 130))) for _ in range(100)]
        keys = list(dict.fromkeys(keys))
        d = {k: Marker() for k in keys}
        snap = self.dump()

        def expected(k):
            if len(k) <= 100:
                return "[%s]" % repr(k)
            cut = repr(k[:100])
            return "[%s...%s]" % (cut[:-1], cut[-1])

        wrong = [(k, snap.labels(d, v)) for k, v in d.items()
                 if snap.labels(d, v) != [expected(k)]]
        self.assertEqual(wrong[:5], [])

    def test_instance_attributes(self):
        v = Marker()
        obj = Plain()
        obj.x = v
        obj.y = [1]
        state = instance_dict_state(obj)
        snap = self.dump()
        if PY >= (3, 11):
            self.assertEqual(state, "values")
            self.assertEqual(snap.edges(obj, v), [("attr", ".x")])
            self.assertEqual(snap.labels(obj, obj.y), [".y"])
        else:
            d = obj.__dict__
            self.assertEqual(snap.labels(obj, d), [".__dict__"])
            self.assertEqual(snap.labels(d, v), ["['x']"])
        self.assertEqual(snap.edges(obj, Plain), [("class", ".__class__")])

    def test_dict_not_materialised(self):
        if PY < (3, 11):
            self.skipTest("instances keep a real __dict__ before 3.11")
        # Fresh objects whose attribute state gc can observe, holding a
        # tracked value: materialising would make a tracked dict each.
        objs = []
        for i in range(200):
            o = Plain()
            o.a = [i]
            o.b = "b"
            objs.append(o)
        self.assertEqual({instance_dict_state(o) for o in objs}, {"values"})
        gc.collect()
        gc.disable()
        try:
            before = len(gc.get_objects())
            snap = self.dump()
            after = len(gc.get_objects())
        finally:
            gc.enable()
        self.assertEqual({instance_dict_state(o) for o in objs}, {"values"})
        self.assertLess(after - before, 20, "the dump created gc objects")
        for o in objs[:20]:
            self.assertEqual(snap.labels(o, o.a), [".a"])
            self.assertNotIn(".__dict__", [lb for _, lb, _ in
                                           snap.out_edges(o)])
        # In the snapshot, no dict holds the attribute values either.
        self.assertEqual(snap.in_edges(objs[0].a),
                         [("attr", ".a", snap.oid(objs[0]))])

    def test_attributes_after_dict_touched(self):
        v = Marker()
        obj = Plain()
        obj.x = v
        d = obj.__dict__          # materialised (P6)
        # Who owns 3.13+ inline values once the dict shares them changed
        # in 3.13.13 and 3.14.4 (gh-130327): the live collector says.
        dict_owns = any(r is d for r in gc.get_referents(obj))
        snap = self.dump()
        labels = snap.labels(obj, d)
        self.assertEqual(labels, [".__dict__"])
        if PY >= (3, 13) and not dict_owns:
            # Values stay inline; the dict shares them and owns nothing.
            self.assertEqual(snap.labels(obj, v), [".x"])
            self.assertEqual(snap.labels(d, v), [])
        else:
            self.assertEqual(snap.labels(obj, v), [])
            self.assertEqual(snap.labels(d, v), ["['x']"])
        # Either way: one reference to v from the heap (3.8-3.10 frames
        # are objects: this frame's local is one more).
        self.assertEqual(len([e for e in snap.in_edges(v)
                              if e[0] not in ("weak", "local")]), 1)

    def test_attribute_added_after_dict_touched(self):
        obj = Plain()
        obj.x = 1
        obj.__dict__["late"] = late = Marker()
        obj.more = more = Marker()
        snap = self.dump()
        paths = set()
        for m, name in ((late, "late"), (more, "more")):
            direct = snap.labels(obj, m)
            via = snap.labels(obj.__dict__, m)
            paths.add((tuple(direct), tuple(via)))
            self.assertIn(direct + via, ([".%s" % name], ["['%s']" % name]))

    def test_many_attributes(self):
        # More attributes than the shared keys hold: 3.11+ move them into
        # a dict of their own.
        obj = Plain()
        vals = [Marker(i) for i in range(40)]
        for i, v in enumerate(vals):
            setattr(obj, "attr%d" % i, v)
        snap = self.dump()
        for i, v in enumerate(vals):
            direct = snap.labels(obj, v)
            d = vars(obj) if not direct else None
            got = direct or snap.labels(d, v)
            self.assertIn(got, ([".attr%d" % i], ["['attr%d']" % i]))

    def test_list_and_tuple_items(self):
        a, b = Marker(), Marker()
        lst = [a, b, a]
        tup = tuple([b, a, b])
        snap = self.dump()
        self.assertEqual(snap.edges(lst, a), [("item", "[0]"),
                                              ("item", "[2]")])
        self.assertEqual(snap.labels(lst, b), ["[1]"])
        self.assertEqual(snap.labels(tup, b), ["[0]", "[2]"])
        self.assertEqual(snap.labels(tup, a), ["[1]"])

    def test_set_elements(self):
        a, b = Marker(), Marker()
        s = {a, b}
        fs = frozenset([a])
        snap = self.dump()
        self.assertEqual(snap.edges(s, a), [("element", "{element}")])
        self.assertEqual(snap.edges(s, b), [("element", "{element}")])
        self.assertEqual(snap.edges(fs, a), [("element", "{element}")])
        s.discard(b)              # a dummy entry is left behind
        snap2 = self.dump()
        self.assertEqual(snap2.edges(s, b), [])
        self.assertEqual(snap2.row(s)["length"], 1)

    def test_slots(self):
        a, b, c = Marker(), Marker(), Marker()
        obj = SlottedChild()
        obj.first, obj.second, obj.third = a, b, c
        half = Slotted()
        half.second = b           # .first left unset
        snap = self.dump()
        self.assertEqual(snap.edges(obj, a), [("attr", ".first")])
        self.assertEqual(snap.labels(obj, b), [".second"])
        self.assertEqual(snap.labels(obj, c), [".third"])
        self.assertEqual([lb for k, lb, _ in snap.out_edges(half)
                          if k == "attr"], [".second"])

    def test_closure_cells(self):
        captured = Marker()

        def outer():
            secret = captured

            def inner():
                return secret
            return inner
        fn = outer()
        cell = fn.__closure__[0]
        snap = self.dump()
        self.assertEqual(snap.labels(fn, fn.__closure__), [".__closure__"])
        self.assertEqual(snap.edges(fn.__closure__, cell),
                         [("closure", "closure secret")])
        self.assertEqual(snap.edges(cell, captured),
                         [("cell", ".cell_contents")])
        # After a collection, which untracks tuples that hold only atoms
        # (the walk looks only tracked tuples up as closures): still named.
        atoms = tuple(["x" + "y", 12345678])
        snap = self.dump(collect=True)
        self.assertTrue(gc.is_tracked(fn.__closure__))
        self.assertFalse(gc.is_tracked(atoms))
        self.assertEqual(snap.edges(fn.__closure__, cell),
                         [("closure", "closure secret")])
        self.assertEqual(snap.labels(atoms, atoms[0]), ["[0]"])

    def test_function_fields(self):
        default = Marker()

        def fn(a, b=default, *, c=Marker()) -> "ann":
            "doc string"
            return a
        fn.attribute = Marker()
        # 3.10+ keep annotations as a tuple until first asked for.
        fn.__annotations__
        snap = self.dump()
        self.assertEqual(snap.labels(fn, fn.__code__), [".__code__"])
        self.assertEqual(snap.labels(fn, fn.__globals__), [".__globals__"])
        self.assertEqual(snap.labels(fn, fn.__defaults__), [".__defaults__"])
        self.assertEqual(snap.labels(fn, fn.__kwdefaults__),
                         [".__kwdefaults__"])
        self.assertIn(".__doc__", snap.labels(fn, fn.__doc__))
        self.assertIn(".__name__", snap.labels(fn, fn.__name__))
        self.assertEqual(snap.labels(fn, fn.__qualname__), [".__qualname__"])
        self.assertEqual(snap.labels(fn, fn.__annotations__),
                         [".__annotations__"])
        self.assertEqual(snap.labels(fn, fn.__dict__), [".__dict__"])
        self.assertEqual(snap.labels(fn.__dict__, fn.attribute),
                         ["['attribute']"])
        self.assertEqual(snap.labels(fn.__defaults__, default), ["[0]"])
        if PY >= (3, 10):
            self.assertEqual(snap.labels(fn, fn.__builtins__),
                             [".__builtins__"])
        self.assertEqual(snap.row(fn)["value"], fn.__qualname__)
        self.assertEqual(snap.row(fn.__code__)["value"],
                         fn.__code__.co_qualname if PY >= (3, 11)
                         else "fn")

    def test_code_fields(self):
        def fn():
            return "a constant string", 12345678901
        co = fn.__code__
        snap = self.dump()
        consts = snap.labels(co, co.co_consts)
        self.assertEqual(consts, [".co_consts"])
        self.assertIn(".co_filename", snap.labels(co, co.co_filename))
        self.assertIn(".co_name", snap.labels(co, co.co_name))

    def test_bound_method(self):
        obj = Plain()
        m = types.MethodType(lambda self: self, obj)
        snap = self.dump()
        self.assertEqual(snap.edges(m, obj), [("attr", ".__self__")])
        self.assertEqual(snap.edges(m, m.__func__), [("attr", ".__func__")])

    def test_builtin_method(self):
        lst = [Marker()]
        m = lst.append
        snap = self.dump()
        self.assertEqual(snap.labels(m, lst), [".__self__"])

    def test_type_fields(self):
        class Base:
            pass

        class Child(Base):
            attr = 1
        snap = self.dump()
        self.assertEqual(snap.labels(Child, Child.__mro__), [".__mro__"])
        self.assertEqual(snap.labels(Child, Child.__bases__), [".__bases__"])
        self.assertEqual(snap.labels(Child, Base),
                         [".__base__"])
        self.assertEqual(snap.labels(Child.__mro__, Base), ["[1]"])
        self.assertEqual(snap.labels(Child.__bases__, Base), ["[0]"])
        type_dict = snap.q(
            "SELECT label FROM edges WHERE src = ? AND label = '.__dict__'",
            snap.oid(Child))
        self.assertEqual(len(type_dict), 1)
        self.assertEqual(snap.labels(Child, Child.__name__)[:1],
                         [".__name__"])
        self.assertIn(".__qualname__", snap.labels(Child, Child.__qualname__))
        self.assertEqual(snap.row(Child)["value"], Child.__qualname__)

    def test_static_type_dict(self):
        snap = self.dump()
        labels = [lb for _, lb, _ in snap.out_edges(int)]
        self.assertIn(".__dict__", labels)
        self.assertIn(".__mro__", labels)

    def test_exception_fields(self):
        def fail():
            local_in_frame = Marker("in frame")
            raise KeyError("inner")
        try:
            try:
                fail()
            except KeyError:
                raise ValueError("outer")
        except ValueError as e:
            exc = e
        tb = exc.__traceback__
        snap = self.dump()
        self.assertEqual(snap.edges(exc, exc.__context__),
                         [("attr", ".__context__")])
        self.assertEqual(snap.labels(exc, tb), [".__traceback__"])
        self.assertEqual(snap.labels(exc, exc.args), [".args"])
        inner = exc.__context__
        itb = inner.__traceback__
        self.assertEqual(snap.labels(itb, itb.tb_next), [".tb_next"])
        self.assertEqual(snap.labels(itb, itb.tb_frame), [".tb_frame"])
        # The finished frame still names its locals.
        deepest = itb
        while deepest.tb_next:
            deepest = deepest.tb_next
        frame = deepest.tb_frame
        local = frame.f_locals["local_in_frame"]
        self.assertEqual(snap.edges(frame, local),
                         [("local", "local local_in_frame")])
        del frame, local, deepest

    def test_frame_value_names_function_file_and_line(self):
        # A frame object's value is how a traceback names it, checked
        # against the live frame: "QUALNAME (FILE:LINE)".
        def failing():
            raise KeyError("x")
        try:
            failing()
        except KeyError as e:
            tb = e.__traceback__
        while tb.tb_next:
            tb = tb.tb_next
        frame = tb.tb_frame
        code = frame.f_code
        qualname = getattr(code, "co_qualname", code.co_name)
        snap = self.dump()
        self.assertEqual(snap.row(frame)["value"], "%s (%s:%d)" % (
            qualname, code.co_filename, frame.f_lineno))
        del frame, tb

    def test_exception_cause(self):
        try:
            try:
                raise KeyError(1)
            except KeyError as k:
                raise ValueError(2) from k
        except ValueError as e:
            exc = e
        snap = self.dump()
        self.assertIn(".__cause__", snap.labels(exc, exc.__cause__))

    def test_generator_locals(self):
        held = Marker()

        def gen(arg):
            gen_local = held
            yield gen_local
            yield arg
        g = gen(Marker("arg"))
        next(g)
        snap = self.dump()
        if PY >= (3, 11):
            self.assertEqual(snap.edges(g, held),
                             [("local", "local gen_local")])
        else:
            frame = g.gi_frame
            self.assertEqual(snap.labels(g, frame), [".gi_frame"])
            self.assertEqual(snap.edges(frame, held),
                             [("local", "local gen_local")])
        self.assertEqual(snap.row(g)["value"], gen.__qualname__)

    def test_exhausted_generator_code(self):
        def gen():
            yield 1
        g = gen()
        list(g)
        # 3.14's cleared generator frame still owns its code object; the
        # live collector says whether this one does.
        owns_code = any(r is gen.__code__ for r in gc.get_referents(g))
        snap = self.dump()
        self.assertEqual(snap.labels(g, gen.__code__),
                         [".gi_code"] if owns_code else [])
        if PY >= (3, 14):
            self.assertTrue(owns_code)

    def test_annotate_function(self):
        def fn(a: "ann") -> None:
            return a
        annotate = getattr(fn, "__annotate__", None)
        if annotate is None:
            self.skipTest("no __annotate__ before 3.14 (PEP 649)")
        snap = self.dump()
        self.assertEqual(snap.labels(fn, annotate), [".__annotate__"])

    def test_coroutine_locals(self):
        held = Marker()

        class Wait:
            def __await__(self):
                yield

        async def coro():
            coro_local = held
            await Wait()
            return coro_local
        c = coro()
        c.send(None)
        try:
            snap = self.dump()
            if PY >= (3, 11):
                self.assertEqual(snap.labels(c, held), ["local coro_local"])
            else:
                self.assertEqual(snap.labels(c.cr_frame, held),
                                 ["local coro_local"])
        finally:
            c.close()

    def test_frame_locals_of_running_frame(self):
        frame_local = Marker("running")
        snap = self.dump()
        here = sys._getframe() if PY < (3, 11) else None
        code = self.test_frame_locals_of_running_frame.__code__
        frames = snap.q("SELECT id, thread_id, function, line, code_id, "
                        "object_id FROM frames WHERE code_id = ?",
                        snap.oid(code))
        self.assertEqual(len(frames), 1)
        fid, tid, function, line, _, object_id = frames[0]
        self.assertTrue(function.endswith("test_frame_locals_of_running_"
                                          "frame"))
        self.assertEqual(snap.q1("SELECT is_main FROM threads WHERE id = ?",
                                 tid), 1)
        if PY >= (3, 11):
            self.assertIn(("frame", "local frame_local", tid, fid),
                          snap.roots(frame_local))
            self.assertIsNone(object_id)   # no frame object was made
        else:
            self.assertEqual(object_id, snap.oid(here))
            self.assertEqual(snap.edges(here, frame_local),
                             [("local", "local frame_local")])
            self.assertIn(("frame", "frame", tid, fid), snap.roots(here))
        del here

    def test_weakref_callback(self):
        target = Marker()

        def cb(ref):
            pass
        import weakref
        r = weakref.ref(target, cb)
        snap = self.dump()
        self.assertEqual(snap.edges(r, target), [("weak", "(weak)")])
        self.assertEqual(snap.labels(r, cb), [".__callback__"])

    def test_property_and_classmethod(self):
        def getter(self):
            return 1

        def cm(cls):
            return cls
        p = property(getter)
        c = classmethod(cm)
        snap = self.dump()
        self.assertEqual(snap.labels(p, getter), [".fget"])
        self.assertIn(".__func__", snap.labels(c, cm))

    def test_c_members_name_their_referents(self):
        """References a C type declares as T_OBJECT members (PyMemberDef),
        found by tp_traverse too, are labelled with the member's name, and
        getattr(obj, name) is the referent (same id); none stays
        numbered."""
        import functools

        class SubPartial(functools.partial):
            pass
        target, kw = [1], {"k": [2]}
        objs = {
            "partial": (functools.partial(len, target, **kw),
                        ("func", "args", "keywords")),
            "subclass": (SubPartial(len, target), ("func", "args",
                                                   "keywords")),
            "staticmethod": (staticmethod(len), ("__func__",)),
            "slice": (slice(target, [3], kw), ("start", "stop", "step")),
        }
        snap = self.dump()
        for what, (o, members) in objs.items():
            edges = snap.q("SELECT e.kind, e.label, d.address FROM edges e"
                           " JOIN objects d ON d.id = e.dst WHERE e.src = ?",
                           snap.oid(o))
            self.assertEqual([e for e in edges if e[0] == "other"], [],
                             what)
            for name in members:
                found = [a for k, label, a in edges
                         if k == "attr" and label == "." + name]
                self.assertEqual(found, [id(getattr(o, name))],
                                 (what, name, edges))

    def test_module_dict(self):
        mod = sys.modules[__name__]
        snap = self.dump()
        self.assertEqual(snap.labels(mod, mod.__dict__), [".__dict__"])
        self.assertEqual(snap.labels(mod.__dict__, LabelTest),
                         ["['LabelTest']"])
        self.assertIn(("module", __name__, None, None), snap.roots(mod))

    def test_edge_label_kinds_table(self):
        snap = self.dump()
        kinds = dict(snap.q("SELECT name, retains FROM edge_kinds"))
        self.assertEqual(kinds["weak"], 0)
        # Every named or numbered edge has its name or number.
        self.assertEqual(snap.q1(
            "SELECT count(*) FROM edge_list e JOIN edge_kinds k ON "
            "k.id = e.kind WHERE k.arg != 'none' AND (e.arg IS NULL OR "
            "(k.arg = 'name' AND e.arg NOT IN (SELECT id FROM names)))"), 0)


if __name__ == "__main__":
    unittest.main()
