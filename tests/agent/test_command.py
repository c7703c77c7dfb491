"""`python -m heapsnap` runs the heapsnap command that belongs to the
package (heapsnap/_command.py): in the build tree, build/heapsnap beside
the build/py<KEY>/ folder the package comes from; a package with no
command beside it says where it looked, in one line, exit 2."""

import os
import shutil
import subprocess
import sys
import tempfile
import unittest

import heapsnap


def run_module(args, pythonpath):
    env = dict(os.environ, PYTHONPATH=pythonpath)
    return subprocess.run([sys.executable, "-m", "heapsnap"] + args,
                          env=env, stdout=subprocess.PIPE,
                          stderr=subprocess.PIPE, universal_newlines=True)


class TestCommand(unittest.TestCase):
    def test_python_m_runs_the_build_trees_command(self):
        agent = os.path.dirname(os.path.dirname(heapsnap.__file__))
        command = os.path.join(os.path.dirname(agent), "heapsnap")
        if not os.access(command, os.X_OK):
            self.skipTest("no command at %s (not a build tree)" % command)
        p = run_module(["--version"], agent)
        self.assertEqual(p.returncode, 0, p.stderr)
        want = subprocess.run([command, "--version"], stdout=subprocess.PIPE,
                              universal_newlines=True).stdout
        self.assertEqual(p.stdout, want)
        p = run_module(["why", "--help"], agent)
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertTrue(p.stdout.startswith("usage: heapsnap why OBJ"),
                        p.stdout)

    def test_no_command_beside_the_package_is_one_line_exit_2(self):
        tmp = tempfile.mkdtemp()
        try:
            lone = os.path.join(tmp, "a", "b")
            shutil.copytree(os.path.dirname(heapsnap.__file__),
                            os.path.join(lone, "heapsnap"),
                            ignore=shutil.ignore_patterns("__pycache__"))
            p = run_module(["--help"], lone)
            self.assertEqual(p.returncode, 2)
            self.assertEqual(p.stdout, "")
            lines = p.stderr.splitlines()
            self.assertEqual(len(lines), 1, p.stderr)
            self.assertTrue(lines[0].startswith(
                "heapsnap: error: cannot find the heapsnap command of the "
                "package in '%s/heapsnap'" % lone), lines[0])
            self.assertIn("pip install .", lines[0])
        finally:
            shutil.rmtree(tmp)


if __name__ == "__main__":
    unittest.main()
