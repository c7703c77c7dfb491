/*
 * test_dominators.c: unit tests of dominators.c and retained.c.  Immediate
 * dominators, retained sizes, per-type retained sizes, the dominator-tree
 * CSR and the accumulation point are checked against a brute-force oracle
 * (remove a node, see what the roots no longer reach) on thousands of
 * random graphs of several shapes; million-node chains, lists and fan-ins
 * prove that nothing recurses; the derived table is stored, reloaded,
 * invalidated and left alone on a read-only snapshot.
 */
#include "dominators.h"
#include "retained.h"
#include "test_util.h"

#include <sys/stat.h>

#define MAXN    64 /* oracle sets are uint64_t bitmasks */
#define MAXM    640
#define RG_MAXR 6

#include "test_rgraph.h"

#define NSHAPES 6 /* graph shapes of gen_graph() */

/* ---- random graphs ----------------------------------------------------- */

static void
add_edge(struct rgraph *rg, struct test_rng *r, uint32_t s, uint32_t d)
{
    static const uint8_t strong[] = { HS_EDGE_ITEM,    HS_EDGE_VALUE,
                                      HS_EDGE_ATTR,    HS_EDGE_KEY,
                                      HS_EDGE_ELEMENT, HS_EDGE_LOCAL,
                                      HS_EDGE_CELL,    HS_EDGE_CLOSURE,
                                      HS_EDGE_CLASS,   HS_EDGE_OTHER };

    if (rg->m >= MAXM)
        return;
    rg->src[rg->m] = s;
    rg->dst[rg->m] = d;
    rg->kind[rg->m] = test_rng_below(r, 100) < 15
                          ? HS_EDGE_WEAK
                          : strong[test_rng_below(r, sizeof(strong))];
    rg->m++;
}

/*
 * One random graph of shape `mode`: 0 random, 1 chains with skips and
 * back edges, 2 layered diamonds, 3 rings with chords, 4 an ownership tree
 * with back edges and cross references, 5 a strong spine with sparse
 * shortcuts (deep dominator chains).  Every shape gets self-loops,
 * parallel edges, weak edges, 0-4 roots of mixed kinds and, usually,
 * nodes nothing reaches.
 */
static void
gen_graph(struct test_rng *r, struct rgraph *rg, int mode)
{
    uint32_t n = 1 + test_rng_below(r, MAXN);

    memset(rg, 0, sizeof(*rg));
    rg->n = n;
    for (uint32_t v = 0; v < n; v++)
        rg->size[v] = test_rng_below(r, 10) ? 1 + test_rng_below(r, 1000) : 0;
    switch (mode) {
    case 0: {
        uint32_t m = test_rng_below(r, 4 * n + 1);

        for (uint32_t i = 0; i < m; i++)
            add_edge(rg, r, test_rng_below(r, n), test_rng_below(r, n));
        break;
    }
    case 1:
        for (uint32_t v = 0; v + 1 < n; v++) {
            if (test_rng_below(r, 20))
                add_edge(rg, r, v, v + 1);
            if (!test_rng_below(r, 6))
                add_edge(rg, r, v, test_rng_below(r, n));
            if (!test_rng_below(r, 8))
                add_edge(rg, r, v + 1, test_rng_below(r, v + 1));
        }
        break;
    case 2: {
        uint32_t w = 1 + test_rng_below(r, 4);

        for (uint32_t v = 0; v < n; v++) {
            uint32_t base = (v / w + 1) * w, k = 1 + test_rng_below(r, 2);

            for (uint32_t j = 0; j < k && base < n; j++)
                add_edge(rg, r, v,
                         base +
                             test_rng_below(r, base + w <= n ? w : n - base));
        }
        break;
    }
    case 3: {
        uint32_t start = 0;

        while (start < n) {
            uint32_t len = 1 + test_rng_below(r, n - start);

            for (uint32_t i = 0; i < len; i++)
                add_edge(rg, r, start + i, start + (i + 1) % len);
            if (test_rng_below(r, 2))
                for (uint32_t i = 0; i < len; i++)
                    add_edge(rg, r, start + (i + 1) % len, start + i);
            for (uint32_t c = test_rng_below(r, 4); c > 0; c--)
                add_edge(rg, r, test_rng_below(r, n), test_rng_below(r, n));
            start += len;
        }
        break;
    }
    case 5:
        /* Long dominator chains: a strong spine with sparse shortcuts. */
        for (uint32_t v = 0; v + 1 < n; v++) {
            add_edge(rg, r, v, v + 1);
            rg->kind[rg->m - 1] = HS_EDGE_ITEM;
            if (!test_rng_below(r, 10))
                add_edge(rg, r, v, v + 1 + test_rng_below(r, n - v - 1));
            if (!test_rng_below(r, 10))
                add_edge(rg, r, v + 1, test_rng_below(r, v + 1));
        }
        break;
    default:
        for (uint32_t v = 1; v < n; v++) {
            uint32_t p = test_rng_below(r, v);

            if (test_rng_below(r, 10))
                add_edge(rg, r, p, v);
            if (test_rng_below(r, 10) < 3)
                add_edge(rg, r, v, p);
            if (test_rng_below(r, 10) < 2)
                add_edge(rg, r, test_rng_below(r, n), test_rng_below(r, n));
        }
        break;
    }
    for (uint32_t c = test_rng_below(r, 3); c > 0; c--) {
        uint32_t v = test_rng_below(r, n);

        add_edge(rg, r, v, v);
    }
    for (uint32_t c = rg->m ? test_rng_below(r, 4) : 0; c > 0; c--) {
        uint32_t e = test_rng_below(r, rg->m);

        add_edge(rg, r, rg->src[e], rg->dst[e]);
    }
    rg->nroots = test_rng_below(r, 5);
    for (uint32_t i = 0; i < rg->nroots; i++) {
        rg->roots[i] =
            i == 0 && test_rng_below(r, 4) ? 0 : test_rng_below(r, n);
        rg->root_kind[i] = (uint8_t)test_rng_below(r, HS_ROOT_NKINDS);
    }
}

/* ---- the oracle -------------------------------------------------------- */

struct oracle {
    uint64_t reach;      /* nodes the roots reach */
    uint64_t dom[MAXN];  /* dom[v]: the nodes v dominates (v included) */
    uint32_t idom[MAXN]; /* nearest strict dominator or a sentinel */
    uint64_t retained[MAXN];
};

/* The nodes reached from the roots over retaining edges, never entering
 * `skip` (UINT32_MAX: none).  Plain BFS over the graph's CSR. */
static uint64_t
reach_without(const struct hs_graph *g, uint32_t skip)
{
    uint32_t queue[MAXN], head = 0, tail = 0;
    uint64_t seen = 0;

    for (uint32_t i = 0; i < g->nroots; i++) {
        uint32_t v = g->roots[i].node;

        if (v != skip && !(seen >> v & 1)) {
            seen |= 1ULL << v;
            queue[tail++] = v;
        }
    }
    while (head < tail) {
        uint32_t v = queue[head++];

        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            uint32_t t = g->out_dst[e];

            if (!hs_graph_retains(g, g->out_kind[e]) || t == skip ||
                (seen >> t & 1))
                continue;
            seen |= 1ULL << t;
            queue[tail++] = t;
        }
    }
    return seen;
}

static void
oracle_compute(const struct hs_graph *g, struct oracle *o)
{
    o->reach = reach_without(g, UINT32_MAX);
    for (uint32_t v = 0; v < g->n; v++) {
        o->dom[v] = (o->reach >> v & 1) ? o->reach & ~reach_without(g, v) : 0;
        o->retained[v] = 0;
        for (uint32_t w = 0; w < g->n; w++) {
            if (o->dom[v] >> w & 1)
                o->retained[v] += g->size[w];
        }
        if (!(o->reach >> v & 1))
            o->retained[v] = g->size[v];
    }
    for (uint32_t w = 0; w < g->n; w++) {
        int best = -1;

        if (!(o->reach >> w & 1)) {
            o->idom[w] = HS_DOM_UNREACHABLE;
            continue;
        }
        for (uint32_t d = 0; d < g->n; d++) {
            if (d == w || !(o->dom[d] >> w & 1))
                continue;
            if (best < 0 || __builtin_popcountll(o->dom[d]) <
                                __builtin_popcountll(o->dom[best]))
                best = (int)d;
        }
        o->idom[w] = best < 0 ? HS_DOM_ROOT : (uint32_t)best;
    }
}

/* Checks d against the oracle, node by node, with a message on failure. */
static void
check_against_oracle(const struct hs_graph *g, struct hs_dominators *d,
                     const struct oracle *o, uint64_t seed)
{
    uint64_t reach_bytes = 0, unreach_bytes = 0;
    uint32_t reach = 0;

    assert_int_equal(d->n, g->n);
    for (uint32_t v = 0; v < g->n; v++) {
        if (d->idom[v] != o->idom[v] || d->retained[v] != o->retained[v]) {
            fprintf(stderr,
                    "seed %llu node %u: idom %u (want %u), retained %llu "
                    "(want %llu)\n",
                    (unsigned long long)seed, v, d->idom[v], o->idom[v],
                    (unsigned long long)d->retained[v],
                    (unsigned long long)o->retained[v]);
            fail();
        }
        if (o->reach >> v & 1) {
            reach++;
            reach_bytes += g->size[v];
        } else {
            unreach_bytes += g->size[v];
        }
    }
    assert_int_equal(d->reachable, reach);
    assert_int_equal(d->unreachable, g->n - reach);
    assert_int_equal(d->reachable_bytes, reach_bytes);
    assert_int_equal(d->unreachable_bytes, unreach_bytes);
}

/* The CSR must list exactly the nodes whose idom is each slot, ascending. */
static void
check_children(struct hs_dominators *d)
{
    uint32_t total = 0;

    for (uint32_t s = 0; s <= d->n; s++) {
        uint32_t parent = s == d->n ? HS_DOM_ROOT : s;
        const uint32_t *kids;
        uint32_t k = hs_dominators_children(d, parent, &kids), seen = 0;

        for (uint32_t i = 0; i < k; i++) {
            assert_int_equal(d->idom[kids[i]], parent);
            if (i)
                assert_true(kids[i - 1] < kids[i]);
        }
        for (uint32_t v = 0; v < d->n; v++)
            seen += d->idom[v] == parent;
        assert_int_equal(k, seen);
        total += k;
    }
    assert_int_equal(total, d->reachable);
}

static void
test_dominators__random_vs_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 6000; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL };
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_dominators d;
        struct oracle o;

        gen_graph(&r, &rg, (int)(seed % NSHAPES));
        g = rgraph_build(&rg);
        oracle_compute(g, &o);
        hs_dominators_compute(g, &d);
        assert_int_equal(d.origin, HS_DOM_COMPUTED);
        check_against_oracle(g, &d, &o, seed);
        check_children(&d);
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* Gives g `nt` types named t0, t1, ... and assigns them at random. */
static void
random_types(struct hs_graph *g, struct test_rng *r, uint32_t nt)
{
    for (uint32_t i = 0; i < g->ntypes; i++)
        free(g->types[i].name);
    free(g->types);
    g->types = hs_xcalloc(nt, sizeof(*g->types));
    g->ntypes = nt;
    for (uint32_t t = 0; t < nt; t++)
        g->types[t].name = hs_xasprintf("t%u", t);
    for (uint32_t v = 0; v < g->n; v++) {
        g->type[v] = test_rng_below(r, nt);
        g->types[g->type[v]].count++;
    }
}

static void
test_dominators__type_retained_vs_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        struct test_rng r = { seed * 0xD1B54A32D192ED03ULL + 7 };
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_dominators d;
        struct oracle o;
        uint64_t *bytes, want[8] = { 0 };
        uint32_t nt = 1 + test_rng_below(&r, 5);

        gen_graph(&r, &rg, (int)(seed % NSHAPES));
        g = rgraph_build(&rg);
        random_types(g, &r, nt);
        oracle_compute(g, &o);
        for (uint32_t v = 0; v < g->n; v++) {
            int nested = 0;

            for (uint32_t u = 0; u < g->n; u++)
                nested |=
                    u != v && g->type[u] == g->type[v] && (o.dom[u] >> v & 1);
            if (!nested)
                want[g->type[v]] += o.retained[v];
        }
        hs_dominators_compute(g, &d);
        bytes = hs_dominators_type_retained(g, &d);
        for (uint32_t t = 0; t < nt; t++) {
            if (bytes[t] != want[t]) {
                fprintf(stderr, "seed %llu type %u: %llu, want %llu\n",
                        (unsigned long long)seed, t,
                        (unsigned long long)bytes[t],
                        (unsigned long long)want[t]);
                fail();
            }
        }
        free(bytes);
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* Outermost members of a random set: members no other member dominates,
 * against the oracle's dominator sets. */
static void
test_dominators__outermost_vs_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL + 11 };
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_dominators d;
        struct oracle o;
        uint8_t member[MAXN], out[MAXN];

        gen_graph(&r, &rg, (int)(seed % NSHAPES));
        g = rgraph_build(&rg);
        oracle_compute(g, &o);
        for (uint32_t v = 0; v < g->n; v++)
            member[v] = test_rng_below(&r, 3) == 0;
        hs_dominators_compute(g, &d);
        hs_dominators_outermost(&d, member, out);
        for (uint32_t v = 0; v < g->n; v++) {
            int nested = 0;

            for (uint32_t u = 0; u < g->n; u++)
                nested |= u != v && member[u] && (o.dom[u] >> v & 1);
            if (out[v] != (member[v] && !nested)) {
                fprintf(stderr, "seed %llu node %u: outermost %u, want %u\n",
                        (unsigned long long)seed, v, out[v],
                        member[v] && !nested);
                fail();
            }
        }
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* The same per group: outermost among the members of its own group, so a
 * group nested in another's members still counts its outermost ones. */
static void
test_dominators__outermost_by_group_vs_oracle(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 3000; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL + 17 };
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_dominators d;
        struct oracle o;
        uint32_t group[MAXN];
        uint8_t out[MAXN];

        gen_graph(&r, &rg, (int)(seed % NSHAPES));
        g = rgraph_build(&rg);
        oracle_compute(g, &o);
        for (uint32_t v = 0; v < g->n; v++)
            group[v] = test_rng_below(&r, 2) ? test_rng_below(&r, 3)
                                             : UINT32_MAX;
        hs_dominators_compute(g, &d);
        hs_dominators_outermost_by_group(&d, group, 3, out);
        for (uint32_t v = 0; v < g->n; v++) {
            int nested = 0;

            for (uint32_t u = 0; u < g->n; u++)
                nested |= u != v && group[u] == group[v] &&
                          group[u] != UINT32_MAX && (o.dom[u] >> v & 1);
            if (out[v] != (group[v] != UINT32_MAX && !nested)) {
                fprintf(stderr, "seed %llu node %u: outermost %u\n",
                        (unsigned long long)seed, v, out[v]);
                fail();
            }
        }
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* The walk of hs_dominators_accumulation_point() on the oracle's tree. */
static uint32_t
oracle_accumulation(const struct hs_graph *g, const struct oracle *o,
                    uint32_t v, double ratio)
{
    uint32_t cur = v;

    for (;;) {
        uint64_t total = 0;
        int best = -1;

        if (cur == HS_DOM_ROOT) {
            for (uint32_t w = 0; w < g->n; w++)
                total += (o->reach >> w & 1) ? g->size[w] : 0;
        } else {
            total = o->retained[cur];
        }
        if (!total)
            return cur;
        for (uint32_t w = 0; w < g->n; w++) {
            if (o->idom[w] == cur &&
                (best < 0 || o->retained[w] > o->retained[best]))
                best = (int)w;
        }
        if (best < 0 || (double)o->retained[best] < ratio * (double)total)
            return cur;
        cur = (uint32_t)best;
    }
}

static void
test_dominators__accumulation_vs_oracle(void **state)
{
    static const double ratios[] = { 0.5, 0.7, 0.8, 1.0 };

    (void)state;
    for (uint64_t seed = 1; seed <= 1500; seed++) {
        struct test_rng r = { seed * 0xA0761D6478BD642FULL + 3 };
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_dominators d;
        struct oracle o;

        gen_graph(&r, &rg, (int)(seed % NSHAPES));
        g = rgraph_build(&rg);
        oracle_compute(g, &o);
        hs_dominators_compute(g, &d);
        for (size_t k = 0; k < HS_ARRAY_SIZE(ratios); k++) {
            assert_int_equal(
                hs_dominators_accumulation_point(&d, HS_DOM_ROOT, ratios[k]),
                oracle_accumulation(g, &o, HS_DOM_ROOT, ratios[k]));
            for (uint32_t v = 0; v < g->n; v++)
                assert_int_equal(
                    hs_dominators_accumulation_point(&d, v, ratios[k]),
                    oracle_accumulation(g, &o, v, ratios[k]));
        }
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* ---- constructed cases ------------------------------------------------- */

/*
 * module (0) -> app (1) -> cache (2, a dict) -> 100 entries (3..102), each
 * holding a 10-byte payload (103..202); a small config (203) hangs off app
 * too.  The cache is where the bytes pile up.
 */
static void
test_dominators__accumulation_point_cache(void **state)
{
    uint32_t src[256], dst[256], n = 204, m = 0;
    uint64_t size[204];
    const uint32_t roots[] = { 0 };
    struct hs_graph_spec spec;
    struct hs_graph *g;
    struct hs_dominators d;

    (void)state;
    for (uint32_t v = 0; v < n; v++)
        size[v] = v >= 103 && v < 203 ? 10 : 1;
    src[m] = 0, dst[m++] = 1;
    src[m] = 1, dst[m++] = 2;
    src[m] = 1, dst[m++] = 203;
    for (uint32_t i = 0; i < 100; i++) {
        src[m] = 2, dst[m++] = 3 + i;
        src[m] = 3 + i, dst[m++] = 103 + i;
    }
    spec =
        (struct hs_graph_spec){ n, m, src, dst, NULL, size, roots, NULL, 1 };
    g = hs_graph_build(&spec);
    hs_dominators_compute(g, &d);
    assert_int_equal(d.retained[0], 1 + 1 + 1 + 1 + 100 * 11);
    assert_int_equal(d.retained[2], 1 + 100 * 11);
    assert_int_equal(hs_dominators_accumulation_point(&d, 0, 0.8), 2);
    assert_int_equal(hs_dominators_accumulation_point(&d, HS_DOM_ROOT, 0.8),
                     2);
    /* An entry holds 11 of 1101 bytes: no single child dominates. */
    assert_int_equal(hs_dominators_accumulation_point(&d, 2, 0.8), 2);
    /* Within an entry the payload holds 10/11 >= 0.8. */
    assert_int_equal(hs_dominators_accumulation_point(&d, 3, 0.8), 103);
    assert_int_equal(hs_dominators_accumulation_point(&d, 3, 0.95), 3);
    /* A leaf, and an out-of-range node, stay where they are. */
    assert_int_equal(hs_dominators_accumulation_point(&d, 203, 0.8), 203);
    assert_int_equal(hs_dominators_accumulation_point(&d, 9999, 0.8), 9999);
    hs_dominators_release(&d);
    hs_graph_free(g);
}

/* root -> a; a -weak-> b; b <-> c: b and c are garbage, kept apart. */
static void
test_dominators__weak_only_is_unreachable(void **state)
{
    const uint32_t src[] = { 0, 1, 2, 3 }, dst[] = { 1, 2, 3, 2 };
    const uint8_t kind[] = { HS_EDGE_ATTR, HS_EDGE_WEAK, HS_EDGE_ATTR,
                             HS_EDGE_ATTR };
    const uint64_t size[] = { 1, 2, 4, 8 };
    const uint32_t roots[] = { 0 };
    struct hs_graph_spec spec = { 4, 4, src, dst, kind, size, roots, NULL, 1 };
    struct hs_graph *g = hs_graph_build(&spec);
    struct hs_dominators d;
    const uint32_t *kids;

    (void)state;
    hs_dominators_compute(g, &d);
    assert_int_equal(d.idom[0], HS_DOM_ROOT);
    assert_int_equal(d.idom[1], 0);
    assert_int_equal(d.idom[2], HS_DOM_UNREACHABLE);
    assert_int_equal(d.idom[3], HS_DOM_UNREACHABLE);
    assert_int_equal(d.retained[0], 3);
    assert_int_equal(d.retained[2], 4);
    assert_int_equal(d.retained[3], 8);
    assert_int_equal(d.reachable, 2);
    assert_int_equal(d.reachable_bytes, 3);
    assert_int_equal(d.unreachable, 2);
    assert_int_equal(d.unreachable_bytes, 12);
    assert_int_equal(hs_dominators_children(&d, 2, &kids), 0);
    assert_int_equal(hs_dominators_children(&d, HS_DOM_UNREACHABLE, &kids), 0);
    assert_null(kids);
    hs_dominators_release(&d);
    hs_graph_free(g);
}

/* ---- a million nodes: no recursion anywhere ---------------------------- */

#define BIG 1000000u

struct big {
    uint32_t *src, *dst;
    uint32_t m;
};

static void
big_init(struct big *b, uint32_t max_edges)
{
    b->src = hs_xmalloc(hs_st_mult(max_edges, sizeof(uint32_t)));
    b->dst = hs_xmalloc(hs_st_mult(max_edges, sizeof(uint32_t)));
    b->m = 0;
}

static void
big_edge(struct big *b, uint32_t s, uint32_t d)
{
    b->src[b->m] = s;
    b->dst[b->m++] = d;
}

static struct hs_graph *
big_build(struct big *b, uint32_t n, const uint32_t *roots, uint32_t nroots)
{
    struct hs_graph_spec spec = { n,    b->m,  b->src, b->dst, NULL,
                                  NULL, roots, NULL,   nroots };
    struct hs_graph *g = hs_graph_build(&spec);

    free(b->src);
    free(b->dst);
    return g;
}

static void
test_dominators__chain_1m(void **state)
{
    const uint32_t roots[] = { 0 };
    struct big b;
    struct hs_graph *g;
    struct hs_dominators d;
    uint64_t *bytes;
    const uint32_t *kids;

    (void)state;
    big_init(&b, BIG);
    for (uint32_t v = 0; v + 1 < BIG; v++)
        big_edge(&b, v, v + 1);
    g = big_build(&b, BIG, roots, 1);
    hs_dominators_compute(g, &d);
    assert_int_equal(d.idom[0], HS_DOM_ROOT);
    for (uint32_t v = 1; v < BIG; v++) {
        if (d.idom[v] != v - 1 || d.retained[v] != BIG - v)
            fail_msg("node %u: idom %u retained %llu", v, d.idom[v],
                     (unsigned long long)d.retained[v]);
    }
    assert_int_equal(d.retained[0], BIG);
    /* Each step keeps (R - 1) / R of the bytes until R = 4. */
    assert_int_equal(hs_dominators_accumulation_point(&d, 0, 0.8), BIG - 4);
    assert_int_equal(hs_dominators_children(&d, 17, &kids), 1);
    assert_int_equal(kids[0], 18);
    bytes = hs_dominators_type_retained(g, &d);
    assert_int_equal(bytes[0], BIG); /* every other node is nested */
    free(bytes);
    hs_dominators_release(&d);
    hs_graph_free(g);
}

/*
 * A doubly linked list head -> ... -> tail with prev pointers: every node is
 * dominated by its predecessor.  Then the circular LRU shape: a sentinel
 * holds both ends and each node is reachable both ways round, so the
 * sentinel is everyone's idom.
 */
static void
test_dominators__doubly_linked_1m(void **state)
{
    const uint32_t roots[] = { 0 }, sroots[] = { BIG };
    struct big b;
    struct hs_graph *g;
    struct hs_dominators d;

    (void)state;
    big_init(&b, 2 * BIG);
    for (uint32_t v = 0; v + 1 < BIG; v++) {
        big_edge(&b, v, v + 1);
        big_edge(&b, v + 1, v);
    }
    g = big_build(&b, BIG, roots, 1);
    hs_dominators_compute(g, &d);
    for (uint32_t v = 1; v < BIG; v++) {
        if (d.idom[v] != v - 1 || d.retained[v] != BIG - v)
            fail_msg("list node %u: idom %u retained %llu", v, d.idom[v],
                     (unsigned long long)d.retained[v]);
    }
    hs_dominators_release(&d);
    hs_graph_free(g);

    big_init(&b, 2 * BIG + 4);
    big_edge(&b, BIG, 0);
    big_edge(&b, BIG, BIG - 1);
    big_edge(&b, 0, BIG);
    big_edge(&b, BIG - 1, BIG);
    for (uint32_t v = 0; v + 1 < BIG; v++) {
        big_edge(&b, v, v + 1);
        big_edge(&b, v + 1, v);
    }
    g = big_build(&b, BIG + 1, sroots, 1);
    hs_dominators_compute(g, &d);
    assert_int_equal(d.idom[BIG], HS_DOM_ROOT);
    assert_int_equal(d.retained[BIG], BIG + 1);
    for (uint32_t v = 0; v < BIG; v++) {
        if (d.idom[v] != BIG || d.retained[v] != 1)
            fail_msg("ring node %u: idom %u retained %llu", v, d.idom[v],
                     (unsigned long long)d.retained[v]);
    }
    /* The sentinel is where the list's bytes fan out. */
    assert_int_equal(hs_dominators_accumulation_point(&d, HS_DOM_ROOT, 0.8),
                     BIG);
    hs_dominators_release(&d);
    hs_graph_free(g);
}

/*
 * A chain c_0 .. c_{k-1} below object r, each link owning an item x_i that
 * r also references directly (r's edge to the chain comes first, so the
 * DFS reaches every x_i through its link).  idom(x_i) = r, found by
 * walking up from c_i: one idom at a time that is k^2 / 2 steps (plain
 * Semi-NCA would not finish here), with jump pointers O(k log k).
 */
static void
test_dominators__chain_with_shortcuts_1m(void **state)
{
    const uint32_t k = BIG / 2, r = 2 * k; /* c_i = i, x_i = k + i */
    const uint32_t roots[] = { 2 * (BIG / 2) };
    struct big b;
    struct hs_graph *g;
    struct hs_dominators d;

    (void)state;
    big_init(&b, 3 * k + 1);
    big_edge(&b, r, 0);
    for (uint32_t i = 0; i < k; i++) {
        if (i + 1 < k)
            big_edge(&b, i, i + 1);
        big_edge(&b, i, k + i);
        big_edge(&b, r, k + i);
    }
    g = big_build(&b, 2 * k + 1, roots, 1);
    hs_dominators_compute(g, &d);
    assert_int_equal(d.idom[r], HS_DOM_ROOT);
    assert_int_equal(d.retained[r], 2 * k + 1);
    for (uint32_t i = 0; i < k; i++) {
        if (d.idom[i] != (i ? i - 1 : r) || d.retained[i] != k - i ||
            d.idom[k + i] != r || d.retained[k + i] != 1)
            fail_msg("link %u: idom %u retained %llu; item idom %u", i,
                     d.idom[i], (unsigned long long)d.retained[i],
                     d.idom[k + i]);
    }
    hs_dominators_release(&d);
    hs_graph_free(g);
}

/*
 * Huge fan-in: container c (0) holds a million items (1..BIG), each of
 * which references one shared hub (BIG + 1).  Every path to the hub goes
 * through c; once one item is also a root, only the roots dominate it.
 */
static void
test_dominators__fan_in_1m(void **state)
{
    uint32_t roots[] = { 0, 5 };
    uint32_t hub = BIG + 1;
    struct big b;
    struct hs_graph *g;
    struct hs_dominators d;
    const uint32_t *kids;

    (void)state;
    for (uint32_t nroots = 1; nroots <= 2; nroots++) {
        big_init(&b, 2 * BIG);
        for (uint32_t v = 1; v <= BIG; v++) {
            big_edge(&b, 0, v);
            big_edge(&b, v, hub);
        }
        g = big_build(&b, BIG + 2, roots, nroots);
        hs_dominators_compute(g, &d);
        assert_int_equal(d.idom[hub], nroots == 1 ? 0 : HS_DOM_ROOT);
        assert_int_equal(d.idom[5], nroots == 1 ? 0 : HS_DOM_ROOT);
        assert_int_equal(d.idom[6], 0);
        assert_int_equal(d.retained[0], nroots == 1 ? BIG + 2 : BIG);
        assert_int_equal(d.retained[7], 1);
        assert_int_equal(hs_dominators_children(&d, 0, &kids),
                         nroots == 1 ? BIG + 1 : BIG - 1);
        hs_dominators_release(&d);
        hs_graph_free(g);
    }
}

/* ---- the derived table ------------------------------------------------- */

/* A snapshot file holding rg: one type (object 1), objects 1..n. */
static char *
snapshot_of(const struct rgraph *rg)
{
    struct hs_buf sql = HS_BUF_INIT;
    char *path;

    /* One transaction: a commit per row would mean an fsync per row. */
    hs_buf_adds(&sql, "BEGIN; INSERT INTO types VALUES (1, 'object', "
                      "'builtins', 'object', 16);");
    for (uint32_t v = 0; v < rg->n; v++)
        hs_buf_addf(&sql,
                    "INSERT INTO objects VALUES (%u, %u, 1, %llu, 1, NULL, "
                    "NULL, 0);",
                    v + 1, 4096 + 16 * v, (unsigned long long)rg->size[v]);
    for (uint32_t e = 0; e < rg->m; e++)
        hs_buf_addf(&sql, "INSERT INTO edge_list VALUES (%u, %u, %u, NULL);",
                    rg->src[e] + 1, rg->dst[e] + 1, rg->kind[e]);
    for (uint32_t i = 0; i < rg->nroots; i++)
        hs_buf_addf(&sql,
                    "INSERT INTO roots VALUES (%u, '%s', NULL, NULL, NULL);",
                    rg->roots[i] + 1,
                    hs_root_kind_name((enum hs_root_kind)rg->root_kind[i]));
    hs_buf_adds(&sql, "COMMIT;");
    path = test_snapshot_file(sql.buf);
    hs_buf_release(&sql);
    return path;
}

/* A random graph with at least a few reachable and unreachable nodes. */
static void
storage_graph(struct rgraph *rg, uint64_t seed)
{
    struct test_rng r = { seed };

    do {
        gen_graph(&r, rg, 4);
    } while (rg->n < 20 || rg->nroots == 0);
}

static void
assert_same(const struct hs_dominators *a, const struct hs_dominators *b)
{
    assert_int_equal(a->n, b->n);
    assert_memory_equal(a->idom, b->idom, a->n * sizeof(uint32_t));
    assert_memory_equal(a->retained, b->retained, a->n * sizeof(uint64_t));
    assert_int_equal(a->reachable, b->reachable);
    assert_int_equal(a->reachable_bytes, b->reachable_bytes);
    assert_int_equal(a->unreachable, b->unreachable);
    assert_int_equal(a->unreachable_bytes, b->unreachable_bytes);
}

/* Opens path, loads the graph, runs hs_retained_get, checks it against a
 * fresh computation, and returns the origin. */
static enum hs_dom_origin
get_and_check(const char *path, unsigned flags)
{
    struct hs_snapshot *s = hs_snapshot_open(path, flags);
    struct hs_graph *g;
    struct hs_dominators got, want;
    enum hs_dom_origin origin;

    assert_non_null(s);
    g = hs_graph_load(s);
    assert_non_null(g);
    assert_int_equal(hs_retained_get(g, &got), 0);
    hs_dominators_compute(g, &want);
    assert_same(&got, &want);
    origin = got.origin;
    hs_dominators_release(&got);
    hs_dominators_release(&want);
    hs_graph_free(g);
    hs_snapshot_close(s);
    return origin;
}

static void
test_dominators__store_and_reload(void **state)
{
    struct rgraph rg;
    char *path;
    struct hs_snapshot *s;
    char *meta;
    int64_t want_rows;

    (void)state;
    storage_graph(&rg, 42);
    path = snapshot_of(&rg);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    /* Read back, even through a read-only connection. */
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_LOADED);
    assert_int_equal(get_and_check(path, HS_SNAP_READONLY), HS_DOM_LOADED);

    /* Plain SQL sees the same answers. */
    s = hs_snapshot_open(path, HS_SNAP_READONLY);
    assert_non_null(s);
    assert_true(hs_snapshot_has_table(s, "retained"));
    want_rows = rg.n;
    assert_int_equal(hs_snapshot_int(s, "SELECT count(*) FROM retained", -1),
                     want_rows);
    assert_int_equal(
        hs_snapshot_int(s,
                        "SELECT count(*) FROM retained r JOIN objects o "
                        "ON o.id = r.object_id WHERE r.idom = 0 AND "
                        "r.retained_size != o.size",
                        -1),
        0);
    assert_int_equal(
        hs_snapshot_int(s,
                        "SELECT count(*) FROM retained r JOIN retained p "
                        "ON p.object_id = r.idom WHERE p.retained_size < "
                        "r.retained_size",
                        -1),
        0);
    meta = hs_snapshot_meta(s, "derived_retained");
    assert_non_null(meta);
    assert_non_null(strstr(meta, "\"format\":1,"));
    assert_non_null(strstr(meta, "\"algorithm\":\"semi-nca\""));
    free(meta);
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

/* Runs `sql` on the snapshot at path through a writable connection. */
static void
exec_on(const char *path, const char *sql)
{
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_DERIVED);

    assert_non_null(s);
    assert_int_equal(hs_snapshot_exec(s, sql), 0);
    hs_snapshot_close(s);
}

static void
test_dominators__stale_table_is_recomputed(void **state)
{
    struct rgraph rg;
    char *path;
    char sql[128];

    (void)state;
    storage_graph(&rg, 7);
    path = snapshot_of(&rg);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);

    /* A new reference changes the graph: the table no longer applies. */
    snprintf(sql, sizeof(sql),
             "INSERT INTO edge_list VALUES (%u, %u, 2, "
             "NULL)",
             rg.roots[0] + 1, rg.n);
    exec_on(path, sql);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_LOADED);

    /* A missing row, a dominator out of range, an object dominating
     * itself, sizes that do not add up, a meta row of another format:
     * each is recomputed. */
    exec_on(path, "DELETE FROM retained WHERE object_id = 3");
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    exec_on(path, "UPDATE retained SET idom = 100000 WHERE object_id = 2");
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    exec_on(path, "UPDATE retained SET idom = 2 WHERE object_id = 2");
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    exec_on(path, "UPDATE retained SET retained_size = retained_size + 1 "
                  "WHERE object_id = 4");
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    exec_on(path, "UPDATE meta SET value = replace(value, '\"format\":1,', "
                  "'\"format\":99,') WHERE key = 'derived_retained'");
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_LOADED);
    unlink(path);
    free(path);
}

/*
 * Tables whose sizes add up but whose idoms are not a tree: a cycle, and
 * an object hanging off an unreachable one.  Later walks down the tree
 * would loop or misreport, so both are recomputed.
 */
static void
test_dominators__damaged_tree_is_recomputed(void **state)
{
    static const char *const tamper[] = {
        "DELETE FROM retained; INSERT INTO retained VALUES (1, NULL, 15),"
        " (2, 3, 7), (3, 2, 7), (4, 1, 5)",
        "DELETE FROM retained; INSERT INTO retained VALUES (1, NULL, 15),"
        " (2, 0, 0), (3, 2, 0), (4, 1, 5)",
    };

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(tamper); i++) {
        char *path = test_snapshot_file(
            "INSERT INTO types VALUES (1, 'object', 'builtins', 'object', "
            "16);"
            "INSERT INTO objects VALUES (1, 16, 1, 10, 1, NULL, NULL, 0),"
            " (2, 32, 1, 0, 1, NULL, NULL, 0), (3, 48, 1, 0, 1, NULL, NULL, "
            "0), (4, 64, 1, 5, 1, NULL, NULL, 0);"
            "INSERT INTO edge_list VALUES (1, 2, 2, NULL), (1, 4, 2, NULL),"
            " (2, 3, 2, NULL);"
            "INSERT INTO roots VALUES (1, 'module', 'm', NULL, NULL);");

        assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
        assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_LOADED);
        exec_on(path, tamper[i]);
        assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_STORED);
        assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_LOADED);
        unlink(path);
        free(path);
    }
}

static void
test_dominators__read_only_computes_in_memory(void **state)
{
    struct rgraph rg;
    char *path;
    struct hs_snapshot *s;

    (void)state;
    storage_graph(&rg, 99);
    path = snapshot_of(&rg);
    assert_int_equal(chmod(path, 0444), 0);
    s = hs_snapshot_open(path, HS_SNAP_DERIVED);
    assert_non_null(s);
    assert_false(hs_snapshot_writable(s));
    hs_snapshot_close(s);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_COMPUTED);
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_COMPUTED);
    s = hs_snapshot_open(path, HS_SNAP_READONLY);
    assert_false(hs_snapshot_has_table(s, "retained"));
    assert_null(hs_snapshot_meta(s, "derived_retained"));
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

/* Another process holds the write lock: storing fails after the busy
 * timeout (lowered here) with a warning only, the result is still there,
 * the file is unchanged. */
static void
test_dominators__store_failure_keeps_result(void **state)
{
    struct rgraph rg;
    char *path;
    sqlite3 *other;
    struct hs_snapshot *s;

    (void)state;
    storage_graph(&rg, 5);
    path = snapshot_of(&rg);
    assert_int_equal(sqlite3_open(path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL),
                     SQLITE_OK);
    hs_snapshot_busy_ms = 100;
    hs_error_reset();
    assert_int_equal(get_and_check(path, HS_SNAP_DERIVED), HS_DOM_COMPUTED);
    /* Storing is optional: a warning, no error recorded (hs_error_status()
     * falls back to HS_EXIT_INTERNAL only when nothing was recorded). */
    assert_int_equal(hs_error_status(), HS_EXIT_INTERNAL);
    hs_error_reset();
    hs_snapshot_busy_ms = 600000;
    sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL);
    sqlite3_close(other);
    s = hs_snapshot_open(path, HS_SNAP_READONLY);
    assert_false(hs_snapshot_has_table(s, "retained"));
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

static void
test_dominators__derived_section(void **state)
{
    char *ddl = hs_derived_section("retained");

    (void)state;
    assert_non_null(ddl);
    assert_true(!strncmp(ddl, "-- derived: retained\n", 21));
    assert_non_null(strstr(ddl, "CREATE TABLE retained ("));
    assert_null(strstr(ddl + 1, "-- derived: "));
    free(ddl);
    assert_null(hs_derived_section("retain"));
    assert_null(hs_derived_section("nothing"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dominators__random_vs_oracle),
        cmocka_unit_test(test_dominators__type_retained_vs_oracle),
        cmocka_unit_test(test_dominators__outermost_vs_oracle),
        cmocka_unit_test(test_dominators__outermost_by_group_vs_oracle),
        cmocka_unit_test(test_dominators__accumulation_vs_oracle),
        cmocka_unit_test(test_dominators__accumulation_point_cache),
        cmocka_unit_test(test_dominators__weak_only_is_unreachable),
        cmocka_unit_test(test_dominators__chain_1m),
        cmocka_unit_test(test_dominators__doubly_linked_1m),
        cmocka_unit_test(test_dominators__chain_with_shortcuts_1m),
        cmocka_unit_test(test_dominators__fan_in_1m),
        cmocka_unit_test(test_dominators__store_and_reload),
        cmocka_unit_test(test_dominators__stale_table_is_recomputed),
        cmocka_unit_test(test_dominators__damaged_tree_is_recomputed),
        cmocka_unit_test(test_dominators__read_only_computes_in_memory),
        cmocka_unit_test(test_dominators__store_failure_keeps_result),
        cmocka_unit_test(test_dominators__derived_section),
    };

    return cmocka_run_group_tests_name("dominators", tests, NULL, NULL);
}
