/*
 * attach.c: `heapsnap dump --pid PID` (attach.h): load the agent into a
 * running CPython 3.8-3.13 with ptrace (no gdb) and snapshot it.  This
 * file runs the attach from start to end; the two halves it relies on
 * have their own files.
 *
 * Look before touching (attach_target.c: CPython? which version? may it be
 * traced?), find the agent for that version, and stage the loader and the
 * agent in a private folder when the target is another user's or sees
 * another file system.  Then choose a thread and stop it at a safe point,
 * make it dlopen() the loader (inject/inject.c) and call its start function
 * (attach_ptrace.c), let it go, and poll the status file on which the
 * loader's own thread reports taking the GIL, dumping and exiting.
 *
 * Owns: the ptrace session (at most one stopped thread at a time), the
 * staging folder and status file of one attach, and heapsnap's signal
 * mask while it runs.  Invariants: no thread is left stopped on any path;
 * no wait outlasts --timeout but a call already running in the target (it
 * gets 5 s); SIGINT/SIGTERM/SIGHUP/SIGQUIT are blocked throughout and
 * only ever taken between steps.
 */
#include "attach.h"
#include "attach_ptrace.h"
#include "attach_target.h"
#include "launch.h"
#include "progress.h"

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
 * Why ptrace injection and not gdb or a pending call.  gdb may be missing
 * (pyrasite's silent failures), and Python-level tricks need code already
 * running in the target.  Running Python on the stopped thread (pyrasite)
 * is unsafe: it may be stopped mid-malloc, mid-GC or inside a dict resize.
 * So the stopped thread runs only C: dlopen() and a start function that
 * opens a file and creates a thread (memray's rule).  Python runs later on
 * that new thread, after PyGILState_Ensure(): a GIL holder is a safe point
 * by definition, and a thread waiting for the GIL makes a busy main thread
 * drop it within the switch interval, on 3.9-3.12 too (P9, gh-95820).
 *
 * 3.14 plan: sys.remote_exec (PEP 768) runs a script at the main thread's
 * next eval-breaker check with no ptrace stop: read _Py_DebugOffsets at the
 * start of the .PyRuntime section, find the main thread state, write a
 * script path into tstate->remote_debugger_support and set the "please
 * stop" eval-breaker bit, all with process_vm_writev.  The script would
 * load the agent by absolute path exactly like the loader's payload.  It
 * can be disabled in the target (PYTHON_DISABLE_REMOTE_DEBUG), so the
 * ptrace path stays as the fallback.
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

/* ---- where things go ---------------------------------------------------- */

/*
 * The paths of one attach, as the target sees them and as heapsnap sees
 * them.  Direct: the same paths (same mount namespace, root and user).
 * Staged: a folder under /proc/PID/root/tmp owned by the target's user
 * holds copies of the loader and the agent, the status file and the
 * snapshot, which is moved to the output at the end.
 */
struct attach_paths {
    char *lib;          /* loader, target's view */
    char *agent;        /* folder holding heapsnap/, target's view */
    char *output;       /* snapshot, target's view */
    char *status;       /* status file, target's view */
    char *status_local; /* status file, heapsnap's view */
    char *output_local; /* snapshot, heapsnap's view */
    char *stage;        /* staging folder, heapsnap's view, or NULL */
    size_t root_len;    /* length of "/proc/PID/root" in stage paths */
};

static void
paths_release(struct attach_paths *p)
{
    free(p->lib);
    free(p->agent);
    free(p->output);
    free(p->status);
    free(p->status_local);
    free(p->output_local);
    free(p->stage);
    memset(p, 0, sizeof(*p));
}

/* The loader library next to this binary (build tree or installed). */
static char *
find_loader(void)
{
    const char *dir = hs_exe_dir();
    char real[PATH_MAX];
    char *cand[2];

    cand[0] = hs_xasprintf("%s/inject/libheapsnap_inject.so", dir);
    cand[1] = hs_xasprintf("%s/../lib/heapsnap/libheapsnap_inject.so", dir);
    for (int i = 0; i < 2; i++) {
        if (!access(cand[i], R_OK) && realpath(cand[i], real)) {
            free(cand[0]);
            free(cand[1]);
            return hs_xstrdup(real);
        }
    }
    hs_error(HS_EXIT_USAGE,
             "cannot find libheapsnap_inject.so (looked in '%s' and '%s'); "
             "build it with 'make' in the heapsnap source tree",
             cand[0], cand[1]);
    free(cand[0]);
    free(cand[1]);
    return NULL;
}

/* Copies file `from` to `to` (created 0600, or `mode`); 0 or -1 (errno). */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out, saved;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        saved = errno;
        close(in);
        errno = saved;
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    saved = errno;
    close(in);
    if (close(out) < 0 && n == 0) {
        saved = errno;
        n = -1;
    }
    errno = saved;
    return n < 0 ? -1 : 0;
}

/*
 * Removes staging folder `dir`: its files, and the files of its sub-
 * folders down to `depth` levels (py/heapsnap/__pycache__ is 3).
 */
static void
remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        char *p;
        struct stat st;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        p = hs_xasprintf("%s/%s", dir, de->d_name);
        if (!lstat(p, &st) && S_ISDIR(st.st_mode) && depth > 0)
            remove_tree(p, depth - 1);
        else
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Creates an empty status file with an unpredictable name; 0 or -1. */
static int
make_status_file(const char *dir, char **out)
{
    char *tmpl = hs_xasprintf("%s/.heapsnap-attach-XXXXXX", dir);
    int fd = mkstemp(tmpl);

    if (fd < 0) {
        int saved = errno;

        free(tmpl);
        errno = saved;
        return -1;
    }
    close(fd);
    *out = tmpl;
    return 0;
}

/* Copies the agent package for the target into `dst`/heapsnap. */
static int
stage_agent(const char *agent, const char *ext, const char *dst)
{
    static const char *const files[] = { "__init__.py", "_heapsnap" };
    char *pkg = hs_xasprintf("%s/heapsnap", dst);
    int rc = mkdir(pkg, 0700);

    for (size_t i = 0; rc == 0 && i < HS_ARRAY_SIZE(files); i++) {
        const char *suffix = i ? ext : "";
        char *from = hs_xasprintf("%s/heapsnap/%s%s", agent, files[i], suffix);
        char *to = hs_xasprintf("%s/%s%s", pkg, files[i], suffix);

        rc = copy_file(from, to, 0600);
        free(from);
        free(to);
    }
    free(pkg);
    return rc;
}

/* Gives `path` to the target's user; 0, or -1 with errno. */
static int
hand_over(const char *path, const struct hs_proc_info *pi)
{
    if (chown(path, pi->uid, pi->gid) < 0 && pi->uid != geteuid())
        return -1;
    return 0;
}

/*
 * Fills the staged half of `p`: a private folder in the target's /tmp (or
 * /dev/shm, /var/tmp) owned by its user, with copies of the loader and the
 * agent and an empty status file.  Returns 0, or -1 after an error.
 */
static int
stage(const struct hs_target *t, const char *lib, const char *agent,
      struct attach_paths *p)
{
    static const char *const tmpdirs[] = { "/tmp", "/dev/shm", "/var/tmp" };
    char *lib_copy, *agent_copy, *pkg, *init, *ext;
    int rc = 0;

    for (size_t i = 0; i < HS_ARRAY_SIZE(tmpdirs) && !p->stage; i++) {
        char *tmpl =
            hs_xasprintf("%s%s/heapsnap-attach-XXXXXX", t->root, tmpdirs[i]);

        if (mkdtemp(tmpl))
            p->stage = tmpl;
        else
            free(tmpl);
    }
    if (!p->stage)
        return hs_error(HS_EXIT_IO,
                        "cannot create a staging folder in /tmp, /dev/shm "
                        "or /var/tmp of process %d: %s",
                        (int)t->pid, strerror(errno));
    p->root_len = strlen(t->root);
    lib_copy = hs_xasprintf("%s/libheapsnap_inject.so", p->stage);
    agent_copy = hs_xasprintf("%s/py", p->stage);
    pkg = hs_xasprintf("%s/heapsnap", agent_copy);
    init = hs_xasprintf("%s/__init__.py", pkg);
    ext = hs_xasprintf("%s/_heapsnap%s", pkg, t->py.ext_suffix);
    p->output_local = hs_xasprintf("%s/snapshot.db", p->stage);
    if (copy_file(lib, lib_copy, 0644) < 0 || mkdir(agent_copy, 0700) < 0 ||
        stage_agent(agent, t->py.ext_suffix, agent_copy) < 0 ||
        make_status_file(p->stage, &p->status_local) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot prepare staging folder '%s': %s",
                      p->stage, strerror(errno));
    else if (hand_over(p->stage, &t->info) < 0 ||
             hand_over(lib_copy, &t->info) < 0 ||
             hand_over(agent_copy, &t->info) < 0 ||
             hand_over(pkg, &t->info) < 0 || hand_over(init, &t->info) < 0 ||
             hand_over(ext, &t->info) < 0 ||
             hand_over(p->status_local, &t->info) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot give '%s' to uid %lu: %s", p->stage,
                      (unsigned long)t->info.uid, strerror(errno));
    /* What the target sees: the same paths without /proc/PID/root. */
    p->lib = hs_xstrdup(lib_copy + p->root_len);
    p->agent = hs_xstrdup(agent_copy + p->root_len);
    p->status =
        hs_xstrdup(p->status_local ? p->status_local + p->root_len : "");
    p->output = hs_xstrdup(p->output_local + p->root_len);
    free(lib_copy);
    free(agent_copy);
    free(pkg);
    free(init);
    free(ext);
    return rc;
}

/*
 * Decides where everything goes and prepares it: the status file, and a
 * staging folder when the target does not see this process's files under
 * the same names with the same rights.  Returns 0, or -1 after an error
 * (exit 4); nothing in the target has been touched then.
 */
static int
prepare_paths(const struct hs_target *t, const char *lib, const char *agent,
              const char *output, struct attach_paths *p)
{
    char *dir = hs_xstrdup(output), *slash = strrchr(dir, '/');
    int rc = -1;

    memset(p, 0, sizeof(*p));
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    if (hs_target_same_view(t->pid, &t->info)) {
        if (make_status_file(dir, &p->status_local) < 0) {
            hs_error(HS_EXIT_IO, "cannot write to '%s': %s", dir,
                     strerror(errno));
            goto out;
        }
        p->lib = hs_xstrdup(lib);
        p->agent = hs_xstrdup(agent);
        p->output = hs_xstrdup(output);
        p->status = hs_xstrdup(p->status_local);
        p->output_local = hs_xstrdup(output);
        rc = 0;
        goto out;
    }
    /* The snapshot comes back here at the end: check before dumping. */
    if (access(dir, W_OK | X_OK)) {
        hs_error(HS_EXIT_IO, "cannot write to '%s': %s", dir, strerror(errno));
        goto out;
    }
    rc = stage(t, lib, agent, p);
out:
    free(dir);
    return rc;
}

/*
 * Moves the staged snapshot to `output` (copying across file systems); it
 * then belongs to heapsnap's user, who asked for it, not to the target's.
 */
static int
collect_output(const struct attach_paths *p, const char *output)
{
    char *tmp;

    if (!p->stage)
        return 0;
    if (rename(p->output_local, output) == 0) {
        if (chown(output, geteuid(), getegid()) < 0)
            hs_warn("'%s' still belongs to the target's user: %s", output,
                    strerror(errno));
        return 0;
    }
    if (errno != EXDEV)
        return hs_error(HS_EXIT_IO, "cannot move the snapshot to '%s': %s",
                        output, strerror(errno));
    tmp = hs_xasprintf("%s.tmp", output);
    unlink(tmp);
    if (copy_file(p->output_local, tmp, 0600) < 0 || rename(tmp, output)) {
        hs_error(HS_EXIT_IO, "cannot write '%s': %s", output, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ---- the status file ---------------------------------------------------- */

/* What the loader reported so far. */
struct loader_status {
    pid_t tid;         /* its thread, once started */
    long long t_start; /* CLOCK_MONOTONIC ns: thread started */
    long long t_gil;   /* ... holds the GIL */
    long long t_end;   /* ... about to exit */
    int result;        /* 0 none yet, 1 ok, -1 failed */
    uint64_t objects;  /* ok: objects written */
    uint64_t edges;    /* ok: references written */
    double seconds;    /* ok: the agent's dump time */
    char message[512]; /* failed: why */
};

/* Parses the status file as it is now; a missing file reads as empty. */
static void
status_read(const char *path, struct loader_status *st)
{
    struct hs_buf b = HS_BUF_INIT;
    char *line, *nl;

    memset(st, 0, sizeof(*st));
    if (hs_proc_read_file(path, &b) < 0)
        return;
    /* Only complete lines: each was one write() in the loader. */
    for (line = b.buf; (nl = strchr(line, '\n')); line = nl + 1) {
        unsigned long long a = 0, c = 0;
        long long ns = 0;
        long tid = 0;

        *nl = '\0';
        if (sscanf(line, "thread\t%ld\t%lld", &tid, &ns) == 2) {
            st->tid = (pid_t)tid;
            st->t_start = ns;
        } else if (sscanf(line, "gil\t%lld", &ns) == 1)
            st->t_gil = ns;
        else if (sscanf(line, "end\t%lld", &ns) == 1)
            st->t_end = ns;
        else if (sscanf(line, "ok\t%llu\t%llu\t%lf", &a, &c, &st->seconds) ==
                 3) {
            st->result = 1;
            st->objects = a;
            st->edges = c;
        } else if (hs_starts_with(line, "fail\t")) {
            st->result = -1;
            snprintf(st->message, sizeof(st->message), "%s", line + 5);
        }
    }
    hs_buf_release(&b);
}

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
 * Waits for the loader's report until `deadline`, polling every 5 ms in
 * sigtimedwait() so that a blocked SIGINT/SIGTERM ends the wait (*sig).
 * Returns 1 (ended), 0 (timed out or interrupted), -1 (the process or the
 * loader thread vanished without a report; error printed).
 */
static int
await_loader(pid_t pid, const char *status_path, double deadline,
             struct loader_status *st, int *sig)
{
    for (;;) {

        status_read(status_path, st);
        if (st->t_end)
            return 1;
        if (!process_alive(pid))
            return hs_error(HS_EXIT_IO, "process %d exited during the %s",
                            (int)pid, st->t_gil ? "dump" : "attach");
        if (st->tid && !thread_alive(pid, st->tid)) {
            status_read(status_path, st);
            if (st->t_end)
                return 1;
            return hs_error(HS_EXIT_IO,
                            "the loader thread ended in process %d without "
                            "reporting (is the interpreter shutting "
                            "down?)",
                            (int)pid);
        }
        if (hs_now() >= deadline)
            return 0;
        *sig = sleep_or_signal(5e-3);
        if (*sig)
            return 0;
    }
}

/* ---- the command -------------------------------------------------------- */

int
hs_attach_dump(const struct hs_attach_options *opts,
               struct hs_attach_result *res)
{
    double t0 = hs_now(), deadline = t0 + opts->timeout;
    struct hs_target t;
    struct hs_tracee tr;
    struct attach_paths p;
    struct loader_status st;
    struct hs_buf spec = HS_BUF_INIT;
    sigset_t fatal, old_mask;
    char *lib = NULL, *agent = NULL;
    int rc = -1, sig = 0, ended;
    long long t0_ns = (long long)(t0 * 1e9);

    memset(res, 0, sizeof(*res));
    memset(&p, 0, sizeof(p));
    memset(&tr, 0, sizeof(tr));
    tr.memfd = -1;
    fatal_signals(&fatal);
    sigprocmask(SIG_BLOCK, &fatal, &old_mask);
    if (hs_target_inspect(opts->pid, &t) < 0)
        goto out;
    snprintf(res->version, sizeof(res->version), "%s", t.version);
    if (t.info.tracer) {
        hs_target_explain_denied(t.pid, &t.info, EPERM);
        goto out;
    }
    if (t.info.state == 'T' || t.info.state == 't') {
        hs_error(HS_EXIT_IO,
                 "process %d is stopped (SIGSTOP or job control); continue "
                 "it first (kill -CONT %d)",
                 (int)t.pid, (int)t.pid);
        goto out;
    }
    if (t.info.shadow_stack) {
        hs_error(HS_EXIT_IO,
                 "process %d runs with a shadow stack (CET), which "
                 "heapsnap's injected calls would violate",
                 (int)t.pid);
        goto out;
    }
    if (!(agent = hs_agent_dir(&t.py)) || !(lib = find_loader()))
        goto out;
    if (prepare_paths(&t, lib, agent, opts->output, &p) < 0)
        goto out;
    /* Red zone and margin, the loader's path, its start's name, alignment;
     * the spec is added below. */
    t.stack_need = 256 + strlen(p.lib) + 1 + 64 + 64;
    hs_buf_addf(&spec,
                "status=%s\nagent=%s\noutput=%s\npython=%s\ncollect=%d\n"
                "redact=%d\nfork=%d\n",
                p.status, p.agent, p.output, t.python_is_exe ? "" : t.python,
                opts->collect, opts->redact, opts->fork);

    t.stack_need += spec.len;
    if (stop_at_safe_point(&t, &tr, deadline, &sig) < 0)
        goto out;
    res->tid = tr.tid;
    res->stop_ms = hs_now();
    /* Once dlopen() runs, abandoning it could leave the loader lock held
     * in the target: a slow call gets a few seconds past the timeout. */
    rc = inject(&t, &tr, p.lib, spec.buf,
                deadline > hs_now() + 5.0 ? deadline : hs_now() + 5.0);
    hs_tracee_restore(&tr);
    res->stop_ms = (hs_now() - res->stop_ms) * 1e3;
    res->inject_ms = (hs_now() - t0) * 1e3;
    if (rc < 0)
        goto out;
    rc = -1;

    ended = await_loader(t.pid, p.status_local, deadline, &st, &sig);
    if (ended < 0)
        goto out;
    if (!ended) {
        /* Tell a loader still waiting for the GIL to leave quietly.  A
         * dump already running cannot be stopped: keep its folder. */
        unlink(p.status_local);
        if (st.t_gil && p.stage)
            HS_FREE_AND_NULL(p.stage);
        if (sig)
            hs_error(HS_EXIT_IO, "interrupted by signal %d: %s%s%s", sig,
                     st.t_gil ? "the dump still runs in the target and will "
                                "write '"
                              : "the loader will leave the target without "
                                "dumping",
                     st.t_gil ? p.output_local : "", st.t_gil ? "'" : "");
        else if (!st.tid)
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s: the loader thread did not "
                     "start in process %d",
                     opts->timeout, (int)t.pid);
        else if (!st.t_gil)
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s waiting for the GIL in process "
                     "%d: some thread holds it without ever releasing it (a "
                     "long call into C code?); the loader thread %d will "
                     "leave without dumping once it gets it",
                     opts->timeout, (int)t.pid, (int)st.tid);
        else
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s: the dump is still running in "
                     "process %d (thread %d) and will write '%s' when done",
                     opts->timeout, (int)t.pid, (int)st.tid, p.output_local);
        goto out;
    }
    res->gil_ms = st.t_gil ? (double)(st.t_gil - t0_ns) / 1e6 : 0;
    if (st.result <= 0) {
        hs_error(HS_EXIT_IO, "the dump failed in process %d: %s", (int)t.pid,
                 st.result < 0 ? st.message : "no result was reported");
        goto out;
    }
    res->objects = st.objects;
    res->edges = st.edges;
    res->dump_s = st.seconds;
    /* The loader thread exits right after its last line; see it go, so
     * that "no thread left behind" is a checked fact. */
    while (thread_alive(t.pid, st.tid) && hs_now() < deadline + 2.0)
        hs_sleep(1e-3);
    if (thread_alive(t.pid, st.tid))
        hs_warn("the loader thread %d of process %d has not exited yet",
                (int)st.tid, (int)t.pid);
    if (collect_output(&p, opts->output) < 0)
        goto out;
    res->total_s = hs_now() - t0;
    rc = 0;
out:
    if (tr.stopped)
        hs_tracee_restore(&tr);
    if (p.stage)
        remove_tree(p.stage, 3);
    else if (p.status_local)
        unlink(p.status_local);
    paths_release(&p);
    hs_target_release(&t);
    hs_buf_release(&spec);
    free(lib);
    free(agent);
    /* A SIGINT/SIGTERM taken while blocked is reported, not re-raised:
     * the command's exit status says 128 + signal. */
    res->signal = sig;
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
