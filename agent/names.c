/*
 * names.c: the text of edge labels (attribute names, dict keys as reprs,
 * local variable names) as rows of the names table, each written once.
 *
 * Caches keep repeats cheap: a direct-mapped cache on the label's source
 * object (the same interned attribute-name string labels thousands of
 * edges), another on static C strings (a member's or getter's name), and
 * a content table for identifiers and C strings, so equal
 * names from different objects share a row.  Keys that are data (not
 * interned) are not content-interned, which keeps memory bounded by the
 * program's vocabulary rather than by its data.
 *
 * Redaction: with --redact, str and bytes keys that are not interned
 * identifiers are written as <str> / <bytes>; identifiers (attribute and
 * variable names) are kept because they come from code, not data.
 */
#include "agent.h"

#include <string.h>

/* The source-object cache has one entry per 4 expected objects, within
 * these bounds: its pages are new memory, and each first touch of one is
 * a page fault (a sixth of the walking thread's time in a dump of a bare
 * interpreter when it was 1 MiB). */
#define PTR_CACHE_BITS_MIN 12
#define PTR_CACHE_BITS_MAX 16
/* C string labels (a type's member and getter names: a few hundred, each
 * on thousands of edges) have a cache of their own: in the one above, the
 * stream of dict keys evicted them, and 39% of their lookups hashed the
 * text again (Django heap). */
#define CSTR_CACHE_BITS 10
#define KEY_LIMIT 100 /* characters of a key kept in a label */

struct ptr_entry {
    PyObject *obj; /* source object, or NULL */
    uint32_t id;   /* names.id */
    uint8_t mode;  /* HS_L_IDENT or HS_L_KEY: one object, two spellings */
};

struct text_entry {
    uint64_t hash; /* FNV-1a of the text */
    uint32_t id;   /* names.id; 0 = empty slot */
    uint32_t len;  /* bytes */
    size_t off;    /* offset in the arena */
};

int
hs_names_init(struct hs_names *n, struct hs_sink *sink, int redact,
              uint32_t objects)
{
    memset(n, 0, sizeof(*n));
    n->sink = sink;
    n->redact = redact;
    n->ptr_bits = PTR_CACHE_BITS_MIN;
    while (n->ptr_bits < PTR_CACHE_BITS_MAX &&
           ((uint64_t)4 << n->ptr_bits) < objects)
        n->ptr_bits++;
    n->ptr = hs_alloc(sizeof(struct ptr_entry) << n->ptr_bits);
    n->cstr = hs_alloc(sizeof(struct ptr_entry) << CSTR_CACHE_BITS);
    n->cap = 4096;
    n->tab = hs_alloc(n->cap * sizeof(struct text_entry));
    if (!n->ptr || !n->cstr || !n->tab) {
        hs_names_release(n);
        return -1;
    }
    memset(n->ptr, 0, sizeof(struct ptr_entry) << n->ptr_bits);
    memset(n->cstr, 0, sizeof(struct ptr_entry) << CSTR_CACHE_BITS);
    memset(n->tab, 0, n->cap * sizeof(struct text_entry));
    return 0;
}

void
hs_names_release(struct hs_names *n)
{
    hs_free(n->ptr);
    hs_free(n->cstr);
    hs_free(n->tab);
    hs_str_release(&n->arena);
    hs_str_release(&n->scratch);
    memset(n, 0, sizeof(*n));
}

static uint64_t
fnv1a(const char *p, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ULL;

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)p[i];
        h *= 0x100000001b3ULL;
    }
    return h;
}

/* A new names row for `text`. */
static uint32_t
fresh(struct hs_names *n, const char *text, size_t len)
{
    uint32_t id = ++n->count;

    hs_sink_name(n->sink, id, text, len);
    return id;
}

static int
grow_tab(struct hs_names *n)
{
    uint32_t cap = n->cap * 2, mask = cap - 1;
    struct text_entry *tab = hs_alloc(cap * sizeof(*tab));

    if (!tab)
        return -1;
    memset(tab, 0, cap * sizeof(*tab));
    for (uint32_t i = 0; i < n->cap; i++) {
        struct text_entry *e = &((struct text_entry *)n->tab)[i];
        uint32_t j;

        if (!e->id)
            continue;
        j = (uint32_t)e->hash & mask;
        while (tab[j].id)
            j = (j + 1) & mask;
        tab[j] = *e;
    }
    hs_free(n->tab);
    n->tab = tab;
    n->cap = cap;
    return 0;
}

/* The id of `text`, content-interned. 0 when memory ran out. */
static uint32_t
by_content(struct hs_names *n, const char *text, size_t len)
{
    uint64_t h = fnv1a(text, len);
    struct text_entry *tab = n->tab;
    uint32_t mask = n->cap - 1, i = (uint32_t)h & mask;

    while (tab[i].id) {
        if (tab[i].hash == h && tab[i].len == len &&
            !memcmp(n->arena.data + tab[i].off, text, len))
            return tab[i].id;
        i = (i + 1) & mask;
    }
    if ((n->used + 1) * 2 > n->cap) {
        if (grow_tab(n) < 0) {
            n->oom = 1;
            return 0;
        }
        return by_content(n, text, len);
    }
    tab[i].hash = h;
    tab[i].len = (uint32_t)len;
    tab[i].off = n->arena.len;
    hs_str_add(&n->arena, text, len);
    if (n->arena.failed) {
        n->oom = 1;
        return 0;
    }
    n->used++;
    tab[i].id = fresh(n, text, len);
    return tab[i].id;
}

int64_t
hs_names_cstr(struct hs_names *n, const char *text)
{
    uint32_t id = by_content(n, text, strlen(text));

    return id ? (int64_t)id : -1;
}

/* Entry `key` of a direct-mapped cache of 2^bits entries (Fibonacci
 * hashing: the product's high bits depend on every bit of the key). */
static struct ptr_entry *
cache_slot(void *cache, int bits, uint64_t key)
{
    uint64_t h = key * 0x9E3779B97F4A7C15ULL;

    return (struct ptr_entry *)cache + (h >> (64 - bits));
}

static struct ptr_entry *
ptr_slot(struct hs_names *n, const void *o, int mode)
{
    return cache_slot(n->ptr, n->ptr_bits,
                      ((uint64_t)(uintptr_t)o >> 4) ^ (uint64_t)mode);
}

int64_t
hs_names_static(struct hs_names *n, const char *text)
{
    struct ptr_entry *e =
        cache_slot(n->cstr, CSTR_CACHE_BITS, (uint64_t)(uintptr_t)text);
    uint32_t id;

    if (e->obj == (const void *)text)
        return e->id;
    id = by_content(n, text, strlen(text));
    if (!id)
        return -1;
    e->obj = (PyObject *)(uintptr_t)text;
    e->id = id;
    return id;
}

/* Writes the label text of key `o` into the scratch buffer; returns 1 if
 * the text may be content-interned (an identifier, a number). */
static int
key_text(struct hs_names *n, PyObject *o)
{
    struct hs_str *s = &n->scratch;

    hs_str_reset(s);
    if (PyUnicode_Check(o)) {
        int interned = PyUnicode_CHECK_INTERNED(o) != 0;

        if (n->redact && !interned) {
            hs_str_adds(s, "<str>");
            return 1;
        }
        hs_text_str_repr(s, o, KEY_LIMIT);
        return interned;
    }
    if (PyBool_Check(o)) {
        hs_str_adds(s, o == Py_True ? "True" : "False");
        return 1;
    }
    if (PyLong_Check(o)) {
        hs_text_int(s, o, KEY_LIMIT);
        return 0;
    }
    if (PyFloat_Check(o)) {
        hs_text_float(s, PyFloat_AS_DOUBLE(o));
        return 0;
    }
    if (o == Py_None) {
        hs_str_adds(s, "None");
        return 1;
    }
    if (PyBytes_Check(o)) {
        if (n->redact) {
            hs_str_adds(s, "<bytes>");
            return 1;
        }
        hs_text_bytes_repr(s, PyBytes_AS_STRING(o), PyBytes_GET_SIZE(o),
                           KEY_LIMIT);
        return 0;
    }
    if (PyTuple_CheckExact(o) && PyTuple_GET_SIZE(o) <= 4) {
        /* Small tuples of atoms, e.g. (host, port). */
        Py_ssize_t k, len = PyTuple_GET_SIZE(o);

        for (k = 0; k < len; k++) {
            PyObject *it = PyTuple_GET_ITEM(o, k);

            if (!PyLong_CheckExact(it) && !PyUnicode_CheckExact(it) &&
                it != Py_None)
                break;
        }
        if (k == len && !n->redact) {
            hs_str_addch(s, '(');
            for (k = 0; k < len; k++) {
                PyObject *it = PyTuple_GET_ITEM(o, k);

                if (k)
                    hs_str_adds(s, ", ");
                if (PyUnicode_Check(it))
                    hs_text_str_repr(s, it, KEY_LIMIT / 4);
                else if (PyLong_Check(it))
                    hs_text_int(s, it, KEY_LIMIT / 4);
                else
                    hs_str_adds(s, "None");
            }
            hs_str_adds(s, len == 1 ? ",)" : ")");
            return 0;
        }
    }
    hs_str_addf(s, "<%s>", Py_TYPE(o)->tp_name);
    return 1;
}

int64_t
hs_names_object(struct hs_names *n, PyObject *o, int mode)
{
    struct ptr_entry *e;
    uint32_t id;

    if (!o)
        return -1;
    e = ptr_slot(n, o, mode);
    if (e->obj == o && e->mode == mode)
        return e->id;
    if (mode == HS_L_IDENT && PyUnicode_Check(o)) {
        hs_str_reset(&n->scratch);
        hs_text_str(&n->scratch, o, KEY_LIMIT);
        id = by_content(n, n->scratch.data ? n->scratch.data : "",
                        n->scratch.len);
    } else if (key_text(n, o)) {
        id = by_content(n, n->scratch.data, n->scratch.len);
    } else {
        id = fresh(n, n->scratch.data, n->scratch.len);
    }
    if (!id || n->scratch.failed) {
        n->oom = 1;
        return -1;
    }
    e->obj = o;
    e->mode = (uint8_t)mode;
    e->id = id;
    return id;
}
