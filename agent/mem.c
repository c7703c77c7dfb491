/*
 * mem.c: the agent's raw memory (PyMem_Raw*, callable without the GIL and
 * hookable by _testcapi.set_nomemory) and hs_str, the growable byte string
 * every row and label is built in.  hs_str never fails loudly: it sets
 * `failed` and ignores further additions, and the caller checks once.
 */
#include "agent.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

/* Bytes in use and their peak; protected by the GIL. */
static size_t mem_current, mem_peak;

/* Each block starts with its size; 16 bytes keep the payload aligned. */
#define HEADER 16

void *
hs_alloc(size_t n)
{
    char *p;

    if (n > SIZE_MAX - HEADER)
        return NULL;
    p = PyMem_RawMalloc(n + HEADER);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    mem_current += n;
    if (mem_current > mem_peak)
        mem_peak = mem_current;
    return p + HEADER;
}

void *
hs_realloc(void *ptr, size_t n)
{
    char *p;
    size_t old;

    if (!ptr)
        return hs_alloc(n);
    if (n > SIZE_MAX - HEADER)
        return NULL;
    p = (char *)ptr - HEADER;
    memcpy(&old, p, sizeof(old));
    p = PyMem_RawRealloc(p, n + HEADER);
    if (!p)
        return NULL;
    memcpy(p, &n, sizeof(n));
    mem_current = mem_current - old + n;
    if (mem_current > mem_peak)
        mem_peak = mem_current;
    return p + HEADER;
}

void
hs_free(void *ptr)
{
    char *p;
    size_t old;

    if (!ptr)
        return;
    p = (char *)ptr - HEADER;
    memcpy(&old, p, sizeof(old));
    mem_current -= old;
    PyMem_RawFree(p);
}

size_t
hs_mem_peak(void)
{
    return mem_peak;
}

void
hs_mem_reset_peak(void)
{
    mem_peak = mem_current;
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
