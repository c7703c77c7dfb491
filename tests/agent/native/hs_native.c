/*
 * hs_native.c: C extension types for the agent tests, built by native.py
 * with the running Python's headers.  Each type has a layout that a walk
 * reading fields by declaration alone would get wrong, or is broken on
 * purpose:
 *
 *   Trait        a heap type that adds only __dict__ and __weakref__ to
 *                object, declared as members at 16 and 24 (mypyc's
 *                traits do this)
 *   Compiled     a subclass of Trait that puts a vtable pointer where
 *                Trait declared __dict__, then a member `payload`, then
 *                its own __dict__ and weak list (mypyc's native classes)
 *   NativeBase   a C base with a member `payload`, for Python subclasses
 *                with __slots__ or a __dict__
 *   DictInMiddle a C type whose __dict__ sits between two members
 *   MypycLike    a class shaped like a mypyc native class: fields only
 *                getters expose, named by __mypyc_attrs__
 *   WildMember   declares a member far past its tp_basicsize
 *   WildTraverse tp_traverse reports a pointer to unmapped memory
 *   WildField    a member within its layout holds a pointer to unmapped
 *                memory (no gc: nothing else says what it holds)
 *
 * The Wild* types are broken on purpose: a dump of a heap holding one
 * must fail with heapsnap.Error or skip the bad field, never crash.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <structmember.h>

/* An address no process maps (the first page). */
#define WILD ((PyObject *)(uintptr_t)0x18)

static void *vtable[4] = { NULL, NULL, NULL, NULL };

/* ---- Trait and Compiled ------------------------------------------------ */

typedef struct {
    PyObject_HEAD
    PyObject *dict;     /* 16 */
    PyObject *weaklist; /* 24 */
} TraitObject;

typedef struct {
    PyObject_HEAD
    void **vtable;      /* 16: where Trait had __dict__ */
    PyObject *payload;  /* 24 */
    PyObject *dict;     /* 32 */
    PyObject *weaklist; /* 40 */
} CompiledObject;

static int
trait_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((TraitObject *)o)->dict);
    Py_VISIT(Py_TYPE(o));
    return 0;
}

static int
trait_clear(PyObject *o)
{
    Py_CLEAR(((TraitObject *)o)->dict);
    return 0;
}

static void
trait_dealloc(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    PyObject_GC_UnTrack(o);
    if (((TraitObject *)o)->weaklist)
        PyObject_ClearWeakRefs(o);
    trait_clear(o);
    tp->tp_free(o);
    Py_DECREF(tp);
}

static PyMemberDef trait_members[] = {
    { "__dict__", T_OBJECT_EX, offsetof(TraitObject, dict), READONLY, NULL },
    { "__weakref__", T_OBJECT, offsetof(TraitObject, weaklist), READONLY,
      NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyType_Slot trait_slots[] = {
    { Py_tp_traverse, (void *)trait_traverse },
    { Py_tp_clear, (void *)trait_clear },
    { Py_tp_dealloc, (void *)trait_dealloc },
    { Py_tp_members, trait_members },
    { 0, NULL },
};

static PyType_Spec trait_spec = {
    "hs_native.Trait", sizeof(TraitObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    trait_slots,
};

static PyObject *
compiled_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    CompiledObject *o = (CompiledObject *)tp->tp_alloc(tp, 0);
    PyObject *payload = Py_None;

    (void)kw;
    if (!o)
        return NULL;
    if (!PyArg_ParseTuple(args, "|O", &payload)) {
        Py_DECREF(o);
        return NULL;
    }
    o->vtable = vtable;
    Py_INCREF(payload);
    o->payload = payload;
    return (PyObject *)o;
}

static int
compiled_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((CompiledObject *)o)->payload);
    Py_VISIT(((CompiledObject *)o)->dict);
    Py_VISIT(Py_TYPE(o));
    return 0;
}

static int
compiled_clear(PyObject *o)
{
    Py_CLEAR(((CompiledObject *)o)->payload);
    Py_CLEAR(((CompiledObject *)o)->dict);
    return 0;
}

static void
compiled_dealloc(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    PyObject_GC_UnTrack(o);
    if (((CompiledObject *)o)->weaklist)
        PyObject_ClearWeakRefs(o);
    compiled_clear(o);
    tp->tp_free(o);
    Py_DECREF(tp);
}

static PyMemberDef compiled_members[] = {
    { "payload", T_OBJECT_EX, offsetof(CompiledObject, payload), 0, NULL },
    { "__dict__", T_OBJECT_EX, offsetof(CompiledObject, dict), READONLY,
      NULL },
    { "__weakref__", T_OBJECT, offsetof(CompiledObject, weaklist),
      READONLY, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyType_Slot compiled_slots[] = {
    { Py_tp_new, (void *)compiled_new },
    { Py_tp_traverse, (void *)compiled_traverse },
    { Py_tp_clear, (void *)compiled_clear },
    { Py_tp_dealloc, (void *)compiled_dealloc },
    { Py_tp_members, compiled_members },
    { 0, NULL },
};

static PyType_Spec compiled_spec = {
    "hs_native.Compiled", sizeof(CompiledObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    compiled_slots,
};

/* ---- MypycLike ------------------------------------------------------------ */

/* A class shaped like a mypyc native class: a vtable, object fields and a
 * byte field behind getters written as mypyc writes them, and
 * __mypyc_attrs__ in its dict (set by PyInit_hs_native).  `hidden` has a
 * getter but is not in __mypyc_attrs__; the dict entry of `shadow` is
 * replaced by a plain value (as a Final class attribute does), so neither
 * names a reference. */
typedef struct {
    PyObject_HEAD
    void **vtable;
    PyObject *name;
    char flag;
    PyObject *node;
    PyObject *hidden;
    PyObject *shadow;
} MypycLikeObject;

#define MYPYC_GETTER(field)                                                \
    static PyObject *mypyc_like_get_##field(PyObject *o, void *closure)    \
    {                                                                      \
        PyObject *v = ((MypycLikeObject *)o)->field;                       \
                                                                           \
        (void)closure;                                                     \
        if (v == NULL) {                                                   \
            PyErr_SetString(PyExc_AttributeError, "attribute '" #field     \
                                                  "' undefined");          \
            return NULL;                                                   \
        }                                                                  \
        Py_INCREF(v);                                                      \
        return v;                                                          \
    }
MYPYC_GETTER(name)
MYPYC_GETTER(node)
MYPYC_GETTER(hidden)
MYPYC_GETTER(shadow)

static PyObject *
mypyc_like_get_flag(PyObject *o, void *closure)
{
    (void)closure;
    return PyBool_FromLong(((MypycLikeObject *)o)->flag);
}

static PyGetSetDef mypyc_like_getset[] = {
    { "name", mypyc_like_get_name, NULL, NULL, NULL },
    { "flag", mypyc_like_get_flag, NULL, NULL, NULL },
    { "node", mypyc_like_get_node, NULL, NULL, NULL },
    { "hidden", mypyc_like_get_hidden, NULL, NULL, NULL },
    { "shadow", mypyc_like_get_shadow, NULL, NULL, NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyObject *
mypyc_like_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    MypycLikeObject *o = (MypycLikeObject *)tp->tp_alloc(tp, 0);

    (void)kw;
    if (!o)
        return NULL;
    o->vtable = vtable;
    if (!PyArg_ParseTuple(args, "OOOO", &o->name, &o->node, &o->hidden,
                          &o->shadow)) {
        o->name = o->node = o->hidden = o->shadow = NULL;
        Py_DECREF(o);
        return NULL;
    }
    Py_INCREF(o->name);
    Py_INCREF(o->node);
    Py_INCREF(o->hidden);
    Py_INCREF(o->shadow);
    o->flag = 1;
    return (PyObject *)o;
}

static int
mypyc_like_traverse(PyObject *o, visitproc visit, void *arg)
{
    MypycLikeObject *m = (MypycLikeObject *)o;

    Py_VISIT(m->name);
    Py_VISIT(m->node);
    Py_VISIT(m->hidden);
    Py_VISIT(m->shadow);
    Py_VISIT(Py_TYPE(o));
    return 0;
}

static int
mypyc_like_clear(PyObject *o)
{
    MypycLikeObject *m = (MypycLikeObject *)o;

    Py_CLEAR(m->name);
    Py_CLEAR(m->node);
    Py_CLEAR(m->hidden);
    Py_CLEAR(m->shadow);
    return 0;
}

static void
mypyc_like_dealloc(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);

    PyObject_GC_UnTrack(o);
    mypyc_like_clear(o);
    tp->tp_free(o);
    Py_DECREF(tp);
}

static PyType_Slot mypyc_like_slots[] = {
    { Py_tp_new, (void *)mypyc_like_new },
    { Py_tp_traverse, (void *)mypyc_like_traverse },
    { Py_tp_clear, (void *)mypyc_like_clear },
    { Py_tp_dealloc, (void *)mypyc_like_dealloc },
    { Py_tp_getset, mypyc_like_getset },
    { 0, NULL },
};

static PyType_Spec mypyc_like_spec = {
    "hs_native.MypycLike", sizeof(MypycLikeObject), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    mypyc_like_slots,
};

/* ---- NativeBase and DictInMiddle (static types) ------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *payload;
} NativeBaseObject;

static int
nb_init(PyObject *o, PyObject *args, PyObject *kw)
{
    PyObject *payload = Py_None;

    (void)kw;
    if (!PyArg_ParseTuple(args, "|O", &payload))
        return -1;
    Py_INCREF(payload);
    Py_XSETREF(((NativeBaseObject *)o)->payload, payload);
    return 0;
}

static int
nb_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((NativeBaseObject *)o)->payload);
    return 0;
}

static int
nb_clear(PyObject *o)
{
    Py_CLEAR(((NativeBaseObject *)o)->payload);
    return 0;
}

static void
nb_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    nb_clear(o);
    Py_TYPE(o)->tp_free(o);
}

static PyMemberDef nb_members[] = {
    { "payload", T_OBJECT_EX, offsetof(NativeBaseObject, payload), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyTypeObject NativeBase_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hs_native.NativeBase",
    .tp_basicsize = sizeof(NativeBaseObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = nb_traverse,
    .tp_clear = nb_clear,
    .tp_dealloc = nb_dealloc,
    .tp_members = nb_members,
    .tp_init = nb_init,
    .tp_new = PyType_GenericNew,
};

typedef struct {
    PyObject_HEAD
    PyObject *before;
    PyObject *dict;
    PyObject *after;
} DictInMiddleObject;

static int
dim_init(PyObject *o, PyObject *args, PyObject *kw)
{
    DictInMiddleObject *d = (DictInMiddleObject *)o;
    PyObject *before = Py_None, *after = Py_None;

    (void)kw;
    if (!PyArg_ParseTuple(args, "|OO", &before, &after))
        return -1;
    Py_INCREF(before);
    Py_XSETREF(d->before, before);
    Py_INCREF(after);
    Py_XSETREF(d->after, after);
    return 0;
}

static int
dim_traverse(PyObject *o, visitproc visit, void *arg)
{
    DictInMiddleObject *d = (DictInMiddleObject *)o;

    Py_VISIT(d->before);
    Py_VISIT(d->dict);
    Py_VISIT(d->after);
    return 0;
}

static int
dim_clear(PyObject *o)
{
    DictInMiddleObject *d = (DictInMiddleObject *)o;

    Py_CLEAR(d->before);
    Py_CLEAR(d->dict);
    Py_CLEAR(d->after);
    return 0;
}

static void
dim_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    dim_clear(o);
    Py_TYPE(o)->tp_free(o);
}

static PyMemberDef dim_members[] = {
    { "before", T_OBJECT_EX, offsetof(DictInMiddleObject, before), 0, NULL },
    { "after", T_OBJECT_EX, offsetof(DictInMiddleObject, after), 0, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyGetSetDef dim_getset[] = {
    { "__dict__", PyObject_GenericGetDict, PyObject_GenericSetDict, NULL,
      NULL },
    { NULL, NULL, NULL, NULL, NULL },
};

static PyTypeObject DictInMiddle_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hs_native.DictInMiddle",
    .tp_basicsize = sizeof(DictInMiddleObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = dim_traverse,
    .tp_clear = dim_clear,
    .tp_dealloc = dim_dealloc,
    .tp_members = dim_members,
    .tp_getset = dim_getset,
    .tp_dictoffset = offsetof(DictInMiddleObject, dict),
    .tp_init = dim_init,
    .tp_new = PyType_GenericNew,
};

/* ---- broken on purpose ---------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    PyObject *field;
} WildObject;

static void
wild_dealloc(PyObject *o)
{
    if (PyObject_IS_GC(o))
        PyObject_GC_UnTrack(o);
    Py_TYPE(o)->tp_free(o);
}

static PyMemberDef wild_member_members[] = {
    { "far", T_OBJECT, 4096, READONLY, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyTypeObject WildMember_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hs_native.WildMember",
    .tp_basicsize = sizeof(WildObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = wild_dealloc,
    .tp_members = wild_member_members,
    .tp_new = PyType_GenericNew,
};

static int
wild_traverse(PyObject *o, visitproc visit, void *arg)
{
    (void)o;
    return visit(WILD, arg);
}

static PyTypeObject WildTraverse_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hs_native.WildTraverse",
    .tp_basicsize = sizeof(WildObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_traverse = wild_traverse,
    .tp_dealloc = wild_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_new = PyType_GenericNew,
};

static PyObject *
wild_field_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    WildObject *o = (WildObject *)PyType_GenericNew(tp, args, kw);

    if (o)
        o->field = WILD;
    return (PyObject *)o;
}

static PyMemberDef wild_field_members[] = {
    { "junk", T_OBJECT, offsetof(WildObject, field), READONLY, NULL },
    { NULL, 0, 0, 0, NULL },
};

static PyTypeObject WildField_Type = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "hs_native.WildField",
    .tp_basicsize = sizeof(WildObject),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = wild_dealloc,
    .tp_members = wild_field_members,
    .tp_new = wild_field_new,
};

/*
 * swap_str_data(s, address): the character data pointer of s, an instance
 * of a str subclass (whose data lives apart from the object, unlike an
 * exact str's), is set to `address` (0: an unmapped page) and the old one
 * returned, to put back before anything reads s.  Only a read of the
 * characters faults: no reference leads through that pointer.
 */
static PyObject *
swap_str_data(PyObject *self, PyObject *args)
{
    PyObject *s;
    unsigned long long address;
    void *old;

    (void)self;
    if (!PyArg_ParseTuple(args, "OK", &s, &address))
        return NULL;
    if (!PyUnicode_Check(s) || PyUnicode_CheckExact(s) ||
        PyUnicode_IS_COMPACT(s)) {
        PyErr_SetString(PyExc_TypeError, "not a str subclass instance");
        return NULL;
    }
    old = ((PyUnicodeObject *)s)->data.any;
    ((PyUnicodeObject *)s)->data.any =
        address ? (void *)(uintptr_t)address : (void *)WILD;
    return PyLong_FromUnsignedLongLong((unsigned long long)(uintptr_t)old);
}

static PyMethodDef native_methods[] = {
    { "swap_str_data", swap_str_data, METH_VARARGS, NULL },
    { NULL, NULL, 0, NULL },
};

/* ---- the module ------------------------------------------------------------ */

/* Sets a heap type's dict and weak-list offsets, as mypyc does after
 * making its classes. */
static void
set_offsets(PyTypeObject *tp, Py_ssize_t dict, Py_ssize_t weak)
{
    tp->tp_dictoffset = dict;
    tp->tp_weaklistoffset = weak;
    PyType_Modified(tp);
}

static struct PyModuleDef moduledef = {
    PyModuleDef_HEAD_INIT, "hs_native", NULL, -1, native_methods, NULL,
    NULL, NULL, NULL,
};

PyMODINIT_FUNC
PyInit_hs_native(void)
{
    PyObject *m = PyModule_Create(&moduledef);
    PyObject *trait, *bases, *compiled, *mypyc_like, *attrs;
    PyTypeObject *statics[] = { &NativeBase_Type, &DictInMiddle_Type,
                                &WildMember_Type, &WildTraverse_Type,
                                &WildField_Type };

    if (!m)
        return NULL;
    trait = PyType_FromSpec(&trait_spec);
    if (!trait)
        return NULL;
    set_offsets((PyTypeObject *)trait, offsetof(TraitObject, dict),
                offsetof(TraitObject, weaklist));
    bases = PyTuple_Pack(1, trait);
    if (!bases)
        return NULL;
    compiled = PyType_FromSpecWithBases(&compiled_spec, bases);
    Py_DECREF(bases);
    if (!compiled)
        return NULL;
    set_offsets((PyTypeObject *)compiled, offsetof(CompiledObject, dict),
                offsetof(CompiledObject, weaklist));
    if (PyModule_AddObject(m, "Trait", trait) < 0 ||
        PyModule_AddObject(m, "Compiled", compiled) < 0)
        return NULL;
    mypyc_like = PyType_FromSpec(&mypyc_like_spec);
    attrs = Py_BuildValue("(sss)", "name", "node", "shadow");
    if (!mypyc_like || !attrs ||
        PyObject_SetAttrString(mypyc_like, "__mypyc_attrs__", attrs) < 0 ||
        PyObject_SetAttrString(mypyc_like, "shadow", Py_None) < 0 ||
        PyModule_AddObject(m, "MypycLike", mypyc_like) < 0)
        return NULL;
    Py_DECREF(attrs);
    for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++) {
        const char *dot = strrchr(statics[i]->tp_name, '.');

        if (PyType_Ready(statics[i]) < 0)
            return NULL;
        Py_INCREF(statics[i]);
        if (PyModule_AddObject(m, dot + 1, (PyObject *)statics[i]) < 0)
            return NULL;
    }
    return m;
}
