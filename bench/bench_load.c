/*
 * bench_load.c: what the analyzer pays before it can answer anything, on a
 * real snapshot: opening it, loading the graph (objects, references,
 * roots; both CSRs), reading or computing retained sizes, and one BFS from
 * the roots.  Each phase in wall and CPU seconds, best of three runs, and
 * the peak memory.  Not a test: it prints numbers and never fails on them.
 *
 * Usage: bench_load SNAPSHOT
 */
#include "dominators.h"
#include "graph.h"
#include "paths.h"
#include "retained.h"
#include "snapshot.h"

#include <stdio.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <time.h>

#define RUNS 3

struct clock2 {
    double wall, cpu;
};

static struct clock2
now(void)
{
    struct timespec w, c;
    struct clock2 r;

    clock_gettime(CLOCK_MONOTONIC, &w);
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c);
    r.wall = (double)w.tv_sec + (double)w.tv_nsec / 1e9;
    r.cpu = (double)c.tv_sec + (double)c.tv_nsec / 1e9;
    return r;
}

static void
keep_best(struct clock2 *best, struct clock2 a, struct clock2 b)
{
    if (b.wall - a.wall < best->wall)
        best->wall = b.wall - a.wall;
    if (b.cpu - a.cpu < best->cpu)
        best->cpu = b.cpu - a.cpu;
}

int
main(int argc, char **argv)
{
    struct clock2 open_t = { 1e9, 1e9 }, load_t = { 1e9, 1e9 };
    struct clock2 ret_t = { 1e9, 1e9 }, bfs_t = { 1e9, 1e9 };
    uint32_t n = 0, m = 0;
    const char *origin = "?";
    struct rusage ru;

    if (argc != 2) {
        fprintf(stderr, "usage: bench_load SNAPSHOT\n");
        return 2;
    }
    for (int run = 0; run < RUNS; run++) {
        struct clock2 t0 = now(), t1, t2, t3, t4;
        struct hs_snapshot *s = hs_snapshot_open(argv[1], HS_SNAP_DERIVED);
        struct hs_graph *g;
        struct hs_dominators d;
        struct hs_bfs bfs;

        if (!s)
            return hs_error_status();
        t1 = now();
        if (!(g = hs_graph_load(s)))
            return hs_error_status();
        t2 = now();
        if (hs_retained_get(g, &d) < 0)
            return hs_error_status();
        t3 = now();
        hs_bfs_run(g, &bfs);
        t4 = now();
        keep_best(&open_t, t0, t1);
        keep_best(&load_t, t1, t2);
        if (run > 0) /* the first run may compute and store */
            keep_best(&ret_t, t2, t3);
        keep_best(&bfs_t, t3, t4);
        n = g->n;
        m = g->m;
        origin = d.origin == HS_DOM_LOADED ? "loaded" : "computed";
        hs_bfs_release(&bfs);
        hs_dominators_release(&d);
        hs_graph_free(g);
        hs_snapshot_close(s);
    }
    getrusage(RUSAGE_SELF, &ru);
    printf("snapshot: %u objects, %u references\n", n, m);
    printf("  open                %.3f s wall  %.3f s cpu\n", open_t.wall,
           open_t.cpu);
    printf("  graph load          %.3f s wall  %.3f s cpu  (%.0f ns/object)\n",
           load_t.wall, load_t.cpu, n ? load_t.cpu * 1e9 / n : 0.0);
    printf("  retained (%s)   %.3f s wall  %.3f s cpu\n", origin, ret_t.wall,
           ret_t.cpu);
    printf("  BFS from the roots  %.3f s wall  %.3f s cpu\n", bfs_t.wall,
           bfs_t.cpu);
    printf("  peak memory         %.1f MiB (%.0f bytes/object)\n",
           (double)ru.ru_maxrss / 1024.0,
           n ? (double)ru.ru_maxrss * 1024.0 / n : 0.0);
    return 0;
}
