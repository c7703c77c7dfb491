/*
 * advise_sparse.c: the `sparse_containers` finding, for masses of empty
 * containers: many instances of one class each holding an empty list,
 * dict or set in the same attribute (`self.children = []` in __init__,
 * most never filled).  Made on first use instead (the attribute None
 * until then), each empty container is saved: its objects.size.  Only
 * containers with no items, held by that one attribute alone (not shared,
 * no root), and HS_SPARSE_MIN_EMPTY or more of them per class and
 * attribute, are counted.  An attribute is an instance's attribute
 * reference (3.11+ values, slots) or, before 3.11, a value of the
 * instance's __dict__.
 *
 * Over-allocated lists, held the same way, are the other half: a list
 * grown by append() keeps room for more (4 slots for 1 item), and one
 * that lost items keeps up to twice its length.  objects.size is
 * sys.getsizeof, which counts the allocated item array, so the capacity
 * is (size - the size of an empty list) / pointer; the empty size is the
 * smallest size - pointer * items of any list of the snapshot (an empty
 * list allocates no array).  Lists with at least as many unused slots as
 * items are counted, and the saving is their unused slots: what a list
 * made at its final size (a literal, or l.copy() once filled, which
 * allocates exactly its length) does not allocate.  O(n + m) plus one read of the candidates'
 * labels.
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_SPARSE_MIN_EMPTY 100

struct empty_ref {
    uint32_t holder_type; /* the instance's type */
    uint64_t unused;      /* an over-allocated list's unused bytes, 0 for
                             an empty container */
    uint32_t ctype;       /* the container's type */
    uint32_t edge;        /* the attribute (or __dict__ value) reference */
    uint32_t arg;         /* its label's names id */
    uint32_t node;        /* the container */
};

/* The one retaining referrer of v (its in-degree is 1), and the edge. */
static uint32_t
only_referrer(const struct hs_graph *g, uint32_t v, uint32_t *edge)
{
    for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++) {
        uint32_t s;

        if (!hs_graph_in_retains(g, i))
            continue;
        s = hs_graph_in_src(g, i);
        for (uint32_t e = g->out_off[s]; e < g->out_off[s + 1]; e++)
            if (g->out_dst[e] == v && hs_graph_retains(g, g->out_kind[e])) {
                *edge = e;
                return s;
            }
    }
    return UINT32_MAX;
}

/* The item, value, key and element references of container v: its
 * length, for a list. */
static uint32_t
items(const struct hs_graph *g, uint32_t v)
{
    uint32_t n = 0;

    for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
        uint8_t k = g->out_kind[e];

        n += k == HS_EDGE_ITEM || k == HS_EDGE_VALUE || k == HS_EDGE_KEY ||
             k == HS_EDGE_ELEMENT;
    }
    return n;
}

/* The size of an empty list (no item array): the least objects.size -
 * pointer * items of the snapshot's lists, or 0 when it has none.
 * O(lists' out-degrees). */
static uint64_t
list_base_size(const struct hs_advise_ctx *c, uint32_t list_t)
{
    const struct hs_graph *g = c->g;
    uint64_t base = 0;

    for (uint32_t v = 0; v < g->n; v++) {
        uint64_t items_bytes, b;

        if (g->type[v] != list_t)
            continue;
        items_bytes = (uint64_t)items(g, v) * c->pointer;
        if (g->size[v] < items_bytes)
            continue; /* a size the agent could not read */
        b = g->size[v] - items_bytes;
        if (!base || b < base)
            base = b;
    }
    return base;
}

static int
by_group(const void *a, const void *b)
{
    const struct empty_ref *x = a, *y = b;

    if (x->holder_type != y->holder_type)
        return x->holder_type < y->holder_type ? -1 : 1;
    if (x->ctype != y->ctype)
        return x->ctype < y->ctype ? -1 : 1;
    if ((x->unused != 0) != (y->unused != 0))
        return x->unused ? 1 : -1;
    if (x->arg != y->arg)
        return x->arg < y->arg ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int
by_edge(const void *a, const void *b)
{
    const struct empty_ref *x = a, *y = b;

    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

static void
finding(const struct hs_advise_ctx *c, const struct empty_ref *r, uint32_t n,
        uint64_t list_base, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    struct hs_buf label = HS_BUF_INIT;
    uint64_t saved = 0;
    char tname[256], n1[32];
    const char *cname = g->types[r->ctype].name;

    for (uint32_t i = 0; i < n; i++)
        saved += r->unused ? r[i].unused : g->size[r[i].node];
    if (n < HS_SPARSE_MIN_EMPTY || saved < c->min_bytes)
        return;
    hs_naming_edge(c->names, r->edge, &label);
    if (label.len > 4 && !strncmp(label.buf, "['", 2)) {
        /* Before 3.11 the __dict__'s ['kids'] is the attribute .kids. */
        label.buf[0] = '.';
        memmove(label.buf + 1, label.buf + 2, label.len - 4);
        label.buf[label.len -= 3] = '\0';
    }
    hs_type_display_name(&g->types[r->holder_type], tname, sizeof(tname));
    hs_group_digits(n, n1, sizeof(n1));
    if (r->unused) {
        hs_advice_add(
            list, "sparse_containers", saved, n, r->ctype, r->node,
            hs_xasprintf("%s over-allocated %ss in %s of %s instances "
                         "(half or more of their slots unused)",
                         n1, cname, label.buf, tname),
            hs_xasprintf("make %s at its final size: a literal [a, b] "
                         "instead of append() calls, or l.copy() once "
                         "filled (a list grown by append() keeps room for "
                         "more, and one that lost items keeps their room)",
                         label.buf),
            hs_xasprintf("%s %ss held by nothing else: (objects.size - "
                         "%" PRIu64 " bytes of an empty list) / %" PRIu64
                         " slots allocated, minus their items, %" PRIu64
                         " bytes unused in all",
                         n1, cname, list_base, c->pointer, saved));
        hs_buf_release(&label);
        return;
    }
    hs_advice_add(
        list, "sparse_containers", saved, n, r->ctype, r->node,
        hs_xasprintf("%s empty %ss in %s of %s instances", n1, cname,
                     label.buf, tname),
        hs_xasprintf("make %s lazily: None until first use (class %s), "
                     "instead of an empty %s per instance",
                     label.buf,
                     g->types[r->holder_type].qualname
                         ? g->types[r->holder_type].qualname
                         : g->types[r->holder_type].name,
                     cname),
        hs_xasprintf("%s empty %ss held by nothing else, %" PRIu64
                     " bytes in all",
                     n1, cname, saved));
    hs_buf_release(&label);
}

int
hs_advise_sparse(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t ct[3] = { hs_advise_builtin(g, "list"),
                       c->dict_type,
                       hs_advise_builtin(g, "set") };
    uint32_t dict_t = ct[1], n = 0, alloc = 0, *edges, *args;
    struct empty_ref *refs = NULL;
    uint64_t list_base = ct[0] != UINT32_MAX ? list_base_size(c, ct[0]) : 0;
    int rc = 0;

    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t t = g->type[v], h, e, ht, len;
        uint64_t unused = 0;

        if ((t != ct[0] && t != ct[1] && t != ct[2]) ||
            !hs_advise_freed_with_holder(c, v) || !hs_bfs_reached(c->bfs, v))
            continue;
        len = items(g, v);
        if (len && t == ct[0] && list_base &&
            g->size[v] >= list_base + 2 * (uint64_t)len * c->pointer)
            unused = g->size[v] - list_base - (uint64_t)len * c->pointer;
        else if (len)
            continue;
        h = only_referrer(g, v, &e);
        if (h == UINT32_MAX)
            continue;
        ht = g->type[h];
        if (g->out_kind[e] == HS_EDGE_VALUE && ht == dict_t) {
            /* Before 3.11: a value of an instance's __dict__. */
            uint32_t e2, inst = c->in_deg[h] == 1 ? only_referrer(g, h, &e2)
                                                  : UINT32_MAX;

            if (inst == UINT32_MAX || g->out_kind[e2] != HS_EDGE_ATTR)
                continue;
            ht = g->type[inst];
        } else if (g->out_kind[e] != HS_EDGE_ATTR) {
            continue;
        }
        if (!(g->types[ht].flags & HS_TYPE_HEAP) ||
            (g->types[ht].flags & HS_TYPE_BUILTIN))
            continue;
        HS_ALLOC_GROW(refs, n + 1, alloc);
        refs[n].holder_type = ht;
        refs[n].unused = unused;
        refs[n].ctype = t;
        refs[n].edge = e;
        refs[n].arg = 0;
        refs[n].node = v;
        n++;
    }
    if (!n)
        return 0;
    /* The labels' names ids, read in edge order. */
    qsort(refs, n, sizeof(*refs), by_edge);
    edges = hs_xmalloc((size_t)n * sizeof(*edges));
    args = hs_xcalloc(n, sizeof(*args));
    for (uint32_t i = 0; i < n; i++)
        edges[i] = refs[i].edge;
    if (hs_advise_edge_args(c, edges, n, args) < 0)
        rc = -1;
    for (uint32_t i = 0; i < n; i++)
        refs[i].arg = args[i];
    free(edges);
    free(args);
    qsort(refs, n, sizeof(*refs), by_group);
    for (uint32_t i = 0, j; rc == 0 && i < n; i = j) {
        for (j = i + 1;
             j < n && refs[j].holder_type == refs[i].holder_type &&
             refs[j].ctype == refs[i].ctype && refs[j].arg == refs[i].arg &&
             (refs[j].unused != 0) == (refs[i].unused != 0);
             j++)
            ;
        finding(c, refs + i, j - i, list_base, list);
    }
    free(refs);
    return rc;
}
