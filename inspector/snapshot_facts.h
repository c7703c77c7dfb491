/*
 * snapshot_facts.h: bulk reads of the snapshot that `advise` needs beside
 * the graph: how each heap type lays out its instances (type_layouts),
 * the short values of every object of a few types in one scan, the
 * threads and which roots are theirs, and the names id of a label.  Part of the snapshot layer: the only SQL here
 * is in snapshot_facts.c.
 */
#ifndef HS_SNAPSHOT_FACTS_H
#define HS_SNAPSHOT_FACTS_H

#include "graph.h"

/* A row of type_layouts (schema/heapsnap.sql says what each field is). */
struct hs_type_layout {
    int present; /* the type has a row */
    int64_t basicsize, itemsize, dictoffset, weaklistoffset;
    int64_t solid_basicsize, values_bytes;
    int managed_dict, values_inline;
};

/*
 * The layout of every type of g, indexed like g->types (malloc'd, g->ntypes
 * entries, present = 0 where the snapshot has no row).  *have is set to 0
 * when the snapshot has no type_layouts table (older agents); the array is
 * returned all absent then.  NULL after a read error (exit 4).  O(T log T).
 */
struct hs_type_layout *hs_facts_type_layouts(struct hs_graph *g, int *have);

/*
 * Calls fn(node, value, len, arg) for every object whose type is one of
 * the `ntypes` type indexes in `types` and whose value is not NULL, in id
 * order; `value` is valid during the call only.  Stops and returns fn's
 * value when it is non-zero; -1 after a read error (exit 4); else 0.  One
 * scan of objects, O(n); or, when those types have few objects (under one
 * in 256), one probe by id for each of them, O(n + k log n).
 */
int hs_facts_each_value(const struct hs_graph *g, const uint32_t *types,
                        uint32_t ntypes,
                        int (*fn)(uint32_t v, const char *value, size_t len,
                                  void *arg),
                        void *arg);


/* A row of threads: a Python thread alive at the dump. */
struct hs_fact_thread {
    uint32_t node; /* its threading.Thread object, or UINT32_MAX */
    int is_main;   /* the main thread */
    int is_dumper; /* the thread that ran the dump */
};

/*
 * The snapshot's threads into *threads (malloc'd, *nthreads entries), and
 * into *root_thread (malloc'd, g->nroots entries) for each root of
 * g->roots the index in *threads of the thread whose frame or state holds
 * it, or UINT32_MAX.  Both are empty (not NULL) for a graph without a
 * snapshot.  0, or -1 after a read error (exit 4), with nothing to free.
 * O(threads + roots log roots).
 */
int hs_facts_threads(const struct hs_graph *g, struct hs_fact_thread **threads,
                     uint32_t *nthreads, uint32_t **root_thread);

#endif /* HS_SNAPSHOT_FACTS_H */
