/*
 * cmd_json.h: the documents the commands print with --json, as builders
 * that `heapsnap serve` (serve_api.c) calls too, so that the viewer's
 * JSON and the commands' are one piece of code and cannot drift apart.
 *
 * Each builder lives in the command file whose output it is (cmd_info.c,
 * cmd_why.c, cmd_show.c, cmd_top.c, cmd_cycles.c) and returns a new
 * document the caller frees with hs_json_free().  With src->viewer set a
 * builder adds the viewer's fields beside the command's (an object's
 * "description" and "type_id", a reference's retained size, ...); without
 * it the document is exactly the command's --json output.  Builders only
 * read the model; none recurses.
 */
#ifndef HS_CMD_JSON_H
#define HS_CMD_JSON_H

#include "heapsnap.h"
#include "dominators.h"
#include "graph.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "scc.h"
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
};

/* ---- cmd_info.c ---------------------------------------------------------- */

/* `info --json` of a loaded summary.  O(meta + root kinds + threads). */
struct hs_json *hs_info_json(const struct hs_summary *sum);

/* ---- cmd_why.c ----------------------------------------------------------- */

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
 * A set of objects grouped by the shape of their paths, into `doc` (`why
 * TYPE --json`): query, type (when `type` is not UINT32_MAX), count,
 * bytes, retained size, the first npaths groups with an example each
 * (its path at most path_steps steps, 0: all), groups_not_shown.
 * Returns 0, or -1 after an error grouping the paths.  Cost: O(n) (2
 * bytes per node while it runs) plus hs_paths_group()'s.
 */
int hs_why_groups_json(const struct hs_json_src *src, const uint32_t *nodes,
                       uint32_t count, const char *spec, uint32_t type,
                       int npaths, uint32_t path_steps, struct hs_json *doc);

/* ---- cmd_show.c ---------------------------------------------------------- */

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

/* ---- cmd_top.c ----------------------------------------------------------- */

enum hs_top_order { HS_TOP_BY_SIZE, HS_TOP_BY_COUNT, HS_TOP_BY_RETAINED };

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

/* ---- cmd_cycles.c -------------------------------------------------------- */

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

#endif /* HS_CMD_JSON_H */
