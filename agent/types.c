/*
 * types.c: what the walk needs to know about each type, computed once per
 * type and cached (struct hs_types): its flags for the types table, how
 * sys.getsizeof sizes its instances, and whether its instances are "plain"
 * (class-statement instances whose references are fully known, so
 * tp_traverse need not be consulted), and whether a foreign_*.c file
 * reads its instances (numpy's ndarray and its subclasses, found by the
 * name of the static type in the MRO; the managed buffer behind
 * memoryviews).
 *
 * Lookups read type dicts with PyDict_GetItem on constant interned strings
 * whose hashes are cached: no allocation and no Python code.
 */
#include "agent.h"

#include <string.h>

/* __sizeof__ descriptor of a builtin type (borrowed), or NULL. */
static PyObject *
own_sizeof(struct hs_types *t, PyTypeObject *tp)
{
    PyObject *d = hs_type_dict(tp);

    return d ? PyDict_GetItem(d, t->s_sizeof) : NULL;
}

int
hs_types_init(struct hs_types *t, traverseproc subtype_traverse)
{
    memset(t, 0, sizeof(*t));
    t->subtype_traverse = subtype_traverse;
    t->cap = 1024;
    t->v = hs_alloc(t->cap * sizeof(*t->v));
    if (!t->v) {
        PyErr_NoMemory();
        return -1;
    }
    memset(t->v, 0, t->cap * sizeof(*t->v));
    t->s_del = PyUnicode_InternFromString("__del__");
    t->s_sizeof = PyUnicode_InternFromString("__sizeof__");
    t->s_module = PyUnicode_InternFromString("__module__");
    t->s_name = PyUnicode_InternFromString("__name__");
    t->s_mypyc_attrs = PyUnicode_InternFromString("__mypyc_attrs__");
    if (!t->s_del || !t->s_sizeof || !t->s_module || !t->s_name ||
        !t->s_mypyc_attrs)
        goto fail;
    t->sizeof_descr[HS_SZ_OBJECT] = own_sizeof(t, &PyBaseObject_Type);
    t->sizeof_descr[HS_SZ_INT] = own_sizeof(t, &PyLong_Type);
    t->sizeof_descr[HS_SZ_STR] = own_sizeof(t, &PyUnicode_Type);
    t->sizeof_descr[HS_SZ_LIST] = own_sizeof(t, &PyList_Type);
    t->sizeof_descr[HS_SZ_DICT] = own_sizeof(t, &PyDict_Type);
    t->sizeof_descr[HS_SZ_SET] = own_sizeof(t, &PySet_Type);
    t->sizeof_descr[HS_SZ_BYTEARRAY] = own_sizeof(t, &PyByteArray_Type);
    t->frozenset_sizeof = own_sizeof(t, &PyFrozenSet_Type);
    t->numpy_abi = hs_numpy_abi();
    return 0;
fail:
    hs_types_release(t);
    return -1;
}

void
hs_types_release(struct hs_types *t)
{
    if (t->v) {
        for (uint32_t i = 0; i < t->cap; i++) {
            if (t->v[i]) {
                hs_free(t->v[i]->members);
                hs_free(t->v[i]->fields);
            }
            hs_free(t->v[i]);
        }
        hs_free(t->v);
    }
    Py_XDECREF(t->s_del);
    Py_XDECREF(t->s_sizeof);
    Py_XDECREF(t->s_module);
    Py_XDECREF(t->s_name);
    Py_XDECREF(t->s_mypyc_attrs);
    memset(t, 0, sizeof(*t));
}

/* How the snapshot sizes instances of ti->tp: by the first __sizeof__ in
 * its MRO that is written in C (a method descriptor: one of the builtins'
 * is computed in C, any other is called after the walk), after noting in
 * ti->py_sizeof a Python-level one before it. */
static uint8_t
classify_sizeof(struct hs_types *t, struct hs_typeinfo *ti)
{
    PyObject *mro = ti->tp->tp_mro;

    ti->py_sizeof = 0;
    ti->c_sizeof = NULL;
    if (!mro || !PyTuple_Check(mro))
        return HS_SZ_CALL;
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        PyObject *d, *descr;

        if (!PyType_Check(base))
            return HS_SZ_CALL;
        d = hs_type_dict((PyTypeObject *)base);
        descr = d ? PyDict_GetItem(d, t->s_sizeof) : NULL;
        if (!descr)
            continue;
        if (Py_TYPE(descr) != &PyMethodDescr_Type) {
            ti->py_sizeof = 1;
            continue;
        }
        if (descr == t->frozenset_sizeof)
            return HS_SZ_SET;
        if (hs_numpy_is_ndarray_type((PyTypeObject *)base))
            return HS_SZ_NDARRAY;
        if (hs_stdlib_is_array_type((PyTypeObject *)base))
            return HS_SZ_ARRAY;
        for (int k = HS_SZ_OBJECT; k < HS_SZ_CALL; k++) {
            if (descr == t->sizeof_descr[k])
                return (uint8_t)k;
        }
        ti->c_sizeof = descr;
        return HS_SZ_CALL;
    }
    return HS_SZ_CALL;
}

/* Flags for the types table, and whether instances are plain. */
static void
classify(struct hs_types *t, struct hs_typeinfo *ti)
{
    PyTypeObject *tp = ti->tp;
    PyObject *mro = tp->tp_mro;
    int plain = (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) != 0;

    ti->flags = 0;
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE)
        ti->flags |= HS_TF_HEAP;
    else
        ti->flags |= HS_TF_BUILTIN;
    if (PyType_IS_GC(tp))
        ti->flags |= HS_TF_GC;
    if (tp->tp_flags & Py_TPFLAGS_IS_ABSTRACT)
        ti->flags |= HS_TF_ABSTRACT;
    if (!(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
        !strcmp(tp->tp_name, "managedbuffer"))
        ti->foreign = HS_FOREIGN_MANAGED_BUFFER;
    if (!mro || !PyTuple_Check(mro)) {
        ti->plain = 0;
        ti->sizeof_kind = HS_SZ_CALL;
        return;
    }
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(mro); i++) {
        PyObject *base = PyTuple_GET_ITEM(mro, i);
        PyTypeObject *b;
        PyObject *d;

        if (!PyType_Check(base)) {
            plain = 0;
            continue;
        }
        b = (PyTypeObject *)base;
        if (ti->foreign == HS_FOREIGN_NONE)
            ti->foreign = hs_stdlib_resource_kind(b);
        if (hs_numpy_is_ndarray_type(b)) {
            ti->foreign = HS_FOREIGN_NDARRAY;
            ti->foreign_abi = (uint8_t)t->numpy_abi;
        }
        if (!(b->tp_flags & Py_TPFLAGS_HEAPTYPE)) {
            if (b != &PyBaseObject_Type)
                plain = 0;
            continue;
        }
        if (PyType_IS_GC(b) && b->tp_traverse != t->subtype_traverse)
            plain = 0;
        d = hs_type_dict(b);
        if (d && PyDict_GetItem(d, t->s_del))
            ti->flags |= HS_TF_HAS_DEL;
    }
    ti->plain = (uint8_t)(plain && tp->tp_itemsize == 0);
    ti->sizeof_kind = classify_sizeof(t, ti);
}

static inline uint32_t
slot_of(PyTypeObject *tp, uint32_t mask)
{
    uint64_t h = ((uint64_t)(uintptr_t)tp >> 4) * 0x9E3779B97F4A7C15ULL;

    return (uint32_t)(h >> 32) & mask;
}

static int
grow(struct hs_types *t)
{
    uint32_t cap = t->cap * 2, mask = cap - 1;
    struct hs_typeinfo **v = hs_alloc(cap * sizeof(*v));

    if (!v)
        return -1;
    memset(v, 0, cap * sizeof(*v));
    for (uint32_t i = 0; i < t->cap; i++) {
        struct hs_typeinfo *ti = t->v[i];
        uint32_t j;

        if (!ti)
            continue;
        j = slot_of(ti->tp, mask);
        while (v[j])
            j = (j + 1) & mask;
        v[j] = ti;
    }
    hs_free(t->v);
    t->v = v;
    t->cap = cap;
    return 0;
}

struct hs_typeinfo *
hs_types_get(struct hs_types *t, PyTypeObject *tp)
{
    uint32_t mask = t->cap - 1, i = slot_of(tp, mask);
    struct hs_typeinfo *ti;

    while (t->v[i]) {
        if (t->v[i]->tp == tp)
            return t->v[i];
        i = (i + 1) & mask;
    }
    if ((t->count + 1) * 2 > t->cap) {
        if (grow(t) < 0)
            return NULL;
        mask = t->cap - 1;
        i = slot_of(tp, mask);
        while (t->v[i])
            i = (i + 1) & mask;
    }
    ti = hs_alloc(sizeof(*ti));
    if (!ti)
        return NULL;
    memset(ti, 0, sizeof(*ti));
    ti->tp = tp;
    classify(t, ti);
    t->v[i] = ti;
    t->count++;
    return ti;
}

void
hs_types_names(struct hs_types *t, PyTypeObject *tp, struct hs_str *name,
               struct hs_str *module, struct hs_str *qualname)
{
    if (tp->tp_flags & Py_TPFLAGS_HEAPTYPE) {
        PyHeapTypeObject *ht = (PyHeapTypeObject *)tp;
        PyObject *d = hs_type_dict(tp);
        PyObject *mod = d ? PyDict_GetItem(d, t->s_module) : NULL;

        if (ht->ht_name && PyUnicode_Check(ht->ht_name))
            hs_text_str(name, ht->ht_name, 1000);
        else
            hs_str_adds(name, tp->tp_name);
        if (ht->ht_qualname && PyUnicode_Check(ht->ht_qualname))
            hs_text_str(qualname, ht->ht_qualname, 1000);
        if (mod && PyUnicode_Check(mod))
            hs_text_str(module, mod, 1000);
        return;
    }
    {
        const char *dot = strrchr(tp->tp_name, '.');

        if (dot) {
            hs_str_add(module, tp->tp_name, (size_t)(dot - tp->tp_name));
            hs_str_adds(name, dot + 1);
        } else {
            hs_str_adds(module, "builtins");
            hs_str_adds(name, tp->tp_name);
        }
        hs_str_add(qualname, name->data ? name->data : "", name->len);
    }
}
