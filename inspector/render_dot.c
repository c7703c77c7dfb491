/*
 * render_dot.c: turns a struct hs_picture into DOT text, or lays it out and
 * renders it to SVG, PNG or PDF with the Graphviz libraries (the only file
 * that includes cgraph.h and gvc.h; the `dot` program is never run).  The
 * look is objgraph's (research/objgraph.md section 2) plus a size line,
 * dashed weak edges, a legend, node ids = keys, tooltips, URLs and escaping
 * that shows any text verbatim (add_shown()).
 *
 * Never hang, never crash: only edges from one layer of hs_picture_layers()
 * to the next may move nodes (constraint=false on the rest), pictures above
 * the `dot` limits below go to `sfdp` or are refused (exit 2), and Graphviz
 * runs in a child process with a time limit (render_isolated(), through
 * isolate.h).  Owns the
 * process's Graphviz context and its message hook; single-threaded.
 */
#include "picture.h"

#include "isolate.h"

#include <fcntl.h>
#include <inttypes.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cgraph.h>
#include <gvc.h>

/*
 * Layout limits, in drawn nodes and edges (helper boxes and the legend
 * count).  Measured here (2 vCPU VM, Graphviz 2.43, CPU seconds, SVG unless
 * named; trees of fan-out F with labels and sizes, plus random cross edges;
 * the worst F of 2, 3 and 10):
 *
 *   dot   300-node tree 0.1 (PNG 0.1, PDF 0.1) | 1,000-node tree 0.3
 *         1,180 nodes + 3,000 edges: F=10 1.3, F=3 3.3, F=2 3.7
 *         1,180 nodes + 4,480 edges: 6.5-7.0 (hence the edge limit)
 *   sfdp  1,250 nodes + 4,950 edges: 1.3
 *         3,980 nodes + 15,880 edges: 6.4-7.5 (PNG 7.2)
 *
 * Memory stays under 150 MB within these limits (a PNG took 360 MB before
 * the size cap in render_child()).  Without the layering, dot took over
 * 100 s on 300 nodes with 600 random cross edges.  Edges climbing back up
 * many layers cost dot two virtual nodes per layer, and dot 2.43 crashes on
 * a single one that climbs 280 layers (a chain of 300 with its last node
 * pointing at its first): DOT_MAX_SPAN and DOT_MAX_VIRTUAL send such
 * pictures to sfdp (a 100-node chain whose every node points back at the
 * first, 9,900 virtual nodes: 1.1 s; 200 nodes, 39,800: 8.4 s).
 */
#define DOT_MAX_NODES   1200
#define DOT_MAX_EDGES   3000
#define DOT_MAX_SPAN    200   /* layers an edge may climb back (see below) */
#define DOT_MAX_VIRTUAL 20000 /* virtual nodes of such edges, in total */
#define SFDP_MAX_NODES  4000
#define SFDP_MAX_EDGES  16000

/* Wall-clock limit on one layout and render, unless the picture sets one. */
#define LAYOUT_TIMEOUT_MS 60000

/* How much of a long text a label shows (in characters). */
#define TYPE_MAX_CHARS          60
#define VALUE_MAX_CHARS         48
#define EDGE_LABEL_MAX_CHARS    40
#define TOOLTIP_VALUE_MAX_CHARS 200

#define FONT "Helvetica,Arial,sans-serif"

/* ---- text --------------------------------------------------------------- */

/*
 * Length of the valid UTF-8 sequence at s (hs_utf8_len()), or 0 also for
 * the XML non-characters U+FFFE and U+FFFF (which would make the SVG
 * invalid).
 */
static size_t
utf8_len(const unsigned char *s)
{
    size_t n = hs_utf8_len(s);

    if (n == 3 && s[0] == 0xef && s[1] == 0xbf &&
        (s[2] == 0xbe || s[2] == 0xbf))
        return 0;
    return n;
}

/*
 * How many backslashes Graphviz needs to show one.  Labels and URLs go
 * through one unescaping pass (two backslashes show one); tooltips through
 * two (interpretCRNL, then the \N substitution), so they need four.
 */
enum flavour { LABEL = 1, TOOLTIP = 2 };

static void
add_backslash(struct hs_buf *out, enum flavour fl)
{
    hs_buf_adds(out, fl == TOOLTIP ? "\\\\\\\\" : "\\\\");
}

/*
 * Appends `text` to `out` as a Graphviz escString that every output format
 * shows verbatim, on one line.  The escapes: a backslash is doubled per
 * unescaping pass (escString would read "\N", "\l", ...); '&' becomes
 * "&amp;" (Graphviz turns HTML entities into characters, and would pass
 * "&foo;" into the SVG unescaped); control characters show as \n, \t, \r
 * or \xNN; bytes that are not valid UTF-8 show as \xNN.  Double quotes are
 * cgraph's job when it writes DOT.  At most max_chars characters are shown
 * (0: no limit), the last one an ellipsis when the text is longer.  O(len).
 */
static void
add_shown(struct hs_buf *out, const char *text, size_t max_chars,
          enum flavour fl)
{
    const unsigned char *s = (const unsigned char *)text;
    size_t total = 0, limit;

    for (const unsigned char *t = s; *t;) {
        size_t n = utf8_len(t);

        t += n ? n : 1;
        total++;
    }
    limit = max_chars && total > max_chars ? max_chars - 1 : total;
    for (size_t shown = 0; shown < limit; shown++) {
        size_t n = utf8_len(s);

        if (n > 1) {
            hs_buf_add(out, s, n);
            s += n;
            continue;
        }
        if (*s == '&') {
            hs_buf_adds(out, "&amp;");
        } else if (n && *s >= 0x20 && *s != 0x7f && *s != '\\') {
            hs_buf_addch(out, *s);
        } else {
            add_backslash(out, fl);
            if (*s == '\n')
                hs_buf_addch(out, 'n');
            else if (*s == '\t')
                hs_buf_addch(out, 't');
            else if (*s == '\r')
                hs_buf_addch(out, 'r');
            else if (*s != '\\')
                hs_buf_addf(out, "x%02x", *s);
        }
        s++;
    }
    if (limit < total)
        hs_buf_adds(out, "\xe2\x80\xa6"); /* U+2026 HORIZONTAL ELLIPSIS */
}

/*
 * cgraph 2.43 takes char * for strings it only reads (it copies them into
 * its own string pool); this drops const without a cast that -Wcast-qual
 * would flag.
 */
static char *
gv_str(const char *s)
{
    union {
        const char *c;
        char *m;
    } u;

    u.c = s;
    return u.m;
}

/* The escString line break between label lines. */
#define LINE_BREAK "\\n"

static const char *
plural(uint64_t n)
{
    return n == 1 ? "" : "s";
}

/* ---- Graphviz messages -------------------------------------------------- */

/*
 * What Graphviz printed during the current call (it reports through a
 * process-wide callback with no user pointer).  The inspector is
 * single-threaded; gv_begin()/gv_end() bracket every call into Graphviz.
 */
static struct hs_buf gv_messages = HS_BUF_INIT;
static agusererrf gv_saved_errf;

static int
gv_collect(char *msg)
{
    hs_buf_adds(&gv_messages, msg);
    return 0;
}

static void
gv_begin(void)
{
    hs_buf_reset(&gv_messages);
    gv_saved_errf = agseterrf(gv_collect);
    agreseterrors();
}

static void
gv_end(void)
{
    agseterrf(gv_saved_errf);
    hs_buf_release(&gv_messages);
}

/*
 * The last error Graphviz reported, on one line, in a static buffer; "no
 * message" when there was none.  Warnings are dropped: Graphviz warns about
 * harmless things (spline routing of flat edges) on good pictures.
 */
static const char *
gv_last_error(void)
{
    static char msg[512];
    const char *text = gv_messages.buf;
    const char *last = strstr(text, "Error");
    size_t len = 0;

    for (const char *s = last; s; s = strstr(s + 1, "Error"))
        last = s;
    if (!last) {
        snprintf(msg, sizeof(msg), "no message");
        return msg;
    }
    while (len + 1 < sizeof(msg) && last[len] && last[len] != '\n') {
        msg[len] = last[len];
        len++;
    }
    msg[len] = '\0';
    return msg;
}

/* ---- the picture's shape ------------------------------------------------ */

/* Facts about a picture that decide what to draw. */
struct shape {
    uint32_t max_depth; /* depth drawn darkest */
    uint32_t helpers;   /* "more" boxes and __del__ markers */
    uint32_t legend;    /* legend nodes (it has about as many edges) */
    unsigned roles;     /* union of the nodes' HS_PIC_* flags */
    int roots;          /* some node is a root */
    int more;           /* some node has a "more" box */
    int weak;           /* some edge is weak */
};

static void
shape_of(const struct hs_picture *p, struct shape *sh)
{
    memset(sh, 0, sizeof(*sh));
    for (uint32_t v = 0; v < p->nnodes; v++) {
        const struct hs_picture_node *n = &p->nodes[v];

        if (n->depth > sh->max_depth)
            sh->max_depth = n->depth;
        sh->roles |= n->flags;
        sh->roots |= n->root_kind >= 0 || (n->flags & HS_PIC_EXTERNAL);
        sh->more |= n->more_refs || n->more_backrefs;
        sh->helpers += (n->more_refs != 0) + (n->more_backrefs != 0) +
                       ((n->flags & HS_PIC_HAS_DEL) != 0);
    }
    for (uint32_t e = 0; e < p->nedges; e++)
        sh->weak |= p->edges[e].weak;
    if (p->max_depth)
        sh->max_depth = p->max_depth;
    if (p->legend) {
        /* reference edge (2 points), weak edge (2), then one per role */
        sh->legend = 2 + (sh->weak ? 2 : 0) + !!(sh->roles & HS_PIC_TARGET) +
                     (sh->max_depth ? 2 : 0) + !!(sh->roles & HS_PIC_MODULE) +
                     !!(sh->roles & HS_PIC_HIGHLIGHT) + !!sh->roots +
                     !!(sh->roles & HS_PIC_UNREACHABLE) +
                     !!(sh->roles & HS_PIC_HAS_DEL) + !!sh->more;
    }
}

/*
 * 1 if `dot` can lay out the picture's edges quickly and safely: edges that
 * run back up the layers become chains of virtual nodes, two per layer
 * (edge labels double the ranks).  Too many make dot slow, and one that
 * spans too far crashes dot 2.43 (seen from 280 layers on).  O(n + m).
 */
static int
dot_can_route(const struct hs_picture *p)
{
    uint32_t *layer =
        hs_xmalloc(hs_st_mult(p->nnodes ? p->nnodes : 1, sizeof(*layer)));
    uint64_t virtual_nodes = 0;
    int ok = 1;

    hs_picture_layers(p, layer);
    for (uint32_t e = 0; e < p->nedges && ok; e++) {
        uint32_t a = layer[p->edges[e].from], b = layer[p->edges[e].to];
        uint32_t span = a > b ? a - b : b - a;

        if (span > 1)
            virtual_nodes += 2 * (uint64_t)span - 1;
        ok = span <= DOT_MAX_SPAN && virtual_nodes <= DOT_MAX_VIRTUAL;
    }
    free(layer);
    return ok;
}

const char *
hs_render_dot_engine(const struct hs_picture *p)
{
    struct shape sh;
    uint64_t nodes, edges;
    int forced_dot = p->layout && !strcmp(p->layout, "dot");
    int forced_sfdp = p->layout && !strcmp(p->layout, "sfdp");

    if (p->layout && !forced_dot && !forced_sfdp)
        return NULL;
    shape_of(p, &sh);
    nodes = (uint64_t)p->nnodes + sh.helpers + sh.legend;
    edges = (uint64_t)p->nedges + sh.helpers + sh.legend;
    /* Forcing dot skips the routing check: the child process and its
     * time limit still contain what dot does. */
    if (!forced_sfdp && nodes <= DOT_MAX_NODES && edges <= DOT_MAX_EDGES &&
        (forced_dot || dot_can_route(p)))
        return "dot";
    if (!forced_dot && nodes <= SFDP_MAX_NODES && edges <= SFDP_MAX_EDGES)
        return "sfdp";
    return NULL;
}

/* ---- building the cgraph graph ------------------------------------------ */

/* Attribute symbols, declared once per graph with their defaults. */
struct syms {
    Agsym_t *g_label, *g_style, *g_color, *g_fontsize, *g_tooltip, *g_rank;
    Agsym_t *n_label, *n_shape, *n_style, *n_fillcolor, *n_fontcolor, *n_color,
        *n_penwidth, *n_peripheries, *n_fontsize, *n_height, *n_margin,
        *n_tooltip, *n_url, *n_id;
    Agsym_t *e_label, *e_xlabel, *e_style, *e_color, *e_weight, *e_constraint,
        *e_len, *e_arrowhead, *e_tooltip, *e_id;
};

/* Per-render scratch: the graph, its symbols and a text buffer. */
struct build {
    const struct hs_picture *p;
    const char *engine; /* "dot", "sfdp", or NULL for DOT text (as dot) */
    struct shape sh;
    Agraph_t *g;
    struct syms s;
    Agnode_t **agnodes; /* the Graphviz node of each picture node */
    struct hs_buf text; /* scratch for attribute values */
    char num[64];       /* scratch for small numbers */
};

static void
declare_attrs(struct build *b)
{
    Agraph_t *g = b->g;
    struct syms *s = &b->s;

    agattr(g, AGRAPH, "fontname", FONT);
    agattr(g, AGRAPH, "labelloc", "t");
    agattr(g, AGRAPH, "outputorder", "edgesfirst");
    /* Long lines in DOT text stay whole (cgraph wraps at 128 otherwise). */
    agattr(g, AGRAPH, "linelength", "0");
    s->g_label = agattr(g, AGRAPH, "label", "");
    s->g_tooltip = agattr(g, AGRAPH, "tooltip", "");
    s->g_style = agattr(g, AGRAPH, "style", "");
    s->g_color = agattr(g, AGRAPH, "color", "black");
    s->g_fontsize = agattr(g, AGRAPH, "fontsize", "14");
    s->g_rank = agattr(g, AGRAPH, "rank", "");

    agattr(g, AGNODE, "fontname", FONT);
    s->n_shape = agattr(g, AGNODE, "shape", "box");
    s->n_style = agattr(g, AGNODE, "style", "filled");
    s->n_fillcolor = agattr(g, AGNODE, "fillcolor", "white");
    s->n_fontcolor = agattr(g, AGNODE, "fontcolor", "black");
    s->n_color = agattr(g, AGNODE, "color", "black");
    s->n_penwidth = agattr(g, AGNODE, "penwidth", "1");
    s->n_peripheries = agattr(g, AGNODE, "peripheries", "1");
    s->n_fontsize = agattr(g, AGNODE, "fontsize", "10");
    s->n_height = agattr(g, AGNODE, "height", "0.5");
    s->n_margin = agattr(g, AGNODE, "margin", "");
    s->n_label = agattr(g, AGNODE, "label", "\\N");
    s->n_tooltip = agattr(g, AGNODE, "tooltip", "");
    s->n_url = agattr(g, AGNODE, "URL", "");
    s->n_id = agattr(g, AGNODE, "id", "");

    agattr(g, AGEDGE, "fontname", FONT);
    agattr(g, AGEDGE, "fontsize", "9");
    s->e_style = agattr(g, AGEDGE, "style", "");
    s->e_color = agattr(g, AGEDGE, "color", "black");
    s->e_weight = agattr(g, AGEDGE, "weight", "1");
    s->e_constraint = agattr(g, AGEDGE, "constraint", "true");
    s->e_len = agattr(g, AGEDGE, "len", "1");
    s->e_arrowhead = agattr(g, AGEDGE, "arrowhead", "normal");
    s->e_label = agattr(g, AGEDGE, "label", "");
    s->e_xlabel = agattr(g, AGEDGE, "xlabel", "");
    s->e_tooltip = agattr(g, AGEDGE, "tooltip", "");
    s->e_id = agattr(g, AGEDGE, "id", "");
}

/* agxset() with the scratch buffer's contents; resets the buffer. */
static void
set_text(struct build *b, void *obj, Agsym_t *sym)
{
    agxset(obj, sym, b->text.buf);
    hs_buf_reset(&b->text);
}

/*
 * objgraph's colours.  Fill by depth: value 1 (white) at depth 0 down to
 * 0.3 at max_depth; modules green, highlighted nodes blue (which wins).
 * Writes the HSV string to out; returns 1 when the fill is dark enough to
 * need white text.
 */
static int
fill_color(const struct build *b, const struct hs_picture_node *n, char *out,
           size_t len)
{
    uint32_t maxd = b->sh.max_depth;
    uint32_t d = n->depth < maxd ? n->depth : maxd;
    double v = maxd ? 1.0 - 0.7 * (double)d / (double)maxd : 1.0;

    if (n->flags & HS_PIC_HIGHLIGHT) {
        snprintf(out, len, "0.6,0.6,%.4g", 0.5 + v * 0.5);
        return 0;
    }
    if (n->flags & HS_PIC_MODULE)
        snprintf(out, len, "0.3,1,%.4g", v);
    else
        snprintf(out, len, "0,0,%.4g", v);
    return v < 0.5;
}

/* The root line of a node ("root: module, external"), if it is a root. */
static void
add_root_text(struct hs_buf *out, const struct hs_picture_node *n)
{
    int external = (n->flags & HS_PIC_EXTERNAL) != 0;

    if (n->root_kind >= 0) {
        hs_buf_addf(out, "root: %s",
                    hs_root_kind_name((enum hs_root_kind)n->root_kind));
        if (external && n->root_kind != HS_ROOT_EXTERNAL)
            hs_buf_adds(out, ", external");
    } else if (external) {
        hs_buf_adds(out, "root: external");
    }
}

static void
add_size_text(struct hs_buf *out, const struct hs_picture_node *n,
              const char *retains)
{
    char human[32];

    hs_buf_adds(out, hs_human_size(n->size, human, sizeof(human)));
    if (n->retained != HS_PIC_UNKNOWN)
        hs_buf_addf(out, "%s%s", retains,
                    hs_human_size(n->retained, human, sizeof(human)));
}

static void
node_label(struct build *b, const struct hs_picture_node *n, Agnode_t *an)
{
    add_shown(&b->text, n->type_name, TYPE_MAX_CHARS, LABEL);
    if (n->value) {
        hs_buf_adds(&b->text, LINE_BREAK);
        add_shown(&b->text, n->value, VALUE_MAX_CHARS, LABEL);
    }
    hs_buf_adds(&b->text, LINE_BREAK);
    add_size_text(&b->text, n, " \xc2\xb7 retains "); /* U+00B7 */
    if (n->root_kind >= 0 || (n->flags & HS_PIC_EXTERNAL)) {
        hs_buf_adds(&b->text, LINE_BREAK);
        add_root_text(&b->text, n);
    }
    set_text(b, an, b->s.n_label);
}

static void
node_tooltip(struct build *b, const struct hs_picture_node *n, Agnode_t *an)
{
    add_shown(&b->text, n->type_name, 0, TOOLTIP);
    if (n->address)
        hs_buf_addf(&b->text, " at 0x%" PRIx64, n->address);
    hs_buf_adds(&b->text, LINE_BREAK "size ");
    add_size_text(&b->text, n, ", retains ");
    if (n->refcount >= 0)
        hs_buf_addf(&b->text, LINE_BREAK "refcount %" PRId64, n->refcount);
    if (n->root_kind >= 0 || (n->flags & HS_PIC_EXTERNAL)) {
        hs_buf_adds(&b->text, LINE_BREAK);
        add_root_text(&b->text, n);
    }
    if (n->flags & HS_PIC_UNREACHABLE)
        hs_buf_adds(&b->text, LINE_BREAK "unreachable (cyclic garbage)");
    if (n->flags & HS_PIC_HAS_DEL)
        hs_buf_adds(&b->text, LINE_BREAK "type defines __del__");
    if (n->value) {
        hs_buf_adds(&b->text, LINE_BREAK "value: ");
        add_shown(&b->text, n->value, TOOLTIP_VALUE_MAX_CHARS, TOOLTIP);
    }
    if (n->site) {
        hs_buf_adds(&b->text, LINE_BREAK "allocated at ");
        add_shown(&b->text, n->site, 0, TOOLTIP);
    }
    set_text(b, an, b->s.n_tooltip);
}

/* A helper node ("o1.del", "o1.more_refs") with objgraph's tiny style. */
static Agnode_t *
helper_node(struct build *b, const char *key, const char *suffix,
            const char *label, const char *shape, const char *fill)
{
    Agnode_t *h;

    hs_buf_addf(&b->text, "%s.%s", key, suffix);
    h = agnode(b->g, b->text.buf, 1);
    set_text(b, h, b->s.n_id);
    agxset(h, b->s.n_label, gv_str(label));
    agxset(h, b->s.n_shape, gv_str(shape));
    agxset(h, b->s.n_fillcolor, gv_str(fill));
    agxset(h, b->s.n_color, "red");
    agxset(h, b->s.n_height, "0.25");
    agxset(h, b->s.n_fontsize, "7");
    return h;
}

/* The dotted red edge that ties a helper to its node. */
static void
helper_edge(struct build *b, Agnode_t *tail, Agnode_t *head, int arrow)
{
    Agedge_t *e = agedge(b->g, tail, head, NULL, 1);

    agxset(e, b->s.e_color, "red");
    agxset(e, b->s.e_style, "dotted");
    agxset(e, b->s.e_len, "0.25");
    agxset(e, b->s.e_weight, "10");
    if (!arrow)
        agxset(e, b->s.e_arrowhead, "none");
}

static void
more_box(struct build *b, const struct hs_picture_node *n, Agnode_t *an,
         uint64_t count, int back)
{
    uint32_t maxd = b->sh.max_depth;
    uint32_t d = n->depth + 1 < maxd ? n->depth + 1 : maxd;
    double v = maxd ? 1.0 - 0.7 * (double)d / (double)maxd : 1.0;
    char digits[32], fill[32], label[96];
    Agnode_t *h;

    hs_group_digits(count, digits, sizeof(digits));
    snprintf(label, sizeof(label), "%s more %sreference%s", digits,
             back ? "back" : "", plural(count));
    snprintf(fill, sizeof(fill), "0,1,%.4g", v);
    h = helper_node(b, n->key, back ? "more_backrefs" : "more_refs", label,
                    "box", fill);
    agxset(h, b->s.n_fontcolor, "white");
    hs_buf_addf(&b->text, "%s not drawn", label);
    set_text(b, h, b->s.n_tooltip);
    if (back)
        helper_edge(b, h, an, 1);
    else
        helper_edge(b, an, h, 1);
}

static void
add_node(struct build *b, uint32_t v)
{
    const struct hs_picture_node *n = &b->p->nodes[v];
    Agnode_t *an = agnode(b->g, gv_str(n->key), 1);
    char fill[32];
    int dark = fill_color(b, n, fill, sizeof(fill));

    b->agnodes[v] = an;
    agxset(an, b->s.n_id, gv_str(n->key));
    node_label(b, n, an);
    node_tooltip(b, n, an);
    if (strcmp(fill, "0,0,1"))
        agxset(an, b->s.n_fillcolor, fill);
    if (n->flags & HS_PIC_TARGET) {
        /* Red text stays readable on light fills only. */
        agxset(an, b->s.n_fontcolor, dark ? "0,0.3,1" : "red");
        agxset(an, b->s.n_color, "red");
        agxset(an, b->s.n_penwidth, "2");
    } else if (dark) {
        agxset(an, b->s.n_fontcolor, "white");
    }
    if (n->flags & HS_PIC_UNREACHABLE)
        agxset(an, b->s.n_style, "filled,dashed");
    if (n->root_kind >= 0 || (n->flags & HS_PIC_EXTERNAL))
        agxset(an, b->s.n_peripheries, "2");
    if (b->p->url_base && n->object_id >= 0) {
        add_shown(&b->text, b->p->url_base, 0, LABEL);
        /* One slash between base and path, whatever the base ends with. */
        while (b->text.len && b->text.buf[b->text.len - 1] == '/')
            b->text.buf[--b->text.len] = '\0';
        hs_buf_addf(&b->text, "/object/%" PRId64, n->object_id);
        set_text(b, an, b->s.n_url);
    }
    if (n->flags & HS_PIC_HAS_DEL) {
        Agnode_t *h =
            helper_node(b, n->key, "del", "__del__", "doublecircle", "0,.5,1");

        agxset(h, b->s.n_tooltip, "its type defines __del__");
        agxset(h, b->s.n_margin, "0");
        helper_edge(b, an, h, 0);
    }
    if (n->more_refs)
        more_box(b, n, an, n->more_refs, 0);
    if (n->more_backrefs)
        more_box(b, n, an, n->more_backrefs, 1);
}

static int
edge_pair_cmp(const void *x, const void *y)
{
    const uint32_t *a = x, *b = y;

    if (a[0] != b[0])
        return a[0] < b[0] ? -1 : 1;
    if (a[1] != b[1])
        return a[1] < b[1] ? -1 : 1;
    return a[2] < b[2] ? -1 : a[2] > b[2];
}

/*
 * Ordinal of each edge among the edges joining the same two nodes, so that
 * edge ids "from.to", "from.to.1", ... stay stable whatever else the
 * picture holds.  O(m log m).
 */
static uint32_t *
parallel_ordinals(const struct hs_picture *p)
{
    uint32_t m = p->nedges;
    uint32_t(*key)[3] = hs_xmalloc(hs_st_mult(m ? m : 1, sizeof(*key)));
    uint32_t *ord = hs_xcalloc(m ? m : 1, sizeof(*ord));

    for (uint32_t e = 0; e < m; e++) {
        key[e][0] = p->edges[e].from;
        key[e][1] = p->edges[e].to;
        key[e][2] = e;
    }
    qsort(key, m, sizeof(*key), edge_pair_cmp);
    for (uint32_t i = 1; i < m; i++) {
        if (key[i][0] == key[i - 1][0] && key[i][1] == key[i - 1][1])
            ord[key[i][2]] = ord[key[i - 1][2]] + 1;
    }
    free(key);
    return ord;
}

static void
add_edges(struct build *b)
{
    const struct hs_picture *p = b->p;
    uint32_t *layer =
        hs_xmalloc(hs_st_mult(p->nnodes ? p->nnodes : 1, sizeof(*layer)));
    uint32_t *ord = parallel_ordinals(p);
    int back = p->dir == HS_PIC_DIR_BACKREFS;

    hs_picture_layers(p, layer);
    for (uint32_t i = 0; i < p->nedges; i++) {
        const struct hs_picture_edge *pe = &p->edges[i];
        uint32_t up = back ? pe->to : pe->from;
        uint32_t down = back ? pe->from : pe->to;
        /* Only edges down to the next layer may move nodes (see top). */
        int ranks = layer[down] == layer[up] + 1;
        Agedge_t *e =
            agedge(b->g, b->agnodes[pe->from], b->agnodes[pe->to], NULL, 1);

        hs_buf_addf(&b->text, "%s.%s", p->nodes[pe->from].key,
                    p->nodes[pe->to].key);
        if (ord[i])
            hs_buf_addf(&b->text, ".%" PRIu32, ord[i]);
        set_text(b, e, b->s.e_id);
        if (pe->label) {
            add_shown(&b->text, pe->label, EDGE_LABEL_MAX_CHARS, LABEL);
            /*
             * dot 2.43 loses flat edges that carry a `label` ("in
             * routesplines, illegal values of prev") and then frees them
             * twice in gvFreeLayout(); an xlabel is placed after routing
             * and avoids that (and is faster).
             */
            if (ranks)
                set_text(b, e, b->s.e_label);
            else if (!b->engine || !strcmp(b->engine, "dot"))
                set_text(b, e, b->s.e_xlabel);
            else
                hs_buf_reset(&b->text); /* sfdp: 3x slower with labels */
            add_shown(&b->text, pe->label, TOOLTIP_VALUE_MAX_CHARS, TOOLTIP);
            set_text(b, e, b->s.e_tooltip);
        }
        if (pe->weight != 1) {
            snprintf(b->num, sizeof(b->num), "%u", (unsigned)pe->weight);
            agxset(e, b->s.e_weight, b->num);
        }
        if (pe->weak) {
            agxset(e, b->s.e_style, "dashed");
            agxset(e, b->s.e_color, "gray45");
        }
        if (!ranks)
            agxset(e, b->s.e_constraint, "false");
    }
    free(ord);
    free(layer);
}

/* The legend: a cluster holding one row of samples, left to right. */
struct legend {
    Agraph_t *cluster; /* "cluster_legend" */
    Agraph_t *row;     /* rank=same subgraph of the samples */
    Agnode_t *last;    /* the sample added last, to chain the next to */
};

/*
 * One sample node, styled by the caller like the thing it explains, tied
 * to the previous sample by an invisible edge so the row keeps its order.
 */
static Agnode_t *
legend_node(struct build *b, struct legend *lg, const char *name,
            const char *label)
{
    Agnode_t *n;

    hs_buf_addf(&b->text, "legend.%s", name);
    n = agnode(lg->row, b->text.buf, 1);
    set_text(b, n, b->s.n_id);
    agxset(n, b->s.n_label, gv_str(label));
    agxset(n, b->s.n_fontsize, "9");
    agxset(n, b->s.n_height, "0.3");
    if (lg->last) {
        Agedge_t *e = agedge(lg->row, lg->last, n, NULL, 1);

        agxset(e, b->s.e_style, "invis");
    }
    lg->last = n;
    return n;
}

/* A sample edge from a point in the row down to a point below it. */
static void
legend_edge(struct build *b, struct legend *lg, const char *name,
            const char *label, int weak)
{
    Agnode_t *ends[2];
    Agedge_t *e;

    for (int i = 0; i < 2; i++) {
        snprintf(b->num, sizeof(b->num), "%s_%s", name, i ? "to" : "from");
        if (i == 0) {
            ends[i] = legend_node(b, lg, b->num, "");
        } else {
            hs_buf_addf(&b->text, "legend.%s", b->num);
            ends[i] = agnode(lg->cluster, b->text.buf, 1);
            set_text(b, ends[i], b->s.n_id);
            agxset(ends[i], b->s.n_label, "");
        }
        agxset(ends[i], b->s.n_shape, "point");
        agxset(ends[i], b->s.n_height, "0.06");
        agxset(ends[i], b->s.n_fillcolor, weak ? "gray45" : "black");
    }
    e = agedge(lg->cluster, ends[0], ends[1], NULL, 1);
    agxset(e, b->s.e_label, gv_str(label));
    if (weak) {
        agxset(e, b->s.e_style, "dashed");
        agxset(e, b->s.e_color, "gray45");
    }
}

/* Samples of what this picture uses, in a fixed order. */
static void
add_legend(struct build *b)
{
    const struct shape *sh = &b->sh;
    struct legend lg = { NULL, NULL, NULL };
    Agnode_t *n;

    lg.cluster = agsubg(b->g, "cluster_legend", 1);
    agxset(lg.cluster, b->s.g_label, "Legend");
    agxset(lg.cluster, b->s.g_style, "rounded");
    agxset(lg.cluster, b->s.g_color, "gray60");
    agxset(lg.cluster, b->s.g_fontsize, "10");
    lg.row = agsubg(lg.cluster, "legend_row", 1);
    agxset(lg.row, b->s.g_rank, "same");
    if (sh->roles & HS_PIC_TARGET) {
        n = legend_node(b, &lg, "target", "asked about");
        agxset(n, b->s.n_fontcolor, "red");
        agxset(n, b->s.n_color, "red");
        agxset(n, b->s.n_penwidth, "2");
    }
    if (sh->max_depth) {
        legend_node(b, &lg, "near", "depth 0");
        snprintf(b->num, sizeof(b->num), "depth %" PRIu32, sh->max_depth);
        n = legend_node(b, &lg, "far", b->num);
        agxset(n, b->s.n_fillcolor, "0,0,0.3");
        agxset(n, b->s.n_fontcolor, "white");
    }
    if (sh->roles & HS_PIC_MODULE) {
        n = legend_node(b, &lg, "module", "module");
        agxset(n, b->s.n_fillcolor, "0.3,1,1");
    }
    if (sh->roles & HS_PIC_HIGHLIGHT) {
        n = legend_node(b, &lg, "highlight", "highlighted");
        agxset(n, b->s.n_fillcolor, "0.6,0.6,1");
    }
    if (sh->roots) {
        n = legend_node(b, &lg, "root", "root");
        agxset(n, b->s.n_peripheries, "2");
        agxset(n, b->s.n_tooltip, "kept alive from outside the heap graph");
    }
    if (sh->roles & HS_PIC_UNREACHABLE) {
        n = legend_node(b, &lg, "unreachable", "unreachable");
        agxset(n, b->s.n_style, "filled,dashed");
        agxset(n, b->s.n_tooltip, "cyclic garbage awaiting the collector");
    }
    if (sh->roles & HS_PIC_HAS_DEL) {
        n = legend_node(b, &lg, "del", "__del__");
        agxset(n, b->s.n_shape, "doublecircle");
        agxset(n, b->s.n_color, "red");
        agxset(n, b->s.n_fillcolor, "0,.5,1");
        agxset(n, b->s.n_fontsize, "7");
        agxset(n, b->s.n_margin, "0");
        agxset(n, b->s.n_tooltip, "the object's type defines __del__");
    }
    if (sh->more) {
        n = legend_node(b, &lg, "more", "N more not drawn");
        agxset(n, b->s.n_fillcolor, "0,1,1");
        agxset(n, b->s.n_fontcolor, "white");
        agxset(n, b->s.n_color, "red");
        agxset(n, b->s.n_fontsize, "7");
        agxset(n, b->s.n_height, "0.25");
    }
    legend_edge(b, &lg, "ref", "reference", 0);
    if (sh->weak)
        legend_edge(b, &lg, "weak", "weak reference", 1);
}

/* HS_PICTURE_MAX_SIDE points as Graphviz's size attribute (inches), a
 * little inside the limit. */
#define PICTURE_SIZE_INCHES "416,416"

/* A title line holds about this many characters: a long title wraps
 * (at spaces) rather than widen the picture or run off its edges. */
#define TITLE_WIDTH 100

/* `text` as a label, broken into lines of at most TITLE_WIDTH characters
 * at spaces (a longer word stays whole).  O(length). */
static void
add_wrapped(struct hs_buf *out, const char *text)
{
    size_t line = 0;
    const char *p = text;

    while (*p) {
        const char *end = strchr(p, ' ');
        size_t bytes = end ? (size_t)(end - p) : strlen(p), chars = 0;
        char *word;

        for (size_t i = 0; i < bytes; i++)
            chars += ((unsigned char)p[i] & 0xC0) != 0x80;
        if (line && line + 1 + chars > TITLE_WIDTH) {
            hs_buf_adds(out, LINE_BREAK);
            line = 0;
        } else if (line) {
            hs_buf_addch(out, ' ');
            line++;
        }
        word = hs_xasprintf("%.*s", (int)bytes, p);
        add_shown(out, word, 0, LABEL);
        free(word);
        line += chars;
        p += bytes;
        while (*p == ' ')
            p++;
    }
}

/* The title, and what the caps cut, as text of the given flavour. */
static void
add_title_text(struct build *b, enum flavour fl)
{
    const struct hs_picture *p = b->p;
    char n1[32], n2[32];

    if (p->title && fl == LABEL)
        add_wrapped(&b->text, p->title);
    else if (p->title)
        add_shown(&b->text, p->title, 0, fl);
    if (!hs_picture_was_cut(p))
        return;
    if (b->text.len)
        hs_buf_adds(&b->text, LINE_BREAK);
    hs_buf_adds(&b->text, "(capped:");
    if (p->nodes_refused)
        hs_buf_addf(&b->text, " %s more object%s not drawn",
                    hs_group_digits(p->nodes_refused, n1, sizeof(n1)),
                    plural(p->nodes_refused));
    if (p->nodes_refused && p->edges_refused)
        hs_buf_addch(&b->text, ',');
    if (p->edges_refused)
        hs_buf_addf(&b->text, " %s more reference%s not drawn",
                    hs_group_digits(p->edges_refused, n2, sizeof(n2)),
                    plural(p->edges_refused));
    hs_buf_addch(&b->text, ')');
}

static void
add_title(struct build *b)
{
    if (!b->p->title && !hs_picture_was_cut(b->p))
        return;
    add_title_text(b, LABEL);
    set_text(b, b->g, b->s.g_label);
    add_title_text(b, TOOLTIP);
    set_text(b, b->g, b->s.g_tooltip);
}

/* DOT text goes through cgraph's I/O discipline into an hs_buf. */
static int
text_put(void *chan, const char *str)
{
    hs_buf_adds(chan, str);
    return 0;
}

static int
text_flush(void *chan)
{
    (void)chan;
    return 0;
}

static int
text_read(void *chan, char *buf, int size)
{
    (void)chan;
    (void)buf;
    (void)size;
    return 0;
}

static Agiodisc_t text_io = { text_read, text_put, text_flush };

/*
 * Builds the cgraph graph of b->p into b->g.  Returns 0, or -1 after an
 * error (exit 5).  O(n + m log m); Graphviz allocates a few hundred bytes
 * per node and edge.
 */
static int
build_graph(struct build *b)
{
    const struct hs_picture *p = b->p;
    static Agdisc_t disc;

    disc.mem = &AgMemDisc;
    disc.id = &AgIdDisc;
    disc.io = &text_io;
    shape_of(p, &b->sh);
    hs_buf_init(&b->text);
    b->g = agopen("heapsnap", Agdirected, &disc);
    if (!b->g)
        return hs_error(HS_EXIT_INTERNAL, "Graphviz cannot create a graph: %s",
                        gv_last_error());
    declare_attrs(b);
    add_title(b);
    b->agnodes =
        hs_xmalloc(hs_st_mult(p->nnodes ? p->nnodes : 1, sizeof(*b->agnodes)));
    for (uint32_t v = 0; v < p->nnodes; v++)
        add_node(b, v);
    add_edges(b);
    if (p->legend)
        add_legend(b);
    return 0;
}

static void
build_release(struct build *b)
{
    if (b->g)
        agclose(b->g);
    b->g = NULL;
    HS_FREE_AND_NULL(b->agnodes);
    hs_buf_release(&b->text);
}

char *
hs_render_dot_text(const struct hs_picture *p, size_t *len)
{
    struct build b = { 0 };
    struct hs_buf out = HS_BUF_INIT;
    char *text = NULL;

    b.p = p;
    gv_begin();
    if (build_graph(&b) < 0)
        goto out;
    if (agwrite(b.g, &out) == EOF) {
        hs_error(HS_EXIT_INTERNAL, "Graphviz cannot write DOT: %s",
                 gv_last_error());
        goto out;
    }
    if (len)
        *len = out.len;
    text = hs_buf_detach(&out);
out:
    build_release(&b);
    gv_end();
    hs_buf_release(&out);
    return text;
}

/*
 * Graphviz 2.43 and fontconfig leak inside dot's cluster and flat-edge code
 * and keep font caches for the life of the process; none of that memory is
 * allocated by heapsnap.  LeakSanitizer reads this hook in ASan builds
 * (`make SAN=1`), so that leak checking stays on for our own memory; other
 * builds never call it.  Stacks through Graphviz are often cut short (it
 * has no frame pointers), hence whole libraries.
 */
const char *__lsan_default_suppressions(void);

const char *
__lsan_default_suppressions(void)
{
    return "leak:libgvc.so\n"
           "leak:libgvplugin_\n"
           "leak:libfontconfig.so\n"
           "leak:libpango\n"
           "leak:libcairo.so\n"
           "leak:libglib-2.0.so\n";
}

/* The same builds: without this, every process that touched Graphviz
 * would list the suppressions it used on stderr at exit, which is not
 * what a command's user (or a test comparing stderr) should see. */
const char *__lsan_default_options(void);

const char *
__lsan_default_options(void)
{
    return "print_suppressions=0";
}

/* ---- formats, plugins, files -------------------------------------------- */

static const struct {
    const char *ext; /* file name extension, with the dot */
    enum hs_render_format format;
    const char *device; /* gvc format name */
} formats[] = {
    { ".svg", HS_RENDER_SVG, "svg" }, { ".png", HS_RENDER_PNG, "png" },
    { ".pdf", HS_RENDER_PDF, "pdf" }, { ".dot", HS_RENDER_DOT, NULL },
    { ".gv", HS_RENDER_DOT, NULL },
};

int
hs_render_dot_format(const char *path, enum hs_render_format *format)
{
    const char *ext = strrchr(hs_base_name(path), '.');

    for (size_t i = 0; ext && i < HS_ARRAY_SIZE(formats); i++) {
        if (!strcasecmp(ext, formats[i].ext)) {
            *format = formats[i].format;
            return 0;
        }
    }
    if (!ext)
        return hs_error(HS_EXIT_USAGE,
                        "cannot draw '%s': the file name has no extension "
                        "(use .svg, .png, .pdf, .dot or .gv)",
                        path);
    return hs_error(HS_EXIT_USAGE,
                    "cannot draw '%s': unknown picture format '%s' "
                    "(use .svg, .png, .pdf, .dot or .gv)",
                    path, ext);
}

static const char *
device_of(enum hs_render_format format)
{
    for (size_t i = 0; i < HS_ARRAY_SIZE(formats); i++) {
        if (formats[i].format == format)
            return formats[i].device;
    }
    return NULL;
}

/*
 * The process's one Graphviz context, made on first use and never freed.
 * Layouts run in child processes (render_isolated()), which inherit it.
 * It must not be made twice in one process anyway: Graphviz 2.43's pango
 * plugin keeps a pointer into the context's font table in a static
 * variable, so the first text measured after a second context is made
 * reads freed memory (ASan found it).  NULL when Graphviz could not start.
 */
static GVC_t *
gv_context(void)
{
    static GVC_t *gvc;

    if (!gvc)
        gvc = gvContext();
    return gvc;
}

/* The plugins the renderer may use, as "kind:name". */
static const char *const wanted_plugins[] = {
    "layout:dot", "layout:sfdp", "device:svg", "device:png", "device:pdf",
};

/*
 * 1 if the context has a plugin of this kind ("layout", "device") and name
 * (one of wanted_plugins).  The lists are read once per process: the
 * context lives as long, and gvPluginList() leaks the duplicates it drops.
 */
static int
has_plugin(GVC_t *gvc, const char *kind, const char *name)
{
    static int looked, have[HS_ARRAY_SIZE(wanted_plugins)];
    char want[64];

    for (int k = 0; !looked && k < 2; k++) {
        const char *list_kind = k ? "device" : "layout";
        int n = 0;
        char **list = gvPluginList(gvc, list_kind, &n, NULL);

        for (int i = 0; list && i < n; i++) {
            /* Entries are "name" or "name:package". */
            list[i][strcspn(list[i], ":")] = '\0';
            snprintf(want, sizeof(want), "%s:%s", list_kind, list[i]);
            for (size_t w = 0; w < HS_ARRAY_SIZE(wanted_plugins); w++)
                have[w] |= !strcmp(want, wanted_plugins[w]);
            free(list[i]);
        }
        free(list);
    }
    looked = 1;
    snprintf(want, sizeof(want), "%s:%s", kind, name);
    for (size_t w = 0; w < HS_ARRAY_SIZE(wanted_plugins); w++) {
        if (!strcmp(want, wanted_plugins[w]))
            return have[w];
    }
    return 0;
}

/*
 * Checks that `gvc` can lay out with `engine` and render `device`.
 * Returns 0, or -1 after an error (exit 4) that says why.
 */
static int
check_plugins(GVC_t *gvc, const char *path, const char *engine,
              const char *device)
{
    const char *kind = NULL, *name = NULL;

    if (engine && !has_plugin(gvc, "layout", engine)) {
        kind = "layout";
        name = engine;
    } else if (device && !has_plugin(gvc, "device", device)) {
        kind = "output";
        name = device;
    }
    if (!kind)
        return 0;
    if (!has_plugin(gvc, "layout", "dot"))
        return hs_error(HS_EXIT_IO,
                        "cannot draw '%s': Graphviz loaded no plugins (its "
                        "plugin configuration is missing: as root, run "
                        "'dot -c', which installing libgvc6 normally does)",
                        path);
    return hs_error(HS_EXIT_IO,
                    "cannot draw '%s': Graphviz has no '%s' %s plugin here "
                    "(reinstall libgvc6, which holds the cairo and core "
                    "plugins, then run 'dot -c' as root)",
                    path, name, kind);
}

int
hs_render_dot_check(const char *path)
{
    enum hs_render_format format;
    GVC_t *gvc;
    int rc;

    if (hs_render_dot_format(path, &format) < 0)
        return -1;
    if (format == HS_RENDER_DOT)
        return 0;
    gv_begin();
    gvc = gv_context();
    if (gvc)
        rc = check_plugins(gvc, path, "dot", device_of(format));
    else
        rc =
            hs_error(HS_EXIT_IO, "cannot draw '%s': Graphviz cannot start: %s",
                     path, gv_last_error());
    gv_end();
    return rc;
}

/*
 * Writes `len` bytes to `path` through `tmp` (created afresh, mode 0600),
 * synced, then renamed.  On failure removes `tmp`.  Returns 0, or -1 after
 * an error (exit 4) naming the file.
 */
static int
write_through_tmp(const char *tmp, const char *path, const char *data,
                  size_t len)
{
    int fd = hs_tmp_create(tmp), err;

    if (fd < 0)
        return -1;
    if (hs_write_all(fd, data, len) < 0) {
        err = errno;
        close(fd);
        unlink(tmp);
        return hs_error(HS_EXIT_IO, "cannot write '%s': %s", tmp,
                        strerror(err));
    }
    return hs_tmp_finish(fd, tmp, path);
}

/* What the child lays out and renders. */
struct render_job {
    const struct hs_picture *p;
    const char *what;   /* the picture's name in messages (its file) */
    const char *engine; /* "dot" or "sfdp" */
    const char *device; /* Graphviz's name of the format: "svg", ... */
};

/* The layout's bounding box (the "bb" gvLayout() sets), in points: its
 * width and height; 0 when it has none. */
static int
layout_box(Agraph_t *g, double *w, double *h)
{
    const char *bb = agget(g, "bb");
    double x0, y0, x1, y1;

    if (!bb || sscanf(bb, "%lf%*[ ,]%lf%*[ ,]%lf%*[ ,]%lf", &x0, &y0, &x1,
                      &y1) != 4)
        return 0;
    *w = x1 - x0;
    *h = y1 - y0;
    return *w > 0 && *h > 0;
}

/*
 * Keeps a laid-out picture within HS_PICTURE_MAX_ASPECT: one far taller
 * than wide (a long path) is laid out left to right instead; one still
 * (or far wider than tall) out of proportion gets its short side stretched
 * to the limit (Graphviz's "ratio"), then the size cap scales the whole
 * down.  Lays out again when it changes anything.  0, or -1 when a layout
 * failed.
 */
static int
fit_aspect(GVC_t *gvc, struct build *b, const struct render_job *job)
{
    double w, h;
    char ratio[32];

    if (!layout_box(b->g, &w, &h))
        return 0;
    if (h > HS_PICTURE_MAX_ASPECT * w && !strcmp(job->engine, "dot")) {
        gvFreeLayout(gvc, b->g);
        agattr(b->g, AGRAPH, "rankdir", "LR");
        if (gvLayout(gvc, b->g, job->engine) != 0 ||
            !layout_box(b->g, &w, &h))
            return -1;
    }
    if (w <= HS_PICTURE_MAX_ASPECT * h && h <= HS_PICTURE_MAX_ASPECT * w)
        return 0;
    /* ratio is height / width; a little inside the limit, so rounding
     * never crosses it. */
    snprintf(ratio, sizeof(ratio), "%.4f",
             w > h ? 1.0 / (HS_PICTURE_MAX_ASPECT - 0.5)
                   : HS_PICTURE_MAX_ASPECT - 0.5);
    gvFreeLayout(gvc, b->g);
    agattr(b->g, AGRAPH, "ratio", ratio);
    return gvLayout(gvc, b->g, job->engine) != 0 ? -1 : 0;
}

/*
 * In the child: lays out and renders job->p and writes the bytes to `fd`.
 * Returns 0, or -1 after an error.  Time: see the limits at the top;
 * memory: Graphviz's, a few KiB per node and edge.
 */
static int
render_child(void *arg, int fd)
{
    const struct render_job *job = arg;
    struct build b = { 0 };
    GVC_t *gvc = gv_context();
    char *data = NULL;
    unsigned len = 0;
    int rc = -1;

    b.p = job->p;
    b.engine = job->engine;
    gv_begin();
    if (!gvc || build_graph(&b) < 0)
        goto out;
    if (!strcmp(job->engine, "sfdp"))
        agattr(b.g, AGRAPH, "overlap", "prism");

    /* No side beyond HS_PICTURE_MAX_SIDE: Graphviz scales the drawing
     * down to fit.  Raster and page formats: at most 50 inches (4,800 px
     * at 96 dpi); a huge PNG is unreadable anyway and costs 4 bytes a
     * pixel. */
    agattr(b.g, AGRAPH, "size",
           strcmp(job->device, "svg") ? "50,50" : PICTURE_SIZE_INCHES);
    /* dot 2.43 can free a layout that reported an error twice: the child
     * exits without freeing it. */
    if (gvLayout(gvc, b.g, job->engine) != 0 ||
        strstr(gv_messages.buf, "Error") || fit_aspect(gvc, &b, job) < 0) {
        hs_error(HS_EXIT_INTERNAL,
                 "cannot draw '%s': Graphviz %s layout failed: %s", job->what,
                 job->engine, gv_last_error());
        goto out;
    }
    if (gvRenderData(gvc, b.g, job->device, &data, &len) != 0 || !data) {
        hs_error(HS_EXIT_INTERNAL,
                 "cannot draw '%s': Graphviz cannot render %s: %s", job->what,
                 job->device, gv_last_error());
        goto out;
    }
    rc = hs_write_all(fd, data, len);
    if (rc < 0)
        hs_error(HS_EXIT_IO, "cannot draw '%s': %s", job->what,
                 strerror(errno));
    gvFreeRenderData(data);
    gvFreeLayout(gvc, b.g);
    build_release(&b);
out:
    gv_end();
    return rc;
}

/*
 * Lays out and renders `p` in a child process (isolate.h), so that
 * Graphviz can neither crash the inspector (dot 2.43 has crashed on a long
 * back edge and double-freed lost edges) nor hang it (the child is killed
 * after p->timeout_ms).  The child's messages are reported here with its
 * exit code.  Appends the bytes to `out`.  Returns 0, or -1 after an
 * error.  Safe in a threaded parent: the parent never lays out text, so
 * no font library lock is held when it forks.
 */
static int
render_isolated(const struct hs_picture *p, const char *what,
                const char *engine, const char *device, struct hs_buf *out)
{
    uint32_t timeout_ms = p->timeout_ms ? p->timeout_ms : LAYOUT_TIMEOUT_MS;
    struct render_job job = { p, what, engine, device };
    struct hs_isolate r;
    const char *msg;
    int rc = -1;

    if (hs_isolate_run(render_child, &job, timeout_ms, &r) < 0)
        return hs_error(HS_EXIT_IO, "cannot draw '%s': %s", what,
                        strerror(errno));
    msg = hs_isolate_error(&r);
    if (r.killed)
        hs_error(HS_EXIT_USAGE,
                 "cannot draw '%s': Graphviz %s did not finish %u objects "
                 "and %u references in %.3g s; draw less or write .dot",
                 what, engine, p->nnodes, p->nedges, timeout_ms / 1000.0);
    else if (r.signal)
        hs_error(HS_EXIT_INTERNAL,
                 "cannot draw '%s': Graphviz %s crashed (signal %d) on %u "
                 "objects and %u references; write .dot instead, or use "
                 "the sfdp layout",
                 what, engine, r.signal, p->nnodes, p->nedges);
    else if (r.exit_code != 0)
        hs_error(r.exit_code > 0 && r.exit_code <= HS_EXIT_INTERNAL
                     ? (enum hs_exit)r.exit_code
                     : HS_EXIT_INTERNAL,
                 "%s", msg ? msg : "cannot draw: Graphviz failed silently");
    else
        rc = 0;
    if (rc == 0)
        hs_buf_add(out, r.out.buf, r.out.len);
    hs_isolate_release(&r);
    return rc;
}

/*
 * Checks that `p` can be laid out here (engine, plugins) and picks the
 * engine and device for `format` (not DOT).  0, or -1 after an error
 * naming `what` (exit 2: too big, unknown layout; 4: plugins missing).
 */
static int
render_setup(const struct hs_picture *p, enum hs_render_format format,
             const char *what, const char **engine, const char **device)
{
    GVC_t *gvc;
    int rc = -1;

    *engine = hs_render_dot_engine(p);
    *device = device_of(format);
    if (!*engine) {
        if (p->layout && strcmp(p->layout, "dot") && strcmp(p->layout, "sfdp"))
            hs_error(HS_EXIT_USAGE,
                     "cannot draw '%s': unknown layout '%s' (use dot or sfdp)",
                     what, p->layout);
        else
            hs_error(HS_EXIT_USAGE,
                     "cannot draw '%s': %u objects and %u references are "
                     "too many to lay out (limits: dot %d nodes and %d "
                     "edges, sfdp %d and %d); draw less (a smaller depth or "
                     "fan-out) or write .dot",
                     what, p->nnodes, p->nedges, DOT_MAX_NODES, DOT_MAX_EDGES,
                     SFDP_MAX_NODES, SFDP_MAX_EDGES);
        return -1;
    }
    gv_begin();
    gvc = gv_context();
    if (!gvc)
        hs_error(HS_EXIT_IO, "cannot draw '%s': Graphviz cannot start: %s",
                 what, gv_last_error());
    else if (!strcmp(*engine, "sfdp") && !p->layout &&
             !has_plugin(gvc, "layout", "sfdp"))
        hs_error(HS_EXIT_USAGE,
                 "cannot draw '%s': %u objects are too many for the dot "
                 "layout and Graphviz has no sfdp plugin here; draw less or "
                 "write .dot",
                 what, p->nnodes);
    else if (check_plugins(gvc, what, *engine, *device) == 0)
        rc = 0;
    gv_end();
    return rc;
}

int
hs_render_dot_data(const struct hs_picture *p, enum hs_render_format format,
                   const char *what, struct hs_buf *out)
{
    const char *engine, *device;
    char *text;
    size_t len = 0;

    if (format == HS_RENDER_DOT) {
        if (!(text = hs_render_dot_text(p, &len)))
            return -1;
        hs_buf_add(out, text, len);
        free(text);
        return 0;
    }
    if (render_setup(p, format, what, &engine, &device) < 0)
        return -1;
    return render_isolated(p, what, engine, device, out);
}

int
hs_render_dot_file(const struct hs_picture *p, const char *path)
{
    enum hs_render_format format;
    struct hs_buf data = HS_BUF_INIT;
    char *tmp;
    int rc = -1;

    if (hs_render_dot_format(path, &format) < 0)
        return -1;
    tmp = hs_xasprintf("%s.tmp", path);
    if (hs_render_dot_data(p, format, path, &data) == 0)
        rc = write_through_tmp(tmp, path, data.buf, data.len);
    hs_buf_release(&data);
    free(tmp);
    return rc;
}
