/*
 * rows.c: the rows of phase 1 (walk.c), made from the records the walk
 * hands over (walk.h): each object's value text, size and flags, and each
 * reference's label, written to the sink.  This is "the output side": it
 * runs on a thread of its own while the walk goes on (handoff.c), or
 * inline on the walking thread.  Until the handoff is closed it alone
 * touches the sink, the names, its value scratch and the deferred list;
 * it reads objects but writes neither them nor any of the walk's state,
 * needs no GIL, and calls no CPython function that touches the thread
 * state or allocates (its own memory comes from the C library: mem.c).
 * A read that faults here fails the dump (guard.c's second guard).
 */
#include "walk.h"

#include <stdio.h>
#include <string.h>

/* A failure on the output side (its thread, or inline). */
static int
out_fail(struct walk *w, const char *what)
{
    if (!w->out_failed)
        snprintf(w->out_err, sizeof(w->out_err), "%s", what);
    w->out_failed = 1;
    return -1;
}

/* ---- values ------------------------------------------------------------------------ */

static int64_t
length_of(PyObject *o)
{
    if (PyUnicode_Check(o))
        return hs_str_ready(o) ? PyUnicode_GET_LENGTH(o) : -1;
    if (PyBytes_Check(o))
        return PyBytes_GET_SIZE(o);
    if (PyByteArray_Check(o))
        return PyByteArray_GET_SIZE(o);
    if (PyList_Check(o) || PyTuple_Check(o))
        return Py_SIZE(o);
    if (PyDict_Check(o))
        return PyDict_GET_SIZE(o);
    if (PyAnySet_Check(o))
        return PySet_GET_SIZE(o);
    return -1;
}

/* A frame object's value, "QUALNAME (FILE:LINE)", the way a traceback
 * names it ("QUALNAME" alone with --redact: a path says whose machine and
 * project); 0 (nothing appended) when the frame has no code object. */
static int
frame_value(struct hs_str *s, PyFrameObject *f, Py_ssize_t limit,
            int redact)
{
    PyCodeObject *co = hs_frame_object_code(f);

    if (!co || !PyUnicode_Check(hs_code_qualname(co)))
        return 0;
    hs_text_str(s, hs_code_qualname(co), limit);
    if (!redact && PyUnicode_Check(co->co_filename)) {
        hs_str_adds(s, " (");
        hs_text_str(s, co->co_filename, 4096);
        hs_str_addf(s, ":%d)", PyFrame_GetLineNumber(f));
    }
    return 1;
}


uint8_t
hs_rows_value_kind(PyObject *o, const struct hs_typeinfo *ti)
{
    if (PyUnicode_Check(o))
        return VK_STR;
    if (PyBytes_Check(o))
        return VK_BYTES;
    if (PyByteArray_Check(o))
        return VK_BYTEARRAY;
    if (PyBool_Check(o))
        return VK_BOOL;
    if (PyLong_Check(o))
        return VK_INT;
    if (PyFloat_Check(o))
        return VK_FLOAT;
    if (PyComplex_Check(o))
        return VK_COMPLEX;
    if (o == Py_None)
        return VK_NONETYPE;
    if (PyType_Check(o))
        return VK_TYPE;
    if (PyFunction_Check(o))
        return VK_FUNCTION;
    if (PyCode_Check(o))
        return VK_CODE;
    if (PyModule_Check(o))
        return VK_MODULE;
    if (PyMethod_Check(o))
        return VK_METHOD;
    if (PyCFunction_Check(o))
        return VK_CFUNCTION;
    if (hs_is_generator(o))
        return VK_GENERATOR;
    if (PyFrame_Check(o))
        return VK_FRAME;
    if (ti->foreign >= HS_FOREIGN_FILEIO)
        return VK_RESOURCE;
    return VK_NONE;
}

/* Values only the thread holding the GIL reads: a module's name may be
 * looked up in its dict, a frame's line worked out from its code, a
 * stdlib resource's fields read through its type (foreign_stdlib.c). */
int
hs_rows_value_on_walk(uint8_t kind)
{
    return kind == VK_MODULE || kind == VK_FRAME || kind == VK_RESOURCE;
}

/* The short value of o (of type info ti, whose value_kind is known) into
 * s; returns the flags it implies and sets *has to 1 when there is a
 * value. */
uint32_t
hs_rows_value_of(const struct hs_dump_options *opts, struct hs_str *s,
                 PyObject *o, const struct hs_typeinfo *ti, int *has)
{
    Py_ssize_t limit = opts->value_limit;
    uint32_t flags = 0;
    PyObject *name = NULL;

    hs_str_reset(s);
    *has = 1;
    switch (ti->value_kind) {
    case VK_STR:
        /* Interned or not: string literals are interned too.  The
         * identifiers stay in labels, types and code objects' names. */
        if (opts->redact)
            flags |= HS_F_REDACTED;
        else if (hs_text_str(s, o, limit))
            flags |= HS_F_VALUE_TRUNCATED;
        break;
    case VK_BYTES:
    case VK_BYTEARRAY:
        if (opts->redact)
            flags |= HS_F_REDACTED;
        else if (ti->value_kind == VK_BYTES
                     ? hs_text_bytes_repr(s, PyBytes_AS_STRING(o),
                                          PyBytes_GET_SIZE(o), limit)
                     : hs_text_bytes_repr(s, PyByteArray_AS_STRING(o),
                                          PyByteArray_GET_SIZE(o), limit))
            flags |= HS_F_VALUE_TRUNCATED;
        break;
    case VK_BOOL:
        hs_str_adds(s, o == Py_True ? "True" : "False");
        break;
    case VK_INT:
        hs_text_int(s, o, limit);
        break;
    case VK_FLOAT:
        hs_text_float(s, PyFloat_AS_DOUBLE(o));
        break;
    case VK_COMPLEX: {
        Py_complex c = ((PyComplexObject *)o)->cval;

        hs_str_addch(s, '(');
        hs_text_float(s, c.real);
        hs_str_adds(s, c.imag < 0 ? "-" : "+");
        hs_text_float(s, c.imag < 0 ? -c.imag : c.imag);
        hs_str_adds(s, "j)");
        break;
    }
    case VK_NONETYPE:
        hs_str_adds(s, "None");
        break;
    case VK_TYPE: {
        PyTypeObject *tp = (PyTypeObject *)o;

        if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE)
            name = ((PyHeapTypeObject *)tp)->ht_qualname;
        else
            hs_str_adds(s, tp->tp_name);
        break;
    }
    case VK_FUNCTION:
        name = ((PyFunctionObject *)o)->func_qualname;
        break;
    case VK_CODE:
        name = hs_code_qualname((PyCodeObject *)o);
        break;
    case VK_MODULE:
        name = hs_module_name_field(o);
        if (!name)
            name = hs_instance_attr(o, "__name__");
        break;
    case VK_METHOD: {
        PyObject *f = PyMethod_GET_FUNCTION(o);

        if (PyFunction_Check(f))
            name = ((PyFunctionObject *)f)->func_qualname;
        break;
    }
    case VK_CFUNCTION: {
        PyCFunctionObject *f = (PyCFunctionObject *)o;

        if (f->m_ml && f->m_ml->ml_name)
            hs_str_adds(s, f->m_ml->ml_name);
        break;
    }
    case VK_GENERATOR:
        name = ((PyGenObject *)o)->gi_qualname;
        break;
    case VK_FRAME:
        *has = frame_value(s, (PyFrameObject *)o, limit, opts->redact);
        break;
    case VK_RESOURCE:
        hs_stdlib_resource_value(s, o, ti->foreign);
        break;
    default:
        *has = 0;
        break;
    }
    if (name && PyUnicode_Check(name))
        hs_text_str(s, name, limit);
    else if (name)
        *has = 0;
    if (flags & HS_F_REDACTED)
        *has = 0;
    return flags;
}

/* Phase 4 will call o's C-level __sizeof__ (its row holds the fallback
 * size and flag) or, with a Python-level one, record what that says.
 * Output side: the reference that keeps o alive until then is taken
 * after phase 1 (hold_deferred()), by the thread holding the GIL. */
static int
defer_size(struct walk *w, PyObject *o, struct hs_typeinfo *ti, uint32_t id,
           int64_t size, uint32_t flags)
{
    struct deferred *d;

    if (w->ndeferred == w->deferred_cap) {
        size_t cap = w->deferred_cap ? w->deferred_cap * 2 : 256;

        d = hs_realloc(w->deferred, cap * sizeof(*d));
        if (!d)
            return out_fail(w, "out of memory (sizes)");
        w->deferred = d;
        w->deferred_cap = cap;
    }
    d = &w->deferred[w->ndeferred++];
    d->o = o;
    d->ti = ti;
    d->id = id;
    d->size = size;
    d->flags = flags;
    return 0;
}

/*
 * The label of a dict key edge (its value or the key itself) of dict
 * `src` under --redact: the key as usual in a namespace (its identifiers
 * stay; hs_names_object() still hides keys that are not interned), else
 * only the key's type, "<str>": a data dict's keys are data.
 */
static int64_t
key_label(struct walk *w, PyObject *key, PyObject *src)
{
    char text[96];

    if (!w->opts->redact || hs_walk_ptrmap_has(&w->namespaces, src))
        return hs_names_object(&w->names, key, HS_L_KEY);
    snprintf(text, sizeof(text), "<%.80s>", Py_TYPE(key)->tp_name);
    return hs_names_cstr(&w->names, text);
}

/* The label argument of an edge of object src (output side). */
static int64_t
label_arg(struct walk *w, const struct rec_ref *r, PyObject *src)
{
    switch (r->lbl) {
    case HS_L_INDEX:
        return r->arg.index;
    case HS_L_CSTR:
        return hs_names_static(&w->names, r->arg.cstr);
    case HS_L_KEY:
        return key_label(w, r->arg.obj, src);
    case HS_L_IDENT:
        return hs_names_object(&w->names, r->arg.obj, r->lbl);
    case HS_L_TEXT:
        return hs_names_cstr(&w->names, (const char *)(r + 1));
    default:
        return -1;
    }
}

/* ---- the rows ----------------------------------------------------------------------- */

/*
 * The records above become the sink's rows here, on the output thread
 * (handoff.c) while the walk goes on, or inline.  This side owns the
 * sink, the names, `value` and the deferred list until the handoff is
 * closed; it reads objects (values, sizes, flags) but never writes them
 * nor any walk state, needs no GIL and calls no CPython function that
 * touches the thread state.
 */

static int
out_type(struct walk *w, const struct rec_type *r)
{
    const char *p = (const char *)(r + 1), *name[3];

    for (int i = 0; i < 3; i++) {
        name[i] = r->len[i] == UINT32_MAX ? NULL : p;
        if (name[i])
            p += PAD8(r->len[i] + 1);
    }
    hs_sink_type(w->sink, r->ti->id, name[0] ? name[0] : "?", name[1],
                 name[2], r->flags);
    if (r->has_layout)
        hs_sink_type_layout(w->sink, &r->layout);
    return 0;
}

/* The object's row: what the walk read, and the rest read now. */
static int
out_object(struct walk *w, const struct rec_object *r)
{
    PyObject *o = r->o;
    struct hs_typeinfo *ti = r->ti;
    uint32_t flags = r->flags;
    const char *text;
    size_t len;
    Py_ssize_t size;
    int has_value;

    w->out_id = r->id;
    w->out_obj = o;
    if (r->text) {
        text = (const char *)(r + 1);
        len = r->textlen;
        has_value = r->has_value;
    } else {
        flags |= hs_rows_value_of(w->opts, &w->value, o, ti, &has_value);
        /* A value lost to a failed allocation would be a silently wrong
         * row: fail the dump instead. */
        if (w->value.failed)
            return out_fail(w, "out of memory (values)");
        text = w->value.data;
        len = w->value.len;
    }
    if (PyObject_IS_GC(o) && hs_gc_is_tracked(o)) {
        flags |= HS_F_GC_TRACKED;
        if (hs_gc_finalized(o))
            flags |= HS_F_FINALIZED;
    }
    if (ti->flags & HS_TF_HAS_DEL)
        flags |= HS_F_HAS_DEL;
    if (PyUnicode_Check(o) && PyUnicode_CHECK_INTERNED(o))
        flags |= HS_F_INTERNED;
    size = hs_size_of(ti, o);
    if (size < 0) {
        size = hs_size_basic(o);
        flags |= HS_F_SIZE_FALLBACK;
    }
    hs_sink_object(w->sink, r->id, (uint64_t)(uintptr_t)o, ti->id, size,
                   r->refcount, length_of(o), text, len, has_value, flags);
    if (((flags & HS_F_SIZE_FALLBACK) ||
         (ti->py_sizeof && !w->opts->no_python)) &&
        defer_size(w, o, ti, r->id, size, flags) < 0)
        return -1;
    return 0;
}

static int
out_ref(struct walk *w, const struct rec_ref *r)
{
    hs_sink_edge(w->sink, w->out_id, r->dst, r->kind,
                 label_arg(w, r, w->out_obj));
    if (w->names.oom)
        return out_fail(w, "out of memory (names)");
    return 0;
}

/* The size of the record at p. */
static size_t
record_size(const unsigned char *p)
{
    size_t n = 0;

    switch (*p) {
    case R_TYPE: {
        const struct rec_type *r = (const struct rec_type *)p;

        n = sizeof(*r);
        for (int i = 0; i < 3; i++)
            if (r->len[i] != UINT32_MAX)
                n += PAD8(r->len[i] + 1);
        break;
    }
    case R_OBJECT: {
        const struct rec_object *r = (const struct rec_object *)p;

        n = sizeof(*r) + (r->text ? PAD8(r->textlen + 1) : 0);
        break;
    }
    case R_REF:
    case R_REF_TEXT:
        n = sizeof(struct rec_ref) +
            (*p == R_REF_TEXT
                 ? PAD8((size_t)((const struct rec_ref *)p)->arg.index + 1)
                 : 0);
        break;
    }
    return n;
}

/*
 * handoff.c's consumer: whole records, in order.  The objects of the
 * records OUT_AHEAD objects ahead are prefetched: their values and sizes
 * are read here long after the walk let go of them, and at 10M objects
 * those misses made the walk wait for this thread.
 */
#define OUT_AHEAD 8

static int
out_consume(void *arg, const unsigned char *p, size_t n)
{
    struct walk *w = arg;
    const unsigned char *end = p + n, *ahead = p;
    unsigned nahead = 0; /* object records between p and ahead */
    int rc = 0;

    /* A fault from here on is the output side's (fault_message()). */
    w->out_active = w->out_inline;
    while (p < end && rc == 0) {
        size_t size = record_size(p);

        while (nahead < OUT_AHEAD && ahead < end) {
            size_t k = record_size(ahead);

            if (!k)
                break;
            if (*ahead == R_OBJECT) {
                __builtin_prefetch(((const struct rec_object *)ahead)->o);
                nahead++;
            }
            ahead += k;
        }
        switch (*p) {
        case R_TYPE:
            rc = out_type(w, (const struct rec_type *)p);
            break;
        case R_OBJECT:
            rc = out_object(w, (const struct rec_object *)p);
            if (nahead)
                nahead--;
            break;
        case R_REF:
        case R_REF_TEXT:
            rc = out_ref(w, (const struct rec_ref *)p);
            break;
        default:
            rc = out_fail(w, "internal error: an unknown record");
            break;
        }
        p += size;
    }
    w->out_active = 0;
    return rc;
}

/* A fault on the output thread (handoff.c). */
static void
out_fault(void *arg, int sig, void *addr, int named)
{
    struct walk *w = arg;

    hs_walk_fault_text(w->out_err, sizeof(w->out_err), sig, addr, w->out_obj,
                       named);
    w->out_failed = 1;
}

const struct hs_handoff_ops hs_rows_ops = { out_consume, out_fault };

/* Ends phase 1's output side: 0, or -1 with its failure in w->err. */
int
hs_rows_close(struct walk *w)
{
    int rc;

    if (!w->out)
        return 0;
    rc = hs_handoff_close(w->out, &w->out_waited);
    w->out = NULL;
    hs_sink_hold(w->sink, 0);
    w->out_active = 0;
    if (rc < 0 && !w->out_failed)
        out_fail(w, "internal error: the output side failed");
    if (!w->out_failed)
        return 0;
    if (!w->failed || w->output_cause)
        snprintf(w->err, w->errlen, "%s", w->out_err);
    w->failed = 1;
    return -1;
}

