/*
 * isolate.c: a function run in a child process with a deadline
 * (isolate.h).  The parent reads the child's two pipes (output and
 * stderr) with poll() until both close or the deadline passes, then reaps
 * the child.  Owns nothing between calls.
 */
#include "isolate.h"
#include "progress.h"

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

int
hs_write_all(int fd, const void *data, size_t len)
{
    const char *p = data;

    while (len) {
        ssize_t n = write(fd, p, len);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -1;
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

/* In the child: never returns. */
HS_NORETURN static void
child(int (*fn)(void *arg, int fd), void *arg, int out_fd, int err_fd)
{
    static const int fatal[] = { SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT };
    int rc;

    for (size_t i = 0; i < HS_ARRAY_SIZE(fatal); i++)
        signal(fatal[i], SIG_DFL);
    dup2(err_fd, 2);
    close(err_fd);
    hs_error_reset();
    rc = fn(arg, out_fd);
    _exit(rc == 0 ? 0 : hs_error_status());
}

/*
 * Reads fds[0] into out and fds[1] into err until both close or the
 * deadline passes; returns 1 when the deadline passed.
 */
static int
collect(const int fds[2], struct hs_buf *out, struct hs_buf *err,
        double deadline)
{
    struct hs_buf *bufs[2] = { out, err };
    int open_fds = 2, closed[2] = { 0, 0 };
    char chunk[65536];

    while (open_fds) {
        struct pollfd pfd[2];
        double left = deadline - hs_now();
        nfds_t n = 0;
        int map[2];

        if (left <= 0)
            return 1;
        for (int i = 0; i < 2; i++) {
            if (closed[i])
                continue;
            pfd[n].fd = fds[i];
            pfd[n].events = POLLIN;
            pfd[n].revents = 0;
            map[n++] = i;
        }
        if (poll(pfd, n, (int)(left * 1000.0) + 1) <= 0)
            continue; /* timeout (deadline checked above) or EINTR */
        for (nfds_t k = 0; k < n; k++) {
            ssize_t got;

            if (!pfd[k].revents)
                continue;
            got = read(pfd[k].fd, chunk, sizeof(chunk));
            if (got < 0 && errno == EINTR)
                continue;
            if (got <= 0) {
                closed[map[k]] = 1; /* the child closed its end */
                open_fds--;
                continue;
            }
            hs_buf_add(bufs[map[k]], chunk, (size_t)got);
        }
    }
    return 0;
}

int
hs_isolate_run(int (*fn)(void *arg, int fd), void *arg, uint32_t timeout_ms,
               struct hs_isolate *r)
{
    int out[2], err[2], fds[2], status = 0, saved;
    pid_t pid;

    memset(r, 0, sizeof(*r));
    hs_buf_init(&r->out);
    hs_buf_init(&r->err);
    r->exit_code = -1;
    if (pipe(out) < 0)
        return -1;
    if (pipe(err) < 0) {
        saved = errno;
        close(out[0]);
        close(out[1]);
        errno = saved;
        return -1;
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid < 0) {
        saved = errno;
        close(out[0]);
        close(out[1]);
        close(err[0]);
        close(err[1]);
        errno = saved;
        return -1;
    }
    if (pid == 0) {
        close(out[0]);
        close(err[0]);
        child(fn, arg, out[1], err[1]);
    }
    close(out[1]);
    close(err[1]);
    fds[0] = out[0];
    fds[1] = err[0];
    r->killed = collect(fds, &r->out, &r->err, hs_now() + timeout_ms / 1000.0);
    if (r->killed)
        kill(pid, SIGKILL);
    close(out[0]);
    close(err[0]);
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (WIFSIGNALED(status))
        r->signal = WTERMSIG(status);
    else if (WIFEXITED(status))
        r->exit_code = WEXITSTATUS(status);
    return 0;
}

void
hs_isolate_release(struct hs_isolate *r)
{
    hs_buf_release(&r->out);
    hs_buf_release(&r->err);
}

const char *
hs_isolate_error(struct hs_isolate *r)
{
    static const char prefix[] = HS_PROG ": error: ";
    char *s = strstr(r->err.buf, prefix);

    if (!s)
        return NULL;
    s += sizeof(prefix) - 1;
    s[strcspn(s, "\n")] = '\0';
    return s;
}
