/*
 * advise_weak_cache.c: the `weak_cache` finding.  A dict held by a
 * module or a class attribute (a cache, a registry) that is the only
 * thing keeping its values alive: every value it dominates stays for as
 * long as the process, whether anything still uses it or not.  With a
 * weakref.WeakValueDictionary (or a bound on the cache) the values no one
 * else holds go, and with them their keys.  The saving is what the dict
 * dominates, but the dict itself: the retained size of each value and
 * key whose immediate dominator is the dict, plus the attribute values of
 * 3.11+ instances in those subtrees that lie outside objects.size
 * (type_layouts).  Only dicts with HS_WEAK_MIN_VALUES or more such values
 * that can be weakly referenced (instances of classes with a weak-list
 * slot) are reported.
 *
 * A functools.lru_cache on a module's function or a class's method is
 * such a cache too: its dict (the wrapper's one reference to a dict,
 * reported by tp_traverse) keeps every argument and result until evicted,
 * and never evicts without a maxsize; on a method the arguments are self,
 * so every instance it was called on stays (the classic leak).  There the
 * keys count as much as the values: an entry counts when its key or value
 * is dominated by the dict and it, or what it dominates within two
 * levels (a key tuple's self), can be weakly referenced.  Cost: O(n) for
 * the candidates, plus the dominator subtrees of their entries (disjoint,
 * so O(n) in all).
 *
 * A list held by a module or a class attribute is the same leak when it
 * stores callbacks (bound methods whose __self__ it alone keeps), or when
 * a class keeps a list of its own instances (a registry): those items
 * count, each once.  The fix is a weakref.WeakMethod per callback (its
 * cost deducted), or a weakref.WeakSet.  Other module-level lists of
 * objects are the program's data and are not reported.
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_WEAK_MIN_VALUES 100

/* Can instances of node v's type be weakly referenced? */
static int
weakrefable(const struct hs_advise_ctx *c, uint32_t v)
{
    const struct hs_type_layout *l = &c->layouts[c->g->type[v]];

    return l->present && l->weaklistoffset != 0;
}

/* The node that v holds, or a dominator child or grandchild of it, that
 * can be weakly referenced, or UINT32_MAX.  O(children). */
static uint32_t
weak_inside(const struct hs_advise_ctx *c, uint32_t v)
{
    const uint32_t *kids, *grand;
    uint32_t n, ng;

    if (weakrefable(c, v))
        return v;
    n = hs_dominators_children(c->dom, v, &kids);
    for (uint32_t i = 0; i < n; i++)
        if (weakrefable(c, kids[i]))
            return kids[i];
    for (uint32_t i = 0; i < n; i++) {
        ng = hs_dominators_children(c->dom, kids[i], &grand);
        for (uint32_t j = 0; j < ng; j++)
            if (weakrefable(c, grand[j]))
                return grand[j];
    }
    return UINT32_MAX;
}

/* The lru_cache wrapper whose cache dict d is, held by a module or a
 * class, or UINT32_MAX. */
static uint32_t
lru_of(const struct hs_advise_ctx *c, uint32_t lru_t, uint32_t d)
{
    uint32_t w;

    if (lru_t == UINT32_MAX || !hs_bfs_reached(c->bfs, d) ||
        c->bfs->dist[d] == 0)
        return UINT32_MAX;
    w = hs_graph_edge_src(c->g, c->bfs->parent_edge[d]);
    return c->g->type[w] == lru_t && hs_advise_namespace_holder(c, w, NULL)
               ? w
               : UINT32_MAX;
}

/* The functools._lru_cache_wrapper type, or UINT32_MAX. */
static uint32_t
lru_type(const struct hs_graph *g)
{
    for (uint32_t k = 0; k < g->ntypes; k++)
        if (!strcmp(g->types[k].name, "_lru_cache_wrapper") &&
            g->types[k].module && !strcmp(g->types[k].module, "functools"))
            return k;
    return UINT32_MAX;
}

/* The index of type weakref.ref (3.10+: weakref.ReferenceType), or
 * UINT32_MAX. */
static uint32_t
weakref_type(const struct hs_graph *g)
{
    for (uint32_t k = 0; k < g->ntypes; k++) {
        const struct hs_type *t = &g->types[k];

        if ((!strcmp(t->name, "ReferenceType") && t->module &&
             !strcmp(t->module, "weakref")) ||
            (!strcmp(t->name, "weakref") && (t->flags & HS_TYPE_BUILTIN)))
            return k;
    }
    return UINT32_MAX;
}

/*
 * What one weakref.WeakMethod costs on the Python that wrote the
 * snapshot, from the sizes of its parts there: the WeakMethod (a weakref
 * with three slots and a weak-list slot, two words in the pre-header from
 * 3.12), the callback WeakMethod.__new__ makes (a function closing over
 * two cells, their tuple) and the two weakrefs it keeps (to the function
 * and to itself).  0 when the snapshot has no function, cell, tuple or
 * weakref to read a size from.  O(n + tuples' items).
 */
static uint64_t
weakmethod_bytes(const struct hs_advise_ctx *c)
{
    const struct hs_graph *g = c->g;
    uint32_t want[3] = { hs_advise_builtin(g, "function"),
                         hs_advise_builtin(g, "cell"), weakref_type(g) };
    uint32_t tuple_t = hs_advise_builtin(g, "tuple");
    uint64_t least[3] = { 0, 0, 0 }, tuple_base = 0, p = c->pointer;

    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t t = g->type[v];

        for (int i = 0; i < 3; i++)
            if (t == want[i] && (!least[i] || g->size[v] < least[i]))
                least[i] = g->size[v];
        if (t == tuple_t) {
            uint64_t items = hs_advise_count_kind(g, v, HS_EDGE_ITEM), b;

            b = g->size[v] - items * p;
            if (g->size[v] >= items * p && (!tuple_base || b < tuple_base))
                tuple_base = b;
        }
    }
    if (!least[0] || !least[1] || !least[2] || !tuple_base)
        return 0;
    return least[2] + 3 * p + (c->py_version >= 31200 ? 2 * p : p) + least[0] +
           2 * least[1] + tuple_base + 2 * p + 2 * least[2];
}

/* A list at module or class level, l, that alone keeps HS_WEAK_MIN_VALUES
 * or more objects alive that it need not: bound methods whose selves it
 * alone keeps (stored callbacks), or, for a list that is an attribute of
 * class `cls`, instances of that class (a registry the class keeps of its
 * own instances).  Any other list of objects at module level is taken to
 * be the program's data, not a cache.  seen: a scratch byte per node,
 * left all 0.  O(items + their dominator subtrees). */
static void
list_finding(const struct hs_advise_ctx *c, uint32_t l, uint32_t cls,
             uint32_t method_t, uint8_t *seen, uint32_t **stack,
             uint32_t *alloc, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint64_t saved = 0;
    uint32_t items = 0, methods = 0, example = UINT32_MAX;
    struct hs_buf label = HS_BUF_INIT;
    char n1[32];

    for (uint32_t e = g->out_off[l]; e < g->out_off[l + 1]; e++) {
        uint32_t v = g->out_dst[e], w = v;

        if (g->out_kind[e] != HS_EDGE_ITEM || c->dom->idom[v] != l || seen[v])
            continue;
        if (g->type[v] == method_t) {
            /* A stored bound method: what counts is its __self__. */
            if ((w = weak_inside(c, v)) == UINT32_MAX)
                continue;
            methods++;
        } else if (cls == UINT32_MAX || g->types[g->type[v]].node != cls ||
                   !weakrefable(c, v)) {
            continue;
        }
        seen[v] = 1;
        items++;
        if (example == UINT32_MAX)
            example = w;
        saved +=
            c->dom->retained[v] + hs_advise_subtree_extra(c, v, stack, alloc);
    }
    for (uint32_t e = g->out_off[l]; e < g->out_off[l + 1]; e++)
        seen[g->out_dst[e]] = 0;
    if (methods * 2 > items) {
        /* The fix stores a WeakMethod per callback: what it costs. */
        uint64_t cost = (uint64_t)methods * weakmethod_bytes(c);

        saved = saved > cost ? saved - cost : 0;
    }
    if (items < HS_WEAK_MIN_VALUES || saved < c->min_bytes || !saved)
        return;
    hs_group_digits(items, n1, sizeof(n1));
    hs_advise_path_label(c, l, &label);
    hs_advice_add(
        list, "weak_cache", saved, items, g->type[example], l,
        hs_xasprintf("%s (a list) alone keeps %s %s objects alive%s",
                     label.buf, n1, g->types[g->type[example]].name,
                     methods * 2 > items ? ", through bound methods stored "
                                           "in it"
                                         : ""),
        methods * 2 > items
            ? hs_xasprintf("store weakref.WeakMethod(obj.method) in %s and "
                           "call what it returns (None once obj is gone), "
                           "or remove each callback when its object is done",
                           label.buf)
            : hs_xasprintf("if %s is a registry, make it a weakref.WeakSet() "
                           "(members go when nothing else uses them), or "
                           "bound it (collections.deque(maxlen=...))",
                           label.buf),
        hs_xasprintf("retained size of the %s items that only the list "
                     "holds (dominated by it)%s, with their attribute "
                     "values; the list's own slots are not counted%s",
                     n1, methods ? ", bound methods with their selves" : "",
                     methods * 2 > items
                         ? "; minus what the WeakMethods cost (each a "
                           "weakref, a callback closure and two weakrefs, "
                           "sized as this Python's)"
                         : ""));
    hs_buf_release(&label);
}

int
hs_advise_weak_cache(const struct hs_advise_ctx *c,
                     struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t dict_t = c->dict_type;
    uint32_t lru_t = lru_type(g), list_t = hs_advise_builtin(g, "list");
    uint32_t method_t = hs_advise_builtin(g, "method");
    const uint8_t *is_type = c->is_class;
    uint8_t *seen;
    uint32_t *stack = NULL, alloc = 0;

    if (!c->have_layouts || dict_t == UINT32_MAX)
        return 0;
    seen = hs_xcalloc((size_t)g->n + 1, 1);
    for (uint32_t d = 0; d < g->n; d++) {
        uint64_t saved = 0;
        uint32_t values = 0, example = UINT32_MAX, lru = UINT32_MAX;
        struct hs_buf label = HS_BUF_INIT;
        char n1[32];

        if ((g->type[d] != dict_t && g->type[d] != list_t) ||
            g->out_off[d + 1] - g->out_off[d] < HS_WEAK_MIN_VALUES)
            continue;
        if (g->type[d] == list_t) {
            uint32_t holder = UINT32_MAX;

            if (hs_advise_namespace_holder(c, d, &holder))
                list_finding(c, d, is_type[holder] ? holder : UINT32_MAX,
                             method_t, seen, &stack, &alloc, list);
            continue;
        }
        if (!hs_advise_namespace_holder(c, d, NULL) &&
            (lru = lru_of(c, lru_t, d)) == UINT32_MAX)
            continue;
        for (uint32_t e = g->out_off[d]; e < g->out_off[d + 1]; e++) {
            uint32_t v = g->out_dst[e], w;

            if (c->dom->idom[v] != d)
                continue;
            if (g->out_kind[e] == HS_EDGE_VALUE && weakrefable(c, v)) {
                values++;
                if (example == UINT32_MAX)
                    example = v;
            } else if (lru != UINT32_MAX &&
                       (g->out_kind[e] == HS_EDGE_KEY ||
                        g->out_kind[e] == HS_EDGE_VALUE) &&
                       (w = weak_inside(c, v)) != UINT32_MAX) {
                /* An lru_cache keeps its arguments as keys. */
                values++;
                if (example == UINT32_MAX)
                    example = w;
            } else if (g->out_kind[e] != HS_EDGE_KEY) {
                continue;
            }
            saved += c->dom->retained[v] +
                     hs_advise_subtree_extra(c, v, &stack, &alloc);
        }
        if (values < HS_WEAK_MIN_VALUES || saved < c->min_bytes)
            continue;
        hs_group_digits(values, n1, sizeof(n1));
        if (lru != UINT32_MAX) {
            uint32_t e, p = hs_graph_edge_src(g, c->bfs->parent_edge[lru]);
            int method = is_type[p];

            /* A class's attribute is a value of its __dict__. */
            if (!method && g->type[p] == dict_t && hs_bfs_reached(c->bfs, p) &&
                c->bfs->dist[p] > 0) {
                e = c->bfs->parent_edge[p];
                method = is_type[hs_graph_edge_src(g, e)];
            }
            hs_advise_path_label(c, lru, &label);
            hs_advice_add(
                list, "weak_cache", saved, values, g->type[example], lru,
                hs_xasprintf("%s (a functools.lru_cache) alone keeps %s %s "
                             "objects alive",
                             label.buf, n1, g->types[g->type[example]].name),
                method ? hs_xasprintf(
                             "%s is a method: its lru_cache keeps every self "
                             "it was called on; cache per instance instead "
                             "(functools.cached_property, or a "
                             "weakref.WeakKeyDictionary keyed by self), or "
                             "bound it (lru_cache(maxsize=...))",
                             label.buf)
                       : hs_xasprintf(
                             "bound %s (lru_cache(maxsize=...)), or memoize "
                             "in a weakref.WeakValueDictionary (results go "
                             "when nothing else uses them)",
                             label.buf),
                hs_xasprintf("retained size of the %s cache entries (key "
                             "and result) that only the cache's dict holds "
                             "(dominated by it), with their attribute "
                             "values",
                             n1));
            hs_buf_release(&label);
            continue;
        }
        hs_advise_path_label(c, d, &label);
        hs_advice_add(
            list, "weak_cache", saved, values, g->type[example], d,
            hs_xasprintf("%s (a dict) alone keeps %s %s objects alive",
                         label.buf, n1, g->types[g->type[example]].name),
            hs_xasprintf("if %s is a cache, make it a "
                         "weakref.WeakValueDictionary() (entries go when "
                         "nothing else uses them) or bound it "
                         "(functools.lru_cache(maxsize=...))",
                         label.buf),
            hs_xasprintf("retained size of the %s values and their keys "
                         "that only the dict holds (dominated by it), "
                         "with their attribute values",
                         n1));
        hs_buf_release(&label);
    }
    free(stack);
    free(seen);
    return 0;
}
