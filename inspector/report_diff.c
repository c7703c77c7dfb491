/*
 * report_diff.c: the answer of `diff` (report.h): two loaded heaps matched
 * type by type and object by object, the rows sorted by growth, the type
 * whose new objects to explain and their paths grouped by shape.  The
 * command (cmd_diff.c) prints it as text; its --json and the server's
 * /api/diff (`serve --diff OLD`) take the document built here.  Nothing
 * here prints (errors excepted).
 *
 * Types are matched by module and qualified name.  Objects are matched by
 * address and type, which is exact for objects that lived through both
 * snapshots and can only mistake a new object for an old one when it took
 * a freed one's address and type; snapshots of two different processes
 * are compared by type only.
 */
#include "report.h"
#include "heap.h"
#include "render_path.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int by_count; /* qsort has no context */

static int
row_cmp(const void *a, const void *b)
{
    const struct hs_diff_row *x = a, *y = b;
    int64_t dx =
        by_count ? x->new_count - x->old_count : x->new_bytes - x->old_bytes;
    int64_t dy =
        by_count ? y->new_count - y->old_count : y->new_bytes - y->old_bytes;

    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->key, y->key);
}

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct hs_diff_row *)a)->key,
                  ((const struct hs_diff_row *)b)->key);
}

static char *
type_key(const struct hs_type *t)
{
    char name[512];

    return hs_xstrdup(hs_type_display_name(t, name, sizeof(name)));
}

/* The row named `key` among rows[0 .. n), sorted by key, or NULL. */
static struct hs_diff_row *
find_row(struct hs_diff_row *rows, uint32_t n, const char *key)
{
    struct hs_diff_row probe;

    memset(&probe, 0, sizeof(probe));
    probe.key = (char *)(uintptr_t)key;
    return n ? bsearch(&probe, rows, n, sizeof(*rows), key_cmp) : NULL;
}

/*
 * The rows of both snapshots, one per type name, sorted by name;
 * old_map[k] / new_map[k] is the row of type k of the old / new graph.
 * O(T^2) moves at worst to keep the rows sorted while adding: a few
 * thousand types.
 */
static void
match_types(struct hs_diff *d)
{
    const struct hs_graph *g0 = d->side[0].heap->g, *g1 = d->side[1].heap->g;
    uint32_t n = 0;
    struct hs_diff_row *rows =
        hs_xcalloc((size_t)g0->ntypes + g1->ntypes + 1, sizeof(*rows));

    d->old_map =
        hs_xmalloc((size_t)(g0->ntypes ? g0->ntypes : 1) * sizeof(uint32_t));
    d->new_map =
        hs_xmalloc((size_t)(g1->ntypes ? g1->ntypes : 1) * sizeof(uint32_t));
    for (int side = 0; side < 2; side++) {
        const struct hs_graph *g = side ? g1 : g0;

        for (uint32_t k = 0; k < g->ntypes; k++) {
            char *key = type_key(&g->types[k]);
            uint32_t at = 0;

            if (find_row(rows, n, key)) {
                free(key);
                continue;
            }
            while (at < n && strcmp(rows[at].key, key) < 0)
                at++;
            memmove(&rows[at + 1], &rows[at], (n - at) * sizeof(*rows));
            memset(&rows[at], 0, sizeof(*rows));
            rows[at].key = key;
            rows[at].new_type = UINT32_MAX;
            n++;
        }
    }
    for (int side = 0; side < 2; side++) {
        const struct hs_graph *g = side ? g1 : g0;
        uint32_t *map = side ? d->new_map : d->old_map;

        for (uint32_t k = 0; k < g->ntypes; k++) {
            char *key = type_key(&g->types[k]);
            struct hs_diff_row *r = find_row(rows, n, key);

            free(key);
            map[k] = (uint32_t)(r - rows);
            if (side) {
                r->new_count += g->types[k].count;
                r->new_bytes += (int64_t)g->types[k].bytes;
                if (r->new_type == UINT32_MAX ||
                    g->types[k].count > g->types[r->new_type].count)
                    r->new_type = k;
            } else {
                r->old_count += g->types[k].count;
                r->old_bytes += (int64_t)g->types[k].bytes;
            }
        }
    }
    d->rows = rows;
    d->nrows = n;
}

/*
 * Marks the objects of NEW that OLD does not have (by address and type
 * row) in is_new, and counts them per row.  O(n log n) for the old
 * graph's address index.
 */
static void
find_new(struct hs_diff *d)
{
    struct hs_graph *old = d->side[0].heap->g, *g = d->side[1].heap->g;

    /* Two lookups at least, so the old graph sorts its addresses once. */
    hs_graph_node_of_address(old, 0);
    for (uint32_t v = 0; v < g->n; v++) {
        int64_t u = hs_graph_node_of_address(old, g->address[v]);
        uint32_t r = d->new_map[g->type[v]];

        if (u >= 0 && d->old_map[old->type[u]] == r)
            continue;
        d->is_new[v] = 1;
        d->rows[r].added++;
        d->rows[r].added_bytes += (int64_t)g->size[v];
        d->added++;
    }
}

static void
side_init(struct hs_diff_side *s, struct hs_heap *heap)
{
    s->heap = heap;
    s->pid = hs_snapshot_meta(heap->snap, "pid");
    s->created = hs_snapshot_meta(heap->snap, "created_at");
    for (uint32_t k = 0; k < heap->g->ntypes; k++)
        s->bytes += heap->g->types[k].bytes;
}

void
hs_diff_compute(struct hs_heap *old, struct hs_heap *new_heap, int count,
                struct hs_diff *d)
{
    uint32_t *pos;

    memset(d, 0, sizeof(*d));
    side_init(&d->side[0], old);
    side_init(&d->side[1], new_heap);
    match_types(d);
    d->same_process = d->side[0].pid && d->side[1].pid &&
                      !strcmp(d->side[0].pid, d->side[1].pid);
    d->is_new = hs_xcalloc(new_heap->g->n ? new_heap->g->n : 1, 1);
    if (d->same_process) {
        find_new(d);
        for (uint32_t i = 0; i < d->nrows; i++)
            d->added_bytes += (uint64_t)d->rows[i].added_bytes;
    }
    by_count = count;
    for (uint32_t i = 0; i < d->nrows; i++)
        d->rows[i].index = i;
    qsort(d->rows, d->nrows, sizeof(*d->rows), row_cmp);
    /* The sort moved the rows: the maps follow them. */
    pos = hs_xmalloc((size_t)(d->nrows ? d->nrows : 1) * sizeof(*pos));
    for (uint32_t i = 0; i < d->nrows; i++)
        pos[d->rows[i].index] = i;
    for (uint32_t k = 0; k < old->g->ntypes; k++)
        d->old_map[k] = pos[d->old_map[k]];
    for (uint32_t k = 0; k < new_heap->g->ntypes; k++)
        d->new_map[k] = pos[d->new_map[k]];
    free(pos);
    for (uint32_t i = 0; i < d->nrows; i++)
        d->changed += d->rows[i].new_count != d->rows[i].old_count ||
                      d->rows[i].new_bytes != d->rows[i].old_bytes;
}

void
hs_diff_release(struct hs_diff *d)
{
    for (uint32_t i = 0; i < d->nrows; i++)
        free(d->rows[i].key);
    free(d->rows);
    free(d->old_map);
    free(d->new_map);
    free(d->is_new);
    for (int s = 0; s < 2; s++) {
        free(d->side[s].pid);
        free(d->side[s].created);
    }
    memset(d, 0, sizeof(*d));
}

int64_t
hs_diff_growth_row(struct hs_diff *d, const char *focus)
{
    const struct hs_graph *g = d->side[1].heap->g;
    const struct hs_bfs *bfs = hs_heap_bfs(d->side[1].heap);
    uint32_t *frontier;
    int64_t best = -1;

    if (focus) {
        for (uint32_t i = 0; i < d->nrows; i++) {
            const char *dot = strrchr(d->rows[i].key, '.');

            if (!strcmp(d->rows[i].key, focus) ||
                (dot && !strcmp(dot + 1, focus)))
                return d->rows[i].added > 0 ? (int64_t)i : -2;
        }
        return -2;
    }
    frontier = hs_xcalloc(d->nrows ? d->nrows : 1, sizeof(*frontier));
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t e = bfs->parent_edge[v];

        if (!d->is_new[v] || !hs_bfs_reached(bfs, v))
            continue;
        if (bfs->dist[v] == 0 || !d->is_new[hs_graph_edge_src(g, e)])
            frontier[d->new_map[g->type[v]]]++;
    }
    for (uint32_t i = 0; i < d->nrows; i++) {
        if (frontier[i] && (best < 0 || frontier[i] > frontier[best]))
            best = i;
    }
    free(frontier);
    return best;
}

int
hs_diff_growth_groups(struct hs_diff *d, uint32_t row,
                      struct hs_path_groups *pg, uint32_t *ntargets)
{
    struct hs_graph *g = d->side[1].heap->g;
    const struct hs_bfs *bfs = hs_heap_bfs(d->side[1].heap);
    const struct hs_diff_row *r = &d->rows[row];
    uint32_t *targets, nt = 0;
    int rc;

    targets = hs_xmalloc((size_t)(r->added ? r->added : 1) * sizeof(*targets));
    for (uint32_t v = 0; v < g->n; v++)
        if (d->is_new[v] && d->new_map[g->type[v]] == row)
            targets[nt++] = v;
    rc = hs_paths_group(g, bfs, targets, nt, NULL, pg);
    free(targets);
    *ntargets = nt;
    return rc;
}

void
hs_diff_group_shape(struct hs_diff *d, const struct hs_path_groups *pg,
                    uint32_t k, struct hs_buf *out)
{
    const struct hs_path_group *gr = &pg->groups[k];
    struct hs_path_step *steps;

    if (gr->unreachable) {
        hs_buf_adds(out, "unreachable (cyclic garbage awaiting the "
                         "collector)");
        return;
    }
    steps = hs_xmalloc(((size_t)gr->nsteps + 1) * sizeof(*steps));
    hs_path_groups_steps(pg, k, steps);
    hs_render_shape(d->side[1].heap->names, gr, steps, out);
    free(steps);
}

struct hs_json *
hs_diff_side_json(const struct hs_diff_side *s)
{
    struct hs_json *o = hs_json_object();

    hs_json_set_str(o, "file", s->heap->path);
    hs_json_set_str(o, "pid", s->pid);
    hs_json_set_str(o, "created_at", s->created);
    hs_json_set_int(o, "objects", s->heap->g->n);
    hs_json_set_int(o, "bytes", (int64_t)s->bytes);
    return o;
}

/* "growth_type" and "growth_paths" of row r into doc.  0 or -1. */
static int
json_growth(struct hs_diff *d, uint32_t row, int npaths, int viewer,
            struct hs_json *doc)
{
    struct hs_heap *h = d->side[1].heap;
    struct hs_json_src src = { h->g, h->names, NULL, NULL, viewer, NULL };
    struct hs_path_groups pg;
    struct hs_json *groups = hs_json_array();
    struct hs_buf b = HS_BUF_INIT;
    uint32_t nt;

    if (hs_diff_growth_groups(d, row, &pg, &nt) < 0) {
        hs_json_free(groups);
        return -1;
    }
    for (uint32_t k = 0; k < pg.ngroups && (int)k < npaths; k++) {
        const struct hs_path_group *gr = &pg.groups[k];
        struct hs_json *o = hs_json_object();

        hs_buf_reset(&b);
        hs_diff_group_shape(d, &pg, k, &b);
        hs_json_set_int(o, "count", gr->count);
        hs_json_set_int(o, "bytes", (int64_t)gr->bytes);
        hs_json_set_str(o, "shape", b.buf);
        hs_json_set_int(o, "example_id", hs_graph_object_id(gr->example));
        if (viewer) {
            struct hs_buf desc = HS_BUF_INIT;

            hs_naming_object(src.names, gr->example, 0, &desc);
            hs_json_set_str(o, "example_description", desc.buf);
            hs_buf_release(&desc);
        }
        hs_json_push(groups, o);
    }
    if (viewer) {
        hs_json_set_int(doc, "growth_new_objects", nt);
        hs_json_set_int(doc, "growth_groups", pg.ngroups);
    }
    hs_json_set_str(doc, "growth_type", d->rows[row].key);
    hs_json_set(doc, "growth_paths", groups);
    hs_path_groups_release(&pg);
    hs_buf_release(&b);
    return 0;
}

struct hs_json *
hs_diff_json(struct hs_diff *d, uint32_t limit, int npaths, const char *focus,
             int viewer)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    uint32_t shown = 0;

    for (uint32_t i = 0; i < d->nrows; i++) {
        const struct hs_diff_row *r = &d->rows[i];
        struct hs_json *o;

        if (r->new_count == r->old_count && r->new_bytes == r->old_bytes)
            continue;
        if (limit && shown >= limit)
            break;
        shown++;
        o = hs_json_object();
        hs_json_set_str(o, "type", r->key);
        hs_json_set_int(o, "old_count", r->old_count);
        hs_json_set_int(o, "new_count", r->new_count);
        hs_json_set_int(o, "old_bytes", r->old_bytes);
        hs_json_set_int(o, "new_bytes", r->new_bytes);
        if (d->same_process) {
            hs_json_set_int(o, "new_objects", r->added);
            hs_json_set_int(o, "new_objects_bytes", r->added_bytes);
        }
        if (viewer && r->new_type != UINT32_MAX)
            hs_json_set_int(o, "type_id",
                            hs_graph_object_id(
                                d->side[1].heap->g->types[r->new_type].node));
        hs_json_push(arr, o);
    }
    hs_json_set(doc, "old", hs_diff_side_json(&d->side[0]));
    hs_json_set(doc, "new", hs_diff_side_json(&d->side[1]));
    hs_json_set_bool(doc, "same_process", d->same_process);
    hs_json_set(doc, "types", arr);
    hs_json_set_int(doc, "types_changed", d->changed);
    if (d->same_process) {
        hs_json_set_int(doc, "new_objects", d->added);
        hs_json_set_int(doc, "new_objects_bytes", (int64_t)d->added_bytes);
    }
    if (d->same_process && npaths > 0) {
        int64_t r = hs_diff_growth_row(d, focus);

        if (r == -2) {
            hs_error(HS_EXIT_NO_RESULT, "no new objects of type '%s' in '%s'",
                     focus, d->side[1].heap->path);
            hs_json_free(doc);
            return NULL;
        }
        if (r >= 0 && json_growth(d, (uint32_t)r, npaths, viewer, doc) < 0) {
            hs_json_free(doc);
            return NULL;
        }
    }
    return doc;
}
