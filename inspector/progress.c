/*
 * progress.c: the stderr progress line of progress.h.
 */
#include "progress.h"

#include <unistd.h>

double
hs_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

void
hs_progress_start(struct hs_progress *p, const char *what, uint64_t total)
{
    p->what = what;
    p->total = total;
    p->start = hs_now();
    p->last = p->start;
    p->tty = isatty(2) && !getenv("HEAPSNAP_NO_PROGRESS");
    p->shown = 0;
}

void
hs_progress_tick(struct hs_progress *p, uint64_t done)
{
    double t;

    if (!p->tty || (done & 0xFFFF))
        return;
    t = hs_now();
    if (t - p->start < 1.0 || t - p->last < 0.1)
        return;
    p->last = t;
    p->shown = 1;
    if (p->total)
        fprintf(stderr, "\r%s: %3.0f%%", p->what,
                100.0 * (double)done / (double)p->total);
    else
        fprintf(stderr, "\r%s: %llu", p->what, (unsigned long long)done);
    fflush(stderr);
}

void
hs_progress_end(struct hs_progress *p)
{
    if (p->shown)
        fprintf(stderr, "\r\033[K");
    p->shown = 0;
}
