/*
 * attach.h: `heapsnap dump --pid PID`: snapshot a running CPython process
 * that never imported heapsnap, and leave it running as before.  The two
 * mechanisms (3.14's remote debugging, PEP 768; ptrace and a loader
 * library) and their limits are described at the top of attach.c.
 */
#ifndef HS_ATTACH_H
#define HS_ATTACH_H

#include "heapsnap.h"

#include <sys/types.h>

/* How to get into the target. */
enum hs_attach_method {
    HS_ATTACH_AUTO,   /* remote debugging on 3.14+ when it works, else
                         ptrace */
    HS_ATTACH_REMOTE, /* remote debugging only (refuse if impossible) */
    HS_ATTACH_PTRACE  /* ptrace only */
};

/* What to snapshot and how. */
struct hs_attach_options {
    pid_t pid;          /* the process to snapshot */
    const char *output; /* snapshot path, absolute, as heapsnap sees it */
    double timeout;     /* give up after this many seconds (> 0) */
    int collect;        /* run gc.collect() in the target first */
    int redact;         /* store no str/bytes contents */
    int fork;           /* a forked child of the target writes the file */
    enum hs_attach_method method; /* which way in */
};

/* What happened, for the closing message and for benchmarks. */
struct hs_attach_result {
    char version[32]; /* the target's Python: "3.12.1", or "3.9" */
    int remote;       /* 1: remote debugging (PEP 768), 0: ptrace */
    pid_t tid;        /* the thread that was stopped to load the loader,
                         or that ran the remote payload */
    uint64_t objects; /* objects in the snapshot */
    uint64_t edges;   /* references in the snapshot */
    double stop_ms;   /* ptrace: how long that thread was stopped */
    double request_at; /* remote: hs_now() when the request was written */
    double request_ms; /* remote: request written until the payload ran */
    double inject_ms; /* start until the loader thread was started, or
                         the remote request written */
    double gil_ms;    /* start until the loader or payload held the GIL */
    double dump_s;    /* the agent's own dump time */
    double back_s;    /* remote: payload holding the GIL until its thread
                         went back to the program after the walk (0: it
                         waited for the whole dump) */
    double total_s;   /* start until the loader thread had exited */
    int signal;       /* SIGINT/SIGTERM/SIGHUP/SIGQUIT that ended it, or 0 */
};

/*
 * Snapshots process opts->pid into opts->output.  Checks the target first
 * (exists, is CPython 3.8+ with the GIL, has an agent, may be traced) and
 * touches nothing when a check fails.  On 3.14+ (unless opts->method is
 * HS_ATTACH_PTRACE) it asks a thread to run a payload by remote debugging;
 * when that is disabled or no thread takes the request within 2 s it says
 * why in one line and uses ptrace, unless opts->method is
 * HS_ATTACH_REMOTE: then that line is the error.  Returns 0 with `res`
 * filled, or -1 after one error line whose exit code says why: 2 (no such
 * process, not Python, unsupported version, no agent, remote debugging
 * disabled or unusable when asked for), 4 (not permitted, the target
 * stopped or exited, timeout, the dump failed, interrupted: then
 * res->signal is set).  Those signals are blocked while it runs, so that
 * heapsnap is never killed with a thread stopped.  Never waits longer than
 * opts->timeout (a call already running in the target gets up to 5 s), and
 * never leaves the target stopped.
 */
int hs_attach_dump(const struct hs_attach_options *opts,
                   struct hs_attach_result *res);

#endif /* HS_ATTACH_H */
