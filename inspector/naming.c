/*
 * naming.c: the text of objects, references and roots (naming.h), through
 * four prepared statements kept for the life of the naming context.  Each
 * lookup is a primary-key probe (microseconds), so commands ask only for
 * what they print.
 */
#include "naming.h"

#include <inttypes.h>
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
    struct hs_query *q_site;     /* the innermost allocation frame by id;
                                    NULL without object_tracebacks */
    struct hs_query *q_reported; /* reported_sizes.size by id; NULL in
                                    snapshots without the table */
    struct hs_query *q_root;  /* a roots row with its thread and frame */
    struct hs_query *q_name;  /* names.text by id */
    struct hs_query *q_frame_line; /* frames.line of a frame object */
    struct kind_spelling kinds[HS_EDGE_NKINDS]; /* from edge_kinds */
    uint8_t *str_like; /* per type: 0 not known yet, 1 str or a subclass
                          (its value is raw text), 2 neither */
    uint32_t *type_by_node; /* type indexes sorted by their node, built on
                               first use (NULL until then) */
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
    /* The `edges` view's label, spelt out: views in a file are not
     * trusted (snapshot.c), and the file's view could be anything. */
    n->q_edge = hs_query_prepare(
        g->snap,
        "SELECT k.prefix || CASE k.arg WHEN 'name' THEN "
        "coalesce(n.text, '?') WHEN 'index' THEN coalesce(e.arg, '?') "
        "ELSE '' END || k.suffix FROM edge_list AS e "
        "JOIN edge_kinds AS k ON k.id = e.kind "
        "LEFT JOIN names AS n ON k.arg = 'name' AND n.id = e.arg "
        "WHERE e.rowid = ?1");
    n->q_obj = hs_query_prepare(
        g->snap, "SELECT refcount, length, value FROM objects WHERE id = ?1");
    if (hs_snapshot_has_table(g->snap, "reported_sizes"))
        n->q_reported = hs_query_prepare(
            g->snap, "SELECT size FROM reported_sizes WHERE object_id = ?1");
    if (hs_snapshot_has_table(g->snap, "object_tracebacks"))
        n->q_site = hs_query_prepare(
            g->snap,
            "SELECT f.file, f.line, f.function FROM object_tracebacks ot "
            "JOIN alloc_tracebacks t ON t.id = ot.traceback_id AND "
            "t.depth = 0 JOIN alloc_frames f ON f.id = t.frame_id "
            "WHERE ot.object_id = ?1");
    n->q_root = hs_query_prepare(
        g->snap,
        "SELECT r.label, t.name, f.function, f.file, f.line, t.ident "
        "FROM roots r LEFT JOIN threads t ON t.id = r.thread_id "
        "LEFT JOIN frames f ON f.id = r.frame_id WHERE r.rowid = ?1");
    n->q_name = hs_query_prepare(g->snap,
                                 "SELECT text FROM names WHERE id = ?1");
    n->q_frame_line = hs_query_prepare(
        g->snap, "SELECT line FROM frames WHERE object_id = ?1 LIMIT 1");
    if (!n->q_edge || !n->q_obj || !n->q_root || !n->q_name ||
        !n->q_frame_line || load_kinds(n) < 0) {
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
    hs_query_free(n->q_site);
    hs_query_free(n->q_root);
    hs_query_free(n->q_name);
    hs_query_free(n->q_frame_line);
    free(n->str_like);
    free(n->type_by_node);
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
hs_naming_site(struct hs_naming *n, uint32_t v, struct hs_buf *out)
{
    int found = 0;

    if (!n->q_site)
        return 0;
    hs_query_reset(n->q_site);
    hs_query_bind_int(n->q_site, 1, hs_graph_object_id(v));
    if (hs_query_step(n->q_site) == 1) {
        const char *file = hs_query_text(n->q_site, 0);
        const char *func = hs_query_text(n->q_site, 2);

        hs_buf_addf(out, "%s:%" PRId64, file ? file : "?",
                    hs_query_int(n->q_site, 1));
        if (func)
            hs_buf_addf(out, " in %s", func);
        found = 1;
    }
    hs_query_reset(n->q_site);
    return found;
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

static int
is_builtin(const struct hs_type *t, const char *name)
{
    return !strcmp(t->name, name) &&
           (!t->module || !strcmp(t->module, "builtins"));
}

static const struct hs_graph *sort_graph; /* for type_node_cmp only */

static int
type_node_cmp(const void *a, const void *b)
{
    uint32_t x = sort_graph->types[*(const uint32_t *)a].node;
    uint32_t y = sort_graph->types[*(const uint32_t *)b].node;

    return x < y ? -1 : x > y;
}

/* The index of the type whose type object is node v, or UINT32_MAX.
 * O(log T) after an O(T log T) sort on first use. */
static uint32_t
type_of_node(struct hs_naming *n, uint32_t v)
{
    const struct hs_graph *g = n->g;
    uint32_t lo = 0, hi = g->ntypes;

    if (!n->type_by_node) {
        n->type_by_node = hs_xmalloc(
            hs_st_mult(g->ntypes ? g->ntypes : 1, sizeof(uint32_t)));
        for (uint32_t k = 0; k < g->ntypes; k++)
            n->type_by_node[k] = k;
        sort_graph = g;
        qsort(n->type_by_node, g->ntypes, sizeof(uint32_t), type_node_cmp);
        sort_graph = NULL;
    }
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;

        if (g->types[n->type_by_node[mid]].node < v)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < g->ntypes && g->types[n->type_by_node[lo]].node == v
               ? n->type_by_node[lo]
               : UINT32_MAX;
}

/* The type its `.__base__` reference names, or UINT32_MAX. */
static uint32_t
base_type(struct hs_naming *n, uint32_t k)
{
    const struct hs_graph *g = n->g;
    uint32_t node = g->types[k].node, base = UINT32_MAX;
    struct hs_buf label = HS_BUF_INIT;

    for (uint32_t e = g->out_off[node]; e < g->out_off[node + 1]; e++) {
        if (g->out_kind[e] != HS_EDGE_ATTR)
            continue;
        hs_buf_reset(&label);
        hs_naming_edge(n, e, &label);
        if (!strcmp(label.buf, ".__base__")) {
            base = type_of_node(n, g->out_dst[e]);
            break;
        }
    }
    hs_buf_release(&label);
    return base;
}

/*
 * Is type k str or a subclass of it?  The agent stores the text of every
 * str (subclasses too) raw, so they are all quoted alike.  Follows the
 * `.__base__` references (cached per type): O(depth) label probes the
 * first time a type is asked about.
 */
static int
type_is_str_like(struct hs_naming *n, uint32_t k)
{
    const struct hs_graph *g = n->g;
    uint32_t chain[64], len = 0, x = k;
    uint8_t answer = 2;

    if (!n->str_like)
        n->str_like = hs_xcalloc(g->ntypes ? g->ntypes : 1, 1);
    while (x != UINT32_MAX && !n->str_like[x] && len < 64) {
        if (is_builtin(&g->types[x], "str")) {
            n->str_like[x] = 1;
            break;
        }
        chain[len++] = x;
        x = n->g->snap ? base_type(n, x) : UINT32_MAX;
    }
    if (x != UINT32_MAX && n->str_like[x])
        answer = n->str_like[x];
    for (uint32_t i = 0; i < len; i++)
        n->str_like[chain[i]] = answer;
    return n->str_like[k] == 1;
}

/* The str value of the object edge `label` of v leads to (malloc'd), or
 * NULL. */
static char *
value_along(struct hs_naming *n, uint32_t v, const char *label)
{
    const struct hs_graph *g = n->g;
    struct hs_buf b = HS_BUF_INIT;
    char *value = NULL;

    for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
        struct hs_objfacts f;

        hs_buf_reset(&b);
        hs_naming_edge(n, e, &b);
        if (strcmp(b.buf, label))
            continue;
        if (hs_naming_facts(n, g->out_dst[e], &f) == 0) {
            value = f.value;
            f.value = NULL;
            hs_objfacts_release(&f);
        }
        break;
    }
    hs_buf_release(&b);
    return value;
}

/* The frame object v as "of FUNC (FILE:LINE)": from its value, which the
 * agent writes as "FUNC (PATH:LINE)"; from older agents, FUNC from the
 * value or the code object, FILE from the code's co_filename and LINE from
 * the frames table when the frame is a running one. */
static void
add_frame(struct hs_naming *n, uint32_t v, const char *value,
          struct hs_buf *out)
{
    const char *open = value ? strstr(value, " (") : NULL;
    char *code_name = NULL, *file = NULL;
    uint32_t code = UINT32_MAX;
    struct hs_buf b = HS_BUF_INIT;
    int64_t line = -1;

    if (open && value[strlen(value) - 1] == ')') {
        const char *path = open + 2, *colon = strrchr(path, ':');

        hs_buf_addf(out, "of %.*s (", (int)(open - value), value);
        if (colon) {
            char *dir_part = hs_xasprintf("%.*s", (int)(colon - path), path);

            hs_buf_addf(out, "%s%s", hs_base_name(dir_part), colon);
            free(dir_part);
        } else {
            hs_buf_adds(out, path);
        }
        return;
    }
    for (uint32_t e = n->g->out_off[v]; e < n->g->out_off[v + 1]; e++) {
        hs_buf_reset(&b);
        hs_naming_edge(n, e, &b);
        if (!strcmp(b.buf, ".f_code")) {
            code = n->g->out_dst[e];
            break;
        }
    }
    hs_buf_release(&b);
    if (!value && code != UINT32_MAX) {
        struct hs_objfacts f;

        if (hs_naming_facts(n, code, &f) == 0) {
            code_name = f.value;
            f.value = NULL;
            hs_objfacts_release(&f);
        }
    }
    if (code != UINT32_MAX)
        file = value_along(n, code, ".co_filename");
    if (n->q_frame_line) {
        hs_query_reset(n->q_frame_line);
        hs_query_bind_int(n->q_frame_line, 1, hs_graph_object_id(v));
        if (hs_query_step(n->q_frame_line) == 1 &&
            !hs_query_is_null(n->q_frame_line, 0))
            line = hs_query_int(n->q_frame_line, 0);
        hs_query_reset(n->q_frame_line);
    }
    hs_buf_addf(out, "of %s", value ? value : code_name ? code_name : "?");
    if (file && line >= 0)
        hs_buf_addf(out, " (%s:%lld)", hs_base_name(file), (long long)line);
    else if (file)
        hs_buf_addf(out, " (%s)", hs_base_name(file));
    free(code_name);
    free(file);
}

int
hs_naming_value(struct hs_naming *n, uint32_t v, struct hs_buf *out)
{
    const struct hs_type *t = hs_graph_type_of(n->g, v);
    struct hs_objfacts f;
    size_t before = out->len;

    if (hs_naming_facts(n, v, &f) < 0)
        return 0;
    if (is_builtin(t, "frame") && n->g->snap) {
        add_frame(n, v, f.value, out);
    } else if (f.value) {
        if (type_is_str_like(n, n->g->type[v]))
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
        hs_buf_addf(out, "%s of %s", ri.label ? ri.label : "frame",
                    ri.function ? ri.function : "?");
        if (file)
            hs_buf_addf(out, " (%s:%lld)", file, (long long)ri.line);
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
        hs_buf_adds(
            out, ri.label ? ri.label
                          : hs_root_kind_name((enum hs_root_kind)root->kind));
        break;
    }
    hs_rootinfo_release(&ri);
}

int
hs_naming_each_value(struct hs_naming *n,
                     int (*fn)(uint32_t v, const char *value, void *arg),
                     void *arg)
{
    struct hs_graph *g = n->g;
    struct hs_query *q;
    int rc = 0;

    if (!g->snap) {
        for (uint32_t v = 0; v < g->n && !rc; v++)
            rc = fn(v, NULL, arg);
        return rc;
    }
    q = hs_query_prepare(g->snap, "SELECT id, value FROM objects ORDER BY id");
    if (!q)
        return -1;
    for (uint32_t v = 0; v < g->n && !rc; v++) {
        int step = hs_query_step(q);

        if (step < 0) {
            rc = -1;
            break;
        }
        if (step == 0 || hs_query_int(q, 0) != hs_graph_object_id(v)) {
            rc = hs_error(HS_EXIT_SNAPSHOT,
                          "'%s': the objects table does not match its "
                          "graph (object %" PRId64 ")",
                          hs_snapshot_path(g->snap), hs_graph_object_id(v));
            break;
        }
        rc = fn(v, hs_query_text(q, 1), arg);
    }
    hs_query_free(q);
    return rc;
}

int
hs_naming_each_edge_arg(struct hs_naming *n,
                        int (*fn)(uint32_t e, int64_t arg, int is_null,
                                  void *ctx),
                        void *ctx)
{
    struct hs_graph *g = n->g;
    struct hs_query *q;
    int rc = 0;

    if (!g->snap) {
        for (uint32_t e = 0; e < g->m && !rc; e++)
            rc = fn(e, 0, 1, ctx);
        return rc;
    }
    /* In file order the edges are the table's rows in rowid order. */
    q = hs_query_prepare(
        g->snap, g->edge_row ? "SELECT arg FROM edge_list WHERE rowid = ?1"
                             : "SELECT arg FROM edge_list ORDER BY rowid");
    if (!q)
        return -1;
    for (uint32_t e = 0; e < g->m && !rc; e++) {
        int step;

        if (g->edge_row) {
            hs_query_reset(q);
            hs_query_bind_int(q, 1, hs_graph_edge_row(g, e));
        }
        step = hs_query_step(q);
        if (step < 0) {
            rc = -1;
            break;
        }
        if (step == 0) {
            rc = hs_error(HS_EXIT_SNAPSHOT,
                          "'%s': edge_list does not match its graph (edge "
                          "%u)",
                          hs_snapshot_path(g->snap), e);
            break;
        }
        rc = fn(e, hs_query_int(q, 0), hs_query_is_null(q, 0), ctx);
    }
    hs_query_free(q);
    return rc;
}
