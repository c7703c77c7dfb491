/*
 * paths.c: retention paths (paths.h): the grouping of many BFS paths by
 * shape, and the explanation of unreachable objects by the reference
 * cycles that hold them.
 *
 * Grouping visits each BFS tree node on the targets' paths once, memoizing
 * its shape in one n-sized array; shapes are interned in a trie kept in an
 * open-addressing hash table, so a step costs one lookup and a shared
 * prefix is stored once.  Edge names (edge_list.arg) are not part of the
 * graph: grouping fetches only those its shapes show.  The explanation of
 * an unreachable object allocates in proportion to its ancestors only.
 */
#include "paths.h"
#include "scc.h"

#include <stdlib.h>
#include <string.h>

/* ---- path shapes ---------------------------------------------------------- */

/* Does an edge of this kind carry a names.id in edge_list.arg?  (The
 * schema's edge_kinds.arg = 'name' rows; the graph does not load that
 * column, and a kind this inspector does not know shows no name.) */
static int
kind_is_named(uint8_t kind)
{
    return kind == HS_EDGE_VALUE || kind == HS_EDGE_ATTR ||
           kind == HS_EDGE_KEY || kind == HS_EDGE_LOCAL ||
           kind == HS_EDGE_CLOSURE;
}

/*
 * A trie node: the shape of a path prefix.  Top-level nodes (parent
 * HS_BFS_NONE) hold the root kind in `kind` and the root object's type;
 * the others one step.  count/bytes/example aggregate the targets whose
 * whole path has exactly this shape.
 */
struct shape {
    uint32_t parent;  /* trie parent, HS_BFS_NONE at the top */
    uint32_t arg;     /* step name (0 if wild or nameless) */
    uint32_t type;    /* type of the object reached */
    uint8_t kind;     /* edge kind, or root kind at the top */
    uint8_t wild;     /* position wildcarded */
    uint8_t repeat;   /* k > 0: the k steps ending here were taken
                         several times in a row (a repeated segment) */
    uint32_t depth;   /* steps from the top */
    uint32_t tset[HS_PATHS_TYPES];   /* a wild step (type HS_PATHS_ANY):
                                        the types met there, */
    uint32_t tcount[HS_PATHS_TYPES]; /* how often each, */
    uint32_t ntypes;                 /* how many distinct (may exceed
                                        HS_PATHS_TYPES: the rest not kept) */
    uint32_t top;     /* the top shape above it (itself at the top) */
    uint32_t count;   /* targets ending here */
    uint32_t example; /* smallest such target */
    uint64_t bytes;   /* their shallow bytes */
};

/* The trie plus its hash index: slot holds a shape index or HS_BFS_NONE. */
struct shape_set {
    struct shape *shapes;
    uint32_t nshapes;
    size_t alloc;
    uint32_t *slot; /* open addressing, linear probing */
    uint32_t mask;  /* slots - 1; slots is a power of two */
};

static uint64_t
mix64(uint64_t x)
{
    /* splitmix64's finalizer: every input bit reaches every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ULL;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebULL;
    x ^= x >> 31;
    return x;
}

static uint64_t
shape_hash(uint32_t parent, uint8_t kind, uint8_t wild, uint32_t arg,
           uint32_t type)
{
    uint64_t h = mix64(((uint64_t)parent << 32) | type);

    return mix64(h ^ (((uint64_t)arg << 16) | ((uint64_t)kind << 8) | wild));
}

static void
shape_set_init(struct shape_set *s)
{
    memset(s, 0, sizeof(*s));
    s->mask = 255;
    s->slot = hs_xmalloc(((size_t)s->mask + 1) * sizeof(*s->slot));
    memset(s->slot, 0xFF, ((size_t)s->mask + 1) * sizeof(*s->slot));
}

static void
shape_set_release(struct shape_set *s)
{
    HS_FREE_AND_NULL(s->shapes);
    HS_FREE_AND_NULL(s->slot);
}

/* Doubles the index when it is half full.  O(shapes). */
static void
shape_set_grow(struct shape_set *s)
{
    uint32_t mask = s->mask * 2 + 1;

    free(s->slot);
    s->slot = hs_xmalloc(hs_st_mult((size_t)mask + 1, sizeof(*s->slot)));
    memset(s->slot, 0xFF, ((size_t)mask + 1) * sizeof(*s->slot));
    s->mask = mask;
    for (uint32_t i = 0; i < s->nshapes; i++) {
        const struct shape *p = &s->shapes[i];
        uint64_t h = shape_hash(p->parent, p->kind, p->wild, p->arg, p->type);
        uint32_t j = (uint32_t)h & mask;

        while (s->slot[j] != HS_BFS_NONE)
            j = (j + 1) & mask;
        s->slot[j] = i;
    }
}

static int
same_step(const struct shape *p, uint8_t kind, uint8_t wild, uint32_t arg,
          uint32_t type)
{
    return p->kind == kind && p->wild == wild && p->arg == arg &&
           p->type == type;
}

/* The shape extending `parent` by one step, created on first use; a
 * `final` step (a target's own, keeping its type at a wild position)
 * never folds into a repeated segment.  O(HS_PATHS_PERIOD^2) expected. */
static uint32_t
shape_intern(struct shape_set *s, uint32_t parent, uint8_t kind, uint8_t wild,
             uint32_t arg, uint32_t type, int final)
{
    uint32_t j = (uint32_t)shape_hash(parent, kind, wild, arg, type) & s->mask;
    struct shape *p;

    /* Down a linked list or a tree the same segment of steps comes
     * again: the same shape, so every level shares one.  Segments of 1 to
     * HS_PATHS_PERIOD steps are recognised (x x; a b a b; .__dict__ →
     * ['children'] → [*] three times over on 3.8-3.10); only steps count,
     * never the root.  A wild step's type is HS_PATHS_ANY, so a tree with
     * a different class at each level repeats too. */
    if (!final && parent != HS_BFS_NONE) {
        for (uint32_t k = 1; k <= HS_PATHS_PERIOD; k++) {
            uint32_t a = parent, b, i;

            if (s->shapes[parent].depth < 2 * k - 1)
                break;
            /* a: the step k back, where the segment's first copy ends. */
            for (i = 1; i < k; i++)
                a = s->shapes[a].parent;
            if (!same_step(&s->shapes[a], kind, wild, arg, type))
                continue;
            /* The k - 1 steps before the new one equal the k - 1 before
             * a, in order. */
            b = parent;
            {
                uint32_t x = s->shapes[a].parent;

                for (i = 1; i < k; i++) {
                    const struct shape *q = &s->shapes[x];

                    if (!same_step(&s->shapes[b], q->kind, q->wild, q->arg,
                                   q->type))
                        break;
                    b = s->shapes[b].parent;
                    x = q->parent;
                }
            }
            if (i < k)
                continue;
            if (!s->shapes[a].repeat)
                s->shapes[a].repeat = (uint8_t)k;
            return a;
        }
    }
    for (; s->slot[j] != HS_BFS_NONE; j = (j + 1) & s->mask) {
        p = &s->shapes[s->slot[j]];
        if (p->parent == parent && p->kind == kind && p->wild == wild &&
            p->arg == arg && p->type == type)
            return s->slot[j];
    }
    HS_ALLOC_GROW(s->shapes, (size_t)s->nshapes + 1, s->alloc);
    p = &s->shapes[s->nshapes];
    memset(p, 0, sizeof(*p));
    p->parent = parent;
    p->kind = kind;
    p->wild = wild;
    p->arg = arg;
    p->type = type;
    p->depth = parent == HS_BFS_NONE ? 0 : s->shapes[parent].depth + 1;
    p->top = parent == HS_BFS_NONE ? s->nshapes : s->shapes[parent].top;
    p->example = HS_BFS_NONE;
    s->slot[j] = s->nshapes++;
    if ((size_t)s->nshapes * 2 > (size_t)s->mask + 1)
        shape_set_grow(s);
    return s->nshapes - 1;
}

/* Counts type t at wild shape p. */
static void
shape_add_type(struct shape *p, uint32_t t)
{
    uint32_t k;

    for (k = 0; k < HS_PATHS_TYPES && k < p->ntypes; k++) {
        if (p->tset[k] == t) {
            p->tcount[k]++;
            return;
        }
    }
    if (p->ntypes < HS_PATHS_TYPES) {
        p->tset[p->ntypes] = t;
        p->tcount[p->ntypes] = 1;
    }
    p->ntypes++; /* past HS_PATHS_TYPES: counted, not kept */
}

/* Edge names that grouping needs, sorted by edge number, no duplicates. */
struct edge_names {
    uint32_t *edge; /* edge numbers, ascending */
    uint32_t *arg;  /* edge_list.arg of each, 0 for NULL */
    uint32_t n;
};

static int
u32_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    return x < y ? -1 : x > y;
}

/* The name of edge e: from edge_arg, from the fetched names, or 0. */
static uint32_t
edge_name(const uint32_t *edge_arg, const struct edge_names *names, uint32_t e)
{
    uint32_t lo = 0, hi = names->n;

    if (edge_arg)
        return edge_arg[e];
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (names->edge[mid] < e)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < names->n && names->edge[lo] == e ? names->arg[lo] : 0;
}

/* Sort keys of a group, so that qsort needs no context. */
struct group_key {
    uint64_t bytes;
    uint32_t count;
    uint32_t example;
    uint32_t shape; /* trie node, or HS_BFS_NONE for the unreachable group */
};

static int
group_key_cmp(const void *a, const void *b)
{
    const struct group_key *x = a, *y = b;

    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    if (x->count != y->count)
        return x->count > y->count ? -1 : 1;
    /* Groups are disjoint, so examples never tie. */
    return x->example < y->example ? -1 : x->example > y->example;
}

/*
 * The BFS tree nodes on the targets' paths, each once: node[] holds
 * segments, each running from a target up to its root or to just below
 * the first node an earlier segment already holds.  So, reading segment
 * by segment and each one backwards, a node always comes after its tree
 * parent.  memo[] (one entry per graph node) marks the nodes taken, and
 * later holds each one's shape.
 */
struct tree_walk {
    uint32_t *memo;   /* n: HS_BFS_NONE, WALK_TAKEN, or a shape index */
    uint32_t *node;   /* walked nodes */
    uint32_t *parent; /* their tree parents, HS_BFS_NONE for roots */
    uint8_t *wild;    /* their parent edge's position is wildcarded */
    uint32_t *seg;    /* nseg + 1 segment starts in node[] */
    uint32_t n, nseg;
    size_t alloc, palloc, walloc, salloc;
};

#define WALK_TAKEN (HS_BFS_NONE - 1)

/* tree_walk.wild: a value of a wide dict, wild unless the dict is an
 * object's __dict__. */
#define WILD_UNLESS_INSTANCE_DICT 2

/* Takes the tree paths of every reached target.  O(T + P log n) for T
 * targets and P distinct nodes on their paths. */
static void
walk_paths(const struct hs_graph *g, const struct hs_bfs *b,
           const uint32_t *targets, uint32_t ntargets, struct tree_walk *w)
{
    w->memo = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(uint32_t)));
    memset(w->memo, 0xFF, (size_t)g->n * sizeof(uint32_t));
    HS_ALLOC_GROW(w->seg, 1, w->salloc);
    w->seg[0] = 0;
    for (uint32_t i = 0; i < ntargets; i++) {
        uint32_t x = targets[i];

        if (!hs_bfs_reached(b, x) || w->memo[x] != HS_BFS_NONE)
            continue;
        while (w->memo[x] == HS_BFS_NONE) {
            uint32_t e = b->parent_edge[x], up = HS_BFS_NONE;
            uint8_t wild = 0;

            if (b->dist[x]) {
                uint8_t kind = g->out_kind[e];

                up = hs_graph_edge_src(g, e);
                wild = kind == HS_EDGE_ITEM || kind == HS_EDGE_OTHER;
                /* A wide dict is a collection, unless it is an object's
                 * __dict__: decided once names are known (WILD_UNLESS). */
                if (kind == HS_EDGE_VALUE &&
                    g->out_off[up + 1] - g->out_off[up] > HS_PATHS_RECORD_MAX)
                    wild = WILD_UNLESS_INSTANCE_DICT;
            }
            HS_ALLOC_GROW(w->node, (size_t)w->n + 1, w->alloc);
            HS_ALLOC_GROW(w->parent, (size_t)w->n + 1, w->palloc);
            HS_ALLOC_GROW(w->wild, (size_t)w->n + 1, w->walloc);
            w->memo[x] = WALK_TAKEN;
            w->node[w->n] = x;
            w->parent[w->n] = up;
            w->wild[w->n++] = wild;
            if (up == HS_BFS_NONE)
                break;
            x = up;
        }
        HS_ALLOC_GROW(w->seg, (size_t)w->nseg + 2, w->salloc);
        w->seg[++w->nseg] = w->n;
    }
}

static void
tree_walk_release(struct tree_walk *w)
{
    HS_FREE_AND_NULL(w->memo);
    HS_FREE_AND_NULL(w->node);
    HS_FREE_AND_NULL(w->parent);
    HS_FREE_AND_NULL(w->wild);
    HS_FREE_AND_NULL(w->seg);
}

/* The sorted edges whose names some shape shows.  Tree edges are
 * distinct, so there are no duplicates.  O(P log P). */
static void
needed_names(const struct hs_graph *g, const struct hs_bfs *b,
             const struct tree_walk *w, struct edge_names *names)
{
    names->edge = hs_xmalloc(hs_st_mult(w->n ? w->n : 1, sizeof(uint32_t)));
    names->n = 0;
    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t e = b->parent_edge[w->node[i]];

        if (w->parent[i] != HS_BFS_NONE && w->wild[i] != 1 &&
            kind_is_named(g->out_kind[e]))
            names->edge[names->n++] = e;
    }
    qsort(names->edge, names->n, sizeof(uint32_t), u32_cmp);
    names->arg = hs_xcalloc(names->n ? names->n : 1, sizeof(uint32_t));
}

/* Gives every walked node its shape, parents first; dict_name is the
 * names.id of "__dict__" (0: unknown).  O(P) lookups. */
static void
shape_paths(const struct hs_graph *g, const struct hs_bfs *b,
            const uint32_t *edge_arg, const struct edge_names *names,
            uint32_t dict_name, struct tree_walk *w, struct shape_set *set)
{
    for (uint32_t sg = 0; sg < w->nseg; sg++) {
        for (uint32_t k = w->seg[sg + 1]; k > w->seg[sg]; k--) {
            uint32_t x = w->node[k - 1], up = w->parent[k - 1];
            uint32_t e = b->parent_edge[x], arg = 0;
            uint8_t kind;

            if (up == HS_BFS_NONE) {
                uint8_t rk = g->roots[b->root[x]].kind;

                /* Paths from different modules are different stories;
                 * other roots group by kind and type. */
                w->memo[x] = shape_intern(set, HS_BFS_NONE, rk, 0,
                                          rk == HS_ROOT_MODULE ? x + 1 : 0,
                                          g->type[x], 0);
                continue;
            }
            kind = g->out_kind[e];
            if (w->wild[k - 1] == WILD_UNLESS_INSTANCE_DICT) {
                uint32_t de = b->parent_edge[up];

                w->wild[k - 1] =
                    !(dict_name && b->dist[up] &&
                      g->out_kind[de] == HS_EDGE_ATTR &&
                      edge_name(edge_arg, names, de) == dict_name);
            }
            if (!w->wild[k - 1] && kind_is_named(kind))
                arg = edge_name(edge_arg, names, e);
            w->memo[x] = shape_intern(set, w->memo[up], kind, w->wild[k - 1],
                                      arg,
                                      w->wild[k - 1] ? HS_PATHS_ANY
                                                     : g->type[x],
                                      0);

        }
    }
}

/* The types of shape p, most frequent first (ties: lower type first),
 * into step->types; step->type is the first.  O(HS_PATHS_TYPES^2). */
static void
sort_types(const struct shape *p, struct hs_path_step *step)
{
    uint32_t n = p->ntypes < HS_PATHS_TYPES ? p->ntypes : HS_PATHS_TYPES;
    uint32_t t[HS_PATHS_TYPES], c[HS_PATHS_TYPES];

    if (p->type != HS_PATHS_ANY || !n) {
        step->types[0] = p->type;
        return;
    }
    memcpy(t, p->tset, sizeof(t));
    memcpy(c, p->tcount, sizeof(c));
    for (uint32_t i = 1; i < n; i++) {
        for (uint32_t j = i; j > 0 && (c[j] > c[j - 1] ||
                                       (c[j] == c[j - 1] && t[j] < t[j - 1]));
             j--) {
            uint32_t x = t[j], y = c[j];

            t[j] = t[j - 1];
            c[j] = c[j - 1];
            t[j - 1] = x;
            c[j - 1] = y;
        }
    }
    for (uint32_t i = 0; i < n; i++)
        step->types[i] = t[i];
    step->type = t[0];
}

/* Turns the shapes that end some target's path into sorted groups, and
 * hands the trie over to `out`.  O(S + G log G). */
static void
build_groups(struct shape_set *set, const struct group_key *unreach,
             uint32_t ntargets, struct hs_path_groups *out)
{
    struct group_key *keys;
    uint32_t *group_of_shape, ngroups = 0;

    keys = hs_xmalloc(hs_st_mult((size_t)set->nshapes + 1, sizeof(*keys)));
    for (uint32_t i = 0; i < set->nshapes; i++) {
        const struct shape *p = &set->shapes[i];

        if (!p->count)
            continue;
        keys[ngroups].bytes = p->bytes;
        keys[ngroups].count = p->count;
        keys[ngroups].example = p->example;
        keys[ngroups++].shape = i;
    }
    if (unreach->count)
        keys[ngroups++] = *unreach;
    qsort(keys, ngroups, sizeof(*keys), group_key_cmp);

    out->ngroups = ngroups;
    out->groups = hs_xcalloc(ngroups ? ngroups : 1, sizeof(*out->groups));
    out->nshapes = set->nshapes;
    out->shapes = hs_xmalloc(
        hs_st_mult(set->nshapes ? set->nshapes : 1, sizeof(*out->shapes)));
    for (uint32_t i = 0; i < set->nshapes; i++) {
        const struct shape *p = &set->shapes[i];
        struct hs_path_shape *q = &out->shapes[i];

        q->parent = p->parent;
        q->depth = p->depth;
        q->step.kind = p->kind;
        q->step.wild = p->wild;
        q->step.arg = p->arg;
        q->step.type = p->type;
        q->step.repeat = p->repeat;
        q->step.ntypes = p->type == HS_PATHS_ANY ? p->ntypes : 1;
        sort_types(p, &q->step);
    }
    group_of_shape =
        hs_xmalloc(hs_st_mult((size_t)set->nshapes + 1, sizeof(uint32_t)));
    for (uint32_t k = 0; k < ngroups; k++) {
        struct hs_path_group *gr = &out->groups[k];
        uint32_t s = keys[k].shape, top;

        gr->bytes = keys[k].bytes;
        gr->count = keys[k].count;
        gr->example = keys[k].example;
        gr->shape = s;
        if (s == HS_BFS_NONE) {
            gr->unreachable = 1;
            gr->root_kind = HS_ROOT_OTHER;
            gr->root_type = HS_BFS_NONE;
            gr->root_node = HS_BFS_NONE;
            group_of_shape[set->nshapes] = k;
            continue;
        }
        group_of_shape[s] = k;
        gr->nsteps = set->shapes[s].depth;
        top = set->shapes[s].top;
        gr->root_kind = set->shapes[top].kind;
        gr->root_type = set->shapes[top].type;
        gr->root_node = set->shapes[top].arg ? set->shapes[top].arg - 1
                                             : HS_BFS_NONE;
    }
    /* group_of holds each target's shape until here. */
    for (uint32_t i = 0; i < ntargets; i++) {
        uint32_t s = out->group_of[i];

        out->group_of[i] = group_of_shape[s == HS_BFS_NONE ? set->nshapes : s];
    }
    free(group_of_shape);
    free(keys);
}

/* The types met at each wild shape, counting the nodes on the way to a
 * target (a target's own type is its final step's, target_shape()).
 * O(P); n / 8 bytes while it runs. */
static void
count_types(const struct hs_graph *g, const struct tree_walk *w,
            struct shape_set *set)
{
    uint8_t *inner = hs_xcalloc((size_t)g->n / 8 + 1, 1);

    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t up = w->parent[i];

        if (up != HS_BFS_NONE)
            inner[up / 8] |= (uint8_t)(1u << (up % 8));
    }
    for (uint32_t i = 0; i < w->n; i++) {
        uint32_t x = w->node[i];
        struct shape *p = &set->shapes[w->memo[x]];

        if (p->type == HS_PATHS_ANY && (inner[x / 8] & (1u << (x % 8)))) {
            shape_add_type(p, g->type[x]);
            inner[x / 8] &= (uint8_t)~(1u << (x % 8)); /* once */
        }
    }
    free(inner);
}

/* The shape of target v's own path: its memoized shape, but at a wild
 * position with v's own type (the object asked about is never "any
 * type") as a final step that does not fold.  O(1) expected. */
static uint32_t
target_shape(const struct hs_graph *g, const struct hs_bfs *b,
             const struct tree_walk *w, struct shape_set *set, uint32_t v)
{
    uint32_t s = w->memo[v], e, up;

    if (!b->dist[v] || set->shapes[s].type != HS_PATHS_ANY)
        return s;
    e = b->parent_edge[v];
    up = hs_graph_edge_src(g, e);
    return shape_intern(set, w->memo[up], g->out_kind[e], 1, 0, g->type[v],
                        1);
}

int
hs_paths_group(const struct hs_graph *g, const struct hs_bfs *b,
               const uint32_t *targets, uint32_t ntargets,
               const uint32_t *edge_arg, struct hs_path_groups *out)
{
    struct tree_walk w;
    struct edge_names names = { NULL, NULL, 0 };
    struct shape_set set;
    struct group_key unreach = { 0, 0, HS_BFS_NONE, HS_BFS_NONE };
    uint32_t dict_name = 0;
    int ret = -1;

    memset(out, 0, sizeof(*out));
    memset(&w, 0, sizeof(w));
    walk_paths(g, b, targets, ntargets, &w);
    if (!edge_arg) {
        needed_names(g, b, &w, &names);
        if (g->snap && names.n &&
            hs_graph_edge_args(g, names.edge, names.n, names.arg) < 0)
            goto out;
    }
    if (hs_graph_name_id(g, "__dict__", &dict_name) < 0)
        goto out;
    shape_set_init(&set);
    shape_paths(g, b, edge_arg, &names, dict_name, &w, &set);
    count_types(g, &w, &set);

    out->group_of = hs_xmalloc(hs_st_mult(ntargets ? ntargets : 1, 4));
    for (uint32_t i = 0; i < ntargets; i++) {
        uint32_t v = targets[i], s;

        if (!hs_bfs_reached(b, v)) {
            unreach.count++;
            unreach.bytes += g->size[v];
            if (v < unreach.example)
                unreach.example = v;
            out->group_of[i] = HS_BFS_NONE;
            continue;
        }
        s = target_shape(g, b, &w, &set, v);
        set.shapes[s].count++;
        set.shapes[s].bytes += g->size[v];
        if (v < set.shapes[s].example)
            set.shapes[s].example = v;
        out->group_of[i] = s;
    }
    build_groups(&set, &unreach, ntargets, out);
    shape_set_release(&set);
    ret = 0;
out:
    tree_walk_release(&w);
    free(names.edge);
    free(names.arg);
    return ret;
}

uint32_t
hs_path_groups_steps(const struct hs_path_groups *pg, uint32_t k,
                     struct hs_path_step *steps)
{
    const struct hs_path_group *gr = &pg->groups[k];
    uint32_t s = gr->shape;

    for (uint32_t d = gr->nsteps; d > 0; d--) {
        steps[d - 1] = pg->shapes[s].step;
        s = pg->shapes[s].parent;
    }
    return gr->nsteps;
}

void
hs_path_groups_release(struct hs_path_groups *pg)
{
    HS_FREE_AND_NULL(pg->groups);
    HS_FREE_AND_NULL(pg->shapes);
    HS_FREE_AND_NULL(pg->group_of);
    pg->ngroups = 0;
    pg->nshapes = 0;
}

/* ---- unreachable objects -------------------------------------------------- */

/* node -> local id, open addressing; keys[j] == HS_BFS_NONE is empty. */
struct node_map {
    uint32_t *keys;
    uint32_t *vals;
    uint32_t mask;  /* slots - 1 */
    uint32_t count; /* entries */
};

static void
node_map_init(struct node_map *m, uint32_t slots)
{
    m->mask = slots - 1;
    m->count = 0;
    m->keys = hs_xmalloc(hs_st_mult(slots, sizeof(uint32_t)));
    m->vals = hs_xmalloc(hs_st_mult(slots, sizeof(uint32_t)));
    memset(m->keys, 0xFF, (size_t)slots * sizeof(uint32_t));
}

static void
node_map_release(struct node_map *m)
{
    HS_FREE_AND_NULL(m->keys);
    HS_FREE_AND_NULL(m->vals);
}

static uint32_t
node_map_slot(const struct node_map *m, uint32_t key)
{
    uint32_t j = (uint32_t)mix64(key) & m->mask;

    while (m->keys[j] != HS_BFS_NONE && m->keys[j] != key)
        j = (j + 1) & m->mask;
    return j;
}

/* The local id of `key`, or HS_BFS_NONE. */
static uint32_t
node_map_get(const struct node_map *m, uint32_t key)
{
    uint32_t j = node_map_slot(m, key);

    return m->keys[j] == key ? m->vals[j] : HS_BFS_NONE;
}

/* Adds key -> val (key absent); doubles when half full. */
static void
node_map_put(struct node_map *m, uint32_t key, uint32_t val)
{
    uint32_t j = node_map_slot(m, key);

    m->keys[j] = key;
    m->vals[j] = val;
    if (++m->count * 2 > m->mask + 1) {
        struct node_map bigger;

        node_map_init(&bigger, (m->mask + 1) * 2);
        for (uint32_t i = 0; i <= m->mask; i++) {
            if (m->keys[i] != HS_BFS_NONE) {
                uint32_t k = node_map_slot(&bigger, m->keys[i]);

                bigger.keys[k] = m->keys[i];
                bigger.vals[k] = m->vals[i];
            }
        }
        bigger.count = m->count;
        node_map_release(m);
        *m = bigger;
    }
}

/* A key component with its sort keys. */
struct holder_key {
    uint64_t bytes; /* total shallow size */
    uint32_t flags; /* HS_SCC_* */
    uint32_t first; /* smallest member */
    uint32_t comp;  /* local component id */
};

static int
holder_key_cmp(const void *a, const void *b)
{
    const struct holder_key *x = a, *y = b;
    int cx = !!(x->flags & HS_SCC_CYCLE), cy = !!(y->flags & HS_SCC_CYCLE);

    if (cx != cy)
        return cx > cy ? -1 : 1;
    if (x->bytes != y->bytes)
        return x->bytes > y->bytes ? -1 : 1;
    return x->first < y->first ? -1 : x->first > y->first;
}

void
hs_paths_explain_unreachable(const struct hs_graph *g, const struct hs_bfs *b,
                             uint32_t v, struct hs_unreach_holders *out)
{
    struct node_map map;
    uint32_t *anc = NULL, *off = NULL, *adj = NULL, *comp, *cursor;
    size_t anc_alloc = 0, off_alloc = 0, adj_alloc = 0, nadj = 0;
    uint32_t na = 1, ncomp, nkey = 0;
    struct holder_key *keys;
    uint8_t *outside;

    memset(out, 0, sizeof(*out));
    if (hs_bfs_reached(b, v))
        return;

    /* Reverse BFS over unreached retainers.  The queue is the ancestor
     * list itself, and since ancestors are expanded in local-id order,
     * each one's retainers form the next run of the local reverse CSR. */
    node_map_init(&map, 64);
    HS_ALLOC_GROW(anc, 1, anc_alloc);
    anc[0] = v;
    node_map_put(&map, v, 0);
    for (uint32_t i = 0; i < na; i++) {
        uint32_t x = anc[i];

        HS_ALLOC_GROW(off, (size_t)i + 1, off_alloc);
        off[i] = (uint32_t)nadj;
        for (uint32_t j = g->in_off[x]; j < g->in_off[x + 1]; j++) {
            uint32_t y = hs_graph_in_src(g, j), ly;

            if (!hs_graph_in_retains(g, j) || hs_bfs_reached(b, y))
                continue;
            ly = node_map_get(&map, y);
            if (ly == HS_BFS_NONE) {
                ly = na++;
                HS_ALLOC_GROW(anc, na, anc_alloc);
                anc[ly] = y;
                node_map_put(&map, y, ly);
            }
            HS_ALLOC_GROW(adj, nadj + 1, adj_alloc);
            adj[nadj++] = ly;
        }
    }
    HS_ALLOC_GROW(off, (size_t)na + 1, off_alloc);
    off[na] = (uint32_t)nadj;
    node_map_release(&map);
    out->nancestors = na;

    /* Components of the reversed ancestor graph are those of the graph.
     * A component is key when no retainer of a member lies outside it. */
    comp = hs_xmalloc(hs_st_mult(na, sizeof(*comp)));
    ncomp = hs_scc_csr(na, off, adj, comp);
    outside = hs_xcalloc(ncomp, 1);
    keys = hs_xcalloc(ncomp, sizeof(*keys));
    for (uint32_t c = 0; c < ncomp; c++)
        keys[c].first = HS_BFS_NONE;
    for (uint32_t x = 0; x < na; x++) {
        struct holder_key *k = &keys[comp[x]];

        k->bytes += g->size[anc[x]];
        if (k->first != HS_BFS_NONE)
            k->flags |= HS_SCC_CYCLE; /* a second member */
        if (anc[x] < k->first)
            k->first = anc[x];
        if (g->flags[anc[x]] & HS_OBJ_HAS_DEL)
            k->flags |= HS_SCC_HAS_DEL;
        for (uint32_t j = off[x]; j < off[x + 1]; j++) {
            if (adj[j] == x)
                k->flags |= HS_SCC_SELF_LOOP | HS_SCC_CYCLE;
            else if (comp[adj[j]] != comp[x])
                outside[comp[x]] = 1;
        }
    }
    for (uint32_t c = 0; c < ncomp; c++) {
        keys[c].comp = c;
        if (!outside[c])
            keys[nkey++] = keys[c];
    }
    qsort(keys, nkey, sizeof(*keys), holder_key_cmp);

    /* Members of the key components, in the sorted order. */
    out->ncomp = nkey;
    out->off = hs_xcalloc((size_t)nkey + 1, sizeof(*out->off));
    out->bytes = hs_xmalloc(hs_st_mult(nkey ? nkey : 1, 8));
    out->flags = hs_xmalloc(hs_st_mult(nkey ? nkey : 1, 4));
    cursor = hs_xmalloc(hs_st_mult(ncomp, sizeof(*cursor)));
    memset(cursor, 0xFF, (size_t)ncomp * sizeof(*cursor));
    for (uint32_t k = 0; k < nkey; k++) {
        cursor[keys[k].comp] = k; /* rank of the component, for now */
        out->bytes[k] = keys[k].bytes;
        out->flags[k] = keys[k].flags;
    }
    for (uint32_t x = 0; x < na; x++) {
        if (cursor[comp[x]] != HS_BFS_NONE)
            out->off[cursor[comp[x]] + 1]++;
    }
    for (uint32_t k = 0; k < nkey; k++)
        out->off[k + 1] += out->off[k];
    out->members = hs_xmalloc(
        hs_st_mult(out->off[nkey] ? out->off[nkey] : 1, sizeof(uint32_t)));
    for (uint32_t k = 0; k < nkey; k++)
        cursor[keys[k].comp] = out->off[k];
    for (uint32_t x = 0; x < na; x++) {
        if (!outside[comp[x]])
            out->members[cursor[comp[x]]++] = anc[x];
    }
    for (uint32_t k = 0; k < nkey; k++)
        qsort(out->members + out->off[k], out->off[k + 1] - out->off[k],
              sizeof(uint32_t), u32_cmp);

    free(cursor);
    free(keys);
    free(outside);
    free(comp);
    free(anc);
    free(off);
    free(adj);
}

void
hs_unreach_holders_release(struct hs_unreach_holders *h)
{
    HS_FREE_AND_NULL(h->off);
    HS_FREE_AND_NULL(h->members);
    HS_FREE_AND_NULL(h->bytes);
    HS_FREE_AND_NULL(h->flags);
    h->ncomp = 0;
    h->nancestors = 0;
}
