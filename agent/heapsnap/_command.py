"""Where the `heapsnap` command (the C inspector) is for this package, for
`python -m heapsnap` and the pytest plugin.

In the order tried: the one `pip install .` installed with this package
(its RECORD in the .dist-info beside the package names it: BIN/heapsnap);
the build tree's (build/py<KEY>/heapsnap/ -> build/heapsnap); the one `make
install` installed with it (PREFIX/lib/heapsnap/py<KEY>/heapsnap/ ->
PREFIX/bin/heapsnap).
"""

import os

_PACKAGE = os.path.dirname(os.path.abspath(__file__))


class NotFound(Exception):
    """No `heapsnap` command belongs to this package; the message says
    where it looked."""


def _installed_by_pip():
    """The command listed in the RECORD of the heapsnap .dist-info next to
    this package, or None."""
    site = os.path.dirname(_PACKAGE)
    try:
        names = sorted(os.listdir(site))
    except OSError:
        return None
    for name in names:
        if not (name.startswith("heapsnap-") and name.endswith(".dist-info")):
            continue
        try:
            with open(os.path.join(site, name, "RECORD")) as f:
                lines = f.read().splitlines()
        except OSError:
            continue
        for line in lines:
            path = line.rsplit(",", 2)[0]
            if path.replace("\\", "/").rsplit("/", 1)[-1] == "heapsnap" and \
                    not path.startswith("heapsnap/"):
                return os.path.normpath(os.path.join(site, path))
    return None


def candidates():
    """The places tried, best first."""
    found = [_installed_by_pip()]
    found.append(os.path.join(_PACKAGE, os.pardir, os.pardir, "heapsnap"))
    found.append(os.path.join(_PACKAGE, os.pardir, os.pardir, os.pardir,
                              os.pardir, "bin", "heapsnap"))
    return [os.path.normpath(p) for p in found if p]


def path():
    """The command's path; raises NotFound."""
    tried = candidates()
    for p in tried:
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    raise NotFound("cannot find the heapsnap command of the package in "
                   "'%s' (looked for %s); install heapsnap with 'pip install "
                   ".' or 'make install' in its source tree"
                   % (_PACKAGE, ", ".join("'%s'" % p for p in tried)))
