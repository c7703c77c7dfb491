/*
 * COMMAND: show
 * USAGE:   heapsnap show OBJ [-f FILE] [-n N] [--json]
 *
 * Everything the snapshot knows about one object: type, address, size,
 * refcount, value, flags, which roots hold it, its retained size and
 * immediate dominator, and its referrers and referents with labels (the
 * first N of each, with counts).  A type name shows the class object
 * itself.  Retained sizes are computed on first use and stored in the
 * snapshot (retained.h).
 */
#include "heapsnap.h"
#include "cmd_json.h"
#include "heap.h"
#include "naming.h"
#include "objspec.h"
#include "paths.h"
#include "render_json.h"
#include "render_text.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const show_usage[] = {
    "usage: heapsnap show OBJ [-f FILE] [-n N] [--json]",
    "",
    "Shows one object: type, address, size, refcount, value, flags, the",
    "roots that hold it, its retained size (what freeing it would free)",
    "and immediate dominator, and its referrers and referents with labels.",
    "OBJ is an address (0x7f...), a decimal address, an object id (@1234)",
    "or a type name (the class object itself).",
    NULL,
};

/* Names of the object_flags bits, in bit order (schema/heapsnap.sql). */
static const char *const flag_names[] = {
    "gc_tracked", "immortal",  "static",          "has_del",
    "unreachable", "interned", "value_truncated", "redacted",
    "size_fallback", "frozen", "finalized",
};

struct show {
    struct hs_heap heap;       /* the snapshot and its analyses */
    struct hs_graph *g;        /* heap.g (borrowed) */
    struct hs_naming *names;   /* heap.names (borrowed) */
    struct hs_dominators *dom; /* the heap's retained sizes */
    int limit;                /* rows of referrers / referents */
    struct hs_buf line;       /* scratch */
};

static void
flags_text(uint32_t flags, struct hs_buf *out)
{
    for (size_t b = 0; b < HS_ARRAY_SIZE(flag_names); b++) {
        if (flags & (1u << b))
            hs_buf_addf(out, "%s%s", out->len ? ", " : "", flag_names[b]);
    }
}

/* A reference as the JSON lists it: kind, label and the object at the
 * other end (viewer: plus its retained size, description and whether the
 * reference is weak). */
static struct hs_json *
json_ref(const struct hs_json_src *src, uint32_t e, uint32_t other)
{
    const struct hs_graph *g = src->g;
    struct hs_json *o = hs_json_object();
    struct hs_buf b = HS_BUF_INIT;
    char name[256];

    hs_naming_edge(src->names, e, &b);
    hs_json_set_str(o, "kind", hs_naming_kind(src->names, g->out_kind[e]));
    hs_json_set_str(o, "label", b.buf);
    hs_json_set_int(o, "id", hs_graph_object_id(other));
    hs_json_set_addr(o, "address", g->address[other]);
    hs_json_set_str(o, "type", hs_naming_type(g, other, 1, name, sizeof(name)));
    hs_json_set_int(o, "size", (int64_t)g->size[other]);
    if (src->viewer) {
        hs_json_set_int(o, "retained_size",
                        (int64_t)src->dom->retained[other]);
        hs_json_set_bool(o, "weak", !hs_graph_retains(g, g->out_kind[e]));
        hs_why_viewer_fields(src, other, o);
    }
    hs_buf_release(&b);
    return o;
}

/* One referent or referrer row: "  .name → str 'ann' @0x..." */
static void
ref_row(struct show *s, uint32_t e, uint32_t other, int incoming,
        struct hs_table *t)
{
    struct hs_buf label = HS_BUF_INIT, obj = HS_BUF_INIT;
    char addr[32];

    hs_naming_edge(s->names, e, &label);
    hs_naming_object(s->names, other, 0, &obj);
    snprintf(addr, sizeof(addr), "@0x%" PRIx64, s->g->address[other]);
    if (incoming)
        hs_table_rowv(t, obj.buf, label.buf, addr);
    else
        hs_table_rowv(t, label.buf, obj.buf, addr);
    hs_buf_release(&label);
    hs_buf_release(&obj);
}

/* The referrers being listed, and how many more to list. */
struct in_ctx {
    struct show *s;                /* text: the rows go to t */
    struct hs_table *t;
    const struct hs_json_src *src; /* JSON: the rows go to arr */
    struct hs_json *arr;
    uint32_t left;
};

static int
add_referrer(uint32_t src, uint32_t e, void *arg)
{
    struct in_ctx *c = arg;

    if (!c->left)
        return 1; /* the rest is only counted, from the in-degree */
    c->left--;
    if (c->arr)
        hs_json_push(c->arr, json_ref(c->src, e, src));
    else
        ref_row(c->s, e, src, 1, c->t);
    return 0;
}

/* The roots that hold v: into the JSON array `arr`, or as text. */
static void
list_roots(const struct hs_graph *g, struct hs_naming *names, uint32_t v,
           struct hs_json *arr, struct hs_buf *text)
{
    struct hs_buf b = HS_BUF_INIT;

    for (uint32_t r = 0; r < g->nroots; r++) {
        const char *kind =
            hs_root_kind_name((enum hs_root_kind)g->roots[r].kind);

        if (g->roots[r].node != v)
            continue;
        hs_buf_reset(&b);
        hs_naming_root(names, r, &b);
        if (arr) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "kind", kind);
            hs_json_set_str(o, "description", b.buf);
            hs_json_push(arr, o);
        } else {
            hs_buf_addf(text, "%s%s: %s", text->len ? "; " : "", kind,
                        b.buf);
        }
    }
    hs_buf_release(&b);
}

/* "1.9 KiB (18.1% of the reachable heap)" */
static void
retained_text(struct show *s, uint32_t v, struct hs_buf *out)
{
    uint64_t heap = s->dom->reachable_bytes;
    char size[32];

    hs_buf_addf(out, "%s", hs_human_size(s->dom->retained[v], size,
                                         sizeof(size)));
    if (s->dom->idom[v] == HS_DOM_UNREACHABLE)
        hs_buf_adds(out, " (its own size: no root reaches it)");
    else if (heap)
        hs_buf_addf(out, " (%.1f%% of the %s reachable heap)",
                    100.0 * (double)s->dom->retained[v] / (double)heap,
                    hs_human_size(heap, size, sizeof(size)));
}

/* The immediate dominator: the nearest object every path to v goes
 * through, whose loss would free v. */
static void
dominator_text(struct show *s, uint32_t v, struct hs_buf *out)
{
    uint32_t u = s->dom->idom[v];
    char size[32];

    if (u == HS_DOM_UNREACHABLE) {
        hs_buf_adds(out, "- (unreachable)");
        return;
    }
    if (u == HS_DOM_ROOT) {
        hs_buf_adds(out, "- (no single object: held by the roots directly "
                         "or along separate paths)");
        return;
    }
    hs_naming_object(s->names, u, 0, out);
    hs_buf_addf(out, " @0x%" PRIx64 ", retaining %s", s->g->address[u],
                hs_human_size(s->dom->retained[u], size, sizeof(size)));
}

static int
show_text(struct show *s, uint32_t v, const struct hs_bfs *bfs)
{
    struct hs_graph *g = s->g;
    static const enum hs_align two[] = { HS_ALIGN_LEFT, HS_ALIGN_LEFT };
    static const enum hs_align three[] = { HS_ALIGN_LEFT, HS_ALIGN_LEFT,
                                           HS_ALIGN_LEFT };
    struct hs_table *facts = hs_table_new(2, two), *t;
    struct hs_objfacts f;
    struct hs_buf b = HS_BUF_INIT;
    char name[256], size[32];
    uint32_t nout = g->out_off[v + 1] - g->out_off[v];
    uint32_t nin = g->in_off[v + 1] - g->in_off[v];
    struct in_ctx ic;

    if (hs_naming_facts(s->names, v, &f) < 0)
        return -1;
    hs_naming_object(s->names, v, 0, &b);
    printf("%s @0x%" PRIx64 " (object @%" PRId64 ")\n", b.buf, g->address[v],
           hs_graph_object_id(v));
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s", hs_naming_type(g, v, 1, name, sizeof(name)));
    hs_table_rowv(facts, "type", b.buf);
    snprintf(size, sizeof(size), "%" PRIu64 " B", g->size[v]);
    hs_table_rowv(facts, "size", size);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%" PRId64, f.refcount);
    hs_table_rowv(facts, "refcount", b.buf);
    if (f.length >= 0) {
        hs_buf_reset(&b);
        hs_buf_addf(&b, "%" PRId64, f.length);
        hs_table_rowv(facts, "length", b.buf);
    }
    hs_buf_reset(&b);
    if (hs_naming_value(s->names, v, &b) && f.value)
        hs_table_rowv(facts, "value", b.buf);
    hs_buf_reset(&b);
    flags_text(g->flags[v], &b);
    hs_table_rowv(facts, "flags", b.len ? b.buf : "-");
    hs_buf_reset(&b);
    list_roots(g, s->names, v, NULL, &b);
    hs_table_rowv(facts, "root", b.len ? b.buf : "-");
    hs_buf_reset(&b);
    if (hs_bfs_reached(bfs, v))
        hs_buf_addf(&b, "yes, %u step%s from a root ('heapsnap why @%" PRId64
                        "' shows the path)",
                    bfs->dist[v], bfs->dist[v] == 1 ? "" : "s",
                    hs_graph_object_id(v));
    else
        hs_buf_addf(&b, "no: cyclic garbage ('heapsnap why @%" PRId64
                        "' names the cycle)",
                    hs_graph_object_id(v));
    hs_table_rowv(facts, "reachable", b.buf);
    hs_buf_reset(&b);
    retained_text(s, v, &b);
    hs_table_rowv(facts, "retained", b.buf);
    hs_buf_reset(&b);
    dominator_text(s, v, &b);
    hs_table_rowv(facts, "dominator", b.buf);
    hs_table_indent(facts, 2);
    hs_table_print(facts, stdout);
    hs_table_free(facts);
    hs_objfacts_release(&f);

    printf("\nreferrers (%u):\n", nin);
    t = hs_table_new(3, three);
    ic.s = s;
    ic.t = t;
    ic.src = NULL;
    ic.arr = NULL;
    ic.left = (uint32_t)s->limit;
    hs_graph_each_in_edge(g, v, add_referrer, &ic);
    hs_table_indent(t, 2);
    hs_table_print(t, stdout);
    hs_table_free(t);
    if (nin > (uint32_t)s->limit)
        printf("  ... and %u more (-n N shows more)\n", nin - s->limit);

    printf("\nreferents (%u):\n", nout);
    t = hs_table_new(3, three);
    for (uint32_t e = g->out_off[v], k = 0; e < g->out_off[v + 1]; e++, k++) {
        if (k >= (uint32_t)s->limit)
            break;
        ref_row(s, e, g->out_dst[e], 0, t);
    }
    hs_table_indent(t, 2);
    hs_table_print(t, stdout);
    hs_table_free(t);
    if (nout > (uint32_t)s->limit)
        printf("  ... and %u more (-n N shows more)\n", nout - s->limit);
    hs_buf_release(&b);
    return 0;
}

struct hs_json *
hs_show_json(const struct hs_json_src *src, uint32_t v, uint32_t limit)
{
    struct hs_graph *g = src->g;
    const struct hs_dominators *dom = src->dom;
    struct hs_json *o, *arr;
    struct hs_objfacts f;
    char name[256];
    struct in_ctx ic;
    uint32_t u = dom->idom[v];

    if (hs_naming_facts(src->names, v, &f) < 0)
        return NULL;
    o = hs_json_object();
    hs_json_set_int(o, "id", hs_graph_object_id(v));
    hs_json_set_addr(o, "address", g->address[v]);
    hs_json_set_str(o, "type", hs_naming_type(g, v, 1, name, sizeof(name)));
    hs_why_viewer_fields(src, v, o);
    hs_json_set_int(o, "size", (int64_t)g->size[v]);
    hs_json_set_int(o, "refcount", f.refcount);
    if (f.length >= 0)
        hs_json_set_int(o, "length", f.length);
    else
        hs_json_set_null(o, "length");
    hs_json_set_str(o, "value", f.value);
    arr = hs_json_array();
    for (size_t bit = 0; bit < HS_ARRAY_SIZE(flag_names); bit++) {
        if (g->flags[v] & (1u << bit))
            hs_json_push(arr, hs_json_str(flag_names[bit]));
    }
    hs_json_set(o, "flags", arr);
    arr = hs_json_array();
    list_roots(g, src->names, v, arr, NULL);
    hs_json_set(o, "roots", arr);
    hs_json_set_bool(o, "reachable", hs_bfs_reached(src->bfs, v));
    if (hs_bfs_reached(src->bfs, v))
        hs_json_set_int(o, "distance", src->bfs->dist[v]);
    hs_json_set_int(o, "retained_size", (int64_t)dom->retained[v]);
    if (src->viewer) {
        hs_json_set_int(o, "reachable_bytes", (int64_t)dom->reachable_bytes);
        hs_json_set(o, "idom", u < g->n ? hs_why_node_json(src, u)
                                        : hs_json_null());
        hs_json_set_str(o, "idom_note",
                        u == HS_DOM_UNREACHABLE ? "unreachable"
                        : u == HS_DOM_ROOT
                            ? "held by the roots directly or along "
                              "separate paths"
                            : NULL);
    } else if (u < g->n) {
        struct hs_json *d = hs_json_object();

        hs_json_set_int(d, "id", hs_graph_object_id(u));
        hs_json_set_addr(d, "address", g->address[u]);
        hs_json_set_str(d, "type", hs_naming_type(g, u, 1, name,
                                                  sizeof(name)));
        hs_json_set_int(d, "retained_size", (int64_t)dom->retained[u]);
        hs_json_set(o, "idom", d);
    } else {
        hs_json_set_null(o, "idom");
    }
    arr = hs_json_array();
    ic.s = NULL;
    ic.t = NULL;
    ic.src = src;
    ic.arr = arr;
    ic.left = limit;
    hs_graph_each_in_edge(g, v, add_referrer, &ic);
    hs_json_set(o, "referrers", arr);
    hs_json_set_int(o, "referrers_total", g->in_off[v + 1] - g->in_off[v]);
    arr = hs_json_array();
    for (uint32_t e = g->out_off[v], k = 0; e < g->out_off[v + 1] && k < limit;
         e++, k++)
        hs_json_push(arr, json_ref(src, e, g->out_dst[e]));
    hs_json_set(o, "referents", arr);
    hs_json_set_int(o, "referents_total", g->out_off[v + 1] - g->out_off[v]);
    hs_objfacts_release(&f);
    return o;
}

static int
show_json(struct show *s, uint32_t v, const struct hs_bfs *bfs)
{
    struct hs_json_src src = { s->g, s->names, bfs, s->dom, 0 };
    struct hs_json *o = hs_show_json(&src, v, (uint32_t)s->limit);
    int rc;

    if (!o)
        return -1;
    rc = hs_json_print(o, stdout);
    hs_json_free(o);
    return rc;
}

int
cmd_show(int argc, const char **argv)
{
    const char *file = NULL;
    int json = 0, limit = 20;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "referrers and referents to list (default 20)", NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_objset set = { NULL, 0, 0, 0 };
    struct show s;
    uint32_t v;
    int n, rc = HS_EXIT_OK;

    memset(&s, 0, sizeof(s));
    n = hs_parse_options(argc, argv, opts, show_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n != 1) {
        hs_usage_error("show", n ? "one object at a time, please"
                                 : "which object? (an address, @id or a "
                                   "type name)");
        return HS_EXIT_USAGE;
    }
    if (limit < 0) {
        hs_usage_error("show", "-n must not be negative");
        return HS_EXIT_USAGE;
    }
    s.limit = limit;
    if (hs_heap_open(&s.heap, file, 0) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    s.g = s.heap.g;
    s.names = s.heap.names;
    /* A type name means the class object itself. */
    if (hs_objspec_is_object(argv[0])) {
        if (hs_objspec_resolve(s.g, argv[0], &set) < 0) {
            rc = hs_error_status();
            goto cleanup;
        }
        v = set.nodes[0];
    } else {
        uint32_t t;

        if (hs_objspec_type(s.g, argv[0], &t) < 0) {
            rc = hs_error_status();
            goto cleanup;
        }
        v = s.g->types[t].node;
    }
    if (!(s.dom = hs_heap_dominators(&s.heap))) {
        rc = hs_error_status();
        goto cleanup;
    }
    if ((json ? show_json(&s, v, hs_heap_bfs(&s.heap))
              : show_text(&s, v, hs_heap_bfs(&s.heap))) < 0)
        rc = hs_error_status();
cleanup:
    hs_objset_release(&set);
    hs_heap_release(&s.heap);
    return rc;
}
