/*
 * compiled_fields.c: the names of the object fields of mypyc native
 * classes, which only getters expose, computed once per type.
 *
 * A mypyc class keeps its attributes in C struct fields and exposes each
 * one through a getset descriptor whose getter reads the field; no
 * PyMemberDef says where the field is, and the field sizes (bools are
 * bytes, unboxed tuples span several words) cannot be told from the
 * names.  Calling a getter would run code on the target's objects, so
 * none is called: the getter's machine code is read instead, and a getter
 * whose first instructions are exactly what mypyc emits for an object
 * attribute gives the field's offset.  On x86-64 (documented heuristic,
 * checked against the live process on Debian's mypy in tests/realpkgs):
 *
 *   [endbr64] mov rax, [rdi + D]; test rax, rax     object attribute
 *   [endbr64] push rbx; mov rbx, rdi; mov rdi, [rdi + D]; cmp rdi, 1
 *                                                   int attribute (tagged:
 *                                                   a boxed int is stored
 *                                                   as its address + 1)
 *
 * A getter is considered only when its name is in __mypyc_attrs__ of the
 * class that declares it (properties and other getters are not), when
 * attribute lookup on the instance finds its descriptor (obj.name is
 * then the field, same object), and only where that class's layout holds
 * in the instance (as layout.c decides for members).  A field named here labels a reference only when
 * tp_traverse reported the very pointer the field holds (referents.c), so
 * a getter read wrongly can mislabel nothing but a reported reference,
 * and never makes one up.  Other architectures and code shapes (unboxed
 * tuples, other compilers) give no names: those references stay
 * numbered.  Reads only types and code; allocates no Python object.
 */
#include "agent.h"

#include <string.h>

/* name is an item of the tuple `attrs` (mypyc's __mypyc_attrs__). */
static int
in_attrs(PyObject *attrs, const char *name)
{
    for (Py_ssize_t i = 0; i < PyTuple_GET_SIZE(attrs); i++) {
        PyObject *a = PyTuple_GET_ITEM(attrs, i);

        if (PyUnicode_CheckExact(a) &&
            PyUnicode_CompareWithASCIIString(a, name) == 0)
            return 1;
    }
    return 0;
}

#if defined(__x86_64__)
/* A displacement from a ModRM byte's mode: disp8 (0x40) or disp32 (0x80);
 * the instruction's displacement starts at c.  -1 for other modes. */
static Py_ssize_t
displacement(unsigned char modrm, const unsigned char *c, size_t *len)
{
    if ((modrm & 0xc0) == 0x40) {
        *len = 1;
        return (Py_ssize_t)(signed char)c[0];
    }
    if ((modrm & 0xc0) == 0x80) {
        int32_t d;

        memcpy(&d, c, sizeof(d));
        *len = 4;
        return d;
    }
    return -1;
}

/* The offset the getter's code at c reads, by the shapes in the header;
 * -1 for any other code.  *tagged: the field holds a mypyc int. */
static Py_ssize_t
getter_offset(const unsigned char *c, int *tagged)
{
    static const unsigned char endbr64[] = { 0xf3, 0x0f, 0x1e, 0xfa };
    static const unsigned char test_rax[] = { 0x48, 0x85, 0xc0 };
    static const unsigned char save_self[] = { 0x53, 0x48, 0x89, 0xfb };
    static const unsigned char cmp_rdi_1[] = { 0x48, 0x83, 0xff, 0x01 };
    Py_ssize_t d;
    size_t len;

    if (!memcmp(c, endbr64, sizeof(endbr64)))
        c += sizeof(endbr64);
    /* mov rax, [rdi + D]: REX.W 8B, ModRM reg=rax rm=rdi */
    if (c[0] == 0x48 && c[1] == 0x8b && (c[2] & 0x3f) == 0x07) {
        d = displacement(c[2], c + 3, &len);
        if (d >= 0 && !memcmp(c + 3 + len, test_rax, sizeof(test_rax))) {
            *tagged = 0;
            return d;
        }
        return -1;
    }
    if (memcmp(c, save_self, sizeof(save_self)))
        return -1;
    c += sizeof(save_self);
    /* mov rdi, [rdi + D]: REX.W 8B, ModRM reg=rdi rm=rdi */
    if (c[0] == 0x48 && c[1] == 0x8b && (c[2] & 0x3f) == 0x3f) {
        d = displacement(c[2], c + 3, &len);
        if (d >= 0 && !memcmp(c + 3 + len, cmp_rdi_1, sizeof(cmp_rdi_1))) {
            *tagged = 1;
            return d;
        }
    }
    return -1;
}
#endif

/* The field the getter of `g` reads, or -1. */
static Py_ssize_t
field_of(const PyGetSetDef *g, int *tagged)
{
#if defined(__x86_64__)
    uintptr_t code;

    if (!g->get)
        return -1;
    memcpy(&code, &g->get, sizeof(code));
    return getter_offset((const unsigned char *)code, tagged);
#else
    (void)g;
    (void)tagged;
    return -1;
#endif
}

static int
add_field(struct hs_typeinfo *ti, size_t *cap, PyTypeObject *owner,
          const char *name, Py_ssize_t offset, int tagged)
{
    for (uint32_t k = 0; k < ti->nfields; k++)
        if (ti->fields[k].offset == offset)
            return 0; /* a subclass's getter for an inherited field */
    if (ti->nfields == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        struct hs_member *v = hs_realloc(ti->fields, n * sizeof(*v));

        if (!v)
            return -1;
        ti->fields = v;
        *cap = n;
    }
    ti->fields[ti->nfields].offset = offset;
    ti->fields[ti->nfields].name = name;
    ti->fields[ti->nfields].owner = owner;
    ti->fields[ti->nfields].tagged = (uint8_t)tagged;
    ti->nfields++;
    return 0;
}

/* Another class before `owner` in tp's MRO defines `name`: attribute
 * lookup on tp's instances finds that, not owner's getter. */
static int
shadowed(PyTypeObject *tp, PyTypeObject *owner, PyObject *name)
{
    PyObject *mro = tp->tp_mro;

    for (Py_ssize_t i = 0; mro && i < PyTuple_GET_SIZE(mro); i++) {
        PyTypeObject *c = (PyTypeObject *)PyTuple_GET_ITEM(mro, i);
        PyObject *dict = hs_type_dict(c);

        if (c == owner)
            return 0;
        if (dict && PyDict_GetItem(dict, name))
            return 1;
    }
    return 1;
}

/* Adds the fields of class t (on tp's tp_base chain) that tp's
 * instances hold below `end`: the getters in t's dict, found by
 * attribute lookup from tp, of t's __mypyc_attrs__. */
static int
class_fields(struct hs_typeinfo *ti, size_t *cap, PyTypeObject *t,
             PyObject *attrs, Py_ssize_t end)
{
    PyTypeObject *tp = ti->tp;
    PyObject *key, *value;
    Py_ssize_t pos = 0;

    while (PyDict_Next(hs_type_dict(t), &pos, &key, &value)) {
        PyGetSetDef *g;
        int tagged = 0;
        Py_ssize_t off;

        /* A getset whose descriptor the dict no longer holds (a Final
         * class attribute replaced it) is not what obj.name gives. */
        if (Py_TYPE(value) != &PyGetSetDescr_Type ||
            PyDescr_TYPE(value) != t || !PyUnicode_CheckExact(key))
            continue;
        g = ((PyGetSetDescrObject *)value)->d_getset;
        if (!g || !g->name || !in_attrs(attrs, g->name) ||
            PyUnicode_CompareWithASCIIString(key, g->name) != 0 ||
            shadowed(tp, t, key))
            continue;
        off = field_of(g, &tagged);
        if (off < (Py_ssize_t)sizeof(PyObject) ||
            off % (Py_ssize_t)sizeof(PyObject *) ||
            off + (Py_ssize_t)sizeof(PyObject *) > end ||
            off == tp->tp_dictoffset || off == tp->tp_weaklistoffset)
            continue;
        if (add_field(ti, cap, t, g->name, off, tagged) < 0)
            return -1;
    }
    return 0;
}

int
hs_compiled_fields(struct hs_types *types, struct hs_typeinfo *ti)
{
    PyTypeObject *tp = ti->tp;
    size_t cap = 0;

    ti->fields_done = 1;
    for (PyTypeObject *t = tp; t && t != &PyBaseObject_Type; t = t->tp_base) {
        Py_ssize_t end = t == tp ? t->tp_basicsize : hs_layout_solid_size(t);
        PyObject *dict = hs_type_dict(t), *attrs;

        if (!(t->tp_flags & Py_TPFLAGS_HEAPTYPE) || !dict)
            continue;
        attrs = PyDict_GetItem(dict, types->s_mypyc_attrs);
        if (!attrs || !PyTuple_CheckExact(attrs))
            continue;
        if (class_fields(ti, &cap, t, attrs, end) < 0)
            return -1;
    }
    /* In offset order, as mypyc's tp_traverse visits them (insertion
     * sort: a class has tens of fields). */
    for (uint32_t i = 1; i < ti->nfields; i++) {
        struct hs_member f = ti->fields[i];
        uint32_t j = i;

        for (; j > 0 && ti->fields[j - 1].offset > f.offset; j--)
            ti->fields[j] = ti->fields[j - 1];
        ti->fields[j] = f;
    }
    return 0;
}
