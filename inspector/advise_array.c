/*
 * advise_array.c: the `array` finding.  A list, tuple or deque holding
 * only ints or only floats stores a pointer per item plus a boxed number
 * object per item; array.array stores the raw numbers, 8 bytes each for
 * 'd' (floats) and 'q' (ints that fit in 64 bits).  Per container the
 * saving is
 *     objects.size of the container
 *   + objects.size of each item the container alone holds (an int or
 *     float also held elsewhere, a small int, an immortal or static
 *     object stays alive and saves nothing)
 *   - the array: its basic size (8 pointers) + 8 bytes per item.
 * Containers with fewer than HS_ARRAY_MIN_ITEMS items, with items of any
 * other type (bool included) or of both kinds, or with an int beyond 64
 * bits, are not considered.  Findings are grouped by container type and
 * item type.  O(n + m).
 */
#include "advise.h"

#include <inttypes.h>
#include <string.h>

#define HS_ARRAY_MIN_ITEMS 100

/* The largest int objects.size whose value fits in 64 bits: two 30-bit
 * digits after the header (24 bytes on 64-bit builds). */
#define HS_ARRAY_MAX_INT_SIZE 32

struct array_group {
    uint32_t container, item; /* type indexes */
    uint64_t saved, containers, items, freed_items;
    uint64_t best;    /* the largest single saving */
    uint32_t example; /* its container */
};

/* What replacing container v by an array saves, or 0 when v does not
 * qualify; its item type into *item and item counts into *items and
 * *freed. */
static uint64_t
container_saving(const struct hs_advise_ctx *c, uint32_t v, uint32_t int_t,
                 uint32_t float_t, uint32_t *item, uint64_t *items,
                 uint64_t *freed)
{
    const struct hs_graph *g = c->g;
    uint64_t now = g->size[v], after;
    uint32_t n = 0, kind = UINT32_MAX;

    *freed = 0;
    for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
        uint32_t d = g->out_dst[e], t = g->type[d];

        if (g->out_kind[e] != HS_EDGE_ITEM)
            continue;
        if ((t != int_t && t != float_t) || (kind != UINT32_MAX && t != kind))
            return 0;
        if (t == int_t && g->size[d] > HS_ARRAY_MAX_INT_SIZE)
            return 0;
        kind = t;
        n++;
        if (hs_advise_freed_with_holder(c, d)) {
            now += g->size[d];
            (*freed)++;
        }
    }
    if (n < HS_ARRAY_MIN_ITEMS)
        return 0;
    after = 8 * c->pointer + 8 * (uint64_t)n;
    *item = kind;
    *items = n;
    return now > after ? now - after : 0;
}

int
hs_advise_array(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    const char *containers[] = { "list", "tuple", "deque" };
    uint32_t ct[3], int_t = hs_advise_builtin(g, "int");
    uint32_t float_t = hs_advise_builtin(g, "float");
    struct array_group groups[6];

    memset(groups, 0, sizeof(groups));
    for (int i = 0; i < 3; i++)
        ct[i] = hs_advise_builtin(g, containers[i]);
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t t = g->type[v], item = 0;
        uint64_t saved, items, freed;
        int ci = t == ct[0] ? 0 : t == ct[1] ? 1 : t == ct[2] ? 2 : -1;
        struct array_group *gr;

        if (ci < 0 || !hs_bfs_reached(c->bfs, v) ||
            g->out_off[v + 1] - g->out_off[v] < HS_ARRAY_MIN_ITEMS)
            continue;
        saved = container_saving(c, v, int_t, float_t, &item, &items, &freed);
        if (!saved)
            continue;
        gr = &groups[ci * 2 + (item == float_t)];
        gr->container = t;
        gr->item = item;
        gr->saved += saved;
        gr->containers++;
        gr->items += items;
        gr->freed_items += freed;
        if (saved > gr->best) {
            gr->best = saved;
            gr->example = v;
        }
    }
    for (int i = 0; i < 6; i++) {
        const struct array_group *gr = &groups[i];
        int floats = i % 2;
        char n1[32], n2[32], n3[32];

        if (!gr->containers || gr->saved < c->min_bytes)
            continue;
        hs_group_digits(gr->containers, n1, sizeof(n1));
        hs_group_digits(gr->items, n2, sizeof(n2));
        hs_group_digits(gr->freed_items, n3, sizeof(n3));
        hs_advice_add(
            (struct hs_advice_list *)list, "array", gr->saved, gr->containers,
            gr->container, gr->example,
            hs_xasprintf("%s %s%s of only %s (%s items)", n1,
                         g->types[gr->container].name,
                         gr->containers == 1 ? "" : "s",
                         floats ? "floats" : "ints", n2),
            hs_xasprintf("store them in array.array('%c', ...) (import "
                         "array)%s",
                         floats ? 'd' : 'q',
                         i / 2 == 1 ? " instead of the tuple" : ""),
            hs_xasprintf("container sizes + %s of the %s items held by "
                         "nothing else, minus arrays of %" PRIu64
                         " + 8 bytes per item",
                         n3, n2, 8 * c->pointer));
    }
    return 0;
}
