/*
 * export_chrome.c: writes a loaded heap as V8's heap snapshot JSON (see
 * export_chrome.h for the mapping of objects and references).
 *
 * The format: {"snapshot": {"meta": {...field and type names...},
 * "node_count", "edge_count", ...}, "nodes": [flat ints], "edges": [flat
 * ints], ..., "strings": [...]}.  A node is (type, name, id, self_size,
 * edge_count, trace_node_id); a node's edges follow those of the nodes
 * before it, each (type, name_or_index, to_node) where to_node is the
 * target's offset in `nodes` and name_or_index a string-table index, or
 * an index for element edges.  Readers (MemLab's StringLoader among them)
 * scan the number arrays textually, so they hold digits, commas and
 * newlines only, and the meta object comes before "nodes".
 *
 * Everything but the string table is streamed: node rows are written in
 * node order while one ordered scan of objects supplies their values, and
 * edge rows in edge order while one ordered scan of edge_list supplies
 * their arguments.  Names are interned (an open-addressing hash over an
 * arena) and the table is written last.
 */
#include "export_chrome.h"

#include "isolate.h"
#include "naming.h"
#include "progress.h"
#include "snapshot.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

/* Node and edge type numbers: positions in the meta lists below. */
enum {
    NT_STRING = 2,
    NT_OBJECT = 3,
    NT_CODE = 4,
    NT_CLOSURE = 5,
    NT_NUMBER = 7,
    NT_SYNTHETIC = 9
};

enum {
    ET_CONTEXT = 0,
    ET_ELEMENT = 1,
    ET_PROPERTY = 2,
    ET_INTERNAL = 3,
    ET_WEAK = 6
};

/* The "snapshot" member, up to the counts. */
static const char meta_json[] =
    "{\"snapshot\":{\"meta\":{"
    "\"node_fields\":[\"type\",\"name\",\"id\",\"self_size\",\"edge_count\","
    "\"trace_node_id\"],"
    "\"node_types\":[[\"hidden\",\"array\",\"string\",\"object\",\"code\","
    "\"closure\",\"regexp\",\"number\",\"native\",\"synthetic\","
    "\"concatenated string\",\"sliced string\",\"symbol\",\"bigint\"],"
    "\"string\",\"number\",\"number\",\"number\",\"number\"],"
    "\"edge_fields\":[\"type\",\"name_or_index\",\"to_node\"],"
    "\"edge_types\":[[\"context\",\"element\",\"property\",\"internal\","
    "\"hidden\",\"shortcut\",\"weak\"],\"string_or_number\",\"node\"],"
    "\"trace_function_info_fields\":[\"function_id\",\"name\","
    "\"script_name\",\"script_id\",\"line\",\"column\"],"
    "\"trace_node_fields\":[\"id\",\"function_info_index\",\"count\","
    "\"size\",\"children\"],"
    "\"sample_fields\":[\"timestamp_us\",\"last_assigned_id\"],"
    "\"location_fields\":[\"object_index\",\"script_id\",\"line\","
    "\"column\"]},";

#define NODE_FIELDS 6
#define OUT_FLUSH   (1u << 20)

/* ---- output ---------------------------------------------------------------- */

/* A buffered writer whose first error sticks. */
struct out {
    int fd;
    const char *what;  /* destination, for messages */
    struct hs_buf buf; /* pending bytes */
    uint64_t written;  /* bytes handed to write(2) */
    int failed;        /* a write failed (reported once) */
};

static void
out_flush(struct out *o)
{
    if (!o->failed && o->buf.len &&
        hs_write_all(o->fd, o->buf.buf, o->buf.len) < 0) {
        hs_error(HS_EXIT_IO, "cannot write '%s': %s", o->what,
                 strerror(errno));
        o->failed = 1;
    }
    o->written += o->buf.len;
    hs_buf_reset(&o->buf);
}

static void
out_adds(struct out *o, const char *s)
{
    hs_buf_adds(&o->buf, s);
    if (o->buf.len >= OUT_FLUSH)
        out_flush(o);
}

static void
out_u64(struct out *o, uint64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);

    do {
        tmp[--i] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    hs_buf_add(&o->buf, tmp + i, sizeof(tmp) - i);
}

/* Appends a row of numbers "a,b,c" preceded by a comma unless first. */
static void
out_row(struct out *o, int first, const uint64_t *v, size_t n)
{
    if (!first)
        hs_buf_addch(&o->buf, ',');
    for (size_t i = 0; i < n; i++) {
        if (i)
            hs_buf_addch(&o->buf, ',');
        out_u64(o, v[i]);
    }
    hs_buf_addch(&o->buf, '\n');
    if (o->buf.len >= OUT_FLUSH)
        out_flush(o);
}

/* Appends s as a JSON string; bytes that are not UTF-8 become U+FFFD. */
static void
out_json_string(struct out *o, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    hs_buf_addch(&o->buf, '"');
    while (*p) {
        size_t len = hs_utf8_len(p);

        if (*p == '"' || *p == '\\') {
            hs_buf_addch(&o->buf, '\\');
            hs_buf_addch(&o->buf, (char)*p);
        } else if (*p == '\n') {
            hs_buf_adds(&o->buf, "\\n");
        } else if (*p < 0x20 || *p == 0x7F) {
            hs_buf_addf(&o->buf, "\\u%04x", *p);
        } else if (len) {
            hs_buf_add(&o->buf, p, len);
            p += len;
            continue;
        } else {
            hs_buf_adds(&o->buf, "\xEF\xBF\xBD");
        }
        p++;
    }
    hs_buf_addch(&o->buf, '"');
    if (o->buf.len >= OUT_FLUSH)
        out_flush(o);
}

/* ---- the string table -------------------------------------------------------- */

/* A hash slot: the string's index + 1 (0: empty) and its hash's top bits. */
struct strslot {
    uint32_t idx1;
    uint32_t hash;
};

/* Distinct strings in first-use order, with a hash index over them. */
struct strtab {
    struct hs_buf arena;  /* the strings, each NUL-terminated */
    size_t *off;          /* off[i]: string i in arena */
    uint32_t n, alloc;    /* strings, and entries of off */
    struct strslot *slot; /* open addressing, linear probing */
    uint32_t mask;        /* slots - 1 (a power of two) */
};

static uint64_t
str_hash(const char *s, size_t len)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

static void
strtab_init(struct strtab *t)
{
    memset(t, 0, sizeof(*t));
    hs_buf_init(&t->arena);
    t->mask = 1023;
    t->slot = hs_xcalloc(t->mask + 1, sizeof(*t->slot));
}

static void
strtab_release(struct strtab *t)
{
    hs_buf_release(&t->arena);
    free(t->off);
    free(t->slot);
    memset(t, 0, sizeof(*t));
}

static void
strtab_rehash(struct strtab *t)
{
    uint32_t mask = t->mask * 2 + 1;
    struct strslot *slot = hs_xcalloc((size_t)mask + 1, sizeof(*slot));

    for (uint32_t i = 0; i <= t->mask; i++) {
        uint32_t j;

        if (!t->slot[i].idx1)
            continue;
        j = t->slot[i].hash & mask;
        while (slot[j].idx1)
            j = (j + 1) & mask;
        slot[j] = t->slot[i];
    }
    free(t->slot);
    t->slot = slot;
    t->mask = mask;
}

/* The index of the `len` bytes at s, added on first use.  O(len). */
static uint32_t
strtab_intern(struct strtab *t, const char *s, size_t len)
{
    uint32_t h = (uint32_t)str_hash(s, len), j = h & t->mask;

    for (; t->slot[j].idx1; j = (j + 1) & t->mask) {
        uint32_t i = t->slot[j].idx1 - 1;
        const char *c;

        if (t->slot[j].hash != h)
            continue;
        c = t->arena.buf + t->off[i];
        if (t->off[i + 1] - t->off[i] == len + 1 && !memcmp(c, s, len))
            return i;
    }
    /* off[n + 1] is always the end of the arena, for the lengths above. */
    HS_ALLOC_GROW(t->off, t->n + 2, t->alloc);
    t->off[t->n] = t->arena.len;
    hs_buf_add(&t->arena, s, len);
    hs_buf_addch(&t->arena, '\0');
    t->off[t->n + 1] = t->arena.len;
    t->slot[j].idx1 = ++t->n;
    t->slot[j].hash = h;
    if ((uint64_t)t->n * 2 > t->mask)
        strtab_rehash(t);
    return t->n - 1;
}

static uint32_t
strtab_interns(struct strtab *t, const char *s)
{
    return strtab_intern(t, s, strlen(s));
}

/* ---- what the snapshot's tables say ------------------------------------------- */

/* How a type's instances are shown. */
enum type_class {
    TC_OBJECT,
    TC_STRING,
    TC_NUMBER,
    TC_CLOSURE,
    TC_CODE,
    TC_BYTES
};

struct exporter {
    struct hs_heap *h;
    struct hs_graph *g;
    struct out out;
    struct strtab strings;
    uint8_t *tclass;   /* per type: enum type_class */
    uint32_t *tname;   /* per type: string index of its name */
    struct hs_buf tmp; /* scratch for names */
    /* Per kind, the string index of an edge name by edge_list.arg (the
     * label is a function of the two), UINT32_MAX until first seen; grown
     * on demand. */
    uint32_t *named[HS_EDGE_NKINDS];
    uint32_t named_len[HS_EDGE_NKINDS];
    uint32_t v;       /* the node whose edges are being written */
    uint64_t element; /* set members written for it so far */
    int first;        /* no edge row written yet */
    struct hs_progress pr;
    int size_clamped; /* a size above 4 GiB was written smaller */
};

static enum type_class
classify(const struct hs_type *t)
{
    static const struct {
        const char *name;
        enum type_class c;
    } builtin[] = {
        { "str", TC_STRING },      { "int", TC_NUMBER },
        { "float", TC_NUMBER },    { "bool", TC_NUMBER },
        { "complex", TC_NUMBER },  { "function", TC_CLOSURE },
        { "code", TC_CODE },       { "bytes", TC_BYTES },
        { "bytearray", TC_BYTES },
    };

    if (t->module && strcmp(t->module, "builtins"))
        return TC_OBJECT;
    for (size_t i = 0; i < HS_ARRAY_SIZE(builtin); i++) {
        if (!strcmp(t->name, builtin[i].name))
            return builtin[i].c;
    }
    return TC_OBJECT;
}

static void
classify_types(struct exporter *x)
{
    char name[512];

    x->tclass = hs_xmalloc(x->g->ntypes ? x->g->ntypes : 1);
    x->tname = hs_xmalloc(
        hs_st_mult(x->g->ntypes ? x->g->ntypes : 1, sizeof(*x->tname)));
    for (uint32_t t = 0; t < x->g->ntypes; t++) {
        x->tclass[t] = (uint8_t)classify(&x->g->types[t]);
        x->tname[t] = strtab_interns(
            &x->strings,
            hs_type_display_name(&x->g->types[t], name, sizeof(name)));
    }
}

/* ---- nodes --------------------------------------------------------------------- */

static uint64_t
clamp_size(struct exporter *x, uint64_t size)
{
    if (size <= UINT32_MAX)
        return size;
    x->size_clamped = 1;
    return UINT32_MAX;
}

/* The node type and the name string of node v, whose value is `value`. */
static void
node_name(struct exporter *x, uint32_t v, const char *value, uint64_t *type,
          uint64_t *name, struct hs_buf *tmp)
{
    uint32_t t = x->g->type[v];
    int truncated = !!(x->g->flags[v] & HS_OBJ_VALUE_TRUNCATED);

    hs_buf_reset(tmp);
    switch (x->tclass[t]) {
    case TC_STRING:
        *type = NT_STRING;
        hs_buf_adds(tmp, value ? value : "");
        if (truncated)
            hs_buf_adds(tmp, "\xE2\x80\xA6");
        break;
    case TC_NUMBER:
        *type = NT_NUMBER;
        hs_buf_adds(tmp, x->strings.arena.buf + x->strings.off[x->tname[t]]);
        if (value)
            hs_buf_addf(tmp, " %s%s", value, truncated ? "\xE2\x80\xA6" : "");
        break;
    case TC_CLOSURE:
    case TC_CODE:
        *type = x->tclass[t] == TC_CODE ? NT_CODE : NT_CLOSURE;
        hs_buf_adds(tmp, value ? value : x->g->types[t].name);
        break;
    default:
        *type = NT_OBJECT;
        if (!value || x->tclass[t] == TC_BYTES) {
            *name = x->tname[t];
            return;
        }
        hs_buf_addf(tmp, "%s %s",
                    x->strings.arena.buf + x->strings.off[x->tname[t]], value);
        break;
    }
    *name = strtab_intern(&x->strings, tmp->buf, tmp->len);
}

static int
node_row(uint32_t v, const char *value, void *arg)
{
    struct exporter *x = arg;
    uint64_t row[NODE_FIELDS];

    node_name(x, v, value, &row[0], &row[1], &x->tmp);
    row[2] = (uint64_t)hs_graph_object_id(v);
    row[3] = clamp_size(x, x->g->size[v]);
    row[4] = x->g->out_off[v + 1] - x->g->out_off[v];
    row[5] = 0;
    out_row(&x->out, 0, row, NODE_FIELDS);
    if ((v & 0xFFFF) == 0)
        hs_progress_tick(&x->pr, v);
    return x->out.failed ? -1 : 0;
}

static int
write_nodes(struct exporter *x)
{
    uint64_t row[NODE_FIELDS];
    int rc;

    hs_progress_start(&x->pr, "exporting objects", x->g->n);
    row[0] = NT_SYNTHETIC;
    row[1] = strtab_interns(&x->strings, "");
    row[2] = 0;
    row[3] = 0;
    row[4] = x->g->nroots;
    row[5] = 0;
    out_row(&x->out, 1, row, NODE_FIELDS);
    rc = hs_naming_each_value(x->h->names, node_row, x);
    hs_progress_end(&x->pr);
    return rc < 0 || x->out.failed ? -1 : 0;
}

/* ---- edges --------------------------------------------------------------------- */

/*
 * The string index of the name of an edge of kind `kind` and V8 type
 * `type` with edge_list.arg `arg`: the label as heapsnap spells it, but a
 * property loses its leading dot and a context variable is its bare name.
 */
static uint32_t
edge_label(struct exporter *x, uint8_t kind, uint64_t type, int64_t arg,
           int is_null)
{
    struct hs_buf *tmp = &x->tmp;
    const char *s;

    hs_buf_reset(tmp);
    hs_naming_step(x->h->names, kind, is_null ? 0 : (uint32_t)arg, 0, tmp);
    s = tmp->buf;
    if (type == ET_PROPERTY && s[0] == '.' && s[1])
        s++;
    else if (type == ET_CONTEXT && strchr(s, ' '))
        s = strchr(s, ' ') + 1;
    return strtab_interns(&x->strings, s);
}

/*
 * The V8 type and name of an edge of kind `kind` with edge_list.arg `arg`
 * (is_null: arg is NULL); x->element counts its source's set members.
 */
static void
edge_name(struct exporter *x, uint8_t kind, int64_t arg, int is_null,
          uint64_t *type, uint64_t *name)
{
    uint32_t k = kind;

    if (!hs_graph_retains(x->g, kind)) {
        *type = ET_WEAK;
    } else if (kind == HS_EDGE_ITEM && !is_null && arg >= 0) {
        *type = ET_ELEMENT;
        *name = (uint64_t)arg;
        return;
    } else if (kind == HS_EDGE_ELEMENT) {
        *type = ET_ELEMENT;
        *name = x->element++;
        return;
    } else if (kind == HS_EDGE_ATTR || kind == HS_EDGE_VALUE ||
               kind == HS_EDGE_CELL) {
        *type = ET_PROPERTY;
    } else if (kind == HS_EDGE_LOCAL || kind == HS_EDGE_CLOSURE) {
        *type = ET_CONTEXT;
    } else {
        *type = ET_INTERNAL;
    }
    if (is_null || arg < 0 || arg >= UINT32_MAX || k >= HS_EDGE_NKINDS) {
        *name = edge_label(x, kind, *type, arg, is_null);
        return;
    }
    /* Names repeat (every instance has the same attributes): remembered
     * per kind and argument, so that each is spelt once. */
    if ((uint32_t)arg >= x->named_len[k]) {
        uint32_t len = (uint32_t)arg + 1 > x->named_len[k] * 2
                           ? (uint32_t)arg + 1
                           : x->named_len[k] * 2;

        x->named[k] =
            hs_xrealloc(x->named[k], hs_st_mult(len, sizeof(*x->named[k])));
        memset(x->named[k] + x->named_len[k], 0xFF,
               (size_t)(len - x->named_len[k]) * sizeof(*x->named[k]));
        x->named_len[k] = len;
    }
    if (x->named[k][arg] == UINT32_MAX)
        x->named[k][arg] = edge_label(x, kind, *type, arg, is_null);
    *name = x->named[k][arg];
}

static int
write_root_edges(struct exporter *x)
{
    struct hs_buf label = HS_BUF_INIT;
    uint64_t row[3];

    for (uint32_t r = 0; r < x->g->nroots; r++) {
        hs_buf_reset(&label);
        hs_naming_root(x->h->names, r, &label);
        row[0] = ET_PROPERTY;
        row[1] = strtab_intern(&x->strings, label.buf, label.len);
        row[2] = ((uint64_t)x->g->roots[r].node + 1) * NODE_FIELDS;
        out_row(&x->out, r == 0, row, 3);
    }
    hs_buf_release(&label);
    return x->out.failed ? -1 : 0;
}

static int
edge_row(uint32_t e, int64_t arg, int is_null, void *ctx)
{
    struct exporter *x = ctx;
    struct hs_graph *g = x->g;
    uint64_t row[3];

    while (e >= g->out_off[x->v + 1]) {
        x->v++;
        x->element = 0;
        if ((x->v & 0xFFFF) == 0)
            hs_progress_tick(&x->pr, e);
    }
    edge_name(x, g->out_kind[e], arg, is_null, &row[0], &row[1]);
    row[2] = ((uint64_t)g->out_dst[e] + 1) * NODE_FIELDS;
    out_row(&x->out, x->first, row, 3);
    x->first = 0;
    return x->out.failed ? -1 : 0;
}

static int
write_edges(struct exporter *x)
{
    int rc;

    x->v = 0;
    x->element = 0;
    x->first = x->g->nroots == 0;
    hs_progress_start(&x->pr, "exporting references", x->g->m);
    rc = hs_naming_each_edge_arg(x->h->names, edge_row, x);
    hs_progress_end(&x->pr);
    return rc < 0 || x->out.failed ? -1 : 0;
}

static void
write_strings(struct exporter *x)
{
    out_adds(&x->out, "],\n\"strings\":[");
    for (uint32_t i = 0; i < x->strings.n; i++) {
        if (i)
            out_adds(&x->out, ",\n");
        out_json_string(&x->out, x->strings.arena.buf + x->strings.off[i]);
    }
    out_adds(&x->out, "]}\n");
}

/* ---- the export ----------------------------------------------------------------- */

int
hs_export_chrome(struct hs_heap *h, int fd, const char *what,
                 struct hs_export_stats *st)
{
    struct exporter x;
    int rc = -1;

    memset(&x, 0, sizeof(x));
    memset(st, 0, sizeof(*st));
    x.h = h;
    x.g = h->g;
    x.out.fd = fd;
    x.out.what = what;
    hs_buf_init(&x.out.buf);
    hs_buf_init(&x.tmp);
    strtab_init(&x.strings);
    classify_types(&x);

    out_adds(&x.out, meta_json);
    hs_buf_addf(&x.out.buf,
                "\"node_count\":%" PRIu64 ",\"edge_count\":%" PRIu64
                ",\"trace_function_count\":0},\n\"nodes\":[",
                (uint64_t)x.g->n + 1, (uint64_t)x.g->m + x.g->nroots);
    if (write_nodes(&x) < 0)
        goto cleanup;
    out_adds(&x.out, "],\n\"edges\":[");
    if (write_root_edges(&x) < 0 || write_edges(&x) < 0)
        goto cleanup;
    out_adds(&x.out, "],\n\"trace_function_infos\":[],\n\"trace_tree\":[],"
                     "\n\"samples\":[],\n\"locations\":[");
    write_strings(&x);
    out_flush(&x.out);
    if (x.out.failed)
        goto cleanup;
    if (x.size_clamped)
        hs_warn("objects larger than 4 GiB are written as 4 GiB - 1 byte "
                "(the format's readers keep 32-bit sizes)");
    st->nodes = (uint64_t)x.g->n + 1;
    st->edges = (uint64_t)x.g->m + x.g->nroots;
    st->strings = x.strings.n;
    st->bytes = x.out.written;
    rc = 0;
cleanup:
    free(x.tclass);
    free(x.tname);
    for (size_t k = 0; k < HS_EDGE_NKINDS; k++)
        free(x.named[k]);
    hs_buf_release(&x.tmp);
    hs_buf_release(&x.out.buf);
    strtab_release(&x.strings);
    return rc;
}
