/*
 * snapshot_facts.c: bulk reads for `advise` (snapshot_facts.h): the
 * type_layouts table by type, the values of the objects of a few types in
 * one scan of objects, and a label's names id.  Each is one statement run
 * once per command, never a probe per object.
 */
#include "snapshot_facts.h"

#include <stdlib.h>
#include <string.h>

/* Index into g->types of the type whose object id is `type_id`, or -1. */
static int64_t
type_index(const struct hs_graph *g, const uint32_t *order, int64_t type_id)
{
    uint32_t lo = 0, hi = g->ntypes;

    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        int64_t id = hs_graph_object_id(g->types[order[mid]].node);

        if (id == type_id)
            return order[mid];
        if (id < type_id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return -1;
}

static const struct hs_graph *sort_graph; /* qsort has no context */

static int
by_node(const void *a, const void *b)
{
    uint32_t x = sort_graph->types[*(const uint32_t *)a].node;
    uint32_t y = sort_graph->types[*(const uint32_t *)b].node;

    return x < y ? -1 : x > y;
}

struct hs_type_layout *
hs_facts_type_layouts(struct hs_graph *g, int *have)
{
    struct hs_type_layout *l =
        hs_xcalloc(g->ntypes ? g->ntypes : 1, sizeof(*l));
    uint32_t *order;
    struct hs_query *q;
    int rc;

    *have = g->snap && hs_snapshot_has_table(g->snap, "type_layouts");
    if (!*have)
        return l;
    q = hs_query_prepare(g->snap,
                         "SELECT type_id, basicsize, itemsize, dictoffset, "
                         "weaklistoffset, managed_dict, solid_basicsize, "
                         "values_bytes, values_inline FROM type_layouts");
    if (!q) {
        free(l);
        return NULL;
    }
    order = hs_xmalloc((g->ntypes ? g->ntypes : 1) * sizeof(*order));
    for (uint32_t k = 0; k < g->ntypes; k++)
        order[k] = k;
    sort_graph = g;
    qsort(order, g->ntypes, sizeof(*order), by_node);
    while ((rc = hs_query_step(q)) == 1) {
        int64_t k = type_index(g, order, hs_query_int(q, 0));
        struct hs_type_layout *t;

        if (k < 0)
            continue;
        t = &l[k];
        t->present = 1;
        t->basicsize = hs_query_int(q, 1);
        t->itemsize = hs_query_int(q, 2);
        t->dictoffset = hs_query_int(q, 3);
        t->weaklistoffset = hs_query_int(q, 4);
        t->managed_dict = hs_query_int(q, 5) != 0;
        t->solid_basicsize = hs_query_int(q, 6);
        t->values_bytes = hs_query_int(q, 7);
        t->values_inline = hs_query_int(q, 8) != 0;
    }
    free(order);
    hs_query_free(q);
    if (rc < 0) {
        free(l);
        return NULL;
    }
    return l;
}

int
hs_facts_each_value(
    const struct hs_graph *g, const uint32_t *types, uint32_t ntypes,
    int (*fn)(uint32_t v, const char *value, size_t len, void *arg), void *arg)
{
    struct hs_buf sql = HS_BUF_INIT;
    struct hs_query *q;
    int rc, stop = 0;

    if (!g->snap || !ntypes)
        return 0;
    hs_buf_adds(&sql, "SELECT id, value FROM objects WHERE value IS NOT "
                      "NULL AND type_id IN (");
    for (uint32_t i = 0; i < ntypes; i++)
        hs_buf_addf(&sql, "%s%lld", i ? "," : "",
                    (long long)hs_graph_object_id(g->types[types[i]].node));
    hs_buf_adds(&sql, ") ORDER BY id");
    q = hs_query_prepare(g->snap, sql.buf);
    hs_buf_release(&sql);
    if (!q)
        return -1;
    while (!stop && (rc = hs_query_step(q)) == 1) {
        int64_t v = hs_query_int(q, 0) - 1;
        const char *value = hs_query_text(q, 1);

        if (v < 0 || v >= g->n || !value)
            continue;
        stop = fn((uint32_t)v, value, strlen(value), arg);
    }
    hs_query_free(q);
    if (stop)
        return stop;
    return rc < 0 ? -1 : 0;
}
