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
 * slot) are reported.  Cost: O(n) for the candidates, plus the dominator
 * subtrees of their values (disjoint, so O(n) in all).
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

int
hs_advise_weak_cache(const struct hs_advise_ctx *c,
                     struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t dict_t = c->dict_type, module_t = hs_advise_builtin(g, "module");
    uint8_t *is_type;
    uint32_t *stack = NULL, alloc = 0;

    if (!c->have_layouts || dict_t == UINT32_MAX)
        return 0;
    is_type = hs_xcalloc((size_t)g->n + 1, 1);
    for (uint32_t k = 0; k < g->ntypes; k++)
        is_type[g->types[k].node] = 1;
    for (uint32_t d = 0; d < g->n; d++) {
        uint64_t saved = 0;
        uint32_t values = 0, example = UINT32_MAX;
        struct hs_buf label = HS_BUF_INIT;
        char n1[32];

        if (g->type[d] != dict_t ||
            g->out_off[d + 1] - g->out_off[d] < HS_WEAK_MIN_VALUES ||
            !module_or_class_level(c, is_type, module_t, d))
            continue;
        for (uint32_t e = g->out_off[d]; e < g->out_off[d + 1]; e++) {
            uint32_t v = g->out_dst[e];

            if (c->dom->idom[v] != d)
                continue;
            if (g->out_kind[e] == HS_EDGE_VALUE && weakrefable(c, v)) {
                values++;
                if (example == UINT32_MAX)
                    example = v;
            } else if (g->out_kind[e] != HS_EDGE_KEY) {
                continue;
            }
            saved += c->dom->retained[v] +
                     hs_advise_subtree_extra(c, v, &stack, &alloc);
        }
        if (values < HS_WEAK_MIN_VALUES || saved < c->min_bytes)
            continue;
        {
            struct hs_json_src src = { c->g, c->names, c->bfs, c->dom, 0,
                                       NULL };

            static const char tail[] = " \xE2\x86\x92 dict";

            hs_why_path_line(&src, d, 8, 0, &label);
            /* "module m .CACHE → dict": the attribute names the dict. */
            if (label.len > sizeof(tail) - 1 &&
                !strcmp(label.buf + label.len - (sizeof(tail) - 1), tail))
                label.buf[label.len -= sizeof(tail) - 1] = '\0';
        }
        hs_group_digits(values, n1, sizeof(n1));
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
