/*
 * naming.h: how objects, references and roots are spelt for people.  Edge
 * labels come from the snapshot's `edges` view, so the text printed by
 * heapsnap and the text plain SQL returns are the same by construction;
 * values, lengths and refcounts are read per object on demand (the graph
 * keeps only what algorithms need).
 */
#ifndef HS_NAMING_H
#define HS_NAMING_H

#include "graph.h"

struct hs_naming;

/* Prepared lookups over g's snapshot; NULL after an error (exit 4). For a
 * graph without a snapshot, every lookup answers with generic text. */
struct hs_naming *hs_naming_new(struct hs_graph *g);
void hs_naming_free(struct hs_naming *n);

/* The graph a naming context describes. */
struct hs_graph *hs_naming_graph(const struct hs_naming *n);

/* Per-object facts the graph does not hold. */
struct hs_objfacts {
    int64_t refcount;   /* objects.refcount */
    int64_t length;     /* objects.length, -1 when NULL */
    char *value;        /* objects.value (malloc'd), NULL when NULL */
    int64_t reported_size; /* reported_sizes.size (a Python __sizeof__'s
                              figure), -1 when none */
};

/* Fills `out` (release with hs_objfacts_release); 0 or -1 (exit 4). */
int hs_naming_facts(struct hs_naming *n, uint32_t v, struct hs_objfacts *out);
void hs_objfacts_release(struct hs_objfacts *f);

/* Appends where v was allocated, "FILE:LINE in FUNCTION" (the innermost
 * frame of its allocation traceback); returns 1, or 0 (nothing appended)
 * when the snapshot has none for v.  One primary-key probe. */
int hs_naming_site(struct hs_naming *n, uint32_t v, struct hs_buf *out);

/* Appends the label of edge e: ".name", "['users']", "[3]", "local buf". */
void hs_naming_edge(struct hs_naming *n, uint32_t e, struct hs_buf *out);

/*
 * Appends a short description of node v: its type and, when it has one,
 * a short value: "module __main__", "str 'abc'", "dict (3 items)",
 * "function handle", "LeakedRequest".  `qualified` spells types with their
 * module ("__main__.LeakedRequest").
 */
void hs_naming_object(struct hs_naming *n, uint32_t v, int qualified,
                      struct hs_buf *out);

/* Appends the short value of v alone ("'abc'", "42", "3 items"), or
 * nothing; returns 1 if anything was appended. */
int hs_naming_value(struct hs_naming *n, uint32_t v, struct hs_buf *out);

/*
 * Appends what root r (index into g->roots) is, for people: "module
 * __main__", "local buf of main() at app.py:12 in thread 'MainThread'",
 * "2 references from outside the heap", "sys.modules", ...
 */
void hs_naming_root(struct hs_naming *n, uint32_t r, struct hs_buf *out);

/* Details of a frame root (for JSON): thread name, function, file, line.
 * Strings are malloc'd; NULL when unknown.  0 when r is a frame root. */
struct hs_rootinfo {
    char *label;    /* roots.label */
    char *thread;   /* threads.name */
    char *function; /* frames.function */
    char *file;     /* frames.file */
    int64_t line;   /* frames.line, -1 */
    int64_t thread_ident; /* threads.ident, -1 */
};
int hs_naming_rootinfo(struct hs_naming *n, uint32_t r,
                       struct hs_rootinfo *out);
void hs_rootinfo_release(struct hs_rootinfo *ri);

/*
 * Appends the label of a path-shape step: an edge of `kind` whose
 * edge_list.arg is `arg` (a names.id for named kinds), spelt with the
 * snapshot's edge_kinds prefix and suffix like the edges view does; a
 * wildcarded position prints as "*" ("[*]").
 */
void hs_naming_step(struct hs_naming *n, uint8_t kind, uint32_t arg, int wild,
                    struct hs_buf *out);

/*
 * Calls fn(v, value, arg) for every node v in order, with its
 * objects.value (NULL when NULL; valid during the call only), in one
 * ordered scan of objects: for readers of every object (export).
 * Returns fn's first non-zero answer, else 0; -1 after a read error or an
 * objects table that no longer matches the graph (exit 4 / 3).  Without
 * a snapshot every value is NULL.
 */
int hs_naming_each_value(struct hs_naming *n,
                         int (*fn)(uint32_t v, const char *value, void *arg),
                         void *arg);

/*
 * Calls fn(e, arg, is_null, ctx) for every edge e in order with its
 * edge_list.arg: one ordered scan of edge_list when the edges are in file
 * order, one rowid lookup per edge otherwise.  Returns as
 * hs_naming_each_value() does.
 */
int hs_naming_each_edge_arg(struct hs_naming *n,
                            int (*fn)(uint32_t e, int64_t arg, int is_null,
                                      void *ctx),
                            void *ctx);

/* The name of an edge kind ("attr", "value", ...), from edge_kinds. */
const char *hs_naming_kind(struct hs_naming *n, uint8_t kind);

/* Type name of v: short ("dict") or qualified ("collections.OrderedDict"). */
const char *hs_naming_type(const struct hs_graph *g, uint32_t v,
                           int qualified, char *buf, size_t len);

#endif /* HS_NAMING_H */
