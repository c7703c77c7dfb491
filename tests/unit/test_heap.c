/*
 * Tests of the loaded heap (heap.c): opening loads the graph and names
 * and nothing else; every analysis is computed on first use, once (the
 * same result on every later call); the dominators are stored in a
 * writable snapshot and read back by the next heap, never written to a
 * read-only one; `info`'s open loads no graph; a missing file fails with
 * exit 4 and can still be released.  hs_heap_prepare() leaves both derived
 * tables current, so that the next heap writes nothing, and refuses a
 * read-only file (exit 4) without writing it.
 */
#include "heap.h"
#include "graph_cache.h"
#include "test_util.h"

#include <sys/stat.h>

/* A module holding a list of two Foo that hold each other (a cycle), and
 * a third Foo nobody holds. */
static char *
small_snapshot(void)
{
    return test_snapshot_file(
        "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 18),"
        " (2, 'module', 'builtins', 'module', 18),"
        " (3, 'list', 'builtins', 'list', 18),"
        " (4, 'Foo', '__main__', 'Foo', 3);"
        "INSERT INTO objects VALUES (1, 4096, 1, 900, 9, NULL, 'type', 0),"
        " (2, 8192, 1, 900, 9, NULL, 'module', 0),"
        " (3, 12288, 1, 900, 9, NULL, 'list', 0),"
        " (4, 16384, 1, 900, 9, NULL, 'Foo', 0),"
        " (5, 20480, 2, 100, 1, NULL, '__main__', 0),"
        " (6, 24576, 3, 72, 1, 2, NULL, 0),"
        " (7, 28672, 4, 48, 2, NULL, NULL, 0),"
        " (8, 32768, 4, 48, 2, NULL, NULL, 0),"
        " (9, 36864, 4, 48, 1, NULL, NULL, 0);"
        "INSERT INTO edge_list VALUES (5, 6, 2, NULL), (6, 7, 0, 0),"
        " (6, 8, 0, 1), (7, 8, 2, NULL), (8, 7, 2, NULL);"
        "INSERT INTO roots VALUES (5, 'module', '__main__', NULL, NULL);");
}

static void
test_heap__analyses_once_on_first_use(void **state)
{
    char *path = small_snapshot();
    struct hs_heap h;
    const struct hs_bfs *bfs;
    struct hs_dominators *dom;
    const struct hs_scc *scc;
    const uint64_t *tret;
    uint64_t *want;

    (void)state;
    assert_int_equal(hs_heap_open(&h, path, 0), 0);
    assert_string_equal(h.path, path);
    assert_non_null(h.g);
    assert_non_null(h.names);
    assert_int_equal(h.g->n, 9);
    assert_int_equal(h.have, 0);
    assert_null(h.type_retained);

    bfs = hs_heap_bfs(&h);
    assert_ptr_equal(bfs, hs_heap_bfs(&h));
    assert_true(hs_bfs_reached(bfs, 6));  /* Foo @7, by the list */
    assert_false(hs_bfs_reached(bfs, 8)); /* the third Foo */

    dom = hs_heap_dominators(&h);
    assert_non_null(dom);
    assert_ptr_equal(dom, hs_heap_dominators(&h));
    assert_int_equal(dom->origin, HS_DOM_STORED);
    /* The list retains itself and both Foo of the cycle. */
    assert_int_equal(dom->retained[5], 72 + 48 + 48);

    tret = hs_heap_type_retained(&h);
    assert_non_null(tret);
    assert_ptr_equal(tret, hs_heap_type_retained(&h));
    want = hs_dominators_type_retained(h.g, dom);
    assert_memory_equal(tret, want, h.g->ntypes * sizeof(*want));
    free(want);

    scc = hs_heap_data_scc(&h);
    assert_ptr_equal(scc, hs_heap_data_scc(&h));
    assert_int_equal(scc->comp[6], scc->comp[7]);
    assert_int_not_equal(scc->comp[5], scc->comp[6]);
    hs_heap_release(&h);

    /* The next heap reads the stored dominators back. */
    assert_int_equal(hs_heap_open(&h, path, 0), 0);
    dom = hs_heap_dominators(&h);
    assert_non_null(dom);
    assert_int_equal(dom->origin, HS_DOM_LOADED);
    assert_int_equal(dom->retained[5], 72 + 48 + 48);
    hs_heap_release(&h);
    unlink(path);
    free(path);
}

static void
test_heap__read_only_heap_stores_nothing(void **state)
{
    char *path = small_snapshot();
    struct hs_heap h;
    struct hs_dominators *dom;

    (void)state;
    assert_int_equal(hs_heap_open(&h, path, HS_HEAP_READONLY), 0);
    dom = hs_heap_dominators(&h);
    assert_non_null(dom);
    assert_int_equal(dom->origin, HS_DOM_COMPUTED);
    assert_int_equal(hs_snapshot_has_table(h.snap, "retained"), 0);
    hs_heap_release(&h);
    unlink(path);
    free(path);
}

static void
test_heap__no_graph_for_info(void **state)
{
    char *path = small_snapshot();
    struct hs_heap h;

    (void)state;
    assert_int_equal(
        hs_heap_open(&h, path, HS_HEAP_READONLY | HS_HEAP_NO_GRAPH), 0);
    assert_non_null(h.snap);
    assert_null(h.g);
    assert_null(h.names);
    hs_heap_release(&h);
    /* Nothing was derived: the graph cache is made by loading a graph. */
    assert_int_equal(hs_heap_open(&h, path, HS_HEAP_NO_GRAPH), 0);
    assert_int_equal(hs_snapshot_has_table(h.snap, "graph_cache"), 0);
    hs_heap_release(&h);
    unlink(path);
    free(path);
}

static void
test_heap__missing_file_fails_and_releases(void **state)
{
    struct hs_heap h;

    (void)state;
    hs_error_reset();
    assert_int_equal(hs_heap_open(&h, "/nonexistent/heapsnap-x.db", 0), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    assert_null(h.g);
    hs_heap_release(&h);
    hs_heap_release(&h);
    hs_error_reset();
}

static void
test_heap__prepare_stores_what_a_first_command_would(void **state)
{
    char *path = small_snapshot();
    struct hs_heap h;
    struct hs_dominators *dom;
    struct stat before, after;

    (void)state;
    assert_int_equal(hs_heap_prepare(path), 0);
    assert_int_equal(stat(path, &before), 0);
    /* Prepared already: nothing to write the second time either. */
    assert_int_equal(hs_heap_prepare(path), 0);
    assert_int_equal(hs_heap_open(&h, path, 0), 0);
    assert_true(hs_graph_cache_stored(h.g));
    dom = hs_heap_dominators(&h);
    assert_non_null(dom);
    assert_int_equal(dom->origin, HS_DOM_LOADED);
    assert_int_equal(dom->retained[5], 72 + 48 + 48);
    hs_heap_release(&h);
    assert_int_equal(stat(path, &after), 0);
    assert_int_equal(after.st_size, before.st_size);
    assert_int_equal(after.st_mtim.tv_sec, before.st_mtim.tv_sec);
    assert_int_equal(after.st_mtim.tv_nsec, before.st_mtim.tv_nsec);
    unlink(path);
    free(path);
}

static void
test_heap__prepare_refuses_a_read_only_file(void **state)
{
    char *path = small_snapshot();
    struct hs_heap h;

    (void)state;
    assert_int_equal(chmod(path, 0400), 0);
    hs_error_reset();
    assert_int_equal(hs_heap_prepare(path), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    hs_error_reset();
    assert_int_equal(hs_heap_open(&h, path, HS_HEAP_READONLY), 0);
    assert_false(hs_graph_cache_stored(h.g));
    assert_int_equal(hs_snapshot_has_table(h.snap, "retained"), 0);
    hs_heap_release(&h);
    unlink(path);
    free(path);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_heap__analyses_once_on_first_use),
        cmocka_unit_test(test_heap__read_only_heap_stores_nothing),
        cmocka_unit_test(test_heap__no_graph_for_info),
        cmocka_unit_test(test_heap__missing_file_fails_and_releases),
        cmocka_unit_test(test_heap__prepare_stores_what_a_first_command_would),
        cmocka_unit_test(test_heap__prepare_refuses_a_read_only_file),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
