/*
 * COMMAND: export
 * USAGE:   heapsnap export [-f FILE] [--format chrome] [-o OUT]
 *
 * Writes the snapshot in another tool's format.  Today one: V8's heap
 * snapshot JSON (export_chrome.c), which Chrome DevTools' Memory panel
 * loads and MemLab analyses.  The file is written to OUT.tmp and renamed
 * when complete (mode 0600: heaps hold secrets), so a failed export never
 * leaves a half file under the real name; `-o -` streams to stdout.
 */
#include "heapsnap.h"
#include "export_chrome.h"
#include "heap.h"
#include "progress.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const export_usage[] = {
    "usage: heapsnap export [-f FILE] [--format chrome] [-o OUT]",
    "",
    "Writes the snapshot as V8's heap snapshot JSON, which Chrome",
    "DevTools' Memory panel (Load) and MemLab read: every object a node",
    "named by its type (str by its value, numbers, modules, classes and",
    "functions with their value), every reference an edge named by its",
    "label, weak references weak, and a synthetic root holding the",
    "snapshot's roots.  Node ids are heapsnap's object ids: DevTools' @42",
    "is `heapsnap show @42`.  OUT defaults to the snapshot's name with",
    ".heapsnapshot, in the current folder; '-' writes to standard output.",
    NULL,
};

static const char *const format_choices[] = { "chrome", NULL };

/* "snap.db" -> "snap.heapsnapshot", in the current folder. */
static char *
default_output(const char *snapshot)
{
    const char *base = hs_base_name(snapshot);
    size_t len = strlen(base);

    if (len > 3 && !strcmp(base + len - 3, ".db"))
        len -= 3;
    return hs_xasprintf("%.*s.heapsnapshot", (int)len, base);
}

/* Exports to `out` through out.tmp.  0, or -1 with no file left. */
static int
export_file(struct hs_heap *heap, const char *out, struct hs_export_stats *st)
{
    char *tmp = hs_xasprintf("%s.tmp", out);
    int fd = hs_tmp_create(tmp), rc = -1;

    if (fd >= 0 && hs_export_chrome(heap, fd, tmp, st) < 0) {
        close(fd);
        unlink(tmp);
    } else if (fd >= 0) {
        rc = hs_tmp_finish(fd, tmp, out);
    }
    free(tmp);
    return rc;
}

int
cmd_export(int argc, const char **argv)
{
    const char *file = NULL, *format = "chrome", *out = NULL;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_CHOICE, 0, "format", &format, "FORMAT",
          "chrome: V8 heap snapshot JSON (default)", format_choices },
        { HS_OPT_STRING, 'o', "output", &out, "OUT",
          "file to write (default: SNAPSHOT.heapsnapshot here; '-': "
          "stdout)",
          NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_heap heap;
    struct hs_export_stats st;
    char *out_path = NULL, n1[32], n2[32], sz[32];
    double start;
    int n, rc = HS_EXIT_OK;

    memset(&heap, 0, sizeof(heap));
    n = hs_parse_options(argc, argv, opts, export_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("export",
                       "unexpected argument '%s' (the snapshot "
                       "is -f FILE)",
                       argv[0]);
        return HS_EXIT_USAGE;
    }
    if (out && !*out) {
        hs_usage_error("export", "-o needs a file name");
        return HS_EXIT_USAGE;
    }
    /* An unwritable destination fails before a long load. */
    if (out && strcmp(out, "-") && hs_check_output_folder(out) < 0)
        return hs_error_status();
    start = hs_now();
    if (hs_heap_open(&heap, file, 0) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    out_path = out ? hs_xstrdup(out) : default_output(heap.path);
    if (!strcmp(out_path, "-")) {
        if (hs_export_chrome(&heap, STDOUT_FILENO, "standard output", &st) < 0)
            rc = hs_error_status();
    } else if (export_file(&heap, out_path, &st) < 0) {
        rc = hs_error_status();
    }
    if (rc == HS_EXIT_OK) {
        char line[256];

        snprintf(line, sizeof(line), "%s nodes, %s edges, %s (%.2f s)",
                 hs_group_digits(st.nodes, n1, sizeof(n1)),
                 hs_group_digits(st.edges, n2, sizeof(n2)),
                 hs_human_size(st.bytes, sz, sizeof(sz)), hs_now() - start);
        if (!strcmp(out_path, "-"))
            hs_note("wrote V8 heap snapshot to standard output: %s", line);
        else
            printf("wrote '%s': %s\n", out_path, line);
    }
cleanup:
    free(out_path);
    hs_heap_release(&heap);
    return rc;
}
