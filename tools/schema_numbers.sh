#!/bin/sh
# Turns the numbered rows of schema/heapsnap.sql into a C header, so that
# the agent and the inspector take edge kinds and flag bits from the
# schema instead of retyping them:
#   edge_kinds    -> enum hs_edge_kind { HS_EDGE_<NAME> = id, ... }
#   object_flags  -> #define HS_OBJ_<NAME> bit
#   type_flags    -> #define HS_TYPE_<NAME> bit
# plus, for each table, a list HS_SCHEMA_<TABLE>(X) of X(name, NAME, value)
# entries (tests check the header against the tables; the inspector names
# flag bits from it).
# Usage: tools/schema_numbers.sh schema/heapsnap.sql > OUT.h
set -eu
awk -v src="$1" '
/^INSERT INTO (edge_kinds|object_flags|type_flags) VALUES/ {
    table = $3; next
}
table != "" && /^  \(/ {
    line = $0
    sub(/^  \(/, "", line)
    split(line, f, ",")
    value = f[1]; gsub(/ /, "", value)
    name = f[2]; gsub(/[ '"'"']/, "", name)
    n[table]++
    names[table, n[table]] = name
    values[table, n[table]] = value
    if ($0 ~ /\);[[:space:]]*$/) table = ""
    next
}
table != "" && !/^  \(/ { table = "" }
END {
    if (!n["edge_kinds"] || !n["object_flags"] || !n["type_flags"]) {
        print "schema_numbers.sh: a table is missing in " src > "/dev/stderr"
        exit 1
    }
    printf "/* Generated from %s by tools/schema_numbers.sh; do not edit. */\n", src
    print "#ifndef HS_SCHEMA_NUMBERS_H"
    print "#define HS_SCHEMA_NUMBERS_H"
    print ""
    print "/* edge_kinds ids. */"
    print "enum hs_edge_kind {"
    for (i = 1; i <= n["edge_kinds"]; i++)
        printf "    HS_EDGE_%s = %s,\n", toupper(names["edge_kinds", i]), values["edge_kinds", i]
    print "};"
    printf "#define HS_EDGE_SCHEMA_KINDS %d /* rows of edge_kinds */\n", n["edge_kinds"]
    emit("object_flags", "HS_OBJ_")
    emit("type_flags", "HS_TYPE_")
    print ""
    print "/* X(name, NAME, value) for every row of each table. */"
    list("edge_kinds", "HS_EDGE_")
    list("object_flags", "HS_OBJ_")
    list("type_flags", "HS_TYPE_")
    print ""
    print "#endif /* HS_SCHEMA_NUMBERS_H */"
}
function emit(t, prefix,   i) {
    print ""
    printf "/* %s bits. */\n", t
    for (i = 1; i <= n[t]; i++)
        printf "#define %s%s %su\n", prefix, toupper(names[t, i]), values[t, i]
}
function list(t, prefix,   i) {
    printf "#define HS_SCHEMA_%s(X)", toupper(t)
    for (i = 1; i <= n[t]; i++)
        printf " \\\n    X(\"%s\", %s%s, %s)", names[t, i], prefix, toupper(names[t, i]), values[t, i]
    print ""
}
' "$1"
