/*
 * Tests of the generated schema numbers (tools/schema_numbers.sh ->
 * build/gen/schema_numbers.h): every row of edge_kinds, object_flags and
 * type_flags in the compiled-in schema has its constant with the same
 * name and value, and the header has no constant the schema lacks.  The
 * agent and the inspector both take these numbers from that header, so a
 * change to the schema reaches both or the build's test fails here.
 */
#include "graph.h"
#include "test_util.h"

struct number {
    const char *name;
    int64_t value;
};

#define NUMBER(name, NAME, value) { name, (int64_t)(NAME) },
static const struct number edge_kinds[] = { HS_SCHEMA_EDGE_KINDS(NUMBER) };
static const struct number object_flags[] = { HS_SCHEMA_OBJECT_FLAGS(NUMBER) };
static const struct number type_flags[] = { HS_SCHEMA_TYPE_FLAGS(NUMBER) };
#undef NUMBER

/* The rows (name, value) of `sql` run on a database made from the schema
 * must be exactly want[0 .. n), in order. */
static void
assert_rows(const char *sql, const struct number *want, size_t n)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    size_t i = 0;

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, hs_schema_sql, NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    while (sqlite3_step(st) == SQLITE_ROW) {
        assert_true(i < n);
        assert_string_equal((const char *)sqlite3_column_text(st, 0),
                            want[i].name);
        assert_int_equal(sqlite3_column_int64(st, 1), want[i].value);
        i++;
    }
    assert_int_equal(i, n);
    sqlite3_finalize(st);
    sqlite3_close(db);
}

static void
test_schema_numbers__edge_kinds(void **state)
{
    (void)state;
    assert_rows("SELECT name, id FROM edge_kinds ORDER BY id", edge_kinds,
                HS_ARRAY_SIZE(edge_kinds));
    assert_int_equal(HS_ARRAY_SIZE(edge_kinds), HS_EDGE_SCHEMA_KINDS);
    assert_true(HS_EDGE_SCHEMA_KINDS <= HS_EDGE_NKINDS);
    /* The names the inspector's code uses are the schema's. */
    assert_int_equal(HS_EDGE_WEAK, 9);
    assert_int_equal(HS_EDGE_ATTR, 2);
}

static void
test_schema_numbers__object_flags(void **state)
{
    (void)state;
    assert_rows("SELECT name, bit FROM object_flags ORDER BY bit",
                object_flags, HS_ARRAY_SIZE(object_flags));
}

static void
test_schema_numbers__type_flags(void **state)
{
    (void)state;
    assert_rows("SELECT name, bit FROM type_flags ORDER BY bit", type_flags,
                HS_ARRAY_SIZE(type_flags));
    /* The two bits the inspector's own copy once lacked. */
    assert_int_equal(HS_TYPE_ABSTRACT, 8);
    assert_int_equal(HS_TYPE_BUILTIN, 16);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_schema_numbers__edge_kinds),
        cmocka_unit_test(test_schema_numbers__object_flags),
        cmocka_unit_test(test_schema_numbers__type_flags),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
