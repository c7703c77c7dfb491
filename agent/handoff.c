/*
 * handoff.c: records from the walking thread to the output thread.
 *
 * During phase 1 the walking thread holds the GIL and does only what
 * needs the table of ids: discovery, balances, reachability.  Everything
 * else about an object (its value text, size, flags, the labels of its
 * references, the sink's records) is done by a second thread from the
 * records the walk hands over here, so the pause is about the longer of
 * the two instead of their sum (walk.c).
 *
 * A bounded single-producer, single-consumer queue of chunks: the walk
 * fills a chunk in place (struct hs_handoff_room, reserved inline) and
 * passes it on when the next record does not fit; it waits only when
 * every chunk is out, so the memory is fixed (HS_HANDOFF_CHUNKS of
 * HS_HANDOFF_CHUNK bytes).  A record never spans two chunks.  The walk
 * claims the lines of its chunk for writing a little ahead of its records
 * (hs_handoff_claim()): the consumer's core read them last.  A consumer
 * that ran out of chunks sleeps until HS_HANDOFF_WAKE are waiting (or the
 * walk has no spare one, or closes).
 *
 * The output thread needs no GIL: it runs no Python code, allocates no
 * Python object (its own memory comes from the C library, since a
 * PyMem_Raw hook such as tracemalloc's may take the GIL: mem.c) and only
 * reads objects that the walking thread, which holds the GIL and waits
 * for it at the end, keeps still.  Its reads are
 * guarded like the walk's (guard.c): a fault fails the dump.  It blocks
 * every signal but those faults, which stay the program's main thread's
 * business.
 *
 * Without a thread (a forked child, where a new thread could be given a
 * dead thread's stack; one CPU), the consumer runs inline on the walking
 * thread each time a chunk fills.
 */
#include "agent.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>
#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

struct hs_handoff {
    struct hs_handoff_room room; /* first: the inline reserve's view */
    const struct hs_handoff_ops *ops;
    void *arg;
    int threaded;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t filled;  /* a chunk was passed on, or closing */
    pthread_cond_t emptied; /* a chunk came back */
    unsigned char *chunk[HS_HANDOFF_CHUNKS];
    /* Chunks passed on, oldest first (a ring), and the spare ones. */
    unsigned char *full[HS_HANDOFF_CHUNKS];
    size_t full_len[HS_HANDOFF_CHUNKS];
    unsigned nfull, first_full;
    unsigned char *spare[HS_HANDOFF_CHUNKS];
    unsigned nspare;
    int closing;
    int asleep;                 /* the consumer waits for a chunk: under mu */
    double waited;              /* seconds the producer waited for the
                                   consumer (hs_handoff_close()) */
    int failed;                 /* the consumer failed: under mu */
    unsigned char *busy;        /* the chunk being consumed */
    struct hs_guard guard;      /* the output thread's */
};

static void
set_failed(struct hs_handoff *h)
{
    pthread_mutex_lock(&h->mu);
    h->failed = 1;
    pthread_cond_broadcast(&h->emptied);
    pthread_mutex_unlock(&h->mu);
}

int
hs_handoff_failed(struct hs_handoff *h)
{
    int failed;

    if (!h->threaded)
        return h->failed;
    pthread_mutex_lock(&h->mu);
    failed = h->failed;
    pthread_mutex_unlock(&h->mu);
    return failed;
}

/* The consumer's loop: chunks in the order passed on, until closed.  After
 * a failure the rest is returned unread. */
static void
drain(struct hs_handoff *h)
{
    for (;;) {
        unsigned char *c;
        size_t n;
        int failed;

        pthread_mutex_lock(&h->mu);
        while (!h->nfull && !h->closing) {
            h->asleep = 1;
            pthread_cond_wait(&h->filled, &h->mu);
            h->asleep = 0;
        }
        if (!h->nfull) {
            pthread_mutex_unlock(&h->mu);
            return;
        }
        c = h->full[h->first_full];
        n = h->full_len[h->first_full];
        h->first_full = (h->first_full + 1) % HS_HANDOFF_CHUNKS;
        h->nfull--;
        failed = h->failed;
        h->busy = c;
        pthread_mutex_unlock(&h->mu);
        if (!failed && h->ops->consume(h->arg, c, n) < 0)
            set_failed(h);
        pthread_mutex_lock(&h->mu);
        h->busy = NULL;
        h->spare[h->nspare++] = c;
        pthread_cond_signal(&h->emptied);
        pthread_mutex_unlock(&h->mu);
    }
}

/* A fault while consuming: the chunk goes back, the dump fails. */
static void
after_fault(struct hs_handoff *h)
{
    pthread_mutex_lock(&h->mu);
    if (h->busy) {
        h->spare[h->nspare++] = h->busy;
        h->busy = NULL;
    }
    h->failed = 1;
    pthread_cond_broadcast(&h->emptied);
    pthread_mutex_unlock(&h->mu);
}

static void *
consumer_main(void *arg)
{
    struct hs_handoff *volatile h = arg;
    volatile int faults = 0;
    sigset_t faults_only;

    sigemptyset(&faults_only);
    sigaddset(&faults_only, SIGSEGV);
    sigaddset(&faults_only, SIGBUS);
    pthread_sigmask(SIG_UNBLOCK, &faults_only, NULL);
    hs_mem_use_libc(1); /* no PyMem_Raw hook: it could want the GIL */
    hs_guard_arm_helper(&h->guard);
    if (hs_guard_enter(&h->guard)) {
        int sig = h->guard.sig;
        void *addr = h->guard.addr;

        /* The first time the message names no type; naming it reads the
         * object again, which may fault a second time: back here. */
        if (++faults == 1) {
            h->ops->fault(h->arg, sig, addr, 0);
            hs_guard_arm_helper(&h->guard);
            if (!hs_guard_enter(&h->guard))
                h->ops->fault(h->arg, sig, addr, 1);
        }
        hs_guard_disarm_helper(&h->guard);
        after_fault(h);
    }
    drain(h);
    hs_guard_disarm_helper(&h->guard);
    hs_mem_use_libc(0);
    return NULL;
}

static int
start_thread(struct hs_handoff *h)
{
    sigset_t all, old;
    int rc;

    /* Signals are for the program's threads: the new thread starts with
     * all of them blocked and opens only the faults (consumer_main). */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&h->thread, NULL, consumer_main, h);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    return rc == 0 ? 0 : -1;
}

/* Whether hs_handoff_claim() may be used: on x86 only where the CPU
 * says it has PREFETCHW (every x86-64 CPU of the last ten years; an older
 * one may not). */
static int
can_claim(void)
{
#if defined(__x86_64__) || defined(__i386__)
    unsigned a, b, c, d;

    return __get_cpuid(0x80000001u, &a, &b, &c, &d) && (c & bit_PRFCHW);
#else
    return 1;
#endif
}

struct hs_handoff *
hs_handoff_open(int threaded, const struct hs_handoff_ops *ops, void *arg)
{
    struct hs_handoff *h = hs_alloc(sizeof(*h));
    int nchunks = threaded ? HS_HANDOFF_CHUNKS : 1;

    if (!h)
        return NULL;
    memset(h, 0, sizeof(*h));
    h->ops = ops;
    h->arg = arg;
    for (int i = 0; i < nchunks; i++) {
        h->chunk[i] = hs_alloc(HS_HANDOFF_CHUNK);
        if (!h->chunk[i]) {
            hs_handoff_close(h, NULL);
            return NULL;
        }
    }
    h->room.p = h->chunk[0];
    h->room.cap = HS_HANDOFF_CHUNK;
    for (int i = 1; i < nchunks; i++)
        h->spare[h->nspare++] = h->chunk[i];
    if (threaded) {
        pthread_mutex_init(&h->mu, NULL);
        pthread_cond_init(&h->filled, NULL);
        pthread_cond_init(&h->emptied, NULL);
        h->threaded = 1;
        if (start_thread(h) < 0) {
            /* No thread: the same work, inline. */
            h->threaded = 0;
            pthread_mutex_destroy(&h->mu);
            pthread_cond_destroy(&h->filled);
            pthread_cond_destroy(&h->emptied);
        }
    }
    /* Only a consumer on another core had the lines. */
    h->room.claim = h->threaded && can_claim();
    return h;
}

int
hs_handoff_threaded(const struct hs_handoff *h)
{
    return h->threaded;
}

/* Passes the filled part of the room on (threaded) or consumes it now. */
static void
pass_on(struct hs_handoff *h)
{
    size_t n = h->room.used;

    h->room.used = 0;
    if (!n)
        return;
    if (!h->threaded) {
        if (!h->failed && h->ops->consume(h->arg, h->room.p, n) < 0)
            h->failed = 1;
        return;
    }
    pthread_mutex_lock(&h->mu);
    h->full[(h->first_full + h->nfull) % HS_HANDOFF_CHUNKS] = h->room.p;
    h->full_len[(h->first_full + h->nfull) % HS_HANDOFF_CHUNKS] = n;
    h->nfull++;
    /* A sleeping consumer is woken for several chunks at a time: each
     * wake-up is a system call, and waking it for every chunk took 3% of
     * the walking thread at 10M objects (perf).  At once when the walk is
     * about to wait. */
    if (h->asleep && (h->nfull >= HS_HANDOFF_WAKE || !h->nspare))
        pthread_cond_signal(&h->filled);
    if (!h->nspare && !h->failed) {
        double t0 = hs_mono();

        while (!h->nspare && !h->failed)
            pthread_cond_wait(&h->emptied, &h->mu);
        h->waited += hs_mono() - t0;
    }
    h->room.p = h->nspare ? h->spare[--h->nspare] : NULL;
    pthread_mutex_unlock(&h->mu);
    /* The lines the claims ahead skip: the chunk's first ones. */
    if (h->room.p && h->room.claim)
        for (size_t i = 0; i < HS_HANDOFF_CLAIM; i += 64)
            hs_handoff_claim(h->room.p + i);
}

unsigned char *
hs_handoff_reserve_slow(struct hs_handoff_room *room, size_t n)
{
    struct hs_handoff *h = (struct hs_handoff *)room;

    if (n > HS_HANDOFF_CHUNK)
        return NULL;
    pass_on(h);
    if (!h->room.p || hs_handoff_failed(h)) {
        /* Failed: nothing more is reserved (cap 0 sends every call here). */
        h->room.cap = 0;
        return NULL;
    }
    return h->room.p;
}

int
hs_handoff_close(struct hs_handoff *h, double *waited)
{
    int failed;

    if (!h)
        return 0;
    if (h->room.p && h->room.cap)
        pass_on(h);
    if (h->threaded) {
        double t0 = hs_mono();

        pthread_mutex_lock(&h->mu);
        h->closing = 1;
        pthread_cond_signal(&h->filled);
        pthread_mutex_unlock(&h->mu);
        pthread_join(h->thread, NULL);
        h->waited += hs_mono() - t0;
        pthread_mutex_destroy(&h->mu);
        pthread_cond_destroy(&h->filled);
        pthread_cond_destroy(&h->emptied);
        h->threaded = 0;
    }
    failed = h->failed;
    if (waited)
        *waited = h->waited;
    for (int i = 0; i < HS_HANDOFF_CHUNKS; i++)
        hs_free(h->chunk[i]);
    hs_free(h);
    return failed ? -1 : 0;
}
