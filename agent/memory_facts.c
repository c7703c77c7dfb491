/*
 * memory_facts.c: the process's memory outside the object graph, read
 * once before the walk (so the walk's own buffers are not in it) and
 * written to meta, where `heapsnap info` reconciles it with the objects'
 * total (inspector/memory_account.c).
 *
 * Sources, each recorded only when it could be read (a missing key means
 * unknown, never zero):
 *  - /proc/self/status: VmRSS, VmHWM (the peak), RssAnon, RssFile,
 *    RssShmem (Linux 4.5+).
 *  - pymalloc: _PyObject_DebugMallocStats(), the C function behind
 *    sys._debugmallocstats(), exported by CPython 3.8 - 3.13, printed to a
 *    memory stream and parsed.  It walks the obmalloc state of the
 *    running interpreter and prints, in every version, the lines
 *    "# arenas allocated current = N", "N arenas * S bytes/arena = B" and
 *    "# bytes in allocated blocks = U" (numbers with thousands commas),
 *    and a table with a row per size class "CLASS SIZE POOLS BLOCKS
 *    AVAIL": its blocks in use, summed, are how many small allocations
 *    live, which sizes the walk's object table (idmap.c).
 *    Arena bytes minus allocated-block bytes is pymalloc's free space:
 *    free blocks, unused pools, pool headers, quantization, alignment.
 *    It prints nothing (so nothing is recorded) when pymalloc is off
 *    (PYTHONMALLOC=malloc, mimalloc).  On Linux arenas are mmap()ed, so
 *    malloc's figures below do not include them.
 *  - glibc's mallinfo2() (glibc 2.33+), all malloc arenas: heap =
 *    arena + hblkhd (bytes taken from the system), used = uordblks +
 *    hblkhd, free = fordblks.
 *  - tracemalloc's traced total, given by the Python side (heapsnap's
 *    __init__.py asks tracemalloc before calling the agent).
 * None of this runs Python code or allocates a Python object; the stream
 * and /proc reads use malloc.
 */
#include "agent.h"

#include <malloc.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Exported by every supported CPython; declared in an internal header
 * that differs between versions (cpython/objimpl.h, pycore_pymem.h,
 * pycore_obmalloc.h), so declared here once. */
PyAPI_FUNC(int) _PyObject_DebugMallocStats(FILE *out);

/* The kB figure of "Key:   1234 kB" lines of /proc/self/status. */
static void
read_status(struct hs_memfacts *m)
{
    static const struct {
        const char *key;
        size_t off;
    } keys[] = {
        { "VmRSS:", offsetof(struct hs_memfacts, rss) },
        { "VmHWM:", offsetof(struct hs_memfacts, rss_peak) },
        { "RssAnon:", offsetof(struct hs_memfacts, rss_anon) },
        { "RssFile:", offsetof(struct hs_memfacts, rss_file) },
        { "RssShmem:", offsetof(struct hs_memfacts, rss_shmem) },
    };
    char line[256];
    FILE *f = fopen("/proc/self/status", "r");

    if (!f)
        return;
    while (fgets(line, sizeof(line), f)) {
        for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
            size_t n = strlen(keys[i].key);
            long long kb;

            if (strncmp(line, keys[i].key, n) ||
                sscanf(line + n, "%lld", &kb) != 1)
                continue;
            *(int64_t *)((char *)m + keys[i].off) = (int64_t)kb * 1024;
        }
    }
    fclose(f);
}

/* The number after the last '=' of `line`, commas skipped; -1 if none. */
static int64_t
number_after_eq(const char *line)
{
    const char *p = strrchr(line, '=');
    int64_t v = 0;
    int digits = 0;

    if (!p)
        return -1;
    for (p++; *p && *p != '\n'; p++) {
        if (*p >= '0' && *p <= '9') {
            v = v * 10 + (*p - '0');
            digits = 1;
        } else if (*p != ',' && *p != ' ') {
            return -1;
        }
    }
    return digits ? v : -1;
}

static void
read_pymalloc(struct hs_memfacts *m)
{
    char *buf = NULL, *line, *save = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    int64_t arenas = -1, arena_bytes = -1, used = -1, blocks = 0;

    if (!f)
        return;
    _PyObject_DebugMallocStats(f);
    if (fclose(f) != 0 || !buf) {
        free(buf);
        return;
    }
    for (line = strtok_r(buf, "\n", &save); line;
         line = strtok_r(NULL, "\n", &save)) {
        long long cls, size, pools, in_use, avail;
        char end;

        if (sscanf(line, "%lld %lld %lld %lld %lld %c", &cls, &size, &pools,
                   &in_use, &avail, &end) == 5 &&
            in_use >= 0)
            blocks += in_use;
        else if (!strncmp(line, "# arenas allocated current", 26))
            arenas = number_after_eq(line);
        else if (strstr(line, " arenas * ") && strstr(line, "bytes/arena"))
            arena_bytes = number_after_eq(line);
        else if (!strncmp(line, "# bytes in allocated blocks", 27))
            used = number_after_eq(line);
    }
    free(buf);
    if (arenas >= 0 && arena_bytes >= 0 && used >= 0 && used <= arena_bytes) {
        m->pymalloc_arenas = arenas;
        m->pymalloc_arena_bytes = arena_bytes;
        m->pymalloc_used = used;
        m->pymalloc_blocks = blocks;
    }
}

static void
read_malloc(struct hs_memfacts *m)
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || __GLIBC_MINOR__ >= 33)
    struct mallinfo2 mi = mallinfo2();

    m->malloc_heap = (int64_t)(mi.arena + mi.hblkhd);
    m->malloc_used = (int64_t)(mi.uordblks + mi.hblkhd);
    m->malloc_free = (int64_t)mi.fordblks;
#else
    (void)m;
#endif
}

void
hs_memfacts_read(struct hs_memfacts *m, int64_t traced)
{
    m->rss = m->rss_peak = m->rss_anon = m->rss_file = m->rss_shmem = -1;
    m->pymalloc_arenas = m->pymalloc_arena_bytes = m->pymalloc_used = -1;
    m->pymalloc_blocks = -1;
    m->malloc_heap = m->malloc_used = m->malloc_free = -1;
    m->traced = traced;
    /* malloc first: the other two readers allocate a little. */
    read_malloc(m);
    read_pymalloc(m);
    read_status(m);
}

static void
put(struct hs_sink *s, const char *key, int64_t v)
{
    if (v >= 0)
        hs_sink_meta_int(s, key, v);
}

void
hs_memfacts_meta(struct hs_sink *s, const struct hs_memfacts *m)
{
    put(s, "rss_bytes", m->rss);
    put(s, "rss_peak_bytes", m->rss_peak);
    put(s, "rss_anon_bytes", m->rss_anon);
    put(s, "rss_file_bytes", m->rss_file);
    put(s, "rss_shmem_bytes", m->rss_shmem);
    put(s, "pymalloc_arenas", m->pymalloc_arenas);
    put(s, "pymalloc_arena_bytes", m->pymalloc_arena_bytes);
    put(s, "pymalloc_used_bytes", m->pymalloc_used);
    put(s, "malloc_heap_bytes", m->malloc_heap);
    put(s, "malloc_used_bytes", m->malloc_used);
    put(s, "malloc_free_bytes", m->malloc_free);
    put(s, "tracemalloc_traced_bytes", m->traced);
}
