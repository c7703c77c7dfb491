/*
 * test_draw.c: unit tests of draw.c.  The refs and backrefs walks are
 * checked against an oracle that finds the drawn objects as a fixpoint of
 * distance relaxations (no queue) on thousands of random graphs with
 * modules, type objects, roots of every kind, weak, parallel and self-loop
 * references; the caps against the uncapped walk (a capped picture is the
 * uncapped one cut at the cap, the difference counted in "more" boxes);
 * retention paths, the holders of unreachable objects and cycle
 * components against brute force; object boxes and labels through a
 * snapshot file.  Million-node chains (walked both ways, drawn as a path,
 * held by a garbage cycle) and a node with a million referrers prove that
 * nothing recurses; their times are printed as TAP comments.
 */
#include "draw.h"
#include "progress.h"
#include "test_util.h"

#define MAXN  64
#define MAXM  512
#define SEEDS 3000

/* What a random node is: a plain object, a type object or a module. */
enum { PLAIN, TYPE_OBJECT, MODULE };

struct rgraph {
    uint32_t n, m, nroots;
    uint32_t src[MAXM], dst[MAXM];
    uint8_t kind[MAXM];
    uint8_t what[MAXN]; /* PLAIN, TYPE_OBJECT, MODULE */
    uint32_t roots[8];
    uint8_t root_kind[8];
};

static void
random_graph(struct test_rng *r, struct rgraph *rg)
{
    rg->n = 2 + test_rng_below(r, MAXN - 2);
    rg->m = test_rng_below(r, 4 * rg->n + 1);
    if (rg->m > MAXM)
        rg->m = MAXM;
    test_random_edges(r, rg->n, rg->m, rg->src, rg->dst, rg->kind,
                      HS_EDGE_WEAK, 6, 12);
    for (uint32_t v = 0; v < rg->n; v++) {
        uint32_t k = test_rng_below(r, 8);

        rg->what[v] = k == 0 ? TYPE_OBJECT : k == 1 ? MODULE : PLAIN;
    }
    /* The object of every type row is a type object. */
    rg->what[rg->n - 1] = TYPE_OBJECT;
    rg->nroots = test_rng_below(r, 8);
    for (uint32_t i = 0; i < rg->nroots; i++) {
        rg->roots[i] = test_rng_below(r, rg->n);
        rg->root_kind[i] = (uint8_t)test_rng_below(r, HS_ROOT_NKINDS);
    }
}

static void
set_type(struct hs_type *t, uint32_t node, const char *name,
         const char *module)
{
    memset(t, 0, sizeof(*t));
    t->node = node;
    t->name = hs_xstrdup(name);
    t->module = module ? hs_xstrdup(module) : NULL;
}

/*
 * Three types as a snapshot would have them: "object" (plain nodes),
 * "type" (type objects) and "module"; the objects of all three rows are
 * type objects, so draw.c's index must find exactly the TYPE_OBJECT
 * nodes.
 */
static void
give_types(struct hs_graph *g, const uint8_t *what)
{
    uint32_t t = g->n - 1;

    for (uint32_t i = 0; i < g->ntypes; i++) {
        free(g->types[i].name);
        free(g->types[i].module);
        free(g->types[i].qualname);
    }
    g->types = hs_xrealloc(g->types, 3 * sizeof(*g->types));
    set_type(&g->types[0], t, "object", NULL);
    set_type(&g->types[1], t, "type", "builtins");
    set_type(&g->types[2], t, "module", "builtins");
    g->ntypes = 3;
    for (uint32_t v = 0; v < g->n; v++)
        g->type[v] = what[v] == TYPE_OBJECT ? 1 : what[v] == MODULE ? 2 : 0;
}

static struct hs_graph *
build(const struct rgraph *rg)
{
    struct hs_graph_spec spec = { rg->n,     rg->m,         rg->src,
                                  rg->dst,   rg->kind,      NULL,
                                  rg->roots, rg->root_kind, rg->nroots };
    struct hs_graph *g = hs_graph_build(&spec);

    give_types(g, rg->what);
    return g;
}

/* ---- helpers over pictures ---------------------------------------------- */

/* The graph node of picture node i. */
static uint32_t
node_of(const struct hs_picture *p, uint32_t i)
{
    assert_true(p->nodes[i].object_id >= 1);
    return (uint32_t)(p->nodes[i].object_id - 1);
}

/* Picture index of graph node v, or -1 (through the keys). */
static int64_t
index_of(const struct hs_picture *p, uint32_t v)
{
    char key[32];

    snprintf(key, sizeof(key), "o%u", v + 1);
    return hs_picture_find(p, key);
}

static int
triple_cmp(const void *a, const void *b)
{
    const uint32_t *x = a, *y = b;

    for (int i = 0; i < 3; i++) {
        if (x[i] != y[i])
            return x[i] < y[i] ? -1 : 1;
    }
    return 0;
}

/* The picture's edges as sorted (from node, to node, kind) triples. */
static uint32_t
picture_triples(const struct hs_picture *p, uint32_t (*out)[3])
{
    for (uint32_t e = 0; e < p->nedges; e++) {
        out[e][0] = node_of(p, p->edges[e].from);
        out[e][1] = node_of(p, p->edges[e].to);
        out[e][2] = p->edges[e].kind;
        assert_int_equal(p->edges[e].weak, p->edges[e].kind == HS_EDGE_WEAK);
    }
    qsort(out, p->nedges, sizeof(*out), triple_cmp);
    return p->nedges;
}

static void
assert_same_triples(uint32_t (*a)[3], uint32_t na, uint32_t (*b)[3],
                    uint32_t nb)
{
    qsort(b, nb, sizeof(*b), triple_cmp);
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++)
        assert_memory_equal(a[i], b[i], sizeof(a[i]));
}

/* ---- the walk oracle ---------------------------------------------------- */

/* Spec edges leaving (refs) or entering (backrefs) u, in the order the
 * walk must consider them: edge order; retaining first, then weak, each by
 * source then edge order. */
static uint32_t
oracle_neighbours(const struct rgraph *rg, enum hs_picture_dir dir, uint32_t u,
                  uint32_t *out)
{
    uint32_t n = 0;

    if (dir == HS_PIC_DIR_REFS) {
        for (uint32_t e = 0; e < rg->m; e++) {
            if (rg->src[e] == u)
                out[n++] = e;
        }
        return n;
    }
    for (int weak = 0; weak < 2; weak++) {
        for (uint32_t s = 0; s < rg->n; s++) {
            for (uint32_t e = 0; e < rg->m; e++) {
                if (rg->dst[e] == u && rg->src[e] == s &&
                    (rg->kind[e] == HS_EDGE_WEAK) == weak)
                    out[n++] = e;
            }
        }
    }
    return n;
}

static int
has_non_external_root(const struct rgraph *rg, uint32_t v)
{
    for (uint32_t i = 0; i < rg->nroots; i++) {
        if (rg->roots[i] == v && rg->root_kind[i] != HS_ROOT_EXTERNAL)
            return 1;
    }
    return 0;
}

struct expect {
    uint32_t dist[MAXN];
    uint64_t more[MAXN];
    uint64_t targets; /* bit v */
    uint32_t edges[MAXM][3];
    uint32_t nedges;
    uint64_t too_many;
    uint32_t leaf_depth, leaf_module, leaf_type, leaf_root;
};

static int
oracle_expands(const struct rgraph *rg, const struct expect *x,
               enum hs_picture_dir dir, uint32_t depth, uint32_t u)
{
    if (x->dist[u] >= depth)
        return 0;
    if (x->targets >> u & 1)
        return 1;
    if (rg->what[u] == MODULE)
        return 0;
    if (dir == HS_PIC_DIR_REFS)
        return rg->what[u] != TYPE_OBJECT;
    return !has_non_external_root(rg, u);
}

static void
oracle_walk(const struct rgraph *rg, const uint32_t *targets, uint32_t nt,
            enum hs_picture_dir dir, uint32_t depth, uint32_t too_many,
            struct expect *x)
{
    uint32_t nb[MAXM];
    int changed = 1;

    memset(x, 0, sizeof(*x));
    for (uint32_t v = 0; v < rg->n; v++)
        x->dist[v] = UINT32_MAX;
    for (uint32_t i = 0; i < nt; i++) {
        x->dist[targets[i]] = 0;
        x->targets |= 1ull << targets[i];
    }
    /* Relax until nothing changes: the drawn objects are those within
     * `depth` of a target through the first `too_many` neighbours of
     * expandable objects. */
    while (changed) {
        changed = 0;
        for (uint32_t u = 0; u < rg->n; u++) {
            uint32_t k;

            if (x->dist[u] == UINT32_MAX ||
                !oracle_expands(rg, x, dir, depth, u))
                continue;
            k = oracle_neighbours(rg, dir, u, nb);
            for (uint32_t j = 0; j < k && j < too_many; j++) {
                uint32_t e = nb[j];
                uint32_t w = dir == HS_PIC_DIR_REFS ? rg->dst[e] : rg->src[e];

                if (x->dist[u] + 1 < x->dist[w]) {
                    x->dist[w] = x->dist[u] + 1;
                    changed = 1;
                }
            }
        }
    }
    for (uint32_t u = 0; u < rg->n; u++) {
        uint32_t k;

        if (x->dist[u] == UINT32_MAX)
            continue;
        k = oracle_neighbours(rg, dir, u, nb);
        if (!k)
            continue;
        if (!oracle_expands(rg, x, dir, depth, u)) {
            if (x->dist[u] >= depth)
                x->leaf_depth++;
            else if (rg->what[u] == MODULE)
                x->leaf_module++;
            else if (dir == HS_PIC_DIR_REFS)
                x->leaf_type++;
            else
                x->leaf_root++;
            continue;
        }
        for (uint32_t j = 0; j < k && j < too_many; j++) {
            uint32_t e = nb[j];

            x->edges[x->nedges][0] = rg->src[e];
            x->edges[x->nedges][1] = rg->dst[e];
            x->edges[x->nedges++][2] = rg->kind[e];
        }
        x->more[u] = k > too_many ? k - too_many : 0;
        x->too_many += x->more[u];
    }
}

static void
check_walk(const struct rgraph *rg, const struct hs_draw *d,
           enum hs_picture_dir dir, struct expect *x)
{
    const struct hs_picture *p = &d->pic;
    uint32_t(*got)[3] = malloc(MAXM * sizeof(*got)), drawn = 0;

    for (uint32_t v = 0; v < rg->n; v++)
        drawn += x->dist[v] != UINT32_MAX;
    assert_int_equal(p->nnodes, drawn);
    for (uint32_t i = 0; i < p->nnodes; i++) {
        const struct hs_picture_node *n = &p->nodes[i];
        uint32_t v = node_of(p, i);

        assert_int_equal(n->depth, x->dist[v]);
        assert_int_equal(!!(n->flags & HS_PIC_TARGET), x->targets >> v & 1);
        assert_int_equal(!!(n->flags & HS_PIC_MODULE), rg->what[v] == MODULE);
        assert_int_equal(dir == HS_PIC_DIR_REFS ? n->more_refs
                                                : n->more_backrefs,
                         x->more[v]);
        assert_int_equal(
            dir == HS_PIC_DIR_REFS ? n->more_backrefs : n->more_refs, 0);
    }
    assert_same_triples(got, picture_triples(p, got), x->edges, x->nedges);
    assert_int_equal(d->cuts.too_many, x->too_many);
    assert_int_equal(d->cuts.nodes, 0);
    assert_int_equal(d->cuts.edges, 0);
    assert_int_equal(d->cuts.leaf_depth, x->leaf_depth);
    assert_int_equal(d->cuts.leaf_module, x->leaf_module);
    assert_int_equal(d->cuts.leaf_type, x->leaf_type);
    assert_int_equal(d->cuts.leaf_root, x->leaf_root);
    free(got);
}

static void
random_walk_params(struct test_rng *r, const struct rgraph *rg,
                   uint32_t *targets, uint32_t *nt, uint32_t *depth,
                   uint32_t *too_many)
{
    *nt = 1 + test_rng_below(r, 3);
    for (uint32_t i = 0; i < *nt; i++)
        targets[i] = test_rng_below(r, rg->n);
    *depth = test_rng_below(r, 6);
    *too_many = 1 + test_rng_below(r, 6);
}

static void
walk_vs_oracle(enum hs_picture_dir dir)
{
    struct rgraph *rg = malloc(sizeof(*rg));
    struct expect *x = malloc(sizeof(*x));

    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL + dir };
        uint32_t targets[3], nt, depth, too_many;
        struct hs_graph *g;
        struct hs_naming *names;
        struct hs_draw d;

        random_graph(&r, rg);
        random_walk_params(&r, rg, targets, &nt, &depth, &too_many);
        g = build(rg);
        names = hs_naming_new(g);
        hs_draw_init(&d, g, names, 10000);
        assert_int_equal(hs_draw_walk(&d, targets, nt, dir, depth, too_many),
                         0);
        oracle_walk(rg, targets, nt, dir, depth, too_many, x);
        check_walk(rg, &d, dir, x);
        hs_draw_release(&d);
        hs_naming_free(names);
        hs_graph_free(g);
    }
    free(x);
    free(rg);
}

static void
test_draw__refs_random_vs_oracle(void **state)
{
    (void)state;
    walk_vs_oracle(HS_PIC_DIR_REFS);
}

static void
test_draw__backrefs_random_vs_oracle(void **state)
{
    (void)state;
    walk_vs_oracle(HS_PIC_DIR_BACKREFS);
}

/* ---- caps --------------------------------------------------------------- */

/*
 * Both caps against the uncapped walk: with a node cap c the picture holds
 * the first c objects of the uncapped one in the same order, the uncapped
 * edges between them in the same order, and every reference an expanded
 * object lost counted in its box; with an edge cap c, the same objects
 * and the first c edges.
 */
static void
test_draw__caps_cut_the_uncapped_walk(void **state)
{
    struct rgraph *rg = malloc(sizeof(*rg));

    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct test_rng r = { seed * 0xD1B54A32D192ED03ULL };
        enum hs_picture_dir dir =
            seed % 2 ? HS_PIC_DIR_REFS : HS_PIC_DIR_BACKREFS;
        uint32_t targets[3], nt, depth, too_many, cap, k;
        uint64_t refused = 0, lost[MAXN] = { 0 };
        uint8_t seen[MAXN] = { 0 };
        struct hs_graph *g;
        struct hs_naming *names;
        struct hs_draw full, cut, ecut;

        random_graph(&r, rg);
        random_walk_params(&r, rg, targets, &nt, &depth, &too_many);
        depth += 2;
        g = build(rg);
        names = hs_naming_new(g);
        hs_draw_init(&full, g, names, 10000);
        full.pic.max_edges = 100000;
        assert_int_equal(
            hs_draw_walk(&full, targets, nt, dir, depth, too_many), 0);
        cap = 1 + test_rng_below(&r, full.pic.nnodes);
        hs_draw_init(&cut, g, names, cap);
        cut.pic.max_edges = 100000;
        assert_int_equal(hs_draw_walk(&cut, targets, nt, dir, depth, too_many),
                         0);
        assert_int_equal(cut.pic.nnodes, cap);
        for (uint32_t i = 0; i < cap; i++)
            assert_string_equal(cut.pic.nodes[i].key, full.pic.nodes[i].key);
        /* Edges of the full walk that survive, in order; the rest are
         * counted in the box of the object whose expansion drew them. */
        k = 0;
        for (uint32_t e = 0; e < full.pic.nedges; e++) {
            const struct hs_picture_edge *fe = &full.pic.edges[e];
            uint32_t owner = dir == HS_PIC_DIR_REFS ? fe->from : fe->to;
            uint32_t other = dir == HS_PIC_DIR_REFS ? fe->to : fe->from;

            if (owner >= cap)
                continue;
            if (other >= cap) {
                lost[owner]++;
                if (!seen[node_of(&full.pic, other)]++)
                    refused++;
                continue;
            }
            assert_true(k < cut.pic.nedges);
            assert_int_equal(cut.pic.edges[k].from, fe->from);
            assert_int_equal(cut.pic.edges[k].to, fe->to);
            assert_int_equal(cut.pic.edges[k].kind, fe->kind);
            k++;
        }
        assert_int_equal(k, cut.pic.nedges);
        for (uint32_t i = 0; i < nt; i++) {
            int64_t at = index_of(&full.pic, targets[i]);

            if (at >= cap && !seen[targets[i]]++)
                refused++;
        }
        for (uint32_t i = 0; i < cap; i++) {
            const struct hs_picture_node *cn = &cut.pic.nodes[i];
            const struct hs_picture_node *fn = &full.pic.nodes[i];

            assert_int_equal(cn->more_refs + cn->more_backrefs,
                             fn->more_refs + fn->more_backrefs + lost[i]);
        }
        assert_int_equal(cut.cuts.nodes, refused);
        assert_int_equal(cut.pic.nodes_refused, refused);
        k = 0;
        for (uint32_t i = 0; i < cap; i++)
            k += (uint32_t)(full.pic.nodes[i].more_refs +
                            full.pic.nodes[i].more_backrefs);
        assert_int_equal(cut.cuts.too_many, k);

        /* The edge cap. */
        cap = test_rng_below(&r, full.pic.nedges + 1);
        hs_draw_init(&ecut, g, names, 10000);
        ecut.pic.max_edges = cap;
        assert_int_equal(
            hs_draw_walk(&ecut, targets, nt, dir, depth, too_many), 0);
        assert_int_equal(ecut.pic.nnodes, full.pic.nnodes);
        assert_int_equal(ecut.pic.nedges, cap);
        assert_int_equal(ecut.cuts.edges, full.pic.nedges - cap);
        memset(lost, 0, sizeof(lost));
        for (uint32_t e = cap; e < full.pic.nedges; e++) {
            const struct hs_picture_edge *fe = &full.pic.edges[e];

            lost[dir == HS_PIC_DIR_REFS ? fe->from : fe->to]++;
        }
        for (uint32_t e = 0; e < cap; e++) {
            assert_int_equal(ecut.pic.edges[e].from, full.pic.edges[e].from);
            assert_int_equal(ecut.pic.edges[e].to, full.pic.edges[e].to);
        }
        for (uint32_t i = 0; i < full.pic.nnodes; i++) {
            const struct hs_picture_node *cn = &ecut.pic.nodes[i];
            const struct hs_picture_node *fn = &full.pic.nodes[i];

            assert_string_equal(cn->key, fn->key);
            assert_int_equal(cn->depth, fn->depth);
            assert_int_equal(cn->more_refs + cn->more_backrefs,
                             fn->more_refs + fn->more_backrefs + lost[i]);
        }
        hs_draw_release(&ecut);
        hs_draw_release(&cut);
        hs_draw_release(&full);
        hs_naming_free(names);
        hs_graph_free(g);
    }
    free(rg);
}

/* ---- paths -------------------------------------------------------------- */

/*
 * Every reached object's retention path drawn alone is exactly its path;
 * all of them drawn into one picture merge into the union of the paths,
 * each object at its smallest distance to a target.
 */
static void
test_draw__paths_random_vs_bfs(void **state)
{
    struct rgraph *rg = malloc(sizeof(*rg));
    uint32_t path[MAXN], (*want)[3] = malloc(MAXM * sizeof(*want));
    uint32_t(*got)[3] = malloc(MAXM * sizeof(*got));

    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct test_rng r = { seed * 0x94D049BB133111EBULL };
        struct hs_graph *g;
        struct hs_naming *names;
        struct hs_bfs b;
        struct hs_draw all;
        uint32_t best[MAXN], nwant = 0;
        uint8_t edge_in[MAXM] = { 0 };
        uint64_t targets = 0;

        random_graph(&r, rg);
        if (!rg->nroots) {
            rg->nroots = 1;
            rg->roots[0] = 0;
            rg->root_kind[0] = HS_ROOT_MODULE;
        }
        g = build(rg);
        names = hs_naming_new(g);
        hs_bfs_run(g, &b);
        hs_draw_init(&all, g, names, 10000);
        for (uint32_t v = 0; v < g->n; v++)
            best[v] = UINT32_MAX;
        for (uint32_t v = 0; v < g->n; v++) {
            struct hs_draw one;
            uint32_t d, rt, x;

            if (!hs_bfs_reached(&b, v) || b.dist[v] > HS_DRAW_PATH_MAX)
                continue;
            d = b.dist[v];
            rt = hs_bfs_path(g, &b, v, path);
            hs_draw_init(&one, g, names, 10000);
            assert_int_equal(hs_draw_path(&one, rt, path, d), 0);
            assert_int_equal(one.pic.nnodes, d + 1);
            assert_int_equal(one.pic.nedges, d);
            x = g->roots[rt].node;
            for (uint32_t i = 0; i <= d; i++) {
                int64_t at = index_of(&one.pic, x);
                const struct hs_picture_node *n;

                assert_true(at >= 0);
                n = &one.pic.nodes[at];
                assert_int_equal(n->depth, d - i);
                assert_int_equal(!!(n->flags & HS_PIC_TARGET), i == d);
                if (i == 0)
                    assert_true(n->root_kind >= 0);
                if (i < d) {
                    const struct hs_picture_edge *pe = &one.pic.edges[i];

                    assert_int_equal(node_of(&one.pic, pe->from), x);
                    assert_int_equal(pe->kind, g->out_kind[path[i]]);
                    x = g->out_dst[path[i]];
                    assert_int_equal(node_of(&one.pic, pe->to), x);
                }
            }
            hs_draw_release(&one);
            /* The same path into the shared picture, now and then. */
            if (test_rng_below(&r, 3))
                continue;
            assert_int_equal(hs_draw_path(&all, rt, path, d), 0);
            targets |= 1ull << v;
            x = g->roots[rt].node;
            for (uint32_t i = 0; i <= d; i++) {
                if (d - i < best[x])
                    best[x] = d - i;
                if (i < d) {
                    edge_in[path[i]] = 1;
                    x = g->out_dst[path[i]];
                }
            }
        }
        for (uint32_t e = 0; e < g->m; e++) {
            if (!edge_in[e])
                continue;
            want[nwant][0] = hs_graph_edge_src(g, e);
            want[nwant][1] = g->out_dst[e];
            want[nwant++][2] = g->out_kind[e];
        }
        assert_same_triples(got, picture_triples(&all.pic, got), want, nwant);
        for (uint32_t i = 0; i < all.pic.nnodes; i++) {
            uint32_t v = node_of(&all.pic, i);

            assert_int_equal(all.pic.nodes[i].depth, best[v]);
            assert_int_equal(!!(all.pic.nodes[i].flags & HS_PIC_TARGET),
                             targets >> v & 1);
        }
        for (uint32_t v = 0; v < g->n; v++)
            assert_int_equal(index_of(&all.pic, v) >= 0,
                             best[v] != UINT32_MAX);
        hs_draw_release(&all);
        hs_bfs_release(&b);
        hs_naming_free(names);
        hs_graph_free(g);
    }
    free(got);
    free(want);
    free(rg);
}

/* A chain 0 -> 1 -> ... -> n - 1 (attr references), rooted at 0 or not. */
static struct hs_graph *
chain(uint32_t n, int rooted)
{
    uint32_t *src = malloc((n - 1) * sizeof(*src));
    uint32_t *dst = malloc((n - 1) * sizeof(*dst));
    uint32_t root = 0;
    struct hs_graph_spec spec = { n,     n - 1, src,
                                  dst,   NULL,  NULL,
                                  &root, NULL,  rooted ? 1u : 0u };
    struct hs_graph *g;

    for (uint32_t i = 0; i + 1 < n; i++) {
        src[i] = i;
        dst[i] = i + 1;
    }
    g = hs_graph_build(&spec);
    free(src);
    free(dst);
    return g;
}

static void
test_draw__long_path_loses_its_middle(void **state)
{
    struct hs_graph *g = chain(101, 1);
    struct hs_naming *names = hs_naming_new(g);
    struct hs_bfs b;
    struct hs_draw d;
    uint32_t path[100], half = HS_DRAW_PATH_MAX / 2, gaps = 0;
    struct hs_buf text = HS_BUF_INIT;

    (void)state;
    hs_bfs_run(g, &b);
    assert_int_equal(hs_bfs_path(g, &b, 100, path), 0);
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_path(&d, 0, path, 100), 0);
    assert_int_equal(d.pic.nnodes, 2 * (half + 1));
    assert_int_equal(d.pic.nedges, 2 * half + 1);
    assert_int_equal(d.cuts.steps, 100 - 2 * half);
    for (uint32_t v = 0; v <= 100; v++) {
        int64_t at = index_of(&d.pic, v);
        int kept = v <= half || v >= 100 - half;

        assert_int_equal(at >= 0, kept);
        if (kept)
            assert_int_equal(d.pic.nodes[at].depth, 100 - v);
    }
    for (uint32_t e = 0; e < d.pic.nedges; e++) {
        const struct hs_picture_edge *pe = &d.pic.edges[e];

        if (pe->kind != HS_EDGE_OTHER)
            continue;
        gaps++;
        assert_int_equal(node_of(&d.pic, pe->from), half);
        assert_int_equal(node_of(&d.pic, pe->to), 100 - half);
        assert_string_equal(pe->label,
                            "\xE2\x80\xA6 60 more steps \xE2\x80\xA6");
    }
    assert_int_equal(gaps, 1);
    hs_draw_describe(&d, "reference", &text);
    assert_string_equal(text.buf, "42 objects, 41 references; cut: 60 steps "
                                  "in the middle of long paths");
    hs_buf_release(&text);
    hs_draw_release(&d);
    hs_bfs_release(&b);
    hs_naming_free(names);
    hs_graph_free(g);
}

/* ---- unreachable objects and cycles ------------------------------------- */

/* Brute-force distance to v backwards over retaining references between
 * objects the BFS did not reach. */
static void
oracle_back_dist(const struct hs_graph *g, const struct hs_bfs *b, uint32_t v,
                 uint32_t *dist)
{
    int changed = 1;

    for (uint32_t u = 0; u < g->n; u++)
        dist[u] = UINT32_MAX;
    dist[v] = 0;
    while (changed) {
        changed = 0;
        for (uint32_t e = 0; e < g->m; e++) {
            uint32_t s = hs_graph_edge_src(g, e), t = g->out_dst[e];

            if (g->out_kind[e] == HS_EDGE_WEAK || hs_bfs_reached(b, s) ||
                dist[t] == UINT32_MAX || dist[t] + 1 >= dist[s])
                continue;
            dist[s] = dist[t] + 1;
            changed = 1;
        }
    }
}

/* Is there a path from picture node a to b along the picture's edges? */
static int
picture_reaches(const struct hs_picture *p, uint32_t a, uint32_t b)
{
    uint8_t seen[4 * MAXN] = { 0 };
    int changed = 1;

    seen[a] = 1;
    while (changed) {
        changed = 0;
        for (uint32_t e = 0; e < p->nedges; e++) {
            if (seen[p->edges[e].from] && !seen[p->edges[e].to]) {
                seen[p->edges[e].to] = 1;
                changed = 1;
            }
        }
    }
    return seen[b];
}

static int
graph_has_edge(const struct hs_graph *g, uint32_t s, uint32_t t, uint8_t kind)
{
    for (uint32_t e = g->out_off[s]; e < g->out_off[s + 1]; e++) {
        if (g->out_dst[e] == t && g->out_kind[e] == kind)
            return 1;
    }
    return 0;
}

static void
test_draw__holders_random_vs_brute_force(void **state)
{
    struct rgraph *rg = malloc(sizeof(*rg));
    uint32_t dist[MAXN];
    uint32_t checked = 0;

    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct test_rng r = { seed * 0xBF58476D1CE4E5B9ULL };
        struct hs_graph *g;
        struct hs_naming *names;
        struct hs_bfs b;

        random_graph(&r, rg);
        g = build(rg);
        names = hs_naming_new(g);
        hs_bfs_run(g, &b);
        for (uint32_t v = 0; v < g->n; v++) {
            struct hs_unreach_holders h;
            struct hs_draw d;
            int64_t tv;

            if (hs_bfs_reached(&b, v) || test_rng_below(&r, 4))
                continue;
            checked++;
            hs_draw_init(&d, g, names, 10000);
            d.bfs = &b;
            assert_int_equal(hs_draw_holders(&d, v), 0);
            oracle_back_dist(g, &b, v, dist);
            hs_paths_explain_unreachable(g, &b, v, &h);
            tv = index_of(&d.pic, v);
            assert_true(tv >= 0);
            assert_true(d.pic.nodes[tv].flags & HS_PIC_TARGET);
            for (uint32_t i = 0; i < d.pic.nnodes; i++) {
                const struct hs_picture_node *n = &d.pic.nodes[i];
                uint32_t u = node_of(&d.pic, i);

                assert_int_equal(n->depth, dist[u]);
                assert_true(n->flags & HS_PIC_UNREACHABLE);
            }
            for (uint32_t e = 0; e < d.pic.nedges; e++) {
                const struct hs_picture_edge *pe = &d.pic.edges[e];

                if (!strncmp(pe->label, "\xE2\x80\xA6", 3))
                    continue; /* the middle of a long path */
                assert_true(graph_has_edge(g, node_of(&d.pic, pe->from),
                                           node_of(&d.pic, pe->to), pe->kind));
            }
            for (uint32_t c = 0; c < h.ncomp; c++) {
                int reaches = 0;

                for (uint32_t i = h.off[c]; i < h.off[c + 1]; i++) {
                    int64_t at = index_of(&d.pic, h.members[i]);

                    assert_true(at >= 0);
                    reaches |=
                        picture_reaches(&d.pic, (uint32_t)at, (uint32_t)tv);
                }
                assert_true(reaches);
            }
            /* Every reference between drawn objects is drawn, once. */
            for (uint32_t i = 0; i < d.pic.nnodes; i++) {
                uint32_t u = node_of(&d.pic, i), want = 0, have = 0;

                for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++)
                    want += index_of(&d.pic, g->out_dst[e]) >= 0;
                for (uint32_t e = 0; e < d.pic.nedges; e++)
                    have += d.pic.edges[e].from == i &&
                            strncmp(d.pic.edges[e].label, "\xE2\x80\xA6", 3);
                assert_int_equal(have, want);
            }
            hs_unreach_holders_release(&h);
            hs_draw_release(&d);
        }
        hs_bfs_release(&b);
        hs_naming_free(names);
        hs_graph_free(g);
    }
    print_message("# %u unreachable objects drawn with their holders\n",
                  checked);
    assert_true(checked > 1000);
    free(rg);
}

static void
test_draw__components_random_vs_brute_force(void **state)
{
    struct rgraph *rg = malloc(sizeof(*rg));
    uint32_t(*want)[3] = malloc(MAXM * sizeof(*want));
    uint32_t(*got)[3] = malloc(MAXM * sizeof(*got));

    (void)state;
    for (uint64_t seed = 1; seed <= SEEDS; seed++) {
        struct test_rng r = { seed * 0x2545F4914F6CDD1DULL };
        struct hs_graph *g;
        struct hs_naming *names;
        struct hs_scc scc;
        struct hs_draw d;
        uint32_t *ids, count = 0, nwant = 0, dist[MAXN];
        uint8_t drawn[MAXN] = { 0 };

        random_graph(&r, rg);
        g = build(rg);
        names = hs_naming_new(g);
        hs_scc_run(g, NULL, &scc);
        ids = hs_scc_cycles(&scc, &count);
        hs_draw_init(&d, g, names, 10000);
        d.pic.max_edges = 100000;
        for (uint32_t i = 0; i < count; i++)
            assert_int_equal(hs_draw_component(&d, &scc, ids[i]), 0);
        for (uint32_t i = 0; i < count; i++) {
            uint32_t c = ids[i], start = scc.members[scc.off[c]];
            int changed = 1;

            /* Distances from the smallest member inside the component. */
            for (uint32_t k = scc.off[c]; k < scc.off[c + 1]; k++) {
                drawn[scc.members[k]] = 1;
                dist[scc.members[k]] = UINT32_MAX;
            }
            dist[start] = 0;
            while (changed) {
                changed = 0;
                for (uint32_t e = 0; e < g->m; e++) {
                    uint32_t s = hs_graph_edge_src(g, e), t = g->out_dst[e];

                    if (scc.comp[s] != c || scc.comp[t] != c ||
                        dist[s] == UINT32_MAX || dist[s] + 1 >= dist[t])
                        continue;
                    dist[t] = dist[s] + 1;
                    changed = 1;
                }
            }
        }
        for (uint32_t e = 0; e < g->m; e++) {
            uint32_t s = hs_graph_edge_src(g, e), t = g->out_dst[e];

            if (drawn[s] && scc.comp[s] == scc.comp[t]) {
                want[nwant][0] = s;
                want[nwant][1] = t;
                want[nwant++][2] = g->out_kind[e];
            }
        }
        assert_same_triples(got, picture_triples(&d.pic, got), want, nwant);
        for (uint32_t v = 0; v < g->n; v++) {
            int64_t at = index_of(&d.pic, v);

            assert_int_equal(at >= 0, drawn[v]);
            if (at >= 0)
                assert_int_equal(d.pic.nodes[at].depth, dist[v]);
        }
        free(ids);
        hs_draw_release(&d);
        hs_scc_release(&scc);
        hs_naming_free(names);
        hs_graph_free(g);
    }
    free(got);
    free(want);
    free(rg);
}

/* ---- through a snapshot ------------------------------------------------- */

/* The fixture of tests/fixtures/leak.sql, cut down. */
static const char fixture_sql[] =
    "INSERT INTO types VALUES (1, 'type', 'builtins', 'type', 18),"
    " (2, 'module', 'builtins', 'module', 18), (3, 'dict', 'builtins',"
    " 'dict', 18), (4, 'list', 'builtins', 'list', 18), (5, 'str',"
    " 'builtins', 'str', 16), (7, 'Foo', '__main__', 'Foo', 3),"
    " (8, 'CycleNode', '__main__', 'CycleNode', 7), (9, 'ReferenceType',"
    " 'builtins', 'ReferenceType', 18);"
    "INSERT INTO objects VALUES"
    " (1, 4096, 1, 920, 20, NULL, 'type', 4),"
    " (2, 8192, 1, 920, 3, NULL, 'module', 4),"
    " (3, 12288, 1, 920, 5, NULL, 'dict', 4),"
    " (4, 16384, 1, 920, 3, NULL, 'list', 4),"
    " (5, 20480, 1, 920, 12, NULL, 'str', 4),"
    " (6, 24576, 1, 920, 1, NULL, 'int', 4),"
    " (7, 28672, 1, 1072, 6, NULL, 'Foo', 1),"
    " (8, 32768, 1, 1072, 4, NULL, 'CycleNode', 1),"
    " (9, 36864, 1, 920, 2, NULL, 'ReferenceType', 4),"
    " (10, 40960, 2, 72, 2, NULL, '__main__', 1),"
    " (11, 45056, 3, 1200, 1, 2, NULL, 1),"
    " (12, 49152, 5, 54, 2, 5, 'CACHE', 32),"
    " (13, 53248, 4, 88, 1, 1, NULL, 1),"
    " (14, 57344, 7, 48, 2, NULL, NULL, 1),"
    " (15, 61440, 5, 44, 1, 3, 'ann', 0),"
    " (16, 65536, 8, 48, 1, NULL, NULL, 17),"
    " (17, 69632, 8, 48, 1, NULL, NULL, 17),"
    " (18, 73728, 9, 80, 1, NULL, NULL, 1);"
    "INSERT INTO names VALUES (1, '__dict__'), (2, '''CACHE'''),"
    " (3, 'name'), (4, 'peer');"
    "INSERT INTO edge_list VALUES (10, 11, 2, 1), (11, 12, 3, 2),"
    " (11, 13, 1, 2), (13, 14, 0, 0), (14, 15, 2, 3), (14, 7, 8, NULL),"
    " (16, 17, 2, 4), (16, 8, 8, NULL), (17, 16, 2, 4), (17, 8, 8, NULL),"
    " (18, 14, 9, NULL), (11, 18, 1, 2);"
    "INSERT INTO roots VALUES (10, 'module', '__main__', NULL, NULL),"
    " (7, 'external', '2 references', NULL, NULL),"
    " (1, 'static', 's', NULL, NULL), (1, 'external', 'e', NULL, NULL);";

static void
test_draw__objects_and_labels_from_snapshot(void **state)
{
    char *path = test_snapshot_file(fixture_sql);
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);
    struct hs_graph *g = hs_graph_load(s);
    struct hs_naming *names = hs_naming_new(g);
    struct hs_dominators dom;
    struct hs_draw d;
    const struct hs_picture_node *n;
    uint32_t target = 13; /* Foo @14 */
    int64_t at;

    (void)state;
    assert_non_null(names);
    hs_dominators_compute(g, &dom);
    hs_draw_init(&d, g, names, 0);
    d.dom = &dom;
    assert_int_equal(hs_draw_walk(&d, &target, 1, HS_PIC_DIR_BACKREFS, 5, 10),
                     0);
    /* Foo <- list [0] <- dict ['CACHE'] <- module .__dict__; the weakref
     * <- dict ['CACHE'] too (the fixture reuses a name). */
    at = index_of(&d.pic, 13);
    n = &d.pic.nodes[at];
    assert_string_equal(n->key, "o14");
    assert_string_equal(n->type_name, "__main__.Foo");
    assert_null(n->value);
    assert_int_equal(n->refcount, 2);
    assert_int_equal(n->address, 57344);
    assert_int_equal(n->size, 48);
    assert_int_equal(n->retained, dom.retained[13]);
    assert_int_equal(n->flags, HS_PIC_TARGET);
    assert_int_equal(n->root_kind, -1);
    n = &d.pic.nodes[index_of(&d.pic, 12)];
    assert_string_equal(n->type_name, "list");
    assert_string_equal(n->value, "1 item");
    assert_int_equal(n->depth, 1);
    n = &d.pic.nodes[index_of(&d.pic, 9)];
    assert_string_equal(n->type_name, "module");
    assert_string_equal(n->value, "__main__");
    assert_int_equal(n->root_kind, HS_ROOT_MODULE);
    assert_int_equal(n->flags, HS_PIC_MODULE);
    assert_int_equal(d.pic.nnodes, 5);
    for (uint32_t e = 0; e < d.pic.nedges; e++) {
        const struct hs_picture_edge *pe = &d.pic.edges[e];
        uint32_t from = node_of(&d.pic, pe->from);

        if (from == 9)
            assert_string_equal(pe->label, ".__dict__");
        else if (from == 12)
            assert_string_equal(pe->label, "[0]");
        else if (from == 17)
            assert_true(pe->weak && !strcmp(pe->label, "(weak)"));
        else
            assert_string_equal(pe->label, "['CACHE']");
    }
    hs_draw_release(&d);

    /* refs of Foo: its name (a str with a value) and its class (an
     * external root, a type object: a leaf). */
    hs_draw_init(&d, g, names, 0);
    d.dom = &dom;
    assert_int_equal(hs_draw_walk(&d, &target, 1, HS_PIC_DIR_REFS, 5, 10), 0);
    assert_int_equal(d.pic.nnodes, 3);
    n = &d.pic.nodes[index_of(&d.pic, 14)];
    assert_string_equal(n->value, "'ann'");
    n = &d.pic.nodes[index_of(&d.pic, 6)];
    assert_string_equal(n->type_name, "type");
    assert_string_equal(n->value, "Foo");
    assert_int_equal(n->root_kind, HS_ROOT_EXTERNAL);
    assert_int_equal(n->flags, HS_PIC_EXTERNAL);
    hs_draw_release(&d);

    /* The garbage cycle: unreachable, its type defines __del__; the type
     * object of `type` is a static root that is also held externally. */
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_object(&d, 15, 0, 0, NULL), HS_DRAW_ADDED);
    assert_int_equal(hs_draw_object(&d, 15, 0, 0, NULL), HS_DRAW_PRESENT);
    assert_int_equal(hs_draw_object(&d, 0, 0, 0, NULL), HS_DRAW_ADDED);
    n = &d.pic.nodes[0];
    assert_int_equal(n->flags, HS_PIC_HAS_DEL | HS_PIC_UNREACHABLE);
    assert_int_equal(n->retained, HS_PIC_UNKNOWN);
    n = &d.pic.nodes[1];
    assert_int_equal(n->root_kind, HS_ROOT_STATIC);
    assert_int_equal(n->flags, HS_PIC_EXTERNAL);
    hs_draw_release(&d);

    hs_dominators_release(&dom);
    hs_naming_free(names);
    hs_graph_free(g);
    hs_snapshot_close(s);
    unlink(path);
    free(path);
}

static void
test_draw__describe_and_check_output(void **state)
{
    struct hs_graph *g = chain(30, 1);
    struct hs_naming *names = hs_naming_new(g);
    struct hs_buf text = HS_BUF_INIT;
    struct hs_draw d;
    uint32_t target = 0;

    (void)state;
    hs_draw_init(&d, g, names, 5);
    d.too_many_option = "--too-many";
    d.max_nodes_option = "--max-nodes";
    d.cuts.targets = 1234;
    assert_int_equal(hs_draw_walk(&d, &target, 1, HS_PIC_DIR_REFS, 100, 10),
                     0);
    hs_draw_describe(&d, "reference", &text);
    assert_string_equal(text.buf, "5 objects, 4 references; cut: 1,234 more "
                                  "instances beyond --too-many 10, 1 object "
                                  "beyond --max-nodes 5");
    assert_int_equal(d.pic.nodes[4].more_refs, 1);
    hs_buf_release(&text);
    hs_draw_release(&d);

    hs_error_reset();
    assert_int_equal(hs_draw_check_output("-"), 0);
    assert_int_equal(hs_draw_check_output("x.dot"), 0);
    assert_int_equal(hs_draw_check_output("x.bmp"), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_error_reset();
    assert_int_equal(hs_draw_check_output("/no/such/folder/x.dot"), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    hs_error_reset();
    assert_int_equal(hs_draw_check_files("why", NULL, "x.svg"), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_error_reset();
    assert_int_equal(hs_draw_check_files("why", "-", NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_error_reset();
    assert_int_equal(hs_draw_check_files("why", "a.gv", "b.dot"), 0);
    hs_naming_free(names);
    hs_graph_free(g);
}

/* ---- no recursion, big fan-in ------------------------------------------- */

#define BIG 1000000u

static void
test_draw__million_chain(void **state)
{
    struct hs_graph *g = chain(BIG, 1);
    struct hs_naming *names = hs_naming_new(g);
    struct hs_bfs b;
    struct hs_draw d;
    uint32_t first = 0, last = BIG - 1, *path;
    double t0;

    (void)state;
    t0 = hs_now();
    hs_draw_init(&d, g, names, BIG);
    assert_int_equal(hs_draw_walk(&d, &first, 1, HS_PIC_DIR_REFS, BIG, 10), 0);
    assert_int_equal(d.pic.nnodes, BIG);
    assert_int_equal(d.pic.nedges, BIG - 1);
    assert_int_equal(d.pic.nodes[index_of(&d.pic, BIG - 1)].depth, BIG - 1);
    hs_draw_release(&d);
    print_message("# refs down a %u-object chain: %.2f s\n", BIG,
                  hs_now() - t0);

    t0 = hs_now();
    hs_draw_init(&d, g, names, BIG);
    assert_int_equal(hs_draw_walk(&d, &last, 1, HS_PIC_DIR_BACKREFS, BIG, 10),
                     0);
    assert_int_equal(d.pic.nnodes, BIG);
    assert_int_equal(d.pic.nodes[index_of(&d.pic, 0)].depth, BIG - 1);
    hs_draw_release(&d);
    print_message("# backrefs up a %u-object chain: %.2f s\n", BIG,
                  hs_now() - t0);

    /* With the default cap: a thousand objects and the cut counted. */
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_walk(&d, &last, 1, HS_PIC_DIR_BACKREFS, BIG, 10),
                     0);
    assert_int_equal(d.pic.nnodes, HS_PICTURE_MAX_NODES);
    assert_int_equal(d.cuts.nodes, 1);
    hs_draw_release(&d);

    hs_bfs_run(g, &b);
    path = malloc((BIG - 1) * sizeof(*path));
    assert_int_equal(hs_bfs_path(g, &b, BIG - 1, path), 0);
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_path(&d, 0, path, BIG - 1), 0);
    assert_int_equal(d.pic.nnodes, HS_DRAW_PATH_MAX + 2);
    assert_int_equal(d.cuts.steps, BIG - 1 - HS_DRAW_PATH_MAX);
    hs_draw_release(&d);
    free(path);
    hs_bfs_release(&b);
    hs_naming_free(names);
    hs_graph_free(g);
}

static void
test_draw__million_chain_held_by_garbage_cycle(void **state)
{
    /* 1 -> 0 closes a cycle at the head; nothing is rooted, so the last
     * object is held by the cycle a million steps up. */
    uint32_t *src = malloc(BIG * sizeof(*src)),
             *dst = malloc(BIG * sizeof(*dst));
    struct hs_graph_spec spec = {
        BIG, BIG, src, dst, NULL, NULL, NULL, NULL, 0
    };
    struct hs_graph *g;
    struct hs_naming *names;
    struct hs_bfs b;
    struct hs_draw d;
    double t0;

    (void)state;
    for (uint32_t i = 0; i + 1 < BIG; i++) {
        src[i] = i;
        dst[i] = i + 1;
    }
    src[BIG - 1] = 1;
    dst[BIG - 1] = 0;
    g = hs_graph_build(&spec);
    names = hs_naming_new(g);
    hs_bfs_run(g, &b);
    t0 = hs_now();
    hs_draw_init(&d, g, names, 0);
    d.bfs = &b;
    assert_int_equal(hs_draw_holders(&d, BIG - 1), 0);
    /* The target, the two members, the kept ends of the chain between. */
    assert_true(index_of(&d.pic, 0) >= 0 && index_of(&d.pic, 1) >= 0);
    assert_int_equal(d.pic.nodes[index_of(&d.pic, 0)].depth, BIG - 1);
    assert_int_equal(d.pic.nnodes, HS_DRAW_PATH_MAX + 3);
    assert_true(d.cuts.steps > 0);
    print_message("# holders of the end of a %u-object garbage chain: "
                  "%.2f s\n",
                  BIG, hs_now() - t0);
    hs_draw_release(&d);
    hs_bfs_release(&b);
    hs_naming_free(names);
    hs_graph_free(g);
    free(src);
    free(dst);
}

static void
test_draw__huge_fan_in_and_out(void **state)
{
    /* Objects 1..BIG refer to 0, every third one weakly; 0 refers to all
     * of them.  backrefs shows the first ten strong referrers, refs the
     * first ten references; the rest are counted. */
    uint32_t m = 2 * BIG;
    uint32_t *src = malloc(m * sizeof(*src)), *dst = malloc(m * sizeof(*dst));
    uint8_t *kind = malloc(m);
    struct hs_graph_spec spec = { BIG + 1, m,    src,  dst, kind,
                                  NULL,    NULL, NULL, 0 };
    struct hs_graph *g;
    struct hs_naming *names;
    struct hs_draw d;
    uint32_t target = 0, want = 1;
    double t0;

    (void)state;
    for (uint32_t i = 0; i < BIG; i++) {
        src[i] = i + 1;
        dst[i] = 0;
        kind[i] = (i + 1) % 3 == 0 ? HS_EDGE_WEAK : HS_EDGE_VALUE;
        src[BIG + i] = 0;
        dst[BIG + i] = i + 1;
        kind[BIG + i] = HS_EDGE_ITEM;
    }
    g = hs_graph_build(&spec);
    names = hs_naming_new(g);
    t0 = hs_now();
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_walk(&d, &target, 1, HS_PIC_DIR_BACKREFS, 1, 10),
                     0);
    assert_int_equal(d.pic.nnodes, 11);
    assert_int_equal(d.pic.nodes[0].more_backrefs, BIG - 10);
    for (uint32_t i = 1; i < 11; i++) {
        if (want % 3 == 0)
            want++;
        assert_int_equal(node_of(&d.pic, i), want);
        want++;
        assert_int_equal(d.pic.edges[i - 1].kind, HS_EDGE_VALUE);
    }
    hs_draw_release(&d);
    hs_draw_init(&d, g, names, 0);
    assert_int_equal(hs_draw_walk(&d, &target, 1, HS_PIC_DIR_REFS, 1, 10), 0);
    assert_int_equal(d.pic.nnodes, 11);
    assert_int_equal(d.pic.nodes[0].more_refs, BIG - 10);
    assert_int_equal(d.cuts.too_many, BIG - 10);
    hs_draw_release(&d);
    print_message("# refs and backrefs of an object with %u referrers and "
                  "references: %.3f s\n",
                  BIG, hs_now() - t0);
    hs_naming_free(names);
    hs_graph_free(g);
    free(src);
    free(dst);
    free(kind);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_draw__refs_random_vs_oracle),
        cmocka_unit_test(test_draw__backrefs_random_vs_oracle),
        cmocka_unit_test(test_draw__caps_cut_the_uncapped_walk),
        cmocka_unit_test(test_draw__paths_random_vs_bfs),
        cmocka_unit_test(test_draw__long_path_loses_its_middle),
        cmocka_unit_test(test_draw__holders_random_vs_brute_force),
        cmocka_unit_test(test_draw__components_random_vs_brute_force),
        cmocka_unit_test(test_draw__objects_and_labels_from_snapshot),
        cmocka_unit_test(test_draw__describe_and_check_output),
        cmocka_unit_test(test_draw__million_chain),
        cmocka_unit_test(test_draw__million_chain_held_by_garbage_cycle),
        cmocka_unit_test(test_draw__huge_fan_in_and_out),
    };

    return cmocka_run_group_tests_name("draw", tests, NULL, NULL);
}
