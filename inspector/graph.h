/*
 * graph.h: a snapshot loaded into memory as compact arrays, the input of
 * every algorithm (paths, cycles, dominators).
 *
 * Nodes are dense: node v is objects.id v + 1.  Edges are numbered in
 * edge_list rowid order, which the agent writes in src order, so the
 * forward CSR is the table itself: the edges of v are
 * out_off[v] .. out_off[v + 1] - 1, and edge e is edge_list rowid
 * hs_graph_edge_row(g, e) (e + 1 unless the file was written out of order).
 * The reverse CSR lists, for each node, the sources of its incoming edges,
 * each tagged with whether that edge retains (see hs_graph_in_*()).
 *
 * Memory: 32 bytes per node and 9 bytes per edge.  Nodes are limited to
 * 2^31 - 1 (the top bit of in_src is a tag) and edges to 2^32 - 1.
 *
 * The single rule for "does this reference keep its target alive" is
 * hs_graph_retains(): edge_kinds.retains as stored in the snapshot (weak
 * references never do).  Every retention algorithm uses it.
 */
#ifndef HS_GRAPH_H
#define HS_GRAPH_H

#include "heapsnap.h"
#include "snapshot.h"
#include "schema_numbers.h"

/* Edge kinds (enum hs_edge_kind), object flags (HS_OBJ_*) and type flags
 * (HS_TYPE_*) come from the schema's rows: build/gen/schema_numbers.h,
 * made by tools/schema_numbers.sh. */

/* Room for edge kinds a newer agent may add: kinds are bytes indexing
 * per-kind tables of this size. */
#define HS_EDGE_NKINDS 16
_Static_assert(HS_EDGE_SCHEMA_KINDS <= HS_EDGE_NKINDS,
               "more edge kinds in the schema than HS_EDGE_NKINDS");

/* Root kinds (roots.kind), in the order `why` prefers them. */
enum hs_root_kind {
    HS_ROOT_MODULE,   /* a module in sys.modules */
    HS_ROOT_FRAME,    /* a local variable of a running frame */
    HS_ROOT_THREAD,   /* per-thread state */
    HS_ROOT_SYS,      /* interpreter state: sys.modules, sys dict, ... */
    HS_ROOT_BUILTINS, /* the builtins dict */
    HS_ROOT_GC,       /* gc.garbage, gc.callbacks */
    HS_ROOT_INTERNED, /* interned strings */
    HS_ROOT_STATIC,   /* static or immortal containers */
    HS_ROOT_EXTERNAL, /* held from outside the Python heap */
    HS_ROOT_OTHER,    /* a kind this inspector does not know */
    HS_ROOT_NKINDS
};

/*
 * Preference class of a root kind for `why`: 0 user level (module, frame,
 * thread), 1 interpreter internals, 2 external.  Lower is preferred.
 */
int hs_root_class(enum hs_root_kind kind);
const char *hs_root_kind_name(enum hs_root_kind kind);
enum hs_root_kind hs_root_kind_parse(const char *name);

struct hs_type {
    uint32_t node;  /* the type object's node */
    char *name;     /* __name__ */
    char *module;   /* __module__, or NULL */
    char *qualname; /* __qualname__, or NULL */
    uint32_t flags; /* HS_TYPE_* */
    uint32_t count; /* instances in the snapshot */
    uint64_t bytes; /* their total shallow size */
};

struct hs_root {
    uint32_t node;  /* the object the root holds */
    uint8_t kind;   /* enum hs_root_kind */
    int64_t row;    /* roots rowid: label, thread and frame live there */
};

struct hs_graph {
    struct hs_snapshot *snap; /* the file it came from (not owned) */
    uint32_t n;               /* nodes */
    uint32_t m;               /* edges */

    /* Per node (n entries). */
    uint64_t *address; /* id(obj) */
    uint64_t *size;    /* shallow size */
    uint32_t *type;    /* index into types[] */
    uint32_t *flags;   /* HS_OBJ_* */

    /* Forward CSR: out_off has n + 1 entries; out_dst, out_kind m. */
    uint32_t *out_off;
    uint32_t *out_dst;
    uint8_t *out_kind;

    /* Reverse CSR: in_off has n + 1 entries, in_src m.  The incoming
     * edges of v come from hs_graph_in_src(g, i) for i in
     * in_off[v] .. in_off[v + 1] - 1, sorted by source; an edge appears
     * once per reference (a list holding v twice gives two entries).  The
     * top bit of in_src marks an edge that does not retain. */
    uint32_t *in_off;
    uint32_t *in_src;

    /* edge_list rowid of edge e, or NULL when it is e + 1 for every e. */
    int64_t *edge_row;

    /* retains[k]: edges of kind k keep their target alive (edge_kinds). */
    uint8_t retains[HS_EDGE_NKINDS];

    struct hs_type *types; /* every row of types */
    uint32_t ntypes;

    struct hs_root *roots; /* every row of roots, by preference class */
    uint32_t nroots;

    uint64_t *addr_sorted; /* built on the second lookup: every address,
                              sorted */
    uint32_t *addr_node;   /* node of addr_sorted[i] */
    uint32_t addr_lookups; /* hs_graph_node_of_address() calls so far */
};

/* Arrays that describe a graph without a file (tests, benchmarks). */
struct hs_graph_spec {
    uint32_t n;            /* nodes */
    uint32_t m;            /* edges */
    const uint32_t *src;   /* m sources, in any order */
    const uint32_t *dst;   /* m destinations */
    const uint8_t *kind;   /* m kinds, or NULL for all HS_EDGE_ATTR */
    const uint64_t *size;  /* n sizes, or NULL for all 1 */
    const uint32_t *roots; /* nroots root nodes */
    const uint8_t *root_kind; /* nroots kinds, or NULL for HS_ROOT_MODULE */
    uint32_t nroots;
};

/*
 * Loads `s` into memory.  Cost: one scan of objects, types, roots and
 * edge_list, O(n + m) time and 32 n + 9 m bytes.  Returns NULL after an
 * error: exit 3 when the file breaks the format's invariants (ids not
 * dense, an edge to a missing object), 4 on I/O errors.  Prints progress on
 * a terminal when loading takes more than a second.
 */
struct hs_graph *hs_graph_load(struct hs_snapshot *s);

/*
 * Builds a graph from arrays (no snapshot; types are empty and every node
 * has type 0 unless the caller fills them).  Edges keep the order of the
 * spec within each source.  O(n + m).
 */
struct hs_graph *hs_graph_build(const struct hs_graph_spec *spec);

void hs_graph_free(struct hs_graph *g);

/* Does an edge of this kind keep its target alive?  The one rule. */
static inline int
hs_graph_retains(const struct hs_graph *g, uint8_t kind)
{
    return kind < HS_EDGE_NKINDS && g->retains[kind];
}

#define HS_IN_WEAK_BIT 0x80000000u

/* Source of the i-th entry of the reverse CSR. */
static inline uint32_t
hs_graph_in_src(const struct hs_graph *g, uint32_t i)
{
    return g->in_src[i] & ~HS_IN_WEAK_BIT;
}

/* Does the i-th entry of the reverse CSR retain its target? */
static inline int
hs_graph_in_retains(const struct hs_graph *g, uint32_t i)
{
    return !(g->in_src[i] & HS_IN_WEAK_BIT);
}

/* edge_list rowid of edge e (to fetch its label through the edges view). */
static inline int64_t
hs_graph_edge_row(const struct hs_graph *g, uint32_t e)
{
    return g->edge_row ? g->edge_row[e] : (int64_t)e + 1;
}

/*
 * Calls fn(src, e, arg) for every edge src --e--> v, in source order.
 * Edge numbers are found by scanning each distinct source's out-edges, so
 * the cost is the sum of those sources' out-degrees.  Stops early and
 * returns fn's value when it is non-zero; else 0.
 */
int hs_graph_each_in_edge(const struct hs_graph *g, uint32_t v,
                          int (*fn)(uint32_t src, uint32_t e, void *arg),
                          void *arg);

/*
 * The edge_list.arg (a names.id; 0 for NULL) of each of the n `edges`
 * into arg[0 .. n), read from g->snap: one rowid lookup per edge while
 * they are few, otherwise one ordered scan of edge_list from the first
 * needed row to the last; rows are visited in rowid order either way.
 * The graph does not load that column: only grouping paths by shape
 * needs it, for a few edges.  arg is left as it is for a graph without a
 * snapshot.  0, or -1 after an error (exit 4).
 */
int hs_graph_edge_args(const struct hs_graph *g, const uint32_t *edges,
                       uint32_t n, uint32_t *arg);

/* The source node of edge e.  O(log n). */
uint32_t hs_graph_edge_src(const struct hs_graph *g, uint32_t e);

/* The names.id of `text` into *id, 0 when no edge is named so (or the
 * graph has no snapshot).  0, or -1 after an error reading the snapshot
 * (exit 4).  names has no index on its text: one scan of names. */
int hs_graph_name_id(const struct hs_graph *g, const char *text,
                     uint32_t *id);

/* hs_graph_name_id() for the n `texts` at once, into ids[0 .. n): one
 * scan of names for them all (a caller with several names to look up
 * pays one scan, not one each). */
int hs_graph_name_ids(const struct hs_graph *g, const char *const *texts,
                      uint32_t n, uint32_t *ids);

/* The first node (by id) whose objects.value is `value` or `value2` and
 * that `accept` accepts, or -1 (none, no snapshot, or an error reading
 * it).  One scan of objects. */
int64_t hs_graph_find_value(const struct hs_graph *g, const char *value,
                            const char *value2,
                            int (*accept)(const struct hs_graph *g,
                                          uint32_t v));

/* objects.id of node v, and back (-1 when out of range). */
static inline int64_t
hs_graph_object_id(uint32_t v)
{
    return (int64_t)v + 1;
}

int64_t hs_graph_node_of_id(const struct hs_graph *g, int64_t object_id);

/* The node at address `addr`, or -1.  The first lookup scans, O(n); the
 * second builds an index, O(n log n), and later ones take O(log n). */
int64_t hs_graph_node_of_address(struct hs_graph *g, uint64_t addr);

/* The type of node v. */
static inline const struct hs_type *
hs_graph_type_of(const struct hs_graph *g, uint32_t v)
{
    return &g->types[g->type[v]];
}

/* "module.Name" or "Name" for builtins, into out; returns out. */
const char *hs_type_display_name(const struct hs_type *t, char *out,
                                 size_t len);

#endif /* HS_GRAPH_H */
