/*
 * COMMAND: top
 * USAGE:   heapsnap top [-f FILE] [-n N] [--by count|size] [--json]
 *
 * What is big: types by number of instances and total shallow size,
 * objgraph's show_most_common_types done properly (aligned, human sizes,
 * totals).  Cost: the graph load plus a sort of the types.
 */
#include "heapsnap.h"
#include "graph.h"
#include "render_json.h"
#include "render_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const top_usage[] = {
    "usage: heapsnap top [-f FILE] [-n N] [--by count|size] [--json]",
    "",
    "Lists the types with the most instances or the most memory, with",
    "totals.  Sizes are shallow: what each object itself takes, as",
    "sys.getsizeof reports it.",
    NULL,
};

static const char *const by_choices[] = { "size", "count", NULL };

struct type_row {
    uint32_t type;  /* index into g->types */
    uint32_t count; /* instances */
    uint64_t bytes; /* their shallow size */
};

static int by_count; /* qsort has no context argument; set before sorting */

static int
row_cmp(const void *a, const void *b)
{
    const struct type_row *x = a, *y = b;

    if (by_count && x->count != y->count)
        return x->count < y->count ? 1 : -1;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

int
cmd_top(int argc, const char **argv)
{
    const char *file = NULL, *by = "size";
    int json = 0, limit = 20;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "how many types to list (default 20; 0 for all)", NULL },
        { HS_OPT_CHOICE, 0, "by", &by, "KEY",
          "order by total size or by instance count", by_choices },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    static const enum hs_align align[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                           HS_ALIGN_RIGHT, HS_ALIGN_LEFT };
    struct hs_snapshot *snap = NULL;
    struct hs_graph *g = NULL;
    struct type_row *rows = NULL;
    uint32_t nrows = 0, shown;
    uint64_t total_bytes = 0, total_count = 0;
    char *path = NULL;
    int n, rc = HS_EXIT_OK;

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
    path = hs_snapshot_pick(file);
    if (!path || !(snap = hs_snapshot_open(path, HS_SNAP_READONLY)) ||
        !(g = hs_graph_load(snap))) {
        rc = hs_error_status();
        goto cleanup;
    }
    rows = hs_xcalloc(g->ntypes ? g->ntypes : 1, sizeof(*rows));
    for (uint32_t t = 0; t < g->ntypes; t++) {
        if (!g->types[t].count)
            continue;
        rows[nrows].type = t;
        rows[nrows].count = g->types[t].count;
        rows[nrows].bytes = g->types[t].bytes;
        total_count += g->types[t].count;
        total_bytes += g->types[t].bytes;
        nrows++;
    }
    by_count = !strcmp(by, "count");
    qsort(rows, nrows, sizeof(*rows), row_cmp);
    shown = limit == 0 || (uint32_t)limit > nrows ? nrows : (uint32_t)limit;

    if (json) {
        struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
        struct hs_json *tot = hs_json_object();
        char name[512];

        hs_json_set_str(doc, "by", by);
        for (uint32_t i = 0; i < shown; i++) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "type",
                            hs_type_display_name(&g->types[rows[i].type],
                                                 name, sizeof(name)));
            hs_json_set_int(o, "count", rows[i].count);
            hs_json_set_int(o, "bytes", (int64_t)rows[i].bytes);
            hs_json_push(arr, o);
        }
        hs_json_set(doc, "types", arr);
        hs_json_set_int(tot, "count", (int64_t)total_count);
        hs_json_set_int(tot, "bytes", (int64_t)total_bytes);
        hs_json_set_int(tot, "types", nrows);
        hs_json_set(doc, "total", tot);
        if (hs_json_print(doc, stdout) < 0)
            rc = hs_error_status();
        hs_json_free(doc);
    } else {
        struct hs_table *t = hs_table_new(4, align);
        char c[32], sz[32], pct[16], name[512];

        hs_table_rowv(t, "count", "size", "%size", "type");
        for (uint32_t i = 0; i < shown; i++) {
            snprintf(pct, sizeof(pct), "%.1f%%",
                     total_bytes ? 100.0 * (double)rows[i].bytes /
                                       (double)total_bytes
                                 : 0.0);
            hs_table_rowv(t, hs_group_digits(rows[i].count, c, sizeof(c)),
                          hs_human_size(rows[i].bytes, sz, sizeof(sz)), pct,
                          hs_type_display_name(&g->types[rows[i].type], name,
                                               sizeof(name)));
        }
        hs_table_rule(t);
        snprintf(name, sizeof(name), "total (%u types%s)", nrows,
                 shown < nrows ? ", -n 0 lists all" : "");
        hs_table_rowv(t, hs_group_digits(total_count, c, sizeof(c)),
                      hs_human_size(total_bytes, sz, sizeof(sz)), "100.0%",
                      name);
        hs_table_print(t, stdout);
        hs_table_free(t);
    }
cleanup:
    free(rows);
    hs_graph_free(g);
    hs_snapshot_close(snap);
    free(path);
    return rc;
}
