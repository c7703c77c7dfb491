/*
 * test_graph.c: unit tests of graph.c: CSR construction from arrays and
 * from a snapshot file, the reverse index, weak tagging, lookups, and the
 * refusal of files that break the format's invariants.
 */
#include "graph.h"
#include "test_util.h"

static void
test_graph__build_csr(void **state)
{
    /* 0 -> 1, 0 -> 2, 1 -> 2 (weak), 2 -> 0, 2 -> 2 */
    const uint32_t src[] = { 2, 0, 1, 0, 2 };
    const uint32_t dst[] = { 0, 1, 2, 2, 2 };
    const uint8_t kind[] = { HS_EDGE_ATTR, HS_EDGE_ITEM, HS_EDGE_WEAK,
                             HS_EDGE_VALUE, HS_EDGE_ATTR };
    const uint32_t roots[] = { 0 };
    struct hs_graph_spec spec = { 3, 5, src, dst, kind, NULL, roots, NULL, 1 };
    struct hs_graph *g = hs_graph_build(&spec);

    (void)state;
    assert_int_equal(g->out_off[0], 0);
    assert_int_equal(g->out_off[1], 2);
    assert_int_equal(g->out_off[2], 3);
    assert_int_equal(g->out_off[3], 5);
    /* Order within a source is the spec's order. */
    assert_int_equal(g->out_dst[0], 1);
    assert_int_equal(g->out_dst[1], 2);
    assert_int_equal(g->out_kind[2], HS_EDGE_WEAK);
    assert_int_equal(g->out_dst[3], 0);
    assert_int_equal(g->out_dst[4], 2);
    /* Incoming edges of 2: from 0, 1 (weak), 2. */
    assert_int_equal(g->in_off[2], 2);
    assert_int_equal(g->in_off[3], 5);
    assert_int_equal(hs_graph_in_src(g, 2), 0);
    assert_int_equal(hs_graph_in_src(g, 3), 1);
    assert_false(hs_graph_in_retains(g, 3));
    assert_true(hs_graph_in_retains(g, 4));
    for (uint32_t e = 0; e < 5; e++)
        assert_int_equal(hs_graph_edge_src(g, e), e < 2 ? 0 : e < 3 ? 1 : 2);
    assert_false(hs_graph_retains(g, HS_EDGE_WEAK));
    assert_true(hs_graph_retains(g, HS_EDGE_ITEM));
    hs_graph_free(g);
}

struct collect {
    uint32_t src[8], e[8];
    int n;
};

static int
collect_in(uint32_t src, uint32_t e, void *arg)
{
    struct collect *c = arg;

    c->src[c->n] = src;
    c->e[c->n++] = e;
    return 0;
}

static void
test_graph__each_in_edge_parallel(void **state)
{
    /* A list holding node 1 twice, and node 2 holding it once. */
    const uint32_t src[] = { 0, 0, 2 };
    const uint32_t dst[] = { 1, 1, 1 };
    struct hs_graph_spec spec = { 3, 3, src, dst, NULL, NULL, NULL, NULL, 0 };
    struct hs_graph *g = hs_graph_build(&spec);
    struct collect c = { { 0 }, { 0 }, 0 };

    (void)state;
    hs_graph_each_in_edge(g, 1, collect_in, &c);
    assert_int_equal(c.n, 3);
    assert_int_equal(c.src[0], 0);
    assert_int_equal(c.e[0], 0);
    assert_int_equal(c.e[1], 1);
    assert_int_equal(c.src[2], 2);
    assert_int_equal(c.e[2], 2);
    hs_graph_free(g);
}

static const char small_sql[] =
    "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 16),"
    " (2, 'dict', 'builtins', 'dict', 18), (3, 'Foo', '__main__', 'Foo', 3);"
    "INSERT INTO objects VALUES"
    " (1, 4096, 1, 400, 10, NULL, 'type', 4),"
    " (2, 8192, 1, 400, 10, NULL, 'dict', 4),"
    " (3, 12288, 1, 1000, 5, NULL, 'Foo', 1),"
    " (4, 16384, 3, 48, 1, NULL, NULL, 1),"
    " (5, 20480, 2, 232, 1, 1, NULL, 1);"
    "INSERT INTO names VALUES (1, 'x');"
    /* out of src order on purpose: the loader must sort */
    "INSERT INTO edge_list VALUES (5, 4, 1, 1), (4, 3, 8, NULL),"
    " (3, 1, 2, NULL), (4, 5, 2, 1);"
    "INSERT INTO roots VALUES (4, 'external', '1 reference', NULL, NULL),"
    " (5, 'module', 'm', NULL, NULL);";

static void
test_graph__load_snapshot(void **state)
{
    char *path = test_snapshot_file(small_sql);
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);
    struct hs_graph *g;
    char name[64];

    (void)state;
    assert_non_null(s);
    g = hs_graph_load(s);
    assert_non_null(g);
    assert_int_equal(g->n, 5);
    assert_int_equal(g->m, 4);
    assert_int_equal(g->ntypes, 3);
    assert_string_equal(hs_type_display_name(hs_graph_type_of(g, 3), name,
                                             sizeof(name)),
                        "__main__.Foo");
    assert_int_equal(hs_graph_type_of(g, 4)->count, 1);
    /* Sorted by source; rowids remembered. */
    assert_int_equal(hs_graph_edge_src(g, 0), 2);
    assert_int_equal(hs_graph_edge_row(g, 0), 3);
    assert_int_equal(hs_graph_edge_src(g, 1), 3);
    assert_int_equal(hs_graph_edge_row(g, 1), 2);
    assert_int_equal(hs_graph_edge_row(g, 2), 4);
    assert_int_equal(hs_graph_edge_row(g, 3), 1);
    /* Roots: the module first (user level), then the external one. */
    assert_int_equal(g->nroots, 2);
    assert_int_equal(g->roots[0].kind, HS_ROOT_MODULE);
    assert_int_equal(g->roots[0].node, 4);
    assert_int_equal(g->roots[1].kind, HS_ROOT_EXTERNAL);
    assert_int_equal(hs_graph_node_of_address(g, 16384), 3);
    assert_int_equal(hs_graph_node_of_address(g, 16385), -1);
    assert_int_equal(hs_graph_node_of_id(g, 6), -1);
    hs_graph_free(g);
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

static void
test_graph__rejects_sparse_ids(void **state)
{
    char *path = test_snapshot_file(
        "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 16);"
        "INSERT INTO objects VALUES (1, 1, 1, 1, 1, NULL, NULL, 0),"
        " (3, 3, 1, 1, 1, NULL, NULL, 0);");
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);

    (void)state;
    assert_non_null(s);
    hs_error_reset();
    assert_null(hs_graph_load(s));
    assert_int_equal(hs_error_status(), HS_EXIT_SNAPSHOT);
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

static void
test_graph__rejects_dangling_edge(void **state)
{
    char *path = test_snapshot_file(
        "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 16);"
        "INSERT INTO objects VALUES (1, 1, 1, 1, 1, NULL, NULL, 0);"
        "INSERT INTO edge_list VALUES (1, 7, 0, 0);");
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);

    (void)state;
    hs_error_reset();
    assert_null(hs_graph_load(s));
    assert_int_equal(hs_error_status(), HS_EXIT_SNAPSHOT);
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_graph__build_csr),
        cmocka_unit_test(test_graph__each_in_edge_parallel),
        cmocka_unit_test(test_graph__load_snapshot),
        cmocka_unit_test(test_graph__rejects_sparse_ids),
        cmocka_unit_test(test_graph__rejects_dangling_edge),
    };

    return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
