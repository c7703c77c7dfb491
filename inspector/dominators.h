/*
 * dominators.h: the dominator tree of a heap graph and the retained size of
 * every object ("what would be freed if this went away").
 *
 * A virtual root has an edge to every root of g->roots (all kinds), and only
 * retaining edges count (hs_graph_retains / hs_graph_in_retains: weak
 * references never keep anything alive).  Node d dominates w when every
 * retaining path from the virtual root to w passes through d; the retained
 * size of d is the shallow size of everything it dominates, d included.
 *
 * Objects that no root reaches (cyclic garbage awaiting the collector) are
 * kept apart: their idom is HS_DOM_UNREACHABLE, their retained size is their
 * own size, and they are counted in `unreachable` / `unreachable_bytes`.
 *
 * struct hs_dominators owns every array it points to; hs_dominators_release()
 * frees them.  Storing and loading the result is retained.h's job.
 */
#ifndef HS_DOMINATORS_H
#define HS_DOMINATORS_H

#include "graph.h"

/* idom[] values that are not nodes (nodes are below 2^31). */
#define HS_DOM_ROOT        0xFFFFFFFEu /* dominated only by the roots */
#define HS_DOM_UNREACHABLE 0xFFFFFFFFu /* not reached from any root */

/* Where the contents of a struct hs_dominators came from. */
enum hs_dom_origin {
    HS_DOM_COMPUTED = 0, /* computed in memory, not stored */
    HS_DOM_STORED,       /* computed and stored in the snapshot */
    HS_DOM_LOADED        /* read back from the snapshot's derived table */
};

struct hs_dominators {
    uint32_t n;         /* nodes of the graph it describes */
    uint32_t *idom;     /* n entries: immediate dominator of each node, a
                          node, HS_DOM_ROOT or HS_DOM_UNREACHABLE */
    uint64_t *retained; /* n entries: retained size in bytes */

    uint32_t reachable;         /* nodes reached from some root */
    uint64_t reachable_bytes;   /* their shallow sizes: the retained size
                                   of the virtual root */
    uint32_t unreachable;       /* nodes no root reaches */
    uint64_t unreachable_bytes; /* their shallow sizes */

    enum hs_dom_origin origin; /* computed, stored or loaded */
    double seconds;            /* wall time of that computation or load */

    /* The dominator tree as a CSR, built on first use by
     * hs_dominators_children(): the children of node v are
     * child[child_off[v] .. child_off[v + 1] - 1], ascending; slot n is the
     * virtual root.  NULL until then. */
    uint32_t *child_off; /* n + 2 entries */
    uint32_t *child;     /* `reachable` entries */
};

/* Zeroes d (no allocation). */
void hs_dominators_init(struct hs_dominators *d);

/* Frees what d holds; d can be initialized again.  NULL arrays are fine. */
void hs_dominators_release(struct hs_dominators *d);

/*
 * Computes the immediate dominator and retained size of every node of g
 * into `out` (which it initializes; the caller releases it).  origin is
 * HS_DOM_COMPUTED.
 *
 * Semi-NCA (Georgiadis' thesis, as in LLVM) over the retaining edges, with
 * an iterative DFS from the virtual root whose stack is the DFS tree itself
 * (parent pointers plus an edge cursor per node), and path compression
 * without a stack (pointer reversal).  The NCA walks take jump pointers,
 * so long chains cannot make them quadratic as in plain Semi-NCA.  Time
 * O(m log n); retained sizes in one reverse-preorder sweep, O(n).
 *
 * Memory: the result is 12 bytes per node.  The working set is 24.25
 * bytes per node (node <-> DFS number maps, a 16-byte record per vertex,
 * two bitmaps) and is freed as the result arrays are allocated, so the
 * peak growth is 24.25 bytes per node.  Prints progress on a terminal
 * when it takes more than a second.
 *
 * This function can't fail (out of memory dies).
 */
void hs_dominators_compute(const struct hs_graph *g,
                           struct hs_dominators *out);

/*
 * The children of v in the dominator tree (v a node, or HS_DOM_ROOT for
 * the virtual root), in ascending node order, through *out (borrowed: valid
 * until d is released).  Returns their number.  Unreachable nodes have no
 * children and are nobody's child.  The first call builds the CSR: O(n)
 * time, 8 bytes per node, kept in d.
 */
uint32_t hs_dominators_children(struct hs_dominators *d, uint32_t v,
                                const uint32_t **out);

/*
 * The "accumulation point" below v (a node or HS_DOM_ROOT), as in MAT's
 * leak suspects: walk down the dominator tree while the biggest child
 * holds at least `ratio` (e.g. 0.8) of the current node's retained size;
 * stop where the size fans out into smaller children.  Returns the node
 * where the walk stops (v itself if it has no such child; HS_DOM_ROOT only
 * if v is and no child of the root qualifies).  A node retaining 0 bytes
 * stops the walk.  Ties go to the lowest node.  Cost: the sum of the
 * children counts along the way (plus the CSR on first use).
 */
uint32_t hs_dominators_accumulation_point(struct hs_dominators *d, uint32_t v,
                                          double ratio);

/*
 * Per-type retained size, as in Chrome DevTools' summary: for each type t
 * the retained sizes of the instances of t that no other instance of t
 * dominates, so nested instances are not counted twice.  Unreachable
 * objects are dominated by nothing and count their own size.  Returns a
 * malloc'd array of g->ntypes entries that the caller frees.
 *
 * An iterative DFS over the dominator tree with a per-type count of active
 * ancestors: O(n + ntypes) time; 4 bytes per type plus 4 bytes per level
 * of depth, plus the CSR of hs_dominators_children().
 */
uint64_t *hs_dominators_type_retained(const struct hs_graph *g,
                                      struct hs_dominators *d);

/*
 * hs_dominators_type_retained() over any grouping: key[v] is node v's
 * group (0 .. nkeys - 1) or UINT32_MAX for none.  Returns a malloc'd
 * array of nkeys retained sizes, each group's nested members counted
 * once: the retained sizes of hs_dominators_outermost_by_group()'s
 * members, summed.  O(n + nkeys), n bytes while it runs.
 */
uint64_t *hs_dominators_key_retained(struct hs_dominators *d,
                                     const uint32_t *key, uint32_t nkeys);

/*
 * The members of a set that no other member dominates: out[v] = 1 when
 * member[v] and no proper dominator of v is a member, else 0 (both arrays
 * have d->n entries).  Unreachable members are dominated by nothing and
 * are outermost.  Summing the retained sizes of the outermost members
 * gives the set's retained size without counting nested members twice.
 * One walk of the dominator tree: O(n).
 */
void hs_dominators_outermost(struct hs_dominators *d, const uint8_t *member,
                             uint8_t *out);

/*
 * The same per group: group[v] is v's group (UINT32_MAX: not a member,
 * d->n entries), and out[v] = 1 when v is a member and no proper dominator
 * of v is a member of the same group.  A group's retained size is then
 * the sum over its outermost members.  Same walk: O(n + ngroups), 4 bytes
 * per group.
 */
void hs_dominators_outermost_by_group(struct hs_dominators *d,
                                      const uint32_t *group,
                                      uint32_t ngroups, uint8_t *out);

#endif /* HS_DOMINATORS_H */
