/*
 * attach.h: `heapsnap dump --pid PID`: snapshot a running CPython process
 * that never imported heapsnap, and leave it running as before.  The
 * mechanism (ptrace, a loader library, a status file) and its limits are
 * described at the top of attach.c.
 */
#ifndef HS_ATTACH_H
#define HS_ATTACH_H

#include "heapsnap.h"

#include <sys/types.h>

/* What to snapshot and how. */
struct hs_attach_options {
    pid_t pid;          /* the process to snapshot */
    const char *output; /* snapshot path, absolute, as heapsnap sees it */
    double timeout;     /* give up after this many seconds (> 0) */
    int collect;        /* run gc.collect() in the target first */
    int redact;         /* store no str/bytes contents */
    int fork;           /* a forked child of the target writes the file */
};

/* What happened, for the closing message and for benchmarks. */
struct hs_attach_result {
    char version[32]; /* the target's Python: "3.12.1", or "3.9" */
    pid_t tid;        /* the thread that was stopped to load the loader */
    uint64_t objects; /* objects in the snapshot */
    uint64_t edges;   /* references in the snapshot */
    double stop_ms;   /* how long that thread was stopped */
    double inject_ms; /* start until the loader thread was started */
    double gil_ms;    /* start until the loader thread held the GIL */
    double dump_s;    /* the agent's own dump time */
    double total_s;   /* start until the loader thread had exited */
    int signal;       /* SIGINT/SIGTERM/SIGHUP/SIGQUIT that ended it, or 0 */
};

/*
 * Snapshots process opts->pid into opts->output.  Checks the target first
 * (exists, is CPython 3.8+ with the GIL, has an agent, may be traced) and
 * touches nothing when a check fails.  Returns 0 with `res` filled, or -1
 * after one error line whose exit code says why: 2 (no such process, not
 * Python, unsupported version, no agent), 4 (ptrace not permitted, the
 * target stopped or exited, timeout, the dump failed, interrupted: then
 * res->signal is set).  Those signals are blocked while it runs, so that
 * heapsnap is never killed with a thread stopped.  Never waits longer than
 * opts->timeout (a call already running in the target gets up to 5 s), and
 * never leaves the target stopped.
 */
int hs_attach_dump(const struct hs_attach_options *opts,
                   struct hs_attach_result *res);

#endif /* HS_ATTACH_H */
