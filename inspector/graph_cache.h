/*
 * graph_cache.h: the derived table `graph_cache` of schema/derived.sql:
 * the per-object and per-reference arrays of struct hs_graph stored as
 * blobs, so that loading a snapshot the second time costs a few large
 * reads instead of a SQLite row per object and per reference.
 *
 * graph.c is the only caller: hs_graph_load() tries the cache first and
 * stores it after a load from the tables when the snapshot is writable.
 * The cache is trusted only when its meta row has our format, byte order
 * and the snapshot's object, reference and type counts, and every array
 * has its exact length and values in range; anything else is ignored and
 * rebuilt.
 */
#ifndef HS_GRAPH_CACHE_H
#define HS_GRAPH_CACHE_H

#include "graph.h"

/* Version of the `graph_cache` section of derived.sql; stored in meta. */
#define HS_GRAPH_CACHE_FORMAT 1

/* The largest part an array is cut into when stored: 16 MiB (tests lower
 * it to exercise many parts on small graphs). */
extern size_t hs_graph_cache_part_bytes;

/*
 * Fills address, size, type, flags and the forward CSR of g (allocated by
 * the caller for g->n objects and g->m references; types already loaded)
 * from the cache.  Returns 1 when loaded, 0 when there is no usable cache
 * (g's arrays may then hold garbage and must be filled again), -1 after a
 * read error (exit 4).  O(n + m) time; no memory beyond g's arrays.
 */
int hs_graph_cache_load(struct hs_graph *g);

/*
 * Replaces the cache in g->snap with g's arrays, in one transaction
 * (rolled back on failure), and with `arg` (per edge: edge_list.arg, 0 for
 * NULL) unless it is NULL.  Returns 0, or -1 after an error (exit 4).
 * Writes about 28 n + 9 m bytes.
 */
int hs_graph_cache_store(const struct hs_graph *g, const uint32_t *arg);

/*
 * The edge_list.arg of every edge (0 for NULL) into arg[0 .. g->m) from
 * the cache, which hs_graph_cache_load() leaves there: only `advise`
 * labels edges by the hundred thousand, and reading the column from
 * edge_list costs a row per edge.  Returns 1 when read, 0 when the cache
 * has none (stored by an older heapsnap, or stale), -1 after a read error
 * (exit 4).  O(m).
 */
int hs_graph_cache_load_args(const struct hs_graph *g, uint32_t *arg);

/*
 * 1 if g->snap holds a cache of g that hs_graph_cache_load() would take
 * (its meta row matches), else 0; read errors count as 0.  For
 * hs_heap_prepare(), which checks that what it stored is there.
 */
int hs_graph_cache_stored(const struct hs_graph *g);

#endif /* HS_GRAPH_CACHE_H */
