/*
 * foreign_stdlib.c: standard-library extension types whose object layout
 * is private to their module (no header declares it), read so that their
 * sizes need no __sizeof__ call (a forked dump runs no Python code).
 *
 * array.array (Modules/arraymodule.c, unchanged from 3.8 to 3.13):
 *     PyObject_VAR_HEAD; char *ob_item; Py_ssize_t allocated;
 *     const struct arraydescr *ob_descr; PyObject *weakreflist;
 *     Py_ssize_t ob_exports;
 * with struct arraydescr { char typecode; int itemsize; ... }.  Its
 * __sizeof__ is basicsize + allocated * itemsize: the owned item buffer.
 * The type is known by its name and that basicsize.  Reads memory only.
 */
#include "agent.h"

#include <string.h>

struct std_arraydescr {
    char typecode; /* 'b', 'd', ... */
    int itemsize;  /* bytes per item */
};

struct std_array {
    PyObject_VAR_HEAD
    char *ob_item;                       /* the item buffer */
    Py_ssize_t allocated;                /* items it has room for */
    const struct std_arraydescr *ob_descr; /* the item type */
    PyObject *weakreflist;
    Py_ssize_t ob_exports;               /* buffers exported */
};

int
hs_stdlib_is_array_type(PyTypeObject *tp)
{
    return !strcmp(tp->tp_name, "array.array") &&
           tp->tp_basicsize == (Py_ssize_t)sizeof(struct std_array);
}

Py_ssize_t
hs_stdlib_array_sizeof(PyObject *o)
{
    const struct std_array *a = (const struct std_array *)o;
    Py_ssize_t itemsize;

    if (!a->ob_descr || a->allocated < Py_SIZE(o))
        return -1;
    itemsize = a->ob_descr->itemsize;
    if (itemsize < 1 || itemsize > 16 ||
        a->allocated > (PY_SSIZE_T_MAX - Py_TYPE(o)->tp_basicsize) / itemsize)
        return -1;
    return Py_TYPE(o)->tp_basicsize + a->allocated * itemsize;
}
