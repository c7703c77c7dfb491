/*
 * layout.c: which object fields declared as PyMemberDef (C members and
 * __slots__) an instance of a type really has, computed once per type.
 *
 * A member says "a PyObject * at this offset" for instances of the class
 * that declares it.  An instance of a subclass has it there only where
 * the subclass's layout extends the declaring class's, which CPython
 * guarantees along the tp_base chain and only for the "solid" part of
 * each class (typeobject.c's solid_base / extra_ivars): a class whose
 * only additions to its base are a __dict__ and a weak-list slot at its
 * end is not solid, and its subclasses may put those two anywhere and
 * other fields where it had them.  mypyc does exactly that: a compiled
 * class whose base is a trait (a non-solid class declaring __dict__ at
 * offset 16) puts its vtable pointer at 16.  So a member of class T is
 * read from an instance of class S only when
 *  - T is S itself, or T is on S's tp_base chain and the member lies in
 *    the solid part of T (below the size of T's solid base);
 *  - the member lies inside T's own tp_basicsize, past the object header;
 *  - it is not the weak list or the instance dict (storage_refs' job) and
 *    not an item of a tuple (struct sequences name their items).
 * Classes of the MRO that are not on the tp_base chain (mixins) add no
 * fields of their own, by CPython's layout rules, so none of their
 * members is read.  Anything a skipped member pointed to is still
 * reported by tp_traverse, as an unlabelled reference.
 */
#include "agent.h"

#include <string.h>

/* The size of t's layout that its subclasses keep: the basic size of its
 * solid base (agent.h), i.e. without a trailing __dict__ and weak-list slot that t
 * adds to its base (in either order).  Static types too: reading less is
 * always safe. */
Py_ssize_t
hs_layout_solid_size(PyTypeObject *t)
{
    Py_ssize_t size = t->tp_basicsize;
    Py_ssize_t base = t->tp_base ? hs_layout_solid_size(t->tp_base) : 0;

    if (t->tp_itemsize || (t->tp_base && t->tp_base->tp_itemsize))
        return size;
    for (int i = 0; i < 2; i++) {
        if (t->tp_weaklistoffset > 0 && size > base &&
            t->tp_weaklistoffset + (Py_ssize_t)sizeof(PyObject *) == size)
            size -= (Py_ssize_t)sizeof(PyObject *);
        if (t->tp_dictoffset > 0 && size > base &&
            t->tp_dictoffset + (Py_ssize_t)sizeof(PyObject *) == size)
            size -= (Py_ssize_t)sizeof(PyObject *);
    }
    return size > base ? size : base;
}

static int
add_member(struct hs_typeinfo *ti, size_t *cap, PyTypeObject *owner,
           const PyMemberDef *m)
{
    for (uint32_t k = 0; k < ti->nmembers; k++)
        if (ti->members[k].offset == m->offset)
            return 0; /* classmethod's __func__ and __wrapped__ */
    if (ti->nmembers == *cap) {
        size_t n = *cap ? *cap * 2 : 8;
        struct hs_member *v = hs_realloc(ti->members, n * sizeof(*v));

        if (!v)
            return -1;
        ti->members = v;
        *cap = n;
    }
    ti->members[ti->nmembers].offset = m->offset;
    ti->members[ti->nmembers].name = m->name;
    ti->members[ti->nmembers].owner = owner;
    ti->nmembers++;
    return 0;
}

int
hs_layout_members(struct hs_typeinfo *ti)
{
    PyTypeObject *tp = ti->tp;
    int is_tuple = PyType_IsSubtype(tp, &PyTuple_Type);
    size_t cap = 0;

    ti->members_done = 1;
    for (PyTypeObject *t = tp; t && t != &PyBaseObject_Type; t = t->tp_base) {
        /* Where t's members are known to be in tp's instances. */
        Py_ssize_t end = t == tp ? t->tp_basicsize : hs_layout_solid_size(t);

        if (!t->tp_members)
            continue;
        for (const PyMemberDef *m = t->tp_members; m->name; m++) {
            if (m->type != T_OBJECT && m->type != T_OBJECT_EX)
                continue;
            if (m->offset < (Py_ssize_t)sizeof(PyObject) ||
                m->offset + (Py_ssize_t)sizeof(PyObject *) > end)
                continue;
            if (m->offset == t->tp_weaklistoffset ||
                m->offset == tp->tp_weaklistoffset ||
                !strcmp(m->name, "__weakref__") ||
                (tp->tp_dictoffset > 0 && m->offset == tp->tp_dictoffset) ||
                (is_tuple &&
                 m->offset >= (Py_ssize_t)offsetof(PyTupleObject, ob_item)))
                continue;
            if (add_member(ti, &cap, t, m) < 0)
                return -1;
        }
    }
    return 0;
}
