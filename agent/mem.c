/*
 * mem.c: the agent's raw memory (PyMem_Raw*, callable without the GIL and
 * hookable by _testcapi.set_nomemory; the C library's on the dump's output
 * thread) and hs_str, the growable byte string
 * every row and label is built in.  hs_str never fails loudly: it sets
 * `failed` and ignores further additions, and the caller checks once.
 *
 * Big per-object arrays are struct hs_vmarr: address space for the largest
 * size they could reach is reserved once (no memory), and pages are made
 * usable as they grow, so they never move, are never copied and waste at
 * most one commit step; past 4 MiB they ask for huge pages (the walk's
 * lookups are random, and TLB misses would double their cost).  Committed
 * pages are populated at once, and committed bytes count in the peak like
 * any allocation.
 */
#include "agent.h"

#include <stdarg.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

/* Bytes in use and their peak.  Atomic: a dump's tail frees its sink on
 * a thread of its own without the GIL (finisher.c) while the program may
 * start the next dump. */
static size_t mem_current, mem_peak;

static void
count(size_t add, size_t sub)
{
    size_t now = __atomic_add_fetch(&mem_current, add - sub, __ATOMIC_RELAXED);
    size_t peak = __atomic_load_n(&mem_peak, __ATOMIC_RELAXED);

    while (now > peak &&
           !__atomic_compare_exchange_n(&mem_peak, &peak, now, 1,
                                        __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

/* Each block starts with its size and where it came from; 16 bytes keep
 * the payload aligned. */
#define HEADER 16
#define FROM_PYMEM 0
#define FROM_LIBC 1

/*
 * A dump's output thread (handoff.c) allocates from the C library: a
 * PyMem_Raw hook may take the GIL (tracemalloc's raw malloc and realloc
 * do), which the walking thread holds while it waits for that thread.
 * Freeing is safe from any thread (tracemalloc's raw free takes no GIL),
 * so each block is freed, and moved by realloc, the way it was made.
 */
static pthread_t libc_thread; /* valid while libc_set */
static int libc_set;

void
hs_mem_use_libc(int on)
{
    if (on)
        libc_thread = pthread_self();
    __atomic_store_n(&libc_set, on, __ATOMIC_RELEASE);
}

/* 1 on the thread that asked for the C library's memory.  (Not a
 * thread-local variable: LeakSanitizer's tracer faults on the dynamic TLS
 * of an extension in a forked child.) */
static int
libc_here(void)
{
    return __atomic_load_n(&libc_set, __ATOMIC_ACQUIRE) &&
           pthread_equal(pthread_self(), libc_thread);
}

static char *
block_of(void *ptr, size_t *size, size_t *from)
{
    char *p = (char *)ptr - HEADER;

    memcpy(size, p, sizeof(*size));
    memcpy(from, p + sizeof(*size), sizeof(*from));
    return p;
}

static void *
made(char *p, size_t n, size_t from)
{
    memcpy(p, &n, sizeof(n));
    memcpy(p + sizeof(n), &from, sizeof(from));
    return p + HEADER;
}

void *
hs_alloc(size_t n)
{
    char *p;
    size_t from = libc_here() ? FROM_LIBC : FROM_PYMEM;

    if (n > SIZE_MAX - HEADER)
        return NULL;
    p = from == FROM_LIBC ? malloc(n + HEADER) : PyMem_RawMalloc(n + HEADER);
    if (!p)
        return NULL;
    count(n, 0);
    return made(p, n, from);
}

void *
hs_realloc(void *ptr, size_t n)
{
    char *p;
    size_t old, from;

    if (!ptr)
        return hs_alloc(n);
    if (n > SIZE_MAX - HEADER)
        return NULL;
    p = block_of(ptr, &old, &from);
    if (from == FROM_PYMEM && libc_here()) {
        /* Not PyMem_RawRealloc on this thread: a new block, then the old
         * one freed. */
        void *q = hs_alloc(n);

        if (!q)
            return NULL;
        memcpy(q, ptr, old < n ? old : n);
        hs_free(ptr);
        return q;
    }
    p = from == FROM_LIBC ? realloc(p, n + HEADER)
                          : PyMem_RawRealloc(p, n + HEADER);
    if (!p)
        return NULL;
    count(n, old);
    return made(p, n, from);
}

void
hs_free(void *ptr)
{
    char *p;
    size_t old, from;

    if (!ptr)
        return;
    p = block_of(ptr, &old, &from);
    count(0, old);
    if (from == FROM_LIBC)
        free(p);
    else
        PyMem_RawFree(p);
}

size_t
hs_mem_peak(void)
{
    return __atomic_load_n(&mem_peak, __ATOMIC_RELAXED);
}

void
hs_mem_reset_peak(void)
{
    __atomic_store_n(&mem_peak, __atomic_load_n(&mem_current,
                                                __ATOMIC_RELAXED),
                     __ATOMIC_RELAXED);
}

/* ---- arrays that grow in place ------------------------------------------ */

#define SMALL_STEP ((size_t)64 << 10) /* commit granularity below 4 MiB */
#define HUGE_PAGE ((size_t)2 << 20)
#define HUGE_FROM ((size_t)4 << 20)   /* huge pages from this offset on */

static size_t
round_up(size_t n, size_t to)
{
    return (n + to - 1) / to * to;
}

int
hs_vmarr_init(struct hs_vmarr *a, size_t max_bytes)
{
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    size_t cap = pages > 0 && psize > 0 ? (size_t)pages * (size_t)psize : 0;
    void *p = MAP_FAILED;

    memset(a, 0, sizeof(*a));
    /* No array can outgrow the machine's memory. */
    if (cap && max_bytes > cap)
        max_bytes = cap;
    max_bytes = round_up(max_bytes < HUGE_FROM ? HUGE_FROM : max_bytes,
                         HUGE_PAGE);
    /* Reserving takes no memory, but a limit on address space (ulimit
     * -v) may refuse a big reservation: ask for less until one fits. */
    while (max_bytes >= HUGE_FROM) {
        p = mmap(NULL, max_bytes, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (p != MAP_FAILED)
            break;
        max_bytes = round_up(max_bytes / 2, HUGE_PAGE);
    }
    if (p == MAP_FAILED)
        return -1;
    a->base = p;
    a->reserved = max_bytes;
    a->huge_from = HUGE_FROM;
    {
        uintptr_t from = round_up((uintptr_t)a->base + HUGE_FROM, HUGE_PAGE);
        uintptr_t to = (uintptr_t)a->base + max_bytes;

        /* Only a hint: without it the array still works, page by page. */
        if (to > from)
            madvise((void *)from, to - from, MADV_HUGEPAGE);
    }
    return 0;
}

int
hs_vmarr_grow(struct hs_vmarr *a, size_t bytes)
{
    size_t want;
    void *probe;

    if (bytes <= a->committed)
        return 0;
    if (bytes > a->reserved)
        return -1;
    want = round_up(bytes, bytes < a->huge_from ? SMALL_STEP : HUGE_PAGE);
    if (want > a->reserved)
        want = a->reserved;
    /* The raw allocator is asked too, so that set_nomemory() can fail
     * this like any other allocation (the tests rely on it). */
    probe = PyMem_RawMalloc(1);
    if (!probe)
        return -1;
    PyMem_RawFree(probe);
    if (mprotect(a->base + a->committed, want - a->committed,
                 PROT_READ | PROT_WRITE) != 0)
        return -1;
#ifdef MADV_POPULATE_WRITE
    /* The pages now, in one call, rather than a fault at each first touch
     * (Linux 5.14+; elsewhere, or when it fails, they fault as before). */
    madvise(a->base + a->committed, want - a->committed, MADV_POPULATE_WRITE);
#endif
    count(want - a->committed, 0);
    a->committed = want;
    return 0;
}

/*
 * Below HUGE_FROM an array grows in small steps and 4 KiB pages, so that
 * a small one stays small.  One known to grow big gets huge pages from
 * its start: the id table's first 4 MiB of each array otherwise cost
 * 4,096 page faults, on a virtual machine 8% of a 1.4M-object walk.
 */
void
hs_vmarr_expect(struct hs_vmarr *a, size_t bytes)
{
    uintptr_t from = round_up((uintptr_t)a->base, HUGE_PAGE);
    uintptr_t to = (uintptr_t)a->base + HUGE_FROM;

    if (bytes < HUGE_FROM || a->committed || a->reserved < HUGE_FROM)
        return;
    a->huge_from = 0;
    if (to > from)
        madvise((void *)from, to - from, MADV_HUGEPAGE);
}

void
hs_vmarr_discard_below(struct hs_vmarr *a, size_t upto)
{
    if (upto > a->committed)
        upto = a->committed;
    upto = upto / SMALL_STEP * SMALL_STEP;
    if (upto <= a->discarded)
        return;
    /* The pages go back to the system (they would read as zero). */
    madvise(a->base + a->discarded, upto - a->discarded, MADV_DONTNEED);
    count(0, upto - a->discarded);
    a->discarded = upto;
}

void
hs_vmarr_reset(struct hs_vmarr *a)
{
    if (a->committed) {
        madvise(a->base, a->committed, MADV_DONTNEED);
        mprotect(a->base, a->committed, PROT_NONE);
    }
    count(0, a->committed - a->discarded);
    a->committed = a->discarded = 0;
}

void
hs_vmarr_release(struct hs_vmarr *a)
{
    if (a->base)
        munmap(a->base, a->reserved);
    count(0, a->committed - a->discarded);
    memset(a, 0, sizeof(*a));
}

/* Makes room for `extra` more bytes plus a NUL; 0 or -1. */
static int
grow(struct hs_str *s, size_t extra)
{
    size_t need, cap;
    char *p;

    if (s->failed)
        return -1;
    if (extra > SIZE_MAX / 2 - s->len) {
        s->failed = 1;
        return -1;
    }
    need = s->len + extra + 1;
    if (need <= s->alloc)
        return 0;
    cap = s->alloc ? s->alloc : 64;
    while (cap < need)
        cap *= 2;
    p = hs_realloc(s->data, cap);
    if (!p) {
        s->failed = 1;
        return -1;
    }
    s->data = p;
    s->alloc = cap;
    return 0;
}

void
hs_str_add(struct hs_str *s, const void *p, size_t n)
{
    if (grow(s, n) < 0)
        return;
    /* p may be NULL when n is 0 (an empty label), which memcpy forbids. */
    if (n)
        memcpy(s->data + s->len, p, n);
    s->len += n;
    s->data[s->len] = '\0';
}

void
hs_str_adds(struct hs_str *s, const char *p)
{
    hs_str_add(s, p, strlen(p));
}

void
hs_str_addch(struct hs_str *s, char c)
{
    if (grow(s, 1) < 0)
        return;
    s->data[s->len++] = c;
    s->data[s->len] = '\0';
}

void
hs_str_addf(struct hs_str *s, const char *fmt, ...)
{
    char buf[256];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof(buf)) {
        hs_str_add(s, buf, (size_t)n);
        return;
    }
    if (grow(s, (size_t)n) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    s->len += (size_t)n;
}

void
hs_str_reset(struct hs_str *s)
{
    s->len = 0;
    if (s->data)
        s->data[0] = '\0';
}

void
hs_str_release(struct hs_str *s)
{
    hs_free(s->data);
    s->data = NULL;
    s->len = s->alloc = 0;
    s->failed = 0;
}
