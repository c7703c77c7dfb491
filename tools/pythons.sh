#!/bin/sh
# Lists every CPython >= 3.8 on this machine, one per line, as
#   VERSION EXECUTABLE          e.g.  3.12 /root/.pyenv/versions/3.12.1/bin/python3.12
# Sources: python3 on PATH, then every pyenv version.  One line per minor
# version (the first found wins), sorted by version.  HEAPSNAP_PYTHONS, if
# set, replaces the search with its own space-separated list of executables.
set -u

candidates() {
    if [ -n "${HEAPSNAP_PYTHONS:-}" ]; then
        for p in $HEAPSNAP_PYTHONS; do echo "$p"; done
        return
    fi
    command -v python3 2>/dev/null
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for d in "$root"/versions/*; do
        [ -d "$d" ] || continue
        for p in "$d"/bin/python3.[0-9]*; do
            case "$p" in *-config|*t) continue ;; esac
            [ -x "$p" ] && echo "$p" && break
        done
    done
}

candidates | while read -r exe; do
    "$exe" -c 'import sys, platform
if platform.python_implementation() == "CPython" and sys.version_info >= (3, 8):
    print("%d.%d %s" % (sys.version_info[:2] + (sys.executable,)))' 2>/dev/null
done | awk '!seen[$1]++' | sort -t. -k1,1n -k2,2n
