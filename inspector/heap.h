/*
 * heap.h: one loaded snapshot, what every command and the server take.
 *
 * struct hs_heap is git's RUN_SETUP for heapsnap: the dispatcher-side
 * setup that opens the snapshot file, loads its graph and its naming
 * context, and computes the analyses the answers need on first use: the
 * retention BFS (bfs.h), the dominators and retained sizes (retained.h:
 * read back or computed and stored), the per-type retained sizes and the
 * components over data references (scc.h).  Nothing outside heap.c opens a
 * snapshot for analysis (diff opens two heaps; info opens one without its
 * graph).  A heap is single-threaded: its snapshot connection and naming
 * context are.  Every analysis, once computed, stays until the heap is
 * released, so that two answers about one heap can never disagree.
 */
#ifndef HS_HEAP_H
#define HS_HEAP_H

#include "heapsnap.h"
#include "bfs.h"
#include "dominators.h"
#include "graph.h"
#include "naming.h"
#include "scc.h"
#include "sites.h"
#include "snapshot.h"

struct hs_heap {
    char *path;               /* the snapshot file (owned) */
    struct hs_snapshot *snap; /* open while the heap lives (owned) */
    struct hs_graph *g;       /* loaded at open unless HS_HEAP_NO_GRAPH
                                 (owned) */
    struct hs_naming *names;  /* labels and values of g (owned; with g) */

    /* Computed on first use through the accessors below; never read these
     * fields before calling them. */
    struct hs_bfs bfs;        /* one shortest retaining path per node */
    struct hs_dominators dom; /* idom and retained size per node */
    uint64_t *type_retained;  /* g->ntypes: retained size per type */
    struct hs_scc scc;        /* components over data references */
    struct hs_sites sites;    /* allocation sites */
    unsigned have;            /* HAVE_* bits of heap.c: what is computed */
};

/* Flags of hs_heap_open(). */
#define HS_HEAP_READONLY 1u /* never write derived tables into the file */
#define HS_HEAP_NO_GRAPH 2u /* open the snapshot only (`info`) */

/*
 * Opens the snapshot `file` (the -f option; NULL: the newest
 * heapsnap-*.db here, named on stderr) into `h`, which it initializes, and
 * loads its graph and naming context unless HS_HEAP_NO_GRAPH.  Derived
 * tables are added to the file when it is writable, unless
 * HS_HEAP_READONLY.  Returns 0, or -1 after an error (printed; exit 2
 * when there is no snapshot, 4 when the file cannot be read, 3 when it is
 * not a snapshot); release `h` with hs_heap_release() either way.  Cost:
 * the graph load, O(n + m) (read back from the graph cache when current).
 */
int hs_heap_open(struct hs_heap *h, const char *file, unsigned flags);

/*
 * Stores into the snapshot `path` the derived tables a first command
 * would add (the graph cache and the retained sizes), keeping those that
 * are current, so that every command on it afterwards reads them back
 * and never writes to the file: `heapsnap dump` does it to each snapshot
 * it wrote.  Concurrent commands on the file wait for each other as they
 * do on first use (hs_derived_replace()).  Says what it did on stderr.
 * Returns 0 when the file holds both afterwards; -1 after an error
 * (printed): exit 4 when the file is read-only or storing failed (a full
 * disk), which leaves the snapshot complete as it was; 3 when it is not
 * a snapshot.  Cost: a first command's, the graph load O(n + m) and the
 * dominators, about 100 bytes per object at the peak.
 */
int hs_heap_prepare(const char *path);

/* Frees everything `h` holds; safe after a failed or no hs_heap_open()
 * on a zeroed struct. */
void hs_heap_release(struct hs_heap *h);

/*
 * The retention BFS, run on first use: O(n + m), 12 bytes per node.
 * Needs the graph.  Can't fail (out of memory dies).
 */
const struct hs_bfs *hs_heap_bfs(struct hs_heap *h);

/*
 * The dominators and retained sizes: read back from the snapshot, or
 * computed (and stored when the file is writable) on first use; see
 * hs_retained_get().  NULL after an error reading the snapshot (exit 4).
 * Not const: the dominator tree's child lists are built on first use.
 */
struct hs_dominators *hs_heap_dominators(struct hs_heap *h);

/*
 * Per-type retained sizes (hs_dominators_type_retained()), g->ntypes
 * entries owned by the heap, computed on first use after the dominators.
 * NULL after an error getting the dominators.  O(n + ntypes).
 */
const uint64_t *hs_heap_type_retained(struct hs_heap *h);

/*
 * The strongly connected components over data references (what `cycles`
 * lists; hs_scc_run_data()), computed on first use after the BFS.
 * O(n + m).  Can't fail.
 */
const struct hs_scc *hs_heap_data_scc(struct hs_heap *h);

/*
 * The allocation sites (sites.h), read on first use; `recorded` is 0 for
 * a snapshot without them.  NULL after an error reading them (exit 4, or
 * 3 for damaged tables).  O(objects traced + frames).
 */
const struct hs_sites *hs_heap_sites(struct hs_heap *h);

#endif /* HS_HEAP_H */
