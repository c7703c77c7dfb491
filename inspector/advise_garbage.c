/*
 * advise_garbage.c: the `garbage_cycles` finding.  Objects no root
 * reaches (flagged unreachable by the agent) are reference cycles the
 * cyclic collector has not freed yet: memory held until the next
 * collection of their generation, or for good when gc is disabled.
 * Collecting them, or not making the cycles (a weak back-reference), saves
 * their size: objects.size of each, plus, for instances of classes whose
 * attribute values lie outside it (3.11+, type_layouts), those values.
 * One finding for the heap, naming the most frequent types and whether a
 * member has __del__.  O(n).
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

int
hs_advise_garbage(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t *count = hs_xcalloc((size_t)g->ntypes + 1, sizeof(*count));
    uint32_t top, example = UINT32_MAX;
    uint64_t total = 0, bytes = 0, with_del = 0;
    struct hs_buf types = HS_BUF_INIT;
    char n1[32];

    for (uint32_t v = 0; v < g->n; v++) {
        if (!(g->flags[v] & HS_OBJ_UNREACHABLE))
            continue;
        count[g->type[v]]++;
        total++;
        bytes += g->size[v] + hs_advise_values_extra(c, v);
        with_del += (g->flags[v] & HS_OBJ_HAS_DEL) != 0;
    }
    if (!total || bytes < c->min_bytes) {
        free(count);
        return 0;
    }
    /* The most frequent types, heap types first among equals. */
    top = hs_advise_top_types(g, count, &types);
    for (uint32_t v = 0; v < g->n && example == UINT32_MAX; v++)
        if ((g->flags[v] & HS_OBJ_UNREACHABLE) && g->type[v] == top)
            example = v;
    hs_group_digits(total, n1, sizeof(n1));
    hs_advice_add(
        list, "garbage_cycles", bytes, total, top, example,
        hs_xasprintf("%s unreachable objects in reference cycles await the "
                     "cyclic gc (%s)%s",
                     n1, types.buf, with_del ? "; members with __del__" : ""),
        hs_xstrdup("break the cycles: make the back-reference a weakref "
                   "(weakref.ref, WeakValueDictionary) or clear it when "
                   "done; gc.collect() frees these now"),
        hs_xasprintf("%s objects no root reaches, %" PRIu64
                     " bytes with their attribute values",
                     n1, bytes));
    hs_buf_release(&types);
    free(count);
    return 0;
}
