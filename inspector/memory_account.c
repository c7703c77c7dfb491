/*
 * memory_account.c: RSS reconciled with the snapshot (see
 * memory_account.h for the sum).  Reads only the summary: meta figures
 * written by the agent and the objects' total.  Text and JSON render the
 * same struct hs_memory_account.
 */
#include "heapsnap.h"
#include "memory_account.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* A meta figure, or HS_MEM_UNKNOWN when absent or not a number. */
static int64_t
figure(const struct hs_summary *sum, const char *key)
{
    const char *v = hs_summary_meta(sum, key);
    char *end;
    long long n;

    if (!v || !*v)
        return HS_MEM_UNKNOWN;
    n = strtoll(v, &end, 10);
    return *end ? HS_MEM_UNKNOWN : (int64_t)n;
}

static int
known(int64_t v)
{
    return v != HS_MEM_UNKNOWN;
}

/* 0 for unknown: what an unknown part adds to the sum. */
static int64_t
or0(int64_t v)
{
    return known(v) ? v : 0;
}

int
hs_memory_account(const struct hs_summary *sum, struct hs_memory_account *acc)
{
    int64_t file = figure(sum, "rss_file_bytes");
    int64_t shmem = figure(sum, "rss_shmem_bytes");
    int64_t anon = figure(sum, "rss_anon_bytes");

    acc->rss = figure(sum, "rss_bytes");
    acc->rss_peak = figure(sum, "rss_peak_bytes");
    acc->objects = sum->bytes;
    acc->pymalloc_arenas = figure(sum, "pymalloc_arenas");
    acc->pymalloc_arena_bytes = figure(sum, "pymalloc_arena_bytes");
    acc->pymalloc_used = figure(sum, "pymalloc_used_bytes");
    acc->malloc_heap = figure(sum, "malloc_heap_bytes");
    acc->malloc_used = figure(sum, "malloc_used_bytes");
    acc->malloc_free = figure(sum, "malloc_free_bytes");
    acc->traced = figure(sum, "tracemalloc_traced_bytes");
    acc->pymalloc_free =
        known(acc->pymalloc_arena_bytes) && known(acc->pymalloc_used)
            ? acc->pymalloc_arena_bytes - acc->pymalloc_used
            : HS_MEM_UNKNOWN;
    /* Shared memory (anonymous shared mappings such as mmap.mmap(-1, n),
     * POSIX shm) is counted by the kernel apart from file pages; it holds
     * data, not code, so it is left in the unexplained part. */
    acc->file_backed = file;
    acc->outside_objects =
        known(acc->pymalloc_used) && known(acc->malloc_used)
            ? acc->pymalloc_used + acc->malloc_used - acc->objects
            : HS_MEM_UNKNOWN;
    acc->outside_allocators =
        known(anon) && known(acc->pymalloc_arena_bytes) &&
                known(acc->malloc_heap)
            ? anon + or0(shmem) - acc->pymalloc_arena_bytes -
                  acc->malloc_heap
            : HS_MEM_UNKNOWN;
    acc->pymalloc_rounding =
        known(acc->pymalloc_used) && figure(sum, "pointer_size") == 8
            ? sum->small_rounding_bytes
            : HS_MEM_UNKNOWN;
    acc->static_objects = sum->static_bytes;
    if (!known(acc->rss)) {
        acc->unexplained = HS_MEM_UNKNOWN;
        acc->warn = 0;
        return -1;
    }
    acc->unexplained = acc->rss - acc->objects - or0(acc->pymalloc_free) -
                       or0(acc->malloc_free) - or0(acc->file_backed);
    /* Without the file-backed and malloc figures (an older agent), most
     * of RSS would be "unexplained" for want of data: no warning then. */
    acc->warn = known(acc->file_backed) && known(acc->malloc_free) &&
                acc->unexplained > acc->rss / 4;
    return 0;
}

static void
set_figure(struct hs_json *o, const char *key, int64_t v)
{
    if (known(v))
        hs_json_set_int(o, key, v);
    else
        hs_json_set_null(o, key);
}

struct hs_json *
hs_memory_account_json(const struct hs_memory_account *acc)
{
    struct hs_json *o = hs_json_object();
    char *warning = hs_memory_account_warning(acc);

    set_figure(o, "rss", acc->rss);
    set_figure(o, "rss_peak", acc->rss_peak);
    set_figure(o, "objects", acc->objects);
    set_figure(o, "pymalloc_free", acc->pymalloc_free);
    set_figure(o, "malloc_free", acc->malloc_free);
    set_figure(o, "file_backed", acc->file_backed);
    set_figure(o, "unexplained", acc->unexplained);
    set_figure(o, "pymalloc_arenas", acc->pymalloc_arenas);
    set_figure(o, "pymalloc_arena_bytes", acc->pymalloc_arena_bytes);
    set_figure(o, "pymalloc_used", acc->pymalloc_used);
    set_figure(o, "malloc_heap", acc->malloc_heap);
    set_figure(o, "malloc_used", acc->malloc_used);
    set_figure(o, "tracemalloc_traced", acc->traced);
    set_figure(o, "allocated_outside_objects", acc->outside_objects);
    set_figure(o, "anonymous_outside_allocators", acc->outside_allocators);
    set_figure(o, "pymalloc_block_rounding", acc->pymalloc_rounding);
    set_figure(o, "static_objects", acc->static_objects);
    if (warning)
        hs_json_set_str(o, "warning", warning);
    else
        hs_json_set_null(o, "warning");
    free(warning);
    return o;
}

/* Human size of a figure that may be negative or unknown. */
static const char *
size_text(int64_t v, char *out, size_t len)
{
    char tmp[32];

    if (!known(v))
        return "unknown";
    if (v >= 0)
        return hs_human_size((uint64_t)v, out, len);
    snprintf(out, len, "-%s", hs_human_size((uint64_t)-v, tmp, sizeof(tmp)));
    return out;
}

/* One part of the sum: "SIZE  what (detail)". */
static void
part_row(struct hs_table *t, const char *label, int64_t v, const char *what,
         const char *detail)
{
    struct hs_buf b = HS_BUF_INIT;
    char n[32];

    hs_buf_addf(&b, "%10s  %s", size_text(v, n, sizeof(n)), what);
    if (detail && *detail)
        hs_buf_addf(&b, " (%s)", detail);
    hs_table_rowv(t, label, b.buf);
    hs_buf_release(&b);
}

void
hs_memory_account_rows(const struct hs_memory_account *acc,
                       struct hs_table *t)
{
    struct hs_buf b = HS_BUF_INIT, d = HS_BUF_INIT;
    char n1[32], n2[32], n3[32];

    hs_buf_addf(&b, "RSS %s", size_text(acc->rss, n1, sizeof(n1)));
    if (known(acc->rss_peak))
        hs_buf_addf(&b, " (peak %s)", size_text(acc->rss_peak, n2,
                                                  sizeof(n2)));
    hs_buf_adds(&b, " =");
    hs_table_rowv(t, "memory", b.buf);
    part_row(t, "", acc->objects, "Python objects (sum of their sizes)",
             NULL);
    if (known(acc->pymalloc_arenas))
        hs_buf_addf(&d, "%" PRId64 " arenas, %s, %s in blocks",
                    acc->pymalloc_arenas,
                    size_text(acc->pymalloc_arena_bytes, n1, sizeof(n1)),
                    size_text(acc->pymalloc_used, n2, sizeof(n2)));
    else
        hs_buf_adds(&d, "not recorded: pymalloc off or hooked, e.g. by "
                        "tracemalloc");
    part_row(t, "", acc->pymalloc_free, "pymalloc free space, fragmentation",
             d.buf);
    hs_buf_reset(&d);
    if (known(acc->malloc_heap))
        hs_buf_addf(&d, "heap %s, %s in use",
                    size_text(acc->malloc_heap, n1, sizeof(n1)),
                    size_text(acc->malloc_used, n2, sizeof(n2)));
    part_row(t, "", acc->malloc_free, "malloc free space", d.buf);
    part_row(t, "", acc->file_backed,
             "file-backed pages: code, libraries, mapped files", NULL);
    hs_buf_reset(&d);
    if (known(acc->rss) && acc->rss > 0 && known(acc->unexplained))
        hs_buf_addf(&d, "%.0f%% of RSS",
                    100.0 * (double)acc->unexplained / (double)acc->rss);
    /* More is counted than is resident: sizes that include memory never
     * touched (numpy.zeros' pages) or counted twice (a deep __sizeof__),
     * or arenas and heap not all resident. */
    if (known(acc->unexplained) && acc->unexplained < 0)
        hs_buf_adds(&d, ": more counted than resident");
    part_row(t, "", acc->unexplained, "unexplained", d.buf);
    hs_buf_reset(&b);
    if (known(acc->outside_objects) || known(acc->outside_allocators)) {
        hs_buf_addf(&b, "allocated but in no object %s; anonymous memory "
                        "outside pymalloc and malloc %s",
                    size_text(acc->outside_objects, n1, sizeof(n1)),
                    size_text(acc->outside_allocators, n3, sizeof(n3)));
        hs_table_rowv(t, "", b.buf);
    }
    hs_buf_reset(&b);
    if (known(acc->pymalloc_rounding)) {
        hs_buf_addf(&b, "of the allocated: small objects rounded up to "
                        "pymalloc's 16-byte blocks %s; static objects (in "
                        "no allocator) %s",
                    size_text(acc->pymalloc_rounding, n1, sizeof(n1)),
                    size_text(acc->static_objects, n3, sizeof(n3)));
        hs_table_rowv(t, "", b.buf);
    }
    hs_buf_reset(&b);
    if (known(acc->traced))
        hs_buf_addf(&b, "tracemalloc traced %s",
                    size_text(acc->traced, n1, sizeof(n1)));
    else
        hs_buf_adds(&b, "tracemalloc not tracing");
    hs_table_rowv(t, "", b.buf);
    hs_buf_release(&b);
    hs_buf_release(&d);
}

char *
hs_memory_account_warning(const struct hs_memory_account *acc)
{
    struct hs_buf b = HS_BUF_INIT;
    char n[32];

    if (!acc->warn)
        return NULL;
    hs_buf_addf(&b,
                "warning: %.0f%% of RSS (%s) is unexplained: no Python "
                "object holds it and the allocators do not hold it free "
                "(C buffers of extensions, memory mapped outside Python, "
                "thread stacks, leaks in C code)",
                100.0 * (double)acc->unexplained / (double)acc->rss,
                size_text(acc->unexplained, n, sizeof(n)));
    return hs_buf_detach(&b);
}
