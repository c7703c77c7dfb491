/*
 * memory_account.h: reconciles a process's RSS with what its snapshot
 * explains.  The agent records the memory figures in meta at dump time
 * (agent/memory_facts.c; schema/heapsnap.sql names the keys); this splits
 * RSS into parts that add up exactly:
 *
 *   rss = objects + pymalloc_free + malloc_free + file_backed + unexplained
 *
 * objects: the sum of the objects' sizes; pymalloc_free: arena bytes not in
 * allocated blocks (fragmentation); malloc_free: free bytes inside malloc's
 * heap; file_backed: resident pages of the executable, libraries and
 * mapped files; unexplained: the rest (C buffers no object counts,
 * interpreter structures, thread stacks, shared memory, other
 * allocators), negative when counted bytes are not resident.  A part whose source was not recorded
 * is unknown and counts as 0 in the sum (so it ends up in unexplained).
 */
#ifndef HS_MEMORY_ACCOUNT_H
#define HS_MEMORY_ACCOUNT_H

#include "render_json.h"
#include "render_text.h"
#include "summary.h"

#include <stdint.h>

#define HS_MEM_UNKNOWN INT64_MIN /* a figure not recorded in the snapshot */

struct hs_memory_account {
    int64_t rss, rss_peak;        /* VmRSS and VmHWM at dump time */
    int64_t objects;              /* sum of objects.size */
    int64_t pymalloc_free;        /* arena bytes - used bytes */
    int64_t malloc_free;          /* mallinfo2 fordblks */
    int64_t file_backed;          /* RssFile */
    int64_t unexplained;          /* rss minus the four parts above */
    int64_t pymalloc_arenas;      /* arenas allocated */
    int64_t pymalloc_arena_bytes; /* their bytes */
    int64_t pymalloc_used;        /* bytes in allocated blocks */
    int64_t malloc_heap;          /* bytes malloc took from the system */
    int64_t malloc_used;          /* bytes in use in it */
    int64_t traced;               /* tracemalloc's traced total */
    int64_t outside_objects;      /* allocators' used bytes - objects */
    int64_t outside_allocators;   /* RssAnon + RssShmem - arenas -
                                     malloc heap */
    int64_t pymalloc_rounding;    /* of outside_objects: small objects'
                                     sizes rounded up to pymalloc's
                                     16-byte blocks (64-bit builds) */
    int64_t static_objects;       /* objects in no allocator (static) */
    int warn;                     /* unexplained > rss / 4, with the
                                     file-backed and malloc figures known */
};

/* Fills `acc` from the summary's meta and totals; every figure may be
 * HS_MEM_UNKNOWN (a snapshot from an older agent has only rss).  Returns
 * 0, or -1 when not even RSS was recorded (nothing to reconcile). */
int hs_memory_account(const struct hs_summary *sum,
                      struct hs_memory_account *acc);

/* The "memory" object of `info --json`: every figure, null when unknown. */
struct hs_json *hs_memory_account_json(const struct hs_memory_account *acc);

/* Rows of `info`'s table (two columns), first one labelled "memory". */
void hs_memory_account_rows(const struct hs_memory_account *acc,
                            struct hs_table *t);

/* The warning line ("warning: ..."), or NULL when there is none.  Owned
 * by the caller (free()). */
char *hs_memory_account_warning(const struct hs_memory_account *acc);

#endif /* HS_MEMORY_ACCOUNT_H */
