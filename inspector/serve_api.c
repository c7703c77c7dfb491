/*
 * serve_api.c: the JSON endpoints of `heapsnap serve` (serve_api.h) and
 * the snapshot they answer from, loaded once.
 *
 * Every answer is the matching command's --json document, built by the
 * same function (report.h) with the viewer's extras ("description",
 * "type_id", ...) beside the command's fields, so that a program can read
 * either; t7001-serve.bats checks the two agree on the fixture.  This
 * file adds the parameters, the errors, the search box and the caches.
 *
 * Invariant: a handler reads the loaded model and fills one reply; the
 * only state it leaves behind are the caches of struct hs_serve, built
 * once.  Nothing here recurses; each handler states its cost.
 */
#include "serve_api.h"
#include "advise.h"
#include "report.h"
#include "render_json.h"
#include "summary.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define JSON_TYPE "application/json; charset=utf-8"

/* Paths in lists (suspects, groups) lose their middle beyond this many
 * steps, as the commands print them. */
#define LIST_PATH_STEPS 12
/* Largest n a list endpoint accepts (0 means all where allowed). */
#define MAX_ROWS 100000

/* ---- replies ------------------------------------------------------------ */

void
hs_serve_reply_release(struct hs_serve_reply *r)
{
    HS_FREE_AND_NULL(r->body);
    r->len = 0;
}

void
hs_serve_reply_error(struct hs_serve_reply *out, int status, const char *fmt,
                     ...)
{
    struct hs_json *doc = hs_json_object();
    struct hs_buf msg = HS_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    hs_buf_vaddf(&msg, fmt, ap);
    va_end(ap);
    hs_json_set_str(doc, "error", msg.buf);
    hs_serve_reply_release(out);
    out->status = status;
    out->content_type = JSON_TYPE;
    out->body = hs_json_render(doc);
    out->len = strlen(out->body);
    hs_json_free(doc);
    hs_buf_release(&msg);
}

/* 200 with the JSON text `body` (malloc'd; the reply owns it). */
static void
reply_body(struct hs_serve_reply *out, char *body)
{
    hs_serve_reply_release(out);
    out->status = 200;
    out->content_type = JSON_TYPE;
    out->body = body;
    out->len = strlen(body);
}

/* 200 with `doc`, which it frees. */
static void
reply_json(struct hs_serve_reply *out, struct hs_json *doc)
{
    reply_body(out, hs_json_render(doc));
    hs_json_free(doc);
}

/* 500 after a failure hs_error() already printed on stderr. */
static void
reply_failed(struct hs_serve_reply *out, const char *what)
{
    hs_serve_reply_error(out, 500,
                         "%s failed reading the snapshot (the server's log "
                         "says why)",
                         what);
}

/* ---- parameters --------------------------------------------------------- */

/* Decimal digits only, at most 18 of them: 0 and *out, else -1. */
static int
parse_digits(const char *text, uint64_t *out)
{
    uint64_t v = 0;
    size_t i;

    if (!text || !*text)
        return -1;
    for (i = 0; text[i]; i++) {
        if (!isdigit((unsigned char)text[i]) || i >= 18)
            return -1;
        v = v * 10 + (uint64_t)(text[i] - '0');
    }
    *out = v;
    return 0;
}

int
hs_serve_object_arg(struct hs_serve *s, const char *text, uint32_t *node,
                    struct hs_serve_reply *out)
{
    uint64_t id;
    int64_t v;

    if (parse_digits(text, &id) < 0) {
        hs_serve_reply_error(
            out, 400, "'%s' is not an object id (a decimal number)", text);
        return 0;
    }
    v = hs_graph_node_of_id(s->heap.g, (int64_t)id);
    if (v < 0) {
        hs_serve_reply_error(out, 404, "no object @%" PRIu64, id);
        return 0;
    }
    *node = (uint32_t)v;
    return 1;
}

int
hs_serve_int_arg(const struct hs_serve_query *q, const char *name, int dflt,
                 int min, int max, int *value, struct hs_serve_reply *out)
{
    const char *text = q->get(q->ctx, name);
    uint64_t v;

    if (!text) {
        *value = dflt;
        return 1;
    }
    if (parse_digits(text, &v) < 0 || v < (uint64_t)min || v > (uint64_t)max) {
        hs_serve_reply_error(out, 400,
                             "%s must be a whole number from %d to %d, not "
                             "'%s'",
                             name, min, max, text);
        return 0;
    }
    *value = (int)v;
    return 1;
}

/* A 0/1 switch: absent is 0.  1, or 0 after a 400 in `out`. */
static int
flag_arg(const struct hs_serve_query *q, const char *name, int *value,
         struct hs_serve_reply *out)
{
    return hs_serve_int_arg(q, name, 0, 0, 1, value, out);
}

/* ---- building blocks ---------------------------------------------------- */

/* The builders' view of the loaded snapshot, with the viewer's fields. */
static struct hs_json_src
src_of(struct hs_serve *s)
{
    struct hs_json_src src = { s->heap.g, s->heap.names, &s->heap.bfs,
                               &s->heap.dom, 1, hs_heap_sites(&s->heap) };

    return src;
}

/* ---- /api/info ---------------------------------------------------------- */

/*
 * The document of `info --json` for the loaded snapshot, plus "retained"
 * (the reachable and unreachable heap, and where the dominators came
 * from) and "diff_old" (the snapshot /api/diff compares with, if any).
 * Built once at load: O(meta + root kinds + threads).
 */
static char *
info_document(struct hs_serve *s, const struct hs_summary *sum,
              const char *diff_old)
{
    static const char *const origins[] = { "computed", "stored", "loaded" };
    struct hs_json *doc = hs_info_json(sum), *ret = hs_json_object();
    char *text;

    hs_json_set_int(ret, "reachable", s->heap.dom.reachable);
    hs_json_set_int(ret, "reachable_bytes",
                    (int64_t)s->heap.dom.reachable_bytes);
    hs_json_set_int(ret, "unreachable", s->heap.dom.unreachable);
    hs_json_set_int(ret, "unreachable_bytes",
                    (int64_t)s->heap.dom.unreachable_bytes);
    hs_json_set_str(ret, "origin", origins[s->heap.dom.origin]);
    hs_json_set(doc, "retained", ret);
    hs_json_set_str(doc, "heapsnap_version", HS_VERSION);
    if (diff_old)
        hs_json_set_str(doc, "diff_old", diff_old);
    text = hs_json_render(doc);
    hs_json_free(doc);
    return text;
}

/* ---- loading ------------------------------------------------------------ */

/* Path groups /api/diff shows for the growing type. */
#define DIFF_PATHS 5

/*
 * /api/diff: `diff OLD FILE --json -n 0 --paths 5` with the viewer's
 * fields, built once; OLD is loaded for it and released.  0 or -1.
 */
static int
diff_document(struct hs_serve *s, const char *old_file)
{
    struct hs_heap old;
    struct hs_diff d;
    struct hs_json *doc;

    memset(&old, 0, sizeof(old));
    if (hs_heap_open(&old, old_file, 0) < 0) {
        hs_heap_release(&old);
        return -1;
    }
    hs_diff_compute(&old, &s->heap, 0, &d);
    doc = hs_diff_json(&d, 0, DIFF_PATHS, NULL, 1);
    if (doc)
        s->diff_json = hs_json_render(doc);
    hs_json_free(doc);
    hs_diff_release(&d);
    hs_heap_release(&old);
    return doc ? 0 : -1;
}

int
hs_serve_load(struct hs_serve *s, const char *file, const char *diff_old)
{
    struct hs_summary sum;

    memset(s, 0, sizeof(*s));
    memset(&sum, 0, sizeof(sum));
    if (hs_heap_open(&s->heap, file, 0) < 0 ||
        !hs_heap_dominators(&s->heap))
        return -1;
    hs_heap_bfs(&s->heap);
    if (diff_old && diff_document(s, diff_old) < 0)
        return -1;
    /* Loading wrote what it would: from now on the file must stay as it
     * is, and a change stops the server (serve_http.c). */
    hs_snapshot_pin(s->heap.snap);
    if (hs_summary_load(s->heap.snap, &sum) < 0) {
        hs_summary_release(&sum);
        return -1;
    }
    s->info_json = info_document(s, &sum, diff_old);
    hs_summary_release(&sum);
    return 0;
}

void
hs_serve_release(struct hs_serve *s)
{
    free(s->loop_via);
    free(s->info_json);
    free(s->diff_json);
    hs_heap_release(&s->heap);
    memset(s, 0, sizeof(*s));
}

/* ---- /api/top, /api/suspects ------------------------------------------- */

/*
 * Types with instances, ordered by `by`, the first n (0: all), with
 * totals: `top --json`.  O(T log T) for T types (plus the per-type
 * retained sizes once).
 */
static void
api_top(struct hs_serve *s, const struct hs_serve_query *q,
        struct hs_serve_reply *out)
{
    const char *by = q->get(q->ctx, "by");
    struct hs_json_src src = src_of(s);
    enum hs_top_order order;
    int n;

    if (!by || !strcmp(by, "size")) {
        order = HS_TOP_BY_SIZE;
    } else if (!strcmp(by, "count")) {
        order = HS_TOP_BY_COUNT;
    } else if (!strcmp(by, "retained")) {
        order = HS_TOP_BY_RETAINED;
    } else {
        hs_serve_reply_error(
            out, 400, "by must be size, count or retained, not '%s'", by);
        return;
    }
    if (!hs_serve_int_arg(q, "n", 20, 0, MAX_ROWS, &n, out))
        return;
    reply_json(out, hs_top_types_json(&src, order,
                                      order == HS_TOP_BY_RETAINED
                                          ? hs_heap_type_retained(&s->heap)
                                          : NULL,
                                      (uint32_t)n));
}

/*
 * Owners of more than `threshold` percent of the reachable heap and the
 * classes whose instances together pass it (`top --suspects --json`).
 * Cost: hs_top_suspects_json()'s.
 */
static void
api_suspects(struct hs_serve *s, const struct hs_serve_query *q,
             struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    int threshold;

    if (!hs_serve_int_arg(q, "threshold", 10, 1, 100, &threshold, out))
        return;
    reply_json(out, hs_top_suspects_json(&src, hs_heap_type_retained(&s->heap),
                                         (double)threshold));
}

/* ---- /api/sites -------------------------------------------------------- */

/*
 * Allocation sites by bytes, the first n (0: all), with retained sizes:
 * `top --by site --json` ("recorded": false and no rows when the snapshot
 * has none).  O(n log n) over the objects.
 */
static void
api_sites(struct hs_serve *s, const struct hs_serve_query *q,
          struct hs_serve_reply *out)
{
    const struct hs_sites *sites = hs_heap_sites(&s->heap);
    int n;

    if (!sites) {
        reply_failed(out, "allocation sites");
        return;
    }
    if (!hs_serve_int_arg(q, "n", 20, 0, MAX_ROWS, &n, out))
        return;
    reply_json(out, hs_sites_top_json(s->heap.g, sites, &s->heap.dom,
                                      HS_TOP_BY_SIZE, (uint32_t)n));
}

/* ---- /api/object/<id>, /api/why/<id> ------------------------------------ */

/*
 * One object in full (`show --json`) with its first n referrers and
 * referents and their totals.  Cost: hs_show_json()'s.
 */
static void
api_object(struct hs_serve *s, const char *arg, const struct hs_serve_query *q,
           struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    struct hs_json *doc;
    uint32_t v;
    int n;

    if (!hs_serve_object_arg(s, arg, &v, out) ||
        !hs_serve_int_arg(q, "n", 50, 0, MAX_ROWS, &n, out))
        return;
    if (!(doc = hs_show_json(&src, v, (uint32_t)n))) {
        reply_failed(out, "reading the object");
        return;
    }
    reply_json(out, doc);
}

/*
 * Why one object is alive (`why OBJ --json`): its root and every step
 * with the object it reaches and that object's retained size; a path
 * longer than `steps` keeps its first and last halves around one
 * {"elided": K} entry.  Cost: hs_why_object_json()'s.
 */
static void
api_why_object(struct hs_serve *s, const char *arg,
               const struct hs_serve_query *q, struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    struct hs_json *doc;
    uint32_t v;
    int steps;

    if (!hs_serve_object_arg(s, arg, &v, out) ||
        !hs_serve_int_arg(q, "steps", 100, 2, MAX_ROWS, &steps, out))
        return;
    doc = hs_json_object();
    hs_why_object_json(&src, v, (uint32_t)steps, doc);
    reply_json(out, doc);
}

/* ---- /api/why?type=NAME ------------------------------------------------- */

/*
 * Does type t answer to `name`: its __name__ or __qualname__, or either
 * after its module (the names OBJ takes on the command line, objspec.h)?
 */
static int
type_answers(const struct hs_type *t, const char *name)
{
    size_t mlen;

    if (!strcmp(t->name, name) || (t->qualname && !strcmp(t->qualname, name)))
        return 1;
    if (!t->module)
        return 0;
    mlen = strlen(t->module);
    return !strncmp(name, t->module, mlen) && name[mlen] == '.' &&
           ((t->qualname && !strcmp(name + mlen + 1, t->qualname)) ||
            !strcmp(name + mlen + 1, t->name));
}

/*
 * The type `name` names: the one whose display name ("mod.Name", or
 * "Name" for builtins) it is, else the only one answering to it, or
 * "@ID" for the type object's id.  Returns 1 and *type; or 0 after a 404
 * (no such type) or a 400 listing the candidates in "candidates".
 * O(T) string comparisons.
 */
static int
find_type(struct hs_serve *s, const char *name, uint32_t *type,
          struct hs_serve_reply *out)
{
    const struct hs_graph *g = s->heap.g;
    struct hs_json_src src = src_of(s);
    uint32_t exact = UINT32_MAX, nexact = 0, found = UINT32_MAX, nfound = 0;
    char disp[512];

    if (!*name) {
        hs_serve_reply_error(out, 400, "type must not be empty");
        return 0;
    }
    if (name[0] == '@') {
        uint64_t id;

        for (uint32_t t = 0; parse_digits(name + 1, &id) == 0 && t < g->ntypes;
             t++) {
            if (hs_graph_object_id(g->types[t].node) == (int64_t)id) {
                *type = t;
                return 1;
            }
        }
        hs_serve_reply_error(out, 404, "no type '%s'", name);
        return 0;
    }
    for (uint32_t t = 0; t < g->ntypes; t++) {
        if (!strcmp(hs_type_display_name(&g->types[t], disp, sizeof(disp)),
                    name)) {
            exact = t;
            nexact++;
        }
        if (type_answers(&g->types[t], name)) {
            found = t;
            nfound++;
        }
    }
    if (nexact == 1 || (nexact == 0 && nfound == 1)) {
        *type = nexact == 1 ? exact : found;
        return 1;
    }
    if (nexact == 0 && nfound == 0) {
        hs_serve_reply_error(out, 404, "no type '%s'", name);
        return 0;
    }
    {
        struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
        struct hs_buf msg = HS_BUF_INIT;

        hs_buf_addf(&msg, "'%s' names %u types; say which", name,
                    nexact ? nexact : nfound);
        for (uint32_t t = 0; t < g->ntypes; t++) {
            if (nexact ? !strcmp(hs_type_display_name(&g->types[t], disp,
                                                      sizeof(disp)),
                                 name)
                       : type_answers(&g->types[t], name))
                hs_json_push(arr, hs_top_type_json(&src, t));
        }
        hs_json_set_str(doc, "error", msg.buf);
        hs_json_set(doc, "candidates", arr);
        reply_json(out, doc);
        out->status = 400;
        hs_buf_release(&msg);
    }
    return 0;
}

/*
 * A type's instances grouped by the shape of their paths, biggest group
 * first, the first n groups with an example each (`why TYPE --json`).
 * Cost: O(n) to collect the instances, plus hs_why_groups_json()'s.
 */
static void
api_why_type(struct hs_serve *s, const struct hs_serve_query *q,
             struct hs_serve_reply *out)
{
    struct hs_graph *g = s->heap.g;
    struct hs_json_src src = src_of(s);
    const char *name = q->get(q->ctx, "type");
    struct hs_json *doc;
    uint32_t type, *nodes, count = 0;
    int n;

    if (!name) {
        hs_serve_reply_error(out, 400,
                             "why needs an object id (/api/why/ID) or a "
                             "type (/api/why?type=NAME)");
        return;
    }
    if (!find_type(s, name, &type, out) ||
        !hs_serve_int_arg(q, "n", 5, 1, MAX_ROWS, &n, out))
        return;
    if (!g->types[type].count) {
        hs_serve_reply_error(out, 404,
                             "no object matches '%s': the type has "
                             "no instances",
                             name);
        return;
    }
    nodes = hs_xmalloc(hs_st_mult(g->types[type].count, sizeof(*nodes)));
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->type[v] == type)
            nodes[count++] = v;
    }
    doc = hs_json_object();
    if (hs_why_groups_json(&src, nodes, count, name, type, n,
                           LIST_PATH_STEPS, doc) < 0) {
        hs_json_free(doc);
        reply_failed(out, "grouping the paths");
    } else {
        reply_json(out, doc);
    }
    free(nodes);
}

/* ---- /api/cycles -------------------------------------------------------- */

/*
 * Reference cycles over data references, biggest first (`cycles
 * --json`): every unreachable one, reachable ones unless they are
 * interpreter machinery (a member is a module or a class) or `all`; only
 * unreachable ones with `garbage`; the first n (0: all) with their member
 * types and one loop.  Cost: the components once (O(n + m), 8 bytes per
 * node and 20 per component kept), then hs_cycles_pick() and
 * hs_cycles_json()'s.
 */
static void
api_cycles(struct hs_serve *s, const struct hs_serve_query *q,
           struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    struct hs_cycle_pick pick;
    int n, all, garbage;

    if (!hs_serve_int_arg(q, "n", 10, 0, MAX_ROWS, &n, out) ||
        !flag_arg(q, "all", &all, out) ||
        !flag_arg(q, "garbage", &garbage, out))
        return;
    hs_cycles_pick(hs_heap_data_scc(&s->heap), all, garbage, (uint32_t)n,
                   &pick);
    reply_json(out, hs_cycles_json(&src, hs_heap_data_scc(&s->heap), &pick,
                                   &s->loop_via));
    hs_cycle_pick_release(&pick);
}

/* ---- /api/advise -------------------------------------------------------- */

/*
 * The memory-saving techniques that apply (`advise --json`): findings
 * saving at least min_bytes (default 65536), biggest first, the first n
 * (default 20, 0: all), each example with its description.  Cost: every
 * finder run again, O(n + m) plus one scan of the objects table.
 */
static void
api_advise(struct hs_serve *s, const struct hs_serve_query *q,
           struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    struct hs_advice_list list;
    const char *min_arg = q->get(q->ctx, "min_bytes");
    uint64_t min_bytes = 65536;
    int n, have_layouts = 0;

    if (!hs_serve_int_arg(q, "n", 20, 0, MAX_ROWS, &n, out))
        return;
    if (min_arg && hs_parse_u64(min_arg, &min_bytes) < 0) {
        hs_serve_reply_error(
            out, 400, "min_bytes takes a number of bytes, not '%s'", min_arg);
        return;
    }
    if (hs_advise_run(&src, min_bytes, &list, &have_layouts) < 0) {
        hs_advise_release(&list);
        reply_failed(out, "advise");
        return;
    }
    reply_json(out, hs_advise_json(&src, &list, (uint32_t)n, have_layouts));
    hs_advise_release(&list);
}

/* ---- /api/map ----------------------------------------------------------- */

/* Objects one /api/map answer lists at most. */
#define MAP_BUDGET 2000

/*
 * The heap map below an object ("map/<id>") or below the roots ("map"):
 * the dominator subtree, `depth` levels (default 2) of at most `limit`
 * children each (default 40), biggest first.  Cost: hs_map_json()'s.
 */
static void
api_map(struct hs_serve *s, const char *arg, const struct hs_serve_query *q,
        struct hs_serve_reply *out)
{
    struct hs_json_src src = src_of(s);
    uint32_t v = HS_DOM_ROOT;
    int depth, limit;

    if (arg && !hs_serve_object_arg(s, arg, &v, out))
        return;
    if (!hs_serve_int_arg(q, "depth", 2, 1, 4, &depth, out) ||
        !hs_serve_int_arg(q, "limit", 40, 1, 500, &limit, out))
        return;
    reply_json(out, hs_map_json(&src, v, (uint32_t)depth, (uint32_t)limit,
                                MAP_BUDGET));
}

/* ---- /api/search -------------------------------------------------------- */

/* Case-insensitive: does `hay` contain `needle`, and where?  -1 if not. */
static long
find_nocase(const char *hay, const char *needle)
{
    size_t nlen = strlen(needle);

    for (const char *h = hay; *h; h++) {
        size_t i;

        for (i = 0;
             i < nlen && h[i] &&
             tolower((unsigned char)h[i]) == tolower((unsigned char)needle[i]);
             i++)
            ;
        if (i == nlen)
            return (long)(h - hay);
    }
    return nlen ? -1 : 0;
}

struct type_hit {
    uint32_t type; /* index into g->types */
    int rank;      /* 0 the name itself, 1 a prefix, 2 elsewhere */
    uint64_t bytes;
};

static int
hit_cmp(const void *a, const void *b)
{
    const struct type_hit *x = a, *y = b;

    if (x->rank != y->rank)
        return x->rank - y->rank;
    if (x->bytes != y->bytes)
        return x->bytes < y->bytes ? 1 : -1;
    return x->type < y->type ? -1 : x->type > y->type;
}

/*
 * The search box: types with instances whose display or short name
 * contains q (case-insensitive; the name itself first, then prefixes,
 * then by size), and the objects q names as an address (0x..., or
 * decimal) or an object id (@N, or a decimal number that is no address).
 * O(T * |q|) for T types, plus O(log n) per address.
 */
static void
api_search(struct hs_serve *s, const struct hs_serve_query *q,
           struct hs_serve_reply *out)
{
    struct hs_graph *g = s->heap.g;
    struct hs_json_src src = src_of(s);
    const char *text = q->get(q->ctx, "q");
    struct type_hit *hits;
    uint32_t nhits = 0;
    struct hs_json *doc, *types, *objs;
    char disp[512];
    int n;

    if (!text || !*text) {
        hs_serve_reply_error(out, 400, "q (what to search for) is missing");
        return;
    }
    if (!hs_serve_int_arg(q, "n", 20, 1, 1000, &n, out))
        return;
    hits = hs_xmalloc(hs_st_mult(g->ntypes ? g->ntypes : 1, sizeof(*hits)));
    for (uint32_t t = 0; t < g->ntypes; t++) {
        long at_disp, at_name;

        if (!g->types[t].count)
            continue;
        at_disp = find_nocase(
            hs_type_display_name(&g->types[t], disp, sizeof(disp)), text);
        at_name = find_nocase(g->types[t].name, text);
        if (at_disp < 0 && at_name < 0)
            continue;
        hits[nhits].type = t;
        hits[nhits].bytes = g->types[t].bytes;
        hits[nhits].rank = 2;
        if (at_name == 0 || at_disp == 0)
            hits[nhits].rank = 1;
        if ((at_name == 0 && strlen(g->types[t].name) == strlen(text)) ||
            (at_disp == 0 && strlen(disp) == strlen(text)))
            hits[nhits].rank = 0;
        nhits++;
    }
    qsort(hits, nhits, sizeof(*hits), hit_cmp);
    doc = hs_json_object();
    types = hs_json_array();
    objs = hs_json_array();
    hs_json_set_str(doc, "query", text);
    for (uint32_t i = 0; i < nhits && i < (uint32_t)n; i++)
        hs_json_push(types, hs_top_type_json(&src, hits[i].type));
    hs_json_set(doc, "types", types);
    hs_json_set_int(doc, "types_total", nhits);
    free(hits);
    {
        const char *t = text[0] == '@' ? text + 1 : text;
        uint64_t num;
        int64_t v = -1, byid = -1;

        if (text[0] != '@' && hs_parse_u64(text, &num) == 0)
            v = hs_graph_node_of_address(g, num);
        if ((text[0] == '@' || isdigit((unsigned char)text[0])) &&
            parse_digits(t, &num) == 0)
            byid = hs_graph_node_of_id(g, (int64_t)num);
        if (v >= 0)
            hs_json_push(objs, hs_why_node_json(&src, (uint32_t)v));
        if (byid >= 0 && byid != v)
            hs_json_push(objs, hs_why_node_json(&src, (uint32_t)byid));
    }
    hs_json_set(doc, "objects", objs);
    reply_json(out, doc);
}

/* ---- routing ------------------------------------------------------------ */

void
hs_serve_api(struct hs_serve *s, const char *route,
             const struct hs_serve_query *q, struct hs_serve_reply *out)
{
    if (!strcmp(route, "info")) {
        reply_body(out, hs_xstrdup(s->info_json));
    } else if (!strcmp(route, "top")) {
        api_top(s, q, out);
    } else if (!strcmp(route, "suspects")) {
        api_suspects(s, q, out);
    } else if (!strcmp(route, "sites")) {
        api_sites(s, q, out);
    } else if (!strncmp(route, "object/", 7)) {
        api_object(s, route + 7, q, out);
    } else if (!strncmp(route, "why/", 4)) {
        api_why_object(s, route + 4, q, out);
    } else if (!strcmp(route, "why")) {
        api_why_type(s, q, out);
    } else if (!strcmp(route, "cycles")) {
        api_cycles(s, q, out);
    } else if (!strcmp(route, "advise")) {
        api_advise(s, q, out);
    } else if (!strcmp(route, "search")) {
        api_search(s, q, out);
    } else if (!strcmp(route, "diff")) {
        if (!s->diff_json) {
            hs_serve_reply_error(out, 404,
                                 "no diff: start the server with --diff "
                                 "OLD to compare OLD with this snapshot");
            return;
        }
        reply_body(out, hs_xstrdup(s->diff_json));
    } else if (!strcmp(route, "map")) {
        api_map(s, NULL, q, out);
    } else if (!strncmp(route, "map/", 4)) {
        api_map(s, route + 4, q, out);
    } else {
        hs_serve_reply_error(out, 404, "no such API route '/api/%s'", route);
    }
}
