/*
 * draw.h: turning part of a loaded heap graph into a picture (picture.h)
 * for the drawing commands: refs, backrefs, why --svg and cycles --svg.
 * One place decides how an object looks (key "o<object id>", type, short
 * value, size, retained size, refcount, address, root kind, flags), how a
 * reference looks (its exact label from naming.h, dashed when it does not
 * retain), how the neighbourhood of some objects is walked, and how the
 * result is written.
 *
 * struct hs_draw owns its picture and its side arrays; it borrows the
 * graph, the naming context, the dominators and the BFS.  Every walk is an
 * iterative BFS over dense node ids (no recursion); every walk respects
 * the picture's caps and counts what they refused in `cuts`, which
 * hs_draw_describe() turns into words for the user.
 */
#ifndef HS_DRAW_H
#define HS_DRAW_H

#include "dominators.h"
#include "naming.h"
#include "objspec.h"
#include "paths.h"
#include "picture.h"
#include "scc.h"

/* Return values of hs_draw_object() and hs_draw_reference() besides -1. */
#define HS_DRAW_ADDED   0 /* drawn now */
#define HS_DRAW_REFUSED 1 /* a cap refused it (counted in cuts) */
#define HS_DRAW_PRESENT 2 /* drawn before */

/* A path longer than this many steps loses its middle in a picture; one
 * labelled edge ("… 940 more steps …") stands for what was left out. */
#define HS_DRAW_PATH_MAX 40

/* What a picture leaves out, and why. */
struct hs_draw_cuts {
    uint64_t too_many; /* references beyond --too-many, in "more" boxes */
    uint64_t nodes;    /* objects the node cap refused (each counted once) */
    uint64_t edges;    /* references the edge cap refused */
    uint64_t targets;  /* instances of a type beyond the cap on targets */
    uint64_t steps;    /* path steps elided in the middle of long paths */
    uint64_t summarised; /* members of big cycles drawn by type */
    /* Objects drawn but not expanded although they have neighbours in the
     * walk's direction (by design, not cuts): */
    uint32_t leaf_depth;  /* at the --depth limit */
    uint32_t leaf_module; /* modules (refs and backrefs) */
    uint32_t leaf_type;   /* type objects (refs) */
    uint32_t leaf_root;   /* roots (backrefs) */
};

struct hs_draw {
    struct hs_graph *g;              /* borrowed */
    struct hs_naming *names;         /* borrowed: labels, values */
    const struct hs_dominators *dom; /* borrowed retained sizes, or NULL */
    const struct hs_bfs *bfs;        /* borrowed reachability, or NULL */
    struct hs_picture pic;           /* the picture being drawn (owned) */
    struct hs_draw_cuts cuts;        /* what was left out */

    /* How the caps are spelt in hs_draw_describe(): the option that set
     * them, or NULL when the user cannot change them. */
    const char *too_many_option;  /* "--too-many" */
    uint32_t too_many;            /* its value */
    const char *max_nodes_option; /* "--max-nodes" */

    /* Side arrays, built on first use (private to draw.c). */
    uint32_t *pic_of;    /* n entries: picture index of each node, or a
                            marker for absent / refused */
    uint8_t *type_node;  /* n bits: the node is a type object */
    uint8_t *meta;       /* ntypes entries: instances are type objects */
    uint64_t *root_keys; /* (node << 32 | root index), ascending */
    uint32_t nroot_keys;
    uint32_t *edge_slots; /* set of drawn graph edges, e + 1 per slot */
    uint32_t nedge_slots; /* a power of two, or 0 */
    uint32_t nedges_set;  /* edges in the set */
};

/*
 * Prepares an empty drawing of `g` that holds at most `max_nodes` objects
 * (0: HS_PICTURE_MAX_NODES) with a legend.  Set d->dom and d->bfs after
 * this to show retained sizes and reachability.  Allocates nothing.
 */
void hs_draw_init(struct hs_draw *d, struct hs_graph *g,
                  struct hs_naming *names, uint32_t max_nodes);

/* Frees everything d holds (the picture included). */
void hs_draw_release(struct hs_draw *d);

/*
 * Draws node v at `depth` with the role flags `flags` (HS_PIC_TARGET, ...)
 * added to those it earns itself (module, __del__, unreachable, external
 * root).  A node already drawn gets the flags and keeps the smaller depth.
 * Stores its picture index in *index (OUT, may be NULL; untouched when
 * refused).  Returns HS_DRAW_ADDED, HS_DRAW_PRESENT, HS_DRAW_REFUSED (the
 * node cap; counted once per object in cuts.nodes), or -1 after an error
 * reading the snapshot (exit 4) or a picture error (exit 5).
 * O(log R) for the root lookup plus one or two snapshot probes (facts,
 * value); the first call allocates 4 bytes per graph node.
 */
int hs_draw_object(struct hs_draw *d, uint32_t v, uint32_t depth,
                   unsigned flags, uint32_t *index);

/*
 * Draws graph edge e (from src, which the caller knows) between its two
 * drawn ends, with its exact label; each edge at most once.  Returns
 * HS_DRAW_ADDED, HS_DRAW_PRESENT, HS_DRAW_REFUSED (the edge cap, counted
 * in cuts.edges), or -1 after an error (exit 5: an end is not drawn).
 * O(1) expected plus one snapshot probe for the label.
 */
int hs_draw_reference(struct hs_draw *d, uint32_t src, uint32_t e);

/*
 * objgraph's show_refs (HS_PIC_DIR_REFS) or show_backrefs
 * (HS_PIC_DIR_BACKREFS): a BFS from `targets` (drawn at depth 0, marked
 * HS_PIC_TARGET) along references or referrers, expanding every drawn
 * object above `depth`.  An expanded object shows its first `too_many`
 * references (in edge order) or referrers (retaining ones first, then weak
 * ones, each by source node), and a "K more" box for the rest and for
 * anything the caps refused.  Targets are always expanded; other objects
 * are leaves when they are modules, or for refs type objects, or for
 * backrefs roots other than external ones (an object held from outside
 * the heap may still have referrers inside it).  Edges to objects already
 * drawn are drawn too (cross edges, cycles).  Sets the picture's
 * direction and max_depth.
 *
 * Cost: O(X * too_many) for X expanded objects, plus for backrefs
 * O(in-degree) per expanded object and, per drawn referrer, the out-degree
 * of the referrer (to find the edge's label); memory O(drawn) plus the
 * side arrays.  Returns 0, or -1 after an error (exit 4 or 5).
 */
int hs_draw_walk(struct hs_draw *d, const uint32_t *targets, uint32_t ntargets,
                 enum hs_picture_dir dir, uint32_t depth, uint32_t too_many);

/*
 * A retention path: root r (index into g->roots) down to the last edge's
 * target, edges[0 .. nedges) as hs_bfs_path() returns them.  The last
 * object (the root itself when nedges is 0) is marked HS_PIC_TARGET and
 * drawn at depth 0, the root at depth nedges.  A path of more than
 * HS_DRAW_PATH_MAX steps keeps its first and last halves, joined by one
 * labelled edge (cuts.steps counts the rest).  Paths drawn into the same
 * picture merge where they share objects.  Sets direction BACKREFS.
 * O(nedges) plus a snapshot probe per drawn step.  0, or -1 (exit 4, 5).
 */
int hs_draw_path(struct hs_draw *d, uint32_t r, const uint32_t *edges,
                 uint32_t nedges);

/*
 * An object no root reaches (d->bfs must be set): v (target), the
 * components that hold it (hs_paths_explain_unreachable()) with the
 * references between their members, and a shortest path from each
 * component down to v (elided like hs_draw_path()).  Depth is the
 * distance to v.  Cost: O(A + E) for the A unreached ancestors of v and
 * the E references into them, plus 8 bytes per graph node while it runs.
 * 0, or -1 (exit 4, 5).
 */
int hs_draw_holders(struct hs_draw *d, uint32_t v);

/*
 * Draws why v is alive, as `why OBJ --svg` does: its path from the root
 * the BFS found (d->bfs must be set), or what holds it when no root
 * reaches it.  Appends the picture's title ("why Foo @0x11000 is alive:
 * module __main__ (module root)") to `title` unless it is NULL.  0, or -1
 * as hs_draw_object().  O(dist) plus hs_draw_path()'s or
 * hs_draw_holders()'s cost.
 */
int hs_draw_why_object(struct hs_draw *d, uint32_t v, struct hs_buf *title);

/* Components above this many members are drawn as their type summary. */
#define HS_DRAW_CYCLE_SUMMARY 60

/*
 * The members of component c of `scc` (which must describe d->g) and the
 * references between them, depth being the distance from the component's
 * smallest member along its references (a BFS inside the component).
 * A component of more than HS_DRAW_CYCLE_SUMMARY members is drawn as its
 * type-level summary instead: a box per member type with its count, an
 * arrow per kind of reference between types with how many it stands for
 * (".next ×4,000"), and a few members as objects.  Sets direction REFS.
 * O(members + their references); 0, or -1.
 */
int hs_draw_component(struct hs_draw *d, const struct hs_scc *scc, uint32_t c);

/*
 * Checks early, before any work, that `path` can be drawn to: "-" (DOT on
 * standard output) is fine; otherwise a known extension whose Graphviz
 * plugins load (hs_render_dot_check()) and an existing, writable folder.
 * Returns 0, or -1 after an error (exit 2 for the extension, 4 for the
 * folder or missing plugins).
 */
int hs_draw_check_output(const char *path);

/*
 * Writes the picture to `path` (format by extension, atomically, see
 * hs_render_dot_file()), or its DOT text to standard output for "-".
 * 0, or -1 after an error (exit 2, 4 or 5).
 */
int hs_draw_write(struct hs_draw *d, const char *path);

/*
 * Appends what was drawn and cut, for people: "12 objects, 14 references;
 * cut: 1,233 more references beyond --too-many 10, 40 objects beyond
 * --max-nodes 1000".  `refs_word` names what "more" boxes count
 * ("references" or "backreferences").  Can't fail.
 */
void hs_draw_describe(const struct hs_draw *d, const char *refs_word,
                      struct hs_buf *out);

/*
 * why OBJ --svg/--dot: draws the answer to "why is it alive" for `set` (as
 * hs_objspec_resolve() gave it for `spec`): with no `pg`, for its one
 * object, the retention path (hs_draw_path) or, unreachable, its holders
 * (hs_draw_holders); else one example path per path group of `pg` (the
 * groups `why` computed and printed, over objects of `total` bytes) for
 * the first `npaths` groups, merged where they share objects, each
 * group's count in the title.  Writes the picture to `svg` and/or `dot`
 * (either may be NULL) and notes on stderr what was written.  `dom` and
 * `bfs` are the ones `why` computed.  Cost: the drawing only.  0, or -1
 * (exit 2-5).
 */
int hs_draw_why(struct hs_graph *g, struct hs_naming *names,
                const struct hs_dominators *dom, const struct hs_bfs *bfs,
                const struct hs_objset *set, const char *spec,
                const struct hs_path_groups *pg, uint64_t total, int npaths,
                const char *svg, const char *dot);

/*
 * cycles --svg/--dot: draws components ids[0 .. count) of `scc` (the ones
 * `cycles` listed, in its order) with hs_draw_component(), garbage marked
 * unreachable, at most `max_nodes` objects, with the retained sizes of
 * `dom`; writes `svg` and/or `dot` and notes on stderr what was written.
 * 0, or -1 (exit 2-5).
 */
int hs_draw_cycles(struct hs_graph *g, struct hs_naming *names,
                   const struct hs_bfs *bfs, const struct hs_dominators *dom,
                   const struct hs_scc *scc,
                   const uint32_t *ids, uint32_t count, uint32_t max_nodes,
                   const char *svg, const char *dot);

/*
 * Checks the picture options of why and cycles early: --svg FILE takes
 * any drawable extension, --dot FILE must end in .dot or .gv; neither may
 * be "-" (those commands print their answer on standard output).  Then
 * hs_draw_check_output() on each.  0, or -1 (exit 2 or 4; usage errors
 * name `cmd` in the hint).
 */
int hs_draw_check_files(const char *cmd, const char *svg, const char *dot);

#endif /* HS_DRAW_H */
