/*
 * advise_duplicates.c: the `duplicate_strings` finding.  Many str (or
 * bytes) objects with equal values each hold their own copy; interning
 * them (sys.intern, or a dict of canonical values) keeps one.  The values
 * come from objects.value, which holds the whole value unless flagged
 * value_truncated or redacted: those objects are left out, so two values
 * that merely share a prefix are never called equal.  Per value the
 * saving is the objects.size of every copy but the largest, counting only
 * copies that interning would free (not immortal or static).  A value
 * needs HS_DUP_MIN_COPIES copies.  One scan of the objects table plus a
 * hash table of the distinct values: O(n) expected.
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_DUP_MIN_COPIES 16

struct dup_entry {
    uint64_t hash;
    uint32_t first;    /* node of the first copy (its value is the key) */
    uint32_t type;     /* str or bytes */
    char *value;       /* the value (owned) */
    uint32_t copies;   /* objects with this value */
    uint64_t bytes;    /* their total size */
    uint64_t freeable; /* sizes of the copies interning would free */
    uint64_t largest;  /* the largest freeable copy (one copy stays) */
    uint32_t pinned;   /* copies that stay anyway (immortal, static) */
};

struct dup_table {
    const struct hs_advise_ctx *c;
    struct dup_entry *v; /* open addressing; value NULL is empty */
    uint64_t cap, count;
};

static uint64_t
hash_bytes(const char *s, size_t len, uint32_t type)
{
    uint64_t h = 1469598103934665603ull ^ type; /* FNV-1a */

    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= 1099511628211ull;
    }
    return h;
}

static void
grow(struct dup_table *t)
{
    struct dup_entry *old = t->v;
    uint64_t oldcap = t->cap;

    t->cap = t->cap ? t->cap * 2 : 1024;
    t->v = hs_xcalloc(t->cap, sizeof(*t->v));
    for (uint64_t i = 0; i < oldcap; i++) {
        uint64_t j;

        if (!old[i].value)
            continue;
        for (j = old[i].hash & (t->cap - 1); t->v[j].value;
             j = (j + 1) & (t->cap - 1))
            ;
        t->v[j] = old[i];
    }
    free(old);
}

static int
add_value(uint32_t v, const char *value, size_t len, void *arg)
{
    struct dup_table *t = arg;
    const struct hs_graph *g = t->c->g;
    uint32_t type = g->type[v];
    uint64_t h, j;
    struct dup_entry *e;

    if (g->flags[v] & (HS_OBJ_VALUE_TRUNCATED | HS_OBJ_REDACTED))
        return 0;
    if ((t->count + 1) * 2 > t->cap)
        grow(t);
    h = hash_bytes(value, len, type);
    for (j = h & (t->cap - 1); t->v[j].value; j = (j + 1) & (t->cap - 1))
        if (t->v[j].hash == h && t->v[j].type == type &&
            !strcmp(t->v[j].value, value))
            break;
    e = &t->v[j];
    if (!e->value) {
        e->hash = h;
        e->first = v;
        e->type = type;
        e->value = hs_xstrndup(value, len);
        t->count++;
    }
    e->copies++;
    e->bytes += g->size[v];
    if (!(g->flags[v] & (HS_OBJ_IMMORTAL | HS_OBJ_STATIC)) &&
        hs_bfs_reached(t->c->bfs, v)) {
        e->freeable += g->size[v];
        if (g->size[v] > e->largest)
            e->largest = g->size[v];
    } else {
        e->pinned++;
    }
    return 0;
}

/* A value as the title quotes it: at most 40 characters, escaped. */
static void
quote_value(const char *s, struct hs_buf *out)
{
    size_t len = strlen(s), i;

    hs_buf_addch(out, '\'');
    for (i = 0; i < len && i < 40; i++) {
        unsigned char ch = (unsigned char)s[i];

        if (ch == '\'' || ch == '\\')
            hs_buf_addf(out, "\\%c", ch);
        else if (ch < 0x20 || ch == 0x7f)
            hs_buf_addf(out, "\\x%02x", ch);
        else
            hs_buf_addch(out, ch);
    }
    if (i < len)
        hs_buf_adds(out, "...");
    hs_buf_addch(out, '\'');
}

int
hs_advise_duplicates(const struct hs_advise_ctx *c,
                     struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t types[2], nt = 0;
    struct dup_table t;
    int rc;

    memset(&t, 0, sizeof(t));
    t.c = c;
    types[nt] = hs_advise_builtin(g, "str");
    nt += types[nt] != UINT32_MAX;
    types[nt] = hs_advise_builtin(g, "bytes");
    nt += types[nt] != UINT32_MAX;
    rc = hs_facts_each_value(c->g, types, nt, add_value, &t);
    for (uint64_t i = 0; i < t.cap; i++) {
        struct dup_entry *e = &t.v[i];
        struct hs_buf q = HS_BUF_INIT;
        uint64_t saved;
        char n1[32];

        if (!e->value)
            continue;
        /* One copy stays: a pinned one when there is one. */
        saved = e->pinned ? e->freeable : e->freeable - e->largest;
        if (rc == 0 && e->copies >= HS_DUP_MIN_COPIES && saved &&
            saved >= c->min_bytes) {
            int is_bytes = !strcmp(g->types[e->type].name, "bytes");

            if (is_bytes)
                hs_buf_adds(&q, e->value);
            else
                quote_value(e->value, &q);
            hs_group_digits(e->copies, n1, sizeof(n1));
            hs_advice_add(
                list, "duplicate_strings", saved, e->copies, e->type, e->first,
                hs_xasprintf("%s equal %s objects %s", n1,
                             g->types[e->type].name, q.buf),
                hs_xasprintf("keep one copy: %s where they are made (or "
                             "look them up in a dict of canonical values)",
                             is_bytes ? "look each value up in a dict"
                                      : "sys.intern(value)"),
                hs_xasprintf("%s copies, %" PRIu64 " bytes; every copy but "
                             "one is freed (immortal and static ones "
                             "excepted)",
                             n1, e->bytes));
        }
        hs_buf_release(&q);
        free(e->value);
    }
    free(t.v);
    return rc < 0 ? -1 : 0;
}
