/*
 * roots.c: where retention starts (agent.h, struct hs_roots).  Modules in
 * sys.modules, the interpreter state's own references, gc.garbage and
 * gc.callbacks, and for every thread: its state's references and its
 * stack.  Stacks are read from the thread states (P10, P11): on 3.11+ the
 * interpreter frames' fast slots are read in place, so no frame object is
 * created; on 3.8-3.10 running frames are (untracked) objects already.
 *
 * A root "owns" a reference when the holder is not an object in the
 * snapshot (a thread state, the interpreter, a C stack running a frame):
 * the walk subtracts those from refcounts before calling anything
 * external.  A frame running module code has its module's __dict__ as
 * its namespace: that reference is counted but not written as a root
 * ("silent"), so retention paths start at the module.  Everything here
 * reads memory only.
 */
#include "agent.h"

#include <string.h>

static size_t
add_label(struct hs_roots *r, const char *prefix, PyObject *name,
          const char *text)
{
    size_t off = r->labels.len;

    if (prefix)
        hs_str_adds(&r->labels, prefix);
    if (name && PyUnicode_Check(name))
        hs_text_str(&r->labels, name, 200);
    if (text)
        hs_str_adds(&r->labels, text);
    hs_str_addch(&r->labels, '\0');
    r->oom |= r->labels.failed;
    return off;
}

/* Lists a root; returns its entry, or NULL (obj NULL, or out of memory:
 * r->oom).  The entry moves when the next one is added. */
static struct hs_root_entry *
add_root(struct hs_roots *r, PyObject *obj, const char *kind, size_t label,
         int32_t thread, int32_t frame, int owns)
{
    struct hs_root_entry *e;

    if (!obj)
        return NULL;
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 256;
        void *v = hs_realloc(r->v, cap * sizeof(*r->v));

        if (!v) {
            r->oom = 1;
            return NULL;
        }
        r->v = v;
        r->cap = cap;
    }
    e = &r->v[r->n++];
    e->obj = obj;
    e->kind = kind;
    e->label = label;
    e->thread = thread;
    e->frame = frame;
    e->owns = (uint8_t)owns;
    e->silent = 0;
    return e;
}

#if HS_PY_AT_LEAST(0x030B0000)
/* Is d the __dict__ of a module in sys.modules (listed as roots before
 * the threads)?  O(modules). */
static int
is_module_dict(const struct hs_roots *r, PyObject *d)
{
    for (size_t i = 0; i < r->n; i++) {
        const struct hs_root_entry *e = &r->v[i];

        if (e->thread < 0 && PyModule_Check(e->obj) &&
            ((PyModuleObject *)e->obj)->md_dict == d)
            return 1;
    }
    return 0;
}
#endif

static void
add_simple(struct hs_roots *r, PyObject *obj, const char *kind,
           const char *label, int32_t thread, int owns)
{
    if (obj)
        add_root(r, obj, kind, add_label(r, NULL, NULL, label), thread, -1,
                 owns);
}

PyObject *
hs_instance_attr(PyObject *o, const char *name)
{
    PyObject **values, *keys, *dict, *k, *v;
    Py_ssize_t nvalues, pos = 0;

    dict = hs_instance_storage(o, &values, &nvalues, &keys);
    for (Py_ssize_t i = 0; i < nvalues; i++) {
        k = hs_shared_key_name(keys, i);
        if (values[i] && k && PyUnicode_Check(k) &&
            !PyUnicode_CompareWithASCIIString(k, name))
            return values[i];
    }
    if (!dict || !PyDict_Check(dict))
        return NULL;
    while (PyDict_Next(dict, &pos, &k, &v)) {
        if (PyUnicode_Check(k) && !PyUnicode_CompareWithASCIIString(k, name))
            return v;
    }
    return NULL;
}

/* The value for str key `name` of a dict, scanning (no hashing). */
static PyObject *
dict_get(PyObject *d, const char *name)
{
    Py_ssize_t pos = 0;
    PyObject *k, *v;

    if (!d || !PyDict_Check(d))
        return NULL;
    while (PyDict_Next(d, &pos, &k, &v)) {
        if (PyUnicode_Check(k) && !PyUnicode_CompareWithASCIIString(k, name))
            return v;
    }
    return NULL;
}

/* Thread objects and names from threading._active (ident -> Thread). */
static void
name_threads(struct hs_roots *r, PyObject *modules)
{
    PyObject *threading = dict_get(modules, "threading");
    PyObject *active, *k, *v;
    Py_ssize_t pos = 0;

    if (!threading || !PyModule_Check(threading))
        return;
    active = dict_get(PyModule_GetDict(threading), "_active");
    if (!active || !PyDict_Check(active))
        return;
    while (PyDict_Next(active, &pos, &k, &v)) {
        unsigned long ident;

        if (!PyLong_Check(k))
            continue;
        ident = PyLong_AsUnsignedLong(k);
        if (ident == (unsigned long)-1 && PyErr_Occurred()) {
            PyErr_Clear();
            continue;
        }
        for (size_t i = 0; i < r->nthreads; i++) {
            if (r->threads[i].ident == ident) {
                PyObject *name = hs_instance_attr(v, "_name");

                r->threads[i].thread_obj = v;
                r->threads[i].name =
                    name && PyUnicode_Check(name) ? name : NULL;
            }
        }
    }
}

static int32_t
add_frame(struct hs_roots *r, int32_t thread, uint32_t depth, hs_frame_t *f)
{
    struct hs_frame_entry *e;

    if (r->nframes == r->frames_cap) {
        size_t cap = r->frames_cap ? r->frames_cap * 2 : 64;
        void *v = hs_realloc(r->frames, cap * sizeof(*r->frames));

        if (!v) {
            r->oom = 1;
            return -1;
        }
        r->frames = v;
        r->frames_cap = cap;
    }
    e = &r->frames[r->nframes];
    e->thread = thread;
    e->depth = depth;
    e->code = hs_frame_code(f);
    e->line = hs_frame_line(f);
#if HS_PY_AT_LEAST(0x030B0000)
    e->frame_obj = (PyObject *)f->frame_obj;
#else
    e->frame_obj = (PyObject *)f;
#endif
    return (int32_t)r->nframes++;
}

/* The roots of one frame of thread `t`. */
static void
frame_roots(struct hs_roots *r, hs_frame_t *f, int32_t t, int32_t fr)
{
#if HS_PY_AT_LEAST(0x030B0000)
    PyCodeObject *co = hs_frame_code(f);
    struct hs_root_entry *e;
    PyObject *x;
    int owned;

    if (hs_frame_owned_by_generator(f)) {
        /* Its references belong to the generator; what holds the
         * generator (the caller's stack) is not readable. */
        PyObject *gen = (PyObject *)((char *)f -
                                     offsetof(PyGenObject, gi_iframe));

        add_root(r, gen, "frame", add_label(r, NULL, NULL,
                                            "running generator"),
                 t, fr, 0);
        return;
    }
    /* 3.14 stack references may own no refcount (P15). */
    for (Py_ssize_t i = 0; co && i < hs_code_nslots(co); i++) {
        x = hs_iframe_slot(f, i, &owned);
        if (x)
            add_root(r, x, "frame",
                     add_label(r, "local ", hs_code_slot_name(co, i), NULL),
                     t, fr, owned);
    }
    x = hs_iframe_func(f, &owned);
    add_root(r, x, "frame", add_label(r, NULL, NULL, "function"), t, fr,
             owned);
    x = hs_iframe_executable(f, &owned);
    add_root(r, x, "frame", add_label(r, NULL, NULL, "code"), t, fr, owned);
    e = add_root(r, f->f_locals, "frame",
                 add_label(r, NULL, NULL, "f_locals"), t, fr, 1);
    /* Module code: its namespace is its globals, the module's __dict__
     * (an exec() namespace of no module stays a root). */
    if (e && f->f_locals == f->f_globals && is_module_dict(r, f->f_locals))
        e->silent = 1;
    add_root(r, (PyObject *)f->frame_obj, "frame",
             add_label(r, NULL, NULL, "frame object"), t, fr, 1);
#else
    /* The evaluation loop's C stack owns one reference to each frame it
     * runs; a generator's frame belongs to the generator instead. */
    add_root(r, (PyObject *)f, "frame", add_label(r, NULL, NULL, "frame"),
             t, fr, f->f_gen == NULL);
    if (f->f_gen)
        add_root(r, f->f_gen, "frame",
                 add_label(r, NULL, NULL, "running generator"), t, fr, 0);
#endif
}

static void
thread_roots(struct hs_roots *r, PyThreadState *ts, unsigned long main_ident)
{
    const char *labels[HS_TSTATE_REFS_MAX];
    PyObject *refs[HS_TSTATE_REFS_MAX];
    struct hs_thread_entry *te;
    int32_t t;
    uint32_t depth = 0;
    int n;

    if (r->nthreads == r->threads_cap) {
        size_t cap = r->threads_cap ? r->threads_cap * 2 : 16;
        void *v = hs_realloc(r->threads, cap * sizeof(*r->threads));

        if (!v) {
            r->oom = 1;
            return;
        }
        r->threads = v;
        r->threads_cap = cap;
    }
    t = (int32_t)r->nthreads++;
    te = &r->threads[t];
    memset(te, 0, sizeof(*te));
    te->ident = ts->thread_id;
    te->native_id = hs_tstate_native_id(ts);
    te->is_dumper = ts == PyThreadState_Get();
    te->is_main = ts->thread_id == main_ident;
    n = hs_tstate_refs(ts, labels, refs);
    for (int i = 0; i < n; i++)
        add_simple(r, refs[i], "thread", labels[i], t, 1);
    for (hs_frame_t *f = hs_tstate_frame(ts); f; f = hs_frame_back(f)) {
        int32_t fr;

        if (!hs_frame_listed(f))
            continue;
        fr = add_frame(r, t, depth++, f);
        if (fr < 0)
            return;
        frame_roots(r, f, t, fr);
    }
}

int
hs_roots_collect(struct hs_roots *r, unsigned long main_ident)
{
    PyInterpreterState *in = PyThreadState_Get()->interp;
    PyObject *modules = hs_interp_modules(in);
    const char *labels[HS_INTERP_REFS_MAX];
    PyObject *refs[HS_INTERP_REFS_MAX];
    hs_gcstate_t *gc = hs_gcstate();
    PyObject *k, *v;
    Py_ssize_t pos = 0;
    int n;

    memset(r, 0, sizeof(*r));
    add_simple(r, modules, "sys", "sys.modules", -1, 1);
    add_simple(r, in->builtins, "builtins", "builtins", -1, 1);
    n = hs_interp_refs(in, labels, refs);
    for (int i = 0; i < n; i++)
        add_simple(r, refs[i], "sys", labels[i], -1, 1);
    add_simple(r, gc->garbage, "gc", "gc.garbage", -1, 1);
    add_simple(r, gc->callbacks, "gc", "gc.callbacks", -1, 1);
    while (modules && PyDict_Check(modules) &&
           PyDict_Next(modules, &pos, &k, &v)) {
        if (PyModule_Check(v))
            add_root(r, v, "module", add_label(r, NULL, k, NULL), -1, -1, 0);
    }
    if (!main_ident)
        main_ident = hs_main_thread_ident();
    for (PyThreadState *ts = PyInterpreterState_ThreadHead(in); ts;
         ts = PyThreadState_Next(ts))
        thread_roots(r, ts, main_ident);
    name_threads(r, modules);
    return r->oom ? -1 : 0;
}

void
hs_roots_release(struct hs_roots *r)
{
    hs_free(r->v);
    hs_free(r->threads);
    hs_free(r->frames);
    hs_str_release(&r->labels);
    memset(r, 0, sizeof(*r));
}
