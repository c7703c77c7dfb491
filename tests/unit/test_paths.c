/*
 * test_paths.c: unit tests of paths.c.  The layered BFS, the grouping of
 * paths by shape and the explanation of unreachable objects are each
 * checked against a brute-force oracle on thousands of random graphs
 * (weak, parallel and self-loop edges, roots of every class, unreachable
 * parts, large dicts); edge names are checked once more through real
 * snapshot files.  Million-node chains and rings and a node with 500,000
 * referrers prove that nothing recurses; a heap-like graph of a million
 * objects prints the BFS and grouping times as TAP comments.
 */
#include "paths.h"
#include "scc.h"
#include "progress.h"
#include "test_util.h"

/* ---- random graphs ------------------------------------------------------- */

#define MAXN 64 /* the oracles keep node sets as one uint64_t */
#define MAXM 512

#include "test_rgraph.h"

static void
random_graph(struct test_rng *r, struct rgraph *rg)
{
    rg->n = 1 + test_rng_below(r, 60);
    rg->m = test_rng_below(r, 3 * rg->n + 1);
    test_random_edges(r, rg->n, rg->m, rg->src, rg->dst, rg->kind,
                      HS_EDGE_WEAK, 6, 12);
    /* Now and then a dict big enough to count as a collection, or one
     * just at the limit. */
    if (test_rng_below(r, 3) == 0) {
        uint32_t d = test_rng_below(r, rg->n);
        uint32_t extra = HS_PATHS_RECORD_MAX - 2 + test_rng_below(r, 8);

        for (uint32_t i = 0; i < extra && rg->m < MAXM; i++) {
            rg->src[rg->m] = d;
            rg->dst[rg->m] = test_rng_below(r, rg->n);
            rg->kind[rg->m++] = i % 2 ? HS_EDGE_VALUE : HS_EDGE_KEY;
        }
    }
    rgraph_random_sizes_roots(r, rg, 7);
}

/* Random types (0 .. 3) and __del__ flags; names 1 .. 3 per edge. */
static void
random_labels(struct test_rng *r, struct hs_graph *g, uint32_t *arg)
{
    for (uint32_t v = 0; v < g->n; v++) {
        g->type[v] = test_rng_below(r, 4);
        g->flags[v] = test_rng_below(r, 6) == 0 ? HS_OBJ_HAS_DEL : 0;
    }
    for (uint32_t e = 0; e < g->m; e++)
        arg[e] = 1 + test_rng_below(r, 3);
}

/* ---- the BFS oracle ------------------------------------------------------- */

/* Independent of hs_root_class(): the classes as the brief states them. */
static int
oracle_root_class(uint8_t kind)
{
    if (kind == HS_ROOT_MODULE || kind == HS_ROOT_FRAME ||
        kind == HS_ROOT_THREAD)
        return 0;
    return kind == HS_ROOT_EXTERNAL ? 2 : 1;
}

static int
retains(uint8_t kind)
{
    return kind != HS_EDGE_WEAK;
}

/* The source of edge e by a linear scan. */
static uint32_t
oracle_src(const struct hs_graph *g, uint32_t e)
{
    uint32_t v = 0;

    while (g->out_off[v + 1] <= e)
        v++;
    return v;
}

/*
 * For every node: its best class (-1: unreachable), its distance in that
 * class, and its lexicographically smallest shortest path there as
 * (root index, edge, edge, ...), computed layer by layer from plain BFS
 * distances of each class over the whole graph.
 */
struct oracle {
    int cls[MAXN];
    uint32_t dist[MAXN];
    uint32_t seq[MAXN][MAXN + 1]; /* seq[v][0] is the root index */
    uint64_t reached;             /* bit v: some root reaches v */
};

/* Is a[0 .. len) lexicographically before b[0 .. len)? */
static int
seq_less(const uint32_t *a, const uint32_t *b, uint32_t len)
{
    for (uint32_t k = 0; k < len; k++) {
        if (a[k] != b[k])
            return a[k] < b[k];
    }
    return 0;
}

static void
oracle_bfs(const struct hs_graph *g, struct oracle *o)
{
    memset(o, 0, sizeof(*o));
    for (uint32_t v = 0; v < g->n; v++)
        o->cls[v] = -1;
    for (int c = 2; c >= 0; c--) {
        uint32_t d[MAXN], queue[MAXN], head = 0, tail = 0;

        for (uint32_t v = 0; v < g->n; v++)
            d[v] = UINT32_MAX;
        for (uint32_t i = 0; i < g->nroots; i++) {
            uint32_t v = g->roots[i].node;

            if (oracle_root_class(g->roots[i].kind) == c &&
                d[v] == UINT32_MAX) {
                d[v] = 0;
                queue[tail++] = v;
            }
        }
        while (head < tail) {
            uint32_t u = queue[head++];

            for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
                uint32_t w = g->out_dst[e];

                if (retains(g->out_kind[e]) && d[w] == UINT32_MAX) {
                    d[w] = d[u] + 1;
                    queue[tail++] = w;
                }
            }
        }
        /* Classes run from worst to best, so the best one wins. */
        for (uint32_t v = 0; v < g->n; v++) {
            if (d[v] != UINT32_MAX) {
                o->cls[v] = c;
                o->dist[v] = d[v];
            }
        }
    }
    /* Smallest paths, layer by layer, within each node's best class. */
    for (uint32_t layer = 0; layer <= MAXN; layer++) {
        for (uint32_t v = 0; v < g->n; v++) {
            int have = 0;

            if (o->cls[v] < 0 || o->dist[v] != layer)
                continue;
            o->reached |= 1ULL << v;
            if (layer == 0) {
                for (uint32_t i = 0; i < g->nroots && !have; i++) {
                    if (g->roots[i].node == v &&
                        oracle_root_class(g->roots[i].kind) == o->cls[v]) {
                        o->seq[v][0] = i;
                        have = 1;
                    }
                }
                assert_true(have);
                continue;
            }
            for (uint32_t e = 0; e < g->m; e++) {
                uint32_t u = oracle_src(g, e);
                uint32_t cand[MAXN + 1];

                if (g->out_dst[e] != v || !retains(g->out_kind[e]) ||
                    o->cls[u] != o->cls[v] || o->dist[u] != layer - 1)
                    continue;
                memcpy(cand, o->seq[u], layer * sizeof(uint32_t));
                cand[layer] = e;
                if (!have || seq_less(cand, o->seq[v], layer + 1))
                    memcpy(o->seq[v], cand, (layer + 1) * sizeof(uint32_t));
                have = 1;
            }
            assert_true(have);
        }
    }
}

static void
check_bfs(const struct hs_graph *g, const struct hs_bfs *b,
          const struct oracle *o)
{
    uint32_t per_class[3] = { 0, 0, 0 };
    uint32_t path[MAXN];

    assert_int_equal(b->n, g->n);
    for (uint32_t v = 0; v < g->n; v++) {
        if (o->cls[v] < 0) {
            assert_false(hs_bfs_reached(b, v));
            assert_int_equal(b->dist[v], HS_BFS_NONE);
            assert_int_equal(b->root[v], HS_BFS_NONE);
            assert_int_equal(b->parent_edge[v], HS_BFS_NONE);
            assert_int_equal(hs_bfs_class(g, b, v), -1);
            continue;
        }
        per_class[o->cls[v]]++;
        assert_true(hs_bfs_reached(b, v));
        assert_int_equal(hs_bfs_class(g, b, v), o->cls[v]);
        assert_int_equal(b->dist[v], o->dist[v]);
        assert_int_equal(b->root[v], o->seq[v][0]);
        assert_int_equal(hs_bfs_path(g, b, v, path), o->seq[v][0]);
        /* A valid path of retaining edges from the root to v ... */
        for (uint32_t k = 0; k < o->dist[v]; k++) {
            uint32_t e = path[k];

            assert_true(e < g->m);
            assert_true(retains(g->out_kind[e]));
            assert_int_equal(oracle_src(g, e), k ? g->out_dst[path[k - 1]]
                                                 : g->roots[b->root[v]].node);
        }
        if (o->dist[v]) {
            assert_int_equal(g->out_dst[path[o->dist[v] - 1]], v);
            assert_int_equal(b->parent_edge[v], path[o->dist[v] - 1]);
        } else {
            assert_int_equal(g->roots[b->root[v]].node, v);
            assert_int_equal(b->parent_edge[v], HS_BFS_NONE);
        }
        /* ... and the smallest of the shortest ones. */
        assert_memory_equal(path, &o->seq[v][1],
                            o->dist[v] * sizeof(uint32_t));
    }
    for (int c = 0; c < 3; c++)
        assert_int_equal(b->nreached[c], per_class[c]);
}

/* ---- the grouping oracle -------------------------------------------------- */

/*
 * Appends one step (kind, wild, arg, type) to the n steps at `steps` (4
 * words each) the way shapes fold: at a wild position the type is "any"
 * (HS_PATHS_ANY) unless the step is the target's own (`final`), and when
 * the last 2k steps (k = 1 .. HS_PATHS_PERIOD, smallest first) are two
 * copies of one segment, the second copy goes; a final step never folds.
 * Returns the new count.
 */
static uint32_t
fold_step(uint32_t *steps, uint32_t n, const uint32_t step[4], int final)
{
    uint32_t cur[4] = { step[0], step[1], step[2], step[3] };

    if (cur[1] && !final)
        cur[3] = HS_PATHS_ANY;
    memcpy(&steps[4 * n++], cur, sizeof(cur));
    if (final)
        return n;
    for (uint32_t k = 1; k <= HS_PATHS_PERIOD && 2 * k <= n; k++) {
        if (!memcmp(&steps[4 * (n - 2 * k)], &steps[4 * (n - k)],
                    4 * k * sizeof(uint32_t)))
            return n - k;
    }
    return n;
}

/* A shape as plain numbers: root kind, root type, the module (for module
 * roots), then 4 per step. */
struct oshape {
    uint32_t len;
    uint32_t w[3 + 4 * MAXN];
};

static void
oracle_shape(const struct hs_graph *g, const struct oracle *o,
             const uint32_t *arg, uint32_t v, struct oshape *s)
{
    const struct hs_root *root = &g->roots[o->seq[v][0]];

    s->len = 0;
    s->w[s->len++] = root->kind;
    s->w[s->len++] = g->type[root->node];
    s->w[s->len++] = root->kind == HS_ROOT_MODULE ? root->node : UINT32_MAX;
    for (uint32_t k = 1; k <= o->dist[v]; k++) {
        uint32_t e = o->seq[v][k], u = oracle_src(g, e);
        uint8_t kind = g->out_kind[e];
        int wild =
            kind == HS_EDGE_ITEM || kind == HS_EDGE_OTHER ||
            (kind == HS_EDGE_VALUE && g->out_off[u + 1] - g->out_off[u] > 64);
        int named = kind == HS_EDGE_VALUE || kind == HS_EDGE_ATTR ||
                    kind == HS_EDGE_KEY || kind == HS_EDGE_LOCAL ||
                    kind == HS_EDGE_CLOSURE;

        uint32_t step[4] = { kind, (uint32_t)wild,
                             named && !wild && arg ? arg[e] : 0,
                             g->type[g->out_dst[e]] };

        s->len = 3 + 4 * fold_step(&s->w[3], (s->len - 3) / 4, step,
                                   k == o->dist[v] && wild);
    }
}

struct ogroup {
    struct oshape shape;
    int unreachable;
    uint32_t count, example;
    uint64_t bytes;
};

static int
ogroup_before(const struct ogroup *a, const struct ogroup *b)
{
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes;
    if (a->count != b->count)
        return a->count > b->count;
    return a->example < b->example;
}

static void
check_groups(const struct hs_graph *g, const struct oracle *o,
             const uint32_t *arg, const uint32_t *targets, uint32_t nt,
             const struct hs_path_groups *pg)
{
    struct ogroup *og = calloc(nt + 1, sizeof(*og));
    struct hs_path_step steps[MAXN];
    uint32_t *gid = calloc(nt + 1, sizeof(*gid)), ng = 0;

    for (uint32_t i = 0; i < nt; i++) {
        uint32_t v = targets[i], j;
        struct oshape s;
        int unreachable = o->cls[v] < 0;

        if (!unreachable)
            oracle_shape(g, o, arg, v, &s);
        for (j = 0; j < ng; j++) {
            if (og[j].unreachable != unreachable)
                continue;
            if (unreachable ||
                (og[j].shape.len == s.len &&
                 !memcmp(og[j].shape.w, s.w, s.len * sizeof(uint32_t))))
                break;
        }
        if (j == ng) {
            og[ng].unreachable = unreachable;
            if (!unreachable)
                og[ng].shape = s;
            og[ng++].example = v;
        }
        og[j].count++;
        og[j].bytes += g->size[v];
        if (v < og[j].example)
            og[j].example = v;
        gid[i] = j;
    }
    /* Selection sort by the documented order, remembering the moves. */
    {
        uint32_t *rank = calloc(ng + 1, sizeof(*rank));
        uint32_t *order = calloc(ng + 1, sizeof(*order));

        for (uint32_t j = 0; j < ng; j++)
            order[j] = j;
        for (uint32_t a = 0; a < ng; a++) {
            for (uint32_t b = a + 1; b < ng; b++) {
                if (ogroup_before(&og[order[b]], &og[order[a]])) {
                    uint32_t t = order[a];

                    order[a] = order[b];
                    order[b] = t;
                }
            }
        }
        for (uint32_t k = 0; k < ng; k++)
            rank[order[k]] = k;
        assert_int_equal(pg->ngroups, ng);
        for (uint32_t k = 0; k < ng; k++) {
            const struct ogroup *x = &og[order[k]];
            const struct hs_path_group *y = &pg->groups[k];

            assert_int_equal(y->count, x->count);
            assert_int_equal(y->bytes, x->bytes);
            assert_int_equal(y->example, x->example);
            assert_int_equal(y->unreachable, x->unreachable);
            if (x->unreachable) {
                assert_int_equal(y->nsteps, 0);
                assert_int_equal(y->shape, HS_BFS_NONE);
                continue;
            }
            assert_int_equal(y->root_kind, x->shape.w[0]);
            assert_int_equal(y->root_type, x->shape.w[1]);
            assert_int_equal(y->root_node, x->shape.w[2]);
            assert_int_equal(y->nsteps, (x->shape.len - 3) / 4);
            assert_true(y->shape < pg->nshapes);
            assert_int_equal(pg->shapes[y->shape].depth, y->nsteps);
            assert_int_equal(hs_path_groups_steps(pg, k, steps), y->nsteps);
            for (uint32_t s = 0; s < y->nsteps; s++) {
                const struct hs_path_step *st = &steps[s];

                assert_int_equal(st->kind, x->shape.w[3 + 4 * s]);
                assert_int_equal(st->wild, x->shape.w[4 + 4 * s]);
                assert_int_equal(st->arg, x->shape.w[5 + 4 * s]);
                /* "Any type": the most frequent type met there. */
                if (x->shape.w[6 + 4 * s] == HS_PATHS_ANY) {
                    assert_true(st->ntypes >= 1);
                    assert_true(st->type != HS_PATHS_ANY);
                    assert_int_equal(st->types[0], st->type);
                } else {
                    assert_int_equal(st->type, x->shape.w[6 + 4 * s]);
                }
            }
        }
        for (uint32_t i = 0; i < nt; i++)
            assert_int_equal(pg->group_of[i], rank[gid[i]]);
        free(rank);
        free(order);
    }
    free(og);
    free(gid);
}

/* ---- the unreachable oracle ----------------------------------------------- */

static void
check_explain(const struct hs_graph *g, const struct oracle *o, uint32_t v,
              const struct hs_unreach_holders *h)
{
    uint64_t unreached = ~o->reached, anc = 0, reach[MAXN], done = 0;
    uint32_t na = 0, nkey = 0;
    int changed = 1;

    if (g->n < 64)
        unreached &= (1ULL << g->n) - 1;
    if (o->cls[v] >= 0) {
        assert_int_equal(h->ncomp, 0);
        assert_int_equal(h->nancestors, 0);
        return;
    }
    /* Closure over retaining edges between unreached nodes. */
    for (uint32_t x = 0; x < g->n; x++) {
        reach[x] = 1ULL << x;
        for (uint32_t e = g->out_off[x]; e < g->out_off[x + 1]; e++) {
            if (retains(g->out_kind[e]) && (unreached >> x & 1) &&
                (unreached >> g->out_dst[e] & 1))
                reach[x] |= 1ULL << g->out_dst[e];
        }
    }
    while (changed) {
        changed = 0;
        for (uint32_t x = 0; x < g->n; x++) {
            uint64_t r = reach[x];

            for (uint32_t y = 0; y < g->n; y++) {
                if (reach[x] >> y & 1)
                    r |= reach[y];
            }
            changed |= r != reach[x];
            reach[x] = r;
        }
    }
    for (uint32_t x = 0; x < g->n; x++) {
        if ((unreached >> x & 1) && (reach[x] >> v & 1)) {
            anc |= 1ULL << x;
            na++;
        }
    }
    assert_int_equal(h->nancestors, na);
    /* Every component of the ancestors, and whether it is key. */
    for (uint32_t x = 0; x < g->n; x++) {
        uint64_t comp = 0, bytes = 0;
        uint32_t flags = 0, size = 0, k;
        int key = 1;

        if (!(anc >> x & 1) || (done >> x & 1))
            continue;
        for (uint32_t y = 0; y < g->n; y++) {
            if ((anc >> y & 1) && (reach[x] >> y & 1) && (reach[y] >> x & 1))
                comp |= 1ULL << y;
        }
        done |= comp;
        for (uint32_t y = 0; y < g->n; y++) {
            if (!(comp >> y & 1))
                continue;
            size++;
            bytes += g->size[y];
            if (g->flags[y] & HS_OBJ_HAS_DEL)
                flags |= HS_SCC_HAS_DEL;
        }
        for (uint32_t e = 0; e < g->m; e++) {
            uint32_t s = oracle_src(g, e), d = g->out_dst[e];

            if (!retains(g->out_kind[e]) || !(comp >> d & 1))
                continue;
            if (s == d)
                flags |= HS_SCC_SELF_LOOP;
            if ((unreached >> s & 1) && !(comp >> s & 1))
                key = 0;
        }
        if (size > 1 || (flags & HS_SCC_SELF_LOOP))
            flags |= HS_SCC_CYCLE;
        if (!key)
            continue;
        /* Find it in the answer by its smallest member, x. */
        for (k = 0; k < h->ncomp; k++) {
            if (h->members[h->off[k]] == x)
                break;
        }
        assert_true(k < h->ncomp);
        assert_int_equal(h->off[k + 1] - h->off[k], size);
        for (uint32_t i = h->off[k]; i < h->off[k + 1]; i++) {
            assert_true(comp >> h->members[i] & 1);
            if (i > h->off[k])
                assert_true(h->members[i - 1] < h->members[i]);
        }
        assert_int_equal(h->bytes[k], bytes);
        assert_int_equal(h->flags[k], flags);
        nkey++;
    }
    assert_int_equal(h->ncomp, nkey);
    /* Cycles first, then bytes descending, then smallest member. */
    for (uint32_t k = 1; k < h->ncomp; k++) {
        int ca = !!(h->flags[k - 1] & HS_SCC_CYCLE);
        int cb = !!(h->flags[k] & HS_SCC_CYCLE);

        assert_true(ca > cb || (ca == cb && (h->bytes[k - 1] > h->bytes[k] ||
                                             (h->bytes[k - 1] == h->bytes[k] &&
                                              h->members[h->off[k - 1]] <
                                                  h->members[h->off[k]]))));
    }
}

/* ---- tests on random graphs ----------------------------------------------- */

static void
test_paths__bfs_by_hand(void **state)
{
    /* Roots: 0 (external), 1 (module), 2 (sys).  The external root is
     * closest to 5, but the module's path wins: 1 -> 3 -> 4 -> 5.
     * 6 is reached only from the sys root; 7 only weakly, so never. */
    const uint32_t src[] = { 0, 1, 3, 4, 2, 1, 4 };
    const uint32_t dst[] = { 5, 3, 4, 5, 6, 7, 5 };
    const uint8_t kind[] = { HS_EDGE_ATTR, HS_EDGE_ATTR,  HS_EDGE_ITEM,
                             HS_EDGE_ATTR, HS_EDGE_VALUE, HS_EDGE_WEAK,
                             HS_EDGE_ATTR };
    const uint32_t roots[] = { 0, 1, 2 };
    const uint8_t rk[] = { HS_ROOT_EXTERNAL, HS_ROOT_MODULE, HS_ROOT_SYS };
    struct hs_graph_spec spec = { 8, 7, src, dst, kind, NULL, roots, rk, 3 };
    struct hs_graph *g = hs_graph_build(&spec);
    struct hs_bfs b;
    uint32_t path[4], r;

    (void)state;
    hs_bfs_run(g, &b);
    assert_int_equal(b.dist[5], 3);
    assert_int_equal(hs_bfs_class(g, &b, 5), 0);
    r = hs_bfs_path(g, &b, 5, path);
    assert_int_equal(g->roots[r].node, 1);
    /* Edges are numbered by source: 1 -> 3 is edge 1, 3 -> 4 edge 4, and
     * of the two parallel 4 -> 5 edges the first (5) wins. */
    assert_int_equal(path[0], 1);
    assert_int_equal(path[1], 4);
    assert_int_equal(path[2], 5);
    assert_int_equal(hs_bfs_class(g, &b, 6), 1);
    assert_int_equal(hs_bfs_class(g, &b, 0), 2);
    assert_false(hs_bfs_reached(&b, 7));
    assert_int_equal(b.nreached[0], 4);
    assert_int_equal(b.nreached[1], 2);
    assert_int_equal(b.nreached[2], 1);
    hs_bfs_release(&b);
    hs_graph_free(g);
}

static void
test_paths__explain_by_hand(void **state)
{
    /* Node 0 is held by three 2-cycles {1, 5}, {2, 3}, {4, 6} of equal
     * size, and by node 7, which nothing holds; node 8 is rooted and
     * holds 0 weakly.  The cycles come first, ordered by their smallest
     * member; 7 last. */
    const uint32_t src[] = { 1, 5, 2, 3, 4, 6, 1, 2, 3, 4, 5, 6, 7, 8 };
    const uint32_t dst[] = { 5, 1, 3, 2, 6, 4, 0, 0, 0, 0, 0, 0, 0, 0 };
    uint8_t kind[14];
    const uint32_t roots[] = { 8 };
    struct hs_graph_spec spec = {
        9, 14, src, dst, kind, NULL, roots, NULL, 1
    };
    struct hs_graph *g;
    struct hs_bfs b;
    struct hs_unreach_holders h;
    struct oracle o;

    (void)state;
    memset(kind, HS_EDGE_ATTR, sizeof(kind));
    kind[13] = HS_EDGE_WEAK;
    g = hs_graph_build(&spec);
    hs_bfs_run(g, &b);
    hs_paths_explain_unreachable(g, &b, 0, &h);
    assert_int_equal(h.nancestors, 8);
    assert_int_equal(h.ncomp, 4);
    assert_int_equal(h.members[h.off[0]], 1);
    assert_int_equal(h.members[h.off[0] + 1], 5);
    assert_int_equal(h.members[h.off[1]], 2);
    assert_int_equal(h.members[h.off[2]], 4);
    assert_int_equal(h.members[h.off[3]], 7);
    assert_int_equal(h.flags[0], HS_SCC_CYCLE);
    assert_int_equal(h.flags[3], 0);
    oracle_bfs(g, &o);
    check_explain(g, &o, 0, &h);
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);
}

static void
test_paths__bfs_random_vs_oracle(void **state)
{
    struct test_rng r = { 0xBF5EEDULL };

    (void)state;
    for (int seed = 0; seed < 5000; seed++) {
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_bfs b, again;
        struct oracle o;

        random_graph(&r, &rg);
        g = rgraph_build(&rg);
        hs_bfs_run(g, &b);
        oracle_bfs(g, &o);
        check_bfs(g, &b, &o);
        hs_bfs_run(g, &again);
        assert_memory_equal(again.parent_edge, b.parent_edge, g->n * 4);
        assert_memory_equal(again.root, b.root, g->n * 4);
        assert_memory_equal(again.dist, b.dist, g->n * 4);
        hs_bfs_release(&again);
        hs_bfs_release(&b);
        hs_graph_free(g);
    }
}

static void
test_paths__group_random_vs_oracle(void **state)
{
    struct test_rng r = { 0x6E0B0ULL };

    (void)state;
    for (int seed = 0; seed < 3000; seed++) {
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_bfs b;
        struct oracle o;
        struct hs_path_groups pg;
        uint32_t arg[MAXM], targets[2 * MAXN], nt = 0;
        int no_names = seed % 5 == 0;

        random_graph(&r, &rg);
        g = rgraph_build(&rg);
        random_labels(&r, g, arg);
        hs_bfs_run(g, &b);
        oracle_bfs(g, &o);
        /* Any subset, in any order, sometimes with duplicates. */
        for (uint32_t v = 0; v < g->n; v++) {
            if (test_rng_below(&r, 3))
                targets[nt++] = v;
            if (test_rng_below(&r, 20) == 0)
                targets[nt++] = v;
        }
        for (uint32_t i = nt; i > 1; i--) {
            uint32_t j = test_rng_below(&r, i), t = targets[i - 1];

            targets[i - 1] = targets[j];
            targets[j] = t;
        }
        assert_int_equal(
            hs_paths_group(g, &b, targets, nt, no_names ? NULL : arg, &pg), 0);
        check_groups(g, &o, no_names ? NULL : arg, targets, nt, &pg);
        hs_path_groups_release(&pg);
        hs_bfs_release(&b);
        hs_graph_free(g);
    }
}

static void
test_paths__explain_random_vs_oracle(void **state)
{
    struct test_rng r = { 0xE4B1A1ULL };

    (void)state;
    for (int seed = 0; seed < 3000; seed++) {
        struct rgraph rg;
        struct hs_graph *g;
        struct hs_bfs b;
        struct oracle o;
        uint32_t arg[MAXM];

        random_graph(&r, &rg);
        g = rgraph_build(&rg);
        random_labels(&r, g, arg);
        /* Equal sizes make ties, which the smallest member breaks. */
        for (uint32_t v = 0; seed % 2 && v < g->n; v++)
            g->size[v] = 1;
        hs_bfs_run(g, &b);
        oracle_bfs(g, &o);
        for (uint32_t v = 0; v < g->n; v++) {
            struct hs_unreach_holders h;

            hs_paths_explain_unreachable(g, &b, v, &h);
            check_explain(g, &o, v, &h);
            hs_unreach_holders_release(&h);
        }
        hs_bfs_release(&b);
        hs_graph_free(g);
    }
}

/* ---- edge names from snapshot files --------------------------------------- */

/*
 * Writes a random graph of n objects, m edges (mostly named) and nroots
 * roots as a snapshot: objects 1 .. 4 are types, edges are inserted in a
 * shuffled rowid order when `shuffle`, some args are NULL.  Returns the file's path (malloc'd).
 */
static char *
random_snapshot(struct test_rng *r, uint32_t n, uint32_t m, uint32_t nroots,
                int shuffle)
{
    struct hs_buf sql = HS_BUF_INIT;
    uint32_t *order = malloc(m * sizeof(*order));
    char *path;

    hs_buf_adds(&sql, "BEGIN;INSERT INTO types VALUES"
                      " (1, 'type', 'builtins', 'type', 16),"
                      " (2, 'dict', 'builtins', 'dict', 18),"
                      " (3, 'Foo', '__main__', 'Foo', 3),"
                      " (4, 'module', 'builtins', 'module', 18);");
    for (uint32_t v = 1; v <= n; v++)
        hs_buf_addf(&sql,
                    "INSERT INTO objects VALUES (%u, %u, %u, %u, 1, "
                    "NULL, NULL, 0);",
                    v, v * 16, v <= 4 ? 1 : 1 + test_rng_below(r, 4),
                    1 + test_rng_below(r, 500));
    /* Sources ascending as the agent writes them, then maybe shuffled
     * into other rowids. */
    for (uint32_t e = 0; e < m; e++)
        order[e] = e;
    if (shuffle) {
        for (uint32_t i = m; i > 1; i--) {
            uint32_t j = test_rng_below(r, i), t = order[i - 1];

            order[i - 1] = order[j];
            order[j] = t;
        }
    }
    {
        uint32_t *src = malloc(m * sizeof(*src));

        for (uint32_t e = 0; e < m; e++)
            src[e] = 1 + test_rng_below(r, n);
        /* Sort sources (insertion sort is too slow for m; counting). */
        {
            uint32_t *cnt = calloc(n + 2, sizeof(*cnt)), k = 0;

            for (uint32_t e = 0; e < m; e++)
                cnt[src[e]]++;
            for (uint32_t v = 1; v <= n; v++)
                for (uint32_t c = 0; c < cnt[v]; c++)
                    src[k++] = v;
            free(cnt);
        }
        for (uint32_t i = 0; i < m; i++) {
            uint32_t e = order[i];
            static const uint8_t named[] = { HS_EDGE_VALUE, HS_EDGE_ATTR,
                                             HS_EDGE_KEY, HS_EDGE_LOCAL,
                                             HS_EDGE_CLOSURE };
            uint32_t dice = test_rng_below(r, 8);
            uint32_t kind = dice == 0  ? HS_EDGE_WEAK
                            : dice < 6 ? named[test_rng_below(r, 5)]
                                       : test_rng_below(r, 11);

            hs_buf_addf(&sql,
                        "INSERT INTO edge_list(rowid, src, dst, kind, "
                        "arg) VALUES (%u, %u, %u, %u, ",
                        i + 1 + (shuffle ? 1000 : 0), src[e],
                        1 + test_rng_below(r, n), kind);
            if (test_rng_below(r, 10) == 0)
                hs_buf_adds(&sql, "NULL);");
            else
                hs_buf_addf(&sql, "%u);", 1 + test_rng_below(r, 5));
        }
        free(src);
    }
    for (uint32_t i = 0; i < nroots; i++)
        hs_buf_addf(&sql,
                    "INSERT INTO roots VALUES (%u, '%s', NULL, NULL, "
                    "NULL);",
                    1 + test_rng_below(r, n),
                    hs_root_kind_name(
                        (enum hs_root_kind)test_rng_below(r, HS_ROOT_NKINDS)));
    hs_buf_adds(&sql, "COMMIT;");
    path = test_snapshot_file(sql.buf);
    hs_buf_release(&sql);
    free(order);
    return path;
}

/* The arg column in graph edge order, read straight from the file. */
static uint32_t *
read_args(const char *path, const struct hs_graph *g)
{
    sqlite3 *db;
    sqlite3_stmt *st;
    uint32_t *arg = calloc(g->m + 1, sizeof(*arg));

    assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT arg FROM edge_list "
                                        "WHERE rowid = ?1",
                                        -1, &st, NULL),
                     SQLITE_OK);
    for (uint32_t e = 0; e < g->m; e++) {
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, hs_graph_edge_row(g, e));
        assert_int_equal(sqlite3_step(st), SQLITE_ROW);
        arg[e] = (uint32_t)sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    return arg;
}

static void
assert_groups_equal(const struct hs_path_groups *a,
                    const struct hs_path_groups *b, uint32_t nt)
{
    assert_int_equal(a->ngroups, b->ngroups);
    assert_int_equal(a->nshapes, b->nshapes);
    assert_memory_equal(a->groups, b->groups, a->ngroups * sizeof(*a->groups));
    for (uint32_t i = 0; i < a->nshapes; i++) {
        const struct hs_path_shape *x = &a->shapes[i], *y = &b->shapes[i];

        assert_int_equal(x->parent, y->parent);
        assert_int_equal(x->depth, y->depth);
        assert_int_equal(x->step.kind, y->step.kind);
        assert_int_equal(x->step.wild, y->step.wild);
        assert_int_equal(x->step.arg, y->step.arg);
        assert_int_equal(x->step.type, y->step.type);
    }
    assert_memory_equal(a->group_of, b->group_of, nt * sizeof(uint32_t));
}

static void
test_paths__group_names_from_snapshot(void **state)
{
    struct test_rng r = { 0x5A4ULL };

    (void)state;
    for (int round = 0; round < 8; round++) {
        /* Few targets among many edges: rowid lookups; every node among
         * fewer edges: one scan. */
        int few = round % 4 < 2;
        uint32_t n = 300, m = few ? 6000 : 700;
        char *path = random_snapshot(&r, n, m, few ? 3 : 20, round % 2);
        struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);
        struct hs_graph *g;
        struct hs_bfs b;
        struct hs_path_groups from_file, from_array;
        uint32_t *arg, targets[300], nt = 0;

        assert_non_null(s);
        g = hs_graph_load(s);
        assert_non_null(g);
        assert_int_equal(g->edge_row != NULL, round % 2);
        arg = read_args(path, g);
        hs_bfs_run(g, &b);
        for (uint32_t v = 0; v < n; v++) {
            if (!few || v % 50 == 7)
                targets[nt++] = v;
        }
        assert_int_equal(hs_paths_group(g, &b, targets, nt, NULL, &from_file),
                         0);
        assert_int_equal(hs_paths_group(g, &b, targets, nt, arg, &from_array),
                         0);
        assert_groups_equal(&from_file, &from_array, nt);
        hs_path_groups_release(&from_file);
        hs_path_groups_release(&from_array);
        hs_bfs_release(&b);
        hs_graph_free(g);
        hs_snapshot_close(s);
        free(arg);
        unlink(path);
        free(path);
    }
}

/* ---- scale ------------------------------------------------------------------- */

#define BIG 1000000u

/* i -> i + 1 for every i, closed into a ring if `ring`; node 0 is a
 * module root if `rooted`. */
static struct hs_graph *
big_chain(int ring, int rooted)
{
    uint32_t m = ring ? BIG : BIG - 1, root = 0;
    uint32_t *src = malloc(m * sizeof(*src)), *dst = malloc(m * sizeof(*dst));
    struct hs_graph_spec spec = { BIG,  m,     src,  dst,           NULL,
                                  NULL, &root, NULL, rooted ? 1 : 0 };
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
test_paths__million_chain(void **state)
{
    struct hs_graph *g = big_chain(0, 1);
    struct hs_bfs b;
    struct hs_path_groups pg;
    struct hs_unreach_holders h;
    uint32_t *path = malloc(BIG * sizeof(*path));
    uint32_t targets[] = { BIG - 1, BIG / 2, 0 };

    (void)state;
    hs_bfs_run(g, &b);
    for (uint32_t v = 0; v < BIG; v++)
        assert_int_equal(b.dist[v], v);
    assert_int_equal(hs_bfs_path(g, &b, BIG - 1, path), 0);
    for (uint32_t k = 0; k < BIG - 1; k++)
        assert_int_equal(path[k], k);
    assert_int_equal(hs_paths_group(g, &b, targets, 3, NULL, &pg), 0);
    /* The root alone, and the two deep nodes sharing one repeated step. */
    assert_int_equal(pg.ngroups, 2);
    assert_int_equal(pg.groups[pg.group_of[0]].nsteps, 1);
    assert_int_equal(pg.groups[pg.group_of[0]].count, 2);
    hs_path_groups_release(&pg);
    hs_paths_explain_unreachable(g, &b, BIG - 1, &h);
    assert_int_equal(h.ncomp, 0);
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);

    /* Without the root the whole chain is the last node's ancestry, held
     * by node 0, which is no cycle. */
    g = big_chain(0, 0);
    hs_bfs_run(g, &b);
    hs_paths_explain_unreachable(g, &b, BIG - 1, &h);
    assert_int_equal(h.nancestors, BIG);
    assert_int_equal(h.ncomp, 1);
    assert_int_equal(h.members[0], 0);
    assert_int_equal(h.flags[0], 0);
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);
    free(path);
}

static void
test_paths__group_linked_list(void **state)
{
    /* Every node of a million-node chain is a target.  The steps down the
     * chain are all alike, so they collapse into one repeated step: two
     * groups (the root alone, and everyone below it), found in linear
     * time and memory. */
    struct hs_graph *g = big_chain(0, 1);
    struct hs_bfs b;
    struct hs_path_groups pg;
    uint32_t *targets = malloc(BIG * sizeof(*targets));
    struct hs_path_step steps[4];

    (void)state;
    for (uint32_t v = 0; v < BIG; v++)
        targets[v] = BIG - 1 - v;
    hs_bfs_run(g, &b);
    assert_int_equal(hs_paths_group(g, &b, targets, BIG, NULL, &pg), 0);
    assert_int_equal(pg.ngroups, 2);
    assert_int_equal(pg.groups[0].count, BIG - 1);
    assert_int_equal(pg.groups[0].example, 1);
    assert_int_equal(pg.groups[0].nsteps, 1);
    assert_int_equal(pg.groups[1].count, 1);
    assert_int_equal(pg.groups[1].example, 0);
    assert_int_equal(pg.groups[1].nsteps, 0);
    assert_int_equal(pg.group_of[BIG - 1], 1);
    assert_int_equal(pg.group_of[0], 0);
    assert_int_equal(hs_path_groups_steps(&pg, 0, steps), 1);
    assert_int_equal(steps[0].kind, HS_EDGE_ATTR);
    assert_int_equal(steps[0].repeat, 1);
    hs_path_groups_release(&pg);
    hs_bfs_release(&b);
    hs_graph_free(g);
    free(targets);
}

static void
test_paths__million_ring(void **state)
{
    struct hs_graph *g = big_chain(1, 0);
    struct hs_bfs b;
    struct hs_unreach_holders h;

    (void)state;
    hs_bfs_run(g, &b);
    assert_false(hs_bfs_reached(&b, 0));
    hs_paths_explain_unreachable(g, &b, 12345, &h);
    assert_int_equal(h.nancestors, BIG);
    assert_int_equal(h.ncomp, 1);
    assert_int_equal(h.off[1], BIG);
    assert_int_equal(h.bytes[0], BIG);
    assert_int_equal(h.flags[0], HS_SCC_CYCLE);
    for (uint32_t i = 0; i < BIG; i++)
        assert_int_equal(h.members[i], i);
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);

    g = big_chain(1, 1);
    hs_bfs_run(g, &b);
    assert_int_equal(b.dist[BIG - 1], BIG - 1);
    hs_bfs_release(&b);
    hs_graph_free(g);
}

/*
 * Node 0 (the hub) has 500,000 referrers 2 .. 500,001.  `mode` 0: a root
 * list (node 1) holds every referrer; 1: no root, the hub holds every
 * referrer (one big cycle); 2: no root and nothing holds the referrers.
 */
static struct hs_graph *
fan_in(int mode)
{
    const uint32_t nref = 500000, n = nref + 2;
    uint32_t m = 0, root = 1;
    uint32_t *src = malloc(2 * n * sizeof(*src));
    uint32_t *dst = malloc(2 * n * sizeof(*dst));
    uint8_t *kind = malloc(2 * n);
    uint64_t *size = malloc(n * sizeof(*size));
    struct hs_graph_spec spec = { n,    0,     src,  dst,      kind,
                                  size, &root, NULL, mode == 0 };
    struct hs_graph *g;

    for (uint32_t v = 0; v < n; v++)
        size[v] = 1 + v % 7;
    for (uint32_t i = 2; i < n; i++) {
        src[m] = i;
        dst[m] = 0;
        kind[m++] = HS_EDGE_ATTR;
        if (mode < 2) {
            src[m] = mode == 0 ? 1 : 0;
            dst[m] = i;
            kind[m++] = mode == 0 ? HS_EDGE_ITEM : HS_EDGE_VALUE;
        }
    }
    spec.m = m;
    g = hs_graph_build(&spec);
    free(src);
    free(dst);
    free(kind);
    free(size);
    return g;
}

static void
test_paths__huge_fan_in(void **state)
{
    const uint32_t nref = 500000;
    struct hs_graph *g = fan_in(0);
    struct hs_bfs b;
    struct hs_path_groups pg;
    struct hs_unreach_holders h;
    uint32_t *targets = malloc(nref * sizeof(*targets)), path[2];

    (void)state;
    hs_bfs_run(g, &b);
    assert_int_equal(b.dist[0], 2);
    assert_int_equal(hs_bfs_path(g, &b, 0, path), 0);
    assert_int_equal(hs_graph_edge_src(g, path[1]), 2);
    for (uint32_t i = 0; i < nref; i++)
        targets[i] = i + 2;
    assert_int_equal(hs_paths_group(g, &b, targets, nref, NULL, &pg), 0);
    assert_int_equal(pg.ngroups, 1);
    assert_int_equal(pg.groups[0].count, nref);
    assert_int_equal(pg.groups[0].example, 2);
    assert_int_equal(pg.groups[0].nsteps, 1);
    assert_int_equal(pg.shapes[pg.groups[0].shape].step.kind, HS_EDGE_ITEM);
    hs_path_groups_release(&pg);
    hs_bfs_release(&b);
    hs_graph_free(g);

    g = fan_in(1);
    hs_bfs_run(g, &b);
    hs_paths_explain_unreachable(g, &b, 0, &h);
    assert_int_equal(h.nancestors, nref + 1);
    assert_int_equal(h.ncomp, 1);
    assert_int_equal(h.off[1], nref + 1);
    assert_int_equal(h.flags[0], HS_SCC_CYCLE);
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);

    g = fan_in(2);
    hs_bfs_run(g, &b);
    hs_paths_explain_unreachable(g, &b, 0, &h);
    assert_int_equal(h.nancestors, nref + 1);
    assert_int_equal(h.ncomp, nref);
    for (uint32_t k = 0; k < nref; k++) {
        assert_int_equal(h.off[k + 1] - h.off[k], 1);
        assert_int_equal(h.flags[k], 0);
        if (k)
            assert_true(h.bytes[k - 1] > h.bytes[k] ||
                        (h.bytes[k - 1] == h.bytes[k] &&
                         h.members[k - 1] < h.members[k]));
    }
    hs_unreach_holders_release(&h);
    hs_bfs_release(&b);
    hs_graph_free(g);
    free(targets);
}

/*
 * A heap-like graph: modules with their dicts, functions (which retain
 * their module's dict, closing cycles), classes, lists of Foo instances;
 * each Foo has a __dict__ with an int, a str, a Bar (whose dict points
 * back at its Foo and at a random peer, sometimes weakly) and a tuple.
 * sys.modules is an interpreter root, some frames hold Foos, and some
 * objects carry external references.  About 1M nodes and 2.5M edges.
 */
enum {
    T_MODULE,
    T_DICT,
    T_STR,
    T_INT,
    T_FUNC,
    T_TYPE,
    T_LIST,
    T_FOO,
    T_BAR,
    T_TUPLE,
    T_CODE,
    T_NTYPES
};

struct heap {
    uint32_t n, m, nroots;
    size_t nalloc, malloc_, ralloc;
    uint32_t *type;
    uint64_t *size;
    uint32_t *src, *dst, *arg;
    uint8_t *kind;
    uint32_t *roots;
    uint8_t *root_kind;
};

static uint32_t
heap_node(struct heap *h, uint32_t type, uint64_t size)
{
    if ((size_t)h->n + 1 > h->nalloc) {
        HS_ALLOC_GROW(h->type, (size_t)h->n + 1, h->nalloc);
        h->size = hs_xrealloc(h->size, h->nalloc * sizeof(*h->size));
    }
    h->type[h->n] = type;
    h->size[h->n] = size;
    return h->n++;
}

static void
heap_edge(struct heap *h, uint32_t src, uint32_t dst, uint8_t kind,
          uint32_t arg)
{
    if ((size_t)h->m + 1 > h->malloc_) {
        HS_ALLOC_GROW(h->src, (size_t)h->m + 1, h->malloc_);
        h->dst = hs_xrealloc(h->dst, h->malloc_ * sizeof(*h->dst));
        h->arg = hs_xrealloc(h->arg, h->malloc_ * sizeof(*h->arg));
        h->kind = hs_xrealloc(h->kind, h->malloc_);
    }
    h->src[h->m] = src;
    h->dst[h->m] = dst;
    h->kind[h->m] = kind;
    h->arg[h->m++] = arg;
}

static void
heap_root(struct heap *h, uint32_t node, uint8_t kind)
{
    if ((size_t)h->nroots + 1 > h->ralloc) {
        HS_ALLOC_GROW(h->roots, (size_t)h->nroots + 1, h->ralloc);
        h->root_kind = hs_xrealloc(h->root_kind, h->ralloc);
    }
    h->roots[h->nroots] = node;
    h->root_kind[h->nroots++] = kind;
}

/* A function with its code, constants and globals. */
static uint32_t
heap_function(struct heap *h, struct test_rng *r, uint32_t globals)
{
    uint32_t f = heap_node(h, T_FUNC, 144), code = heap_node(h, T_CODE, 200);
    uint32_t consts = heap_node(h, T_TUPLE, 56);

    heap_edge(h, f, code, HS_EDGE_ATTR, 2);
    heap_edge(h, f, globals, HS_EDGE_ATTR, 3);
    heap_edge(h, code, consts, HS_EDGE_ATTR, 4);
    for (uint32_t i = 0; i < 2; i++)
        heap_edge(h, consts, heap_node(h, T_STR, 50 + test_rng_below(r, 40)),
                  HS_EDGE_ITEM, i);
    return f;
}

static void
heap_build(struct heap *h, struct test_rng *r, uint32_t nfoo)
{
    const uint32_t nmod = 350, entries = 100;
    uint32_t sysmod, *lists = NULL, nlists = 0, *foos, shared[6];
    uint32_t foo_class = 0, bar_class = 0;
    size_t lalloc = 0;

    memset(h, 0, sizeof(*h));
    sysmod = heap_node(h, T_DICT, 36000);
    heap_root(h, sysmod, HS_ROOT_SYS);
    for (uint32_t i = 0; i < 6; i++)
        shared[i] = heap_node(h, T_STR, 50);
    for (uint32_t mi = 0; mi < nmod; mi++) {
        uint32_t mod = heap_node(h, T_MODULE, 72),
                 md = heap_node(h, T_DICT, 4700);

        heap_root(h, mod, HS_ROOT_MODULE);
        heap_edge(h, sysmod, heap_node(h, T_STR, 60), HS_EDGE_KEY, 5 + mi);
        heap_edge(h, sysmod, mod, HS_EDGE_VALUE, 5 + mi);
        heap_edge(h, mod, md, HS_EDGE_ATTR, 1);
        for (uint32_t j = 0; j < entries; j++) {
            uint32_t name = 1000 + j, val;

            heap_edge(h, md, heap_node(h, T_STR, 55), HS_EDGE_KEY, name);
            if (j % 10 < 7) {
                val = heap_function(h, r, md);
            } else if (j % 10 < 9) {
                uint32_t cd = heap_node(h, T_DICT, 640);

                val = heap_node(h, T_TYPE, 1064);
                heap_edge(h, val, cd, HS_EDGE_ATTR, 1);
                for (uint32_t k = 0; k < 3; k++) {
                    heap_edge(h, cd, heap_node(h, T_STR, 55), HS_EDGE_KEY,
                              2000 + k);
                    heap_edge(h, cd, heap_function(h, r, md), HS_EDGE_VALUE,
                              2000 + k);
                }
                if (!foo_class)
                    foo_class = val;
                else if (!bar_class)
                    bar_class = val;
            } else {
                val = heap_node(h, T_LIST, 56);
                HS_ALLOC_GROW(lists, (size_t)nlists + 1, lalloc);
                lists[nlists++] = val;
            }
            heap_edge(h, md, val, HS_EDGE_VALUE, name);
        }
    }
    foos = hs_xmalloc(nfoo * sizeof(*foos));
    for (uint32_t i = 0; i < nfoo; i++)
        foos[i] = heap_node(h, T_FOO, 48);
    for (uint32_t i = 0; i < nfoo; i++) {
        uint32_t foo = foos[i], fd = heap_node(h, T_DICT, 232);
        uint32_t bar = heap_node(h, T_BAR, 48), bd = heap_node(h, T_DICT, 232);
        uint32_t tup = heap_node(h, T_TUPLE, 56), peer;
        uint32_t vals[4];

        if (i % 10)
            heap_edge(h, lists[i % nlists], foo, HS_EDGE_ITEM, i / nlists);
        heap_edge(h, foo, foo_class, HS_EDGE_CLASS, 0);
        heap_edge(h, foo, fd, HS_EDGE_ATTR, 1);
        vals[0] = heap_node(h, T_INT, 28);
        vals[1] = heap_node(h, T_STR, 49 + test_rng_below(r, 100));
        vals[2] = bar;
        vals[3] = tup;
        for (uint32_t k = 0; k < 4; k++) {
            heap_edge(h, fd, shared[k], HS_EDGE_KEY, 3000 + k);
            heap_edge(h, fd, vals[k], HS_EDGE_VALUE, 3000 + k);
        }
        heap_edge(h, bar, bar_class, HS_EDGE_CLASS, 0);
        heap_edge(h, bar, bd, HS_EDGE_ATTR, 1);
        heap_edge(h, bd, shared[4], HS_EDGE_KEY, 3004);
        heap_edge(h, bd, foo, HS_EDGE_VALUE, 3004);
        peer = foos[test_rng_below(r, nfoo)];
        heap_edge(h, bd, shared[5], HS_EDGE_KEY, 3005);
        heap_edge(h, bd, peer,
                  test_rng_below(r, 5) ? HS_EDGE_VALUE : HS_EDGE_WEAK, 3005);
        for (uint32_t k = 0; k < 2; k++)
            heap_edge(h, tup, test_rng_below(r, h->n), HS_EDGE_ITEM, k);
        heap_edge(h, fd, test_rng_below(r, h->n), HS_EDGE_OTHER, 0);
        heap_edge(h, tup, test_rng_below(r, h->n), HS_EDGE_OTHER, 0);
        if (i % 100 == 0)
            heap_root(h, foo, HS_ROOT_FRAME);
    }
    for (uint32_t i = 0; i < 2000; i++)
        heap_root(h, test_rng_below(r, h->n), HS_ROOT_EXTERNAL);
    free(lists);
    free(foos);
}

/* edge_list.arg per graph edge: the spec's args in hs_graph_build()'s
 * order (stable by source). */
static uint32_t *
heap_args_in_graph_order(const struct heap *h, const struct hs_graph *g)
{
    uint32_t *arg = hs_xmalloc((size_t)h->m * sizeof(*arg) + 4);
    uint32_t *cursor = hs_xmalloc(((size_t)g->n + 1) * sizeof(*cursor));

    memcpy(cursor, g->out_off, ((size_t)g->n + 1) * sizeof(*cursor));
    for (uint32_t i = 0; i < h->m; i++)
        arg[cursor[h->src[i]]++] = h->arg[i];
    free(cursor);
    return arg;
}

static void
test_paths__heap_like_million(void **state)
{
    struct test_rng r = { 0x4EA9ULL };
    struct heap h;
    struct hs_graph_spec spec;
    struct hs_graph *g;
    struct hs_bfs b;
    struct hs_path_groups pg;
    struct hs_scc scc;
    uint32_t *arg, *targets, nt = 0, path[64];
    struct hs_path_step steps[64];
    uint64_t counted = 0;
    double t0, t_bfs, t_group, t_scc;

    (void)state;
    heap_build(&h, &r, 100000);
    spec.n = h.n;
    spec.m = h.m;
    spec.src = h.src;
    spec.dst = h.dst;
    spec.kind = h.kind;
    spec.size = h.size;
    spec.roots = h.roots;
    spec.root_kind = h.root_kind;
    spec.nroots = h.nroots;
    g = hs_graph_build(&spec);
    memcpy(g->type, h.type, (size_t)h.n * sizeof(*g->type));
    arg = heap_args_in_graph_order(&h, g);
    targets = hs_xmalloc((size_t)h.n * sizeof(*targets));
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->type[v] == T_FOO)
            targets[nt++] = v;
    }

    t0 = hs_now();
    hs_bfs_run(g, &b);
    t_bfs = hs_now() - t0;
    t0 = hs_now();
    assert_int_equal(hs_paths_group(g, &b, targets, nt, arg, &pg), 0);
    t_group = hs_now() - t0;
    t0 = hs_now();
    hs_scc_run(g, &b, &scc);
    t_scc = hs_now() - t0;
    printf("# heap-like graph: %u nodes, %u edges, %u roots\n", g->n, g->m,
           g->nroots);
    printf("# bfs %.3f s; grouping %u instances %.3f s (%u groups); "
           "scc %.3f s (%u components)\n",
           t_bfs, nt, t_group, pg.ngroups, t_scc, scc.ncomp);

    /* Every target in one group, and its own path has the group's shape
     * (the oracle tests prove the rest on small graphs). */
    for (uint32_t k = 0; k < pg.ngroups; k++)
        counted += pg.groups[k].count;
    assert_int_equal(counted, nt);
    assert_true(pg.ngroups >= 3);
    for (uint32_t i = 0; i < nt; i++) {
        const struct hs_path_group *gr = &pg.groups[pg.group_of[i]];
        uint32_t v = targets[i], root;

        assert_int_equal(gr->unreachable, !hs_bfs_reached(&b, v));
        if (gr->unreachable)
            continue;
        assert_true(b.dist[v] < 64);
        root = hs_bfs_path(g, &b, v, path);
        assert_int_equal(gr->root_kind, g->roots[root].kind);
        hs_path_groups_steps(&pg, pg.group_of[i], steps);
        /* The path, with runs of identical steps collapsed, is the shape. */
        {
            uint32_t k = 0, stack[64][4];

            for (uint32_t s = 0; s < b.dist[v]; s++) {
                uint32_t e = path[s], u = hs_graph_edge_src(g, e);
                uint8_t kind = g->out_kind[e];
                int wild = kind == HS_EDGE_ITEM || kind == HS_EDGE_OTHER ||
                           (kind == HS_EDGE_VALUE &&
                            g->out_off[u + 1] - g->out_off[u] > 64);
                int named = kind == HS_EDGE_VALUE || kind == HS_EDGE_ATTR ||
                            kind == HS_EDGE_KEY || kind == HS_EDGE_LOCAL ||
                            kind == HS_EDGE_CLOSURE;
                uint32_t cur[4] = { kind, (uint32_t)wild,
                                    named && !wild ? arg[e] : 0,
                                    g->type[g->out_dst[e]] };

                assert_true(k < 64);
                k = fold_step(&stack[0][0], k, cur,
                              s + 1 == b.dist[v] && wild);
            }
            assert_int_equal(k, gr->nsteps);
            for (uint32_t q = 0; q < k; q++) {
                assert_int_equal(steps[q].kind, stack[q][0]);
                assert_int_equal(steps[q].wild, stack[q][1]);
                assert_int_equal(steps[q].arg, stack[q][2]);
                if (stack[q][3] != HS_PATHS_ANY)
                    assert_int_equal(steps[q].type, stack[q][3]);
            }
        }
    }
    hs_scc_release(&scc);
    hs_path_groups_release(&pg);
    hs_bfs_release(&b);
    hs_graph_free(g);
    free(arg);
    free(targets);
    free(h.type);
    free(h.size);
    free(h.src);
    free(h.dst);
    free(h.arg);
    free(h.kind);
    free(h.roots);
    free(h.root_kind);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_paths__bfs_by_hand),
        cmocka_unit_test(test_paths__explain_by_hand),
        cmocka_unit_test(test_paths__bfs_random_vs_oracle),
        cmocka_unit_test(test_paths__group_random_vs_oracle),
        cmocka_unit_test(test_paths__explain_random_vs_oracle),
        cmocka_unit_test(test_paths__group_names_from_snapshot),
        cmocka_unit_test(test_paths__million_chain),
        cmocka_unit_test(test_paths__group_linked_list),
        cmocka_unit_test(test_paths__million_ring),
        cmocka_unit_test(test_paths__huge_fan_in),
        cmocka_unit_test(test_paths__heap_like_million),
    };

    return cmocka_run_group_tests_name("paths", tests, NULL, NULL);
}
