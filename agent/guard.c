/*
 * guard.c: a read of invalid memory during the walk fails the dump, not
 * the process.
 *
 * The walk reads fields where types say they are (layout.c makes that
 * true for every class whose declarations are honest).  An extension
 * whose object holds a wild pointer, or whose tp_traverse reports one,
 * would still make such a read fault.  While phases 0-3 of a dump run,
 * SIGSEGV and SIGBUS on the walking thread jump back to hs_dump(), which
 * unwinds like any other failure (heapsnap.Error; no file left).  This is
 * safe there because those phases only read: they run no Python code,
 * take no lock but the writer queue's (never held while an object is
 * read), and change nothing in the heap, so abandoning them mid-way
 * leaves the process as it was.  The guard is never armed while Python
 * code or another library's code could run (phase 4 calls __sizeof__).
 *
 * A fault on another thread, or a signal sent by kill(), is not ours: the
 * previous handlers are put back and the signal is delivered to them as
 * if the guard had never been there (the faulting instruction runs again;
 * a sent signal is raised again).
 *
 * A second guard covers the dump's output thread (handoff.c), which reads
 * the same objects while the walking thread holds the GIL and waits for
 * it at the end of phase 1; it uses the handlers the first one installed.
 *
 * Global state: `armed`, `helper` and the saved handlers, written only by
 * the dump's threads (module.c refuses a nested dump), read by the
 * handler.
 */
#include "agent.h"

#include <pthread.h>
#include <signal.h>
#include <string.h>

/* The walking thread's guard, and the output thread's (handoff.c). */
static struct hs_guard *volatile armed, *volatile helper;
static struct sigaction saved_segv, saved_bus;
static sigset_t saved_mask;
static int installed;

static void
put_back(void)
{
    sigaction(SIGSEGV, &saved_segv, NULL);
    sigaction(SIGBUS, &saved_bus, NULL);
}

static void
on_fault(int sig, siginfo_t *si, void *ctx)
{
    struct hs_guard *g = armed, *h = helper;

    (void)ctx;
    if (h && si->si_code > 0 && pthread_equal(pthread_self(), h->thread)) {
        helper = NULL;
        h->sig = sig;
        h->addr = si->si_addr;
        siglongjmp(h->env, 1);
    }
    if (g && si->si_code > 0 && pthread_equal(pthread_self(), g->thread)) {
        armed = NULL;
        g->sig = sig;
        g->addr = si->si_addr;
        siglongjmp(g->env, 1);
    }
    put_back();
    if (si->si_code <= 0)
        raise(sig);
}

int
hs_guard_arm(struct hs_guard *g)
{
    struct sigaction sa;
    sigset_t faults;

    g->thread = pthread_self();
    g->sig = 0;
    g->addr = NULL;
    if (!installed) {
        memset(&sa, 0, sizeof(sa));
        sa.sa_sigaction = on_fault;
        sa.sa_flags = SA_SIGINFO | SA_ONSTACK;
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGSEGV, &sa, &saved_segv) < 0)
            return -1;
        if (sigaction(SIGBUS, &sa, &saved_bus) < 0) {
            sigaction(SIGSEGV, &saved_segv, NULL);
            return -1;
        }
        /* A thread that blocks them (heapsnap dump --pid's loader blocks
         * every signal) would be killed by a fault, handler or not. */
        sigemptyset(&faults);
        sigaddset(&faults, SIGSEGV);
        sigaddset(&faults, SIGBUS);
        pthread_sigmask(SIG_UNBLOCK, &faults, &saved_mask);
        installed = 1;
    }
    armed = g;
    return 0;
}

/* The handlers stay as the walking thread's guard installed them. */
void
hs_guard_arm_helper(struct hs_guard *g)
{
    g->thread = pthread_self();
    g->sig = 0;
    g->addr = NULL;
    helper = g;
}

void
hs_guard_disarm_helper(struct hs_guard *g)
{
    (void)g;
    helper = NULL;
}

void
hs_guard_disarm(struct hs_guard *g)
{
    (void)g;
    armed = NULL;
    helper = NULL;
    if (installed) {
        put_back();
        pthread_sigmask(SIG_SETMASK, &saved_mask, NULL);
        installed = 0;
    }
}
