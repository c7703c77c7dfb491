/*
 * COMMAND: dump
 * USAGE:   heapsnap dump [-o FILE] [--collect] [--redact] -- PROGRAM [ARGS...]
 *
 * Runs a Python command line with the agent for that interpreter on its
 * path (`import heapsnap` works in the program), snapshots the heap when the
 * program finishes (before interpreter teardown) and each time it receives
 * SIGUSR2, and exits with the program's exit status.
 *
 * The agent is preloaded through a sitecustomize module (agent/heapsnap/
 * _boot) put first on PYTHONPATH; settings travel in HEAPSNAP_* variables,
 * which the agent removes again so that child processes are not affected.
 */
#include "heapsnap.h"
#include "launch.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const dump_usage[] = {
    "usage: heapsnap dump [-o FILE] [--collect] [--redact] -- PROGRAM "
    "[ARGS...]",
    "",
    "Runs PROGRAM (python3 app.py, /path/to/python3.12 -m pkg, ./script.py)",
    "with the heapsnap agent preloaded.  It writes a snapshot when the",
    "program finishes and one each time it receives SIGUSR2 (FILE.1.db,",
    "FILE.2.db, ...), and exits with the program's exit status.",
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

/* The folder part of `path` (malloc'd); "." if none. */
static char *
folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return hs_xstrdup(".");
    if (slash == path)
        return hs_xstrdup("/");
    return hs_xstrndup(path, (size_t)(slash - path));
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

/* What the program reported about its snapshots (see heapsnap._report). */
struct reports {
    int exit_ok;   /* the exit snapshot was written */
    int exit_fail; /* it was attempted and failed */
    int written;   /* snapshots written in all */
};

/* Reads the report lines "ok|fail TAB trigger TAB path TAB detail". */
static void
read_reports(int fd, struct reports *r)
{
    struct hs_buf b = HS_BUF_INIT;
    char chunk[4096];
    ssize_t n;
    char *line, *nl;

    memset(r, 0, sizeof(*r));
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        hs_buf_add(&b, chunk, (size_t)n);
    }
    for (line = b.buf; (nl = strchr(line, '\n')); line = nl + 1) {
        int ok = !strncmp(line, "ok\t", 3);
        int at_exit = !strncmp(line + (ok ? 3 : 5), "exit\t", 5);

        *nl = '\0';
        r->written += ok;
        if (at_exit) {
            r->exit_ok |= ok;
            r->exit_fail |= !ok;
        }
    }
    hs_buf_release(&b);
}

int
cmd_dump(int argc, const char **argv)
{
    const char *output = NULL;
    int collect = 0, redact = 0;
    const struct hs_option opts[] = {
        { HS_OPT_STRING, 'o', "output", &output, "FILE",
          "snapshot file (default heapsnap-<pid>-<time>.db)", NULL },
        { HS_OPT_FLAG, 0, "collect", &collect, NULL,
          "run gc.collect() before each snapshot (default: keep garbage)",
          NULL },
        { HS_OPT_FLAG, 0, "redact", &redact, NULL,
          "store no str/bytes contents", NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_python py;
    struct reports rep;
    char *interp = NULL, *agent = NULL, *out_abs = NULL, *dir = NULL;
    char *pythonpath = NULL;
    const char *old_pp;
    const char *env[32];
    char fdnum[16];
    size_t ne = 0;
    int n, rc, writable, pipefd[2] = { -1, -1 };
    struct stat st;

    memset(&py, 0, sizeof(py));
    n = hs_parse_options(argc, argv, opts, dump_usage,
                         HS_PARSE_STOP_AT_NON_OPTION);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n == 0) {
        hs_usage_error("dump", "no program to run (heapsnap dump -- python3 "
                               "app.py)");
        return HS_EXIT_USAGE;
    }
    argv[n] = NULL;
    if (output && !stat(output, &st) && S_ISDIR(st.st_mode)) {
        hs_usage_error("dump", "-o '%s' is a folder; give a file name",
                       output);
        return HS_EXIT_USAGE;
    }
    interp = hs_program_interpreter(argv);
    if (!interp || hs_check_python_flags(argv) < 0 ||
        hs_python_probe(interp, &py) < 0 || !(agent = hs_agent_dir(&py))) {
        rc = hs_error_status();
        goto cleanup;
    }

    if (output) {
        out_abs = absolute(output);
        dir = folder_of(out_abs);
    } else {
        dir = absolute(".");
        if (strlen(dir) >= 2 && !strcmp(dir + strlen(dir) - 2, "/."))
            dir[strlen(dir) - 2] = '\0';
    }
    writable = check_writable(dir) == 0;
    if (pipe2(pipefd, O_CLOEXEC)) {
        rc = hs_error(HS_EXIT_IO, "cannot create a pipe: %s",
                      strerror(errno));
        goto cleanup;
    }
    snprintf(fdnum, sizeof(fdnum), "%d", pipefd[1]);

    old_pp = getenv("PYTHONPATH");
    pythonpath = hs_xasprintf("%s/heapsnap/_boot:%s%s%s", agent, agent,
                              old_pp && *old_pp ? ":" : "",
                              old_pp && *old_pp ? old_pp : "");
    env[ne++] = "PYTHONPATH";
    env[ne++] = pythonpath;
    env[ne++] = "HEAPSNAP_ORIG_PYTHONPATH";
    env[ne++] = old_pp ? old_pp : "";
    env[ne++] = "HEAPSNAP_PYTHONPATH_WAS_SET";
    env[ne++] = old_pp ? "1" : "0";
    env[ne++] = "HEAPSNAP_BOOT";
    env[ne++] = writable ? "1" : "no-write";
    env[ne++] = "HEAPSNAP_OUTPUT";
    env[ne++] = out_abs; /* NULL unsets: default naming in the folder */
    env[ne++] = "HEAPSNAP_OUTPUT_DIR";
    env[ne++] = dir;
    env[ne++] = "HEAPSNAP_COLLECT";
    env[ne++] = collect ? "1" : "0";
    env[ne++] = "HEAPSNAP_REDACT";
    env[ne++] = redact ? "1" : "0";
    env[ne++] = "HEAPSNAP_REPORT_FD";
    env[ne++] = fdnum;
    env[ne] = NULL;

    fflush(stdout);
    rc = hs_run_program(argv, env, pipefd[1]);
    close(pipefd[1]);
    pipefd[1] = -1;
    read_reports(pipefd[0], &rep);
    if (rc < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (writable && !rep.exit_ok && !rep.exit_fail)
        hs_warn("the program ended without running its exit handlers "
                "(os._exit, a signal or a crash): no snapshot at exit%s",
                rep.written ? "" : ", and none was written");
    /* The program's status wins; a clean exit without the snapshot the
     * user asked for is an I/O failure. */
    if (rc == 0 && (!writable || rep.exit_fail))
        rc = HS_EXIT_IO;
cleanup:
    if (pipefd[0] >= 0)
        close(pipefd[0]);
    if (pipefd[1] >= 0)
        close(pipefd[1]);
    hs_python_release(&py);
    free(interp);
    free(agent);
    free(out_abs);
    free(dir);
    free(pythonpath);
    return rc;
}
