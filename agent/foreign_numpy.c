/*
 * foreign_numpy.c: numpy's ndarray read through its documented object
 * layout, without numpy's headers at build time and without calling numpy.
 *
 * numpy/ndarraytypes.h documents PyArrayObject_fields, unchanged in its
 * first fields since numpy 1.7 and kept by numpy 2 as public ABI:
 *
 *     PyObject_HEAD; char *data; int nd; npy_intp *dimensions;
 *     npy_intp *strides; PyObject *base; PyArray_Descr *descr; int flags;
 *
 * and PyArray_Descr starts with PyObject_HEAD; PyTypeObject *typeobj;
 * char kind, type, byteorder, flags; int type_num; then the element size:
 * an int in numpy 1.x, an npy_intp after a 64-bit flags word in numpy 2.x
 * (so the ABI generation is read once per dump from numpy.__version__).
 *
 * What the walk gets from here: the type test (by the name
 * "numpy.ndarray" of a static type whose basicsize covers those fields),
 * an array's base (the object a view keeps alive) and dtype (both owned
 * references), the elements an object array owns (only an array with
 * OWNDATA holds references to its elements; a view borrows them from its
 * base), and sys.getsizeof computed as numpy's __sizeof__ does it:
 * basicsize + 2 * nd * sizeof(npy_intp) + nbytes when the array owns its
 * data (a view owns none).  Every function reads memory only: no
 * allocation, no Python code, no reference count change, except
 * hs_numpy_abi(), which runs before the walk.
 */
#include "agent.h"

#include <stdlib.h>
#include <string.h>

/* The documented prefix of PyArrayObject_fields. */
struct np_array {
    PyObject_HEAD
    char *data;            /* first element */
    int nd;                /* number of dimensions */
    Py_ssize_t *dimensions; /* nd lengths */
    Py_ssize_t *strides;   /* nd byte steps */
    PyObject *base;        /* what owns the data of a view, or NULL */
    PyObject *descr;       /* the dtype (PyArray_Descr *) */
    int flags;             /* NPY_ARRAY_* */
};

/* The documented prefix of PyArray_Descr, common to numpy 1.x and 2.x. */
struct np_descr {
    PyObject_HEAD
    PyTypeObject *typeobj; /* the scalar type */
    char kind, type, byteorder, flags;
    int type_num;          /* NPY_TYPES */
};

/* numpy 1.x continues with int elsize. */
struct np_descr_v1 {
    struct np_descr head;
    int elsize;
};

/* numpy 2.x continues with npy_uint64 flags; npy_intp elsize. */
struct np_descr_v2 {
    struct np_descr head;
    uint64_t flags;
    Py_ssize_t elsize;
};

#define NP_OWNDATA 0x0004 /* NPY_ARRAY_OWNDATA */
#define NP_OBJECT 17      /* NPY_OBJECT */
#define NP_MAXDIMS 64     /* numpy 2's NPY_MAXDIMS; 1.x allows 32 */

int
hs_numpy_abi(void)
{
    PyObject *modules = PyImport_GetModuleDict();
    PyObject *np, *d, *v;
    const char *text;

    np = modules ? PyDict_GetItemString(modules, "numpy") : NULL;
    if (!np || !PyModule_Check(np))
        return 0;
    d = PyModule_GetDict(np);
    v = d ? PyDict_GetItemString(d, "__version__") : NULL;
    if (!v || !PyUnicode_Check(v))
        return 0;
    text = PyUnicode_AsUTF8(v);
    if (!text) {
        PyErr_Clear();
        return 0;
    }
    if (!strncmp(text, "1.", 2))
        return 1;
    if (!strncmp(text, "2.", 2))
        return 2;
    return 0;
}

int
hs_numpy_is_ndarray_type(PyTypeObject *tp)
{
    return !(tp->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
           !strcmp(tp->tp_name, "numpy.ndarray") &&
           tp->tp_basicsize >= (Py_ssize_t)sizeof(struct np_array);
}

/* The array's fields, or NULL when they do not look like an array's. */
static const struct np_array *
array_of(PyObject *o)
{
    const struct np_array *a = (const struct np_array *)o;

    if (a->nd < 0 || a->nd > NP_MAXDIMS || (a->nd && !a->dimensions))
        return NULL;
    return a;
}

/* Element count, or -1 on overflow or a negative length. */
static Py_ssize_t
count_of(const struct np_array *a)
{
    Py_ssize_t n = 1;

    for (int i = 0; i < a->nd; i++) {
        Py_ssize_t d = a->dimensions[i];

        if (d < 0 || (d && n > PY_SSIZE_T_MAX / d))
            return -1;
        n *= d;
    }
    return n;
}

PyObject *
hs_numpy_base(PyObject *o)
{
    const struct np_array *a = array_of(o);

    return a ? a->base : NULL;
}

PyObject *
hs_numpy_dtype(PyObject *o)
{
    const struct np_array *a = array_of(o);

    return a ? a->descr : NULL;
}

int
hs_numpy_ndim(PyObject *o)
{
    const struct np_array *a = array_of(o);

    return a ? a->nd : 0;
}

Py_ssize_t
hs_numpy_object_count(PyObject *o)
{
    const struct np_array *a = array_of(o);
    Py_ssize_t n;

    if (!a || !(a->flags & NP_OWNDATA) || !a->descr || !a->data ||
        ((const struct np_descr *)a->descr)->type_num != NP_OBJECT ||
        (a->nd && !a->strides))
        return 0;
    n = count_of(a);
    return n > 0 ? n : 0;
}

PyObject *
hs_numpy_object_at(PyObject *o, Py_ssize_t flat, struct hs_str *index)
{
    const struct np_array *a = (const struct np_array *)o;
    Py_ssize_t idx[NP_MAXDIMS], rest = flat, offset = 0;

    /* C order: the last index varies fastest. */
    for (int k = a->nd - 1; k >= 0; k--) {
        Py_ssize_t d = a->dimensions[k];

        idx[k] = rest % d;
        rest /= d;
        offset += idx[k] * a->strides[k];
    }
    if (index) {
        /* Without printf: it took 3.4% of a pandas dump's walk. */
        for (int k = 0; k < a->nd; k++) {
            if (k)
                hs_str_addch(index, ',');
            hs_text_decimal(index, idx[k]);
        }
    }
    return *(PyObject **)(a->data + offset);
}

Py_ssize_t
hs_numpy_sizeof(PyObject *o, int abi)
{
    const struct np_array *a = array_of(o);
    Py_ssize_t size, n, elsize;

    if (!a || !a->descr)
        return -1;
    size = Py_TYPE(o)->tp_basicsize +
           2 * (Py_ssize_t)a->nd * (Py_ssize_t)sizeof(Py_ssize_t);
    if (!(a->flags & NP_OWNDATA))
        return size;
    if (abi == 1)
        elsize = ((const struct np_descr_v1 *)a->descr)->elsize;
    else if (abi == 2)
        elsize = ((const struct np_descr_v2 *)a->descr)->elsize;
    else
        return -1;
    n = count_of(a);
    if (n < 0 || elsize < 0 || (elsize && n > (PY_SSIZE_T_MAX - size) / elsize))
        return -1;
    return size + n * elsize;
}
