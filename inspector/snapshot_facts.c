/*
 * snapshot_facts.c: bulk reads for `advise` (snapshot_facts.h): the
 * type_layouts table by type, the values of the objects of a few types in
 * one scan of objects (or a probe per object when they are few), the
 * threads and their roots, and a label's names id.  Each is one
 * statement run once per command.
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

/*
 * Below one object in this many, the objects of the types asked for are
 * read by id, one primary-key probe each, rather than by a scan of the
 * whole table: a probe costs about as much as scanning a hundred rows of
 * objects, so this leaves a margin.
 */
#define HS_FACTS_PROBE_RATIO 256

/* hs_facts_each_value() for few objects: one probe per object of the
 * types (their nodes, from the graph), in id order. */
static int
each_value_probed(const struct hs_graph *g, const uint8_t *wanted,
                  int (*fn)(uint32_t v, const char *value, size_t len,
                            void *arg),
                  void *arg)
{
    struct hs_query *q;
    int rc = 0, stop = 0;

    q = hs_query_prepare(g->snap, "SELECT value FROM objects WHERE id = ?1");
    if (!q)
        return -1;
    for (uint32_t v = 0; v < g->n && !stop && rc >= 0; v++) {
        const char *value;

        if (!wanted[g->type[v]])
            continue;
        hs_query_reset(q);
        rc = hs_query_bind_int(q, 1, hs_graph_object_id(v));
        if (rc >= 0)
            rc = hs_query_step(q);
        if (rc == 1 && (value = hs_query_text(q, 0)) != NULL)
            stop = fn(v, value, strlen(value), arg);
    }
    hs_query_free(q);
    if (stop)
        return stop;
    return rc < 0 ? -1 : 0;
}

int
hs_facts_each_value(
    const struct hs_graph *g, const uint32_t *types, uint32_t ntypes,
    int (*fn)(uint32_t v, const char *value, size_t len, void *arg), void *arg)
{
    struct hs_buf sql = HS_BUF_INIT;
    struct hs_query *q;
    uint64_t count = 0;
    int rc, stop = 0;

    if (!g->snap || !ntypes)
        return 0;
    for (uint32_t i = 0; i < ntypes; i++)
        count += g->types[types[i]].count;
    if (count * HS_FACTS_PROBE_RATIO < g->n) {
        uint8_t *wanted = hs_xcalloc((size_t)g->ntypes + 1, 1);

        for (uint32_t i = 0; i < ntypes; i++)
            wanted[types[i]] = 1;
        rc = each_value_probed(g, wanted, fn, arg);
        free(wanted);
        return rc;
    }
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

/* Root index by roots rowid, for hs_facts_threads. */
struct root_row {
    int64_t row;    /* roots rowid */
    uint32_t index; /* into g->roots */
};

static int
by_row(const void *a, const void *b)
{
    const struct root_row *x = a, *y = b;

    return x->row < y->row ? -1 : x->row > y->row;
}

int
hs_facts_threads(const struct hs_graph *g, struct hs_fact_thread **threads,
                 uint32_t *nthreads, uint32_t **root_thread)
{
    struct hs_fact_thread *t = NULL;
    uint32_t n = 0, alloc = 0, *rt;
    int64_t *ids = NULL;
    struct root_row *rows;
    struct hs_query *q;
    int rc;

    rt = hs_xmalloc(((size_t)g->nroots + 1) * sizeof(*rt));
    for (uint32_t r = 0; r < g->nroots; r++)
        rt[r] = UINT32_MAX;
    *threads = NULL;
    *nthreads = 0;
    *root_thread = rt;
    if (!g->snap)
        return 0;
    q = hs_query_prepare(g->snap, "SELECT id, object_id, is_main, is_dumper "
                                  "FROM threads ORDER BY id");
    if (!q)
        goto error;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t v = hs_query_is_null(q, 1)
                        ? -1
                        : hs_graph_node_of_id(g, hs_query_int(q, 1));

        HS_ALLOC_GROW(t, n + 1, alloc);
        ids = hs_xrealloc(ids, (size_t)alloc * sizeof(*ids));
        ids[n] = hs_query_int(q, 0);
        t[n].node = v < 0 ? UINT32_MAX : (uint32_t)v;
        t[n].is_main = hs_query_int(q, 2) != 0;
        t[n].is_dumper = hs_query_int(q, 3) != 0;
        n++;
    }
    hs_query_free(q);
    if (rc < 0)
        goto error;
    rows = hs_xmalloc(((size_t)g->nroots + 1) * sizeof(*rows));
    for (uint32_t r = 0; r < g->nroots; r++) {
        rows[r].row = g->roots[r].row;
        rows[r].index = r;
    }
    qsort(rows, g->nroots, sizeof(*rows), by_row);
    q = hs_query_prepare(g->snap, "SELECT rowid, thread_id FROM roots "
                                  "WHERE thread_id IS NOT NULL");
    if (!q) {
        free(rows);
        goto error;
    }
    while ((rc = hs_query_step(q)) == 1) {
        struct root_row key = { hs_query_int(q, 0), 0 }, *hit;
        int64_t tid = hs_query_int(q, 1);
        uint32_t lo = 0, hi = n;

        hit = bsearch(&key, rows, g->nroots, sizeof(*rows), by_row);
        /* threads ids ascend: find tid among them. */
        while (lo < hi) {
            uint32_t mid = lo + (hi - lo) / 2;

            if (ids[mid] < tid)
                lo = mid + 1;
            else
                hi = mid;
        }
        if (hit && lo < n && ids[lo] == tid)
            rt[hit->index] = lo;
    }
    hs_query_free(q);
    free(rows);
    if (rc < 0)
        goto error;
    free(ids);
    *threads = t;
    *nthreads = n;
    return 0;
error:
    free(ids);
    free(t);
    free(rt);
    *root_thread = NULL;
    return -1;
}
