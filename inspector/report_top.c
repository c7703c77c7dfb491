/*
 * report_top.c: the answers of `top` (report.h): the types by size, count
 * or retained size; the single objects that retain the most; the owners
 * of much of the heap (suspects) with where their memory accumulates.
 * The command (cmd_top.c) prints them as text; --json and the server's
 * /api/top and /api/suspects take the documents built here.  Nothing here
 * prints.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

const char *const hs_top_order_names[] = { "size", "count", "retained",
                                           NULL };

static enum hs_top_order row_order; /* qsort has no context argument */

static int
row_cmp(const void *a, const void *b)
{
    const struct hs_top_row *x = a, *y = b;

    if (row_order == HS_TOP_BY_COUNT && x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (row_order == HS_TOP_BY_RETAINED && x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/* The types with instances in `order` (malloc'd, *nrows of them) with
 * their totals.  O(T log T). */
struct hs_top_row *
hs_top_type_rows(const struct hs_graph *g, enum hs_top_order order,
          const uint64_t *tret, uint32_t *nrows, uint64_t *total_count,
          uint64_t *total_bytes)
{
    struct hs_top_row *rows = hs_xcalloc(g->ntypes ? g->ntypes : 1,
                                       sizeof(*rows));
    uint32_t nr = 0;

    *total_count = *total_bytes = 0;
    for (uint32_t k = 0; k < g->ntypes; k++) {
        if (!g->types[k].count)
            continue;
        rows[nr].type = k;
        rows[nr].count = g->types[k].count;
        rows[nr].bytes = g->types[k].bytes;
        rows[nr].retained = tret ? tret[k] : 0;
        *total_count += g->types[k].count;
        *total_bytes += g->types[k].bytes;
        nr++;
    }
    row_order = order;
    qsort(rows, nr, sizeof(*rows), row_cmp);
    *nrows = nr;
    return rows;
}

struct hs_json *
hs_top_type_json(const struct hs_json_src *src, uint32_t k)
{
    const struct hs_graph *g = src->g;
    struct hs_json *o = hs_json_object();
    char name[512];

    hs_json_set_str(o, "type",
                    hs_type_display_name(&g->types[k], name, sizeof(name)));
    if (src->viewer) {
        hs_json_set_str(o, "name", g->types[k].name);
        hs_json_set_int(o, "type_id", hs_graph_object_id(g->types[k].node));
    }
    hs_json_set_int(o, "count", g->types[k].count);
    hs_json_set_int(o, "bytes", (int64_t)g->types[k].bytes);
    return o;
}

struct hs_json *
hs_top_types_json(const struct hs_json_src *src, enum hs_top_order order,
                  const uint64_t *tret, uint32_t limit)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_json *tot = hs_json_object();
    uint64_t total_bytes, total_count;
    uint32_t nrows, shown;
    struct hs_top_row *rows;

    if (order != HS_TOP_BY_RETAINED)
        tret = NULL;
    rows = hs_top_type_rows(src->g, order, tret, &nrows, &total_count,
                            &total_bytes);
    shown = limit == 0 || limit > nrows ? nrows : limit;
    hs_json_set_str(doc, "by", hs_top_order_names[order]);
    for (uint32_t i = 0; i < shown; i++) {
        struct hs_json *o = hs_top_type_json(src, rows[i].type);

        if (tret)
            hs_json_set_int(o, "retained_size", (int64_t)rows[i].retained);
        hs_json_push(arr, o);
    }
    hs_json_set(doc, "types", arr);
    hs_json_set_int(tot, "count", (int64_t)total_count);
    hs_json_set_int(tot, "bytes", (int64_t)total_bytes);
    hs_json_set_int(tot, "types", nrows);
    hs_json_set(doc, "total", tot);
    if (src->viewer && src->dom)
        hs_json_set_int(doc, "heap_bytes",
                        (int64_t)(src->dom->reachable_bytes +
                                  src->dom->unreachable_bytes));
    free(rows);
    return doc;
}

/* An object with its path, as --objects and --suspects list it (viewer:
 * plus its description and type id). */
struct hs_json *
hs_top_owner_json(const struct hs_json_src *src, uint32_t v)
{
    struct hs_json *o = hs_json_object();
    struct hs_buf b = HS_BUF_INIT;

    hs_why_node_fields(src, v, o);
    hs_why_path_line(src, v, 8, 1, &b);
    hs_json_set_str(o, "path", b.buf);
    hs_why_viewer_fields(src, v, o);
    hs_buf_release(&b);
    return o;
}

static int
retained_cmp_nodes(const void *a, const void *b, const uint64_t *ret)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

    if (ret[x] != ret[y])
        return ret[x] < ret[y] ? 1 : -1;
    return x < y ? -1 : x > y;
}

static const uint64_t *sort_retained; /* for qsort, set before sorting */

static int
node_cmp(const void *a, const void *b)
{
    return retained_cmp_nodes(a, b, sort_retained);
}

/* The N nodes with the largest retained size: a bounded insertion into a
 * sorted array, O(n N). */
uint32_t
hs_top_biggest(const struct hs_graph *g, const struct hs_dominators *dom,
               uint32_t want, uint32_t *out)
{
    uint32_t k = 0;

    sort_retained = dom->retained;
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t i;

        if (dom->idom[v] == HS_DOM_UNREACHABLE)
            continue;
        if (k == want && dom->retained[v] <= dom->retained[out[k - 1]])
            continue;
        i = k < want ? k++ : k - 1;
        while (i > 0 && node_cmp(&v, &out[i - 1]) < 0) {
            out[i] = out[i - 1];
            i--;
        }
        out[i] = v;
    }
    return k;
}

/* "LeakedRequest ×20,000, str ×3" for the hs_top_biggest dominated children of v:
 * the types of v's children in the dominator tree, by retained size (the
 * first 8 types met, the hs_top_biggest 3 shown).  Into `out` when not NULL, and
 * into the JSON array `json` when not NULL.  O(children). */
void
hs_top_children_summary(const struct hs_json_src *src, uint32_t v,
                 struct hs_buf *out, struct hs_json *json)
{
    const struct hs_graph *g = src->g;
    const uint32_t *kids;
    uint32_t nk = hs_dominators_children(src->dom, v, &kids);
    uint32_t types[8], counts[8], nt = 0;
    uint64_t bytes[8];
    char c[32], sz[32];

    for (uint32_t i = 0; i < nk; i++) {
        uint32_t ty = g->type[kids[i]], k;

        for (k = 0; k < nt && types[k] != ty; k++)
            ;
        if (k == nt) {
            if (nt == 8)
                continue;
            types[nt] = ty;
            counts[nt] = 0;
            bytes[nt++] = 0;
        }
        counts[k]++;
        bytes[k] += src->dom->retained[kids[i]];
    }
    for (uint32_t i = 0; i < nt; i++) {
        for (uint32_t j = i + 1; j < nt; j++) {
            if (bytes[j] > bytes[i]) {
                uint32_t tt = types[i], tc = counts[i];
                uint64_t tb = bytes[i];

                types[i] = types[j], counts[i] = counts[j];
                bytes[i] = bytes[j];
                types[j] = tt, counts[j] = tc, bytes[j] = tb;
            }
        }
    }
    for (uint32_t i = 0; i < nt && i < 3; i++) {
        char name[256];

        if (out)
            hs_buf_addf(out, "%s%s \xC3\x97%s (%s)", i ? ", " : "",
                        g->types[types[i]].name,
                        hs_group_digits(counts[i], c, sizeof(c)),
                        hs_human_size(bytes[i], sz, sizeof(sz)));
        if (json) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "type",
                            hs_type_display_name(&g->types[types[i]], name,
                                                 sizeof(name)));
            if (src->viewer)
                hs_json_set_int(o, "type_id", hs_graph_object_id(
                                                  g->types[types[i]].node));
            hs_json_set_int(o, "count", counts[i]);
            hs_json_set_int(o, "retained_size", (int64_t)bytes[i]);
            hs_json_push(json, o);
        }
    }
}

/* The children of the dominators' virtual root, hs_top_biggest retained size
 * first (malloc'd, *n of them).  O(R log R). */
uint32_t *
hs_top_suspect_order(struct hs_dominators *dom, uint32_t *n)
{
    const uint32_t *roots;
    uint32_t nroots = hs_dominators_children(dom, HS_DOM_ROOT, &roots);
    uint32_t *order = hs_xmalloc(hs_st_mult(nroots ? nroots : 1,
                                            sizeof(*order)));

    memcpy(order, roots, (size_t)nroots * sizeof(*order));
    sort_retained = dom->retained;
    qsort(order, nroots, sizeof(*order), node_cmp);
    *n = nroots;
    return order;
}

/* Does type k pass the suspects' bar: a heap type whose instances retain
 * `limit` bytes or more? */
int
hs_top_type_suspect(const struct hs_graph *g, const uint64_t *tret, uint32_t k,
             uint64_t limit)
{
    return (g->types[k].flags & HS_TYPE_HEAP) && tret[k] >= limit &&
           g->types[k].count;
}

struct hs_json *
hs_top_suspects_json(const struct hs_json_src *src, const uint64_t *tret,
                     double threshold)
{
    const struct hs_graph *g = src->g;
    uint64_t heap = src->dom->reachable_bytes;
    uint64_t limit = (uint64_t)((double)heap * threshold / 100.0);
    struct hs_json *doc = hs_json_object(), *objs = hs_json_array();
    struct hs_json *types = hs_json_array();
    uint32_t nroots, *order = hs_top_suspect_order(src->dom, &nroots);

    for (uint32_t i = 0;
         i < nroots && src->dom->retained[order[i]] >= limit; i++) {
        uint32_t v = order[i];
        uint32_t acc = hs_dominators_accumulation_point(
            src->dom, v, HS_ACCUMULATION_RATIO);
        struct hs_json *s = hs_json_object(), *jk = hs_json_array();

        hs_json_set(s, "object", hs_top_owner_json(src, v));
        hs_json_set(s, "accumulation_point", hs_top_owner_json(src, acc));
        hs_top_children_summary(src, acc, NULL, jk);
        hs_json_set(s, "accumulated", jk);
        hs_json_set_num(s, "share",
                        hs_percent(src->dom->retained[v], heap) / 100.0);
        hs_json_push(objs, s);
    }
    free(order);
    for (uint32_t k = 0; k < g->ntypes; k++) {
        struct hs_json *o;

        if (!hs_top_type_suspect(g, tret, k, limit))
            continue;
        o = hs_top_type_json(src, k);
        hs_json_set_int(o, "retained_size", (int64_t)tret[k]);
        hs_json_set_num(o, "share", hs_percent(tret[k], heap) / 100.0);
        hs_json_push(types, o);
    }
    hs_json_set(doc, "objects", objs);
    hs_json_set(doc, "types", types);
    hs_json_set_num(doc, "threshold", threshold / 100.0);
    hs_json_set_int(doc, "reachable_bytes", (int64_t)heap);
    return doc;
}

struct hs_json *
hs_top_objects_json(const struct hs_json_src *src, const uint32_t *nodes,
                    uint32_t n)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();

    for (uint32_t i = 0; i < n; i++)
        hs_json_push(arr, hs_top_owner_json(src, nodes[i]));
    hs_json_set(doc, "objects", arr);
    hs_json_set_int(doc, "reachable_bytes",
                    (int64_t)src->dom->reachable_bytes);
    return doc;
}
