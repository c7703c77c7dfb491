/*
 * test_picture.c: unit tests of the picture model (picture.c): adding and
 * finding nodes against a brute-force oracle on thousands of random
 * sequences, the caps and what they count, key validation, copies of the
 * caller's strings, "more" counts, a 1,000,000-node chain, and the layers
 * (BFS) against a brute-force oracle, a million deep and a million wide.
 */
#include "picture.h"
#include "test_picture_oracle.h"
#include "test_util.h"

#include <fcntl.h>

/* The weights objgraph gives, written out independently of picture.c. */
static uint8_t
expected_weight(enum hs_edge_kind kind)
{
    static const uint8_t w[HS_EDGE_NKINDS] = {
        [HS_EDGE_ITEM] = 1,  [HS_EDGE_VALUE] = 2,    [HS_EDGE_ATTR] = 10,
        [HS_EDGE_KEY] = 2,   [HS_EDGE_ELEMENT] = 1,  [HS_EDGE_LOCAL] = 2,
        [HS_EDGE_CELL] = 10, [HS_EDGE_CLOSURE] = 10, [HS_EDGE_CLASS] = 10,
        [HS_EDGE_WEAK] = 1,  [HS_EDGE_OTHER] = 1,
    };

    return w[kind];
}

static void
test_picture__init_defaults(void **state)
{
    struct hs_picture p;

    (void)state;
    hs_picture_init(&p, 0);
    assert_int_equal(p.max_nodes, HS_PICTURE_MAX_NODES);
    assert_int_equal(p.max_edges,
                     HS_PICTURE_MAX_NODES * HS_PICTURE_EDGES_PER_NODE);
    assert_int_equal(p.nnodes, 0);
    assert_int_equal(p.dir, HS_PIC_DIR_NONE);
    assert_null(p.title);
    assert_int_equal(hs_picture_find(&p, "o1"), -1);
    hs_picture_init(&p, UINT32_MAX);
    assert_int_equal(p.max_edges, UINT32_MAX);
    hs_picture_release(&p);
}

/* A brute-force picture: parallel arrays and linear search. */
struct oracle {
    char keys[64][8];
    uint32_t n;
    uint32_t from[256], to[256];
    uint8_t kind[256], weak[256];
    uint32_t m;
    uint64_t refused_nodes, refused_edges;
};

static int64_t
oracle_find(const struct oracle *o, const char *key)
{
    for (uint32_t i = 0; i < o->n; i++) {
        if (!strcmp(o->keys[i], key))
            return i;
    }
    return -1;
}

/* Silences stderr (the expected error messages) until restored. */
static int
quiet_stderr(void)
{
    int saved = dup(2);
    int null = open("/dev/null", O_WRONLY);

    fflush(stderr);
    dup2(null, 2);
    close(null);
    return saved;
}

static void
restore_stderr(int saved)
{
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
}

static void
test_picture__random_oracle(void **state)
{
    int saved = quiet_stderr();

    (void)state;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL };
        uint32_t cap = 1 + test_rng_below(&r, 40);
        uint32_t ecap = test_rng_below(&r, 100);
        struct hs_picture p;
        struct oracle o;
        int ops = 20 + (int)test_rng_below(&r, 200);

        memset(&o, 0, sizeof(o));
        hs_picture_init(&p, cap);
        p.max_edges = ecap;
        for (int op = 0; op < ops; op++) {
            uint32_t what = test_rng_below(&r, 10);
            char key[8];

            /* Keys from a small space so that duplicates happen. */
            snprintf(key, sizeof(key), "k%u", test_rng_below(&r, 60));
            if (what < 4) {
                struct hs_picture_node n = HS_PICTURE_NODE_INIT;
                uint32_t idx = UINT32_MAX;
                int rc, want;

                n.key = key;
                n.type_name = "T";
                n.depth = test_rng_below(&r, 5);
                n.size = test_rng_next(&r);
                hs_error_reset();
                want = oracle_find(&o, key) >= 0 ? -1 : o.n >= cap ? 1 : 0;
                rc = hs_picture_add_node(&p, &n, &idx);
                assert_int_equal(rc, want);
                if (want == 0) {
                    assert_int_equal(idx, o.n);
                    snprintf(o.keys[o.n++], sizeof(o.keys[0]), "%s", key);
                    assert_int_equal(p.nodes[idx].size, n.size);
                    assert_int_equal(p.nodes[idx].depth, n.depth);
                } else if (want == 1) {
                    o.refused_nodes++;
                } else {
                    assert_int_equal(hs_error_status(), HS_EXIT_INTERNAL);
                }
            } else if (what < 8) {
                uint32_t a = test_rng_below(&r, o.n + 2);
                uint32_t b = test_rng_below(&r, o.n + 2);
                enum hs_edge_kind k =
                    (enum hs_edge_kind)test_rng_below(&r, HS_EDGE_OTHER + 1);
                int weak = (int)test_rng_below(&r, 2);
                int want = a >= o.n || b >= o.n ? -1 : o.m >= ecap ? 1 : 0;

                assert_int_equal(hs_picture_add_edge(&p, a, b, key, k, weak),
                                 want);
                if (want == 0) {
                    o.from[o.m] = a;
                    o.to[o.m] = b;
                    o.kind[o.m] = (uint8_t)k;
                    o.weak[o.m++] = (uint8_t)weak;
                } else if (want == 1) {
                    o.refused_edges++;
                }
            } else {
                assert_int_equal(hs_picture_find(&p, key),
                                 oracle_find(&o, key));
            }
        }
        assert_int_equal(p.nnodes, o.n);
        assert_int_equal(p.nedges, o.m);
        assert_int_equal(p.nodes_refused, o.refused_nodes);
        assert_int_equal(p.edges_refused, o.refused_edges);
        assert_int_equal(hs_picture_was_cut(&p),
                         o.refused_nodes || o.refused_edges);
        for (uint32_t i = 0; i < o.n; i++) {
            assert_string_equal(p.nodes[i].key, o.keys[i]);
            assert_int_equal(hs_picture_find(&p, o.keys[i]), i);
        }
        for (uint32_t e = 0; e < o.m; e++) {
            assert_int_equal(p.edges[e].from, o.from[e]);
            assert_int_equal(p.edges[e].to, o.to[e]);
            assert_int_equal(p.edges[e].kind, o.kind[e]);
            assert_int_equal(p.edges[e].weak, o.weak[e]);
            assert_int_equal(p.edges[e].weight,
                             expected_weight((enum hs_edge_kind)o.kind[e]));
        }
        hs_picture_release(&p);
    }
    restore_stderr(saved);
}

static void
test_picture__rejects_bad_keys(void **state)
{
    static const char *const bad[] = { "",    "1abc",     "a.b",  "a-b",
                                       "a b", "\xc3\xa4", "o1\n", "a:b" };
    struct hs_picture p;
    struct hs_picture_node n = HS_PICTURE_NODE_INIT;

    (void)state;
    hs_picture_init(&p, 10);
    n.type_name = "T";
    for (size_t i = 0; i < HS_ARRAY_SIZE(bad); i++) {
        n.key = bad[i];
        hs_error_reset();
        assert_int_equal(hs_picture_add_node(&p, &n, NULL), -1);
        assert_int_equal(hs_error_status(), HS_EXIT_INTERNAL);
    }
    n.key = NULL;
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), -1);
    n.key = "_ok_Key9";
    n.type_name = NULL;
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), -1);
    n.type_name = "T";
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
    assert_int_equal(p.nnodes, 1);
    /* Errors are not cap refusals. */
    assert_int_equal(p.nodes_refused, 0);
    hs_error_reset();
    assert_int_equal(hs_picture_add_edge(&p, 0, 1, NULL, HS_EDGE_ATTR, 0), -1);
    assert_int_equal(hs_picture_add_more(&p, 1, HS_PIC_DIR_REFS, 1), -1);
    assert_int_equal(hs_picture_add_more(&p, 0, HS_PIC_DIR_NONE, 1), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_INTERNAL);
    hs_picture_release(&p);
}

static void
test_picture__copies_strings(void **state)
{
    struct hs_picture p;
    struct hs_picture_node n = HS_PICTURE_NODE_INIT;
    char key[16] = "o7", type[16] = "dict", value[16] = "3 items";
    char label[16] = "['x']", title[16] = "title";
    uint32_t idx;

    (void)state;
    hs_picture_init(&p, 4);
    n.key = key;
    n.type_name = type;
    n.value = value;
    assert_int_equal(hs_picture_add_node(&p, &n, &idx), 0);
    assert_int_equal(
        hs_picture_add_edge(&p, idx, idx, label, HS_EDGE_VALUE, 0), 0);
    hs_picture_set_title(&p, title);
    hs_picture_set_url_base(&p, "http://h");
    memset(key, 'z', sizeof(key) - 1);
    memset(type, 'z', sizeof(type) - 1);
    memset(value, 'z', sizeof(value) - 1);
    memset(label, 'z', sizeof(label) - 1);
    memset(title, 'z', sizeof(title) - 1);
    assert_string_equal(p.nodes[0].key, "o7");
    assert_string_equal(p.nodes[0].type_name, "dict");
    assert_string_equal(p.nodes[0].value, "3 items");
    assert_string_equal(p.edges[0].label, "['x']");
    assert_string_equal(p.title, "title");
    assert_int_equal(hs_picture_find(&p, "o7"), 0);
    hs_picture_set_title(&p, NULL);
    assert_null(p.title);
    hs_picture_release(&p);
    /* Released pictures are empty and reusable with their caps. */
    assert_int_equal(p.nnodes, 0);
    assert_int_equal(p.max_nodes, 4);
    assert_int_equal(hs_picture_find(&p, "o7"), -1);
    n.key = "o7";
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
    hs_picture_release(&p);
}

static void
test_picture__long_strings_in_arena(void **state)
{
    struct hs_picture p;
    struct hs_picture_node n = HS_PICTURE_NODE_INIT;
    size_t big = 200 * 1024;
    char *value = malloc(big + 1);
    char key[16];

    (void)state;
    memset(value, 'v', big);
    value[big] = '\0';
    hs_picture_init(&p, 100);
    n.type_name = "str";
    for (int i = 0; i < 50; i++) {
        snprintf(key, sizeof(key), "o%d", i);
        n.key = key;
        /* Alternate huge and tiny values across chunk boundaries. */
        n.value = i % 2 ? "vvv" : value;
        assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
    }
    for (uint32_t i = 0; i < 50; i++)
        assert_int_equal(strlen(p.nodes[i].value), i % 2 ? 3 : big);
    hs_picture_release(&p);
    free(value);
}

static void
test_picture__more_counts(void **state)
{
    struct hs_picture p;
    struct hs_picture_node n = HS_PICTURE_NODE_INIT;

    (void)state;
    hs_picture_init(&p, 1);
    n.key = "a";
    n.type_name = "T";
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
    n.key = "b";
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), 1);
    assert_int_equal(p.nodes_refused, 1);
    assert_int_equal(hs_picture_add_more(&p, 0, HS_PIC_DIR_REFS, 2), 0);
    assert_int_equal(hs_picture_add_more(&p, 0, HS_PIC_DIR_REFS, 3), 0);
    assert_int_equal(hs_picture_add_more(&p, 0, HS_PIC_DIR_BACKREFS, 7), 0);
    assert_int_equal(p.nodes[0].more_refs, 5);
    assert_int_equal(p.nodes[0].more_backrefs, 7);
    assert_int_equal(
        hs_picture_add_more(&p, 0, HS_PIC_DIR_REFS, UINT64_MAX - 1), 0);
    assert_true(p.nodes[0].more_refs == UINT64_MAX);
    hs_picture_release(&p);
}

/* A million-node chain: the index stays O(1) and nothing recurses. */
static void
test_picture__deep_chain(void **state)
{
    const uint32_t n = 1000000;
    struct hs_picture p;
    struct hs_picture_node node = HS_PICTURE_NODE_INIT;
    char key[16];

    (void)state;
    hs_picture_init(&p, n);
    node.type_name = "Node";
    for (uint32_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "o%u", i + 1);
        node.key = key;
        node.depth = i;
        assert_int_equal(hs_picture_add_node(&p, &node, NULL), 0);
        if (i)
            assert_int_equal(
                hs_picture_add_edge(&p, i - 1, i, ".next", HS_EDGE_ATTR, 0),
                0);
    }
    node.key = "overflow";
    assert_int_equal(hs_picture_add_node(&p, &node, NULL), 1);
    for (uint32_t i = 0; i < n; i += 997) {
        snprintf(key, sizeof(key), "o%u", i + 1);
        assert_int_equal(hs_picture_find(&p, key), i);
    }
    assert_int_equal(hs_picture_find(&p, "o0"), -1);
    assert_int_equal(p.nedges, n - 1);
    hs_picture_release(&p);
}

static void
test_picture__layers_match_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 4000; seed++) {
        struct test_rng r = { seed * 0xBF58476D1CE4E5B9ULL };
        uint32_t n = 1 + test_rng_below(&r, 40);
        uint32_t m = test_rng_below(&r, 3 * n);
        uint32_t got[40], want[40];
        struct hs_picture p;
        char key[16];

        hs_picture_init(&p, 0);
        p.dir = (enum hs_picture_dir)test_rng_below(&r, 3);
        for (uint32_t i = 0; i < n; i++) {
            struct hs_picture_node node = HS_PICTURE_NODE_INIT;

            snprintf(key, sizeof(key), "o%u", i);
            node.key = key;
            node.type_name = "T";
            /* Few depth-0 nodes, sometimes none. */
            node.depth = test_rng_below(&r, 6) ? 1 + test_rng_below(&r, 3) : 0;
            assert_int_equal(hs_picture_add_node(&p, &node, NULL), 0);
        }
        for (uint32_t e = 0; e < m; e++)
            assert_int_equal(hs_picture_add_edge(&p, test_rng_below(&r, n),
                                                 test_rng_below(&r, n), NULL,
                                                 HS_EDGE_ITEM, 0),
                             0);
        hs_picture_layers(&p, got);
        oracle_layers(&p, want);
        assert_memory_equal(got, want, n * sizeof(got[0]));
        hs_picture_release(&p);
    }
}

/*
 * A million-node chain both ways (layers a million deep: no recursion),
 * and a million-edge fan-in onto one node.
 */
static void
test_picture__layers_deep_chain_and_fan_in(void **state)
{
    const uint32_t n = 1000000;
    uint32_t *layer = malloc(n * sizeof(*layer));
    struct hs_picture p;
    struct hs_picture_node node = HS_PICTURE_NODE_INIT;
    char key[16];

    (void)state;
    hs_picture_init(&p, n);
    p.max_edges = 2 * n;
    node.type_name = "Node";
    for (uint32_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "o%u", i);
        node.key = key;
        node.depth = i ? 1 : 0;
        assert_int_equal(hs_picture_add_node(&p, &node, NULL), 0);
        if (i)
            assert_int_equal(
                hs_picture_add_edge(&p, i - 1, i, NULL, HS_EDGE_ATTR, 0), 0);
    }
    p.dir = HS_PIC_DIR_REFS;
    hs_picture_layers(&p, layer);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(layer[i], i);
    /* Walking backwards from node 0 reaches nothing: each node then
     * starts its own BFS and walks back to the ones before it. */
    p.dir = HS_PIC_DIR_BACKREFS;
    hs_picture_layers(&p, layer);
    assert_int_equal(layer[0], 0);
    assert_int_equal(layer[1], 0);
    assert_int_equal(layer[n - 1], 0);
    /* Fan-in: every node also points at the last one. */
    for (uint32_t i = 0; i + 1 < n; i++)
        assert_int_equal(
            hs_picture_add_edge(&p, i, n - 1, NULL, HS_EDGE_VALUE, 0), 0);
    p.dir = HS_PIC_DIR_REFS;
    hs_picture_layers(&p, layer);
    assert_int_equal(layer[n - 1], 1);
    assert_int_equal(layer[n - 2], n - 2);
    p.dir = HS_PIC_DIR_BACKREFS;
    p.nodes[0].depth = 1;
    p.nodes[n - 1].depth = 0;
    hs_picture_layers(&p, layer);
    for (uint32_t i = 0; i + 1 < n; i++)
        assert_int_equal(layer[i], 1);
    hs_picture_release(&p);
    free(layer);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_picture__init_defaults),
        cmocka_unit_test(test_picture__random_oracle),
        cmocka_unit_test(test_picture__rejects_bad_keys),
        cmocka_unit_test(test_picture__copies_strings),
        cmocka_unit_test(test_picture__long_strings_in_arena),
        cmocka_unit_test(test_picture__more_counts),
        cmocka_unit_test(test_picture__deep_chain),
        cmocka_unit_test(test_picture__layers_match_oracle),
        cmocka_unit_test(test_picture__layers_deep_chain_and_fan_in),
    };

    return cmocka_run_group_tests_name("picture", tests, NULL, NULL);
}
