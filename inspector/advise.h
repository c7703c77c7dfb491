/*
 * advise.h: what the finders of `heapsnap advise` share.  Each kind of
 * finding lives in its own file (advise_slots.c, advise_array.c,
 * advise_duplicates.c, ...) and appends its findings to one list;
 * report_advise.c runs them, orders the findings by bytes saved and
 * builds the answer (report.h).  A finder reads the loaded heap (graph,
 * naming, BFS) and the snapshot's bulk facts (snapshot_facts.h); it
 * prints nothing and never recurses.
 *
 * Every saving is computed from the snapshot's own sizes (objects.size,
 * which is sys.getsizeof, and type_layouts for what an instance holds
 * outside it) for the Python version that wrote it, and counts only
 * objects that the fix would really free: an object another reference
 * also holds stays alive and saves nothing.
 */
#ifndef HS_ADVISE_H
#define HS_ADVISE_H

#include "heapsnap.h"
#include "bfs.h"
#include "dominators.h"
#include "graph.h"
#include "naming.h"
#include "sites.h"
#include "snapshot_facts.h"

/* One finding. */
struct hs_advice {
    const char *kind;     /* "slots", "array", ... (static) */
    char *title;          /* one line saying what was found (owned) */
    uint64_t bytes_saved; /* what the fix would free */
    uint64_t count;       /* objects the finding concerns */
    uint32_t type;        /* index into g->types, or UINT32_MAX */
    uint32_t example;     /* node of an example object, or UINT32_MAX */
    char *fix;            /* one line: what to change (owned) */
    char *basis;          /* how the saving was computed (owned) */
    uint32_t opened_at;   /* open_resources: the frame (sites.h) that
                             opened them, 0 when unknown */
};

struct hs_advice_list {
    struct hs_advice *v; /* findings, in the order found until sorted */
    uint32_t n, alloc;
};

/* What finders share that is computed on first use: edge labels
 * (report_advise.c's, filled through the const context). */
struct hs_advise_cache;

/* What every finder reads, all borrowed. */
struct hs_advise_ctx {
    struct hs_graph *g;
    struct hs_naming *names;
    const struct hs_bfs *bfs;
    struct hs_dominators *dom;            /* the heap's dominator tree */
    const struct hs_type_layout *layouts; /* g->ntypes entries */
    int have_layouts;                     /* the snapshot has type_layouts */
    uint64_t pointer;        /* sizeof(void *) there (meta pointer_size) */
    uint64_t min_bytes;      /* report findings saving at least this */
    uint32_t *in_deg;        /* per node: references to it that retain */
    uint8_t *rooted;         /* per node: 1 when a root holds it */
    uint32_t dict_type;      /* the builtin dict type, or UINT32_MAX */
    uint32_t module_type;    /* the builtin module type, or UINT32_MAX */
    const uint8_t *is_class; /* per node: 1 for a class (an object whose
                                type is a metaclass) */
    uint32_t py_version;     /* meta python_version, 31304 for 3.13.4, or
                                0 when unknown */
    const struct hs_sites *sites;  /* allocation sites, or NULL when the
                                     snapshot recorded none */
    struct hs_advise_cache *cache; /* shared, filled on first use */
};

/* Appends a finding (its strings are taken over) and returns it. */
struct hs_advice *hs_advice_add(struct hs_advice_list *l, const char *kind,
                                uint64_t bytes_saved, uint64_t count,
                                uint32_t type, uint32_t example, char *title,
                                char *fix, char *basis);

/* The index into g->types of the builtin type `name` ("str"), or
 * UINT32_MAX when the snapshot has none.  O(T). */
uint32_t hs_advise_builtin(const struct hs_graph *g, const char *name);

/* The references of kind `kind` out of node v.  O(out-degree). */
uint32_t hs_advise_count_kind(const struct hs_graph *g, uint32_t v,
                              uint8_t kind);

/*
 * Would freeing v's holder free v too: v is held by exactly one retaining
 * reference, no root, and it is neither immortal nor static (small ints,
 * interned singletons)?  O(1).
 */
int hs_advise_freed_with_holder(const struct hs_advise_ctx *c, uint32_t v);

/*
 * The bytes of attribute values instance v holds outside objects.size
 * (type_layouts.values_bytes): inline values always (3.13+); a values
 * array allocated apart (3.11, 3.12) unless v has a __dict__ (taken to be
 * any attribute reference to a dict: an overcount never, an undercount
 * when a value is a dict).  0 for other objects.  O(out-degree).
 */
uint64_t hs_advise_values_extra(const struct hs_advise_ctx *c, uint32_t v);

/*
 * hs_advise_values_extra() summed over v's dominator subtree: what v
 * retains outside objects.size, to add to dom->retained[v].  *stack and
 * *alloc: scratch the caller frees.  O(subtree).
 */
uint64_t hs_advise_subtree_extra(const struct hs_advise_ctx *c, uint32_t v,
                                 uint32_t **stack, uint32_t *alloc);

/*
 * The HS_ADVISE_TYPES types with the highest count[type] (a heap type
 * first among equals), appended to b as "dict ×200,000, list ×10"; the
 * first of them is returned, UINT32_MAX when every count is 0.  O(T).
 */
#define HS_ADVISE_TYPES 3
uint32_t hs_advise_top_types(const struct hs_graph *g, const uint32_t *count,
                             struct hs_buf *b);

/*
 * hs_graph_edge_args() for finders: the edge_list.arg of each of the n
 * `edges` into arg[0 .. n) (left as it is for a NULL arg).  The first
 * calls look each label up by rowid until the lookups, summed over the
 * calls, would cost as much as reading every edge's label; then every
 * label is read at once (from the graph cache, or in one scan of
 * edge_list) and kept for the later calls (several finders label
 * thousands of edges each; a range scan per finder read most of the
 * table each time).  The lookups cost at most what the scan does.  0, or
 * -1 after an error (exit 4).  O(n) once read.
 */
int hs_advise_edge_args(const struct hs_advise_ctx *c, const uint32_t *edges,
                        uint32_t n, uint32_t *arg);

/* Is v held by a module or a class attribute: is its BFS parent a module
 * or a class, or the __dict__ (namespace) of one?  *holder (when not
 * NULL) is set to that module or class.  O(1). */
int hs_advise_namespace_holder(const struct hs_advise_ctx *c, uint32_t v,
                               uint32_t *holder);

/* Appends the path to v, without its last step's " → TYPE": the
 * attribute names the object ("module m .CACHE").  O(path). */
void hs_advise_path_label(const struct hs_advise_ctx *c, uint32_t v,
                          struct hs_buf *label);

/* The finders, one per kind.  Each returns 0, or -1 after an error
 * (printed, exit code recorded). */
int hs_advise_slots(const struct hs_advise_ctx *c, struct hs_advice_list *l);
int hs_advise_array(const struct hs_advise_ctx *c, struct hs_advice_list *l);
int hs_advise_duplicates(const struct hs_advise_ctx *c,
                         struct hs_advice_list *l);
int hs_advise_sparse(const struct hs_advise_ctx *c, struct hs_advice_list *l);
int hs_advise_garbage(const struct hs_advise_ctx *c, struct hs_advice_list *l);
int hs_advise_weak_cache(const struct hs_advise_ctx *c,
                         struct hs_advice_list *l);
int hs_advise_resources(const struct hs_advise_ctx *c,
                        struct hs_advice_list *l);
int hs_advise_backref(const struct hs_advise_ctx *c, struct hs_advice_list *l);
int hs_advise_materialized(const struct hs_advise_ctx *c,
                           struct hs_advice_list *l);
int hs_advise_gc(const struct hs_advise_ctx *c, struct hs_advice_list *l);

#endif /* HS_ADVISE_H */
