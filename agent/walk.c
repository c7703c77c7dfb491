/*
 * walk.c: one dump, from the first object to the renamed file.
 *
 *  0. setup     gc off (its lists must not move, P3), roots listed, every
 *               gc-tracked object of every generation (the permanent one
 *               too, P1) given an id; closures noted for labelling.
 *  1. edges     objects in id order, each read once: its refcount,
 *               then its labelled references, which give their targets
 *               ids and so append them to the same order: the id array
 *               is the work queue.  A target is not read when found, only
 *               when its turn comes.  Each strong reference lowers its
 *               target's "balance" (refcount minus references found);
 *               what the roots listed so far reach is marked on the way.
 *               The rows (type, size, value, flags; each reference's
 *               label) are made from records the walk hands over, on a
 *               second thread while the walk goes on ("the output side
 *               of phase 1"; handoff.c), or inline.
 *  2. roots     a positive balance is a reference from outside the heap:
 *               an "external" (or "interned") root.  Static and immortal
 *               containers are roots too.  The marking is finished from
 *               these roots; what stays unmarked is cyclic garbage.
 *  3. objects   the unreachable flag added to those rows; types, roots,
 *               threads, frames, meta.
 *  4. sizes     objects whose size only a C __sizeof__ knows: called now,
 *               once every other fact is captured; in place (not in a
 *               forked child), a Python-level __sizeof__'s figure too,
 *               for reported_sizes.  That Python code may free, create
 *               or change objects, or run a signal handler (a dump it
 *               asks for is refused); the snapshot still shows the heap
 *               as phases 0-3 saw it.
 *  4a. sites    before those calls, when tracemalloc traces the process:
 *               each object's allocation traceback (sites.c).
 *
 * A read of invalid memory in phases 0-3 (an extension object with a
 * wild pointer) fails the dump and leaves the process as it was
 * (guard.c).
 *
 * Out of memory anywhere in phases 0-3, including a label or value text,
 * fails the whole dump (no silently missing rows); in phase 4 it leaves
 * the object's size_fallback flag.
 *
 * Phases 0-3 run no Python code, allocate no Python object and change no
 * reference count, so the heap holds still while it is read (the output
 * thread reads it too, while the walking thread holds the GIL).  Memory:
 * 21.4 to 23.8 bytes per object in the id map (idmap.c: a record of the
 * object, its balance and flag byte, and the hash table); records pass
 * through the handoff's 1 MiB and rows through the writer's bounded
 * queue, which spools while the writer waits for phase 1 to end.
 */
#include "walk.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* Per-object bits (struct walk.bits). */
#define B_HAS_OUT 0x01 /* holds at least one strong reference */
#define B_HAS_IN 0x02  /* is held by at least one object */
#define B_REACHED 0x04 /* reachable from a root */
#define B_FROZEN 0x08  /* in the permanent generation */
#define B_ROOT 0x10    /* named as a root */
#define B_PINNED 0x20  /* immortal or statically allocated */

/* How many table lookups (and objects) are loaded ahead of their use. */
#define PREFETCH 8
/* How many objects ahead edges() loads an object's header: ids are
 * handed out in discovery order, so the next objects are scattered over
 * the heap and each first read of one is a cache miss. */
#define HEADER_AHEAD 6


static int
fail(struct walk *w, const char *what)
{
    if (!w->failed)
        snprintf(w->err, w->errlen, "%s", what);
    w->failed = 1;
    return -1;
}

/* The walk stops because the output side failed: its message comes when
 * the handoff is closed (hs_rows_close()). */
static int
output_failed(struct walk *w)
{
    if (!w->failed)
        w->output_cause = 1;
    w->failed = 1;
    return -1;
}


/* ---- the closure map -------------------------------------------------------------- */

static inline uint32_t
ptr_hash(PyObject *p, uint32_t mask)
{
    uint64_t h = ((uint64_t)(uintptr_t)p >> 4) * 0x9E3779B97F4A7C15ULL;

    return (uint32_t)(h >> 32) & mask;
}

static int
ptrmap_put(struct ptrmap *m, PyObject *k, PyObject *v)
{
    uint32_t i;

    if ((m->count + 1) * 2 > m->cap) {
        uint32_t cap = m->cap ? m->cap * 2 : 1024;
        PyObject **keys = hs_alloc(cap * sizeof(*keys));
        PyObject **vals = hs_alloc(cap * sizeof(*vals));

        if (!keys || !vals) {
            hs_free(keys);
            hs_free(vals);
            return -1;
        }
        memset(keys, 0, cap * sizeof(*keys));
        for (uint32_t j = 0; j < m->cap; j++) {
            if (!m->keys[j])
                continue;
            i = ptr_hash(m->keys[j], cap - 1);
            while (keys[i])
                i = (i + 1) & (cap - 1);
            keys[i] = m->keys[j];
            vals[i] = m->vals[j];
        }
        hs_free(m->keys);
        hs_free(m->vals);
        m->keys = keys;
        m->vals = vals;
        m->cap = cap;
    }
    i = ptr_hash(k, m->cap - 1);
    while (m->keys[i] && m->keys[i] != k)
        i = (i + 1) & (m->cap - 1);
    if (!m->keys[i])
        m->count++;
    m->keys[i] = k;
    m->vals[i] = v;
    return 0;
}

static PyCodeObject *
closure_code(void *arg, PyObject *tuple)
{
    struct ptrmap *m = arg;
    uint32_t i;

    if (!m->count)
        return NULL;
    for (i = ptr_hash(tuple, m->cap - 1); m->keys[i];
         i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == tuple)
            return (PyCodeObject *)m->vals[i];
    }
    return NULL;
}

/* 1 if k is a key of m. */
int
hs_walk_ptrmap_has(const struct ptrmap *m, PyObject *k)
{
    if (!m->count)
        return 0;
    for (uint32_t i = ptr_hash(k, m->cap - 1); m->keys[i];
         i = (i + 1) & (m->cap - 1)) {
        if (m->keys[i] == k)
            return 1;
    }
    return 0;
}

/* ---- ids ----------------------------------------------------------------------------- */

/* Learns where the small-int cache lives, before the walk: asking for a
 * cached int allocates nothing and leaves its refcount as it was. */
static void
find_small_ints(struct walk *w)
{
    for (long v = -5; v <= 256; v++) {
        PyObject *o = hs_small_int(v);

        if (!o) {
            o = PyLong_FromLong(v);
            if (!o) {
                PyErr_Clear();
                continue;
            }
            Py_DECREF(o);
        }
        w->small_ints[v + 5] = o;
    }
}

/* Statically allocated, or cached for the interpreter's lifetime. */
static int
is_static(struct walk *w, PyObject *o)
{
    if (PyLong_CheckExact(o)) {
        /* Read in place (no call per int): small ones have a digit. */
        Py_ssize_t ndigits;
        int negative;
        const digit *d = hs_long_digits(o, &ndigits, &negative);
        long v = ndigits ? (negative ? -(long)d[0] : (long)d[0]) : 0;

        return ndigits <= 1 && v >= -5 && v <= 256 &&
               w->small_ints[v + 5] == o;
    }
    return (PyType_Check(o) &&
            !(((PyTypeObject *)o)->tp_flags & Py_TPFLAGS_HEAPTYPE)) ||
           o == Py_None || o == Py_True || o == Py_False ||
           o == Py_Ellipsis || o == Py_NotImplemented;
}

/* The id of o, giving it one if new; 0 on OOM.  Does not read o: its
 * refcount and flags are read when its turn comes (object_record()), so a
 * reference costs one table lookup, not also a cache miss on its target. */
static uint32_t
discover(struct walk *w, PyObject *o)
{
    int added;
    uint32_t id = hs_idmap_add(&w->ids, o, &added);

    if (!id)
        fail(w, hs_idmap_failure(&w->ids));
    return id;
}

/* The balance of id: its refcount minus the references found so far. */
static inline int32_t *
balance_of(struct walk *w, uint32_t id)
{
    return hs_idmap_aux(&w->ids, id);
}

static inline uint8_t *
bits_of(struct walk *w, uint32_t id)
{
    return hs_idmap_flags(&w->ids, id);
}

/* ---- phase 0: seeds ------------------------------------------------------------------- */

/*
 * With --redact: remembers the attribute dict of o (a module, class,
 * function or instance; hs_instance_storage() reads it without making
 * one), whose keys are names from code, not data.  0, or -1 when memory
 * ran out.
 */
static int
note_namespace(struct walk *w, PyObject *o)
{
    PyObject **values, *keys, *dict;
    Py_ssize_t nvalues;

    if (PyDict_Check(o) || PyTuple_Check(o) || PyList_Check(o))
        return 0;
    dict = hs_instance_storage(o, &values, &nvalues, &keys);
    if (!dict || !PyDict_Check(dict))
        return 0;
    return ptrmap_put(&w->namespaces, dict, o);
}

/*
 * The roots listed by roots.c get the first ids (they are reached by
 * definition), then every gc-tracked object of every generation (the
 * permanent one too, P1), in list order; closures are noted for
 * labelling.  After a full collection the lists are in the order the
 * collector found the objects reachable, so most references lead forward
 * in id order, which edges() uses to mark reachability on the way.
 * O(gc objects).
 */
static int
seed(struct walk *w)
{
    hs_gcstate_t *gc = hs_gcstate();

    for (size_t i = 0; i < w->roots.n; i++) {
        uint32_t id = discover(w, w->roots.v[i].obj);

        if (!id)
            return -1;
        *bits_of(w, id) |= B_REACHED;
    }
    for (int gen = 0; gen <= NUM_GENERATIONS; gen++) {
        PyGC_Head *head = hs_gc_list(gc, gen), *ahead = hs_gc_next(head);

        /* The table slots of the objects PREFETCH ahead on the list are
         * loaded while these are added. */
        for (int i = 0; i < PREFETCH && ahead != head; i++) {
            hs_idmap_prefetch(&w->ids, hs_gc_object(ahead));
            ahead = hs_gc_next(ahead);
        }
        for (PyGC_Head *g = hs_gc_next(head); g != head; g = hs_gc_next(g)) {
            PyObject *o = hs_gc_object(g);
            uint32_t id;

            if (ahead != head) {
                hs_idmap_prefetch(&w->ids, hs_gc_object(ahead));
                ahead = hs_gc_next(ahead);
            }
            id = discover(w, o);

            if (!id)
                return -1;
            if (gen == NUM_GENERATIONS)
                *bits_of(w, id) |= B_FROZEN;
            if (w->opts->redact && note_namespace(w, o) < 0)
                return fail(w, "out of memory (namespaces)");
            if (PyFunction_Check(o)) {
                PyObject *cl = ((PyFunctionObject *)o)->func_closure;
                PyObject *co = ((PyFunctionObject *)o)->func_code;

                if (cl && PyTuple_Check(cl) && co && PyCode_Check(co) &&
                    ptrmap_put(&w->closures, cl, co) < 0)
                    return fail(w, "out of memory (closures)");
            }
        }
    }
    return 0;
}

/* ---- phase 1: edges ------------------------------------------------------------------- */



/* Hands reference x of the current object, to id `did`, to the output
 * side. */
static int
ref_record(struct walk *w, const struct hs_ref *x, uint32_t did)
{
    const char *text = NULL;
    size_t len = 0, need = sizeof(struct rec_ref);
    struct rec_ref *r;

    if (x->lbl == HS_L_TEXT) {
        text = w->refs.text.data + x->u.index;
        len = strnlen(text, RECORD_TEXT_MAX);
        need += PAD8(len + 1);
    }
    r = (struct rec_ref *)hs_handoff_reserve(w->out, need);
    if (!r)
        return output_failed(w);
    r->tag = text ? R_REF_TEXT : R_REF;
    r->kind = x->kind;
    r->lbl = x->lbl;
    r->dst = did;
    memcpy(&r->arg, &x->u, sizeof(r->arg));
    if (text) {
        r->arg.index = (Py_ssize_t)len;
        memcpy(r + 1, text, len);
        ((char *)(r + 1))[len] = '\0';
    }
    hs_handoff_commit(w->out, need);
    return 0;
}

static int
push(struct walk *w, uint32_t id)
{
    if (w->nstack == w->stack_cap) {
        size_t cap = w->stack_cap ? w->stack_cap * 2 : 4096;
        uint32_t *v = hs_realloc(w->stack, cap * sizeof(*v));

        if (!v)
            return fail(w, "out of memory (reachability)");
        w->stack = v;
        w->stack_cap = cap;
    }
    w->stack[w->nstack++] = id;
    return 0;
}

/* Reference x of object `id` (reached or not): its target gets an id,
 * a balance, bits and reachability, and the reference its record.  The
 * target's table slot was prefetched a while before. */
static inline int
edge_row(struct walk *w, uint32_t id, int reached, const struct hs_ref *x)
{
    uint32_t did = discover(w, x->dst);

    if (!did)
        return -1;
    if (x->kind != HS_K_WEAK) {
        uint8_t *b = bits_of(w, did);

        if (!x->uncounted)
            --*balance_of(w, did);
        *bits_of(w, id) |= B_HAS_OUT;
        if (reached && !(*b & B_REACHED)) {
            *b |= B_REACHED;
            /* Processed already, unreached: pass it on later. */
            if (did < id && (*b & B_HAS_OUT) && push(w, did) < 0)
                return -1;
        }
        *b |= B_HAS_IN;
    }
    return ref_record(w, x, did);
}

/* One batch of the references of a big object, id `id` (in w->refs),
 * prefetching PREFETCH ahead within the batch. */
static int
edge_rows(struct walk *w, uint32_t id, int reached)
{
    for (size_t i = 0; i < w->refs.n && i < PREFETCH; i++)
        hs_idmap_prefetch(&w->ids, w->refs.v[i].dst);
    for (size_t i = 0; i < w->refs.n; i++) {
        if (i + PREFETCH < w->refs.n)
            hs_idmap_prefetch(&w->ids, w->refs.v[i + PREFETCH].dst);
        if (edge_row(w, id, reached, &w->refs.v[i]) < 0)
            return -1;
    }
    w->edges += w->refs.n;
    return 0;
}

static int object_record(struct walk *w, uint32_t id, PyObject *o,
                         struct hs_typeinfo *ti);

/* Object `id`'s row, its type's first; whether it is reached (read now:
 * its references pass reachability on only from here). -1 on failure. */
static int
object_row(struct walk *w, uint32_t id)
{
    PyObject *o = hs_idmap_object(&w->ids, id);
    struct hs_typeinfo *ti;

    w->current = id;
    ti = hs_types_get(&w->types, Py_TYPE(o));
    if (!ti)
        return fail(w, "out of memory (types)");
    if (!ti->id && !(ti->id = discover(w, (PyObject *)Py_TYPE(o))))
        return -1;
    if (object_record(w, id, o, ti) < 0)
        return -1;
    return (*bits_of(w, id) & B_REACHED) != 0;
}

/*
 * The pipeline of phase 1.  Looking a reference's target up misses the
 * cache on its table slot (at 10M objects that miss was four fifths of
 * the lookup and half of the walking thread), and most objects hold too
 * few references for prefetching within one object to hide it.  So
 * edges() gathers the references of the objects ahead into a ring,
 * prefetching each target's slot as it goes in, and looks them up
 * PIPE_AHEAD references later, object by object in id order: an object's
 * row and its reachability are taken when its turn to be looked up comes,
 * as before, so ids, rows and reachability follow the same rules; only
 * the ids new objects get are a few steps later.  An object with more
 * than PIPE_OBJ_MAX references, batches, or labels made for it (text in
 * w->refs) is not copied: the ring is emptied and it is handled in place.
 */
#define PIPE_AHEAD 24      /* references gathered ahead of the lookup */
#define PIPE_OBJ_MAX 64    /* references of an object the ring takes */
#define PIPE_REFS 256      /* the ring (a power of two) */
#define PIPE_OBJS 64       /* objects in the ring (a power of two) */

struct pipe_obj {
    uint32_t id; /* the object */
    uint32_t n;  /* its references, in the ring from pipe.rtail */
};

struct pipe {
    struct hs_ref refs[PIPE_REFS];
    struct pipe_obj objs[PIPE_OBJS];
    uint32_t rhead, rtail; /* references in: [rtail, rhead), counted mod 2^32 */
    uint32_t ohead, otail; /* objects in: [otail, ohead) */
};

/* Looks up the references of the ring's first object, after its row. */
static int
pipe_lookup(struct walk *w, struct pipe *p)
{
    struct pipe_obj *ob = &p->objs[p->otail++ % PIPE_OBJS];
    int reached = object_row(w, ob->id);

    if (reached < 0)
        return -1;
    for (uint32_t i = 0; i < ob->n; i++)
        if (edge_row(w, ob->id, reached,
                     &p->refs[p->rtail++ % PIPE_REFS]) < 0)
            return -1;
    w->edges += ob->n;
    return 0;
}

/* Copies the references of object `id` (in w->refs) into the ring,
 * prefetching their slots. */
static void
pipe_add(struct walk *w, struct pipe *p, uint32_t id)
{
    struct pipe_obj *ob = &p->objs[p->ohead++ % PIPE_OBJS];

    ob->id = id;
    ob->n = (uint32_t)w->refs.n;
    for (size_t i = 0; i < w->refs.n; i++) {
        hs_idmap_prefetch(&w->ids, w->refs.v[i].dst);
        p->refs[p->rhead++ % PIPE_REFS] = w->refs.v[i];
    }
}

/* Object `id`, whose references (the first batch) are in w->refs, in
 * place: its row, then its references batch by batch. */
static int
edges_in_place(struct walk *w, uint32_t id)
{
    PyObject *o = hs_idmap_object(&w->ids, id);
    int reached = object_row(w, id);

    if (reached < 0)
        return -1;
    for (;;) {
        if (edge_rows(w, id, reached) < 0)
            return -1;
        if (!w->refs.more)
            return 0;
        if (hs_referents_next(&w->refctx, o, &w->refs) < 0)
            return fail(w, "out of memory (references)");
    }
}

/*
 * Every object's references, in id order; objects they lead to get the
 * next ids, so the id array is the work queue.  Reachability from the
 * listed roots is marked on the way (B_REACHED): a reached object passes
 * it on when it is processed, or, if it was processed before being
 * reached, from the stack in reach().  O(objects + references).
 */
static int
edges(struct walk *w)
{
    struct pipe *p = w->pipe = hs_alloc(sizeof(*p));
    uint32_t next = 1; /* the next object whose references are gathered */

    if (!p)
        return fail(w, "out of memory (references)");
    p->rhead = p->rtail = p->ohead = p->otail = 0;
    for (;;) {
        /* Gather until PIPE_AHEAD references wait behind the first
         * object's, or the ring is full. */
        while (next <= w->ids.count && p->ohead - p->otail < PIPE_OBJS &&
               PIPE_REFS - (p->rhead - p->rtail) >= PIPE_OBJ_MAX &&
               (p->ohead == p->otail ||
                p->rhead - p->rtail - p->objs[p->otail % PIPE_OBJS].n <
                    PIPE_AHEAD)) {
            PyObject *o = hs_idmap_object(&w->ids, next);

            if (next + HEADER_AHEAD <= w->ids.count) {
                uintptr_t ahead =
                    (uintptr_t)hs_idmap_object(&w->ids, next + HEADER_AHEAD);

                /* Its header, and the words before it (the gc links, a
                 * managed __dict__ or values pointer). */
                __builtin_prefetch((const void *)ahead);
                __builtin_prefetch((const void *)(ahead - 32));
            }
            w->current = next;
            if (hs_referents(&w->refctx, o, &w->refs) < 0)
                return fail(w, "out of memory (references)");
            if (w->refs.n > PIPE_OBJ_MAX || w->refs.more ||
                w->refs.text.len) {
                /* Emptying the ring leaves w->refs alone. */
                while (p->ohead != p->otail)
                    if (pipe_lookup(w, p) < 0)
                        return -1;
                if (edges_in_place(w, next) < 0)
                    return -1;
            } else {
                pipe_add(w, p, next);
            }
            next++;
            if (!(next & 0xFFF) && hs_sink_failed(w->sink))
                return -1;
            if (!(next & 0xFFF) && hs_handoff_failed(w->out))
                return output_failed(w);
        }
        if (p->ohead == p->otail) {
            if (next > w->ids.count)
                return 0;
            continue;
        }
        if (pipe_lookup(w, p) < 0)
            return -1;
    }
}

/* ---- phase 2: roots and reachability ------------------------------------------------- */

static void
write_root(struct walk *w, uint32_t id, const char *kind, const char *label,
           int64_t thread, int64_t frame)
{
    hs_sink_root(w->sink, id, kind, label, thread, frame);
    *bits_of(w, id) |= B_ROOT;
    w->nroots++;
}

/*
 * The root rows: the roots listed by roots.c, then in id order every
 * object with references from outside the heap (a positive balance) and
 * every immortal or static object that holds something or that nothing
 * holds.  O(objects), sequential.
 */
static void
roots(struct walk *w)
{
    char label[64];

    for (size_t i = 0; i < w->roots.n; i++) {
        const struct hs_root_entry *e = &w->roots.v[i];
        uint32_t id = hs_idmap_find(&w->ids, e->obj);

        if (e->owns)
            --*balance_of(w, id);
        if (!e->silent)
            write_root(w, id, e->kind, hs_roots_label(&w->roots, e),
                       e->thread >= 0 ? e->thread + 1 : -1,
                       e->frame >= 0 ? e->frame + 1 : -1);
    }
    for (uint32_t id = 1; id <= w->ids.count; id++) {
        uint8_t b = *bits_of(w, id);
        int32_t bal = *balance_of(w, id);
        PyObject *o;

        if (b & B_PINNED) {
            /* Never freed: a root when it holds something, or when
             * nothing in the heap holds it. */
            if (!(b & B_HAS_OUT) && (b & B_HAS_IN))
                continue;
            o = hs_idmap_object(&w->ids, id);
            write_root(w, id,
                       PyUnicode_CheckExact(o) && PyUnicode_CHECK_INTERNED(o)
                           ? "interned"
                           : "static",
                       hs_is_immortal(o) ? "immortal" : "statically allocated",
                       -1, -1);
            continue;
        }
        if (bal < 0)
            w->negative++;
        if (bal <= 0)
            continue;
        o = hs_idmap_object(&w->ids, id);
        snprintf(label, sizeof(label), "%d reference%s from outside the heap",
                 bal, bal == 1 ? "" : "s");
        write_root(w, id,
                   PyUnicode_CheckExact(o) && PyUnicode_CHECK_INTERNED(o)
                       ? "interned"
                       : "external",
                   label, -1, -1);
    }
}

/* Marks the strong targets of one batch of references (in w->refs),
 * stacking those that hold references in turn. */
static int
mark_rows(struct walk *w)
{
    for (size_t i = 0; i < w->refs.n; i++) {
        const struct hs_ref *x = &w->refs.v[i];
        uint32_t did;
        uint8_t *b;

        if (x->kind == HS_K_WEAK)
            continue;
        did = hs_idmap_find(&w->ids, x->dst);
        if (!did)
            continue;
        b = bits_of(w, did);
        if (!(*b & B_REACHED)) {
            *b |= B_REACHED;
            if ((*b & B_HAS_OUT) && push(w, did) < 0)
                return -1;
        }
    }
    return 0;
}

/* Finishes the marking edges() began: from the roots found since (and
 * the objects it left on the stack), depth first with the explicit stack.
 * O(objects + references), usually much less: only what the listed roots
 * do not reach is visited. */
static int
reach(struct walk *w)
{
    for (uint32_t id = 1; id <= w->ids.count; id++) {
        uint8_t *b = bits_of(w, id);

        if ((*b & (B_ROOT | B_REACHED)) == B_ROOT) {
            *b |= B_REACHED;
            if ((*b & B_HAS_OUT) && push(w, id) < 0)
                return -1;
        }
    }
    while (w->nstack) {
        PyObject *o = hs_idmap_object(&w->ids, w->stack[--w->nstack]);

        if (hs_referents(&w->refctx, o, &w->refs) < 0)
            return fail(w, "out of memory (references)");
        for (;;) {
            if (mark_rows(w) < 0)
                return -1;
            if (!w->refs.more)
                break;
            if (hs_referents_next(&w->refctx, o, &w->refs) < 0)
                return fail(w, "out of memory (references)");
        }
    }
    return 0;
}


/* A name for a type record: at most RECORD_TEXT_MAX bytes, or NULL. */
static uint32_t
name_len(const struct hs_str *s)
{
    if (!s->data)
        return UINT32_MAX;
    return (uint32_t)(s->len < RECORD_TEXT_MAX ? s->len : RECORD_TEXT_MAX);
}

/* The row of type ti, handed to the output side before the first object
 * of the type: its names are read here, where the GIL is held. */
static int
type_record(struct walk *w, struct hs_typeinfo *ti)
{
    const struct hs_str *name[3] = { &w->t1, &w->t2, &w->t3 };
    size_t need = sizeof(struct rec_type);
    struct rec_type *r;
    char *p;

    hs_str_reset(&w->t1);
    hs_str_reset(&w->t2);
    hs_str_reset(&w->t3);
    hs_types_names(&w->types, ti->tp, &w->t1, &w->t2, &w->t3);
    if (w->t1.failed || w->t2.failed || w->t3.failed)
        return fail(w, "out of memory (values)");
    for (int i = 0; i < 3; i++)
        if (name_len(name[i]) != UINT32_MAX)
            need += PAD8(name_len(name[i]) + 1);
    r = (struct rec_type *)hs_handoff_reserve(w->out, need);
    if (!r)
        return output_failed(w);
    memset(r, 0, sizeof(*r));
    r->tag = R_TYPE;
    r->flags = ti->flags;
    r->ti = ti;
    p = (char *)(r + 1);
    for (int i = 0; i < 3; i++) {
        r->len[i] = name_len(name[i]);
        if (r->len[i] == UINT32_MAX)
            continue;
        memcpy(p, name[i]->data, r->len[i]);
        p[r->len[i]] = '\0';
        p += PAD8(r->len[i] + 1);
    }
    /* Classes, and dict and set, whose sizes the analyzer decomposes
     * into header and table (hash_tables.h). */
    if ((ti->tp->tp_flags & Py_TPFLAGS_HEAPTYPE) || ti->tp == &PyDict_Type ||
        ti->tp == &PySet_Type) {
        struct hs_type_layout *l = &r->layout;
        int inline_values;

        r->has_layout = 1;
        l->type_id = ti->id;
        l->basicsize = ti->tp->tp_basicsize;
        l->itemsize = ti->tp->tp_itemsize;
        l->dictoffset = ti->tp->tp_dictoffset;
        l->weaklistoffset = ti->tp->tp_weaklistoffset;
        l->managed_dict = (uint8_t)hs_type_managed_dict(ti->tp);
        l->solid_basicsize = hs_layout_solid_size(ti->tp);
        l->values_bytes = hs_type_values_bytes(ti->tp, &inline_values);
        l->values_inline = (uint8_t)inline_values;
    }
    hs_handoff_commit(w->out, need);
    ti->row_done = 1;
    return 0;
}

/*
 * Object id's part of its row that the walk reads itself, while its
 * memory is in the cache: its refcount starts its balance (the references
 * found so far were subtracted from 0), the flags phases 2 and 3 need
 * (pinned, frozen), and a value only the GIL's holder reads
 * (hs_rows_value_on_walk()).  The rest is the output side's (rows.c).
 * Whether it is reachable is known only at the end: unreachable_rows().
 */
static int
object_record(struct walk *w, uint32_t id, PyObject *o,
              struct hs_typeinfo *ti)
{
    uint8_t *b = bits_of(w, id);
    Py_ssize_t rc = Py_REFCNT(o);
    int32_t *bal = balance_of(w, id);
    uint32_t flags = 0;
    int text = 0, has_value = 0;
    size_t len = 0, need = sizeof(struct rec_object);
    struct rec_object *r;

    *bal = rc >= INT32_MAX + (Py_ssize_t)*bal ? INT32_MAX : *bal + (int32_t)rc;
    if (!ti->row_done && type_record(w, ti) < 0)
        return -1;
    if (ti->value_kind == VK_UNKNOWN)
        ti->value_kind = hs_rows_value_kind(o, ti);
    if (hs_rows_value_on_walk(ti->value_kind)) {
        flags |= hs_rows_value_of(w->opts, &w->wvalue, o, ti, &has_value);
        if (w->wvalue.failed)
            return fail(w, "out of memory (values)");
        text = 1;
        len = w->wvalue.len < RECORD_TEXT_MAX * 4 ? w->wvalue.len
                                                  : RECORD_TEXT_MAX * 4;
        need += PAD8(len + 1);
    }
    if (hs_is_immortal(o)) {
        flags |= HS_F_IMMORTAL;
        *b |= B_PINNED;
    }
    if (is_static(w, o)) {
        flags |= HS_F_STATIC;
        *b |= B_PINNED;
    }
    if (*b & B_FROZEN)
        flags |= HS_F_FROZEN;
    r = (struct rec_object *)hs_handoff_reserve(w->out, need);
    if (!r)
        return output_failed(w);
    r->tag = R_OBJECT;
    r->text = (uint8_t)text;
    r->has_value = (uint8_t)has_value;
    r->id = id;
    r->flags = flags;
    r->textlen = (uint32_t)len;
    r->o = o;
    r->ti = ti;
    r->refcount = (int64_t)rc;
    if (text) {
        if (len)
            memcpy(r + 1, w->wvalue.data, len);
        ((char *)(r + 1))[len] = '\0';
    }
    hs_handoff_commit(w->out, need);
    return 0;
}

/* The deferred objects stay alive until phase 4: a reference each, taken
 * here by the thread holding the GIL. */
static void
hold_deferred(struct walk *w)
{
    for (size_t i = 0; i < w->ndeferred; i++)
        Py_INCREF(w->deferred[i].o);
    w->deferred_held = 1;
}

/*
 * The flag only the finished walk knows: the objects no root reaches
 * (cyclic garbage, usually few) have it added to their rows, a run of
 * consecutive ids at a time (garbage lies together on the gc lists, so
 * its ids do too).  O(objects), sequential.
 */
static void
unreachable_rows(struct walk *w)
{
    uint32_t first = 0;

    for (uint32_t id = 1; id <= w->ids.count + 1; id++) {
        int unreached = id <= w->ids.count && !(*bits_of(w, id) & B_REACHED);

        if (unreached && !first)
            first = id;
        else if (!unreached && first) {
            hs_sink_object_flag(w->sink, first, id - 1, HS_F_UNREACHABLE);
            first = 0;
        }
    }
}

/* The id of o, or -1 for NULL or an object not in the snapshot. */
static int64_t
find_id(struct walk *w, PyObject *o)
{
    uint32_t id = o ? hs_idmap_find(&w->ids, o) : 0;

    return id ? (int64_t)id : -1;
}

static int
threads_and_frames(struct walk *w)
{
    struct hs_str name = { NULL, 0, 0, 0 }, file = { NULL, 0, 0, 0 };
    int rc = 0;

    for (size_t i = 0; i < w->roots.nthreads; i++) {
        const struct hs_thread_entry *t = &w->roots.threads[i];

        int named = t->name && !w->opts->redact; /* a name is data */

        hs_str_reset(&name);
        if (named)
            hs_text_str(&name, t->name, 200);
        hs_sink_thread(w->sink, (uint32_t)i + 1, t->ident,
                       t->native_id ? (int64_t)t->native_id : -1,
                       named ? (name.data ? name.data : "") : NULL,
                       t->is_main, t->is_dumper,
                       find_id(w, t->thread_obj));
    }
    for (size_t i = 0; i < w->roots.nframes; i++) {
        const struct hs_frame_entry *f = &w->roots.frames[i];

        hs_str_reset(&name);
        hs_str_reset(&file);
        if (f->code) {
            hs_text_str(&name, hs_code_qualname(f->code), 200);
            /* A path says whose machine and project: not with --redact. */
            if (!w->opts->redact)
                hs_text_str(&file, f->code->co_filename, 4096);
        }
        hs_sink_frame(w->sink, (uint32_t)i + 1, (uint32_t)f->thread + 1,
                      f->depth, name.data, w->opts->redact ? NULL : file.data,
                      f->line,
                      find_id(w, (PyObject *)f->code),
                      find_id(w, f->frame_obj));
    }
    if (name.failed || file.failed)
        rc = fail(w, "out of memory (frames)");
    hs_str_release(&name);
    hs_str_release(&file);
    return rc;
}

/* ---- meta --------------------------------------------------------------------------- */

/* Facts read before the walk (no allocation happens after this). */
struct facts {
    int gc_enabled;
    int thresholds[NUM_GENERATIONS], counts[NUM_GENERATIONS];
    Py_ssize_t collections[NUM_GENERATIONS]; /* gc.get_stats() */
    long page_size;
    struct timeval created;
};

static void
read_facts(struct facts *f, hs_gcstate_t *gc)
{
    f->gc_enabled = gc->enabled;
    for (int i = 0; i < NUM_GENERATIONS; i++) {
        f->thresholds[i] = gc->generations[i].threshold;
        f->counts[i] = gc->generations[i].count;
        f->collections[i] = gc->generation_stats[i].collections;
    }
    f->page_size = sysconf(_SC_PAGESIZE);
    gettimeofday(&f->created, NULL);
}

/* sys.argv as JSON, sys.executable as text: read from the sys dict.
 * 0, or -1 when memory ran out (hs_str keeps its failure across resets). */
static int
meta(struct walk *w, const struct facts *f, double t0, double walk_seconds,
     int output_thread)
{
    PyInterpreterState *in = PyThreadState_Get()->interp;
    struct hs_str s = { NULL, 0, 0, 0 };
    int lost = 0;
    PyObject *argv = NULL, *exe = NULL, *k, *v;
    Py_ssize_t pos = 0;
    struct tm tm;
    time_t secs = f->created.tv_sec;
    char when[64];
    const char *version = Py_GetVersion();

    while (in->sysdict && PyDict_Next(in->sysdict, &pos, &k, &v)) {
        if (!PyUnicode_Check(k))
            continue;
        if (!PyUnicode_CompareWithASCIIString(k, "argv"))
            argv = v;
        else if (!PyUnicode_CompareWithASCIIString(k, "executable"))
            exe = v;
    }
    hs_sink_meta_int(w->sink, "format_version", 1);
    hs_sink_meta_text(w->sink, "agent_version", HS_AGENT_VERSION);
    hs_str_add(&s, version, strcspn(version, " "));
    hs_sink_meta_text(w->sink, "python_version", s.data);
    hs_sink_meta_text(w->sink, "python_implementation", "CPython");
    hs_str_reset(&s);
    if (exe && PyUnicode_Check(exe)) {
        if (w->opts->redact)
            hs_str_adds(&s, "<str>");
        else
            hs_text_str(&s, exe, 4096);
        hs_sink_meta_text(w->sink, "python_executable", s.data ? s.data : "");
    }
    hs_str_reset(&s);
    hs_str_addch(&s, '[');
    for (Py_ssize_t i = 0; argv && PyList_Check(argv) &&
                           i < PyList_GET_SIZE(argv);
         i++) {
        struct hs_str a = { NULL, 0, 0, 0 };
        PyObject *item = PyList_GET_ITEM(argv, i);

        if (w->opts->redact) /* the script's path and its arguments */
            hs_str_adds(&a, "<str>");
        else if (PyUnicode_Check(item))
            hs_text_str(&a, item, 4096);
        if (i)
            hs_str_adds(&s, ", ");
        hs_text_json_string(&s, a.data ? a.data : "", a.len);
        lost |= a.failed;
        hs_str_release(&a);
    }
    hs_str_addch(&s, ']');
    hs_sink_meta_text(w->sink, "argv", s.data);
    hs_sink_meta_int(w->sink, "pid", w->opts->pid ? (int64_t)w->opts->pid
                                                   : (int64_t)getpid());
    hs_sink_meta_int(w->sink, "forked", w->opts->no_python ? 1 : 0);
    gmtime_r(&secs, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    hs_sink_meta_text(w->sink, "created_at", when);
    hs_sink_meta_real(w->sink, "created_unix",
                      (double)f->created.tv_sec +
                          (double)f->created.tv_usec * 1e-6);
    hs_sink_meta_text(w->sink, "trigger", w->opts->trigger);
    hs_memfacts_meta(w->sink, &w->opts->mem);
    if (w->opts->attach_method)
        hs_sink_meta_text(w->sink, "attach_method", w->opts->attach_method);
    hs_sink_meta_int(w->sink, "gc_enabled", f->gc_enabled);
    hs_str_reset(&s);
    hs_str_addf(&s, "[%d, %d, %d]", f->thresholds[0], f->thresholds[1],
                f->thresholds[2]);
    hs_sink_meta_text(w->sink, "gc_thresholds", s.data);
    hs_str_reset(&s);
    hs_str_addf(&s, "[%d, %d, %d]", f->counts[0], f->counts[1],
                f->counts[2]);
    hs_sink_meta_text(w->sink, "gc_counts", s.data);
    hs_str_reset(&s);
    hs_str_addf(&s, "[%zd, %zd, %zd]", f->collections[0], f->collections[1],
                f->collections[2]);
    hs_sink_meta_text(w->sink, "gc_collections", s.data);
    if (f->page_size > 0)
        hs_sink_meta_int(w->sink, "page_size", f->page_size);
    hs_sink_meta_int(w->sink, "gc_collected", w->opts->collected);
    hs_sink_meta_int(w->sink, "redacted", w->opts->redact);
    hs_sink_meta_int(w->sink, "value_limit", w->opts->value_limit);
    hs_sink_meta_int(w->sink, "pointer_size", (int64_t)sizeof(void *));
    hs_sink_meta_int(w->sink, "object_count", w->ids.count);
    hs_sink_meta_int(w->sink, "edge_count", (int64_t)w->edges);
    hs_sink_meta_int(w->sink, "root_count", w->nroots);
    hs_sink_meta_int(w->sink, "output_thread", output_thread);
    hs_sink_meta_real(w->sink, "walk_seconds", walk_seconds);
    hs_sink_meta_real(w->sink, "dump_seconds", hs_mono() - t0);
    if (w->refctx.check) {
        hs_sink_meta_int(w->sink, "check_mismatches",
                         (int64_t)w->refctx.mismatches);
        hs_sink_meta_int(w->sink, "check_negative_balances",
                         (int64_t)w->negative);
    }
    lost |= s.failed;
    hs_str_release(&s);
    return lost ? fail(w, "out of memory (metadata)") : 0;
}

/* ---- phase 4: sizes only __sizeof__ knows ------------------------------------------- */

/*
 * After a failed __sizeof__: an ordinary exception is the object's
 * business (its size stays the fallback); anything else (KeyboardInterrupt,
 * SystemExit) is the program's, so the dump stops and raises it.  1 when
 * it stops.
 */
static int
sizeof_failed(struct walk *w)
{
    if (!PyErr_Occurred() || PyErr_ExceptionMatches(PyExc_Exception)) {
        PyErr_Clear();
        return 0;
    }
    w->raised = hs_exc_take();
    return 1;
}

/* What C-level __sizeof__ `descr` says of o plus its pre-header, as
 * sys.getsizeof adds it; -1 when it fails (exception set or not). */
static int64_t
call_c_sizeof(PyObject *descr, PyObject *o)
{
    PyObject *r = PyObject_CallFunctionObjArgs(descr, o, NULL);
    Py_ssize_t n = -1;

    if (r && PyLong_Check(r))
        n = PyLong_AsSsize_t(r);
    Py_XDECREF(r);
    if (n < 0)
        return -1;
    return (int64_t)n + (int64_t)hs_sizeof_preheader(o);
}

/*
 * Sizes that need a call: the C-level __sizeof__ of types the agent does
 * not compute itself (a forked child calls them too: C code takes no lock
 * of another thread's), and, in place only, the figure of a Python-level
 * __sizeof__, kept in reported_sizes when it differs.  A call that fails
 * leaves the fallback size and flag; one that raises KeyboardInterrupt or
 * SystemExit fails the dump (sizeof_failed()): 0, or -1.
 */
static int
deferred_sizes(struct walk *w)
{
    for (size_t i = 0; i < w->ndeferred; i++) {
        struct deferred *d = &w->deferred[i];

        if ((d->flags & HS_F_SIZE_FALLBACK) && d->ti->c_sizeof) {
            int64_t size = call_c_sizeof(d->ti->c_sizeof, d->o);

            if (size >= 0) {
                d->size = size;
                d->flags &= ~HS_F_SIZE_FALLBACK;
                /* The row's flags are rewritten: keep unreachable_rows()'s. */
                if (!(*bits_of(w, d->id) & B_REACHED))
                    d->flags |= HS_F_UNREACHABLE;
                hs_sink_object_size(w->sink, d->id, size, d->flags);
            } else if (sizeof_failed(w)) {
                return fail(w, "interrupted by an exception in __sizeof__");
            }
        }
        if (d->ti->py_sizeof && !w->opts->no_python) {
            size_t reported = _PySys_GetSizeOf(d->o);

            if (reported == (size_t)-1 && PyErr_Occurred()) {
                if (sizeof_failed(w))
                    return fail(w, "interrupted by an exception in "
                                   "__sizeof__");
            } else if ((int64_t)reported != d->size) {
                hs_sink_reported_size(w->sink, d->id, (int64_t)reported);
            }
        }
    }
    return 0;
}

static void
release_deferred(struct walk *w)
{
    for (size_t i = 0; w->deferred_held && i < w->ndeferred; i++)
        Py_DECREF(w->deferred[i].o);
    hs_free(w->deferred);
    w->deferred = NULL;
    w->ndeferred = w->deferred_cap = 0;
}

/* ---- the dump ------------------------------------------------------------------------ */

/* The message of a fault the guard caught (guard.c) while reading o.
 * With `named`, the type of o is read too, which may fault again. */
void
hs_walk_fault_text(char *buf, size_t len, int sig, void *addr, PyObject *o,
                   int named)
{
    char where[64] = "";

    if (addr)
        snprintf(where, sizeof(where), " at %p", addr);
    snprintf(buf, len,
             "invalid memory%s (%s) while reading %s%s%s object at %p or "
             "what it refers to: an extension type's fields or tp_traverse "
             "do not match what it declares; no snapshot was written and "
             "the process is unharmed",
             where, sig == SIGBUS ? "SIGBUS" : "SIGSEGV",
             named && o ? "a '" : "an", named && o ? Py_TYPE(o)->tp_name : "",
             named && o ? "'" : "", (void *)o);
}

/* A fault on the walking thread: in the walk, or in the output side when
 * it runs inline. */
static void
fault_message(struct walk *w, int sig, void *addr, int named)
{
    PyObject *o = w->current && w->current <= w->ids.count
                      ? hs_idmap_object(&w->ids, w->current)
                      : NULL;

    if (w->out_active)
        o = w->out_obj;
    hs_walk_fault_text(w->err, w->errlen, sig, addr, o, named);
    w->failed = 1;
}

static void
walk_release(struct walk *w)
{
    hs_idmap_release(&w->ids);
    hs_free(w->stack);
    hs_types_release(&w->types);
    hs_refs_release(&w->refs);
    hs_free(w->pipe);
    hs_names_release(&w->names);
    hs_roots_release(&w->roots);
    hs_free(w->closures.keys);
    hs_free(w->closures.vals);
    hs_free(w->namespaces.keys);
    hs_free(w->namespaces.vals);
    release_deferred(w);
    hs_str_release(&w->value);
    hs_str_release(&w->wvalue);
    hs_str_release(&w->t1);
    hs_str_release(&w->t2);
    hs_str_release(&w->t3);
}

/*
 * The output path must be absent or a regular file: the dump renames its
 * FILE.tmp over it, which would replace a device node (/dev/null, as
 * root), a FIFO or a symlink itself.  0, or -1 with the cause in err.
 */
static int
check_output(const char *path, char *err, size_t errlen)
{
    struct stat st;
    const char *what;

    if (lstat(path, &st) != 0 || S_ISREG(st.st_mode))
        return 0;
    what = S_ISLNK(st.st_mode)    ? "a symbolic link"
           : S_ISDIR(st.st_mode)  ? "a folder"
           : S_ISFIFO(st.st_mode) ? "a FIFO"
           : S_ISSOCK(st.st_mode) ? "a socket"
                                  : "a device";
    snprintf(err, errlen,
             "'%s' is %s; a snapshot replaces only a regular file", path,
             what);
    return -1;
}

int
hs_dump(const struct hs_dump_options *opts, traverseproc subtype_traverse,
        int check, struct hs_dump_result *res, char *err, size_t errlen)
{
    hs_gcstate_t *gc = hs_gcstate();
    struct walk w;
    struct hs_guard guard;
    volatile int faulted = 0;
    struct facts facts;
    char *tmp;
    double t0 = hs_mono(), t1, tp = t0; /* tp: the pause's start */
    uint32_t expected;
    int made;
    int gc_was_enabled = gc->enabled;
    size_t tmplen = strlen(opts->path) + 5;
    volatile int rc = -1;

    memset(&w, 0, sizeof(w));
    w.opts = opts;
    w.err = err;
    w.errlen = errlen;
    if (check_output(opts->path, err, errlen) < 0)
        return -1;
    if (gc->collecting) {
        snprintf(err, errlen, "cannot dump while the garbage collector "
                              "runs (from a __del__ method or a gc "
                              "callback)");
        return -1;
    }
    tmp = hs_alloc(tmplen);
    if (!tmp) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    snprintf(tmp, tmplen, "%s.tmp", opts->path);
    if (hs_types_init(&w.types, subtype_traverse) < 0) {
        PyErr_Clear();
        snprintf(err, errlen, "out of memory");
        hs_free(tmp);
        return -1;
    }
    find_small_ints(&w);
    /*
     * The id table is made with the GIL released (not in a forked child,
     * which has no other thread): it is the dump's biggest memory, its
     * pages are filled in now (at 10M objects 0.2 s of the first dump's
     * pause went to it), and the program runs meanwhile.  The pause
     * starts after.
     */
    expected = hs_idmap_expected(&opts->mem, gc);
    if (opts->no_python) {
        made = hs_idmap_init(&w.ids, expected);
    } else {
        Py_BEGIN_ALLOW_THREADS
        made = hs_idmap_init(&w.ids, expected);
        Py_END_ALLOW_THREADS
    }
    tp = hs_mono();
    if (made < 0) {
        snprintf(err, errlen, "out of memory (object table)");
        w.failed = 1;
        goto done;
    }
    /* Another thread's collection may have let this one run (a
     * finalizer released the GIL). */
    if (gc->collecting) {
        snprintf(err, errlen, "cannot dump while the garbage collector "
                              "runs (it started in another thread while "
                              "the dump made its object table)");
        w.failed = 1;
        goto done;
    }
    /* Nothing below allocates a Python object until phase 4. */
    gc->enabled = 0;
    read_facts(&facts, gc);
    facts.gc_enabled = gc_was_enabled;
    /* A forked child has no writer thread: a new thread could be given
     * the stack of one of the parent's threads that did not survive the
     * fork, whose frames the walk is about to read. */
    w.sink = hs_sink_open(tmp, !opts->no_python, opts->writer_gate, err,
                          errlen);
    if (!w.sink) {
        w.failed = 1;
        goto done;
    }
    w.refctx.types = &w.types;
    w.refctx.closure_code = closure_code;
    w.refctx.arg = &w.closures;
    w.refctx.check = check;
    w.refctx.dict_owns_values = hs_managed_dict_traverses_dict();
    w.refctx.interned = hs_interned_dict(PyThreadState_Get()->interp);
    if (hs_names_init(&w.names, w.sink, opts->redact, expected) < 0) {
        fail(&w, "out of memory");
        goto done;
    }
    /* From here to the sizes phase the walk only reads (guard.c). */
    if (hs_guard_arm(&guard) < 0) {
        snprintf(err, errlen, "cannot install the fault guard: %s",
                 strerror(errno));
        w.failed = 1;
        goto done;
    }
    if (hs_guard_enter(&guard)) {
        if (!faulted) {
            int sig = guard.sig;
            void *addr = guard.addr;

            faulted = 1;
            fault_message(&w, sig, addr, 0);
            /* Naming the type may fault again: back here, then done. */
            if (hs_guard_arm(&guard) == 0)
                fault_message(&w, sig, addr, 1);
        }
        goto done;
    }
    /* Phase 1's output side, on a thread of its own unless told not. */
    w.out = hs_handoff_open(opts->output_thread, &hs_rows_ops, &w);
    if (!w.out) {
        fail(&w, "out of memory");
        goto done;
    }
    /* With a thread of its own, the output side gets the second core:
     * the writer waits (its rows spool) until phase 1 is over. */
    res->output_thread = hs_handoff_threaded(w.out);
    res->output_wait_seconds = 0;
    w.out_inline = !res->output_thread;
    if (res->output_thread)
        hs_sink_hold(w.sink, 1);
    if (hs_roots_collect(&w.roots, opts->main_ident) < 0) {
        fail(&w, "out of memory (roots)");
        goto done;
    }
    t1 = hs_mono();
    if (seed(&w) < 0)
        goto done;
    res->phase[0] = hs_mono() - t1;
    t1 = hs_mono();
    if (edges(&w) < 0 || hs_rows_close(&w) < 0)
        goto done;
    hold_deferred(&w);
    res->phase[1] = hs_mono() - t1;
    res->output_wait_seconds = w.out_waited;
    t1 = hs_mono();
    roots(&w);
    if (reach(&w) < 0)
        goto done;
    res->phase[2] = hs_mono() - t1;
    t1 = hs_mono();
    unreachable_rows(&w);
    if (threads_and_frames(&w) < 0)
        goto done;
    res->phase[3] = hs_mono() - t1;
    hs_guard_disarm(&guard);
    t1 = hs_mono();
    /* Before any __sizeof__ runs: no object of the walk is freed yet. */
    if (opts->mem.traced >= 0 &&
        hs_sites_write(&w.ids, w.sink, err, errlen) < 0) {
        w.failed = 1;
        goto done;
    }
    if (opts->mem.traced < 0)
        hs_sink_meta_int(w.sink, "alloc_sites", 0);
    if (deferred_sizes(&w) < 0)
        goto done;
    if (meta(&w, &facts, t0, t1 - tp, res->output_thread) < 0)
        goto done;
    res->phase[4] = hs_mono() - t1;
    res->objects = w.ids.count;
    res->edges = w.edges;
    res->roots = w.nroots;
    res->walk_seconds = t1 - tp;
done:
    /* Before the guard goes: the output thread may still read objects. */
    hs_rows_close(&w);
    hs_guard_disarm(&guard);
    release_deferred(&w);
    gc->enabled = gc_was_enabled;
    /* The rows are copies: from here on nothing reads a live object, so
     * the program runs while the writer finishes (the GIL is released
     * unless this is a forked child, which has no other thread). */
    res->pause_seconds = hs_mono() - tp;
    if (w.sink) {
        hs_fork_wait_walked(); /* a fork() from here on waits for it */
        if (w.failed)
            hs_sink_abort(w.sink);
        else if (opts->background && !opts->no_python &&
                 hs_finisher_start(w.sink, tmp, opts->path, opts->trigger,
                                   opts->report_fd, opts->status_fd,
                                   w.ids.count, w.edges,
                                   res->pause_seconds) == 0) {
            res->background = 1;
            rc = 0;
        } else {
            t1 = hs_mono();
            if (opts->no_python)
                rc = hs_finish_file(w.sink, tmp, opts->path, err, errlen);
            else {
                Py_BEGIN_ALLOW_THREADS
                rc = hs_finish_file(w.sink, tmp, opts->path, err, errlen);
                Py_END_ALLOW_THREADS
            }
            res->phase[5] = hs_mono() - t1;
        }
        w.sink = NULL;
    }
    if (rc != 0)
        hs_unlink_tmp(tmp);
    res->seconds = hs_mono() - t0;
    res->peak_memory = hs_mem_peak() + hs_sink_peak_memory();
    walk_release(&w);
    hs_free(tmp);
    /* Everything is released: the caller gets the program's exception. */
    if (w.raised)
        hs_exc_give(w.raised);
    return rc;
}
