"""Runs the agent test suite (tests/agent/test_*.py) and prints TAP.

    PYTHONPATH=build/py3.12 python3.12 tests/agent/run.py [-v] [--dir DIR]
                                                          [PATTERN...]

One TAP line per test: "ok N - module.Class.test_name", "not ok N - ..."
followed by the traceback as "# " comment lines, skips as "ok N - ... # SKIP
reason".  PATTERN arguments keep only the tests whose id contains one of
them.  --dir DIR runs DIR/test_*.py instead (tests/realpkgs).  Exits 0
when every test passed, 1 otherwise.  Stdlib only: this runs
on every CPython the machine has (3.8 and later).
"""

import os
import sys
import time
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))


def _iter_tests(suite):
    for t in suite:
        if isinstance(t, unittest.TestSuite):
            for u in _iter_tests(t):
                yield u
        else:
            yield t


class TapResult(unittest.TestResult):
    """Prints one TAP line as each test ends."""

    def __init__(self, out, verbose):
        super().__init__()
        self.out = out
        self.verbose = verbose
        self.n = 0
        self.started = 0.0

    def _line(self, text):
        self.out.write(text + "\n")
        self.out.flush()

    def _diag(self, text):
        for line in text.rstrip("\n").split("\n"):
            self._line("# " + line)

    def _name(self, test):
        # "test_labels.LabelTest.test_dict_keys" reads better than str().
        return test.id()

    def startTest(self, test):
        super().startTest(test)
        self.started = time.monotonic()

    def _timing(self):
        if self.verbose:
            self._line("#   %.2f s" % (time.monotonic() - self.started))

    def addSuccess(self, test):
        super().addSuccess(test)
        self.n += 1
        self._line("ok %d - %s" % (self.n, self._name(test)))
        self._timing()

    def addFailure(self, test, err):
        super().addFailure(test, err)
        self.n += 1
        self._line("not ok %d - %s" % (self.n, self._name(test)))
        self._diag(self.failures[-1][1])

    def addError(self, test, err):
        super().addError(test, err)
        self.n += 1
        self._line("not ok %d - %s" % (self.n, self._name(test)))
        self._diag(self.errors[-1][1])

    def addSkip(self, test, reason):
        super().addSkip(test, reason)
        self.n += 1
        self._line("ok %d - %s # SKIP %s" % (self.n, self._name(test), reason))

    def addExpectedFailure(self, test, err):
        super().addExpectedFailure(test, err)
        self.n += 1
        self._line("ok %d - %s # TODO expected failure" % (self.n,
                                                           self._name(test)))

    def addUnexpectedSuccess(self, test):
        super().addUnexpectedSuccess(test)
        self.n += 1
        self._line("not ok %d - %s # unexpected success" % (self.n,
                                                             self._name(test)))


def main(argv):
    verbose = "-v" in argv
    where = HERE
    if "--dir" in argv:
        i = argv.index("--dir")
        where = os.path.abspath(argv[i + 1])
        argv = argv[:i] + argv[i + 2:]
    patterns = [a for a in argv if not a.startswith("-")]
    sys.path.insert(0, where)
    loader = unittest.TestLoader()
    suite = loader.discover(where, pattern="test_*.py", top_level_dir=where)
    tests = list(_iter_tests(suite))
    if patterns:
        tests = [t for t in tests if any(p in t.id() for p in patterns)]
    out = sys.stdout
    out.write("# heapsnap agent tests on Python %s (%s)\n" % (
        sys.version.split()[0], sys.executable))
    out.write("1..%d\n" % len(tests))
    out.flush()
    result = TapResult(out, verbose)
    t0 = time.monotonic()
    unittest.TestSuite(tests).run(result)
    out.write("# %d tests, %d failed, %d errors, %d skipped in %.1f s\n" % (
        result.n, len(result.failures), len(result.errors),
        len(result.skipped), time.monotonic() - t0))
    out.flush()
    # Discovery errors (a test module that does not import) surface as
    # failed tests named unittest.loader._FailedTest, counted above.
    return 0 if result.wasSuccessful() else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
