/*
 * compat.h: every CPython-version difference the agent depends on, and the
 * only file with PY_VERSION_HEX tests.  Supported: 3.8 - 3.14 with the GIL.
 * Free-threaded builds and 3.15+ are refused at compile time (below) and
 * at import (module.c); so is a patch release on the other side of a
 * layout change from the headers the agent was built with
 * (hs_layout_breaks).  Behaviour that changed in a patch release without
 * a layout change is decided at run time from Py_Version, never from
 * PY_VERSION_HEX alone (hs_managed_dict_traverses_dict).
 *
 * The agent reads interpreter internals (gc lists, interpreter frames,
 * inline attribute values) through the internal headers, which
 * Py_BUILD_CORE_MODULE unlocks.  Each accessor below reads memory only: it
 * allocates nothing, runs no Python code and changes no reference count.
 * Layout notes cite docs/cpython-pitfalls.md (P1 - P23).
 */
#ifndef HS_COMPAT_H
#define HS_COMPAT_H

#define PY_SSIZE_T_CLEAN
#ifndef Py_BUILD_CORE_MODULE
#define Py_BUILD_CORE_MODULE 1
#endif
#include <Python.h>
#include <frameobject.h>
#include <structmember.h>

#include <stdio.h>
#include <string.h>

#if PY_VERSION_HEX < 0x03080000 || PY_VERSION_HEX >= 0x030F0000
#error "heapsnap's agent supports CPython 3.8 to 3.14 (not this one)"
#endif
#ifdef Py_GIL_DISABLED
#error "heapsnap's agent does not support free-threaded builds yet"
#endif

#if PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_gc.h"
#include "internal/pycore_interp.h"
#include "internal/pycore_runtime.h"
#else
#include "internal/pycore_pystate.h"
#endif
#if PY_VERSION_HEX >= 0x030A0000
#include "internal/pycore_moduleobject.h"
#endif
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_code.h"
#include "internal/pycore_dict.h"
#include "internal/pycore_frame.h"
#include "internal/pycore_object.h"
#endif
#if PY_VERSION_HEX >= 0x030C0000
#include "internal/pycore_long.h"
#endif
#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_genobject.h"
#endif
#if PY_VERSION_HEX >= 0x030E0000
/* 3.14 split pycore_frame.h: the inline helpers and stack references. */
#include "internal/pycore_interpframe.h"
#include "internal/pycore_stackref.h"
#endif

#define HS_PY_AT_LEAST(hex) (PY_VERSION_HEX >= (hex))

/* ---- patch releases that changed a layout the agent reads (P17) ------------ */

/*
 * Within one minor version CPython keeps its structs, with these
 * exceptions: an agent built with headers from one side of a break reads
 * wrong fields on the other side, so module.c refuses to load it there.
 * 3.14.5 brought back the generational gc: _gc_runtime_state gained
 * long_lived_total, long_lived_pending and generation0 at its end, which
 * moves every PyInterpreterState field after `gc` (sysdict, builtins,
 * imports, types, cached_objects...) by three words.
 */
struct hs_layout_break {
    int minor;        /* 3.minor */
    int micro;        /* the first patch release with the new layout */
    const char *what; /* what moved */
};

static const struct hs_layout_break hs_layout_breaks[] = {
    { 14, 5, "the gc state and the interpreter state after it" },
};

/*
 * Can an agent built with the headers of Python built_major.built_minor.
 * built_micro run in the interpreter whose Py_GetVersion() text is
 * `running`?  Returns 0, or -1 with one line saying why not in msg: another
 * minor version, a free-threaded build, or a patch release across one of
 * hs_layout_breaks from the headers.  Pure: module.c calls it at import
 * with the real versions, the tests with made-up ones.
 */
static inline int
hs_version_problem(int built_major, int built_minor, int built_micro,
                   const char *running, char *msg, size_t msglen)
{
    static const char rebuild[] =
        "; build one with 'make' for this interpreter";
    int major = 0, minor = 0, micro = 0;

    if (sscanf(running, "%d.%d.%d", &major, &minor, &micro) != 3) {
        snprintf(msg, msglen, "cannot tell the version of this Python "
                              "('%.40s')", running);
        return -1;
    }
    if (strstr(running, "free-threading")) {
        snprintf(msg, msglen, "this is a free-threaded build of Python "
                              "%d.%d.%d, which heapsnap's agent does not "
                              "support yet (its objects have no gc header "
                              "and its refcounts are split per thread)",
                 major, minor, micro);
        return -1;
    }
    if (major != built_major || minor != built_minor) {
        snprintf(msg, msglen, "this heapsnap agent was built for Python "
                              "%d.%d and cannot run in Python %d.%d%s",
                 built_major, built_minor, major, minor, rebuild);
        return -1;
    }
    for (size_t i = 0;
         i < sizeof(hs_layout_breaks) / sizeof(hs_layout_breaks[0]); i++) {
        const struct hs_layout_break *b = &hs_layout_breaks[i];

        if (b->minor != minor ||
            (built_micro >= b->micro) == (micro >= b->micro))
            continue;
        if (built_micro >= b->micro)
            snprintf(msg, msglen, "this heapsnap agent was built for Python "
                                  "%d.%d.%d+ and cannot run in Python "
                                  "%d.%d.%d (%s changed in %d.%d.%d)%s",
                     major, minor, b->micro, major, minor, micro, b->what,
                     major, minor, b->micro, rebuild);
        else
            snprintf(msg, msglen, "this heapsnap agent was built for Python "
                                  "%d.%d.0-%d.%d.%d and cannot run in Python "
                                  "%d.%d.%d (%s changed in %d.%d.%d)%s",
                     major, minor, major, minor, b->micro - 1, major, minor,
                     micro, b->what, major, minor, b->micro, rebuild);
        return -1;
    }
    return 0;
}

/* ---- the cyclic gc's object lists (section 1.1) ------------------------ */

typedef struct _gc_runtime_state hs_gcstate_t;

static inline hs_gcstate_t *
hs_gcstate(void)
{
#if HS_PY_AT_LEAST(0x03090000)
    return &PyInterpreterState_Get()->gc;
#else
    return &_PyRuntime.gc;
#endif
}

/*
 * List head of generation i (0..2), or of the permanent generation (3).
 * 3.14.0 - 3.14.4 (incremental gc) have a young and two old lists in the
 * same bytes; 3.14.5 went back to three generations (P17).
 */
static inline PyGC_Head *
hs_gc_list(hs_gcstate_t *st, int i)
{
#if HS_PY_AT_LEAST(0x030E0000) && !HS_PY_AT_LEAST(0x030E0500)
    if (i == 0)
        return &st->young.head;
    return i < NUM_GENERATIONS ? &st->old[i - 1].head
                               : &st->permanent_generation.head;
#else
    return i < NUM_GENERATIONS ? &st->generations[i].head
                               : &st->permanent_generation.head;
#endif
}

/* About how many objects the gc lists hold, for presizing (not a count):
 * 3.14 keeps the number of live gc objects; before, the oldest
 * generation's survivors of its last collection, what survived into it
 * since, and the youngest generation's net allocations.  */
static inline size_t
hs_gc_estimate(hs_gcstate_t *st)
{
#if HS_PY_AT_LEAST(0x030E0000)
    Py_ssize_t n = st->heap_size;
#else
    Py_ssize_t n = st->long_lived_total + st->long_lived_pending +
                   st->generations[0].count;
#endif

    return n > 0 ? (size_t)n : 0;
}

static inline PyGC_Head *
hs_gc_next(PyGC_Head *g)
{
    return (PyGC_Head *)(g->_gc_next & ~(uintptr_t)3);
}

/*
 * Whether the gc lists are where the headers say (P23).  Patch releases
 * and distributions have moved them without a version of their own to
 * tell: Debian's 3.13.18 aligns PyGC_Head to 4 bytes, which puts
 * generations[] 4 bytes earlier than 3.13.0's headers do.  A list just
 * made is the last object of the youngest generation, so its gc header
 * links to that generation's head.  Allocates and frees one list: for
 * import time, never during a walk.  1 yes, 0 no, -1 with an exception.
 */
static inline int
hs_gc_layout_matches(void)
{
    PyObject *probe = PyList_New(0);
    int ok;

    if (!probe)
        return -1;
    ok = hs_gc_next((PyGC_Head *)probe - 1) == hs_gc_list(hs_gcstate(), 0);
    Py_DECREF(probe);
    return ok;
}

static inline PyObject *
hs_gc_object(PyGC_Head *g)
{
    return (PyObject *)(g + 1);
}

static inline int
hs_gc_is_tracked(PyObject *o)
{
    return ((PyGC_Head *)o - 1)->_gc_next != 0;
}

/* The collector ran the finalizer of this tracked object (PEP 442). */
static inline int
hs_gc_finalized(PyObject *o)
{
    return (((PyGC_Head *)o - 1)->_gc_prev & 1) != 0;
}

/* ---- the main thread ---------------------------------------------------- */

/*
 * The ident (PyThreadState.thread_id) of the interpreter's main thread: the
 * thread that started it, or that called fork() in a forked child.  Read
 * from the runtime, not from the threading module, which a process may
 * never have imported (then a thread injected by `dump --pid` would look
 * like the main one) or may have imported first from another thread.
 */
static inline unsigned long
hs_main_thread_ident(void)
{
    return _PyRuntime.main_thread;
}

/* ---- reference counts (P13) -------------------------------------------- */

/*
 * Objects that are never freed and whose refcount means nothing: 3.12+
 * immortals, and on 3.11 the statically allocated objects (deep-frozen
 * code, _Py_ID strings, small ints), which start at a refcount of
 * 999999999 (_PyObject_IMMORTAL_REFCNT) and drift from there.
 */
static inline int
hs_is_immortal(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return _Py_IsImmortal(o);
#elif HS_PY_AT_LEAST(0x030B0000)
    /* _PyObject_IMMORTAL_INIT in pycore_object.h spells it out. */
    return Py_REFCNT(o) > 999999999 / 2;
#else
    (void)o;
    return 0;
#endif
}

/*
 * The cached small int for v (-5 <= v < 257) where the cache is an array
 * of pointers (3.9, 3.10); NULL elsewhere.  3.11+ small ints are
 * immortal-style statics; 3.8's cache is private (walk.c asks
 * PyLong_FromLong before the walk instead).
 */
static inline PyObject *
hs_small_int(long v)
{
#if HS_PY_AT_LEAST(0x03090000) && !HS_PY_AT_LEAST(0x030B0000)
    return (PyObject *)PyInterpreterState_Get()->small_ints[v + 5];
#else
    (void)v;
    return NULL;
#endif
}

/* ---- interpreter state ---------------------------------------------------- */

static inline PyObject *
hs_interp_modules(PyInterpreterState *in)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return in->imports.modules;
#else
    return in->modules;
#endif
}

static inline PyObject *
hs_interp_modules_by_index(PyInterpreterState *in)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return in->imports.modules_by_index;
#else
    return in->modules_by_index;
#endif
}

static inline PyObject *
hs_interp_importlib(PyInterpreterState *in)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return in->imports.importlib;
#else
    return in->importlib;
#endif
}

/*
 * The interned-strings dict where the collector tracks it (3.14+: every
 * dict is tracked from creation, gh-127010), else NULL.  Its references
 * to mortal interned strings are not counted in their refcounts (P13,
 * P19), so they must lower no balance.
 */
static inline PyObject *
hs_interned_dict(PyInterpreterState *in)
{
#if HS_PY_AT_LEAST(0x030E0000)
    return in->cached_objects.interned_strings;
#else
    (void)in;
    return NULL;
#endif
}

/*
 * References the interpreter state owns beyond sys.modules, with a label
 * each: fills labels[] / refs[] (NULL entries allowed); returns how many.
 */
#define HS_INTERP_REFS_MAX 16
static inline int
hs_interp_refs(PyInterpreterState *in, const char **labels, PyObject **refs)
{
    int n = 0;

#define HS_REF(label, field) (labels[n] = (label), refs[n++] = (field))
    HS_REF("modules_by_index", hs_interp_modules_by_index(in));
    HS_REF("sys.__dict__", in->sysdict);
    HS_REF("importlib", hs_interp_importlib(in));
#if HS_PY_AT_LEAST(0x030D0000)
    HS_REF("codec search path", in->codecs.search_path);
    HS_REF("codec search cache", in->codecs.search_cache);
    HS_REF("codec error registry", in->codecs.error_registry);
#else
    HS_REF("codec search path", in->codec_search_path);
    HS_REF("codec search cache", in->codec_search_cache);
    HS_REF("codec error registry", in->codec_error_registry);
#endif
    HS_REF("interpreter dict", in->dict);
    HS_REF("builtins copy", in->builtins_copy);
#if HS_PY_AT_LEAST(0x030C0000)
    HS_REF("sys.__dict__ copy", in->sysdict_copy);
    HS_REF("__import__", in->imports.import_func);
#else
    HS_REF("__import__", in->import_func);
#endif
    HS_REF("os.register_at_fork before", in->before_forkers);
    HS_REF("os.register_at_fork after (parent)", in->after_forkers_parent);
    HS_REF("os.register_at_fork after (child)", in->after_forkers_child);
    HS_REF("audit hooks", in->audit_hooks);
#if HS_PY_AT_LEAST(0x030E0000)
    HS_REF("interned strings", hs_interned_dict(in));
#endif
#undef HS_REF
    return n;
}

/* References a thread state owns besides its frames; returns how many. */
#define HS_TSTATE_REFS_MAX 16
static inline int
hs_tstate_refs(PyThreadState *ts, const char **labels, PyObject **refs)
{
    int n = 0;

#define HS_REF(label, field) (labels[n] = (label), refs[n++] = (field))
    HS_REF("thread state dict", ts->dict);
    HS_REF("async exception", ts->async_exc);
#if HS_PY_AT_LEAST(0x030C0000)
    HS_REF("exception being raised", ts->current_exception);
#else
    HS_REF("exception being raised (type)", ts->curexc_type);
    HS_REF("exception being raised", ts->curexc_value);
    HS_REF("exception being raised (traceback)", ts->curexc_traceback);
#endif
    HS_REF("exception being handled", ts->exc_state.exc_value);
#if !HS_PY_AT_LEAST(0x030B0000)
    HS_REF("exception being handled (type)", ts->exc_state.exc_type);
    HS_REF("exception being handled (traceback)",
           ts->exc_state.exc_traceback);
#endif
    HS_REF("profiler", ts->c_profileobj);
    HS_REF("tracer", ts->c_traceobj);
    HS_REF("contextvars context", ts->context);
    HS_REF("async generator firstiter hook", ts->async_gen_firstiter);
    HS_REF("async generator finalizer hook", ts->async_gen_finalizer);
#if HS_PY_AT_LEAST(0x030D0000)
    HS_REF("threading.local key", ts->threading_local_key);
    HS_REF("threading.local sentinel", ts->threading_local_sentinel);
#endif
#undef HS_REF
    return n;
}

/* ---- threads ------------------------------------------------------------------ */

static inline unsigned long
hs_tstate_native_id(PyThreadState *ts)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return ts->native_thread_id;
#else
    (void)ts;
    return 0;
#endif
}

/* ---- frames (P10, P11) ------------------------------------------------------- */

#if HS_PY_AT_LEAST(0x030B0000)
typedef _PyInterpreterFrame hs_frame_t; /* not an object */
#else
typedef PyFrameObject hs_frame_t; /* an (untracked) frame object */
#endif

/* Innermost frame of ts, or NULL. */
static inline hs_frame_t *
hs_tstate_frame(PyThreadState *ts)
{
#if HS_PY_AT_LEAST(0x030D0000)
    return ts->current_frame;
#elif HS_PY_AT_LEAST(0x030B0000)
    return ts->cframe ? ts->cframe->current_frame : NULL;
#else
    return ts->frame;
#endif
}

static inline hs_frame_t *
hs_frame_back(hs_frame_t *f)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return f->previous;
#else
    return f->f_back;
#endif
}

/*
 * A frame's reference as a borrowed pointer, or NULL for an empty slot.
 * 3.14 frames hold stack references (P15): NULL is bits == 1, tagged
 * ints are no objects (NULL here), and a reference with the Py_TAG_REFCNT
 * bit (an immortal, or a borrowed one) owns no refcount: *owned says
 * whether it does.  Before 3.14 every non-NULL pointer owns one.
 */
#if HS_PY_AT_LEAST(0x030E0000)
typedef _PyStackRef hs_stackref_t;

static inline PyObject *
hs_stackref(hs_stackref_t ref, int *owned)
{
    if (PyStackRef_IsNull(ref) || PyStackRef_IsTaggedInt(ref)) {
        *owned = 0;
        return NULL;
    }
    *owned = PyStackRef_RefcountOnObject(ref);
    return PyStackRef_AsPyObjectBorrow(ref);
}
#else
typedef PyObject *hs_stackref_t;

static inline PyObject *
hs_stackref(hs_stackref_t ref, int *owned)
{
    *owned = ref != NULL;
    return ref;
}
#endif

/* The frame's code object, or NULL when it has none (3.13 shim frames,
 * 3.14 frames owned by the interpreter). */
static inline PyCodeObject *
hs_frame_code(hs_frame_t *f)
{
#if HS_PY_AT_LEAST(0x030D0000)
    int owned;
    PyObject *x = hs_stackref(f->f_executable, &owned);

    return x && PyCode_Check(x) ? (PyCodeObject *)x : NULL;
#else
    return f->f_code;
#endif
}

/* The code object of a frame object (whose function may have returned),
 * or NULL. */
static inline PyCodeObject *
hs_frame_object_code(PyFrameObject *f)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return f->f_frame ? hs_frame_code(f->f_frame) : NULL;
#else
    return f->f_code;
#endif
}

/*
 * Whether the frame belongs on a thread's stack listing: 3.12+ shim
 * frames owned by the C stack or (3.14) by the interpreter and 3.11+
 * frames still being set up are skipped, as PyFrame_GetBack() skips them.
 */
static inline int
hs_frame_listed(hs_frame_t *f)
{
#if HS_PY_AT_LEAST(0x030E0000)
    if (f->owner >= FRAME_OWNED_BY_INTERPRETER)
        return 0;
#endif
#if HS_PY_AT_LEAST(0x030C0000)
    if (f->owner == FRAME_OWNED_BY_CSTACK || !hs_frame_code(f))
        return 0;
#endif
#if HS_PY_AT_LEAST(0x030B0000)
    return !_PyFrame_IsIncomplete(f);
#else
    (void)f;
    return 1;
#endif
}

/* 3.11+: the frame's references belong to a generator, not the thread. */
static inline int
hs_frame_owned_by_generator(hs_frame_t *f)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return f->owner == FRAME_OWNED_BY_GENERATOR;
#else
    return f->f_gen != NULL;
#endif
}

/* Current line of a frame, computed without allocating. */
static inline int
hs_frame_line(hs_frame_t *f)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return PyUnstable_InterpreterFrame_GetLine(f);
#elif HS_PY_AT_LEAST(0x030B0000)
    return PyCode_Addr2Line(f->f_code,
                            _PyInterpreterFrame_LASTI(f) *
                                (int)sizeof(_Py_CODEUNIT));
#else
    return PyFrame_GetLineNumber(f);
#endif
}

#if HS_PY_AT_LEAST(0x030B0000)
/* 3.11+ interpreter frame fields that hold references; *owned as for
 * hs_stackref(). */
static inline PyObject *
hs_iframe_func(_PyInterpreterFrame *f, int *owned)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return hs_stackref(f->f_funcobj, owned);
#else
    return hs_stackref((PyObject *)f->f_func, owned);
#endif
}

static inline PyObject *
hs_iframe_executable(_PyInterpreterFrame *f, int *owned)
{
#if HS_PY_AT_LEAST(0x030D0000)
    return hs_stackref(f->f_executable, owned);
#else
    return hs_stackref((PyObject *)f->f_code, owned);
#endif
}

/* Fast slot i (a local, cell or free variable) of frame f. */
static inline PyObject *
hs_iframe_slot(_PyInterpreterFrame *f, Py_ssize_t i, int *owned)
{
    return hs_stackref(f->localsplus[i], owned);
}
#endif

/* ---- code objects ------------------------------------------------------------ */

/*
 * Number of named fast slots of a code object (locals, cells, free
 * variables), and the name of slot i (a borrowed str).
 */
static inline Py_ssize_t
hs_code_nslots(PyCodeObject *co)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return co->co_nlocalsplus;
#else
    return co->co_nlocals + PyTuple_GET_SIZE(co->co_cellvars) +
           PyTuple_GET_SIZE(co->co_freevars);
#endif
}

static inline PyObject *
hs_code_slot_name(PyCodeObject *co, Py_ssize_t i)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return PyTuple_GET_ITEM(co->co_localsplusnames, i);
#else
    Py_ssize_t ncells = PyTuple_GET_SIZE(co->co_cellvars);

    if (i < co->co_nlocals)
        return PyTuple_GET_ITEM(co->co_varnames, i);
    i -= co->co_nlocals;
    if (i < ncells)
        return PyTuple_GET_ITEM(co->co_cellvars, i);
    return PyTuple_GET_ITEM(co->co_freevars, i - ncells);
#endif
}

/* The free variable names of a code object, in closure order. */
static inline Py_ssize_t
hs_code_nfree(PyCodeObject *co)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return co->co_nfreevars;
#else
    return PyTuple_GET_SIZE(co->co_freevars);
#endif
}

static inline PyObject *
hs_code_free_name(PyCodeObject *co, Py_ssize_t i)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return PyTuple_GET_ITEM(co->co_localsplusnames,
                            co->co_nlocalsplus - co->co_nfreevars + i);
#else
    return PyTuple_GET_ITEM(co->co_freevars, i);
#endif
}

static inline PyObject *
hs_code_qualname(PyCodeObject *co)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return co->co_qualname;
#else
    return co->co_name;
#endif
}

/*
 * Strong references of a code object that are not exposed as members:
 * cached co_code / co_varnames / co_cellvars / co_freevars objects (3.11+)
 * and the locals tables.  Fills names[] / refs[]; returns how many.
 */
static inline int
hs_code_hidden_refs(PyCodeObject *co, const char *names[6], PyObject *refs[6])
{
    int n = 0;

#if HS_PY_AT_LEAST(0x030B0000)
    names[n] = "co_localsplusnames";
    refs[n++] = co->co_localsplusnames;
    names[n] = "co_localspluskinds";
    refs[n++] = co->co_localspluskinds;
#endif
#if HS_PY_AT_LEAST(0x030C0000)
    if (co->_co_cached) {
        names[n] = "co_code";
        refs[n++] = co->_co_cached->_co_code;
        names[n] = "co_varnames";
        refs[n++] = co->_co_cached->_co_varnames;
        names[n] = "co_cellvars";
        refs[n++] = co->_co_cached->_co_cellvars;
        names[n] = "co_freevars";
        refs[n++] = co->_co_cached->_co_freevars;
    }
#elif HS_PY_AT_LEAST(0x030B0000)
    names[n] = "co_code";
    refs[n++] = co->_co_code;
#else
    (void)co;
    (void)names;
    (void)refs;
#endif
    return n;
}

/* ---- generators and coroutines ---------------------------------------------- */

/* 1 for generator, coroutine and async generator objects. */
static inline int
hs_is_generator(PyObject *o)
{
    return PyGen_Check(o) || PyCoro_CheckExact(o) ||
           PyAsyncGen_CheckExact(o);
}

#if HS_PY_AT_LEAST(0x030B0000)
/* The frame embedded in a generator, whether cleared or not. */
static inline _PyInterpreterFrame *
hs_gen_frame(PyObject *gen)
{
#if HS_PY_AT_LEAST(0x030E0000)
    return &((PyGenObject *)gen)->gi_iframe;
#else
    return (_PyInterpreterFrame *)((PyGenObject *)gen)->gi_iframe;
#endif
}

/* The frame embedded in a generator, or NULL once it was cleared. */
static inline _PyInterpreterFrame *
hs_gen_iframe(PyObject *gen)
{
    if (((PyGenObject *)gen)->gi_frame_state >= FRAME_CLEARED)
        return NULL;
    return hs_gen_frame(gen);
}

/* 3.14+: a cleared generator's frame still owns its code object (P18);
 * NULL before, or while the frame is live (its own references say so). */
static inline PyObject *
hs_gen_cleared_code(PyObject *gen, int *owned)
{
#if HS_PY_AT_LEAST(0x030E0000)
    if (((PyGenObject *)gen)->gi_frame_state >= FRAME_CLEARED)
        return hs_iframe_executable(hs_gen_frame(gen), owned);
#else
    (void)gen;
#endif
    *owned = 0;
    return NULL;
}
#endif

/* ---- dicts and instance attributes (P5, P6) -------------------------------- */

enum hs_dict_layout {
    HS_DICT_COMBINED, /* the dict owns its keys and values */
    HS_DICT_SPLIT,    /* keys are shared with a type; the dict owns values */
    HS_DICT_EMBEDDED  /* 3.13+: the values live in an object (who owns
                         them: hs_managed_dict_traverses_dict()) */
};

/*
 * gh-130327 (P6), a change of behaviour inside 3.13 and 3.14: once an
 * object with inline values has a materialised __dict__, 3.13.13+ and
 * 3.14.4+ traverse the object -> dict edge and let the dict traverse the
 * inline values; 3.13.0 - 3.13.12 and 3.14.0 - 3.14.3 traverse the values
 * from the object and nothing from the dict.  No layout changed, so an
 * agent built with one patch release's headers runs in another: this is
 * decided from the running interpreter's Py_Version (3.11+), never from
 * PY_VERSION_HEX.  Returns 1 for the new rule.
 */
static inline int
hs_managed_dict_traverses_dict(void)
{
#if HS_PY_AT_LEAST(0x030D0000)
    unsigned long v = Py_Version;

    return (v >> 16) == 0x030D ? v >= 0x030D0D00 : v >= 0x030E0400;
#else
    return 0;
#endif
}

static inline enum hs_dict_layout
hs_dict_layout(PyDictObject *d)
{
    if (!d->ma_values)
        return HS_DICT_COMBINED;
#if HS_PY_AT_LEAST(0x030D0000)
    if (d->ma_values->embedded)
        return HS_DICT_EMBEDDED;
#endif
    return HS_DICT_SPLIT;
}

/*
 * Whether the dict's traverse visits its keys: 1 yes, 0 no, -1 unknown
 * (3.8 - 3.10 decide by a private lookup function pointer).
 */
static inline int
hs_dict_traverses_keys(PyDictObject *d)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return !d->ma_values && d->ma_keys->dk_kind == DICT_KEYS_GENERAL;
#else
    (void)d;
    return -1;
#endif
}

/*
 * An instance's attribute storage without materialising __dict__:
 * `*values` and `*keys` give the inline/shared-key values (NULL when the
 * instance has none) with `*nvalues` slots; the return value is the
 * instance dict, or NULL.  On 3.13+ both may be set at once: the dict
 * then shares the values (who owns them: P6,
 * hs_managed_dict_traverses_dict()).
 */
static inline PyObject *
hs_instance_storage(PyObject *o, PyObject ***values, Py_ssize_t *nvalues,
                    PyObject **names_keys)
{
    PyTypeObject *tp = Py_TYPE(o);

    *values = NULL;
    *nvalues = 0;
    *names_keys = NULL;
#if HS_PY_AT_LEAST(0x030B0000)
    if (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) {
        PyDictKeysObject *keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        PyObject *dict = NULL;
        PyDictValues *v = NULL;
#if HS_PY_AT_LEAST(0x030D0000)
        dict = (PyObject *)_PyObject_GetManagedDict(o);
        if ((tp->tp_flags & Py_TPFLAGS_INLINE_VALUES) &&
            _PyObject_InlineValues(o)->valid)
            v = _PyObject_InlineValues(o);
#elif HS_PY_AT_LEAST(0x030C0000)
        PyDictOrValues dorv = *_PyObject_DictOrValuesPointer(o);

        if (_PyDictOrValues_IsValues(dorv))
            v = _PyDictOrValues_GetValues(dorv);
        else
            dict = dorv.dict;
#else
        v = *_PyObject_ValuesPointer(o);
        dict = *_PyObject_ManagedDictPointer(o);
#endif
        if (v && keys) {
            *values = v->values;
            *nvalues = keys->dk_nentries;
            *names_keys = (PyObject *)keys;
        }
        return dict;
    }
#endif
    if (tp->tp_dictoffset != 0) {
        PyObject **dp = _PyObject_GetDictPtr(o);

        return dp ? *dp : NULL;
    }
    return NULL;
}

/*
 * Bytes of attribute values an instance of heap type tp holds outside
 * its sys.getsizeof figure: on 3.13+ the inline values array after the
 * instance (_PyInlineValuesSize; *inline_values = 1), allocated with every
 * instance; on 3.11 and 3.12 the values array dictobject.c's new_values()
 * allocates apart while the instance has no __dict__ of its own: an
 * insertion-order prefix of size + 2 bytes rounded up to a pointer, then
 * size pointers, size being the shared keys' usable size.  0 before 3.11
 * and for types without shared keys.  Reads the type only.
 */
static inline Py_ssize_t
hs_type_values_bytes(PyTypeObject *tp, int *inline_values)
{
    *inline_values = 0;
#if HS_PY_AT_LEAST(0x030D0000)
    if ((tp->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
        (tp->tp_flags & Py_TPFLAGS_INLINE_VALUES) &&
        ((PyHeapTypeObject *)tp)->ht_cached_keys) {
        *inline_values = 1;
        return (Py_ssize_t)_PyInlineValuesSize(tp);
    }
#elif HS_PY_AT_LEAST(0x030B0000)
    if ((tp->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
        (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) &&
        ((PyHeapTypeObject *)tp)->ht_cached_keys) {
        PyDictKeysObject *k = ((PyHeapTypeObject *)tp)->ht_cached_keys;
        Py_ssize_t size = k->dk_nentries + k->dk_usable;
        Py_ssize_t p = (Py_ssize_t)sizeof(PyObject *);

        return (size + 2 + p - 1) / p * p + size * p;
    }
#else
    (void)tp;
#endif
    return 0;
}

/* 1 when tp's instances keep __dict__ (or its values) in the pre-header:
 * Py_TPFLAGS_MANAGED_DICT, 3.11+. */
static inline int
hs_type_managed_dict(PyTypeObject *tp)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return (tp->tp_flags & Py_TPFLAGS_MANAGED_DICT) != 0;
#else
    (void)tp;
    return 0;
#endif
}

/* Name of shared-key slot i (names_keys from hs_instance_storage). */
static inline PyObject *
hs_shared_key_name(PyObject *names_keys, Py_ssize_t i)
{
#if HS_PY_AT_LEAST(0x030B0000)
    PyDictKeysObject *keys = (PyDictKeysObject *)names_keys;

    return DK_UNICODE_ENTRIES(keys)[i].me_key;
#else
    (void)names_keys;
    (void)i;
    return NULL;
#endif
}

/*
 * The key strings of a heap type's shared-key table (held by the type):
 * calls fn(key, arg) for each.  Before 3.11 split tables are dicts'
 * business and reached through them.
 */
static inline void
hs_type_cached_keys(PyTypeObject *tp, void (*fn)(PyObject *, void *),
                    void *arg)
{
#if HS_PY_AT_LEAST(0x030B0000)
    PyDictKeysObject *keys;

    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return;
    keys = ((PyHeapTypeObject *)tp)->ht_cached_keys;
    if (!keys)
        return;
    for (Py_ssize_t i = 0; i < keys->dk_nentries; i++) {
        PyObject *k = DK_UNICODE_ENTRIES(keys)[i].me_key;

        if (k)
            fn(k, arg);
    }
#else
    (void)tp;
    (void)fn;
    (void)arg;
#endif
}

/* ---- modules ---------------------------------------------------------------------- */

#if !HS_PY_AT_LEAST(0x030A0000)
/* 3.8 and 3.9 keep PyModuleObject private to moduleobject.c; its layout is
 * the one 3.10 published in pycore_moduleobject.h. */
typedef struct {
    PyObject_HEAD
    PyObject *md_dict;
    struct PyModuleDef *md_def;
    void *md_state;
    PyObject *md_weaklist;
    PyObject *md_name;
} PyModuleObject;
#endif

/* The module's own reference to its name (set for modules made from a
 * PyModuleDef), or NULL.  Owned, and not visited by module_traverse. */
static inline PyObject *
hs_module_name_field(PyObject *m)
{
    return ((PyModuleObject *)m)->md_name;
}

/* ---- types ------------------------------------------------------------------------ */

/*
 * The dict of a type.  Static builtin types keep it in interpreter state
 * on 3.12+; PyType_GetDict returns a new reference there, which is dropped
 * at once (the interpreter keeps it alive), so the net refcount change is
 * zero.
 */
static inline PyObject *
hs_type_dict(PyTypeObject *tp)
{
#if HS_PY_AT_LEAST(0x030C0000)
    PyObject *d = PyType_GetDict(tp);

    Py_XDECREF(d);
    return d;
#else
    return tp->tp_dict;
#endif
}

/*
 * tp_subclasses (a dict of weak references to subclasses), or NULL.  On
 * 3.12+ static builtin types (and 3.13's managed static extension types,
 * datetime's for one) keep index + 1 there, not a pointer; the dict lives
 * in the interpreter's state, in one of two tables.  The index alone does
 * not say which table (3.13 extension types do not carry
 * _Py_TPFLAGS_STATIC_BUILTIN reliably), so the entry whose `type` is tp
 * wins; an index that matches neither gives NULL rather than another
 * type's dict.
 */
static inline PyObject *
hs_type_subclasses(PyTypeObject *tp)
{
#if HS_PY_AT_LEAST(0x030C0000)
    uintptr_t index = (uintptr_t)tp->tp_subclasses;
    struct types_state *ts = &PyInterpreterState_Get()->types;

    if (index && index < 4096) {
#if HS_PY_AT_LEAST(0x030D0000)
        if (index <= _Py_MAX_MANAGED_STATIC_BUILTIN_TYPES &&
            ts->builtins.initialized[index - 1].type == tp)
            return ts->builtins.initialized[index - 1].tp_subclasses;
        if (index <= _Py_MAX_MANAGED_STATIC_EXT_TYPES &&
            ts->for_extensions.initialized[index - 1].type == tp)
            return ts->for_extensions.initialized[index - 1].tp_subclasses;
        return NULL;
#else
        return index <= _Py_MAX_STATIC_BUILTIN_TYPES &&
                       ts->builtins[index - 1].type == tp
                   ? ts->builtins[index - 1].tp_subclasses
                   : NULL;
#endif
    }
#endif
    return (PyObject *)tp->tp_subclasses;
}

/*
 * The name a property was assigned to (3.10+ prop_name, set by
 * __set_name__), or NULL.  propertyobject is private to descrobject.c;
 * prop_name follows the four fields its tp_members expose.
 */
static inline PyObject *
hs_property_name(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030A0000)
    typedef struct {
        PyObject_HEAD
        PyObject *prop_get, *prop_set, *prop_del, *prop_doc;
        PyObject *prop_name;
    } hs_property_t;

    return ((hs_property_t *)o)->prop_name;
#else
    (void)o;
    return NULL;
#endif
}

/* ---- sizes (section 3) ----------------------------------------------------------- */

/* What sys.getsizeof adds to __sizeof__ for object o. */
static inline size_t
hs_sizeof_preheader(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030D0000)
    if (PyType_Check(o) &&
        !(((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE))
        return 0;
    return _PyType_PreHeaderSize(Py_TYPE(o));
#elif HS_PY_AT_LEAST(0x030B0000)
    return _PyType_PreHeaderSize(Py_TYPE(o));
#else
    return PyObject_IS_GC(o) ? sizeof(PyGC_Head) : 0;
#endif
}

/* int.__sizeof__ */
static inline size_t
hs_sizeof_long(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030C0000)
    Py_ssize_t n = (Py_ssize_t)_PyLong_DigitCount((PyLongObject *)o);

    return offsetof(PyLongObject, long_value.ob_digit) +
           (size_t)(n > 1 ? n : 1) * sizeof(digit);
#elif HS_PY_AT_LEAST(0x030B0000)
    Py_ssize_t n = Py_ABS(Py_SIZE(o));

    return offsetof(PyLongObject, ob_digit) +
           (size_t)(n > 1 ? n : 1) * sizeof(digit);
#else
    return offsetof(PyLongObject, ob_digit) +
           (size_t)Py_ABS(Py_SIZE(o)) * sizeof(digit);
#endif
}

/* str.__sizeof__ */
static inline size_t
hs_sizeof_str(PyObject *o)
{
    size_t size;
    Py_ssize_t len = PyUnicode_GET_LENGTH(o);

#if !HS_PY_AT_LEAST(0x030C0000)
    if (!PyUnicode_IS_READY(o))
        return sizeof(PyUnicodeObject);
#endif
    if (PyUnicode_IS_COMPACT_ASCII(o)) {
        size = sizeof(PyASCIIObject) + (size_t)len + 1;
    } else if (PyUnicode_IS_COMPACT(o)) {
        size = sizeof(PyCompactUnicodeObject) +
               (size_t)(len + 1) * PyUnicode_KIND(o);
    } else {
        size = sizeof(PyUnicodeObject);
        if (((PyUnicodeObject *)o)->data.any)
            size += (size_t)(len + 1) * PyUnicode_KIND(o);
    }
    if (!PyUnicode_IS_COMPACT_ASCII(o)) {
        PyCompactUnicodeObject *c = (PyCompactUnicodeObject *)o;

        if (c->utf8 && c->utf8 != PyUnicode_DATA(o))
            size += (size_t)c->utf8_length + 1;
    }
#if !HS_PY_AT_LEAST(0x030C0000)
    {
        PyASCIIObject *a = (PyASCIIObject *)o;

        if (a->wstr && a->wstr != PyUnicode_DATA(o)) {
            Py_ssize_t wlen = PyUnicode_IS_COMPACT_ASCII(o)
                                  ? a->length
                                  : ((PyCompactUnicodeObject *)o)->wstr_length;

            size += (size_t)(wlen + 1) * sizeof(wchar_t);
        }
    }
#endif
    return size;
}

/* The C helper behind sys.getsizeof: calls __sizeof__ (Python code). */
#if HS_PY_AT_LEAST(0x030D0000)
extern size_t _PySys_GetSizeOf(PyObject *);
#endif

/* The magnitude digits (base 2**PyLong_SHIFT, least significant first) and
 * sign of an int, read in place. */
static inline const digit *
hs_long_digits(PyObject *o, Py_ssize_t *ndigits, int *negative)
{
    PyLongObject *l = (PyLongObject *)o;

#if HS_PY_AT_LEAST(0x030C0000)
    *ndigits = (Py_ssize_t)_PyLong_DigitCount(l);
    *negative = _PyLong_IsNegative(l);
    return l->long_value.ob_digit;
#else
    *ndigits = Py_ABS(Py_SIZE(o));
    *negative = Py_SIZE(o) < 0;
    return l->ob_digit;
#endif
}

/* 1 when str o's characters can be read (always on 3.12+). */
static inline int
hs_str_ready(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030C0000)
    (void)o;
    return 1;
#else
    return PyUnicode_IS_READY(o);
#endif
}

/* ---- allocation sites (tracemalloc) --------------------------------------------- */

#if HS_PY_AT_LEAST(0x030D0000)
/* Exported by every CPython 3.8+, declared in an internal header from
 * 3.13 on that an extension cannot include. */
PyAPI_FUNC(PyObject *) _PyTraceMalloc_GetTraceback(unsigned int domain,
                                                   uintptr_t ptr);
#endif

/*
 * The address tracemalloc traced when o was allocated: the start of its
 * memory block, before the pre-header that precedes a gc object (3.8-3.10:
 * the PyGC_Head of an instance of a gc type; 3.11+ the type's whole
 * pre-header, managed dict and weakref pointers included), as
 * tracemalloc.get_object_traceback() computes it from the type.
 */
static inline uintptr_t
hs_alloc_start(PyObject *o)
{
#if HS_PY_AT_LEAST(0x030B0000)
    return (uintptr_t)o - _PyType_PreHeaderSize(Py_TYPE(o));
#else
    return (uintptr_t)o - (PyType_IS_GC(Py_TYPE(o)) ? sizeof(PyGC_Head) : 0);
#endif
}

/*
 * The last source line of a code object's instructions, or -1 when it
 * cannot be told (an error, memory running out, is cleared).  Unlike the
 * accessors above, on 3.10+ this calls the C method co_lines() and
 * allocates: it is for the sites phase, after the walk.
 */
static inline int
hs_code_last_line(PyCodeObject *co)
{
    int last = co->co_firstlineno;
#if HS_PY_AT_LEAST(0x030A0000)
    PyObject *it = PyObject_CallMethod((PyObject *)co, "co_lines", NULL);
    PyObject *item;

    if (!it) {
        PyErr_Clear();
        return -1;
    }
    while ((item = PyIter_Next(it)) != NULL) {
        if (PyTuple_Check(item) && PyTuple_GET_SIZE(item) == 3 &&
            PyLong_Check(PyTuple_GET_ITEM(item, 2))) {
            long line = PyLong_AsLong(PyTuple_GET_ITEM(item, 2));

            if (line > last && line < INT_MAX)
                last = (int)line;
        }
        Py_DECREF(item);
    }
    Py_DECREF(it);
    if (PyErr_Occurred()) {
        PyErr_Clear();
        return -1;
    }
#else
    /* co_lnotab: (address step, signed line step) byte pairs. */
    const unsigned char *p;
    Py_ssize_t n;
    int line = co->co_firstlineno;

    if (!PyBytes_Check(co->co_lnotab))
        return -1;
    p = (const unsigned char *)PyBytes_AS_STRING(co->co_lnotab);
    n = PyBytes_GET_SIZE(co->co_lnotab);
    for (Py_ssize_t i = 0; i + 1 < n; i += 2) {
        line += (signed char)p[i + 1];
        if (line > last)
            last = line;
    }
#endif
    return last;
}

/* ---- misc ------------------------------------------------------------------------ */

/* The exception being raised, taken out of the thread state (a new
 * reference; NULL when none). */
static inline PyObject *
hs_exc_take(void)
{
#if HS_PY_AT_LEAST(0x030C0000)
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

/* Raises `exc` again (steals the reference) as hs_exc_take() took it. */
static inline void
hs_exc_give(PyObject *exc)
{
#if HS_PY_AT_LEAST(0x030C0000)
    PyErr_SetRaisedException(exc);
#else
    PyObject *type = (PyObject *)Py_TYPE(exc);

    Py_INCREF(type);
    PyErr_Restore(type, exc, PyException_GetTraceback(exc));
#endif
}


#endif /* HS_COMPAT_H */
