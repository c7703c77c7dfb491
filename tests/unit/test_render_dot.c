/*
 * test_render_dot.c: unit tests of render_dot.c.  The DOT text is parsed
 * back by a small reader of cgraph's output (below) and every attribute is
 * compared with an oracle written independently of the renderer, on
 * thousands of random pictures; SVG goes through `xmllint` (well-formed XML,
 * then canonical XML to read the shown text); PNG and PDF are checked by
 * their magic bytes.  Also: escaping of nasty text, unknown extensions,
 * atomic writes after I/O failures, missing Graphviz plugins, the layout
 * limits, the caps, and render times.
 */
#include "picture.h"
#include "progress.h"
#include "test_picture_oracle.h"
#include "test_util.h"

#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- a reader for the DOT that cgraph writes ---------------------------- */

struct attr {
    char *name;
    char *value;
};

struct attrs {
    struct attr *a;
    size_t n, alloc;
};

struct dot_node {
    char *name;
    char *graph;        /* innermost (sub)graph it was declared in */
    struct attrs attrs; /* resolved: defaults in scope, then its own */
};

struct dot_edge {
    char *tail, *head;
    struct attrs attrs;
};

struct dot_graph {
    char *name;
    struct attrs attrs;
};

struct dot_doc {
    struct dot_node *nodes;
    size_t nnodes, nodes_alloc;
    struct dot_edge *edges;
    size_t nedges, edges_alloc;
    struct dot_graph *graphs; /* [0] is the root */
    size_t ngraphs, graphs_alloc;
};

static void
attrs_set(struct attrs *as, const char *name, const char *value)
{
    for (size_t i = 0; i < as->n; i++) {
        if (!strcmp(as->a[i].name, name)) {
            free(as->a[i].value);
            as->a[i].value = strdup(value);
            return;
        }
    }
    HS_ALLOC_GROW(as->a, as->n + 1, as->alloc);
    as->a[as->n].name = strdup(name);
    as->a[as->n++].value = strdup(value);
}

static void
attrs_copy(struct attrs *dst, const struct attrs *src)
{
    for (size_t i = 0; i < src->n; i++)
        attrs_set(dst, src->a[i].name, src->a[i].value);
}

static const char *
attrs_get(const struct attrs *as, const char *name)
{
    for (size_t i = 0; i < as->n; i++) {
        if (!strcmp(as->a[i].name, name))
            return as->a[i].value;
    }
    return NULL;
}

static void
attrs_free(struct attrs *as)
{
    for (size_t i = 0; i < as->n; i++) {
        free(as->a[i].name);
        free(as->a[i].value);
    }
    free(as->a);
    memset(as, 0, sizeof(*as));
}

/* Tokens: punctuation as itself, identifiers and strings as TOK_ID. */
enum { TOK_END = 0, TOK_ID = 'I', TOK_ARROW = 'A' };

struct lexer {
    const char *s;
    struct hs_buf tok; /* text of the last TOK_ID, quotes decoded */
};

/*
 * Next token.  Quoted strings are decoded as Graphviz's scanner does:
 * \" is a quote, \\ stays two backslashes, backslash-newline vanishes.
 */
static int
lex(struct lexer *lx)
{
    const char *s = lx->s;

    while (*s == ' ' || *s == '\t' || *s == '\n' || *s == '\r')
        s++;
    hs_buf_reset(&lx->tok);
    if (!*s) {
        lx->s = s;
        return TOK_END;
    }
    if (s[0] == '-' && s[1] == '>') {
        lx->s = s + 2;
        return TOK_ARROW;
    }
    if (strchr("{}[]=,;", *s)) {
        lx->s = s + 1;
        return *s;
    }
    if (*s == '"') {
        for (s++; *s && *s != '"'; s++) {
            if (s[0] == '\\' && s[1] == '"') {
                hs_buf_addch(&lx->tok, '"');
                s++;
            } else if (s[0] == '\\' && s[1] == '\\') {
                hs_buf_adds(&lx->tok, "\\\\");
                s++;
            } else if (s[0] == '\\' && s[1] == '\n') {
                s++;
            } else {
                hs_buf_addch(&lx->tok, *s);
            }
        }
        assert_true(*s == '"');
        lx->s = s + 1;
        return TOK_ID;
    }
    while (*s && !strchr(" \t\r\n{}[]=,;\"", *s) &&
           !(s[0] == '-' && s[1] == '>'))
        hs_buf_addch(&lx->tok, *s++);
    assert_true(lx->tok.len > 0);
    lx->s = s;
    return TOK_ID;
}

/* Reads "[a=b, c=d]" after the '[' into `out`. */
static void
parse_attr_list(struct lexer *lx, struct attrs *out)
{
    for (;;) {
        int t = lex(lx);
        char *name;

        if (t == ']')
            return;
        if (t == ',')
            continue;
        assert_int_equal(t, TOK_ID);
        name = strdup(lx->tok.buf);
        assert_int_equal(lex(lx), '=');
        assert_int_equal(lex(lx), TOK_ID);
        attrs_set(out, name, lx->tok.buf);
        free(name);
    }
}

/* Defaults in one scope. */
struct scope {
    struct attrs node_defaults, edge_defaults;
    size_t graph; /* index into doc->graphs */
};

/*
 * Parses the DOT text cgraph's agwrite() produces: a digraph of attribute
 * statements, node and edge statements and nested subgraphs.  Scopes are an
 * explicit stack; node and edge attributes are resolved against the
 * defaults in scope.  Fails the test on anything else.
 */
static void
dot_parse(const char *text, struct dot_doc *doc)
{
    struct lexer lx = { text, HS_BUF_INIT };
    struct scope stack[8];
    int depth = 0;
    char *pending = NULL;

    memset(doc, 0, sizeof(*doc));
    assert_int_equal(lex(&lx), TOK_ID);
    assert_string_equal(lx.tok.buf, "digraph");
    assert_int_equal(lex(&lx), TOK_ID);
    HS_ALLOC_GROW(doc->graphs, 1, doc->graphs_alloc);
    memset(&doc->graphs[0], 0, sizeof(doc->graphs[0]));
    doc->graphs[0].name = strdup(lx.tok.buf);
    doc->ngraphs = 1;
    assert_int_equal(lex(&lx), '{');
    memset(&stack[0], 0, sizeof(stack[0]));
    for (;;) {
        int t = lex(&lx);
        struct scope *sc = &stack[depth];

        if (t == ';')
            continue;
        if (t == '}') {
            attrs_free(&sc->node_defaults);
            attrs_free(&sc->edge_defaults);
            if (depth-- == 0)
                break;
            continue;
        }
        assert_int_equal(t, TOK_ID);
        if (!strcmp(lx.tok.buf, "subgraph")) {
            struct dot_graph *g;

            assert_int_equal(lex(&lx), TOK_ID);
            HS_ALLOC_GROW(doc->graphs, doc->ngraphs + 1, doc->graphs_alloc);
            g = &doc->graphs[doc->ngraphs];
            memset(g, 0, sizeof(*g));
            g->name = strdup(lx.tok.buf);
            assert_int_equal(lex(&lx), '{');
            assert_true(depth + 1 < 8);
            memset(&stack[depth + 1], 0, sizeof(stack[0]));
            attrs_copy(&stack[depth + 1].node_defaults, &sc->node_defaults);
            attrs_copy(&stack[depth + 1].edge_defaults, &sc->edge_defaults);
            stack[++depth].graph = doc->ngraphs++;
            continue;
        }
        if (!strcmp(lx.tok.buf, "graph") || !strcmp(lx.tok.buf, "node") ||
            !strcmp(lx.tok.buf, "edge")) {
            struct attrs *target = lx.tok.buf[0] == 'g'
                                       ? &doc->graphs[sc->graph].attrs
                                   : lx.tok.buf[0] == 'n' ? &sc->node_defaults
                                                          : &sc->edge_defaults;

            assert_int_equal(lex(&lx), '[');
            parse_attr_list(&lx, target);
            continue;
        }
        pending = strdup(lx.tok.buf);
        t = lex(&lx);
        if (t == TOK_ARROW) {
            struct dot_edge *e;

            assert_int_equal(lex(&lx), TOK_ID);
            HS_ALLOC_GROW(doc->edges, doc->nedges + 1, doc->edges_alloc);
            e = &doc->edges[doc->nedges++];
            memset(e, 0, sizeof(*e));
            e->tail = pending;
            e->head = strdup(lx.tok.buf);
            attrs_copy(&e->attrs, &sc->edge_defaults);
            t = lex(&lx);
            if (t == '[') {
                parse_attr_list(&lx, &e->attrs);
                t = lex(&lx);
            }
        } else {
            struct dot_node *n;

            HS_ALLOC_GROW(doc->nodes, doc->nnodes + 1, doc->nodes_alloc);
            n = &doc->nodes[doc->nnodes++];
            memset(n, 0, sizeof(*n));
            n->name = pending;
            n->graph = strdup(doc->graphs[sc->graph].name);
            attrs_copy(&n->attrs, &sc->node_defaults);
            if (t == '[') {
                parse_attr_list(&lx, &n->attrs);
                t = lex(&lx);
            }
        }
        pending = NULL;
        /* cgraph ends node and edge statements with ';' (a '}' is put
         * back for the loop to close the scope). */
        if (t == '}')
            lx.s--;
        else
            assert_int_equal(t, ';');
    }
    hs_buf_release(&lx.tok);
}

static void
dot_free(struct dot_doc *doc)
{
    for (size_t i = 0; i < doc->nnodes; i++) {
        free(doc->nodes[i].name);
        free(doc->nodes[i].graph);
        attrs_free(&doc->nodes[i].attrs);
    }
    for (size_t i = 0; i < doc->nedges; i++) {
        free(doc->edges[i].tail);
        free(doc->edges[i].head);
        attrs_free(&doc->edges[i].attrs);
    }
    for (size_t i = 0; i < doc->ngraphs; i++) {
        free(doc->graphs[i].name);
        attrs_free(&doc->graphs[i].attrs);
    }
    free(doc->nodes);
    free(doc->edges);
    free(doc->graphs);
}

static const struct dot_node *
dot_node(const struct dot_doc *doc, const char *name)
{
    for (size_t i = 0; i < doc->nnodes; i++) {
        if (!strcmp(doc->nodes[i].name, name))
            return &doc->nodes[i];
    }
    return NULL;
}

/* An attribute of node `name`; fails the test if there is no such node. */
static const char *
node_attr(const struct dot_doc *doc, const char *name, const char *attr)
{
    const struct dot_node *n = dot_node(doc, name);

    if (!n) {
        fprintf(stderr, "no node '%s'\n", name);
        fail();
    }
    return attrs_get(&n->attrs, attr);
}

/* The edge whose id is `id`, or NULL. */
static const struct dot_edge *
dot_edge_by_id(const struct dot_doc *doc, const char *id)
{
    for (size_t i = 0; i < doc->nedges; i++) {
        const char *v = attrs_get(&doc->edges[i].attrs, "id");

        if (v && !strcmp(v, id))
            return &doc->edges[i];
    }
    return NULL;
}

/* The first edge tail -> head, or NULL. */
static const struct dot_edge *
dot_edge(const struct dot_doc *doc, const char *tail, const char *head)
{
    for (size_t i = 0; i < doc->nedges; i++) {
        if (!strcmp(doc->edges[i].tail, tail) &&
            !strcmp(doc->edges[i].head, head))
            return &doc->edges[i];
    }
    return NULL;
}

static void
assert_attr(const struct attrs *as, const char *name, const char *want)
{
    const char *got = attrs_get(as, name);

    if (!want) {
        if (got && *got) {
            fprintf(stderr, "attribute %s: want none, got '%s'\n", name, got);
            fail();
        }
        return;
    }
    if (!got || strcmp(got, want)) {
        fprintf(stderr, "attribute %s: want '%s', got '%s'\n", name, want,
                got ? got : "(none)");
        fail();
    }
}

static char *
dot_text_of(const struct hs_picture *p, struct dot_doc *doc)
{
    size_t len = 0;
    char *text = hs_render_dot_text(p, &len);

    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    dot_parse(text, doc);
    return text;
}

/* ---- the oracle: what a viewer must see --------------------------------- */

/*
 * Code point of the UTF-8 sequence at s and its length, or length 0 when
 * the bytes are not valid UTF-8 for an XML document (written apart from the
 * renderer's decoder: decode first, then check ranges).
 */
static size_t
decode_utf8(const unsigned char *s, uint32_t *cp)
{
    size_t n;
    uint32_t c;

    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2;
        c = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3;
        c = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4;
        c = s[0] & 0x07;
    } else {
        return 0;
    }
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if ((n == 2 && c < 0x80) || (n == 3 && c < 0x800) ||
        (n == 4 && c < 0x10000) || c > 0x10ffff ||
        (c >= 0xd800 && c <= 0xdfff) || c == 0xfffe || c == 0xffff)
        return 0;
    *cp = c;
    return n;
}

/*
 * The text a viewer sees for `text` shown in at most max_chars characters:
 * printable characters as themselves, control characters and invalid bytes
 * as backslash escapes, one ellipsis when cut.  Malloc'd.
 */
static char *
shown(const char *text, size_t max_chars)
{
    struct hs_buf out = HS_BUF_INIT;
    const unsigned char *s = (const unsigned char *)text;
    size_t chars = 0, total = 0;
    uint32_t cp;

    for (const unsigned char *t = s; *t; total++) {
        size_t n = decode_utf8(t, &cp);

        t += n ? n : 1;
    }
    while (*s) {
        size_t n = decode_utf8(s, &cp);

        if (max_chars && total > max_chars && chars == max_chars - 1) {
            hs_buf_adds(&out, "\xe2\x80\xa6");
            break;
        }
        chars++;
        if (n > 1) {
            hs_buf_add(&out, s, n);
            s += n;
        } else if (n == 1 && *s == '\n') {
            hs_buf_adds(&out, "\\n");
            s++;
        } else if (n == 1 && *s == '\t') {
            hs_buf_adds(&out, "\\t");
            s++;
        } else if (n == 1 && *s == '\r') {
            hs_buf_adds(&out, "\\r");
            s++;
        } else if (n == 0 || *s < 0x20 || *s == 0x7f) {
            hs_buf_addf(&out, "\\x%02x", *s);
            s++;
        } else {
            hs_buf_addch(&out, *s++);
        }
    }
    return hs_buf_detach(&out);
}

/*
 * The escString Graphviz needs to show `visible`: '&' as an entity, each
 * backslash doubled once per unescaping pass (1 for labels, 2 tooltips).
 */
static char *
escstring(const char *visible, int passes)
{
    struct hs_buf out = HS_BUF_INIT;

    for (const char *s = visible; *s; s++) {
        if (*s == '&')
            hs_buf_adds(&out, "&amp;");
        else if (*s == '\\')
            hs_buf_adds(&out, passes == 2 ? "\\\\\\\\" : "\\\\");
        else
            hs_buf_addch(&out, *s);
    }
    return hs_buf_detach(&out);
}

/* escstring(shown(text, max), passes) */
static char *
expected_esc(const char *text, size_t max, int passes)
{
    char *v = shown(text, max);
    char *e = escstring(v, passes);

    free(v);
    return e;
}

static void
group_digits(uint64_t n, char *out, size_t len)
{
    char digits[32], rev[48];
    size_t d = (size_t)snprintf(digits, sizeof(digits), "%llu",
                                (unsigned long long)n);
    size_t r = 0;

    for (size_t i = 0; i < d; i++) {
        if (i && i % 3 == 0)
            rev[r++] = ',';
        rev[r++] = digits[d - 1 - i];
    }
    for (size_t i = 0; i < r && i + 1 < len; i++)
        out[i] = rev[r - 1 - i];
    out[r < len ? r : len - 1] = '\0';
}

/* Parses an HSV colour "h,s,v" (or white/black) into three numbers. */
static void
parse_hsv(const char *c, double hsv[3])
{
    if (!c || !strcmp(c, "white")) {
        hsv[0] = 0;
        hsv[1] = 0;
        hsv[2] = 1;
        return;
    }
    assert_int_equal(sscanf(c, "%lf,%lf,%lf", &hsv[0], &hsv[1], &hsv[2]), 3);
}

/* ---- random pictures ---------------------------------------------------- */

/* Text from an alphabet that exercises every escape. */
static void
random_text(struct test_rng *r, char *out, size_t len)
{
    static const char *const pieces[] = {
        "a",
        "b",
        "Z",
        "_",
        " ",
        ".",
        "'",
        "\"",
        "\\",
        "&",
        "&amp;",
        "<",
        ">",
        "\n",
        "\t",
        "\x01",
        "\x7f",
        "\xc3\xa9",
        "\xe2\x82\xac",
        "\xf0\x9f\x90\x8d",
        "\xff",
        "\xc3",
        "\xed\xa0\x80",
        "\xef\xbf\xbf",
        "\\N",
        "\\n",
        "\\G",
        "%s",
        "-",
        "--",
        "]]>",
    };
    size_t n = 1 + test_rng_below(r, 12), o = 0;

    for (size_t i = 0; i < n; i++) {
        const char *p = pieces[test_rng_below(r, HS_ARRAY_SIZE(pieces))];
        size_t l = strlen(p);

        if (o + l + 1 > len)
            break;
        memcpy(out + o, p, l);
        o += l;
    }
    out[o] = '\0';
}

/* Strings a random picture keeps alive until it is released. */
struct texts {
    char s[512][64];
    size_t n;
};

static const char *
keep(struct texts *t, const char *s)
{
    assert_true(t->n < HS_ARRAY_SIZE(t->s));
    snprintf(t->s[t->n], sizeof(t->s[0]), "%s", s);
    return t->s[t->n++];
}

/*
 * A random picture of up to 30 nodes and 60 edges with random roles,
 * depths, sizes, "more" counts and labels.
 */
static void
random_picture(struct test_rng *r, struct hs_picture *p, struct texts *t)
{
    uint32_t n = 1 + test_rng_below(r, 30);
    uint32_t m = test_rng_below(r, 60);
    char buf[64];

    t->n = 0;
    hs_picture_init(p, 100);
    p->dir = (enum hs_picture_dir)test_rng_below(r, 3);
    p->legend = (int)test_rng_below(r, 2);
    p->max_depth = test_rng_below(r, 3) ? 0 : test_rng_below(r, 6);
    if (test_rng_below(r, 2))
        hs_picture_set_url_base(p, test_rng_below(r, 2) ? "http://h:1/"
                                                        : "http://h:1");
    for (uint32_t i = 0; i < n; i++) {
        struct hs_picture_node nd = HS_PICTURE_NODE_INIT;

        snprintf(buf, sizeof(buf), "o%u", i + 1);
        nd.key = keep(t, buf);
        random_text(r, buf, sizeof(buf));
        nd.type_name = keep(t, buf);
        if (test_rng_below(r, 4)) {
            random_text(r, buf, sizeof(buf));
            nd.value = keep(t, buf);
        }
        nd.object_id = test_rng_below(r, 3) ? (int64_t)i + 1 : -1;
        nd.address = test_rng_below(r, 2) ? 0x7f0000000000ULL + i * 16 : 0;
        nd.size = test_rng_next(r) >> test_rng_below(r, 64);
        nd.retained =
            test_rng_below(r, 2) ? HS_PIC_UNKNOWN : test_rng_next(r) >> 20;
        nd.refcount = (int64_t)test_rng_below(r, 5) - 1;
        nd.depth = test_rng_below(r, 5);
        nd.root_kind = (int)test_rng_below(r, HS_ROOT_NKINDS + 1) - 1;
        if (test_rng_below(r, 2))
            nd.root_kind = -1;
        nd.flags = (unsigned)test_rng_below(r, 64);
        if (test_rng_below(r, 3) == 0)
            nd.more_refs = test_rng_next(r) >> test_rng_below(r, 64);
        if (test_rng_below(r, 3) == 0)
            nd.more_backrefs = 1 + test_rng_below(r, 3);
        assert_int_equal(hs_picture_add_node(p, &nd, NULL), 0);
    }
    for (uint32_t e = 0; e < m; e++) {
        enum hs_edge_kind k =
            (enum hs_edge_kind)test_rng_below(r, HS_EDGE_OTHER + 1);

        random_text(r, buf, sizeof(buf));
        assert_int_equal(hs_picture_add_edge(p, test_rng_below(r, n),
                                             test_rng_below(r, n),
                                             test_rng_below(r, 4) ? buf : NULL,
                                             k, k == HS_EDGE_WEAK),
                         0);
    }
}

/* objgraph's fill value at depth d. */
static double
fill_value(uint32_t d, uint32_t maxd)
{
    if (!maxd)
        return 1.0;
    return 1.0 - 0.7 * (double)(d < maxd ? d : maxd) / (double)maxd;
}

static uint32_t
max_depth_of(const struct hs_picture *p)
{
    uint32_t maxd = 0;

    for (uint32_t v = 0; v < p->nnodes; v++)
        maxd = p->nodes[v].depth > maxd ? p->nodes[v].depth : maxd;
    return p->max_depth ? p->max_depth : maxd;
}

static int
is_root(const struct hs_picture_node *n)
{
    return n->root_kind >= 0 || (n->flags & HS_PIC_EXTERNAL);
}

static char *
expected_root_line(const struct hs_picture_node *n)
{
    if (n->root_kind < 0)
        return strdup("root: external");
    return hs_xasprintf(
        "root: %s%s", hs_root_kind_name((enum hs_root_kind)n->root_kind),
        (n->flags & HS_PIC_EXTERNAL) && n->root_kind != HS_ROOT_EXTERNAL
            ? ", external"
            : "");
}

static char *
expected_label(const struct hs_picture_node *n)
{
    struct hs_buf b = HS_BUF_INIT;
    char human[32], *e;

    e = expected_esc(n->type_name, 60, 1);
    hs_buf_adds(&b, e);
    free(e);
    if (n->value) {
        e = expected_esc(n->value, 48, 1);
        hs_buf_addf(&b, "\\n%s", e);
        free(e);
    }
    hs_buf_addf(&b, "\\n%s", hs_human_size(n->size, human, sizeof(human)));
    if (n->retained != HS_PIC_UNKNOWN)
        hs_buf_addf(&b, " \xc2\xb7 retains %s",
                    hs_human_size(n->retained, human, sizeof(human)));
    if (is_root(n)) {
        e = expected_root_line(n);
        hs_buf_addf(&b, "\\n%s", e);
        free(e);
    }
    return hs_buf_detach(&b);
}

static void
check_node(const struct hs_picture *p, const struct dot_doc *doc,
           const struct hs_picture_node *n, uint32_t maxd)
{
    const struct dot_node *dn = dot_node(doc, n->key);
    double v = fill_value(n->depth, maxd), hsv[3];
    int dark = !(n->flags & HS_PIC_HIGHLIGHT) && v < 0.5;
    char *label = expected_label(n);

    assert_non_null(dn);
    assert_attr(&dn->attrs, "id", n->key);
    assert_attr(&dn->attrs, "label", label);
    free(label);
    parse_hsv(attrs_get(&dn->attrs, "fillcolor"), hsv);
    if (n->flags & HS_PIC_HIGHLIGHT) {
        assert_true(fabs(hsv[0] - 0.6) < 1e-9 && fabs(hsv[1] - 0.6) < 1e-9);
        assert_true(fabs(hsv[2] - (0.5 + v / 2)) < 1e-3);
    } else {
        assert_true(fabs(hsv[0] - (n->flags & HS_PIC_MODULE ? 0.3 : 0)) <
                    1e-9);
        assert_true(fabs(hsv[1] - (n->flags & HS_PIC_MODULE ? 1 : 0)) < 1e-9);
        assert_true(fabs(hsv[2] - v) < 1e-3);
    }
    if (n->flags & HS_PIC_TARGET) {
        assert_attr(&dn->attrs, "fontcolor", dark ? "0,0.3,1" : "red");
        assert_attr(&dn->attrs, "color", "red");
        assert_attr(&dn->attrs, "penwidth", "2");
    } else {
        assert_attr(&dn->attrs, "fontcolor", dark ? "white" : "black");
        assert_attr(&dn->attrs, "penwidth", "1");
    }
    assert_attr(&dn->attrs, "style",
                n->flags & HS_PIC_UNREACHABLE ? "filled,dashed" : "filled");
    assert_attr(&dn->attrs, "peripheries", is_root(n) ? "2" : "1");
    assert_attr(&dn->attrs, "shape", "box");
    if (p->url_base && n->object_id >= 0) {
        char want[64];

        snprintf(want, sizeof(want), "http://h:1/object/%lld",
                 (long long)n->object_id);
        assert_attr(&dn->attrs, "URL", want);
    } else {
        assert_attr(&dn->attrs, "URL", NULL);
    }
    {
        const char *tip = attrs_get(&dn->attrs, "tooltip");
        char *type = expected_esc(n->type_name, 0, 2);
        char want[64];

        assert_non_null(tip);
        assert_true(!strncmp(tip, type, strlen(type)));
        free(type);
        snprintf(want, sizeof(want), "\\nrefcount %lld",
                 (long long)n->refcount);
        assert_true((strstr(tip, want) != NULL) == (n->refcount >= 0));
        snprintf(want, sizeof(want), " at 0x%llx",
                 (unsigned long long)n->address);
        assert_true((strstr(tip, want) != NULL) == (n->address != 0));
    }
}

static void
check_helpers(const struct dot_doc *doc, const struct hs_picture_node *n)
{
    char name[64], want[96], digits[32];
    const struct dot_edge *e;

    snprintf(name, sizeof(name), "%s.del", n->key);
    assert_true((dot_node(doc, name) != NULL) ==
                ((n->flags & HS_PIC_HAS_DEL) != 0));
    if (n->flags & HS_PIC_HAS_DEL) {
        assert_attr(&dot_node(doc, name)->attrs, "shape", "doublecircle");
        assert_attr(&dot_node(doc, name)->attrs, "label", "__del__");
        e = dot_edge(doc, n->key, name);
        assert_non_null(e);
        assert_attr(&e->attrs, "style", "dotted");
        assert_attr(&e->attrs, "color", "red");
        assert_attr(&e->attrs, "arrowhead", "none");
    }
    for (int back = 0; back < 2; back++) {
        uint64_t count = back ? n->more_backrefs : n->more_refs;

        snprintf(name, sizeof(name), "%s.%s", n->key,
                 back ? "more_backrefs" : "more_refs");
        assert_true((dot_node(doc, name) != NULL) == (count != 0));
        if (!count)
            continue;
        group_digits(count, digits, sizeof(digits));
        snprintf(want, sizeof(want), "%s more %sreference%s", digits,
                 back ? "back" : "", count == 1 ? "" : "s");
        assert_attr(&dot_node(doc, name)->attrs, "label", want);
        assert_attr(&dot_node(doc, name)->attrs, "color", "red");
        assert_attr(&dot_node(doc, name)->attrs, "fontcolor", "white");
        e = back ? dot_edge(doc, name, n->key) : dot_edge(doc, n->key, name);
        assert_non_null(e);
        assert_attr(&e->attrs, "style", "dotted");
        assert_attr(&e->attrs, "color", "red");
        assert_attr(&e->attrs, "weight", "10");
    }
}

static void
check_edges(const struct hs_picture *p, const struct dot_doc *doc)
{
    uint32_t *layer = malloc((p->nnodes + 1) * sizeof(*layer));
    int back = p->dir == HS_PIC_DIR_BACKREFS;

    oracle_layers(p, layer);
    for (uint32_t i = 0; i < p->nedges; i++) {
        const struct hs_picture_edge *pe = &p->edges[i];
        uint32_t a = back ? pe->to : pe->from, b = back ? pe->from : pe->to;
        int ranks = layer[b] == layer[a] + 1;
        uint32_t ord = 0;
        char id[64], w[8];
        const struct dot_edge *e;

        for (uint32_t j = 0; j < i; j++)
            ord += p->edges[j].from == pe->from && p->edges[j].to == pe->to;
        if (ord)
            snprintf(id, sizeof(id), "%s.%s.%u", p->nodes[pe->from].key,
                     p->nodes[pe->to].key, ord);
        else
            snprintf(id, sizeof(id), "%s.%s", p->nodes[pe->from].key,
                     p->nodes[pe->to].key);
        e = dot_edge_by_id(doc, id);
        assert_non_null(e);
        assert_string_equal(e->tail, p->nodes[pe->from].key);
        assert_string_equal(e->head, p->nodes[pe->to].key);
        if (pe->label) {
            char *want = expected_esc(pe->label, 40, 1);
            char *tip = expected_esc(pe->label, 200, 2);

            assert_attr(&e->attrs, ranks ? "label" : "xlabel", want);
            assert_attr(&e->attrs, ranks ? "xlabel" : "label", NULL);
            assert_attr(&e->attrs, "tooltip", tip);
            free(want);
            free(tip);
        } else {
            assert_attr(&e->attrs, "label", NULL);
            assert_attr(&e->attrs, "xlabel", NULL);
        }
        snprintf(w, sizeof(w), "%u", (unsigned)pe->weight);
        assert_attr(&e->attrs, "weight", w);
        assert_attr(&e->attrs, "style", pe->weak ? "dashed" : NULL);
        assert_attr(&e->attrs, "constraint", ranks ? "true" : "false");
    }
    free(layer);
}

static void
check_legend(const struct hs_picture *p, const struct dot_doc *doc,
             uint32_t maxd, size_t *legend_nodes)
{
    unsigned roles = 0;
    int roots = 0, more = 0, weak = 0;

    struct {
        const char *name;
        int present;
    } want[12];

    size_t nw = 0, seen = 0;

    for (uint32_t v = 0; v < p->nnodes; v++) {
        roles |= p->nodes[v].flags;
        roots |= is_root(&p->nodes[v]);
        more |= p->nodes[v].more_refs || p->nodes[v].more_backrefs;
    }
    for (uint32_t e = 0; e < p->nedges; e++)
        weak |= p->edges[e].weak;
#define WANT(n, c) (want[nw].name = (n), want[nw++].present = p->legend && (c))
    WANT("legend.target", roles & HS_PIC_TARGET);
    WANT("legend.near", maxd > 0);
    WANT("legend.far", maxd > 0);
    WANT("legend.module", roles & HS_PIC_MODULE);
    WANT("legend.highlight", roles & HS_PIC_HIGHLIGHT);
    WANT("legend.root", roots);
    WANT("legend.unreachable", roles & HS_PIC_UNREACHABLE);
    WANT("legend.del", roles & HS_PIC_HAS_DEL);
    WANT("legend.more", more);
    WANT("legend.ref_from", 1);
    WANT("legend.ref_to", 1);
    WANT("legend.weak_from", weak);
#undef WANT
    for (size_t i = 0; i < nw; i++) {
        const struct dot_node *n = dot_node(doc, want[i].name);

        assert_true((n != NULL) == want[i].present);
        if (n)
            assert_string_equal(n->graph,
                                !strcmp(want[i].name, "legend.ref_to")
                                    ? "cluster_legend"
                                    : "legend_row");
    }
    for (size_t i = 0; i < doc->nnodes; i++)
        seen += !strncmp(doc->nodes[i].name, "legend.", 7);
    assert_true(!p->legend || seen >= 3);
    *legend_nodes = seen;
}

/* Every attribute of every node and edge of thousands of random pictures. */
static void
test_render_dot__random_pictures_match_oracle(void **state)
{
    static struct texts t;

    (void)state;
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        struct test_rng r = { seed * 0xD1B54A32D192ED03ULL };
        struct hs_picture p;
        struct dot_doc doc;
        char *text;
        uint32_t maxd;
        size_t helpers = 0, legend_nodes = 0;

        random_picture(&r, &p, &t);
        maxd = max_depth_of(&p);
        text = dot_text_of(&p, &doc);
        for (uint32_t v = 0; v < p.nnodes; v++) {
            const struct hs_picture_node *n = &p.nodes[v];

            check_node(&p, &doc, n, maxd);
            check_helpers(&doc, n);
            helpers += !!(n->flags & HS_PIC_HAS_DEL) + !!n->more_refs +
                       !!n->more_backrefs;
        }
        check_edges(&p, &doc);
        check_legend(&p, &doc, maxd, &legend_nodes);
        assert_int_equal(doc.nnodes, p.nnodes + helpers + legend_nodes);
        assert_string_equal(doc.graphs[0].name, "heapsnap");
        dot_free(&doc);
        free(text);
        hs_picture_release(&p);
    }
}

/* ---- files, xmllint ----------------------------------------------------- */

/* A fresh empty folder under /tmp; malloc'd path. */
static char *
temp_dir(void)
{
    char tmpl[] = "/tmp/hs-render-XXXXXX";

    assert_non_null(mkdtemp(tmpl));
    return strdup(tmpl);
}

static char *
path_in(const char *dir, const char *name)
{
    return hs_xasprintf("%s/%s", dir, name);
}

static int
file_exists(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0;
}

/* The whole file, malloc'd and NUL-terminated; its size in *len. */
static char *
read_file(const char *path, size_t *len)
{
    FILE *f = fopen(path, "rb");
    struct hs_buf b = HS_BUF_INIT;
    char chunk[8192];
    size_t n;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hs_buf_add(&b, chunk, n);
    fclose(f);
    if (len)
        *len = b.len;
    return hs_buf_detach(&b);
}

/* Output of a shell command, malloc'd; its exit status in *status. */
static char *
run(const char *cmd, int *status)
{
    FILE *f = popen(cmd, "r");
    struct hs_buf b = HS_BUF_INIT;
    char chunk[8192];
    size_t n;
    int rc;

    assert_non_null(f);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        hs_buf_add(&b, chunk, n);
    rc = pclose(f);
    *status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
    return hs_buf_detach(&b);
}

static void
assert_xml_ok(const char *path)
{
    /* Warnings (the SVG DTD is not fetched) do not change the status. */
    char *cmd = hs_xasprintf("xmllint --nonet --noout '%s' 2>&1", path);
    int status;
    char *out = run(cmd, &status);

    if (status != 0) {
        fprintf(stderr, "xmllint: %s\n", out);
        fail();
    }
    free(out);
    free(cmd);
}

/* Canonical XML of an SVG file (xmllint --c14n), malloc'd. */
static char *
svg_canonical(const char *path)
{
    /* Without --nonet xmllint tries to fetch the SVG DTD (and warns). */
    char *cmd = hs_xasprintf("xmllint --nonet --c14n '%s' 2>/dev/null", path);
    int status;
    char *out = run(cmd, &status);

    assert_int_equal(status, 0);
    free(cmd);
    return out;
}

/* Decodes the entities canonical XML uses; NBSP (Graphviz's doubled
 * spaces) becomes a space. */
static void
xml_unescape(const char *s, size_t len, struct hs_buf *out)
{
    static const struct {
        const char *ent, *ch;
    } ents[] = { { "&amp;", "&" },   { "&lt;", "<" },   { "&gt;", ">" },
                 { "&quot;", "\"" }, { "&#xD;", "\r" }, { "&#xA;", "\n" },
                 { "&#x9;", "\t" } };

    for (size_t i = 0; i < len;) {
        size_t k;

        for (k = 0; k < HS_ARRAY_SIZE(ents); k++) {
            size_t l = strlen(ents[k].ent);

            if (i + l <= len && !strncmp(s + i, ents[k].ent, l)) {
                hs_buf_adds(out, ents[k].ch);
                i += l;
                break;
            }
        }
        if (k < HS_ARRAY_SIZE(ents))
            continue;
        if (i + 1 < len && (unsigned char)s[i] == 0xc2 &&
            (unsigned char)s[i + 1] == 0xa0) {
            hs_buf_addch(out, ' ');
            i += 2;
            continue;
        }
        hs_buf_addch(out, s[i++]);
    }
}

/*
 * The texts (one per label line) and the link title of SVG node `key`, from
 * canonical XML: everything between its <g class="node" id="KEY"> and the
 * next node, edge or cluster group.  Lines are joined with '\n'.
 */
static void
svg_node_text(const char *c14n, const char *key, struct hs_buf *lines,
              struct hs_buf *title)
{
    char *open = hs_xasprintf("<g class=\"node\" id=\"%s\">", key);
    const char *start = strstr(c14n, open), *end;

    if (!start) {
        fprintf(stderr, "no SVG node '%s'\n", key);
        fail();
    }
    start += strlen(open);
    end = strstr(start, "<g class=");
    if (!end)
        end = start + strlen(start);
    for (const char *t = start; (t = strstr(t, "<text")) && t < end;) {
        const char *gt = strchr(t, '>'), *close = strstr(t, "</text>");

        if (lines->len)
            hs_buf_addch(lines, '\n');
        xml_unescape(gt + 1, (size_t)(close - gt - 1), lines);
        t = close;
    }
    {
        const char *a = strstr(start, "xlink:title=\"");

        if (a && a < end) {
            a += strlen("xlink:title=\"");
            xml_unescape(a, strcspn(a, "\""), title);
        }
    }
    free(open);
}

/* ---- text escaping ------------------------------------------------------ */

static const char *const nasty[] = {
    "plain",
    "quote \" inside",
    "back\\slash",
    "ends with backslash\\",
    "\\\"",
    "\\N \\G \\E \\T \\H \\L \\l \\r \\n",
    "new\nline and\ttab\rcr",
    "amp & lt < gt > &amp; &lt; &#60; &#x3c; &foo; &",
    "<b>not html</b> ]]> <!-- -- -->",
    "invalid \xff\xfe bytes \xc3",
    "surrogate \xed\xa0\x80 overlong \xc0\xaf nonchar \xef\xbf\xbe",
    "ctl \x01\x02\x1b\x7f end",
    "utf8 \xc3\xa9\xe2\x82\xac \xf0\x9f\x90\x8d",
    "percent %s %n %%",
    "x",
};

static void
nasty_picture(struct hs_picture *p)
{
    char key[16];

    hs_picture_init(p, 0);
    p->dir = HS_PIC_DIR_REFS;
    hs_picture_set_title(p, "title \" \\ & \n\xff");
    hs_picture_set_url_base(p, "http://127.0.0.1:1/a&b\\c");
    for (size_t i = 0; i < HS_ARRAY_SIZE(nasty); i++) {
        struct hs_picture_node n = HS_PICTURE_NODE_INIT;

        snprintf(key, sizeof(key), "o%zu", i + 1);
        n.key = key;
        n.type_name = nasty[i];
        n.value = nasty[HS_ARRAY_SIZE(nasty) - 1 - i];
        n.object_id = (int64_t)i + 1;
        n.size = 56;
        n.depth = i ? 1 : 0;
        assert_int_equal(hs_picture_add_node(p, &n, NULL), 0);
        if (i)
            assert_int_equal(hs_picture_add_edge(p, 0, (uint32_t)i, nasty[i],
                                                 HS_EDGE_VALUE, 0),
                             0);
    }
}

/* Hand-written escStrings for a few of them: the oracle's oracle. */
static void
test_render_dot__escapes_by_hand(void **state)
{
    static const struct {
        const char *text, *label, *tooltip;
    } cases[] = {
        { "a\\b", "a\\\\b", "a\\\\\\\\b" },
        { "q\"q", "q\"q", "q\"q" },
        { "x&y", "x&amp;y", "x&amp;y" },
        { "1\n2", "1\\\\n2", "1\\\\\\\\n2" },
        { "\xff", "\\\\xff", "\\\\\\\\xff" },
        { "\\N", "\\\\N", "\\\\\\\\N" },
        { "\xc3\xa9", "\xc3\xa9", "\xc3\xa9" },
    };

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(cases); i++) {
        char *l = expected_esc(cases[i].text, 0, 1);
        char *t = expected_esc(cases[i].text, 0, 2);
        struct hs_picture p;
        struct hs_picture_node n = HS_PICTURE_NODE_INIT;
        struct dot_doc doc;
        char *text, *want;

        assert_string_equal(l, cases[i].label);
        assert_string_equal(t, cases[i].tooltip);
        hs_picture_init(&p, 0);
        n.key = "o1";
        n.type_name = cases[i].text;
        assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
        text = dot_text_of(&p, &doc);
        want = hs_xasprintf("%s\\n0 B", cases[i].label);
        assert_attr(&dot_node(&doc, "o1")->attrs, "label", want);
        free(want);
        want = hs_xasprintf("%s\\nsize 0 B", cases[i].tooltip);
        assert_attr(&dot_node(&doc, "o1")->attrs, "tooltip", want);
        free(want);
        dot_free(&doc);
        free(text);
        hs_picture_release(&p);
        free(l);
        free(t);
    }
}

/* Label lines of node `n` as the SVG must show them. */
static char *
expected_svg_lines(const struct hs_picture_node *n)
{
    char *type = shown(n->type_name, 60);
    char *value = n->value ? shown(n->value, 48) : NULL;
    char *s = value ? hs_xasprintf("%s\n%s\n56 B", type, value)
                    : hs_xasprintf("%s\n56 B", type);

    free(type);
    free(value);
    return s;
}

/* xml_unescape() reads NBSP as a space; the oracle's text must too. */
static void
nbsp_to_space(char *s)
{
    char *o = s;

    for (; *s; s++) {
        if ((unsigned char)s[0] == 0xc2 && (unsigned char)s[1] == 0xa0) {
            *o++ = ' ';
            s++;
        } else {
            *o++ = *s;
        }
    }
    *o = '\0';
}

/* Graphviz's SVG shows exactly the oracle's text, and the XML is valid. */
static void
check_svg_text(const struct hs_picture *p, const char *svg)
{
    char *c14n;

    assert_xml_ok(svg);
    c14n = svg_canonical(svg);
    for (uint32_t v = 0; v < p->nnodes; v++) {
        const struct hs_picture_node *n = &p->nodes[v];
        struct hs_buf lines = HS_BUF_INIT, title = HS_BUF_INIT;
        char *want = expected_svg_lines(n);
        char *type = shown(n->type_name, 0);

        svg_node_text(c14n, n->key, &lines, &title);
        nbsp_to_space(want);
        nbsp_to_space(type);
        if (strcmp(lines.buf, want)) {
            fprintf(stderr, "node %s shows '%s', want '%s'\n", n->key,
                    lines.buf, want);
            for (size_t i = 0; lines.buf[i] || want[i]; i++) {
                if (lines.buf[i] != want[i]) {
                    fprintf(stderr, "differ at %zu: %02x vs %02x\n", i,
                            (unsigned char)lines.buf[i],
                            (unsigned char)want[i]);
                    break;
                }
            }
            fail();
        }
        /* The tooltip starts with the type, exactly, then a newline. */
        assert_true(!strncmp(title.buf, type, strlen(type)));
        assert_true(title.buf[strlen(type)] == '\n');
        free(type);
        free(want);
        hs_buf_release(&lines);
        hs_buf_release(&title);
    }
    free(c14n);
}

static void
test_render_dot__nasty_text_svg(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir(), *svg = path_in(dir, "nasty.svg");
    char *dot = path_in(dir, "nasty.dot"), *c14n, *href;

    (void)state;
    nasty_picture(&p);
    assert_int_equal(hs_render_dot_file(&p, svg), 0);
    check_svg_text(&p, svg);
    c14n = svg_canonical(svg);
    /* The URL keeps its & and backslash. */
    href =
        strstr(c14n, "xlink:href=\"http://127.0.0.1:1/a&amp;b\\c/object/1\"");
    assert_non_null(href);
    free(c14n);
    /* Graphviz's own parser reads our DOT back to the same picture. */
    assert_int_equal(hs_render_dot_file(&p, dot), 0);
    if (file_exists("/usr/bin/dot")) {
        char *svg2 = path_in(dir, "from-dot.svg");
        char *cmd = hs_xasprintf("dot -Tsvg -o '%s' '%s' 2>&1", svg2, dot);
        int status;
        char *out = run(cmd, &status);

        assert_int_equal(status, 0);
        check_svg_text(&p, svg2);
        unlink(svg2);
        free(svg2);
        free(out);
        free(cmd);
    }
    unlink(svg);
    unlink(dot);
    rmdir(dir);
    free(svg);
    free(dot);
    free(dir);
    hs_picture_release(&p);
}

/* Random bytes in every label and tooltip: still valid XML, still exact. */
static void
test_render_dot__random_text_svg(void **state)
{
    char *dir = temp_dir(), *svg = path_in(dir, "random.svg");
    static char texts[2][200][64];

    (void)state;
    for (uint64_t seed = 1; seed <= 4; seed++) {
        struct test_rng r = { seed * 0xA24BAED4963EE407ULL };
        struct hs_picture p;
        char key[16];

        hs_picture_init(&p, 0);
        p.dir = HS_PIC_DIR_REFS;
        for (uint32_t i = 0; i < 200; i++) {
            struct hs_picture_node n = HS_PICTURE_NODE_INIT;
            size_t len = 1 + test_rng_below(&r, 60);

            for (int k = 0; k < 2; k++) {
                for (size_t j = 0; j < len; j++)
                    texts[k][i][j] = (char)(1 + test_rng_below(&r, 255));
                texts[k][i][len] = '\0';
            }
            snprintf(key, sizeof(key), "o%u", i + 1);
            n.key = key;
            n.type_name = texts[0][i];
            n.value = texts[1][i];
            n.size = 56;
            n.depth = i ? 1 : 0;
            assert_int_equal(hs_picture_add_node(&p, &n, NULL), 0);
            if (i)
                assert_int_equal(hs_picture_add_edge(&p, i / 10, i,
                                                     texts[0][i], HS_EDGE_ATTR,
                                                     0),
                                 0);
        }
        assert_int_equal(hs_render_dot_file(&p, svg), 0);
        check_svg_text(&p, svg);
        hs_picture_release(&p);
    }
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(dir);
}

/* ---- roles and styles, one by one --------------------------------------- */

/* The picture of the brief: one of each role, both directions of "more". */
static void
role_picture(struct hs_picture *p)
{
    static const struct {
        const char *key, *type, *value;
        uint32_t depth;
        unsigned flags;
        int root;
        uint64_t more_refs, more_backrefs;
    } spec[] = {
        { "o1", "__main__.Holder", NULL, 0, HS_PIC_TARGET | HS_PIC_HAS_DEL, -1,
          0, 0 },
        { "o2", "dict", "3 items", 1, 0, -1, 1, 0 },
        { "o3", "module", "__main__", 1, HS_PIC_MODULE, HS_ROOT_MODULE, 0, 2 },
        { "o4", "Leaf", NULL, 2, HS_PIC_HIGHLIGHT, -1, 1234, 0 },
        { "o5", "list", "0 items", 3, HS_PIC_UNREACHABLE | HS_PIC_EXTERNAL, -1,
          0, 1 },
    };

    hs_picture_init(p, 0);
    p->dir = HS_PIC_DIR_REFS;
    p->legend = 1;
    hs_picture_set_title(p, "refs of Holder");
    hs_picture_set_url_base(p, "http://127.0.0.1:8000/");
    for (size_t i = 0; i < HS_ARRAY_SIZE(spec); i++) {
        struct hs_picture_node n = HS_PICTURE_NODE_INIT;

        n.key = spec[i].key;
        n.type_name = spec[i].type;
        n.value = spec[i].value;
        n.object_id = (int64_t)i + 1;
        n.address = 0x7f0000001000ULL + i * 0x40;
        n.size = 56 * (i + 1);
        n.retained = i == 0 ? 1258291 : HS_PIC_UNKNOWN;
        n.refcount = (int64_t)i + 1;
        n.depth = spec[i].depth;
        n.flags = spec[i].flags;
        n.root_kind = spec[i].root;
        n.more_refs = spec[i].more_refs;
        n.more_backrefs = spec[i].more_backrefs;
        assert_int_equal(hs_picture_add_node(p, &n, NULL), 0);
    }
    assert_int_equal(
        hs_picture_add_edge(p, 0, 1, ".__dict__", HS_EDGE_ATTR, 0), 0);
    assert_int_equal(hs_picture_add_edge(p, 1, 2, "['mod']", HS_EDGE_VALUE, 0),
                     0);
    assert_int_equal(hs_picture_add_edge(p, 2, 3, "(weak)", HS_EDGE_WEAK, 1),
                     0);
    assert_int_equal(hs_picture_add_edge(p, 3, 4, "[0]", HS_EDGE_ITEM, 0), 0);
    assert_int_equal(hs_picture_add_edge(p, 3, 4, "[1]", HS_EDGE_ITEM, 0), 0);
    assert_int_equal(hs_picture_add_edge(p, 4, 0, ".back", HS_EDGE_ATTR, 0),
                     0);
}

static void
test_render_dot__roles_and_styles(void **state)
{
    struct hs_picture p;
    struct dot_doc doc;
    char *text;
    const struct dot_edge *e;

    (void)state;
    role_picture(&p);
    text = dot_text_of(&p, &doc);
    /* The object asked about: red text and border. */
    assert_string_equal(node_attr(&doc, "o1", "fontcolor"), "red");
    assert_string_equal(node_attr(&doc, "o1", "color"), "red");
    assert_string_equal(node_attr(&doc, "o1", "fillcolor"), "white");
    assert_string_equal(node_attr(&doc, "o1", "label"),
                        "__main__.Holder\\n56 B \xc2\xb7 retains 1.2 MiB");
    /* Modules green, highlighted blue, depth 3 of 3 dark with white text. */
    assert_string_equal(node_attr(&doc, "o3", "fillcolor"), "0.3,1,0.7667");
    assert_string_equal(node_attr(&doc, "o4", "fillcolor"), "0.6,0.6,0.7667");
    assert_string_equal(node_attr(&doc, "o5", "fillcolor"), "0,0,0.3");
    assert_string_equal(node_attr(&doc, "o5", "fontcolor"), "white");
    assert_string_equal(node_attr(&doc, "o2", "fontcolor"), "black");
    /* Roots and unreachable objects. */
    assert_string_equal(node_attr(&doc, "o3", "peripheries"), "2");
    assert_string_equal(node_attr(&doc, "o3", "label"),
                        "module\\n__main__\\n168 B\\nroot: module");
    assert_string_equal(node_attr(&doc, "o5", "style"), "filled,dashed");
    assert_string_equal(node_attr(&doc, "o5", "peripheries"), "2");
    /* __del__ marker. */
    assert_string_equal(node_attr(&doc, "o1.del", "shape"), "doublecircle");
    assert_string_equal(node_attr(&doc, "o1.del", "color"), "red");
    /* "N more" boxes, pluralised, in both directions. */
    assert_string_equal(node_attr(&doc, "o2.more_refs", "label"),
                        "1 more reference");
    assert_string_equal(node_attr(&doc, "o4.more_refs", "label"),
                        "1,234 more references");
    assert_string_equal(node_attr(&doc, "o3.more_backrefs", "label"),
                        "2 more backreferences");
    assert_string_equal(node_attr(&doc, "o5.more_backrefs", "label"),
                        "1 more backreference");
    assert_string_equal(node_attr(&doc, "o2.more_refs", "fontsize"), "7");
    e = dot_edge(&doc, "o3.more_backrefs", "o3");
    assert_non_null(e);
    assert_attr(&e->attrs, "style", "dotted");
    assert_attr(&e->attrs, "color", "red");
    /* Edges: weights by kind, dashed weak, parallel ids, back edge free. */
    e = dot_edge_by_id(&doc, "o1.o2");
    assert_attr(&e->attrs, "weight", "10");
    assert_attr(&e->attrs, "label", ".__dict__");
    e = dot_edge_by_id(&doc, "o2.o3");
    assert_attr(&e->attrs, "weight", "2");
    e = dot_edge_by_id(&doc, "o3.o4");
    assert_attr(&e->attrs, "style", "dashed");
    assert_attr(&e->attrs, "weight", "1");
    assert_non_null(dot_edge_by_id(&doc, "o4.o5"));
    assert_attr(&dot_edge_by_id(&doc, "o4.o5.1")->attrs, "label", "[1]");
    e = dot_edge_by_id(&doc, "o5.o1");
    assert_attr(&e->attrs, "constraint", "false");
    assert_attr(&e->attrs, "xlabel", ".back");
    /* Tooltips and links into the viewer. */
    assert_string_equal(node_attr(&doc, "o1", "URL"),
                        "http://127.0.0.1:8000/object/1");
    assert_string_equal(node_attr(&doc, "o1", "tooltip"),
                        "__main__.Holder at 0x7f0000001000\\nsize 56 B, "
                        "retains 1.2 MiB\\nrefcount 1\\ntype defines __del__");
    assert_string_equal(node_attr(&doc, "o3", "tooltip"),
                        "module at 0x7f0000001080\\nsize 168 B\\nrefcount 3"
                        "\\nroot: module\\nvalue: __main__");
    assert_string_equal(node_attr(&doc, "o5", "label"),
                        "list\\n0 items\\n280 B\\nroot: external");
    /* Legend and title. */
    assert_string_equal(node_attr(&doc, "legend.target", "fontcolor"), "red");
    assert_string_equal(node_attr(&doc, "legend.weak_from", "shape"), "point");
    assert_string_equal(attrs_get(&doc.graphs[0].attrs, "label"),
                        "refs of Holder");
    dot_free(&doc);
    free(text);
    p.legend = 0;
    text = dot_text_of(&p, &doc);
    assert_null(dot_node(&doc, "legend.target"));
    for (size_t i = 0; i < doc.ngraphs; i++)
        assert_string_not_equal(doc.graphs[i].name, "cluster_legend");
    dot_free(&doc);
    free(text);
    hs_picture_release(&p);
}

static void
test_render_dot__svg_ids_links(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir(), *svg = path_in(dir, "roles.svg"), *c14n;
    struct stat st;

    (void)state;
    role_picture(&p);
    assert_int_equal(hs_render_dot_file(&p, svg), 0);
    assert_xml_ok(svg);
    assert_int_equal(stat(svg, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    c14n = svg_canonical(svg);
    for (uint32_t v = 0; v < p.nnodes; v++) {
        char *g = hs_xasprintf("<g class=\"node\" id=\"%s\">", p.nodes[v].key);
        char *a = hs_xasprintf(
            "xlink:href=\"http://127.0.0.1:8000/object/%u\"", v + 1);

        assert_non_null(strstr(c14n, g));
        assert_non_null(strstr(c14n, a));
        free(g);
        free(a);
    }
    assert_non_null(strstr(c14n, "<g class=\"edge\" id=\"o4.o5.1\">"));
    assert_non_null(strstr(c14n, "<g class=\"cluster\" id=\"clust1\">"));
    /* Canonical XML writes newlines in attributes as &#xA;. */
    assert_non_null(strstr(c14n, "xlink:title=\"module at 0x7f0000001080&#xA;"
                                 "size 168 B&#xA;refcount 3&#xA;root: module"
                                 "&#xA;value: __main__\""));
    assert_non_null(strstr(c14n, "stroke-dasharray"));
    free(c14n);
    hs_picture_release(&p);
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(dir);
}

static void
test_render_dot__png_pdf_dot_files(void **state)
{
    static const struct {
        const char *name, *magic;
        size_t len;
    } files[] = {
        { "r.png", "\x89PNG\r\n\x1a\n", 8 },
        { "r.PDF", "%PDF-", 5 },
        { "r.dot", "digraph heapsnap {", 18 },
        { "r.gv", "digraph heapsnap {", 18 },
        { "r.Svg", "<?xml", 5 },
    };
    struct hs_picture p;
    char *dir = temp_dir();

    (void)state;
    role_picture(&p);
    for (size_t i = 0; i < HS_ARRAY_SIZE(files); i++) {
        char *path = path_in(dir, files[i].name);
        char *tmp = hs_xasprintf("%s.tmp", path);
        size_t len;
        char *data;

        assert_int_equal(hs_render_dot_file(&p, path), 0);
        data = read_file(path, &len);
        assert_true(len > files[i].len);
        assert_memory_equal(data, files[i].magic, files[i].len);
        assert_false(file_exists(tmp));
        if (i == 2) {
            char *text = hs_render_dot_text(&p, NULL);

            assert_string_equal(data, text);
            free(text);
        }
        unlink(path);
        free(data);
        free(tmp);
        free(path);
    }
    rmdir(dir);
    free(dir);
    hs_picture_release(&p);
}

/* ---- failures ----------------------------------------------------------- */

static void
test_render_dot__unknown_extension(void **state)
{
    static const char *const bad[] = { "out.jpg",     "out",  "dir.svg/out",
                                       "out.svg.bak", "out.", ".svgx" };
    struct hs_picture p;
    char *dir = temp_dir();
    enum hs_render_format f;

    (void)state;
    role_picture(&p);
    for (size_t i = 0; i < HS_ARRAY_SIZE(bad); i++) {
        char *path = path_in(dir, bad[i]);
        char *tmp = hs_xasprintf("%s.tmp", path);

        hs_error_reset();
        assert_int_equal(hs_render_dot_file(&p, path), -1);
        assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
        hs_error_reset();
        assert_int_equal(hs_render_dot_check(path), -1);
        assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
        assert_false(file_exists(path));
        assert_false(file_exists(tmp));
        free(tmp);
        free(path);
    }
    assert_int_equal(hs_render_dot_format("a/b.c/x.GV", &f), 0);
    assert_int_equal(f, HS_RENDER_DOT);
    assert_int_equal(hs_render_dot_format("x.pdf", &f), 0);
    assert_int_equal(f, HS_RENDER_PDF);
    assert_int_equal(hs_render_dot_check("x.svg"), 0);
    assert_int_equal(hs_render_dot_check("x.png"), 0);
    assert_int_equal(hs_render_dot_check("x.dot"), 0);
    rmdir(dir);
    free(dir);
    hs_picture_release(&p);
}

static void
test_render_dot__io_failures_leave_nothing(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir();
    char *nodir = path_in(dir, "missing/out.svg");
    char *isdir = path_in(dir, "isdir.svg");
    char *isdir_tmp = path_in(dir, "isdir.svg.tmp");
    char *big = path_in(dir, "big.png");
    char *big_tmp = path_in(dir, "big.png.tmp");
    char *keep = path_in(dir, "keep.svg");
    struct rlimit old, lim;
    size_t len;
    char *data;

    (void)state;
    role_picture(&p);
    /* A missing folder: nothing can be created. */
    hs_error_reset();
    assert_int_equal(hs_render_dot_file(&p, nodir), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    /* The name is a folder: the rename fails, the temporary goes. */
    assert_int_equal(mkdir(isdir, 0700), 0);
    hs_error_reset();
    assert_int_equal(hs_render_dot_file(&p, isdir), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    assert_false(file_exists(isdir_tmp));
    /* A write that fails halfway (file size limit): no half file. */
    assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
    lim = old;
    lim.rlim_cur = 1000;
    signal(SIGXFSZ, SIG_IGN);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
    hs_error_reset();
    assert_int_equal(hs_render_dot_file(&p, big), -1);
    assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
    signal(SIGXFSZ, SIG_DFL);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    assert_false(file_exists(big));
    assert_false(file_exists(big_tmp));
    /* A failure never harms the previous picture; a stale .tmp is fine. */
    assert_int_equal(hs_render_dot_file(&p, keep), 0);
    {
        char *tmp = hs_xasprintf("%s.tmp", keep);
        FILE *f = fopen(tmp, "w");

        fputs("stale", f);
        fclose(f);
        p.layout = "nonsense";
        hs_error_reset();
        assert_int_equal(hs_render_dot_file(&p, keep), -1);
        assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
        data = read_file(keep, &len);
        assert_non_null(strstr(data, "</svg>"));
        free(data);
        p.layout = NULL;
        assert_int_equal(hs_render_dot_file(&p, keep), 0);
        assert_false(file_exists(tmp));
        free(tmp);
    }
    unlink(keep);
    rmdir(isdir);
    rmdir(dir);
    free(nodir);
    free(isdir);
    free(isdir_tmp);
    free(big);
    free(big_tmp);
    free(keep);
    free(dir);
    hs_picture_release(&p);
}

/*
 * Without plugins (GVBINDIR pointing at an empty folder) the renderer says
 * so with exit 4, and DOT text still works.  Run in a child: libgvc reads
 * GVBINDIR once per process.
 */
static void
test_render_dot__missing_plugins(void **state)
{
    char *dir = temp_dir(), *svg = path_in(dir, "x.svg");
    char *dot = path_in(dir, "x.dot");
    int pipefd[2], status;
    pid_t pid;
    struct hs_buf err = HS_BUF_INIT;
    char chunk[512];
    ssize_t n;

    (void)state;
    assert_int_equal(pipe(pipefd), 0);
    fflush(NULL);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct hs_picture p;
        int code = 0;

        dup2(pipefd[1], 2);
        close(pipefd[0]);
        setenv("GVBINDIR", dir, 1);
        role_picture(&p);
        hs_error_reset();
        if (hs_render_dot_check(svg) != -1 || hs_error_status() != HS_EXIT_IO)
            code = 10;
        hs_error_reset();
        if (!code && (hs_render_dot_file(&p, svg) != -1 ||
                      hs_error_status() != HS_EXIT_IO))
            code = 11;
        if (!code && (file_exists(svg) || hs_render_dot_file(&p, dot) != 0))
            code = 12;
        hs_picture_release(&p);
        fflush(NULL);
        _exit(code);
    }
    close(pipefd[1]);
    while ((n = read(pipefd[0], chunk, sizeof(chunk))) > 0)
        hs_buf_add(&err, chunk, (size_t)n);
    close(pipefd[0]);
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status));
    assert_int_equal(WEXITSTATUS(status), 0);
    assert_non_null(strstr(err.buf, "plugin"));
    assert_non_null(strstr(err.buf, "dot -c"));
    assert_non_null(strstr(err.buf, "x.svg"));
    hs_buf_release(&err);
    unlink(dot);
    rmdir(dir);
    free(svg);
    free(dot);
    free(dir);
}

/* ---- caps, limits, sizes ------------------------------------------------ */

/* A tree of n nodes with fan-out `fan` plus `cross` random edges. */
static void
tree_picture(struct hs_picture *p, uint32_t n, uint32_t fan, uint32_t cross,
             uint64_t seed)
{
    struct test_rng r = { seed };
    char key[16], value[32], label[32];
    uint32_t *depth = malloc((n + 1) * sizeof(*depth));

    hs_picture_init(p, n);
    p->max_edges = n + cross;
    p->dir = HS_PIC_DIR_REFS;
    hs_picture_set_title(p, "tree");
    for (uint32_t i = 0; i < n; i++) {
        struct hs_picture_node nd = HS_PICTURE_NODE_INIT;

        depth[i] = i ? depth[(i - 1) / fan] + 1 : 0;
        snprintf(key, sizeof(key), "o%u", i + 1);
        snprintf(value, sizeof(value), "%u items", i);
        nd.key = key;
        nd.type_name = i % 7 ? "dict" : "__main__.Node";
        nd.value = value;
        nd.size = 56 + i;
        nd.retained = 1000 * (uint64_t)i;
        nd.depth = depth[i];
        nd.object_id = i + 1;
        nd.flags = i ? 0 : HS_PIC_TARGET;
        assert_int_equal(hs_picture_add_node(p, &nd, NULL), 0);
    }
    for (uint32_t i = 1; i < n; i++) {
        snprintf(label, sizeof(label), ".attr%u", i);
        assert_int_equal(
            hs_picture_add_edge(p, (i - 1) / fan, i, label, HS_EDGE_ATTR, 0),
            0);
    }
    for (uint32_t k = 0; k < cross; k++) {
        snprintf(label, sizeof(label), "[%u]", k);
        assert_int_equal(hs_picture_add_edge(p, test_rng_below(&r, n),
                                             test_rng_below(&r, n), label,
                                             HS_EDGE_ITEM, 0),
                         0);
    }
    free(depth);
}

/* Renders to SVG, checks it, returns the seconds it took. */
static double
timed_svg(const struct hs_picture *p, const char *name)
{
    char *dir = temp_dir(), *svg = path_in(dir, name);
    double t0 = hs_now(), secs;

    assert_int_equal(hs_render_dot_file(p, svg), 0);
    secs = hs_now() - t0;
    assert_xml_ok(svg);
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(dir);
    return secs;
}

static void
test_render_dot__tree_times(void **state)
{
    static const uint32_t sizes[] = { 50, 300 };
    struct hs_picture p;

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(sizes); i++) {
        double secs;

        tree_picture(&p, sizes[i], 10, 0, 1);
        assert_string_equal(hs_render_dot_engine(&p), "dot");
        secs = timed_svg(&p, "tree.svg");
        printf("# %u-node tree: %.2f s\n", sizes[i], secs);
        assert_true(secs < 10.0);
        hs_picture_release(&p);
    }
}

/* The default cap, full: 1,000 objects and 4,000 references. */
static void
test_render_dot__at_cap_time(void **state)
{
    struct hs_picture p;
    double secs;

    (void)state;
    tree_picture(&p, HS_PICTURE_MAX_NODES, 10,
                 HS_PICTURE_MAX_NODES * HS_PICTURE_EDGES_PER_NODE -
                     (HS_PICTURE_MAX_NODES - 1),
                 7);
    assert_int_equal(p.nedges,
                     HS_PICTURE_MAX_NODES * HS_PICTURE_EDGES_PER_NODE);
    assert_string_equal(hs_render_dot_engine(&p), "dot");
    secs = timed_svg(&p, "cap.svg");
    printf("# %u objects, %u references (the default cap): %.2f s\n", p.nnodes,
           p.nedges, secs);
    assert_true(secs < 60.0);
    hs_picture_release(&p);
}

/*
 * The engine is dot up to a size, then sfdp, then none, growing with the
 * picture; too big a picture is refused with exit 2 and no file, and still
 * writes as DOT.
 */
static void
test_render_dot__layout_limits(void **state)
{
    struct hs_picture p;
    const char *prev = "dot";
    uint32_t first_sfdp = 0, first_none = 0;
    char *dir = temp_dir(), *svg = path_in(dir, "big.svg");
    char *dot = path_in(dir, "big.dot");

    (void)state;
    for (uint32_t n = 100; n <= 20000 && !first_none; n += 100) {
        const char *eng;

        tree_picture(&p, n, 10, 0, 1);
        eng = hs_render_dot_engine(&p);
        if (!eng) {
            first_none = n;
        } else if (!strcmp(eng, "sfdp")) {
            assert_string_not_equal(prev, "none");
            if (!first_sfdp)
                first_sfdp = n;
        } else {
            assert_string_equal(eng, "dot");
            assert_int_equal(first_sfdp, 0);
        }
        prev = eng ? eng : "none";
        hs_picture_release(&p);
    }
    assert_true(first_sfdp > 300 && first_none > first_sfdp);
    printf("# dot up to %u nodes, sfdp up to %u\n", first_sfdp - 100,
           first_none - 100);
    /* Edges count too: few nodes, very many edges. */
    tree_picture(&p, 100, 10, 20000, 3);
    assert_null(hs_render_dot_engine(&p));
    hs_error_reset();
    assert_int_equal(hs_render_dot_file(&p, svg), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    assert_false(file_exists(svg));
    assert_int_equal(hs_render_dot_file(&p, dot), 0);
    hs_picture_release(&p);
    /* Forcing an engine. */
    tree_picture(&p, 50, 10, 0, 1);
    p.layout = "sfdp";
    assert_string_equal(hs_render_dot_engine(&p), "sfdp");
    p.layout = "neato";
    assert_null(hs_render_dot_engine(&p));
    p.layout = "dot";
    assert_string_equal(hs_render_dot_engine(&p), "dot");
    hs_picture_release(&p);
    tree_picture(&p, first_sfdp, 10, 0, 1);
    p.layout = "dot";
    assert_null(hs_render_dot_engine(&p));
    hs_picture_release(&p);
    unlink(dot);
    rmdir(dir);
    free(svg);
    free(dot);
    free(dir);
}

/* The sfdp path (which pictures above dot's limits take) renders. */
static void
test_render_dot__sfdp_renders(void **state)
{
    struct hs_picture p;
    double secs;

    (void)state;
    tree_picture(&p, 300, 10, 300, 5);
    p.layout = "sfdp";
    p.legend = 1;
    assert_string_equal(hs_render_dot_engine(&p), "sfdp");
    secs = timed_svg(&p, "sfdp.svg");
    printf("# 300-node tree with 300 cross edges, sfdp: %.2f s\n", secs);
    assert_true(secs < 60.0);
    hs_picture_release(&p);
}

/* A labelled chain of n objects whose last one points back at the first. */
static void
chain_back_picture(struct hs_picture *p, uint32_t n)
{
    char key[16];

    hs_picture_init(p, n);
    p->dir = HS_PIC_DIR_REFS;
    for (uint32_t i = 0; i < n; i++) {
        struct hs_picture_node nd = HS_PICTURE_NODE_INIT;

        snprintf(key, sizeof(key), "o%u", i + 1);
        nd.key = key;
        nd.type_name = "Node";
        nd.depth = i;
        assert_int_equal(hs_picture_add_node(p, &nd, NULL), 0);
        if (i)
            assert_int_equal(
                hs_picture_add_edge(p, i - 1, i, ".next", HS_EDGE_ATTR, 0), 0);
    }
    assert_int_equal(
        hs_picture_add_edge(p, n - 1, 0, ".head", HS_EDGE_ATTR, 0), 0);
}

/*
 * Edges that climb back many layers go to sfdp: dot 2.43 crashes on a
 * chain of 300 pointing back at its head.  Forced to dot anyway, the crash
 * stays in the child process: a clean error (exit 5), no file, no .tmp; a
 * later Graphviz that does not crash may draw it instead.
 */
static void
test_render_dot__long_back_edge(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir(), *svg = path_in(dir, "chain.svg");
    char *tmp = path_in(dir, "chain.svg.tmp");
    int rc;

    (void)state;
    chain_back_picture(&p, 100);
    assert_string_equal(hs_render_dot_engine(&p), "dot");
    hs_picture_release(&p);
    chain_back_picture(&p, 300);
    assert_string_equal(hs_render_dot_engine(&p), "sfdp");
    assert_int_equal(hs_render_dot_file(&p, svg), 0);
    assert_xml_ok(svg);
    unlink(svg);
    p.layout = "dot";
    assert_string_equal(hs_render_dot_engine(&p), "dot");
    hs_error_reset();
    rc = hs_render_dot_file(&p, svg);
    if (rc < 0) {
        assert_int_equal(hs_error_status(), HS_EXIT_INTERNAL);
        assert_false(file_exists(svg));
        printf("# dot on a 300-chain with a back edge: crashed, contained\n");
    } else {
        assert_xml_ok(svg);
        printf("# dot on a 300-chain with a back edge: drawn\n");
    }
    assert_false(file_exists(tmp));
    hs_picture_release(&p);
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(tmp);
    free(dir);
}

/* A layout that outlives its time limit is killed: exit 2, no files. */
static void
test_render_dot__time_limit(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir(), *png = path_in(dir, "slow.png");
    char *tmp = path_in(dir, "slow.png.tmp");
    double t0;

    (void)state;
    tree_picture(&p, 1000, 3, 1500, 11);
    p.timeout_ms = 50;
    hs_error_reset();
    t0 = hs_now();
    assert_int_equal(hs_render_dot_file(&p, png), -1);
    assert_true(hs_now() - t0 < 5.0);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    assert_false(file_exists(png));
    assert_false(file_exists(tmp));
    hs_picture_release(&p);
    rmdir(dir);
    free(png);
    free(tmp);
    free(dir);
}

static void
test_render_dot__cap_note_in_title(void **state)
{
    struct hs_picture p;
    struct hs_picture_node n = HS_PICTURE_NODE_INIT;
    struct dot_doc doc;
    char key[16], *text;

    (void)state;
    hs_picture_init(&p, 2);
    p.max_edges = 1;
    n.type_name = "T";
    for (int i = 0; i < 3; i++) {
        snprintf(key, sizeof(key), "k%d", i);
        n.key = key;
        assert_int_equal(hs_picture_add_node(&p, &n, NULL), i < 2 ? 0 : 1);
    }
    text = dot_text_of(&p, &doc);
    assert_string_equal(attrs_get(&doc.graphs[0].attrs, "label"),
                        "(capped: 1 more object not drawn)");
    dot_free(&doc);
    free(text);
    hs_picture_set_title(&p, "why k0");
    n.key = "k9";
    assert_int_equal(hs_picture_add_node(&p, &n, NULL), 1);
    assert_int_equal(hs_picture_add_edge(&p, 0, 1, NULL, HS_EDGE_ATTR, 0), 0);
    for (int i = 0; i < 1233; i++)
        assert_int_equal(hs_picture_add_edge(&p, 1, 0, NULL, HS_EDGE_ATTR, 0),
                         1);
    text = dot_text_of(&p, &doc);
    assert_string_equal(attrs_get(&doc.graphs[0].attrs, "label"),
                        "why k0\\n(capped: 2 more objects not drawn, 1,233 "
                        "more references not drawn)");
    dot_free(&doc);
    free(text);
    hs_picture_release(&p);
}

static void
test_render_dot__empty_picture(void **state)
{
    struct hs_picture p;
    char *dir = temp_dir(), *svg = path_in(dir, "empty.svg");

    (void)state;
    hs_picture_init(&p, 0);
    assert_int_equal(hs_render_dot_file(&p, svg), 0);
    assert_xml_ok(svg);
    p.legend = 1;
    assert_int_equal(hs_render_dot_file(&p, svg), 0);
    assert_xml_ok(svg);
    hs_picture_release(&p);
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(dir);
}

/*
 * Small random pictures through the real layout: Graphviz reports no error
 * on anything the renderer builds (dot's flat-label bug would), and the
 * SVG is valid XML.
 */
static void
test_render_dot__random_pictures_lay_out(void **state)
{
    static struct texts t;
    char *dir = temp_dir(), *svg = path_in(dir, "rand.svg");

    (void)state;
    for (uint64_t seed = 1; seed <= 30; seed++) {
        struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL };
        struct hs_picture p;

        random_picture(&r, &p, &t);
        if (seed % 10 == 0)
            p.layout = "sfdp";
        hs_error_reset();
        assert_int_equal(hs_render_dot_file(&p, svg), 0);
        assert_xml_ok(svg);
        hs_picture_release(&p);
    }
    /* Dense trees with cross edges, the case that breaks dot's labels. */
    for (uint64_t seed = 1; seed <= 3; seed++) {
        struct hs_picture p;

        tree_picture(&p, 80, 1 + (uint32_t)seed, 160, seed);
        assert_int_equal(hs_render_dot_file(&p, svg), 0);
        hs_picture_release(&p);
    }
    unlink(svg);
    rmdir(dir);
    free(svg);
    free(dir);
}

/*
 * A 50,000-node chain as DOT text, layered 50,000 levels deep
 * (test_picture.c runs the layering alone on a million; cgraph costs about
 * 20 us per node, too slow for a million here).
 */
static void
test_render_dot__long_chain_dot_text(void **state)
{
    const uint32_t n = 50000;
    struct hs_picture p;
    struct hs_picture_node node = HS_PICTURE_NODE_INIT;
    char key[16];
    size_t len = 0;
    char *text;
    double t0 = hs_now();

    (void)state;
    hs_picture_init(&p, n);
    p.dir = HS_PIC_DIR_BACKREFS;
    node.type_name = "Node";
    for (uint32_t i = 0; i < n; i++) {
        snprintf(key, sizeof(key), "o%u", i + 1);
        node.key = key;
        /* Depths are given for the first node only: the rest is layered
         * by the BFS, a million levels deep. */
        node.depth = i ? 5 : 0;
        assert_int_equal(hs_picture_add_node(&p, &node, NULL), 0);
        if (i)
            assert_int_equal(
                hs_picture_add_edge(&p, i, i - 1, ".next", HS_EDGE_ATTR, 0),
                0);
    }
    text = hs_render_dot_text(&p, &len);
    assert_non_null(text);
    /* Every edge follows the layers, so none may lose its constraint. */
    assert_null(strstr(text, "constraint=false"));
    assert_non_null(strstr(text, "o50000 -> o49999"));
    printf("# 50,000-node chain as DOT: %.1f MB in %.2f s\n",
           (double)len / 1e6, hs_now() - t0);
    free(text);
    hs_picture_release(&p);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_render_dot__missing_plugins),
        cmocka_unit_test(test_render_dot__random_pictures_match_oracle),
        cmocka_unit_test(test_render_dot__escapes_by_hand),
        cmocka_unit_test(test_render_dot__roles_and_styles),
        cmocka_unit_test(test_render_dot__nasty_text_svg),
        cmocka_unit_test(test_render_dot__random_text_svg),
        cmocka_unit_test(test_render_dot__svg_ids_links),
        cmocka_unit_test(test_render_dot__png_pdf_dot_files),
        cmocka_unit_test(test_render_dot__unknown_extension),
        cmocka_unit_test(test_render_dot__io_failures_leave_nothing),
        cmocka_unit_test(test_render_dot__cap_note_in_title),
        cmocka_unit_test(test_render_dot__empty_picture),
        cmocka_unit_test(test_render_dot__layout_limits),
        cmocka_unit_test(test_render_dot__random_pictures_lay_out),
        cmocka_unit_test(test_render_dot__tree_times),
        cmocka_unit_test(test_render_dot__at_cap_time),
        cmocka_unit_test(test_render_dot__sfdp_renders),
        cmocka_unit_test(test_render_dot__long_back_edge),
        cmocka_unit_test(test_render_dot__time_limit),
        cmocka_unit_test(test_render_dot__long_chain_dot_text),
    };

    return cmocka_run_group_tests_name("render_dot", tests, NULL, NULL);
}
