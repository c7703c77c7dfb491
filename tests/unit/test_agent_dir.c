/*
 * test_agent_dir.c: hs_agent_dir() (launch.c) picks the agent built for
 * the interpreter's exact version when there is one, else the nearest of
 * its minor version (newest older micro, then oldest newer), never one
 * built for other ABI flags (a free-threaded "t" or debug "d" build) and
 * never one of another minor.  Fake agent folders (an __init__.py and an
 * empty extension file) are made under a temporary HEAPSNAP_AGENT_DIR; the
 * answer is the path, as `dump --` and `dump --pid` get it.
 */
#include "launch.h"
#include "test_util.h"

#include <sys/stat.h>

static char root[] = "/tmp/hs-agentdir-XXXXXX";

/* Makes root/py<key>/heapsnap/ holding __init__.py and _heapsnap<ext>. */
static void
make_agent(const char *key, const char *ext)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/py%s", root, key);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/py%s/heapsnap", root, key);
    assert_int_equal(mkdir(path, 0755), 0);
    snprintf(path, sizeof(path), "%s/py%s/heapsnap/__init__.py", root, key);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
    snprintf(path, sizeof(path), "%s/py%s/heapsnap/_heapsnap%s", root, key,
             ext);
    assert_non_null(f = fopen(path, "w"));
    fclose(f);
}

/* The folder's last component hs_agent_dir() picks for `version` with
 * extension suffix `ext`, or "" when it finds none. */
static const char *
pick(const char *version, const char *ext)
{
    static char last[64];
    struct hs_python py;
    char *dir;

    memset(&py, 0, sizeof(py));
    py.exe = (char *)(uintptr_t) "/fake/python";
    py.version = (char *)(uintptr_t)version;
    py.ext_suffix = (char *)(uintptr_t)ext;
    dir = hs_agent_dir(&py);
    snprintf(last, sizeof(last), "%s", dir ? strrchr(dir, '/') + 1 : "");
    free(dir);
    return last;
}

#define EXT313 ".cpython-313-x86_64-linux-gnu.so"
#define EXT313T ".cpython-313t-x86_64-linux-gnu.so"
#define EXT311 ".cpython-311-x86_64-linux-gnu.so"
#define EXT314 ".cpython-314-x86_64-linux-gnu.so"

static int
setup(void **state)
{
    (void)state;
    if (!mkdtemp(root))
        return -1;
    make_agent("3.13.0", EXT313);
    make_agent("3.13.18", EXT313);
    make_agent("3.13.18t", EXT313T);
    make_agent("3.11.2", EXT311);
    make_agent("3.11.7", EXT311);
    /* A folder without the extension of its version is no agent. */
    make_agent("3.14.10", ".cpython-314-nothing.so");
    setenv("HEAPSNAP_AGENT_DIR", root, 1);
    return 0;
}

static int
teardown(void **state)
{
    char cmd[128];

    (void)state;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    return system(cmd) == 0 ? 0 : -1;
}

static void
test_agent_dir__exact_version_wins(void **state)
{
    (void)state;
    assert_string_equal(pick("3.13.18", EXT313), "py3.13.18");
    assert_string_equal(pick("3.13.0", EXT313), "py3.13.0");
    assert_string_equal(pick("3.11.2", EXT311), "py3.11.2");
    assert_string_equal(pick("3.11.7", EXT311), "py3.11.7");
}

static void
test_agent_dir__nearest_of_the_same_minor(void **state)
{
    (void)state;
    /* The newest older micro: 3.13.5 has 3.13.0's layouts. */
    assert_string_equal(pick("3.13.5", EXT313), "py3.13.0");
    assert_string_equal(pick("3.13.20", EXT313), "py3.13.18");
    assert_string_equal(pick("3.11.4", EXT311), "py3.11.2");
    /* None older: the oldest newer one. */
    assert_string_equal(pick("3.11.1", EXT311), "py3.11.2");
    /* Micro unknown (an old libpython seen by `dump --pid`): the newest. */
    assert_string_equal(pick("3.13", EXT313), "py3.13.18");
}

static void
test_agent_dir__abi_flags_and_minor_must_match(void **state)
{
    (void)state;
    assert_string_equal(pick("3.13.18", EXT313T), "py3.13.18t");
    assert_string_equal(pick("3.13.0", EXT313T), "py3.13.18t");
    /* py3.14.10 lacks the extension; no other 3.14 exists. */
    assert_string_equal(pick("3.14.10", EXT314), "");
    assert_string_equal(pick("3.12.1", ".cpython-312-x86_64-linux-gnu.so"),
                        "");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_agent_dir__exact_version_wins),
        cmocka_unit_test(test_agent_dir__nearest_of_the_same_minor),
        cmocka_unit_test(test_agent_dir__abi_flags_and_minor_must_match),
    };

    return cmocka_run_group_tests_name("agent_dir", tests, setup, teardown);
}
