/*
 * floor.c: the least a heap walk must do, for `make bench` (issue 17's
 * "minimal C traversal"): every object on the gc lists (the permanent
 * generation too), each one's tp_traverse, and the walk's own address
 * table (hs_idmap) so that each reached object (a str, an int, an
 * untracked tuple) is found once, an untracked container's references
 * followed too.  No labels, sizes, values or roots, nothing written: the
 * dump's pause divided by this is how far the walk is from its floor.
 * The table is sized as the dump sizes its own (hs_idmap_expected()).
 * The same census a pure-Python gc.get_objects() + gc.get_referents()
 * walk makes.  Called with the GIL held; the table is released before
 * it returns.
 *
 * It times itself: the traversal from the moment its table is made, as
 * the dump's pause starts once its table is made (hs_dump() makes it with
 * the GIL released), and, apart, the making of the table.  Timed around
 * the call, the floor would count filling in the table's pages, which the
 * pause does not.
 */
#include "agent.h"

#include <string.h>

struct floor {
    struct hs_idmap ids;
    unsigned long long refs;
    int failed;
};

static int
visit(PyObject *o, void *arg)
{
    struct floor *f = arg;
    int added;

    f->refs++;
    if (!f->failed && !hs_idmap_add(&f->ids, o, &added))
        f->failed = 1;
    return 0;
}

PyObject *
hs_floor_py(PyObject *module, PyObject *unused)
{
    hs_gcstate_t *gc = hs_gcstate();
    struct hs_memfacts mem;
    struct floor f;
    uint32_t tracked;
    PyObject *result = NULL;
    double t_table, t_walk;
    int added;

    (void)module;
    (void)unused;
    memset(&f, 0, sizeof(f));
    t_table = hs_mono();
    /* Sized as the dump sizes its own. */
    hs_memfacts_read(&mem, -1);
    if (hs_idmap_init(&f.ids, hs_idmap_expected(&mem, gc)) < 0)
        return PyErr_NoMemory();
    t_walk = hs_mono();
    t_table = t_walk - t_table;
    /* The gc lists first: ids 1..tracked are every tracked object. */
    for (int gen = 0; gen <= NUM_GENERATIONS && !f.failed; gen++) {
        PyGC_Head *head = hs_gc_list(gc, gen);

        for (PyGC_Head *g = hs_gc_next(head); g != head && !f.failed;
             g = hs_gc_next(g))
            f.failed = !hs_idmap_add(&f.ids, hs_gc_object(g), &added);
    }
    tracked = f.ids.count;
    /* Then in id order: the tracked ones, and a container the gc does
     * not track (on no list) when its reference finds it. */
    for (uint32_t id = 1; id <= f.ids.count && !f.failed; id++) {
        PyObject *o = hs_idmap_object(&f.ids, id);
        traverseproc t = Py_TYPE(o)->tp_traverse;

        if (t &&
            (id <= tracked || (PyObject_IS_GC(o) && !hs_gc_is_tracked(o))))
            t(o, visit, &f);
    }
    t_walk = hs_mono() - t_walk;
    if (f.failed)
        PyErr_SetString(f.ids.high_address ? PyExc_RuntimeError
                                           : PyExc_MemoryError,
                        hs_idmap_failure(&f.ids));
    else
        result = Py_BuildValue("(IKdd)", f.ids.count, f.refs, t_walk,
                               t_table);
    hs_idmap_release(&f.ids);
    return result;
}
