/*
 * COMMAND: cycles
 * USAGE:   heapsnap cycles [-f FILE] [-n N] [--garbage] [--all] [--json]
 *                     [--svg FILE] [--dot FILE] [--max-nodes N]
 *
 * Reference cycles: strongly connected components of two or more objects
 * (or one that holds itself), biggest total size first, with their member
 * types, whether the cycle is unreachable (garbage awaiting the cyclic
 * collector) and whether a member's type defines __del__.  Cycles are
 * computed over data references (hs_scc_run_data: not an instance's class
 * reference, not references to modules and their dicts), else every
 * object would share one cycle with its module.  Reachable cycles holding
 * a module or a class are interpreter machinery (a class with its dict and
 * descriptors) and summarised, not listed, unless --all.  Unreachable
 * cycles are always listed: they are garbage.  --svg/--dot draw the
 * listed cycles (draw.c).
 */
#include "heapsnap.h"
#include "cmd_json.h"
#include "draw.h"
#include "heap.h"
#include "naming.h"
#include "paths.h"
#include "render_json.h"
#include "scc.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const cycles_usage[] = {
    "usage: heapsnap cycles [-f FILE] [-n N] [--garbage] [--all] [--json]",
    "                       [--svg FILE] [--dot FILE] [--max-nodes N]",
    "",
    "Lists reference cycles (groups of objects that reference each other),",
    "biggest first: their members' types, whether nothing reaches them",
    "(garbage the cyclic gc will free) and whether a member has __del__.",
    "--svg FILE draws the listed cycles, their members and the references",
    "between them (the format follows the extension: .svg .png .pdf .dot",
    ".gv); --dot FILE writes the drawing's DOT text.",
    NULL,
};

/* A shown cycle's member types: up to this many, most frequent first. */
#define CYCLE_TYPES 4
/* The example loop is searched for in components up to this size. */
#define LOOP_SEARCH_MAX 100000

struct cycles {
    struct hs_heap heap;      /* the snapshot and its analyses */
    struct hs_graph *g;       /* heap.g (borrowed) */
    struct hs_naming *names;  /* heap.names (borrowed) */
    const struct hs_scc *scc; /* the heap's data-reference components */
    const struct hs_bfs *bfs; /* the heap's retention BFS */
    uint32_t *via; /* n entries, for find_loop: the edge that reached a
                      member (only members' entries are ever read) */
};

/*
 * Is component c interpreter machinery: reachable, and holding a module or
 * a class (every class is a cycle with its dict and descriptors, and every
 * module with its functions' __globals__)?  Unreachable cycles are always
 * interesting: they are garbage.
 */
static int
is_machinery(const struct hs_scc *scc, uint32_t c)
{
    const struct hs_scc_info *info = &scc->info[c];

    return info->nmodule_type > 0 && !(info->flags & HS_SCC_UNREACHABLE);
}

/* "CycleNode ×2, dict ×2" (types by count, the first CYCLE_TYPES) into
 * `out` when not NULL; every type with its count into the JSON object
 * `json` when not NULL. */
static void
member_types(const struct hs_graph *g, const struct hs_scc *scc, uint32_t c,
             struct hs_buf *out, struct hs_json *json)
{
    uint32_t types[64], counts[64], ntypes = 0, other = 0;

    for (uint32_t i = scc->off[c]; i < scc->off[c + 1]; i++) {
        uint32_t t = g->type[scc->members[i]], k;

        for (k = 0; k < ntypes && types[k] != t; k++)
            ;
        if (k < ntypes) {
            counts[k]++;
        } else if (ntypes < 64) {
            types[ntypes] = t;
            counts[ntypes++] = 1;
        } else {
            other++;
        }
    }
    /* Most frequent first: a few types, a selection sort is enough. */
    for (uint32_t i = 0; i < ntypes; i++) {
        for (uint32_t j = i + 1; j < ntypes; j++) {
            if (counts[j] > counts[i]) {
                uint32_t tc = counts[i], tt = types[i];

                counts[i] = counts[j];
                types[i] = types[j];
                counts[j] = tc;
                types[j] = tt;
            }
        }
    }
    for (uint32_t i = 0; i < ntypes; i++) {
        char name[256];

        hs_type_display_name(&g->types[types[i]], name, sizeof(name));
        if (json)
            hs_json_set_int(json, name, counts[i]);
        if (out && i < CYCLE_TYPES)
            hs_buf_addf(out, "%s%s \xC3\x97%u", i ? ", " : "",
                        g->types[types[i]].name, counts[i]);
    }
    if (out && (ntypes > CYCLE_TYPES || other))
        hs_buf_adds(out, ", ...");
}

/*
 * One loop through the component's smallest member, as edge numbers:
 * a BFS inside the component from that member until an edge leads back
 * to it.  *via: scratch of g->n entries, allocated on first use.
 * O(component size); NULL for huge components.
 */
static uint32_t *
find_loop(const struct hs_graph *g, const struct hs_scc *scc, uint32_t c,
          uint32_t **via_p, uint32_t *len)
{
    uint32_t start = scc->members[scc->off[c]];
    uint32_t size = hs_scc_size(scc, c);
    uint32_t *queue, *via, head = 0, tail = 0, *loop = NULL;

    *len = 0;
    if (size > LOOP_SEARCH_MAX)
        return NULL;
    queue = hs_xmalloc(hs_st_mult(size, sizeof(*queue)));
    if (!*via_p)
        *via_p = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(**via_p)));
    via = *via_p;
    for (uint32_t i = scc->off[c]; i < scc->off[c + 1]; i++)
        via[scc->members[i]] = UINT32_MAX;
    queue[tail++] = start;
    while (head < tail && !loop) {
        uint32_t u = queue[head++];

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t v = g->out_dst[e];

            /* Every edge of the loop must be one the components were
             * computed over: ignored edges never join two members of a
             * component, except class and module references, skipped. */
            if (!hs_graph_retains(g, g->out_kind[e]) ||
                g->out_kind[e] == HS_EDGE_CLASS || scc->comp[v] != c)
                continue;
            if (v == start) {
                /* Walk back from u to start. */
                uint32_t n = 1, x = u;

                while (x != start) {
                    n++;
                    x = hs_graph_edge_src(g, via[x]);
                }
                loop = hs_xmalloc(hs_st_mult(n, sizeof(*loop)));
                loop[n - 1] = e;
                for (uint32_t k = n - 1, y = u; k > 0; k--) {
                    loop[k - 1] = via[y];
                    y = hs_graph_edge_src(g, via[y]);
                }
                *len = n;
                break;
            }
            if (via[v] == UINT32_MAX) {
                via[v] = e;
                queue[tail++] = v;
            }
        }
    }
    free(queue);
    return loop;
}

void
hs_cycles_pick(const struct hs_scc *scc, int all, int garbage, uint32_t limit,
               struct hs_cycle_pick *out)
{
    uint32_t ncycles;

    memset(out, 0, sizeof(*out));
    out->ids = hs_scc_cycles(scc, &ncycles);
    out->total = ncycles;
    for (uint32_t i = 0; i < ncycles; i++) {
        uint32_t c = out->ids[i];
        const struct hs_scc_info *info = &scc->info[c];
        int unreachable = (info->flags & HS_SCC_UNREACHABLE) != 0;

        out->total_bytes += info->bytes;
        if (unreachable) {
            out->unreachable++;
            out->unreachable_bytes += info->bytes;
        }
        if (garbage && !unreachable)
            continue;
        if (!all && is_machinery(scc, c)) {
            out->machinery++;
            out->machinery_members += hs_scc_size(scc, c);
            out->machinery_bytes += info->bytes;
            continue;
        }
        out->listed++;
        if (limit && out->shown >= limit)
            continue;
        /* ids[0 .. shown) are the shown ones (shown <= i). */
        out->ids[out->shown++] = c;
    }
}

void
hs_cycle_pick_release(struct hs_cycle_pick *p)
{
    HS_FREE_AND_NULL(p->ids);
}

struct hs_json *
hs_cycles_json(const struct hs_json_src *src, const struct hs_scc *scc,
               const struct hs_cycle_pick *p, uint32_t **via)
{
    const struct hs_graph *g = src->g;
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_json *jw = hs_json_object();
    char name[256];

    for (uint32_t i = 0; i < p->shown; i++) {
        uint32_t c = p->ids[i], len;
        const struct hs_scc_info *info = &scc->info[c];
        struct hs_json *jc = hs_json_object(), *jt = hs_json_object();
        struct hs_json *jl = hs_json_array();
        uint32_t *loop = find_loop(g, scc, c, via, &len);

        member_types(g, scc, c, NULL, jt);
        hs_json_set_int(jc, "members", hs_scc_size(scc, c));
        hs_json_set_int(jc, "bytes", (int64_t)info->bytes);
        hs_json_set_bool(jc, "unreachable",
                         (info->flags & HS_SCC_UNREACHABLE) != 0);
        hs_json_set_bool(jc, "has_del", (info->flags & HS_SCC_HAS_DEL) != 0);
        hs_json_set_bool(jc, "self_loop",
                         (info->flags & HS_SCC_SELF_LOOP) != 0);
        hs_json_set(jc, "types", jt);
        if (src->viewer)
            hs_json_set(jc, "first",
                        hs_why_node_json(src, scc->members[scc->off[c]]));
        for (uint32_t k = 0; loop && k < len; k++) {
            struct hs_json *step = hs_json_object();
            struct hs_buf l = HS_BUF_INIT;
            uint32_t from = hs_graph_edge_src(g, loop[k]);
            uint32_t to = g->out_dst[loop[k]];

            hs_naming_edge(src->names, loop[k], &l);
            hs_json_set_int(step, "from", hs_graph_object_id(from));
            hs_json_set_str(step, "label", l.buf);
            hs_json_set_int(step, "to", hs_graph_object_id(to));
            if (src->viewer) {
                hs_json_set_str(step, "from_type",
                                hs_naming_type(g, from, 0, name,
                                               sizeof(name)));
                hs_json_set_str(step, "to_type",
                                hs_naming_type(g, to, 0, name, sizeof(name)));
            }
            hs_json_push(jl, step);
            hs_buf_release(&l);
        }
        free(loop);
        hs_json_set(jc, "loop", jl);
        hs_json_push(arr, jc);
    }
    hs_json_set(doc, "cycles", arr);
    hs_json_set_int(doc, "total", p->total);
    hs_json_set_int(doc, "total_bytes", (int64_t)p->total_bytes);
    hs_json_set_int(doc, "unreachable", p->unreachable);
    hs_json_set_int(doc, "unreachable_bytes", (int64_t)p->unreachable_bytes);
    hs_json_set_int(doc, "not_shown", p->listed - p->shown);
    hs_json_set_int(jw, "cycles", p->machinery);
    hs_json_set_int(jw, "members", p->machinery_members);
    hs_json_set_int(jw, "bytes", (int64_t)p->machinery_bytes);
    hs_json_set(doc, "machinery", jw);
    return doc;
}

static void
loop_text(struct cycles *cy, const uint32_t *loop, uint32_t len,
          struct hs_buf *out)
{
    char name[256];

    for (uint32_t i = 0; i < len; i++) {
        uint32_t src = hs_graph_edge_src(cy->g, loop[i]);

        if (i == 0)
            hs_buf_addf(out, "%s @0x%" PRIx64,
                        hs_naming_type(cy->g, src, 0, name, sizeof(name)),
                        cy->g->address[src]);
        hs_buf_addch(out, ' ');
        hs_naming_edge(cy->names, loop[i], out);
        if (i + 1 < len) {
            uint32_t dst = cy->g->out_dst[loop[i]];

            hs_buf_addf(out, " \xE2\x86\x92 %s",
                        hs_naming_type(cy->g, dst, 0, name, sizeof(name)));
        } else {
            hs_buf_adds(out, " \xE2\x86\x92 back");
        }
    }
}

int
cmd_cycles(int argc, const char **argv)
{
    const char *file = NULL, *svg = NULL, *dot = NULL;
    int json = 0, limit = 10, garbage = 0, all = 0;
    int max_nodes = HS_PICTURE_MAX_NODES;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "cycles to list (default 10; 0 for all)", NULL },
        { HS_OPT_FLAG, 0, "garbage", &garbage, NULL,
          "only unreachable cycles (garbage awaiting the collector)", NULL },
        { HS_OPT_FLAG, 0, "all", &all, NULL,
          "also list the interpreter's own web of modules and functions",
          NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_STRING, 0, "svg", &svg, "FILE",
          "also draw the listed cycles into FILE (format by extension)",
          NULL },
        { HS_OPT_STRING, 0, "dot", &dot, "FILE",
          "also write the drawing's DOT text into FILE (.dot, .gv)", NULL },
        { HS_OPT_INT, 0, "max-nodes", &max_nodes, "N",
          "objects drawn at most (default 1000)", NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct cycles cy;
    struct hs_cycle_pick pick;
    struct hs_dominators *dom;
    struct hs_buf b = HS_BUF_INIT;
    char s1[32], s2[32];
    int n, rc = HS_EXIT_OK;

    memset(&cy, 0, sizeof(cy));
    memset(&pick, 0, sizeof(pick));
    n = hs_parse_options(argc, argv, opts, cycles_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("cycles", "unexpected argument '%s'", argv[0]);
        return HS_EXIT_USAGE;
    }
    if (limit < 0) {
        hs_usage_error("cycles", "-n must not be negative");
        return HS_EXIT_USAGE;
    }
    if (max_nodes < 1) {
        hs_usage_error("cycles", "--max-nodes must be at least 1");
        return HS_EXIT_USAGE;
    }
    if (hs_draw_check_files("cycles", svg, dot) < 0)
        return hs_error_status();
    if (hs_heap_open(&cy.heap, file, 0) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    cy.g = cy.heap.g;
    cy.names = cy.heap.names;
    cy.bfs = hs_heap_bfs(&cy.heap);
    cy.scc = hs_heap_data_scc(&cy.heap);
    hs_cycles_pick(cy.scc, all, garbage, (uint32_t)limit, &pick);
    if (json) {
        struct hs_json_src src = { cy.g, cy.names, cy.bfs, NULL, 0 };
        struct hs_json *doc = hs_cycles_json(&src, cy.scc, &pick, &cy.via);

        if (hs_json_print(doc, stdout) < 0)
            rc = hs_error_status();
        hs_json_free(doc);
    } else {
        printf("%u reference cycle%s (%s); %u unreachable (%s) awaiting the "
               "cyclic gc\n",
               pick.total, pick.total == 1 ? "" : "s",
               hs_human_size(pick.total_bytes, s1, sizeof(s1)),
               pick.unreachable,
               hs_human_size(pick.unreachable_bytes, s2, sizeof(s2)));
        for (uint32_t i = 0; i < pick.shown; i++) {
            uint32_t c = pick.ids[i], len, size = hs_scc_size(cy.scc, c);
            const struct hs_scc_info *info = &cy.scc->info[c];
            uint32_t *loop;

            hs_buf_reset(&b);
            member_types(cy.g, cy.scc, c, &b, NULL);
            printf("\n  #%u  %u object%s, %s%s%s: %s\n", i + 1, size,
                   size == 1 ? "" : "s",
                   hs_human_size(info->bytes, s1, sizeof(s1)),
                   info->flags & HS_SCC_UNREACHABLE ? ", unreachable" : "",
                   info->flags & HS_SCC_HAS_DEL ? ", a member has __del__"
                                                : "",
                   b.buf);
            loop = find_loop(cy.g, cy.scc, c, &cy.via, &len);
            if (loop) {
                hs_buf_reset(&b);
                loop_text(&cy, loop, len, &b);
                printf("      %s\n", b.buf);
            }
            free(loop);
        }
        if (pick.listed > pick.shown)
            printf("\n  and %u more (-n 0 lists all)\n",
                   pick.listed - pick.shown);
        if (pick.machinery)
            printf("\n  not listed: %u cycle%s of interpreter machinery "
                   "(modules and classes with their functions, dicts and "
                   "descriptors): %u objects, %s; --all lists %s\n",
                   pick.machinery, pick.machinery == 1 ? "" : "s",
                   pick.machinery_members,
                   hs_human_size(pick.machinery_bytes, s1, sizeof(s1)),
                   pick.machinery == 1 ? "it" : "them");
        if (!pick.listed && !pick.machinery)
            printf("\n  none\n");
    }
    /* Boxes show retained sizes in every picture. */
    if ((svg || dot) &&
        (!(dom = hs_heap_dominators(&cy.heap)) ||
         hs_draw_cycles(cy.g, cy.names, cy.bfs, dom, cy.scc, pick.ids,
                        pick.shown, (uint32_t)max_nodes, svg, dot) < 0))
        rc = hs_error_status();
cleanup:
    hs_buf_release(&b);
    hs_cycle_pick_release(&pick);
    free(cy.via);
    hs_heap_release(&cy.heap);
    return rc;
}
