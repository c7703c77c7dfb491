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
#include "report.h"
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

struct cycles {
    struct hs_heap heap;      /* the snapshot and its analyses */
    struct hs_graph *g;       /* heap.g (borrowed) */
    struct hs_naming *names;  /* heap.names (borrowed) */
    const struct hs_scc *scc; /* the heap's data-reference components */
    const struct hs_bfs *bfs; /* the heap's retention BFS */
    uint32_t *via; /* n entries, for hs_cycle_find_loop(): the edge that
                      reached a member (only members' entries are read) */
};

/* Loops longer than this lose their middle in the text. */
#define LOOP_MAX_STEPS 12

static void
loop_text(struct cycles *cy, const uint32_t *loop, uint32_t len,
          struct hs_buf *out)
{
    char name[256], digits[32];
    uint32_t head, tail;

    /* A loop round a big cycle keeps its ends, as a long path does. */
    hs_path_elide(len, LOOP_MAX_STEPS, &head, &tail);
    for (uint32_t i = 0; i < len; i++) {
        uint32_t src = hs_graph_edge_src(cy->g, loop[i]);

        if (tail && i == head) {
            hs_buf_addf(out, " \xE2\x80\xA6 %s more steps \xE2\x80\xA6",
                        hs_group_digits(len - head - tail, digits,
                                        sizeof(digits)));
            i = len - tail - 1;
            continue;
        }
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

/* The listing as text: totals, each shown cycle with its member types
 * and one loop, then what was left out. */
static void
cycles_text(struct cycles *cy, const struct hs_cycle_pick *pick)
{
    struct hs_buf b = HS_BUF_INIT;
    char s1[32], s2[32], digits[32];

    printf("%u reference cycle%s (%s); %u unreachable (%s) awaiting the "
           "cyclic gc\n",
           pick->total, pick->total == 1 ? "" : "s",
           hs_human_size(pick->total_bytes, s1, sizeof(s1)),
           pick->unreachable,
           hs_human_size(pick->unreachable_bytes, s2, sizeof(s2)));
    for (uint32_t i = 0; i < pick->shown; i++) {
        uint32_t c = pick->ids[i], len, size = hs_scc_size(cy->scc, c);
        const struct hs_scc_info *info = &cy->scc->info[c];
        uint32_t *loop;

        hs_buf_reset(&b);
        hs_cycle_member_types(cy->g, cy->scc, c, &b, NULL);
        printf("\n  #%u  %s object%s, %s%s%s: %s\n", i + 1,
               hs_group_digits(size, digits, sizeof(digits)),
               size == 1 ? "" : "s",
               hs_human_size(info->bytes, s1, sizeof(s1)),
               info->flags & HS_SCC_UNREACHABLE ? ", unreachable" : "",
               info->flags & HS_SCC_HAS_DEL ? ", a member has __del__"
                                            : "",
               b.buf);
        loop = hs_cycle_find_loop(cy->g, cy->scc, c, &cy->via, &len);
        if (loop) {
            hs_buf_reset(&b);
            loop_text(cy, loop, len, &b);
            printf("      %s\n", b.buf);
        }
        free(loop);
    }
    if (pick->listed > pick->shown)
        printf("\n  and %u more (-n 0 lists all)\n",
               pick->listed - pick->shown);
    if (pick->machinery)
        printf("\n  not listed: %u cycle%s of interpreter machinery "
               "(modules and classes with their functions, dicts and "
               "descriptors): %u objects, %s; --all lists %s\n",
               pick->machinery, pick->machinery == 1 ? "" : "s",
               pick->machinery_members,
               hs_human_size(pick->machinery_bytes, s1, sizeof(s1)),
               pick->machinery == 1 ? "it" : "them");
    if (!pick->listed && !pick->machinery)
        printf("\n  none\n");
    hs_buf_release(&b);
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
        struct hs_json_src src = { cy.g, cy.names, cy.bfs, NULL, 0,
                                   NULL };
        struct hs_json *doc = hs_cycles_json(&src, cy.scc, &pick, &cy.via);

        if (hs_json_print(doc, stdout) < 0)
            rc = hs_error_status();
        hs_json_free(doc);
    } else {
        cycles_text(&cy, &pick);
    }
    /* Boxes show retained sizes in every picture. */
    if ((svg || dot) &&
        (!(dom = hs_heap_dominators(&cy.heap)) ||
         hs_draw_cycles(cy.g, cy.names, cy.bfs, dom, cy.scc, pick.ids,
                        pick.shown, (uint32_t)max_nodes, svg, dot) < 0))
        rc = hs_error_status();
cleanup:
    hs_cycle_pick_release(&pick);
    free(cy.via);
    hs_heap_release(&cy.heap);
    return rc;
}
