"""A frame running module code has the module's __dict__ as its namespace
(f_locals is f_globals).  That namespace is not written as a frame root,
so retention paths start at "module __main__"; the frame's reference is
still counted, so the dict is no external root and balances stay exact.
Function frames, class bodies and exec() namespaces that belong to no
module keep their roots."""

import unittest

from hstest import AgentTest, PY

# The child programs: each dumps from where it runs and prints what the
# parent asserts, one fact a line.
MODULE_LEVEL = """
import os, sys
from hstest import child_snapshot, raw_dump

class Leak:
    pass

leak = Leak()
p = os.path.join(os.environ["HS_TEST_TMP"], "module.db")
raw_dump(p)
s = child_snapshot(p)
main = sys.modules["__main__"]
d = main.__dict__
print("dict_roots", s.roots(d))
print("module_roots", s.roots(main))
print("module_to_dict", s.labels(main, d))
print("dict_to_leak", s.labels(d, leak))
print("leak_roots", s.roots(leak))
print("f_locals_roots", s.q("SELECT count(*) FROM roots WHERE label = "
                             "'f_locals'")[0][0])
"""

IN_FUNCTION = """
import os, sys
from hstest import child_snapshot, raw_dump

def work():
    held_here = {"k": 1}
    p = os.path.join(os.environ["HS_TEST_TMP"], "function.db")
    raw_dump(p)
    s = child_snapshot(p)
    print("local_roots", [r[:2] for r in s.roots(held_here)])
    print("dict_roots", s.roots(sys.modules["__main__"].__dict__))

work()
"""

IN_EXEC = """
import os, sys
from hstest import child_snapshot, raw_dump

ns = {"os": os, "raw_dump": raw_dump}
exec("p = os.path.join(os.environ['HS_TEST_TMP'], 'exec.db')\\n"
     "raw_dump(p)\\n", ns)
s = child_snapshot(ns["p"])
print("ns_roots", [r[:2] for r in s.roots(ns)])
"""

IN_CLASS_BODY = """
import os, sys
from hstest import child_snapshot, raw_dump

class Body:
    marker_in_body = [1, 2, 3]
    p = os.path.join(os.environ["HS_TEST_TMP"], "class.db")
    raw_dump(p)
    s = child_snapshot(p)
    src = s.q1("SELECT src FROM edge_list e JOIN names n ON n.id = e.arg "
               "WHERE e.kind = 1 AND n.text = '''marker_in_body''' "
               "AND e.dst = ?", s.oid(marker_in_body))
    print("ns_roots", s.q("SELECT kind, label FROM roots WHERE "
                          "object_id = ?", src))
"""


def facts(out):
    """The child's "name value" lines as a dict of evaluated values."""
    result = {}
    for line in out.splitlines():
        name, _, value = line.partition(" ")
        result[name] = eval(value)
    return result


class ModuleFrameTest(AgentTest):

    def test_module_namespace_is_not_a_frame_root(self):
        f = facts(self.run_child(MODULE_LEVEL))
        # Neither a frame root nor an external one: the frame's
        # reference is counted and nothing else holds it from outside.
        self.assertEqual(f["dict_roots"], [])
        self.assertEqual(f["f_locals_roots"], 0)
        # 3.13's script runner holds __main__ from C (PyImport_AddModuleRef),
        # which is a true external reference: only the frame is ruled out.
        self.assertEqual([r for r in f["module_roots"] if r[0] != "external"],
                         [("module", "__main__", None, None)])
        self.assertEqual(f["module_to_dict"], [".__dict__"])
        self.assertEqual(f["dict_to_leak"], ["['leak']"])
        self.assertEqual(f["leak_roots"], [])

    def test_function_locals_stay_roots(self):
        f = facts(self.run_child(IN_FUNCTION))
        if PY >= (3, 11):
            self.assertEqual(f["local_roots"], [("frame", "local held_here")])
        else:
            # The running frame object is the root; the local is its edge.
            self.assertEqual(f["local_roots"], [])
        self.assertEqual(f["dict_roots"], [])

    def test_exec_namespace_of_no_module_stays_a_root(self):
        f = facts(self.run_child(IN_EXEC))
        frame_roots = [r for r in f["ns_roots"] if r[0] == "frame"]
        if PY >= (3, 11):
            self.assertEqual(frame_roots, [("frame", "f_locals")])
        else:
            # The running frame object is the root and holds it by an
            # edge; exec()'s argument on the frame's value stack, which
            # tp_traverse does not report while the frame runs, shows as
            # a reference from outside the heap.
            self.assertEqual(frame_roots, [])

    def test_class_body_namespace_stays_a_root(self):
        f = facts(self.run_child(IN_CLASS_BODY))
        frame_roots = [r for r in f["ns_roots"] if r[0] == "frame"]
        if PY >= (3, 11):
            self.assertEqual(frame_roots, [("frame", "f_locals")])
        else:
            # Held by the frame object's edge, and from C by
            # __build_class__ (an external reference).
            self.assertEqual(frame_roots, [])


if __name__ == "__main__":
    unittest.main()
