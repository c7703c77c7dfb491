/*
 * finisher.c: a dump's tail, after the pause.  Once the walk is over the
 * rows are copies; what is left is the SQLite writer's backlog, the
 * commit and the rename of FILE.tmp over the path.  hs_dump() does that
 * in the caller's thread with the GIL released, or (opts->background:
 * the signal handler) hands it to a thread of its own and returns at
 * once, so the program's own thread resumes after the walk.
 *
 * At most one background tail runs per process: a new dump waits for it
 * first (hs_finisher_wait), and so does the process's exit (an atexit
 * handler, after the interpreter has finalized: the tail touches no
 * Python object).  os._exit() does not wait: the file is then lost and
 * its FILE.tmp stays (`heapsnap dump --` removes it).
 *
 * A fork() while the tail runs waits for it (fork_wait.c).
 *
 * The tail reports as a synchronous dump would: the launcher's report
 * line ("ok\tTRIGGER\tPATH\tOBJECTS" or "fail\tTRIGGER\tPATH\tMESSAGE")
 * and the human line on stderr; for `heapsnap dump --pid` by remote
 * debugging (status_fd) the status file's "ok"/"fail" and "end" lines,
 * and nothing on the program's stderr.
 */
#include "agent.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int
hs_finish_file(struct hs_sink *sink, const char *tmp, const char *path,
               char *err, size_t errlen)
{
    if (hs_sink_finish(sink, err, errlen) < 0)
        return -1;
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename '%s' to '%s': %s", tmp, path,
                 strerror(errno));
        return -1;
    }
    return 0;
}

void
hs_unlink_tmp(const char *tmp)
{
    struct stat st;

    /* Only what the sink made: a symlink someone put there stays. */
    if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode))
        unlink(tmp);
}

void
hs_write_all(int fd, const char *buf, size_t len)
{
    while (len) {
        ssize_t n = write(fd, buf, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        buf += n;
        len -= (size_t)n;
    }
}

void
hs_report_result(int report_fd, const char *trigger, const char *path,
                 int ok, uint32_t objects, uint64_t edges, double seconds,
                 const char *how, const char *err)
{
    char line[1536];
    int n;

    if (report_fd >= 0) {
        if (ok)
            n = snprintf(line, sizeof(line), "ok\t%s\t%s\t%u\n", trigger,
                         path, objects);
        else
            n = snprintf(line, sizeof(line), "fail\t%s\t%s\t%s\n", trigger,
                         path, err);
        if (n > 0)
            hs_write_all(report_fd, line,
                      (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
    if (ok)
        n = snprintf(line, sizeof(line),
                     "heapsnap: wrote '%s' (%u objects, %llu references, "
                     "%.2f s%s%s)\n",
                     path, objects, (unsigned long long)edges, seconds,
                     how ? ", " : "", how ? how : "");
    else
        n = snprintf(line, sizeof(line),
                     "heapsnap: error: cannot write snapshot '%s': %s\n",
                     path, err);
    if (n > 0)
        hs_write_all(2, line,
                  (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

/* ---- the background tail ------------------------------------------------ */

struct job {
    struct hs_sink *sink;
    char *tmp, *path, *trigger; /* owned copies */
    int report_fd;
    int status_fd; /* attach: the status file (owned), or -1 */
    uint32_t objects;
    uint64_t edges;
    double started; /* the dump's start (hs_mono()), for its seconds */
};

/* The running tail of this process.  A fork() waits until the tail has
 * left all of this (fork_wait.c), so a child never inherits it running. */
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int running;
static int at_exit_registered;

/* `heapsnap dump --pid`'s status lines (inject/remote_payload.py writes
 * the others): the result, then the end, then the file is closed. */
static void
report_status(int fd, int ok, uint32_t objects, uint64_t edges,
              double seconds, const char *err)
{
    char line[1536];
    struct timespec t;
    int n;

    if (ok)
        n = snprintf(line, sizeof(line), "ok\t%u\t%llu\t%.6f\n", objects,
                     (unsigned long long)edges, seconds);
    else
        n = snprintf(line, sizeof(line), "fail\tError: %s\n", err);
    if (n > 0)
        hs_write_all(fd, line,
                     (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    clock_gettime(CLOCK_MONOTONIC, &t);
    n = snprintf(line, sizeof(line), "end\t%lld\n",
                 (long long)t.tv_sec * 1000000000LL + t.tv_nsec);
    hs_write_all(fd, line, (size_t)n);
    close(fd);
}

static void
job_free(struct job *j)
{
    free(j->tmp);
    free(j->path);
    free(j->trigger);
    free(j);
}

static void *
tail(void *arg)
{
    struct job *j = arg;
    char err[1024];
    int rc;

    err[0] = 0;
    rc = hs_finish_file(j->sink, j->tmp, j->path, err, sizeof(err));
    if (rc != 0)
        hs_unlink_tmp(j->tmp);
    for (char *p = err; *p; p++)
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    if (j->status_fd >= 0)
        report_status(j->status_fd, rc == 0, j->objects, j->edges,
                      hs_mono() - j->started, err);
    else
        hs_report_result(j->report_fd, j->trigger, j->path, rc == 0,
                         j->objects, j->edges, hs_mono() - j->started, NULL,
                         err);
    job_free(j);
    pthread_mutex_lock(&mu);
    running = 0;
    pthread_cond_broadcast(&cv);
    pthread_mutex_unlock(&mu);
    hs_fork_wait_leave(); /* last: entered by hs_finisher_start */
    return NULL;
}

void
hs_finisher_wait(void)
{
    pthread_mutex_lock(&mu);
    while (running)
        pthread_cond_wait(&cv, &mu);
    pthread_mutex_unlock(&mu);
}

static void
wait_at_exit(void)
{
    hs_finisher_wait();
}

static char *
copy(const char *s)
{
    return s ? strdup(s) : NULL;
}

int
hs_finisher_start(struct hs_sink *sink, const char *tmp, const char *path,
                  const char *trigger, int report_fd, int status_fd,
                  uint32_t objects, uint64_t edges, double started_ago)
{
    struct job *j = calloc(1, sizeof(*j));
    pthread_attr_t attr;
    pthread_t th;
    int rc;

    if (!j)
        return -1;
    j->sink = sink;
    j->tmp = copy(tmp);
    j->path = copy(path);
    j->trigger = copy(trigger ? trigger : "api");
    j->report_fd = report_fd;
    j->status_fd = -1; /* the caller's until the thread starts */
    j->objects = objects;
    j->edges = edges;
    j->started = hs_mono() - started_ago;
    if (!j->tmp || !j->path || !j->trigger)
        goto fail;
    if (!at_exit_registered) {
        if (atexit(wait_at_exit) != 0)
            goto fail;
        at_exit_registered = 1;
    }
    hs_finisher_wait(); /* callers waited already; never two tails */
    if (hs_fork_wait_enter(0) < 0)
        goto fail;
    pthread_mutex_lock(&mu);
    running = 1;
    pthread_mutex_unlock(&mu);
    j->status_fd = status_fd;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, tail, j);
    pthread_attr_destroy(&attr);
    if (rc != 0) {
        pthread_mutex_lock(&mu);
        running = 0;
        pthread_cond_broadcast(&cv);
        pthread_mutex_unlock(&mu);
        hs_fork_wait_leave();
        j->status_fd = -1;
        goto fail;
    }
    return 0;
fail:
    /* The sink stays the caller's: it finishes in its own thread. */
    j->sink = NULL;
    job_free(j);
    return -1;
}
