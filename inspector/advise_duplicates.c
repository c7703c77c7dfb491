/*
 * advise_duplicates.c: the `duplicate_strings` finding.  Many str (or
 * bytes) objects with equal values each hold their own copy; interning
 * them where they are made (sys.intern, or a dict of canonical values)
 * keeps one.  The values come from objects.value, which holds the whole
 * value unless flagged value_truncated or redacted: those objects are left
 * out, so two values that merely share a prefix are never called equal.
 * Tuples of such str and bytes, ints, floats, None and bools are values
 * too (a dict of canonical tuples keeps one), keyed by their items: a
 * str's value, or the very object for the others, so equal numbers that
 * are distinct objects make tuples that are never called equal.
 *
 * The fix is applied where the copies are stored, so the findings are
 * grouped by holder: the referrer on each copy's retention path, named by
 * its type and the reference (`Row.country`, a __dict__ value before 3.11
 * counting as the attribute), or, for items, values and keys of
 * containers, the container itself (`module m .CACHE` values); copies in
 * containers holding fewer than HS_DUP_MIN_COPIES of them are pooled by
 * the instance attribute holding each container ("items of Row.tags
 * (list objects)"), else by container type ("items of list objects").  A group needs
 * HS_DUP_MIN_COPIES copies of values that have as many in all.
 *
 * Per group the saving is the objects.size of its copies that interning
 * would free (a tuple's retained size: with the items only it holds,
 * which are then not counted as str copies again): every copy but one per
 * value (none kept when the value has
 * an interned, immortal or static copy already, which sys.intern returns).
 * Copies that no fix in the program's data can reach are not counted:
 * those held by code objects (co_consts, co_names, their tuples), by
 * functions and by classes (__doc__, __qualname__) are the program's own
 * constants.  One scan of the objects table, a hash table of the distinct
 * values and a sort of the copies: O(n log n).
 */
#include "advise.h"
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_DUP_MIN_COPIES 16
#define HS_DUP_TOP_VALUES 3 /* values the title quotes */

/* One distinct value. */
struct dup_value {
    uint64_t hash;
    uint32_t first;  /* node of the first copy */
    uint32_t type;   /* str, bytes or tuple */
    char *value;     /* the value (owned): a str's or bytes' text, a
                        tuple's item ids (tuple_item_id()) */
    size_t len;      /* its bytes */
    uint32_t copies; /* objects with this value */
    int pinned;      /* a copy is interned, immortal or static */
};

/* A copy interning could free, with its holder. */
struct dup_copy {
    uint32_t htype; /* holder: the referrer's (or instance's) type */
    uint32_t hnode; /* the container, or UINT32_MAX for a named reference */
    uint32_t arg;   /* the reference's names id (named references) */
    uint32_t edge;  /* the reference (to read its name) */
    uint8_t kind;   /* its edge kind */
    uint8_t in_dict; /* a value of an instance's __dict__ (before 3.11) */
    uint32_t ctype; /* pooled: the type of the small containers holding
                       them, each the attribute `arg` of an htype
                       instance; else UINT32_MAX */
    uint32_t cedge; /* pooled: a container's attribute reference */
    uint32_t vtype; /* the copy's type: str or bytes */
    uint32_t value; /* index into the values */
    uint32_t node;  /* the copy */
};

struct dup_table {
    const struct hs_advise_ctx *c;
    struct dup_value *v; /* the distinct values, by index */
    uint32_t n, alloc;
    uint32_t *slot;      /* open addressing: value index + 1, 0 empty */
    uint64_t cap;
    uint32_t *value_of;  /* per node: value index, or UINT32_MAX */
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
    uint32_t *old = t->slot;
    uint64_t oldcap = t->cap;

    t->cap = t->cap ? t->cap * 2 : 1024;
    t->slot = hs_xcalloc(t->cap, sizeof(*t->slot));
    for (uint64_t i = 0; i < oldcap; i++) {
        uint64_t j;

        if (!old[i])
            continue;
        for (j = t->v[old[i] - 1].hash & (t->cap - 1); t->slot[j];
             j = (j + 1) & (t->cap - 1))
            ;
        t->slot[j] = old[i];
    }
    free(old);
}

/* Counts node v as a copy of the value `value` (len bytes) of its
 * type. */
static void
add_key(struct dup_table *t, uint32_t v, const char *value, size_t len)
{
    const struct hs_graph *g = t->c->g;
    uint32_t type = g->type[v];
    uint64_t h, j;
    struct dup_value *e;

    if (((uint64_t)t->n + 1) * 2 > t->cap)
        grow(t);
    h = hash_bytes(value, len, type);
    for (j = h & (t->cap - 1); t->slot[j]; j = (j + 1) & (t->cap - 1)) {
        e = &t->v[t->slot[j] - 1];
        if (e->hash == h && e->type == type && e->len == len &&
            !memcmp(e->value, value, len))
            break;
    }
    if (!t->slot[j]) {
        HS_ALLOC_GROW(t->v, t->n + 1, t->alloc);
        e = &t->v[t->n];
        memset(e, 0, sizeof(*e));
        e->hash = h;
        e->first = v;
        e->type = type;
        e->value = hs_xmalloc(len + 1);
        memcpy(e->value, value, len);
        e->value[len] = '\0';
        e->len = len;
        t->slot[j] = ++t->n;
    }
    e = &t->v[t->slot[j] - 1];
    e->copies++;
    t->value_of[v] = t->slot[j] - 1;
    if ((g->flags[v] & (HS_OBJ_IMMORTAL | HS_OBJ_STATIC | HS_OBJ_INTERNED)))
        e->pinned = 1;
}

static int
add_value(uint32_t v, const char *value, size_t len, void *arg)
{
    struct dup_table *t = arg;

    if (!(t->c->g->flags[v] & (HS_OBJ_VALUE_TRUNCATED | HS_OBJ_REDACTED)))
        add_key(t, v, value, len);
    return 0;
}

/* Item ids of tuples: a str's or bytes' value index, or, tagged, the
 * node of an int, float, None or bool (equal numbers that are distinct
 * objects then differ: tuples are only ever called equal too rarely). */
#define TUPLE_NODE_TAG (1ull << 32)
#define TUPLE_MAX_ITEMS 16

/*
 * Adds the tuples of immutable values (str and bytes with a whole value,
 * int, float, None, bool; at most TUPLE_MAX_ITEMS) as values of their
 * own, keyed by their items' ids.  After the str and bytes.  O(tuples'
 * out-degrees).
 */
static void
add_tuples(struct dup_table *t, uint32_t tuple_t, const uint8_t *scalar)
{
    const struct hs_graph *g = t->c->g;
    uint64_t ids[TUPLE_MAX_ITEMS];

    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t n = 0, e;

        if (g->type[v] != tuple_t ||
            g->out_off[v + 1] - g->out_off[v] > TUPLE_MAX_ITEMS)
            continue;
        for (e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (g->out_kind[e] != HS_EDGE_ITEM)
                break;
            /* Not a tuple in a tuple: quoting them stays flat. */
            if (t->value_of[w] != UINT32_MAX && g->type[w] != tuple_t)
                ids[n++] = t->value_of[w];
            else if (scalar[g->type[w]])
                ids[n++] = TUPLE_NODE_TAG | w;
            else
                break;
        }
        if (n && e == g->out_off[v + 1])
            add_key(t, v, (const char *)ids, n * sizeof(*ids));
    }
}

/* The referrer of v on its retention path and the edge, or UINT32_MAX
 * for a root or an unreached node. */
static uint32_t
parent(const struct hs_advise_ctx *c, uint32_t v, uint32_t *edge)
{
    if (!hs_bfs_reached(c->bfs, v) || c->bfs->dist[v] == 0)
        return UINT32_MAX;
    *edge = c->bfs->parent_edge[v];
    return hs_graph_edge_src(c->g, *edge);
}

/* Is node v part of the program's text rather than its data: a code
 * object, a function, a class or a class's __dict__? */
static int
program_text(const struct hs_advise_ctx *c, const uint8_t *is_type,
             uint32_t v)
{
    const struct hs_graph *g = c->g;
    const char *name = g->types[g->type[v]].name;
    uint32_t e, p;

    if (is_type[v] || !strcmp(name, "code") || !strcmp(name, "function"))
        return 1;
    if (g->type[v] != c->dict_type)
        return 0;
    p = parent(c, v, &e);
    return p != UINT32_MAX && is_type[p];
}

/*
 * The holder of copy v into *cp, or -1 when interning where it is held
 * cannot free it (a root, program text, a tuple of code constants).
 */
static int
holder(const struct hs_advise_ctx *c, const uint8_t *is_type, uint32_t v,
       struct dup_copy *cp)
{
    const struct hs_graph *g = c->g;
    uint32_t e, p = parent(c, v, &e), e2, gp;

    if (p == UINT32_MAX || program_text(c, is_type, p))
        return -1;
    cp->node = v;
    cp->edge = e;
    cp->kind = g->out_kind[e];
    cp->in_dict = 0;
    cp->arg = 0;
    cp->ctype = UINT32_MAX;
    gp = parent(c, p, &e2);
    if (cp->kind == HS_EDGE_ATTR) {
        cp->htype = g->type[p];
        cp->hnode = UINT32_MAX;
        return 0;
    }
    /* co_consts, a function's __defaults__: constants too. */
    if (gp != UINT32_MAX && program_text(c, is_type, gp))
        return -1;
    if (cp->kind == HS_EDGE_VALUE && g->type[p] == c->dict_type &&
        gp != UINT32_MAX && g->out_kind[e2] == HS_EDGE_ATTR &&
        (g->types[g->type[gp]].flags & HS_TYPE_HEAP) &&
        !(g->types[g->type[gp]].flags & HS_TYPE_BUILTIN) &&
        c->in_deg[p] == 1) {
        /* Before 3.11: a value of an instance's __dict__. */
        cp->htype = g->type[gp];
        cp->hnode = UINT32_MAX;
        cp->in_dict = 1;
        return 0;
    }
    cp->htype = g->type[p];
    cp->hnode = p;
    return 0;
}

static int
by_edge(const void *a, const void *b)
{
    const struct dup_copy *x = a, *y = b;

    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

static int
by_group(const void *a, const void *b)
{
    const struct dup_copy *x = a, *y = b;

    if (x->htype != y->htype)
        return x->htype < y->htype ? -1 : 1;
    if (x->hnode != y->hnode)
        return x->hnode < y->hnode ? -1 : 1;
    if (x->ctype != y->ctype)
        return x->ctype < y->ctype ? -1 : 1;
    if (x->kind != y->kind)
        return x->kind < y->kind ? -1 : 1;
    if (x->arg != y->arg)
        return x->arg < y->arg ? -1 : 1;
    if (x->vtype != y->vtype)
        return x->vtype < y->vtype ? -1 : 1;
    if (x->value != y->value)
        return x->value < y->value ? -1 : 1;
    return x->node < y->node ? -1 : x->node > y->node;
}

static int
same_group(const struct dup_copy *x, const struct dup_copy *y)
{
    return x->htype == y->htype && x->hnode == y->hnode &&
           x->ctype == y->ctype && x->kind == y->kind && x->arg == y->arg;
}

/* A value as the title quotes it: at most 40 characters, escaped. */
static void
quote_value(const char *s, int is_bytes, struct hs_buf *out)
{
    size_t len = strlen(s), i;

    if (is_bytes) { /* the agent spells bytes as their repr already */
        hs_buf_adds(out, s);
        return;
    }
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

/* Appends how the group of r names its holder: "Row.country", "values
 * of module m .CACHE", "items of list objects". */
static void
holder_text(const struct hs_advise_ctx *c, const struct dup_copy *r,
            struct hs_buf *out)
{
    const struct hs_graph *g = c->g;
    const struct hs_type *t = &g->types[r->htype];
    struct hs_buf step = HS_BUF_INIT;
    static const char *const what[HS_EDGE_SCHEMA_KINDS] = {
        [HS_EDGE_ITEM] = "items",  [HS_EDGE_VALUE] = "values",
        [HS_EDGE_KEY] = "keys",    [HS_EDGE_ELEMENT] = "elements",
        [HS_EDGE_LOCAL] = "locals", [HS_EDGE_CELL] = "cell contents",
    };
    const char *w = r->kind < HS_EDGE_SCHEMA_KINDS && what[r->kind]
                        ? what[r->kind]
                        : "references";

    if (r->ctype != UINT32_MAX) {
        /* "items of Row.tags (lists)" */
        hs_naming_step(c->names, r->in_dict ? HS_EDGE_VALUE : HS_EDGE_ATTR,
                       r->arg, 0, &step);
        hs_buf_addf(out, "%s of %s", w, t->qualname ? t->qualname : t->name);
        if (r->in_dict && step.len > 4 && !strncmp(step.buf, "['", 2)) {
            hs_buf_addch(out, '.');
            hs_buf_add(out, step.buf + 2, step.len - 4);
        } else {
            hs_buf_add(out, step.buf, step.len);
        }
        hs_buf_addf(out, " (%s objects)", g->types[r->ctype].name);
    } else if (r->hnode == UINT32_MAX && r->arg != UINT32_MAX) {
        hs_naming_step(c->names, r->in_dict ? HS_EDGE_VALUE : r->kind,
                       r->arg, 0, &step);
        hs_buf_adds(out, t->qualname ? t->qualname : t->name);
        if (r->in_dict && step.len > 4 && !strncmp(step.buf, "['", 2)) {
            /* "['country']" of a __dict__ is the attribute .country */
            hs_buf_addch(out, '.');
            hs_buf_add(out, step.buf + 2, step.len - 4);
        } else {
            hs_buf_add(out, step.buf, step.len);
        }
    } else if (r->hnode == UINT32_MAX) {
        hs_buf_addf(out, "%s of %s objects", w, t->name);
    } else {
        struct hs_json_src src = { c->g, c->names, c->bfs, c->dom, 0, NULL };

        hs_why_path_line(&src, r->hnode, 8, 0, out);
        hs_buf_addf(out, " (its %s)", w);
    }
    hs_buf_release(&step);
}

/* Appends value x as the title quotes it: 'text', b'bytes', ('a', 1). */
static void
value_text(const struct hs_advise_ctx *c, const struct dup_table *t,
           uint32_t x, struct hs_buf *out)
{
    const struct hs_graph *g = c->g;
    const struct dup_value *e = &t->v[x];
    const char *tname = g->types[e->type].name;
    const uint64_t *ids = (const uint64_t *)(const void *)e->value;
    size_t n = e->len / sizeof(*ids);

    if (strcmp(tname, "tuple")) {
        quote_value(e->value, !strcmp(tname, "bytes"), out);
        return;
    }
    hs_buf_addch(out, '(');
    for (size_t i = 0; i < n; i++) {
        hs_buf_adds(out, i ? ", " : "");
        if (!(ids[i] & TUPLE_NODE_TAG))
            value_text(c, t, (uint32_t)ids[i], out);
        else if (!hs_naming_value(c->names, (uint32_t)ids[i], out))
            hs_buf_adds(out, strcmp(g->types[g->type[(uint32_t)ids[i]]].name,
                                    "NoneType")
                                 ? "?"
                                 : "None");
    }
    hs_buf_adds(out, n == 1 ? ",)" : ")");
}

/* What freeing copy v frees: a str's or bytes' size, what a tuple
 * retains (its items only it holds). */
static uint64_t
copy_bytes(const struct hs_advise_ctx *c, uint32_t tuple_t, uint32_t v)
{
    return c->g->type[v] == tuple_t ? c->dom->retained[v] : c->g->size[v];
}

/* One finding for the copies r[0 .. n) of one holder, sorted by value. */
static void
finding(const struct hs_advise_ctx *c, const struct dup_table *t,
        const struct dup_copy *r, uint32_t n, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    struct hs_buf title = HS_BUF_INIT, where = HS_BUF_INIT;
    uint64_t saved = 0, bytes = 0;
    uint32_t nvalues = 0, top[HS_DUP_TOP_VALUES], topn[HS_DUP_TOP_VALUES];
    uint32_t ntop = 0, vtype = t->v[r->value].type;
    uint32_t tuple_t = hs_advise_builtin(g, "tuple");
    int is_str = !strcmp(g->types[vtype].name, "str");
    char n1[32], n2[32];

    for (uint32_t i = 0, j; i < n; i = j) {
        uint64_t largest = 0, sum = 0;
        const struct dup_value *e = &t->v[r[i].value];

        for (j = i; j < n && r[j].value == r[i].value; j++) {
            uint64_t b = copy_bytes(c, tuple_t, r[j].node);

            sum += b;
            if (b > largest)
                largest = b;
        }
        bytes += sum;
        /* One copy stays, unless sys.intern() returns one that does. */
        saved += e->pinned ? sum : sum - largest;
        nvalues++;
        /* The most-copied values, for the title. */
        for (uint32_t k = 0; k < HS_DUP_TOP_VALUES; k++) {
            if (k == ntop || j - i > topn[k]) {
                uint32_t last = ntop < HS_DUP_TOP_VALUES ? ntop++ : ntop - 1;

                memmove(top + k + 1, top + k, (last - k) * sizeof(*top));
                memmove(topn + k + 1, topn + k, (last - k) * sizeof(*topn));
                top[k] = r[i].value;
                topn[k] = j - i;
                break;
            }
        }
    }
    if (n < HS_DUP_MIN_COPIES || !saved || saved < c->min_bytes)
        return;
    holder_text(c, r, &where);
    hs_group_digits(n, n1, sizeof(n1));
    hs_group_digits(nvalues, n2, sizeof(n2));
    hs_buf_addf(&title, "%s duplicate %s held by %s: %s distinct value%s (",
                n1, g->types[vtype].name, where.buf, n2,
                nvalues == 1 ? "" : "s");
    for (uint32_t k = 0; k < ntop; k++) {
        hs_buf_adds(&title, k ? ", " : "");
        value_text(c, t, top[k], &title);
        hs_group_digits(topn[k], n1, sizeof(n1));
        hs_buf_addf(&title, " x%s", n1);
    }
    hs_buf_adds(&title, nvalues > ntop ? ", ...)" : ")");
    hs_group_digits(n, n1, sizeof(n1));
    hs_advice_add(
        list, "duplicate_strings", saved, n, vtype, r->node,
        hs_buf_detach(&title),
        hs_xasprintf("keep one copy per value: %s where they are stored "
                     "(%s)",
                     is_str ? "sys.intern(value)"
                            : "look each value up in a dict of canonical "
                              "values (canon.setdefault(value, value))",
                     where.buf),
        hs_xasprintf("%s copies of %s values, %" PRIu64 " bytes; every copy "
                     "but one per value is freed (all when an interned, "
                     "immortal or static copy exists)",
                     n1, n2, bytes));
    hs_buf_release(&where);
}

/*
 * Pools copy *cp, held by a container with few copies, with those of the
 * other containers of its type: by the instance attribute holding the
 * container when there is one (an attribute reference, or a value of the
 * instance's __dict__ before 3.11), else by the container type alone.
 */
static void
pool_copy(const struct hs_advise_ctx *c, const uint8_t *is_type,
          struct dup_copy *cp)
{
    const struct hs_graph *g = c->g;
    uint32_t p = cp->hnode, e, e2, h = parent(c, p, &e), inst;

    cp->hnode = UINT32_MAX;
    cp->arg = UINT32_MAX;
    cp->htype = g->type[p];
    if (h == UINT32_MAX || c->in_deg[p] != 1)
        return;
    inst = h;
    if (g->out_kind[e] == HS_EDGE_VALUE && g->type[h] == c->dict_type &&
        c->in_deg[h] == 1) {
        inst = parent(c, h, &e2);
        if (inst == UINT32_MAX || g->out_kind[e2] != HS_EDGE_ATTR)
            return;
        cp->in_dict = 1;
    } else if (g->out_kind[e] != HS_EDGE_ATTR) {
        return;
    }
    if (is_type[inst] || !(g->types[g->type[inst]].flags & HS_TYPE_HEAP) ||
        (g->types[g->type[inst]].flags & HS_TYPE_BUILTIN)) {
        cp->in_dict = 0;
        return;
    }
    cp->ctype = g->type[p];
    cp->htype = g->type[inst];
    cp->cedge = e;
    cp->arg = 0;
}

static int
by_cedge(const void *a, const void *b)
{
    const struct dup_copy *x = a, *y = b;

    if ((x->ctype == UINT32_MAX) != (y->ctype == UINT32_MAX))
        return x->ctype == UINT32_MAX ? 1 : -1;
    return x->cedge < y->cedge ? -1 : x->cedge > y->cedge;
}

/* The names ids of the pooled copies' container attributes: cp is left
 * sorted by them. */
static int
read_container_args(const struct hs_advise_ctx *c, struct dup_copy *cp,
                    uint32_t n)
{
    uint32_t k = 0, ne = 0, *edges, *args;
    int rc;

    qsort(cp, n, sizeof(*cp), by_cedge);
    while (k < n && cp[k].ctype != UINT32_MAX)
        k++;
    edges = hs_xmalloc(((size_t)k + 1) * sizeof(*edges));
    args = hs_xcalloc((size_t)k + 1, sizeof(*args));
    /* Each edge once: a container holds several copies. */
    for (uint32_t i = 0; i < k; i++)
        if (!ne || edges[ne - 1] != cp[i].cedge)
            edges[ne++] = cp[i].cedge;
    rc = hs_advise_edge_args(c, edges, ne, args);
    for (uint32_t i = 0, u = 0; i < k; i++) {
        while (edges[u] != cp[i].cedge)
            u++;
        cp[i].arg = args[u];
    }
    free(edges);
    free(args);
    return rc;
}

/* The names ids of the named references among cp[0 .. n), in edge
 * order (cp is left sorted so). */
static int
read_args(const struct hs_advise_ctx *c, struct dup_copy *cp, uint32_t n)
{
    uint32_t *edges = hs_xmalloc(((size_t)n + 1) * sizeof(*edges));
    uint32_t *args = hs_xcalloc((size_t)n + 1, sizeof(*args)), k = 0;
    int rc;

    qsort(cp, n, sizeof(*cp), by_edge);
    for (uint32_t i = 0; i < n; i++)
        if (cp[i].hnode == UINT32_MAX)
            edges[k++] = cp[i].edge;
    rc = hs_advise_edge_args(c, edges, k, args);
    k = 0;
    for (uint32_t i = 0; i < n; i++)
        if (cp[i].hnode == UINT32_MAX)
            cp[i].arg = args[k++];
    free(edges);
    free(args);
    return rc;
}

int
hs_advise_duplicates(const struct hs_advise_ctx *c,
                     struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t types[2], nt = 0, ncp = 0, cpalloc = 0;
    struct dup_copy *cp = NULL;
    struct dup_table t;
    const uint8_t *is_type = c->is_class;
    uint32_t tuple_t;
    int rc;

    memset(&t, 0, sizeof(t));
    t.c = c;
    types[nt] = hs_advise_builtin(g, "str");
    nt += types[nt] != UINT32_MAX;
    types[nt] = hs_advise_builtin(g, "bytes");
    nt += types[nt] != UINT32_MAX;
    tuple_t = hs_advise_builtin(g, "tuple");
    t.value_of = hs_xmalloc(((size_t)g->n + 1) * sizeof(*t.value_of));
    memset(t.value_of, 0xFF, ((size_t)g->n + 1) * sizeof(*t.value_of));
    rc = hs_facts_each_value(c->g, types, nt, add_value, &t);
    if (rc == 0 && tuple_t != UINT32_MAX) {
        static const char *const scalars[] = { "int", "float", "NoneType",
                                               "bool" };
        uint8_t *scalar = hs_xcalloc((size_t)g->ntypes + 1, 1);

        for (size_t k = 0; k < HS_ARRAY_SIZE(scalars); k++) {
            uint32_t st = hs_advise_builtin(g, scalars[k]);

            if (st != UINT32_MAX)
                scalar[st] = 1;
        }
        add_tuples(&t, tuple_t, scalar);
        free(scalar);
    }
    /* The copies of values that have HS_DUP_MIN_COPIES or more, with
     * their holders. */
    for (uint32_t v = 0; rc == 0 && v < g->n; v++) {
        uint32_t x = t.value_of[v];
        struct dup_copy h;

        if (x == UINT32_MAX || t.v[x].copies < HS_DUP_MIN_COPIES ||
            (g->flags[v] & (HS_OBJ_IMMORTAL | HS_OBJ_STATIC |
                            HS_OBJ_INTERNED)) ||
            holder(c, is_type, v, &h) < 0)
            continue;
        /* An item of a duplicate tuple goes with it: counted there. */
        if (h.hnode != UINT32_MAX && g->type[h.hnode] == tuple_t &&
            t.value_of[h.hnode] != UINT32_MAX &&
            t.v[t.value_of[h.hnode]].copies >= HS_DUP_MIN_COPIES)
            continue;
        h.value = x;
        h.vtype = g->type[v];
        HS_ALLOC_GROW(cp, ncp + 1, cpalloc);
        cp[ncp++] = h;
    }
    if (rc == 0 && ncp)
        rc = read_args(c, cp, ncp);
    if (rc == 0 && ncp) {
        /* Containers holding few copies: pooled by container type. */
        qsort(cp, ncp, sizeof(*cp), by_group);
        for (uint32_t i = 0, j; i < ncp; i = j) {
            for (j = i + 1; j < ncp && same_group(&cp[j], &cp[i]); j++)
                ;
            if (cp[i].hnode != UINT32_MAX && j - i < HS_DUP_MIN_COPIES)
                for (uint32_t k = i; k < j; k++)
                    pool_copy(c, is_type, &cp[k]);
        }
        rc = read_container_args(c, cp, ncp);
        qsort(cp, ncp, sizeof(*cp), by_group);
        for (uint32_t i = 0, j; rc == 0 && i < ncp; i = j) {
            for (j = i + 1; j < ncp && same_group(&cp[j], &cp[i]) &&
                            cp[j].vtype == cp[i].vtype;
                 j++)
                ;
            finding(c, &t, cp + i, j - i, list);
        }
    }
    for (uint32_t i = 0; i < t.n; i++)
        free(t.v[i].value);
    free(t.v);
    free(t.slot);
    free(t.value_of);
    free(cp);
    return rc < 0 ? -1 : 0;
}
