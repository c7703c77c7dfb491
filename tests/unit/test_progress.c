/*
 * test_progress.c: the progress line (progress.c) appears only on a
 * terminal, only once the work has taken a second, at most every 65,536
 * units, and is erased at the end; pipes and HEAPSNAP_NO_PROGRESS get
 * nothing.  stderr is pointed at a pseudo-terminal or a pipe for each case
 * and what reached it is read back.  The elapsed second is simulated by
 * moving the recorded start back, so the tests do not sleep.
 */
#include "progress.h"
#include "test_util.h"

#include <fcntl.h>
#include <poll.h>

/* Where stderr went, and how to read it back. */
struct capture {
    int saved; /* the real stderr */
    int reader;
};

/* Points fd 2 at the slave of a new pseudo-terminal. */
static void
capture_tty(struct capture *c)
{
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    int slave;

    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(dup2(slave, 2) == 2);
    close(slave);
    c->reader = master;
}

/* Points fd 2 at a pipe. */
static void
capture_pipe(struct capture *c)
{
    int fds[2];

    assert_int_equal(pipe(fds), 0);
    fflush(stderr);
    c->saved = dup(2);
    assert_true(dup2(fds[1], 2) == 2);
    close(fds[1]);
    c->reader = fds[0];
}

/* Restores stderr and returns what was written (malloc'd). */
static char *
capture_end(struct capture *c)
{
    char *out = calloc(1, 4096);
    size_t len = 0;
    struct pollfd pfd = { c->reader, POLLIN, 0 };

    fflush(stderr);
    dup2(c->saved, 2);
    close(c->saved);
    while (len < 4095 && poll(&pfd, 1, 50) > 0 && (pfd.revents & POLLIN)) {
        ssize_t n = read(c->reader, out + len, 4095 - len);

        if (n <= 0)
            break;
        len += (size_t)n;
    }
    close(c->reader);
    return out;
}

/* Pretends the work started `seconds` ago and was last drawn then. */
static void
age(struct hs_progress *p, double seconds)
{
    p->start -= seconds;
    p->last -= seconds;
}

static void
test_progress__tty_line_after_a_second_then_erased(void **state)
{
    struct capture c;
    struct hs_progress p;
    char *out;

    (void)state;
    unsetenv("HEAPSNAP_NO_PROGRESS");
    capture_tty(&c);
    hs_progress_start(&p, "dominators", 4 * 65536);
    age(&p, 0.5);
    hs_progress_tick(&p, 65536); /* under a second: nothing */
    age(&p, 1.0);
    hs_progress_tick(&p, 65536 + 1); /* not a multiple of 65,536 */
    hs_progress_tick(&p, 2 * 65536);
    hs_progress_tick(&p, 3 * 65536); /* drawn under 0.1 s ago */
    hs_progress_end(&p);
    hs_progress_end(&p); /* erases once */
    out = capture_end(&c);
    assert_string_equal(out, "\rdominators:  50%\r\033[K");
    free(out);
}

static void
test_progress__unknown_total_counts(void **state)
{
    struct capture c;
    struct hs_progress p;
    char *out;

    (void)state;
    unsetenv("HEAPSNAP_NO_PROGRESS");
    capture_tty(&c);
    hs_progress_start(&p, "loading objects", 0);
    age(&p, 2.0);
    hs_progress_tick(&p, 5 * 65536);
    hs_progress_end(&p);
    out = capture_end(&c);
    assert_string_equal(out, "\rloading objects: 327680\r\033[K");
    free(out);
}

static void
test_progress__silent_on_a_pipe(void **state)
{
    struct capture c;
    struct hs_progress p;
    char *out;

    (void)state;
    unsetenv("HEAPSNAP_NO_PROGRESS");
    capture_pipe(&c);
    hs_progress_start(&p, "dominators", 65536);
    age(&p, 5.0);
    hs_progress_tick(&p, 65536);
    hs_progress_end(&p);
    out = capture_end(&c);
    assert_string_equal(out, "");
    free(out);
}

static void
test_progress__silenced_by_the_environment(void **state)
{
    struct capture c;
    struct hs_progress p;
    char *out;

    (void)state;
    setenv("HEAPSNAP_NO_PROGRESS", "1", 1);
    capture_tty(&c);
    hs_progress_start(&p, "dominators", 65536);
    age(&p, 5.0);
    hs_progress_tick(&p, 65536);
    hs_progress_end(&p);
    out = capture_end(&c);
    unsetenv("HEAPSNAP_NO_PROGRESS");
    assert_string_equal(out, "");
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_progress__tty_line_after_a_second_then_erased),
        cmocka_unit_test(test_progress__unknown_total_counts),
        cmocka_unit_test(test_progress__silent_on_a_pipe),
        cmocka_unit_test(test_progress__silenced_by_the_environment),
    };

    return cmocka_run_group_tests_name("progress", tests, NULL, NULL);
}
