/*
 * bench_dominators.c: how long dominators and retained sizes take on big
 * synthetic heap-like graphs, and how much memory they need.  Not a test:
 * it prints numbers and never fails on them.
 *
 * The generator (deterministic, seeded) builds what a CPython heap looks
 * like to the analyzer: a module root; type hubs that every object
 * references with a skewed distribution; shared hubs (interned strings,
 * small ints), half of them interned roots; an ownership tree grown at
 * random with wide containers; back edges to the owner (p = 0.3); random
 * cross references (p = 0.4, 5% weak); 1% cyclic garbage.  Variant B puts
 * 5% of the objects in 100,000-long chains that nothing else points into,
 * variant C a circular doubly linked LRU list of up to 1,000,000 nodes
 * behind a sentinel.
 *
 * Each configuration runs in a child process so that its peak RSS is its
 * own.  Usage: bench_dominators [N [A|B|C [store]]]; without arguments it
 * runs 1M, 2.5M and 10M in variant A, 10M in B and C, and the store/load
 * round trip at 1M and 10M.
 */
#include "dominators.h"
#include "progress.h"
#include "retained.h"
#include "snapshot.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#define REPEAT 3 /* runs of the dominator computation per graph */

struct rng {
    uint64_t s; /* xorshift64* state, never 0 */
};

static uint64_t
rng_next(struct rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

static uint32_t
rng_below(struct rng *r, uint32_t n)
{
    return n ? (uint32_t)(rng_next(r) % n) : 0;
}

/* Uniform in [0, 1). */
static double
rng_unit(struct rng *r)
{
    return (double)(rng_next(r) >> 11) * (1.0 / 9007199254740992.0);
}

/* Skewed pick in [0, n): index n * u^3, so low indices are hot. */
static uint32_t
rng_skewed(struct rng *r, uint32_t n)
{
    double u = rng_unit(r);

    return (uint32_t)((double)n * u * u * u);
}

/* The edge list being generated, grown as needed. */
struct edges {
    uint32_t *src, *dst;
    uint8_t *kind;
    size_t m, alloc_src, alloc_dst, alloc_kind;
};

static void
edge(struct edges *e, uint32_t s, uint32_t d, uint8_t kind)
{
    HS_ALLOC_GROW(e->src, e->m + 1, e->alloc_src);
    HS_ALLOC_GROW(e->dst, e->m + 1, e->alloc_dst);
    HS_ALLOC_GROW(e->kind, e->m + 1, e->alloc_kind);
    e->src[e->m] = s;
    e->dst[e->m] = d;
    e->kind[e->m] = kind;
    e->m++;
}

/* Variant B: is the i-th object a link (not the head) of a chain?  One
 * block of 100,000 objects in 20 is a chain. */
static int
chain_node(uint32_t i)
{
    return (i / 100000) % 20 == 7 && i % 100000 != 0;
}

/* Builds the heap-like graph of n nodes in variant 'A', 'B' or 'C'. */
static struct hs_graph *
generate(uint32_t n, char variant)
{
    struct rng r = { 0x5EEDBA5EULL + n + (uint64_t)variant };
    struct edges e = { 0 };
    uint32_t ntypes = n / 2000, nshared = n / 200;
    uint32_t first, *containers, ncontainers = 0;
    uint32_t *roots, nroots = 0, list_first = 0, list_len = 0;
    uint32_t garbage_start; /* the last 1% of nodes: unreachable cycles */
    uint8_t *root_kind;
    uint64_t *size = hs_xmalloc(hs_st_mult(n, sizeof(uint64_t)));
    struct hs_graph_spec spec;
    struct hs_graph *g;

    ntypes = ntypes < 10 ? 10 : ntypes > 5000 ? 5000 : ntypes;
    nshared = nshared < 10 ? 10 : nshared > 50000 ? 50000 : nshared;
    first = 1 + ntypes + nshared;
    garbage_start = n - n / 100;
    containers = hs_xmalloc(hs_st_mult(n / 100 + 1, sizeof(uint32_t)));
    roots = hs_xmalloc(hs_st_mult(nshared + 2, sizeof(uint32_t)));
    root_kind = hs_xmalloc(nshared + 2);
    roots[nroots] = 0;
    root_kind[nroots++] = HS_ROOT_MODULE;

    for (uint32_t v = 0; v < n; v++)
        size[v] = !rng_below(&r, 1000) ? 1u << 20
                                       : 16 + 8 * (uint64_t)rng_below(&r, 16);
    for (uint32_t t = 1; t <= ntypes; t++) {
        edge(&e, 0, t, HS_EDGE_VALUE);
        if (t > 1)
            edge(&e, t, 1, HS_EDGE_OTHER); /* base class */
    }
    for (uint32_t h = 0; h < nshared; h++) {
        if (h % 2 == 0) {
            roots[nroots] = 1 + ntypes + h;
            root_kind[nroots++] = HS_ROOT_INTERNED;
        }
    }
    if (variant == 'C') {
        list_len = n / 10 < 1000000 ? n / 10 : 1000000;
        list_first = first + 1; /* first is the sentinel */
    }
    for (uint32_t v = first; v < n; v++) {
        uint32_t i = v - first, owner;
        int garbage = v >= garbage_start;
        int in_chain = variant == 'B' && chain_node(i);
        int in_list = list_len && v >= list_first && v < list_first + list_len;

        edge(&e, v, 1 + rng_skewed(&r, ntypes), HS_EDGE_CLASS);
        if (in_list) {
            /* The sentinel holds both ends; next and prev links. */
            uint32_t next = v + 1 < list_first + list_len ? v + 1 : first;

            edge(&e, v, next, HS_EDGE_ATTR);
            edge(&e, next, v, HS_EDGE_ATTR);
            if (v == list_first) {
                edge(&e, first, v, HS_EDGE_ATTR);
                edge(&e, v, first, HS_EDGE_ATTR);
            }
            owner = UINT32_MAX;
        } else if (in_chain) {
            owner = v - 1;
        } else if (v == first) {
            owner = 0;
        } else if (garbage) {
            /* Cyclic garbage: owned within its own region only. */
            owner = v == garbage_start
                        ? UINT32_MAX
                        : garbage_start + rng_below(&r, v - garbage_start);
        } else if (ncontainers && rng_below(&r, 10) < 4) {
            owner = containers[rng_below(&r, ncontainers)];
        } else {
            owner = first + rng_below(&r, v - first);
        }
        if (owner != UINT32_MAX) {
            edge(&e, owner, v, HS_EDGE_ITEM);
            if (rng_below(&r, 10) < 3 && !(variant == 'B' && owner > first &&
                                           chain_node(owner - first)))
                edge(&e, v, owner, HS_EDGE_ATTR);
        }
        if (!in_list && !in_chain && !garbage && !rng_below(&r, 200))
            containers[ncontainers++] = v;
        if (rng_below(&r, 10) < 3)
            edge(&e, v, 1 + ntypes + rng_skewed(&r, nshared), HS_EDGE_VALUE);
        if (rng_below(&r, 10) < 4) {
            uint32_t t;

            do {
                t = rng_below(&r, garbage ? n : garbage_start);
            } while (variant == 'B' && t > first && chain_node(t - first));
            edge(&e, v, t, rng_below(&r, 20) ? HS_EDGE_ATTR : HS_EDGE_WEAK);
        }
    }

    spec.n = n;
    spec.m = (uint32_t)e.m;
    spec.src = e.src;
    spec.dst = e.dst;
    spec.kind = e.kind;
    spec.size = size;
    spec.roots = roots;
    spec.root_kind = root_kind;
    spec.nroots = nroots;
    g = hs_graph_build(&spec);
    free(e.src);
    free(e.dst);
    free(e.kind);
    free(size);
    free(containers);
    free(roots);
    free(root_kind);
    return g;
}

/* A field of /proc/self/status in bytes ("VmRSS", "VmHWM"), or 0. */
static uint64_t
proc_status(const char *field)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t len = strlen(field);
    uint64_t kb = 0;

    if (!f)
        return 0;
    while (fgets(line, sizeof(line), f)) {
        if (!strncmp(line, field, len) && line[len] == ':') {
            kb = strtoull(line + len + 1, NULL, 10);
            break;
        }
    }
    fclose(f);
    return kb * 1024;
}

/* Resets VmHWM to the current RSS (Linux >= 4.0); 0 if it worked. */
static int
reset_peak(void)
{
    FILE *f = fopen("/proc/self/clear_refs", "w");
    int rc;

    if (!f)
        return -1;
    rc = fputs("5", f) < 0;
    return fclose(f) || rc ? -1 : 0;
}

/*
 * The depth of the deepest node of the dominator tree: each node's depth is
 * found by walking up to a node whose depth is known, then walking again
 * to record it, so every node is visited O(1) times.  4 bytes per node.
 */
static uint32_t
max_depth(const struct hs_dominators *d)
{
    uint32_t *depth = hs_xcalloc(d->n ? d->n : 1, sizeof(uint32_t));
    uint32_t deepest = 0;

    for (uint32_t v = 0; v < d->n; v++) {
        uint32_t c = v, base = 0, k;

        while (c < d->n && !depth[c])
            c = d->idom[c];
        base = c < d->n ? depth[c] : 0;
        /* Number of steps from v up to c. */
        k = 0;
        for (uint32_t x = v; x != c; x = d->idom[x])
            k++;
        for (uint32_t x = v; x != c; x = d->idom[x])
            depth[x] = base + k--;
        deepest = depth[v] > deepest ? depth[v] : deepest;
    }
    free(depth);
    return deepest;
}

/* CPU seconds (user + system) this process has used. */
static double
cpu_now(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
           (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

static double
per(uint64_t bytes, uint32_t n)
{
    return (double)bytes / (double)n;
}

/* Stores d into a temporary snapshot and loads it back, timing both. */
static void
store_and_load(struct hs_graph *g, const struct hs_dominators *d)
{
    char path[] = "/tmp/hs-bench-XXXXXX";
    int fd = mkstemp(path);
    sqlite3 *db;
    struct hs_snapshot *s;
    struct hs_dominators back;
    double t0, t1, t2;

    if (fd < 0)
        return;
    close(fd);
    if (sqlite3_open(path, &db) != SQLITE_OK ||
        sqlite3_exec(db, hs_schema_sql, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf(stderr, "bench: cannot create %s\n", path);
        sqlite3_close(db);
        unlink(path);
        return;
    }
    sqlite3_close(db);
    s = hs_snapshot_open(path, HS_SNAP_DERIVED);
    if (!s) {
        unlink(path);
        return;
    }
    g->snap = s;
    t0 = hs_now();
    if (hs_retained_store(g, d) == 0) {
        t1 = hs_now();
        if (hs_retained_load(g, &back) == 1) {
            t2 = hs_now();
            printf("  store %.2f s, load %.2f s (%s); file %.0f B/object\n",
                   t1 - t0, t2 - t1,
                   !memcmp(back.retained, d->retained, d->n * 8) &&
                           !memcmp(back.idom, d->idom, d->n * 4)
                       ? "identical"
                       : "DIFFERENT",
                   (double)(hs_snapshot_int(s, "PRAGMA page_count", 0) *
                            hs_snapshot_int(s, "PRAGMA page_size", 0)) /
                       (double)d->n);
            hs_dominators_release(&back);
        }
    }
    g->snap = NULL;
    hs_snapshot_close(s);
    unlink(path);
}

static void
run(uint32_t n, char variant, int store)
{
    static const char *const names[] = { "shallow heap", "100k-long chains",
                                         "1M-node doubly linked LRU list" };
    struct hs_graph *g;
    struct hs_dominators d;
    struct rusage ru;
    uint64_t rss_before, hwm, *bytes;
    double t0, c0, t_gen, t_dom, c_dom, t_best, t_worst, t_type, t_acc;
    uint32_t acc, deepest = 0;

    t0 = hs_now();
    g = generate(n, variant);
    t_gen = hs_now() - t0;
    printf("%c (%s): n = %u, m = %u, roots = %u; generated in %.1f s\n",
           variant, names[variant - 'A'], g->n, g->m, g->nroots, t_gen);
    rss_before = proc_status("VmRSS");
    reset_peak();
    t0 = hs_now();
    c0 = cpu_now();
    hs_dominators_compute(g, &d);
    t_dom = hs_now() - t0;
    c_dom = cpu_now() - c0;
    hwm = proc_status("VmHWM");

    t0 = hs_now();
    bytes = hs_dominators_type_retained(g, &d);
    t_type = hs_now() - t0;
    free(bytes);
    t0 = hs_now();
    acc = hs_dominators_accumulation_point(&d, HS_DOM_ROOT, 0.8);
    t_acc = hs_now() - t0;
    deepest = max_depth(&d);

    printf("  dominators + retained sizes: %.2f s (%.2f s CPU); reachable "
           "%u, unreachable %u (%.1f MB)\n",
           t_dom, c_dom, d.reachable, d.unreachable,
           (double)d.unreachable_bytes / 1e6);
    printf("  per-type retained (with the dominator CSR) %.2f s, "
           "accumulation point %.3f s (stops at %s); deepest dominator-tree "
           "path %u\n",
           t_type, t_acc, acc == HS_DOM_ROOT ? "the root" : "a node", deepest);
    getrusage(RUSAGE_SELF, &ru);
    printf("  memory per object: graph %.1f B (32 n + 9 m), RSS before "
           "%.1f B, growth during dominators %.1f B, whole-process peak "
           "%.1f B (includes the generator)\n",
           per(32 * (uint64_t)g->n + 9 * (uint64_t)g->m, n),
           per(rss_before, n), per(hwm > rss_before ? hwm - rss_before : 0, n),
           per((uint64_t)ru.ru_maxrss * 1024, n));
    if (store)
        store_and_load(g, &d);
    hs_dominators_release(&d);

    /* The machine may be shared: run again, after everything above is
     * measured and freed, and report the spread. */
    t_best = t_worst = t_dom;
    for (int i = 1; i < REPEAT; i++) {
        t0 = hs_now();
        hs_dominators_compute(g, &d);
        t0 = hs_now() - t0;
        t_best = t0 < t_best ? t0 : t_best;
        t_worst = t0 > t_worst ? t0 : t_worst;
        hs_dominators_release(&d);
    }
    printf("  %d runs: best %.2f s, worst %.2f s\n", REPEAT, t_best, t_worst);
    fflush(stdout);
    hs_graph_free(g);
}

/* Runs one configuration in a child process. */
static void
run_child(uint32_t n, char variant, int store)
{
    pid_t pid;
    int status;

    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        run(n, variant, store);
        fflush(stdout);
        _exit(0);
    }
    if (pid < 0 || waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status))
        printf("  (run failed)\n");
}

int
main(int argc, char **argv)
{
    uint64_t n;

    if (argc > 1) {
        if (hs_parse_u64(argv[1], &n) || n < 100 || n >= 0x7FFFFFFF ||
            (argc > 2 && (argv[2][0] < 'A' || argv[2][0] > 'C'))) {
            fprintf(stderr, "usage: %s [N [A|B|C [store]]]\n", argv[0]);
            return 2;
        }
        run((uint32_t)n, argc > 2 ? argv[2][0] : 'A',
            argc > 3 && !strcmp(argv[3], "store"));
        return 0;
    }
    run_child(1000000, 'A', 1);
    run_child(2500000, 'A', 0);
    run_child(10000000, 'A', 1);
    run_child(10000000, 'B', 0);
    run_child(10000000, 'C', 0);
    return 0;
}
