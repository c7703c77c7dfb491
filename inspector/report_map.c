/*
 * report_map.c: the heap map's answer (report.h): a piece of the dominator
 * tree, biggest retainers first, as the web viewer's treemap draws it.
 *
 * Below an object (or the virtual root: the whole reachable heap) come the
 * objects it dominates directly, each retaining part of its retained size;
 * the part that is no child's is the object's own size plus the children
 * left out by the limit ("rest").  Children that retain nothing more than
 * their own size are leaves.  Nothing here prints, and the walk uses an
 * explicit queue: the dominator tree can be as deep as the heap is long.
 */
#include "report.h"

#include <stdlib.h>
#include <string.h>

/* A child of the dominator tree and what it retains, for sorting. */
struct map_child {
    uint64_t retained;
    uint32_t node;
};

static int
child_cmp(const void *a, const void *b)
{
    const struct map_child *x = a, *y = b;

    if (x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    return x->node < y->node ? -1 : x->node > y->node;
}

/* One node's fields: the commands' object fields and the viewer's. */
static struct hs_json *
map_node(const struct hs_json_src *src, uint32_t v)
{
    struct hs_json *o = hs_json_object();

    hs_why_node_fields(src, v, o);
    hs_why_viewer_fields(src, v, o);
    return o;
}

/* One pending expansion of the walk.  The queue may move while a frame is
 * expanded: frames are copied out first. */
struct map_frame {
    uint32_t node;     /* a node, or HS_DOM_ROOT */
    uint32_t level;    /* 0 for the node asked about */
    struct hs_json *o; /* its object, to receive "children" */
};

/*
 * Adds "children" (at most `limit`, biggest first), "children_total" and
 * "rest" to f->o, and pushes the listed children when they are to be
 * expanded.  Cost: the children's count, log-linear.
 */
static void
expand(const struct hs_json_src *src, const struct map_frame *f,
       uint32_t depth, uint32_t limit, uint32_t *budget,
       struct map_frame **queue, size_t *nqueue, size_t *alloc)
{
    const uint32_t *kids;
    uint32_t nkids = hs_dominators_children(src->dom, f->node, &kids);
    struct map_child *c =
        hs_xmalloc(hs_st_mult(nkids ? nkids : 1, sizeof(*c)));
    struct hs_json *arr = hs_json_array(), *rest = hs_json_object();
    uint64_t rest_bytes = 0;
    uint32_t shown = 0;

    for (uint32_t i = 0; i < nkids; i++) {
        c[i].node = kids[i];
        c[i].retained = src->dom->retained[kids[i]];
    }
    qsort(c, nkids, sizeof(*c), child_cmp);
    for (uint32_t i = 0; i < nkids; i++) {
        struct hs_json *o;

        if (shown >= limit || !*budget) {
            rest_bytes += c[i].retained;
            continue;
        }
        o = map_node(src, c[i].node);
        hs_json_set_int(o, "children_total",
                        hs_dominators_children(src->dom, c[i].node, &kids));
        hs_json_push(arr, o);
        shown++;
        (*budget)--;
        if (f->level + 1 < depth && c[i].retained > src->g->size[c[i].node]) {
            HS_ALLOC_GROW(*queue, *nqueue + 1, *alloc);
            (*queue)[(*nqueue)++] =
                (struct map_frame){ c[i].node, f->level + 1, o };
        }
    }
    hs_json_set(f->o, "children", arr);
    hs_json_set_int(rest, "count", nkids - shown);
    hs_json_set_int(rest, "retained_size", (int64_t)rest_bytes);
    hs_json_set(f->o, "rest", rest);
    free(c);
}

/*
 * The nearest `max` dominators above v, root first, with "ancestors_more"
 * counting those left out.  O(depth of v in the dominator tree).
 */
static void
ancestors(const struct hs_json_src *src, uint32_t v, uint32_t max,
          struct hs_json *doc)
{
    uint32_t *chain = hs_xmalloc(hs_st_mult(max ? max : 1, sizeof(*chain)));
    uint32_t n = 0, more = 0;
    struct hs_json *arr = hs_json_array();

    for (uint32_t u = src->dom->idom[v];
         u != HS_DOM_ROOT && u != HS_DOM_UNREACHABLE; u = src->dom->idom[u]) {
        if (n < max)
            chain[n++] = u;
        else
            more++;
    }
    for (uint32_t i = n; i-- > 0;)
        hs_json_push(arr, map_node(src, chain[i]));
    hs_json_set(doc, "ancestors", arr);
    hs_json_set_int(doc, "ancestors_more", more);
    free(chain);
}

struct hs_json *
hs_map_json(const struct hs_json_src *src, uint32_t v, uint32_t depth,
            uint32_t limit, uint32_t budget)
{
    struct hs_json *doc;
    struct map_frame *queue = NULL;
    size_t nqueue = 0, alloc = 0;
    const uint32_t *kids;

    if (v == HS_DOM_ROOT) {
        doc = hs_json_object();
        hs_json_set_null(doc, "id");
        hs_json_set_str(doc, "type", "(roots)");
        hs_json_set_str(doc, "description", "the reachable heap");
        hs_json_set_int(doc, "size", 0);
        hs_json_set_int(doc, "retained_size",
                        (int64_t)src->dom->reachable_bytes);
        hs_json_set_int(doc, "unreachable_bytes",
                        (int64_t)src->dom->unreachable_bytes);
        hs_json_set(doc, "ancestors", hs_json_array());
        hs_json_set_int(doc, "ancestors_more", 0);
    } else {
        doc = map_node(src, v);
        hs_json_set_bool(doc, "reachable",
                         src->dom->idom[v] != HS_DOM_UNREACHABLE);
        ancestors(src, v, 30, doc);
    }
    hs_json_set_int(doc, "children_total",
                    hs_dominators_children(src->dom, v, &kids));
    hs_json_set_int(doc, "depth", depth);
    hs_json_set_int(doc, "limit", limit);
    /* Breadth first, so that the budget goes to the upper levels. */
    HS_ALLOC_GROW(queue, 1, alloc);
    queue[nqueue++] = (struct map_frame){ v, 0, doc };
    for (size_t head = 0; head < nqueue && depth > 0; head++) {
        struct map_frame f = queue[head];

        expand(src, &f, depth, limit, &budget, &queue, &nqueue, &alloc);
    }
    free(queue);
    return doc;
}
