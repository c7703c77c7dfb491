/*
 * report_info.c: the answer of `info` (report.h) as JSON: where the
 * snapshot came from and its totals, from a loaded summary (summary.h).
 * The command prints the summary as text itself; --json and the server's
 * /api/info take the document built here.  Nothing here prints.
 */
#include "report.h"
#include "memory_account.h"

#include <stdlib.h>
#include <string.h>

/* Meta keys shown as JSON numbers rather than strings. */
static int
numeric_key(const char *key)
{
    static const char *const keys[] = {
        "pid", "created_unix", "rss_bytes", "rss_peak_bytes",
        "rss_anon_bytes", "rss_file_bytes", "rss_shmem_bytes",
        "pymalloc_arenas", "pymalloc_arena_bytes", "pymalloc_used_bytes",
        "malloc_heap_bytes", "malloc_used_bytes", "malloc_free_bytes",
        "tracemalloc_traced_bytes", "gc_enabled", "gc_collected",
        "redacted", "value_limit", "pointer_size", "page_size",
        "object_count",
        "edge_count", "root_count", "dump_seconds", "walk_seconds",
        "output_thread", "format_version",
    };

    for (size_t i = 0; i < HS_ARRAY_SIZE(keys); i++) {
        if (!strcmp(keys[i], key))
            return 1;
    }
    return 0;
}

/* Meta keys whose values are JSON documents (argv, gc_counts, ...). */
static int
json_key(const char *key)
{
    return !strcmp(key, "argv") || !strcmp(key, "gc_thresholds") ||
           !strcmp(key, "gc_counts") || !strcmp(key, "gc_collections");
}

struct hs_json *
hs_info_json(const struct hs_summary *sum)
{
    struct hs_json *root = hs_json_object();
    struct hs_json *meta = hs_json_object();
    struct hs_json *totals = hs_json_object();
    struct hs_json *roots = hs_json_object();
    struct hs_json *threads = hs_json_array();
    struct hs_json *derived = hs_json_object();
    struct hs_memory_account acc;

    hs_json_set_str(root, "file", sum->path);
    hs_json_set_int(root, "file_bytes", sum->file_bytes);
    hs_json_set_int(root, "format", sum->format);
    for (size_t i = 0; i < sum->nmeta; i++) {
        const struct hs_kv *kv = &sum->meta[i];

        if (kv->value && numeric_key(kv->key))
            hs_json_set_num(meta, kv->key, strtod(kv->value, NULL));
        else if (kv->value && json_key(kv->key))
            hs_json_set(meta, kv->key, hs_json_str(kv->value));
        else
            hs_json_set_str(meta, kv->key, kv->value);
    }
    hs_json_set(root, "meta", meta);
    hs_json_set_int(totals, "objects", sum->objects);
    hs_json_set_int(totals, "edges", sum->edges);
    hs_json_set_int(totals, "bytes", sum->bytes);
    hs_json_set_int(totals, "types", sum->types);
    hs_json_set_int(totals, "names", sum->names);
    hs_json_set_int(totals, "roots", sum->roots);
    hs_json_set_int(totals, "unreachable_objects", sum->unreachable);
    hs_json_set_int(totals, "unreachable_bytes", sum->unreachable_bytes);
    hs_json_set_int(totals, "reported_size_objects", sum->reported);
    hs_json_set_int(totals, "reported_size_bytes", sum->reported_bytes);
    hs_json_set(root, "totals", totals);
    for (size_t i = 0; i < sum->nroot_kinds; i++)
        hs_json_set_int(roots, sum->root_kinds[i].key, sum->root_kinds[i].n);
    hs_json_set(root, "roots_by_kind", roots);
    for (size_t i = 0; i < sum->nthreads; i++) {
        const struct hs_thread_info *t = &sum->threads[i];
        struct hs_json *jt = hs_json_object();

        hs_json_set_int(jt, "id", t->id);
        hs_json_set_int(jt, "ident", t->ident);
        if (t->native_id >= 0)
            hs_json_set_int(jt, "native_id", t->native_id);
        else
            hs_json_set_null(jt, "native_id");
        hs_json_set_str(jt, "name", t->name);
        hs_json_set_bool(jt, "is_main", t->is_main);
        hs_json_set_bool(jt, "is_dumper", t->is_dumper);
        hs_json_set_int(jt, "frames", t->frames);
        hs_json_set_str(jt, "innermost", t->where);
        hs_json_push(threads, jt);
    }
    hs_json_set(root, "threads", threads);
    hs_json_set_bool(derived, "retained", sum->has_retained);
    if (sum->graph_cache_bytes >= 0)
        hs_json_set_int(derived, "graph_cache_bytes", sum->graph_cache_bytes);
    else
        hs_json_set_null(derived, "graph_cache_bytes");
    hs_json_set(root, "derived", derived);
    if (hs_memory_account(sum, &acc) == 0)
        hs_json_set(root, "memory", hs_memory_account_json(&acc));
    else
        hs_json_set_null(root, "memory");
    return root;
}
