/*
 * sites.c: where each object was allocated.  When tracemalloc traces the
 * process, the sites phase (after the walk, walk.c) asks it for the
 * traceback of every object of the snapshot and writes them interned:
 * alloc_frames (file, line, function), alloc_tracebacks (a traceback's
 * frames, innermost first) and object_tracebacks (object -> traceback).
 *
 * tracemalloc keeps (file, line) only; the function is the innermost
 * code object of the heap whose lines contain that line (a function
 * whose code object is gone, a class body, module-level code: none).
 *
 * The phase runs after phases 0-3 have read everything, so the walk stays
 * undisturbed; it allocates Python objects (tracemalloc's answers, which
 * it drops at once, and the lines of code objects) but runs no Python
 * code, and gc stays off, so no object of the snapshot is freed or moved
 * while it reads.  Cost: one tracemalloc lookup per object plus the
 * tuples of its answer; memory: a few words per distinct frame and
 * traceback.
 */
#include "agent.h"

#include <stdlib.h>

/* A distinct (file, line) of some traceback. */
struct site_frame {
    uint32_t file;        /* index into sites.files */
    int line;             /* line number; 0 when tracemalloc did not know it */
    const char *function; /* qualname text (in sites.funcs), or NULL */
};

/* A code object whose file is the file of some frame. */
struct site_code {
    uint32_t file;    /* index into sites.files */
    int first, last;  /* its lines */
    PyCodeObject *co; /* borrowed: alive in the heap */
};

/* A distinct file name. */
struct site_file {
    PyObject *name; /* the str (a new reference) */
    Py_hash_t hash; /* its hash */
};

/* A distinct traceback: frame ids in sites.tb_frames. */
struct site_tb {
    uint32_t start; /* offset of its innermost frame */
    uint32_t len;   /* number of frames */
};

struct sites {
    struct hs_sink *sink;
    struct site_file *files; /* distinct file names */
    uint32_t nfiles, files_cap;
    uint32_t *file_tab; /* file index + 1 by hash, 0 = empty */
    uint32_t file_mask;
    struct site_frame *frames; /* frame id - 1 -> frame */
    uint32_t nframes, frames_cap;
    uint32_t *frame_tab; /* frame ids by (file, line), 0 = empty */
    uint32_t frame_mask;
    struct site_tb *tbs; /* traceback id - 1 -> its frames */
    uint32_t ntb, tb_cap;
    uint32_t *tb_tab; /* traceback ids by frames, 0 = empty */
    uint32_t tb_mask;
    uint32_t *tb_frames; /* frame ids of every traceback, innermost
                                   first */
    size_t ntb_frames, tb_frames_cap;
    uint32_t *scratch; /* the frame ids of the current object */
    size_t scratch_cap;
    struct hs_str funcs; /* function names, NUL-separated */
    size_t *func_off;    /* frame id - 1 -> offset in funcs + 1,
                                   0 = none */
    uint32_t max_frames; /* longest traceback */
};

/* Grows *p (elements of `size` bytes, *cap of them) to hold `need`. */
static int
grow(void **p, size_t *cap, size_t size, size_t need)
{
    size_t n = *cap ? *cap : 64;
    void *q;

    if (need <= *cap)
        return 0;
    while (n < need)
        n *= 2;
    q = hs_realloc(*p, n * size);
    if (!q)
        return -1;
    *p = q;
    *cap = n;
    return 0;
}

static int
grow32(void **p, uint32_t *cap, size_t size, size_t need)
{
    size_t c = *cap;

    if (need > UINT32_MAX / 2 || grow(p, &c, size, need) < 0)
        return -1;
    *cap = (uint32_t)c;
    return 0;
}

static uint32_t
mix(uint64_t h)
{
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdULL;
    h ^= h >> 33;
    return (uint32_t)h;
}

/* A zeroed table of ids for `count` entries at most half full. */
static int
table_new(uint32_t **tab, uint32_t *mask, uint32_t count)
{
    uint32_t n = 64;

    while (n < count * 2)
        n *= 2;
    *tab = hs_alloc((size_t)n * sizeof(uint32_t));
    if (!*tab)
        return -1;
    memset(*tab, 0, (size_t)n * sizeof(uint32_t));
    *mask = n - 1;
    return 0;
}

/* ---- files ----------------------------------------------------------------------- */

static int
rehash_files(struct sites *s)
{
    uint32_t *old = s->file_tab, mask;

    if (table_new(&s->file_tab, &mask, s->nfiles + 1) < 0) {
        s->file_tab = old;
        return -1;
    }
    s->file_mask = mask;
    for (uint32_t i = 0; i < s->nfiles; i++) {
        uint32_t h = mix((uint64_t)s->files[i].hash) & mask;

        while (s->file_tab[h])
            h = (h + 1) & mask;
        s->file_tab[h] = i + 1;
    }
    hs_free(old);
    return 0;
}

/* The index of file name `f` (a str), added when `add`; UINT32_MAX when
 * absent (or memory ran out: *oom). */
static uint32_t
file_index(struct sites *s, PyObject *f, int add, int *oom)
{
    Py_hash_t hash = PyObject_Hash(f);
    uint32_t h = 0;

    if (hash == -1) {
        PyErr_Clear();
        hash = 0;
    }
    if (s->file_tab) {
        for (h = mix((uint64_t)hash) & s->file_mask; s->file_tab[h];
             h = (h + 1) & s->file_mask) {
            const struct site_file *x = &s->files[s->file_tab[h] - 1];

            if (x->name == f ||
                (x->hash == hash && PyUnicode_Compare(x->name, f) == 0))
                return s->file_tab[h] - 1;
        }
        if (PyErr_Occurred())
            PyErr_Clear();
    }
    if (!add)
        return UINT32_MAX;
    if (grow32((void **)&s->files, &s->files_cap, sizeof(*s->files),
               (size_t)s->nfiles + 1) < 0) {
        *oom = 1;
        return UINT32_MAX;
    }
    Py_INCREF(f);
    s->files[s->nfiles].name = f;
    s->files[s->nfiles].hash = hash;
    s->nfiles++;
    /* The table is rebuilt at half full; else the free slot h stays. */
    if (!s->file_tab || s->nfiles * 2 > s->file_mask) {
        if (rehash_files(s) < 0) {
            *oom = 1;
            return UINT32_MAX;
        }
    } else {
        s->file_tab[h] = s->nfiles;
    }
    return s->nfiles - 1;
}

/* ---- frames and tracebacks --------------------------------------------------------- */

static uint32_t
frame_hash(uint32_t file, int line)
{
    return mix(((uint64_t)file << 32) ^ (uint32_t)line);
}

static int
rehash_frames(struct sites *s)
{
    uint32_t *old = s->frame_tab, mask;

    if (table_new(&s->frame_tab, &mask, s->nframes + 1) < 0) {
        s->frame_tab = old;
        return -1;
    }
    s->frame_mask = mask;
    for (uint32_t i = 0; i < s->nframes; i++) {
        uint32_t h = frame_hash(s->frames[i].file, s->frames[i].line) & mask;

        while (s->frame_tab[h])
            h = (h + 1) & mask;
        s->frame_tab[h] = i + 1;
    }
    hs_free(old);
    return 0;
}

/* The id of frame (file, line), added if new; 0 when memory ran out. */
static uint32_t
frame_id(struct sites *s, uint32_t file, int line)
{
    uint32_t h;

    if (!s->frame_tab || (s->nframes + 1) * 2 > s->frame_mask) {
        if (rehash_frames(s) < 0)
            return 0;
    }
    for (h = frame_hash(file, line) & s->frame_mask; s->frame_tab[h];
         h = (h + 1) & s->frame_mask) {
        const struct site_frame *f = &s->frames[s->frame_tab[h] - 1];

        if (f->file == file && f->line == line)
            return s->frame_tab[h];
    }
    if (grow32((void **)&s->frames, &s->frames_cap, sizeof(*s->frames),
               (size_t)s->nframes + 1) < 0)
        return 0;
    s->frames[s->nframes].file = file;
    s->frames[s->nframes].line = line;
    s->frames[s->nframes].function = NULL;
    s->nframes++;
    s->frame_tab[h] = s->nframes;
    return s->nframes;
}

static uint32_t
tb_hash(const uint32_t *ids, uint32_t n)
{
    uint64_t h = n;

    for (uint32_t i = 0; i < n; i++)
        h = h * 1000003u ^ ids[i];
    return mix(h);
}

static int
rehash_tracebacks(struct sites *s)
{
    uint32_t *old = s->tb_tab, mask;

    if (table_new(&s->tb_tab, &mask, s->ntb + 1) < 0) {
        s->tb_tab = old;
        return -1;
    }
    s->tb_mask = mask;
    for (uint32_t i = 0; i < s->ntb; i++) {
        uint32_t h =
            tb_hash(s->tb_frames + s->tbs[i].start, s->tbs[i].len) & mask;

        while (s->tb_tab[h])
            h = (h + 1) & mask;
        s->tb_tab[h] = i + 1;
    }
    hs_free(old);
    return 0;
}

/* The id of the traceback of frames ids[0..n), added if new; 0 when
 * memory ran out. */
static uint32_t
traceback_id(struct sites *s, const uint32_t *ids, uint32_t n)
{
    uint32_t h;

    if (!s->tb_tab || (s->ntb + 1) * 2 > s->tb_mask) {
        if (rehash_tracebacks(s) < 0)
            return 0;
    }
    for (h = tb_hash(ids, n) & s->tb_mask; s->tb_tab[h];
         h = (h + 1) & s->tb_mask) {
        uint32_t i = s->tb_tab[h] - 1;

        if (s->tbs[i].len == n &&
            !memcmp(s->tb_frames + s->tbs[i].start, ids, n * sizeof(*ids)))
            return i + 1;
    }
    if (grow32((void **)&s->tbs, &s->tb_cap, sizeof(*s->tbs),
               (size_t)s->ntb + 1) < 0 ||
        s->ntb_frames + n > UINT32_MAX ||
        grow((void **)&s->tb_frames, &s->tb_frames_cap, sizeof(uint32_t),
             s->ntb_frames + n) < 0)
        return 0;
    memcpy(s->tb_frames + s->ntb_frames, ids, n * sizeof(*ids));
    s->tbs[s->ntb].start = (uint32_t)s->ntb_frames;
    s->tbs[s->ntb].len = n;
    s->ntb_frames += n;
    s->ntb++;
    s->tb_tab[h] = s->ntb;
    if (n > s->max_frames)
        s->max_frames = n;
    return s->ntb;
}

/*
 * The traceback id of one object from tracemalloc's answer `tb` (a tuple
 * of (filename, lineno) tuples, innermost first): 0 when the answer is
 * not one, -1 when memory ran out.
 */
static int64_t
intern_answer(struct sites *s, PyObject *tb)
{
    Py_ssize_t n;
    int oom = 0;
    uint32_t id;

    if (!PyTuple_Check(tb))
        return 0;
    n = PyTuple_GET_SIZE(tb);
    if (n > 65536)
        return 0;
    if (grow((void **)&s->scratch, &s->scratch_cap, sizeof(uint32_t),
             (size_t)n + 1) < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *fr = PyTuple_GET_ITEM(tb, i);
        PyObject *file, *lineno;
        uint32_t file_ix;
        long line;

        if (!PyTuple_Check(fr) || PyTuple_GET_SIZE(fr) < 2)
            return 0;
        file = PyTuple_GET_ITEM(fr, 0);
        lineno = PyTuple_GET_ITEM(fr, 1);
        if (!PyUnicode_Check(file) || !PyLong_Check(lineno))
            return 0;
        line = PyLong_AsLong(lineno);
        if (line < 0 || line > INT32_MAX) {
            PyErr_Clear();
            line = 0;
        }
        file_ix = file_index(s, file, 1, &oom);
        if (oom)
            return -1;
        s->scratch[i] = frame_id(s, file_ix, (int)line);
        if (!s->scratch[i])
            return -1;
    }
    id = traceback_id(s, s->scratch, (uint32_t)n);
    return id ? (int64_t)id : -1;
}

/* ---- functions --------------------------------------------------------------------- */

static int
by_file(const void *a, const void *b)
{
    const struct site_code *x = a, *y = b;

    return x->file < y->file ? -1 : x->file > y->file;
}

/*
 * 1 if code x is a better guess than y for the function running `line`,
 * both containing it: one whose body holds the line beats one that only
 * starts there (the line of a `def` or `class` statement, whose objects
 * the enclosing code makes); then the innermost (the latest first line;
 * of two with the same, the shorter).
 */
static int
better(const struct site_code *x, const struct site_code *y, int line)
{
    int x_inside = x->first < line, y_inside = y->first < line;

    if (x_inside != y_inside)
        return x_inside;
    if (x->first != y->first)
        return x->first > y->first;
    return x->last < y->last;
}

/*
 * Names each frame's function: the innermost code object of the heap,
 * of the frame's file, whose lines include the frame's line (better()).
 * -1 when memory ran out.
 */
static int
name_functions(struct sites *s, const struct hs_idmap *ids)
{
    struct site_code *codes = NULL;
    size_t ncodes = 0, codes_cap = 0;
    uint32_t *first = NULL; /* file -> first index in codes, nfiles+1 */
    int rc = -1;

    for (uint32_t id = 1; id <= ids->count; id++) {
        PyObject *o = hs_idmap_object(ids, id);
        PyCodeObject *co;
        uint32_t file;
        int oom = 0, last;

        if (!PyCode_Check(o))
            continue;
        co = (PyCodeObject *)o;
        if (!co->co_filename || !PyUnicode_Check(co->co_filename))
            continue;
        file = file_index(s, co->co_filename, 0, &oom);
        if (file == UINT32_MAX)
            continue;
        last = hs_code_last_line(co);
        if (last < 0)
            continue;
        if (grow((void **)&codes, &codes_cap, sizeof(*codes), ncodes + 1) < 0)
            goto done;
        codes[ncodes].file = file;
        codes[ncodes].first = co->co_firstlineno;
        codes[ncodes].last = last;
        codes[ncodes].co = co;
        ncodes++;
    }
    if (ncodes)
        qsort(codes, ncodes, sizeof(*codes), by_file);
    first = hs_alloc(((size_t)s->nfiles + 1) * sizeof(uint32_t));
    s->func_off = hs_alloc(((size_t)s->nframes + 1) * sizeof(size_t));
    if (!first || !s->func_off)
        goto done;
    for (uint32_t f = 0, i = 0; f <= s->nfiles; f++) {
        while (i < ncodes && codes[i].file < f)
            i++;
        first[f] = i;
    }
    for (uint32_t i = 0; i < s->nframes; i++) {
        const struct site_frame *fr = &s->frames[i];
        const struct site_code *best = NULL;

        s->func_off[i] = 0;
        for (uint32_t c = first[fr->file]; c < first[fr->file + 1]; c++) {
            const struct site_code *x = &codes[c];

            if (x->first > fr->line || x->last < fr->line)
                continue;
            if (!best || better(x, best, fr->line))
                best = x;
        }
        if (best) {
            s->func_off[i] = s->funcs.len + 1;
            hs_text_str(&s->funcs, hs_code_qualname(best->co), 200);
            hs_str_addch(&s->funcs, '\0');
        }
    }
    rc = s->funcs.failed ? -1 : 0;
done:
    hs_free(codes);
    hs_free(first);
    return rc;
}

/* ---- the phase --------------------------------------------------------------------- */

static void
sites_release(struct sites *s)
{
    for (uint32_t i = 0; i < s->nfiles; i++)
        Py_DECREF(s->files[i].name);
    hs_free(s->files);
    hs_free(s->file_tab);
    hs_free(s->frames);
    hs_free(s->frame_tab);
    hs_free(s->tbs);
    hs_free(s->tb_tab);
    hs_free(s->tb_frames);
    hs_free(s->scratch);
    hs_free(s->func_off);
    hs_str_release(&s->funcs);
}

static void
write_rows(struct sites *s)
{
    struct hs_str file = { NULL, 0, 0, 0 };

    for (uint32_t i = 0; i < s->nframes; i++) {
        const struct site_frame *f = &s->frames[i];

        hs_str_reset(&file);
        hs_text_str(&file, s->files[f->file].name, 4096);
        hs_sink_alloc_frame(
            s->sink, i + 1, file.data ? file.data : "", f->line,
            s->func_off[i] ? s->funcs.data + s->func_off[i] - 1 : NULL);
    }
    hs_str_release(&file);
    for (uint32_t t = 0; t < s->ntb; t++)
        for (uint32_t d = 0; d < s->tbs[t].len; d++)
            hs_sink_alloc_traceback(s->sink, t + 1, d,
                                    s->tb_frames[s->tbs[t].start + d]);
}

int
hs_sites_write(const struct hs_idmap *ids, struct hs_sink *sink, char *err,
               size_t errlen)
{
    struct sites s;
    double t0;
    uint32_t traced = 0, untraced = 0;
    int rc = -1;

    memset(&s, 0, sizeof(s));
    s.sink = sink;
    t0 = hs_mono();
    for (uint32_t id = 1; id <= ids->count; id++) {
        PyObject *o = hs_idmap_object(ids, id);
        PyObject *tb = _PyTraceMalloc_GetTraceback(0, hs_alloc_start(o));
        int64_t tid;

        if (!tb) {
            PyErr_Clear();
            goto oom;
        }
        tid = intern_answer(&s, tb);
        Py_DECREF(tb);
        if (tid < 0)
            goto oom;
        if (tid == 0) {
            untraced++;
            continue;
        }
        traced++;
        hs_sink_object_traceback(sink, id, (uint32_t)tid);
        if (!(id & 0xFFF) && hs_sink_failed(sink))
            goto done;
    }
    if (name_functions(&s, ids) < 0)
        goto oom;
    write_rows(&s);
    hs_sink_meta_int(sink, "alloc_sites", 1);
    hs_sink_meta_int(sink, "alloc_traced_objects", traced);
    hs_sink_meta_int(sink, "alloc_untraced_objects", untraced);
    hs_sink_meta_int(sink, "alloc_max_frames", s.max_frames);
    hs_sink_meta_real(sink, "alloc_sites_seconds", hs_mono() - t0);
    rc = 0;
    goto done;
oom:
    snprintf(err, errlen, "out of memory (allocation sites)");
done:
    sites_release(&s);
    return rc;
}
