/*
 * isolate.h: running risky library code in a child process.  The
 * inspector lays out pictures with Graphviz, which has crashed (dot 2.43
 * on a long back edge, a double free of lost edges) and can take
 * unbounded time on some graphs.  hs_isolate_run() forks, runs a function
 * in the child with a deadline, and hands back the bytes the child wrote
 * and how it ended, so that neither a crash nor a hang reaches the
 * inspector or the server.  Nothing here knows Graphviz.
 */
#ifndef HS_ISOLATE_H
#define HS_ISOLATE_H

#include "heapsnap.h"

/* How an isolated child ended, and what it wrote. */
struct hs_isolate {
    int killed;        /* 1: killed at the deadline */
    int signal;        /* the signal it died of, else 0 */
    int exit_code;     /* its exit status when it exited, else -1 */
    struct hs_buf out; /* the bytes it wrote to its output descriptor */
    struct hs_buf err; /* what it wrote to stderr (its error lines) */
};

/*
 * Runs fn(arg, fd) in a forked child, fd being the write end of a pipe
 * whose bytes land in r->out; the child's stderr lands in r->err.  The
 * child exits 0 when fn returns 0, else with hs_error_status(); it dies
 * of a crash rather than run a handler the parent installed (test
 * frameworks and sanitizers catch SIGSEGV and carry on).  The child is
 * killed after timeout_ms.  `r` is initialized here; release it with
 * hs_isolate_release().  Returns 0 when the child ran, whatever its fate
 * (see r), or -1 with errno set when it could not be started (pipe,
 * fork).  Safe in a threaded parent as long as fn takes no lock another
 * thread may hold.  Cost: a fork plus fn's; the output is held in memory.
 */
int hs_isolate_run(int (*fn)(void *arg, int fd), void *arg,
                   uint32_t timeout_ms, struct hs_isolate *r);

/* Frees the buffers of `r`. */
void hs_isolate_release(struct hs_isolate *r);

/*
 * The first "heapsnap: error: " message the child printed, without that
 * prefix and its newline (pointing into r->err), or NULL.
 */
const char *hs_isolate_error(struct hs_isolate *r);

/* write(2) all of `len` bytes, retrying short writes and interruptions.
 * 0, or -1 with errno set. */
int hs_write_all(int fd, const void *data, size_t len);

#endif /* HS_ISOLATE_H */
