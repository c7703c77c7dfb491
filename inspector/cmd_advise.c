/*
 * COMMAND: advise
 * USAGE:   heapsnap advise [-f FILE] [-n N] [--min-bytes B] [--json]
 *
 * The memory-saving techniques that apply to this heap, biggest saving
 * first: each finding with the objects it concerns (type, count, where
 * an example is held), the bytes the fix would free, computed from the
 * snapshot's own sizes for the Python version that wrote it, and the fix
 * in one line.  The findings are computed by report_advise.c and the
 * finders of advise.h; this file prints them.
 */
#include "heapsnap.h"
#include "report.h"
#include "advise.h"
#include "heap.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Findings saving less than this are not reported by default. */
#define HS_ADVISE_MIN_BYTES 65536

static const char *const advise_usage[] = {
    "usage: heapsnap advise [-f FILE] [-n N] [--min-bytes B] [--json]",
    "",
    "Finds the memory-saving techniques that apply to this heap (__slots__,",
    "array.array for lists of numbers, interning duplicate strings where",
    "they are held, empty containers made lazily, lists made at their",
    "final size, cycles left to the gc, caches and lru_caches that alone",
    "keep their values, files, sockets, maps and threads left open (and",
    "where they were opened, with dump --trace), cycles closed by",
    "back-pointers, big lists only iterated, long-lived objects to",
    "gc.freeze() before forking workers) and says",
    "how many bytes each would save, computed from the snapshot's own sizes",
    "for the Python version that wrote it, with the fix in one line.",
    NULL,
};

static void
advise_text(const struct hs_json_src *src, const struct hs_advice_list *l,
            uint32_t limit, int have_layouts, uint64_t min_bytes)
{
    struct hs_buf b = HS_BUF_INIT;
    uint32_t shown = limit && limit < l->n ? limit : l->n;
    uint64_t total = 0, heap = 0;
    char s1[32], s2[32];

    for (uint32_t i = 0; i < l->n; i++)
        total += l->v[i].bytes_saved;
    for (uint32_t k = 0; k < src->g->ntypes; k++)
        heap += src->g->types[k].bytes;
    if (!l->n)
        printf("no findings saving %s or more (of %s in the heap)\n",
               hs_human_size(min_bytes, s1, sizeof(s1)),
               hs_human_size(heap, s2, sizeof(s2)));
    else
        printf("%u finding%s would save %s (of %s in the heap)\n", l->n,
               l->n == 1 ? "" : "s", hs_human_size(total, s1, sizeof(s1)),
               hs_human_size(heap, s2, sizeof(s2)));
    for (uint32_t i = 0; i < shown; i++) {
        const struct hs_advice *a = &l->v[i];

        hs_buf_reset(&b);
        hs_advise_where(src, a, &b);
        printf("\n  #%u  %s: saves %s\n      %s\n      fix:   %s\n", i + 1,
               a->kind, hs_human_size(a->bytes_saved, s1, sizeof(s1)),
               a->title, a->fix);
        if (b.len)
            printf("      where: %s\n", b.buf);
        if (a->opened_at && src->sites) {
            hs_buf_reset(&b);
            hs_sites_frame_text(src->sites, a->opened_at, &b);
            printf("      opened at %s\n", b.buf);
        }
        printf("      how:   %s\n", a->basis);
    }
    if (l->n > shown)
        printf("\n  and %u more (-n 0 lists all)\n", l->n - shown);
    if (!have_layouts)
        printf("\nnote: this snapshot has no type_layouts table (written by "
               "an older agent): __slots__ was not checked\n");
    hs_buf_release(&b);
}

int
cmd_advise(int argc, const char **argv)
{
    const char *file = NULL, *min_arg = NULL;
    int json = 0, limit = 10, have_layouts = 0, n, rc = HS_EXIT_OK;
    uint64_t min_bytes = HS_ADVISE_MIN_BYTES;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 'n', "limit", &limit, "N",
          "findings to list (default 10; 0 for all)", NULL },
        { HS_OPT_STRING, 0, "min-bytes", &min_arg, "B",
          "only findings saving at least B bytes (default 65536)", NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_heap heap;
    struct hs_advice_list list;

    memset(&heap, 0, sizeof(heap));
    memset(&list, 0, sizeof(list));
    n = hs_parse_options(argc, argv, opts, advise_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("advise", "unexpected argument '%s'", argv[0]);
        return HS_EXIT_USAGE;
    }
    if (limit < 0) {
        hs_usage_error("advise", "-n must not be negative");
        return HS_EXIT_USAGE;
    }
    if (min_arg && hs_parse_u64(min_arg, &min_bytes) < 0) {
        hs_usage_error("advise",
                       "--min-bytes takes a number of bytes, not '%s'",
                       min_arg);
        return HS_EXIT_USAGE;
    }
    if (hs_heap_open(&heap, file, 0) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    {
        struct hs_json_src src = { heap.g, heap.names, hs_heap_bfs(&heap),
                                   hs_heap_dominators(&heap), 0,
                                   hs_heap_sites(&heap) };

        if (!src.dom || !src.sites) {
            rc = hs_error_status();
            goto cleanup;
        }

        if (hs_advise_run(&src, min_bytes, &list, &have_layouts) < 0) {
            rc = hs_error_status();
            goto cleanup;
        }
        if (json) {
            struct hs_json *doc =
                hs_advise_json(&src, &list, (uint32_t)limit, have_layouts);

            if (hs_json_print(doc, stdout) < 0)
                rc = hs_error_status();
            hs_json_free(doc);
        } else {
            advise_text(&src, &list, (uint32_t)limit, have_layouts, min_bytes);
        }
    }
cleanup:
    hs_advise_release(&list);
    hs_heap_release(&heap);
    return rc;
}
