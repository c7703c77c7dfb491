/*
 * COMMAND: why
 * USAGE:   heapsnap why OBJ... [-f FILE] [--paths N] [--full] [--json]
 *                  [--svg FILE] [--dot FILE]
 *
 * Why is OBJ alive?  For one object: its shortest retention path from the
 * roots, every step labelled, preferring user-level roots (module globals,
 * thread locals) over interpreter internals and both over references from
 * outside the heap; or, for an object no root reaches, the reference cycle
 * that holds it.  For a type, or several OBJs (the objects a test leaked,
 * say): the objects grouped by the shape of their paths, biggest group
 * first, one example each.  Retained sizes (what freeing an object would
 * free) come with the target, every step of its path and every group; they are computed on first use and stored in the
 * snapshot (retained.h).  --svg/--dot draw the same answer (draw.c).
 */
#include "heapsnap.h"
#include "report.h"
#include "draw.h"
#include "heap.h"
#include "naming.h"
#include "objspec.h"
#include "paths.h"
#include "render_json.h"
#include "render_path.h"
#include "render_text.h"
#include "scc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const why_usage[] = {
    "usage: heapsnap why OBJ... [-f FILE] [--paths N] [--full] [--json]",
    "                           [--svg FILE] [--dot FILE]",
    "",
    "Explains why OBJ is alive: the shortest chain of references from a",
    "root (a module, a thread's local variable, ...) to it, every step",
    "labelled.  OBJ is an address (0x7f...), a decimal address, an object",
    "id (@1234) or a type name (Foo, module.Foo): for a type, its instances",
    "are grouped by the shape of their paths, biggest group first; so",
    "are the objects of several OBJs together.",
    "Each object on the path comes with its retained size: what freeing",
    "it would free.  --svg FILE draws the answer (the format follows the",
    "extension: .svg .png .pdf .dot .gv); --dot FILE writes its DOT text.",
    "",
    "Which path: the shortest, from a module global or a thread's local",
    "before interpreter internals, and from those before references from",
    "outside the heap; among equally short paths the root listed first in",
    "the snapshot, then the lowest reference numbers, win.  For a type, a",
    "path through the accumulation point (the container holding most of",
    "the instances) wins over one up to 8 steps shorter that starts at a",
    "variable holding less than a fifth of them (a leftover loop variable).",
    NULL,
};

/* Paths longer than this are cut in the middle unless --full. */
#define WHY_MAX_STEPS 12

struct why {
    struct hs_heap heap;      /* the snapshot and its analyses */
    struct hs_graph *g;       /* heap.g (borrowed) */
    struct hs_naming *names;  /* heap.names (borrowed) */
    const struct hs_bfs *bfs; /* the heap's retention BFS */
    struct hs_dominators *dom; /* the heap's retained sizes */
    struct hs_bfs hub; /* for a type: paths through the accumulation
                          point (bfs.h), when they differ */
    int have_hub;      /* hub holds a forest */
    const struct hs_sites *sites; /* the heap's allocation sites */
    int full;          /* print whole paths */
    int npaths;        /* groups to show for a type */
    int several;       /* several OBJs were asked about */
    struct hs_json *json; /* the document, with --json */
};

static const char *
describe_root_kind(enum hs_root_kind k)
{
    switch (k) {
    case HS_ROOT_MODULE:
        return "a module in sys.modules";
    case HS_ROOT_FRAME:
        return "a running frame";
    case HS_ROOT_THREAD:
        return "per-thread interpreter state";
    case HS_ROOT_SYS:
    case HS_ROOT_BUILTINS:
    case HS_ROOT_GC:
        return "interpreter state";
    case HS_ROOT_INTERNED:
        return "the interned-string table";
    case HS_ROOT_STATIC:
        return "statically allocated or immortal, never freed";
    case HS_ROOT_EXTERNAL:
        return "references from outside the Python heap: C code or a "
               "refcount leak";
    default:
        return "a root";
    }
}

/* "LeakedRequest @0x7f3a2c1d5e10 (48 B, retains 1.2 KiB)" */
static void
headline(struct why *w, uint32_t v, struct hs_buf *out)
{
    char size[32], ret[32];

    hs_naming_object(w->names, v, 0, out);
    hs_buf_addf(out, " @0x%" PRIx64 " (%s, retains %s)", w->g->address[v],
                hs_human_size(w->g->size[v], size, sizeof(size)),
                hs_human_size(w->dom->retained[v], ret, sizeof(ret)));
}

/* The JSON source over the command's model: the command's fields only. */
static struct hs_json_src
why_src(struct why *w)
{
    struct hs_json_src src = { w->g, w->names, w->bfs, w->dom, 0,
                               w->sites };

    return src;
}

/* OBJ no root reaches: the cycles that hold it, as text. */
static void
why_unreachable(struct why *w, uint32_t v)
{
    struct hs_unreach_holders h;
    struct hs_buf b = HS_BUF_INIT;
    char size[32];

    hs_paths_explain_unreachable(w->g, w->bfs, v, &h);
    headline(w, v, &b);
    printf("%s is unreachable", b.buf);
    for (uint32_t c = 0; c < h.ncomp; c++) {
        int inside = hs_why_holder_describe(w->g, &h, c, v, &b);

        printf("%s", c ? ";\n  also " : ": ");
        if (h.flags[c] & HS_SCC_CYCLE)
            printf("%s a reference cycle of %s, %s, awaiting the cyclic gc",
                   inside ? "in" : "held by", b.buf,
                   hs_human_size(h.bytes[c], size, sizeof(size)));
        else
            printf("held by %s that nothing in the snapshot holds (a "
                   "reference the snapshot does not show)",
                   b.buf);
        if (h.flags[c] & HS_SCC_HAS_DEL)
            printf(" (a member's type defines __del__)");
    }
    printf("%s\n", h.ncomp ? "." : ": nothing in the snapshot holds it.");
    hs_unreach_holders_release(&h);
    hs_buf_release(&b);
}

/* One row of the step table: retained size, then the reference that leads
 * to the object and the object. */
static void
step_row(struct why *w, struct hs_table *t, uint32_t e, uint32_t v,
         struct hs_buf *b)
{
    char ret[32];

    hs_buf_reset(b);
    if (e != UINT32_MAX) {
        hs_naming_edge(w->names, e, b);
        hs_buf_adds(b, " \xE2\x86\x92 ");
    }
    hs_naming_object(w->names, v, 0, b);
    hs_buf_addf(b, " @0x%" PRIx64, w->g->address[v]);
    hs_table_rowv(t, hs_human_size(w->dom->retained[v], ret, sizeof(ret)),
                  b->buf);
}

/*
 * The path again, one object per line with its retained size: where the
 * memory that would be freed sits along the way.  Long paths lose their
 * middle unless --full, as the one-line path does.
 */
static void
step_table(struct why *w, uint32_t r, const uint32_t *edges, uint32_t d)
{
    static const enum hs_align align[] = { HS_ALIGN_RIGHT, HS_ALIGN_LEFT };
    struct hs_table *t = hs_table_new(2, align);
    struct hs_buf b = HS_BUF_INIT;
    uint32_t head, tail;

    hs_path_elide(d, w->full ? 0 : WHY_MAX_STEPS, &head, &tail);
    hs_table_rowv(t, "retains", "object");
    step_row(w, t, UINT32_MAX, w->g->roots[r].node, &b);
    for (uint32_t i = 0; i < d; i++) {
        if (i == head && tail) {
            char rows[64];

            snprintf(rows, sizeof(rows), "\xE2\x80\xA6 %u more steps "
                                         "\xE2\x80\xA6",
                     d - head - tail);
            hs_table_rowv(t, "", rows);
            i = d - tail;
        }
        step_row(w, t, edges[i], w->g->out_dst[edges[i]], &b);
    }
    printf("\n");
    hs_table_indent(t, 2);
    hs_table_print(t, stdout);
    hs_table_free(t);
    hs_buf_release(&b);
}

/* "PREFIXallocated at FILE:LINE in FUNCTION" of v, when the snapshot
 * recorded allocation sites. */
static void
allocated_line(struct why *w, uint32_t v, const char *prefix)
{
    struct hs_buf b = HS_BUF_INIT;
    uint32_t f = hs_sites_site(w->sites, v);

    if (!w->sites->recorded)
        return;
    if (f)
        hs_sites_frame_text(w->sites, f, &b);
    printf("%sallocated at %s\n", prefix,
           f ? b.buf : hs_sites_missing_reason(w->sites));
    hs_buf_release(&b);
}

static void
why_one(struct why *w, uint32_t v, struct hs_json *doc)
{
    struct hs_graph *g = w->g;
    struct hs_buf b = HS_BUF_INIT;
    uint32_t *edges, r, d;
    const struct hs_root *root;

    if (doc) {
        struct hs_json_src src = why_src(w);

        hs_why_object_json(&src, v, 0, doc);
        return;
    }
    if (!hs_bfs_reached(w->bfs, v)) {
        why_unreachable(w, v);
        allocated_line(w, v, "  ");
        return;
    }
    d = w->bfs->dist[v];
    edges = hs_xmalloc(hs_st_mult(d ? d : 1, sizeof(*edges)));
    r = hs_bfs_path(g, w->bfs, v, edges);
    root = &g->roots[r];
    if (d == 0) {
        headline(w, v, &b);
        printf("%s is a root: ", b.buf);
        hs_buf_reset(&b);
        hs_naming_root(w->names, r, &b);
        if (root->kind == HS_ROOT_EXTERNAL)
            printf("held by %s (C code or a refcount leak).\n", b.buf);
        else
            printf("%s (%s).\n", b.buf,
                   describe_root_kind((enum hs_root_kind)root->kind));
        allocated_line(w, v, "  ");
    } else {
        headline(w, v, &b);
        printf("%s is alive because:\n", b.buf);
        hs_buf_reset(&b);
        hs_render_path(w->names, r, edges, d, w->full ? 0 : WHY_MAX_STEPS,
                       &b);
        printf("  %s\n", b.buf);
        printf("  root: %s\n",
               describe_root_kind((enum hs_root_kind)root->kind));
        allocated_line(w, v, "  ");
        step_table(w, r, edges, d);
    }
    free(edges);
    hs_buf_release(&b);
}

static void
why_many(struct why *w, const struct hs_objset *set, const char *spec,
         struct hs_why_groups *groups, struct hs_json *doc)
{
    struct hs_graph *g = w->g;
    struct hs_json_src src = why_src(w);
    const struct hs_why_groups *wg = groups;
    struct hs_buf b = HS_BUF_INIT;
    uint32_t shown = 0, more = 0, more_count = 0;
    uint32_t path_steps = w->full ? 0 : WHY_MAX_STEPS;
    char size[32], size2[32], ret[32], count[32];
    /* A type's name; the objects of several OBJs are just "objects". */
    const char *label = set->is_type ? g->types[set->type].name
                        : w->several ? NULL
                                     : spec;

    if (doc) {
        hs_why_groups_render_json(&src, groups, set->n, spec,
                                  set->is_type ? set->type : UINT32_MAX,
                                  w->npaths, path_steps, doc);
        return;
    }
    printf("%s%s%s object%s (%s, retaining %s) %s alive because:\n",
           hs_group_digits(set->n, count, sizeof(count)), label ? " " : "",
           label ? label : "", set->n == 1 ? "" : "s",
           hs_human_size(wg->total, size, sizeof(size)),
           hs_human_size(wg->retained, ret, sizeof(ret)),
           set->n == 1 ? "is" : "are");
    if (wg->nested)
        printf("  (%s of them sit inside others: each retained byte is "
               "counted once, at the outermost)\n",
               hs_group_digits(wg->nested, count, sizeof(count)));
    for (uint32_t k = 0; k < wg->pg.ngroups; k++) {
        const struct hs_path_group *gr = &wg->pg.groups[k];
        double share = wg->total ? 100.0 * (double)gr->bytes /
                                      (double)wg->total
                                : 0;

        if ((int)shown >= w->npaths) {
            more++;
            more_count += gr->count;
            continue;
        }
        shown++;
        printf("\n  %s object%s, %s (%.1f%%), retaining %s",
               hs_group_digits(gr->count, count, sizeof(count)),
               gr->count == 1 ? "" : "s",
               hs_human_size(gr->bytes, size, sizeof(size)), share,
               hs_human_size(wg->group_retained[k], ret, sizeof(ret)));
        if (wg->group_nested[k])
            printf(" (%s nested in others of the group, counted once at the "
                   "outermost)",
                   hs_group_digits(wg->group_nested[k], count,
                                   sizeof(count)));
        if (wg->group_inside[k])
            printf(" (%s inside objects of another group: retained there "
                   "too)",
                   wg->group_inside[k] == gr->count - wg->group_nested[k]
                       ? "all"
                       : hs_group_digits(wg->group_inside[k], count,
                                         sizeof(count)));
        if (gr->unreachable) {
            printf(": unreachable (cyclic garbage awaiting the collector; "
                   "'heapsnap why @%" PRId64 "' names the cycle)\n",
                   hs_graph_object_id(gr->example));
            continue;
        }
        hs_why_group_shape(&src, groups, k, &b);
        printf(" via:\n    %s\n", b.buf);
        hs_buf_reset(&b);
        hs_why_path_line(&src, gr->example, path_steps, 0, &b);
        printf("    e.g. @0x%" PRIx64 " (%s, retains %s): %s\n",
               g->address[gr->example],
               hs_human_size(g->size[gr->example], size2, sizeof(size2)),
               hs_human_size(w->dom->retained[gr->example], ret, sizeof(ret)),
               b.buf);
        if (w->sites->recorded) {
            allocated_line(w, gr->example, "    ");
            hs_buf_reset(&b);
            hs_sites_group_text(&src, groups, k, HS_GROUP_SITES, &b);
            printf("    sites: %s\n", b.len ? b.buf : "none recorded");
        }
    }
    if (more)
        printf("\n  and %u more group%s (%s objects); --paths N shows "
               "more\n",
               more, more == 1 ? "" : "s",
               hs_group_digits(more_count, count, sizeof(count)));
    hs_buf_release(&b);
}

int
cmd_why(int argc, const char **argv)
{
    const char *file = NULL, *svg = NULL, *dot = NULL;
    int json = 0, full = 0, npaths = 5;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 0, "paths", &npaths, "N",
          "for a type: how many path groups to show (default 5)", NULL },
        { HS_OPT_FLAG, 0, "full", &full, NULL,
          "print long paths whole instead of cutting the middle", NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_STRING, 0, "svg", &svg, "FILE",
          "also draw the answer into FILE (format by extension)", NULL },
        { HS_OPT_STRING, 0, "dot", &dot, "FILE",
          "also write the drawing's DOT text into FILE (.dot, .gv)", NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_objset set = { NULL, 0, 0, 0 };
    struct hs_why_groups groups;
    struct hs_buf query = HS_BUF_INIT; /* the OBJs, space-separated */
    struct why w;
    int n, rc = HS_EXIT_OK, one, have_groups = 0;

    memset(&w, 0, sizeof(w));
    n = hs_parse_options(argc, argv, opts, why_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n < 1) {
        hs_usage_error("why", "which object? (an address, @id or a type "
                              "name)");
        return HS_EXIT_USAGE;
    }
    if (npaths < 1) {
        hs_usage_error("why", "--paths must be at least 1");
        return HS_EXIT_USAGE;
    }
    if (hs_draw_check_files("why", svg, dot) < 0)
        return hs_error_status();
    w.full = full;
    w.npaths = npaths;
    w.several = n > 1;
    for (int i = 0; i < n; i++)
        hs_buf_addf(&query, "%s%s", i ? " " : "", argv[i]);
    if (hs_heap_open(&w.heap, file, 0) < 0 ||
        hs_objspec_resolve_all(w.heap.g, argv, n, &set) < 0 ||
        !(w.dom = hs_heap_dominators(&w.heap)) ||
        !(w.sites = hs_heap_sites(&w.heap))) {
        rc = hs_error_status();
        goto cleanup;
    }
    w.g = w.heap.g;
    w.names = w.heap.names;
    w.bfs = hs_heap_bfs(&w.heap);
    w.json = json ? hs_json_object() : NULL;
    one = !set.is_type && set.n == 1;
    if (one) {
        why_one(&w, set.nodes[0], w.json);
    } else {
        /* The groups once, for the text, the JSON and the picture. */
        struct hs_json_src src = why_src(&w);

        if (set.is_type &&
            (w.have_hub = hs_bfs_through_hub(w.g, w.bfs, set.nodes, set.n,
                                             &w.hub)))
            src.bfs = w.bfs = &w.hub;
        have_groups = 1;
        if (hs_why_groups_run(&src, set.nodes, set.n, &groups) < 0) {
            rc = hs_error_status();
            goto cleanup;
        }
        why_many(&w, &set, query.buf, &groups, w.json);
    }
    if (w.json && hs_json_print(w.json, stdout) < 0)
        rc = hs_error_status();
    if ((svg || dot) &&
        hs_draw_why(w.g, w.names, w.dom, w.bfs, &set, query.buf,
                    one ? NULL : &groups.pg, one ? 0 : groups.total, npaths,
                    svg, dot) < 0)
        rc = hs_error_status();
cleanup:
    if (have_groups)
        hs_why_groups_release(&groups);
    if (w.have_hub)
        hs_bfs_release(&w.hub);
    hs_json_free(w.json);
    hs_objset_release(&set);
    hs_heap_release(&w.heap);
    hs_buf_release(&query);
    return rc;
}
