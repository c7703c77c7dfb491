/*
 * scc.h: strongly connected components of the retention graph, the model
 * behind `heapsnap cycles` and the cycle explanation of `heapsnap why`.
 *
 * Only retaining edges (hs_graph_retains()) count: a weak reference never
 * closes a cycle.  A "cycle" is a component with at least two members or a
 * member that retains itself.  Components are numbered in the order the
 * search completes them, which is a reverse topological order of the
 * condensation: if a member of component a retains a member of another
 * component b, then b < a.  The numbering depends only on node order and
 * edge order, so it is the same on every run.
 *
 * The search is iterative (Pearce's variant of Tarjan): no recursion, so a
 * chain of millions of objects is fine.
 */
#ifndef HS_SCC_H
#define HS_SCC_H

#include "graph.h"
#include "bfs.h"

/* Bits of struct hs_scc_info.flags. */
#define HS_SCC_SELF_LOOP   0x1u /* a member retains itself */
#define HS_SCC_UNREACHABLE 0x2u /* no member is reachable from a root */
#define HS_SCC_HAS_DEL     0x4u /* a member's type defines __del__ */
#define HS_SCC_CYCLE       0x8u /* >= 2 members, or HS_SCC_SELF_LOOP */

/* What `cycles` prints about one component. */
struct hs_scc_info {
    uint64_t bytes;        /* total shallow size of the members */
    uint32_t nmodule_type; /* members that are modules or classes: a
                              component made mostly of these is the
                              interpreter's own web of modules, their
                              dicts, functions and classes */
    uint32_t flags;        /* HS_SCC_* */
};

struct hs_scc {
    uint32_t n;        /* nodes of the graph it was computed on */
    uint32_t ncomp;    /* components (every node is in exactly one) */
    uint32_t *comp;    /* n: component of each node */
    uint32_t *off;     /* ncomp + 1: the members of component c are
                          members[off[c] .. off[c + 1] - 1] */
    uint32_t *members; /* n: nodes grouped by component, ascending within
                          each, so members[off[c]] is its smallest node */
    struct hs_scc_info *info; /* ncomp entries */
};

/*
 * Computes the components of `g` into `out` (which the caller releases
 * with hs_scc_release()).  `reach` says which nodes are reachable: with a
 * BFS result (bfs.h), a component is unreachable when the BFS reached
 * none of its members; with NULL, when every member carries
 * HS_OBJ_UNREACHABLE (the agent's verdict, from the snapshot).
 *
 * A member counts in nmodule_type when its type is builtins.module or
 * builtins.type, or when it is the type object of some row of g->types
 * (classes with a metaclass).
 *
 * Cost: O(n + m) time.  Scratch: 3 words and a bit per node (two words
 * for the explicit DFS stack, one for the stack of finished nodes waiting
 * for their component; the DFS index lives in the result's comp array),
 * then 1 byte per node while summarizing.  Result: 8 bytes per node and
 * 20 per component.  Can't fail (dies only when out of memory).
 */
void hs_scc_run(const struct hs_graph *g, const struct hs_bfs *reach,
                struct hs_scc *out);

/*
 * The same over "data" references only: what `heapsnap cycles` lists.
 * Besides weak references it ignores an instance's reference to its class
 * (otherwise every instance would share a cycle with its class and its
 * module) and references to modules and to the dicts modules hold (a
 * function's __globals__ would otherwise tie every object holding a
 * function to its module).  What remains are the cycles a program makes:
 * parents and children, objects holding their own bound methods, caches
 * pointing back at their owners.  Cost: as hs_scc_run, plus one byte per
 * edge while it runs.
 */
void hs_scc_run_data(const struct hs_graph *g, const struct hs_bfs *reach,
                     struct hs_scc *out);

/* Frees what `s` holds; the struct itself is the caller's.  NULL-safe
 * fields, so releasing a zeroed struct is fine. */
void hs_scc_release(struct hs_scc *s);

/* Number of members of component c. */
static inline uint32_t
hs_scc_size(const struct hs_scc *s, uint32_t c)
{
    return s->off[c + 1] - s->off[c];
}

/*
 * The cycles of `s` (components with HS_SCC_CYCLE) as a malloc'd array of
 * component ids that the caller frees, ordered by total bytes descending,
 * then member count descending, then smallest member ascending.  Stores
 * the count in *count; returns NULL when there are none.
 * O(ncomp + k log k) for k cycles.
 */
uint32_t *hs_scc_cycles(const struct hs_scc *s, uint32_t *count);

/*
 * Components of an arbitrary graph given as a CSR (the building block that
 * hs_scc_run() and the explanation of unreachable objects in paths.c
 * share): node v has edges to adj[off[v]] .. adj[off[v + 1] - 1], every
 * edge counts.  Writes the component of each node to comp (n entries,
 * numbered in completion order as above) and returns the number of
 * components.  n must be below 2^31.  O(n + m) time, 3 words and a bit
 * per node of scratch.  Can't fail.
 */
uint32_t hs_scc_csr(uint32_t n, const uint32_t *off, const uint32_t *adj,
                    uint32_t *comp);

#endif /* HS_SCC_H */
