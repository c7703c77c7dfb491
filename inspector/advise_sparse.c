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
 * allocates exactly its length) does not allocate.
 *
 * Dicts and sets left sparse by deletions are the third: neither gives
 * back its table when items go, and a table four or more times what
 * dict(d) or set(s) would make for the items left comes from deletions
 * (hash_tables.h: the per-version sizes, and why growth alone stays
 * under that).  The saving is objects.size minus that fresh copy's size.
 * These are counted wherever they are held (by one reference): grouped by
 * class and attribute when instances hold them, else by the holder's
 * type, one dict of a module being a group of its own.  O(n + m) plus one
 * read of the candidates' labels.
 */
#include "advise.h"
#include "hash_tables.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_SPARSE_MIN_EMPTY 100

/* What is wrong with a container. */
enum waste { EMPTY, OVERALLOCATED, SPARSE_TABLE };

struct empty_ref {
    uint32_t holder_type; /* the instance's type (else the holder's) */
    uint64_t unused;      /* the bytes a fix frees: unused list slots,
                             or a table beyond a fresh copy's; 0 for an
                             empty container (all of it) */
    uint64_t slots;       /* SPARSE_TABLE: the table's slots */
    uint32_t items;       /* SPARSE_TABLE: the items in it */
    uint32_t ctype;       /* the container's type */
    uint32_t edge;        /* the attribute (or __dict__ value) reference */
    uint32_t arg;         /* its label's names id, 0 unless instance */
    uint32_t node;        /* the container */
    uint32_t group;       /* the holder when it is a dict (a module's
                             globals, a registry: one finding each),
                             else 0 */
    uint8_t what;         /* enum waste */
    uint8_t instance;     /* held by an instance's attribute */
    uint8_t edge_kind;    /* the holding reference's kind */
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

/* The bytes a fresh copy of dict or set v (dict(d), set(s)) would not
 * allocate when its table is four or more times the copy's, else 0; the
 * table's slots and the items.  O(out-degree). */
static uint64_t
table_waste(const struct hs_hash_tables *m, const struct hs_graph *g,
            uint32_t v, int is_set, uint64_t *slots, uint32_t *items_out)
{
    uint64_t size = g->size[v], fresh, have;

    if (!is_set) {
        unsigned k, kf;
        int uni;
        uint32_t n = hs_advise_count_kind(g, v, HS_EDGE_VALUE);

        if (hs_dict_table_of(m, size, &k, &uni) < 0)
            return 0;
        kf = hs_dict_fresh_log2(m, n);
        /* An emptied table counts against the least one, of 8 slots. */
        if (k < (kf ? kf : 3) + 2)
            return 0;
        fresh = hs_dict_size(m, kf, uni);
        *slots = (uint64_t)1 << k;
        *items_out = n;
        return size > fresh ? size - fresh : 0;
    }
    *items_out = hs_advise_count_kind(g, v, HS_EDGE_ELEMENT);
    if (hs_set_table_of(m, size, &have) < 0)
        return 0;
    fresh = hs_set_fresh_slots(*items_out);
    if (have < 4 * fresh)
        return 0;
    *slots = have;
    fresh = hs_set_size(m, fresh);
    return size > fresh ? size - fresh : 0;
}

static int
by_group(const void *a, const void *b)
{
    const struct empty_ref *x = a, *y = b;

    if (x->holder_type != y->holder_type)
        return x->holder_type < y->holder_type ? -1 : 1;
    if (x->ctype != y->ctype)
        return x->ctype < y->ctype ? -1 : 1;
    if (x->what != y->what)
        return x->what < y->what ? -1 : 1;
    if (x->instance != y->instance)
        return x->instance < y->instance ? -1 : 1;
    if (x->edge_kind != y->edge_kind)
        return x->edge_kind < y->edge_kind ? -1 : 1;
    if (x->arg != y->arg)
        return x->arg < y->arg ? -1 : 1;
    if (x->group != y->group)
        return x->group < y->group ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int
same_group(const struct empty_ref *x, const struct empty_ref *y)
{
    return x->holder_type == y->holder_type && x->ctype == y->ctype &&
           x->what == y->what && x->instance == y->instance &&
           x->edge_kind == y->edge_kind && x->arg == y->arg &&
           x->group == y->group;
}

static int
by_edge(const void *a, const void *b)
{
    const struct empty_ref *x = a, *y = b;

    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

/* The finding for n sparse tables r[0 .. n). */
static void
table_finding(const struct hs_advise_ctx *c, const struct empty_ref *r,
              uint32_t n, uint64_t saved, const char *label,
              struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    struct hs_buf where = HS_BUF_INIT;
    const char *cname = g->types[r->ctype].name;
    int is_set = strcmp(cname, "dict") != 0;
    char tname[256], n1[32], n2[32], n3[32], *title;

    hs_group_digits(n, n1, sizeof(n1));
    hs_type_display_name(&g->types[r->holder_type], tname, sizeof(tname));
    if (r->instance) {
        title = hs_xasprintf("%s %ss in %s of %s instances keep tables "
                             "sized before deletions",
                             n1, cname, label, tname);
    } else if (n == 1) {
        hs_advise_path_label(c, r->node, &where);
        hs_group_digits(r->slots, n2, sizeof(n2));
        hs_group_digits(r->items, n3, sizeof(n3));
        title = hs_xasprintf("a %s at %s keeps a table of %s slots for %s "
                             "items (left by deletions)",
                             cname, where.buf, n2, n3);
        label = where.buf;
    } else {
        title = hs_xasprintf("%s %ss held by %s objects keep tables sized "
                             "before deletions",
                             n1, cname, tname);
        label = is_set ? "each set" : "each dict";
    }
    hs_advice_add(
        list, "sparse_containers", saved, n, r->ctype, r->node, title,
        n == 1 && r->items == 0
            ? hs_xasprintf("free its table: %s.clear() (a %s keeps its "
                           "table when its items are removed one by one)",
                           label, cname)
        : is_set ? hs_xasprintf("rebuild %s once it has shrunk: s = set(s) "
                                "(a set keeps its table when items are "
                                "removed; set(s) sizes one for what is left, "
                                "s.clear() frees it when empty)",
                                label)
                 : hs_xasprintf("rebuild %s once it has shrunk: d = dict(d) "
                                "(a dict keeps its table when items are "
                                "deleted; dict(d) sizes one for what is left, "
                                "d.clear() frees it when empty)",
                                label),
        hs_xasprintf("%s %s%s whose table%s 4x or more what %s items "
                     "need: objects.size minus the size of %s with the same "
                     "items on this Python, %" PRIu64 " bytes in all",
                     n1, cname, n == 1 ? "" : "s", n == 1 ? " is" : "s are",
                     n == 1 ? "its" : "their", is_set ? "set(s)" : "dict(d)",
                     saved));
    hs_buf_release(&where);
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
        saved += r->what != EMPTY ? r[i].unused : g->size[r[i].node];
    if (saved < c->min_bytes ||
        (r->what != SPARSE_TABLE && n < HS_SPARSE_MIN_EMPTY))
        return;
    if (r->instance) {
        hs_naming_edge(c->names, r->edge, &label);
        if (label.len > 4 && !strncmp(label.buf, "['", 2)) {
            /* Before 3.11 the __dict__'s ['kids'] is the attribute .kids. */
            label.buf[0] = '.';
            memmove(label.buf + 1, label.buf + 2, label.len - 4);
            label.buf[label.len -= 3] = '\0';
        }
    }
    if (r->what == SPARSE_TABLE) {
        table_finding(c, r, n, saved, label.buf ? label.buf : "", list);
        hs_buf_release(&label);
        return;
    }
    hs_type_display_name(&g->types[r->holder_type], tname, sizeof(tname));
    hs_group_digits(n, n1, sizeof(n1));
    if (r->what == OVERALLOCATED) {
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

/* The tables model of this snapshot, or 0 when it cannot have one (no
 * type_layouts, an unknown version). */
static int
tables_model(const struct hs_advise_ctx *c, uint32_t set_t,
             struct hs_hash_tables *m)
{
    if (!c->have_layouts || !c->py_version || c->dict_type == UINT32_MAX ||
        !c->layouts[c->dict_type].present)
        return 0;
    m->version = c->py_version;
    m->pointer = c->pointer;
    /* Both are tracked by the gc: its header (two words) comes first. */
    m->dict_head =
        2 * c->pointer + (uint64_t)c->layouts[c->dict_type].basicsize;
    m->set_head = set_t != UINT32_MAX && c->layouts[set_t].present
                      ? 2 * c->pointer + (uint64_t)c->layouts[set_t].basicsize
                      : 0;
    return 1;
}

int
hs_advise_sparse(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t ct[3] = { hs_advise_builtin(g, "list"), c->dict_type,
                       hs_advise_builtin(g, "set") };
    uint32_t dict_t = ct[1], n = 0, alloc = 0, *edges, *args;
    struct empty_ref *refs = NULL;
    struct hs_hash_tables model;
    int have_model = tables_model(c, ct[2], &model);
    uint64_t list_base = ct[0] != UINT32_MAX ? list_base_size(c, ct[0]) : 0;
    int rc = 0;

    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t t = g->type[v], h, e, ht, len, table_items = 0;
        uint64_t unused = 0, table = 0, slots = 0;
        uint8_t what = EMPTY, instance = 1;

        if ((t != ct[0] && t != ct[1] && t != ct[2]) ||
            !hs_advise_freed_with_holder(c, v) || !hs_bfs_reached(c->bfs, v))
            continue;
        len = items(g, v);
        if (have_model && t != ct[0] && (t == dict_t || model.set_head))
            table =
                table_waste(&model, g, v, t != dict_t, &slots, &table_items);
        if (len && t == ct[0] && list_base &&
            g->size[v] >= list_base + 2 * (uint64_t)len * c->pointer) {
            unused = g->size[v] - list_base - (uint64_t)len * c->pointer;
            what = OVERALLOCATED;
        } else if (len && table) {
            unused = table;
            what = SPARSE_TABLE;
        } else if (len) {
            continue;
        }
        h = only_referrer(g, v, &e);
        if (h == UINT32_MAX)
            continue;
        ht = g->type[h];
        if (g->out_kind[e] == HS_EDGE_VALUE && ht == dict_t) {
            /* Before 3.11: a value of an instance's __dict__. */
            uint32_t e2, inst = c->in_deg[h] == 1 ? only_referrer(g, h, &e2)
                                                  : UINT32_MAX;

            if (inst == UINT32_MAX || g->out_kind[e2] != HS_EDGE_ATTR)
                instance = 0;
            else
                ht = g->type[inst];
        } else if (g->out_kind[e] != HS_EDGE_ATTR) {
            instance = 0;
        }
        if (instance && (!(g->types[ht].flags & HS_TYPE_HEAP) ||
                         (g->types[ht].flags & HS_TYPE_BUILTIN)))
            instance = 0;
        if (!instance) {
            /* Only a sparse table is worth a finding wherever it is
             * held (an emptied one too: d.clear() frees it). */
            if (!table)
                continue;
            unused = table;
            what = SPARSE_TABLE;
            ht = g->type[h];
        }
        HS_ALLOC_GROW(refs, n + 1, alloc);
        refs[n].holder_type = ht;
        refs[n].unused = unused;
        refs[n].slots = slots;
        refs[n].items = table_items;
        refs[n].ctype = t;
        refs[n].edge = e;
        refs[n].arg = 0;
        refs[n].node = v;
        refs[n].what = what;
        refs[n].instance = instance;
        refs[n].edge_kind = instance ? HS_EDGE_ATTR : g->out_kind[e];
        refs[n].group = 0;
        if (!instance && g->type[h] == dict_t)
            refs[n].group =
                hs_advise_namespace_holder(c, v, NULL) ? v + 1 : h + 1;
        n++;
    }
    if (!n)
        return 0;
    /* The labels' names ids, read in edge order: an instance's attribute
     * names its group. */
    qsort(refs, n, sizeof(*refs), by_edge);
    edges = hs_xmalloc((size_t)n * sizeof(*edges));
    args = hs_xcalloc(n, sizeof(*args));
    for (uint32_t i = 0; i < n; i++)
        edges[i] = refs[i].edge;
    if (hs_advise_edge_args(c, edges, n, args) < 0)
        rc = -1;
    for (uint32_t i = 0; i < n; i++)
        refs[i].arg = refs[i].instance ? args[i] : 0;
    free(edges);
    free(args);
    qsort(refs, n, sizeof(*refs), by_group);
    for (uint32_t i = 0, j; rc == 0 && i < n; i = j) {
        for (j = i + 1; j < n && same_group(refs + j, refs + i); j++)
            ;
        finding(c, refs + i, j - i, list_base, list);
    }
    free(refs);
    return rc;
}
