/*
 * referents.c: every reference one object holds, each with a kind and a
 * label (research/cpython-internals.md section 4).
 *
 * Two sources, reconciled:
 *  1. labelled references read from the object's fields: per-type
 *     handlers for the builtins, instance attributes (inline values, the
 *     managed dict or __dict__, never materialised), __slots__ and C
 *     members (PyMemberDef object fields where the instance's real
 *     layout has them, layout.c), and the heap type (__class__);
 *  2. tp_traverse, the ground truth for strong references the collector
 *     knows about.
 * Each labelled reference says whether tp_traverse is expected to report
 * it.  Matching removes one reported pointer per expected reference;
 * then each field of a mypyc class that compiled_fields.c names takes the
 * reported pointer it holds, as an attribute; pointers left over become
 * kind "other" references, numbered.  Labelled
 * references tp_traverse does not report (dict str keys, type names, code
 * constants) are real strong references too and are kept.  So in-degree
 * stays exact for types this file has never heard of.
 *
 * Known limitation: nothing says whether a C member (PyMemberDef
 * T_OBJECT field) owns its object.  A member that tp_traverse does not
 * report and that points to a gc object is taken for a borrowed pointer
 * and dropped; so is, in types without gc support (no tp_traverse to
 * ask), a member pointing to a class.  sqlite3.Connection.Error & co are
 * such borrowed pointers on every version.  An owned member wrongly
 * dropped shows up as an "external" reference of its target, never as a
 * negative balance.
 *
 * Exact builtin types and instances of class statements ("plain") have
 * fully known layouts and skip tp_traverse.  Exact lists, tuples, dicts
 * and sets give their references HS_REFS_BATCH at a time, so the list
 * stays small however big the container.  tp_traverse is only called on
 * objects for which PyObject_IS_GC() holds (P4).  Nothing here allocates a
 * Python object, runs Python code or touches a reference count.
 */
#include "agent.h"

#include <string.h>

/* ---- building the list -------------------------------------------------------- */

static struct hs_ref *
push(struct hs_refs *r)
{
    if (r->n == r->cap) {
        size_t cap = r->cap ? r->cap * 2 : 64;
        struct hs_ref *v = hs_realloc(r->v, cap * sizeof(*v));

        if (!v) {
            r->oom = 1;
            return NULL;
        }
        r->v = v;
        r->cap = cap;
    }
    return &r->v[r->n++];
}

static void
add_cstr(struct hs_refs *r, PyObject *dst, int kind, const char *name,
         int trav)
{
    struct hs_ref *x;

    if (!dst || !(x = push(r)))
        return;
    x->dst = dst;
    x->kind = (uint8_t)kind;
    x->lbl = name ? HS_L_CSTR : HS_L_NONE;
    x->trav = (uint8_t)trav;
    x->uncounted = 0;
    x->u.cstr = name;
}

static void
add_obj(struct hs_refs *r, PyObject *dst, int kind, int lbl, PyObject *name,
        int trav)
{
    struct hs_ref *x;

    if (!dst || !(x = push(r)))
        return;
    x->dst = dst;
    x->kind = (uint8_t)kind;
    x->lbl = (uint8_t)lbl;
    x->trav = (uint8_t)trav;
    x->uncounted = 0;
    x->u.obj = name;
}

static void
add_index(struct hs_refs *r, PyObject *dst, int kind, Py_ssize_t index,
          int trav)
{
    struct hs_ref *x;

    if (!dst || !(x = push(r)))
        return;
    x->dst = dst;
    x->kind = (uint8_t)kind;
    x->lbl = HS_L_INDEX;
    x->trav = (uint8_t)trav;
    x->uncounted = 0;
    x->u.index = index;
}

/* A label made now: its text goes to r->text, NUL-terminated. */
static void
add_text(struct hs_refs *r, PyObject *dst, int kind, size_t off, int trav)
{
    struct hs_ref *x;

    if (r->text.failed) {
        r->oom = 1;
        return;
    }
    if (!dst || !(x = push(r)))
        return;
    hs_str_addch(&r->text, '\0');
    x->dst = dst;
    x->kind = (uint8_t)kind;
    x->lbl = HS_L_TEXT;
    x->trav = (uint8_t)trav;
    x->u.index = (Py_ssize_t)off;
}

#define ATTR(r, dst, name, trav) add_cstr((r), (PyObject *)(dst), HS_K_ATTR, (name), (trav))

/* The reference just added holds no refcount unless `owned`. */
static void
mark_owned(struct hs_refs *r, PyObject *dst, int owned)
{
    if (dst && !owned && r->n && r->v[r->n - 1].dst == dst)
        r->v[r->n - 1].uncounted = 1;
}

/* ---- builtins ------------------------------------------------------------------ */

/* A batch is full: the walk over the container stops at `pos`. */
static int
batch_full(struct hs_refs *r, int batched, Py_ssize_t pos)
{
    if (!batched || r->n < HS_REFS_BATCH)
        return 0;
    r->pos = pos;
    r->more = 1;
    return 1;
}

/* From r->pos on when batched (exact dicts), else the whole dict. */
static void
dict_refs(struct hs_refctx *ctx, struct hs_refs *r, PyObject *o, int batched)
{
    enum hs_dict_layout layout = hs_dict_layout((PyDictObject *)o);
    int keys_trav = hs_dict_traverses_keys((PyDictObject *)o);
    Py_ssize_t pos = batched ? r->pos : 0;
    PyObject *key, *value;
    int interned = o == ctx->interned;

    /* Values embedded in an object belong to that object unless the
     * dict traverses them (P6, gh-130327). */
    if (layout == HS_DICT_EMBEDDED && !ctx->dict_owns_values)
        return;
    keys_trav = keys_trav < 0 ? HS_T_MAYBE : keys_trav ? HS_T_YES : HS_T_NO;
    while (PyDict_Next(o, &pos, &key, &value)) {
        /* Keys of a split table belong to the type's shared keys. */
        if (layout == HS_DICT_COMBINED) {
            add_obj(r, key, HS_K_KEY, HS_L_KEY, key, keys_trav);
            mark_owned(r, key, !interned);
        }
        add_obj(r, value, HS_K_VALUE, HS_L_KEY, key, HS_T_YES);
        mark_owned(r, value, !interned);
        if (batch_full(r, batched, pos))
            return;
    }
}

static void
sequence_refs(struct hs_refs *r, PyObject **items, Py_ssize_t n, int batched)
{
    for (Py_ssize_t i = batched ? r->pos : 0; i < n; i++) {
        add_index(r, items[i], HS_K_ITEM, i, HS_T_YES);
        if (i + 1 < n && batch_full(r, batched, i + 1))
            return;
    }
}

static void
set_refs(struct hs_refs *r, PyObject *o, int batched)
{
    PySetObject *so = (PySetObject *)o;

    /* Dummy entries (deleted keys) carry hash -1, which no real key has. */
    for (Py_ssize_t i = batched ? r->pos : 0; i <= so->mask; i++) {
        setentry *e = &so->table[i];

        if (e->key && e->hash != -1)
            add_cstr(r, e->key, HS_K_ELEMENT, NULL, HS_T_YES);
        if (i < so->mask && batch_full(r, batched, i + 1))
            return;
    }
}

static void
function_refs(struct hs_refs *r, PyObject *o)
{
    PyFunctionObject *f = (PyFunctionObject *)o;

    ATTR(r, f->func_code, "__code__", HS_T_YES);
    ATTR(r, f->func_globals, "__globals__", HS_T_YES);
#if HS_PY_AT_LEAST(0x030A0000)
    ATTR(r, f->func_builtins, "__builtins__", HS_T_YES);
#endif
    ATTR(r, f->func_module, "__module__", HS_T_YES);
    ATTR(r, f->func_defaults, "__defaults__", HS_T_YES);
    ATTR(r, f->func_kwdefaults, "__kwdefaults__", HS_T_YES);
    ATTR(r, f->func_doc, "__doc__", HS_T_YES);
    ATTR(r, f->func_name, "__name__", HS_T_YES);
    ATTR(r, f->func_qualname, "__qualname__", HS_T_YES);
    ATTR(r, f->func_closure, "__closure__", HS_T_YES);
    ATTR(r, f->func_annotations, "__annotations__", HS_T_YES);
#if HS_PY_AT_LEAST(0x030E0000)
    ATTR(r, f->func_annotate, "__annotate__", HS_T_YES);
#endif
#if HS_PY_AT_LEAST(0x030C0000)
    ATTR(r, f->func_typeparams, "__type_params__", HS_T_YES);
#endif
}

/* Adds one ref per shared key string of a heap type. */
struct cached_keys_ctx {
    struct hs_refs *r;
};

static void
add_cached_key(PyObject *key, void *arg)
{
    struct cached_keys_ctx *c = arg;

    add_obj(c->r, key, HS_K_KEY, HS_L_KEY, key, HS_T_NO);
}

static void
type_refs(struct hs_refs *r, PyObject *o)
{
    PyTypeObject *tp = (PyTypeObject *)o;
    struct cached_keys_ctx ck = { r };

    ATTR(r, hs_type_dict(tp), "__dict__", HS_T_YES);
    ATTR(r, tp->tp_mro, "__mro__", HS_T_YES);
    ATTR(r, tp->tp_bases, "__bases__", HS_T_YES);
    ATTR(r, tp->tp_base, "__base__", HS_T_YES);
    ATTR(r, tp->tp_cache, "tp_cache", HS_T_MAYBE);
    ATTR(r, hs_type_subclasses(tp), "__subclasses__", HS_T_NO);
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;

        ATTR(r, ht->ht_name, "__name__", HS_T_NO);
        ATTR(r, ht->ht_qualname, "__qualname__", HS_T_NO);
        ATTR(r, ht->ht_slots, "__slots__", HS_T_NO);
#if HS_PY_AT_LEAST(0x03090000)
        ATTR(r, ht->ht_module, "ht_module", HS_T_YES);
#endif
        hs_type_cached_keys(tp, add_cached_key, &ck);
    }
}

static void
code_refs(struct hs_refs *r, PyObject *o)
{
    const char *names[6];
    PyObject *refs[6];
    int n = hs_code_hidden_refs((PyCodeObject *)o, names, refs);

    for (int i = 0; i < n; i++)
        ATTR(r, refs[i], names[i], HS_T_NO);
}

static void
descr_refs(struct hs_refs *r, PyObject *o)
{
    PyDescrObject *d = (PyDescrObject *)o;

    ATTR(r, d->d_type, "__objclass__", HS_T_YES);
    ATTR(r, d->d_name, "__name__", HS_T_NO);
    ATTR(r, d->d_qualname, "__qualname__", HS_T_NO);
}

static int
is_descriptor(PyTypeObject *tp)
{
    return tp == &PyMethodDescr_Type || tp == &PyClassMethodDescr_Type ||
           tp == &PyMemberDescr_Type || tp == &PyGetSetDescr_Type ||
           tp == &PyWrapperDescr_Type;
}

#if HS_PY_AT_LEAST(0x030B0000)
/* A frame field read as a stack reference, owning a refcount or not. */
static void
frame_ref(struct hs_refs *r, PyObject *dst, int owned, const char *name)
{
    ATTR(r, dst, name, HS_T_YES);
    mark_owned(r, dst, owned);
}

/* References an interpreter frame holds when an object owns it (a
 * generator, or a frame object whose function returned): its fast slots
 * (locals, cells and free variables) by name. */
static void
iframe_refs(struct hs_refs *r, _PyInterpreterFrame *f)
{
    PyCodeObject *co = hs_frame_code(f);
    PyObject *x;
    int owned;

    x = hs_iframe_func(f, &owned);
    frame_ref(r, x, owned, "f_func");
    x = hs_iframe_executable(f, &owned);
    frame_ref(r, x, owned, "f_code");
    ATTR(r, f->f_locals, "f_locals", HS_T_YES);
    ATTR(r, (PyObject *)f->frame_obj, "frame", HS_T_MAYBE);
    for (Py_ssize_t i = 0; co && i < hs_code_nslots(co); i++) {
        x = hs_iframe_slot(f, i, &owned);
        add_obj(r, x, HS_K_LOCAL, HS_L_IDENT, hs_code_slot_name(co, i),
                HS_T_MAYBE);
        mark_owned(r, x, owned);
    }
}
#else
/* Fast slots of a frame object: locals, cells and free variables, by
 * name. */
static void
slot_refs(struct hs_refs *r, PyCodeObject *co, PyObject **slots, int trav)
{
    Py_ssize_t n = hs_code_nslots(co);

    for (Py_ssize_t i = 0; i < n; i++)
        add_obj(r, slots[i], HS_K_LOCAL, HS_L_IDENT,
                hs_code_slot_name(co, i), trav);
}
#endif

static void
frame_refs(struct hs_refs *r, PyObject *o)
{
    PyFrameObject *f = (PyFrameObject *)o;

#if HS_PY_AT_LEAST(0x030B0000)
    ATTR(r, (PyObject *)f->f_back, "f_back", HS_T_YES);
    ATTR(r, f->f_trace, "f_trace", HS_T_YES);
#if HS_PY_AT_LEAST(0x030D0000)
    ATTR(r, f->f_extra_locals, "f_extra_locals", HS_T_YES);
    ATTR(r, f->f_locals_cache, "f_locals_cache", HS_T_YES);
#endif
#if HS_PY_AT_LEAST(0x030E0000)
    ATTR(r, f->f_overwritten_fast_locals, "f_overwritten_fast_locals",
         HS_T_YES);
#endif
    if (f->f_frame && f->f_frame->owner == FRAME_OWNED_BY_FRAME_OBJECT)
        iframe_refs(r, f->f_frame);
#else
    ATTR(r, (PyObject *)f->f_back, "f_back", HS_T_YES);
    ATTR(r, (PyObject *)f->f_code, "f_code", HS_T_YES);
    ATTR(r, f->f_builtins, "f_builtins", HS_T_YES);
    ATTR(r, f->f_globals, "f_globals", HS_T_YES);
    ATTR(r, f->f_locals, "f_locals", HS_T_YES);
    ATTR(r, f->f_trace, "f_trace", HS_T_YES);
    slot_refs(r, f->f_code, f->f_localsplus, HS_T_YES);
#endif
}

static void
gen_refs(struct hs_refs *r, PyObject *o)
{
    PyGenObject *g = (PyGenObject *)o;

    ATTR(r, g->gi_name, "__name__", HS_T_YES);
    ATTR(r, g->gi_qualname, "__qualname__", HS_T_YES);
#if HS_PY_AT_LEAST(0x030B0000)
#if !HS_PY_AT_LEAST(0x030C0000)
    ATTR(r, (PyObject *)g->gi_code, "gi_code", HS_T_YES);
#endif
    ATTR(r, g->gi_exc_state.exc_value, "<handled exception>", HS_T_YES);
    /* Only coroutines (origin) and async generators (finalizer) use
     * this field; a plain generator's may hold a stale pointer. */
    if (!PyGen_CheckExact(o))
        ATTR(r, g->gi_origin_or_finalizer,
             PyCoro_CheckExact(o) ? "cr_origin" : "<finalizer>", HS_T_YES);
    {
        _PyInterpreterFrame *f = hs_gen_iframe(o);
        int owned;
        PyObject *code = hs_gen_cleared_code(o, &owned);

        if (f)
            iframe_refs(r, f);
        frame_ref(r, code, owned, "gi_code");
    }
#else
    ATTR(r, (PyObject *)g->gi_frame, "gi_frame", HS_T_YES);
    ATTR(r, g->gi_code, "gi_code", HS_T_YES);
    ATTR(r, g->gi_exc_state.exc_type, "<handled exception type>", HS_T_YES);
    ATTR(r, g->gi_exc_state.exc_value, "<handled exception>", HS_T_YES);
    ATTR(r, g->gi_exc_state.exc_traceback, "<handled traceback>", HS_T_YES);
#endif
}

static void
exception_refs(struct hs_refs *r, PyObject *o)
{
    PyBaseExceptionObject *e = (PyBaseExceptionObject *)o;

    ATTR(r, e->args, "args", HS_T_YES);
#if HS_PY_AT_LEAST(0x030B0000)
    ATTR(r, e->notes, "__notes__", HS_T_YES);
#endif
    ATTR(r, e->traceback, "__traceback__", HS_T_YES);
    ATTR(r, e->context, "__context__", HS_T_YES);
    ATTR(r, e->cause, "__cause__", HS_T_YES);
}

static void
traceback_refs(struct hs_refs *r, PyObject *o)
{
    PyTracebackObject *tb = (PyTracebackObject *)o;

    /* tb_next is a getset (writable since 3.7), so no member names it. */
    ATTR(r, tb->tb_next, "tb_next", HS_T_YES);
    ATTR(r, tb->tb_frame, "tb_frame", HS_T_YES);
}

static void
weakref_refs(struct hs_refs *r, PyObject *o)
{
    PyWeakReference *w = (PyWeakReference *)o;

    if (w->wr_object && w->wr_object != Py_None)
        add_cstr(r, w->wr_object, HS_K_WEAK, NULL, HS_T_NO);
    ATTR(r, w->wr_callback, "__callback__", HS_T_YES);
}

static void
cfunction_refs(struct hs_refs *r, PyObject *o)
{
    PyCFunctionObject *f = (PyCFunctionObject *)o;

    ATTR(r, f->m_self, "__self__", HS_T_YES);
    ATTR(r, f->m_module, "__module__", HS_T_YES);
#if HS_PY_AT_LEAST(0x03090000)
    if (f->m_ml && (f->m_ml->ml_flags & METH_METHOD))
        ATTR(r, (PyObject *)((PyCMethodObject *)o)->mm_class,
             "__objclass__", HS_T_YES);
#endif
}

/* ---- instances ----------------------------------------------------------------- */

/* Attribute values and __dict__, without materialising __dict__. */
static void
storage_refs(struct hs_refctx *ctx, struct hs_refs *r, PyObject *o)
{
    PyObject **values, *keys;
    Py_ssize_t nvalues;
    PyObject *dict = hs_instance_storage(o, &values, &nvalues, &keys);

    /* 3.13+ inline values with a materialised dict sharing them: the
     * dict owns them on 3.13.13+ / 3.14.4+, the object before (P6). */
    int own_values = values && !(dict && ctx->dict_owns_values);

    for (Py_ssize_t i = 0; own_values && i < nvalues; i++)
        add_obj(r, values[i], HS_K_ATTR, HS_L_IDENT,
                hs_shared_key_name(keys, i), HS_T_YES);
    /* With the object owning the values, tp_traverse skips the dict. */
    ATTR(r, dict, "__dict__", own_values ? HS_T_NO : HS_T_YES);
}

/* ---- buffers ------------------------------------------------------------------- */

/* A memoryview holds its managed buffer, which holds the exporter
 * (memoryview.obj; the view's own copy of that pointer is borrowed). */
static void
memoryview_refs(struct hs_refs *r, PyObject *o)
{
    ATTR(r, ((PyMemoryViewObject *)o)->mbuf, "<managed buffer>", HS_T_YES);
}

static void
managed_buffer_refs(struct hs_refs *r, PyObject *o)
{
    ATTR(r, ((_PyManagedBufferObject *)o)->master.obj, "obj", HS_T_YES);
}

/*
 * numpy arrays (fields read by foreign_numpy.c): the base a view keeps
 * alive, the dtype, and the elements an object array owns, [i] or [i,j],
 * from r->pos on, a batch at a time when `batched`.  tp_traverse reports
 * none of them (ndarray has no gc support).
 */
static void
ndarray_refs(struct hs_refs *r, PyObject *o, int batched)
{
    Py_ssize_t n = hs_numpy_object_count(o);
    int nd = hs_numpy_ndim(o);

    if (r->pos == 0) {
        ATTR(r, hs_numpy_base(o), "base", HS_T_NO);
        ATTR(r, hs_numpy_dtype(o), "dtype", HS_T_NO);
    }
    for (Py_ssize_t i = r->pos; i < n; i++) {
        if (nd == 1) {
            add_index(r, hs_numpy_object_at(o, i, NULL), HS_K_ITEM, i,
                      HS_T_NO);
        } else {
            size_t off = r->text.len;
            PyObject *v = hs_numpy_object_at(o, i, &r->text);

            add_text(r, v, HS_K_VALUE, off, HS_T_NO);
        }
        if (i + 1 < n && batch_full(r, batched, i + 1))
            break;
    }
}

/*
 * Object fields declared as PyMemberDef (C members and __slots__) that the
 * instance's layout really has (layout.c), but those of `covered` (whose
 * fields a handler already read).  0, or -1 when memory ran out.
 */
static int
member_refs(struct hs_refs *r, PyObject *o, struct hs_typeinfo *ti,
            PyTypeObject *covered)
{
    if (!ti->members_done && hs_layout_members(ti) < 0)
        return -1;
    for (uint32_t i = 0; i < ti->nmembers; i++) {
        const struct hs_member *m = &ti->members[i];
        PyObject *v;

        if (m->owner == covered)
            continue;
        v = *(PyObject **)((char *)o + m->offset);
        /* A type without gc support has no tp_traverse to tell owned
         * from borrowed members; pointers to classes there are borrowed
         * in practice (3.8/3.9 sqlite3.Connection.Error). */
        if (v && !PyObject_IS_GC(o) && PyType_Check(v))
            continue;
        add_cstr(r, v, HS_K_ATTR, m->name, HS_T_MEMBER);
    }
    return 0;
}

/* ---- reconciliation with tp_traverse --------------------------------------------- */

static int
collect_visit(PyObject *p, void *arg)
{
    struct hs_refs *r = arg;

    if (!p)
        return 0;
    if (r->ntrav == r->travcap) {
        size_t cap = r->travcap ? r->travcap * 2 : 64;
        PyObject **t = hs_realloc(r->trav, cap * sizeof(*t));

        if (!t) {
            r->oom = 1;
            return 1;
        }
        r->trav = t;
        r->travcap = cap;
    }
    r->trav[r->ntrav++] = p;
    return 0;
}

static inline uint32_t
ptr_slot(PyObject *p, uint32_t mask)
{
    uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL;

    return (uint32_t)(h >> 32) & mask;
}

/*
 * Removes one occurrence of p from the traverse list (marks it NULL);
 * returns 1 if found.  Small lists are scanned from *at (updated past the
 * match); big ones use a hash of positions built once per object
 * (r->hash, 0 = empty, else index + 1).
 */
static int
consume_from(struct hs_refs *r, PyObject *p, uint32_t mask, size_t *at)
{
    if (!mask) {
        /* From *at on, wrapping: references looked up in the order
         * tp_traverse reported them are found at once. */
        for (size_t n = 0, i = *at; n < r->ntrav; n++, i++) {
            if (i == r->ntrav)
                i = 0;
            if (r->trav[i] == p) {
                r->trav[i] = NULL;
                *at = i + 1;
                return 1;
            }
        }
        return 0;
    }
    for (uint32_t s = ptr_slot(p, mask);; s = (s + 1) & mask) {
        uint32_t pos = r->hash[s];

        if (!pos)
            return 0;
        if (r->trav[pos - 1] == p) {
            r->trav[pos - 1] = NULL;
            return 1;
        }
    }
}

static int
consume(struct hs_refs *r, PyObject *p, uint32_t mask)
{
    size_t at = 0;

    return consume_from(r, p, mask, &at);
}

static int
lru_link_type_ref(PyObject *o, PyObject *p)
{
    return PyType_Check(p) &&
           !strcmp(((PyTypeObject *)p)->tp_name, "functools._lru_list_elem") &&
           !strcmp(Py_TYPE(o)->tp_name, "functools._lru_cache_wrapper");
}

/*
 * Names the reported pointers that the fields of a mypyc class hold
 * (compiled_fields.c): each field takes one remaining reported pointer
 * equal to what it holds, so a field never names a reference tp_traverse
 * did not report.  Fields come in offset order, the order mypyc's
 * tp_traverse reports them in, so each is typically found where the last
 * one was: O(fields + references) per object then, O(fields x
 * references) at worst (small lists only; big ones are hashed).
 */
static void
field_refs(struct hs_refs *r, PyObject *o, const struct hs_typeinfo *ti,
           uint32_t mask)
{
    size_t at = 0;

    for (uint32_t i = 0; i < ti->nfields; i++) {
        const struct hs_member *f = &ti->fields[i];
        uintptr_t w = *(uintptr_t *)((char *)o + f->offset);

        /* A tagged int field holds a small int (low bit clear) or a
         * boxed one's address + 1. */
        if (f->tagged && !(w & 1))
            continue;
        w &= ~(uintptr_t)f->tagged;
        if (w && consume_from(r, (PyObject *)w, mask, &at))
            ATTR(r, w, f->name, HS_T_YES);
    }
}

static int
reconcile(struct hs_refs *r, PyObject *o, const struct hs_typeinfo *ti,
          size_t *mismatches)
{
    uint32_t mask = 0;
    Py_ssize_t k = 0;
    size_t kept = 0;

    r->ntrav = 0;
    if (Py_TYPE(o)->tp_traverse(o, collect_visit, r) || r->oom)
        return r->oom ? -1 : 0;
    if (r->ntrav > 32) {
        size_t cap = 64;

        while (cap < r->ntrav * 2)
            cap *= 2;
        if (cap > r->hashcap) {
            uint32_t *h = hs_realloc(r->hash, cap * sizeof(*h));

            if (!h) {
                r->oom = 1;
                return -1;
            }
            r->hash = h;
            r->hashcap = cap;
        }
        memset(r->hash, 0, cap * sizeof(*r->hash));
        mask = (uint32_t)cap - 1;
        for (size_t i = 0; i < r->ntrav; i++) {
            uint32_t s = ptr_slot(r->trav[i], mask);

            while (r->hash[s])
                s = (s + 1) & mask;
            r->hash[s] = (uint32_t)i + 1;
        }
    }
    for (size_t i = 0; i < r->n; i++) {
        struct hs_ref *x = &r->v[i];

        if (x->trav != HS_T_NO && !consume(r, x->dst, mask)) {
            if (x->trav == HS_T_YES && mismatches)
                (*mismatches)++;
            /* A member the collector is not told about, pointing to an
             * object it tracks: a borrowed pointer (sqlite3.Connection's
             * exception classes), since owning it unreported would hide
             * cycles through it. */
            if (x->trav == HS_T_MEMBER && PyObject_IS_GC(x->dst))
                continue;
        }
        r->v[kept++] = *x;
    }
    r->n = kept;
    field_refs(r, o, ti, mask);
    for (size_t i = 0; i < r->ntrav; i++) {
        PyObject *p = r->trav[i];

        if (!p)
            continue;
        /* functools' lru_cache reports the type reference of each of its
         * (untracked) list links on their behalf; the links' own class
         * references already count it. */
        if (lru_link_type_ref(o, p))
            continue;
        add_index(r, p, HS_K_OTHER, k++, HS_T_YES);
    }
    return r->oom ? -1 : 0;
}

/* ---- the entry point ---------------------------------------------------------------- */

/* The next batch of an exact list, tuple, dict or set from r->pos on;
 * 1 if o is one of those, else 0. */
static int
container_refs(struct hs_refctx *ctx, PyObject *o, struct hs_refs *r)
{
    PyTypeObject *tp = Py_TYPE(o);

    if (tp == &PyTuple_Type) {
        /* A closure holds cells, which the gc tracks, so the collector
         * never untracks it: an untracked tuple (most tuples of atoms,
         * after a collection) is not looked up (the lookup was 2.8% of
         * a pandas dump's walk). */
        PyCodeObject *co = hs_gc_is_tracked(o)
                               ? ctx->closure_code(ctx->arg, o)
                               : NULL;

        if (!co) {
            sequence_refs(r, ((PyTupleObject *)o)->ob_item, Py_SIZE(o), 1);
        } else {
            Py_ssize_t nfree = hs_code_nfree(co);

            for (Py_ssize_t i = r->pos; i < Py_SIZE(o); i++) {
                add_obj(r, PyTuple_GET_ITEM(o, i), HS_K_CLOSURE, HS_L_IDENT,
                        i < nfree ? hs_code_free_name(co, i) : NULL,
                        HS_T_YES);
                if (i + 1 < Py_SIZE(o) && batch_full(r, 1, i + 1))
                    break;
            }
        }
        return 1;
    }
    if (tp == &PyList_Type) {
        sequence_refs(r, ((PyListObject *)o)->ob_item, Py_SIZE(o), 1);
        return 1;
    }
    if (tp == &PyDict_Type) {
        dict_refs(ctx, r, o, 1);
        return 1;
    }
    if (tp == &PySet_Type || tp == &PyFrozenSet_Type) {
        set_refs(r, o, 1);
        return 1;
    }
    return 0;
}

int
hs_referents_next(struct hs_refctx *ctx, PyObject *o, struct hs_refs *r)
{
    r->n = 0;
    r->more = 0;
    hs_str_reset(&r->text);
    if (!container_refs(ctx, o, r))
        ndarray_refs(r, o, 1); /* the only other batched kind */
    return r->oom ? -1 : 0;
}

int
hs_referents(struct hs_refctx *ctx, PyObject *o, struct hs_refs *r)
{
    PyTypeObject *tp = Py_TYPE(o);
    PyTypeObject *covered = NULL;
    struct hs_typeinfo *ti;
    int trust = 0; /* the labelled references are known to be complete */

    r->n = 0;
    r->oom = 0;
    r->more = 0;
    r->pos = 0;
    hs_str_reset(&r->text);
    /* Leaves first: the most common objects hold no references. */
    if (tp == &PyUnicode_Type || tp == &PyLong_Type || tp == &PyFloat_Type ||
        tp == &PyBytes_Type || tp == &PyBool_Type || tp == &PyComplex_Type ||
        o == Py_None)
        return 0;
    if (container_refs(ctx, o, r))
        return r->oom ? -1 : 0;
    if (tp == &PyCell_Type) {
        add_cstr(r, PyCell_GET(o), HS_K_CELL, NULL, HS_T_YES);
        return r->oom ? -1 : 0;
    }
    if (tp == &PyMethod_Type) {
        ATTR(r, PyMethod_GET_FUNCTION(o), "__func__", HS_T_YES);
        ATTR(r, PyMethod_GET_SELF(o), "__self__", HS_T_YES);
        return r->oom ? -1 : 0;
    }

    ti = hs_types_get(ctx->types, tp);
    if (!ti)
        return -1;
    if (ti->foreign == HS_FOREIGN_NDARRAY &&
        hs_numpy_is_ndarray_type(tp)) {
        ndarray_refs(r, o, 1);
        return r->oom ? -1 : 0;
    }
    if (ti->foreign == HS_FOREIGN_NDARRAY) {
        ndarray_refs(r, o, 0);
    } else if (ti->foreign == HS_FOREIGN_MANAGED_BUFFER) {
        managed_buffer_refs(r, o);
        covered = tp;
    } else if (PyMemoryView_Check(o)) {
        memoryview_refs(r, o);
        covered = &PyMemoryView_Type;
    } else if (PyDict_Check(o)) {
        dict_refs(ctx, r, o, 0);
        covered = &PyDict_Type;
    } else if (PyList_Check(o)) {
        sequence_refs(r, ((PyListObject *)o)->ob_item, Py_SIZE(o), 0);
        covered = &PyList_Type;
    } else if (PyTuple_Check(o)) {
        sequence_refs(r, ((PyTupleObject *)o)->ob_item, Py_SIZE(o), 0);
        covered = &PyTuple_Type;
    } else if (PyAnySet_Check(o)) {
        set_refs(r, o, 0);
        covered = PyFrozenSet_Check(o) ? &PyFrozenSet_Type : &PySet_Type;
    } else if (PyType_Check(o)) {
        type_refs(r, o);
        covered = &PyType_Type;
    } else if (PyFunction_Check(o)) {
        function_refs(r, o);
        covered = &PyFunction_Type;
        trust = tp == &PyFunction_Type;
    } else if (PyCode_Check(o)) {
        code_refs(r, o);
    } else if (PyFrame_Check(o)) {
        frame_refs(r, o);
        covered = &PyFrame_Type;
    } else if (hs_is_generator(o)) {
        gen_refs(r, o);
        covered = tp;
    } else if (PyExceptionInstance_Check(o)) {
        exception_refs(r, o);
        covered = (PyTypeObject *)PyExc_BaseException;
    } else if (PyTraceBack_Check(o)) {
        traceback_refs(r, o);
        covered = &PyTraceBack_Type;
    } else if (PyWeakref_Check(o)) {
        weakref_refs(r, o);
        covered = &_PyWeakref_RefType;
    } else if (PyCFunction_Check(o)) {
        cfunction_refs(r, o);
        covered = &PyCFunction_Type;
    } else if (is_descriptor(tp)) {
        descr_refs(r, o);
        covered = tp;
    } else if (PyObject_TypeCheck(o, &PyProperty_Type)) {
        /* fget, fset, fdel and __doc__ are members, found below. */
        ATTR(r, hs_property_name(o), "__name__", HS_T_MAYBE);
    } else if (PyModule_Check(o)) {
        ATTR(r, hs_module_name_field(o), "__name__", HS_T_NO);
        covered = &PyModule_Type;
    }
    if (!PyType_Check(o))
        storage_refs(ctx, r, o);
    if (member_refs(r, o, ti, covered) < 0)
        r->oom = 1;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE)
        add_cstr(r, (PyObject *)tp, HS_K_CLASS, NULL,
                 ti->plain ? HS_T_YES : HS_T_MAYBE);
    if (r->oom)
        return -1;
    if ((ti->plain || trust) && !ctx->check)
        return 0;
    if (!PyObject_IS_GC(o) || !tp->tp_traverse)
        return 0;
    if (!ti->fields_done && hs_compiled_fields(ctx->types, ti) < 0) {
        r->oom = 1;
        return -1;
    }
    return reconcile(r, o, ti, &ctx->mismatches);
}

void
hs_refs_release(struct hs_refs *r)
{
    hs_free(r->v);
    hs_free(r->trav);
    hs_free(r->hash);
    hs_str_release(&r->text);
    memset(r, 0, sizeof(*r));
}
