/*
 * summary.c: the aggregates behind `heapsnap info` (summary.h).  Each total
 * is one SQL query over the snapshot; the cost is a scan of objects and a
 * count of edge_list, which SQLite does without reading edge payloads.
 */
#include "summary.h"

#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static int
load_meta(struct hs_snapshot *s, struct hs_summary *out)
{
    struct hs_query *q;
    size_t alloc = 0;
    int rc;

    /* A key is NOT NULL in the schema; a crafted file's NULL is skipped. */
    q = hs_query_prepare(s, "SELECT key, value FROM meta WHERE key IS NOT "
                            "NULL ORDER BY key");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        struct hs_kv *kv;
        const char *v = hs_query_text(q, 1);

        HS_ALLOC_GROW(out->meta, out->nmeta + 1, alloc);
        kv = &out->meta[out->nmeta++];
        kv->key = hs_xstrdup(hs_query_text(q, 0));
        kv->value = v ? hs_xstrdup(v) : NULL;
        kv->n = 0;
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

static int
load_root_kinds(struct hs_snapshot *s, struct hs_summary *out)
{
    struct hs_query *q;
    size_t alloc = 0;
    int rc;

    /* A NULL kind (a crafted file) counts as 'other', as the graph does. */
    q = hs_query_prepare(s, "SELECT coalesce(kind, 'other'), count(*) FROM "
                            "roots GROUP BY 1 ORDER BY 2 DESC, 1");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        struct hs_kv *kv;

        HS_ALLOC_GROW(out->root_kinds, out->nroot_kinds + 1, alloc);
        kv = &out->root_kinds[out->nroot_kinds++];
        kv->key = hs_xstrdup(hs_query_text(q, 0));
        kv->value = NULL;
        kv->n = hs_query_int(q, 1);
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

static int
load_threads(struct hs_snapshot *s, struct hs_summary *out)
{
    struct hs_query *q;
    size_t alloc = 0;
    int rc;

    if (!hs_snapshot_has_table(s, "threads"))
        return 0;
    q = hs_query_prepare(
        s, "SELECT t.id, t.ident, t.native_id, t.name, t.is_main, "
           "t.is_dumper, (SELECT count(*) FROM frames f WHERE "
           "f.thread_id = t.id), (SELECT f.function || ' (' || f.file || "
           "':' || f.line || ')' FROM frames f WHERE f.thread_id = t.id "
           "ORDER BY f.depth LIMIT 1) FROM threads t ORDER BY t.is_main "
           "DESC, t.id");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        struct hs_thread_info *t;
        const char *name = hs_query_text(q, 3);
        const char *where = hs_query_text(q, 7);

        HS_ALLOC_GROW(out->threads, out->nthreads + 1, alloc);
        t = &out->threads[out->nthreads++];
        t->id = hs_query_int(q, 0);
        t->ident = hs_query_int(q, 1);
        t->native_id = hs_query_is_null(q, 2) ? -1 : hs_query_int(q, 2);
        t->name = name ? hs_xstrdup(name) : NULL;
        t->is_main = (int)hs_query_int(q, 4);
        t->is_dumper = (int)hs_query_int(q, 5);
        t->frames = hs_query_int(q, 6);
        t->where = where ? hs_xstrdup(where) : NULL;
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

int
hs_summary_load(struct hs_snapshot *s, struct hs_summary *out)
{
    struct stat st;
    struct hs_query *q;

    memset(out, 0, sizeof(*out));
    out->path = hs_xstrdup(hs_snapshot_path(s));
    out->file_bytes = stat(out->path, &st) ? -1 : (int64_t)st.st_size;
    out->format = (int)hs_snapshot_int(s, "PRAGMA user_version", 0);
    if (load_meta(s, out) < 0)
        return -1;
    /* Small objects live in pymalloc's 16-byte size classes (3.8+, 64-bit;
     * 512 bytes at most); static ones in no allocator at all. */
    q = hs_query_prepare(s, "SELECT count(*), total(size), "
                            "count(CASE WHEN flags & 16 THEN 1 END), "
                            "total(CASE WHEN flags & 16 THEN size END), "
                            "total(CASE WHEN size <= 512 AND NOT flags & 4 "
                            "THEN (size + 15) / 16 * 16 - size END), "
                            "total(CASE WHEN flags & 4 THEN size END) "
                            "FROM objects");
    if (!q)
        return -1;
    if (hs_query_step(q) != 1) {
        hs_query_free(q);
        return -1;
    }
    out->objects = hs_query_int(q, 0);
    out->bytes = (int64_t)hs_query_double(q, 1);
    out->unreachable = hs_query_int(q, 2);
    out->unreachable_bytes = (int64_t)hs_query_double(q, 3);
    out->small_rounding_bytes = (int64_t)hs_query_double(q, 4);
    out->static_bytes = (int64_t)hs_query_double(q, 5);
    hs_query_free(q);
    out->edges = hs_snapshot_int(s, "SELECT count(*) FROM edge_list", 0);
    out->types = hs_snapshot_int(s, "SELECT count(*) FROM types", 0);
    out->names = hs_snapshot_int(s, "SELECT count(*) FROM names", 0);
    out->roots = hs_snapshot_int(s, "SELECT count(*) FROM roots", 0);
    if (load_root_kinds(s, out) < 0 || load_threads(s, out) < 0)
        return -1;
    if (hs_snapshot_has_table(s, "reported_sizes")) {
        q = hs_query_prepare(s, "SELECT count(*), total(r.size), "
                                "total(o.size) FROM reported_sizes r "
                                "JOIN objects o ON o.id = r.object_id");
        if (!q)
            return -1;
        if (hs_query_step(q) == 1) {
            out->reported = hs_query_int(q, 0);
            out->reported_bytes = (int64_t)hs_query_double(q, 1);
            out->reported_own = (int64_t)hs_query_double(q, 2);
        }
        hs_query_free(q);
    }
    out->has_retained = hs_snapshot_has_table(s, "retained");
    out->graph_cache_bytes =
        hs_snapshot_has_table(s, "graph_cache")
            ? hs_derived_meta_int(s, "derived_graph_cache", "bytes")
            : -1;
    return 0;
}

const char *
hs_summary_meta(const struct hs_summary *sum, const char *key)
{
    for (size_t i = 0; i < sum->nmeta; i++) {
        if (!strcmp(sum->meta[i].key, key))
            return sum->meta[i].value;
    }
    return NULL;
}

void
hs_summary_release(struct hs_summary *sum)
{
    for (size_t i = 0; i < sum->nmeta; i++) {
        free(sum->meta[i].key);
        free(sum->meta[i].value);
    }
    for (size_t i = 0; i < sum->nroot_kinds; i++)
        free(sum->root_kinds[i].key);
    for (size_t i = 0; i < sum->nthreads; i++) {
        free(sum->threads[i].name);
        free(sum->threads[i].where);
    }
    free(sum->meta);
    free(sum->root_kinds);
    free(sum->threads);
    free(sum->path);
    memset(sum, 0, sizeof(*sum));
}
