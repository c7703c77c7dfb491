/*
 * COMMAND: top
 * USAGE:   heapsnap top [-f FILE] [-n N] [--by count|size|retained] [--json]
 *          heapsnap top --objects [-f FILE] [-n N] [--json]
 *          heapsnap top --suspects [-f FILE] [--threshold PCT] [--json]
 *
 * What is big.  By type: instances and total shallow size (objgraph's
 * show_most_common_types done properly), or retained size, counting each
 * type's nested instances once (as Chrome DevTools' summary view does).
 * --objects: the single objects retaining the most, with their paths.
 * --suspects: the owners of more than a threshold of the heap, as Eclipse
 * MAT's leak suspects, each with its path and its accumulation point (the
 * container where the retained memory fans out into many small objects).
 *
 * Retained sizes come from the dominator tree (dominators.c), computed on
 * first use and stored in the snapshot (retained.c).
 */
#include "heapsnap.h"
#include "cmd_json.h"
#include "heap.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "render_path.h"
#include "render_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_usage[] = {
    "usage: heapsnap top [-f FILE] [-n N] [--by count|size|retained] [--json]",
    "   or: heapsnap top --objects [-f FILE] [-n N] [--json]",
    "   or: heapsnap top --suspects [-f FILE] [--threshold PCT] [--json]",
    "",
    "Lists the types with the most instances, memory or retained memory",
    "(what would be freed with them), with totals.  --objects lists the",
    "single objects that retain the most; --suspects the owners of more",
    "than PCT% of the heap, with their paths and where the memory",
    "accumulates.  Retained sizes are computed once and stored in the",
    "snapshot.",
    NULL,
};

static const char *const by_choices[] = { "size", "count", "retained", NULL };

/* The accumulation point is below a child holding this share or more. */
#define ACCUMULATION_RATIO 0.8

struct type_row {
    uint32_t type;     /* index into g->types */
    uint32_t count;    /* instances */
    uint64_t bytes;    /* their shallow size */
    uint64_t retained; /* their retained size (nested ones once) */
};

static enum hs_top_order row_order; /* qsort has no context argument */

static int
row_cmp(const void *a, const void *b)
{
    const struct type_row *x = a, *y = b;

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

struct top {
    struct hs_heap heap;       /* the snapshot and its analyses */
    struct hs_graph *g;        /* heap.g (borrowed) */
    struct hs_dominators *dom; /* the heap's, when retained sizes are
                                  needed; else NULL */
    struct hs_naming *names;   /* heap.names (borrowed) */
    const struct hs_bfs *bfs;  /* the heap's, for --objects and
                                  --suspects; else NULL */
    int json;
    int limit;
};

/* The JSON source over the command's model: the command's fields only. */
static struct hs_json_src
top_src(struct top *t)
{
    struct hs_json_src src = { t->g, t->names, t->bfs, t->dom, 0 };

    return src;
}

static double
percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---- types --------------------------------------------------------------------- */

/* The types with instances in `order` (malloc'd, *nrows of them) with
 * their totals.  O(T log T). */
static struct type_row *
type_rows(const struct hs_graph *g, enum hs_top_order order,
          const uint64_t *tret, uint32_t *nrows, uint64_t *total_count,
          uint64_t *total_bytes)
{
    struct type_row *rows = hs_xcalloc(g->ntypes ? g->ntypes : 1,
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
    struct type_row *rows;

    if (order != HS_TOP_BY_RETAINED)
        tret = NULL;
    rows = type_rows(src->g, order, tret, &nrows, &total_count, &total_bytes);
    shown = limit == 0 || limit > nrows ? nrows : limit;
    hs_json_set_str(doc, "by", by_choices[order]);
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

static int
top_types(struct top *t, enum hs_top_order order)
{
    static const enum hs_align a4[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                        HS_ALIGN_RIGHT, HS_ALIGN_LEFT };
    static const enum hs_align a5[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                        HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                        HS_ALIGN_LEFT };
    struct hs_graph *g = t->g;
    const uint64_t *tret = order == HS_TOP_BY_RETAINED
                               ? hs_heap_type_retained(&t->heap)
                               : NULL;
    uint64_t total_bytes, total_count, heap;
    uint32_t nrows, shown;
    struct type_row *rows;
    struct hs_table *tab;
    char c[32], sz[32], rt[32], pct[16], name[512];
    int rc = 0;

    if (t->json) {
        struct hs_json_src src = top_src(t);
        struct hs_json *doc =
            hs_top_types_json(&src, order, tret, (uint32_t)t->limit);

        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
        return rc;
    }
    rows = type_rows(g, order, tret, &nrows, &total_count, &total_bytes);
    heap = tret ? t->dom->reachable_bytes + t->dom->unreachable_bytes
                : total_bytes;
    shown = t->limit == 0 || (uint32_t)t->limit > nrows ? nrows
                                                        : (uint32_t)t->limit;
    tab = hs_table_new(tret ? 5 : 4, tret ? a5 : a4);
    if (tret)
        hs_table_rowv(tab, "count", "size", "retained", "%heap", "type");
    else
        hs_table_rowv(tab, "count", "size", "%size", "type");
    for (uint32_t i = 0; i < shown; i++) {
        hs_group_digits(rows[i].count, c, sizeof(c));
        hs_human_size(rows[i].bytes, sz, sizeof(sz));
        hs_type_display_name(&g->types[rows[i].type], name, sizeof(name));
        if (tret) {
            snprintf(pct, sizeof(pct), "%.1f%%",
                     percent(rows[i].retained, heap));
            hs_table_rowv(tab, c, sz,
                          hs_human_size(rows[i].retained, rt, sizeof(rt)),
                          pct, name);
        } else {
            snprintf(pct, sizeof(pct), "%.1f%%",
                     percent(rows[i].bytes, total_bytes));
            hs_table_rowv(tab, c, sz, pct, name);
        }
    }
    hs_table_rule(tab);
    snprintf(name, sizeof(name), "total (%u types%s)", nrows,
             shown < nrows ? ", -n 0 lists all" : "");
    hs_group_digits(total_count, c, sizeof(c));
    hs_human_size(total_bytes, sz, sizeof(sz));
    if (tret)
        hs_table_rowv(tab, c, sz, hs_human_size(heap, rt, sizeof(rt)),
                      "100.0%", name);
    else
        hs_table_rowv(tab, c, sz, "100.0%", name);
    hs_table_print(tab, stdout);
    hs_table_free(tab);
    if (tret)
        printf("\nA type's retained size counts instances nested in "
               "other instances of it once.\n");
    free(rows);
    return rc;
}

/* ---- single objects -------------------------------------------------------------- */

/* The path to v as one line, or its status when no root reaches it. */
static void
path_of(struct top *t, uint32_t v, struct hs_buf *out)
{
    struct hs_json_src src = top_src(t);

    hs_why_path_line(&src, v, 8, 1, out);
}

/* An object with its path, as --objects and --suspects list it (viewer:
 * plus its description and type id). */
static struct hs_json *
owner_json(const struct hs_json_src *src, uint32_t v)
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
static uint32_t
biggest(struct top *t, uint32_t want, uint32_t *out)
{
    uint32_t k = 0;

    sort_retained = t->dom->retained;
    for (uint32_t v = 0; v < t->g->n; v++) {
        uint32_t i;

        if (t->dom->idom[v] == HS_DOM_UNREACHABLE)
            continue;
        if (k == want && t->dom->retained[v] <= t->dom->retained[out[k - 1]])
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

static int
top_objects(struct top *t)
{
    uint32_t want = t->limit ? (uint32_t)t->limit : 20, n;
    uint32_t *nodes = hs_xmalloc(hs_st_mult(want, sizeof(*nodes)));
    uint64_t heap = t->dom->reachable_bytes;
    int rc = 0;

    n = biggest(t, want, nodes);
    if (t->json) {
        struct hs_json_src src = top_src(t);
        struct hs_json *doc = hs_json_object(), *arr = hs_json_array();

        for (uint32_t i = 0; i < n; i++)
            hs_json_push(arr, owner_json(&src, nodes[i]));
        hs_json_set(doc, "objects", arr);
        hs_json_set_int(doc, "reachable_bytes", (int64_t)heap);
        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
    } else {
        struct hs_buf b = HS_BUF_INIT;
        char rt[32], sz[32];

        printf("The objects that retain the most (of %s reachable):\n",
               hs_human_size(heap, rt, sizeof(rt)));
        for (uint32_t i = 0; i < n; i++) {
            uint32_t v = nodes[i];

            hs_buf_reset(&b);
            hs_naming_object(t->names, v, 0, &b);
            printf("\n  %9s %5.1f%%  %s @0x%" PRIx64 " (%s)\n",
                   hs_human_size(t->dom->retained[v], rt, sizeof(rt)),
                   percent(t->dom->retained[v], heap), b.buf,
                   t->g->address[v],
                   hs_human_size(t->g->size[v], sz, sizeof(sz)));
            hs_buf_reset(&b);
            path_of(t, v, &b);
            printf("                   %s\n", b.buf);
        }
        hs_buf_release(&b);
    }
    free(nodes);
    return rc;
}

/* ---- suspects --------------------------------------------------------------------- */

/* "LeakedRequest ×20,000, str ×3" for the biggest dominated children of v:
 * the types of v's children in the dominator tree, by retained size (the
 * first 8 types met, the biggest 3 shown).  Into `out` when not NULL, and
 * into the JSON array `json` when not NULL.  O(children). */
static void
children_summary(const struct hs_json_src *src, uint32_t v,
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

/* The children of the dominators' virtual root, biggest retained size
 * first (malloc'd, *n of them).  O(R log R). */
static uint32_t *
suspect_order(struct hs_dominators *dom, uint32_t *n)
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
static int
type_suspect(const struct hs_graph *g, const uint64_t *tret, uint32_t k,
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
    uint32_t nroots, *order = suspect_order(src->dom, &nroots);

    for (uint32_t i = 0;
         i < nroots && src->dom->retained[order[i]] >= limit; i++) {
        uint32_t v = order[i];
        uint32_t acc = hs_dominators_accumulation_point(src->dom, v,
                                                         ACCUMULATION_RATIO);
        struct hs_json *s = hs_json_object(), *jk = hs_json_array();

        hs_json_set(s, "object", owner_json(src, v));
        hs_json_set(s, "accumulation_point", owner_json(src, acc));
        children_summary(src, acc, NULL, jk);
        hs_json_set(s, "accumulated", jk);
        hs_json_set_num(s, "share",
                        percent(src->dom->retained[v], heap) / 100.0);
        hs_json_push(objs, s);
    }
    free(order);
    for (uint32_t k = 0; k < g->ntypes; k++) {
        struct hs_json *o;

        if (!type_suspect(g, tret, k, limit))
            continue;
        o = hs_top_type_json(src, k);
        hs_json_set_int(o, "retained_size", (int64_t)tret[k]);
        hs_json_set_num(o, "share", percent(tret[k], heap) / 100.0);
        hs_json_push(types, o);
    }
    hs_json_set(doc, "objects", objs);
    hs_json_set(doc, "types", types);
    hs_json_set_num(doc, "threshold", threshold / 100.0);
    hs_json_set_int(doc, "reachable_bytes", (int64_t)heap);
    return doc;
}

static int
top_suspects(struct top *t, double threshold)
{
    struct hs_graph *g = t->g;
    struct hs_json_src src = top_src(t);
    uint64_t heap = t->dom->reachable_bytes;
    uint64_t limit = (uint64_t)((double)heap * threshold / 100.0);
    const uint64_t *tret = hs_heap_type_retained(&t->heap);
    struct hs_buf b = HS_BUF_INIT;
    uint32_t found = 0, *order, nroots;
    char rt[32], sz[32], c[32];
    int rc = 0;

    if (t->json) {
        struct hs_json *doc = hs_top_suspects_json(&src, tret, threshold);

        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
        return rc;
    }
    printf("Owners of more than %.0f%% of the %s reachable heap:\n",
           threshold, hs_human_size(heap, rt, sizeof(rt)));
    /* Objects: the tops of the dominator tree that pass the threshold,
     * biggest first. */
    order = suspect_order(t->dom, &nroots);
    for (uint32_t i = 0; i < nroots && t->dom->retained[order[i]] >= limit;
         i++) {
        uint32_t v = order[i];
        uint32_t acc = hs_dominators_accumulation_point(t->dom, v,
                                                         ACCUMULATION_RATIO);

        found++;
        hs_buf_reset(&b);
        hs_naming_object(t->names, v, 0, &b);
        printf("\n  %u. %s @0x%" PRIx64 " retains %s (%.1f%%)\n", found,
               b.buf, g->address[v],
               hs_human_size(t->dom->retained[v], rt, sizeof(rt)),
               percent(t->dom->retained[v], heap));
        hs_buf_reset(&b);
        path_of(t, v, &b);
        printf("     held by: %s\n", b.buf);
        if (acc != v) {
            hs_buf_reset(&b);
            hs_naming_object(t->names, acc, 0, &b);
            printf("     accumulation point: %s @0x%" PRIx64
                   " retaining %s (%.1f%%)\n",
                   b.buf, g->address[acc],
                   hs_human_size(t->dom->retained[acc], rt, sizeof(rt)),
                   percent(t->dom->retained[acc], heap));
            hs_buf_reset(&b);
            path_of(t, acc, &b);
            printf("       at: %s\n", b.buf);
        }
        hs_buf_reset(&b);
        children_summary(&src, acc, &b, NULL);
        if (b.len)
            printf("       in: %s\n", b.buf);
    }
    free(order);
    /* Types: classes whose instances together pass the threshold. */
    for (uint32_t k = 0; k < g->ntypes; k++) {
        char name[512];

        if (!type_suspect(g, tret, k, limit))
            continue;
        found++;
        printf("\n  %u. %s ×%s: %s shallow, retaining %s (%.1f%%)\n", found,
               hs_type_display_name(&g->types[k], name, sizeof(name)),
               hs_group_digits(g->types[k].count, c, sizeof(c)),
               hs_human_size(g->types[k].bytes, sz, sizeof(sz)),
               hs_human_size(tret[k], rt, sizeof(rt)),
               percent(tret[k], heap));
        printf("     'heapsnap why %s' groups their paths\n", name);
    }
    if (!found)
        printf("\n  none (--threshold PCT lowers the bar)\n");
    hs_buf_release(&b);
    return rc;
}

int
cmd_top(int argc, const char **argv)
{
    const char *file = NULL, *by = "size", *threshold_s = "10";
    int json = 0, limit = 20, objects = 0, suspects = 0;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "how many rows to list (default 20; 0 for all)", NULL },
        { HS_OPT_CHOICE, 0, "by", &by, "KEY",
          "order types by total size, instance count or retained size",
          by_choices },
        { HS_OPT_FLAG, 0, "objects", &objects, NULL,
          "list the single objects that retain the most", NULL },
        { HS_OPT_FLAG, 0, "suspects", &suspects, NULL,
          "list owners of more than --threshold of the heap", NULL },
        { HS_OPT_STRING, 0, "threshold", &threshold_s, "PCT",
          "share of the heap that makes a suspect (default 10)", NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct top t;
    enum hs_top_order order;
    double threshold;
    char *end;
    int n, rc = HS_EXIT_OK, need_dom;

    memset(&t, 0, sizeof(t));
    n = hs_parse_options(argc, argv, opts, top_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("top", "unexpected argument '%s'", argv[0]);
        return HS_EXIT_USAGE;
    }
    if (limit < 0) {
        hs_usage_error("top", "-n must not be negative");
        return HS_EXIT_USAGE;
    }
    threshold = strtod(threshold_s, &end);
    if (*end || end == threshold_s || threshold <= 0 || threshold > 100) {
        hs_usage_error("top", "--threshold expects a percentage in (0, 100], "
                              "not '%s'",
                       threshold_s);
        return HS_EXIT_USAGE;
    }
    if (objects && suspects) {
        hs_usage_error("top", "--objects and --suspects are two reports; "
                              "pick one");
        return HS_EXIT_USAGE;
    }
    order = !strcmp(by, "count")      ? HS_TOP_BY_COUNT
            : !strcmp(by, "retained") ? HS_TOP_BY_RETAINED
                                      : HS_TOP_BY_SIZE;
    need_dom = order == HS_TOP_BY_RETAINED || objects || suspects;
    t.json = json;
    t.limit = limit;
    if (hs_heap_open(&t.heap, file, 0) < 0 ||
        (need_dom && !(t.dom = hs_heap_dominators(&t.heap)))) {
        rc = hs_error_status();
        goto cleanup;
    }
    t.g = t.heap.g;
    t.names = t.heap.names;
    if (objects || suspects)
        t.bfs = hs_heap_bfs(&t.heap);
    if (objects)
        n = top_objects(&t);
    else if (suspects)
        n = top_suspects(&t, threshold);
    else
        n = top_types(&t, order);
    if (n < 0)
        rc = hs_error_status();
cleanup:
    hs_heap_release(&t.heap);
    return rc;
}
