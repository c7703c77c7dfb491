/*
 * fuzz_snapshot.c: libFuzzer target for the snapshot loader.  Each input
 * is written to a file and opened as a heap (heap.h) read-only, the way
 * every command opens one; then the summary (`info`), the BFS, the
 * dominators and the components are computed on it.  Any outcome but a
 * crash, a sanitizer report, a leak or a hang is fine: a broken file must
 * fail with one error, never take the inspector down.  The seed corpus is
 * the test fixture (tests/fuzz/run.sh builds it), so mutations explore the
 * loader's checks rather than SQLite's header parser.
 */
#include "heap.h"
#include "summary.h"

#include <fcntl.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static char path[64];
    struct hs_heap h;
    struct hs_summary sum;
    int fd;

    if (!path[0])
        snprintf(path, sizeof(path), "/tmp/hs-fuzz-snapshot-%d.db",
                 (int)getpid());
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        perror(path);
        abort();
    }
    close(fd);
    memset(&sum, 0, sizeof(sum));
    if (hs_heap_open(&h, path, HS_HEAP_READONLY) == 0) {
        if (hs_summary_load(h.snap, &sum) == 0)
            hs_summary_release(&sum);
        hs_heap_bfs(&h);
        if (hs_heap_dominators(&h))
            hs_heap_type_retained(&h);
        hs_heap_data_scc(&h);
    }
    hs_heap_release(&h);
    hs_error_reset();
    return 0;
}
