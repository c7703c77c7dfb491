/*
 * dominators.c: Semi-NCA dominators over the retaining edges of a heap
 * graph, retained sizes, the dominator tree as a CSR, per-type retained
 * sizes and the accumulation-point walk (dominators.h).
 *
 * The computation works on DFS numbers: the virtual root is number 0 and
 * every node reached from it gets 1, 2, ... in DFS preorder, so that a DFS
 * parent (and every dominator) has a smaller number than its descendants.
 * Working records are indexed by DFS number and hold DFS numbers; only
 * `pre` (node -> number) and `vertex` (number -> node) translate.  Nothing
 * recurses: the DFS keeps its stack in the parent array, and path
 * compression reverses pointers instead of pushing them.
 */
#include "dominators.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

#define NIL UINT32_MAX /* end of a reversed ancestor path */

#if defined(__GNUC__)
#define PREFETCH(addr) __builtin_prefetch(addr)
#else
#define PREFETCH(addr) ((void)0)
#endif

/*
 * Per DFS number, the four words Semi-NCA keeps together: eval() reads
 * anc and label of a random vertex and then the semi of its label, two
 * cache misses with one record per vertex where separate arrays cost
 * three.
 */
struct vrec {
    uint32_t anc;   /* ancestor in the linked forest, path-compressed */
    uint32_t label; /* vertex of minimal semi on the compressed path */
    uint32_t semi;  /* edge cursor during the DFS, then semidominator */
    uint32_t idom;  /* DFS parent, then immediate dominator */
};

/* Working state of one Semi-NCA run. */
struct snca {
    const struct hs_graph *g; /* input (borrowed) */
    uint32_t count;   /* numbered vertices, the virtual root included */
    uint32_t *pre;    /* n: node -> DFS number, valid where seen */
    uint8_t *seen;    /* n bits: numbered; small enough to stay cached */
    uint8_t *is_root; /* n bits: the virtual root points at this node */
    uint32_t *vertex; /* n + 1: DFS number -> node (entry 0 unused) */
    struct vrec *rec; /* n + 1: by DFS number */
    struct hs_progress prog; /* progress line */
    uint64_t done;           /* units of work done, for prog */
};

void
hs_dominators_init(struct hs_dominators *d)
{
    memset(d, 0, sizeof(*d));
}

void
hs_dominators_release(struct hs_dominators *d)
{
    free(d->idom);
    free(d->retained);
    free(d->child_off);
    free(d->child);
    memset(d, 0, sizeof(*d));
}

static uint32_t *
alloc_u32(uint32_t n)
{
    return hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(uint32_t)));
}

static int
bit_test(const uint8_t *bits, uint32_t v)
{
    return (bits[v >> 3] >> (v & 7)) & 1;
}

static void
bit_set(uint8_t *bits, uint32_t v)
{
    bits[v >> 3] |= (uint8_t)(1u << (v & 7));
}

/*
 * Numbers every node reachable from the virtual root in DFS preorder over
 * retaining edges, filling pre, seen, vertex, rec[].idom (the DFS parent)
 * and count.  The stack is implicit: the current path is the chain of DFS
 * parents, and rec[].semi holds each vertex's next out-edge meanwhile (the
 * virtual root's cursor into g->roots is a local).  The visited test reads
 * the n-bit `seen` map, which stays in cache where pre[] would miss on
 * nearly every edge.  O(n + m) time, no extra memory.
 */
static void
snca_dfs(struct snca *s)
{
    const struct hs_graph *g = s->g;
    struct vrec *rec = s->rec;
    uint32_t next_root = 0, cur = 0, count = 1;

    for (;;) {
        uint32_t t;

        if (cur == 0) {
            if (next_root == g->nroots)
                break;
            t = g->roots[next_root++].node;
        } else {
            uint32_t v = s->vertex[cur], e = rec[cur].semi;

            if (e == g->out_off[v + 1]) {
                cur = rec[cur].idom;
                continue;
            }
            rec[cur].semi = e + 1;
            if (!hs_graph_retains(g, g->out_kind[e]))
                continue;
            t = g->out_dst[e];
        }
        if (bit_test(s->seen, t))
            continue;
        bit_set(s->seen, t);
        s->pre[t] = count;
        s->vertex[count] = t;
        rec[count].idom = cur;
        rec[count].semi = g->out_off[t];
        PREFETCH(&g->out_dst[rec[count].semi]);
        PREFETCH(&g->out_kind[rec[count].semi]);
        cur = count++;
        hs_progress_tick(&s->prog, ++s->done);
    }
    s->count = count;
}

/*
 * LT's eval(v) for Semi-NCA: the vertex of minimal semi on the path from v
 * up to (not including) the root of its tree in the forest of vertices
 * numbered >= last, compressing that path on the way.  Vertices below
 * `last` are not linked yet and are their own answer.
 *
 * The path is walked up once with its ancestor pointers reversed, then
 * down again, pointing each vertex at the tree root and carrying the best
 * label downwards: the same result as the usual explicit stack, in no
 * extra memory.  Amortized O(log n).
 */
static uint32_t
snca_eval(struct vrec *rec, uint32_t v, uint32_t last)
{
    uint32_t prev = NIL, cur = v, top, root, best;

    if (rec[v].anc < last)
        return rec[v].label;
    do {
        uint32_t up = rec[cur].anc;

        rec[cur].anc = prev;
        prev = cur;
        cur = up;
    } while (rec[cur].anc >= last);
    top = cur;
    root = rec[top].anc;
    best = rec[top].label;
    for (cur = prev; cur != NIL;) {
        uint32_t down = rec[cur].anc;

        rec[cur].anc = root;
        if (rec[best].semi < rec[rec[cur].label].semi)
            rec[cur].label = best;
        else
            best = rec[cur].label;
        cur = down;
    }
    return rec[v].label;
}

/*
 * Semi-NCA's second pass: idom(w) is the nearest ancestor of w's DFS
 * parent, in the dominator tree built so far, whose number is at most
 * semi(w).  Walking up one idom at a time is what makes plain Semi-NCA
 * quadratic when many vertices hang below a long chain (a 100,000-node
 * linked list whose items are also referenced from elsewhere costs
 * billions of steps).  So each vertex also gets a jump pointer (Myers'
 * skew-binary scheme: jump(v) is jump(jump(p)) when p's two jumps span
 * equal depths, else p), and the walk takes a jump whenever it cannot
 * pass the answer; numbers only decrease going up, so that test is just
 * "number >= semi(w)".  O(log n) per vertex.
 *
 * The jump pointer and depth live in the anc and label fields, which the
 * semidominator pass no longer needs; rec[w] of a vertex this loop has
 * not reached yet still holds its DFS parent and semidominator.
 */
static void
snca_nca(struct snca *s)
{
    struct vrec *rec = s->rec;

    rec[0].anc = 0;   /* jump */
    rec[0].label = 0; /* depth */
    for (uint32_t w = 1; w < s->count; w++) {
        uint32_t c = rec[w].idom, sw = rec[w].semi, j;

        while (c > sw) {
            j = rec[c].anc;
            c = j >= sw ? j : rec[c].idom;
        }
        rec[w].idom = c;
        rec[w].label = rec[c].label + 1;
        j = rec[c].anc;
        rec[w].anc =
            rec[c].label - rec[j].label == rec[j].label - rec[rec[j].anc].label
                ? rec[j].anc
                : c;
        hs_progress_tick(&s->prog, ++s->done);
    }
}

/* How far ahead the semidominator loop prefetches, in vertices and in
 * predecessors: enough to overlap a few cache misses, no more. */
#define AHEAD 8

/*
 * Semidominators in reverse preorder, then each idom as the nearest common
 * ancestor of the DFS parent and the semidominator, walking up the idoms
 * already known (Semi-NCA).  A root node has the virtual root among its
 * predecessors, which makes its semidominator 0 at once.
 */
static void
snca_dominators(struct snca *s)
{
    const struct hs_graph *g = s->g;
    struct vrec *rec = s->rec;
    uint32_t count = s->count;

    for (uint32_t i = 0; i < count; i++) {
        rec[i].anc = rec[i].idom;
        rec[i].semi = i;
        rec[i].label = i;
    }
    for (uint32_t w = count - 1; w >= 1; w--) {
        uint32_t v = s->vertex[w], end = g->in_off[v + 1];
        uint32_t sw = bit_test(s->is_root, v) ? 0 : rec[w].idom;

        if (w > AHEAD)
            PREFETCH(&g->in_off[s->vertex[w - AHEAD]]);
        /* Once sw is 0 no predecessor can lower it; skipping the rest
         * only forgoes some path compression, which is an optimization.
         * This is what keeps roots with millions of referrers cheap. */
        for (uint32_t i = g->in_off[v]; i < end && sw; i++) {
            uint32_t src, p, u;

            if (i + AHEAD < end)
                PREFETCH(&s->pre[hs_graph_in_src(g, i + AHEAD)]);
            if (!hs_graph_in_retains(g, i))
                continue;
            src = hs_graph_in_src(g, i);
            if (!bit_test(s->seen, src))
                continue; /* a referrer no root reaches */
            p = s->pre[src];
            u = snca_eval(rec, p, w + 1);
            if (rec[u].semi < sw)
                sw = rec[u].semi;
        }
        rec[w].semi = sw;
        hs_progress_tick(&s->prog, ++s->done);
    }
    snca_nca(s);
}

/*
 * Translates the DFS-numbered idoms into the node-indexed result, frees
 * the records, then sums retained sizes bottom-up: in reverse preorder
 * every vertex comes before its idom, so one sweep adds each finished
 * subtree to its parent.  O(n).
 */
static void
snca_result(struct snca *s, struct hs_dominators *out)
{
    const struct hs_graph *g = s->g;
    uint32_t n = g->n;

    out->idom = alloc_u32(n);
    for (uint32_t v = 0; v < n; v++)
        out->idom[v] = HS_DOM_UNREACHABLE;
    for (uint32_t w = 1; w < s->count; w++) {
        uint32_t d = s->rec[w].idom;

        out->idom[s->vertex[w]] = d ? s->vertex[d] : HS_DOM_ROOT;
    }
    HS_FREE_AND_NULL(s->rec);

    out->retained = hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(uint64_t)));
    for (uint32_t v = 0; v < n; v++) {
        out->retained[v] = g->size[v];
        if (out->idom[v] == HS_DOM_UNREACHABLE) {
            out->unreachable++;
            out->unreachable_bytes += g->size[v];
        }
    }
    for (uint32_t w = s->count - 1; w >= 1; w--) {
        uint32_t v = s->vertex[w], p = out->idom[v];

        if (p == HS_DOM_ROOT)
            out->reachable_bytes += out->retained[v];
        else
            out->retained[p] += out->retained[v];
    }
    out->reachable = s->count - 1;
}

void
hs_dominators_compute(const struct hs_graph *g, struct hs_dominators *out)
{
    struct snca s;
    uint32_t n = g->n;
    double start = hs_now();

    hs_dominators_init(out);
    out->n = n;
    memset(&s, 0, sizeof(s));
    s.g = g;
    s.pre = alloc_u32(n);
    s.seen = hs_xcalloc((size_t)n / 8 + 1, 1);
    s.is_root = hs_xcalloc((size_t)n / 8 + 1, 1);
    s.vertex = alloc_u32(n + 1);
    s.rec = hs_xmalloc(hs_st_mult((size_t)n + 1, sizeof(*s.rec)));
    s.rec[0].idom = 0;
    for (uint32_t i = 0; i < g->nroots; i++)
        bit_set(s.is_root, g->roots[i].node);
    hs_progress_start(&s.prog, "computing dominators", 3 * (uint64_t)n);
    snca_dfs(&s);
    snca_dominators(&s);
    HS_FREE_AND_NULL(s.pre);
    HS_FREE_AND_NULL(s.seen);
    HS_FREE_AND_NULL(s.is_root);
    snca_result(&s, out);
    free(s.vertex);
    hs_progress_end(&s.prog);
    out->origin = HS_DOM_COMPUTED;
    out->seconds = hs_now() - start;
}

/* ---- the dominator tree ------------------------------------------------ */

/*
 * Builds child_off / child by a counting sort of the nodes by idom, slot n
 * standing for the virtual root.  Filling advances child_off[s] from the
 * start of slot s to its end, which one shift turns back into offsets, so
 * no cursor array is needed.  O(n) time, 8 bytes per node.
 */
static void
build_children(struct hs_dominators *d)
{
    uint32_t n = d->n;
    uint32_t *off = hs_xcalloc((size_t)n + 2, sizeof(uint32_t));
    uint32_t *child = alloc_u32(d->reachable);

    for (uint32_t v = 0; v < n; v++) {
        uint32_t p = d->idom[v];

        if (p != HS_DOM_UNREACHABLE)
            off[(p == HS_DOM_ROOT ? n : p) + 1]++;
    }
    for (uint32_t s = 0; s <= n; s++)
        off[s + 1] += off[s];
    for (uint32_t s = n + 1; s > 0; s--)
        off[s] = off[s - 1];
    off[0] = 0;
    /* Now off[s + 1] is the start of slot s: fill advances it to the end. */
    for (uint32_t v = 0; v < n; v++) {
        uint32_t p = d->idom[v];

        if (p != HS_DOM_UNREACHABLE)
            child[off[(p == HS_DOM_ROOT ? n : p) + 1]++] = v;
    }
    d->child_off = off;
    d->child = child;
}

uint32_t
hs_dominators_children(struct hs_dominators *d, uint32_t v,
                       const uint32_t **out)
{
    uint32_t slot = v == HS_DOM_ROOT ? d->n : v;

    *out = NULL;
    if (slot > d->n)
        return 0;
    if (!d->child_off)
        build_children(d);
    *out = d->child + d->child_off[slot];
    return d->child_off[slot + 1] - d->child_off[slot];
}

uint32_t
hs_dominators_accumulation_point(struct hs_dominators *d, uint32_t v,
                                 double ratio)
{
    uint32_t cur = v;

    for (;;) {
        const uint32_t *kids;
        uint32_t nkids, best = NIL;
        uint64_t total;

        if (cur != HS_DOM_ROOT && cur >= d->n)
            return cur;
        total = cur == HS_DOM_ROOT ? d->reachable_bytes : d->retained[cur];
        if (total == 0)
            return cur;
        nkids = hs_dominators_children(d, cur, &kids);
        for (uint32_t i = 0; i < nkids; i++) {
            if (best == NIL || d->retained[kids[i]] > d->retained[best])
                best = kids[i];
        }
        if (best == NIL || (double)d->retained[best] < ratio * (double)total)
            return cur;
        cur = best;
    }
}

/*
 * Depth-first over the dominator tree from the virtual root: enter(arg, c)
 * when the walk comes down to c, leave(arg, c) when it goes back up, so
 * that between the two the path from the root to c is "active".  Explicit
 * stack (one word per level).  O(n).
 */
static void
dom_tree_walk(struct hs_dominators *d, void (*enter)(void *, uint32_t),
              void (*leave)(void *, uint32_t), void *arg)
{
    uint32_t *stack = NULL; /* per level: next child position */
    size_t depth = 0, alloc = 0;
    uint32_t n = d->n, cur = n; /* slot n: the virtual root */
    const uint32_t *unused;

    hs_dominators_children(d, HS_DOM_ROOT, &unused);
    HS_ALLOC_GROW(stack, 1, alloc);
    stack[depth++] = d->child_off[n];
    while (depth) {
        uint32_t pos = stack[depth - 1];

        if (pos < d->child_off[cur + 1]) {
            uint32_t c = d->child[pos];

            stack[depth - 1] = pos + 1;
            enter(arg, c);
            HS_ALLOC_GROW(stack, depth + 1, alloc);
            stack[depth++] = d->child_off[c];
            cur = c;
        } else {
            depth--;
            if (cur != n) {
                leave(arg, cur);
                cur = d->idom[cur] == HS_DOM_ROOT ? n : d->idom[cur];
            }
        }
    }
    free(stack);
}

/* hs_dominators_outermost()'s walk: members on the path from the root. */
struct member_walk {
    const uint8_t *member;
    uint8_t *out;
    uint32_t active;
};

static void
member_enter(void *arg, uint32_t c)
{
    struct member_walk *w = arg;

    if (w->member[c]) {
        w->out[c] = w->active == 0;
        w->active++;
    }
}

static void
member_leave(void *arg, uint32_t c)
{
    struct member_walk *w = arg;

    w->active -= w->member[c] != 0;
}

void
hs_dominators_outermost(struct hs_dominators *d, const uint8_t *member,
                        uint8_t *out)
{
    struct member_walk w = { member, out, 0 };

    memset(out, 0, d->n);
    dom_tree_walk(d, member_enter, member_leave, &w);
    for (uint32_t v = 0; v < d->n; v++) {
        if (d->idom[v] == HS_DOM_UNREACHABLE && member[v])
            out[v] = 1;
    }
}

/* hs_dominators_outermost_by_group()'s walk: per group, its members on
 * the path from the root. */
struct group_walk {
    const uint32_t *group;
    uint32_t *active; /* per group */
    uint8_t *out;
};

static void
group_enter(void *arg, uint32_t c)
{
    struct group_walk *w = arg;
    uint32_t k = w->group[c];

    if (k != UINT32_MAX) {
        w->out[c] = w->active[k] == 0;
        w->active[k]++;
    }
}

static void
group_leave(void *arg, uint32_t c)
{
    struct group_walk *w = arg;

    if (w->group[c] != UINT32_MAX)
        w->active[w->group[c]]--;
}

void
hs_dominators_outermost_by_group(struct hs_dominators *d,
                                 const uint32_t *group, uint32_t ngroups,
                                 uint8_t *out)
{
    struct group_walk w;

    w.group = group;
    w.active = hs_xcalloc(ngroups ? ngroups : 1, sizeof(*w.active));
    w.out = out;
    memset(out, 0, d->n);
    dom_tree_walk(d, group_enter, group_leave, &w);
    for (uint32_t v = 0; v < d->n; v++) {
        if (d->idom[v] == HS_DOM_UNREACHABLE && group[v] != UINT32_MAX)
            out[v] = 1;
    }
    free(w.active);
}

uint64_t *
hs_dominators_key_retained(struct hs_dominators *d, const uint32_t *key,
                           uint32_t nkeys)
{
    uint64_t *bytes = hs_xcalloc(nkeys ? nkeys : 1, sizeof(uint64_t));
    uint8_t *outer = hs_xmalloc(d->n ? d->n : 1);

    /* Each group's outermost members retain all of its nested ones. */
    hs_dominators_outermost_by_group(d, key, nkeys, outer);
    for (uint32_t v = 0; v < d->n; v++)
        if (outer[v])
            bytes[key[v]] += d->retained[v];
    free(outer);
    return bytes;
}

uint64_t *
hs_dominators_type_retained(const struct hs_graph *g, struct hs_dominators *d)
{
    return hs_dominators_key_retained(d, g->type, g->ntypes);
}
