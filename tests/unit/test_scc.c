/*
 * test_scc.c: unit tests of scc.c.  Components, their order and their
 * summaries are checked against a brute-force oracle (mutual reachability
 * from a transitive closure) on thousands of random graphs with weak
 * edges, parallel edges and self-loops; then a million-node chain, a
 * million-node cycle and a node with 500,000 referrers prove that the
 * search does not recurse.
 */
#include "scc.h"
#include "test_util.h"

/* ---- random graphs ------------------------------------------------------- */

#define MAXN 64 /* the oracle keeps reachability as one uint64_t per node */
#define MAXM 1024

#include "test_rgraph.h"

static void
random_graph(struct test_rng *r, struct rgraph *rg)
{
    rg->n = 1 + test_rng_below(r, 60);
    rg->m = test_rng_below(r, 3 * rg->n + 1);
    test_random_edges(r, rg->n, rg->m, rg->src, rg->dst, rg->kind,
                      HS_EDGE_WEAK, 5, 11);
    rgraph_random_sizes_roots(r, rg, 4);
}

/* Gives g four types: module, type, a class, and a metaclass whose type
 * object is node `meta_node`; every node gets a random one. */
static void
random_types(struct test_rng *r, struct hs_graph *g, uint32_t meta_node)
{
    static const char *const names[4][2] = { { "module", "builtins" },
                                             { "type", "builtins" },
                                             { "Foo", "__main__" },
                                             { "ABCMeta", "abc" } };

    for (uint32_t t = 0; t < g->ntypes; t++) {
        free(g->types[t].name);
        free(g->types[t].module);
        free(g->types[t].qualname);
    }
    free(g->types);
    g->types = hs_xcalloc(4, sizeof(*g->types));
    g->ntypes = 4;
    for (uint32_t t = 0; t < 4; t++) {
        g->types[t].name = hs_xstrdup(names[t][0]);
        g->types[t].module = hs_xstrdup(names[t][1]);
        g->types[t].node = t < 3 ? UINT32_MAX : meta_node;
    }
    for (uint32_t v = 0; v < g->n; v++) {
        g->type[v] = test_rng_below(r, 4);
        g->flags[v] = 0;
        if (test_rng_below(r, 8) == 0)
            g->flags[v] |= HS_OBJ_HAS_DEL;
        if (test_rng_below(r, 2) == 0)
            g->flags[v] |= HS_OBJ_UNREACHABLE;
    }
}

/* ---- the oracle ------------------------------------------------------------ */

/* reach[v]: bit w set when w is reachable from v over retaining edges
 * (v itself only through a cycle).  Fixed point of one-step closure. */
static void
oracle_closure(const struct hs_graph *g, uint64_t *reach)
{
    int changed = 1;

    for (uint32_t v = 0; v < g->n; v++) {
        reach[v] = 0;
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            if (g->out_kind[e] != HS_EDGE_WEAK)
                reach[v] |= 1ULL << g->out_dst[e];
        }
    }
    while (changed) {
        changed = 0;
        for (uint32_t v = 0; v < g->n; v++) {
            uint64_t r = reach[v];

            for (uint32_t w = 0; w < g->n; w++) {
                if (reach[v] >> w & 1)
                    r |= reach[w];
            }
            if (r != reach[v]) {
                reach[v] = r;
                changed = 1;
            }
        }
    }
}

/* Nodes reachable from any root (roots included). */
static uint64_t
oracle_rooted(const struct hs_graph *g, const uint64_t *reach)
{
    uint64_t rooted = 0;

    for (uint32_t i = 0; i < g->nroots; i++)
        rooted |= (1ULL << g->roots[i].node) | reach[g->roots[i].node];
    return rooted;
}

static int
same_scc(const uint64_t *reach, uint32_t a, uint32_t b)
{
    return a == b || ((reach[a] >> b & 1) && (reach[b] >> a & 1));
}

static void
check_against_oracle(const struct hs_graph *g, const struct hs_bfs *bfs,
                     const struct hs_scc *s)
{
    uint64_t reach[MAXN], rooted;
    uint32_t seen[MAXN] = { 0 }, ncycles = 0, *cycles, prev = UINT32_MAX;

    oracle_closure(g, reach);
    rooted = oracle_rooted(g, reach);
    assert_int_equal(s->n, g->n);
    for (uint32_t a = 0; a < g->n; a++) {
        assert_true(s->comp[a] < s->ncomp);
        for (uint32_t b = 0; b < g->n; b++)
            assert_int_equal(s->comp[a] == s->comp[b], same_scc(reach, a, b));
    }
    /* Reverse topological numbering. */
    for (uint32_t v = 0; v < g->n; v++) {
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (g->out_kind[e] != HS_EDGE_WEAK && s->comp[w] != s->comp[v])
                assert_true(s->comp[w] < s->comp[v]);
        }
    }
    /* Member lists: every node once, ascending, in its own component. */
    assert_int_equal(s->off[0], 0);
    assert_int_equal(s->off[s->ncomp], g->n);
    for (uint32_t c = 0; c < s->ncomp; c++) {
        uint64_t bytes = 0;
        uint32_t flags = HS_SCC_UNREACHABLE, nmt = 0;

        assert_true(hs_scc_size(s, c) > 0);
        for (uint32_t i = s->off[c]; i < s->off[c + 1]; i++) {
            uint32_t v = s->members[i];
            int reached = bfs ? (int)(rooted >> v & 1)
                              : !(g->flags[v] & HS_OBJ_UNREACHABLE);

            assert_int_equal(s->comp[v], c);
            assert_false(seen[v]);
            seen[v] = 1;
            if (i > s->off[c])
                assert_true(s->members[i - 1] < v);
            bytes += g->size[v];
            if (reached)
                flags &= ~HS_SCC_UNREACHABLE;
            if (g->flags[v] & HS_OBJ_HAS_DEL)
                flags |= HS_SCC_HAS_DEL;
            if (g->type[v] <= 1 || (g->ntypes == 4 && g->types[3].node == v))
                nmt++;
            for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
                if (g->out_dst[e] == v && g->out_kind[e] != HS_EDGE_WEAK)
                    flags |= HS_SCC_SELF_LOOP;
            }
        }
        if (hs_scc_size(s, c) > 1 || (flags & HS_SCC_SELF_LOOP))
            flags |= HS_SCC_CYCLE;
        assert_int_equal(s->info[c].bytes, bytes);
        assert_int_equal(s->info[c].flags, flags);
        assert_int_equal(s->info[c].nmodule_type, nmt);
        ncycles += (flags & HS_SCC_CYCLE) != 0;
    }
    /* The cycle list: exactly the cycles, in the documented order. */
    cycles = hs_scc_cycles(s, &prev);
    assert_int_equal(prev, ncycles);
    for (uint32_t i = 0; i < ncycles; i++) {
        assert_true(s->info[cycles[i]].flags & HS_SCC_CYCLE);
        if (i > 0) {
            uint32_t a = cycles[i - 1], b = cycles[i];
            const struct hs_scc_info *x = &s->info[a], *y = &s->info[b];

            assert_true(x->bytes > y->bytes ||
                        (x->bytes == y->bytes &&
                         (hs_scc_size(s, a) > hs_scc_size(s, b) ||
                          (hs_scc_size(s, a) == hs_scc_size(s, b) &&
                           s->members[s->off[a]] < s->members[s->off[b]]))));
        }
    }
    free(cycles);
}

/* ---- tests ------------------------------------------------------------------ */

static void
test_scc__small_by_hand(void **state)
{
    /* 0 <-> 1 (a cycle), 1 -> 2, 2 -> 2 (self-loop), 2 -> 3 weakly,
     * 3 -> 4 -> 3 only weakly back: 3 and 4 are singletons. */
    const uint32_t src[] = { 0, 1, 1, 2, 2, 3, 4 };
    const uint32_t dst[] = { 1, 0, 2, 2, 3, 4, 3 };
    const uint8_t kind[] = { HS_EDGE_ATTR, HS_EDGE_ATTR, HS_EDGE_ITEM,
                             HS_EDGE_ATTR, HS_EDGE_WEAK, HS_EDGE_ATTR,
                             HS_EDGE_WEAK };
    const uint64_t size[] = { 10, 20, 40, 80, 160 };
    struct hs_graph_spec spec = { 5, 7, src, dst, kind, size, NULL, NULL, 0 };
    struct hs_graph *g = hs_graph_build(&spec);
    struct hs_scc s;
    uint32_t *cycles, k;

    (void)state;
    hs_scc_run(g, NULL, &s);
    assert_int_equal(s.ncomp, 4);
    assert_int_equal(s.comp[0], s.comp[1]);
    assert_int_not_equal(s.comp[1], s.comp[2]);
    assert_int_not_equal(s.comp[3], s.comp[4]);
    assert_int_equal(s.info[s.comp[0]].flags, HS_SCC_CYCLE);
    assert_int_equal(s.info[s.comp[0]].bytes, 30);
    assert_int_equal(s.info[s.comp[2]].flags, HS_SCC_CYCLE | HS_SCC_SELF_LOOP);
    assert_int_equal(s.info[s.comp[3]].flags, 0);
    cycles = hs_scc_cycles(&s, &k);
    assert_int_equal(k, 2);
    assert_int_equal(cycles[0], s.comp[2]); /* 40 bytes beat 30 */
    assert_int_equal(cycles[1], s.comp[0]);
    free(cycles);
    hs_scc_release(&s);
    hs_graph_free(g);
}

static void
test_scc__random_vs_oracle(void **state)
{
    struct test_rng r = { 0x5CC5EEDULL };

    (void)state;
    for (int seed = 0; seed < 4000; seed++) {
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_scc s, again;
        struct hs_bfs bfs;

        random_graph(&r, &rg);
        g = rgraph_build(&rg);
        random_types(&r, g, test_rng_below(&r, g->n));
        hs_scc_run(g, NULL, &s);
        check_against_oracle(g, NULL, &s);
        /* Same answer every time. */
        hs_scc_run(g, NULL, &again);
        assert_int_equal(again.ncomp, s.ncomp);
        assert_memory_equal(again.comp, s.comp, g->n * sizeof(uint32_t));
        hs_scc_release(&again);
        hs_scc_release(&s);
        /* Reachability taken from the BFS instead of the flags. */
        hs_bfs_run(g, &bfs);
        hs_scc_run(g, &bfs, &s);
        check_against_oracle(g, &bfs, &s);
        hs_scc_release(&s);
        hs_bfs_release(&bfs);
        hs_graph_free(g);
    }
}

static void
test_scc__csr_generic(void **state)
{
    struct test_rng r = { 0xC5C5ULL };

    (void)state;
    /* hs_scc_csr() counts every edge, weak or not: compare with
     * hs_scc_run() on the same edges all made retaining. */
    for (int seed = 0; seed < 1000; seed++) {
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_scc s;
        uint32_t comp[MAXN], ncomp;

        random_graph(&r, &rg);
        memset(rg.kind, HS_EDGE_ATTR, sizeof(rg.kind));
        g = rgraph_build(&rg);
        hs_scc_run(g, NULL, &s);
        ncomp = hs_scc_csr(g->n, g->out_off, g->out_dst, comp);
        assert_int_equal(ncomp, s.ncomp);
        assert_memory_equal(comp, s.comp, g->n * sizeof(uint32_t));
        hs_scc_release(&s);
        hs_graph_free(g);
    }
}

#define BIG 1000000u

/* A graph whose edges are i -> i + 1, closed into a ring if `ring`. */
static struct hs_graph *
big_chain(int ring)
{
    uint32_t m = ring ? BIG : BIG - 1;
    uint32_t *src = malloc(m * sizeof(*src)), *dst = malloc(m * sizeof(*dst));
    struct hs_graph_spec spec = {
        BIG, m, src, dst, NULL, NULL, NULL, NULL, 0
    };
    struct hs_graph *g;

    for (uint32_t i = 0; i < m; i++) {
        src[i] = i;
        dst[i] = (i + 1) % BIG;
    }
    g = hs_graph_build(&spec);
    free(src);
    free(dst);
    return g;
}

static void
test_scc__million_chain(void **state)
{
    struct hs_graph *g = big_chain(0);
    struct hs_scc s;
    uint32_t k, *cycles;

    (void)state;
    hs_scc_run(g, NULL, &s);
    assert_int_equal(s.ncomp, BIG);
    /* The far end completes first. */
    for (uint32_t v = 0; v < BIG; v++)
        assert_int_equal(s.comp[v], BIG - 1 - v);
    cycles = hs_scc_cycles(&s, &k);
    assert_null(cycles);
    assert_int_equal(k, 0);
    hs_scc_release(&s);
    hs_graph_free(g);
}

static void
test_scc__million_ring(void **state)
{
    struct hs_graph *g = big_chain(1);
    struct hs_scc s;
    uint32_t k, *cycles;

    (void)state;
    hs_scc_run(g, NULL, &s);
    assert_int_equal(s.ncomp, 1);
    assert_int_equal(hs_scc_size(&s, 0), BIG);
    assert_int_equal(s.info[0].bytes, BIG);
    assert_int_equal(s.info[0].flags, HS_SCC_CYCLE);
    for (uint32_t i = 0; i < BIG; i++)
        assert_int_equal(s.members[i], i);
    cycles = hs_scc_cycles(&s, &k);
    assert_int_equal(k, 1);
    free(cycles);
    hs_scc_release(&s);
    hs_graph_free(g);
}

static void
test_scc__huge_fan_in(void **state)
{
    /* Node 0 is retained by 500,000 referrers 2 .. 500,001; node 1, a
     * list, holds the odd ones, and node 0 holds the list: the odd
     * referrers and nodes 0 and 1 form one cycle, the even ones are
     * singletons. */
    const uint32_t nref = 500000, n = nref + 2;
    uint32_t m = 0, *src = malloc(2 * n * sizeof(*src));
    uint32_t *dst = malloc(2 * n * sizeof(*dst));
    struct hs_graph_spec spec = { n, 0, src, dst, NULL, NULL, NULL, NULL, 0 };
    struct hs_graph *g;
    struct hs_scc s;

    (void)state;
    for (uint32_t i = 2; i < n; i++) {
        src[m] = i;
        dst[m++] = 0;
        if (i % 2) {
            src[m] = 1;
            dst[m++] = i;
        }
    }
    src[m] = 0;
    dst[m++] = 1;
    spec.m = m;
    g = hs_graph_build(&spec);
    hs_scc_run(g, NULL, &s);
    assert_int_equal(s.ncomp, 1 + nref / 2);
    assert_int_equal(hs_scc_size(&s, s.comp[0]), 2 + nref / 2);
    for (uint32_t i = 2; i < n; i++) {
        if (i % 2)
            assert_int_equal(s.comp[i], s.comp[0]);
        else
            assert_int_equal(hs_scc_size(&s, s.comp[i]), 1);
    }
    hs_scc_release(&s);
    hs_graph_free(g);
    free(src);
    free(dst);
}

/* Sets node v's type to a new type named `name` (module `mod`). */
static void
set_type(struct hs_graph *g, uint32_t v, const char *name, const char *mod)
{
    uint32_t t;

    for (t = 0; t < g->ntypes; t++) {
        if (!strcmp(g->types[t].name, name))
            break;
    }
    if (t == g->ntypes) {
        g->types = hs_xrealloc(g->types, (g->ntypes + 1) * sizeof(*g->types));
        memset(&g->types[t], 0, sizeof(g->types[t]));
        g->types[t].name = hs_xstrdup(name);
        g->types[t].module = hs_xstrdup(mod);
        g->types[t].node = UINT32_MAX;
        g->ntypes++;
    }
    g->type[v] = t;
}

static void
test_scc__data_cycles(void **state)
{
    /*
     * 0 module M --attr--> 1 dict D (its __dict__) --value--> 2 A;
     * 2 A --class--> 3 T; 3 T --attr--> 4 tuple MRO --item--> 3 T;
     * 3 T --attr--> 5 dict TD --value--> 6 function F --attr--> 1 D
     * (__globals__); 2 A --attr--> 7 list L --item--> 2 A.
     * Over all references, A, T, TD, F, D and L are one component with M's
     * dict.  Over data references: {A, L} is a cycle without classes or
     * modules; {T, MRO} is a cycle that holds a class; D and F are alone.
     */
    const uint32_t src[] = { 0, 1, 2, 3, 4, 3, 5, 6, 2, 7 };
    const uint32_t dst[] = { 1, 2, 3, 4, 3, 5, 6, 1, 7, 2 };
    const uint8_t kind[] = { HS_EDGE_ATTR,  HS_EDGE_VALUE, HS_EDGE_CLASS,
                             HS_EDGE_ATTR,  HS_EDGE_ITEM,  HS_EDGE_ATTR,
                             HS_EDGE_VALUE, HS_EDGE_ATTR,  HS_EDGE_ATTR,
                             HS_EDGE_ITEM };
    const uint32_t roots[] = { 0 };
    struct hs_graph_spec spec = { 8, 10, src, dst, kind, NULL, roots, NULL,
                                  1 };
    struct hs_graph *g = hs_graph_build(&spec);
    struct hs_scc all, data;

    (void)state;
    set_type(g, 0, "module", "builtins");
    set_type(g, 1, "dict", "builtins");
    set_type(g, 2, "Foo", "__main__");
    set_type(g, 3, "type", "builtins");
    set_type(g, 4, "tuple", "builtins");
    set_type(g, 5, "dict", "builtins");
    set_type(g, 6, "function", "builtins");
    set_type(g, 7, "list", "builtins");
    /* The class T is recognised by its __mro__, not by its type: make its
     * type a metaclass the test does not name. */
    set_type(g, 3, "SomeMeta", "meta");
    hs_scc_run(g, NULL, &all);
    assert_int_equal(all.comp[1], all.comp[2]);
    assert_int_equal(all.comp[2], all.comp[6]);
    hs_scc_run_data(g, NULL, &data);
    assert_int_equal(data.comp[2], data.comp[7]);
    assert_int_equal(hs_scc_size(&data, data.comp[2]), 2);
    assert_true(data.info[data.comp[2]].flags & HS_SCC_CYCLE);
    assert_int_equal(data.info[data.comp[2]].nmodule_type, 0);
    assert_int_equal(data.comp[3], data.comp[4]);
    assert_int_equal(hs_scc_size(&data, data.comp[3]), 2);
    assert_true(data.info[data.comp[3]].nmodule_type > 0);
    assert_int_equal(hs_scc_size(&data, data.comp[1]), 1);
    assert_int_equal(hs_scc_size(&data, data.comp[6]), 1);
    assert_int_not_equal(data.comp[1], data.comp[2]);
    hs_scc_release(&all);
    hs_scc_release(&data);
    hs_graph_free(g);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scc__small_by_hand),
        cmocka_unit_test(test_scc__random_vs_oracle),
        cmocka_unit_test(test_scc__csr_generic),
        cmocka_unit_test(test_scc__million_chain),
        cmocka_unit_test(test_scc__million_ring),
        cmocka_unit_test(test_scc__huge_fan_in),
        cmocka_unit_test(test_scc__data_cycles),
    };

    return cmocka_run_group_tests_name("scc", tests, NULL, NULL);
}
