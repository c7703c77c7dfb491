/*
 * attach_stage.h: the files of one `heapsnap dump --pid` (attach_stage.c):
 * where the loader, the agent, the PEP 768 payload, the status file and
 * the snapshot go, as the target sees them and as heapsnap sees them,
 * staged in a private folder of the target's /tmp when it is another
 * user's or sees another file system; and the status file on which the
 * code running in the target reports.  Both attach paths (ptrace and
 * remote debugging) use them.
 */
#ifndef HS_ATTACH_STAGE_H
#define HS_ATTACH_STAGE_H

#include "attach_target.h"

#if defined(__x86_64__) && defined(__linux__)

/*
 * The paths of one attach.  Direct: the same paths (same mount namespace,
 * root and user).  Staged: a folder under /proc/PID/root/tmp owned by the
 * target's user holds copies of the loader and the agent, the payload, the
 * status file and the snapshot, which is moved to the output at the end.
 */
struct hs_attach_paths {
    char *lib;           /* loader, target's view */
    char *agent;         /* folder holding heapsnap/, target's view */
    char *output;        /* snapshot, target's view */
    char *status;        /* status file, target's view */
    char *status_local;  /* status file, heapsnap's view */
    char *claimed;       /* the status file once the payload claimed it
                            (renamed: STATUS.run), target's view */
    char *claimed_local; /* ... heapsnap's view */
    char *payload;       /* PEP 768 payload (STATUS.py), target's view, or
                            NULL until written */
    char *payload_local; /* ... heapsnap's view */
    char *output_local;  /* snapshot, heapsnap's view */
    char *stage;         /* staging folder, heapsnap's view, or NULL */
    size_t root_len;     /* length of "/proc/PID/root" in stage paths */
    uid_t uid;           /* the target's user, for files given to it */
    gid_t gid;           /* ... and group */
};

/* The loader library next to this binary (build tree or installed), or
 * NULL after an error (exit 2). */
char *hs_attach_find_loader(void);

/*
 * Decides where everything goes and prepares it: the status file, and a
 * staging folder with the loader (`lib`) and the agent (`agent`) when the
 * target does not see this process's files under the same names with the
 * same rights.  Returns 0, or -1 after an error (exit 4); nothing in the
 * target has been touched then.
 */
int hs_attach_prepare(const struct hs_target *t, const char *lib,
                      const char *agent, const char *output,
                      struct hs_attach_paths *p);

/*
 * Writes `text` as the payload file beside the status file (STATUS.py),
 * readable by the target's user.  0, or -1 after an error (exit 4).
 */
int hs_attach_write_payload(struct hs_attach_paths *p, const char *text);

/*
 * Takes the status file away from the payload (unlinks it): returns 1
 * when it was still unclaimed, 0 when the payload had claimed it already
 * (renamed it to STATUS.run), -1 on another error.
 */
int hs_attach_withdraw(const struct hs_attach_paths *p);

/* Creates a fresh empty status file after hs_attach_withdraw(); 0 or -1
 * after an error (exit 4). */
int hs_attach_renew_status(struct hs_attach_paths *p);

/*
 * Moves the staged snapshot to `output` (copying across file systems); it
 * then belongs to heapsnap's user.  0, or -1 after an error (exit 4).
 */
int hs_attach_collect_output(const struct hs_attach_paths *p,
                             const char *output);

/*
 * Removes what the attach left: the staging folder, or the status,
 * claimed-status and payload files.  `keep_stage` keeps a staging folder
 * whose dump still runs.  Frees the paths.
 */
void hs_attach_paths_release(struct hs_attach_paths *p, int keep_stage);

/* ---- the status file ---------------------------------------------------- */

/*
 * What the code in the target reported so far, one line per write(),
 * TAB-separated, NS = CLOCK_MONOTONIC ns:
 *   "thread TID NS"  "gil NS"  "ok OBJECTS EDGES SECONDS" | "fail MESSAGE"
 *   "end NS"
 * and from the remote payload "walked NS" before the result: the thread
 * went back to the program after the walk and the agent's thread writes
 * the result and the end once the file is complete.
 */
struct hs_attach_status {
    pid_t tid;         /* its thread, once started */
    long long t_start; /* CLOCK_MONOTONIC ns: thread started */
    long long t_gil;   /* ... holds the GIL */
    long long t_walked; /* remote: the walk is over, the agent's own
                           thread reports the rest (0: not that way) */
    long long t_end;   /* ... about to exit */
    int result;        /* 0 none yet, 1 ok, -1 failed */
    uint64_t objects;  /* ok: objects written */
    uint64_t edges;    /* ok: references written */
    double seconds;    /* ok: the agent's dump time */
    char message[512]; /* failed: why */
};

/* Parses status file `path` as it is now; a missing file reads as empty. */
void hs_attach_status_read(const char *path, struct hs_attach_status *st);

#endif /* x86-64 Linux */

#endif /* HS_ATTACH_STAGE_H */
