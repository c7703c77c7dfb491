#!/usr/bin/env bats
# `pip install .` from a copy of the source tree, offline (--no-index),
# into fresh venvs of Debian's /usr/bin/python3 and of one pyenv Python
# (3.12 if there is one: no setuptools, no wheel), with the pip each venv
# gets from its Python: the venv's bin/heapsnap runs, `python -m heapsnap`
# is the same command, `import heapsnap` works without PYTHONPATH, and
# `heapsnap dump -- python prog.py` snapshots with the installed agent that
# `heapsnap why` then explains, so does `dump --pid`.  A missing C library
# stops the build with one line naming its Debian package.  The installed
# pytest plugin is on in the venv (Debian's python3-pytest).  The install
# times are printed (never checked).  Run: bats tests/pip (ROOT, BUILD as
# tests/run.sh sets them).

load ../cli/lib

# The source tree without build output, as a clone would have it.
copy_tree() {
    mkdir -p "$1"
    tar -C "$ROOT" --exclude=./build --exclude='./build-*' \
        --exclude=./.git --exclude='*/node_modules' --exclude='__pycache__' \
        -cf - . | tar -C "$1" -xf -
}

# A pyenv CPython >= 3.8 (a 3.12 first), or nothing.
pyenv_python() {
    local root p
    root=$(pyenv root 2>/dev/null || echo "${PYENV_ROOT:-$HOME/.pyenv}")
    for p in "$root"/versions/3.12.*/bin/python3.12 \
             "$root"/versions/3.1[0-9].*/bin/python3.1[0-9] \
             "$root"/versions/3.[89].*/bin/python3.[89]; do
        [ -x "$p" ] && { echo "$p"; return; }
    done
}

# install_into VENV LABEL: pip install . from the copy; prints the time.
install_into() {
    local t0=$EPOCHREALTIME
    (cd "$SRC" && "$1/bin/python" -m pip install --no-index . \
        > "$1.log" 2>&1) || { cat "$1.log" >&2; return 1; }
    awk -v a="$t0" -v b="$EPOCHREALTIME" -v what="$2" \
        'BEGIN { printf "# pip install . into a venv of %s: %.1f s\n", what, b - a }' >&3
}

setup_file() {
    export SRC="$BATS_FILE_TMPDIR/src" VENVS="$BATS_FILE_TMPDIR/venvs"
    copy_tree "$SRC"
    mkdir -p "$VENVS"
    # Debian's venv: its system site-packages give it pytest (t0002).
    /usr/bin/python3 -m venv --system-site-packages "$VENVS/debian"
    install_into "$VENVS/debian" "Debian's $(/usr/bin/python3 -V)"
    PYENV_PY=$(pyenv_python)
    export PYENV_PY
    if [ -n "$PYENV_PY" ]; then
        "$PYENV_PY" -m venv "$VENVS/pyenv"
        install_into "$VENVS/pyenv" "pyenv's $("$PYENV_PY" -V)"
    fi
}

setup() {
    cd "$BATS_TEST_TMPDIR"
    printf 'class Kept:\n    pass\nK = [Kept() for _ in range(7)]\n' > prog.py
}

# each_venv: the venvs made (Debian's, then pyenv's if any).
each_venv() {
    echo "$VENVS/debian"
    [ -z "$PYENV_PY" ] || echo "$VENVS/pyenv"
}

@test "pip: the venvs are Debian's python3 and a pyenv Python" {
    # The other tests loop over each_venv; without a pyenv Python they
    # would cover one interpreter only, and say nothing.
    [ -x "$VENVS/debian/bin/heapsnap" ]
    [ -n "$PYENV_PY" ] || skip "no pyenv Python on this machine"
    [ -x "$VENVS/pyenv/bin/heapsnap" ]
}

@test "pip: bin/heapsnap is the command, and python -m heapsnap runs it" {
    for v in $(each_venv); do
        run "$v/bin/heapsnap" --help
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "usage: heapsnap "* ]]
        head -c 4 "$v/bin/heapsnap" | grep -q ELF
        run "$v/bin/python" -m heapsnap --help
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "usage: heapsnap "* ]]
        run "$v/bin/python" -m heapsnap --version
        [ "$status" -eq 0 ]
        [ "$output" = "$("$v/bin/heapsnap" --version)" ]
        # Its loader and viewer where `make install` puts them.
        [ -f "$v/lib/heapsnap/libheapsnap_inject.so" ]
        [ -f "$v/share/heapsnap/web/index.html" ]
    done
}

@test "pip: import heapsnap works without PYTHONPATH, from the venv" {
    for v in $(each_venv); do
        run env -u PYTHONPATH "$v/bin/python" -c \
            'import heapsnap, sys; print(heapsnap.__file__.startswith(sys.prefix + "/"), heapsnap.__version__)'
        [ "$status" -eq 0 ]
        [[ "$output" == "True 0."* ]]
        # The agent itself works: a snapshot from inside the program.
        run env -u PYTHONPATH "$v/bin/python" -c \
            'import heapsnap; print(heapsnap.dump("api.db"))'
        [ "$status" -eq 0 ]
        run "$v/bin/heapsnap" info -f api.db
        [ "$status" -eq 0 ]
        rm -f api.db
    done
}

@test "pip: heapsnap dump -- python prog.py with the installed agent, then why" {
    for v in $(each_venv); do
        run env -u PYTHONPATH -u HEAPSNAP_AGENT_DIR "$v/bin/heapsnap" dump \
            -o s.db -- "$v/bin/python" prog.py
        [ "$status" -eq 0 ]
        [[ "$output" == *"heapsnap: wrote '$BATS_TEST_TMPDIR/s.db'"* ]]
        run "$v/bin/heapsnap" why -f s.db Kept
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "7 Kept objects"* ]]
        [[ "$output" == *"module __main__ .K → list [*] → Kept"* ]]
        run "$v/bin/python" -m heapsnap why -f s.db Kept
        [ "$status" -eq 0 ]
        [[ "${lines[0]}" == "7 Kept objects"* ]]
        rm -f s.db
    done
}

@test "pip: the program does not get the venv's site-packages on PYTHONPATH" {
    # The venv's own agent, for another interpreter of that version (the
    # venv's base): loaded by path, sys.path left as that Python has it.
    v=$VENVS/debian
    printf 'import sys, heapsnap\nprint("agent", heapsnap.__file__)\nprint("path", [p for p in sys.path if "venvs" in p])\n' > where.py
    run env -u PYTHONPATH -u HEAPSNAP_AGENT_DIR "$v/bin/heapsnap" dump \
        -o w.db -- /usr/bin/python3 where.py
    [ "$status" -eq 0 ]
    [[ "$output" == *"agent $v/lib/python3."*"/site-packages/heapsnap/__init__.py"* ]]
    [[ "$output" == *"path []"* ]]
    [ -f w.db ]
}

@test "pip: a heapsnap command elsewhere asks the program's Python for its agent" {
    # A copy of the command with nothing beside it: the agent is where the
    # venv's python imports heapsnap from.
    v=$VENVS/debian
    mkdir -p bin && cp "$v/bin/heapsnap" bin/
    run env -u PYTHONPATH -u HEAPSNAP_AGENT_DIR bin/heapsnap dump -o s.db -- \
        "$v/bin/python" prog.py
    [ "$status" -eq 0 ]
    run bin/heapsnap why -f s.db Kept
    [[ "${lines[0]}" == "7 Kept objects"* ]]
    # A Python that has no heapsnap: the error says how to get one.
    run env -u PYTHONPATH -u HEAPSNAP_AGENT_DIR bin/heapsnap dump -o t.db -- \
        /usr/bin/python3 prog.py
    [ "$status" -eq 2 ]
    [[ "$output" == *"no heapsnap agent for Python 3."*"install it with '/usr/bin/python3 -m pip install .'"* ]]
    [ ! -e t.db ]
}

@test "pip: a missing C library is named with its Debian package, in one line" {
    # dpkg-query says libcjson-dev is not installed.
    mkdir -p fake
    cat > fake/dpkg-query <<'EOF'
#!/bin/sh
for a; do last=$a; done
[ "$last" = libcjson-dev ] && exit 1
exec /usr/bin/dpkg-query "$@"
EOF
    chmod +x fake/dpkg-query
    /usr/bin/python3 -m venv "$BATS_TEST_TMPDIR/v"
    cd "$SRC"
    run env PATH="$BATS_TEST_TMPDIR/fake:$PATH" "$BATS_TEST_TMPDIR/v/bin/python" \
        -m pip install --no-index .
    [ "$status" -ne 0 ]
    [ "$(grep -c 'heapsnap: missing packages' <<<"$output")" -eq 1 ]
    grep -qx ' *heapsnap: missing packages: libcjson-dev (run: sudo apt-get install libcjson-dev)' <<<"$output"
    [ ! -e "$BATS_TEST_TMPDIR/v/bin/heapsnap" ]
}

@test "pip: installing enables the pytest plugin (entry point pytest11)" {
    v=$VENVS/debian
    "$v/bin/python" -c 'import pytest' 2>/dev/null || skip "no python3-pytest"
    mkdir proj && cd proj
    cat > test_app.py <<'EOF'
import pytest

CACHE = []


class Request:
    pass


@pytest.mark.no_leaks(types=["Request"])
def test_leaks():
    CACHE.extend(Request() for _ in range(3))


@pytest.mark.no_leaks
def test_clean():
    Request()


def test_block(heapsnap_leaks):
    with heapsnap_leaks():
        CACHE.append(Request())
EOF
    # No -p, no PYTHONPATH: the venv's heapsnap registered it.
    run env -u PYTHONPATH "$v/bin/python" -m pytest -q -p no:cacheprovider test_app.py
    echo "$output"
    [ "$status" -eq 1 ]
    [[ "$output" == *"2 failed, 1 passed"* ]]
    [[ "$output" == *"heapsnap: 3 objects created during the test are still alive after it and gc.collect(): 3 test_app.Request"* ]]
    [[ "$output" == *"module test_app .CACHE → list [*] → Request"* ]]
    [[ "$output" == *"heapsnap: 1 object created in the heapsnap_leaks block is still alive"*"module test_app .CACHE → list [3] → Request"* ]]
    # Naming it again with -p is harmless.
    run env -u PYTHONPATH "$v/bin/python" -m pytest -q -p no:cacheprovider \
        -p heapsnap.pytest_plugin test_app.py
    [[ "$output" == *"2 failed, 1 passed"* ]]
}

@test "pip: the venv's heapsnap dump --pid attaches with the installed agent and loader" {
    v=$VENVS/debian
    printf 'import time\nclass Kept:\n    pass\nK = [Kept() for _ in range(7)]\nopen("ready", "w").close()\nwhile True:\n    time.sleep(0.05)\n' > target.py
    env -u PYTHONPATH "$v/bin/python" target.py 3>&- &
    pid=$!
    for _ in $(seq 200); do [ -e ready ] && break; sleep 0.05; done
    run env -u PYTHONPATH -u HEAPSNAP_AGENT_DIR "$v/bin/heapsnap" dump --pid "$pid" -o p.db
    kill "$pid"
    wait "$pid" || true
    echo "$output"
    [ "$status" -eq 0 ]
    run "$v/bin/heapsnap" why -f p.db Kept
    [ "$status" -eq 0 ]
    [[ "${lines[0]}" == "7 Kept objects"* ]]
}
