/*
 * progress.h: a progress line on stderr for long computations, shown only
 * when stderr is a terminal and the work has already taken a second, so
 * pipes, tests and quick runs stay quiet.
 */
#ifndef HS_PROGRESS_H
#define HS_PROGRESS_H

#include "heapsnap.h"

struct hs_progress {
    const char *what; /* "loading objects" */
    uint64_t total;   /* units of work, 0 if unknown */
    double start;     /* monotonic seconds at start */
    double last;      /* when the line was last drawn */
    int tty;          /* stderr is a terminal */
    int shown;        /* a line is on screen */
};

/* Monotonic clock in seconds. */
double hs_now(void);

void hs_progress_start(struct hs_progress *p, const char *what,
                       uint64_t total);

/* Cheap enough to call often: draws at most 10 times a second. */
void hs_progress_tick(struct hs_progress *p, uint64_t done);

/* Erases the line, if one was drawn. */
void hs_progress_end(struct hs_progress *p);

#endif /* HS_PROGRESS_H */
