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
 * The type is known by its name and that basicsize.
 *
 * Operating-system resources, whose first field after the object header
 * says whether they are open (the same from 3.8 to 3.14):
 *     _io.FileIO          int fd;          -1 once closed
 *     _socket.socket      SOCKET_T sock_fd; -1 once closed
 *     sqlite3.Connection  sqlite3 *db;     NULL once closed
 *     mmap.mmap           char *data; Py_ssize_t size;  data NULL once closed
 * These types are known by their tp_name; a class statement of that name
 * is not one of them (its tp_name is its __name__, while a type made
 * from a spec has its module in tp_name only).  Reads memory only.
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

struct std_fd_object {
    PyObject_HEAD
    int fd; /* FileIO.fd, socket.sock_fd: -1 when closed */
};

struct std_sqlite_connection {
    PyObject_HEAD
    void *db; /* the sqlite3 handle: NULL when closed */
};

struct std_mmap {
    PyObject_HEAD
    char *data;      /* the mapping: NULL when closed */
    Py_ssize_t size; /* its length */
};

static const struct {
    const char *name; /* tp_name */
    uint8_t kind;     /* enum hs_foreign */
    size_t basicsize; /* the least tp_basicsize the fields need */
} resource_types[] = {
    { "_io.FileIO", HS_FOREIGN_FILEIO, sizeof(struct std_fd_object) },
    { "_socket.socket", HS_FOREIGN_SOCKET, sizeof(struct std_fd_object) },
    { "sqlite3.Connection", HS_FOREIGN_SQLITE,
      sizeof(struct std_sqlite_connection) },
    { "mmap.mmap", HS_FOREIGN_MMAP, sizeof(struct std_mmap) },
};

uint8_t
hs_stdlib_resource_kind(PyTypeObject *b)
{
    for (size_t i = 0; i < sizeof(resource_types) / sizeof(*resource_types);
         i++) {
        if (strcmp(b->tp_name, resource_types[i].name) ||
            b->tp_basicsize < (Py_ssize_t)resource_types[i].basicsize)
            continue;
        /* A class statement's tp_name is its __name__ (ht_name). */
        if ((b->tp_flags & Py_TPFLAGS_HEAPTYPE) &&
            (!((PyHeapTypeObject *)b)->ht_name ||
             !PyUnicode_Check(((PyHeapTypeObject *)b)->ht_name) ||
             PyUnicode_CompareWithASCIIString(((PyHeapTypeObject *)b)->ht_name,
                                              b->tp_name) == 0))
            return HS_FOREIGN_NONE;
        return resource_types[i].kind;
    }
    return HS_FOREIGN_NONE;
}

void
hs_stdlib_resource_value(struct hs_str *out, PyObject *o, uint8_t kind)
{
    switch (kind) {
    case HS_FOREIGN_FILEIO:
    case HS_FOREIGN_SOCKET: {
        int fd = ((const struct std_fd_object *)o)->fd;

        if (fd < 0)
            hs_str_adds(out, "closed");
        else
            hs_str_addf(out, "fd %d", fd);
        break;
    }
    case HS_FOREIGN_SQLITE:
        hs_str_adds(out, ((const struct std_sqlite_connection *)o)->db
                             ? "open"
                             : "closed");
        break;
    case HS_FOREIGN_MMAP: {
        const struct std_mmap *m = (const struct std_mmap *)o;

        if (!m->data || m->size < 0)
            hs_str_adds(out, "closed");
        else
            hs_str_addf(out, "mapped %zd", m->size);
        break;
    }
    default:
        break;
    }
}
