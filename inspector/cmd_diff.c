/*
 * COMMAND: diff
 * USAGE:   heapsnap diff OLD NEW [-n N] [--by size|count] [--paths N]
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
 * Types are matched by module and qualified name.  Objects are matched by
 * address and type, which is exact for objects that lived through both
 * snapshots and can only mistake a new object for an old one when it took
 * a freed one's address and type; snapshots of two different processes
 * are compared by type only.
 */
#include "heapsnap.h"
#include "heap.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "render_path.h"
#include "render_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const diff_usage[] = {
    "usage: heapsnap diff OLD NEW [-n N] [--by size|count] [--paths N] "
    "[--type TYPE] [--json]",
    "",
    "Compares two snapshots of a process: per type, how many instances and",
    "bytes were added or freed, biggest growth first; the objects that are",
    "new in NEW; and where the growth is held: the new objects of the type",
    "most added directly to objects that were already there (--type picks",
    "another), grouped by path as 'why TYPE' groups them.",
    NULL,
};

static const char *const by_choices[] = { "size", "count", NULL };

/* One type in either snapshot, matched by name. */
struct row {
    char *key;            /* "module.qualname", the match key */
    int64_t old_count, new_count;
    int64_t old_bytes, new_bytes;
    int64_t added, added_bytes; /* new objects (not in OLD) of the type */
    uint32_t new_type;    /* index in the new graph's types, or UINT32_MAX */
    uint32_t index;       /* position before sorting by growth */
};

struct side {
    struct hs_heap heap;  /* the snapshot, its graph and names */
    char *pid, *created;  /* its meta values (owned) */
    uint64_t bytes;       /* its objects' total size */
};

static int by_count; /* qsort has no context */

static int
row_cmp(const void *a, const void *b)
{
    const struct row *x = a, *y = b;
    int64_t dx = by_count ? x->new_count - x->old_count
                          : x->new_bytes - x->old_bytes;
    int64_t dy = by_count ? y->new_count - y->old_count
                          : y->new_bytes - y->old_bytes;

    if (dx != dy)
        return dx < dy ? 1 : -1;
    return strcmp(x->key, y->key);
}

static int
key_cmp(const void *a, const void *b)
{
    return strcmp(((const struct row *)a)->key, ((const struct row *)b)->key);
}

static char *
type_key(const struct hs_type *t)
{
    char name[512];

    return hs_xstrdup(hs_type_display_name(t, name, sizeof(name)));
}

/* The row named `key` among rows[0 .. n), sorted by key, or NULL. */
static struct row *
find_row(struct row *rows, uint32_t n, const char *key)
{
    struct row probe;

    memset(&probe, 0, sizeof(probe));
    probe.key = (char *)(uintptr_t)key;
    return n ? bsearch(&probe, rows, n, sizeof(*rows), key_cmp) : NULL;
}

/*
 * The rows of both snapshots, one per type name, sorted by name;
 * (*old_map)[k] / (*new_map)[k] is the row of type k of the old / new
 * graph.  O(T^2) moves at worst to keep the rows sorted while adding: a
 * few thousand types.
 */
static struct row *
match_types(struct side *s, uint32_t *nrows, uint32_t **old_map,
            uint32_t **new_map)
{
    uint32_t n0 = s[0].heap.g->ntypes, n1 = s[1].heap.g->ntypes, n = 0;
    struct row *rows = hs_xcalloc((size_t)n0 + n1 + 1, sizeof(*rows));

    *old_map = hs_xmalloc((size_t)(n0 ? n0 : 1) * sizeof(uint32_t));
    *new_map = hs_xmalloc((size_t)(n1 ? n1 : 1) * sizeof(uint32_t));
    for (int side = 0; side < 2; side++) {
        const struct hs_graph *g = s[side].heap.g;

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
        const struct hs_graph *g = s[side].heap.g;
        uint32_t *map = side ? *new_map : *old_map;

        for (uint32_t k = 0; k < g->ntypes; k++) {
            char *key = type_key(&g->types[k]);
            struct row *r = find_row(rows, n, key);

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
    *nrows = n;
    return rows;
}

/*
 * Marks the objects of NEW that OLD does not have (by address and type
 * row) in is_new, and counts them per row.  O(n log n) for the old
 * graph's address index.  Returns how many.
 */
static uint32_t
find_new(struct side *s, struct row *rows, const uint32_t *old_map,
         const uint32_t *new_map, uint8_t *is_new)
{
    struct hs_graph *old = s[0].heap.g, *g = s[1].heap.g;
    uint32_t added = 0;

    /* Two lookups at least, so the old graph sorts its addresses once. */
    hs_graph_node_of_address(old, 0);
    for (uint32_t v = 0; v < g->n; v++) {
        int64_t u = hs_graph_node_of_address(old, g->address[v]);
        uint32_t r = new_map[g->type[v]];

        if (u >= 0 && old_map[old->type[u]] == r)
            continue;
        is_new[v] = 1;
        rows[r].added++;
        rows[r].added_bytes += (int64_t)g->size[v];
        added++;
    }
    return added;
}

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

/* The new instances of type row r, grouped by path shape in NEW. */
static int
growth_paths(struct side *s, const struct hs_bfs *bfs, const struct row *r,
             const uint8_t *is_new, const uint32_t *new_map,
             uint32_t row_index, int npaths, struct hs_json *doc)
{
    struct hs_graph *g = s[1].heap.g;
    struct hs_naming *names = s[1].heap.names;
    struct hs_path_groups pg;
    struct hs_path_step *steps = NULL;
    size_t steps_alloc = 0;
    uint32_t *targets, nt = 0;
    struct hs_buf b = HS_BUF_INIT;
    struct hs_json *groups = doc ? hs_json_array() : NULL;
    char count[32], size[32];
    int rc = 0;

    targets = hs_xmalloc((size_t)(r->added ? r->added : 1) *
                         sizeof(*targets));
    for (uint32_t v = 0; v < g->n; v++)
        if (is_new[v] && new_map[g->type[v]] == row_index)
            targets[nt++] = v;
    if (hs_paths_group(g, bfs, targets, nt, NULL, &pg) < 0) {
        rc = -1;
        goto out;
    }
    if (!doc)
        printf("\nThe %s new %s object%s %s alive because:\n",
               hs_group_digits(nt, count, sizeof(count)), r->key,
               nt == 1 ? "" : "s", nt == 1 ? "is" : "are");
    for (uint32_t k = 0; k < pg.ngroups && (int)k < npaths; k++) {
        const struct hs_path_group *gr = &pg.groups[k];

        hs_buf_reset(&b);
        if (gr->unreachable) {
            hs_buf_adds(&b, "unreachable (cyclic garbage awaiting the "
                            "collector)");
        } else {
            HS_ALLOC_GROW(steps, (size_t)gr->nsteps + 1, steps_alloc);
            hs_path_groups_steps(&pg, k, steps);
            hs_render_shape(names, gr, steps, &b);
        }
        if (doc) {
            struct hs_json *o = hs_json_object();

            hs_json_set_int(o, "count", gr->count);
            hs_json_set_int(o, "bytes", (int64_t)gr->bytes);
            hs_json_set_str(o, "shape", b.buf);
            hs_json_set_int(o, "example_id", hs_graph_object_id(gr->example));
            hs_json_push(groups, o);
        } else {
            printf("  %s object%s, %s, via:\n    %s\n",
                   hs_group_digits(gr->count, count, sizeof(count)),
                   gr->count == 1 ? "" : "s",
                   hs_human_size(gr->bytes, size, sizeof(size)), b.buf);
        }
    }
    if (!doc && pg.ngroups > (uint32_t)npaths)
        printf("  and %u more group%s; --paths N shows more\n",
               pg.ngroups - (uint32_t)npaths,
               pg.ngroups - (uint32_t)npaths == 1 ? "" : "s");
    if (doc) {
        hs_json_set_str(doc, "growth_type", r->key);
        hs_json_set(doc, "growth_paths", groups);
    }
    hs_path_groups_release(&pg);
out:
    free(steps);
    free(targets);
    hs_buf_release(&b);
    return rc;
}

/*
 * The type whose new objects to explain: `focus` when given (-2 if it has
 * no new objects), else the one with the most new objects on the growth
 * frontier, held directly by an object that was already there (or by a
 * root): that is where something keeps adding.  New objects hanging off
 * other new ones (the dicts inside new instances) are consequences.  -1
 * when nothing is new.  O(n).
 */
static int64_t
growth_row(const struct hs_graph *g, const struct hs_bfs *bfs,
           const struct row *rows, uint32_t nrows, const uint8_t *is_new,
           const uint32_t *new_map, const char *focus)
{
    uint32_t *frontier;
    int64_t best = -1;

    if (focus) {
        for (uint32_t i = 0; i < nrows; i++) {
            const char *dot = strrchr(rows[i].key, '.');

            if (!strcmp(rows[i].key, focus) ||
                (dot && !strcmp(dot + 1, focus)))
                return rows[i].added > 0 ? (int64_t)i : -2;
        }
        return -2;
    }
    frontier = hs_xcalloc(nrows ? nrows : 1, sizeof(*frontier));
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t e = bfs->parent_edge[v];

        if (!is_new[v] || !hs_bfs_reached(bfs, v))
            continue;
        if (bfs->dist[v] == 0 || !is_new[hs_graph_edge_src(g, e)])
            frontier[new_map[g->type[v]]]++;
    }
    for (uint32_t i = 0; i < nrows; i++) {
        if (frontier[i] && (best < 0 || frontier[i] > frontier[best]))
            best = i;
    }
    free(frontier);
    return best;
}

static void
print_header(const char *what, const struct side *s)
{
    char n[32], size[32];

    printf("%s %s (pid %s, %s): %s objects, %s\n", what, s->heap.path,
           s->pid ? s->pid : "?", s->created ? s->created : "?",
           hs_group_digits(s->heap.g->n, n, sizeof(n)),
           hs_human_size(s->bytes, size, sizeof(size)));
}

static struct hs_json *
json_side(const struct side *s)
{
    struct hs_json *o = hs_json_object();

    hs_json_set_str(o, "file", s->heap.path);
    hs_json_set_str(o, "pid", s->pid);
    hs_json_set_str(o, "created_at", s->created);
    hs_json_set_int(o, "objects", s->heap.g->n);
    hs_json_set_int(o, "bytes", (int64_t)s->bytes);
    return o;
}

static int
report(struct side *s, struct row *rows, uint32_t nrows, int limit,
       int same_process, uint32_t added, uint64_t added_bytes,
       const uint8_t *is_new, const uint32_t *new_map, int npaths,
       const char *focus, int json)
{
    struct hs_json *doc = json ? hs_json_object() : NULL;
    struct hs_json *arr = json ? hs_json_array() : NULL;
    uint32_t shown = 0, changed = 0;
    int64_t dcount = (int64_t)s[1].heap.g->n - (int64_t)s[0].heap.g->n;
    int64_t dbytes = (int64_t)s[1].bytes - (int64_t)s[0].bytes;
    struct hs_table *t = NULL;
    char a[32], b[32], c[32], d[32];
    int rc = 0;

    for (uint32_t i = 0; i < nrows; i++)
        changed += rows[i].new_count != rows[i].old_count ||
                   rows[i].new_bytes != rows[i].old_bytes;
    if (!json) {
        static const enum hs_align align[] = {
            HS_ALIGN_RIGHT, HS_ALIGN_RIGHT, HS_ALIGN_RIGHT, HS_ALIGN_RIGHT,
            HS_ALIGN_LEFT
        };

        print_header("from", &s[0]);
        print_header("  to", &s[1]);
        printf("change: %s objects, %s%s\n\n",
               signed_count(dcount, a, sizeof(a)),
               signed_size(dbytes, b, sizeof(b)),
               same_process ? "" : " (two different processes: compared "
                                   "by type only)");
        t = hs_table_new(5, align);
        hs_table_rowv(t, "+count", "+size", "count", "size", "type");
    }
    for (uint32_t i = 0; i < nrows; i++) {
        const struct row *r = &rows[i];

        if (r->new_count == r->old_count && r->new_bytes == r->old_bytes)
            continue;
        if (limit && shown >= (uint32_t)limit)
            break;
        shown++;
        if (json) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "type", r->key);
            hs_json_set_int(o, "old_count", r->old_count);
            hs_json_set_int(o, "new_count", r->new_count);
            hs_json_set_int(o, "old_bytes", r->old_bytes);
            hs_json_set_int(o, "new_bytes", r->new_bytes);
            if (same_process) {
                hs_json_set_int(o, "new_objects", r->added);
                hs_json_set_int(o, "new_objects_bytes", r->added_bytes);
            }
            hs_json_push(arr, o);
        } else {
            char cnt[32], sz[32];

            hs_table_rowv(t, signed_count(r->new_count - r->old_count, a,
                                          sizeof(a)),
                          signed_size(r->new_bytes - r->old_bytes, b,
                                      sizeof(b)),
                          hs_group_digits((uint64_t)r->new_count, cnt,
                                          sizeof(cnt)),
                          hs_human_size((uint64_t)r->new_bytes, sz,
                                        sizeof(sz)),
                          r->key);
        }
    }
    if (json) {
        hs_json_set(doc, "old", json_side(&s[0]));
        hs_json_set(doc, "new", json_side(&s[1]));
        hs_json_set_bool(doc, "same_process", same_process);
        hs_json_set(doc, "types", arr);
        hs_json_set_int(doc, "types_changed", changed);
        if (same_process) {
            hs_json_set_int(doc, "new_objects", added);
            hs_json_set_int(doc, "new_objects_bytes", (int64_t)added_bytes);
        }
    } else {
        if (!shown)
            printf("  no type changed\n");
        else
            hs_table_print(t, stdout);
        hs_table_free(t);
        if (changed > shown)
            printf("  ... and %u more type%s changed (-n 0 lists all)\n",
                   changed - shown, changed - shown == 1 ? "" : "s");
        if (same_process)
            printf("\nnew objects (in %s, not in %s, by address and "
                   "type): %s, %s\n",
                   s[1].heap.path, s[0].heap.path,
                   hs_group_digits(added, c, sizeof(c)),
                   hs_human_size(added_bytes, d, sizeof(d)));
    }
    if (same_process && npaths > 0) {
        const struct hs_bfs *bfs = hs_heap_bfs(&s[1].heap);
        int64_t r;

        r = growth_row(s[1].heap.g, bfs, rows, nrows, is_new, new_map, focus);
        if (r == -2)
            rc = hs_error(HS_EXIT_NO_RESULT, "no new objects of type '%s' "
                                             "in '%s'",
                          focus, s[1].heap.path);
        else if (r >= 0)
            rc = growth_paths(s, bfs, &rows[r], is_new, new_map,
                              (uint32_t)r, npaths, doc);
    }
    if (json) {
        if (rc == 0)
            rc = hs_json_print(doc, stdout);
        hs_json_free(doc);
    }
    return rc;
}

static int
open_side(struct side *s, const char *path)
{
    if (hs_heap_open(&s->heap, path, 0) < 0)
        return -1;
    s->pid = hs_snapshot_meta(s->heap.snap, "pid");
    s->created = hs_snapshot_meta(s->heap.snap, "created_at");
    for (uint32_t k = 0; k < s->heap.g->ntypes; k++)
        s->bytes += s->heap.g->types[k].bytes;
    return 0;
}

static void
close_side(struct side *s)
{
    hs_heap_release(&s->heap);
    free(s->pid);
    free(s->created);
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
    struct side s[2];
    struct row *rows = NULL;
    uint32_t nrows = 0, *old_map = NULL, *new_map = NULL, *pos, added = 0;
    uint64_t added_bytes = 0;
    uint8_t *is_new = NULL;
    int n, rc = HS_EXIT_OK, same_process;

    memset(s, 0, sizeof(s));
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
    if (open_side(&s[0], argv[0]) < 0 || open_side(&s[1], argv[1]) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    rows = match_types(s, &nrows, &old_map, &new_map);
    same_process = s[0].pid && s[1].pid && !strcmp(s[0].pid, s[1].pid);
    is_new = hs_xcalloc(s[1].heap.g->n ? s[1].heap.g->n : 1, 1);
    if (same_process) {
        added = find_new(s, rows, old_map, new_map, is_new);
        for (uint32_t i = 0; i < nrows; i++)
            added_bytes += (uint64_t)rows[i].added_bytes;
    }
    by_count = !strcmp(by, "count");
    for (uint32_t i = 0; i < nrows; i++)
        rows[i].index = i;
    qsort(rows, nrows, sizeof(*rows), row_cmp);
    /* The sort moved the rows: new_map follows them. */
    pos = hs_xmalloc((size_t)(nrows ? nrows : 1) * sizeof(*pos));
    for (uint32_t i = 0; i < nrows; i++)
        pos[rows[i].index] = i;
    for (uint32_t k = 0; k < s[1].heap.g->ntypes; k++)
        new_map[k] = pos[new_map[k]];
    free(pos);
    if (report(s, rows, nrows, limit, same_process, added, added_bytes,
               is_new, new_map, npaths, focus, json) < 0)
        rc = hs_error_status();
cleanup:
    for (uint32_t i = 0; i < nrows; i++)
        free(rows[i].key);
    free(rows);
    free(old_map);
    free(new_map);
    free(is_new);
    close_side(&s[0]);
    close_side(&s[1]);
    return rc;
}
