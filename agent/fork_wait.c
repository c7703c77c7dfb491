/*
 * fork_wait.c: fork() waits while a dump's threads are at work.
 *
 * After the walk, the SQLite writer and a dump's tail (finisher.c) run
 * while the program runs, and the program may fork meanwhile
 * (multiprocessing, a forking server).  A child gets only the forking
 * thread, but every lock as it was: one that SQLite (its memory and file
 * mutexes) or the allocator held on one of those threads at that instant
 * stays locked in the child forever, and the child's first snapshot
 * would hang on it.  So a pthread_atfork handler makes fork() wait until
 * no sink is open and no tail runs, and keeps a new one from starting
 * until fork() is done.
 *
 * The thread that walks does not wait for its own sink: during the walk
 * (the GIL held) only Python code it calls (a __sizeof__) could fork, and
 * that would wait forever.  Once the walk is over (hs_fork_wait_walked)
 * it waits like any other: the program's main thread forking while a
 * signal's dump is finished in the background is the case this is for.
 */
#include "agent.h"

#include <pthread.h>

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int open_sinks;
static pthread_t walker; /* walking with a sink open, if `walking` */
static int walking;
static int registered;

static void
before_fork(void)
{
    pthread_mutex_lock(&mu);
    while (open_sinks > 0 &&
           !(walking && pthread_equal(walker, pthread_self())))
        pthread_cond_wait(&cv, &mu);
    /* Held until fork() returns: no sink opens in between. */
}

static void
after_fork_parent(void)
{
    pthread_mutex_unlock(&mu);
}

static void
after_fork_child(void)
{
    pthread_mutex_init(&mu, NULL);
    pthread_cond_init(&cv, NULL);
    open_sinks = 0;
    walking = 0;
}

int
hs_fork_wait_enter(int walks)
{
    pthread_mutex_lock(&mu);
    if (!registered) {
        if (pthread_atfork(before_fork, after_fork_parent,
                           after_fork_child) != 0) {
            pthread_mutex_unlock(&mu);
            return -1;
        }
        registered = 1;
    }
    open_sinks++;
    if (walks) {
        walker = pthread_self();
        walking = 1;
    }
    pthread_mutex_unlock(&mu);
    return 0;
}

void
hs_fork_wait_walked(void)
{
    pthread_mutex_lock(&mu);
    walking = 0;
    pthread_mutex_unlock(&mu);
}

void
hs_fork_wait_leave(void)
{
    pthread_mutex_lock(&mu);
    if (open_sinks > 0 && --open_sinks == 0)
        pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
}
