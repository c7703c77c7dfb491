/*
 * draw.c: pictures of parts of the heap graph (draw.h): objects and
 * references as picture nodes and edges, the neighbourhood walks of refs
 * and backrefs, retention paths, the holders of unreachable objects, cycle
 * components, and writing the result.
 *
 * Owns, per struct hs_draw, side arrays indexed by dense node id (built on
 * first use): the picture index of every node (4 bytes per node), a bitmap
 * of type objects, the roots sorted by node, and a hash set of the graph
 * edges already drawn.  Invariants: pic_of[v] is a valid picture index,
 * DRAW_ABSENT or DRAW_REFUSED; an edge is in the set only if the picture
 * holds it.  Nothing here recurses: walks use explicit queues.
 */
#include "draw.h"
#include "render_path.h"

#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

/* pic_of[] values that are not picture indices (pictures stay far below
 * 2^32 - 2 nodes: their cap is a uint32_t set by the caller). */
#define DRAW_ABSENT  UINT32_MAX
#define DRAW_REFUSED (UINT32_MAX - 1)

/* ---- life cycle --------------------------------------------------------- */

void
hs_draw_init(struct hs_draw *d, struct hs_graph *g, struct hs_naming *names,
             uint32_t max_nodes)
{
    memset(d, 0, sizeof(*d));
    d->g = g;
    d->names = names;
    hs_picture_init(&d->pic, max_nodes);
    d->pic.legend = 1;
}

void
hs_draw_release(struct hs_draw *d)
{
    hs_picture_release(&d->pic);
    HS_FREE_AND_NULL(d->pic_of);
    HS_FREE_AND_NULL(d->type_node);
    HS_FREE_AND_NULL(d->meta);
    HS_FREE_AND_NULL(d->root_keys);
    HS_FREE_AND_NULL(d->edge_slots);
    d->nroot_keys = 0;
    d->nedge_slots = 0;
    d->nedges_set = 0;
}

/* ---- what an object is -------------------------------------------------- */

static void
need_pic_of(struct hs_draw *d)
{
    size_t n = d->g->n ? d->g->n : 1;

    if (d->pic_of)
        return;
    d->pic_of = hs_xmalloc(hs_st_mult(n, sizeof(*d->pic_of)));
    memset(d->pic_of, 0xFF, n * sizeof(*d->pic_of));
}

/* The picture index of a drawn node, or DRAW_ABSENT / DRAW_REFUSED. */
static uint32_t
drawn_index(const struct hs_draw *d, uint32_t v)
{
    return d->pic_of ? d->pic_of[v] : DRAW_ABSENT;
}

static int
is_drawn(const struct hs_draw *d, uint32_t v)
{
    return drawn_index(d, v) < DRAW_REFUSED;
}

/*
 * Type objects: the objects of the types table, and every instance of a
 * metatype (the type of such an object), which covers classes that have
 * no instances.  A row whose object is of its own type is only `type`
 * itself; other such rows (graphs built without a snapshot give every node
 * type 0, whose object is node 0) describe nothing and are skipped.
 * O(n / 8 + ntypes) bytes, built once.
 */
static void
need_type_index(struct hs_draw *d)
{
    const struct hs_graph *g = d->g;

    if (d->type_node)
        return;
    d->type_node = hs_xcalloc((size_t)g->n / 8 + 1, 1);
    d->meta = hs_xcalloc(g->ntypes ? g->ntypes : 1, 1);
    for (uint32_t k = 0; k < g->ntypes; k++) {
        uint32_t node = g->types[k].node;

        if (node >= g->n ||
            (g->type[node] == k && strcmp(g->types[k].name, "type")))
            continue;
        d->type_node[node / 8] |= (uint8_t)(1u << (node % 8));
        d->meta[g->type[node]] = 1;
    }
}

static int
is_type_object(struct hs_draw *d, uint32_t v)
{
    need_type_index(d);
    return (d->type_node[v / 8] >> (v % 8) & 1) || d->meta[d->g->type[v]];
}

static int
is_module(const struct hs_graph *g, uint32_t v)
{
    const struct hs_type *t = hs_graph_type_of(g, v);

    return !strcmp(t->name, "module") &&
           (!t->module || !strcmp(t->module, "builtins"));
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/*
 * The preferred root kind holding v (g->roots is sorted by preference, so
 * the smallest root index), or -1; *external says whether an external root
 * holds it too.  O(log R) after an O(R log R) sort on first use.
 */
static int
root_of(struct hs_draw *d, uint32_t v, int *external)
{
    const struct hs_graph *g = d->g;
    uint64_t key = (uint64_t)v << 32;
    uint32_t lo = 0, hi;
    int kind = -1;

    if (!d->root_keys) {
        d->root_keys = hs_xmalloc(
            hs_st_mult(g->nroots ? g->nroots : 1, sizeof(uint64_t)));
        for (uint32_t r = 0; r < g->nroots; r++)
            d->root_keys[r] = (uint64_t)g->roots[r].node << 32 | r;
        d->nroot_keys = g->nroots;
        qsort(d->root_keys, d->nroot_keys, sizeof(uint64_t), u64_cmp);
    }
    hi = d->nroot_keys;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (d->root_keys[mid] < key)
            lo = mid + 1;
        else
            hi = mid;
    }
    *external = 0;
    for (; lo < d->nroot_keys && d->root_keys[lo] >> 32 == v; lo++) {
        const struct hs_root *r = &g->roots[(uint32_t)d->root_keys[lo]];

        if (kind < 0)
            kind = r->kind;
        *external |= r->kind == HS_ROOT_EXTERNAL;
    }
    return kind;
}

/* Does no root reach v?  The dominators' verdict, else the BFS's, else
 * the agent's flag. */
static int
is_unreachable(const struct hs_draw *d, uint32_t v)
{
    if (d->dom)
        return d->dom->idom[v] == HS_DOM_UNREACHABLE;
    if (d->bfs)
        return !hs_bfs_reached(d->bfs, v);
    return (d->g->flags[v] & HS_OBJ_UNREACHABLE) != 0;
}

/* The short value line: "'abc'", "42", "3 items", or nothing.  objgraph
 * spells lengths without parentheses. */
static void
value_text(struct hs_draw *d, uint32_t v, const struct hs_objfacts *f,
           struct hs_buf *out)
{
    if (f->value || (d->g->flags[v] & HS_OBJ_REDACTED) ||
        !strcmp(hs_graph_type_of(d->g, v)->name, "frame"))
        hs_naming_value(d->names, v, out);
    else if (f->length >= 0)
        hs_buf_addf(out, "%" PRId64 " item%s", f->length,
                    f->length == 1 ? "" : "s");
}

int
hs_draw_object(struct hs_draw *d, uint32_t v, uint32_t depth, unsigned flags,
               uint32_t *index)
{
    const struct hs_graph *g = d->g;
    struct hs_picture_node node = HS_PICTURE_NODE_INIT;
    struct hs_buf value = HS_BUF_INIT, site = HS_BUF_INIT;
    char key[32], type[256];
    uint32_t slot, idx = 0;
    int rc, external = 0;

    need_pic_of(d);
    slot = d->pic_of[v];
    if (slot == DRAW_REFUSED)
        return HS_DRAW_REFUSED;
    if (slot != DRAW_ABSENT) {
        struct hs_picture_node *n = &d->pic.nodes[slot];

        n->flags |= flags;
        if (depth < n->depth)
            n->depth = depth;
        if (index)
            *index = slot;
        return HS_DRAW_PRESENT;
    }
    snprintf(key, sizeof(key), "o%" PRId64, hs_graph_object_id(v));
    node.key = key;
    node.type_name =
        hs_type_display_name(hs_graph_type_of(g, v), type, sizeof(type));
    /* A full picture refuses the node anyway: skip the snapshot probe but
     * let the picture count the refusal for its title. */
    if (d->pic.nnodes < d->pic.max_nodes) {
        struct hs_objfacts f;

        if (hs_naming_facts(d->names, v, &f) < 0)
            return -1;
        value_text(d, v, &f, &value);
        node.value = value.len ? value.buf : NULL;
        node.refcount = f.refcount;
        hs_objfacts_release(&f);
        if (hs_naming_site(d->names, v, &site))
            node.site = site.buf;
        node.object_id = hs_graph_object_id(v);
        node.address = g->address[v];
        node.size = g->size[v];
        node.retained = d->dom ? d->dom->retained[v] : HS_PIC_UNKNOWN;
        node.depth = depth;
        node.root_kind = root_of(d, v, &external);
        node.flags = flags;
        if (is_module(g, v))
            node.flags |= HS_PIC_MODULE;
        if ((hs_graph_type_of(g, v)->flags & HS_TYPE_HAS_DEL) ||
            (g->flags[v] & HS_OBJ_HAS_DEL))
            node.flags |= HS_PIC_HAS_DEL;
        if (is_unreachable(d, v))
            node.flags |= HS_PIC_UNREACHABLE;
        if (external)
            node.flags |= HS_PIC_EXTERNAL;
    }
    rc = hs_picture_add_node(&d->pic, &node, &idx);
    hs_buf_release(&value);
    hs_buf_release(&site);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        d->pic_of[v] = DRAW_REFUSED;
        d->cuts.nodes++;
        return HS_DRAW_REFUSED;
    }
    d->pic_of[v] = idx;
    if (index)
        *index = idx;
    return HS_DRAW_ADDED;
}

/* ---- references --------------------------------------------------------- */

static uint32_t
edge_hash(uint32_t e)
{
    /* Knuth's multiplicative hash: edge numbers are dense and clustered. */
    return e * 2654435761u;
}

static int
edge_set_has(const struct hs_draw *d, uint32_t e)
{
    uint32_t mask = d->nedge_slots - 1;

    if (!d->nedge_slots)
        return 0;
    for (uint32_t i = edge_hash(e) & mask; d->edge_slots[i];
         i = (i + 1) & mask) {
        if (d->edge_slots[i] == e + 1)
            return 1;
    }
    return 0;
}

/* Adds e (not yet present); keeps the load factor at or below 1/2. */
static void
edge_set_add(struct hs_draw *d, uint32_t e)
{
    uint32_t mask;

    if ((uint64_t)(d->nedges_set + 1) * 2 > d->nedge_slots) {
        uint32_t old = d->nedge_slots, *slots = d->edge_slots;

        d->nedge_slots = old ? old * 2 : 64;
        d->edge_slots = hs_xcalloc(d->nedge_slots, sizeof(*d->edge_slots));
        mask = d->nedge_slots - 1;
        for (uint32_t s = 0; s < old; s++) {
            uint32_t i;

            if (!slots[s])
                continue;
            for (i = edge_hash(slots[s] - 1) & mask; d->edge_slots[i];
                 i = (i + 1) & mask)
                ;
            d->edge_slots[i] = slots[s];
        }
        free(slots);
    }
    mask = d->nedge_slots - 1;
    {
        uint32_t i = edge_hash(e) & mask;

        while (d->edge_slots[i])
            i = (i + 1) & mask;
        d->edge_slots[i] = e + 1;
    }
    d->nedges_set++;
}

int
hs_draw_reference(struct hs_draw *d, uint32_t src, uint32_t e)
{
    const struct hs_graph *g = d->g;
    uint32_t dst = g->out_dst[e];
    uint8_t kind = g->out_kind[e];
    struct hs_buf label = HS_BUF_INIT;
    int rc;

    if (!is_drawn(d, src) || !is_drawn(d, dst))
        return hs_error(HS_EXIT_INTERNAL,
                        "drawing reference %u: object @%" PRId64
                        " or @%" PRId64 " is not drawn",
                        e, hs_graph_object_id(src), hs_graph_object_id(dst));
    if (edge_set_has(d, e))
        return HS_DRAW_PRESENT;
    hs_naming_edge(d->names, e, &label);
    rc = hs_picture_add_edge(&d->pic, d->pic_of[src], d->pic_of[dst],
                             label.buf, (enum hs_edge_kind)kind,
                             !hs_graph_retains(g, kind));
    hs_buf_release(&label);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        d->cuts.edges++;
        return HS_DRAW_REFUSED;
    }
    edge_set_add(d, e);
    return HS_DRAW_ADDED;
}

/*
 * The edge number of entry i of v's reverse CSR.  Entries of one source
 * are adjacent and in edge order, so entry i is the k-th edge src -> v
 * where k counts the entries of the same source before it.  Cost: that
 * run plus the out-degree of the source.
 */
static uint32_t
in_edge_number(const struct hs_graph *g, uint32_t v, uint32_t i)
{
    uint32_t src = hs_graph_in_src(g, i), k = 0;

    for (uint32_t j = i; j > g->in_off[v] && hs_graph_in_src(g, j - 1) == src;
         j--)
        k++;
    for (uint32_t e = g->out_off[src]; e < g->out_off[src + 1]; e++) {
        if (g->out_dst[e] == v && k-- == 0)
            return e;
    }
    return UINT32_MAX; /* unreachable: the reverse CSR mirrors the edges */
}

/* ---- the neighbourhood walk --------------------------------------------- */

/* A growable queue of graph nodes. */
struct queue {
    uint32_t *v;
    size_t head, tail, alloc;
};

static void
queue_push(struct queue *q, uint32_t v)
{
    HS_ALLOC_GROW(q->v, q->tail + 1, q->alloc);
    q->v[q->tail++] = v;
}

/* Does backrefs stop at this drawn node?  At roots, except external ones:
 * something inside the heap may hold such an object too. */
static int
stops_backrefs(const struct hs_picture_node *n)
{
    return n->root_kind >= 0 && n->root_kind != HS_ROOT_EXTERNAL;
}

/*
 * One neighbour of an expanded node: draw it (queueing it when new) and
 * the reference; what a cap refuses goes to *more.  0, or -1.
 */
static int
walk_step(struct hs_draw *d, struct queue *q, uint32_t src, uint32_t e,
          uint32_t other, uint32_t depth, uint64_t *more)
{
    int rc = hs_draw_object(d, other, depth, 0, NULL);

    if (rc < 0)
        return -1;
    if (rc == HS_DRAW_REFUSED) {
        (*more)++;
        return 0;
    }
    if (rc == HS_DRAW_ADDED)
        queue_push(q, other);
    rc = hs_draw_reference(d, src, e);
    if (rc < 0)
        return -1;
    if (rc == HS_DRAW_REFUSED)
        (*more)++;
    return 0;
}

/*
 * Draws the first `too_many` referrers of u (retaining ones first, then
 * weak ones; by source within each) and returns how many were drawn or
 * refused in *shown.  O(in-degree) plus in_edge_number() per referrer
 * shown.
 */
static int
walk_referrers(struct hs_draw *d, struct queue *q, uint32_t u, uint32_t depth,
               uint32_t too_many, uint64_t *more, uint64_t *shown)
{
    const struct hs_graph *g = d->g;

    *shown = 0;
    for (int pass = 0; pass < 2; pass++) {
        for (uint32_t i = g->in_off[u]; i < g->in_off[u + 1]; i++) {
            uint32_t src, e;

            if (*shown >= too_many)
                return 0;
            if (hs_graph_in_retains(g, i) != (pass == 0))
                continue;
            src = hs_graph_in_src(g, i);
            e = in_edge_number(g, u, i);
            if (e == UINT32_MAX)
                return hs_error(HS_EXIT_INTERNAL,
                                "the reverse index of object @%" PRId64
                                " does not match its references",
                                hs_graph_object_id(u));
            if (walk_step(d, q, src, e, src, depth, more) < 0)
                return -1;
            (*shown)++;
        }
    }
    return 0;
}

/* Why the walk leaves a drawn node unexpanded; 0 if it expands it. */
static int
walk_leaf(struct hs_draw *d, uint32_t u, enum hs_picture_dir dir,
          uint32_t depth)
{
    const struct hs_picture_node *n = &d->pic.nodes[d->pic_of[u]];

    if (n->depth >= depth) {
        d->cuts.leaf_depth++;
        return 1;
    }
    if (n->flags & HS_PIC_TARGET)
        return 0;
    if (n->flags & HS_PIC_MODULE) {
        d->cuts.leaf_module++;
        return 1;
    }
    if (dir == HS_PIC_DIR_REFS && is_type_object(d, u)) {
        d->cuts.leaf_type++;
        return 1;
    }
    if (dir == HS_PIC_DIR_BACKREFS && stops_backrefs(n)) {
        d->cuts.leaf_root++;
        return 1;
    }
    return 0;
}

int
hs_draw_walk(struct hs_draw *d, const uint32_t *targets, uint32_t ntargets,
             enum hs_picture_dir dir, uint32_t depth, uint32_t too_many)
{
    const struct hs_graph *g = d->g;
    struct queue q = { NULL, 0, 0, 0 };
    int rc = -1;

    d->pic.dir = dir;
    d->pic.max_depth = depth;
    d->too_many = too_many;
    for (uint32_t i = 0; i < ntargets; i++) {
        int added = hs_draw_object(d, targets[i], 0, HS_PIC_TARGET, NULL);

        if (added < 0)
            goto out;
        if (added == HS_DRAW_ADDED)
            queue_push(&q, targets[i]);
    }
    while (q.head < q.tail) {
        uint32_t u = q.v[q.head++], du;
        uint64_t more = 0, shown, degree;

        degree = dir == HS_PIC_DIR_REFS ? g->out_off[u + 1] - g->out_off[u]
                                        : g->in_off[u + 1] - g->in_off[u];
        if (!degree || walk_leaf(d, u, dir, depth))
            continue;
        du = d->pic.nodes[d->pic_of[u]].depth;
        if (dir == HS_PIC_DIR_REFS) {
            uint32_t first = g->out_off[u];

            shown = degree < too_many ? degree : too_many;
            for (uint32_t e = first; e < first + shown; e++) {
                if (walk_step(d, &q, u, e, g->out_dst[e], du + 1, &more) < 0)
                    goto out;
            }
        } else if (walk_referrers(d, &q, u, du + 1, too_many, &more, &shown) <
                   0) {
            goto out;
        }
        d->cuts.too_many += degree - shown;
        more += degree - shown;
        if (more && hs_picture_add_more(&d->pic, d->pic_of[u], dir, more) < 0)
            goto out;
    }
    rc = 0;
out:
    free(q.v);
    return rc;
}

/* ---- paths -------------------------------------------------------------- */

/*
 * `X .__dict__ → dict ['name'] → V` drawn as the text says it, one edge
 * `.name` from X to V (the instance dict is no box of its own): when e1
 * is an object's `.__dict__` and e2 a key of it that reads as an
 * attribute, draws V (depth, flags) and the edge and returns
 * STEP_MERGED (or HS_DRAW_REFUSED when the picture is full); else 0 and
 * draws nothing; -1 after an error.
 */
#define STEP_MERGED 3
static int
draw_attribute_step(struct hs_draw *d, uint32_t prev, uint32_t e1,
                    uint32_t e2, uint32_t depth, unsigned flags)
{
    const struct hs_graph *g = d->g;
    struct hs_buf label = HS_BUF_INIT;
    uint32_t dst = g->out_dst[e2], to;
    char *attr = NULL;
    int rc;

    if (g->out_kind[e1] != HS_EDGE_ATTR || g->out_kind[e2] != HS_EDGE_VALUE)
        return 0;
    hs_naming_edge(d->names, e1, &label);
    if (!strcmp(label.buf, ".__dict__")) {
        hs_buf_reset(&label);
        hs_naming_edge(d->names, e2, &label);
        attr = hs_render_key_as_attribute(label.buf);
    }
    hs_buf_release(&label);
    if (!attr)
        return 0;
    rc = hs_draw_object(d, dst, depth, flags, NULL);
    if (rc == HS_DRAW_ADDED || rc == HS_DRAW_PRESENT) {
        to = d->pic_of[dst];
        if (edge_set_has(d, e2)) {
            rc = STEP_MERGED;
        } else if ((rc = hs_picture_add_edge(&d->pic, d->pic_of[prev], to,
                                             attr, HS_EDGE_ATTR, 0)) == 1) {
            d->cuts.edges++;
            rc = HS_DRAW_REFUSED;
        } else if (rc == 0) {
            edge_set_add(d, e2);
            rc = STEP_MERGED;
        }
    } else if (rc >= 0) {
        rc = HS_DRAW_REFUSED;
    }
    free(attr);
    return rc;
}

/*
 * Draws the chain from `start` along edges[0 .. nedges) (each edge leaving
 * the previous edge's target), depths counting down to 0 at the end, whose
 * object is marked HS_PIC_TARGET.  Long chains keep HS_DRAW_PATH_MAX / 2
 * steps at each end and one labelled edge for the middle.  A refused
 * object ends the chain (nothing below could connect).  0, or -1.
 */
static int
draw_chain(struct hs_draw *d, uint32_t start, const uint32_t *edges,
           uint32_t nedges)
{
    const struct hs_graph *g = d->g;
    uint32_t head, tail, prev = start, from = 0, to;
    int rc;

    hs_path_elide(nedges, HS_DRAW_PATH_MAX, &head, &tail);
    rc = hs_draw_object(d, start, nedges, nedges ? 0 : HS_PIC_TARGET, NULL);
    if (rc != HS_DRAW_ADDED && rc != HS_DRAW_PRESENT)
        return rc < 0 ? -1 : 0;
    for (uint32_t i = 0; i < nedges; i++) {
        uint32_t e = edges[i], dst = g->out_dst[e];

        if (tail && i == head) {
            /* The gap: from the object above it to the first one below. */
            uint32_t skipped = nedges - tail - head;
            uint32_t below = hs_graph_edge_src(g, edges[nedges - tail]);
            char label[96], digits[32];

            from = d->pic_of[prev];
            rc = hs_draw_object(d, below, tail, 0, &to);
            if (rc < 0)
                return -1;
            if (rc == HS_DRAW_REFUSED)
                return 0;
            snprintf(label, sizeof(label),
                     "\xE2\x80\xA6 %s more step%s \xE2\x80\xA6",
                     hs_group_digits(skipped, digits, sizeof(digits)),
                     skipped == 1 ? "" : "s");
            if (hs_picture_add_edge(&d->pic, from, to, label, HS_EDGE_OTHER,
                                    0) < 0)
                return -1;
            d->cuts.steps += skipped;
            prev = below;
            i = nedges - tail - 1;
            continue;
        }
        if (i + 1 < nedges && !(tail && i + 1 == head)) {
            rc = draw_attribute_step(d, prev, edges[i], edges[i + 1],
                                     nedges - 2 - i,
                                     i + 2 == nedges ? HS_PIC_TARGET : 0);
            if (rc < 0)
                return -1;
            if (rc == HS_DRAW_REFUSED)
                return 0;
            if (rc == STEP_MERGED) {
                prev = g->out_dst[edges[++i]];
                continue;
            }
        }
        rc = hs_draw_object(d, dst, nedges - 1 - i,
                            i + 1 == nedges ? HS_PIC_TARGET : 0, NULL);
        if (rc < 0)
            return -1;
        if (rc == HS_DRAW_REFUSED)
            return 0;
        if (hs_draw_reference(d, prev, e) < 0)
            return -1;
        prev = dst;
    }
    return 0;
}

int
hs_draw_path(struct hs_draw *d, uint32_t r, const uint32_t *edges,
             uint32_t nedges)
{
    d->pic.dir = HS_PIC_DIR_BACKREFS;
    return draw_chain(d, d->g->roots[r].node, edges, nedges);
}

int
hs_draw_holders(struct hs_draw *d, uint32_t v)
{
    const struct hs_graph *g = d->g;
    const struct hs_bfs *b = d->bfs;
    struct hs_unreach_holders h;
    struct queue q = { NULL, 0, 0, 0 };
    uint32_t *dist, *next, *chain = NULL;
    int rc = -1;

    if (!b)
        return hs_error(HS_EXIT_INTERNAL, "drawing holders needs the BFS");
    d->pic.dir = HS_PIC_DIR_BACKREFS;
    if (hs_draw_object(d, v, 0, HS_PIC_TARGET, NULL) < 0)
        return -1;
    hs_paths_explain_unreachable(g, b, v, &h);
    /* Backward BFS over retaining references between unreached objects:
     * dist[] to v and next[], the edge one step closer to v. */
    dist = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(*dist)));
    next = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(*next)));
    memset(dist, 0xFF, (size_t)g->n * sizeof(*dist));
    dist[v] = 0;
    queue_push(&q, v);
    while (q.head < q.tail) {
        uint32_t u = q.v[q.head++];

        for (uint32_t i = g->in_off[u]; i < g->in_off[u + 1]; i++) {
            uint32_t s = hs_graph_in_src(g, i);

            if (!hs_graph_in_retains(g, i) || hs_bfs_reached(b, s) ||
                dist[s] != UINT32_MAX)
                continue;
            dist[s] = dist[u] + 1;
            next[s] = in_edge_number(g, u, i);
            queue_push(&q, s);
        }
    }
    for (uint32_t c = 0; c < h.ncomp; c++) {
        for (uint32_t i = h.off[c]; i < h.off[c + 1]; i++) {
            uint32_t m = h.members[i];

            if (hs_draw_object(d, m, dist[m] == UINT32_MAX ? 0 : dist[m], 0,
                               NULL) < 0)
                goto out;
        }
    }
    /* From each component's member nearest to v, down to v. */
    for (uint32_t c = 0; c < h.ncomp; c++) {
        uint32_t best = UINT32_MAX, len = 0;

        for (uint32_t i = h.off[c]; i < h.off[c + 1]; i++) {
            uint32_t m = h.members[i];

            if (dist[m] != UINT32_MAX &&
                (best == UINT32_MAX || dist[m] < dist[best]))
                best = m;
        }
        if (best == UINT32_MAX || best == v)
            continue;
        free(chain);
        chain = hs_xmalloc(hs_st_mult(dist[best], sizeof(*chain)));
        for (uint32_t x = best; x != v; x = g->out_dst[next[x]])
            chain[len++] = next[x];
        if (draw_chain(d, best, chain, len) < 0)
            goto out;
    }
    /* Every reference between the unreached objects drawn: the cycles
     * themselves, and whatever else ties them together. */
    for (uint32_t i = 0; i < d->pic.nnodes; i++) {
        uint32_t u = (uint32_t)(d->pic.nodes[i].object_id - 1);

        if (hs_bfs_reached(b, u))
            continue;
        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (is_drawn(d, w) && !hs_bfs_reached(b, w) &&
                hs_draw_reference(d, u, e) < 0)
                goto out;
        }
    }
    rc = 0;
out:
    free(chain);
    free(q.v);
    free(dist);
    free(next);
    hs_unreach_holders_release(&h);
    return rc;
}

/* ---- cycles ------------------------------------------------------------- */

/* One aggregated reference of a cycle's type summary. */
struct type_ref {
    uint32_t from, to; /* member types (indexes into g->types) */
    uint8_t kind;      /* enum hs_edge_kind */
    char *label;       /* ".next", "[*]" (malloc'd) */
    uint64_t count;
};

/* A summary's boxes and arrows at most; types and kinds of reference past
 * these are left out of it (the sample still shows members). */
#define SUMMARY_TYPES 24
#define SUMMARY_REFS 64
/* Members of a summarised cycle drawn as objects. */
#define SUMMARY_SAMPLE 6

/* The box of type t in a summary ("Peer ×4,000", the bytes), added on
 * first use; its picture index into *index.  0, 1 (full) or -1. */
static int
summary_box(struct hs_draw *d, uint32_t t, uint32_t count, uint64_t bytes,
            uint32_t *index)
{
    struct hs_picture_node node = HS_PICTURE_NODE_INIT;
    char key[32], value[64], n1[32];
    int64_t found;

    snprintf(key, sizeof(key), "t%u", t);
    found = hs_picture_find(&d->pic, key);
    if (found >= 0) {
        *index = (uint32_t)found;
        return 0;
    }
    snprintf(value, sizeof(value), "\xC3\x97%s in the cycle",
             hs_group_digits(count, n1, sizeof(n1)));
    node.key = key;
    node.type_name = d->g->types[t].name;
    node.value = value;
    node.size = bytes;
    node.flags = HS_PIC_HIGHLIGHT;
    return hs_picture_add_node(&d->pic, &node, index);
}

/*
 * A big cycle as its type-level summary: one box per member type with its
 * count, one arrow per (type, reference, type) with how many references
 * it stands for ("Peer --.next ×4,000--> Peer"), then a few members drawn
 * as objects.  Labels cost one probe per reference inside the component.
 * 0, or -1 after an error.
 */
static int
draw_component_summary(struct hs_draw *d, const struct hs_scc *scc,
                       uint32_t c)
{
    const struct hs_graph *g = d->g;
    const uint32_t *members = scc->members + scc->off[c];
    uint32_t size = hs_scc_size(scc, c), ntypes = 0, nrefs = 0;
    uint32_t types[SUMMARY_TYPES], tcount[SUMMARY_TYPES];
    uint64_t tbytes[SUMMARY_TYPES];
    struct type_ref refs[SUMMARY_REFS];
    struct hs_buf label = HS_BUF_INIT;
    uint32_t sample[SUMMARY_SAMPLE], nsample = 0;
    uint8_t *idict = hs_xcalloc(g->n ? g->n : 1, 1);
    int rc = 0;

    /* Members that are another member's __dict__ are drawn as the
     * attributes they hold: X --.next--> V, not X --.__dict__--> dict
     * --['next']--> V (as the text says it). */
    for (uint32_t i = 0; i < size; i++) {
        uint32_t u = members[i];

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            if (g->out_kind[e] != HS_EDGE_ATTR ||
                scc->comp[g->out_dst[e]] != c)
                continue;
            hs_buf_reset(&label);
            hs_naming_edge(d->names, e, &label);
            if (!strcmp(label.buf, ".__dict__"))
                idict[g->out_dst[e]] = 1;
        }
    }
    for (uint32_t i = 0; i < size; i++) {
        uint32_t t = g->type[members[i]], k;

        if (idict[members[i]])
            continue;

        for (k = 0; k < ntypes && types[k] != t; k++)
            ;
        if (k == ntypes && ntypes == SUMMARY_TYPES)
            continue; /* drawn types only */
        if (k == ntypes) {
            types[ntypes] = t;
            tcount[ntypes] = 0;
            tbytes[ntypes++] = 0;
        }
        tcount[k]++;
        tbytes[k] += g->size[members[i]];
    }
    for (uint32_t i = 0; i < size; i++) {
        uint32_t u = members[i], owner = u;

        if (idict[u]) {
            /* Its references count as its owner's attributes. */
            for (uint32_t j = g->in_off[u]; j < g->in_off[u + 1]; j++) {
                uint32_t x = hs_graph_in_src(g, j);

                if (scc->comp[x] == c && !idict[x]) {
                    owner = x;
                    break;
                }
            }
        }
        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e], k;
            uint8_t kind = g->out_kind[e];
            char *attr = NULL;

            if (scc->comp[w] != c || (!idict[u] && idict[w]))
                continue;
            hs_buf_reset(&label);
            if (kind == HS_EDGE_ATTR || kind == HS_EDGE_LOCAL ||
                kind == HS_EDGE_CLOSURE || kind == HS_EDGE_WEAK ||
                (idict[u] && kind == HS_EDGE_VALUE))
                hs_naming_edge(d->names, e, &label);
            else
                hs_naming_step(d->names, kind, 0, 1, &label);
            if (idict[u] && (attr = hs_render_key_as_attribute(label.buf))) {
                hs_buf_reset(&label);
                hs_buf_adds(&label, attr);
                free(attr);
            } else if (idict[u]) {
                continue; /* its keys: names, not references */
            }
            for (k = 0; k < nrefs; k++) {
                if (refs[k].from == g->type[owner] &&
                    refs[k].to == g->type[w] &&
                    refs[k].kind == kind && !strcmp(refs[k].label, label.buf))
                    break;
            }
            if (k == nrefs && nrefs == SUMMARY_REFS)
                continue;
            if (k == nrefs) {
                refs[k].from = g->type[owner];
                refs[k].to = g->type[w];
                refs[k].kind = kind;
                refs[k].label = hs_xstrdup(label.buf);
                refs[k].count = 0;
                nrefs++;
            }
            refs[k].count++;
        }
    }
    for (uint32_t k = 0; k < ntypes && rc >= 0; k++) {
        uint32_t idx;

        rc = summary_box(d, types[k], tcount[k], tbytes[k], &idx);
    }
    for (uint32_t k = 0; k < nrefs && rc >= 0; k++) {
        uint32_t from, to;
        char n1[32];

        if (summary_box(d, refs[k].from, 0, 0, &from) != 0 ||
            summary_box(d, refs[k].to, 0, 0, &to) != 0)
            continue; /* a type past SUMMARY_TYPES */
        hs_buf_reset(&label);
        hs_buf_addf(&label, "%s \xC3\x97%s", refs[k].label,
                    hs_group_digits(refs[k].count, n1, sizeof(n1)));
        rc = hs_picture_add_edge(&d->pic, from, to, label.buf,
                                 (enum hs_edge_kind)refs[k].kind,
                                 refs[k].kind == HS_EDGE_WEAK);
    }
    for (uint32_t k = 0; k < nrefs; k++)
        free(refs[k].label);
    hs_buf_release(&label);
    if (rc < 0) {
        free(idict);
        return -1;
    }
    d->cuts.summarised += size;
    /* A sample: members along the component from its first, in order,
     * looking through instance dicts. */
    for (uint32_t i = 0; i < size && !nsample; i++)
        if (!idict[members[i]])
            sample[nsample++] = members[i];
    for (uint32_t i = 0; i < nsample && nsample < SUMMARY_SAMPLE; i++) {
        uint32_t u = sample[i];

        for (uint32_t e = g->out_off[u];
             e < g->out_off[u + 1] && nsample < SUMMARY_SAMPLE; e++) {
            uint32_t w = g->out_dst[e], j, f = UINT32_MAX;

            if (scc->comp[w] != c)
                continue;
            if (idict[w]) { /* the first member its dict holds */
                for (f = g->out_off[w]; f < g->out_off[w + 1]; f++)
                    if (scc->comp[g->out_dst[f]] == c &&
                        !idict[g->out_dst[f]])
                        break;
                if (f == g->out_off[w + 1])
                    continue;
                w = g->out_dst[f];
            }
            for (j = 0; j < nsample && sample[j] != w; j++)
                ;
            if (j == nsample)
                sample[nsample++] = w;
        }
    }
    for (uint32_t i = 0; i < nsample && rc >= 0; i++)
        rc = hs_draw_object(d, sample[i], i, 0, NULL);
    for (uint32_t i = 0; i < nsample && rc >= 0; i++) {
        uint32_t u = sample[i];

        if (!is_drawn(d, u))
            continue;
        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1] && rc >= 0;
             e++) {
            uint32_t w = g->out_dst[e];

            if (scc->comp[w] != c)
                continue;
            if (!idict[w]) {
                if (is_drawn(d, w))
                    rc = hs_draw_reference(d, u, e);
                continue;
            }
            for (uint32_t f = g->out_off[w]; f < g->out_off[w + 1] && rc >= 0;
                 f++)
                if (is_drawn(d, g->out_dst[f]))
                    rc = draw_attribute_step(d, u, e, f, 0, 0);
        }
    }
    free(idict);
    return rc < 0 ? -1 : 0;
}

int
hs_draw_component(struct hs_draw *d, const struct hs_scc *scc, uint32_t c)
{
    const struct hs_graph *g = d->g;
    const uint32_t *members = scc->members + scc->off[c];
    uint32_t size = hs_scc_size(scc, c), deepest = 0;
    struct queue q = { NULL, 0, 0, 0 };
    int rc;

    if (size > HS_DRAW_CYCLE_SUMMARY)
        return draw_component_summary(d, scc, c);

    d->pic.dir = HS_PIC_DIR_REFS;
    rc = hs_draw_object(d, members[0], 0, 0, NULL);
    if (rc < 0)
        return -1;
    if (rc == HS_DRAW_ADDED)
        queue_push(&q, members[0]);
    while (q.head < q.tail) {
        uint32_t u = q.v[q.head++];
        uint32_t du = d->pic.nodes[d->pic_of[u]].depth;

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (scc->comp[w] != c)
                continue;
            rc = hs_draw_object(d, w, du + 1, 0, NULL);
            if (rc < 0)
                goto fail;
            if (rc == HS_DRAW_ADDED) {
                queue_push(&q, w);
                deepest = du + 1;
            }
        }
    }
    /* Members the BFS missed (a component computed over other edges). */
    for (uint32_t i = 0; i < size; i++) {
        if (drawn_index(d, members[i]) == DRAW_ABSENT &&
            hs_draw_object(d, members[i], deepest + 1, 0, NULL) < 0)
            goto fail;
    }
    for (uint32_t i = 0; i < size; i++) {
        uint32_t u = members[i];

        if (!is_drawn(d, u))
            continue;
        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (scc->comp[w] == c && is_drawn(d, w) &&
                hs_draw_reference(d, u, e) < 0)
                goto fail;
        }
    }
    free(q.v);
    return 0;
fail:
    free(q.v);
    return -1;
}

/* ---- output ------------------------------------------------------------- */

int
hs_draw_check_output(const char *path)
{
    if (!strcmp(path, "-"))
        return 0;
    if (hs_render_dot_check(path) < 0)
        return -1;
    return hs_check_output_folder(path);
}

int
hs_draw_write(struct hs_draw *d, const char *path)
{
    char *text;
    size_t len = 0;

    if (strcmp(path, "-"))
        return hs_render_dot_file(&d->pic, path);
    text = hs_render_dot_text(&d->pic, &len);
    if (!text)
        return -1;
    /* A failed write is reported by main()'s check of stdout. */
    fwrite(text, 1, len, stdout);
    free(text);
    return 0;
}

static void add_cut(struct hs_buf *out, int *first, const char *fmt, ...)
    HS_PRINTF(3, 4);

static void
add_cut(struct hs_buf *out, int *first, const char *fmt, ...)
{
    va_list ap;

    hs_buf_adds(out, *first ? "; cut: " : ", ");
    *first = 0;
    va_start(ap, fmt);
    hs_buf_vaddf(out, fmt, ap);
    va_end(ap);
}

void
hs_draw_describe(const struct hs_draw *d, const char *refs_word,
                 struct hs_buf *out)
{
    const struct hs_draw_cuts *c = &d->cuts;
    char n1[32], n2[32];
    int first = 1;

    hs_buf_addf(out, "%s object%s, %s reference%s",
                hs_group_digits(d->pic.nnodes, n1, sizeof(n1)),
                d->pic.nnodes == 1 ? "" : "s",
                hs_group_digits(d->pic.nedges, n2, sizeof(n2)),
                d->pic.nedges == 1 ? "" : "s");
    if (c->targets)
        add_cut(out, &first, "%s more instance%s beyond %s %u",
                hs_group_digits(c->targets, n1, sizeof(n1)),
                c->targets == 1 ? "" : "s",
                d->too_many_option ? d->too_many_option : "the cap of",
                d->too_many);
    if (c->too_many)
        add_cut(out, &first, "%s more %s%s beyond %s %u",
                hs_group_digits(c->too_many, n1, sizeof(n1)), refs_word,
                c->too_many == 1 ? "" : "s",
                d->too_many_option ? d->too_many_option : "the cap of",
                d->too_many);
    if (c->nodes) {
        hs_group_digits(c->nodes, n1, sizeof(n1));
        if (d->max_nodes_option)
            add_cut(out, &first, "%s object%s beyond %s %u", n1,
                    c->nodes == 1 ? "" : "s", d->max_nodes_option,
                    d->pic.max_nodes);
        else
            add_cut(out, &first, "%s object%s beyond the cap of %s", n1,
                    c->nodes == 1 ? "" : "s",
                    hs_group_digits(d->pic.max_nodes, n2, sizeof(n2)));
    }
    if (c->edges)
        add_cut(out, &first, "%s reference%s beyond the cap of %s",
                hs_group_digits(c->edges, n1, sizeof(n1)),
                c->edges == 1 ? "" : "s",
                hs_group_digits(d->pic.max_edges, n2, sizeof(n2)));
    if (c->steps)
        add_cut(out, &first, "%s step%s in the middle of long paths",
                hs_group_digits(c->steps, n1, sizeof(n1)),
                c->steps == 1 ? "" : "s");
    if (c->summarised)
        add_cut(out, &first, "%s members of big cycles drawn by type",
                hs_group_digits(c->summarised, n1, sizeof(n1)));
}

/* Writes the picture to each of svg and dot that is set, noting each on
 * stderr.  0, or -1. */
static int
write_files(struct hs_draw *d, const char *svg, const char *dot)
{
    const char *files[2] = { svg, dot };
    struct hs_buf what = HS_BUF_INIT;

    hs_draw_describe(d, "reference", &what);
    for (int i = 0; i < 2; i++) {
        if (!files[i])
            continue;
        if (hs_draw_write(d, files[i]) < 0) {
            hs_buf_release(&what);
            return -1;
        }
        hs_note("wrote '%s': %s", files[i], what.buf);
    }
    hs_buf_release(&what);
    return 0;
}

int
hs_draw_check_files(const char *cmd, const char *svg, const char *dot)
{
    enum hs_render_format format;

    if ((svg && !strcmp(svg, "-")) || (dot && !strcmp(dot, "-")))
        return hs_usage_error(cmd,
                              "%s prints its answer on standard output; "
                              "name a file to draw into",
                              cmd);
    if (dot && hs_render_dot_format(dot, &format) < 0)
        return -1;
    if (dot && format != HS_RENDER_DOT)
        return hs_usage_error(cmd,
                              "--dot writes DOT text: name a .dot or .gv "
                              "file (--svg '%s' draws by extension)",
                              dot);
    if (svg && hs_draw_check_output(svg) < 0)
        return -1;
    if (dot && hs_draw_check_output(dot) < 0)
        return -1;
    return 0;
}

/* ---- why and cycles ----------------------------------------------------- */

/* The title of one object's answer: "why Foo @0x11000 is alive: module
 * __main__" (its path's root), or "...: unreachable". */
static void
why_one_title(struct hs_draw *d, uint32_t v, int reached, uint32_t r,
              struct hs_buf *out)
{
    hs_buf_adds(out, "why ");
    hs_naming_object(d->names, v, 0, out);
    hs_buf_addf(out, " @0x%" PRIx64 " is alive: ", d->g->address[v]);
    if (!reached) {
        hs_buf_adds(out, "unreachable, held by what is drawn (cyclic garbage "
                         "awaiting the collector)");
        return;
    }
    hs_naming_root(d->names, r, out);
    hs_buf_addf(out, " (%s root)",
                hs_root_kind_name((enum hs_root_kind)d->g->roots[r].kind));
}

int
hs_draw_why_object(struct hs_draw *d, uint32_t v, struct hs_buf *title)
{
    const struct hs_bfs *b = d->bfs;
    uint32_t dist, *edges, r;
    int rc;

    if (!hs_bfs_reached(b, v)) {
        if (title)
            why_one_title(d, v, 0, 0, title);
        return hs_draw_holders(d, v);
    }
    dist = b->dist[v];
    edges = hs_xmalloc(hs_st_mult(dist ? dist : 1, sizeof(*edges)));
    r = hs_bfs_path(d->g, b, v, edges);
    if (title)
        why_one_title(d, v, 1, r, title);
    rc = hs_draw_path(d, r, edges, dist);
    free(edges);
    return rc;
}

/* A type's answer, from the groups `why` computed: an example per shown
 * path group, merged. */
static int
why_groups(struct hs_draw *d, const struct hs_objset *set, const char *spec,
           const struct hs_path_groups *pg, uint64_t total, int npaths,
           struct hs_buf *title)
{
    const struct hs_graph *g = d->g;
    uint32_t shown;
    char n1[32], n2[32];

    shown = pg->ngroups < (uint32_t)npaths ? pg->ngroups : (uint32_t)npaths;
    hs_buf_addf(title, "why %s %s object%s (%s) %s alive: ",
                hs_group_digits(set->n, n1, sizeof(n1)),
                set->is_type ? g->types[set->type].name : spec,
                set->n == 1 ? "" : "s", hs_human_size(total, n2, sizeof(n2)),
                set->n == 1 ? "is" : "are");
    for (uint32_t k = 0; k < shown; k++) {
        const struct hs_path_group *gr = &pg->groups[k];

        hs_buf_addf(
            title, "%sgroup #%u: %s object%s, %s%s, e.g. @0x%" PRIx64,
            k ? "; " : "", k + 1, hs_group_digits(gr->count, n1, sizeof(n1)),
            gr->count == 1 ? "" : "s",
            hs_human_size(gr->bytes, n2, sizeof(n2)),
            gr->unreachable ? " unreachable" : "", g->address[gr->example]);
        if (hs_draw_why_object(d, gr->example, NULL) < 0)
            return -1;
    }
    if (pg->ngroups > shown)
        hs_buf_addf(title, "; %u more group%s not drawn (--paths)",
                    pg->ngroups - shown, pg->ngroups - shown == 1 ? "" : "s");
    return 0;
}

/* The end of why's and cycles' pictures: the title set, the files
 * written unless drawing failed (rc < 0), d and the title released.
 * Returns rc, or -1 when writing failed. */
static int
finish(struct hs_draw *d, struct hs_buf *title, int rc, const char *svg,
       const char *dot)
{
    hs_picture_set_title(&d->pic, title->buf);
    if (rc == 0)
        rc = write_files(d, svg, dot);
    hs_buf_release(title);
    hs_draw_release(d);
    return rc;
}

int
hs_draw_why(struct hs_graph *g, struct hs_naming *names,
            const struct hs_dominators *dom, const struct hs_bfs *bfs,
            const struct hs_objset *set, const char *spec,
            const struct hs_path_groups *pg, uint64_t total, int npaths,
            const char *svg, const char *dot)
{
    struct hs_draw d;
    struct hs_buf title = HS_BUF_INIT;
    int rc;

    hs_draw_init(&d, g, names, 0);
    d.dom = dom;
    d.bfs = bfs;
    if (!pg)
        rc = hs_draw_why_object(&d, set->nodes[0], &title);
    else
        rc = why_groups(&d, set, spec, pg, total, npaths, &title);
    d.pic.dir = HS_PIC_DIR_BACKREFS;
    return finish(&d, &title, rc, svg, dot);
}

/* Components named in a cycles picture's title; the rest are counted. */
#define TITLE_CYCLES 5

int
hs_draw_cycles(struct hs_graph *g, struct hs_naming *names,
               const struct hs_bfs *bfs, const struct hs_dominators *dom,
               const struct hs_scc *scc,
               const uint32_t *ids, uint32_t count, uint32_t max_nodes,
               const char *svg, const char *dot)
{
    struct hs_draw d;
    struct hs_buf title = HS_BUF_INIT;
    char n1[32];
    int rc = 0;

    hs_draw_init(&d, g, names, max_nodes);
    d.bfs = bfs;
    d.dom = dom;
    d.max_nodes_option = "--max-nodes";
    hs_buf_adds(&title, count ? "reference cycles: " : "no reference cycles");
    for (uint32_t i = 0; i < count && rc == 0; i++) {
        const struct hs_scc_info *info = &scc->info[ids[i]];

        if (i < TITLE_CYCLES)
            hs_buf_addf(&title, "%s#%u %u object%s, %s%s%s", i ? "; " : "",
                        i + 1, hs_scc_size(scc, ids[i]),
                        hs_scc_size(scc, ids[i]) == 1 ? "" : "s",
                        hs_human_size(info->bytes, n1, sizeof(n1)),
                        info->flags & HS_SCC_UNREACHABLE ? ", unreachable"
                                                         : "",
                        hs_scc_size(scc, ids[i]) > HS_DRAW_CYCLE_SUMMARY
                            ? " (drawn by type, with a few members)"
                            : "");
        rc = hs_draw_component(&d, scc, ids[i]);
    }
    if (count > TITLE_CYCLES)
        hs_buf_addf(&title, "; and %u more", count - TITLE_CYCLES);
    return finish(&d, &title, rc, svg, dot);
}
