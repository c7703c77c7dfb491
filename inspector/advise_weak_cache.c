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
 */
#include "advise.h"
#include "report.h"

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

/* Is v held by a module or a class attribute: is its BFS parent a module
 * or a class, or the __dict__ of one? */
static int
module_or_class_level(const struct hs_advise_ctx *c, const uint8_t *is_type,
                      uint32_t module_t, uint32_t v)
{
    const struct hs_graph *g = c->g;

    for (int hop = 0; hop < 2; hop++) {
        uint32_t e, p;

        if (!hs_bfs_reached(c->bfs, v) || c->bfs->dist[v] == 0)
            return 0;
        e = c->bfs->parent_edge[v];
        if (g->out_kind[e] != HS_EDGE_ATTR && g->out_kind[e] != HS_EDGE_VALUE)
            return 0;
        p = hs_graph_edge_src(g, e);
        if (g->type[p] == module_t || is_type[p])
            return 1;
        if (g->type[p] != c->dict_type)
            return 0;
        v = p;
    }
    return 0;
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
lru_of(const struct hs_advise_ctx *c, const uint8_t *is_type,
       uint32_t module_t, uint32_t lru_t, uint32_t d)
{
    uint32_t w;

    if (lru_t == UINT32_MAX || !hs_bfs_reached(c->bfs, d) ||
        c->bfs->dist[d] == 0)
        return UINT32_MAX;
    w = hs_graph_edge_src(c->g, c->bfs->parent_edge[d]);
    return c->g->type[w] == lru_t &&
                   module_or_class_level(c, is_type, module_t, w)
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

/* Appends the path to v, without its last step's " → TYPE": the
 * attribute names the object ("module m .CACHE"). */
static void
holder_label(const struct hs_advise_ctx *c, uint32_t v, struct hs_buf *label)
{
    struct hs_json_src src = { c->g, c->names, c->bfs, c->dom, 0, NULL };
    const char *tname = c->g->types[c->g->type[v]].name;
    char tail[300];
    size_t n;

    hs_why_path_line(&src, v, 8, 0, label);
    snprintf(tail, sizeof(tail), " \xE2\x86\x92 %s", tname);
    n = strlen(tail);
    if (label->len > n && !strcmp(label->buf + label->len - n, tail))
        label->buf[label->len -= n] = '\0';
}

int
hs_advise_weak_cache(const struct hs_advise_ctx *c,
                     struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t dict_t = c->dict_type, module_t = hs_advise_builtin(g, "module");
    uint32_t lru_t = lru_type(g);
    uint8_t *is_type;
    uint32_t *stack = NULL, alloc = 0;

    if (!c->have_layouts || dict_t == UINT32_MAX)
        return 0;
    is_type = hs_xcalloc((size_t)g->n + 1, 1);
    for (uint32_t k = 0; k < g->ntypes; k++)
        is_type[g->types[k].node] = 1;
    for (uint32_t d = 0; d < g->n; d++) {
        uint64_t saved = 0;
        uint32_t values = 0, example = UINT32_MAX, lru = UINT32_MAX;
        struct hs_buf label = HS_BUF_INIT;
        char n1[32];

        if (g->type[d] != dict_t ||
            g->out_off[d + 1] - g->out_off[d] < HS_WEAK_MIN_VALUES)
            continue;
        if (!module_or_class_level(c, is_type, module_t, d) &&
            (lru = lru_of(c, is_type, module_t, lru_t, d)) == UINT32_MAX)
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
            holder_label(c, lru, &label);
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
        holder_label(c, d, &label);
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
    free(is_type);
    return 0;
}
