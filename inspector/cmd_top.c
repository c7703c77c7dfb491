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
#include "dominators.h"
#include "graph.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "render_path.h"
#include "render_text.h"
#include "retained.h"

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

enum order { BY_SIZE, BY_COUNT, BY_RETAINED };
static enum order row_order; /* qsort has no context argument */

static int
row_cmp(const void *a, const void *b)
{
    const struct type_row *x = a, *y = b;

    if (row_order == BY_COUNT && x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (row_order == BY_RETAINED && x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

struct top {
    struct hs_graph *g;
    struct hs_dominators dom; /* when retained sizes are needed */
    int have_dom;
    struct hs_naming *names;
    struct hs_bfs bfs;
    int have_bfs;
    int json;
    int limit;
};

static double
percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* ---- types --------------------------------------------------------------------- */

static int
top_types(struct top *t, enum order order)
{
    struct hs_graph *g = t->g;
    struct type_row *rows = hs_xcalloc(g->ntypes ? g->ntypes : 1,
                                       sizeof(*rows));
    uint64_t *tret = order == BY_RETAINED
                         ? hs_dominators_type_retained(g, &t->dom)
                         : NULL;
    uint64_t total_bytes = 0, total_count = 0, heap = 0;
    uint32_t nrows = 0, shown;
    int rc = 0;

    for (uint32_t k = 0; k < g->ntypes; k++) {
        if (!g->types[k].count)
            continue;
        rows[nrows].type = k;
        rows[nrows].count = g->types[k].count;
        rows[nrows].bytes = g->types[k].bytes;
        rows[nrows].retained = tret ? tret[k] : 0;
        total_count += g->types[k].count;
        total_bytes += g->types[k].bytes;
        nrows++;
    }
    heap = tret ? t->dom.reachable_bytes + t->dom.unreachable_bytes
                : total_bytes;
    row_order = order;
    qsort(rows, nrows, sizeof(*rows), row_cmp);
    shown = t->limit == 0 || (uint32_t)t->limit > nrows ? nrows
                                                        : (uint32_t)t->limit;
    if (t->json) {
        struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
        struct hs_json *tot = hs_json_object();
        char name[512];

        hs_json_set_str(doc, "by", by_choices[order == BY_SIZE    ? 0
                                              : order == BY_COUNT ? 1
                                                                  : 2]);
        for (uint32_t i = 0; i < shown; i++) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "type",
                            hs_type_display_name(&g->types[rows[i].type],
                                                 name, sizeof(name)));
            hs_json_set_int(o, "count", rows[i].count);
            hs_json_set_int(o, "bytes", (int64_t)rows[i].bytes);
            if (tret)
                hs_json_set_int(o, "retained_size",
                                (int64_t)rows[i].retained);
            hs_json_push(arr, o);
        }
        hs_json_set(doc, "types", arr);
        hs_json_set_int(tot, "count", (int64_t)total_count);
        hs_json_set_int(tot, "bytes", (int64_t)total_bytes);
        hs_json_set_int(tot, "types", nrows);
        hs_json_set(doc, "total", tot);
        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
    } else {
        static const enum hs_align a4[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                            HS_ALIGN_RIGHT, HS_ALIGN_LEFT };
        static const enum hs_align a5[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                            HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                            HS_ALIGN_LEFT };
        struct hs_table *tab = hs_table_new(tret ? 5 : 4, tret ? a5 : a4);
        char c[32], sz[32], rt[32], pct[16], name[512];

        if (tret)
            hs_table_rowv(tab, "count", "size", "retained", "%heap", "type");
        else
            hs_table_rowv(tab, "count", "size", "%size", "type");
        for (uint32_t i = 0; i < shown; i++) {
            hs_group_digits(rows[i].count, c, sizeof(c));
            hs_human_size(rows[i].bytes, sz, sizeof(sz));
            hs_type_display_name(&g->types[rows[i].type], name,
                                 sizeof(name));
            if (tret) {
                snprintf(pct, sizeof(pct), "%.1f%%",
                         percent(rows[i].retained, heap));
                hs_table_rowv(tab, c, sz,
                              hs_human_size(rows[i].retained, rt,
                                            sizeof(rt)),
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
    }
    free(rows);
    free(tret);
    return rc;
}

/* ---- single objects -------------------------------------------------------------- */

/* The path to v as one line, or its status when no root reaches it. */
static void
path_of(struct top *t, uint32_t v, struct hs_buf *out)
{
    uint32_t d, r, *edges;

    if (!hs_bfs_reached(&t->bfs, v)) {
        hs_buf_adds(out, "(unreachable: cyclic garbage)");
        return;
    }
    d = t->bfs.dist[v];
    edges = hs_xmalloc(hs_st_mult(d ? d : 1, sizeof(*edges)));
    r = hs_bfs_path(t->g, &t->bfs, v, edges);
    hs_render_path(t->names, r, edges, d, 8, out);
    if (d == 0)
        hs_buf_adds(out, " (a root)");
    free(edges);
}

static struct hs_json *
json_obj(struct top *t, uint32_t v)
{
    struct hs_json *o = hs_json_object();
    struct hs_buf b = HS_BUF_INIT;
    char name[256];

    hs_json_set_int(o, "id", hs_graph_object_id(v));
    hs_json_set_addr(o, "address", t->g->address[v]);
    hs_json_set_str(o, "type", hs_naming_type(t->g, v, 1, name, sizeof(name)));
    hs_json_set_int(o, "size", (int64_t)t->g->size[v]);
    hs_json_set_int(o, "retained_size", (int64_t)t->dom.retained[v]);
    path_of(t, v, &b);
    hs_json_set_str(o, "path", b.buf);
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

    sort_retained = t->dom.retained;
    for (uint32_t v = 0; v < t->g->n; v++) {
        uint32_t i;

        if (t->dom.idom[v] == HS_DOM_UNREACHABLE)
            continue;
        if (k == want && t->dom.retained[v] <= t->dom.retained[out[k - 1]])
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
    uint64_t heap = t->dom.reachable_bytes;
    int rc = 0;

    n = biggest(t, want, nodes);
    if (t->json) {
        struct hs_json *doc = hs_json_object(), *arr = hs_json_array();

        for (uint32_t i = 0; i < n; i++)
            hs_json_push(arr, json_obj(t, nodes[i]));
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
                   hs_human_size(t->dom.retained[v], rt, sizeof(rt)),
                   percent(t->dom.retained[v], heap), b.buf,
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
 * the types of v's children in the dominator tree, by retained size. */
static void
children_summary(struct top *t, uint32_t v, struct hs_buf *out,
                 struct hs_json *json)
{
    const uint32_t *kids;
    uint32_t nk = hs_dominators_children(&t->dom, v, &kids);
    uint32_t types[8], counts[8], nt = 0;
    uint64_t bytes[8];
    char c[32], sz[32];

    for (uint32_t i = 0; i < nk; i++) {
        uint32_t ty = t->g->type[kids[i]], k;

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
        bytes[k] += t->dom.retained[kids[i]];
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

        hs_buf_addf(out, "%s%s \xC3\x97%s (%s)", i ? ", " : "",
                    t->g->types[types[i]].name,
                    hs_group_digits(counts[i], c, sizeof(c)),
                    hs_human_size(bytes[i], sz, sizeof(sz)));
        if (json) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "type",
                            hs_type_display_name(&t->g->types[types[i]], name,
                                                 sizeof(name)));
            hs_json_set_int(o, "count", counts[i]);
            hs_json_set_int(o, "retained_size", (int64_t)bytes[i]);
            hs_json_push(json, o);
        }
    }
}

static int
top_suspects(struct top *t, double threshold)
{
    struct hs_graph *g = t->g;
    uint64_t heap = t->dom.reachable_bytes;
    uint64_t limit = (uint64_t)((double)heap * threshold / 100.0);
    const uint32_t *roots;
    uint32_t nroots = hs_dominators_children(&t->dom, HS_DOM_ROOT, &roots);
    uint64_t *tret = hs_dominators_type_retained(g, &t->dom);
    struct hs_json *doc = t->json ? hs_json_object() : NULL;
    struct hs_json *objs = t->json ? hs_json_array() : NULL;
    struct hs_json *types = t->json ? hs_json_array() : NULL;
    struct hs_buf b = HS_BUF_INIT;
    uint32_t found = 0, *order;
    char rt[32], sz[32], c[32];
    int rc = 0;

    if (!t->json)
        printf("Owners of more than %.0f%% of the %s reachable heap:\n",
               threshold, hs_human_size(heap, rt, sizeof(rt)));
    /* Objects: the tops of the dominator tree that pass the threshold,
     * biggest first. */
    order = hs_xmalloc(hs_st_mult(nroots ? nroots : 1, sizeof(*order)));
    memcpy(order, roots, (size_t)nroots * sizeof(*order));
    sort_retained = t->dom.retained;
    qsort(order, nroots, sizeof(*order), node_cmp);
    for (uint32_t i = 0; i < nroots && t->dom.retained[order[i]] >= limit;
         i++) {
        uint32_t v = order[i];
        uint32_t acc = hs_dominators_accumulation_point(&t->dom, v,
                                                         ACCUMULATION_RATIO);
        struct hs_json *jo = NULL, *ja = NULL, *jk = NULL;

        found++;
        if (t->json) {
            jo = json_obj(t, v);
            ja = json_obj(t, acc);
            jk = hs_json_array();
        }
        hs_buf_reset(&b);
        hs_naming_object(t->names, v, 0, &b);
        if (!t->json)
            printf("\n  %u. %s @0x%" PRIx64 " retains %s (%.1f%%)\n", found,
                   b.buf, g->address[v],
                   hs_human_size(t->dom.retained[v], rt, sizeof(rt)),
                   percent(t->dom.retained[v], heap));
        hs_buf_reset(&b);
        path_of(t, v, &b);
        if (!t->json)
            printf("     held by: %s\n", b.buf);
        if (acc != v) {
            hs_buf_reset(&b);
            hs_naming_object(t->names, acc, 0, &b);
            if (!t->json)
                printf("     accumulation point: %s @0x%" PRIx64
                       " retaining %s (%.1f%%)\n",
                       b.buf, g->address[acc],
                       hs_human_size(t->dom.retained[acc], rt, sizeof(rt)),
                       percent(t->dom.retained[acc], heap));
            hs_buf_reset(&b);
            path_of(t, acc, &b);
            if (!t->json)
                printf("       at: %s\n", b.buf);
        }
        hs_buf_reset(&b);
        children_summary(t, acc, &b, jk);
        if (!t->json && b.len)
            printf("       in: %s\n", b.buf);
        if (t->json) {
            struct hs_json *s = hs_json_object();

            hs_json_set(s, "object", jo);
            hs_json_set(s, "accumulation_point", ja);
            hs_json_set(s, "accumulated", jk);
            hs_json_set_num(s, "share", percent(t->dom.retained[v], heap) /
                                            100.0);
            hs_json_push(objs, s);
        }
    }
    free(order);
    /* Types: classes whose instances together pass the threshold. */
    for (uint32_t k = 0; k < g->ntypes; k++) {
        if (!(g->types[k].flags & HS_TYPE_HEAP) || tret[k] < limit ||
            !g->types[k].count)
            continue;
        found++;
        if (t->json) {
            struct hs_json *o = hs_json_object();
            char name[512];

            hs_json_set_str(o, "type", hs_type_display_name(&g->types[k],
                                                            name,
                                                            sizeof(name)));
            hs_json_set_int(o, "count", g->types[k].count);
            hs_json_set_int(o, "bytes", (int64_t)g->types[k].bytes);
            hs_json_set_int(o, "retained_size", (int64_t)tret[k]);
            hs_json_set_num(o, "share", percent(tret[k], heap) / 100.0);
            hs_json_push(types, o);
        } else {
            char name[512];

            printf("\n  %u. %s ×%s: %s shallow, retaining %s (%.1f%%)\n",
                   found,
                   hs_type_display_name(&g->types[k], name, sizeof(name)),
                   hs_group_digits(g->types[k].count, c, sizeof(c)),
                   hs_human_size(g->types[k].bytes, sz, sizeof(sz)),
                   hs_human_size(tret[k], rt, sizeof(rt)),
                   percent(tret[k], heap));
            printf("     'heapsnap why %s' groups their paths\n", name);
        }
    }
    if (t->json) {
        hs_json_set(doc, "objects", objs);
        hs_json_set(doc, "types", types);
        hs_json_set_num(doc, "threshold", threshold / 100.0);
        hs_json_set_int(doc, "reachable_bytes", (int64_t)heap);
        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
    } else if (!found) {
        printf("\n  none (--threshold PCT lowers the bar)\n");
    }
    hs_buf_release(&b);
    free(tret);
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
    struct hs_snapshot *snap = NULL;
    struct top t;
    enum order order;
    double threshold;
    char *path = NULL, *end;
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
    order = !strcmp(by, "count") ? BY_COUNT
            : !strcmp(by, "retained") ? BY_RETAINED
                                      : BY_SIZE;
    need_dom = order == BY_RETAINED || objects || suspects;
    t.json = json;
    t.limit = limit;
    path = hs_snapshot_pick(file);
    if (!path ||
        !(snap = hs_snapshot_open(path, HS_SNAP_DERIVED)) ||
        !(t.g = hs_graph_load(snap))) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (need_dom) {
        if (hs_retained_get(t.g, &t.dom) < 0) {
            rc = hs_error_status();
            goto cleanup;
        }
        t.have_dom = 1;
    }
    if (objects || suspects) {
        if (!(t.names = hs_naming_new(t.g))) {
            rc = hs_error_status();
            goto cleanup;
        }
        hs_bfs_run(t.g, &t.bfs);
        t.have_bfs = 1;
    }
    if (objects)
        n = top_objects(&t);
    else if (suspects)
        n = top_suspects(&t, threshold);
    else
        n = top_types(&t, order);
    if (n < 0)
        rc = hs_error_status();
cleanup:
    if (t.have_bfs)
        hs_bfs_release(&t.bfs);
    if (t.have_dom)
        hs_dominators_release(&t.dom);
    hs_naming_free(t.names);
    hs_graph_free(t.g);
    hs_snapshot_close(snap);
    free(path);
    return rc;
}
