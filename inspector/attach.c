/*
 * attach.c: `heapsnap dump --pid PID` (attach.h): load the agent into a
 * running CPython and snapshot it, by one of two paths.  This file runs
 * the attach from start to end in named steps; the parts it relies on
 * have their own files.
 *
 * Look before touching (attach_target.c: CPython? which version? may it be
 * traced?), find the agent for that version, and prepare the files
 * (attach_stage.c: a private folder when the target is another user's or
 * sees another file system).  Then, on 3.14+, ask a thread that runs
 * bytecode to run a payload script at its next eval-breaker check
 * (attach_remote.c, PEP 768; nothing is stopped); else, or when that is
 * disabled or no thread takes the request in time, stop a thread at a
 * safe point, make it dlopen() the loader (inject/inject.c) and call its
 * start function (attach_ptrace.c), and let it go.  Either way, poll the
 * status file on which the code in the target reports taking the GIL,
 * dumping and ending.
 *
 * Owns: the ptrace session (at most one stopped thread at a time), the
 * remote request (taken back unless claimed), the files of one attach,
 * and heapsnap's signal mask while it runs.  Invariants: no thread is
 * left stopped on any path; a request not claimed in time is withdrawn
 * before the fallback, so at most one dump runs; no wait outlasts
 * --timeout but a call already running in the target (it gets 5 s);
 * SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked throughout and only ever
 * taken between steps.
 */
#include "attach.h"
#include "attach_ptrace.h"
#include "attach_remote.h"
#include "attach_stage.h"
#include "attach_target.h"
#include "launch.h"
#include "progress.h"
#include "snapshot.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/*
 * Design notes.
 *
 * Why ptrace injection and not gdb or a pending call (before 3.14).  gdb
 * may be missing (pyrasite's silent failures), and Python-level tricks
 * need code already running in the target.  Running Python on the stopped
 * thread (pyrasite) is unsafe: it may be stopped mid-malloc, mid-GC or
 * inside a dict resize.  So the stopped thread runs only C: dlopen() and a
 * start function that opens a file and creates a thread (memray's rule).
 * Python runs later on that new thread, after PyGILState_Ensure(): a GIL
 * holder is a safe point by definition, and a thread waiting for the GIL
 * makes a busy main thread drop it within the switch interval, on 3.9-3.12
 * too (P9, gh-95820).
 *
 * Why PEP 768 first on 3.14+.  The interpreter itself runs the payload at
 * a safe point (_Py_HandlePending, the GIL held), and the target is never
 * stopped, its registers and stack never touched, its C library never
 * called.  heapsnap writes the request itself rather than calling
 * sys.remote_exec(), which would need a Python of the same version in
 * heapsnap and asks only the main thread: a main thread asleep in accept()
 * never looks, so heapsnap asks the thread it saw running bytecode.  The
 * protocol has no answer channel, so the payload reports on the same
 * status file as the loader, after claiming it with rename().
 */

#if defined(__x86_64__) && defined(__linux__)

/* ---- signals ------------------------------------------------------------ */

/*
 * The signals that would kill heapsnap in the middle of an injected call
 * (the thread would then return to address 0 and crash).  They are blocked
 * for the whole attach and taken with sigtimedwait() between steps.
 */
static void
fatal_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
}

/* Sleeps `seconds`; returns a fatal signal that arrived meanwhile, or 0. */
static int
sleep_or_signal(double seconds)
{
    sigset_t set;
    struct timespec ts;
    int s;

    fatal_signals(&set);
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    s = sigtimedwait(&set, NULL, &ts);
    return s > 0 ? s : 0;
}

/* ---- choosing the thread ------------------------------------------------ */

/* A thread of the target and what it was last seen doing. */
struct thread_seen {
    pid_t tid;    /* the thread */
    int rank;     /* 0 leaf syscall, 1 futex, 2 running, 3 other */
    char why[96]; /* why it was not used, for the timeout message */
};

/* Ranks the threads from /proc/PID/task/TID/{stat,syscall}, best first. */
static size_t
list_threads(pid_t pid, struct thread_seen **out, size_t *alloc)
{
    char path[96];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        struct hs_buf b = HS_BUF_INIT;
        struct thread_seen ts;
        char *close_paren;
        long nr;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        memset(&ts, 0, sizeof(ts));
        ts.tid = (pid_t)strtol(de->d_name, NULL, 10);
        ts.rank = 3;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
                 (int)ts.tid);
        if (hs_proc_read_file(path, &b) == 0 &&
            (close_paren = strrchr(b.buf, ')')) && close_paren[1] == ' ') {
            char state = close_paren[2];

            hs_buf_reset(&b);
            snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid,
                     (int)ts.tid);
            snprintf(ts.why, sizeof(ts.why), "in state %c", state);
            if (state == 'R')
                ts.rank = 2;
            else if (state == 'S' && hs_proc_read_file(path, &b) == 0 &&
                     sscanf(b.buf, "%ld", &nr) == 1) {
                if (hs_safe_syscall(nr))
                    ts.rank = nr == SYS_futex ? 1 : 0;
                else
                    snprintf(ts.why, sizeof(ts.why),
                             "blocked in system call %ld", nr);
            }
        }
        hs_buf_release(&b);
        HS_ALLOC_GROW(*out, n + 1, *alloc);
        (*out)[n++] = ts;
    }
    closedir(d);
    /* Insertion sort by rank: a few threads, usually. */
    for (size_t i = 1; i < n; i++) {
        struct thread_seen x = (*out)[i];
        size_t j = i;

        for (; j > 0 && (*out)[j - 1].rank > x.rank; j--)
            (*out)[j] = (*out)[j - 1];
        (*out)[j] = x;
    }
    return n;
}

/*
 * Stops some thread of `t` at a safe point (tr->stopped on success).
 * Rounds over the threads, best rank first, sampling running ones, until
 * `deadline`.  Returns 0, or -1 after an error that lists what each thread
 * was doing.  Cost per round: one stop per candidate thread, ~50 us each.
 */
static int
stop_at_safe_point(struct hs_target *t, struct hs_tracee *tr, double deadline,
                   int *sig)
{
    struct thread_seen *seen = NULL;
    size_t nseen = 0, alloc = 0, rounds = 0;
    double pause = 1e-3;
    struct hs_buf msg = HS_BUF_INIT;

    for (;;) {
        /* Threads and libraries come and go: a fresh map each round. */
        hs_maps_release(&t->maps);
        if (hs_maps_read(t->pid, &t->maps) < 0) {
            free(seen);
            return hs_error(HS_EXIT_IO, "process %d exited", (int)t->pid);
        }
        nseen = list_threads(t->pid, &seen, &alloc);
        if (!nseen) {
            free(seen);
            return hs_error(HS_EXIT_IO, "process %d exited", (int)t->pid);
        }
        for (size_t i = 0; i < nseen; i++) {
            struct thread_seen *ts = &seen[i];
            int r;

            if (ts->rank == 3)
                continue;
            r = hs_tracee_stop(tr, t->pid, ts->tid, deadline);
            if (r == -EPERM || r == -EACCES) {
                free(seen);
                return hs_target_explain_denied(t->pid, &t->info, -r);
            }
            if (r == -EAGAIN) {
                free(seen);
                return hs_error(HS_EXIT_IO,
                                "process %d is stopped (SIGSTOP or job "
                                "control); continue it first (kill -CONT "
                                "%d)",
                                (int)t->pid, (int)t->pid);
            }
            if (r < 0) {
                snprintf(ts->why, sizeof(ts->why), "could not be stopped: %s",
                         strerror(-r));
                continue;
            }
            if (hs_safe_point(t, ts->tid, &tr->saved, ts->why,
                              sizeof(ts->why))) {
                free(seen);
                return 0;
            }
            hs_tracee_restore(tr);
        }
        rounds++;
        if (hs_now() + pause >= deadline)
            break;
        *sig = sleep_or_signal(pause);
        if (*sig) {
            free(seen);
            return hs_error(HS_EXIT_IO,
                            "interrupted by signal %d before "
                            "anything was changed in process %d",
                            *sig, (int)t->pid);
        }
        if (pause < 20e-3)
            pause *= 1.5;
    }
    for (size_t i = 0; i < nseen && i < 8; i++)
        hs_buf_addf(&msg, "%sthread %d %s", i ? "; " : "", (int)seen[i].tid,
                    seen[i].why);
    hs_error(HS_EXIT_IO,
             "timed out: no thread of process %d reached a safe point in "
             "%zu tries (%s)",
             (int)t->pid, rounds, msg.buf);
    hs_buf_release(&msg);
    free(seen);
    return -1;
}

/* ---- loading the loader ------------------------------------------------- */

/*
 * On the stopped thread: errno is saved, then dlopen(lib), dlsym(start) and
 * start(spec) run; errno is put back by hs_tracee_restore().  Strings go
 * below the red zone of its stack.  Returns 0 when the loader thread was
 * started, or -1 after an error.
 */
static int
inject(struct hs_target *t, struct hs_tracee *tr, const char *lib,
       const char *spec, double deadline)
{
    static const char start_name[] = "heapsnap_inject_start";
    char err[512];
    size_t lib_len = strlen(lib) + 1, spec_len = strlen(spec) + 1;
    size_t total = lib_len + spec_len + sizeof(start_name);
    uint64_t lib_at, spec_at, name_at, sp, rv = 0;
    uint64_t args[2];
    char *data = hs_xmalloc(total);
    int rc = -1;

    memcpy(data, lib, lib_len);
    memcpy(data + lib_len, spec, spec_len);
    memcpy(data + lib_len + spec_len, start_name, sizeof(start_name));
    if (hs_tracee_stack_write(tr, data, total, &lib_at, &sp) < 0)
        goto out;
    spec_at = lib_at + lib_len;
    name_at = spec_at + spec_len;
    if (hs_tracee_save_errno(tr, t->fn_errno, sp, deadline) < 0)
        goto out;
    args[0] = lib_at;
    args[1] = 2; /* RTLD_NOW in glibc and musl: the target's value */
    if (hs_tracee_call(tr, t->fn_dlopen, args, 2, sp, deadline, &rv,
                       "dlopen()") < 0)
        goto out;
    if (!rv) {
        uint64_t msg = 0;

        err[0] = '\0';
        if (t->fn_dlerror &&
            hs_tracee_call(tr, t->fn_dlerror, NULL, 0, sp, deadline, &msg,
                           "dlerror()") == 0 &&
            msg)
            hs_tracee_read_string(tr, msg, err, sizeof(err));
        hs_error(HS_EXIT_IO, "process %d could not load '%s': %s", (int)t->pid,
                 lib, err[0] ? err : "dlopen() failed");
        goto out;
    }
    args[0] = rv;
    args[1] = name_at;
    if (hs_tracee_call(tr, t->fn_dlsym, args, 2, sp, deadline, &rv,
                       "dlsym()") < 0)
        goto out;
    if (!rv) {
        hs_error(HS_EXIT_IO, "'%s' in process %d has no %s()", lib,
                 (int)t->pid, start_name);
        goto out;
    }
    args[0] = spec_at;
    if (hs_tracee_call(tr, rv, args, 1, sp, deadline, &rv,
                       "the loader's start") < 0)
        goto out;
    if ((int)rv != 0) {
        hs_error(HS_EXIT_IO, "the loader could not start in process %d: %s",
                 (int)t->pid, strerror((int)rv));
        goto out;
    }
    rc = 0;
out:
    free(data);
    return rc;
}

/* ---- one attach ----------------------------------------------------------- */

/* One attach from start to end: what each step needs from the ones before. */
struct attach {
    const struct hs_attach_options *opts; /* what was asked */
    struct hs_attach_result *res;         /* what happened */
    double t0;                 /* hs_now() at the start */
    struct timespec wall0;     /* CLOCK_REALTIME at the start (file times) */
    double deadline;           /* t0 + --timeout */
    struct hs_target t;        /* the target, inspected */
    struct hs_attach_paths p;  /* the files of this attach */
    char *lib;                 /* the loader library */
    char *agent;               /* the agent's folder for this Python */
    const char *status;        /* status file to follow (heapsnap's view):
                                  the payload's claimed one, or the
                                  loader's */
    struct hs_attach_status st; /* what it said last */
    int keep_stage;            /* a dump still runs: leave its files */
    int sig;                   /* fatal signal taken, or 0 */
};

/* The embedded inject/remote_payload.py (tools/embed.sh). */
extern const char hs_remote_payload_py[];

/* 1 while thread `tid` of `pid` exists. */
static int
thread_alive(pid_t pid, pid_t tid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
    return access(path, F_OK) == 0;
}

/* 1 while process `pid` exists and is not a zombie. */
static int
process_alive(pid_t pid)
{
    struct hs_proc_info pi;

    return hs_proc_info_read(pid, &pi) == 0 && pi.state != 'Z' &&
           pi.state != 'X';
}

/*
 * Step 1: looks at the target (attach_target.c) and refuses one that is
 * stopped.  0, or -1 after an error (exit 2 or 4).
 */
static int
check_target(struct attach *a)
{
    struct hs_target *t = &a->t;

    if (hs_target_inspect(a->opts->pid, t) < 0)
        return -1;
    snprintf(a->res->version, sizeof(a->res->version), "%s", t->version);
    /* A tracer stops its tracee now and then: that is "traced", not
     * "stopped". */
    if ((t->info.state == 'T' || t->info.state == 't') && t->info.tracer)
        return hs_target_explain_denied(t->pid, &t->info, EPERM);
    if (t->info.state == 'T' || t->info.state == 't')
        return hs_error(HS_EXIT_IO,
                        "process %d is stopped (SIGSTOP or job control); "
                        "continue it first (kill -CONT %d)",
                        (int)t->pid, (int)t->pid);
    return 0;
}

/*
 * Step 2: finds the agent for the target's Python and the loader, and
 * prepares the files (attach_stage.c).  0, or -1 after an error.
 */
static int
prepare(struct attach *a)
{
    if (!(a->agent = hs_agent_dir(&a->t.py)) ||
        !(a->lib = hs_attach_find_loader()))
        return -1;
    return hs_attach_prepare(&a->t, a->lib, a->agent, a->opts->output, &a->p);
}

/* ---- the remote-debugging path (PEP 768) ---------------------------------- */

/* Appends `s` to `b` as hex digits (a payload literal needs no quoting). */
static void
add_hex(struct hs_buf *b, const char *s)
{
    static const char digits[] = "0123456789abcdef";

    hs_buf_addch(b, '\'');
    for (; *s; s++) {
        hs_buf_addch(b, digits[(unsigned char)*s >> 4]);
        hs_buf_addch(b, digits[(unsigned char)*s & 15]);
    }
    hs_buf_addch(b, '\'');
}

/* The payload script: the job's parameters, then remote_payload.py. */
static char *
payload_text(const struct attach *a)
{
    struct hs_buf b = HS_BUF_INIT;

    hs_buf_adds(&b, "_heapsnap_job = (");
    add_hex(&b, a->p.status);
    hs_buf_adds(&b, ", ");
    add_hex(&b, a->p.claimed);
    hs_buf_adds(&b, ", ");
    add_hex(&b, a->p.agent);
    hs_buf_adds(&b, ", ");
    add_hex(&b, a->p.output);
    hs_buf_addf(&b, ", %d, %d, %d)\n", a->opts->collect, a->opts->redact,
                a->opts->fork);
    hs_buf_adds(&b, hs_remote_payload_py);
    return hs_buf_detach(&b);
}

/*
 * Gives up the remote path with `why`: an error when it was asked for
 * (returns -1, exit `code`), else a note that ptrace follows (returns 1).
 */
static int
decline(const struct attach *a, int code, const char *why)
{
    if (a->opts->method == HS_ATTACH_REMOTE)
        return hs_error((enum hs_exit)code, "%s", why);
    hs_note("%s; attaching with ptrace instead", why);
    return 1;
}

/*
 * Waits until the payload claimed the status file or `until`.  Returns 1
 * (claimed), 0 (not yet), -1 (the process exited or a signal came:
 * error printed, a->sig set).
 */
static int
await_claim(struct attach *a, double until)
{
    for (;;) {
        if (access(a->p.claimed_local, F_OK) == 0)
            return 1;
        if (!process_alive(a->t.pid))
            return hs_error(HS_EXIT_IO, "process %d exited during the attach",
                            (int)a->t.pid);
        if (hs_now() >= until)
            return 0;
        a->sig = sleep_or_signal(2e-3);
        if (a->sig)
            return hs_error(HS_EXIT_IO,
                            "interrupted by signal %d: the request to "
                            "process %d was taken back",
                            a->sig, (int)a->t.pid);
    }
}

/*
 * Step 3a, Python 3.14+: asks the thread seen running bytecode to run the
 * payload.  Returns 0 once the payload claimed the status file, 1 to fall
 * back to ptrace (a note says why; the request, if any, is taken back),
 * or -1 after an error.  Waits for the claim up to 2 s (half the timeout
 * if shorter) unless remote debugging was asked for, then up to the
 * timeout.
 */
static int
via_remote(struct attach *a)
{
    const struct hs_target *t = &a->t;
    const struct hs_remote_thread *th;
    struct hs_remote r;
    char why[768], detail[512];
    double budget, t_request;
    pid_t tid;
    int code, rc;
    char *text;

    if (t->minor < 14 && a->opts->method != HS_ATTACH_REMOTE)
        return 1;
    if (hs_remote_open(t, &r, detail, sizeof(detail), &code) < 0) {
        snprintf(why, sizeof(why),
                 "cannot attach to process %d by remote debugging: %s",
                 (int)t->pid, detail);
        rc = decline(a, code, why);
        hs_remote_release(&r);
        return rc;
    }
    if (!r.enabled) {
        hs_remote_disabled_reason(t, detail, sizeof(detail));
        snprintf(why, sizeof(why),
                 "remote debugging is disabled in process %d: %s",
                 (int)t->pid, detail);
        hs_remote_release(&r);
        return decline(a, HS_EXIT_USAGE, why);
    }
    th = hs_remote_pick(&r, 0.02, 0.5);
    if (!th) {
        snprintf(why, sizeof(why), "process %d has no Python thread",
                 (int)t->pid);
        hs_remote_release(&r);
        return decline(a, HS_EXIT_IO, why);
    }
    text = payload_text(a);
    rc = hs_attach_write_payload(&a->p, text);
    free(text);
    if (rc < 0) {
        hs_remote_release(&r);
        return -1;
    }
    t_request = hs_now();
    if (hs_remote_request(&r, th, a->p.payload, detail, sizeof(detail)) < 0) {
        snprintf(why, sizeof(why),
                 "cannot attach to process %d by remote debugging: %s",
                 (int)t->pid, detail);
        hs_remote_release(&r);
        return decline(a, HS_EXIT_IO, why);
    }
    budget = a->opts->timeout / 2 < 2.0 ? a->opts->timeout / 2 : 2.0;
    rc = await_claim(a, a->opts->method == HS_ATTACH_REMOTE
                            ? a->deadline
                            : t_request + budget);
    if (rc <= 0) {
        /* Take the request back; the payload may have claimed the file
         * in between, and then it runs. */
        hs_remote_cancel(&r, th);
        if (hs_attach_withdraw(&a->p) == 0) {
            a->keep_stage = rc < 0;
            rc = rc < 0 ? -1 : 1;
        } else if (rc == 0) {
            snprintf(why, sizeof(why),
                     "thread %d of process %d did not take the "
                     "remote-debugging request within %.3g s (%s)",
                     (int)th->tid, (int)t->pid, hs_now() - t_request,
                     th->moves ? "it stopped running Python code"
                               : "no thread was seen running Python code: "
                                 "all blocked in system calls or long C "
                                 "calls?");
            hs_remote_release(&r);
            if (a->opts->method == HS_ATTACH_REMOTE)
                return hs_error(HS_EXIT_IO, "timed out: %s", why);
            hs_note("%s; attaching with ptrace instead", why);
            return hs_attach_renew_status(&a->p) < 0 ? -1 : 1;
        }
    }
    /* rc: 1 claimed, -1 error. */
    tid = th->tid;
    hs_remote_release(&r);
    if (rc < 0)
        return -1;
    a->status = a->p.claimed_local;
    a->res->remote = 1;
    a->res->tid = tid;
    a->res->request_at = t_request;
    a->res->inject_ms = (t_request - a->t0) * 1e3;
    return 0;
}

/* ---- the ptrace path ------------------------------------------------------ */

/*
 * Step 3b: stops a thread at a safe point, makes it load the loader and
 * start its thread, and lets it go.  0, or -1 after an error.
 */
static int
via_ptrace(struct attach *a)
{
    struct hs_target *t = &a->t;
    struct hs_tracee tr;
    struct hs_buf spec = HS_BUF_INIT;
    double stopped_at;
    int rc = -1;

    memset(&tr, 0, sizeof(tr));
    tr.memfd = -1;
    if (t->info.tracer)
        return hs_target_explain_denied(t->pid, &t->info, EPERM);
    if (t->info.shadow_stack)
        return hs_error(HS_EXIT_IO,
                        "process %d runs with a shadow stack (CET), which "
                        "heapsnap's injected calls would violate",
                        (int)t->pid);
    hs_buf_addf(&spec,
                "status=%s\nagent=%s\noutput=%s\npython=%s\ncollect=%d\n"
                "redact=%d\nfork=%d\n",
                a->p.status, a->p.agent, a->p.output,
                t->python_is_exe ? "" : t->python, a->opts->collect,
                a->opts->redact, a->opts->fork);
    /* Red zone and margin, the loader's path, its start's name, alignment,
     * the spec. */
    t->stack_need = 256 + strlen(a->p.lib) + 1 + 64 + 64 + spec.len;
    if (stop_at_safe_point(t, &tr, a->deadline, &a->sig) < 0)
        goto out;
    a->res->tid = tr.tid;
    stopped_at = hs_now();
    /* Once dlopen() runs, abandoning it could leave the loader lock held
     * in the target: a slow call gets a few seconds past the timeout. */
    rc = inject(t, &tr, a->p.lib, spec.buf,
                a->deadline > hs_now() + 5.0 ? a->deadline : hs_now() + 5.0);
    hs_tracee_restore(&tr);
    a->res->stop_ms = (hs_now() - stopped_at) * 1e3;
    a->res->inject_ms = (hs_now() - a->t0) * 1e3;
    a->status = a->p.status_local;
out:
    if (tr.stopped)
        hs_tracee_restore(&tr);
    hs_buf_release(&spec);
    return rc;
}

/* ---- waiting for the dump ------------------------------------------------- */

/*
 * 1 if the target, gone without reporting its end, had written the
 * snapshot: the file is there under its final name (a rename() only ever
 * puts a complete one there), written since this attach began.  Its
 * figures then come from its meta.
 */
static int
written_before_exit(struct attach *a)
{
    struct hs_attach_status *st = &a->st;
    struct stat sb;

    if (!a->p.output_local || lstat(a->p.output_local, &sb) ||
        !S_ISREG(sb.st_mode) || sb.st_mtim.tv_sec < a->wall0.tv_sec ||
        (sb.st_mtim.tv_sec == a->wall0.tv_sec &&
         sb.st_mtim.tv_nsec < a->wall0.tv_nsec) ||
        !hs_snapshot_file_figures(a->p.output_local, &st->objects, &st->edges,
                                  &st->seconds))
        return 0;
    st->result = 1;
    return 1;
}

/*
 * Polls the status file every 5 ms (in sigtimedwait(), so that a blocked
 * SIGINT/SIGTERM ends the wait) until the code in the target reports its
 * end or the deadline.  Returns 1 (ended), 0 (timed out or interrupted),
 * -1 (the process or the reporting thread vanished; error printed).
 */
static int
poll_status(struct attach *a)
{
    struct hs_attach_status *st = &a->st;

    for (;;) {
        hs_attach_status_read(a->status, st);
        if (st->t_end)
            return 1;
        if (!process_alive(a->t.pid)) {
            /* It may have reported its end and exited since the read
             * above: a complete snapshot is a success. */
            hs_attach_status_read(a->status, st);
            if (st->t_end || written_before_exit(a))
                return 1;
            return hs_error(HS_EXIT_IO, "process %d exited during the %s",
                            (int)a->t.pid, st->t_gil ? "dump" : "attach");
        }
        /* After "walked" the payload's thread is the program's again:
         * it may end while the agent's thread finishes the file. */
        if (st->tid && !st->t_walked && !thread_alive(a->t.pid, st->tid)) {
            /* A process exiting loses its threads a moment before it is
             * gone: the same complete snapshot is a success here too. */
            hs_attach_status_read(a->status, st);
            if (st->t_end || written_before_exit(a))
                return 1;
            return hs_error(HS_EXIT_IO,
                            "thread %d ended in process %d without "
                            "reporting (is the interpreter shutting "
                            "down?)",
                            (int)st->tid, (int)a->t.pid);
        }
        if (hs_now() >= a->deadline)
            return 0;
        a->sig = sleep_or_signal(5e-3);
        if (a->sig)
            return 0;
    }
}

/*
 * A target that died while writing the snapshot in place left a
 * half-written FILE.tmp (a staged one goes with its folder): removed once
 * the process is gone (its threads vanish a moment before it does).
 */
static void
remove_partial(struct attach *a)
{
    char *tmp;

    for (int i = 0; i < 200 && process_alive(a->t.pid); i++)
        hs_sleep(5e-3);
    if (a->p.stage || !a->p.output_local || process_alive(a->t.pid))
        return;
    tmp = hs_xasprintf("%s.tmp", a->p.output_local);
    unlink(tmp);
    free(tmp);
}

/*
 * Step 4: waits for the dump's report and words a timeout or a failure.
 * 0 when the dump succeeded, else -1 after an error.
 */
static int
await_dump(struct attach *a)
{
    struct hs_attach_status *st = &a->st;
    long long t0_ns = (long long)(a->t0 * 1e9);
    int ended = poll_status(a);

    if (ended < 0) {
        remove_partial(a);
        return -1;
    }
    if (!ended) {
        /* Tell a loader still waiting for the GIL to leave quietly.  A
         * dump already running cannot be stopped: keep its folder. */
        if (!a->res->remote)
            unlink(a->p.status_local);
        a->keep_stage = st->t_gil || a->res->remote;
        if (a->sig)
            return hs_error(
                HS_EXIT_IO, "interrupted by signal %d: %s%s%s", a->sig,
                a->keep_stage ? "the dump still runs in the target and will "
                                "write '"
                              : "the loader will leave the target without "
                                "dumping",
                a->keep_stage ? a->p.output_local : "",
                a->keep_stage ? "'" : "");
        if (!st->tid && !a->res->remote)
            return hs_error(HS_EXIT_IO,
                            "timed out after %.3g s: the loader thread did "
                            "not start in process %d",
                            a->opts->timeout, (int)a->t.pid);
        if (!st->t_gil && !a->res->remote)
            return hs_error(
                HS_EXIT_IO,
                "timed out after %.3g s waiting for the GIL in process "
                "%d: some thread holds it without ever releasing it (a "
                "long call into C code?); the loader thread %d will "
                "leave without dumping once it gets it",
                a->opts->timeout, (int)a->t.pid, (int)st->tid);
        return hs_error(HS_EXIT_IO,
                        "timed out after %.3g s: the dump is still running "
                        "in process %d (thread %d) and will write '%s' when "
                        "done",
                        a->opts->timeout, (int)a->t.pid, (int)st->tid,
                        a->p.output_local);
    }
    a->res->gil_ms = st->t_gil ? (double)(st->t_gil - t0_ns) / 1e6 : 0;
    if (a->res->remote && st->t_gil)
        a->res->request_ms =
            (double)st->t_gil / 1e6 - a->res->request_at * 1e3;
    if (st->result <= 0)
        return hs_error(HS_EXIT_IO, "the dump failed in process %d: %s",
                        (int)a->t.pid,
                        st->result < 0 ? st->message
                                       : "no result was reported");
    a->res->objects = st->objects;
    a->res->edges = st->edges;
    a->res->dump_s = st->seconds;
    if (st->t_walked && st->t_gil)
        a->res->back_s = (double)(st->t_walked - st->t_gil) / 1e9;
    return 0;
}

/*
 * Step 5: sees the loader thread go (ptrace path; the remote path ran on
 * the target's own thread, which runs on) and brings the snapshot to
 * where it was asked for.  0, or -1 after an error.
 */
static int
finish(struct attach *a)
{
    pid_t tid = a->st.tid;

    if (!a->res->remote) {
        /* The loader thread exits right after its last line; see it go,
         * so that "no thread left behind" is a checked fact. */
        while (thread_alive(a->t.pid, tid) && hs_now() < a->deadline + 2.0)
            hs_sleep(1e-3);
        if (thread_alive(a->t.pid, tid))
            hs_warn("the loader thread %d of process %d has not exited yet",
                    (int)tid, (int)a->t.pid);
    }
    if (hs_attach_collect_output(&a->p, a->opts->output) < 0)
        return -1;
    a->res->total_s = hs_now() - a->t0;
    return 0;
}

/* ---- the command ---------------------------------------------------------- */

int
hs_attach_dump(const struct hs_attach_options *opts,
               struct hs_attach_result *res)
{
    struct attach a;
    sigset_t fatal, old_mask;
    int rc;

    memset(res, 0, sizeof(*res));
    memset(&a, 0, sizeof(a));
    a.opts = opts;
    a.res = res;
    a.t0 = hs_now();
    clock_gettime(CLOCK_REALTIME, &a.wall0);
    a.deadline = a.t0 + opts->timeout;
    fatal_signals(&fatal);
    sigprocmask(SIG_BLOCK, &fatal, &old_mask);
    rc = check_target(&a);
    if (rc == 0)
        rc = prepare(&a);
    if (rc == 0)
        rc = opts->method == HS_ATTACH_PTRACE ? 1 : via_remote(&a);
    if (rc == 1)
        rc = via_ptrace(&a);
    if (rc == 0)
        rc = await_dump(&a);
    if (rc == 0)
        rc = finish(&a);
    hs_attach_paths_release(&a.p, a.keep_stage);
    hs_target_release(&a.t);
    free(a.lib);
    free(a.agent);
    /* A SIGINT/SIGTERM taken while blocked is reported, not re-raised:
     * the command's exit status says 128 + signal. */
    res->signal = a.sig;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

#else /* not x86-64 Linux */

int
hs_attach_dump(const struct hs_attach_options *opts,
               struct hs_attach_result *res)
{
    (void)opts;
    memset(res, 0, sizeof(*res));
    return hs_error(HS_EXIT_USAGE,
                    "heapsnap dump --pid is only implemented for x86-64 "
                    "Linux; use heapsnap.install() and SIGUSR2 instead");
}

#endif
