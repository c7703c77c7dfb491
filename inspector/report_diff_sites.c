/*
 * report_diff_sites.c: `diff --by site` (report.h): two snapshots taken
 * with tracemalloc tracing (heapsnap dump --trace) compared by the line
 * that allocated each object.  Sites are matched by "file:line"; for two
 * snapshots of one process the new objects (report_diff.c's is_new) are
 * totalled per site, which names the line that leaks.  The command
 * (cmd_diff.c) prints the rows as text; --json takes the document built
 * here.
 */
#include "report.h"
#include "heap.h"
#include "sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* One site row of one side, before matching. */
struct site_part {
    char *key;                      /* "file:line" */
    int side;                       /* 0 OLD, 1 NEW, 2 NEW's new objects */
    const struct hs_site_row *row;
};

static int
part_cmp(const void *a, const void *b)
{
    const struct site_part *x = a, *y = b;
    int c = strcmp(x->key, y->key);

    return c ? c : x->side - y->side;
}

static int by_added; /* qsort has no context */

static int
site_cmp(const void *a, const void *b)
{
    const struct hs_diff_site *x = a, *y = b;
    int64_t dx = by_added ? x->added_bytes : x->new_bytes - x->old_bytes;
    int64_t dy = by_added ? y->added_bytes : y->new_bytes - y->old_bytes;

    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->key, y->key);
}

static void
add_parts(struct site_part *parts, uint32_t *n, const struct hs_sites *s,
          const struct hs_site_row *rows, uint32_t nrows, int side)
{
    for (uint32_t i = 0; i < nrows; i++) {
        const struct hs_site_frame *f = &s->frames[rows[i].frame];

        parts[*n].key = hs_xasprintf("%s:%" PRId64, f->file, f->line);
        parts[*n].side = side;
        parts[(*n)++].row = &rows[i];
    }
}

int
hs_diff_sites_compute(struct hs_diff *d, struct hs_diff_sites *out)
{
    struct hs_graph *g = d->side[1].heap->g;
    struct hs_site_row un;
    struct site_part *parts;
    uint32_t no = 0, nn = 0, na = 0, np = 0, *added = NULL;

    memset(out, 0, sizeof(*out));
    for (int i = 0; i < 2; i++) {
        const struct hs_sites *x = hs_heap_sites(d->side[i].heap);

        if (!x)
            return -1;
        if (!x->recorded)
            return hs_error(HS_EXIT_NO_RESULT,
                            "'%s' has no allocation sites: %s",
                            d->side[i].heap->path,
                            hs_sites_missing_reason(x));
    }
    out->sites = hs_heap_sites(d->side[1].heap);
    out->old_rows = hs_sites_rows(d->side[0].heap->g,
                                  hs_heap_sites(d->side[0].heap), NULL, NULL,
                                  0, HS_TOP_BY_SIZE, &no, &un);
    out->new_rows = hs_sites_rows(g, out->sites, NULL, NULL, 0,
                                  HS_TOP_BY_SIZE, &nn, &un);
    if (d->same_process) {
        added = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(uint32_t)));
        for (uint32_t v = 0; v < g->n; v++)
            if (d->is_new[v])
                added[out->added++] = v;
        out->added_rows = hs_sites_rows(g, out->sites, NULL, added,
                                        out->added, HS_TOP_BY_SIZE, &na,
                                        &out->untraced_added);
        free(added);
    }
    /* Every row of the three lists under its key, sorted: one run per
     * site.  O(R log R). */
    parts = hs_xmalloc(hs_st_mult((size_t)no + nn + na + 1, sizeof(*parts)));
    add_parts(parts, &np, hs_heap_sites(d->side[0].heap), out->old_rows, no,
              0);
    add_parts(parts, &np, out->sites, out->new_rows, nn, 1);
    add_parts(parts, &np, out->sites, out->added_rows, na, 2);
    qsort(parts, np, sizeof(*parts), part_cmp);
    out->rows = hs_xcalloc(np ? np : 1, sizeof(*out->rows));
    for (uint32_t i = 0; i < np; i++) {
        struct hs_diff_site *r;
        const struct hs_site_row *row = parts[i].row;

        /* (Compared with the run's kept key: the others are freed.) */
        if (!out->n || strcmp(parts[i].key, out->rows[out->n - 1].key)) {
            out->rows[out->n].key = parts[i].key;
            r = &out->rows[out->n++];
        } else {
            free(parts[i].key);
            r = &out->rows[out->n - 1];
        }
        switch (parts[i].side) {
        case 0:
            r->old_count += row->count;
            r->old_bytes += (int64_t)row->bytes;
            break;
        case 1:
            r->new_count += row->count;
            r->new_bytes += (int64_t)row->bytes;
            if (!r->row)
                r->row = row;
            break;
        default:
            r->added += row->count;
            r->added_bytes += (int64_t)row->bytes;
            r->row = row; /* the types of its new objects */
            break;
        }
    }
    free(parts);
    by_added = d->same_process;
    qsort(out->rows, out->n, sizeof(*out->rows), site_cmp);
    return 0;
}

void
hs_diff_sites_release(struct hs_diff_sites *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        free(s->rows[i].key);
    free(s->rows);
    free(s->old_rows);
    free(s->new_rows);
    free(s->added_rows);
    memset(s, 0, sizeof(*s));
}

int
hs_diff_site_changed(const struct hs_diff *d, const struct hs_diff_site *r)
{
    if (d->same_process)
        return r->added != 0;
    return r->new_count != r->old_count || r->new_bytes != r->old_bytes;
}

struct hs_json *
hs_diff_sites_json(struct hs_diff *d, struct hs_diff_sites *ds,
                   uint32_t limit)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_graph *g = d->side[1].heap->g;
    uint32_t shown = 0;

    hs_json_set_str(doc, "by", "site");
    hs_json_set_bool(doc, "same_process", d->same_process);
    hs_json_set(doc, "old", hs_diff_side_json(&d->side[0]));
    hs_json_set(doc, "new", hs_diff_side_json(&d->side[1]));
    for (uint32_t i = 0; i < ds->n; i++) {
        const struct hs_diff_site *r = &ds->rows[i];
        struct hs_json *o;

        if (!hs_diff_site_changed(d, r))
            continue;
        if (limit && shown >= limit)
            break;
        shown++;
        o = r->row ? hs_site_row_json(g, ds->sites, r->row, 0)
                   : hs_json_object();
        hs_json_set_str(o, "site", r->key);
        hs_json_set_int(o, "old_count", r->old_count);
        hs_json_set_int(o, "new_count", r->new_count);
        hs_json_set_int(o, "old_bytes", r->old_bytes);
        hs_json_set_int(o, "new_bytes", r->new_bytes);
        if (d->same_process) {
            hs_json_set_int(o, "new_objects", r->added);
            hs_json_set_int(o, "new_objects_bytes", r->added_bytes);
        }
        hs_json_push(arr, o);
    }
    hs_json_set(doc, "sites", arr);
    if (d->same_process) {
        hs_json_set_int(doc, "new_objects", ds->added);
        hs_json_set_int(doc, "new_objects_untraced",
                        ds->untraced_added.count);
    }
    return doc;
}
