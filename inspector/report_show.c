/*
 * report_show.c: the answer of `show` (report.h): one object in full,
 * with its roots, retained size, dominator, referrers and referents.  The
 * command (cmd_show.c) prints it as text; --json and the server's
 * /api/object take the document built here.  Nothing here prints.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The object_flags bits and their names, in the schema's order. */
struct flag_name {
    const char *name; /* object_flags.name */
    uint32_t bit;     /* object_flags.bit */
};
#define FLAG_NAME(name, NAME, value) { name, NAME },
static const struct flag_name flag_names[] = {
    HS_SCHEMA_OBJECT_FLAGS(FLAG_NAME)
};
#undef FLAG_NAME

void
hs_show_flags_text(uint32_t flags, struct hs_buf *out)
{
    for (size_t b = 0; b < HS_ARRAY_SIZE(flag_names); b++) {
        if (flags & flag_names[b].bit)
            hs_buf_addf(out, "%s%s", out->len ? ", " : "", flag_names[b].name);
    }
}

/* The referrers being collected (hs_show_referrers()). */
struct referrers {
    uint32_t *src, *edge; /* OUT: the referrers and their references */
    uint32_t n, cap;      /* collected, wanted */
};

/* A reference as the JSON lists it: kind, label and the object at the
 * other end (viewer: plus its retained size, description and whether the
 * reference is weak). */
static struct hs_json *
json_ref(const struct hs_json_src *src, uint32_t e, uint32_t other)
{
    const struct hs_graph *g = src->g;
    struct hs_json *o = hs_json_object();
    struct hs_buf b = HS_BUF_INIT;
    char name[256];

    hs_naming_edge(src->names, e, &b);
    hs_json_set_str(o, "kind", hs_naming_kind(src->names, g->out_kind[e]));
    hs_json_set_str(o, "label", b.buf);
    hs_json_set_int(o, "id", hs_graph_object_id(other));
    hs_json_set_addr(o, "address", g->address[other]);
    hs_json_set_str(o, "type", hs_naming_type(g, other, 1, name, sizeof(name)));
    hs_json_set_int(o, "size", (int64_t)g->size[other]);
    if (src->viewer) {
        hs_json_set_int(o, "retained_size",
                        (int64_t)src->dom->retained[other]);
        hs_json_set_bool(o, "weak", !hs_graph_retains(g, g->out_kind[e]));
        hs_why_viewer_fields(src, other, o);
    }
    hs_buf_release(&b);
    return o;
}

static int
add_referrer(uint32_t src, uint32_t e, void *arg)
{
    struct referrers *c = arg;

    if (c->n == c->cap)
        return 1; /* the rest is only counted, from the in-degree */
    c->src[c->n] = src;
    c->edge[c->n++] = e;
    return 0;
}

uint32_t
hs_show_referrers(const struct hs_graph *g, uint32_t v, uint32_t limit,
                  uint32_t **src, uint32_t **edge)
{
    uint32_t indeg = g->in_off[v + 1] - g->in_off[v];
    struct referrers c;

    c.cap = limit < indeg ? limit : indeg;
    c.n = 0;
    c.src = hs_xmalloc(hs_st_mult(c.cap ? c.cap : 1, sizeof(*c.src)));
    c.edge = hs_xmalloc(hs_st_mult(c.cap ? c.cap : 1, sizeof(*c.edge)));
    if (c.cap)
        hs_graph_each_in_edge(g, v, add_referrer, &c);
    *src = c.src;
    *edge = c.edge;
    return c.n;
}

/* The roots that hold v: into the JSON array `arr`, or as text. */
void
hs_show_roots(const struct hs_graph *g, struct hs_naming *names, uint32_t v,
           struct hs_json *arr, struct hs_buf *text)
{
    struct hs_buf b = HS_BUF_INIT;

    for (uint32_t r = 0; r < g->nroots; r++) {
        const char *kind =
            hs_root_kind_name((enum hs_root_kind)g->roots[r].kind);

        if (g->roots[r].node != v)
            continue;
        hs_buf_reset(&b);
        hs_naming_root(names, r, &b);
        if (arr) {
            struct hs_json *o = hs_json_object();

            hs_json_set_str(o, "kind", kind);
            hs_json_set_str(o, "description", b.buf);
            hs_json_push(arr, o);
        } else {
            hs_buf_addf(text, "%s%s: %s", text->len ? "; " : "", kind,
                        b.buf);
        }
    }
    hs_buf_release(&b);
}

struct hs_json *
hs_show_json(const struct hs_json_src *src, uint32_t v, uint32_t limit)
{
    struct hs_graph *g = src->g;
    const struct hs_dominators *dom = src->dom;
    struct hs_json *o, *arr;
    struct hs_objfacts f;
    char name[256];
    uint32_t *rsrc, *redge, nref;
    uint32_t u = dom->idom[v];

    if (hs_naming_facts(src->names, v, &f) < 0)
        return NULL;
    o = hs_json_object();
    hs_json_set_int(o, "id", hs_graph_object_id(v));
    hs_json_set_addr(o, "address", g->address[v]);
    hs_json_set_str(o, "type", hs_naming_type(g, v, 1, name, sizeof(name)));
    hs_why_viewer_fields(src, v, o);
    hs_json_set_int(o, "size", (int64_t)g->size[v]);
    if (f.reported_size >= 0)
        hs_json_set_int(o, "reported_size", f.reported_size);
    else
        hs_json_set_null(o, "reported_size");
    hs_json_set_int(o, "refcount", f.refcount);
    if (f.length >= 0)
        hs_json_set_int(o, "length", f.length);
    else
        hs_json_set_null(o, "length");
    hs_json_set_str(o, "value", f.value);
    arr = hs_json_array();
    for (size_t b = 0; b < HS_ARRAY_SIZE(flag_names); b++) {
        if (g->flags[v] & flag_names[b].bit)
            hs_json_push(arr, hs_json_str(flag_names[b].name));
    }
    hs_json_set(o, "flags", arr);
    arr = hs_json_array();
    hs_show_roots(g, src->names, v, arr, NULL);
    hs_json_set(o, "roots", arr);
    hs_json_set_bool(o, "reachable", hs_bfs_reached(src->bfs, v));
    if (hs_bfs_reached(src->bfs, v))
        hs_json_set_int(o, "distance", src->bfs->dist[v]);
    hs_json_set_int(o, "retained_size", (int64_t)dom->retained[v]);
    hs_json_set(o, "allocated_at", hs_sites_traceback_json(src->sites, v));
    if (src->viewer) {
        hs_json_set_int(o, "reachable_bytes", (int64_t)dom->reachable_bytes);
        hs_json_set(o, "idom", u < g->n ? hs_why_node_json(src, u)
                                        : hs_json_null());
        hs_json_set_str(o, "idom_note",
                        u == HS_DOM_UNREACHABLE ? "unreachable"
                        : u == HS_DOM_ROOT
                            ? "held by the roots directly or along "
                              "separate paths"
                            : NULL);
    } else if (u < g->n) {
        struct hs_json *d = hs_json_object();

        hs_json_set_int(d, "id", hs_graph_object_id(u));
        hs_json_set_addr(d, "address", g->address[u]);
        hs_json_set_str(d, "type", hs_naming_type(g, u, 1, name,
                                                  sizeof(name)));
        hs_json_set_int(d, "retained_size", (int64_t)dom->retained[u]);
        hs_json_set(o, "idom", d);
    } else {
        hs_json_set_null(o, "idom");
    }
    arr = hs_json_array();
    nref = hs_show_referrers(g, v, limit, &rsrc, &redge);
    for (uint32_t k = 0; k < nref; k++)
        hs_json_push(arr, json_ref(src, redge[k], rsrc[k]));
    free(rsrc);
    free(redge);
    hs_json_set(o, "referrers", arr);
    hs_json_set_int(o, "referrers_total", g->in_off[v + 1] - g->in_off[v]);
    arr = hs_json_array();
    for (uint32_t e = g->out_off[v], k = 0; e < g->out_off[v + 1] && k < limit;
         e++, k++)
        hs_json_push(arr, json_ref(src, e, g->out_dst[e]));
    hs_json_set(o, "referents", arr);
    hs_json_set_int(o, "referents_total", g->out_off[v + 1] - g->out_off[v]);
    hs_objfacts_release(&f);
    return o;
}
