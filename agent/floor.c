/*
 * floor.c: the least a heap walk must do, for `make bench` (issue 17's
 * "minimal C traversal"): every object on the gc lists (the permanent
 * generation too), each one's tp_traverse, and a set of the objects seen
 * so that each reached one (a str, an int, an untracked tuple) is found
 * once, an untracked container's references followed too.  No ids
 * beyond the set, no labels, sizes or values, nothing written: the
 * dump's pause divided by this is how far the walk is from its floor.
 * The same census a pure-Python gc.get_objects() + gc.get_referents()
 * walk makes.  Called with the GIL held; memory from hs_alloc, freed
 * before it returns.
 */
#include "agent.h"

#include <string.h>

/* An open-addressing set of object addresses, and a stack of untracked
 * containers still to traverse. */
struct floor {
    uintptr_t *slot;
    size_t mask, n;
    PyObject **stack;
    size_t depth, room;
    unsigned long long refs;
    int failed;
};

static size_t
slot_of(const struct floor *f, uintptr_t p)
{
    return (size_t)(((uint64_t)p >> 4) * 0x9E3779B97F4A7C15ull >> 20) &
           f->mask;
}

static int
grow(struct floor *f)
{
    size_t old = f->mask + 1, size = old * 2;
    uintptr_t *was = f->slot, *now = hs_alloc(size * sizeof(*now));

    if (!now)
        return -1;
    memset(now, 0, size * sizeof(*now));
    f->slot = now;
    f->mask = size - 1;
    for (size_t i = 0; i < old; i++) {
        size_t s;

        if (!was[i])
            continue;
        for (s = slot_of(f, was[i]); now[s]; s = (s + 1) & f->mask)
            ;
        now[s] = was[i];
    }
    hs_free(was);
    return 0;
}

/* 1 when o is new, 0 when seen, -1 out of memory. */
static int
add(struct floor *f, PyObject *o)
{
    uintptr_t p = (uintptr_t)o;
    size_t s;

    if (2 * (f->n + 1) > f->mask + 1 && grow(f) < 0)
        return -1;
    for (s = slot_of(f, p); f->slot[s]; s = (s + 1) & f->mask)
        if (f->slot[s] == p)
            return 0;
    f->slot[s] = p;
    f->n++;
    return 1;
}

static int
visit(PyObject *o, void *arg)
{
    struct floor *f = arg;
    int r;

    f->refs++;
    if (!o || f->failed)
        return 0;
    r = add(f, o);
    if (r < 0) {
        f->failed = 1;
        return 0;
    }
    /* A container the gc does not track is on no list: follow it here. */
    if (r && PyObject_IS_GC(o) && !hs_gc_is_tracked(o) &&
        Py_TYPE(o)->tp_traverse) {
        if (f->depth == f->room) {
            size_t room = f->room ? 2 * f->room : 1024;
            PyObject **s = hs_realloc(f->stack, room * sizeof(*s));

            if (!s) {
                f->failed = 1;
                return 0;
            }
            f->stack = s;
            f->room = room;
        }
        f->stack[f->depth++] = o;
    }
    return 0;
}

static void
traverse(struct floor *f, PyObject *o)
{
    traverseproc t = Py_TYPE(o)->tp_traverse;

    if (t)
        t(o, visit, f);
    while (f->depth && !f->failed) {
        PyObject *u = f->stack[--f->depth];

        Py_TYPE(u)->tp_traverse(u, visit, f);
    }
}

PyObject *
hs_floor_py(PyObject *module, PyObject *unused)
{
    hs_gcstate_t *gc = hs_gcstate();
    struct floor f;
    size_t size = 1024;
    PyObject *result = NULL;

    (void)module;
    (void)unused;
    memset(&f, 0, sizeof(f));
    while (size < 4 * hs_gc_estimate(gc))
        size *= 2;
    f.slot = hs_alloc(size * sizeof(*f.slot));
    if (!f.slot)
        return PyErr_NoMemory();
    memset(f.slot, 0, size * sizeof(*f.slot));
    f.mask = size - 1;
    /* The gc lists first: every tracked object is found there. */
    for (int gen = 0; gen <= NUM_GENERATIONS && !f.failed; gen++) {
        PyGC_Head *head = hs_gc_list(gc, gen);

        for (PyGC_Head *g = hs_gc_next(head); g != head && !f.failed;
             g = hs_gc_next(g))
            f.failed = add(&f, hs_gc_object(g)) < 0;
    }
    for (int gen = 0; gen <= NUM_GENERATIONS && !f.failed; gen++) {
        PyGC_Head *head = hs_gc_list(gc, gen);

        for (PyGC_Head *g = hs_gc_next(head); g != head && !f.failed;
             g = hs_gc_next(g))
            traverse(&f, hs_gc_object(g));
    }
    if (f.failed)
        PyErr_NoMemory();
    else
        result = Py_BuildValue("(nK)", (Py_ssize_t)f.n, f.refs);
    hs_free(f.slot);
    hs_free(f.stack);
    return result;
}
