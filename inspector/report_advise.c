/*
 * report_advise.c: the answer of `advise` (report.h): runs each finder
 * (advise.h, one file per kind) over a loaded heap, orders the findings
 * by bytes saved and builds the JSON document that `advise --json` prints
 * and the server's /api/advise sends.  The command (cmd_advise.c) prints
 * the same findings as text.  Nothing here prints but errors.
 */
#include "report.h"
#include "advise.h"
#include "graph_cache.h"
#include "hash_tables.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

struct hs_advice *
hs_advice_add(struct hs_advice_list *l, const char *kind, uint64_t bytes_saved,
              uint64_t count, uint32_t type, uint32_t example, char *title,
              char *fix, char *basis)
{
    struct hs_advice *a;

    HS_ALLOC_GROW(l->v, l->n + 1, l->alloc);
    a = &l->v[l->n++];
    a->kind = kind;
    a->bytes_saved = bytes_saved;
    a->count = count;
    a->type = type;
    a->example = example;
    a->title = title;
    a->fix = fix;
    a->basis = basis;
    a->opened_at = 0;
    return a;
}

uint32_t
hs_advise_builtin(const struct hs_graph *g, const char *name)
{
    for (uint32_t k = 0; k < g->ntypes; k++) {
        const struct hs_type *t = &g->types[k];

        if (!strcmp(t->name, name) && (t->flags & HS_TYPE_BUILTIN) &&
            (!t->module || !strcmp(t->module, "builtins") ||
             !strcmp(t->module, "collections")))
            return k;
    }
    return UINT32_MAX;
}

uint32_t
hs_advise_count_kind(const struct hs_graph *g, uint32_t v, uint8_t kind)
{
    uint32_t n = 0;

    for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++)
        n += g->out_kind[e] == kind;
    return n;
}

int
hs_advise_namespace_holder(const struct hs_advise_ctx *c, uint32_t v,
                           uint32_t *holder)
{
    const struct hs_graph *g = c->g;

    for (int hop = 0; hop < 2; hop++) {
        uint32_t e, p;

        if (!hs_bfs_reached(c->bfs, v) || c->bfs->dist[v] == 0)
            return 0;
        e = c->bfs->parent_edge[v];
        if (g->out_kind[e] != HS_EDGE_ATTR && g->out_kind[e] != HS_EDGE_VALUE)
            return 0;
        p = hs_graph_edge_src(g, e);
        if (g->type[p] == c->module_type || c->is_class[p]) {
            if (holder)
                *holder = p;
            return 1;
        }
        if (g->type[p] != c->dict_type)
            return 0;
        v = p;
    }
    return 0;
}

/* Per node, 1 for a class: an object whose type is the type of a class
 * (a metaclass), whether or not the snapshot lists it as a type.
 * O(n + T). */
static uint8_t *
classes(const struct hs_graph *g)
{
    uint8_t *is_class = hs_xcalloc((size_t)g->n + 1, 1);
    uint8_t *meta = hs_xcalloc((size_t)g->ntypes + 1, 1);

    for (uint32_t k = 0; k < g->ntypes; k++)
        if (g->types[k].node < g->n)
            meta[g->type[g->types[k].node]] = 1;
    for (uint32_t v = 0; v < g->n; v++)
        is_class[v] = meta[g->type[v]];
    free(meta);
    return is_class;
}

int
hs_advise_freed_with_holder(const struct hs_advise_ctx *c, uint32_t v)
{
    return c->in_deg[v] == 1 && !c->rooted[v] &&
           !(c->g->flags[v] & (HS_OBJ_IMMORTAL | HS_OBJ_STATIC));
}

uint64_t
hs_advise_values_extra(const struct hs_advise_ctx *c, uint32_t v)
{
    const struct hs_graph *g = c->g;
    const struct hs_type_layout *l = &c->layouts[g->type[v]];
    uint32_t dict_t = c->dict_type;

    if (!l->present || !l->managed_dict || l->values_bytes <= 0)
        return 0;
    if (l->values_inline)
        return (uint64_t)l->values_bytes;
    for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++)
        if (g->out_kind[e] == HS_EDGE_ATTR && g->type[g->out_dst[e]] == dict_t)
            return 0;
    return (uint64_t)l->values_bytes;
}

uint64_t
hs_advise_subtree_extra(const struct hs_advise_ctx *c, uint32_t v,
                        uint32_t **stack, uint32_t *alloc)
{
    uint64_t extra = 0;
    uint32_t top = 0;

    HS_ALLOC_GROW(*stack, 1, *alloc);
    (*stack)[top++] = v;
    while (top) {
        uint32_t u = (*stack)[--top], n;
        const uint32_t *kids;

        extra += hs_advise_values_extra(c, u);
        n = hs_dominators_children(c->dom, u, &kids);
        HS_ALLOC_GROW(*stack, top + n, *alloc);
        memcpy(*stack + top, kids, n * sizeof(*kids));
        top += n;
    }
    return extra;
}

uint32_t
hs_advise_top_types(const struct hs_graph *g, const uint32_t *count,
                    struct hs_buf *b)
{
    uint32_t shown[HS_ADVISE_TYPES], nshown = 0;
    char n1[32];

    for (uint32_t i = 0; i < HS_ADVISE_TYPES; i++) {
        uint32_t best = UINT32_MAX;

        for (uint32_t k = 0; k < g->ntypes; k++) {
            int taken = 0;

            for (uint32_t j = 0; j < nshown; j++)
                taken |= shown[j] == k;
            if (!count[k] || taken)
                continue;
            if (best == UINT32_MAX || count[k] > count[best] ||
                (count[k] == count[best] &&
                 (g->types[k].flags & HS_TYPE_HEAP) &&
                 !(g->types[best].flags & HS_TYPE_HEAP)))
                best = k;
        }
        if (best == UINT32_MAX)
            break;
        shown[nshown++] = best;
        hs_buf_addf(b, "%s%s \xC3\x97%s", i ? ", " : "", g->types[best].name,
                    hs_group_digits(count[best], n1, sizeof(n1)));
    }
    return nshown ? shown[0] : UINT32_MAX;
}

struct hs_advise_cache {
    uint32_t *edge_arg; /* per edge: edge_list.arg (0 for NULL), read at
                           once when the finders have asked for many
                           labels; NULL until then */
    uint64_t looked_up; /* labels read by rowid lookups before that */
};

/* hs_naming_each_edge_arg callback: keeps every edge's arg. */
static int
keep_arg(uint32_t e, int64_t arg, int is_null, void *ctx)
{
    uint32_t *edge_arg = ctx;

    edge_arg[e] = is_null ? 0 : (uint32_t)arg;
    return 0;
}

/* Every edge's edge_list.arg into c->cache->edge_arg: from the graph
 * cache when it has them, else in file order one ordered scan of
 * edge_list; otherwise hs_graph_edge_args() sorts the rows and scans once
 * too.  0, or -1 (exit 4). */
static int
load_edge_args(const struct hs_advise_ctx *c)
{
    const struct hs_graph *g = c->g;
    uint32_t *all, *edge_arg;
    int rc;

    edge_arg = hs_xcalloc((size_t)g->m + 1, sizeof(*edge_arg));
    rc = hs_graph_cache_load_args(g, edge_arg);
    if (rc != 0) {
        rc = rc < 0 ? -1 : 0;
    } else if (!g->edge_row) {
        rc = hs_naming_each_edge_arg(c->names, keep_arg, edge_arg);
    } else {
        all = hs_xmalloc(((size_t)g->m + 1) * sizeof(*all));
        for (uint32_t e = 0; e < g->m; e++)
            all[e] = e;
        rc = hs_graph_edge_args(g, all, g->m, edge_arg);
        free(all);
    }
    if (rc != 0) {
        free(edge_arg);
        return -1;
    }
    c->cache->edge_arg = edge_arg;
    return 0;
}

/* One rowid lookup costs about as much as this many rows of a scan
 * (graph.c's EDGE_SCAN_RATIO, measured). */
#define HS_ADVISE_LOOKUP_RATIO 128

int
hs_advise_edge_args(const struct hs_advise_ctx *c, const uint32_t *edges,
                    uint32_t n, uint32_t *arg)
{
    const struct hs_graph *g = c->g;

    if (!n || !g->snap)
        return 0;
    if (!c->cache->edge_arg) {
        if ((c->cache->looked_up + n) * HS_ADVISE_LOOKUP_RATIO < g->m) {
            c->cache->looked_up += n;
            return hs_graph_edge_args(g, edges, n, arg);
        }
        if (load_edge_args(c) < 0)
            return -1;
    }
    for (uint32_t i = 0; i < n; i++)
        if (c->cache->edge_arg[edges[i]])
            arg[i] = c->cache->edge_arg[edges[i]];
    return 0;
}

static int
by_saving(const void *a, const void *b)
{
    const struct hs_advice *x = a, *y = b;

    if (x->bytes_saved != y->bytes_saved)
        return x->bytes_saved < y->bytes_saved ? 1 : -1;
    if (x->count != y->count)
        return x->count < y->count ? 1 : -1;
    return x->example < y->example ? -1 : x->example > y->example;
}

static int (*const finders[])(const struct hs_advise_ctx *,
                              struct hs_advice_list *) = {
    hs_advise_slots,     hs_advise_array,   hs_advise_duplicates,
    hs_advise_sparse,    hs_advise_garbage, hs_advise_weak_cache,
    hs_advise_resources, hs_advise_backref, hs_advise_materialized,
    hs_advise_gc,
};

int
hs_advise_run(const struct hs_json_src *src, uint64_t min_bytes,
              struct hs_advice_list *out, int *have_layouts)
{
    struct hs_graph *g = src->g;
    struct hs_advise_ctx c;
    struct hs_advise_cache cache;
    struct hs_type_layout *layouts;
    uint8_t *is_class;
    char *ptr;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    memset(&c, 0, sizeof(c));
    memset(&cache, 0, sizeof(cache));
    c.cache = &cache;
    layouts = hs_facts_type_layouts(g, &c.have_layouts);
    if (!layouts)
        return -1;
    *have_layouts = c.have_layouts;
    c.g = g;
    c.names = src->names;
    c.bfs = src->bfs;
    c.dom = src->dom;
    c.layouts = layouts;
    c.min_bytes = min_bytes;
    c.dict_type = hs_advise_builtin(g, "dict");
    c.module_type = hs_advise_builtin(g, "module");
    c.sites = src->sites && src->sites->recorded ? src->sites : NULL;
    ptr = g->snap ? hs_snapshot_meta(g->snap, "pointer_size") : NULL;
    c.pointer = ptr ? strtoull(ptr, NULL, 10) : 0;
    if (c.pointer != 4 && c.pointer != 8)
        c.pointer = 8;
    free(ptr);
    ptr = g->snap ? hs_snapshot_meta(g->snap, "python_version") : NULL;
    c.py_version = hs_python_version_number(ptr);
    free(ptr);
    /* Retaining references and roots per node: O(n + m). */
    c.is_class = is_class = classes(g);
    c.in_deg = hs_xcalloc((size_t)g->n + 1, sizeof(*c.in_deg));
    c.rooted = hs_xcalloc((size_t)g->n + 1, 1);
    for (uint32_t v = 0; v < g->n; v++)
        for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++)
            c.in_deg[v] += hs_graph_in_retains(g, i) != 0;
    for (uint32_t r = 0; r < g->nroots; r++)
        c.rooted[g->roots[r].node] = 1;
    for (size_t i = 0; i < HS_ARRAY_SIZE(finders) && rc == 0; i++)
        rc = finders[i](&c, out);
    if (out->n)
        qsort(out->v, out->n, sizeof(*out->v), by_saving);
    free(cache.edge_arg);
    free(c.in_deg);
    free(is_class);
    free(c.rooted);
    free(layouts);
    return rc;
}

void
hs_advise_release(struct hs_advice_list *l)
{
    for (uint32_t i = 0; i < l->n; i++) {
        free(l->v[i].title);
        free(l->v[i].fix);
        free(l->v[i].basis);
    }
    free(l->v);
    memset(l, 0, sizeof(*l));
}

void
hs_advise_where(const struct hs_json_src *src, const struct hs_advice *a,
                struct hs_buf *out)
{
    if (a->example == UINT32_MAX)
        return;
    hs_why_path_line(src, a->example, 8, 1, out);
}

void
hs_advise_path_label(const struct hs_advise_ctx *c, uint32_t v,
                     struct hs_buf *label)
{
    struct hs_json_src src = { c->g, c->names, c->bfs, c->dom, 0, NULL };
    const char *tname = c->g->types[c->g->type[v]].name;
    char tail[300];
    size_t n;

    hs_why_path_line(&src, v, 8, 0, label);
    snprintf(tail, sizeof(tail), " \xE2\x86\x92 %s", tname);
    n = strlen(tail);
    if (label->len > n && !strcmp(label->buf + label->len - n, tail))
        label->buf[label->len -= n] = '\0';
}

struct hs_json *
hs_advise_json(const struct hs_json_src *src, const struct hs_advice_list *l,
               uint32_t limit, int have_layouts)
{
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_buf b = HS_BUF_INIT;
    uint64_t total = 0;
    uint32_t shown = limit && limit < l->n ? limit : l->n;
    char name[256];

    for (uint32_t i = 0; i < l->n; i++)
        total += l->v[i].bytes_saved;
    for (uint32_t i = 0; i < shown; i++) {
        const struct hs_advice *a = &l->v[i];
        struct hs_json *f = hs_json_object();

        hs_json_set_str(f, "kind", a->kind);
        hs_json_set_str(f, "title", a->title);
        hs_json_set_int(f, "bytes_saved", (int64_t)a->bytes_saved);
        hs_json_set_int(f, "count", (int64_t)a->count);
        if (a->type != UINT32_MAX)
            hs_json_set_str(f, "type",
                            hs_type_display_name(&src->g->types[a->type], name,
                                                 sizeof(name)));
        else
            hs_json_set_null(f, "type");
        hs_buf_reset(&b);
        hs_advise_where(src, a, &b);
        hs_json_set_str(f, "where", b.buf);
        hs_json_set_str(f, "fix", a->fix);
        if (!strcmp(a->kind, "open_resources"))
            hs_json_set(f, "opened_at",
                        a->opened_at && src->sites
                            ? hs_sites_frame_json(src->sites, a->opened_at)
                            : hs_json_null());
        hs_json_set_str(f, "basis", a->basis);
        if (a->example != UINT32_MAX) {
            struct hs_json *ex = hs_json_object();

            hs_json_set_int(ex, "id", hs_graph_object_id(a->example));
            hs_json_set_addr(ex, "address", src->g->address[a->example]);
            if (src->viewer)
                hs_why_viewer_fields(src, a->example, ex);
            hs_json_set(f, "example", ex);
        }
        hs_json_push(arr, f);
    }
    hs_json_set(doc, "findings", arr);
    hs_json_set_int(doc, "findings_not_shown", (int64_t)(l->n - shown));
    hs_json_set_int(doc, "total_bytes_saved", (int64_t)total);
    hs_json_set_bool(doc, "type_layouts", have_layouts);
    hs_buf_release(&b);
    return doc;
}
