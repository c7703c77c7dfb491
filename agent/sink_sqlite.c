/*
 * sink_sqlite.c: the agent's only door to SQLite.  It creates the snapshot
 * file (mode 0600) from the compiled-in schema and writes every row inside
 * one transaction with prepared, multi-row INSERT statements.
 *
 * The walk (holding the GIL) encodes rows into chunks; a writer thread
 * decodes them and talks to SQLite, so the walk and the writes overlap.
 * The writer also creates the schema and prepares the statements
 * (connect_db()), so that work is not part of the program's pause: it
 * was a quarter of the pause of a dump of a bare interpreter.
 * The walk never waits for the writer: the queue in memory is bounded
 * (HS_MAX_QUEUED chunks) and, when it is full, chunks go to the spool, an
 * unlinked file next to the snapshot (page cache, not the program's
 * memory), which the writer reads back in order.  So the program's pause
 * is the walk, memory stays constant whatever the heap size, and the
 * writer finishes after the walk while the caller has released the GIL
 * (walk.c).  The writer never touches Python; chunks come back to the
 * walk through a free list, so only the walk's thread allocates (through
 * hs_alloc).
 *
 * Edges and objects, nearly all the records, are packed (hs_sink_edge(),
 * hs_sink_object(): varints, differences from the chunk's previous row):
 * during phase 1 every row goes through the spool, and copying 18 bytes
 * per reference and 49 per object into the page cache was most of the
 * output thread's time at 10M objects.
 *
 * Order: a chunk is queued only while the spool holds nothing the writer
 * has not taken, and the writer takes the queue before the spool, so
 * chunks are written in the order the walk made them.
 *
 * Locking: the queue, the free list, the spool's offsets and the state
 * flags are protected by `mu`.  The SQLite connection belongs to the
 * writer thread once it runs (to the caller's thread in the synchronous
 * fallback).
 */
#include "agent.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

extern const char hs_schema_sql[];

#define HS_CHUNK_SIZE (256 * 1024)
#define HS_MAX_QUEUED 4
#define HS_EDGE_BATCH 64
#define HS_OBJECT_BATCH 32

enum rec {
    REC_EDGE = 1,
    REC_NAME,
    REC_OBJECT,
    REC_TYPE,
    REC_ROOT,
    REC_THREAD,
    REC_FRAME,
    REC_META_TEXT,
    REC_META_INT,
    REC_META_REAL,
    REC_OBJECT_SIZE,
    REC_REPORTED_SIZE,
    REC_TYPE_LAYOUT,
    REC_ALLOC_FRAME,
    REC_ALLOC_TRACEBACK,
    REC_OBJECT_TRACEBACK,
    REC_OBJECT_FLAG
};

struct chunk {
    struct chunk *next;   /* queue or free-list link */
    size_t len;           /* bytes of records */
    unsigned char data[HS_CHUNK_SIZE];
};

struct edge_row {
    uint32_t src, dst;
    int64_t arg;
    uint8_t kind;
};

struct object_row {
    uint32_t id, type_id, flags;
    uint64_t address;
    int64_t size, refcount, length;
    const char *value;
    uint32_t value_len;
    uint8_t has_value;
};

/*
 * The values packed rows are told against: each chunk starts from zero
 * (both sides), so a chunk reads alone, from the queue or the spool.
 */
struct packing {
    uint32_t src, dst; /* of the previous edge */
    uint32_t id;       /* of the previous object */
    uint64_t address;
};

struct hs_sink {
    sqlite3 *db;                  /* the snapshot being written */
    sqlite3_stmt *st_edges;       /* HS_EDGE_BATCH rows */
    sqlite3_stmt *st_edge;        /* one row */
    sqlite3_stmt *st_objects;     /* HS_OBJECT_BATCH rows */
    sqlite3_stmt *st_object;      /* one row */
    sqlite3_stmt *st_name, *st_type, *st_root, *st_thread, *st_frame;
    sqlite3_stmt *st_meta, *st_size, *st_flag, *st_reported, *st_layout;
    sqlite3_stmt *st_alloc_frame, *st_alloc_tb, *st_object_tb;

    struct edge_row edges[HS_EDGE_BATCH];   /* writer: pending edges */
    int nedges;
    struct object_row objs[HS_OBJECT_BATCH]; /* writer: pending objects,
                                                 pointing into the chunk
                                                 being written */
    int nobjs;

    pthread_mutex_t mu;
    pthread_cond_t cv_work;       /* writer: a chunk was queued or
                                     spooled, or done */
    struct chunk *head, *tail;    /* queued chunks, oldest first */
    int queued;                   /* chunks in the queue */
    struct chunk *free_list;      /* chunks ready for reuse */
    int spool_fd;                 /* the spool, -1 when not threaded */
    uint64_t spool_end;           /* bytes the walk appended to it */
    uint64_t spool_pos;           /* bytes the writer took from it */
    struct chunk *spool_buf;      /* writer: a spooled chunk read back */
    int done;                     /* the walk is finished (or aborting) */
    int held;                     /* the writer waits (hs_sink_hold) */
    int abort;                    /* drop everything, do not commit */
    pthread_t thread;
    int threaded;                 /* the writer thread is running */
    int gate_fd;                  /* writer: wait for a byte first (-1) */
    int fork_entered;             /* counted by fork_wait.c */

    struct chunk *cur;            /* walk: the chunk being filled */
    struct packing pack;          /* walk: the chunk's previous values */
    volatile int failed;          /* a write failed, or memory ran out */
    char errmsg[512];             /* the first failure */
    char *file;                   /* FILE.tmp (hs_alloc'd) */
};

/* Peak of SQLite's own memory, kept after the connection closed. */
static size_t sqlite_peak; /* atomic: set by whichever thread frees a sink */

size_t
hs_sink_peak_memory(void)
{
    return __atomic_load_n(&sqlite_peak, __ATOMIC_RELAXED);
}

/* ---- failure ------------------------------------------------------------------- */

/* Records the first failure (either thread). */
static void
set_failed(struct hs_sink *s, const char *what, const char *why)
{
    pthread_mutex_lock(&s->mu);
    if (!s->failed) {
        snprintf(s->errmsg, sizeof(s->errmsg), "%s: %s", what, why);
        s->failed = 1;
    }
    pthread_mutex_unlock(&s->mu);
}

/* "WHAT in 'FILE': SQLite's cause": a failure names the file it hit. */
static void
sql_failed(struct hs_sink *s, const char *what)
{
    char where[384];

    snprintf(where, sizeof(where), "%s in '%s'", what, s->file);
    set_failed(s, where, sqlite3_errmsg(s->db));
}

int
hs_sink_failed(struct hs_sink *s)
{
    return s->failed;
}

/* ---- the writer side ---------------------------------------------------------------- */

static int
step(struct hs_sink *s, sqlite3_stmt *st, const char *what)
{
    int rc = sqlite3_step(st);

    sqlite3_reset(st);
    if (rc != SQLITE_DONE) {
        sql_failed(s, what);
        return -1;
    }
    return 0;
}

static void
bind_edge(sqlite3_stmt *st, int base, const struct edge_row *e)
{
    sqlite3_bind_int64(st, base + 1, e->src);
    sqlite3_bind_int64(st, base + 2, e->dst);
    sqlite3_bind_int(st, base + 3, e->kind);
    if (e->arg < 0)
        sqlite3_bind_null(st, base + 4);
    else
        sqlite3_bind_int64(st, base + 4, e->arg);
}

static void
flush_edges(struct hs_sink *s)
{
    if (s->nedges == HS_EDGE_BATCH) {
        for (int i = 0; i < HS_EDGE_BATCH; i++)
            bind_edge(s->st_edges, i * 4, &s->edges[i]);
        step(s, s->st_edges, "cannot write references");
    } else {
        for (int i = 0; i < s->nedges; i++) {
            bind_edge(s->st_edge, 0, &s->edges[i]);
            if (step(s, s->st_edge, "cannot write references") < 0)
                break;
        }
    }
    s->nedges = 0;
}

static void
bind_object(sqlite3_stmt *st, int base, const struct object_row *o)
{
    sqlite3_bind_int64(st, base + 1, o->id);
    sqlite3_bind_int64(st, base + 2, (sqlite3_int64)o->address);
    sqlite3_bind_int64(st, base + 3, o->type_id);
    sqlite3_bind_int64(st, base + 4, o->size);
    sqlite3_bind_int64(st, base + 5, o->refcount);
    if (o->length < 0)
        sqlite3_bind_null(st, base + 6);
    else
        sqlite3_bind_int64(st, base + 6, o->length);
    if (o->has_value)
        sqlite3_bind_text(st, base + 7, o->value, (int)o->value_len,
                          SQLITE_STATIC);
    else
        sqlite3_bind_null(st, base + 7);
    sqlite3_bind_int64(st, base + 8, o->flags);
}

static void
flush_objects(struct hs_sink *s)
{
    if (s->nobjs == HS_OBJECT_BATCH) {
        for (int i = 0; i < HS_OBJECT_BATCH; i++)
            bind_object(s->st_objects, i * 8, &s->objs[i]);
        step(s, s->st_objects, "cannot write objects");
    } else {
        for (int i = 0; i < s->nobjs; i++) {
            bind_object(s->st_object, 0, &s->objs[i]);
            if (step(s, s->st_object, "cannot write objects") < 0)
                break;
        }
    }
    s->nobjs = 0;
}

/* Little-endian field readers over a record. */
struct reader {
    const unsigned char *p, *end;
};

static uint64_t
rd_u64(struct reader *r)
{
    uint64_t v;

    memcpy(&v, r->p, 8);
    r->p += 8;
    return v;
}

static uint32_t
rd_u32(struct reader *r)
{
    uint32_t v;

    memcpy(&v, r->p, 4);
    r->p += 4;
    return v;
}

static uint8_t
rd_u8(struct reader *r)
{
    return *r->p++;
}

/* An unsigned LEB128 number. */
static uint64_t
rd_var(struct reader *r)
{
    uint64_t v = 0;
    unsigned shift = 0;
    uint8_t b;

    do {
        b = *r->p++;
        v |= (uint64_t)(b & 0x7F) << shift;
        shift += 7;
    } while ((b & 0x80) && shift < 64);
    return v;
}

/* A signed number, zigzagged (0, -1, 1, -2 ... are 0, 1, 2, 3 ...). */
static int64_t
rd_svar(struct reader *r)
{
    uint64_t z = rd_var(r);

    return (int64_t)(z >> 1) ^ -(int64_t)(z & 1);
}

/* A packed text: its length plus one, then its bytes; 0 for NULL. */
static const char *
rd_vstr(struct reader *r, uint32_t *len)
{
    uint64_t n = rd_var(r);
    const char *p = (const char *)r->p;

    if (!n) {
        *len = UINT32_MAX;
        return NULL;
    }
    *len = (uint32_t)(n - 1);
    r->p += n - 1;
    return p;
}

/* A length-prefixed string; *len = UINT32_MAX for NULL. */
static const char *
rd_str(struct reader *r, uint32_t *len)
{
    const char *p;

    *len = rd_u32(r);
    if (*len == UINT32_MAX)
        return NULL;
    p = (const char *)r->p;
    r->p += *len;
    return p;
}

static void
bind_text_or_null(sqlite3_stmt *st, int i, const char *p, uint32_t len)
{
    if (p)
        sqlite3_bind_text(st, i, p, (int)len, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, i);
}

static void
bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
    if (v < 0)
        sqlite3_bind_null(st, i);
    else
        sqlite3_bind_int64(st, i, v);
}

/* Writes the records of one chunk.  Pending object rows point into the
 * chunk, so they are flushed before it is handed back.  Object and edge
 * rows come interleaved (each object, then its references) and are
 * batched separately; both batches are flushed before a record that
 * updates rows. */
static void
write_chunk(struct hs_sink *s, struct chunk *c)
{
    struct reader r = { c->data, c->data + c->len };
    struct packing pk = { 0, 0, 0, 0 };

    while (r.p < r.end && !s->failed) {
        enum rec tag = (enum rec)rd_u8(&r);
        uint32_t l1, l2, l3;
        const char *t1, *t2, *t3;

        if (tag == REC_OBJECT_SIZE || tag == REC_OBJECT_FLAG) {
            if (s->nedges)
                flush_edges(s);
            if (s->nobjs)
                flush_objects(s);
        }
        switch (tag) {
        case REC_EDGE: {
            struct edge_row *e = &s->edges[s->nedges++];

            e->src = pk.src += (uint32_t)rd_svar(&r);
            e->dst = pk.dst += (uint32_t)rd_svar(&r);
            e->kind = rd_u8(&r);
            e->arg = rd_svar(&r);
            if (s->nedges == HS_EDGE_BATCH)
                flush_edges(s);
            break;
        }
        case REC_OBJECT: {
            struct object_row *o = &s->objs[s->nobjs++];

            o->id = pk.id += (uint32_t)rd_svar(&r);
            o->address = pk.address += (uint64_t)rd_svar(&r);
            o->type_id = (uint32_t)rd_var(&r);
            o->size = rd_svar(&r);
            o->refcount = rd_svar(&r);
            o->length = rd_svar(&r);
            o->flags = (uint32_t)rd_var(&r);
            o->value = rd_vstr(&r, &o->value_len);
            o->has_value = o->value != NULL;
            if (s->nobjs == HS_OBJECT_BATCH)
                flush_objects(s);
            break;
        }
        case REC_NAME:
            sqlite3_bind_int64(s->st_name, 1, rd_u32(&r));
            t1 = rd_str(&r, &l1);
            bind_text_or_null(s->st_name, 2, t1 ? t1 : "", t1 ? l1 : 0);
            step(s, s->st_name, "cannot write names");
            break;
        case REC_TYPE:
            sqlite3_bind_int64(s->st_type, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_type, 5, rd_u32(&r));
            t1 = rd_str(&r, &l1);
            t2 = rd_str(&r, &l2);
            t3 = rd_str(&r, &l3);
            bind_text_or_null(s->st_type, 2, t1, l1);
            bind_text_or_null(s->st_type, 3, t2, l2);
            bind_text_or_null(s->st_type, 4, t3, l3);
            step(s, s->st_type, "cannot write types");
            break;
        case REC_ROOT:
            sqlite3_bind_int64(s->st_root, 1, rd_u32(&r));
            bind_opt_int(s->st_root, 4, (int64_t)rd_u64(&r));
            bind_opt_int(s->st_root, 5, (int64_t)rd_u64(&r));
            t1 = rd_str(&r, &l1);
            t2 = rd_str(&r, &l2);
            bind_text_or_null(s->st_root, 2, t1, l1);
            bind_text_or_null(s->st_root, 3, t2, l2);
            step(s, s->st_root, "cannot write roots");
            break;
        case REC_THREAD:
            sqlite3_bind_int64(s->st_thread, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_thread, 2, (sqlite3_int64)rd_u64(&r));
            bind_opt_int(s->st_thread, 3, (int64_t)rd_u64(&r));
            sqlite3_bind_int(s->st_thread, 5, rd_u8(&r));
            sqlite3_bind_int(s->st_thread, 6, rd_u8(&r));
            bind_opt_int(s->st_thread, 7, (int64_t)rd_u64(&r));
            t1 = rd_str(&r, &l1);
            bind_text_or_null(s->st_thread, 4, t1, l1);
            step(s, s->st_thread, "cannot write threads");
            break;
        case REC_FRAME:
            sqlite3_bind_int64(s->st_frame, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_frame, 2, rd_u32(&r));
            sqlite3_bind_int64(s->st_frame, 3, rd_u32(&r));
            bind_opt_int(s->st_frame, 6, (int64_t)rd_u64(&r));
            bind_opt_int(s->st_frame, 7, (int64_t)rd_u64(&r));
            bind_opt_int(s->st_frame, 8, (int64_t)rd_u64(&r));
            t1 = rd_str(&r, &l1);
            t2 = rd_str(&r, &l2);
            bind_text_or_null(s->st_frame, 4, t1, l1);
            bind_text_or_null(s->st_frame, 5, t2, l2);
            step(s, s->st_frame, "cannot write frames");
            break;
        case REC_META_TEXT:
        case REC_META_INT:
        case REC_META_REAL:
            t1 = rd_str(&r, &l1);
            bind_text_or_null(s->st_meta, 1, t1, l1);
            if (tag == REC_META_TEXT) {
                t2 = rd_str(&r, &l2);
                bind_text_or_null(s->st_meta, 2, t2, l2);
            } else if (tag == REC_META_INT) {
                sqlite3_bind_int64(s->st_meta, 2, (int64_t)rd_u64(&r));
            } else {
                uint64_t bits = rd_u64(&r);
                double d;

                memcpy(&d, &bits, sizeof(d));
                sqlite3_bind_double(s->st_meta, 2, d);
            }
            step(s, s->st_meta, "cannot write metadata");
            break;
        case REC_OBJECT_SIZE:
            sqlite3_bind_int64(s->st_size, 3, rd_u32(&r));
            sqlite3_bind_int64(s->st_size, 1, (int64_t)rd_u64(&r));
            sqlite3_bind_int64(s->st_size, 2, rd_u32(&r));
            step(s, s->st_size, "cannot write object sizes");
            break;
        case REC_OBJECT_FLAG:
            sqlite3_bind_int64(s->st_flag, 2, rd_u32(&r));
            sqlite3_bind_int64(s->st_flag, 3, rd_u32(&r));
            sqlite3_bind_int64(s->st_flag, 1, rd_u32(&r));
            step(s, s->st_flag, "cannot write object flags");
            break;
        case REC_REPORTED_SIZE:
            sqlite3_bind_int64(s->st_reported, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_reported, 2, (int64_t)rd_u64(&r));
            step(s, s->st_reported, "cannot write reported sizes");
            break;
        case REC_TYPE_LAYOUT:
            sqlite3_bind_int64(s->st_layout, 1, rd_u32(&r));
            for (int col = 2; col <= 7; col++)
                sqlite3_bind_int64(s->st_layout, col, (int64_t)rd_u64(&r));
            sqlite3_bind_int64(s->st_layout, 8, (int64_t)rd_u64(&r));
            sqlite3_bind_int(s->st_layout, 9, rd_u8(&r));
            step(s, s->st_layout, "cannot write type layouts");
            break;
        case REC_ALLOC_FRAME:
            sqlite3_bind_int64(s->st_alloc_frame, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_alloc_frame, 3, (int64_t)rd_u64(&r));
            t1 = rd_str(&r, &l1);
            t2 = rd_str(&r, &l2);
            bind_text_or_null(s->st_alloc_frame, 2, t1, l1);
            bind_text_or_null(s->st_alloc_frame, 4, t2, l2);
            step(s, s->st_alloc_frame, "cannot write allocation frames");
            break;
        case REC_ALLOC_TRACEBACK:
            sqlite3_bind_int64(s->st_alloc_tb, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_alloc_tb, 2, rd_u32(&r));
            sqlite3_bind_int64(s->st_alloc_tb, 3, rd_u32(&r));
            step(s, s->st_alloc_tb, "cannot write allocation tracebacks");
            break;
        case REC_OBJECT_TRACEBACK:
            sqlite3_bind_int64(s->st_object_tb, 1, rd_u32(&r));
            sqlite3_bind_int64(s->st_object_tb, 2, rd_u32(&r));
            step(s, s->st_object_tb, "cannot write object tracebacks");
            break;
        default:
            set_failed(s, "internal error", "corrupt row buffer");
            return;
        }
    }
    if (s->nobjs && !s->failed)
        flush_objects(s);
    s->nobjs = 0;
}

/* Hands a written chunk back to the walk. */
static void
recycle(struct hs_sink *s, struct chunk *c)
{
    pthread_mutex_lock(&s->mu);
    c->next = s->free_list;
    s->free_list = c;
    pthread_mutex_unlock(&s->mu);
}

/* ---- the spool ------------------------------------------------------------------ */

/*
 * An unlinked file in the snapshot's folder: O_TMPFILE where the file
 * system has it, else FILE.tmp.spool removed at once.  Nothing is left
 * behind whatever happens to the process.  fd, or -1 with errno.
 */
static int
spool_open(const char *tmp_path)
{
    size_t n = strlen(tmp_path);
    char *p = hs_alloc(n + 8);
    const char *slash = strrchr(tmp_path, '/');
    int fd = -1;

    if (!p) {
        errno = ENOMEM;
        return -1;
    }
#ifdef O_TMPFILE
    if (!slash)
        snprintf(p, n + 8, ".");
    else if (slash == tmp_path)
        snprintf(p, n + 8, "/");
    else
        snprintf(p, n + 8, "%.*s", (int)(slash - tmp_path), tmp_path);
    fd = open(p, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
#endif
    if (fd < 0) {
        snprintf(p, n + 8, "%s.spool", tmp_path);
        unlink(p);
        fd = open(p, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
                  0600);
        if (fd >= 0)
            unlink(p);
    }
    hs_free(p);
    return fd;
}

/* pwrite/pread of all n bytes at off: 0, or -1 with errno (EIO for a
 * file that ended early). */
static int
spool_io(int fd, void *p, size_t n, uint64_t off, int writing)
{
    while (n > 0) {
        ssize_t k = writing ? pwrite(fd, p, n, (off_t)off)
                            : pread(fd, p, n, (off_t)off);

        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            if (k == 0)
                errno = writing ? ENOSPC : EIO;
            return -1;
        }
        p = (char *)p + k;
        n -= (size_t)k;
        off += (uint64_t)k;
    }
    return 0;
}

/* Walk: appends a chunk (its length, then its records); 0 or -1. */
static int
spool_append(struct hs_sink *s, struct chunk *c)
{
    uint64_t len = c->len;

    if (spool_io(s->spool_fd, &len, sizeof(len), s->spool_end, 1) < 0 ||
        spool_io(s->spool_fd, c->data, c->len, s->spool_end + sizeof(len),
                 1) < 0) {
        char what[384];

        snprintf(what, sizeof(what), "cannot write the spool of '%s'",
                 s->file);
        set_failed(s, what, strerror(errno));
        return -1;
    }
    return 0;
}

/* Writer: reads the chunk at `off` into spool_buf; its size on file, or
 * 0 after a failure. */
static uint64_t
spool_read(struct hs_sink *s, uint64_t off)
{
    uint64_t len = 0;

    if (spool_io(s->spool_fd, &len, sizeof(len), off, 0) < 0 ||
        len > HS_CHUNK_SIZE ||
        spool_io(s->spool_fd, s->spool_buf->data, (size_t)len,
                 off + sizeof(len), 0) < 0) {
        char what[384];

        snprintf(what, sizeof(what), "cannot read back the spool of '%s'",
                 s->file);
        set_failed(s, what, len > HS_CHUNK_SIZE ? "corrupt" : strerror(errno));
        return 0;
    }
    s->spool_buf->len = (size_t)len;
    return sizeof(len) + len;
}

/* ---- the writer thread ---------------------------------------------------------- */

/* Tests: waits for the byte that opens the gate. */
static void
wait_at_gate(struct hs_sink *s)
{
    struct pollfd p = { s->gate_fd, POLLIN, 0 };
    char byte;
    int rc;

    do
        rc = poll(&p, 1, HS_GATE_SECONDS * 1000);
    while (rc < 0 && errno == EINTR);
    if (rc <= 0 || read(s->gate_fd, &byte, 1) != 1)
        set_failed(s, "the writer's gate", "no byte came (is the GIL held?)");
}

static int connect_db(struct hs_sink *s);

static void *
writer_main(void *arg)
{
    struct hs_sink *s = arg;

    if (s->gate_fd >= 0)
        wait_at_gate(s);
    if (!s->failed)
        connect_db(s); /* a failure drops every chunk below */
    for (;;) {
        struct chunk *c;
        uint64_t off = 0, took;
        int spooled = 0;

        pthread_mutex_lock(&s->mu);
        while ((s->held && !s->done) ||
               (!s->head && s->spool_pos == s->spool_end && !s->done))
            pthread_cond_wait(&s->cv_work, &s->mu);
        c = s->head;
        if (c) {
            s->head = c->next;
            if (!s->head)
                s->tail = NULL;
            s->queued--;
        } else if (s->spool_pos < s->spool_end) {
            spooled = 1;
            off = s->spool_pos;
            if (s->abort || s->failed)
                s->spool_pos = s->spool_end; /* dropped */
        }
        pthread_mutex_unlock(&s->mu);
        if (c) {
            if (!s->abort && !s->failed)
                write_chunk(s, c);
            recycle(s, c);
            continue;
        }
        if (!spooled)
            break;
        if (s->abort || s->failed)
            continue;
        took = spool_read(s, off);
        pthread_mutex_lock(&s->mu);
        s->spool_pos = took ? off + took : s->spool_end;
        pthread_mutex_unlock(&s->mu);
        if (took)
            write_chunk(s, s->spool_buf);
    }
    if (!s->abort && !s->failed && s->nedges)
        flush_edges(s);
    return NULL;
}

/* ---- the walk side -------------------------------------------------------------- */

/* Queues the current chunk, or spools it when the queue is full or the
 * spool still holds chunks.  In the synchronous fallback, writes it at
 * once. */
static void
submit(struct hs_sink *s)
{
    struct chunk *c = s->cur;
    int queue;

    s->cur = NULL;
    if (!c)
        return;
    if (!s->threaded) {
        if (!s->failed)
            write_chunk(s, c);
        recycle(s, c);
        return;
    }
    pthread_mutex_lock(&s->mu);
    queue = s->spool_pos == s->spool_end && s->queued < HS_MAX_QUEUED;
    if (queue) {
        c->next = NULL;
        if (s->tail)
            s->tail->next = c;
        else
            s->head = c;
        s->tail = c;
        s->queued++;
        pthread_cond_signal(&s->cv_work);
    }
    pthread_mutex_unlock(&s->mu);
    if (queue)
        return;
    /* Only this thread moves spool_end. */
    if (!s->failed && spool_append(s, c) == 0) {
        pthread_mutex_lock(&s->mu);
        s->spool_end += sizeof(uint64_t) + c->len;
        pthread_cond_signal(&s->cv_work);
        pthread_mutex_unlock(&s->mu);
    }
    recycle(s, c);
}

/* Room for `need` bytes of records; NULL after a failure. */
static unsigned char *
reserve(struct hs_sink *s, size_t need)
{
    unsigned char *p;

    if (s->failed)
        return NULL;
    if (need > HS_CHUNK_SIZE) {
        set_failed(s, "internal error", "row larger than a chunk");
        return NULL;
    }
    if (s->cur && s->cur->len + need > HS_CHUNK_SIZE)
        submit(s);
    if (!s->cur) {
        pthread_mutex_lock(&s->mu);
        s->cur = s->free_list;
        if (s->cur)
            s->free_list = s->cur->next;
        pthread_mutex_unlock(&s->mu);
        if (!s->cur) {
            s->cur = hs_alloc(sizeof(struct chunk));
            if (!s->cur) {
                set_failed(s, "out of memory", "row buffer");
                return NULL;
            }
        }
        s->cur->len = 0;
        s->cur->next = NULL;
        memset(&s->pack, 0, sizeof(s->pack));
    }
    p = s->cur->data + s->cur->len;
    s->cur->len += need;
    return p;
}

static unsigned char *
wr_u8(unsigned char *p, uint8_t v)
{
    *p = v;
    return p + 1;
}

static unsigned char *
wr_u32(unsigned char *p, uint32_t v)
{
    memcpy(p, &v, 4);
    return p + 4;
}

static unsigned char *
wr_u64(unsigned char *p, uint64_t v)
{
    memcpy(p, &v, 8);
    return p + 8;
}

static unsigned char *
wr_str(unsigned char *p, const char *s, size_t len)
{
    if (!s)
        return wr_u32(p, UINT32_MAX);
    p = wr_u32(p, (uint32_t)len);
    memcpy(p, s, len);
    return p + len;
}

/* Packed numbers (rd_var(), rd_svar()): 7 bits a byte, low first. */
#define VAR_MAX 10

static unsigned char *
wr_var(unsigned char *p, uint64_t v)
{
    while (v >= 0x80) {
        *p++ = (unsigned char)(v | 0x80);
        v >>= 7;
    }
    *p++ = (unsigned char)v;
    return p;
}

static unsigned char *
wr_svar(unsigned char *p, int64_t v)
{
    return wr_var(p, ((uint64_t)v << 1) ^ (uint64_t)(v >> 63));
}

/* A difference of two 32-bit or 64-bit values, as a signed number (the
 * reader adds it back modulo the same width). */
#define DELTA32(now, before) ((int64_t)(int32_t)((uint32_t)(now) - (before)))
#define DELTA64(now, before) ((int64_t)((uint64_t)(now) - (before)))

/* The chunk's records end at p (reserve() counted the most they need). */
static void
packed_to(struct hs_sink *s, unsigned char *p)
{
    s->cur->len = (size_t)(p - s->cur->data);
}

#define STRLEN(s) ((s) ? strlen(s) : 0)
/* Texts are capped so that any record fits in a chunk. */
#define CAP(n) ((n) > 65536 ? 65536 : (n))

void
hs_sink_edge(struct hs_sink *s, uint32_t src, uint32_t dst, int kind,
             int64_t arg)
{
    unsigned char *p = reserve(s, 1 + VAR_MAX * 3 + 1);
    struct packing *pk = &s->pack;

    if (!p)
        return;
    p = wr_u8(p, REC_EDGE);
    /* Edges come object by object: the source changes rarely, and the
     * targets an object reaches first often have consecutive ids. */
    p = wr_svar(p, DELTA32(src, pk->src));
    p = wr_svar(p, DELTA32(dst, pk->dst));
    p = wr_u8(p, (uint8_t)kind);
    p = wr_svar(p, arg);
    pk->src = src;
    pk->dst = dst;
    packed_to(s, p);
}

void
hs_sink_name(struct hs_sink *s, uint32_t id, const char *text, size_t len)
{
    unsigned char *p;

    len = CAP(len);
    p = reserve(s, 1 + 4 + 4 + len);
    if (!p)
        return;
    p = wr_u8(p, REC_NAME);
    p = wr_u32(p, id);
    wr_str(p, text ? text : "", text ? len : 0);
}

void
hs_sink_object(struct hs_sink *s, uint32_t id, uint64_t address,
               uint32_t type_id, int64_t size, int64_t refcount,
               int64_t length, const char *value, size_t value_len,
               int has_value, uint32_t flags)
{
    unsigned char *p;

    struct packing *pk;

    value_len = has_value ? CAP(value_len) : 0;
    p = reserve(s, 1 + VAR_MAX * 8 + value_len);
    if (!p)
        return;
    pk = &s->pack;
    p = wr_u8(p, REC_OBJECT);
    /* Ids mostly go up by one; an address is told against the previous
     * object's, which was often allocated near it. */
    p = wr_svar(p, DELTA32(id, pk->id));
    p = wr_svar(p, DELTA64(address, pk->address));
    p = wr_var(p, type_id);
    p = wr_svar(p, size);
    p = wr_svar(p, refcount);
    p = wr_svar(p, length);
    p = wr_var(p, flags);
    p = wr_var(p, has_value ? (uint64_t)value_len + 1 : 0);
    if (has_value && value_len && value)
        memcpy(p, value, value_len);
    pk->id = id;
    pk->address = address;
    packed_to(s, p + (has_value ? value_len : 0));
}

void
hs_sink_type(struct hs_sink *s, uint32_t id, const char *name,
             const char *module, const char *qualname, uint32_t flags)
{
    size_t l1 = CAP(STRLEN(name)), l2 = CAP(STRLEN(module));
    size_t l3 = CAP(STRLEN(qualname));
    unsigned char *p = reserve(s, 1 + 4 + 4 + 12 + l1 + l2 + l3);

    if (!p)
        return;
    p = wr_u8(p, REC_TYPE);
    p = wr_u32(p, id);
    p = wr_u32(p, flags);
    p = wr_str(p, name, l1);
    p = wr_str(p, module, l2);
    wr_str(p, qualname, l3);
}

void
hs_sink_root(struct hs_sink *s, uint32_t object_id, const char *kind,
             const char *label, int64_t thread_id, int64_t frame_id)
{
    size_t l1 = CAP(STRLEN(kind)), l2 = CAP(STRLEN(label));
    unsigned char *p = reserve(s, 1 + 4 + 16 + 8 + l1 + l2);

    if (!p)
        return;
    p = wr_u8(p, REC_ROOT);
    p = wr_u32(p, object_id);
    p = wr_u64(p, (uint64_t)thread_id);
    p = wr_u64(p, (uint64_t)frame_id);
    p = wr_str(p, kind, l1);
    wr_str(p, label, l2);
}

void
hs_sink_thread(struct hs_sink *s, uint32_t id, uint64_t ident,
               int64_t native_id, const char *name, int is_main,
               int is_dumper, int64_t object_id)
{
    size_t l1 = CAP(STRLEN(name));
    unsigned char *p = reserve(s, 1 + 4 + 8 + 8 + 2 + 8 + 4 + l1);

    if (!p)
        return;
    p = wr_u8(p, REC_THREAD);
    p = wr_u32(p, id);
    p = wr_u64(p, ident);
    p = wr_u64(p, (uint64_t)native_id);
    p = wr_u8(p, (uint8_t)is_main);
    p = wr_u8(p, (uint8_t)is_dumper);
    p = wr_u64(p, (uint64_t)object_id);
    wr_str(p, name, l1);
}

void
hs_sink_frame(struct hs_sink *s, uint32_t id, uint32_t thread_id,
              uint32_t depth, const char *function, const char *file,
              int64_t line, int64_t code_id, int64_t object_id)
{
    size_t l1 = CAP(STRLEN(function)), l2 = CAP(STRLEN(file));
    unsigned char *p = reserve(s, 1 + 12 + 24 + 8 + l1 + l2);

    if (!p)
        return;
    p = wr_u8(p, REC_FRAME);
    p = wr_u32(p, id);
    p = wr_u32(p, thread_id);
    p = wr_u32(p, depth);
    p = wr_u64(p, (uint64_t)line);
    p = wr_u64(p, (uint64_t)code_id);
    p = wr_u64(p, (uint64_t)object_id);
    p = wr_str(p, function, l1);
    wr_str(p, file, l2);
}

void
hs_sink_meta_text(struct hs_sink *s, const char *key, const char *v)
{
    size_t l1 = CAP(STRLEN(key)), l2 = CAP(STRLEN(v));
    unsigned char *p = reserve(s, 1 + 8 + l1 + l2);

    if (!p)
        return;
    p = wr_u8(p, REC_META_TEXT);
    p = wr_str(p, key, l1);
    wr_str(p, v, l2);
}

void
hs_sink_meta_int(struct hs_sink *s, const char *key, int64_t v)
{
    size_t l1 = CAP(STRLEN(key));
    unsigned char *p = reserve(s, 1 + 4 + 8 + l1);

    if (!p)
        return;
    p = wr_u8(p, REC_META_INT);
    p = wr_str(p, key, l1);
    wr_u64(p, (uint64_t)v);
}

void
hs_sink_meta_real(struct hs_sink *s, const char *key, double v)
{
    size_t l1 = CAP(STRLEN(key));
    unsigned char *p = reserve(s, 1 + 4 + 8 + l1);
    uint64_t bits;

    if (!p)
        return;
    memcpy(&bits, &v, sizeof(bits));
    p = wr_u8(p, REC_META_REAL);
    p = wr_str(p, key, l1);
    wr_u64(p, bits);
}

void
hs_sink_object_size(struct hs_sink *s, uint32_t id, int64_t size,
                    uint32_t flags)
{
    unsigned char *p = reserve(s, 1 + 4 + 8 + 4);

    if (!p)
        return;
    p = wr_u8(p, REC_OBJECT_SIZE);
    p = wr_u32(p, id);
    p = wr_u64(p, (uint64_t)size);
    wr_u32(p, flags);
}

void
hs_sink_object_flag(struct hs_sink *s, uint32_t first, uint32_t last,
                    uint32_t flag)
{
    unsigned char *p = reserve(s, 1 + 4 + 4 + 4);

    if (!p)
        return;
    p = wr_u8(p, REC_OBJECT_FLAG);
    p = wr_u32(p, first);
    p = wr_u32(p, last);
    wr_u32(p, flag);
}

void
hs_sink_reported_size(struct hs_sink *s, uint32_t id, int64_t size)
{
    unsigned char *p = reserve(s, 1 + 4 + 8);

    if (!p)
        return;
    p = wr_u8(p, REC_REPORTED_SIZE);
    p = wr_u32(p, id);
    wr_u64(p, (uint64_t)size);
}

void
hs_sink_type_layout(struct hs_sink *s, const struct hs_type_layout *l)
{
    unsigned char *p = reserve(s, 1 + 4 + 7 * 8 + 1);

    if (!p)
        return;
    /* Columns 2-7 in table order, then values_bytes and values_inline. */
    p = wr_u8(p, REC_TYPE_LAYOUT);
    p = wr_u32(p, l->type_id);
    p = wr_u64(p, (uint64_t)l->basicsize);
    p = wr_u64(p, (uint64_t)l->itemsize);
    p = wr_u64(p, (uint64_t)l->dictoffset);
    p = wr_u64(p, (uint64_t)l->weaklistoffset);
    p = wr_u64(p, (uint64_t)l->managed_dict);
    p = wr_u64(p, (uint64_t)l->solid_basicsize);
    p = wr_u64(p, (uint64_t)l->values_bytes);
    wr_u8(p, l->values_inline);
}

void
hs_sink_alloc_frame(struct hs_sink *s, uint32_t id, const char *file,
                    int64_t line, const char *function)
{
    size_t l1 = CAP(STRLEN(file)), l2 = CAP(STRLEN(function));
    unsigned char *p = reserve(s, 1 + 4 + 8 + 8 + l1 + l2);

    if (!p)
        return;
    p = wr_u8(p, REC_ALLOC_FRAME);
    p = wr_u32(p, id);
    p = wr_u64(p, (uint64_t)line);
    p = wr_str(p, file, l1);
    wr_str(p, function, l2);
}

void
hs_sink_alloc_traceback(struct hs_sink *s, uint32_t id, uint32_t depth,
                        uint32_t frame_id)
{
    unsigned char *p = reserve(s, 1 + 12);

    if (!p)
        return;
    p = wr_u8(p, REC_ALLOC_TRACEBACK);
    p = wr_u32(p, id);
    p = wr_u32(p, depth);
    wr_u32(p, frame_id);
}

void
hs_sink_object_traceback(struct hs_sink *s, uint32_t object_id,
                         uint32_t traceback_id)
{
    unsigned char *p = reserve(s, 1 + 8);

    if (!p)
        return;
    p = wr_u8(p, REC_OBJECT_TRACEBACK);
    p = wr_u32(p, object_id);
    wr_u32(p, traceback_id);
}

/* ---- lifecycle ---------------------------------------------------------------------- */

static int
prepare(struct hs_sink *s, sqlite3_stmt **st, const char *sql)
{
    if (sqlite3_prepare_v2(s->db, sql, -1, st, NULL) != SQLITE_OK) {
        sql_failed(s, "cannot prepare");
        return -1;
    }
    return 0;
}

/* "INSERT INTO t VALUES (?,?),(?,?)..." with `rows` rows of `cols`, in
 * a buffer of its own: this runs on the writer thread, which never
 * allocates through hs_alloc. */
static int
prepare_multi(struct hs_sink *s, sqlite3_stmt **st, const char *table,
              int cols, int rows)
{
    char sql[2048];
    size_t n = (size_t)snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES ",
                                table);

    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            if (n + 5 >= sizeof(sql)) {
                set_failed(s, "internal error", "statement text too long");
                return -1;
            }
            if (c || r)
                sql[n++] = ',';
            if (!c)
                sql[n++] = '(';
            sql[n++] = '?';
            if (c == cols - 1)
                sql[n++] = ')';
        }
    sql[n] = '\0';
    return prepare(s, st, sql);
}

static void
finalize_all(struct hs_sink *s)
{
    sqlite3_stmt **all[] = { &s->st_edges, &s->st_edge,   &s->st_objects,
                             &s->st_object, &s->st_name,  &s->st_type,
                             &s->st_root,  &s->st_thread, &s->st_frame,
                             &s->st_meta,  &s->st_size,   &s->st_flag,
                             &s->st_reported,
                             &s->st_layout, &s->st_alloc_frame,
                             &s->st_alloc_tb, &s->st_object_tb };

    for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++) {
        sqlite3_finalize(*all[i]);
        *all[i] = NULL;
    }
}

static void
free_chunks(struct hs_sink *s)
{
    struct chunk *lists[3] = { s->free_list, s->head, s->cur };

    for (int i = 0; i < 3; i++) {
        while (lists[i]) {
            struct chunk *next = i == 2 ? NULL : lists[i]->next;

            hs_free(lists[i]);
            lists[i] = next;
        }
    }
    s->free_list = s->head = s->tail = s->cur = NULL;
}

static void
sink_free(struct hs_sink *s)
{
    size_t cur, peak;
    int op = SQLITE_STATUS_MEMORY_USED, entered = s->fork_entered;

    finalize_all(s);
    if (sqlite3_status64(op, (sqlite3_int64 *)&cur, (sqlite3_int64 *)&peak,
                         0) == SQLITE_OK &&
        peak > __atomic_load_n(&sqlite_peak, __ATOMIC_RELAXED))
        __atomic_store_n(&sqlite_peak, peak, __ATOMIC_RELAXED);
    sqlite3_close(s->db);
    free_chunks(s);
    hs_free(s->spool_buf);
    hs_free(s->file);
    if (s->spool_fd >= 0)
        close(s->spool_fd);
    pthread_cond_destroy(&s->cv_work);
    pthread_mutex_destroy(&s->mu);
    hs_free(s);
    if (entered)
        hs_fork_wait_leave(); /* the last thing the sink's thread does */
}

/*
 * The connection: the file's settings, the schema, the transaction and
 * the statements.  The writer thread makes it while the walk runs (its
 * first chunk waits for it), so creating the schema is not part of the
 * program's pause; in the synchronous fallback the caller makes it.  0,
 * or -1 with the failure recorded.
 */
static int
connect_db(struct hs_sink *s)
{
    char what[300];
    char *msg = NULL;

    /* One thread at a time uses the connection: no per-call mutex. */
    if (sqlite3_open_v2(s->file, &s->db,
                        SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
        SQLITE_OK) {
        snprintf(what, sizeof(what), "cannot open '%s'", s->file);
        set_failed(s, what, s->db ? sqlite3_errmsg(s->db) : "out of memory");
        return -1;
    }
    if (sqlite3_exec(s->db,
                     "PRAGMA page_size=65536; PRAGMA journal_mode=OFF;"
                     "PRAGMA synchronous=OFF; PRAGMA locking_mode=EXCLUSIVE;"
                     "PRAGMA cache_size=-2048;",
                     NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(s->db, hs_schema_sql, NULL, NULL, &msg) != SQLITE_OK ||
        sqlite3_exec(s->db, "BEGIN", NULL, NULL, &msg) != SQLITE_OK) {
        snprintf(what, sizeof(what), "cannot write '%s'", s->file);
        set_failed(s, what, msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
        return -1;
    }
    if (prepare_multi(s, &s->st_edges, "edge_list", 4, HS_EDGE_BATCH) ||
        prepare_multi(s, &s->st_edge, "edge_list", 4, 1) ||
        prepare_multi(s, &s->st_objects, "objects", 8, HS_OBJECT_BATCH) ||
        prepare_multi(s, &s->st_object, "objects", 8, 1) ||
        prepare_multi(s, &s->st_name, "names", 2, 1) ||
        prepare_multi(s, &s->st_type, "types", 5, 1) ||
        prepare_multi(s, &s->st_root, "roots", 5, 1) ||
        prepare_multi(s, &s->st_thread, "threads", 7, 1) ||
        prepare_multi(s, &s->st_frame, "frames", 8, 1) ||
        prepare(s, &s->st_meta,
                "INSERT OR REPLACE INTO meta VALUES (?, ?)") ||
        prepare(s, &s->st_size,
                "UPDATE objects SET size = ?1, flags = ?2 WHERE id = ?3") ||
        prepare(s, &s->st_flag,
                "UPDATE objects SET flags = flags | ?1 "
                "WHERE id BETWEEN ?2 AND ?3") ||
        prepare_multi(s, &s->st_reported, "reported_sizes", 2, 1) ||
        prepare_multi(s, &s->st_layout, "type_layouts", 9, 1) ||
        prepare_multi(s, &s->st_alloc_frame, "alloc_frames", 4, 1) ||
        prepare_multi(s, &s->st_alloc_tb, "alloc_tracebacks", 3, 1) ||
        prepare_multi(s, &s->st_object_tb, "object_tracebacks", 2, 1))
        return -1;
    return 0;
}

struct hs_sink *
hs_sink_open(const char *tmp_path, int threaded, int gate_fd, char *err,
             size_t errlen)
{
    struct hs_sink *s = hs_alloc(sizeof(*s));
    struct stat st;
    int fd;

    if (!s) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    memset(s, 0, sizeof(*s));
    s->spool_fd = -1;
    s->gate_fd = gate_fd;
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->cv_work, NULL);
    s->file = hs_alloc(strlen(tmp_path) + 1);
    if (!s->file) {
        snprintf(err, errlen, "out of memory");
        sink_free(s);
        return NULL;
    }
    memcpy(s->file, tmp_path, strlen(tmp_path) + 1);
    /* Until sink_free: a fork() meanwhile waits (fork_wait.c). */
    if (hs_fork_wait_enter(1) < 0) {
        snprintf(err, errlen, "cannot install the dump's fork handler");
        sink_free(s);
        return NULL;
    }
    s->fork_entered = 1;
    /* Heaps hold secrets: the file is private from its first byte.  A
     * stale FILE.tmp from a crash is replaced, but only a regular file:
     * a symlink, device or FIFO there is refused by open() below. */
    if (lstat(tmp_path, &st) == 0 && S_ISREG(st.st_mode))
        unlink(tmp_path);
    fd = open(tmp_path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
              0600);
    if (fd < 0) {
        snprintf(err, errlen, "cannot create '%s': %s", tmp_path,
                 strerror(errno));
        sink_free(s);
        return NULL;
    }
    close(fd);
    if (threaded) {
        s->spool_buf = hs_alloc(sizeof(struct chunk));
        s->spool_fd = s->spool_buf ? spool_open(tmp_path) : -1;
        if (s->spool_fd < 0) {
            snprintf(err, errlen,
                     "cannot create a spool file next to '%s': %s", tmp_path,
                     s->spool_buf ? strerror(errno) : "out of memory");
            sink_free(s);
            return NULL;
        }
    }
    s->threaded =
        threaded && pthread_create(&s->thread, NULL, writer_main, s) == 0;
    if (!s->threaded && connect_db(s) < 0) {
        snprintf(err, errlen, "%s", s->errmsg); /* names the file */
        sink_free(s);
        return NULL;
    }
    return s;
}

void
hs_sink_hold(struct hs_sink *s, int hold)
{
    if (!s->threaded)
        return;
    pthread_mutex_lock(&s->mu);
    s->held = hold;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
}

/* Stops the writer thread after what is queued (or dropped on abort). */
static void
stop_writer(struct hs_sink *s)
{
    if (s->cur && !s->abort)
        submit(s);
    if (!s->threaded) {
        if (!s->abort && !s->failed && s->nedges)
            flush_edges(s);
        return;
    }
    pthread_mutex_lock(&s->mu);
    s->done = 1;
    pthread_cond_signal(&s->cv_work);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    s->threaded = 0;
}

int
hs_sink_finish(struct hs_sink *s, char *err, size_t errlen)
{
    char *msg = NULL;
    int rc = 0;

    stop_writer(s);
    if (!s->failed &&
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, &msg) != SQLITE_OK) {
        set_failed(s, "cannot commit", msg ? msg : sqlite3_errmsg(s->db));
        sqlite3_free(msg);
    }
    finalize_all(s);
    /* Closed whatever happened: a failed connection kept open would keep
     * the unlinked FILE.tmp's blocks (a full disk stays full). */
    if (sqlite3_close(s->db) != SQLITE_OK) {
        if (!s->failed)
            sql_failed(s, "cannot close");
        sqlite3_close_v2(s->db);
    }
    s->db = NULL;
    if (s->failed) {
        snprintf(err, errlen, "%s", s->errmsg);
        rc = -1;
    }
    sink_free(s);
    return rc;
}

void
hs_sink_abort(struct hs_sink *s)
{
    s->abort = 1;
    stop_writer(s);
    sink_free(s);
}
