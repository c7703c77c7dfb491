/*
 * Tests of the option-table parser (opt.c): every accepted spelling
 * (-o V, -oV, --output V, --output=V, bundled flags, "--"), operands moved
 * to the front in order, options after operands unless
 * HS_PARSE_STOP_AT_NON_OPTION, and each usage error (unknown option, no
 * prefix matching, missing or unexpected value, a bad integer, a choice
 * not offered) returning -1 with exit code 2 and nothing half-set that
 * matters; --help returns -2 after printing the table to stdout.
 */
#include "heapsnap.h"
#include "test_util.h"

#include <fcntl.h>

static const char *const colors[] = { "red", "green", NULL };
static const char *const usage[] = { "usage: heapsnap t [options] ARGS",
                                     NULL };

struct vals {
    int flag, other, n, trace;
    const char *out, *color;
};

/* Parses the NULL-terminated `args` (after the command name "t") into v;
 * returns what hs_parse_options() returns and leaves operands in argv. */
static int
parse(struct vals *v, const char **argv, int flags)
{
    const struct hs_option opts[] = {
        { HS_OPT_FLAG, 'x', "flag", &v->flag, NULL, "a flag", NULL },
        { HS_OPT_FLAG, 'y', NULL, &v->other, NULL, "another", NULL },
        { HS_OPT_INT, 'n', "limit", &v->n, "N", "a number", NULL },
        { HS_OPT_STRING, 'o', "output", &v->out, "FILE", "a file", NULL },
        { HS_OPT_CHOICE, 0, "color", &v->color, "C", "a color", colors },
        { HS_OPT_OPTINT, 0, "trace", &v->trace, "N", "optional N", NULL },
        { HS_OPT_GROUP, 0, "more", NULL, NULL, "heading", NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    int argc = 0;

    memset(v, 0, sizeof(*v));
    v->trace = -1;
    while (argv[argc])
        argc++;
    hs_error_reset();
    return hs_parse_options(argc, argv, opts, usage, flags);
}

/* Runs parse() with stderr (and stdout) sent to /dev/null. */
static int
parse_quietly(struct vals *v, const char **argv, int flags)
{
    int saved_err = dup(2), saved_out = dup(1);
    int null = open("/dev/null", O_WRONLY);
    int rc;

    fflush(stdout);
    fflush(stderr);
    dup2(null, 2);
    dup2(null, 1);
    rc = parse(v, argv, flags);
    fflush(stdout);
    fflush(stderr);
    dup2(saved_err, 2);
    dup2(saved_out, 1);
    close(saved_err);
    close(saved_out);
    close(null);
    return rc;
}

static void
test_opt__every_spelling(void **state)
{
    struct vals v;
    const char *a1[] = { "t", "-o", "a.db", "-n", "5", "-xy", NULL };
    const char *a2[] = { "t", "-oa.db", "-n5", "--flag", NULL };
    const char *a3[] = { "t", "--output=a.db", "--limit", "-3",
                         "--color", "green", NULL };
    const char *a4[] = { "t", "--output", "a.db", "--limit=7",
                         "--color=red", NULL };

    (void)state;
    assert_int_equal(parse(&v, a1, 0), 0);
    assert_string_equal(v.out, "a.db");
    assert_int_equal(v.n, 5);
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.other, 1);
    assert_int_equal(parse(&v, a2, 0), 0);
    assert_string_equal(v.out, "a.db");
    assert_int_equal(v.n, 5);
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.other, 0);
    assert_int_equal(parse(&v, a3, 0), 0);
    assert_int_equal(v.n, -3);
    assert_string_equal(v.color, "green");
    assert_ptr_equal(v.color, colors[1]); /* the table's string */
    assert_int_equal(parse(&v, a4, 0), 0);
    assert_int_equal(v.n, 7);
    assert_string_equal(v.color, "red");
}

static void
test_opt__operands_in_order_and_after_options(void **state)
{
    struct vals v;
    const char *a1[] = { "t", "one", "-x", "two", "-n", "1", "three", NULL };
    const char *a2[] = { "t", "-x", "--", "-n", "--flag", "-", NULL };
    const char *a3[] = { "t", "-x", "prog", "-n", "1", NULL };

    (void)state;
    assert_int_equal(parse(&v, a1, 0), 3);
    assert_string_equal(a1[0], "one");
    assert_string_equal(a1[1], "two");
    assert_string_equal(a1[2], "three");
    assert_int_equal(v.flag, 1);
    assert_int_equal(v.n, 1);
    /* "--" ends the options; "-" alone is an operand. */
    assert_int_equal(parse(&v, a2, 0), 3);
    assert_string_equal(a2[0], "-n");
    assert_string_equal(a2[1], "--flag");
    assert_string_equal(a2[2], "-");
    assert_int_equal(v.n, 0);
    /* dump -- PROG ARGS: the program's options are its own. */
    assert_int_equal(parse(&v, a3, HS_PARSE_STOP_AT_NON_OPTION), 3);
    assert_string_equal(a3[0], "prog");
    assert_string_equal(a3[1], "-n");
    assert_int_equal(v.n, 0);
}

static void
test_opt__usage_errors_exit_2(void **state)
{
    static const char *bad[][5] = {
        { "t", "--nope", NULL },           /* unknown long */
        { "t", "-q", NULL },               /* unknown short */
        { "t", "--lim", "3", NULL },       /* no prefix matching */
        { "t", "--more", NULL },           /* a heading is no option */
        { "t", "-n", NULL },               /* missing value */
        { "t", "--output", NULL },         /* missing value */
        { "t", "--flag=1", NULL },         /* a flag takes none */
        { "t", "-n", "3x", NULL },         /* not an integer */
        { "t", "--limit=", NULL },         /* empty integer */
        { "t", "-n", "99999999999", NULL }, /* out of int's range */
        { "t", "--color", "blue", NULL },  /* not a choice */
        { "t", "--trace=0", NULL },        /* optional int: >= 1 */
        { "t", "--trace=x", NULL },        /* ... and an integer */
        { "t", "--trace=", NULL },         /* ... and not empty */
    };
    struct vals v;

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(bad); i++) {
        const char *argv[5];

        memcpy(argv, bad[i], sizeof(argv));
        assert_int_equal(parse_quietly(&v, argv, 0), -1);
        assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    }
    hs_error_reset();
}

static void
test_opt__optional_integer(void **state)
{
    struct vals v;
    const char *a1[] = { "t", "--trace", "5", NULL };
    const char *a2[] = { "t", "--trace=12", NULL };
    const char *a3[] = { "t", "-x", NULL };

    (void)state;
    /* Alone it takes no value: the next word is an operand. */
    assert_int_equal(parse(&v, a1, 0), 1);
    assert_int_equal(v.trace, 0);
    assert_string_equal(a1[0], "5");
    assert_int_equal(parse(&v, a2, 0), 0);
    assert_int_equal(v.trace, 12);
    assert_int_equal(parse(&v, a3, 0), 0);
    assert_int_equal(v.trace, -1); /* not given: untouched */
}

static void
test_opt__help_prints_the_table(void **state)
{
    struct vals v;
    const char *a[] = { "t", "-x", "--help", "--nope", NULL };
    char path[] = "/tmp/hs-unit-opt-XXXXXX";
    int fd = mkstemp(path), saved = dup(1);
    char text[4096];
    ssize_t n;

    (void)state;
    assert_true(fd >= 0);
    fflush(stdout);
    dup2(fd, 1);
    assert_int_equal(parse(&v, a, 0), -2);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    n = pread(fd, text, sizeof(text) - 1, 0);
    assert_true(n > 0);
    text[n] = '\0';
    close(fd);
    unlink(path);
    assert_non_null(strstr(text, "usage: heapsnap t [options] ARGS"));
    assert_non_null(strstr(text, "-o, --output FILE"));
    assert_non_null(strstr(text, "--color C"));
    assert_non_null(strstr(text, "red, green"));
    assert_non_null(strstr(text, "heading"));
    assert_non_null(strstr(text, "--trace[=N]"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_opt__every_spelling),
        cmocka_unit_test(test_opt__operands_in_order_and_after_options),
        cmocka_unit_test(test_opt__usage_errors_exit_2),
        cmocka_unit_test(test_opt__optional_integer),
        cmocka_unit_test(test_opt__help_prints_the_table),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
