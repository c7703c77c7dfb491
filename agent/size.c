/*
 * size.c: shallow sizes equal to sys.getsizeof(o), computed in C from the
 * object's fields for every builtin whose __sizeof__ is known
 * (object, int, str, list, dict, set, frozenset, bytearray, numpy's
 * ndarray, array.array and their subclasses), with the per-version
 * pre-header rules of compat.h (P7, P8).  A __sizeof__ written in Python
 * is no size here (pandas' are deep sizes): the first C-level one below
 * it decides (types.c), and the walk's last phase records the Python
 * figure apart.  C types with a __sizeof__ of their own are called in
 * that phase.
 *
 * Sizes equal sys.getsizeof on 3.8 - 3.13 for every type the agent tests
 * try (tests/agent/test_sizes.py: builtins, user classes, stdlib C
 * types, a random sample of the heap).  Deliberate limits:
 *  - 3.13 instances with inline values: like getsizeof, the size leaves
 *    out the inline values array (P7), which lives in the same block.
 *  - A C __sizeof__ that raises, returns a negative number, a non-int or
 *    an int beyond Py_ssize_t, or a dump that runs out of memory while
 *    calling it: the row keeps hs_size_basic() and the size_fallback
 *    flag.  A Python __sizeof__ that does so: no reported_sizes row.
 *  - A __sizeof__ that returns different values on each call: the value
 *    of the one call the dump made.
 */
#include "agent.h"

Py_ssize_t
hs_size_basic(PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    Py_ssize_t size = tp->tp_basicsize;

    /* Py_SIZE of an int is not an item count on 3.12+. */
    if (tp->tp_itemsize > 0 && !PyLong_Check(o))
        size += Py_ABS(Py_SIZE(o)) * tp->tp_itemsize;
    return size + (Py_ssize_t)hs_sizeof_preheader(o);
}

Py_ssize_t
hs_size_of(struct hs_typeinfo *ti, PyObject *o)
{
    PyTypeObject *tp = Py_TYPE(o);
    size_t size;

    switch (ti->sizeof_kind) {
    case HS_SZ_OBJECT:
        if (PyLong_Check(o))
            return -1;
        size = (size_t)tp->tp_basicsize;
        if (tp->tp_itemsize > 0)
            size += (size_t)(Py_ABS(Py_SIZE(o)) * tp->tp_itemsize);
        break;
    case HS_SZ_INT:
        size = hs_sizeof_long(o);
        break;
    case HS_SZ_STR:
        size = hs_sizeof_str(o);
        break;
    case HS_SZ_LIST:
        size = (size_t)tp->tp_basicsize +
               (size_t)((PyListObject *)o)->allocated * sizeof(PyObject *);
        break;
    case HS_SZ_DICT: {
        Py_ssize_t d = _PyDict_SizeOf((PyDictObject *)o);

        if (d < 0)
            return -1;
        size = (size_t)d;
        break;
    }
    case HS_SZ_SET: {
        PySetObject *so = (PySetObject *)o;

        size = (size_t)tp->tp_basicsize;
        if (so->table != so->smalltable)
            size += (size_t)(so->mask + 1) * sizeof(setentry);
        break;
    }
    case HS_SZ_NDARRAY: {
        Py_ssize_t n = hs_numpy_sizeof(o, ti->foreign_abi);

        if (n < 0)
            return -1;
        size = (size_t)n;
        break;
    }
    case HS_SZ_ARRAY: {
        Py_ssize_t n = hs_stdlib_array_sizeof(o);

        if (n < 0)
            return -1;
        size = (size_t)n;
        break;
    }
    case HS_SZ_BYTEARRAY:
        size = (size_t)tp->tp_basicsize +
               (size_t)((PyByteArrayObject *)o)->ob_alloc;
        break;
    default:
        return -1;
    }
    return (Py_ssize_t)(size + hs_sizeof_preheader(o));
}
