/*
 * report.h: the answer layer.  What `info`, `why`, `show`, `top` and
 * `cycles` answer, computed once from a loaded heap (heap.h) by
 * report_<command>.c, and the JSON documents built from those answers.
 * The commands (cmd_*.c) print the answers as text and print the
 * documents for --json; `heapsnap serve` (serve_api.c) sends the same
 * documents; the pictures (draw.c) draw the same answers.  So the viewer's
 * JSON, the commands' JSON and their text cannot drift apart, and no
 * command calls another.
 *
 * Every document is new and the caller frees it with hs_json_free().
 * With src->viewer set a builder adds the viewer's fields beside the
 * command's (an object's "description" and "type_id", a reference's
 * retained size, ...); without it the document is exactly the command's
 * --json output.  Nothing here prints (errors excepted), and nothing
 * recurses.
 */
#ifndef HS_REPORT_H
#define HS_REPORT_H

#include "heapsnap.h"
#include "dominators.h"
#include "graph.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "scc.h"
#include "sites.h"
#include "summary.h"

/* What the builders read, all borrowed.  bfs and dom may be NULL for the
 * builders that say so; dom is not const because the dominator tree's
 * child lists are built on first use (dominators.h). */
struct hs_json_src {
    struct hs_graph *g;
    struct hs_naming *names;
    const struct hs_bfs *bfs;
    struct hs_dominators *dom;
    int viewer; /* add the web viewer's fields */
    const struct hs_sites *sites; /* allocation sites, or NULL: answers
                                     then leave them out */
};

struct hs_why_groups; /* report_why.c, below */

/* ---- report_info.c ------------------------------------------------------ */

/* `info --json` of a loaded summary.  O(meta + root kinds + threads). */
struct hs_json *hs_info_json(const struct hs_summary *sum);

/* ---- report_why.c ------------------------------------------------------- */

/*
 * The retention path of v as one line, at most max_steps steps (0: all)
 * with the middle elided; "(unreachable: cyclic garbage)" when no root
 * reaches v, and " (a root)" after a root when mark_root.  Appends to
 * `out`.  O(dist log n).
 */
void hs_why_path_line(const struct hs_json_src *src, uint32_t v,
                      uint32_t max_steps, int mark_root, struct hs_buf *out);

/* An object's id, address, type, size and retained_size into `o`, the
 * fields every object in the commands' JSON starts with.  O(1). */
void hs_why_node_fields(const struct hs_json_src *src, uint32_t v,
                        struct hs_json *o);

/* With src->viewer, the viewer's fields of an object into `o`: "type_id"
 * and "description" ("str 'abc'", "dict (3 items)"); else nothing.  One
 * or two primary-key probes of the snapshot. */
void hs_why_viewer_fields(const struct hs_json_src *src, uint32_t v,
                          struct hs_json *o);

/*
 * One object as `why --json` lists it: id, address, type, size,
 * retained_size, value and length when it has them (viewer: plus
 * "type_id" and "description").  Two primary-key probes of the snapshot.
 */
struct hs_json *hs_why_node_json(const struct hs_json_src *src, uint32_t v);

/*
 * Why one object is alive, into `doc` (`why OBJ --json`): "object", then
 * "reason", "root", "path" (every step with the object it reaches) and
 * "text"; or, for an object no root reaches, "held_by".  A path longer
 * than max_steps (0: never) keeps its first and last halves around one
 * {"elided": K} step.  Viewer: plus "distance" and each holder's first
 * member ids.  Cost: O(dist log n) plus 3 probes per listed step; for an
 * unreachable object hs_paths_explain_unreachable()'s.
 */
void hs_why_object_json(const struct hs_json_src *src, uint32_t v,
                        uint32_t max_steps, struct hs_json *doc);

/*
 * A set of objects grouped by the shape of their paths (`why TYPE
 * --json`), rendered from groups computed by hs_why_groups_run() over the
 * `count` nodes into `doc`: query, type (when `type` is not UINT32_MAX),
 * count, bytes, retained size, the first npaths groups with an example
 * each (its path at most path_steps steps, 0: all), groups_not_shown.
 * `groups` is not const: its shape scratch grows.  Cost: 3 probes per
 * shown group plus its path.
 */
void hs_why_groups_render_json(const struct hs_json_src *src,
                               struct hs_why_groups *groups, uint32_t count,
                               const char *spec, uint32_t type, int npaths,
                               uint32_t path_steps, struct hs_json *doc);

/*
 * hs_why_groups_run() and hs_why_groups_render_json() in one, for the
 * server.  Returns 0, or -1 after an error grouping the paths.  Cost: O(n)
 * (2 bytes per node while it runs) plus hs_paths_group()'s.
 */
int hs_why_groups_json(const struct hs_json_src *src, const uint32_t *nodes,
                       uint32_t count, const char *spec, uint32_t type,
                       int npaths, uint32_t path_steps, struct hs_json *doc);

/*
 * A set of objects grouped by path shape, with the retained sizes of the
 * whole set and of each group, groups biggest retained size first.  A
 * retained byte counts once, at the outermost member holding it: for the
 * set among all its members, for a group among the group's members (so a
 * group nested in another group's members still says what it retains).
 */
struct hs_why_groups {
    struct hs_path_groups pg; /* groups in retained order */
    const uint32_t *nodes;    /* the nodes grouped, pg.group_of's order
                                 (borrowed from hs_why_groups_run()'s
                                 caller) */
    uint32_t count;           /* entries of nodes */
    uint64_t total;           /* shallow bytes of the set */
    uint64_t retained;        /* retained by the set, nested ones once */
    uint32_t nested;          /* members inside another member */
    uint64_t *group_retained; /* pg.ngroups: retained by the group's
                                 members, nested ones once */
    uint32_t *group_nested;   /* pg.ngroups: members inside another member
                                 of the same group */
    uint32_t *group_inside;   /* pg.ngroups: outermost in their group but
                                 inside a member of another group */
    struct hs_path_step *steps; /* scratch of hs_why_group_shape() */
    size_t steps_alloc;
};

/*
 * Groups `nodes` by the shape of their paths, sums their retained sizes
 * (struct hs_why_groups: each byte once, at the outermost member; a node
 * given twice counts once) and orders the groups by them.  `wg` is initialized here; release it with
 * hs_why_groups_release() either way.  0, or -1 after an error (printed).
 * O(n) plus hs_paths_group()'s cost; 2 bytes per node while it runs.
 */
int hs_why_groups_run(const struct hs_json_src *src, const uint32_t *nodes,
                      uint32_t count, struct hs_why_groups *wg);
void hs_why_groups_release(struct hs_why_groups *wg);

/* The shape of group k's paths into `out` (reset first). */
void hs_why_group_shape(const struct hs_json_src *src,
                        struct hs_why_groups *wg, uint32_t k,
                        struct hs_buf *out);

/* Holder c of h (hs_paths_explain_unreachable()): its members described
 * into `b` (reset first), "2 CycleNode objects"; returns whether v is one
 * of them.  O(members). */
int hs_why_holder_describe(const struct hs_graph *g,
                           const struct hs_unreach_holders *h, uint32_t c,
                           uint32_t v, struct hs_buf *b);

/* ---- report_show.c ------------------------------------------------------ */

/*
 * One object in full (`show --json`), its first `limit` referrers and
 * referents with their totals.  Viewer: plus descriptions, type ids, each
 * reference's retained size and weakness, the idom in full with a note,
 * the reachable heap.  NULL after an error reading the object (printed).
 * Cost: O(R) over the roots plus the first `limit` in-edges, 3 probes per
 * listed reference.
 */
struct hs_json *hs_show_json(const struct hs_json_src *src, uint32_t v,
                             uint32_t limit);

/* The names of the object_flags bits set in `flags`, comma-separated,
 * appended to `out`: "gc_tracked, has_del".  O(bits). */
void hs_show_flags_text(uint32_t flags, struct hs_buf *out);

/*
 * The first `limit` referrers of v, in hs_graph_each_in_edge()'s order:
 * their nodes into *src and the references into *edge (malloc'd arrays
 * the caller frees); returns how many.  The rest are counted from the
 * in-degree.  O(limit) plus the in-edge walk's cost.
 */
uint32_t hs_show_referrers(const struct hs_graph *g, uint32_t v,
                           uint32_t limit, uint32_t **src, uint32_t **edge);

/* The roots that hold v: appended to the JSON array `arr` ({kind,
 * description} each) when it is not NULL, else to `text` as
 * "module: ...; frame: ...".  O(R) over the roots. */
void hs_show_roots(const struct hs_graph *g, struct hs_naming *names,
                   uint32_t v, struct hs_json *arr, struct hs_buf *text);

/* ---- report_top.c ------------------------------------------------------- */

enum hs_top_order { HS_TOP_BY_SIZE, HS_TOP_BY_COUNT, HS_TOP_BY_RETAINED };

/* The orders by name, indexed by enum hs_top_order (`--by`, "by" in the
 * JSON); NULL-terminated. */
extern const char *const hs_top_order_names[];

/* The accumulation point is below a child holding this share or more. */
#define HS_ACCUMULATION_RATIO 0.8

struct hs_top_row {
    uint32_t type;     /* index into g->types */
    uint32_t count;    /* instances */
    uint64_t bytes;    /* their shallow size */
    uint64_t retained; /* their retained size (nested ones once) */
};

/* part as a percentage of whole; 0 when whole is 0. */
static inline double
hs_percent(uint64_t part, uint64_t whole)
{
    return whole ? 100.0 * (double)part / (double)whole : 0.0;
}

/* The types with instances in `order` (malloc'd, *nrows of them) with
 * their totals; `tret` (per-type retained sizes) may be NULL unless the
 * order is by retained size.  O(T log T). */
struct hs_top_row *hs_top_type_rows(const struct hs_graph *g,
                                    enum hs_top_order order,
                                    const uint64_t *tret, uint32_t *nrows,
                                    uint64_t *total_count,
                                    uint64_t *total_bytes);

/* The `want` reachable nodes with the largest retained size, biggest
 * first (ties: lower node first), into out; returns how many.  A bounded
 * insertion into a sorted array, O(n want). */
uint32_t hs_top_biggest(const struct hs_graph *g,
                        const struct hs_dominators *dom, uint32_t want,
                        uint32_t *out);

/* An object with its path, as --objects and --suspects list it (viewer:
 * plus its description and type id).  Two probes of the snapshot. */
struct hs_json *hs_top_owner_json(const struct hs_json_src *src, uint32_t v);

/* `top --objects --json`: the objects nodes[0 .. n) (hs_top_biggest())
 * with their paths, and the reachable heap's bytes.  Two probes of the
 * snapshot per object. */
struct hs_json *hs_top_objects_json(const struct hs_json_src *src,
                                    const uint32_t *nodes, uint32_t n);

/* The children of the dominators' virtual root, biggest retained size
 * first (malloc'd, *n of them).  O(R log R). */
uint32_t *hs_top_suspect_order(struct hs_dominators *dom, uint32_t *n);

/* Does type k pass the suspects' bar: a heap type whose instances retain
 * `limit` bytes or more? */
int hs_top_type_suspect(const struct hs_graph *g, const uint64_t *tret,
                        uint32_t k, uint64_t limit);

/* "LeakedRequest ×20,000, str ×3" for the biggest dominated children of
 * v: the types of v's children in the dominator tree, by retained size
 * (the first 8 types met, the biggest 3 shown).  Into `out` when not
 * NULL, and into the JSON array `json` when not NULL.  O(children). */
void hs_top_children_summary(const struct hs_json_src *src, uint32_t v,
                             struct hs_buf *out, struct hs_json *json);


/* One type as `top --json` lists it: display name, count, bytes (viewer:
 * plus its short name and type id).  O(1). */
struct hs_json *hs_top_type_json(const struct hs_json_src *src, uint32_t k);

/*
 * `top --json`: the types with instances in `order`, the first `limit`
 * (0: all), and totals.  `tret` (per-type retained sizes) is required
 * for HS_TOP_BY_RETAINED and ignored otherwise; dom may be NULL without
 * it.  Viewer: plus each type's short name and type id, and the heap's
 * bytes.  O(T log T) for T types.
 */
struct hs_json *hs_top_types_json(const struct hs_json_src *src,
                                  enum hs_top_order order,
                                  const uint64_t *tret, uint32_t limit);

/*
 * `top --suspects --json`: owners of more than `threshold` percent of the
 * reachable heap with their paths and accumulation points, and the
 * classes whose instances (`tret`) together pass it.  O(R log R) for the
 * R children of the dominators' virtual root, plus per suspect its walk
 * to the accumulation point and its children there.
 */
struct hs_json *hs_top_suspects_json(const struct hs_json_src *src,
                                     const uint64_t *tret, double threshold);

/* ---- report_cycles.c ---------------------------------------------------- */

/* A shown cycle's member types: up to this many, most frequent first. */
#define HS_CYCLE_TYPES 4

/* "CycleNode ×2, dict ×2" (types by count, the first HS_CYCLE_TYPES) of
 * component c into `out` when not NULL; every type with its count into the
 * JSON object `json` when not NULL.  O(members). */
void hs_cycle_member_types(const struct hs_graph *g, const struct hs_scc *scc,
                           uint32_t c, struct hs_buf *out,
                           struct hs_json *json);

/*
 * One loop through component c's smallest member, as edge numbers
 * (malloc'd, *len of them): a BFS inside the component from that member
 * until an edge leads back to it.  *via_p: scratch of g->n entries,
 * allocated on first use and kept for the caller to free.
 * O(component size); NULL for components above 100,000 members.
 */
uint32_t *hs_cycle_find_loop(const struct hs_graph *g,
                             const struct hs_scc *scc, uint32_t c,
                             uint32_t **via_p, uint32_t *len);

/* Which cycles a listing shows (`cycles` with its options), and totals. */
struct hs_cycle_pick {
    uint32_t *ids;   /* the shown components, biggest first (malloc'd) */
    uint32_t shown;  /* entries of ids */
    uint32_t listed; /* would be shown without the limit */
    uint32_t total, unreachable;
    uint64_t total_bytes, unreachable_bytes;
    uint32_t machinery, machinery_members; /* reachable, with a module */
    uint64_t machinery_bytes;              /* or class: summarised */
};

/*
 * Picks the cycles to list from `scc`: unreachable ones always, reachable
 * ones unless they are interpreter machinery or `all`, only unreachable
 * ones with `garbage`, the first `limit` (0: all).  O(C log C) for C
 * cycles.  Release with hs_cycle_pick_release().
 */
void hs_cycles_pick(const struct hs_scc *scc, int all, int garbage,
                    uint32_t limit, struct hs_cycle_pick *out);
void hs_cycle_pick_release(struct hs_cycle_pick *p);

/*
 * `cycles --json` of a pick: each shown cycle with its member types and
 * one loop through its smallest member.  *via is scratch of g->n entries,
 * allocated on first use and kept for the caller to free.  Viewer: plus
 * each cycle's first member in full and the types along the loop.  Cost:
 * per cycle its members plus the loop search (components above 100,000
 * members get no loop).
 */
struct hs_json *hs_cycles_json(const struct hs_json_src *src,
                               const struct hs_scc *scc,
                               const struct hs_cycle_pick *p, uint32_t **via);

/* ---- report_advise.c ---------------------------------------------------- */

struct hs_advice;      /* advise.h: one finding */
struct hs_advice_list; /* advise.h: the findings */

/*
 * The memory-saving techniques that apply to the heap in src (g, names,
 * bfs and dom, all required): every finder of advise.h run, the findings
 * saving min_bytes or more into `out` (initialized here), biggest saving
 * first.
 * *have_layouts: the snapshot has type_layouts (else no `slots`
 * findings).  Release `out` with hs_advise_release() either way.  0, or
 * -1 after an error reading the snapshot (printed).  O(n + m) plus one
 * scan of the objects table.
 */
int hs_advise_run(const struct hs_json_src *src, uint64_t min_bytes,
                  struct hs_advice_list *out, int *have_layouts);
void hs_advise_release(struct hs_advice_list *l);

/* Where finding a's example is held: its path as one line (empty when it
 * has no example).  O(dist log n). */
void hs_advise_where(const struct hs_json_src *src, const struct hs_advice *a,
                     struct hs_buf *out);

/*
 * `advise --json`: {"findings": [{kind, title, bytes_saved, count, type,
 * where, fix, basis, example}...], findings_not_shown, total_bytes_saved,
 * type_layouts}, the first `limit` findings (0: all).  Viewer: plus the
 * example's description and type id.  Per shown finding its path.
 */
struct hs_json *hs_advise_json(const struct hs_json_src *src,
                               const struct hs_advice_list *l, uint32_t limit,
                               int have_layouts);

/* ---- report_map.c ------------------------------------------------------- */

/*
 * The heap map below v (a node, or HS_DOM_ROOT for the reachable heap):
 * v's object fields (viewer: and description), "ancestors" (its nearest 30
 * dominators, outermost first, "ancestors_more" counting the others),
 * "children": the objects v immediately dominates, biggest retained size
 * first, at most `limit`, each with "children_total" and, down to `depth`
 * levels, its own "children"; and "rest" ({count, retained_size}) for the
 * children left out.  At most `budget` objects are listed in all (the
 * upper levels first).  Cost: per expanded object its children, sorted;
 * one or two snapshot probes per listed object.
 */
struct hs_json *hs_map_json(const struct hs_json_src *src, uint32_t v,
                            uint32_t depth, uint32_t limit, uint32_t budget);

/* ---- report_diff.c ------------------------------------------------------ */

struct hs_heap;

/* One type in either snapshot of a diff, matched by name. */
struct hs_diff_row {
    char *key; /* "module.qualname", the match key */
    int64_t old_count, new_count;
    int64_t old_bytes, new_bytes;
    int64_t added, added_bytes; /* new objects (not in OLD) of the type */
    uint32_t new_type;          /* index in NEW's types, or UINT32_MAX */
    uint32_t index;             /* position before sorting by growth */
};

/* One snapshot of a diff. */
struct hs_diff_side {
    struct hs_heap *heap; /* borrowed */
    char *pid, *created;  /* its meta values (owned) */
    uint64_t bytes;       /* its objects' total size */
};

/* Two snapshots compared: side[0] OLD, side[1] NEW. */
struct hs_diff {
    struct hs_diff_side side[2];
    struct hs_diff_row *rows; /* every type of either, biggest growth
                                 first (bytes, or count) */
    uint32_t nrows;
    uint32_t changed;     /* rows whose count or bytes changed */
    uint32_t *old_map;    /* OLD's type k -> its row */
    uint32_t *new_map;    /* NEW's type k -> its row */
    uint8_t *is_new;      /* per NEW node: not in OLD (same process) */
    uint32_t added;       /* new objects */
    uint64_t added_bytes; /* their bytes */
    int same_process;     /* same pid: objects matched by address */
};

/*
 * Compares two loaded heaps (borrowed; they must outlive d): rows per
 * type sorted by growth in bytes (by_count: in instances), and, for two
 * snapshots of one process, the new objects.  O(T^2 + n log n).  Can't
 * fail.  Release with hs_diff_release().
 */
void hs_diff_compute(struct hs_heap *old, struct hs_heap *new_heap,
                     int by_count, struct hs_diff *d);
void hs_diff_release(struct hs_diff *d);

/*
 * The row whose new objects to explain: `focus` (a type name) when given,
 * -2 if it has no new objects; else the one with the most new objects
 * held directly by an object that was already there (or by a root), -1
 * when nothing is new.  O(n) (plus NEW's BFS on first use).
 */
int64_t hs_diff_growth_row(struct hs_diff *d, const char *focus);

/* The new objects of row `row` grouped by path shape in NEW, into pg
 * (release with hs_path_groups_release()); their number in *ntargets.
 * 0, or -1 after an error (exit 4). */
int hs_diff_growth_groups(struct hs_diff *d, uint32_t row,
                          struct hs_path_groups *pg, uint32_t *ntargets);

/* The shape of group k as `why` prints it, appended to out. */
void hs_diff_group_shape(struct hs_diff *d, const struct hs_path_groups *pg,
                         uint32_t k, struct hs_buf *out);

/*
 * `diff --json`: both sides, the first `limit` changed types (0: all), the
 * new objects, and the first `npaths` path groups of the growing type
 * (`focus` or hs_diff_growth_row()'s).  Viewer: plus each type's
 * "type_id" in NEW, each group's example description and the growth
 * totals.  NULL after an error (exit 1: focus has no new objects; 4).
 */
struct hs_json *hs_diff_json(struct hs_diff *d, uint32_t limit, int npaths,
                             const char *focus, int viewer);

/* {"file", "pid", "created_at", "objects", "bytes"} of one side. */
struct hs_json *hs_diff_side_json(const struct hs_diff_side *s);

/* ---- report_sites.c ----------------------------------------------------- */

/* Types listed per site, most frequent first. */
#define HS_SITE_TYPES 3

/* Objects totalled by the line that allocated them. */
struct hs_site_row {
    uint32_t frame;    /* the site: alloc_frames id (0 in the untraced
                          total) */
    uint32_t count;    /* objects */
    uint64_t bytes;    /* their shallow size */
    uint64_t retained; /* their retained size, nested ones once (only
                          over the whole heap, with dominators) */
    uint32_t ntypes;   /* distinct types among them */
    uint32_t shown_types; /* entries of type[] */
    uint32_t type[HS_SITE_TYPES];       /* most frequent types */
    uint32_t type_count[HS_SITE_TYPES]; /* their counts */
};

/* {"file", "line", "function"} of frame f (function null when unknown). */
struct hs_json *hs_sites_frame_json(const struct hs_sites *s, uint32_t f);

/* `show --json`'s "allocated_at": v's traceback innermost first; [] when
 * v has none, null when the snapshot recorded no sites (s NULL too). */
struct hs_json *hs_sites_traceback_json(const struct hs_sites *s, uint32_t v);

/* v's traceback, one "PREFIXFILE:LINE in FUNCTION\n" per frame,
 * innermost first, appended to out; returns the frames (0: none). */
uint32_t hs_sites_traceback_text(const struct hs_sites *s, uint32_t v,
                                 const char *prefix, struct hs_buf *out);

/* Why an object has no traceback, for people. */
const char *hs_sites_missing_reason(const struct hs_sites *s);

/*
 * nodes[0 .. n) (all of g's when nodes is NULL) by site, in `order`
 * (size, count or retained), malloc'd, *nrows of them; objects without a
 * site are totalled in *untraced.  With dom and all nodes, retained sizes
 * too (hs_dominators_key_retained()).  O(n log n).
 */
struct hs_site_row *hs_sites_rows(const struct hs_graph *g,
                                  const struct hs_sites *s,
                                  struct hs_dominators *dom,
                                  const uint32_t *nodes, uint32_t n,
                                  enum hs_top_order order, uint32_t *nrows,
                                  struct hs_site_row *untraced);

/* Sites listed per group of `why TYPE`. */
#define HS_GROUP_SITES 3

/* The first `max` sites of group k's members by count, as "FILE:LINE in
 * F ×N, ..." (text, appended) or [{file, line, function, count, bytes,
 * types, type_count}] (JSON).  O(members log members). */
void hs_sites_group_text(const struct hs_json_src *src,
                         const struct hs_why_groups *wg, uint32_t k,
                         uint32_t max, struct hs_buf *out);
struct hs_json *hs_sites_group_json(const struct hs_json_src *src,
                                    const struct hs_why_groups *wg,
                                    uint32_t k, uint32_t max);

/* ---- report_diff_sites.c ----------------------------------------------- */

struct hs_sites;

/* One allocation site ("file:line") of either snapshot of a diff. */
struct hs_diff_site {
    char *key;                     /* "file:line", the match key */
    const struct hs_site_row *row; /* NEW's row of its new objects (or of
                                      all its objects), for the function and
                                      the types; NULL if none */
    int64_t old_count, new_count, old_bytes, new_bytes;
    int64_t added, added_bytes; /* new objects (same process) */
};

/* `diff --by site`: the sites of both snapshots, matched. */
struct hs_diff_sites {
    const struct hs_sites *sites; /* NEW's (borrowed from its heap) */
    struct hs_diff_site *rows;    /* most new bytes first (same process),
                                     else biggest growth */
    uint32_t n;
    uint32_t added;                    /* new objects */
    struct hs_site_row untraced_added; /* those of them without a site */
    struct hs_site_row *old_rows, *new_rows, *added_rows; /* owned */
};

/*
 * The sites of d's two snapshots matched by "file:line", and for one
 * process the new objects per site.  0, or -1 after an error (exit 1 when
 * a snapshot recorded no sites, naming it and why; 3, 4 on a bad file).
 * O(n log n + S log S).  Release with hs_diff_sites_release() either way.
 */
int hs_diff_sites_compute(struct hs_diff *d, struct hs_diff_sites *out);
void hs_diff_sites_release(struct hs_diff_sites *s);

/* 1 if row r is worth listing: it has new objects (one process), or its
 * count or bytes changed (two processes). */
int hs_diff_site_changed(const struct hs_diff *d, const struct hs_diff_site *r);

/* `diff --by site --json`: both sides and the first `limit` changed sites
 * (0: all). */
struct hs_json *hs_diff_sites_json(struct hs_diff *d, struct hs_diff_sites *ds,
                                   uint32_t limit);

/* "Request ×2,000, bytearray ×2,000, +1 more type" of a row. */
void hs_site_row_types_text(const struct hs_graph *g,
                            const struct hs_site_row *r, struct hs_buf *out);

/* A row as JSON: file, line, function, count, bytes, (retained_size,)
 * types [{type, count}], type_count. */
struct hs_json *hs_site_row_json(const struct hs_graph *g,
                                 const struct hs_sites *s,
                                 const struct hs_site_row *r,
                                 int with_retained);

/* `top --by site --json`: the first `limit` sites (0: all) in `order`,
 * with retained sizes when dom is given, and the traced and untraced
 * totals.  O(n log n). */
struct hs_json *hs_sites_top_json(const struct hs_graph *g,
                                  const struct hs_sites *s,
                                  struct hs_dominators *dom,
                                  enum hs_top_order order, uint32_t limit);

#endif /* HS_REPORT_H */
