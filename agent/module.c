/*
 * module.c: heapsnap._heapsnap, the C core of the `heapsnap` package.
 * Multi-phase initialisation with module state; argument parsing only:
 * the work is hs_dump() (walk.c).
 *
 *   _init(cls)       remembers the tp_traverse of a class made by a class
 *                    statement (subtype_traverse is private to CPython)
 *   _dump(path, ...) writes a snapshot; returns a dict of facts
 *   Error            raised for every failure, with the cause
 *
 * Errors: heapsnap.Error with the cause; MemoryError when memory is too
 * short even for that message, or for the dict of facts after the file
 * was written (the file is then removed: the caller was told it failed).
 *
 * Module state: `Error`, the traverse function, and `dumping`, which
 * refuses re-entrant dumps (a signal handler firing during a dump).  It is
 * protected by the GIL, which _dump() never releases.
 */
#include "agent.h"

#include <string.h>
#include <unistd.h>

typedef struct {
    PyObject *error;               /* heapsnap.Error */
    traverseproc subtype_traverse; /* from _init() */
    int dumping;                   /* a dump is running */
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
             "      value_limit=200, main_ident=0, check=False)\n--\n\n"
             "Write a snapshot of the whole heap to path (internal; use\n"
             "heapsnap.dump()).  Returns a dict of facts about the dump.");

static PyObject *
hs_dump_py(PyObject *module, PyObject *args, PyObject *kwargs)
{
    static char *kwlist[] = { "path",       "trigger",    "redact",
                              "collected",  "value_limit", "main_ident",
                              "check",      NULL };
    module_state *st = get_state(module);
    struct hs_dump_options opts;
    struct hs_dump_result res;
    PyObject *path_obj = NULL, *path_bytes = NULL, *result;
    const char *trigger = "api";
    int redact = 0, collected = 0, check = 0, rc;
    Py_ssize_t value_limit = 200;
    unsigned long main_ident = 0;
    char err[1024];

    if (!PyArg_ParseTupleAndKeywords(args, kwargs, "O|sppnkp", kwlist,
                                     &path_obj, &trigger, &redact,
                                     &collected, &value_limit, &main_ident,
                                     &check))
        return NULL;
    if (!st->subtype_traverse) {
        PyErr_SetString(st->error, "heapsnap._heapsnap._init() was not "
                                   "called (import heapsnap instead)");
        return NULL;
    }
    if (st->dumping) {
        PyErr_SetString(st->error, "a dump is already running");
        return NULL;
    }
    if (!PyUnicode_FSConverter(path_obj, &path_bytes))
        return NULL;
    memset(&opts, 0, sizeof(opts));
    memset(&res, 0, sizeof(res));
    opts.path = PyBytes_AS_STRING(path_bytes);
    opts.trigger = trigger;
    opts.redact = redact;
    opts.collected = collected;
    opts.value_limit = value_limit > 0 ? value_limit : 200;
    opts.main_ident = main_ident;
    hs_mem_reset_peak();
    st->dumping = 1;
    rc = hs_dump(&opts, st->subtype_traverse, check, &res, err, sizeof(err));
    st->dumping = 0;
    if (rc < 0) {
        Py_DECREF(path_bytes);
        PyErr_SetString(st->error, err);
        return NULL;
    }
    result = Py_BuildValue(
        "{s:I,s:K,s:I,s:d,s:d,s:n,s:(dddddd)}", "objects", res.objects,
        "edges", (unsigned long long)res.edges, "roots", res.roots,
        "seconds", res.seconds, "walk_seconds", res.walk_seconds,
        "peak_memory", (Py_ssize_t)res.peak_memory, "phases", res.phase[0],
        res.phase[1], res.phase[2], res.phase[3], res.phase[4],
        res.phase[5]);
    /* The caller sees a failure (MemoryError), so the file it cannot know
     * about must not stay under the final name either. */
    if (!result)
        unlink(PyBytes_AS_STRING(path_bytes));
    Py_DECREF(path_bytes);
    return result;
}

static PyMethodDef methods[] = {
    { "_init", hs_init, METH_O, init_doc },
    { "_dump", (PyCFunction)(void (*)(void))hs_dump_py,
      METH_VARARGS | METH_KEYWORDS, dump_doc },
    { NULL, NULL, 0, NULL },
};

/* The agent reads version-specific internals: refuse another minor. */
static int
check_version(void)
{
    const char *v = Py_GetVersion();
    int major = 0, minor = 0;

    if (sscanf(v, "%d.%d", &major, &minor) != 2 ||
        major != PY_MAJOR_VERSION || minor != PY_MINOR_VERSION) {
        PyErr_Format(PyExc_ImportError,
                     "this heapsnap agent was built for Python %d.%d and "
                     "cannot run in Python %d.%d; build one with 'make' "
                     "for this interpreter",
                     PY_MAJOR_VERSION, PY_MINOR_VERSION, major, minor);
        return -1;
    }
    return 0;
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
