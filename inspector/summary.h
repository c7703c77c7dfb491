/*
 * summary.h: what `heapsnap info` reports about a snapshot: its metadata,
 * totals, roots by kind, threads and which derived tables it carries.
 * Built by plain SQL aggregates; no graph is loaded.
 */
#ifndef HS_SUMMARY_H
#define HS_SUMMARY_H

#include "snapshot.h"

struct hs_kv {
    char *key;   /* meta key or root kind */
    char *value; /* meta value as text; NULL for SQL NULL */
    int64_t n;   /* count (root kinds) */
};

struct hs_thread_info {
    int64_t id;        /* threads.id */
    int64_t ident;     /* threading.get_ident() */
    int64_t native_id; /* OS thread id, or -1 */
    char *name;        /* thread name or NULL */
    int is_main;       /* 1 for the main thread */
    int is_dumper;     /* 1 for the thread that ran the dump */
    int64_t frames;    /* frames on its stack */
    char *where;       /* innermost frame "function (file:line)", or NULL */
};

struct hs_summary {
    char *path;               /* snapshot file */
    int64_t file_bytes;       /* its size on disk */
    int format;               /* user_version */
    struct hs_kv *meta;       /* every meta row, by key */
    size_t nmeta;
    int64_t objects;          /* rows of objects */
    int64_t edges;            /* rows of edge_list */
    int64_t types;            /* rows of types */
    int64_t names;            /* rows of names */
    int64_t roots;            /* rows of roots */
    int64_t bytes;            /* sum of shallow sizes */
    int64_t unreachable;      /* objects flagged unreachable */
    int64_t unreachable_bytes;
    int64_t small_rounding_bytes; /* objects of 512 bytes or less, not
                                     static: their sizes rounded up to 16
                                     (pymalloc's blocks) minus the sizes */
    int64_t static_bytes;     /* sizes of statically allocated objects */
    struct hs_kv *root_kinds; /* roots per kind, most first */
    size_t nroot_kinds;
    struct hs_thread_info *threads;
    size_t nthreads;
    int64_t reported;         /* rows of reported_sizes (0 if absent) */
    int64_t reported_bytes;   /* their sum of reported sizes */
    int64_t reported_own;     /* the same objects' objects.size */
    int has_retained;         /* the retained table is present */
    int64_t graph_cache_bytes; /* size of the graph cache, -1 if absent */
};

/* Fills `out` from `s`; 0, or -1 after an error. */
int hs_summary_load(struct hs_snapshot *s, struct hs_summary *out);

/* The meta value of `key`, or NULL. */
const char *hs_summary_meta(const struct hs_summary *sum, const char *key);

void hs_summary_release(struct hs_summary *sum);

#endif /* HS_SUMMARY_H */
