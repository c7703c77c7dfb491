/*
 * report_sites.c: the answers about allocation sites (report.h): an
 * object's traceback as text and JSON, and objects totalled by the line
 * that allocated them (`top --by site`, `why TYPE`'s groups, `diff --by
 * site`, the viewer's table).  Reads the heap's sites (sites.h); prints
 * nothing.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct hs_json *
hs_sites_frame_json(const struct hs_sites *s, uint32_t f)
{
    struct hs_json *o = hs_json_object();
    const struct hs_site_frame *fr =
        f && f <= s->nframes ? &s->frames[f] : NULL;

    hs_json_set_str(o, "file", fr && fr->file ? fr->file : "?");
    hs_json_set_int(o, "line", fr ? fr->line : 0);
    if (fr && fr->function)
        hs_json_set_str(o, "function", fr->function);
    else
        hs_json_set_null(o, "function");
    return o;
}

struct hs_json *
hs_sites_traceback_json(const struct hs_sites *s, uint32_t v)
{
    struct hs_json *arr;
    uint32_t t;

    if (!s || !s->recorded)
        return hs_json_null();
    arr = hs_json_array();
    t = hs_sites_traceback(s, v);
    for (uint32_t i = t ? s->tb_off[t] : 0; t && i < s->tb_off[t + 1]; i++)
        hs_json_push(arr, hs_sites_frame_json(s, s->tb_frame[i]));
    return arr;
}

uint32_t
hs_sites_traceback_text(const struct hs_sites *s, uint32_t v,
                        const char *prefix, struct hs_buf *out)
{
    uint32_t t = s ? hs_sites_traceback(s, v) : 0, n = 0;

    for (uint32_t i = t ? s->tb_off[t] : 0; t && i < s->tb_off[t + 1];
         i++, n++) {
        hs_buf_adds(out, prefix);
        hs_sites_frame_text(s, s->tb_frame[i], out);
        hs_buf_addch(out, '\n');
    }
    return n;
}

const char *
hs_sites_missing_reason(const struct hs_sites *s)
{
    if (!s || !s->recorded)
        return "not recorded: tracemalloc was not tracing (heapsnap dump "
               "--trace, or PYTHONTRACEMALLOC=N)";
    return "unknown: allocated before tracemalloc started, or not by "
           "Python's allocator";
}

/* ---- totals by site ------------------------------------------------------------ */

static int
row_by_bytes(const void *a, const void *b)
{
    const struct hs_site_row *x = a, *y = b;

    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->frame < y->frame ? -1 : x->frame > y->frame;
}

static int
row_by_count(const void *a, const void *b)
{
    const struct hs_site_row *x = a, *y = b;

    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return row_by_bytes(a, b);
}

static int
row_by_retained(const void *a, const void *b)
{
    const struct hs_site_row *x = a, *y = b;

    if (x->retained != y->retained)
        return x->retained < y->retained ? 1 : -1;
    return row_by_bytes(a, b);
}

static int
u64_cmp(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Fills each row's most frequent types from the (site << 32 | type) pairs
 * of its objects, sorted.  `row_of` maps a site to its row. */
static void
row_types(struct hs_site_row *rows, const uint32_t *row_of, uint64_t *pairs,
          uint32_t npairs)
{
    qsort(pairs, npairs, sizeof(*pairs), u64_cmp);
    for (uint32_t i = 0; i < npairs;) {
        uint32_t j = i, k = 0, c;
        struct hs_site_row *r = &rows[row_of[pairs[i] >> 32]];

        while (j < npairs && pairs[j] == pairs[i])
            j++;
        c = j - i;

        r->ntypes++;
        while (k < r->shown_types && r->type_count[k] >= c)
            k++;
        if (k < HS_SITE_TYPES) {
            /* Insert at k, pushing the smaller ones down. */
            for (uint32_t m = HS_SITE_TYPES - 1; m > k; m--) {
                r->type[m] = r->type[m - 1];
                r->type_count[m] = r->type_count[m - 1];
            }
            r->type[k] = (uint32_t)pairs[i];
            r->type_count[k] = c;
            if (r->shown_types < HS_SITE_TYPES)
                r->shown_types++;
        }
        i = j;
    }
}

struct hs_site_row *
hs_sites_rows(const struct hs_graph *g, const struct hs_sites *s,
              struct hs_dominators *dom, const uint32_t *nodes, uint32_t n,
              enum hs_top_order order, uint32_t *nrows,
              struct hs_site_row *untraced)
{
    uint32_t total = nodes ? n : g->n, count = 0, npairs = 0;
    uint32_t *row_of = hs_xcalloc((size_t)s->nframes + 1, sizeof(uint32_t));
    struct hs_site_row *rows;
    uint64_t *pairs = hs_xmalloc(hs_st_mult(total ? total : 1,
                                            sizeof(uint64_t)));

    memset(untraced, 0, sizeof(*untraced));
    /* row_of[f]: 1 + the row of site f, 0 while it has none. */
    for (uint32_t i = 0; i < total; i++) {
        uint32_t v = nodes ? nodes[i] : i, f = hs_sites_site(s, v);

        if (!f) {
            untraced->count++;
            untraced->bytes += g->size[v];
            continue;
        }
        if (!row_of[f])
            row_of[f] = ++count;
    }
    rows = hs_xcalloc(count ? count : 1, sizeof(*rows));
    for (uint32_t f = 1; f <= s->nframes; f++) {
        if (row_of[f]) {
            row_of[f]--;
            rows[row_of[f]].frame = f;
        } else {
            row_of[f] = UINT32_MAX;
        }
    }
    for (uint32_t i = 0; i < total; i++) {
        uint32_t v = nodes ? nodes[i] : i, f = hs_sites_site(s, v);
        struct hs_site_row *r;

        if (!f)
            continue;
        r = &rows[row_of[f]];
        r->count++;
        r->bytes += g->size[v];
        pairs[npairs++] = (uint64_t)f << 32 | g->type[v];
    }
    row_types(rows, row_of, pairs, npairs);
    free(pairs);
    if (dom && !nodes) {
        uint32_t *key = hs_xmalloc(hs_st_mult(g->n ? g->n : 1,
                                              sizeof(uint32_t)));
        uint64_t *ret;

        for (uint32_t v = 0; v < g->n; v++) {
            uint32_t f = hs_sites_site(s, v);

            key[v] = f ? row_of[f] : UINT32_MAX;
        }
        ret = hs_dominators_key_retained(dom, key, count);
        for (uint32_t i = 0; i < count; i++)
            rows[i].retained = ret[i];
        free(ret);
        free(key);
    }
    free(row_of);
    qsort(rows, count, sizeof(*rows),
          order == HS_TOP_BY_COUNT      ? row_by_count
          : order == HS_TOP_BY_RETAINED ? row_by_retained
                                        : row_by_bytes);
    *nrows = count;
    return rows;
}

void
hs_site_row_types_text(const struct hs_graph *g, const struct hs_site_row *r,
                       struct hs_buf *out)
{
    char name[512], c[32];

    for (uint32_t k = 0; k < r->shown_types; k++) {
        hs_type_display_name(&g->types[r->type[k]], name, sizeof(name));
        hs_buf_addf(out, "%s%s \xC3\x97%s", k ? ", " : "", name,
                    hs_group_digits(r->type_count[k], c, sizeof(c)));
    }
    if (r->ntypes > r->shown_types)
        hs_buf_addf(out, ", +%u more type%s", r->ntypes - r->shown_types,
                    r->ntypes - r->shown_types == 1 ? "" : "s");
}

struct hs_json *
hs_site_row_json(const struct hs_graph *g, const struct hs_sites *s,
                 const struct hs_site_row *r, int with_retained)
{
    struct hs_json *o = hs_sites_frame_json(s, r->frame);
    struct hs_json *types = hs_json_array();
    char name[512];

    hs_json_set_int(o, "count", r->count);
    hs_json_set_int(o, "bytes", (int64_t)r->bytes);
    if (with_retained)
        hs_json_set_int(o, "retained_size", (int64_t)r->retained);
    for (uint32_t k = 0; k < r->shown_types; k++) {
        struct hs_json *t = hs_json_object();

        hs_json_set_str(t, "type", hs_type_display_name(&g->types[r->type[k]],
                                                        name, sizeof(name)));
        hs_json_set_int(t, "count", r->type_count[k]);
        hs_json_push(types, t);
    }
    hs_json_set(o, "types", types);
    hs_json_set_int(o, "type_count", r->ntypes);
    return o;
}

struct hs_json *
hs_sites_top_json(const struct hs_graph *g, const struct hs_sites *s,
                  struct hs_dominators *dom, enum hs_top_order order,
                  uint32_t limit)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_site_row untraced, *rows;
    uint32_t nrows;

    hs_json_set_str(doc, "by", "site");
    hs_json_set_str(doc, "order", hs_top_order_names[order]);
    hs_json_set_bool(doc, "recorded", s->recorded);
    rows = hs_sites_rows(g, s, dom, NULL, 0, order, &nrows, &untraced);
    for (uint32_t i = 0; i < nrows && (!limit || i < limit); i++)
        hs_json_push(arr, hs_site_row_json(g, s, &rows[i], dom != NULL));
    hs_json_set(doc, "sites", arr);
    hs_json_set_int(doc, "site_count", nrows);
    hs_json_set_int(doc, "traced_objects", (int64_t)s->traced);
    hs_json_set_int(doc, "untraced_objects", untraced.count);
    hs_json_set_int(doc, "untraced_bytes", (int64_t)untraced.bytes);
    free(rows);
    return doc;
}

/* Group k's members by site, most objects first (malloc'd, *nrows). */
static struct hs_site_row *
group_rows(const struct hs_json_src *src, const struct hs_why_groups *wg,
           uint32_t k, uint32_t *nrows)
{
    uint32_t *members = hs_xmalloc(hs_st_mult(wg->count ? wg->count : 1,
                                              sizeof(uint32_t)));
    uint32_t n = 0;
    struct hs_site_row untraced, *rows;

    for (uint32_t i = 0; i < wg->count; i++)
        if (wg->pg.group_of[i] == k)
            members[n++] = wg->nodes[i];
    rows = hs_sites_rows(src->g, src->sites, NULL, members, n,
                         HS_TOP_BY_COUNT, nrows, &untraced);
    free(members);
    return rows;
}

void
hs_sites_group_text(const struct hs_json_src *src,
                    const struct hs_why_groups *wg, uint32_t k, uint32_t max,
                    struct hs_buf *out)
{
    uint32_t nrows;
    struct hs_site_row *rows = group_rows(src, wg, k, &nrows);
    char c[32];

    for (uint32_t i = 0; i < nrows && i < max; i++) {
        if (i)
            hs_buf_adds(out, ", ");
        hs_sites_frame_text(src->sites, rows[i].frame, out);
        hs_buf_addf(out, " \xC3\x97%s",
                    hs_group_digits(rows[i].count, c, sizeof(c)));
    }
    if (nrows > max)
        hs_buf_addf(out, ", +%u more site%s", nrows - max,
                    nrows - max == 1 ? "" : "s");
    free(rows);
}

struct hs_json *
hs_sites_group_json(const struct hs_json_src *src,
                    const struct hs_why_groups *wg, uint32_t k, uint32_t max)
{
    uint32_t nrows;
    struct hs_site_row *rows = group_rows(src, wg, k, &nrows);
    struct hs_json *arr = hs_json_array();

    for (uint32_t i = 0; i < nrows && i < max; i++)
        hs_json_push(arr, hs_site_row_json(src->g, src->sites, &rows[i], 0));
    free(rows);
    return arr;
}
