"""The build backend behind `pip install .` (PEP 517; pyproject.toml names
it).  It needs nothing but the Python running it: no setuptools, no wheel
package, no network, so `pip install .` works offline with any pip >= 21.3
a Debian or pyenv Python has, with or without build isolation.

build_wheel() runs the Makefile for this one interpreter, in its own build
folder (build/pip-<KEY>/, KEY as tools/pythons.sh makes it: 3.12.1), and
packs a wheel for this interpreter holding

    heapsnap/                          the agent package, with its extension
    <data>/scripts/heapsnap            the `heapsnap` command (C)
    <data>/data/lib/heapsnap/          the `dump --pid` loader
    <data>/data/share/heapsnap/web/    the `serve` viewer

so that the installed command finds its loader and viewer where
`make install` puts them (BIN/../lib/heapsnap, BIN/../share/heapsnap),
and its agent in the site-packages beside it (inspector/launch.c).

The C libraries stay system libraries: a missing one stops the build with
one line naming the Debian package to install (tools/deps.sh pip); nothing
is installed from here.  The package's metadata lives in this file.
"""

import base64
import hashlib
import os
import re
import stat
import subprocess
import sys
import sysconfig
import zipfile

NAME = "heapsnap"
SUMMARY = "What is in my Python heap, and why is it still alive?"
REQUIRES_PYTHON = ">=3.8"
# Entry points of the installed distribution (entry_points.txt): the
# pytest plugin, named as its module so that `-p heapsnap.pytest_plugin`
# finds it registered already.
ENTRY_POINTS = {
    "pytest11": {"heapsnap.pytest_plugin": "heapsnap.pytest_plugin"},
}

SRC = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _version():
    """VERSION of the Makefile: one version for `make` and pip."""
    with open(os.path.join(SRC, "Makefile")) as f:
        m = re.search(r"^VERSION\s*:=\s*(\S+)\s*$", f.read(), re.M)
    if not m:
        _fail("heapsnap: error: no VERSION in %s/Makefile" % SRC)
    return m.group(1)


def _fail(line):
    """Stops the build with one line on stderr (pip shows it)."""
    sys.stderr.write(line + "\n")
    sys.stderr.flush()
    raise SystemExit(1)


def _key():
    """This interpreter's key: full version and ABI flags (3.12.1)."""
    return "%d.%d.%d%s" % (sys.version_info[:3] +
                           (getattr(sys, "abiflags", ""),))


def _tag():
    """The wheel tag of this interpreter: cp312-cp312-linux_x86_64."""
    impl = "cp%d%d" % sys.version_info[:2]
    plat = sysconfig.get_platform().replace("-", "_").replace(".", "_")
    return "%s-%s%s-%s" % (impl, impl, getattr(sys, "abiflags", ""), plat)


def _dist_info():
    return "%s-%s.dist-info" % (NAME, _version())


def _metadata_files():
    """{name in .dist-info: text} for METADATA, WHEEL, entry_points.txt."""
    files = {
        "METADATA": "Metadata-Version: 2.1\nName: %s\nVersion: %s\n"
                    "Summary: %s\nRequires-Python: %s\n"
                    % (NAME, _version(), SUMMARY, REQUIRES_PYTHON),
        "WHEEL": "Wheel-Version: 1.0\nGenerator: heapsnap "
                 "tools/pip_backend.py\nRoot-Is-Purelib: false\nTag: %s\n"
                 % _tag(),
        "top_level.txt": "%s\n" % NAME,
    }
    if ENTRY_POINTS:
        files["entry_points.txt"] = "".join(
            "[%s]\n%s\n" % (group, "".join("%s = %s\n" % kv
                                           for kv in sorted(eps.items())))
            for group, eps in sorted(ENTRY_POINTS.items()))
    return files


def _check_python():
    """This interpreter can have an agent: CPython with the GIL, and its
    headers (Debian's come in a -dev package)."""
    if sys.implementation.name != "cpython":
        _fail("heapsnap: error: %s is %s; heapsnap supports CPython only"
              % (sys.executable, sys.implementation.name))
    if sysconfig.get_config_var("Py_GIL_DISABLED"):
        _fail("heapsnap: error: %s is a free-threaded build, which heapsnap "
              "does not support yet" % sys.executable)
    include = sysconfig.get_paths()["include"]
    if os.path.exists(os.path.join(include, "Python.h")):
        return
    if include.startswith("/usr/include/"):
        pkg = "python%d.%d-dev" % sys.version_info[:2]
        _fail("heapsnap: missing packages: %s (run: sudo apt-get install %s)"
              % (pkg, pkg))
    _fail("heapsnap: error: no Python.h in '%s' for %s: install this "
          "interpreter's development headers" % (include, sys.executable))


def _make():
    """Builds the command, the loader and this interpreter's agent with
    the Makefile; returns the build folder."""
    _check_python()
    env = dict(os.environ, HEAPSNAP_DEPS_NO_INSTALL="1")
    deps = subprocess.run(["sh", os.path.join(SRC, "tools", "deps.sh"),
                           "pip"], cwd=SRC, env=env)
    if deps.returncode != 0:
        raise SystemExit(1)  # deps.sh named the packages
    build = os.path.join("build", "pip-" + _key())
    env["HEAPSNAP_PYTHONS"] = sys.executable
    # SAN=0: a SAN=1 in the environment (make check-asan runs the pip
    # tests with it) must not make a sanitizer build of what is installed.
    cmd = ["make", "-C", SRC, "--no-print-directory",
           "-j%d" % (os.cpu_count() or 1), "BUILD=" + build,
           "DEPS_TIER=pip", "SAN=0", "all"]
    if subprocess.run(cmd, env=env).returncode != 0:
        _fail("heapsnap: error: the build failed (%s)" % " ".join(cmd))
    build = os.path.join(SRC, build)
    agent = os.path.join(build, "py" + _key(), NAME)
    ext = "_heapsnap" + sysconfig.get_config_var("EXT_SUFFIX")
    if not os.path.exists(os.path.join(agent, ext)):
        _fail("heapsnap: error: the build made no agent for %s ('%s' is "
              "missing)" % (sys.executable, os.path.join(agent, ext)))
    return build


def _wheel_files(build):
    """(name in the wheel, file on disk, executable) for everything the
    wheel installs but its metadata."""
    data = "%s-%s.data" % (NAME, _version())
    out = []
    agent = os.path.join(build, "py" + _key())
    for top, dirs, names in os.walk(os.path.join(agent, NAME)):
        dirs[:] = sorted(d for d in dirs if d != "__pycache__")
        for n in sorted(names):
            if n.endswith((".py", ".so")):
                path = os.path.join(top, n)
                out.append((os.path.relpath(path, agent), path, False))
    out.append((data + "/scripts/heapsnap", os.path.join(build, "heapsnap"),
                True))
    out.append((data + "/data/lib/heapsnap/libheapsnap_inject.so",
                os.path.join(build, "inject", "libheapsnap_inject.so"),
                False))
    web = os.path.join(SRC, "web")
    for n in sorted(os.listdir(web)):
        out.append((data + "/data/share/heapsnap/web/" + n,
                    os.path.join(web, n), False))
    return [(name.replace(os.sep, "/"), path, x) for name, path, x in out]


def _record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest())
    return "%s,sha256=%s,%d\n" % (name, digest.rstrip(b"=").decode(),
                                  len(data))


def _add(zf, name, data, executable=False):
    info = zipfile.ZipInfo(name, date_time=(1980, 1, 1, 0, 0, 0))
    info.compress_type = zipfile.ZIP_DEFLATED
    # A regular file's mode: pip sets the executable bits only then.
    info.external_attr = (stat.S_IFREG |
                          (0o755 if executable else 0o644)) << 16
    zf.writestr(info, data)
    return _record_line(name, data)


# ---- PEP 517 hooks ----------------------------------------------------------

def get_requires_for_build_wheel(config_settings=None):
    return []


def prepare_metadata_for_build_wheel(metadata_directory,
                                     config_settings=None):
    path = os.path.join(metadata_directory, _dist_info())
    os.makedirs(path, exist_ok=True)
    for name, text in _metadata_files().items():
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    return _dist_info()


def build_wheel(wheel_directory, config_settings=None,
                metadata_directory=None):
    build = _make()
    name = "%s-%s-%s.whl" % (NAME, _version(), _tag())
    final = os.path.join(wheel_directory, name)
    tmp = final + ".tmp"
    record = []
    with zipfile.ZipFile(tmp, "w") as zf:
        for arcname, path, executable in _wheel_files(build):
            with open(path, "rb") as f:
                record.append(_add(zf, arcname, f.read(), executable))
        for meta, text in sorted(_metadata_files().items()):
            record.append(_add(zf, "%s/%s" % (_dist_info(), meta),
                               text.encode()))
        record.append("%s/RECORD,,\n" % _dist_info())
        _add(zf, "%s/RECORD" % _dist_info(), "".join(record).encode())
    os.replace(tmp, final)
    return name
