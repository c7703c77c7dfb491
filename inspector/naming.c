/*
 * naming.c: the text of objects, references and roots (naming.h), through
 * four prepared statements kept for the life of the naming context.  Each
 * lookup is a primary-key probe (microseconds), so commands ask only for
 * what they print.
 */
#include "naming.h"

#include <stdlib.h>
#include <string.h>

/* How one edge kind is spelt (a row of edge_kinds). */
struct kind_spelling {
    char *name;            /* "attr" */
    char *prefix, *suffix; /* around the argument */
    int arg;               /* 0 none, 1 name, 2 index */
};

struct hs_naming {
    struct hs_graph *g;       /* the graph being described */
    struct hs_query *q_edge;  /* label of an edge by rowid */
    struct hs_query *q_obj;   /* refcount, length, value by id */
    struct hs_query *q_reported; /* reported_sizes.size by id; NULL in
                                    snapshots without the table */
    struct hs_query *q_root;  /* a roots row with its thread and frame */
    struct hs_query *q_name;  /* names.text by id */
    struct kind_spelling kinds[HS_EDGE_NKINDS]; /* from edge_kinds */
};

static int
load_kinds(struct hs_naming *n)
{
    struct hs_query *q = hs_query_prepare(
        n->g->snap, "SELECT id, prefix, suffix, arg, name FROM edge_kinds");
    int rc;

    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 0);
        const char *arg = hs_query_text(q, 3);

        if (id < 0 || id >= HS_EDGE_NKINDS)
            continue;
        n->kinds[id].prefix = hs_xstrdup(hs_query_text(q, 1)
                                             ? hs_query_text(q, 1)
                                             : "");
        n->kinds[id].suffix = hs_xstrdup(hs_query_text(q, 2)
                                             ? hs_query_text(q, 2)
                                             : "");
        n->kinds[id].arg = !arg ? 0 : !strcmp(arg, "name") ? 1
                               : !strcmp(arg, "index") ? 2 : 0;
        n->kinds[id].name = hs_xstrdup(hs_query_text(q, 4)
                                           ? hs_query_text(q, 4)
                                           : "?");
    }
    hs_query_free(q);
    return rc;
}

struct hs_naming *
hs_naming_new(struct hs_graph *g)
{
    struct hs_naming *n = hs_xcalloc(1, sizeof(*n));

    n->g = g;
    if (!g->snap)
        return n;
    n->q_edge = hs_query_prepare(g->snap,
                                 "SELECT label FROM edges WHERE id = ?1");
    n->q_obj = hs_query_prepare(
        g->snap, "SELECT refcount, length, value FROM objects WHERE id = ?1");
    if (hs_snapshot_has_table(g->snap, "reported_sizes"))
        n->q_reported = hs_query_prepare(
            g->snap, "SELECT size FROM reported_sizes WHERE object_id = ?1");
    n->q_root = hs_query_prepare(
        g->snap,
        "SELECT r.label, t.name, f.function, f.file, f.line, t.ident "
        "FROM roots r LEFT JOIN threads t ON t.id = r.thread_id "
        "LEFT JOIN frames f ON f.id = r.frame_id WHERE r.rowid = ?1");
    n->q_name = hs_query_prepare(g->snap,
                                 "SELECT text FROM names WHERE id = ?1");
    if (!n->q_edge || !n->q_obj || !n->q_root || !n->q_name ||
        load_kinds(n) < 0) {
        hs_naming_free(n);
        return NULL;
    }
    return n;
}

void
hs_naming_free(struct hs_naming *n)
{
    if (!n)
        return;
    hs_query_free(n->q_edge);
    hs_query_free(n->q_obj);
    hs_query_free(n->q_reported);
    hs_query_free(n->q_root);
    hs_query_free(n->q_name);
    for (int k = 0; k < HS_EDGE_NKINDS; k++) {
        free(n->kinds[k].name);
        free(n->kinds[k].prefix);
        free(n->kinds[k].suffix);
    }
    free(n);
}

struct hs_graph *
hs_naming_graph(const struct hs_naming *n)
{
    return n->g;
}

int
hs_naming_facts(struct hs_naming *n, uint32_t v, struct hs_objfacts *out)
{
    int rc;

    out->refcount = -1;
    out->length = -1;
    out->value = NULL;
    out->reported_size = -1;
    if (n->q_reported) {
        hs_query_reset(n->q_reported);
        hs_query_bind_int(n->q_reported, 1, hs_graph_object_id(v));
        if (hs_query_step(n->q_reported) == 1)
            out->reported_size = hs_query_int(n->q_reported, 0);
        hs_query_reset(n->q_reported);
    }
    if (!n->q_obj)
        return 0;
    hs_query_reset(n->q_obj);
    hs_query_bind_int(n->q_obj, 1, hs_graph_object_id(v));
    rc = hs_query_step(n->q_obj);
    if (rc == 1) {
        const char *val = hs_query_text(n->q_obj, 2);

        out->refcount = hs_query_int(n->q_obj, 0);
        out->length = hs_query_is_null(n->q_obj, 1) ? -1
                                                    : hs_query_int(n->q_obj, 1);
        out->value = val ? hs_xstrdup(val) : NULL;
    }
    hs_query_reset(n->q_obj);
    return rc < 0 ? -1 : 0;
}

void
hs_objfacts_release(struct hs_objfacts *f)
{
    free(f->value);
    f->value = NULL;
}

void
hs_naming_edge(struct hs_naming *n, uint32_t e, struct hs_buf *out)
{
    if (n->q_edge) {
        hs_query_reset(n->q_edge);
        hs_query_bind_int(n->q_edge, 1, hs_graph_edge_row(n->g, e));
        if (hs_query_step(n->q_edge) == 1 && !hs_query_is_null(n->q_edge, 0)) {
            hs_buf_adds(out, hs_query_text(n->q_edge, 0));
            hs_query_reset(n->q_edge);
            return;
        }
        hs_query_reset(n->q_edge);
    }
    hs_buf_addf(out, "<%s>", n->g->out_kind[e] == HS_EDGE_WEAK ? "weak"
                                                              : "ref");
}

const char *
hs_naming_kind(struct hs_naming *n, uint8_t kind)
{
    if (kind < HS_EDGE_NKINDS && n->kinds[kind].name)
        return n->kinds[kind].name;
    return "other";
}

void
hs_naming_step(struct hs_naming *n, uint8_t kind, uint32_t arg, int wild,
               struct hs_buf *out)
{
    const struct kind_spelling *k =
        kind < HS_EDGE_NKINDS ? &n->kinds[kind] : NULL;

    if (!k || !k->prefix) {
        hs_buf_adds(out, "<ref>");
        return;
    }
    hs_buf_adds(out, k->prefix);
    if (k->arg && wild) {
        hs_buf_addch(out, '*');
    } else if (k->arg == 1) {
        int found = 0;

        hs_query_reset(n->q_name);
        hs_query_bind_int(n->q_name, 1, arg);
        if (hs_query_step(n->q_name) == 1 && hs_query_text(n->q_name, 0)) {
            hs_buf_adds(out, hs_query_text(n->q_name, 0));
            found = 1;
        }
        hs_query_reset(n->q_name);
        if (!found)
            hs_buf_addch(out, '?');
    } else if (k->arg == 2) {
        hs_buf_addf(out, "%u", arg);
    }
    hs_buf_adds(out, k->suffix);
}

const char *
hs_naming_type(const struct hs_graph *g, uint32_t v, int qualified, char *buf,
               size_t len)
{
    const struct hs_type *t = hs_graph_type_of(g, v);

    if (qualified)
        return hs_type_display_name(t, buf, len);
    snprintf(buf, len, "%s", t->name);
    return buf;
}

/* Appends up to `limit` characters of s, with an ellipsis when cut. */
static void
add_cut(struct hs_buf *out, const char *s, size_t limit)
{
    size_t chars = 0, i = 0;

    for (; s[i]; i++) {
        if (((unsigned char)s[i] & 0xC0) != 0x80 && chars++ == limit)
            break;
    }
    hs_buf_add(out, s, i);
    if (s[i])
        hs_buf_adds(out, "\xE2\x80\xA6"); /* ... */
}

/* A str value quoted as Python would, control characters escaped. */
static void
add_quoted(struct hs_buf *out, const char *s, size_t limit)
{
    struct hs_buf tmp = HS_BUF_INIT;

    for (const char *p = s; *p; p++) {
        unsigned char c = (unsigned char)*p;

        if (c == '\\' || c == '\'')
            hs_buf_addf(&tmp, "\\%c", c);
        else if (c == '\n')
            hs_buf_adds(&tmp, "\\n");
        else if (c == '\t')
            hs_buf_adds(&tmp, "\\t");
        else if (c < 0x20 || c == 0x7F)
            hs_buf_addf(&tmp, "\\x%02x", c);
        else
            hs_buf_addch(&tmp, (char)c);
    }
    hs_buf_addch(out, '\'');
    add_cut(out, tmp.buf, limit);
    hs_buf_addch(out, '\'');
    hs_buf_release(&tmp);
}

int
hs_naming_value(struct hs_naming *n, uint32_t v, struct hs_buf *out)
{
    const struct hs_type *t = hs_graph_type_of(n->g, v);
    struct hs_objfacts f;
    size_t before = out->len;

    if (hs_naming_facts(n, v, &f) < 0)
        return 0;
    if (f.value) {
        if (!strcmp(t->name, "str") && (!t->module ||
                                        !strcmp(t->module, "builtins")))
            add_quoted(out, f.value, 40);
        else
            add_cut(out, f.value, 60);
    } else if (n->g->flags[v] & HS_OBJ_REDACTED) {
        hs_buf_adds(out, "<redacted>");
    } else if (f.length >= 0) {
        hs_buf_addf(out, "(%lld item%s)", (long long)f.length,
                    f.length == 1 ? "" : "s");
    }
    hs_objfacts_release(&f);
    return out->len > before;
}

void
hs_naming_object(struct hs_naming *n, uint32_t v, int qualified,
                 struct hs_buf *out)
{
    char name[256];

    hs_buf_adds(out, hs_naming_type(n->g, v, qualified, name, sizeof(name)));
    hs_buf_addch(out, ' ');
    if (!hs_naming_value(n, v, out))
        out->buf[--out->len] = '\0';
}

int
hs_naming_rootinfo(struct hs_naming *n, uint32_t r, struct hs_rootinfo *out)
{
    int rc;

    memset(out, 0, sizeof(*out));
    out->line = -1;
    out->thread_ident = -1;
    if (!n->q_root)
        return 0;
    hs_query_reset(n->q_root);
    hs_query_bind_int(n->q_root, 1, n->g->roots[r].row);
    rc = hs_query_step(n->q_root);
    if (rc == 1) {
        const char *s;

        if ((s = hs_query_text(n->q_root, 0)))
            out->label = hs_xstrdup(s);
        if ((s = hs_query_text(n->q_root, 1)))
            out->thread = hs_xstrdup(s);
        if ((s = hs_query_text(n->q_root, 2)))
            out->function = hs_xstrdup(s);
        if ((s = hs_query_text(n->q_root, 3)))
            out->file = hs_xstrdup(s);
        if (!hs_query_is_null(n->q_root, 4))
            out->line = hs_query_int(n->q_root, 4);
        if (!hs_query_is_null(n->q_root, 5))
            out->thread_ident = hs_query_int(n->q_root, 5);
    }
    hs_query_reset(n->q_root);
    return rc < 0 ? -1 : 0;
}

void
hs_rootinfo_release(struct hs_rootinfo *ri)
{
    free(ri->label);
    free(ri->thread);
    free(ri->function);
    free(ri->file);
    memset(ri, 0, sizeof(*ri));
}

void
hs_naming_root(struct hs_naming *n, uint32_t r, struct hs_buf *out)
{
    const struct hs_root *root = &n->g->roots[r];
    struct hs_rootinfo ri;
    const char *file;

    if (hs_naming_rootinfo(n, r, &ri) < 0 || !n->g->snap) {
        hs_buf_addf(out, "%s root",
                    hs_root_kind_name((enum hs_root_kind)root->kind));
        hs_rootinfo_release(&ri);
        return;
    }
    switch ((enum hs_root_kind)root->kind) {
    case HS_ROOT_MODULE:
        hs_buf_addf(out, "module %s", ri.label ? ri.label : "?");
        break;
    case HS_ROOT_FRAME:
        file = ri.file ? strrchr(ri.file, '/') : NULL;
        file = file ? file + 1 : ri.file;
        hs_buf_addf(out, "%s of %s()", ri.label ? ri.label : "frame",
                    ri.function ? ri.function : "?");
        if (file)
            hs_buf_addf(out, " at %s:%lld", file, (long long)ri.line);
        if (ri.thread)
            hs_buf_addf(out, " in thread '%s'", ri.thread);
        else if (ri.thread_ident >= 0)
            hs_buf_addf(out, " in thread %lld", (long long)ri.thread_ident);
        break;
    case HS_ROOT_THREAD:
        hs_buf_addf(out, "%s of thread '%s'", ri.label ? ri.label : "state",
                    ri.thread ? ri.thread : "?");
        break;
    case HS_ROOT_EXTERNAL:
        hs_buf_adds(out, ri.label ? ri.label : "held from outside the heap");
        break;
    default:
        hs_buf_adds(out, ri.label ? ri.label
                                  : hs_root_kind_name(
                                        (enum hs_root_kind)root->kind));
        break;
    }
    hs_rootinfo_release(&ri);
}
