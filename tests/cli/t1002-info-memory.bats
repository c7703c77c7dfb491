#!/usr/bin/env bats
# heapsnap info reconciles RSS on real processes: the parts add up, a big
# C buffer outside any object is "unexplained" with a warning, a plain
# process has no warning, and a numpy view's cache retains its base.

load lib

setup() {
    cd "$BATS_TEST_TMPDIR"
}

# The memory object of info --json must add up to RSS exactly.
check_sum() { # FILE
    "$HEAPSNAP" info -f "$1" --json | python3 -c '
import json, sys
m = json.load(sys.stdin)["memory"]
parts = ("objects", "pymalloc_free", "malloc_free", "file_backed", "unexplained")
assert all(m[k] is not None for k in ("rss",) + parts), m
assert sum(m[k] for k in parts) == m["rss"], m
print(json.dumps(m))
'
}

# Under SAN=1 the program runs with ASan's allocator (PYTHONMALLOC=malloc):
# pymalloc has no figures and RSS holds ASan's shadow memory, so the
# reconciliation is not the one a user sees.
skip_under_sanitizers() {
    [ "${SAN:-0}" = 1 ] && skip "ASan replaces the allocators this reconciles"
    return 0
}

@test "info memory: a plain process adds up and does not warn" {
    skip_under_sanitizers
    PY=$(default_python)
    run "$HEAPSNAP" dump -o plain.db -- "$PY" -c 'x = [str(i) for i in range(10000)]'
    [ "$status" -eq 0 ]
    run check_sum plain.db
    [ "$status" -eq 0 ]
    # Small objects' blocks (sizes rounded up to 16) fit in the bytes
    # pymalloc has in allocated blocks.
    small=$(sqlite3 plain.db "select total(size) from objects where size <= 512 and not flags & 4")
    echo "$output" | SMALL=$small python3 -c '
import json, os, sys
m = json.loads(sys.stdin.read())
r = m["pymalloc_block_rounding"]
assert r is not None and r > 0, m
assert float(os.environ["SMALL"]) + r <= m["pymalloc_used"], (os.environ["SMALL"], m)
assert m["static_objects"] > 0, m
'
    run "$HEAPSNAP" info -f plain.db
    [ "$status" -eq 0 ]
    [[ "$output" == *"of the allocated: small objects rounded up to pymalloc's 16-byte blocks "* ]]
    [[ "$output" == *"memory       RSS "*" (peak "*") ="* ]]
    [[ "$output" == *"Python objects (sum of their sizes)"* ]]
    [[ "$output" == *"pymalloc free space, fragmentation ("*" arenas, "* ]]
    [[ "$output" == *"unexplained ("*"% of RSS)"* ]]
    [[ "$output" != *"warning"* ]]
}

@test "info memory: a C buffer outside any object is unexplained, with a warning" {
    skip_under_sanitizers
    PY=$(default_python)
    # 96 MiB from libc's malloc, touched, referenced by no Python object
    # (only its address is kept, as an int).
    cat > cbuf.py <<'PY'
import ctypes
libc = ctypes.CDLL(None)
libc.malloc.restype = ctypes.c_void_p
libc.malloc.argtypes = [ctypes.c_size_t]
libc.memset.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_size_t]
N = 96 << 20
ADDR = libc.malloc(N)
libc.memset(ADDR, 1, N)
PY
    run "$HEAPSNAP" dump -o cbuf.db -- "$PY" cbuf.py
    [ "$status" -eq 0 ]
    run check_sum cbuf.db
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
assert m["unexplained"] >= 96 << 20, m
assert m["unexplained"] > m["rss"] / 4, m
# malloc knows the buffer; no object does.
assert m["allocated_outside_objects"] >= 96 << 20, m
assert m["warning"].startswith("warning: "), m
'
    run "$HEAPSNAP" info -f cbuf.db
    [ "$status" -eq 0 ]
    [[ "${lines[-1]}" == "warning: "*"% of RSS ("*") is unexplained"* ]]
}

@test "info memory: anonymous mmap memory is outside both allocators" {
    skip_under_sanitizers
    PY=$(default_python)
    cat > anon.py <<'PY'
import mmap
M = mmap.mmap(-1, 64 << 20)
M.write(b"x" * (64 << 20))
PY
    run "$HEAPSNAP" dump -o anon.db -- "$PY" anon.py
    [ "$status" -eq 0 ]
    run check_sum anon.db
    [ "$status" -eq 0 ]
    echo "$output" | python3 -c '
import json, sys
m = json.loads(sys.stdin.read())
# Shared anonymous pages are data, not file-backed code: unexplained.
assert m["unexplained"] >= 48 << 20, m
assert m["anonymous_outside_allocators"] >= 48 << 20, m
assert m["warning"] is not None, m
'
}

# A configured Python with numpy, or nothing.
numpy_python() {
    local ver exe
    while read -r ver exe; do
        if "$exe" -c 'import numpy' 2>/dev/null; then
            echo "$ver $exe"
            return
        fi
    done < <(pythons)
}

@test "info memory: a numpy view in a cache retains its 50 MiB base" {
    read -r ver PY < <(numpy_python) || true
    if [ -z "${PY:-}" ]; then
        skip "no configured Python has numpy (build with HEAPSNAP_PYTHONS=/usr/bin/python3)"
    fi
    cat > view.py <<'PY'
import numpy, sys
big = numpy.ones(50 * 1024 * 1024 // 8)
CACHE = {"k": big[:10]}
print(id(CACHE), id(big), big.nbytes, sys.getsizeof(big))
del big
PY
    run "$HEAPSNAP" dump -o view.db -- "$PY" view.py
    [ "$status" -eq 0 ]
    read -r cache base nbytes size <<< "${lines[0]}"
    run "$HEAPSNAP" show -f view.db "$(printf '0x%x' "$cache")" --json
    [ "$status" -eq 0 ]
    echo "$output" | NBYTES=$nbytes python3 -c '
import json, os, sys
d = json.load(sys.stdin)
r = d.get("retained_size", d.get("object", {}).get("retained_size"))
assert r is not None, d.keys()
assert r >= int(os.environ["NBYTES"]), (r, os.environ["NBYTES"])
'
    run "$HEAPSNAP" why -f view.db "$(printf '0x%x' "$base")"
    [ "$status" -eq 0 ]
    [[ "$output" == *".CACHE → dict ['k'] → ndarray .base → ndarray"* ]]
    [ "$(sqlite3 view.db "select size from objects where address = $base")" -eq "$size" ]
}
