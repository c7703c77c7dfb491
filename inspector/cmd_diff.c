/*
 * COMMAND: diff
 * USAGE:   heapsnap diff OLD NEW [-n N] [--by size|count|site] [--paths N]
 *                        [--type TYPE] [--json]
 *
 * What grew between two snapshots of a process: per type, the change in
 * instances and bytes, biggest growth first (objgraph's show_growth and
 * heapy's heap difference, done offline), and the objects that are new in
 * NEW.  For the type at the growth frontier (the most new objects held
 * directly by objects that were already there), its new instances grouped
 * by the shape of their retention paths, as `why TYPE` groups all of
 * them: the place the leak accumulates.
 *
 * --by site compares by allocation site instead (both snapshots must have
 * them: heapsnap dump --trace): the lines the new objects came from, with
 * the types they made, most new bytes first.
 *
 * The comparison is report_diff.c's (shared with `serve --diff`); this
 * file holds the options and the text.
 */
#include "heapsnap.h"
#include "heap.h"
#include "report.h"
#include "render_json.h"
#include "render_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const diff_usage[] = {
    "usage: heapsnap diff OLD NEW [-n N] [--by size|count|site] [--paths N] "
    "[--type TYPE] [--json]",
    "",
    "Compares two snapshots of a process: per type, how many instances and",
    "bytes were added or freed, biggest growth first; the objects that are",
    "new in NEW; and where the growth is held: the new objects of the type",
    "most added directly to objects that were already there (--type picks",
    "another), grouped by path as 'why TYPE' groups them.  --by site",
    "compares allocation sites instead (snapshots taken with tracemalloc",
    "tracing: heapsnap dump --trace): the lines the new objects came from.",
    NULL,
};

static const char *const by_choices[] = { "size", "count", "site", NULL };

/* "+1,234" / "-5" / "0" into out (at least 32 bytes). */
static const char *
signed_count(int64_t d, char *out, size_t len)
{
    out[0] = d > 0 ? '+' : d < 0 ? '-' : '\0';
    hs_group_digits(d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d,
                    out + (out[0] != '\0'), len - 1);
    return out;
}

/* "+1.2 MiB" / "-48 B" / "0 B" into out (at least 32 bytes). */
static const char *
signed_size(int64_t d, char *out, size_t len)
{
    out[0] = d > 0 ? '+' : d < 0 ? '-' : '\0';
    hs_human_size(d < 0 ? (uint64_t)0 - (uint64_t)d : (uint64_t)d,
                  out + (out[0] != '\0'), len - 1);
    return out;
}

/* The new instances of row r, grouped by path shape in NEW, as text. */
static int
print_growth(struct hs_diff *d, uint32_t row, int npaths)
{
    struct hs_path_groups pg;
    struct hs_buf b = HS_BUF_INIT;
    char count[32], size[32];
    uint32_t nt;

    if (hs_diff_growth_groups(d, row, &pg, &nt) < 0)
        return -1;
    printf("\nThe %s new %s object%s %s alive because:\n",
           hs_group_digits(nt, count, sizeof(count)), d->rows[row].key,
           nt == 1 ? "" : "s", nt == 1 ? "is" : "are");
    for (uint32_t k = 0; k < pg.ngroups && (int)k < npaths; k++) {
        const struct hs_path_group *gr = &pg.groups[k];

        hs_buf_reset(&b);
        hs_diff_group_shape(d, &pg, k, &b);
        printf("  %s object%s, %s, via:\n    %s\n",
               hs_group_digits(gr->count, count, sizeof(count)),
               gr->count == 1 ? "" : "s",
               hs_human_size(gr->bytes, size, sizeof(size)), b.buf);
    }
    if (pg.ngroups > (uint32_t)npaths)
        printf("  and %u more group%s; --paths N shows more\n",
               pg.ngroups - (uint32_t)npaths,
               pg.ngroups - (uint32_t)npaths == 1 ? "" : "s");
    hs_path_groups_release(&pg);
    hs_buf_release(&b);
    return 0;
}

static void
print_header(const char *what, const struct hs_diff_side *s)
{
    char n[32], size[32];

    printf("%s %s (pid %s, %s): %s objects, %s\n", what, s->heap->path,
           s->pid ? s->pid : "?", s->created ? s->created : "?",
           hs_group_digits(s->heap->g->n, n, sizeof(n)),
           hs_human_size(s->bytes, size, sizeof(size)));
}

static int
print_text(struct hs_diff *d, int limit, int npaths, const char *focus)
{
    static const enum hs_align align[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                           HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                           HS_ALIGN_LEFT };
    const struct hs_diff_side *s = d->side;
    int64_t dcount = (int64_t)s[1].heap->g->n - (int64_t)s[0].heap->g->n;
    int64_t dbytes = (int64_t)s[1].bytes - (int64_t)s[0].bytes;
    struct hs_table *t;
    uint32_t shown = 0;
    char a[32], b[32], c[32], e[32];

    print_header("from", &s[0]);
    print_header("  to", &s[1]);
    printf("change: %s objects, %s%s\n\n", signed_count(dcount, a, sizeof(a)),
           signed_size(dbytes, b, sizeof(b)),
           d->same_process ? ""
                           : " (two different processes: compared "
                             "by type only)");
    t = hs_table_new(5, align);
    hs_table_rowv(t, "+count", "+size", "count", "size", "type");
    for (uint32_t i = 0; i < d->nrows; i++) {
        const struct hs_diff_row *r = &d->rows[i];
        char cnt[32], sz[32];

        if (r->new_count == r->old_count && r->new_bytes == r->old_bytes)
            continue;
        if (limit && shown >= (uint32_t)limit)
            break;
        shown++;
        hs_table_rowv(
            t, signed_count(r->new_count - r->old_count, a, sizeof(a)),
            signed_size(r->new_bytes - r->old_bytes, b, sizeof(b)),
            hs_group_digits((uint64_t)r->new_count, cnt, sizeof(cnt)),
            hs_human_size((uint64_t)r->new_bytes, sz, sizeof(sz)), r->key);
    }
    if (!shown)
        printf("  no type changed\n");
    else
        hs_table_print(t, stdout);
    hs_table_free(t);
    if (d->changed > shown)
        printf("  ... and %u more type%s changed (-n 0 lists all)\n",
               d->changed - shown, d->changed - shown == 1 ? "" : "s");
    if (d->same_process)
        printf("\nnew objects (in %s, not in %s, by address and type): "
               "%s, %s\n",
               s[1].heap->path, s[0].heap->path,
               hs_group_digits(d->added, c, sizeof(c)),
               hs_human_size(d->added_bytes, e, sizeof(e)));
    if (d->same_process && npaths > 0) {
        int64_t r = hs_diff_growth_row(d, focus);

        if (r == -2)
            return hs_error(HS_EXIT_NO_RESULT,
                            "no new objects of type '%s' in '%s'", focus,
                            s[1].heap->path);
        if (r >= 0)
            return print_growth(d, (uint32_t)r, npaths);
    }
    return 0;
}

/* `diff --by site` as text: one row per site with new objects (one
 * process) or a changed count (two). */
static int
print_sites(struct hs_diff *d, int limit)
{
    static const enum hs_align align[] = { HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                           HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
                                           HS_ALIGN_LEFT,  HS_ALIGN_LEFT };
    struct hs_diff_sites ds;
    struct hs_graph *g = d->side[1].heap->g;
    struct hs_table *t;
    struct hs_buf types = HS_BUF_INIT, site = HS_BUF_INIT;
    char c1[32], c2[32], c3[32], c4[32];
    int same = d->same_process;
    uint32_t shown = 0;

    if (hs_diff_sites_compute(d, &ds) < 0) {
        hs_diff_sites_release(&ds);
        return -1;
    }
    print_header("from", &d->side[0]);
    print_header("  to", &d->side[1]);
    printf("\n");
    t = hs_table_new(6, align);
    hs_table_rowv(t, same ? "new" : "+count", same ? "new size" : "+size",
                  "count", "size", "site", "types");
    for (uint32_t i = 0; i < ds.n; i++) {
        const struct hs_diff_site *r = &ds.rows[i];

        if (!hs_diff_site_changed(d, r))
            continue;
        if (limit && shown >= (uint32_t)limit)
            break;
        shown++;
        hs_buf_reset(&types);
        hs_buf_reset(&site);
        hs_buf_adds(&site, r->key);
        if (r->row && r->row->frame &&
            ds.sites->frames[r->row->frame].function)
            hs_buf_addf(&site, " in %s",
                        ds.sites->frames[r->row->frame].function);
        if (r->row)
            hs_site_row_types_text(g, r->row, &types);
        hs_table_rowv(
            t,
            same ? hs_group_digits((uint64_t)r->added, c1, sizeof(c1))
                 : signed_count(r->new_count - r->old_count, c1, sizeof(c1)),
            same ? hs_human_size((uint64_t)r->added_bytes, c2, sizeof(c2))
                 : signed_size(r->new_bytes - r->old_bytes, c2, sizeof(c2)),
            hs_group_digits((uint64_t)r->new_count, c3, sizeof(c3)),
            hs_human_size((uint64_t)r->new_bytes, c4, sizeof(c4)), site.buf,
            types.len ? types.buf : "-");
    }
    if (shown)
        hs_table_print(t, stdout);
    else
        printf("  no %s\n", same ? "new objects with a site" : "site changed");
    hs_table_free(t);
    if (same)
        printf("\nnew objects (in %s, not in %s, by address and type): %s, "
               "%s of them without a site (tracemalloc has no traceback for "
               "them)\n",
               d->side[1].heap->path, d->side[0].heap->path,
               hs_group_digits(ds.added, c1, sizeof(c1)),
               hs_group_digits(ds.untraced_added.count, c2, sizeof(c2)));
    hs_diff_sites_release(&ds);
    hs_buf_release(&types);
    hs_buf_release(&site);
    return 0;
}

int
cmd_diff(int argc, const char **argv)
{
    const char *by = "size", *focus = NULL;
    int json = 0, limit = 20, npaths = 3;
    const struct hs_option opts[] = {
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "how many types to list (default 20; 0 for all)", NULL },
        { HS_OPT_CHOICE, 0, "by", &by, "KEY",
          "order types by growth in bytes or in instances", by_choices },
        { HS_OPT_INT, 0, "paths", &npaths, "N",
          "path groups of the growing type's new objects (default 3; 0: "
          "none)",
          NULL },
        { HS_OPT_STRING, 0, "type", &focus, "TYPE",
          "explain the new objects of TYPE (default: the type most added "
          "directly to old objects)",
          NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_heap heap[2];
    struct hs_diff d;
    int n, rc = HS_EXIT_OK, have_diff = 0;

    memset(heap, 0, sizeof(heap));
    n = hs_parse_options(argc, argv, opts, diff_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n != 2) {
        hs_usage_error("diff", "two snapshots, please: heapsnap diff OLD NEW");
        return HS_EXIT_USAGE;
    }
    if (limit < 0 || npaths < 0) {
        hs_usage_error("diff", "-n and --paths must not be negative");
        return HS_EXIT_USAGE;
    }
    if (hs_heap_open(&heap[0], argv[0], 0) < 0 ||
        hs_heap_open(&heap[1], argv[1], 0) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    hs_diff_compute(&heap[0], &heap[1], !strcmp(by, "count"), &d);
    have_diff = 1;
    if (!strcmp(by, "site") && json) {
        struct hs_diff_sites ds;
        struct hs_json *doc = NULL;

        if (hs_diff_sites_compute(&d, &ds) == 0)
            doc = hs_diff_sites_json(&d, &ds, (uint32_t)limit);
        if (!doc || hs_json_print(doc, stdout) < 0)
            rc = hs_error_status();
        hs_json_free(doc);
        hs_diff_sites_release(&ds);
    } else if (!strcmp(by, "site")) {
        if (print_sites(&d, limit) < 0)
            rc = hs_error_status();
    } else if (json) {
        struct hs_json *doc =
            hs_diff_json(&d, (uint32_t)limit, npaths, focus, 0);

        if (!doc || hs_json_print(doc, stdout) < 0)
            rc = hs_error_status();
        hs_json_free(doc);
    } else if (print_text(&d, limit, npaths, focus) < 0) {
        rc = hs_error_status();
    }
cleanup:
    if (have_diff)
        hs_diff_release(&d);
    hs_heap_release(&heap[0]);
    hs_heap_release(&heap[1]);
    return rc;
}
