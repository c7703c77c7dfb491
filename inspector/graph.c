/*
 * graph.c: loading a snapshot into the CSR arrays of graph.h, and building
 * the same arrays from plain edge lists for tests and benchmarks.
 *
 * Both paths end in build_reverse(), a counting sort of the edges by
 * destination.  Nothing here recurses; every pass is O(n + m).
 */
#include "graph.h"
#include "graph_cache.h"
#include "progress.h"

#include <stdlib.h>
#include <string.h>

static const char *const root_kind_names[HS_ROOT_NKINDS] = {
    [HS_ROOT_MODULE] = "module",     [HS_ROOT_FRAME] = "frame",
    [HS_ROOT_THREAD] = "thread",     [HS_ROOT_SYS] = "sys",
    [HS_ROOT_BUILTINS] = "builtins", [HS_ROOT_GC] = "gc",
    [HS_ROOT_INTERNED] = "interned", [HS_ROOT_STATIC] = "static",
    [HS_ROOT_EXTERNAL] = "external", [HS_ROOT_OTHER] = "other",
};

int
hs_root_class(enum hs_root_kind kind)
{
    switch (kind) {
    case HS_ROOT_MODULE:
    case HS_ROOT_FRAME:
    case HS_ROOT_THREAD:
        return 0;
    case HS_ROOT_EXTERNAL:
        return 2;
    default:
        return 1;
    }
}

const char *
hs_root_kind_name(enum hs_root_kind kind)
{
    return kind < HS_ROOT_NKINDS ? root_kind_names[kind] : "other";
}

enum hs_root_kind
hs_root_kind_parse(const char *name)
{
    for (int k = 0; k < HS_ROOT_NKINDS; k++) {
        if (name && !strcmp(root_kind_names[k], name))
            return (enum hs_root_kind)k;
    }
    return HS_ROOT_OTHER;
}

const char *
hs_type_display_name(const struct hs_type *t, char *out, size_t len)
{
    const char *name = t->qualname ? t->qualname : t->name;

    if (t->module && strcmp(t->module, "builtins"))
        snprintf(out, len, "%s.%s", t->module, name);
    else
        snprintf(out, len, "%s", name);
    return out;
}

/* ---- building ---------------------------------------------------------------- */

static struct hs_graph *
graph_alloc(uint32_t n, uint32_t m)
{
    struct hs_graph *g = hs_xcalloc(1, sizeof(*g));

    g->n = n;
    g->m = m;
    g->address = hs_xcalloc(n ? n : 1, sizeof(*g->address));
    g->size = hs_xcalloc(n ? n : 1, sizeof(*g->size));
    g->type = hs_xcalloc(n ? n : 1, sizeof(*g->type));
    g->flags = hs_xcalloc(n ? n : 1, sizeof(*g->flags));
    g->out_off = hs_xcalloc((size_t)n + 1, sizeof(*g->out_off));
    g->out_dst = hs_xmalloc(hs_st_mult(m ? m : 1, sizeof(*g->out_dst)));
    g->out_kind = hs_xmalloc(m ? m : 1);
    return g;
}

/* Fills in_off / in_src from the forward CSR: counting sort by
 * destination, sources ascending within each destination, non-retaining
 * edges tagged with HS_IN_WEAK_BIT.  O(n + m). */
static void
build_reverse(struct hs_graph *g)
{
    uint32_t *cursor;

    g->in_off = hs_xcalloc((size_t)g->n + 1, sizeof(*g->in_off));
    g->in_src = hs_xmalloc(hs_st_mult(g->m ? g->m : 1, sizeof(uint32_t)));
    for (uint32_t e = 0; e < g->m; e++)
        g->in_off[g->out_dst[e] + 1]++;
    for (uint32_t v = 0; v < g->n; v++)
        g->in_off[v + 1] += g->in_off[v];
    cursor = hs_xmalloc(hs_st_mult((size_t)g->n + 1, sizeof(*cursor)));
    memcpy(cursor, g->in_off, ((size_t)g->n + 1) * sizeof(*cursor));
    for (uint32_t v = 0; v < g->n; v++) {
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            uint32_t slot = cursor[g->out_dst[e]]++;

            g->in_src[slot] =
                v | (hs_graph_retains(g, g->out_kind[e]) ? 0 : HS_IN_WEAK_BIT);
        }
    }
    free(cursor);
}

static int
root_cmp(const void *a, const void *b)
{
    const struct hs_root *x = a, *y = b;
    int cx = hs_root_class((enum hs_root_kind)x->kind);
    int cy = hs_root_class((enum hs_root_kind)y->kind);

    if (cx != cy)
        return cx < cy ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->row != y->row)
        return x->row < y->row ? -1 : 1;
    return 0;
}

struct hs_graph *
hs_graph_build(const struct hs_graph_spec *spec)
{
    struct hs_graph *g;
    uint32_t *cursor;

    if (spec->n >= HS_IN_WEAK_BIT)
        hs_die(HS_EXIT_INTERNAL, "hs_graph_build: %u nodes is too many",
               spec->n);
    g = graph_alloc(spec->n, spec->m);

    for (uint32_t e = 0; e < spec->m; e++)
        g->out_off[spec->src[e] + 1]++;
    for (uint32_t v = 0; v < spec->n; v++)
        g->out_off[v + 1] += g->out_off[v];
    cursor = hs_xmalloc(hs_st_mult((size_t)spec->n + 1, sizeof(*cursor)));
    memcpy(cursor, g->out_off, ((size_t)spec->n + 1) * sizeof(*cursor));
    for (uint32_t e = 0; e < spec->m; e++) {
        uint32_t slot = cursor[spec->src[e]]++;

        g->out_dst[slot] = spec->dst[e];
        g->out_kind[slot] = spec->kind ? spec->kind[e] : HS_EDGE_ATTR;
    }
    free(cursor);
    for (uint32_t v = 0; v < spec->n; v++) {
        g->size[v] = spec->size ? spec->size[v] : 1;
        g->address[v] = 0x1000 + (uint64_t)v * 16;
    }
    for (int k = 0; k < HS_EDGE_NKINDS; k++)
        g->retains[k] = k != HS_EDGE_WEAK;
    g->types = hs_xcalloc(1, sizeof(*g->types));
    g->types[0].name = hs_xstrdup("object");
    g->types[0].count = spec->n;
    g->ntypes = 1;
    g->roots = hs_xcalloc(spec->nroots ? spec->nroots : 1, sizeof(*g->roots));
    for (uint32_t i = 0; i < spec->nroots; i++) {
        g->roots[i].node = spec->roots[i];
        g->roots[i].kind =
            spec->root_kind ? spec->root_kind[i] : HS_ROOT_MODULE;
        g->roots[i].row = (int64_t)i + 1;
    }
    g->nroots = spec->nroots;
    qsort(g->roots, g->nroots, sizeof(*g->roots), root_cmp);
    build_reverse(g);
    return g;
}

/* ---- loading ------------------------------------------------------------------ */

static int
bad_snapshot(struct hs_graph *g, const char *what)
{
    return hs_error(HS_EXIT_SNAPSHOT, "'%s' is not a valid snapshot: %s",
                    hs_snapshot_path(g->snap), what);
}

static int
load_kinds(struct hs_graph *g)
{
    struct hs_query *q;
    int rc;

    for (int k = 0; k < HS_EDGE_NKINDS; k++)
        g->retains[k] = 1;
    q = hs_query_prepare(g->snap, "SELECT id, retains FROM edge_kinds");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 0);

        if (id >= 0 && id < HS_EDGE_NKINDS)
            g->retains[id] = hs_query_int(q, 1) != 0;
    }
    hs_query_free(q);
    return rc;
}

static char *
dup_text(struct hs_query *q, int col)
{
    const char *t = hs_query_text(q, col);

    return t ? hs_xstrdup(t) : NULL;
}

/* Loads types; fills *type_of_node (n entries, UINT32_MAX = not a type). */
static int
load_types(struct hs_graph *g, uint32_t **type_of_node)
{
    struct hs_query *q;
    size_t alloc = 0;
    int rc;

    *type_of_node = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(uint32_t)));
    memset(*type_of_node, 0xFF, (size_t)g->n * sizeof(uint32_t));
    q = hs_query_prepare(g->snap, "SELECT id, name, module, qualname, flags "
                                  "FROM types ORDER BY id");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 0);
        struct hs_type *t;

        if (id < 1 || id > (int64_t)g->n) {
            hs_query_free(q);
            return bad_snapshot(g, "a type is not an object");
        }
        HS_ALLOC_GROW(g->types, (size_t)g->ntypes + 1, alloc);
        t = &g->types[g->ntypes];
        memset(t, 0, sizeof(*t));
        t->node = (uint32_t)(id - 1);
        t->name = dup_text(q, 1);
        t->module = dup_text(q, 2);
        t->qualname = dup_text(q, 3);
        t->flags = (uint32_t)hs_query_int(q, 4);
        if (!t->name)
            t->name = hs_xstrdup("?");
        (*type_of_node)[id - 1] = g->ntypes++;
    }
    hs_query_free(q);
    return rc;
}

/* Per-type instance counts and bytes, from g->type and g->size. */
static void
count_types(struct hs_graph *g)
{
    for (uint32_t v = 0; v < g->n; v++) {
        g->types[g->type[v]].count++;
        g->types[g->type[v]].bytes += g->size[v];
    }
}

static int
load_objects(struct hs_graph *g, const uint32_t *type_of_node)
{
    struct hs_query *q;
    struct hs_progress prog;
    uint32_t v = 0;
    int rc;

    q = hs_query_prepare(g->snap, "SELECT id, address, type_id, size, flags "
                                  "FROM objects ORDER BY id");
    if (!q)
        return -1;
    hs_progress_start(&prog, "loading objects", g->n);
    while ((rc = hs_query_step(q)) == 1) {
        int64_t type_id = hs_query_int(q, 2);
        uint32_t t;

        if (v >= g->n || hs_query_int(q, 0) != (int64_t)v + 1) {
            hs_query_free(q);
            return bad_snapshot(g, "object ids are not 1..N");
        }
        if (type_id < 1 || type_id > (int64_t)g->n ||
            (t = type_of_node[type_id - 1]) == UINT32_MAX) {
            hs_query_free(q);
            return bad_snapshot(g, "an object's type is missing");
        }
        g->address[v] = (uint64_t)hs_query_int(q, 1);
        g->size[v] = (uint64_t)hs_query_int(q, 3);
        g->flags[v] = (uint32_t)hs_query_int(q, 4);
        g->type[v] = t;
        g->types[t].count++;
        g->types[t].bytes += g->size[v];
        hs_progress_tick(&prog, ++v);
    }
    hs_progress_end(&prog);
    hs_query_free(q);
    if (rc == 0 && v != g->n)
        return bad_snapshot(g, "object ids are not 1..N");
    return rc;
}

struct raw_edge {
    uint32_t src, dst;
    int64_t row;
    uint8_t kind;
};

static int
raw_edge_cmp(const void *a, const void *b)
{
    const struct raw_edge *x = a, *y = b;

    if (x->src != y->src)
        return x->src < y->src ? -1 : 1;
    return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * Reads edge_list in rowid order straight into the forward CSR.  A file
 * whose rows are not in src order (not written by the agent) switches to a
 * slower path: the edges are collected, sorted by source, and each edge's
 * rowid is remembered in edge_row.  When `arg` is not NULL, each edge's
 * edge_list.arg (0 for NULL) goes there, for the cache; in file order
 * only (an out-of-order file gets no cache).
 */
static int
load_edges(struct hs_graph *g, uint32_t *arg)
{
    struct hs_query *q;
    struct hs_progress prog;
    struct raw_edge *raw = NULL; /* only once the order broke */
    int64_t *rows = NULL;        /* rowid per edge, while rowids are sparse */
    uint32_t e = 0, last_src = 0;
    int rc;

    q = hs_query_prepare(g->snap, "SELECT rowid, src, dst, kind, arg FROM "
                                  "edge_list ORDER BY rowid");
    if (!q)
        return -1;
    hs_progress_start(&prog, "loading references", g->m);
    while ((rc = hs_query_step(q)) == 1) {
        int64_t row = hs_query_int(q, 0), src = hs_query_int(q, 1);
        int64_t dst = hs_query_int(q, 2), kind = hs_query_int(q, 3);
        uint32_t s0 = (uint32_t)(src - 1);

        if (e >= g->m || src < 1 || src > (int64_t)g->n || dst < 1 ||
            dst > (int64_t)g->n || kind < 0 || kind >= HS_EDGE_NKINDS) {
            hs_query_free(q);
            free(raw);
            free(rows);
            return bad_snapshot(g, "a reference names a missing object or "
                                   "kind");
        }
        if (!rows && row != (int64_t)e + 1) {
            rows = hs_xmalloc(hs_st_mult(g->m, sizeof(*rows)));
            for (uint32_t i = 0; i < e; i++)
                rows[i] = (int64_t)i + 1;
        }
        if (rows)
            rows[e] = row;
        if (!raw && s0 < last_src) {
            /* Out of src order: move what was read so far to raw. */
            raw = hs_xmalloc(hs_st_mult(g->m, sizeof(*raw)));
            for (uint32_t i = 0; i < e; i++) {
                raw[i].dst = g->out_dst[i];
                raw[i].kind = g->out_kind[i];
            }
            /* Sources: recover from the per-source counts so far. */
            for (uint32_t src_v = 0, i = 0; src_v < g->n && i < e; src_v++)
                for (uint32_t c = 0; c < g->out_off[src_v + 1]; c++)
                    raw[i++].src = src_v;
        }
        if (raw) {
            raw[e].src = s0;
            raw[e].dst = (uint32_t)(dst - 1);
            raw[e].kind = (uint8_t)kind;
        } else {
            g->out_off[s0 + 1]++;
            g->out_dst[e] = (uint32_t)(dst - 1);
            g->out_kind[e] = (uint8_t)kind;
            last_src = s0;
            if (arg)
                arg[e] = (uint32_t)hs_query_int(q, 4);
        }
        e++;
        hs_progress_tick(&prog, e);
    }
    hs_progress_end(&prog);
    hs_query_free(q);
    if (rc < 0 || e != g->m) {
        free(raw);
        free(rows);
        return rc < 0 ? -1 : bad_snapshot(g, "edge_list changed while "
                                             "reading");
    }
    if (raw) {
        for (uint32_t i = 0; i < e; i++)
            raw[i].row = rows ? rows[i] : (int64_t)i + 1;
        qsort(raw, e, sizeof(*raw), raw_edge_cmp);
        memset(g->out_off, 0, ((size_t)g->n + 1) * sizeof(*g->out_off));
        if (!rows)
            rows = hs_xmalloc(hs_st_mult(e ? e : 1, sizeof(*rows)));
        for (uint32_t i = 0; i < e; i++) {
            g->out_off[raw[i].src + 1]++;
            g->out_dst[i] = raw[i].dst;
            g->out_kind[i] = raw[i].kind;
            rows[i] = raw[i].row;
        }
        free(raw);
    }
    g->edge_row = rows;
    for (uint32_t v = 0; v < g->n; v++)
        g->out_off[v + 1] += g->out_off[v];
    return 0;
}

static int
load_roots(struct hs_graph *g)
{
    struct hs_query *q;
    size_t alloc = 0;
    int rc;

    q = hs_query_prepare(g->snap,
                         "SELECT rowid, object_id, kind FROM roots");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 1);
        struct hs_root *r;

        if (id < 1 || id > (int64_t)g->n) {
            hs_query_free(q);
            return bad_snapshot(g, "a root names a missing object");
        }
        HS_ALLOC_GROW(g->roots, (size_t)g->nroots + 1, alloc);
        r = &g->roots[g->nroots++];
        r->row = hs_query_int(q, 0);
        r->node = (uint32_t)(id - 1);
        r->kind = (uint8_t)hs_root_kind_parse(hs_query_text(q, 2));
    }
    hs_query_free(q);
    if (rc == 0 && g->nroots) /* qsort(NULL, 0) is undefined */
        qsort(g->roots, g->nroots, sizeof(*g->roots), root_cmp);
    return rc;
}

struct hs_graph *
hs_graph_load(struct hs_snapshot *s)
{
    struct hs_graph *g;
    uint32_t *type_of_node = NULL, *arg = NULL;
    int64_t n, maxid, m;
    int cached = 0;

    n = hs_snapshot_int(s, "SELECT count(*) FROM objects", -1);
    maxid = hs_snapshot_int(s, "SELECT max(id) FROM objects", 0);
    m = hs_snapshot_int(s, "SELECT count(*) FROM edge_list", -1);
    if (n < 0 || m < 0)
        return NULL;
    if (n >= (int64_t)HS_IN_WEAK_BIT || m >= UINT32_MAX) {
        hs_error(HS_EXIT_INTERNAL,
                 "'%s' is too big for this heapsnap (%lld objects, %lld "
                 "references; the limits are 2^31 and 2^32)",
                 hs_snapshot_path(s), (long long)n, (long long)m);
        return NULL;
    }
    g = graph_alloc((uint32_t)n, (uint32_t)m);
    g->snap = s;
    if (maxid != n) {
        bad_snapshot(g, "object ids are not 1..N");
        goto fail;
    }
    if (load_kinds(g) < 0 || load_types(g, &type_of_node) < 0 ||
        (cached = hs_graph_cache_load(g)) < 0)
        goto fail;
    if (cached) {
        count_types(g);
    } else {
        memset(g->out_off, 0, ((size_t)g->n + 1) * sizeof(*g->out_off));
        /* The labels' args are read only to be stored with the cache. */
        if (hs_snapshot_writable(s))
            arg = hs_xcalloc((size_t)g->m + 1, sizeof(*arg));
        if (load_objects(g, type_of_node) < 0 || load_edges(g, arg) < 0)
            goto fail;
    }
    if (load_roots(g) < 0)
        goto fail;
    free(type_of_node);
    /* Stored after a load from the tables, for the next command.  A file
     * whose references are not in src order (edge_row) is not cached. */
    if (!cached && !g->edge_row) {
        if (!hs_snapshot_writable(s))
            hs_snapshot_note_readonly(s);
        else if (hs_graph_cache_store(g, arg) < 0)
            hs_warn("the graph cache is not stored in '%s' (%s); the "
                    "next command reads the tables again",
                    hs_snapshot_path(s), hs_snapshot_store_error(s));
    }
    free(arg);
    build_reverse(g);
    return g;
fail:
    free(arg);
    free(type_of_node);
    hs_graph_free(g);
    return NULL;
}

void
hs_graph_free(struct hs_graph *g)
{
    if (!g)
        return;
    free(g->address);
    free(g->size);
    free(g->type);
    free(g->flags);
    free(g->out_off);
    free(g->out_dst);
    free(g->out_kind);
    free(g->in_off);
    free(g->in_src);
    free(g->edge_row);
    for (uint32_t i = 0; i < g->ntypes; i++) {
        free(g->types[i].name);
        free(g->types[i].module);
        free(g->types[i].qualname);
    }
    free(g->types);
    free(g->roots);
    free(g->addr_sorted);
    free(g->addr_node);
    free(g);
}

/* ---- lookups ------------------------------------------------------------------ */

uint32_t
hs_graph_edge_src(const struct hs_graph *g, uint32_t e)
{
    uint32_t lo = 0, hi = g->n;

    /* The last v with out_off[v] <= e. */
    while (hi - lo > 1) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (g->out_off[mid] <= e)
            lo = mid;
        else
            hi = mid;
    }
    while (lo + 1 < g->n && g->out_off[lo + 1] <= e)
        lo++;
    return lo;
}

int64_t
hs_graph_node_of_id(const struct hs_graph *g, int64_t object_id)
{
    if (object_id < 1 || object_id > (int64_t)g->n)
        return -1;
    return object_id - 1;
}

int
hs_graph_each_in_edge(const struct hs_graph *g, uint32_t v,
                      int (*fn)(uint32_t src, uint32_t e, void *arg),
                      void *arg)
{
    uint32_t prev = UINT32_MAX;

    for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++) {
        uint32_t src = hs_graph_in_src(g, i);

        if (src == prev)
            continue;
        prev = src;
        for (uint32_t e = g->out_off[src]; e < g->out_off[src + 1]; e++) {
            if (g->out_dst[e] == v) {
                int rc = fn(src, e, arg);

                if (rc)
                    return rc;
            }
        }
    }
    return 0;
}

/* Sorts node indices by address: a heap sort, O(n log n), no recursion. */
static void
sort_by_address(uint64_t *key, uint32_t *val, uint32_t n)
{
    for (uint32_t start = n / 2; n > 1;) {
        uint32_t root, child;

        if (start > 0) {
            start--;
        } else {
            n--;
            uint64_t tk = key[0];
            uint32_t tv = val[0];
            key[0] = key[n];
            val[0] = val[n];
            key[n] = tk;
            val[n] = tv;
        }
        root = start;
        while ((child = 2 * root + 1) < n) {
            if (child + 1 < n && key[child + 1] > key[child])
                child++;
            if (key[root] >= key[child])
                break;
            uint64_t tk = key[root];
            uint32_t tv = val[root];
            key[root] = key[child];
            val[root] = val[child];
            key[child] = tk;
            val[child] = tv;
            root = child;
        }
    }
}

int64_t
hs_graph_node_of_address(struct hs_graph *g, uint64_t addr)
{
    uint32_t lo = 0, hi;

    /* One lookup (the usual command) scans: O(n) beats sorting. */
    if (!g->addr_sorted && !g->addr_lookups++) {
        for (uint32_t v = 0; v < g->n; v++) {
            if (g->address[v] == addr)
                return v;
        }
        return -1;
    }
    if (!g->addr_sorted) {
        g->addr_sorted = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, 8));
        g->addr_node = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, 4));
        for (uint32_t v = 0; v < g->n; v++) {
            g->addr_sorted[v] = g->address[v];
            g->addr_node[v] = v;
        }
        sort_by_address(g->addr_sorted, g->addr_node, g->n);
    }
    hi = g->n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (g->addr_sorted[mid] < addr)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < g->n && g->addr_sorted[lo] == addr)
        return g->addr_node[lo];
    return -1;
}

/* ---- edge names, read on demand -------------------------------------- */

/* Orders edges by rowid so that the snapshot is read front to back. */
struct row_edge {
    int64_t row;   /* edge_list rowid */
    uint32_t slot; /* index in the caller's edges */
};

static int
row_edge_cmp(const void *a, const void *b)
{
    const struct row_edge *x = a, *y = b;

    return x->row < y->row ? -1 : x->row > y->row;
}

/*
 * One rowid lookup costs as much as scanning this many rows: measured on
 * a 1M-object snapshot (2.4M edges, file in the OS cache), 13.5 us per
 * sorted lookup against 75 ns per row of an ordered scan.  Rounded down,
 * since a scan also starts at the first edge needed and stops after the
 * last.
 */
#define EDGE_SCAN_RATIO 128

int
hs_graph_edge_args(const struct hs_graph *g, const uint32_t *edges,
                   uint32_t n, uint32_t *arg)
{
    struct row_edge *order;
    struct hs_query *q;
    int rc = 0;

    if (!n || !g->snap)
        return 0;
    order = hs_xmalloc(hs_st_mult(n, sizeof(*order)));
    for (uint32_t i = 0; i < n; i++) {
        order[i].row = hs_graph_edge_row(g, edges[i]);
        order[i].slot = i;
    }
    if (g->edge_row)
        qsort(order, n, sizeof(*order), row_edge_cmp);
    if ((uint64_t)n * EDGE_SCAN_RATIO < g->m) {
        q = hs_query_prepare(g->snap,
                             "SELECT arg FROM edge_list WHERE rowid = ?1");
        for (uint32_t i = 0; q && i < n && rc >= 0; i++) {
            hs_query_reset(q);
            rc = hs_query_bind_int(q, 1, order[i].row);
            if (rc >= 0)
                rc = hs_query_step(q);
            if (rc == 1 && !hs_query_is_null(q, 0))
                arg[order[i].slot] = (uint32_t)hs_query_int(q, 0);
        }
    } else {
        uint32_t i = 0;

        q = hs_query_prepare(g->snap, "SELECT rowid, arg FROM edge_list "
                                      "WHERE rowid >= ?1 ORDER BY rowid");
        if (q)
            rc = hs_query_bind_int(q, 1, order[0].row);
        while (q && rc >= 0 && i < n && (rc = hs_query_step(q)) == 1) {
            int64_t row = hs_query_int(q, 0);

            while (i < n && order[i].row < row)
                i++;
            if (i < n && order[i].row == row && !hs_query_is_null(q, 1))
                arg[order[i].slot] = (uint32_t)hs_query_int(q, 1);
        }
    }
    if (!q)
        rc = -1;
    hs_query_free(q);
    free(order);
    return rc < 0 ? -1 : 0;
}

int
hs_graph_name_ids(const struct hs_graph *g, const char *const *texts,
                  uint32_t n, uint32_t *ids)
{
    struct hs_buf sql = HS_BUF_INIT;
    struct hs_query *q;
    int rc = 0;

    for (uint32_t i = 0; i < n; i++)
        ids[i] = 0;
    if (!g->snap || !n)
        return 0;
    hs_buf_adds(&sql, "SELECT id, text FROM names WHERE text IN (");
    for (uint32_t i = 0; i < n; i++)
        hs_buf_addf(&sql, "%s?%u", i ? ", " : "", i + 1);
    hs_buf_adds(&sql, ") ORDER BY id");
    q = hs_query_prepare(g->snap, sql.buf);
    hs_buf_release(&sql);
    if (!q)
        return -1;
    for (uint32_t i = 0; i < n && rc >= 0; i++)
        rc = hs_query_bind_text(q, (int)i + 1, texts[i]);
    /* The first id of a text wins, as a lookup of it alone answers. */
    while (rc >= 0 && (rc = hs_query_step(q)) == 1) {
        const char *text = hs_query_text(q, 1);

        for (uint32_t i = 0; text && i < n; i++)
            if (!ids[i] && !strcmp(text, texts[i]))
                ids[i] = (uint32_t)hs_query_int(q, 0);
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

int
hs_graph_name_id(const struct hs_graph *g, const char *text, uint32_t *id)
{
    return hs_graph_name_ids(g, &text, 1, id);
}

int64_t
hs_graph_find_value(const struct hs_graph *g, const char *value,
                    const char *value2,
                    int (*accept)(const struct hs_graph *g, uint32_t v))
{
    struct hs_query *q;
    int64_t found = -1;

    if (!g->snap)
        return -1;
    q = hs_query_prepare(g->snap, "SELECT id FROM objects WHERE value = ?1 "
                                  "OR value = ?2 ORDER BY id");
    if (!q)
        return -1;
    if (hs_query_bind_text(q, 1, value) < 0 ||
        hs_query_bind_text(q, 2, value2) < 0) {
        hs_query_free(q);
        return -1;
    }
    while (found < 0 && hs_query_step(q) == 1) {
        int64_t node = hs_graph_node_of_id(g, hs_query_int(q, 0));

        if (node >= 0 && accept(g, (uint32_t)node))
            found = node;
    }
    hs_query_free(q);
    return found;
}
