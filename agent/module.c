/*
 * module.c: heapsnap._heapsnap, the C core of the `heapsnap` package.
 * Multi-phase initialisation with module state; argument parsing only:
 * the work is hs_dump() (walk.c).
 *
 *   _init(cls)       remembers the tp_traverse of a class made by a class
 *                    statement (subtype_traverse is private to CPython)
 *   _dump(path, ...) writes a snapshot; returns a dict of facts, or with
 *                    fork=True forks, lets the child write it and returns
 *                    (pid, fd) at once (see fork_dump()); background=True
 *                    returns after the walk (finisher.c)
 *   _wait_background() waits for such a background tail
 *   _version_problem(built, running)
 *                    the import-time version check on made-up versions
 *   Error            raised for every failure, with the cause
 *
 * Errors: heapsnap.Error with the cause; MemoryError when memory is too
 * short even for that message, or for the dict of facts after the file
 * was written (the file is then removed: the caller was told it failed).
 *
 * Module state: `Error`, the traverse function, and `dumping`, which
 * refuses a second dump while one runs (a signal handler firing during
 * the walk, or another thread while the writer finishes with the GIL
 * released).  It holds the dumping process's pid, so a child forked by
 * another thread in the meantime is not stuck with it; it is only read and
 * written with the GIL held.
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

typedef struct {
    PyObject *error;               /* heapsnap.Error */
    traverseproc subtype_traverse; /* from _init() */
    pid_t dumping;                 /* pid of the process dumping, or 0 */
} module_state;

/* Built with -fvisibility=hidden; Python 3.8's PyMODINIT_FUNC does not
 * mark the init function visible, so it is marked here: the only symbol
 * the agent exports. */
#define HS_EXPORT __attribute__((visibility("default")))

HS_EXPORT PyMODINIT_FUNC PyInit__heapsnap(void);

static module_state *
get_state(PyObject *module)
{
    return (module_state *)PyModule_GetState(module);
}

PyDoc_STRVAR(init_doc, "_init(cls)\n--\n\n"
                       "Record tp_traverse of a plain class (internal).");

static PyObject *
hs_init(PyObject *module, PyObject *cls)
{
    module_state *st = get_state(module);
    PyTypeObject *tp = (PyTypeObject *)cls;

    if (!PyType_Check(cls) || !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) ||
        !PyType_IS_GC(tp) || tp->tp_base != &PyBaseObject_Type) {
        PyErr_SetString(PyExc_TypeError,
                        "_init() needs a class made by a plain class "
                        "statement");
        return NULL;
    }
    st->subtype_traverse = tp->tp_traverse;
    Py_RETURN_NONE;
}

PyDoc_STRVAR(dump_doc,
             "_dump(path, trigger='api', redact=False, collected=False,\n"
             "      value_limit=200, main_ident=0, check=False, fork=False,\n"
             "      report_fd=-1, traced_bytes=-1, attach_method=None,\n"
             "      writer_gate=-1, background=False, status_fd=-1)\n"
             "--\n\n"
             "Write a snapshot of the whole heap to path (internal; use\n"
             "heapsnap.dump()).  Returns a dict of facts about the dump\n"
             "(pause_seconds: how long it held the GIL; the SQLite writer\n"
             "finishes after that with the GIL released); with fork=True,\n"
             "(pid, fd) of the child writing it.  background=True returns\n"
             "after the walk ('background': True) while a thread finishes\n"
             "the file and reports it on report_fd and stderr; the next\n"
             "dump and the process's exit wait for it; with status_fd\n"
             "(remote attach) it writes the result and end lines of\n"
             "`heapsnap dump --pid` on its own copy of that fd instead.\n"
             "writer_gate (tests): an fd the SQLite writer reads a byte\n"
             "from before it writes.");

PyDoc_STRVAR(wait_background_doc,
             "_wait_background()\n--\n\n"
             "Wait (GIL released) until the file of a background dump is\n"
             "complete and reported.");

static PyObject *
hs_wait_background_py(PyObject *module, PyObject *unused)
{
    (void)module;
    (void)unused;
    Py_BEGIN_ALLOW_THREADS
    hs_finisher_wait();
    Py_END_ALLOW_THREADS
    Py_RETURN_NONE;
}

/*
 * The forked child: walks the parent's heap as it was at fork(), which
 * copy-on-write keeps still for it, writes the snapshot and exits without
 * returning to Python.  Only this thread exists here, so nothing may wait
 * for another thread's lock and no Python code may run (opts->no_python).
 * The result goes to `status_fd` as one line, "ok\tOBJECTS\tEDGES\t
 * SECONDS\tWALK_SECONDS" or "fail\tMESSAGE"; with report_fd >= 0 also the
 * launcher's report line there and the human one on stderr.
 */
static void
forked_child(struct hs_dump_options *opts, traverseproc subtype_traverse,
             int check, int status_fd, int report_fd)
{
    struct hs_dump_result res;
    char err[1024], line[1536];
    int rc, n;

    /* Ctrl-C in the terminal reaches the whole process group; the parent
     * decides about itself, the child finishes its file. */
    signal(SIGINT, SIG_IGN);
    hs_mem_reset_peak();
    memset(&res, 0, sizeof(res));
    opts->no_python = 1;
    rc = hs_dump(opts, subtype_traverse, check, &res, err, sizeof(err));
    for (char *p = err; *p; p++)
        if (*p == '\t' || *p == '\n')
            *p = ' ';
    if (rc == 0)
        n = snprintf(line, sizeof(line), "ok\t%u\t%llu\t%.6f\t%.6f\n",
                     res.objects, (unsigned long long)res.edges, res.seconds,
                     res.walk_seconds);
    else
        n = snprintf(line, sizeof(line), "fail\t%s\n", err);
    hs_write_all(status_fd, line, (size_t)n);
    if (report_fd >= 0)
        hs_report_result(report_fd, opts->trigger, opts->path, rc == 0,
                         res.objects, res.edges, res.seconds, "forked", err);
    _exit(rc == 0 ? 0 : 1);
}

/*
 * fork=True: the parent pays for fork() (copying page tables, not pages)
 * and returns (pid, fd); the child runs forked_child().  fd is the read
 * end of the child's status pipe, close-on-exec; the caller reads the one
 * line and reaps the child.  Raw fork(), not os.fork(): the at-fork hooks
 * would run Python code in the child and take locks other threads hold.
 */
static PyObject *
fork_dump(module_state *st, struct hs_dump_options *opts, int check,
          int report_fd)
{
    int fds[2];
    pid_t pid;

    if (pipe2(fds, O_CLOEXEC) < 0) {
        PyErr_Format(st->error, "cannot fork for the dump: pipe: %s",
                     strerror(errno));
        return NULL;
    }
    opts->pid = (long)getpid();
    pid = fork();
    if (pid < 0) {
        int e = errno;

        close(fds[0]);
        close(fds[1]);
        PyErr_Format(st->error, "cannot fork for the dump: %s", strerror(e));
        return NULL;
    }
    if (pid == 0) {
        close(fds[0]);
        forked_child(opts, st->subtype_traverse, check, fds[1], report_fd);
    }
    close(fds[1]);
    return Py_BuildValue("(ii)", (int)pid, fds[0]);
}

/* How long a dump waits for a collection running in another thread. */
#define GC_WAIT_STEPS 5000 /* of GC_WAIT_STEP_US each: 5 s */
#define GC_WAIT_STEP_US 1000

/*
 * Waits, with the GIL released, while the garbage collector runs: another
 * thread's collection lets this one run when a finalizer releases the
 * GIL, and ends soon after.  One in this very thread (a dump from a
 * __del__ or a gc callback) cannot end while it waits: hs_dump() then
 * refuses after the wait.
 */
static void
wait_for_collection(void)
{
    for (int i = 0; i < GC_WAIT_STEPS && hs_gcstate()->collecting; i++) {
        Py_BEGIN_ALLOW_THREADS
        usleep(GC_WAIT_STEP_US);
        Py_END_ALLOW_THREADS
    }
}

/*
 * Whether phase 1's rows are made on a thread of their own (handoff.c):
 * not with one CPU, where the two threads would take turns, nor with
 * HEAPSNAP_OUTPUT_THREAD=0 (to compare the two).
 */
static int
output_thread_wanted(void)
{
    const char *env = getenv("HEAPSNAP_OUTPUT_THREAD");
    cpu_set_t cpus;

    if (env && !strcmp(env, "0"))
        return 0;
    return !(sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
             CPU_COUNT(&cpus) < 2);
}

/* A dump of this process runs (a forked child's copy of the state is
 * its parent's, not its own). */
static int
dumping_here(const module_state *st)
{
    return st->dumping == getpid();
}

static PyObject *
hs_dump_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = { "path",       "trigger",    "redact",
                              "collected",  "value_limit", "main_ident",
                              "check",      "fork",       "report_fd",
                              "traced_bytes", "attach_method",
                              "writer_gate", "background", "status_fd",
                              NULL };
    module_state *st = get_state(module);
    struct hs_dump_options opts;
    struct hs_dump_result res;
    PyObject *path_obj = NULL, *path_bytes = NULL, *result;
    const char *trigger = "api", *attach_method = NULL;
    int redact = 0, collected = 0, check = 0, fork = 0, report_fd = -1, rc;
    int writer_gate = -1, background = 0, status_fd = -1;
    Py_ssize_t value_limit = 200;
    long long traced = -1;
    unsigned long main_ident = 0;
    char err[1024];

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|sppnkppiLzipi", kwlist,
                                     &path_obj, &trigger, &redact,
                                     &collected, &value_limit, &main_ident,
                                     &check, &fork, &report_fd, &traced,
                                     &attach_method, &writer_gate,
                                     &background, &status_fd))
        return NULL;
    if (!st->subtype_traverse) {
        PyErr_SetString(st->error, "heapsnap._heapsnap._init() was not "
                                   "called (import heapsnap instead)");
        return NULL;
    }
    if (dumping_here(st)) {
        PyErr_SetString(st->error, "a dump is already running");
        return NULL;
    }
    if (!PyUnicode_FSConverter(path_obj, &path_bytes))
        return NULL;
    /* The previous dump's tail (background) first: one writer at a time,
     * and its file is complete before the next one starts. */
    if (!fork) {
        Py_BEGIN_ALLOW_THREADS
        hs_finisher_wait();
        Py_END_ALLOW_THREADS
    }
    wait_for_collection();
    if (dumping_here(st)) { /* started by another thread meanwhile */
        Py_DECREF(path_bytes);
        PyErr_SetString(st->error, "a dump is already running");
        return NULL;
    }
    memset(&opts, 0, sizeof(opts));
    memset(&res, 0, sizeof(res));
    opts.path = PyBytes_AS_STRING(path_bytes);
    opts.trigger = trigger;
    opts.attach_method = attach_method;
    opts.redact = redact;
    opts.collected = collected;
    opts.value_limit = value_limit > 0 ? value_limit : 200;
    opts.main_ident = main_ident;
    opts.writer_gate = writer_gate;
    opts.background = background && !fork;
    opts.report_fd = report_fd;
    opts.status_fd = -1;
    /* Before the dump's own memory exists, and in the parent: a forked
     * child's RSS is not the process's. */
    hs_memfacts_read(&opts.mem, traced);
    if (fork) {
        result = fork_dump(st, &opts, check, report_fd);
        Py_DECREF(path_bytes);
        return result;
    }
    opts.output_thread = output_thread_wanted();
    hs_mem_reset_peak();
    /* The tail's own copy of the status file (closed by it). */
    if (opts.background && status_fd >= 0 &&
        (opts.status_fd = fcntl(status_fd, F_DUPFD_CLOEXEC, 0)) < 0)
        opts.background = 0; /* this thread reports, as without */
    st->dumping = getpid();
    rc = hs_dump(&opts, st->subtype_traverse, check, &res, err, sizeof(err));
    st->dumping = 0;
    if (!res.background && opts.status_fd >= 0)
        close(opts.status_fd);
    if (rc < 0) {
        Py_DECREF(path_bytes);
        /* A KeyboardInterrupt from a __sizeof__ stays what it is. */
        if (!PyErr_Occurred())
            PyErr_SetString(st->error, err);
        return NULL;
    }
    result = Py_BuildValue(
        "{s:I,s:K,s:I,s:d,s:d,s:d,s:n,s:(dddddd),s:O,s:O,s:d}", "objects",
        res.objects, "edges", (unsigned long long)res.edges, "roots",
        res.roots, "seconds", res.seconds, "walk_seconds", res.walk_seconds,
        "pause_seconds", res.pause_seconds,
        "peak_memory", (Py_ssize_t)res.peak_memory, "phases", res.phase[0],
        res.phase[1], res.phase[2], res.phase[3], res.phase[4],
        res.phase[5], "background", res.background ? Py_True : Py_False,
        "output_thread", res.output_thread ? Py_True : Py_False,
        "output_wait_seconds", res.output_wait_seconds);
    /* The caller sees a failure (MemoryError), so the file it cannot know
     * about must not stay under the final name either (a background one
     * reports itself). */
    if (!result && !res.background)
        unlink(PyBytes_AS_STRING(path_bytes));
    Py_DECREF(path_bytes);
    return result;
}

PyDoc_STRVAR(version_problem_doc,
             "_version_problem(built, running)\n--\n\n"
             "Why an agent built for Python `built` ('3.14.10') cannot run\n"
             "in the Python whose sys.version is `running`, or None\n"
             "(internal: the import check, for the tests).");

static PyObject *
hs_version_problem_py(PyObject *module, PyObject *args)
{
    const char *built, *running;
    int major = 0, minor = 0, micro = 0;
    char msg[512];

    (void)module;
    if (!PyArg_ParseTuple(args, "ss", &built, &running))
        return NULL;
    if (sscanf(built, "%d.%d.%d", &major, &minor, &micro) != 3) {
        PyErr_Format(PyExc_ValueError, "not a version: '%s'", built);
        return NULL;
    }
    if (hs_version_problem(major, minor, micro, running, msg,
                           sizeof(msg)) == 0)
        Py_RETURN_NONE;
    return PyUnicode_FromString(msg);
}

PyDoc_STRVAR(floor_doc,
             "_floor()\n--\n\n"
             "(objects, references, seconds, table_seconds): every object\n"
             "on the gc lists, and what its tp_traverse reports, counted\n"
             "and nothing else; the traversal's seconds from the moment\n"
             "its table was made, and the seconds making that took\n"
             "(internal: the walk's floor, for make bench; floor.c).");

static PyMethodDef methods[] = {
    { "_init", hs_init, METH_O, init_doc },
    { "_dump", (PyCFunction)(void (*)(void))hs_dump_py,
      METH_VARARGS | METH_KEYWORDS, dump_doc },
    { "_version_problem", hs_version_problem_py, METH_VARARGS,
      version_problem_doc },
    { "_floor", hs_floor_py, METH_NOARGS, floor_doc },
    { "_wait_background", hs_wait_background_py, METH_NOARGS,
      wait_background_doc },
    { NULL, NULL, 0, NULL },
};

/* The agent reads version-specific internals: refuse another minor, a
 * free-threaded build, a patch release across a layout change, or gc
 * lists that are not where the headers put them. */
static int
check_version(void)
{
    char msg[512];

    if (hs_version_problem(PY_MAJOR_VERSION, PY_MINOR_VERSION,
                           PY_MICRO_VERSION, Py_GetVersion(), msg,
                           sizeof(msg)) < 0) {
        PyErr_SetString(PyExc_ImportError, msg);
        return -1;
    }
    switch (hs_gc_layout_matches()) {
    case 1:
        return 0;
    case 0:
        snprintf(msg, sizeof(msg),
                 "this heapsnap agent was built with the headers of Python "
                 "%s, and this Python %.*s keeps its gc lists elsewhere (a "
                 "patch release or a distribution patch moved them); build "
                 "one with 'make' for this interpreter",
                 PY_VERSION, (int)strcspn(Py_GetVersion(), " "),
                 Py_GetVersion());
        PyErr_SetString(PyExc_ImportError, msg);
        return -1;
    default:
        return -1;
    }
}

static int
exec_module(PyObject *module)
{
    module_state *st = get_state(module);

    if (check_version() < 0)
        return -1;
    st->error = PyErr_NewExceptionWithDoc(
        "heapsnap.Error",
        "A snapshot could not be written; the message says why.", NULL,
        NULL);
    if (!st->error)
        return -1;
    Py_INCREF(st->error);
    if (PyModule_AddObject(module, "Error", st->error) < 0) {
        Py_DECREF(st->error);
        return -1;
    }
    if (PyModule_AddStringConstant(module, "agent_version",
                                   HS_AGENT_VERSION) < 0)
        return -1;
    if (PyModule_AddStringConstant(module, "_built_for", PY_VERSION) < 0)
        return -1;
    return 0;
}

static int
traverse_module(PyObject *module, visitproc visit, void *arg)
{
    module_state *st = get_state(module);

    Py_VISIT(st->error);
    return 0;
}

static int
clear_module(PyObject *module)
{
    module_state *st = get_state(module);

    Py_CLEAR(st->error);
    return 0;
}

static void
free_module(void *module)
{
    clear_module((PyObject *)module);
}

/* The slot API stores a function in a void *; going through uintptr_t
 * keeps ISO C (-Wpedantic) content, as POSIX guarantees the round trip. */
static PyModuleDef_Slot slots[] = {
    { Py_mod_exec, (void *)(uintptr_t)exec_module },
    { 0, NULL },
};

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT,
    "heapsnap._heapsnap",
    "C core of heapsnap: walks the live heap and writes a snapshot.",
    sizeof(module_state),
    methods,
    slots,
    traverse_module,
    clear_module,
    free_module,
};

HS_EXPORT PyMODINIT_FUNC
PyInit__heapsnap(void)
{
    return PyModuleDef_Init(&moduledef);
}
