/*
 * Tests of the child-process isolation (isolate.c): the child's output
 * comes back whole (more than a pipe holds), its error line and exit code
 * are reported, a crash is a signal and not the parent's crash, and a
 * child that hangs is killed at its deadline.  The deadline is never
 * asserted on as a time: only that the hanging child was killed.
 */
#include "isolate.h"
#include "test_util.h"

#include <signal.h>

/* Writes `*(size_t *)arg` bytes of a repeating pattern. */
static int
write_pattern(void *arg, int fd)
{
    size_t n = *(size_t *)arg;
    char block[4096];

    for (size_t i = 0; i < sizeof(block); i++)
        block[i] = (char)('a' + i % 26);
    while (n) {
        size_t k = n < sizeof(block) ? n : sizeof(block);

        if (hs_write_all(fd, block, k) < 0)
            return -1;
        n -= k;
    }
    return 0;
}

static int
fail_with_io_error(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    return hs_error(HS_EXIT_IO, "cannot draw 'x.svg': the disk is full");
}

static int
crash(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    raise(SIGSEGV);
    return 0;
}

static int
hang(void *arg, int fd)
{
    (void)arg;
    (void)fd;
    for (;;)
        pause();
    return 0;
}

static void
test_isolate__output_comes_back_whole(void **state)
{
    size_t n = 1000003; /* far more than a pipe's buffer */
    struct hs_isolate r;

    (void)state;
    assert_int_equal(hs_isolate_run(write_pattern, &n, 60000, &r), 0);
    assert_int_equal(r.killed, 0);
    assert_int_equal(r.signal, 0);
    assert_int_equal(r.exit_code, 0);
    assert_int_equal(r.out.len, n);
    for (size_t i = 0; i < n; i += 4099)
        assert_int_equal(r.out.buf[i], 'a' + (i % 4096) % 26);
    assert_null(hs_isolate_error(&r));
    hs_isolate_release(&r);
}

static void
test_isolate__error_line_and_exit_code(void **state)
{
    struct hs_isolate r;

    (void)state;
    assert_int_equal(hs_isolate_run(fail_with_io_error, NULL, 60000, &r), 0);
    assert_int_equal(r.exit_code, HS_EXIT_IO);
    assert_int_equal(r.out.len, 0);
    assert_string_equal(hs_isolate_error(&r),
                        "cannot draw 'x.svg': the disk is full");
    hs_isolate_release(&r);
}

static void
test_isolate__a_crash_stays_in_the_child(void **state)
{
    struct hs_isolate r;

    (void)state;
    assert_int_equal(hs_isolate_run(crash, NULL, 60000, &r), 0);
    assert_int_equal(r.signal, SIGSEGV);
    assert_int_equal(r.exit_code, -1);
    assert_int_equal(r.killed, 0);
    hs_isolate_release(&r);
}

static void
test_isolate__a_hang_is_killed(void **state)
{
    struct hs_isolate r;

    (void)state;
    assert_int_equal(hs_isolate_run(hang, NULL, 50, &r), 0);
    assert_int_equal(r.killed, 1);
    assert_int_equal(r.signal, SIGKILL);
    hs_isolate_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolate__output_comes_back_whole),
        cmocka_unit_test(test_isolate__error_line_and_exit_code),
        cmocka_unit_test(test_isolate__a_crash_stays_in_the_child),
        cmocka_unit_test(test_isolate__a_hang_is_killed),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
