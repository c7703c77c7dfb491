/*
 * COMMAND: top
 * USAGE:   heapsnap top [-f FILE] [-n N] [--by count|size|retained|site]
 *                        [--json]
 *          heapsnap top --objects [-f FILE] [-n N] [--json]
 *          heapsnap top --suspects [-f FILE] [--threshold PCT] [--json]
 *
 * What is big.  By type: instances and total shallow size (objgraph's
 * show_most_common_types done properly), or retained size, counting each
 * type's nested instances once (as Chrome DevTools' summary view does).
 * --by site: the lines that allocated the objects (when the snapshot
 * recorded them: heapsnap dump --trace), with the types each made.
 * --objects: the single objects retaining the most, with their paths.
 * --suspects: the owners of more than a threshold of the heap, as Eclipse
 * MAT's leak suspects, each with its path and its accumulation point (the
 * container where the retained memory fans out into many small objects).
 *
 * Retained sizes come from the dominator tree (dominators.c), computed on
 * first use and stored in the snapshot (retained.c).
 */
#include "heapsnap.h"
#include "report.h"
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
    "usage: heapsnap top [-f FILE] [-n N] [--by count|size|retained|site] "
    "[--json]",
    "   or: heapsnap top --objects [-f FILE] [-n N] [--json]",
    "   or: heapsnap top --suspects [-f FILE] [--threshold PCT] [--json]",
    "",
    "Lists the types with the most instances, memory or retained memory",
    "(what would be freed with them), with totals; --by site lists the",
    "lines that allocated them instead (recorded when tracemalloc traced",
    "the process: heapsnap dump --trace).  --objects lists the",
    "single objects that retain the most; --suspects the owners of more",
    "than PCT% of the heap, with their paths and where the memory",
    "accumulates.  Retained sizes are computed once and stored in the",
    "snapshot.",
    NULL,
};

struct top {
    struct hs_heap heap;       /* the snapshot and its analyses */
    struct hs_graph *g;        /* heap.g (borrowed) */
    struct hs_dominators *dom; /* the heap's, when retained sizes are
                                  needed; else NULL */
    struct hs_naming *names;   /* heap.names (borrowed) */
    const struct hs_bfs *bfs;  /* the heap's, for --objects and
                                  --suspects; else NULL */
    const struct hs_sites *sites; /* the heap's, for --by site; else
                                     NULL */
    int json;
    int limit;
};

/* The JSON source over the command's model: the command's fields only. */
static struct hs_json_src
top_src(struct top *t)
{
    struct hs_json_src src = { t->g, t->names, t->bfs, t->dom, 0,
                               t->sites };

    return src;
}

/* ---- types --------------------------------------------------------------------- */

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
    struct hs_top_row *rows;
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
    rows = hs_top_type_rows(g, order, tret, &nrows, &total_count,
                            &total_bytes);
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
                     hs_percent(rows[i].retained, heap));
            hs_table_rowv(tab, c, sz,
                          hs_human_size(rows[i].retained, rt, sizeof(rt)),
                          pct, name);
        } else {
            snprintf(pct, sizeof(pct), "%.1f%%",
                     hs_percent(rows[i].bytes, total_bytes));
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

/* ---- allocation sites ------------------------------------------------------------ */

static int
top_sites(struct top *t)
{
    static const enum hs_align a5[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                        HS_ALIGN_RIGHT, HS_ALIGN_LEFT,
                                        HS_ALIGN_LEFT };
    struct hs_site_row untraced, *rows;
    struct hs_table *tab;
    struct hs_buf site = HS_BUF_INIT, types = HS_BUF_INIT;
    uint32_t nrows, shown;
    char c[32], sz[32], rt[32];
    int rc = 0;

    if (!t->sites->recorded)
        return hs_error(HS_EXIT_NO_RESULT,
                        "'%s' has no allocation sites: %s",
                        t->heap.path, hs_sites_missing_reason(t->sites));
    if (t->json) {
        struct hs_json *doc = hs_sites_top_json(
            t->g, t->sites, t->dom, HS_TOP_BY_SIZE, (uint32_t)t->limit);

        rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
        return rc;
    }
    rows = hs_sites_rows(t->g, t->sites, t->dom, NULL, 0, HS_TOP_BY_SIZE,
                         &nrows, &untraced);
    shown = t->limit == 0 || (uint32_t)t->limit > nrows ? nrows
                                                        : (uint32_t)t->limit;
    tab = hs_table_new(5, a5);
    hs_table_rowv(tab, "count", "size", "retained", "site", "types");
    for (uint32_t i = 0; i < shown; i++) {
        hs_buf_reset(&site);
        hs_buf_reset(&types);
        hs_sites_frame_text(t->sites, rows[i].frame, &site);
        hs_site_row_types_text(t->g, &rows[i], &types);
        hs_table_rowv(tab, hs_group_digits(rows[i].count, c, sizeof(c)),
                      hs_human_size(rows[i].bytes, sz, sizeof(sz)),
                      hs_human_size(rows[i].retained, rt, sizeof(rt)),
                      site.buf, types.buf);
    }
    hs_table_print(tab, stdout);
    hs_table_free(tab);
    if (shown < nrows)
        printf("  ... and %u more sites (-n 0 lists all)\n", nrows - shown);
    printf("\n%s objects (%s) have no allocation site: allocated before "
           "tracemalloc started.\nA site's retained size counts objects "
           "nested in others of the same site once.\n",
           hs_group_digits(untraced.count, c, sizeof(c)),
           hs_human_size(untraced.bytes, sz, sizeof(sz)));
    hs_buf_release(&site);
    hs_buf_release(&types);
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

static int
top_objects(struct top *t)
{
    uint32_t want = t->limit ? (uint32_t)t->limit : 20, n;
    uint32_t *nodes = hs_xmalloc(hs_st_mult(want, sizeof(*nodes)));
    uint64_t heap = t->dom->reachable_bytes;
    int rc = 0;

    n = hs_top_biggest(t->g, t->dom, want, nodes);
    if (t->json) {
        struct hs_json_src src = top_src(t);
        struct hs_json *doc = hs_top_objects_json(&src, nodes, n);

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
                   hs_percent(t->dom->retained[v], heap), b.buf,
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
     * hs_top_biggest first. */
    order = hs_top_suspect_order(t->dom, &nroots);
    for (uint32_t i = 0; i < nroots && t->dom->retained[order[i]] >= limit;
         i++) {
        uint32_t v = order[i];
        uint32_t acc = hs_dominators_accumulation_point(
            t->dom, v, HS_ACCUMULATION_RATIO);

        found++;
        hs_buf_reset(&b);
        hs_naming_object(t->names, v, 0, &b);
        printf("\n  %u. %s @0x%" PRIx64 " retains %s (%.1f%%)\n", found,
               b.buf, g->address[v],
               hs_human_size(t->dom->retained[v], rt, sizeof(rt)),
               hs_percent(t->dom->retained[v], heap));
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
                   hs_percent(t->dom->retained[acc], heap));
            hs_buf_reset(&b);
            path_of(t, acc, &b);
            printf("       at: %s\n", b.buf);
        }
        hs_buf_reset(&b);
        hs_top_children_summary(&src, acc, &b, NULL);
        if (b.len)
            printf("       in: %s\n", b.buf);
    }
    free(order);
    /* Types: classes whose instances together pass the threshold. */
    for (uint32_t k = 0; k < g->ntypes; k++) {
        char name[512];

        if (!hs_top_type_suspect(g, tret, k, limit))
            continue;
        found++;
        printf("\n  %u. %s ×%s: %s shallow, retaining %s (%.1f%%)\n", found,
               hs_type_display_name(&g->types[k], name, sizeof(name)),
               hs_group_digits(g->types[k].count, c, sizeof(c)),
               hs_human_size(g->types[k].bytes, sz, sizeof(sz)),
               hs_human_size(tret[k], rt, sizeof(rt)),
               hs_percent(tret[k], heap));
        printf("     'heapsnap why %s' groups their paths\n", name);
    }
    if (!found)
        printf("\n  none (--threshold PCT lowers the bar)\n");
    hs_buf_release(&b);
    return rc;
}

/* --by's words: hs_top_order_names, then site. */
static const char *const by_choices[] = { "size", "count", "retained",
                                          "site", NULL };

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
          "order types by total size, instance count or retained size; "
          "site: list allocation sites",
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
    need_dom = order == HS_TOP_BY_RETAINED || objects || suspects ||
               !strcmp(by, "site");
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
    if (!strcmp(by, "site") && !objects && !suspects) {
        if (!(t.sites = hs_heap_sites(&t.heap)))
            n = -1;
        else
            n = top_sites(&t);
    } else if (objects)
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
