/*
 * test_attach_remote.c: unit tests of attach_remote.c.  The decoder of
 * _Py_DebugOffsets on made-up bytes (the layout table, the cookie, the
 * version, the consistency checks), then the reader against real CPython
 * 3.14 processes: the main interpreter and its thread states (native ids
 * checked against the ones the process prints), remote debugging enabled
 * or disabled by each setting, the choice of the thread that runs bytecode
 * (busy main thread; sleeping main thread with a busy worker), and a
 * request that makes the process run a script, and one taken back.
 *
 * The 3.14 interpreter comes from HEAPSNAP_TEST_PY314; without it the live
 * tests are skipped, saying why.
 */
#include "attach_remote.h"
#include "test_util.h"

#if defined(__x86_64__) && defined(__linux__)

#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/wait.h>

/* ---- decoding made-up bytes --------------------------------------------- */

/* A plausible 3.14 _Py_DebugOffsets: 95 words, the fields heapsnap reads
 * set to consistent values. */
static void
fake_offsets(uint64_t *w)
{
    memset(w, 0, 95 * sizeof(*w));
    memcpy(w, "xdebugpy", 8);
    w[1] = 0x030E0AF0; /* 3.14.10 final */
    w[3] = 5000;       /* runtime size, finalizing, interpreters.head */
    w[4] = 100;
    w[5] = 200;
    w[6] = 9000; /* interpreter: size, id, next, threads head, main */
    w[7] = 8;
    w[8] = 16;
    w[9] = 24;
    w[10] = 32;
    w[22] = 2000; /* thread: size, next at 24, frame at 26, native id 28 */
    w[24] = 8;
    w[26] = 72;
    w[28] = 160;
    w[31] = 80; /* frame size, instr_ptr */
    w[34] = 56;
    w[89] = 168; /* eval_breaker, support, enabled, pending, path, size */
    w[90] = 1400;
    w[91] = 8700;
    w[92] = 0;
    w[93] = 4;
    w[94] = 512;
}

static void
test_attach_remote__parse_good(void **state)
{
    uint64_t w[95];
    struct hs_debug_offsets o;
    char why[256];

    (void)state;
    fake_offsets(w);
    assert_int_equal(hs_debug_offsets_size(14), sizeof(w));
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w), 14, &o, why, sizeof(why)), 0);
    assert_true(o.version == 0x030E0AF0);
    assert_true(o.rt_interp_head == 200 && o.interp_id == 8);
    assert_true(o.interp_threads_main == 32 && o.tstate_next == 8);
    assert_true(o.tstate_native_id == 160 && o.frame_instr_ptr == 56);
    assert_true(o.eval_breaker == 168 && o.remote_support == 1400);
    assert_true(o.remote_enabled == 8700 && o.script_path == 4);
    assert_true(o.script_path_size == 512);
    assert_true(o.please_stop_bit == 32);
}

static void
test_attach_remote__parse_refusals(void **state)
{
    uint64_t w[95];
    struct hs_debug_offsets o;
    char why[256];

    (void)state;
    fake_offsets(w);
    /* Versions without a known layout. */
    assert_int_equal(hs_debug_offsets_size(13), 0);
    assert_int_equal(hs_debug_offsets_size(15), 0);
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w), 15, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "3.15"));
    /* Too short. */
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w) - 8, 14, &o, why, sizeof(why)),
        -1);
    /* Not the cookie. */
    memcpy(w, "xdebugpz", 8);
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w), 14, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "cookie"));
    /* Another minor version than the ELF said. */
    fake_offsets(w);
    w[1] = 0x030D05F0;
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w), 14, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "0x30d05f0"));
    /* Free-threaded. */
    fake_offsets(w);
    w[2] = 1;
    assert_int_equal(
        hs_debug_offsets_parse(w, sizeof(w), 14, &o, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "free-threaded"));
    /* Each inconsistency a misread layout would show. */
    {
        static const struct {
            unsigned word;
            uint64_t value;
        } bad[] = {
            { 94, 9000 },     /* the path runs past the thread state */
            { 90, 1990 },     /* ... so does the support struct */
            { 91, 9000 },     /* enabled flag past the interpreter */
            { 28, 2000 },     /* native id past the thread state */
            { 34, 80 },       /* instr_ptr past the frame */
            { 5, 5000 },      /* interpreters.head past the runtime */
            { 93, 2 },        /* path overlaps the pending flag */
            { 22, 1u << 21 }, /* absurd thread-state size */
        };

        for (size_t i = 0; i < HS_ARRAY_SIZE(bad); i++) {
            fake_offsets(w);
            w[bad[i].word] = bad[i].value;
            assert_int_equal(
                hs_debug_offsets_parse(w, sizeof(w), 14, &o, why, sizeof(why)),
                -1);
            assert_non_null(strstr(why, "layout"));
        }
    }
}

/* ---- live 3.14 processes ------------------------------------------------ */

/* The 3.14 interpreter for the live tests, or NULL (then skips, saying
 * why). */
static const char *
py314(void)
{
    const char *p = getenv("HEAPSNAP_TEST_PY314");

    if (!p || !*p || access(p, X_OK)) {
        print_message("# SKIP live tests: no CPython 3.14 (set "
                      "HEAPSNAP_TEST_PY314)\n");
        return NULL;
    }
    return p;
}

/*
 * A 3.14 process: main thread and one worker doing `main_mode` and
 * `worker_mode` ("busy" or "sleep"); `env` is one extra NAME=VALUE or
 * NULL, `xopt` one -X option or NULL.  It prints "PID MAIN_TID WORKER_TID"
 * once both run; returns its pid and fills the two thread ids.
 */
static pid_t
start_py(const char *py, const char *main_mode, const char *worker_mode,
         const char *env, const char *xopt, pid_t *main_tid, pid_t *worker_tid)
{
    static const char script[] =
        "import os, sys, threading, time\n"
        "def work(mode):\n"
        "    if mode == 'sleep':\n"
        "        while True: time.sleep(60)\n"
        "    i = 0\n"
        "    while True: i += 1\n"
        "ready = threading.Event()\n"
        "def worker():\n"
        "    ready.set()\n"
        "    work(sys.argv[2])\n"
        "threading.Thread(target=worker, daemon=True).start()\n"
        "ready.wait()\n"
        "tids = [t.native_id for t in threading.enumerate()]\n"
        "sys.stdout.write('%d %d %d\\n' % (os.getpid(), tids[0], tids[1]))\n"
        "sys.stdout.flush()\n"
        "work(sys.argv[1])\n";
    const char *argv[10];
    int n = 0, fds[2];
    char line[128] = "";
    int pid_seen = 0;
    pid_t pid;
    FILE *f;

    argv[n++] = py;
    if (xopt) {
        argv[n++] = "-X";
        argv[n++] = xopt;
    }
    argv[n++] = "-c";
    argv[n++] = script;
    argv[n++] = main_mode;
    argv[n++] = worker_mode;
    argv[n] = NULL;
    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY);

        dup2(fds[1], 1);
        dup2(null, 2);
        close(fds[0]);
        close(fds[1]);
        if (env)
            putenv((char *)(uintptr_t)env);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    assert_non_null(f);
    if (!fgets(line, sizeof(line), f))
        line[0] = '\0';
    fclose(f);
    assert_int_equal(sscanf(line, "%d %d %d", &pid_seen, main_tid, worker_tid),
                     3);
    assert_int_equal(pid_seen, pid);
    return pid;
}

static void
stop_py(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* Inspects and opens `pid`; asserts both work. */
static void
open_remote(pid_t pid, struct hs_target *t, struct hs_remote *r)
{
    char why[512];
    int code = 0;

    hs_error_reset();
    assert_int_equal(hs_target_inspect(pid, t), 0);
    assert_int_equal(t->minor, 14);
    if (hs_remote_open(t, r, why, sizeof(why), &code) < 0)
        fail_msg("hs_remote_open: %s", why);
}

static const struct hs_remote_thread *
thread_of(const struct hs_remote *r, pid_t tid)
{
    for (size_t i = 0; i < r->nthreads; i++) {
        if (r->threads[i].tid == tid)
            return &r->threads[i];
    }
    return NULL;
}

static void
test_attach_remote__reads_live_threads(void **state)
{
    const char *py = py314();
    struct hs_target t;
    struct hs_remote r;
    const struct hs_remote_thread *picked, *m, *w;
    pid_t pid, main_tid, worker_tid;

    (void)state;
    if (!py)
        skip();
    pid = start_py(py, "busy", "sleep", NULL, NULL, &main_tid, &worker_tid);
    open_remote(pid, &t, &r);
    assert_true(r.enabled);
    assert_true((r.off.version >> 16) == 0x030E);
    /* Exactly the two Python threads, with their kernel ids. */
    assert_int_equal(r.nthreads, 2);
    m = thread_of(&r, main_tid);
    w = thread_of(&r, worker_tid);
    assert_non_null(m);
    assert_non_null(w);
    assert_int_equal(main_tid, pid);
    assert_true(m->is_main && !w->is_main);
    picked = hs_remote_pick(&r, 0.02, 5.0);
    assert_true(picked == m);
    /* The sleeper may have been a few bytecodes short of time.sleep at the
     * first sample: at most one move, and fewer than the busy thread. */
    assert_true(m->moves >= 2);
    assert_true(w->moves <= 1 && w->moves < m->moves);
    hs_remote_release(&r);
    hs_target_release(&t);
    stop_py(pid);
}

static void
test_attach_remote__picks_busy_worker(void **state)
{
    const char *py = py314();
    struct hs_target t;
    struct hs_remote r;
    const struct hs_remote_thread *picked;
    pid_t pid, main_tid, worker_tid;

    (void)state;
    if (!py)
        skip();
    pid = start_py(py, "sleep", "busy", NULL, NULL, &main_tid, &worker_tid);
    open_remote(pid, &t, &r);
    picked = hs_remote_pick(&r, 0.02, 5.0);
    assert_non_null(picked);
    assert_int_equal(picked->tid, worker_tid);
    assert_false(picked->is_main);
    assert_true(thread_of(&r, main_tid)->moves <= 1);
    hs_remote_release(&r);
    hs_target_release(&t);
    stop_py(pid);
}

static void
test_attach_remote__disabled_settings(void **state)
{
    static const struct {
        const char *env, *xopt, *reason;
    } cases[] = {
        { "PYTHON_DISABLE_REMOTE_DEBUG=1", NULL,
          "PYTHON_DISABLE_REMOTE_DEBUG" },
        { NULL, "disable-remote-debug", "-X disable-remote-debug" },
    };

    const char *py = py314();

    (void)state;
    if (!py)
        skip();
    for (size_t i = 0; i < HS_ARRAY_SIZE(cases); i++) {
        struct hs_target t;
        struct hs_remote r;
        char why[256];
        pid_t pid, a, b;

        pid =
            start_py(py, "busy", "sleep", cases[i].env, cases[i].xopt, &a, &b);
        open_remote(pid, &t, &r);
        assert_false(r.enabled);
        hs_remote_disabled_reason(&t, why, sizeof(why));
        if (!strstr(why, cases[i].reason))
            fail_msg("case %zu: '%s' does not name '%s'", i, why,
                     cases[i].reason);
        hs_remote_release(&r);
        hs_target_release(&t);
        stop_py(pid);
    }
}

/* Waits up to 20 s for `path` to exist; 1 if it does. */
static int
wait_for_file(const char *path)
{
    for (int i = 0; i < 2000; i++) {
        if (access(path, F_OK) == 0)
            return 1;
        usleep(10000);
    }
    return 0;
}

static void
test_attach_remote__request_runs_script(void **state)
{
    const char *py = py314();
    char dir[] = "/tmp/hs-remote-XXXXXX";
    char script[128], mark[128], text[64] = "", why[256];
    struct hs_target t;
    struct hs_remote r;
    const struct hs_remote_thread *picked;
    pid_t pid, main_tid, worker_tid;
    FILE *f;

    (void)state;
    if (!py)
        skip();
    assert_non_null(mkdtemp(dir));
    snprintf(script, sizeof(script), "%s/payload.py", dir);
    snprintf(mark, sizeof(mark), "%s/ran", dir);
    f = fopen(script, "w");
    assert_non_null(f);
    fprintf(f,
            "import threading, os\n"
            "with open('%s.tmp', 'w') as f:\n"
            "    f.write(str(threading.get_native_id()))\n"
            "os.rename('%s.tmp', '%s')\n",
            mark, mark, mark);
    fclose(f);
    pid = start_py(py, "sleep", "busy", NULL, NULL, &main_tid, &worker_tid);
    open_remote(pid, &t, &r);
    picked = hs_remote_pick(&r, 0.02, 5.0);
    assert_int_equal(picked->tid, worker_tid);
    if (hs_remote_request(&r, picked, script, why, sizeof(why)) < 0)
        fail_msg("request: %s", why);
    assert_true(wait_for_file(mark));
    f = fopen(mark, "r");
    assert_non_null(f);
    assert_non_null(fgets(text, sizeof(text), f));
    fclose(f);
    /* It ran on the thread that was asked, not the sleeping main one. */
    assert_int_equal(strtol(text, NULL, 10), worker_tid);
    /* A path longer than the protocol's buffer is refused. */
    {
        char *longpath = malloc(600);

        memset(longpath, 'a', 599);
        longpath[0] = '/';
        longpath[599] = '\0';
        assert_int_equal(
            hs_remote_request(&r, picked, longpath, why, sizeof(why)), -1);
        assert_non_null(strstr(why, "longer"));
        free(longpath);
    }
    hs_remote_release(&r);
    hs_target_release(&t);
    stop_py(pid);
    unlink(mark);
    unlink(script);
    rmdir(dir);
}

/* The pending-call flag of thread `th`, read as CPython would. */
static int32_t
pending_flag(const struct hs_remote *r, const struct hs_remote_thread *th,
             char *path_start)
{
    uint64_t at = th->tstate + r->off.remote_support;
    int32_t flag = -1;
    struct iovec local[2] = { { &flag, sizeof(flag) }, { path_start, 1 } };
    struct iovec remote[2] = {
        { (void *)(uintptr_t)(at + r->off.pending_call), sizeof(flag) },
        { (void *)(uintptr_t)(at + r->off.script_path), 1 },
    };

    assert_int_equal(process_vm_readv(r->pid, local, 2, remote, 2, 0), 5);
    return flag;
}

static void
test_attach_remote__cancel_takes_request_back(void **state)
{
    const char *py = py314();
    const char *script = "/nonexistent/heapsnap-payload.py";
    char why[256], first;
    struct hs_target t;
    struct hs_remote r;
    const struct hs_remote_thread *m;
    pid_t pid, main_tid, worker_tid;

    (void)state;
    if (!py)
        skip();
    /* Both threads asleep: a request to the main thread waits there. */
    pid = start_py(py, "sleep", "sleep", NULL, NULL, &main_tid, &worker_tid);
    open_remote(pid, &t, &r);
    m = thread_of(&r, main_tid);
    assert_non_null(m);
    assert_int_equal(pending_flag(&r, m, &first), 0);
    assert_int_equal(hs_remote_request(&r, m, script, why, sizeof(why)), 0);
    assert_int_equal(pending_flag(&r, m, &first), 1);
    assert_int_equal(first, '/');
    /* A second request on top of a pending one is refused. */
    assert_int_equal(hs_remote_request(&r, m, script, why, sizeof(why)), -1);
    assert_non_null(strstr(why, "pending"));
    hs_remote_cancel(&r, m);
    assert_int_equal(pending_flag(&r, m, &first), 0);
    assert_int_equal(first, '\0');
    /* Taken back: a new request is accepted again. */
    assert_int_equal(hs_remote_request(&r, m, script, why, sizeof(why)), 0);
    hs_remote_cancel(&r, m);
    hs_remote_release(&r);
    hs_target_release(&t);
    stop_py(pid);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_remote__parse_good),
        cmocka_unit_test(test_attach_remote__parse_refusals),
        cmocka_unit_test(test_attach_remote__reads_live_threads),
        cmocka_unit_test(test_attach_remote__picks_busy_worker),
        cmocka_unit_test(test_attach_remote__disabled_settings),
        cmocka_unit_test(test_attach_remote__request_runs_script),
        cmocka_unit_test(test_attach_remote__cancel_takes_request_back),
    };

    return cmocka_run_group_tests_name("attach_remote", tests, NULL, NULL);
}

#else /* not x86-64 Linux */

static void
test_attach_remote__unsupported(void **state)
{
    (void)state;
    skip();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_remote__unsupported),
    };

    return cmocka_run_group_tests_name("attach_remote", tests, NULL, NULL);
}

#endif
