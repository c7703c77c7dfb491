/*
 * walk.h: what walk.c (the walk of one dump) and rows.c (the rows it
 * makes, on the output thread or inline) share: the dump's state, the
 * records the walk hands over, and the value kinds.  Private to the two.
 */
#ifndef HS_WALK_H
#define HS_WALK_H

#include "agent.h"

/* A small pointer -> pointer map (closure tuples -> code objects). */
struct ptrmap {
    PyObject **keys;
    PyObject **vals;
    uint32_t cap, count; /* cap is a power of two */
};

/* An object whose size phase 4 asks its __sizeof__ for. */
struct deferred {
    PyObject *o;             /* held from the end of phase 1, dropped after */
    struct hs_typeinfo *ti;  /* its type's facts at the walk */
    int64_t size;            /* its row's size */
    uint32_t id;             /* its id */
    uint32_t flags;          /* its row's flags */
};

struct walk {
    /* Read by both threads in phase 1, written by neither. */
    const struct hs_dump_options *opts;
    struct hs_sink *sink;
    struct ptrmap namespaces; /* with --redact: the __dict__ of modules,
                                 classes and instances, whose keys are
                                 identifiers (dict -> its owner) */
    /* The walking thread's (each group on cache lines of its own: a line
     * one thread writes and the other reads would go back and forth
     * between their cores at every object). */
    _Alignas(64) struct hs_idmap ids; /* slot aux: refcount minus
                              references found (the balance); id flags:
                              B_* */
    struct hs_handoff *out; /* phase 1's records to the output side */
    uint32_t *stack;       /* reach(): ids to visit */
    size_t nstack, stack_cap;
    struct hs_types types;
    struct hs_refctx refctx;
    struct hs_refs refs;
    struct pipe *pipe;     /* edges()' ring (walk.c); freed with the walk,
                              as a fault leaves edges() by a long jump */
    struct hs_roots roots;
    struct ptrmap closures;
    PyObject *small_ints[262]; /* the cached ints -5..256 */
    uint64_t edges;        /* rows of edge_list */
    uint32_t nroots;       /* rows of roots */
    size_t negative;       /* balances below zero (check mode) */
    struct hs_str wvalue;  /* scratch for the values read on the walk */
    struct hs_str t1, t2, t3; /* scratch for type names */
    uint32_t current;      /* the object being read (for a fault's
                              message) */
    double out_waited;     /* seconds it waited for the output thread */
    char *err;             /* the caller's message buffer */
    size_t errlen;
    int failed;
    int output_cause;      /* it failed because the output side did: the
                              cause is that side's (hs_rows_close()) */
    PyObject *raised;      /* a KeyboardInterrupt or SystemExit from a
                              __sizeof__, raised again at the end (owned) */
    /* Phase 1's output side (the handoff's consumer, see "the output
     * side of phase 1" below): until the handoff is closed only it
     * touches these, the sink and the names. */
    _Alignas(64) struct hs_names names;
    struct hs_str value;   /* scratch for value texts */
    uint32_t out_id;       /* the row being written; its references follow */
    PyObject *out_obj;
    int out_inline;        /* it runs on the walking thread */
    int out_active;        /* out_inline, and in out_consume() */
    int out_failed;
    char out_err[512];
    struct deferred *deferred; /* objects whose size needs a __sizeof__
                                  call (phase 4); held (a reference each)
                                  after phase 1 */
    size_t ndeferred, deferred_cap;
    int deferred_held;
    char end_pad[64];      /* nothing of the caller's shares its lines */
};

/* ---- records: the walk to the output side ----------------------------------------- */

/*
 * What the walk hands the output side (handoff.c), in the order the sink
 * gets its records: a type's row before the first object of the type, an
 * object's row, then its references.  Each record is a multiple of 8
 * bytes; texts follow their record, NUL-terminated and padded.
 */
enum { R_TYPE = 1, R_OBJECT, R_REF, R_REF_TEXT };

#define PAD8(n) (((n) + 7) & ~(size_t)7)
/* Longest text a reference's label or a type's name carries over. */
#define RECORD_TEXT_MAX 4096

union label_arg {
    Py_ssize_t index;
    const char *cstr;
    PyObject *obj;
};

struct rec_type { /* then the three names */
    uint8_t tag;
    uint8_t has_layout;
    uint32_t flags;
    uint32_t len[3]; /* UINT32_MAX: NULL */
    struct hs_typeinfo *ti;
    struct hs_type_layout layout;
};

struct rec_object { /* then its value text when `text` */
    uint8_t tag;
    uint8_t text;      /* the value was read on the walk (value_kind()) */
    uint8_t has_value; /* with text: whether the row has a value */
    uint32_t id;
    uint32_t flags;    /* the flags the walk knows */
    uint32_t textlen;
    PyObject *o;
    struct hs_typeinfo *ti;
    int64_t refcount;
};

struct rec_ref { /* R_REF_TEXT: then the label, arg.index its length */
    uint8_t tag;
    uint8_t kind;
    uint8_t lbl;
    uint32_t dst;
    union label_arg arg;
};

/* ---- rows.c --------------------------------------------------------------------------- */

/* What kind of value text an object has: its type alone decides, so
 * each type's kind is worked out once (hs_rows_value_kind()). */
enum vkind {
    VK_UNKNOWN, /* not worked out yet */
    VK_NONE,    /* no value */
    VK_STR,
    VK_BYTES,
    VK_BYTEARRAY,
    VK_BOOL,
    VK_INT,
    VK_FLOAT,
    VK_COMPLEX,
    VK_NONETYPE,
    VK_TYPE,
    VK_FUNCTION,
    VK_CODE,
    VK_MODULE,
    VK_METHOD,
    VK_CFUNCTION,
    VK_GENERATOR,
    VK_FRAME,
    VK_RESOURCE /* a stdlib file, socket...: foreign_stdlib.c */
};

/* The kind of value text o's type gives its instances. */
uint8_t hs_rows_value_kind(PyObject *o, const struct hs_typeinfo *ti);
/* 1 for the kinds only the thread holding the GIL reads (walk.c reads
 * them and hands the text over). */
int hs_rows_value_on_walk(uint8_t kind);
/* The short value of o (of type info ti, whose value_kind is known) into
 * s; returns the flags it implies and sets *has to 1 when there is one. */
uint32_t hs_rows_value_of(const struct hs_dump_options *opts,
                          struct hs_str *s, PyObject *o,
                          const struct hs_typeinfo *ti, int *has);
/* The consumer of the walk's records (handoff.c). */
extern const struct hs_handoff_ops hs_rows_ops;
/* Closes the handoff (the output thread's work ends): 0, or -1 with the
 * output side's failure in w->err. */
int hs_rows_close(struct walk *w);

/* ---- walk.c --------------------------------------------------------------------------- */

/* 1 if k is a key of m. */
int hs_walk_ptrmap_has(const struct ptrmap *m, PyObject *k);
/* The message of a fault the guard caught while reading o; with `named`,
 * o's type is read too, which may fault again. */
void hs_walk_fault_text(char *buf, size_t len, int sig, void *addr,
                        PyObject *o, int named);

#endif
