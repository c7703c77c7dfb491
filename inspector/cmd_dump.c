/*
 * COMMAND: dump
 * USAGE:   heapsnap dump [-o FILE] [--collect] [--redact] [--fork] -- PROGRAM
 *                        [ARGS...]
 *          heapsnap dump --pid PID [-o FILE] [--timeout S]
 *                        [--attach auto|remote|ptrace] [--collect]
 *                        [--redact] [--fork]
 *          heapsnap dump --prepare FILE...
 *
 * Runs a Python command line with the agent for that interpreter on its
 * path (`import heapsnap` works in the program), snapshots the heap when the
 * program finishes (before interpreter teardown) and each time it receives
 * SIGUSR2, and exits with the program's exit status.  With --pid it
 * snapshots a running process instead (attach.c).  Every snapshot it
 * wrote is then prepared for analysis (hs_heap_prepare(): the derived
 * tables a first command would store), once the target has carried on,
 * so that no command on it writes to it; --prepare does that alone, for
 * files heapsnap.dump() wrote.
 *
 * The agent is preloaded through a sitecustomize module (agent/heapsnap/
 * _boot) put first on PYTHONPATH; settings travel in HEAPSNAP_* variables,
 * which stay in the environment so that every Python process the program
 * starts carries the agent too (heapsnap._start_from_environment says what
 * each process does with them).
 */
#include "heapsnap.h"
#include "attach.h"
#include "heap.h"
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dump_usage[] = {
    "usage: heapsnap dump [-o FILE] [--collect] [--redact] [--fork] "
    "[--trace[=N]]",
    "                     -- PROGRAM [ARGS...]",
    "   or: heapsnap dump --pid PID [-o FILE] [--timeout S] "
    "[--attach auto|remote|ptrace]",
    "                             [--collect] [--redact] [--fork]",
    "   or: heapsnap dump --prepare FILE...",
    "",
    "Runs PROGRAM (python3 app.py, /path/to/python3.12 -m pkg, ./script.py)",
    "with the heapsnap agent preloaded.  It writes a snapshot when the",
    "program finishes, before its other exit handlers run, and one each",
    "time it receives SIGUSR2 (FILE.1.db, FILE.2.db, ...), and exits with",
    "the program's exit status.  Every Python process the program starts",
    "(subprocess, multiprocessing, os.fork) carries the agent too: SIGUSR2",
    "to one writes FILE-<pid>.1.db, ... (no snapshot at its exit).  With",
    "--fork, each SIGUSR2 snapshot is written by a forked child while the",
    "program runs on: it pauses only for fork() (copy-on-write memory grows",
    "with what the program writes meanwhile).  With --trace, tracemalloc",
    "traces the program from its start with N frames (default 10), as",
    "PYTHONTRACEMALLOC=N does, and each snapshot records where every object",
    "was allocated (show, why, top --by site, diff --by site).",
    "",
    "With --pid, snapshots a running CPython 3.8+ process that never",
    "imported heapsnap; the process then runs on as before.  On 3.14+ it",
    "uses the interpreter's remote debugging (PEP 768): a thread seen",
    "running Python code runs the dump at its next check, and nothing is",
    "stopped.  Otherwise (3.8-3.13, remote debugging disabled by",
    "PYTHON_DISABLE_REMOTE_DEBUG, -X disable-remote-debug or a build",
    "--without-remote-debug, or no thread taking the request within 2 s)",
    "heapsnap stops one of its threads for a few milliseconds with ptrace",
    "to load its agent, which dumps from a thread of its own holding the",
    "GIL.  --attach remote or ptrace (or HEAPSNAP_ATTACH) forces one way.",
    "Both need the right to ptrace it: the same user (with",
    "/proc/sys/kernel/yama/ptrace_scope 0) or root (CAP_SYS_PTRACE).",
    "With --fork the target forks and its child writes the snapshot: the",
    "target holds the GIL only for fork() itself.",
    "Exit status: 0 written, 2 no such process, not CPython, no agent for",
    "its version, or --attach remote where remote debugging is disabled",
    "or unusable, 4 not permitted, timed out, or the dump failed.",
    "",
    "Each snapshot written is then prepared for analysis, after the",
    "program or process has carried on (for dump --, once the program",
    "ended): heapsnap stores in it what the first command on it would (the",
    "graph cache and the retained sizes, about 3/4 of the file again), so",
    "that every command answers at once and none writes to it.  If that",
    "fails (a full disk), the snapshot stays complete and the exit status",
    "is 4 (or the program's own when it failed).  --prepare FILE... does",
    "only that, for snapshots heapsnap.dump() wrote in the program.",
    "",
    "Default FILE: heapsnap-<pid>-<time>.db in the current folder.",
    NULL,
};

/* An absolute version of `path` (malloc'd). */
static char *
absolute(const char *path)
{
    char cwd[PATH_MAX];

    if (path[0] == '/' || !getcwd(cwd, sizeof(cwd)))
        return hs_xstrdup(path);
    return hs_xasprintf("%s/%s", cwd, path);
}

/*
 * Checks that snapshots can be written into `dir`; prints the error and
 * returns -1 if not (the program still runs).
 */
static int
check_writable(const char *dir)
{
    struct stat st;

    if (stat(dir, &st))
        return hs_error(HS_EXIT_IO,
                        "cannot write snapshots to '%s': %s (the program "
                        "runs without them)",
                        dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        return hs_error(HS_EXIT_IO,
                        "cannot write snapshots to '%s': not a folder (the "
                        "program runs without them)",
                        dir);
    if (access(dir, W_OK | X_OK))
        return hs_error(HS_EXIT_IO,
                        "cannot write snapshots to '%s': %s (the program "
                        "runs without them)",
                        dir, strerror(errno));
    return 0;
}

/*
 * The default snapshot name for process `pid`: heapsnap-<pid>-<time>.db in
 * the current folder, with -2, -3... if that exists (malloc'd, absolute).
 */
static char *
default_output(int pid)
{
    char stamp[32] = "0";
    time_t now = time(NULL);
    struct tm tm;
    char *path, *base;

    if (localtime_r(&now, &tm))
        strftime(stamp, sizeof(stamp), "%Y%m%d-%H%M%S", &tm);
    base = hs_xasprintf("heapsnap-%d-%s", pid, stamp);
    path = hs_xasprintf("%s.db", base);
    for (int n = 2; !access(path, F_OK); n++) {
        free(path);
        path = hs_xasprintf("%s-%d.db", base, n);
    }
    free(base);
    base = absolute(path);
    free(path);
    return base;
}

/* Parses --timeout: seconds, a positive decimal number; -1 if not. */
static int
parse_seconds(const char *s, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(s, &end);
    if (errno || end == s || *end || !(*out > 0) || *out > 1e6)
        return -1;
    return 0;
}

/* The ways in, as --attach and HEAPSNAP_ATTACH spell them. */
static const char *const attach_methods[] = { "auto", "remote", "ptrace",
                                              NULL };

/* --attach's word, else HEAPSNAP_ATTACH's, as a method; -1 if unknown. */
static int
attach_method(const char *word)
{
    if (!word)
        word = getenv("HEAPSNAP_ATTACH");
    if (!word || !*word)
        return HS_ATTACH_AUTO;
    for (int i = 0; attach_methods[i]; i++) {
        if (!strcmp(word, attach_methods[i]))
            return i;
    }
    return -1;
}

/*
 * `heapsnap dump --pid PID` (attach.h).  Returns the exit code: 0, the
 * recorded error's code, or 128 + N when signal N interrupted it.
 */
static int
dump_pid(int pid, const char *output, const char *timeout,
         const char *attach, int collect, int redact, int fork)
{
    struct hs_attach_options opts;
    struct hs_attach_result res;
    char objects[32], edges[32];
    char *out_abs;
    int rc;

    memset(&opts, 0, sizeof(opts));
    opts.pid = pid;
    opts.timeout = 30;
    opts.collect = collect;
    opts.redact = redact;
    opts.fork = fork;
    if (timeout && parse_seconds(timeout, &opts.timeout) < 0) {
        hs_usage_error("dump", "--timeout expects seconds, not '%s'", timeout);
        return HS_EXIT_USAGE;
    }
    if (attach_method(attach) < 0) {
        /* Only HEAPSNAP_ATTACH gets here: the parser checks --attach. */
        hs_usage_error("dump",
                       "HEAPSNAP_ATTACH is '%s'; use auto, remote or ptrace",
                       getenv("HEAPSNAP_ATTACH"));
        return HS_EXIT_USAGE;
    }
    opts.method = (enum hs_attach_method)attach_method(attach);
    out_abs = output ? absolute(output) : default_output(pid);
    opts.output = out_abs;
    rc = hs_attach_dump(&opts, &res);
    if (res.signal)
        rc = 128 + res.signal;
    else if (rc == 0 && res.remote) {
        char back[96] = "";

        if (res.back_s > 0)
            snprintf(back, sizeof(back),
                     " and was back in the program after %.2f s",
                     res.back_s);
        hs_note("wrote '%s' (%s objects, %s references, %.2f s; attached "
                "to Python %s via remote debugging (PEP 768) in %.0f ms: "
                "thread %d ran it %.1f ms after the request%s, no thread "
                "stopped)",
                out_abs,
                hs_group_digits(res.objects, objects, sizeof(objects)),
                hs_group_digits(res.edges, edges, sizeof(edges)), res.dump_s,
                res.version, res.gil_ms, (int)res.tid, res.request_ms, back);
    } else if (rc == 0)
        hs_note("wrote '%s' (%s objects, %s references, %.2f s; attached "
                "to Python %s with ptrace in %.0f ms, one thread stopped "
                "%.1f ms)",
                out_abs,
                hs_group_digits(res.objects, objects, sizeof(objects)),
                hs_group_digits(res.edges, edges, sizeof(edges)), res.dump_s,
                res.version, res.gil_ms, res.stop_ms);
    if (rc == 0 && !res.signal && hs_heap_prepare(out_abs) < 0)
        rc = -1;
    free(out_abs);
    return rc < 0 ? hs_error_status() : rc;
}

/* What the program reported about its snapshots (see heapsnap._report). */
struct reports {
    int exit_ok;   /* the exit snapshot was written */
    int exit_fail; /* it was attempted and failed */
    int written;   /* snapshots written in all */
    char **paths;  /* the files written, each once, in order (owned) */
    size_t npaths, alloc_paths;
};

static void
reports_release(struct reports *r)
{
    for (size_t i = 0; i < r->npaths; i++)
        free(r->paths[i]);
    free(r->paths);
    memset(r, 0, sizeof(*r));
}

/* Adds `path` to r->paths unless it is there already. */
static void
add_written(struct reports *r, const char *path)
{
    for (size_t i = 0; i < r->npaths; i++) {
        if (!strcmp(r->paths[i], path))
            return;
    }
    HS_ALLOC_GROW(r->paths, r->npaths + 1, r->alloc_paths);
    r->paths[r->npaths++] = hs_xstrdup(path);
}

/*
 * Removes PATH.tmp, if it is a regular file, for a dump whose start was
 * reported and whose end was not: the program died while writing it (a
 * SIGKILL during its exit dump), and nobody else will.
 */
static void
remove_unfinished(const char *path)
{
    char *tmp = hs_xasprintf("%s.tmp", path);
    struct stat st;

    if (lstat(tmp, &st) == 0 && S_ISREG(st.st_mode) && unlink(tmp) == 0)
        hs_note("removed '%s': the program ended while writing it", tmp);
    free(tmp);
}

/*
 * Reads the report lines "start|ok|fail TAB trigger TAB path TAB detail"
 * until the program and everything that inherited the pipe are gone, and
 * cleans up after every dump that started and never ended.
 */
static void
read_reports(int fd, struct reports *r)
{
    struct hs_buf b = HS_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    char *line, *nl;
    const char **started = NULL;
    size_t nstarted = 0, alloc = 0;

    memset(r, 0, sizeof(*r));
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        hs_buf_add(&b, chunk, (size_t)n);
    }
    for (line = b.buf; (nl = strchr(line, '\n')); line = nl + 1) {
        char *trigger = strchr(line, '\t');
        char *path = trigger ? strchr(trigger + 1, '\t') : NULL;
        char *end = path ? strchr(path + 1, '\t') : NULL;
        int ok = !strncmp(line, "ok\t", 3);
        int at_exit = trigger && !strncmp(trigger + 1, "exit\t", 5);

        *nl = '\0';
        if (!end)
            continue;
        *end = '\0';
        path++;
        if (!strncmp(line, "start\t", 6)) {
            HS_ALLOC_GROW(started, nstarted + 1, alloc);
            started[nstarted++] = path;
            continue;
        }
        for (size_t i = 0; i < nstarted; i++) {
            if (started[i] && !strcmp(started[i], path))
                started[i] = NULL;
        }
        r->written += ok;
        if (ok)
            add_written(r, path);
        if (at_exit) {
            r->exit_ok |= ok;
            r->exit_fail |= !ok;
        }
    }
    for (size_t i = 0; i < nstarted; i++) {
        if (started[i])
            remove_unfinished(started[i]);
    }
    free(started);
    hs_buf_release(&b);
}

/* What `dump -- PROGRAM` runs the program with, found before it runs. */
struct launch_plan {
    struct hs_python py; /* the program's interpreter, probed */
    char *interp;        /* its path (owned) */
    char *agent;         /* the agent folder for that Python (owned) */
    char *out_abs;       /* -o as an absolute path, or NULL (owned) */
    char *dir;           /* the folder snapshots go to (owned) */
    int writable;        /* 1 when that folder can be written */
    char *pythonpath;    /* the program's PYTHONPATH (owned) */
    char *lsan_options;  /* sanitizer builds: LSAN_OPTIONS (owned) */
    char fdnum[16];      /* the report pipe's descriptor, as text */
    char trace_frames[16]; /* --trace's N, as text */
};

static void
launch_plan_release(struct launch_plan *lp)
{
    hs_python_release(&lp->py);
    free(lp->interp);
    free(lp->agent);
    free(lp->out_abs);
    free(lp->dir);
    free(lp->pythonpath);
    free(lp->lsan_options);
}

/*
 * Finds the program's interpreter and its agent, and the folder the
 * snapshots go to (-o's, else the current one) and whether it can be
 * written (warned about when not: the program still runs).  0, or -1
 * after an error.
 */
static int
plan_launch(const char **argv, const char *output, struct launch_plan *lp)
{
    lp->interp = hs_program_interpreter(argv);
    if (!lp->interp || hs_check_python_flags(argv) < 0 ||
        hs_python_probe(lp->interp, &lp->py) < 0 ||
        !(lp->agent = hs_agent_dir(&lp->py)))
        return -1;
    if (output) {
        lp->out_abs = absolute(output);
        lp->dir = hs_folder_of(lp->out_abs);
    } else {
        lp->dir = absolute(".");
        if (strlen(lp->dir) >= 2 &&
            !strcmp(lp->dir + strlen(lp->dir) - 2, "/."))
            lp->dir[strlen(lp->dir) - 2] = '\0';
    }
    lp->writable = check_writable(lp->dir) == 0;
    return 0;
}

/*
 * The environment the program runs with (name, value pairs, then NULL,
 * into env of at least 32 entries): the agent on PYTHONPATH ahead of the
 * program's (its boot alone for an agent in a Python's site-packages), the
 * HEAPSNAP_* settings the agent's boot reads, the report pipe
 * `report_fd`, and for sanitizer builds their runtime.  Strings it
 * makes are kept in lp.
 */
static void
launch_env(struct launch_plan *lp, int report_fd, int collect, int redact,
           int fork, int trace, const char **env)
{
    const char *old_pp = getenv("PYTHONPATH");
    size_t ne = 0;

    snprintf(lp->fdnum, sizeof(lp->fdnum), "%d", report_fd);
    /* A site-packages folder stays off PYTHONPATH: ahead of the standard
     * library it would change what the program imports. */
    lp->pythonpath = hs_xasprintf(
        "%s/heapsnap/_boot%s%s%s%s", lp->agent,
        hs_agent_dir_is_private(lp->agent) ? ":" : "",
        hs_agent_dir_is_private(lp->agent) ? lp->agent : "",
        old_pp && *old_pp ? ":" : "", old_pp && *old_pp ? old_pp : "");
    env[ne++] = "PYTHONPATH";
    env[ne++] = lp->pythonpath;
    env[ne++] = "HEAPSNAP_BOOT";
    env[ne++] = lp->writable ? "1" : "no-write";
    env[ne++] = "HEAPSNAP_OUTPUT";
    env[ne++] = lp->out_abs; /* NULL unsets: default naming in the folder */
    env[ne++] = "HEAPSNAP_OUTPUT_DIR";
    env[ne++] = lp->dir;
    env[ne++] = "HEAPSNAP_COLLECT";
    env[ne++] = collect ? "1" : "0";
    env[ne++] = "HEAPSNAP_REDACT";
    env[ne++] = redact ? "1" : "0";
    env[ne++] = "HEAPSNAP_FORK";
    env[ne++] = fork ? "1" : "0";
    env[ne++] = "HEAPSNAP_REPORT_FD";
    env[ne++] = lp->fdnum;
    if (trace >= 0) {
        /* --trace[=N]: tracemalloc from the interpreter's start. */
        snprintf(lp->trace_frames, sizeof(lp->trace_frames), "%d",
                 trace ? trace : 10);
        env[ne++] = "PYTHONTRACEMALLOC";
        env[ne++] = lp->trace_frames;
    }
#ifdef HS_SAN_PRELOAD
    /* A sanitizer build (make SAN=1): its agent needs the ASan runtime
     * first in the program and Python's own allocator out of ASan's way.
     * Leaks are still reported, but for the interpreter's own (the
     * suppressions of tests/lsan-python.supp); the caller's LSAN_OPTIONS
     * come last and win. */
    lp->lsan_options = hs_xasprintf(
        "%s%s%s", HS_SAN_LSAN_OPTIONS, getenv("LSAN_OPTIONS") ? ":" : "",
        getenv("LSAN_OPTIONS") ? getenv("LSAN_OPTIONS") : "");
    env[ne++] = "LD_PRELOAD";
    env[ne++] = HS_SAN_PRELOAD;
    env[ne++] = "PYTHONMALLOC";
    env[ne++] = "malloc";
    env[ne++] = "LSAN_OPTIONS";
    env[ne++] = lp->lsan_options;
#endif
    env[ne] = NULL;
}

/*
 * Prepares each snapshot the program reported written (hs_heap_prepare()),
 * now that it ended.  One the program removed or renamed since is skipped
 * with a note.  0, or -1 when one could not be prepared (error printed).
 */
static int
prepare_written(const struct reports *r)
{
    struct stat st;
    int rc = 0;

    for (size_t i = 0; i < r->npaths; i++) {
        if (lstat(r->paths[i], &st) && errno == ENOENT) {
            hs_note("'%s' is gone since the program wrote it; not "
                    "prepared",
                    r->paths[i]);
            continue;
        }
        if (hs_heap_prepare(r->paths[i]) < 0)
            rc = -1;
    }
    return rc;
}

/*
 * Runs the program with `env`, reads what the agent reported through the
 * pipe, prepares the snapshots written, and decides the exit code: the
 * program's own status wins; a clean exit without the snapshot the user
 * asked for, or with a snapshot that could not be prepared, is an I/O
 * failure (4).  Closes both ends of `pipefd`.
 */
static int
run_and_report(const char **argv, const char **env, int pipefd[2],
               int writable)
{
    struct reports rep;
    int rc;

    fflush(stdout);
    rc = hs_run_program(argv, env, pipefd[1]);
    close(pipefd[1]);
    pipefd[1] = -1;
    read_reports(pipefd[0], &rep);
    close(pipefd[0]);
    pipefd[0] = -1;
    if (rc < 0) {
        reports_release(&rep);
        return hs_error_status();
    }
    if (writable && !rep.exit_ok && !rep.exit_fail)
        hs_warn("the program ended without running its exit handlers "
                "(os._exit, a signal or a crash): no snapshot at exit%s",
                rep.written ? "" : ", and none was written");
    if (prepare_written(&rep) < 0 && rc == 0)
        rc = HS_EXIT_IO;
    if (rc == 0 && (!writable || rep.exit_fail))
        rc = HS_EXIT_IO;
    reports_release(&rep);
    return rc;
}

/*
 * `heapsnap dump --prepare FILE...`: prepares each file; the first
 * error's exit code when one could not be, after trying them all.
 */
static int
prepare_files(int n, const char **files)
{
    int failed = 0;

    if (n == 0) {
        hs_usage_error("dump", "--prepare needs the snapshot files to "
                               "prepare");
        return HS_EXIT_USAGE;
    }
    for (int i = 0; i < n; i++)
        failed |= hs_heap_prepare(files[i]) < 0;
    return failed ? hs_error_status() : HS_EXIT_OK;
}

int
cmd_dump(int argc, const char **argv)
{
    const char *output = NULL, *timeout = NULL, *attach = NULL;
    int collect = 0, redact = 0, fork = 0, trace = -1, prepare = 0;
    int pid = INT_MIN; /* INT_MIN: no --pid */
    const struct hs_option opts[] = {
        { HS_OPT_STRING, 'o', "output", &output, "FILE",
          "snapshot file (default heapsnap-<pid>-<time>.db)", NULL },
        { HS_OPT_INT, 0, "pid", &pid, "PID",
          "snapshot this running Python process", NULL },
        { HS_OPT_STRING, 0, "timeout", &timeout, "S",
          "with --pid: give up after S seconds (default 30)", NULL },
        { HS_OPT_CHOICE, 0, "attach", &attach, "HOW",
          "with --pid: auto (remote debugging on 3.14+, else ptrace), "
          "remote or ptrace",
          attach_methods },
        { HS_OPT_FLAG, 0, "collect", &collect, NULL,
          "run gc.collect() before each snapshot (default: keep garbage)",
          NULL },
        { HS_OPT_FLAG, 0, "redact", &redact, NULL,
          "store no str/bytes contents, argv or paths", NULL },
        { HS_OPT_FLAG, 0, "fork", &fork, NULL,
          "let a forked child write the snapshots (short pause)", NULL },
        { HS_OPT_OPTINT, 0, "trace", &trace, "N",
          "trace allocations with N frames (default 10): record where "
          "each object was allocated",
          NULL },
        { HS_OPT_FLAG, 0, "prepare", &prepare, NULL,
          "only prepare the snapshot FILEs given for analysis (what "
          "heapsnap.dump() wrote)",
          NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct launch_plan lp;
    const char *env[32];
    int n, rc, pipefd[2] = { -1, -1 };
    struct stat st;

    memset(&lp, 0, sizeof(lp));
    n = hs_parse_options(argc, argv, opts, dump_usage,
                         HS_PARSE_STOP_AT_NON_OPTION);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (prepare) {
        if (output || pid != INT_MIN || timeout || attach || collect ||
            redact || fork || trace >= 0) {
            hs_usage_error("dump", "--prepare takes snapshot files and no "
                                   "other option");
            return HS_EXIT_USAGE;
        }
        return prepare_files(n, argv);
    }
    if (output && !stat(output, &st) && S_ISDIR(st.st_mode)) {
        hs_usage_error("dump", "-o '%s' is a folder; give a file name",
                       output);
        return HS_EXIT_USAGE;
    }
    if (pid != INT_MIN || timeout || attach) {
        if (pid == INT_MIN) {
            hs_usage_error("dump", "--%s needs --pid",
                           timeout ? "timeout" : "attach");
            return HS_EXIT_USAGE;
        }
        if (pid <= 0) {
            hs_usage_error("dump", "--pid expects a process id, not %d", pid);
            return HS_EXIT_USAGE;
        }
        if (n > 0) {
            hs_usage_error("dump", "--pid snapshots a running process; it "
                                   "takes no program to run");
            return HS_EXIT_USAGE;
        }
        if (trace >= 0) {
            hs_usage_error("dump", "--trace starts tracemalloc with the "
                                   "program; a running process that traces "
                                   "already has its sites recorded");
            return HS_EXIT_USAGE;
        }
        return dump_pid(pid, output, timeout, attach, collect, redact,
                        fork);
    }
    if (n == 0) {
        hs_usage_error("dump", "no program to run (heapsnap dump -- python3 "
                               "app.py)");
        return HS_EXIT_USAGE;
    }
    argv[n] = NULL;
    if (plan_launch(argv, output, &lp) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (pipe2(pipefd, O_CLOEXEC)) {
        rc = hs_error(HS_EXIT_IO, "cannot create a pipe: %s",
                      strerror(errno));
        goto cleanup;
    }
    launch_env(&lp, pipefd[1], collect, redact, fork, trace, env);
    rc = run_and_report(argv, env, pipefd, lp.writable);
cleanup:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    launch_plan_release(&lp);
    return rc;
}
