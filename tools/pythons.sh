#!/bin/sh
# Lists every CPython >= 3.8 on this machine, one per line, as
#   KEY EXECUTABLE      e.g.  3.12.1 /root/.pyenv/versions/3.12.1/bin/python3.12
# KEY names one interpreter build everywhere (config.mk's PY_<KEY>_*,
# build/py<KEY>/, lib/heapsnap/py<KEY>/, the test matrix): its full version
# MAJOR.MINOR.MICRO followed by sys.abiflags, so a free-threaded python3.13t
# is "3.13.0t" and never taken for python3.13, and a debug build ends in
# "d".  Several interpreters of one minor version are kept when their micro
# versions differ (pyenv's 3.11.7 and Debian's /usr/bin/python3 3.11.2);
# of two with the same key the first found wins.  Sorted by version.
#
# Sources, in order: python3 on PATH, /usr/bin/python3 (Debian's, where the
# Debian packages of numpy, Django, ... live), every pyenv version, and the
# newest Debian interpreters tools/newest_pythons.sh installed, listed in
# $BUILD/pythons/list (BUILD defaults to build).  HEAPSNAP_PYTHONS, if set,
# replaces the search with its own space-separated list of executables.
set -u

candidates() {
    if [ -n "${HEAPSNAP_PYTHONS:-}" ]; then
        for p in $HEAPSNAP_PYTHONS; do echo "$p"; done
        return
    fi
    command -v python3 2>/dev/null
    [ -x /usr/bin/python3 ] && echo /usr/bin/python3
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for d in "$root"/versions/*; do
        [ -d "$d" ] || continue
        # python3.13 and python3.13t are two builds with two keys.
        for p in "$d"/bin/python3.[0-9]*; do
            case "$p" in *-config) continue ;; esac
            [ -x "$p" ] && echo "$p"
        done
    done
    list="${BUILD:-build}/pythons/list"
    [ -f "$list" ] && cat "$list"
}

candidates | while read -r exe; do
    "$exe" -c 'import sys, platform
if platform.python_implementation() == "CPython" and sys.version_info >= (3, 8):
    print("%d.%d.%d%s %s" % (sys.version_info[:3] + (sys.abiflags, sys.executable)))' 2>/dev/null
done | awk '!seen[$1]++' | sort -V -k1,1
