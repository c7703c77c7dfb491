#!/usr/bin/env bats
# Attributes of mypyc-compiled classes are named (issue 11): on a heap of
# mypy's own objects (Debian's python3-mypy is compiled by mypyc), `why`
# paths through them read `.manager`, `.names`, `.node`, not `<ref #N>`
# (agent/compiled_fields.c).  Skipped where /usr/bin/python3 has no agent
# in this build or cannot import mypy.

load lib

setup_file() {
    local key
    export SNAPS="$BATS_FILE_TMPDIR"
    key=$(pythons | while read -r k exe; do
              [ "$(readlink -f "$exe")" = "$(readlink -f /usr/bin/python3)" ] &&
                  echo "$k" && break
          done)
    if [ -z "$key" ] || ! /usr/bin/python3 -c 'import mypy.build' 2>/dev/null; then
        export NO_MYPY=1
        return 0
    fi
    cd "$SNAPS"
    HEAPSNAP_NO_PROGRESS=1 "$HEAPSNAP" dump -o "$SNAPS/mypy.db" -- \
        /usr/bin/python3 "$ROOT/tests/fixtures/mypy_checked.py" > dump.log 2>&1 ||
        { cat dump.log; return 1; }
}

setup() {
    [ -z "${NO_MYPY:-}" ] || skip "no agent for /usr/bin/python3 with mypy"
    cd "$BATS_TEST_TMPDIR"
}

@test "why ADDRESS: a path through mypyc objects names their attributes" {
    run "$HEAPSNAP" why -f "$SNAPS/mypy.db" "$(cat "$SNAPS/target")"
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"<ref #"* ]]
    # The Var is held by a SymbolTableNode of a SymbolTable (a dict) that
    # a mypyc object holds by attribute name.
    [[ "$output" == *"→ SymbolTable ['total'] → SymbolTableNode .node → Var"* ]]
    [[ "$(head -2 <<< "$output")" =~ BuildResult\ \.[a-z_]+\ → ]]
}

@test "why TYPE: groups of mypyc objects keep attribute names" {
    run "$HEAPSNAP" why -f "$SNAPS/mypy.db" Var --paths 3
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" != *"<ref #"* ]]
    [[ "$output" == *"MypyFile .names → SymbolTable [*] → SymbolTableNode .node → Var"* ]]
}

@test "the attribute references out of mypyc objects are most of them" {
    # Unboxed tuples (__match_args__) and fields a class attribute hides
    # stay numbered; every other reference a mypyc field holds is named.
    read -r attrs others < <(sqlite3 -separator ' ' "$SNAPS/mypy.db" "
        SELECT sum(e.kind = 2), sum(e.kind = 10) FROM edge_list e
          JOIN objects s ON s.id = e.src JOIN types t ON t.id = s.type_id
         WHERE t.module LIKE 'mypy.%' AND t.name IN
               ('Var', 'FuncDef', 'NameExpr', 'CallExpr', 'SymbolTableNode',
                'TypeInfo', 'MypyFile', 'Instance', 'CallableType')")
    echo "attr $attrs, other $others"
    [ "$attrs" -gt 1000 ]
    [ "$others" -lt "$((attrs / 5))" ]
}
