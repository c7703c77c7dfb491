/*
 * serve_api.h: what `heapsnap serve` answers from, and its JSON endpoints.
 *
 * struct hs_serve is one heap (heap.h) loaded once: the graph, its naming
 * context, the retention BFS and the dominators (retained sizes), plus
 * what the heap computes on first use (per-type retained sizes, the
 * components of the data references for /api/cycles).  Requests never
 * change what a later request sees.  Nothing here locks: serve_http.c runs
 * every request on one thread, one at a time, because the snapshot's
 * SQLite connection and the naming context are single-threaded.
 *
 * A reply is an HTTP status, a content type and a malloc'd body.  This
 * file and serve_svg.c know nothing of the HTTP library: the server hands
 * them the part of the path after "/api/" or "/svg/" (already
 * percent-decoded) and a function that looks query parameters up.
 */
#ifndef HS_SERVE_API_H
#define HS_SERVE_API_H

#include "heapsnap.h"
#include "heap.h"

struct hs_serve {
    struct hs_heap heap; /* the snapshot, with its BFS and dominators
                            computed at load and the rest on first use */
    char *info_json;     /* /api/info, built at load (owned) */
    char *diff_json;     /* /api/diff (`diff OLD FILE --json` with the
                            viewer's fields), built at load when there is
                            an OLD; else NULL (owned) */
    uint32_t *loop_via;  /* n: scratch of the cycle-loop search */
};

/*
 * Opens the snapshot `file` (NULL: the newest heapsnap-*.db here) as a
 * heap (to add derived tables when it can, like every command; nothing is
 * written after loading), with its retained sizes and BFS, and builds
 * /api/info.  Returns 0, or -1 after an error: exit 2 when there is no
 * snapshot, 4 when the file cannot be read, 3 when it is not a snapshot.
 * `s` is initialized here; release it with hs_serve_release() either way.
 * Cost: the commands' loading cost, O(n + m) time; memory: the graph (32 n
 * + 9 m bytes), BFS and dominators (24 bytes per node).  With `diff_old`,
 * that snapshot is loaded too, compared with `file` as `diff` compares
 * them, and released: only the answer (/api/diff) stays.
 */
int hs_serve_load(struct hs_serve *s, const char *file, const char *diff_old);

/* Frees everything `s` holds.  Safe after a failed hs_serve_load(). */
void hs_serve_release(struct hs_serve *s);

/* Query parameters of a request: get(ctx, "n") is the value or NULL. */
struct hs_serve_query {
    const char *(*get)(void *ctx, const char *name);
    void *ctx;
};

/* One answer, built by the handlers and sent by serve_http.c. */
struct hs_serve_reply {
    int status;               /* HTTP status: 200, 400, 404, 500, ... */
    const char *content_type; /* a static string */
    char *body;               /* malloc'd (NULL only before a handler ran) */
    size_t len;               /* bytes of body */
};

/*
 * Fills `out` with {"error": MESSAGE} and `status`.  Releases what `out`
 * held before.  Can't fail.
 */
void hs_serve_reply_error(struct hs_serve_reply *out, int status,
                          const char *fmt, ...) HS_PRINTF(3, 4);

/* Frees the body; the reply can be filled again. */
void hs_serve_reply_release(struct hs_serve_reply *r);

/*
 * Answers GET /api/<route>, `route` being the decoded path after "/api/":
 *   info                        where the snapshot came from, totals
 *   top?by=size|count|retained&n=N    types (as `top --json`)
 *   suspects?threshold=PCT      owners of much of the heap (`top
 *                               --suspects --json`)
 *   object/<id>?n=N             one object in full (`show --json`), its
 *                               first N referrers and referents
 *   why/<id>                    its retention path or holders (`why --json`)
 *   why?type=NAME&n=N           a type's instances grouped by path
 *   cycles?n=N&all=1&garbage=1  reference cycles (`cycles --json`)
 *   search?q=TEXT&n=N           types whose name contains TEXT, and the
 *                               object at an address or @id
 *   map, map/<id>?depth=D&limit=L   the dominator subtree below the roots
 *                               or an object, biggest retainers first
 *                               (report_map.c), for the heap map
 * <id> is an object id (objects.id).  Field names are those of the
 * commands' --json output; the viewer's extras (descriptions, type ids)
 * are added beside them.  Always fills `out`: 200 with the document, or
 * {"error": ...} with 400 (a bad parameter), 404 (no such route, object
 * or type) or 500 (reading the snapshot failed; also printed on stderr).
 * Costs are stated per handler in serve_api.c.
 */
void hs_serve_api(struct hs_serve *s, const char *route,
                  const struct hs_serve_query *q, struct hs_serve_reply *out);

/* ---- helpers shared with serve_svg.c ------------------------------------ */

/*
 * The node of the object id in `text` (decimal digits only, no sign, no
 * spaces).  Returns 1 and stores it in *node; 0 when `text` is not such a
 * number (a 400) or names no object (a 404), after filling `out`.
 */
int hs_serve_object_arg(struct hs_serve *s, const char *text, uint32_t *node,
                        struct hs_serve_reply *out);

/*
 * The integer query parameter `name` into *value: `dflt` when absent,
 * otherwise decimal digits in [min, max].  Returns 1, or 0 after filling
 * `out` with a 400 naming the parameter and the range.
 */
int hs_serve_int_arg(const struct hs_serve_query *q, const char *name,
                     int dflt, int min, int max, int *value,
                     struct hs_serve_reply *out);

#endif /* HS_SERVE_API_H */
