/*
 * launch.c: the mechanics behind `heapsnap dump -- PROGRAM` (launch.h).
 *
 * Safety rule: a command is only ever executed to probe it when it is known
 * to be a Python interpreter by name (python, python3, python3.12, ...) or
 * by its "#!" line; anything else is refused before it runs.
 *
 * The parent keeps one piece of global state while the program runs: the
 * child's pid, read by the signal forwarder (async-signal-safe use only).
 */
#include "launch.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

/* ---- finding the interpreter -------------------------------------------------- */

/* `name` on $PATH as a malloc'd path, or NULL.  A name with '/' is itself. */
static char *
search_path(const char *name)
{
    const char *path = getenv("PATH");
    struct hs_buf b = HS_BUF_INIT;

    if (strchr(name, '/'))
        return hs_xstrdup(name);
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        struct stat st;

        hs_buf_reset(&b);
        if (len)
            hs_buf_add(&b, path, len);
        else
            hs_buf_addch(&b, '.');
        hs_buf_addf(&b, "/%s", name);
        if (!stat(b.buf, &st) && S_ISREG(st.st_mode) && !access(b.buf, X_OK))
            return hs_buf_detach(&b);
        path += len + (colon ? 1 : 0);
    }
    hs_buf_release(&b);
    return NULL;
}

/* 1 if the file name of `path` (or of what it links to) says python. */
static int
looks_like_python(const char *path)
{
    char real[PATH_MAX];

    if (hs_starts_with(hs_base_name(path), "python"))
        return 1;
    if (realpath(path, real) && hs_starts_with(hs_base_name(real), "python"))
        return 1;
    return 0;
}

/*
 * Reads the "#!" line of `path` into interp/arg (malloc'd; arg may be NULL).
 * Returns 1 if there is one, 0 if not, -1 if the file cannot be read.
 */
static int
read_shebang(const char *path, char **interp, char **arg)
{
    char line[512];
    ssize_t n;
    char *p, *end;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    *interp = *arg = NULL;
    if (fd < 0)
        return -1;
    n = read(fd, line, sizeof(line) - 1);
    close(fd);
    if (n < 2 || line[0] != '#' || line[1] != '!')
        return 0;
    line[n] = '\0';
    end = strchr(line, '\n');
    if (end)
        *end = '\0';
    p = line + 2;
    while (*p == ' ' || *p == '\t')
        p++;
    end = p + strcspn(p, " \t");
    *interp = hs_xstrndup(p, (size_t)(end - p));
    p = end + strspn(end, " \t");
    if (*p) {
        size_t len = strlen(p);

        while (len && (p[len - 1] == ' ' || p[len - 1] == '\t' ||
                       p[len - 1] == '\r'))
            len--;
        *arg = hs_xstrndup(p, len);
    }
    return 1;
}

char *
hs_program_interpreter(const char *const *argv)
{
    char *prog, *interp = NULL, *arg = NULL, *found;
    int sb;

    prog = search_path(argv[0]);
    if (!prog || access(prog, F_OK)) {
        hs_error(HS_EXIT_USAGE, "cannot run '%s': %s", argv[0],
                 prog ? strerror(errno) : "command not found");
        free(prog);
        return NULL;
    }
    if (access(prog, X_OK)) {
        hs_error(HS_EXIT_USAGE, "cannot run '%s': %s", argv[0],
                 strerror(errno));
        free(prog);
        return NULL;
    }
    if (looks_like_python(prog))
        return prog;
    sb = read_shebang(prog, &interp, &arg);
    if (sb < 0) {
        hs_error(HS_EXIT_USAGE, "cannot read '%s': %s", prog, strerror(errno));
        free(prog);
        return NULL;
    }
    if (sb == 0) {
        hs_error(HS_EXIT_USAGE,
                 "'%s' is not a Python interpreter or a Python script "
                 "(expected python3, python3.12, ... or a file with a "
                 "python #! line)",
                 argv[0]);
        free(prog);
        return NULL;
    }
    /* "#!/usr/bin/env python3" names the interpreter in its argument. */
    if (arg && !strcmp(hs_base_name(interp), "env")) {
        found = search_path(arg);
        free(interp);
        interp = found;
        if (!interp) {
            hs_error(HS_EXIT_USAGE, "cannot run '%s': its #! interpreter "
                                    "'%s' is not on PATH",
                     argv[0], arg);
            free(arg);
            free(prog);
            return NULL;
        }
    }
    if (!looks_like_python(interp)) {
        hs_error(HS_EXIT_USAGE,
                 "'%s' is not a Python script: its #! line runs '%s'",
                 argv[0], interp);
        free(interp);
        free(arg);
        free(prog);
        return NULL;
    }
    free(arg);
    free(prog);
    return interp;
}

int
hs_check_python_flags(const char *const *argv)
{
    const char *prog = argv[0];
    char *interp = NULL, *arg = NULL;

    /* Options in a script's #! line count too: "#!/usr/bin/python3 -I". */
    if (!looks_like_python(prog)) {
        char *path = search_path(prog);

        if (path && read_shebang(path, &interp, &arg) == 1 && arg &&
            arg[0] == '-' && strpbrk(arg + 1, "IES") &&
            strcspn(arg, " ") == strlen(arg)) {
            hs_error(HS_EXIT_USAGE,
                     "'%s' runs Python with '%s', which keeps heapsnap from "
                     "loading its agent (drop -I, -E and -S)",
                     prog, arg);
            free(path);
            free(interp);
            free(arg);
            return -1;
        }
        free(path);
        free(interp);
        free(arg);
        return 0;
    }
    for (size_t i = 1; argv[i]; i++) {
        const char *a = argv[i];

        if (a[0] != '-' || !strcmp(a, "-") || !strcmp(a, "--"))
            break;
        if (a[1] == '-')
            continue; /* --version, --help and friends */
        for (const char *p = a + 1; *p; p++) {
            if (*p == 'I' || *p == 'E' || *p == 'S') {
                hs_error(HS_EXIT_USAGE,
                         "python option -%c keeps heapsnap from loading its "
                         "agent (it ignores PYTHONPATH or site); run without "
                         "it",
                         *p);
                return -1;
            }
            /* Options whose value follows: the rest of the word, or the
             * next word. */
            if (*p == 'c' || *p == 'm')
                return 0;
            if (*p == 'W' || *p == 'X') {
                if (!p[1])
                    i++;
                break;
            }
        }
        if (!argv[i])
            break;
    }
    return 0;
}

/* ---- probing ------------------------------------------------------------------ */

static const char probe_script[] =
    "import sys, platform, sysconfig\n"
    "print(platform.python_implementation())\n"
    "print('%d.%d.%d' % tuple(sys.version_info[:3]))\n"
    "print(sysconfig.get_config_var('EXT_SUFFIX') or '')\n"
    "print(1 if sysconfig.get_config_var('Py_GIL_DISABLED') else 0)\n";

/* Runs argv, returns its stdout (malloc'd) and exit status in *status. */
static char *
capture(const char *const *argv, int *status)
{
    int pipefd[2];
    pid_t pid;
    struct hs_buf out = HS_BUF_INIT;
    char chunk[4096];
    ssize_t n;

    if (pipe2(pipefd, O_CLOEXEC))
        return NULL;
    pid = fork();
    if (pid < 0) {
        close(pipefd[0]);
        close(pipefd[1]);
        return NULL;
    }
    if (pid == 0) {
        int devnull = open("/dev/null", O_RDWR);

        dup2(pipefd[1], 1);
        if (devnull >= 0) {
            dup2(devnull, 0);
            dup2(devnull, 2);
        }
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        if (out.len < 65536)
            hs_buf_add(&out, chunk, (size_t)n);
    }
    close(pipefd[0]);
    while (waitpid(pid, status, 0) < 0 && errno == EINTR)
        ;
    return hs_buf_detach(&out);
}

int
hs_python_probe(const char *exe, struct hs_python *out)
{
    const char *argv[] = { exe, "-E", "-S", "-c", probe_script, NULL };
    char *text, *lines[4] = { NULL, NULL, NULL, NULL };
    char *p;
    int status = 0, major = 0, minor = 0;

    memset(out, 0, sizeof(*out));
    text = capture(argv, &status);
    if (!text)
        return hs_error(HS_EXIT_IO, "cannot run '%s': %s", exe,
                        strerror(errno));
    p = text;
    for (int i = 0; i < 4 && p && *p; i++) {
        lines[i] = p;
        p = strchr(p, '\n');
        if (p)
            *p++ = '\0';
    }
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0 || !lines[3]) {
        free(text);
        return hs_error(HS_EXIT_USAGE,
                        "'%s' did not answer as a Python interpreter (is it "
                        "Python 3?)",
                        exe);
    }
    out->exe = hs_xstrdup(exe);
    out->impl = hs_xstrdup(lines[0]);
    out->version = hs_xstrdup(lines[1]);
    out->ext_suffix = hs_xstrdup(lines[2]);
    out->free_threaded = lines[3][0] == '1';
    free(text);
    if (sscanf(out->version, "%d.%d", &major, &minor) != 2)
        return hs_error(HS_EXIT_USAGE, "'%s' reported version '%s'", exe,
                        out->version);
    snprintf(out->minor, sizeof(out->minor), "%d.%d", major, minor);
    out->major_minor = major << 8 | minor;
    if (strcmp(out->impl, "CPython"))
        return hs_error(HS_EXIT_USAGE,
                        "'%s' is %s %s; heapsnap supports CPython only", exe,
                        out->impl, out->version);
    if (out->major_minor < 0x0308)
        return hs_error(HS_EXIT_USAGE,
                        "'%s' is Python %s; heapsnap needs CPython 3.8 or "
                        "newer",
                        exe, out->version);
    if (out->free_threaded)
        return hs_error(HS_EXIT_USAGE,
                        "'%s' is a free-threaded build of Python %s, which "
                        "heapsnap does not support yet",
                        exe, out->version);
    return 0;
}

void
hs_python_release(struct hs_python *py)
{
    free(py->exe);
    free(py->impl);
    free(py->version);
    free(py->ext_suffix);
    memset(py, 0, sizeof(*py));
}

/* ---- finding the agent -------------------------------------------------------- */

/* 1 if `dir`/heapsnap holds __init__.py and the extension for `py`. */
static int
agent_in(const char *dir, const struct hs_python *py)
{
    char *init = hs_xasprintf("%s/heapsnap/__init__.py", dir);
    char *ext =
        hs_xasprintf("%s/heapsnap/_heapsnap%s", dir, py->ext_suffix);
    int ok = !access(init, R_OK) && !access(ext, R_OK);

    free(init);
    free(ext);
    return ok;
}

/*
 * The ABI flags of `py` ("", "d", "t") from its extension suffix
 * ".cpython-313t-x86_64-linux-gnu.so": they end the build folder's key.
 */
static void
abi_flags(const struct hs_python *py, char *out, size_t size)
{
    const char *p = py->ext_suffix ? strstr(py->ext_suffix, "cpython-") : NULL;
    size_t n = 0;

    if (p)
        for (p += 8; *p >= '0' && *p <= '9'; p++)
            ;
    while (p && *p >= 'a' && *p <= 'z' && n + 1 < size)
        out[n++] = *p++;
    out[n] = '\0';
}

/*
 * How well agent folder `name` (in a folder of py<KEY> folders) fits
 * Python `major`.`minor`.`micro` with ABI flags `flags` (`micro` -1 when
 * unknown): -1 when it does not (another minor or other flags), else a
 * rank, higher is better.  The exact version ranks first; then the newest
 * older micro of the same minor (layouts change at a micro release, never
 * back), then the oldest newer one; an old-layout "py3.X" folder last.
 * The agent itself refuses a version it does not know.
 */
static long
agent_rank(const char *name, int major, int minor, int micro,
           const char *flags)
{
    char head[32], rest[16];
    int n = 0, m;

    snprintf(head, sizeof(head), "py%d.%d", major, minor);
    if (!hs_starts_with(name, head))
        return -1;
    name += strlen(head);
    if (!*name)
        return 0;
    if (sscanf(name, ".%d%n", &m, &n) != 1 || m < 0 || m > 999)
        return -1;
    snprintf(rest, sizeof(rest), "%s", name + n);
    if (strcmp(rest, flags))
        return -1;
    if (micro < 0 || m == micro)
        return micro < 0 ? 2000 + m : 4000;
    return m < micro ? 2000 + m : 2000 - m;
}

/* The best agent folder for `py` in `base` (malloc'd), or NULL. */
static char *
agent_under(const char *base, const struct hs_python *py)
{
    int major = 0, minor = 0, micro = -1;
    char flags[8], real[PATH_MAX];
    char *best = NULL;
    long best_rank = -1;
    struct dirent *de;
    DIR *d;

    if (sscanf(py->version, "%d.%d.%d", &major, &minor, &micro) < 2)
        return NULL;
    abi_flags(py, flags, sizeof(flags));
    if (!(d = opendir(base)))
        return NULL;
    while ((de = readdir(d))) {
        long rank = agent_rank(de->d_name, major, minor, micro, flags);
        char *dir;

        if (rank <= best_rank)
            continue;
        dir = hs_xasprintf("%s/%s", base, de->d_name);
        if (agent_in(dir, py)) {
            free(best);
            best = dir;
            best_rank = rank;
        } else
            free(dir);
    }
    closedir(d);
    if (best && realpath(best, real)) {
        free(best);
        best = hs_xstrdup(real);
    }
    return best;
}

/* `dir` (malloc'd, consumed) made real if it holds an agent for `py`, else
 * NULL. */
static char *
agent_single(char *dir, const struct hs_python *py)
{
    char real[PATH_MAX];
    char *found = NULL;

    if (agent_in(dir, py) && realpath(dir, real))
        found = hs_xstrdup(real);
    free(dir);
    return found;
}

/*
 * The agent `pip install .` installed with this command: the heapsnap
 * package in the site-packages beside it (BIN/../lib/python3.X/
 * site-packages; dist-packages under Debian's pip), or NULL.
 */
static char *
agent_beside_command(const char *exe_dir, const struct hs_python *py)
{
    static const char *const sites[] = { "site-packages", "dist-packages" };
    char *dir = NULL;

    for (size_t i = 0; i < HS_ARRAY_SIZE(sites) && !dir; i++)
        dir = agent_single(hs_xasprintf("%s/../lib/python%s/%s", exe_dir,
                                        py->minor, sites[i]),
                           py);
    return dir;
}

/* Prints the folder `import heapsnap` would load the package from. */
static const char importable_script[] =
    "import importlib.util\n"
    "s = importlib.util.find_spec('heapsnap')\n"
    "p = s and s.submodule_search_locations\n"
    "print('\\n' + (list(p)[0] if p else ''))\n";

/*
 * The folder `py` itself imports heapsnap from (a venv's site-packages, a
 * PYTHONPATH entry), asked by running it as the program would run: with
 * its site and environment.  NULL when it has none for this very Python.
 */
static char *
agent_importable(const struct hs_python *py)
{
    const char *argv[] = { py->exe, "-c", importable_script, NULL };
    char *text, *line, *end;
    int status = 0;
    char *dir = NULL;

    if (!(text = capture(argv, &status)))
        return NULL;
    /* The last line: a sitecustomize may print before. */
    end = text + strlen(text);
    while (end > text && end[-1] == '\n')
        *--end = '\0';
    line = strrchr(text, '\n');
    line = line ? line + 1 : text;
    /* The folder holding the package folder heapsnap/. */
    end = strrchr(line, '/');
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && line[0] == '/' &&
        end && end != line)
        dir = agent_single(hs_xstrndup(line, (size_t)(end - line)), py);
    free(text);
    return dir;
}

char *
hs_agent_dir(const struct hs_python *py)
{
    const char *env = getenv("HEAPSNAP_AGENT_DIR");
    const char *exe_dir = hs_exe_dir();
    char *base[3], *dir = NULL;

    base[0] = env && *env ? hs_xstrdup(env) : NULL;
    base[1] = hs_xstrdup(exe_dir);
    base[2] = hs_xasprintf("%s/../lib/heapsnap", exe_dir);
    for (int i = 0; i < 2 && !dir; i++)
        if (base[i])
            dir = agent_under(base[i], py);
    if (!dir)
        dir = agent_beside_command(exe_dir, py);
    if (!dir)
        dir = agent_under(base[2], py);
    if (!dir)
        dir = agent_importable(py);
    for (int i = 0; i < 3; i++)
        free(base[i]);
    if (!dir)
        hs_error(HS_EXIT_USAGE,
                 "no heapsnap agent for Python %s ('%s'); build it with "
                 "'make' in the heapsnap source tree (it builds one for "
                 "every python3 on PATH, /usr/bin/python3 and every pyenv "
                 "version), install it with '%s -m pip install .' there, "
                 "or set HEAPSNAP_AGENT_DIR",
                 py->version, py->exe, py->exe);
    return dir;
}

int
hs_agent_dir_is_private(const char *dir)
{
    const char *name = hs_base_name(dir);
    int major, minor;

    return sscanf(name, "py%d.%d", &major, &minor) == 2;
}

/* ---- running ------------------------------------------------------------------ */

/* The running child, for the signal forwarder; 0 when none. */
static volatile pid_t child_pid;

static void
forward_signal(int sig)
{
    int saved = errno;

    if (child_pid > 0)
        kill(child_pid, sig);
    errno = saved;
}

int
hs_run_program(const char *const *argv, const char *const *setenv_pairs,
               int keep_fd)
{
    static const int forwarded[] = { SIGTERM, SIGHUP, SIGUSR1, SIGUSR2 };
    struct sigaction sa, old[HS_ARRAY_SIZE(forwarded)], old_int, old_quit;
    int errpipe[2], status = 0, err = 0;
    pid_t pid;
    ssize_t n;

    if (pipe2(errpipe, O_CLOEXEC))
        return hs_error(HS_EXIT_IO, "cannot start '%s': %s", argv[0],
                        strerror(errno));
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = forward_signal;
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = SA_RESTART;
    for (size_t i = 0; i < HS_ARRAY_SIZE(forwarded); i++)
        sigaction(forwarded[i], &sa, &old[i]);
    /* The terminal sends SIGINT and SIGQUIT to the child as well. */
    sa.sa_handler = SIG_IGN;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGQUIT, &sa, &old_quit);

    pid = fork();
    if (pid == 0) {
        struct sigaction dfl;

        memset(&dfl, 0, sizeof(dfl));
        dfl.sa_handler = SIG_DFL;
        for (size_t i = 0; i < HS_ARRAY_SIZE(forwarded); i++)
            sigaction(forwarded[i], &dfl, NULL);
        sigaction(SIGINT, &dfl, NULL);
        sigaction(SIGQUIT, &dfl, NULL);
        signal(SIGPIPE, SIG_DFL);
        if (keep_fd >= 0)
            fcntl(keep_fd, F_SETFD, 0);
        for (size_t i = 0; setenv_pairs && setenv_pairs[i]; i += 2) {
            if (setenv_pairs[i + 1])
                setenv(setenv_pairs[i], setenv_pairs[i + 1], 1);
            else
                unsetenv(setenv_pairs[i]);
        }
        execvp(argv[0], (char *const *)(uintptr_t)argv);
        err = errno;
        if (write(errpipe[1], &err, sizeof(err)) < 0)
            _exit(127);
        _exit(127);
    }
    close(errpipe[1]);
    if (pid < 0) {
        err = errno;
        close(errpipe[0]);
        status = hs_error(HS_EXIT_IO, "cannot start '%s': %s", argv[0],
                          strerror(err));
        goto restore;
    }
    child_pid = pid;
    while ((n = read(errpipe[0], &err, sizeof(err))) < 0 && errno == EINTR)
        ;
    close(errpipe[0]);
    while (waitpid(pid, &status, 0) < 0) {
        if (errno != EINTR) {
            status = hs_error(HS_EXIT_INTERNAL, "waitpid: %s",
                              strerror(errno));
            goto restore;
        }
    }
    child_pid = 0;
    if (n == (ssize_t)sizeof(err)) {
        status = hs_error(err == ENOENT ? HS_EXIT_USAGE : HS_EXIT_IO,
                          "cannot run '%s': %s", argv[0], strerror(err));
        goto restore;
    }
    if (WIFSIGNALED(status))
        status = 128 + WTERMSIG(status);
    else
        status = WEXITSTATUS(status);
restore:
    for (size_t i = 0; i < HS_ARRAY_SIZE(forwarded); i++)
        sigaction(forwarded[i], &old[i], NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGQUIT, &old_quit, NULL);
    return status;
}
