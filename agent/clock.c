/*
 * clock.c: the one monotonic clock the agent times its phases, its dump
 * and its allocation sites with (walk.c, finisher.c, sites.c).
 */
#include "agent.h"

#include <time.h>

double
hs_mono(void)
{
    struct timespec t;

    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}
