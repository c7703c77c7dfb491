/*
 * paths.h: why is an object alive?  The model behind `heapsnap why`, over
 * the retention BFS (bfs.h):
 *  - grouping many objects (all instances of a type) by the shape of
 *    their paths (hs_paths_group);
 *  - for an object no root reaches, the reference cycles that keep it
 *    (hs_paths_explain_unreachable).
 * Only retaining edges (hs_graph_retains()) are ever followed.  Nothing
 * here recurses; costs are stated per function.
 */
#ifndef HS_PATHS_H
#define HS_PATHS_H

#include "bfs.h"
#include "graph.h"

/* ---- grouping paths by shape ---------------------------------------------- */

/*
 * One step of a path shape: the edge's kind and name, and the type of the
 * object it leads to.  Positions are wildcarded: the index of `item` and
 * `other` edges always, and the key of `value` edges when the dict holding
 * them is a collection (more than HS_PATHS_RECORD_MAX references) rather
 * than a record; an object's `__dict__` is always a record, so attribute
 * names survive however many an object has.  At a wild position objects
 * of any type share the step (a list of mixed elements is one story),
 * and the step keeps the types met there; the object asked about keeps
 * its own type.
 */

/* Types a wild step keeps (the most frequent), and the longest repeated
 * segment recognised. */
#define HS_PATHS_TYPES 4
#define HS_PATHS_PERIOD 4

/* The type of a wild step while shapes are built: any. */
#define HS_PATHS_ANY UINT32_MAX
struct hs_path_step {
    uint32_t arg;   /* names.id of the edge's name for value, attr, key,
                       local and closure edges; 0 when wild or nameless */
    uint32_t type;  /* index into g->types of the object reached (at a
                       wild position: the most frequent one, types[0]) */
    uint32_t types[HS_PATHS_TYPES]; /* a wild position: the types of the
                       objects reached there, most frequent first */
    uint32_t ntypes; /* how many distinct types (1 but at wild positions;
                        may exceed HS_PATHS_TYPES) */
    uint8_t kind;   /* enum hs_edge_kind */
    uint8_t wild;   /* 1: the position was wildcarded ([*]) */
    uint8_t repeat; /* k > 0: paths through this shape may take the k
                       steps ending here several times in a row
                       ("(.next -> Node)+" with k = 1, "(.children -> list
                       [*] -> {section|paragraph})+" with k = 2) */
};

/* Out-degree above which a dict is a collection: its keys are data. */
#define HS_PATHS_RECORD_MAX 64

/*
 * A run of identical steps (the same kind, name and type several times in
 * a row, as down a linked list) is one step with `repeat` set, so every
 * node of a linked list shares one shape rather than one per depth; a run
 * of an identical segment of up to HS_PATHS_PERIOD steps (a linked list
 * through instance dicts, a document tree's `.children → list [*] → X`
 * whatever class X is at each level) is the segment, marked on its last
 * step with its length.
 *
 * Shapes form a trie: a shape is its parent's shape plus one step.  A top
 * shape (parent HS_BFS_NONE, depth 0) is a root: step.kind holds the
 * root's enum hs_root_kind and step.type the type of the root object.
 * Sharing prefixes keeps the output linear even when thousands of
 * targets sit at different depths of one linked list.
 */
struct hs_path_shape {
    struct hs_path_step step; /* the last step, or the root (see above) */
    uint32_t parent;          /* shape without the last step */
    uint32_t depth;           /* steps */
};

/*
 * A group of targets whose paths have the same shape: the root's kind and
 * the type of the root object (and which module, for module roots), then
 * the steps.  Targets the BFS did not
 * reach form one group of their own, with `unreachable` set and no shape.
 */
struct hs_path_group {
    uint64_t bytes;     /* total shallow size of the group's targets */
    uint32_t count;     /* targets in the group */
    uint32_t example;   /* the group's smallest node */
    uint32_t shape;     /* index into shapes[], HS_BFS_NONE if unreachable */
    uint32_t nsteps;    /* path length (the shape's depth) */
    uint32_t root_kind; /* enum hs_root_kind of the root */
    uint32_t root_type; /* index into g->types of the root object */
    uint32_t root_node; /* the module, for module roots (paths from two
                           modules never share a group); else
                           HS_BFS_NONE */
    int unreachable;    /* the group of unreached targets */
};

struct hs_path_groups {
    struct hs_path_group *groups; /* by bytes desc, count desc, example */
    uint32_t ngroups;
    struct hs_path_shape *shapes; /* the trie the groups point into */
    uint32_t nshapes;
    uint32_t *group_of; /* per target, in the order given: the index of
                           its group in groups[] */
};

/*
 * Groups `targets` (ntargets nodes in any order; a node given twice counts
 * twice) by the shape of their BFS paths.  Edge names come from edge_arg
 * (m entries, edge_list.arg per edge number) when given; otherwise from
 * the snapshot g->snap, reading only the edges the shapes need; otherwise
 * (a graph built without a file) every name is 0.
 *
 * Cost: O(T + P log n) for T targets and the P distinct nodes on their
 * paths (each BFS tree edge is looked at once, however many targets share
 * it), plus the name lookups (P rowid lookups or one scan of edge_list,
 * whichever is cheaper), plus O(G log G) to sort the G groups.  Memory:
 * 4 bytes per graph node while it runs, O(T + P) kept.  Returns 0, or -1
 * after an error reading the snapshot (exit 4), in which case `out` holds
 * nothing.  Release with hs_path_groups_release().
 */
int hs_paths_group(const struct hs_graph *g, const struct hs_bfs *b,
                   const uint32_t *targets, uint32_t ntargets,
                   const uint32_t *edge_arg, struct hs_path_groups *out);

/*
 * The steps of group k from the root down into steps[0 .. nsteps), which
 * the caller sizes by groups[k].nsteps; returns nsteps.  O(nsteps).
 */
uint32_t hs_path_groups_steps(const struct hs_path_groups *pg, uint32_t k,
                              struct hs_path_step *steps);

void hs_path_groups_release(struct hs_path_groups *pg);

/* ---- explaining unreachable objects --------------------------------------- */

/*
 * What keeps an unreached object: the components (strongly connected,
 * over retaining edges between unreached objects) among its unreached
 * ancestors that nothing unreached outside them retains.  Usually these
 * are reference cycles awaiting the cyclic gc; a component that is not a
 * cycle is an object nothing else in the heap holds (kept by a reference
 * the snapshot does not show).
 */
struct hs_unreach_holders {
    uint32_t nancestors; /* unreached objects that reach v, v included */
    uint32_t ncomp;      /* key components */
    uint32_t *off;       /* ncomp + 1: members of component c are
                            members[off[c] .. off[c + 1] - 1] */
    uint32_t *members;   /* nodes, ascending within each component */
    uint64_t *bytes;     /* ncomp: total shallow size of the members */
    uint32_t *flags;     /* ncomp: HS_SCC_CYCLE, HS_SCC_SELF_LOOP and
                            HS_SCC_HAS_DEL (scc.h) */
};

/*
 * Finds what keeps v alive when the BFS `b` did not reach it: a reverse
 * search from v over retaining references between unreached objects, then
 * the components of those ancestors (hs_scc_csr()), keeping those with no
 * retaining reference from an unreached object outside them.  Components
 * come cycles first, then by bytes descending, then by smallest member.
 * When b reached v, `out` is empty.  Release with
 * hs_unreach_holders_release().
 *
 * Cost: O(E + A log A) time and O(A + E) memory for the A ancestors and
 * the E retaining references into them, independent of the graph's size
 * (the log is the sorting of members).  Can't fail.
 */
void hs_paths_explain_unreachable(const struct hs_graph *g,
                                  const struct hs_bfs *b, uint32_t v,
                                  struct hs_unreach_holders *out);

void hs_unreach_holders_release(struct hs_unreach_holders *h);

#endif /* HS_PATHS_H */
