/*
 * heap.c: one loaded snapshot and its analyses computed on first use
 * (heap.h).  The only file that opens a snapshot for the commands and the
 * server.  It owns everything it computes; `have` records what exists so
 * that releasing frees exactly that.
 */
#include "heap.h"
#include "graph_cache.h"
#include "progress.h"
#include "retained.h"

#include <string.h>

/* Bits of hs_heap.have. */
#define HAVE_BFS 1u
#define HAVE_DOM 2u
#define HAVE_SCC 4u
#define HAVE_SITES 8u

int
hs_heap_open(struct hs_heap *h, const char *file, unsigned flags)
{
    memset(h, 0, sizeof(*h));
    hs_dominators_init(&h->dom);
    if (!(h->path = hs_snapshot_pick(file)) ||
        !(h->snap = hs_snapshot_open(h->path, flags & HS_HEAP_READONLY
                                                  ? HS_SNAP_READONLY
                                                  : HS_SNAP_DERIVED)))
        return -1;
    if (flags & HS_HEAP_NO_GRAPH)
        return 0;
    if (!(h->g = hs_graph_load(h->snap)) || !(h->names = hs_naming_new(h->g)))
        return -1;
    return 0;
}

void
hs_heap_release(struct hs_heap *h)
{
    if (h->have & HAVE_SCC)
        hs_scc_release(&h->scc);
    hs_sites_release(&h->sites);
    free(h->type_retained);
    hs_dominators_release(&h->dom);
    if (h->have & HAVE_BFS)
        hs_bfs_release(&h->bfs);
    hs_naming_free(h->names);
    hs_graph_free(h->g);
    hs_snapshot_close(h->snap);
    free(h->path);
    memset(h, 0, sizeof(*h));
}

/* hs_heap_prepare()'s error for a cache it could not store; -1. */
static int
not_stored(struct hs_heap *h, const char *what)
{
    return hs_error(HS_EXIT_IO,
                    "cannot store %s in '%s' (%s); the snapshot is "
                    "complete, and its first command will try again",
                    what, h->path, hs_snapshot_store_error(h->snap));
}

int
hs_heap_prepare(const char *path)
{
    struct hs_heap h;
    struct hs_dominators *dom;
    double start = hs_now();
    int rc = -1;

    /* Opening loads the graph and stores its cache, as the first command
     * would; a file whose references are out of order (edge_row) gets
     * none, on first use either. */
    if (hs_heap_open(&h, path, 0) < 0)
        goto out;
    if (!hs_snapshot_writable(h.snap)) {
        hs_error(HS_EXIT_IO,
                 "cannot store the analysis caches in '%s': it is "
                 "read-only (or its folder is); the snapshot is complete "
                 "and each command computes them in memory",
                 path);
        goto out;
    }
    if (!h.g->edge_row && !hs_graph_cache_stored(h.g)) {
        not_stored(&h, "the graph cache");
        goto out;
    }
    if (!(dom = hs_heap_dominators(&h)))
        goto out;
    if (dom->origin == HS_DOM_COMPUTED) {
        not_stored(&h, "the retained sizes");
        goto out;
    }
    hs_note("prepared '%s' for analysis in %.2f s: its graph cache and "
            "retained sizes are stored in it",
            path, hs_now() - start);
    rc = 0;
out:
    hs_heap_release(&h);
    return rc;
}

const struct hs_bfs *
hs_heap_bfs(struct hs_heap *h)
{
    if (!(h->have & HAVE_BFS)) {
        hs_bfs_run(h->g, &h->bfs);
        h->have |= HAVE_BFS;
    }
    return &h->bfs;
}

struct hs_dominators *
hs_heap_dominators(struct hs_heap *h)
{
    if (!(h->have & HAVE_DOM)) {
        if (hs_retained_get(h->g, &h->dom) < 0)
            return NULL;
        h->have |= HAVE_DOM;
    }
    return &h->dom;
}

const uint64_t *
hs_heap_type_retained(struct hs_heap *h)
{
    struct hs_dominators *dom;

    if (!h->type_retained) {
        if (!(dom = hs_heap_dominators(h)))
            return NULL;
        h->type_retained = hs_dominators_type_retained(h->g, dom);
    }
    return h->type_retained;
}

const struct hs_scc *
hs_heap_data_scc(struct hs_heap *h)
{
    if (!(h->have & HAVE_SCC)) {
        hs_scc_run_data(h->g, hs_heap_bfs(h), &h->scc);
        h->have |= HAVE_SCC;
    }
    return &h->scc;
}

const struct hs_sites *
hs_heap_sites(struct hs_heap *h)
{
    if (!(h->have & HAVE_SITES)) {
        if (hs_sites_load(h->g, &h->sites) < 0) {
            hs_sites_release(&h->sites);
            return NULL;
        }
        h->have |= HAVE_SITES;
    }
    return &h->sites;
}
