"""Builds and imports hs_native (native/hs_native.c), the test extension
of compiled-class layouts and deliberately broken types, with the running
Python's headers and the C compiler (cc).

    mod = native.load()     # the module, or raises unittest.SkipTest
    native.path()           # the folder to put on sys.path of a child

Built once per process into a temporary folder removed at exit.
"""

import atexit
import importlib
import os
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE = os.path.join(HERE, "native", "hs_native.c")

_folder = None


def path():
    """The folder holding the built module (building it first)."""
    global _folder
    if _folder is not None:
        return _folder
    cc = os.environ.get("CC", "cc")
    if not shutil.which(cc):
        raise unittest.SkipTest("no C compiler (%s) to build hs_native" % cc)
    include = sysconfig.get_paths()["include"]
    if not os.path.exists(os.path.join(include, "Python.h")):
        raise unittest.SkipTest("no Python.h for %s" % sys.executable)
    folder = tempfile.mkdtemp(prefix="hs-native-")
    atexit.register(shutil.rmtree, folder, True)
    out = os.path.join(folder, "hs_native" +
                       sysconfig.get_config_var("EXT_SUFFIX"))
    # Sanitizer builds preload their runtimes; the extension needs none,
    # and neither does the compiler (whose own leaks LeakSanitizer would
    # report).  A Debian-packaged Python's pyconfig.h includes
    # <MULTIARCH/python3.X/pyconfig.h>, found from the folder above.
    # -O2: MypycLike's getters then compile to the code mypyc's getters
    # have in optimised builds (gcc, x86-64), which the agent reads.
    env = {k: v for k, v in os.environ.items() if k != "LD_PRELOAD"}
    p = subprocess.run([cc, "-shared", "-fPIC", "-O2", "-g", "-I", include,
                        "-I", os.path.dirname(include), "-o", out, SOURCE],
                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                       env=env)
    if p.returncode != 0:
        raise AssertionError("cannot build hs_native:\n" +
                             p.stdout.decode("utf-8", "replace"))
    _folder = folder
    return folder


def load():
    """The hs_native module."""
    folder = path()
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module("hs_native")
