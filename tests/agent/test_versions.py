"""Which interpreters an agent agrees to run in (compat.h's
hs_version_problem, called at import): the minor version it was built for,
no free-threaded build, and the same side of a patch release that changed
a layout the agent reads (3.14.5's gc state).  Checked on made-up versions
through the private _version_problem() hook, and on this interpreter."""

import sys
import unittest

from hstest import AgentTest
from heapsnap import _heapsnap


def problem(built, running):
    return _heapsnap._version_problem(built, running)


class VersionTest(AgentTest):

    def test_this_interpreter_is_accepted(self):
        self.assertIsNone(problem(_heapsnap._built_for, sys.version))
        built = tuple(int(x) for x in _heapsnap._built_for.split("."))
        self.assertEqual(built[:2], sys.version_info[:2])

    def test_same_side_of_314_gc_change(self):
        self.assertIsNone(problem("3.14.10", "3.14.5 (main) [GCC]"))
        self.assertIsNone(problem("3.14.5", "3.14.12"))
        self.assertIsNone(problem("3.14.0", "3.14.4"))
        self.assertIsNone(problem("3.14.3", "3.14.0rc1"))

    def test_newer_headers_older_314(self):
        msg = problem("3.14.10", "3.14.3 (main, Feb 3 2026) [GCC 14]")
        self.assertIn("built for Python 3.14.5+", msg)
        self.assertIn("cannot run in Python 3.14.3", msg)
        self.assertNotIn("\n", msg)

    def test_older_headers_newer_314(self):
        msg = problem("3.14.2", "3.14.10 (main) [GCC]")
        self.assertIn("built for Python 3.14.0-3.14.4", msg)
        self.assertIn("cannot run in Python 3.14.10", msg)

    def test_313_patch_releases_share_a_layout(self):
        # gh-130327 (3.13.13) changed behaviour, not layout: decided at
        # run time, so a 3.13.0 agent loads into 3.13.18.
        self.assertIsNone(problem("3.13.0", "3.13.18 (main) [GCC]"))
        self.assertIsNone(problem("3.13.18", "3.13.1"))

    def test_other_minor(self):
        msg = problem("3.14.10", "3.15.0a2 (main) [GCC]")
        self.assertIn("built for Python 3.14 and cannot run in Python "
                      "3.15", msg)
        self.assertIsNotNone(problem("3.13.0", "3.12.1"))

    def test_free_threaded(self):
        msg = problem("3.13.15", "3.13.15 experimental free-threading "
                      "build (main) [GCC]")
        self.assertIn("free-threaded", msg)
        self.assertIn("3.13.15", msg)

    def test_unreadable_version(self):
        self.assertIn("cannot tell", problem("3.14.10", "PyPy"))
        with self.assertRaises(ValueError):
            problem("three", sys.version)


if __name__ == "__main__":
    unittest.main()
