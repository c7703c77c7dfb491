#!/bin/sh
# Installs what heapsnap needs from Debian's packages, and only what is
# missing.  Usage: tools/deps.sh [build|pip|test|bench|web|all]...  (default:
# build).  As root it runs apt-get; otherwise, or when HEAPSNAP_DEPS_NO_INSTALL
# is set (`pip install .`), it prints one line naming the packages to install
# and exits 1.  Never vendors a library.
set -u

# pip: what `pip install .` needs besides the Python it installs for (whose
# headers tools/pip_backend.py checks): the command's C libraries.
want_pip="gcc make pkg-config libsqlite3-dev libgraphviz-dev libcjson-dev libmicrohttpd-dev fonts-dejavu-core"
# python3-dev: the headers of Debian's own python3, which gets an agent too.
want_build="$want_pip python3-dev"
# patchelf: tools/newest_pythons.sh points Debian sid's CPython at sid's libc.
# clang and libclang-rt-dev: the libFuzzer targets (tests/fuzz, make fuzz).
# The real-packages suite (tests/realpkgs) runs under Debian's own python3
# with Debian's builds of the packages after it.  python3-venv, python3-pip:
# `pip install .` into a fresh venv (t0007); python3-pytest: the pytest
# plugin's tests; python3-objgraph: `make bench`'s analyzer part, which a
# test runs on a small heap (t0009).
want_test="bats sqlite3 libcmocka-dev libxml2-utils curl patchelf \
clang libclang-rt-dev \
python3-numpy python3-pandas python3-mypy python3-django python3-sqlalchemy \
python3-docutils python3-sphinx \
python3-venv python3-pip python3-pytest python3-objgraph"
want_bench="python3-objgraph python3-memory-profiler"
want_web="chromium nodejs npm"

need=""
for tier in "${@:-build}"; do
    case "$tier" in
    build) need="$need $want_build" ;;
    pip)   need="$need $want_pip" ;;
    test)  need="$need $want_build $want_test" ;;
    bench) need="$need $want_build $want_bench" ;;
    web)   need="$need $want_web" ;;
    all)   need="$need $want_build $want_test $want_bench $want_web" ;;
    *) echo "deps.sh: unknown tier '$tier' (build, pip, test, bench, web, all)" >&2; exit 2 ;;
    esac
done

missing=""
for pkg in $need; do
    case " $missing " in *" $pkg "*) continue ;; esac
    # A Node.js from elsewhere (NodeSource's nodejs bundles npm and
    # conflicts with Debian's npm package) is as good as Debian's.
    case "$pkg" in
    nodejs) command -v node > /dev/null 2>&1 && continue ;;
    npm) command -v npm > /dev/null 2>&1 && continue ;;
    esac
    status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null)
    case "$status" in *"ok installed"*) ;; *) missing="$missing $pkg" ;; esac
done

[ -z "$missing" ] && exit 0

if [ "$(id -u)" != 0 ] || [ -n "${HEAPSNAP_DEPS_NO_INSTALL:-}" ]; then
    echo "heapsnap: missing packages:$missing (run: sudo apt-get install$missing)" >&2
    exit 1
fi
echo "heapsnap: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
if ! apt-get install -y -q --no-install-recommends $missing >/dev/null 2>&1; then
    apt-get update -q >/dev/null 2>&1 || true
    apt-get install -y -q --no-install-recommends $missing >&2 || {
        echo "heapsnap: error: apt-get could not install:$missing" >&2
        exit 1
    }
fi
