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
#include "report.h"
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

struct show {
    struct hs_heap heap;       /* the snapshot and its analyses */
    struct hs_graph *g;        /* heap.g (borrowed) */
    struct hs_naming *names;   /* heap.names (borrowed) */
    struct hs_dominators *dom; /* the heap's retained sizes */
    const struct hs_sites *sites; /* the heap's allocation sites */
    int limit;                /* rows of referrers / referents */
    struct hs_buf line;       /* scratch */
};

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

/* Where v was allocated, innermost frame first, when the snapshot
 * recorded allocation sites. */
static void
allocated_text(struct show *s, uint32_t v)
{
    struct hs_buf b = HS_BUF_INIT;

    if (!s->sites->recorded)
        return;
    if (hs_sites_traceback_text(s->sites, v, "  ", &b))
        printf("\nallocated at (innermost first):\n%s", b.buf);
    else
        printf("\nallocated at: %s\n", hs_sites_missing_reason(s->sites));
    hs_buf_release(&b);
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
    uint32_t *rsrc, *redge, nref;

    if (hs_naming_facts(s->names, v, &f) < 0)
        return -1;
    hs_naming_object(s->names, v, 0, &b);
    printf("%s @0x%" PRIx64 " (object @%" PRId64 ")\n", b.buf, g->address[v],
           hs_graph_object_id(v));
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s", hs_naming_type(g, v, 1, name, sizeof(name)));
    hs_table_rowv(facts, "type", b.buf);
    hs_buf_reset(&b);
    hs_buf_adds(&b, hs_human_size(g->size[v], size, sizeof(size)));
    if (g->size[v] >= 1024)
        hs_buf_addf(&b, " (%s B)",
                    hs_group_digits(g->size[v], size, sizeof(size)));
    if (f.reported_size >= 0)
        hs_buf_addf(&b,
                    " (its Python __sizeof__ reports %s, which counts "
                    "more than the object owns; not counted here)",
                    hs_human_size((uint64_t)f.reported_size, size,
                                  sizeof(size)));
    hs_table_rowv(facts, "size", b.buf);
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
    hs_show_flags_text(g->flags[v], &b);
    hs_table_rowv(facts, "flags", b.len ? b.buf : "-");
    hs_buf_reset(&b);
    hs_show_roots(g, s->names, v, NULL, &b);
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
    allocated_text(s, v);

    printf("\nreferrers (%u):\n", nin);
    t = hs_table_new(3, three);
    nref = hs_show_referrers(g, v, (uint32_t)s->limit, &rsrc, &redge);
    for (uint32_t k = 0; k < nref; k++)
        ref_row(s, redge[k], rsrc[k], 1, t);
    free(rsrc);
    free(redge);
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

static int
show_json(struct show *s, uint32_t v, const struct hs_bfs *bfs)
{
    struct hs_json_src src = { s->g, s->names, bfs, s->dom, 0,
                               s->sites };
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
    if (!(s.dom = hs_heap_dominators(&s.heap)) ||
        !(s.sites = hs_heap_sites(&s.heap))) {
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
