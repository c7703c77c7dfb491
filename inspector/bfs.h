/*
 * bfs.h: the retention BFS: one shortest retaining path from a root to
 * every reachable node, preferring user-level roots (module globals,
 * thread locals) over interpreter internals and both over references from
 * outside the heap.  Only retaining edges (hs_graph_retains()) are
 * followed.  The paths (paths.h), the cycles (scc.h) and the pictures
 * build on it; it depends on the graph only.
 */
#ifndef HS_BFS_H
#define HS_BFS_H

#include "graph.h"

/* dist and root of a node no root reaches; parent_edge of a root. */
#define HS_BFS_NONE UINT32_MAX

/*
 * The BFS forest.  Invariants: a reached node v has dist[v] edges on its
 * path, root[v] names the root its path starts at, and unless dist[v] is 0
 * parent_edge[v] is a retaining edge u -> v with dist[u] = dist[v] - 1 and
 * root[u] = root[v].  Unreached nodes have all three HS_BFS_NONE.
 */
struct hs_bfs {
    uint32_t n;            /* nodes of the graph */
    uint32_t *parent_edge; /* n: edge number (graph.h) reaching v */
    uint32_t *root;        /* n: index into g->roots */
    uint32_t *dist;        /* n: edges from the root */
    uint32_t nreached[3];  /* reached nodes per root preference class */
};

/*
 * Runs the retention BFS over `g` into `out` (released by the caller with
 * hs_bfs_release()).
 *
 * The search is layered by root preference class (hs_root_class()): a
 * multi-source BFS from all class-0 roots (modules, frames, threads) first;
 * then the nodes it did not reach get their paths from class-1 roots
 * (interpreter internals), then class 2 (external references).  So an
 * object reachable from a module is explained from the module even when an
 * interpreter-internal root is closer.  Within a class a path has the
 * fewest edges; among equally short paths the one chosen is the first by
 * (root index in g->roots, then edge numbers from the root down), i.e. the
 * lexicographically smallest.  A node held by several roots belongs to the
 * first of them in g->roots.
 *
 * Cost: O(n + m) time; 12 bytes per node kept, 4 more while it runs.
 * Can't fail (dies only when out of memory).
 */
void hs_bfs_run(const struct hs_graph *g, struct hs_bfs *out);

/* Frees what `b` holds; the struct itself is the caller's. */
void hs_bfs_release(struct hs_bfs *b);

static inline int
hs_bfs_reached(const struct hs_bfs *b, uint32_t v)
{
    return b->dist[v] != HS_BFS_NONE;
}

/* The preference class (0, 1, 2) of the root explaining v, -1 if none. */
static inline int
hs_bfs_class(const struct hs_graph *g, const struct hs_bfs *b, uint32_t v)
{
    if (b->root[v] == HS_BFS_NONE)
        return -1;
    return hs_root_class((enum hs_root_kind)g->roots[b->root[v]].kind);
}

/*
 * The path to a reached node v: writes the b->dist[v] edge numbers from
 * the root down to v into edges[0 .. b->dist[v] - 1] (nothing for a root)
 * and returns the root's index in g->roots.  OUT: edges, which the caller
 * sizes.  O(dist * log n) (each step finds its edge's source by binary
 * search).  Can't fail; v must be reached.
 */
uint32_t hs_bfs_path(const struct hs_graph *g, const struct hs_bfs *b,
                     uint32_t v, uint32_t *edges);

/*
 * Paths for a set of objects (`why TYPE`) that pass through the set's
 * accumulation point: from the root holding most of the set, down the BFS
 * tree's child holding most while it holds HS_HUB_RATIO of its parent's
 * share.  A member whose shortest path starts at an incidental variable
 * (one whose path holds less than HS_HUB_INCIDENTAL of the set, such as a
 * leftover module-level loop variable) and that the accumulation point
 * reaches by a path at most HS_HUB_SLACK steps longer takes that path
 * instead, and so do the objects under it.  Returns 1 with the new forest
 * in `out` (release it with hs_bfs_release()), or 0 when no path changes
 * (`out` holds nothing).  Invariants as for hs_bfs_run(), but paths are no
 * longer all shortest.  Cost: O(n log n + m), 13 bytes per node while it
 * runs, 12 kept.
 */
#define HS_HUB_RATIO 0.8
#define HS_HUB_INCIDENTAL 0.2
#define HS_HUB_SLACK 8
int hs_bfs_through_hub(const struct hs_graph *g, const struct hs_bfs *b,
                       const uint32_t *targets, uint32_t nt,
                       struct hs_bfs *out);

/*
 * How a path of n steps is shown in at most max_steps (0: whole): its
 * first *head steps, then, when *tail > 0, a gap standing for the
 * n - *head - *tail steps in the middle, then its last *tail steps.  The
 * one rule for the text, the JSON and the pictures of every path.
 */
static inline void
hs_path_elide(uint32_t n, uint32_t max_steps, uint32_t *head, uint32_t *tail)
{
    *head = n;
    *tail = 0;
    if (max_steps && n > max_steps) {
        *head = max_steps / 2;
        *tail = max_steps - *head;
    }
}

#endif /* HS_BFS_H */
