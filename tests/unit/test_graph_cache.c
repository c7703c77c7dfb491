/*
 * Tests of the graph cache (graph_cache.c): a graph loaded from the cache
 * is the graph loaded from the tables, on random snapshots with parts of
 * every size; a damaged, truncated or stale cache is ignored and rebuilt;
 * a read-only snapshot and one whose references are out of order get none.
 */
#include "graph.h"
#include "graph_cache.h"
#include "snapshot.h"
#include "test_util.h"

#include <sqlite3.h>
#include <sys/stat.h>

/* A random snapshot: ntypes types (objects 1..ntypes are the type
 * objects), random sizes, flags and addresses, references in src order
 * with random kinds, one module root.  Returns the file's path. */
static char *
random_snapshot(struct test_rng *r, uint32_t n, uint32_t ntypes)
{
    struct hs_buf sql = HS_BUF_INIT;
    char *path;

    hs_buf_adds(&sql, "BEGIN;");
    for (uint32_t t = 1; t <= ntypes; t++)
        hs_buf_addf(&sql, "INSERT INTO types VALUES (%u, 't%u', 'm', 't%u', "
                          "16);",
                    t, t, t);
    for (uint32_t v = 1; v <= n; v++)
        hs_buf_addf(&sql,
                    "INSERT INTO objects VALUES (%u, %llu, %u, %u, 1, NULL, "
                    "NULL, %u);",
                    v, (unsigned long long)(test_rng_next(r) >> 1),
                    1 + test_rng_below(r, ntypes), test_rng_below(r, 100000),
                    test_rng_below(r, 2048));
    for (uint32_t v = 1; v <= n; v++) {
        uint32_t k = test_rng_below(r, 5);

        for (uint32_t i = 0; i < k; i++)
            hs_buf_addf(&sql, "INSERT INTO edge_list VALUES (%u, %u, %u, "
                              "nullif(%u, 0));",
                        v, 1 + test_rng_below(r, n),
                        test_rng_below(r, HS_EDGE_NKINDS),
                        test_rng_below(r, 3) ? test_rng_below(r, 100000) : 0);
    }
    hs_buf_adds(&sql, "INSERT INTO roots VALUES (1, 'module', 'm', NULL, "
                      "NULL); COMMIT;");
    path = test_snapshot_file(sql.buf);
    hs_buf_release(&sql);
    return path;
}

static struct hs_graph *
load(const char *path, unsigned flags, struct hs_snapshot **snap)
{
    struct hs_graph *g;

    *snap = hs_snapshot_open(path, flags);
    assert_non_null(*snap);
    g = hs_graph_load(*snap);
    assert_non_null(g);
    return g;
}

static void
assert_same_graph(const struct hs_graph *a, const struct hs_graph *b)
{
    assert_int_equal(a->n, b->n);
    assert_int_equal(a->m, b->m);
    assert_memory_equal(a->address, b->address, a->n * sizeof(uint64_t));
    assert_memory_equal(a->size, b->size, a->n * sizeof(uint64_t));
    assert_memory_equal(a->type, b->type, a->n * sizeof(uint32_t));
    assert_memory_equal(a->flags, b->flags, a->n * sizeof(uint32_t));
    assert_memory_equal(a->out_off, b->out_off,
                        (a->n + 1) * sizeof(uint32_t));
    if (a->m) {
        assert_memory_equal(a->out_dst, b->out_dst, a->m * sizeof(uint32_t));
        assert_memory_equal(a->out_kind, b->out_kind, a->m);
        assert_memory_equal(a->in_src, b->in_src, a->m * sizeof(uint32_t));
    }
    assert_memory_equal(a->in_off, b->in_off, (a->n + 1) * sizeof(uint32_t));
    for (uint32_t t = 0; t < a->ntypes; t++) {
        assert_int_equal(a->types[t].count, b->types[t].count);
        assert_int_equal(a->types[t].bytes, b->types[t].bytes);
    }
}

/* Whether the cache of `g`'s snapshot loads: its arrays are wiped first,
 * so a 1 means they came back from the cache alone. */
static int
cache_loads(struct hs_graph *g)
{
    memset(g->address, 0, g->n * sizeof(uint64_t));
    memset(g->out_off, 0, (g->n + 1) * sizeof(uint32_t));
    if (g->m)
        memset(g->out_dst, 0, g->m * sizeof(uint32_t));
    return hs_graph_cache_load(g);
}

static void
exec_sql(const char *path, const char *sql)
{
    sqlite3 *db;

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int
has_cache(const char *path)
{
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);
    int has = hs_snapshot_has_table(s, "graph_cache");

    hs_snapshot_close(s);
    return has;
}

static void
test_graph_cache__same_graph_as_the_tables(void **state)
{
    static const size_t parts[] = { 7, 64, 1000, (size_t)16 << 20 };

    (void)state;
    for (uint64_t seed = 1; seed <= 120; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL };
        uint32_t n = 1 + test_rng_below(&r, 300);
        char *path = random_snapshot(&r, n, 1 + test_rng_below(&r, n < 20
                                                                  ? n
                                                                  : 20));
        struct hs_snapshot *s1, *s2, *s3;
        struct hs_graph *tables, *cached;

        hs_graph_cache_part_bytes = parts[seed % 4];
        tables = load(path, HS_SNAP_DERIVED, &s1); /* stores the cache */
        assert_true(has_cache(path));
        cached = load(path, HS_SNAP_READONLY, &s2);
        assert_same_graph(tables, cached);
        assert_int_equal(cache_loads(cached), 1);
        hs_graph_free(cached);
        hs_snapshot_close(s2);
        /* Proof that the second load used the cache: change a size in the
         * table behind its back (counts unchanged) and it is not seen. */
        exec_sql(path, "UPDATE objects SET size = size + 1 WHERE id = 1");
        cached = load(path, HS_SNAP_READONLY, &s3);
        assert_int_equal(cached->size[0], tables->size[0]);
        hs_graph_free(cached);
        hs_snapshot_close(s3);
        hs_graph_free(tables);
        hs_snapshot_close(s1);
        unlink(path);
        free(path);
    }
    hs_graph_cache_part_bytes = (size_t)16 << 20;
}

/* The args stored with the cache are edge_list's, edge by edge (0 for
 * NULL); a cache stored without them (an older heapsnap's) has none. */
static void
test_graph_cache__args_are_edge_lists(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 20; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL };
        uint32_t n = 1 + test_rng_below(&r, 300), *arg, e = 0;
        char *path = random_snapshot(&r, n, 1 + test_rng_below(&r, 5));
        struct hs_snapshot *s1, *s2;
        struct hs_graph *g;
        sqlite3 *db;
        sqlite3_stmt *st;

        hs_graph_cache_part_bytes = seed % 2 ? 7 : (size_t)16 << 20;
        g = load(path, HS_SNAP_DERIVED, &s1); /* stores the cache */
        hs_graph_free(g);
        hs_snapshot_close(s1);
        g = load(path, HS_SNAP_READONLY, &s2);
        arg = hs_xcalloc((size_t)g->m + 1, sizeof(*arg));
        assert_int_equal(hs_graph_cache_load_args(g, arg), 1);
        assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
        assert_int_equal(sqlite3_prepare_v2(db,
                                            "SELECT arg FROM edge_list "
                                            "ORDER BY rowid",
                                            -1, &st, NULL),
                         SQLITE_OK);
        while (sqlite3_step(st) == SQLITE_ROW)
            assert_int_equal(arg[e++], sqlite3_column_int64(st, 0));
        assert_int_equal(e, g->m);
        sqlite3_finalize(st);
        sqlite3_close(db);
        exec_sql(path, "DELETE FROM graph_cache WHERE name = 'out_arg'");
        assert_int_equal(hs_graph_cache_load_args(g, arg), g->m ? 0 : 1);
        free(arg);
        hs_graph_free(g);
        hs_snapshot_close(s2);
        unlink(path);
        free(path);
    }
    hs_graph_cache_part_bytes = (size_t)16 << 20;
}

/* Each way of breaking the cache, then the load that must ignore it. */
static void
test_graph_cache__damage_is_ignored_and_repaired(void **state)
{
    static const char *const damage[] = {
        "UPDATE graph_cache SET data = zeroblob(length(data)) "
        "WHERE name = 'out_off'",
        "UPDATE graph_cache SET data = randomblob(length(data)) "
        "WHERE name = 'out_dst'",
        "UPDATE graph_cache SET data = randomblob(length(data)) "
        "WHERE name = 'type'",
        "UPDATE graph_cache SET data = x'ff' || data WHERE name = 'out_kind'",
        "UPDATE graph_cache SET data = substr(data, 2) WHERE name = 'size'",
        "DELETE FROM graph_cache WHERE name = 'flags'",
        "UPDATE graph_cache SET part = part + 1 WHERE name = 'address'",
        "UPDATE meta SET value = replace(value, '\"objects\":', "
        "'\"objects\":1') WHERE key = 'derived_graph_cache'",
        "UPDATE meta SET value = replace(value, '\"format\":1', "
        "'\"format\":99') WHERE key = 'derived_graph_cache'",
        "DELETE FROM meta WHERE key = 'derived_graph_cache'",
    };

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(damage); i++) {
        struct test_rng r = { 77 + i };
        char *path = random_snapshot(&r, 200, 5);
        struct hs_snapshot *s1, *s2, *s3;
        struct hs_graph *good, *g, *again;

        good = load(path, HS_SNAP_DERIVED, &s1);
        hs_snapshot_close(s1);
        good->snap = NULL;
        exec_sql(path, damage[i]);
        /* Ignored (read from the tables), and stored again. */
        g = load(path, HS_SNAP_DERIVED, &s2);
        assert_same_graph(good, g);
        hs_graph_free(g);
        hs_snapshot_close(s2);
        again = load(path, HS_SNAP_READONLY, &s3);
        assert_int_equal(cache_loads(again), 1);
        hs_graph_free(again);
        hs_snapshot_close(s3);
        hs_graph_free(good);
        unlink(path);
        free(path);
    }
}

static void
test_graph_cache__read_only_snapshot_gets_none(void **state)
{
    struct test_rng r = { 5 };
    char *path = random_snapshot(&r, 50, 3);
    struct hs_snapshot *s;
    struct hs_graph *g;

    (void)state;
    chmod(path, 0400);
    g = load(path, HS_SNAP_DERIVED, &s);
    hs_graph_free(g);
    hs_snapshot_close(s);
    assert_false(has_cache(path));
    /* Opened read-only on purpose: nothing written either. */
    chmod(path, 0600);
    g = load(path, HS_SNAP_READONLY, &s);
    hs_graph_free(g);
    hs_snapshot_close(s);
    assert_false(has_cache(path));
    unlink(path);
    free(path);
}

/* References out of src order (not the agent's order) are sorted on load
 * and remembered by rowid; such a graph is not cached. */
static void
test_graph_cache__out_of_order_edges_are_not_cached(void **state)
{
    char *path = test_snapshot_file(
        "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 16);"
        "INSERT INTO objects VALUES (1, 1, 1, 1, 1, NULL, NULL, 0),"
        " (2, 2, 1, 1, 1, NULL, NULL, 0);"
        "INSERT INTO edge_list VALUES (2, 1, 0, 0), (1, 2, 0, 0);");
    struct hs_snapshot *s;
    struct hs_graph *g;

    (void)state;
    g = load(path, HS_SNAP_DERIVED, &s);
    assert_non_null(g->edge_row);
    hs_graph_free(g);
    hs_snapshot_close(s);
    assert_false(has_cache(path));
    unlink(path);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph_cache__same_graph_as_the_tables),
        cmocka_unit_test(test_graph_cache__args_are_edge_lists),
        cmocka_unit_test(test_graph_cache__damage_is_ignored_and_repaired),
        cmocka_unit_test(test_graph_cache__read_only_snapshot_gets_none),
        cmocka_unit_test(test_graph_cache__out_of_order_edges_are_not_cached),
    };

    return cmocka_run_group_tests_name("graph_cache", tests, NULL, NULL);
}
