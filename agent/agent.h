/*
 * agent.h: the agent's internal header, included by every C file of agent/.
 *
 * A dump is one hs_dump() (walk.c), called by heapsnap._heapsnap._dump()
 * with the GIL held; it releases it only once the walk is over, while the
 * SQLite writer finishes (module.c's `dumping` keeps any other dump out,
 * so the agent's allocation counters stay single-threaded).  Nothing here
 * is global: the only
 * module-level state is the module itself (module.c).  Memory for the walk
 * comes from PyMem_Raw* (so that _testcapi.set_nomemory() can test the
 * failure paths), from hs_vmarr's reserved address space for the big
 * per-object arrays (mem.c; it asks the raw allocator too, for the same
 * reason) or, in the SQLite writer thread, from malloc; never a Python
 * object.
 *
 * Failure contract: functions return 0 / -1 (or 0 for "no id"); walk.c
 * records the first failure's message in the caller's buffer, hs_dump()
 * unwinds and returns -1, and module.c raises heapsnap.Error with that
 * message.  The agent never prints, exits or aborts.
 */
#ifndef HS_AGENT_H
#define HS_AGENT_H

#include "compat.h"

#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>

#include "schema_numbers.h"

#define HS_AGENT_VERSION "0.1.0"

/* Edge kinds and flag bits: the numbers come from the schema's rows
 * (build/gen/schema_numbers.h, made by tools/schema_numbers.sh); these
 * are the agent's short names for them. */
#define HS_K_ITEM HS_EDGE_ITEM
#define HS_K_VALUE HS_EDGE_VALUE
#define HS_K_ATTR HS_EDGE_ATTR
#define HS_K_KEY HS_EDGE_KEY
#define HS_K_ELEMENT HS_EDGE_ELEMENT
#define HS_K_LOCAL HS_EDGE_LOCAL
#define HS_K_CELL HS_EDGE_CELL
#define HS_K_CLOSURE HS_EDGE_CLOSURE
#define HS_K_CLASS HS_EDGE_CLASS
#define HS_K_WEAK HS_EDGE_WEAK
#define HS_K_OTHER HS_EDGE_OTHER

#define HS_F_GC_TRACKED HS_OBJ_GC_TRACKED
#define HS_F_IMMORTAL HS_OBJ_IMMORTAL
#define HS_F_STATIC HS_OBJ_STATIC
#define HS_F_HAS_DEL HS_OBJ_HAS_DEL
#define HS_F_UNREACHABLE HS_OBJ_UNREACHABLE
#define HS_F_INTERNED HS_OBJ_INTERNED
#define HS_F_VALUE_TRUNCATED HS_OBJ_VALUE_TRUNCATED
#define HS_F_REDACTED HS_OBJ_REDACTED
#define HS_F_SIZE_FALLBACK HS_OBJ_SIZE_FALLBACK
#define HS_F_FROZEN HS_OBJ_FROZEN
#define HS_F_FINALIZED HS_OBJ_FINALIZED

#define HS_TF_HEAP HS_TYPE_HEAP
#define HS_TF_GC HS_TYPE_GC
#define HS_TF_HAS_DEL HS_TYPE_HAS_DEL
#define HS_TF_ABSTRACT HS_TYPE_ABSTRACT
#define HS_TF_BUILTIN HS_TYPE_BUILTIN

/* ---- memory ----------------------------------------------------------------- */

/*
 * The agent's raw memory: PyMem_RawMalloc & co with a size header, so the
 * peak can be reported (atomic counters: any thread).  NULL on OOM.
 */
void *hs_alloc(size_t n);
void *hs_realloc(void *p, size_t n);
void hs_free(void *p);
/* From now on this thread's blocks come from the C library, not from
 * PyMem_Raw, whose hooks may take the GIL (the dump's output thread). */
void hs_mem_use_libc(int on);
/*
 * A big array that grows in place (mem.c): its address space is reserved
 * once and memory is committed as it grows, so it never moves.  Memory
 * counted: committed - discarded bytes.
 */
struct hs_vmarr {
    char *base;       /* the reserved space */
    size_t reserved;  /* bytes of address space */
    size_t committed; /* [0, committed) is usable */
    size_t discarded; /* [0, discarded) was given back */
    size_t huge_from; /* huge pages from this offset on */
};

/* Reserves room for up to max_bytes (fewer if the machine has less
 * memory, or if address space is limited); 0 or -1. */
int hs_vmarr_init(struct hs_vmarr *a, size_t max_bytes);
/* Makes [0, bytes) usable; new memory reads as zero.  0, or -1 when
 * memory ran out or bytes exceeds the reservation. */
int hs_vmarr_grow(struct hs_vmarr *a, size_t bytes);
/* The array will reach about `bytes`: when that is big, huge pages from
 * its start, not only past its first 4 MiB. */
void hs_vmarr_expect(struct hs_vmarr *a, size_t bytes);
/* Gives back the memory below `upto` (it must not be used again until
 * hs_vmarr_reset()). */
void hs_vmarr_discard_below(struct hs_vmarr *a, size_t upto);
/* Gives back everything; the array is empty and can grow again. */
void hs_vmarr_reset(struct hs_vmarr *a);
void hs_vmarr_release(struct hs_vmarr *a);

/* Peak bytes allocated through hs_alloc since the last reset. */
size_t hs_mem_peak(void);
void hs_mem_reset_peak(void);

/* Seconds on the monotonic clock, for durations (clock.c). */
double hs_mono(void);

/*
 * A growable byte string in raw memory.  `data` may be NULL while empty;
 * `failed` is set (and further additions ignored) once memory ran out.
 */
struct hs_str {
    char *data;   /* bytes, NUL-terminated when len > 0 */
    size_t len;   /* bytes in use */
    size_t alloc; /* bytes allocated */
    int failed;   /* an allocation failed */
};

void hs_str_add(struct hs_str *s, const void *p, size_t n);
void hs_str_adds(struct hs_str *s, const char *p);
void hs_str_addch(struct hs_str *s, char c);
void hs_str_addf(struct hs_str *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void hs_str_reset(struct hs_str *s);
void hs_str_release(struct hs_str *s);

/* ---- text rendering (text.c): no Python allocation ------------------------------ */

/*
 * Appends up to `limit` code points of str `o` as UTF-8 (lone surrogates
 * become U+FFFD).  Returns 1 if the text was cut short.
 */
int hs_text_str(struct hs_str *out, PyObject *o, Py_ssize_t limit);

/* Python-style repr of a str ('abc', with escapes), cut at `limit`. */
int hs_text_str_repr(struct hs_str *out, PyObject *o, Py_ssize_t limit);

/* b'...' repr of bytes or bytearray contents, cut at `limit` bytes. */
int hs_text_bytes_repr(struct hs_str *out, const char *p, Py_ssize_t n,
                       Py_ssize_t limit);

/* The decimal digits of v, without printf (an index in a label). */
void hs_text_decimal(struct hs_str *out, long long v);

/* Decimal text of an int; very large ints are summarised. */
void hs_text_int(struct hs_str *out, PyObject *o, Py_ssize_t limit);

/* repr() of a float, via PyOS_double_to_string (raw memory only). */
void hs_text_float(struct hs_str *out, double v);
/* repr(v) into out (at most 32 bytes with the NUL), without the
 * interpreter (any thread); returns the length. */
size_t hs_format_double(char *out, double v);

/* A JSON string literal of `n` UTF-8 bytes. */
void hs_text_json_string(struct hs_str *out, const char *p, size_t n);

/* ---- the writer (sink_sqlite.c) ------------------------------------------------- */

struct hs_sink;

/*
 * Creates `tmp_path` with mode 0600 (replacing a stale one) and, when
 * `threaded`, opens the spool and starts the writer thread, which creates
 * the schema while the walk runs (a failure there shows in
 * hs_sink_failed() and hs_sink_finish()); otherwise creates the schema
 * now and rows are written as they come.  With gate_fd >= 0 (tests) the
 * writer first waits, up to HS_GATE_SECONDS, for a byte on that fd, so
 * that every chunk goes through the spool.  On failure returns NULL and
 * puts the reason in `err` (a static or caller-owned buffer of errlen).
 */
#define HS_GATE_SECONDS 60
struct hs_sink *hs_sink_open(const char *tmp_path, int threaded,
                             int gate_fd, char *err, size_t errlen);
/* While held, the writer thread writes nothing: rows queue, then spool,
 * and the CPU is the walk's.  Finishing or aborting ends a hold. */
void hs_sink_hold(struct hs_sink *s, int hold);

/* Row producers.  They never fail; a failure is reported by
 * hs_sink_failed() and by hs_sink_finish(). */
void hs_sink_edge(struct hs_sink *s, uint32_t src, uint32_t dst, int kind,
                  int64_t arg /* < 0: NULL */);
void hs_sink_name(struct hs_sink *s, uint32_t id, const char *text,
                  size_t len);
void hs_sink_object(struct hs_sink *s, uint32_t id, uint64_t address,
                    uint32_t type_id, int64_t size, int64_t refcount,
                    int64_t length /* < 0: NULL */, const char *value,
                    size_t value_len, int has_value, uint32_t flags);
void hs_sink_type(struct hs_sink *s, uint32_t id, const char *name,
                  const char *module, const char *qualname, uint32_t flags);
void hs_sink_root(struct hs_sink *s, uint32_t object_id, const char *kind,
                  const char *label, int64_t thread_id, int64_t frame_id);
void hs_sink_thread(struct hs_sink *s, uint32_t id, uint64_t ident,
                    int64_t native_id, const char *name, int is_main,
                    int is_dumper, int64_t object_id);
void hs_sink_frame(struct hs_sink *s, uint32_t id, uint32_t thread_id,
                   uint32_t depth, const char *function, const char *file,
                   int64_t line, int64_t code_id, int64_t object_id);
void hs_sink_meta_text(struct hs_sink *s, const char *key, const char *v);
void hs_sink_meta_int(struct hs_sink *s, const char *key, int64_t v);
void hs_sink_meta_real(struct hs_sink *s, const char *key, double v);
/* UPDATE objects SET size = ?, flags = ? WHERE id = ? */
void hs_sink_object_size(struct hs_sink *s, uint32_t id, int64_t size,
                         uint32_t flags);

/* UPDATE objects SET flags = flags | flag WHERE id BETWEEN first AND last */
void hs_sink_object_flag(struct hs_sink *s, uint32_t first, uint32_t last,
                         uint32_t flag);

/* INSERT INTO reported_sizes: what a Python-level __sizeof__ said. */
void hs_sink_reported_size(struct hs_sink *s, uint32_t id, int64_t size);
/* Rows of alloc_frames, alloc_tracebacks and object_tracebacks. */
void hs_sink_alloc_frame(struct hs_sink *s, uint32_t id, const char *file,
                         int64_t line, const char *function);
void hs_sink_alloc_traceback(struct hs_sink *s, uint32_t id, uint32_t depth,
                             uint32_t frame_id);
void hs_sink_object_traceback(struct hs_sink *s, uint32_t object_id,
                              uint32_t traceback_id);

/* INSERT INTO type_layouts: how a heap type lays out its instances. */
struct hs_type_layout {
    uint32_t type_id;
    int64_t basicsize, itemsize, dictoffset, weaklistoffset;
    int64_t solid_basicsize, values_bytes;
    uint8_t managed_dict, values_inline;
};
void hs_sink_type_layout(struct hs_sink *s, const struct hs_type_layout *l);

/* Non-zero once a write failed or memory ran out. */
int hs_sink_failed(struct hs_sink *s);

/*
 * Flushes, commits and closes.  Returns 0, or -1 with the reason in err.
 * The sink is freed either way.  The caller renames or removes the file.
 */
int hs_sink_finish(struct hs_sink *s, char *err, size_t errlen);

/* Stops the writer and closes without committing; frees the sink. */
void hs_sink_abort(struct hs_sink *s);

/* Peak bytes of memory the writer used (SQLite included). */
size_t hs_sink_peak_memory(void);

/* ---- address -> id (idmap.c) ---------------------------------------------------- */

/* A table slot: an id and 32 bits of its object's address hash. */
struct hs_idslot {
    uint32_t id;   /* 0 = empty */
    uint32_t hash; /* hs_idmap_hash(address); slots are sorted by it */
};

/*
 * Dense ids for objects, 1..count, in discovery order, with a word and a
 * flag byte per id for the caller.  An ordered linear-probing hash table
 * of 8-byte slots (one cache line per lookup) and one array of per-id
 * records that grows in place.  21.4 to 23.8 bytes per object (idmap.c).
 */

/* What the map keeps per id, 12 bytes: the object's address in w[0] (low
 * half) and w[1] (high half) with the caller's flag byte in the top byte
 * of w[1] (user-space addresses leave it zero), and the caller's word in
 * w[2].  One array instead of three (idmap.c). */
struct hs_idrec {
    uint32_t w[3];
};
struct hs_idmap {
    struct hs_vmarr tab[2]; /* the table is tab[cur]; it grows into the
                               other one */
    int cur;
    uint32_t n;             /* home slots; the table may run past them */
    uint32_t end;           /* 1 + the last occupied slot; slots from
                               there on are empty and slot max(n, end) is
                               usable */
    uint32_t limit;         /* grow when count reaches it */
    struct hs_vmarr recs;   /* id - 1 -> struct hs_idrec */
    int high_address;       /* an object's address used the top byte */
    uint32_t id_room;       /* ids the record array holds now */
    uint32_t count;         /* ids handed out */
};

/* A map sized for `expected` objects (it grows as needed); 0 or -1
 * (nothing to release). */
int hs_idmap_init(struct hs_idmap *m, uint32_t expected);
/* The objects a walk of this heap should expect (idmap.c). */
struct hs_memfacts;
uint32_t hs_idmap_expected(const struct hs_memfacts *m, hs_gcstate_t *gc);
void hs_idmap_release(struct hs_idmap *m);
/* The id of o, or 0. */
uint32_t hs_idmap_find(const struct hs_idmap *m, PyObject *o);
/* The id of o, giving it the next one if new (*added = 1).  0 when memory
 * ran out, or when o's address uses the top byte (m->high_address: a
 * tagged pointer); the map can then only be released. */
uint32_t hs_idmap_add(struct hs_idmap *m, PyObject *o, int *added);
/* Why hs_idmap_add() returned 0, in words. */
const char *hs_idmap_failure(const struct hs_idmap *m);

/* 32 bits of an address hash.  Fibonacci hashing: the high bits of the
 * product depend on every bit of the address, and runs of equally spaced
 * objects spread evenly. */
static inline uint32_t
hs_idmap_hash(uintptr_t address)
{
    return (uint32_t)((uint64_t)(address >> 3) * 0x9E3779B97F4A7C15ULL >> 32);
}

/* The home slot of `hash` among n: multiply-shift range reduction, which
 * keeps hash order (so sorted slots stay sorted when n changes). */
static inline uint32_t
hs_idmap_home(uint32_t hash, uint32_t n)
{
    return (uint32_t)((uint64_t)hash * n >> 32);
}

/* The home slot of o: hs_idmap_prefetch() loads its cache line. */
static inline const struct hs_idslot *
hs_idmap_home_slot(const struct hs_idmap *m, PyObject *o)
{
    return (const struct hs_idslot *)m->tab[m->cur].base +
           hs_idmap_home(hs_idmap_hash((uintptr_t)o), m->n);
}

/* Starts loading the cache line of o's home slot, so that a lookup a
 * little later does not wait for memory.  A macro, not an inline
 * function: GCC 12 finds such a function free of side effects (a
 * prefetch has none it counts) and drops every call to it, prefetch
 * and all, before inlining it. */
#define hs_idmap_prefetch(m, o) __builtin_prefetch(hs_idmap_home_slot((m), (o)))

static inline struct hs_idrec *
hs_idmap_rec(const struct hs_idmap *m, uint32_t id)
{
    return (struct hs_idrec *)m->recs.base + (id - 1);
}

/* The address record r holds: w[1] without its top byte, then w[0]. */
static inline uint64_t
hs_idrec_address(const struct hs_idrec *r)
{
    return (uint64_t)(r->w[1] & 0xFFFFFFu) << 32 | r->w[0];
}

/* The object with id `id` (1..count). */
static inline PyObject *
hs_idmap_object(const struct hs_idmap *m, uint32_t id)
{
    return (PyObject *)(uintptr_t)hs_idrec_address(hs_idmap_rec(m, id));
}

/* The caller's word of id `id` (1..count), 0 when added. */
static inline int32_t *
hs_idmap_aux(const struct hs_idmap *m, uint32_t id)
{
    return (int32_t *)&hs_idmap_rec(m, id)->w[2];
}

/* The caller's flag byte of id `id` (1..count), 0 when added: the top
 * byte of w[1]. */
static inline uint8_t *
hs_idmap_flags(const struct hs_idmap *m, uint32_t id)
{
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
    return (uint8_t *)&hs_idmap_rec(m, id)->w[1];
#else
    return (uint8_t *)&hs_idmap_rec(m, id)->w[1] + 3;
#endif
}

/* ---- references of one object (referents.c) --------------------------------------- */

/* How a reference's label is given. */
enum hs_lbl {
    HS_L_NONE,  /* no label */
    HS_L_INDEX, /* an integer position */
    HS_L_CSTR,  /* a C string with static storage */
    HS_L_IDENT, /* a str object that names something (attribute, local) */
    HS_L_KEY,   /* a dict key object of any type: labelled by its repr */
    HS_L_TEXT   /* text made for this list: hs_refs.text + u.index */
};

/*
 * Does tp_traverse report this reference?  HS_T_MEMBER: a C member
 * (PyMemberDef) of a type we know nothing else about; when tp_traverse
 * does not report it and it points to a gc object, it is taken for a
 * borrowed pointer and dropped (referents.c).
 */
enum hs_trav { HS_T_NO, HS_T_YES, HS_T_MAYBE, HS_T_MEMBER };

struct hs_ref {
    PyObject *dst;   /* the referent */
    uint8_t kind;    /* enum hs_kind */
    uint8_t lbl;     /* enum hs_lbl */
    uint8_t trav;    /* enum hs_trav: matched against tp_traverse */
    uint8_t uncounted; /* a strong reference that holds no refcount (a
                          3.14 tagged stack reference, the interned
                          dict's): it lowers no balance */
    union {
        Py_ssize_t index;
        const char *cstr;
        PyObject *obj;
    } u;             /* the label's argument */
};

/* References handed out at a time by exact lists, tuples, dicts, sets. */
#define HS_REFS_BATCH 1024

struct hs_refs {
    struct hs_ref *v; /* the references */
    size_t n;         /* in use */
    size_t cap;       /* allocated */
    int more;         /* a batch: hs_referents_next() gives the rest */
    Py_ssize_t pos;   /* where the next batch starts (referents.c) */
    PyObject **trav;  /* scratch: what tp_traverse reported */
    size_t ntrav, travcap;
    uint32_t *hash;   /* scratch: multiset index for big objects */
    size_t hashcap;
    struct hs_str text; /* NUL-separated HS_L_TEXT labels of this batch */
    int oom;          /* memory ran out */
};

struct hs_types;

/* What hs_referents() needs from the walk. */
struct hs_refctx {
    struct hs_types *types; /* per-type facts */
    /* The code object whose closure `tuple` is, or NULL. */
    PyCodeObject *(*closure_code)(void *arg, PyObject *tuple);
    void *arg;              /* for closure_code */
    int check;              /* reconcile every object, counting surprises */
    int dict_owns_values;   /* gh-130327: a materialised __dict__ owns the
                               inline values (hs_managed_dict_traverses_dict) */
    PyObject *interned;     /* the interned-strings dict if tracked, or NULL */
    size_t mismatches;      /* labelled refs tp_traverse should have
                               reported but did not (check mode) */
};

/*
 * Fills `out` with every reference held by `o`, labelled, in a stable
 * order: the labelled references its type is known to hold, then what
 * tp_traverse reports beyond them (kind other, numbered).  Weak references
 * have kind HS_K_WEAK.  Exact lists, tuples, dicts and sets give at most
 * HS_REFS_BATCH references at a time: while out->more is set, call
 * hs_referents_next() (same object, nothing run in between) for the next
 * batch.  Runs no Python code and allocates no Python object.  Returns 0,
 * or -1 when memory ran out.
 */
int hs_referents(struct hs_refctx *ctx, PyObject *o, struct hs_refs *out);
int hs_referents_next(struct hs_refctx *ctx, PyObject *o,
                      struct hs_refs *out);

void hs_refs_release(struct hs_refs *r);

/* ---- label names (names.c) -------------------------------------------------------- */

struct hs_names {
    struct hs_sink *sink; /* where new rows go */
    int redact;           /* hide data-valued str/bytes keys */
    void *ptr;            /* direct-mapped cache: source object -> id */
    int ptr_bits;         /* log2 of its entries */
    void *cstr;           /* direct-mapped cache: static C string -> id */
    void *tab;            /* content table (open addressing) */
    uint32_t cap;         /* slots in tab, a power of two */
    uint32_t used;        /* filled slots */
    uint32_t count;       /* names handed out */
    struct hs_str arena;  /* text of content-interned names */
    struct hs_str scratch; /* the label being built */
    int oom;              /* memory ran out: some label was lost */
};

/* `objects`: how many objects the walk expects (sizes the cache). */
int hs_names_init(struct hs_names *n, struct hs_sink *sink, int redact,
                  uint32_t objects);
void hs_names_release(struct hs_names *n);

/* names.id of a C string label, or -1 when memory ran out. */
int64_t hs_names_cstr(struct hs_names *n, const char *text);
/* The same for a C string with static storage (HS_L_CSTR), cached on its
 * address. */
int64_t hs_names_static(struct hs_names *n, const char *text);

/*
 * names.id for a label given by an object: mode HS_L_IDENT spells a str
 * as is (an attribute or variable name), HS_L_KEY as a repr ('users', 42).
 * -1 for NULL or when memory ran out.
 */
int64_t hs_names_object(struct hs_names *n, PyObject *o, int mode);

/* ---- per-type facts (types.c) ------------------------------------------------------- */

enum hs_sizeof {
    HS_SZ_UNKNOWN,   /* not classified yet */
    HS_SZ_OBJECT,    /* object.__sizeof__: basicsize + itemsize * size */
    HS_SZ_INT,
    HS_SZ_STR,
    HS_SZ_LIST,
    HS_SZ_DICT,
    HS_SZ_SET,
    HS_SZ_BYTEARRAY,
    HS_SZ_NDARRAY,   /* numpy's, computed from the array (foreign_numpy.c) */
    HS_SZ_ARRAY,     /* array.array's (foreign_stdlib.c) */
    HS_SZ_CALL       /* a C-level __sizeof__ of its own: called after
                        the walk (c_sizeof) */
};

/* Objects whose layout a foreign_*.c file reads. */
enum hs_foreign {
    HS_FOREIGN_NONE,
    HS_FOREIGN_NDARRAY,        /* numpy.ndarray or a subclass */
    HS_FOREIGN_MANAGED_BUFFER, /* the managed buffer behind memoryviews */
    /* Operating-system resources (foreign_stdlib.c), whose value says
     * whether they are open: */
    HS_FOREIGN_FILEIO, /* _io.FileIO or a subclass */
    HS_FOREIGN_SOCKET, /* _socket.socket or a subclass */
    HS_FOREIGN_SQLITE, /* sqlite3.Connection or a subclass */
    HS_FOREIGN_MMAP    /* mmap.mmap or a subclass */
};

/* An object field of a type's instances that is a member (layout.c). */
struct hs_member {
    Py_ssize_t offset;    /* where in the instance */
    const char *name;     /* the member's name (static storage) */
    PyTypeObject *owner;  /* the class that declares it */
    uint8_t tagged;       /* a mypyc int field (compiled_fields.c): holds
                             a boxed int's address + 1, or a small int */
};

struct hs_typeinfo {
    PyTypeObject *tp;  /* the type */
    uint32_t id;       /* its object id */
    uint32_t flags;    /* HS_TF_* */
    uint8_t sizeof_kind; /* enum hs_sizeof */
    uint8_t py_sizeof; /* a Python-level __sizeof__ comes first in the
                          MRO: its figure is recorded apart, the size is
                          the C-level one below it */
    PyObject *c_sizeof; /* HS_SZ_CALL: the first C-level __sizeof__ of
                           the MRO (a method descriptor, borrowed from
                           the type dict), or NULL */
    uint8_t plain;     /* heap type whose only non-heap base is object:
                          its instances need no tp_traverse reconciliation */
    uint8_t row_done;  /* its types row was written */
    uint8_t value_kind; /* what its instances' value text is (walk.c's
                           enum vkind; 0: not worked out yet) */
    uint8_t foreign;   /* enum hs_foreign */
    uint8_t foreign_abi; /* numpy's ABI generation (1, 2; 0 unknown) */
    uint8_t members_done; /* members was computed (hs_layout_members) */
    uint32_t nmembers; /* entries of members */
    struct hs_member *members; /* object members valid in the instances'
                                  layout; hs_alloc'd, owned */
    uint8_t fields_done; /* fields was computed (hs_compiled_fields) */
    uint32_t nfields;  /* entries of fields */
    struct hs_member *fields; /* mypyc object fields named by their
                                 getters; hs_alloc'd, owned */
};

struct hs_types {
    struct hs_typeinfo **v; /* open addressing on tp; NULL is empty;
                               entries are never moved once made */
    uint32_t cap;           /* power of two */
    uint32_t count;
    PyObject *s_del;        /* "__del__" */
    PyObject *s_sizeof;     /* "__sizeof__" */
    PyObject *s_module;     /* "__module__" */
    PyObject *s_name;       /* "__name__" */
    PyObject *s_mypyc_attrs; /* "__mypyc_attrs__" */
    PyObject *sizeof_descr[HS_SZ_CALL]; /* builtins' __sizeof__, by kind */
    PyObject *frozenset_sizeof;         /* frozenset has its own */
    traverseproc subtype_traverse;      /* tp_traverse of class statements */
    int numpy_abi;                      /* hs_numpy_abi() at init */
};

/*
 * Prepares the table and the constant strings (may allocate Python
 * objects: call before the walk).  `subtype_traverse` is the tp_traverse
 * of any class made by a class statement (module.c keeps it).  0 or -1
 * with a Python exception set.
 */
int hs_types_init(struct hs_types *t, traverseproc subtype_traverse);
void hs_types_release(struct hs_types *t);

/* The facts about tp, computed on first use; NULL when memory ran out. */
struct hs_typeinfo *hs_types_get(struct hs_types *t, PyTypeObject *tp);

/* Splits a type's names: __name__, __module__, __qualname__ as UTF-8. */
void hs_types_names(struct hs_types *t, PyTypeObject *tp, struct hs_str *name,
                    struct hs_str *module, struct hs_str *qualname);

/* ---- numpy's ndarray (foreign_numpy.c) ---------------------------------------------- */

/*
 * numpy's ABI generation, from numpy.__version__ in sys.modules: 1 or 2;
 * 0 when numpy is not imported or its version is unknown (element sizes
 * are then unknown).  May allocate a Python object: call before the walk.
 */
int hs_numpy_abi(void);
/* tp is numpy.ndarray itself (by name; a static type covering the
 * documented fields). */
int hs_numpy_is_ndarray_type(PyTypeObject *tp);
/* The fields below are read from an object whose type has ndarray in its
 * MRO.  Borrowed; NULL when absent. */
PyObject *hs_numpy_base(PyObject *o);
PyObject *hs_numpy_dtype(PyObject *o);
int hs_numpy_ndim(PyObject *o);
/* How many element references the array owns: its element count for an
 * object array with OWNDATA, else 0. */
Py_ssize_t hs_numpy_object_count(PyObject *o);
/* Element `flat` (C order, < hs_numpy_object_count()) of an object array;
 * appends its index ("3" or "1,2") to `index` when not NULL. */
PyObject *hs_numpy_object_at(PyObject *o, Py_ssize_t flat,
                             struct hs_str *index);
/* sys.getsizeof(o) as numpy's __sizeof__ computes it, or -1 when the ABI
 * is unknown or the fields look wrong. */
Py_ssize_t hs_numpy_sizeof(PyObject *o, int abi);

/* ---- stdlib types with private layouts (foreign_stdlib.c) ------------------------- */

/* tp is array.array (by name and basicsize). */
int hs_stdlib_is_array_type(PyTypeObject *tp);
/* sys.getsizeof(o) of an array.array without the pre-header, as its
 * __sizeof__ computes it; -1 when the fields look wrong. */
Py_ssize_t hs_stdlib_array_sizeof(PyObject *o);
/* The enum hs_foreign resource kind of class b (one of the types above
 * itself, known by its name, never a class statement of that name), or
 * HS_FOREIGN_NONE.  Reads only the type. */
uint8_t hs_stdlib_resource_kind(PyTypeObject *b);
/* Appends the value of resource o of that kind: "fd 3" (FileIO, socket),
 * "open" (sqlite3.Connection), "mapped 4096" (mmap: its length), or
 * "closed".  Reads only o's fields. */
void hs_stdlib_resource_value(struct hs_str *out, PyObject *o, uint8_t kind);

/* ---- instance layouts (layout.c) ------------------------------------------------ */

/*
 * Fills ti->members with the object members (T_OBJECT, T_OBJECT_EX) that
 * instances of ti->tp really hold where declared: from the classes on
 * the tp_base chain, inside each one's solid layout, without the weak
 * list and the instance dict.  Reads only types.  0, or -1 when memory
 * ran out.
 */
int hs_layout_members(struct hs_typeinfo *ti);

/*
 * Fills ti->fields with the object fields of a mypyc class's instances
 * that its attribute getters read (compiled_fields.c), from the classes
 * on the tp_base chain, inside each one's solid layout.  Reads only types
 * and the getters' code; calls nothing.  0, or -1 when memory ran out.
 */
int hs_compiled_fields(struct hs_types *types, struct hs_typeinfo *ti);

/* The tp_basicsize of t's solid base: t's layout without a trailing
 * __dict__ and weak-list slot that t adds to its base.  Reads only
 * types. */
Py_ssize_t hs_layout_solid_size(PyTypeObject *t);

/* ---- roots (roots.c) ---------------------------------------------------------------- */

/* One place retention starts: a module, an interpreter or thread state
 * field, a frame's local. */
struct hs_root_entry {
    PyObject *obj;     /* the object held */
    const char *kind;  /* roots.kind: module, frame, thread, sys, ... */
    size_t label;      /* offset of its label in hs_roots.labels */
    int32_t thread;    /* index in hs_roots.threads, or -1 */
    int32_t frame;     /* index in hs_roots.frames, or -1 */
    uint8_t owns;      /* the holder owns one reference to obj */
    uint8_t silent;    /* counted (owns) but not written as a root: the
                          namespace of a frame running module code, which
                          is its module's __dict__ */
};

struct hs_thread_entry {
    unsigned long ident;     /* threading.get_ident() */
    unsigned long native_id; /* OS id, 0 when unknown */
    PyObject *thread_obj;    /* threading.Thread, or NULL */
    PyObject *name;          /* its name (str), or NULL */
    int is_main;
    int is_dumper;
};

struct hs_frame_entry {
    int32_t thread;      /* index in threads */
    uint32_t depth;      /* 0 = innermost */
    PyCodeObject *code;  /* the frame's code */
    int line;            /* current line */
    PyObject *frame_obj; /* frame object, if one exists */
};

struct hs_roots {
    struct hs_root_entry *v;
    size_t n, cap;
    struct hs_thread_entry *threads;
    size_t nthreads, threads_cap;
    struct hs_frame_entry *frames;
    size_t nframes, frames_cap;
    struct hs_str labels; /* NUL-separated label texts */
    int oom;              /* memory ran out */
};

/*
 * Lists every root of the running interpreter: sys.modules entries and the
 * interpreter's own references, gc.garbage and gc.callbacks, and for each
 * thread its state's references and its stack (3.11+: each frame's locals
 * by name, read from the interpreter frame without creating frame
 * objects; 3.8-3.10: the frame objects).  The thread whose ident is
 * main_ident (0: the runtime's main thread) is flagged main.  Reads only;
 * 0 or -1 on OOM.
 */
int hs_roots_collect(struct hs_roots *r, unsigned long main_ident);
void hs_roots_release(struct hs_roots *r);

static inline const char *
hs_roots_label(const struct hs_roots *r, const struct hs_root_entry *e)
{
    return r->labels.data ? r->labels.data + e->label : "";
}

/* The value of attribute `name` of an instance, read from its storage
 * without calling anything; borrowed, or NULL. */
PyObject *hs_instance_attr(PyObject *o, const char *name);

/* floor.c: heapsnap._heapsnap._floor(), the walk's floor for make bench:
 * (objects on the gc lists, references their tp_traverse reports). */
PyObject *hs_floor_py(PyObject *module, PyObject *unused);

/* ---- sizes (size.c) ----------------------------------------------------------------- */

/*
 * sys.getsizeof(o) computed in C, or -1 when only __sizeof__ can tell
 * (then the caller falls back to basicsize and calls it after the walk).
 */
Py_ssize_t hs_size_of(struct hs_typeinfo *ti, PyObject *o);

/* tp_basicsize + itemsize * |ob_size| + pre-header: the fallback. */
Py_ssize_t hs_size_basic(PyObject *o);

/* ---- allocation sites (sites.c) ------------------------------------------------ */

struct hs_idmap;
/*
 * Writes the allocation traceback tracemalloc holds for each object of
 * `ids`, interned, and the alloc_* meta rows; for a tracing process only,
 * after the walk.  Runs no Python code; allocates Python objects it
 * drops.  0, or -1 with the message in err (memory ran out).
 */
int hs_sites_write(const struct hs_idmap *ids, struct hs_sink *sink,
                   char *err, size_t errlen);

/* ---- memory outside the objects (memory_facts.c) ---------------------------------- */

/* Bytes the process uses, by source; -1 = unknown (not recorded). */
struct hs_memfacts {
    int64_t rss, rss_peak;     /* VmRSS, VmHWM */
    int64_t rss_anon, rss_file, rss_shmem; /* RSS by kind of page */
    int64_t pymalloc_arenas;   /* arenas allocated now */
    int64_t pymalloc_arena_bytes; /* their bytes */
    int64_t pymalloc_used;     /* bytes in allocated blocks */
    int64_t pymalloc_blocks;   /* allocated blocks (sizes the walk's
                                  object table; not recorded) */
    int64_t malloc_heap;       /* mallinfo2: arena + hblkhd */
    int64_t malloc_used;       /* uordblks + hblkhd */
    int64_t malloc_free;       /* fordblks */
    int64_t traced;            /* tracemalloc's traced total */
};

/* Reads every source that answers; `traced` is tracemalloc's total or -1.
 * Runs no Python code and allocates no Python object.  Cannot fail. */
void hs_memfacts_read(struct hs_memfacts *m, int64_t traced);
/* Writes the known figures as meta rows (schema/heapsnap.sql names them). */
void hs_memfacts_meta(struct hs_sink *s, const struct hs_memfacts *m);
/* ---- the fault guard (guard.c) --------------------------------------------------- */

/* Where a fault during the walk returns to, and what it was. */
struct hs_guard {
    sigjmp_buf env;           /* set by hs_guard_enter() */
    pthread_t thread;         /* the walking thread */
    volatile int sig;         /* SIGSEGV or SIGBUS once one was caught */
    void *volatile addr;      /* the address that could not be read */
};

/*
 * Arms the guard: from now on, until hs_guard_disarm(), a SIGSEGV or
 * SIGBUS raised by a read on this thread returns from hs_guard_enter()
 * a second time, with a non-zero value.  Call hs_guard_enter() in the
 * function that stays on the stack for the whole guarded part, after
 * arming.  Only code that runs no Python code and holds no lock may run
 * guarded.  0, or -1 (errno) when the handlers cannot be installed.
 */
int hs_guard_arm(struct hs_guard *g);
#define hs_guard_enter(g) sigsetjmp((g)->env, 1)
/* Puts the previous handlers and signal mask back.  Safe to call twice;
 * arming an armed guard only resets it. */
void hs_guard_disarm(struct hs_guard *g);
/* The same for one more thread while the first guard is armed (the
 * dump's output thread): it reuses the installed handlers.  Disarming
 * the first guard disarms this one too. */
void hs_guard_arm_helper(struct hs_guard *g);
void hs_guard_disarm_helper(struct hs_guard *g);

/* ---- handoff.c: records from the walking thread to the output thread ---- */

#define HS_HANDOFF_CHUNK (128 * 1024)
#define HS_HANDOFF_CHUNKS 8
#define HS_HANDOFF_WAKE 4 /* chunks that wake a sleeping consumer */

/* How far ahead of its next record the producer claims the room's
 * cache lines for writing (hs_handoff_reserve()). */
#define HS_HANDOFF_CLAIM 512

/* Where the producer writes its next records (the chunk being filled). */
struct hs_handoff_room {
    unsigned char *p;
    size_t used, cap;
    int claim; /* the CPU can claim a line for writing (prefetchw) */
};

struct hs_handoff_ops {
    /* Reads n bytes of whole records: 0, or -1 when the dump fails. */
    int (*consume)(void *arg, const unsigned char *p, size_t n);
    /* A read faulted in consume() on the output thread (guard.c); with
     * `named`, may read the object again to name its type. */
    void (*fault)(void *arg, int sig, void *addr, int named);
};

struct hs_handoff;

/* A handoff with a consumer thread, or (threaded 0, or no thread could be
 * started) one that consumes inline; NULL when memory ran out. */
struct hs_handoff *hs_handoff_open(int threaded,
                                   const struct hs_handoff_ops *ops,
                                   void *arg);
int hs_handoff_threaded(const struct hs_handoff *h);
unsigned char *hs_handoff_reserve_slow(struct hs_handoff_room *room,
                                       size_t n);

/*
 * Asks for the cache line at p for writing, ahead of the write.  The
 * consumer read the chunk's lines on its own core the last time round,
 * so each first write to a line waited for that core to give it up.  With
 * a consumer that only read the chunks, the walk took 45% longer than
 * with one that did nothing (1.5M objects, 3.8): that wait was most of
 * what the output thread cost the walk.  Claimed HS_HANDOFF_CLAIM bytes
 * ahead, the line is there when the record is written: the pause fell by
 * 21-27% (1.5M objects, 3.8, 3.11, 3.13).  Only where the CPU has the
 * instruction (hs_handoff_open() asks): elsewhere on x86 it may not exist.
 */
static inline void
hs_handoff_claim(const unsigned char *p)
{
#if defined(__x86_64__) || defined(__i386__)
    __asm__ volatile("prefetchw %0" : : "m"(*p));
#else
    __builtin_prefetch(p, 1, 3);
#endif
}

/* Room for a record of n bytes (at most HS_HANDOFF_CHUNK), NULL once the
 * consumer failed; hs_handoff_commit() then adds it. */
static inline unsigned char *
hs_handoff_reserve(struct hs_handoff *h, size_t n)
{
    struct hs_handoff_room *r = (struct hs_handoff_room *)h;

    if (r->claim && r->used + HS_HANDOFF_CLAIM < r->cap)
        hs_handoff_claim(r->p + r->used + HS_HANDOFF_CLAIM);
    if (r->used + n <= r->cap)
        return r->p + r->used;
    return hs_handoff_reserve_slow(r, n);
}

static inline void
hs_handoff_commit(struct hs_handoff *h, size_t n)
{
    ((struct hs_handoff_room *)h)->used += n;
}

/* 1 once the consumer failed (checked now and then by the producer). */
int hs_handoff_failed(struct hs_handoff *h);
/* Consumes what is left, ends the thread, frees: 0, or -1 when the
 * consumer failed.  NULL is a no-op.  *waited (when not NULL): the
 * seconds the producer spent waiting for the consumer, for a free chunk
 * and at the end. */
int hs_handoff_close(struct hs_handoff *h, double *waited);

/* ---- the dump (walk.c) -------------------------------------------------------------- */

struct hs_dump_options {
    const char *path;      /* final file name */
    const char *trigger;   /* api, exit, signal, attach, fork */
    const char *attach_method; /* trigger attach: ptrace or pep768 (meta
                                  attach_method); else NULL */
    int redact;            /* store no str/bytes contents */
    int collected;         /* gc.collect() ran first (recorded in meta) */
    Py_ssize_t value_limit; /* characters of value text kept */
    unsigned long main_ident; /* ident of the main thread; 0: the
                                 interpreter's own (hs_main_thread_ident) */
    long pid;              /* the process whose heap this is, for meta
                              (a forked child's parent); 0: this one */
    int no_python;         /* run no Python code at all (a forked child):
                              sizes only __sizeof__ knows keep their
                              fallback and flag */
    struct hs_memfacts mem; /* read by the caller just before the dump
                              (before fork() for a forked one) */
    int writer_gate;       /* tests: the writer waits for a byte on this
                              fd before writing (-1: it does not) */
    int background;        /* the writer's tail runs on a thread of its
                              own and hs_dump() returns after the walk
                              (finisher.c); it reports on report_fd and
                              stderr */
    int report_fd;         /* background: the launcher's report pipe, or
                              -1 */
    int status_fd;         /* background, remote attach: the status file
                              the tail reports on and closes, or -1 */
    int output_thread;     /* phase 1's rows are made on a second thread
                              while the walk goes on (handoff.c); 0: on
                              the walking thread (module.c decides) */
};

/* Facts about the dump, for the caller. */
struct hs_dump_result {
    uint32_t objects;
    uint64_t edges;
    uint32_t roots;
    double seconds;
    double walk_seconds;
    double pause_seconds; /* the GIL held: the walk, sizes and meta */
    double phase[6];    /* seconds: seed, objects and edges,
                           roots+reach, unreachable flags+threads+
                           frames, sizes+meta, writer finishing */
    size_t peak_memory; /* agent's own peak bytes */
    int background;     /* the file is still being finished (opts->
                           background); it reports when complete */
    int output_thread;  /* phase 1's rows were made on a second thread */
    double output_wait_seconds; /* of the pause: the walking thread
                                   waited for that thread */
};

/*
 * Writes a snapshot of the whole heap to opts->path (through path.tmp and
 * a rename).  Must be called with the GIL held; it is released while the
 * id table is made before the walk and while the SQLite writer finishes
 * after it (neither in a forked child), so other threads run then and
 * another dump may be refused as already running.
 * With opts->background that tail runs on a thread of its own instead
 * and 0 means the walk succeeded (res->background; the tail reports the
 * file).  `subtype_traverse` is the
 * tp_traverse of class statements (see hs_types_init); `check` makes every
 * object's references reconcile against tp_traverse and records the
 * surprises in meta (tests).  Returns 0, or -1 with the reason in err; on
 * failure no file is left under either name.
 */
int hs_dump(const struct hs_dump_options *opts, traverseproc subtype_traverse,
            int check, struct hs_dump_result *res, char *err, size_t errlen);

/* ---- fork_wait.c: fork() waits while a dump's threads work ------------- */

/* A sink opens (walks: the calling thread walks) or a dump's tail starts
 * / the walk is over / it is closed or the tail ends; fork() waits while
 * any is open, except in the walking thread.  enter: 0, or -1 if the
 * fork handler could not be installed. */
int hs_fork_wait_enter(int walks);
void hs_fork_wait_walked(void);
void hs_fork_wait_leave(void);

/* ---- finisher.c: the dump's tail after the pause ------------------------ */

/* Lets the writer finish, then renames tmp over path.  Touches no Python
 * object (the GIL may be released).  0, or -1 with err. */
int hs_finish_file(struct hs_sink *sink, const char *tmp, const char *path,
                   char *err, size_t errlen);
/* Removes a dump's tmp if it is a regular file (never what someone else
 * put there). */
void hs_unlink_tmp(const char *tmp);
/* Hands the sink to a thread that finishes the file and reports it
 * (hs_report_result; with status_fd >= 0 the attach status lines on it
 * instead, and it is closed).  `started_ago`: seconds since the dump
 * began.  0; -1 if no thread could start (the sink and status_fd are
 * still the caller's). */
int hs_finisher_start(struct hs_sink *sink, const char *tmp, const char *path,
                      const char *trigger, int report_fd, int status_fd,
                      uint32_t objects, uint64_t edges, double started_ago);
/* Waits until this process's background tail, if any, is done.  Call it
 * with the GIL released. */
void hs_finisher_wait(void);
/* Writes all of buf to fd, retrying on EINTR; errors are ignored (the
 * reader sees a short line and treats it as a failure). */
void hs_write_all(int fd, const char *buf, size_t len);
/* A finished dump's report: the launcher's line on report_fd (if >= 0)
 * and the human line on stderr ("heapsnap: wrote 'PATH' (N objects, N
 * references, S s[, HOW])" or "heapsnap: error: cannot write snapshot
 * 'PATH': ERR"). */
void hs_report_result(int report_fd, const char *trigger, const char *path,
                      int ok, uint32_t objects, uint64_t edges,
                      double seconds, const char *how, const char *err);

#endif /* HS_AGENT_H */
