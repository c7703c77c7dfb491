/*
 * advise_materialized.c: the `materialized_sequence` finding.  A big list
 * that a running function holds in a local variable and that nothing
 * else holds but iterators over it (a comprehension's result, a
 * readlines()) is built whole only to be walked: a generator expression,
 * or iterating the file itself, keeps one item alive at a time.  The
 * saving is what the list retains (dominator tree: the list and the items
 * only it holds, with their 3.11+ attribute values).  Only lists of
 * HS_MATERIALIZED_MIN_ITEMS items or more.  O(n + m).
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_MATERIALIZED_MIN_ITEMS 10000

/*
 * Is v held by a running function's local variable and otherwise only by
 * iterators (list_iterator, ...)?  A local is a frame root (3.11+) or a
 * local reference from a frame object (before 3.11).  rooted_local[v]:
 * a frame root holds v.
 */
static int
local_only(const struct hs_graph *g, const uint8_t *rooted_local, uint32_t v)
{
    int local = rooted_local[v];

    for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++) {
        uint32_t s = hs_graph_in_src(g, i);
        const char *name;
        size_t len;

        if (!hs_graph_in_retains(g, i))
            continue;
        name = g->types[g->type[s]].name;
        len = strlen(name);
        if (!strcmp(name, "frame")) {
            local = 1;
            continue;
        }
        if (len < 8 || strcmp(name + len - 8, "iterator"))
            return 0;
    }
    return local;
}

int
hs_advise_materialized(const struct hs_advise_ctx *c,
                       struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t list_t = hs_advise_builtin(g, "list"), *stack = NULL, alloc = 0;
    uint8_t *rooted_local;

    if (list_t == UINT32_MAX)
        return 0;
    rooted_local = hs_xcalloc((size_t)g->n + 1, 1);
    for (uint32_t r = 0; r < g->nroots; r++)
        if (g->roots[r].kind == HS_ROOT_FRAME)
            rooted_local[g->roots[r].node] = 1;
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t items = 0;
        uint64_t saved;
        char n1[32];

        if (g->type[v] != list_t ||
            g->out_off[v + 1] - g->out_off[v] < HS_MATERIALIZED_MIN_ITEMS)
            continue;
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++)
            items += g->out_kind[e] == HS_EDGE_ITEM;
        if (items < HS_MATERIALIZED_MIN_ITEMS ||
            !local_only(g, rooted_local, v))
            continue;
        saved = c->dom->retained[v] +
                hs_advise_subtree_extra(c, v, &stack, &alloc);
        if (saved < c->min_bytes)
            continue;
        hs_group_digits(items, n1, sizeof(n1));
        hs_advice_add(
            list, "materialized_sequence", saved, items, list_t, v,
            hs_xasprintf("a list of %s items that only a running function's "
                         "local variable (and iterators over it) holds",
                         n1),
            hs_xstrdup("if the list is only iterated, do not build it: a "
                       "generator expression (... for ... in ...) instead "
                       "of [...], or iterate the file instead of "
                       "readlines(); one item is alive at a time"),
            hs_xasprintf("retained size of the list: it and the items only "
                         "it holds (%s items)",
                         n1));
    }
    free(rooted_local);
    free(stack);
    return 0;
}
