"""`python -m heapsnap ARGS...` runs the `heapsnap` command installed with
this package, as `heapsnap ARGS...` would (it replaces this process)."""

import os
import sys

from heapsnap import _command


def main():
    try:
        exe = _command.path()
    except _command.NotFound as e:
        sys.stderr.write("heapsnap: error: %s\n" % e)
        return 2
    sys.stdout.flush()
    sys.stderr.flush()
    os.execv(exe, [exe] + sys.argv[1:])


if __name__ == "__main__":
    sys.exit(main())
