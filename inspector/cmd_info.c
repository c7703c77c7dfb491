/*
 * COMMAND: info
 * USAGE:   heapsnap info [-f FILE] [--json]
 *
 * Metadata and totals of a snapshot: where and when it was taken, objects,
 * edges, bytes, roots by kind, threads, and which derived tables it holds.
 * The first reader of a new file, so it also proves the file is sound.
 */
#include "heapsnap.h"
#include "report.h"
#include "heap.h"
#include "memory_account.h"
#include "render_json.h"
#include "render_text.h"
#include "summary.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const info_usage[] = {
    "usage: heapsnap info [-f FILE] [--json]",
    "",
    "Shows how, when and from which process a snapshot was taken, and its",
    "totals: objects, references, bytes, roots by kind, threads, and how",
    "its RSS divides into objects, allocator free space, file-backed pages",
    "and what stays unexplained (warned about above a quarter of RSS).",
    NULL,
};

static int
print_json(const struct hs_summary *sum)
{
    struct hs_json *root = hs_info_json(sum);
    int rc = hs_json_print(root, stdout);

    hs_json_free(root);
    return rc;
}

static const char *
meta_or(const struct hs_summary *sum, const char *key, const char *dflt)
{
    const char *v = hs_summary_meta(sum, key);

    return v ? v : dflt;
}

static const char *
yes_no(const char *v)
{
    return v && strcmp(v, "0") ? "yes" : "no";
}

static void
print_text(const struct hs_summary *sum)
{
    static const enum hs_align align[] = { HS_ALIGN_LEFT, HS_ALIGN_LEFT };
    struct hs_table *t = hs_table_new(2, align);
    struct hs_buf b = HS_BUF_INIT;
    struct hs_memory_account acc;
    char n1[32], n2[32], n3[32], *warning = NULL;

    hs_buf_addf(&b, "%s (format %d, %s)", sum->path, sum->format,
                hs_human_size((uint64_t)(sum->file_bytes > 0 ? sum->file_bytes
                                                             : 0),
                              n1, sizeof(n1)));
    hs_table_rowv(t, "snapshot", b.buf);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s %s (%s)", meta_or(sum, "python_implementation", "?"),
                meta_or(sum, "python_version", "?"),
                meta_or(sum, "python_executable", "?"));
    hs_table_rowv(t, "python", b.buf);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "pid %s, argv %s", meta_or(sum, "pid", "?"),
                meta_or(sum, "argv", "?"));
    hs_table_rowv(t, "process", b.buf);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s by agent %s, trigger %s, %s",
                meta_or(sum, "created_at", "?"),
                meta_or(sum, "agent_version", "?"),
                meta_or(sum, "trigger", "?"),
                hs_human_seconds(meta_or(sum, "dump_seconds", "?"), n2,
                                 sizeof(n2)));
    if (hs_summary_meta(sum, "attach_method"))
        hs_buf_addf(&b, ", attached via %s",
                    !strcmp(hs_summary_meta(sum, "attach_method"), "pep768")
                        ? "remote debugging (PEP 768)"
                        : hs_summary_meta(sum, "attach_method"));
    hs_table_rowv(t, "created", b.buf);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s, thresholds %s, counts %s, collected first: %s",
                strcmp(meta_or(sum, "gc_enabled", "1"), "0") ? "enabled"
                                                             : "disabled",
                meta_or(sum, "gc_thresholds", "?"),
                meta_or(sum, "gc_counts", "?"),
                yes_no(hs_summary_meta(sum, "gc_collected")));
    if (hs_summary_meta(sum, "gc_collections"))
        hs_buf_addf(&b, ", collections so far %s",
                    hs_summary_meta(sum, "gc_collections"));
    hs_table_rowv(t, "gc", b.buf);
    hs_table_rowv(t, "redacted", yes_no(hs_summary_meta(sum, "redacted")));
    hs_table_rowv(t, "", "");

    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s (%s shallow)",
                hs_group_digits((uint64_t)sum->objects, n1, sizeof(n1)),
                hs_human_size((uint64_t)sum->bytes, n2, sizeof(n2)));
    hs_table_rowv(t, "objects", b.buf);
    hs_table_rowv(t, "references",
                  hs_group_digits((uint64_t)sum->edges, n1, sizeof(n1)));
    hs_table_rowv(t, "types",
                  hs_group_digits((uint64_t)sum->types, n1, sizeof(n1)));
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s",
                hs_group_digits((uint64_t)sum->roots, n1, sizeof(n1)));
    for (size_t i = 0; i < sum->nroot_kinds; i++)
        hs_buf_addf(&b, "%s%s %" PRId64, i ? ", " : ": ",
                    sum->root_kinds[i].key, sum->root_kinds[i].n);
    hs_table_rowv(t, "roots", b.buf);
    hs_buf_reset(&b);
    hs_buf_addf(&b, "%s objects (%s): cyclic garbage awaiting the collector",
                hs_group_digits((uint64_t)sum->unreachable, n1, sizeof(n1)),
                hs_human_size((uint64_t)sum->unreachable_bytes, n2,
                              sizeof(n2)));
    hs_table_rowv(t, "unreachable", b.buf);
    if (sum->reported) {
        hs_buf_reset(&b);
        hs_buf_addf(&b,
                    "%s objects whose Python __sizeof__ reports %s; they "
                    "own %s, which is what is counted (reported_sizes)",
                    hs_group_digits((uint64_t)sum->reported, n1, sizeof(n1)),
                    hs_human_size((uint64_t)sum->reported_bytes, n2,
                                  sizeof(n2)),
                    hs_human_size((uint64_t)sum->reported_own, n3,
                                  sizeof(n3)));
        hs_table_rowv(t, "__sizeof__", b.buf);
    }
    hs_table_rowv(t, "retained", sum->has_retained
                                     ? "computed (stored in the snapshot)"
                                     : "not computed yet (the first show, "
                                       "why or top --by retained computes "
                                       "and stores it)");
    hs_buf_reset(&b);
    if (sum->graph_cache_bytes >= 0)
        hs_buf_addf(&b, "stored (%s of the file)",
                    hs_human_size((uint64_t)sum->graph_cache_bytes, n1,
                                  sizeof(n1)));
    else
        hs_buf_adds(&b, "not stored yet (the first command that loads the "
                        "graph stores it, when it can write the file)");
    hs_table_rowv(t, "graph cache", b.buf);
    for (size_t i = 0; i < sum->nthreads; i++) {
        const struct hs_thread_info *th = &sum->threads[i];

        hs_buf_reset(&b);
        hs_buf_addf(&b, "%s (ident %" PRId64 "%s%s), %" PRId64 " frames",
                    th->name ? th->name : "unnamed thread", th->ident,
                    th->is_main ? ", main" : "",
                    th->is_dumper ? ", ran the dump" : "", th->frames);
        if (th->where)
            hs_buf_addf(&b, ", in %s", th->where);
        hs_table_rowv(t, i ? "" : "threads", b.buf);
    }
    if (hs_memory_account(sum, &acc) == 0) {
        hs_memory_account_rows(&acc, t);
        warning = hs_memory_account_warning(&acc);
    }
    hs_table_print(t, stdout);
    if (warning)
        printf("%s\n", warning);
    free(warning);
    hs_table_free(t);
    hs_buf_release(&b);
}

int
cmd_info(int argc, const char **argv)
{
    const char *file = NULL;
    int json = 0;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_summary sum;
    struct hs_heap heap;
    int n, rc = HS_EXIT_OK;

    n = hs_parse_options(argc, argv, opts, info_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("info", "unexpected argument '%s'", argv[0]);
        return HS_EXIT_USAGE;
    }
    /* info reads the tables as they are: no graph, nothing derived. */
    if (hs_heap_open(&heap, file, HS_HEAP_READONLY | HS_HEAP_NO_GRAPH) < 0 ||
        hs_summary_load(heap.snap, &sum) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (json) {
        if (print_json(&sum) < 0)
            rc = hs_error_status();
    } else {
        print_text(&sum);
    }
    hs_summary_release(&sum);
cleanup:
    hs_heap_release(&heap);
    return rc;
}
