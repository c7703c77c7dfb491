/*
 * report_why.c: the answers of `why` (report.h): one object's retention
 * path or, when no root reaches it, the components that hold it; a set of
 * objects grouped by the shape of their paths with retained sizes.  The
 * command (cmd_why.c) prints them as text, the server and --json as JSON,
 * the pictures (draw.c) from the same groups.  Nothing here prints.
 */
#include "report.h"
#include "render_path.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

void
hs_why_path_line(const struct hs_json_src *src, uint32_t v,
                 uint32_t max_steps, int mark_root, struct hs_buf *out)
{
    uint32_t d, r, *edges;

    if (!hs_bfs_reached(src->bfs, v)) {
        hs_buf_adds(out, "(unreachable: cyclic garbage)");
        return;
    }
    d = src->bfs->dist[v];
    edges = hs_xmalloc(hs_st_mult(d ? d : 1, sizeof(*edges)));
    r = hs_bfs_path(src->g, src->bfs, v, edges);
    hs_render_path(src->names, r, edges, d, max_steps, out);
    if (d == 0 && mark_root)
        hs_buf_adds(out, " (a root)");
    free(edges);
}

void
hs_why_node_fields(const struct hs_json_src *src, uint32_t v,
                   struct hs_json *o)
{
    const struct hs_graph *g = src->g;
    char name[256];

    hs_json_set_int(o, "id", hs_graph_object_id(v));
    hs_json_set_addr(o, "address", g->address[v]);
    hs_json_set_str(o, "type", hs_naming_type(g, v, 1, name, sizeof(name)));
    hs_json_set_int(o, "size", (int64_t)g->size[v]);
    hs_json_set_int(o, "retained_size", (int64_t)src->dom->retained[v]);
}

void
hs_why_viewer_fields(const struct hs_json_src *src, uint32_t v,
                     struct hs_json *o)
{
    const struct hs_graph *g = src->g;
    struct hs_buf b = HS_BUF_INIT;

    if (!src->viewer)
        return;
    hs_json_set_int(o, "type_id",
                    hs_graph_object_id(g->types[g->type[v]].node));
    hs_naming_object(src->names, v, 0, &b);
    hs_json_set_str(o, "description", b.buf);
    hs_buf_release(&b);
}

struct hs_json *
hs_why_node_json(const struct hs_json_src *src, uint32_t v)
{
    struct hs_json *o = hs_json_object();
    struct hs_objfacts f;

    hs_why_node_fields(src, v, o);
    if (hs_naming_facts(src->names, v, &f) == 0) {
        if (f.value)
            hs_json_set_str(o, "value", f.value);
        if (f.length >= 0)
            hs_json_set_int(o, "length", f.length);
        hs_objfacts_release(&f);
    }
    hs_why_viewer_fields(src, v, o);
    return o;
}

static struct hs_json *
json_root(const struct hs_json_src *src, uint32_t r)
{
    struct hs_json *o = hs_json_object();
    struct hs_rootinfo ri;
    struct hs_buf b = HS_BUF_INIT;

    hs_json_set_str(o, "kind", hs_root_kind_name(
                                   (enum hs_root_kind)src->g->roots[r].kind));
    hs_naming_root(src->names, r, &b);
    hs_json_set_str(o, "description", b.buf);
    hs_buf_release(&b);
    if (hs_naming_rootinfo(src->names, r, &ri) == 0) {
        hs_json_set_str(o, "label", ri.label);
        if (ri.thread || ri.thread_ident >= 0) {
            hs_json_set_str(o, "thread", ri.thread);
            hs_json_set_str(o, "function", ri.function);
            hs_json_set_str(o, "file", ri.file);
            if (ri.line >= 0)
                hs_json_set_int(o, "line", ri.line);
        }
    }
    hs_rootinfo_release(&ri);
    hs_json_set(o, "object", hs_why_node_json(src, src->g->roots[r].node));
    return o;
}

/* "2 CycleNode objects" or "3 objects (2 CycleNode, 1 dict)". */
static void
describe_members(const struct hs_graph *g, const uint32_t *members,
                 uint32_t n, struct hs_buf *out)
{
    uint32_t types[3], counts[3], ntypes = 0, other = 0;

    for (uint32_t i = 0; i < n; i++) {
        uint32_t t = g->type[members[i]], k;

        for (k = 0; k < ntypes && types[k] != t; k++)
            ;
        if (k < ntypes) {
            counts[k]++;
        } else if (ntypes < 3) {
            types[ntypes] = t;
            counts[ntypes++] = 1;
        } else {
            other++;
        }
    }
    if (ntypes == 1 && !other) {
        hs_buf_addf(out, "%u %s object%s", n, g->types[types[0]].name,
                    n == 1 ? "" : "s");
        return;
    }
    hs_buf_addf(out, "%u objects (", n);
    for (uint32_t k = 0; k < ntypes; k++)
        hs_buf_addf(out, "%s%u %s", k ? ", " : "", counts[k],
                    g->types[types[k]].name);
    if (other)
        hs_buf_addf(out, ", %u more", other);
    hs_buf_addch(out, ')');
}

/* Holder c of h: its members described into `b` (reset first); returns
 * whether v is one of them.  O(members). */
int
hs_why_holder_describe(const struct hs_graph *g, const struct hs_unreach_holders *h,
                uint32_t c, uint32_t v, struct hs_buf *b)
{
    const uint32_t *m = h->members + h->off[c];
    uint32_t n = h->off[c + 1] - h->off[c];
    int inside = 0;

    for (uint32_t i = 0; i < n; i++)
        inside |= m[i] == v;
    hs_buf_reset(b);
    describe_members(g, m, n, b);
    return inside;
}

/* Members of a holder listed by id for the viewer, at most this many. */
#define HOLDER_MEMBERS 20

/* OBJ no root reaches, as JSON: the components that hold it. */
static void
unreachable_json(const struct hs_json_src *src, uint32_t v,
                 struct hs_json *doc)
{
    struct hs_unreach_holders h;
    struct hs_json *cycles = hs_json_array();
    struct hs_buf b = HS_BUF_INIT;

    hs_paths_explain_unreachable(src->g, src->bfs, v, &h);
    for (uint32_t c = 0; c < h.ncomp; c++) {
        int inside = hs_why_holder_describe(src->g, &h, c, v, &b);
        uint32_t n = h.off[c + 1] - h.off[c];
        struct hs_json *jc = hs_json_object();

        hs_json_set_bool(jc, "cycle", (h.flags[c] & HS_SCC_CYCLE) != 0);
        hs_json_set_bool(jc, "contains_object", inside);
        hs_json_set_int(jc, "members", n);
        hs_json_set_int(jc, "bytes", (int64_t)h.bytes[c]);
        hs_json_set_str(jc, "description", b.buf);
        hs_json_set_bool(jc, "has_del", (h.flags[c] & HS_SCC_HAS_DEL) != 0);
        if (src->viewer) {
            struct hs_json *ids = hs_json_array();

            for (uint32_t i = 0; i < n && i < HOLDER_MEMBERS; i++)
                hs_json_push(ids, hs_json_int(hs_graph_object_id(
                                      h.members[h.off[c] + i])));
            hs_json_set(jc, "member_ids", ids);
        }
        hs_json_push(cycles, jc);
    }
    hs_json_set_str(doc, "reason", "unreachable");
    hs_json_set(doc, "held_by", cycles);
    hs_unreach_holders_release(&h);
    hs_buf_release(&b);
}

/* One step of a path: the reference and the object it leads to. */
static struct hs_json *
step_json(const struct hs_json_src *src, uint32_t e)
{
    struct hs_json *o = hs_json_object();
    struct hs_buf b = HS_BUF_INIT;

    hs_naming_edge(src->names, e, &b);
    hs_json_set_str(o, "kind", hs_naming_kind(src->names, src->g->out_kind[e]));
    hs_json_set_str(o, "label", b.buf);
    hs_json_set(o, "to", hs_why_node_json(src, src->g->out_dst[e]));
    hs_buf_release(&b);
    return o;
}

void
hs_why_object_json(const struct hs_json_src *src, uint32_t v,
                   uint32_t max_steps, struct hs_json *doc)
{
    struct hs_json *path;
    struct hs_buf b = HS_BUF_INIT;
    uint32_t d, r, *edges, head, tail;

    hs_json_set(doc, "object", hs_why_node_json(src, v));
    if (src->sites)
        hs_json_set(doc, "allocated_at",
                    hs_sites_traceback_json(src->sites, v));
    if (!hs_bfs_reached(src->bfs, v)) {
        unreachable_json(src, v, doc);
        return;
    }
    d = src->bfs->dist[v];
    edges = hs_xmalloc(hs_st_mult(d ? d : 1, sizeof(*edges)));
    r = hs_bfs_path(src->g, src->bfs, v, edges);
    hs_json_set_str(doc, "reason", d ? "path" : "root");
    hs_json_set(doc, "root", json_root(src, r));
    hs_path_elide(d, max_steps, &head, &tail);
    path = hs_json_array();
    for (uint32_t i = 0; i < head; i++)
        hs_json_push(path, step_json(src, edges[i]));
    if (tail) {
        struct hs_json *gap = hs_json_object();

        hs_json_set_int(gap, "elided", d - head - tail);
        hs_json_push(path, gap);
        for (uint32_t i = d - tail; i < d; i++)
            hs_json_push(path, step_json(src, edges[i]));
    }
    hs_json_set(doc, "path", path);
    if (src->viewer)
        hs_json_set_int(doc, "distance", d);
    hs_render_path(src->names, r, edges, d, max_steps, &b);
    hs_json_set_str(doc, "text", b.buf);
    free(edges);
    hs_buf_release(&b);
}

/*
 * Groups `nodes` and sums their retained sizes, counting members held
 * inside other members once (a node given twice counts once).  0, or -1
 * after an error (printed).  O(n) plus hs_paths_group()'s cost; 2 bytes
 * per node while it runs.
 */
/* Group order: retained size, then bytes, count, example, descending but
 * the example. */
static const struct hs_why_groups *sort_wg; /* for group_order_cmp only */

static int
group_order_cmp(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    const struct hs_path_group *gx = &sort_wg->pg.groups[x],
                               *gy = &sort_wg->pg.groups[y];

    if (sort_wg->group_retained[x] != sort_wg->group_retained[y])
        return sort_wg->group_retained[x] > sort_wg->group_retained[y] ? -1
                                                                        : 1;
    if (gx->bytes != gy->bytes)
        return gx->bytes > gy->bytes ? -1 : 1;
    if (gx->count != gy->count)
        return gx->count > gy->count ? -1 : 1;
    return gx->example < gy->example ? -1 : gx->example > gy->example;
}

/* Puts the groups in order of retained size, biggest first, and renumbers
 * pg.group_of to match.  O(G log G + count). */
static void
order_groups(struct hs_why_groups *wg, uint32_t count)
{
    uint32_t ng = wg->pg.ngroups, *order, *rank;
    struct hs_path_group *groups;
    uint64_t *ret;
    uint32_t *nested, *inside;

    if (ng < 2)
        return;
    order = hs_xmalloc(hs_st_mult(ng, sizeof(*order)));
    rank = hs_xmalloc(hs_st_mult(ng, sizeof(*rank)));
    for (uint32_t k = 0; k < ng; k++)
        order[k] = k;
    sort_wg = wg;
    qsort(order, ng, sizeof(*order), group_order_cmp);
    sort_wg = NULL;
    groups = hs_xmalloc(hs_st_mult(ng, sizeof(*groups)));
    ret = hs_xmalloc(hs_st_mult(ng, sizeof(*ret)));
    nested = hs_xmalloc(hs_st_mult(ng, sizeof(*nested)));
    inside = hs_xmalloc(hs_st_mult(ng, sizeof(*inside)));
    for (uint32_t k = 0; k < ng; k++) {
        groups[k] = wg->pg.groups[order[k]];
        ret[k] = wg->group_retained[order[k]];
        nested[k] = wg->group_nested[order[k]];
        inside[k] = wg->group_inside[order[k]];
        rank[order[k]] = k;
    }
    for (uint32_t i = 0; i < count; i++)
        wg->pg.group_of[i] = rank[wg->pg.group_of[i]];
    free(wg->pg.groups);
    free(wg->group_retained);
    free(wg->group_nested);
    free(wg->group_inside);
    wg->pg.groups = groups;
    wg->group_retained = ret;
    wg->group_nested = nested;
    wg->group_inside = inside;
    free(order);
    free(rank);
}

int
hs_why_groups_run(const struct hs_json_src *src, const uint32_t *nodes,
               uint32_t count, struct hs_why_groups *wg)
{
    const struct hs_graph *g = src->g;
    uint8_t *member, *outer, *in_group;
    uint32_t *group, ng;

    memset(wg, 0, sizeof(*wg));
    if (hs_paths_group(g, src->bfs, nodes, count, NULL, &wg->pg) < 0)
        return -1;
    wg->nodes = nodes;
    wg->count = count;
    ng = wg->pg.ngroups ? wg->pg.ngroups : 1;
    member = hs_xcalloc(g->n ? g->n : 1, 1);
    outer = hs_xmalloc(g->n ? g->n : 1);
    in_group = hs_xmalloc(g->n ? g->n : 1);
    group = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(*group)));
    memset(group, 0xFF, (size_t)g->n * sizeof(*group));
    wg->group_retained = hs_xcalloc(ng, sizeof(*wg->group_retained));
    wg->group_nested = hs_xcalloc(ng, sizeof(*wg->group_nested));
    wg->group_inside = hs_xcalloc(ng, sizeof(*wg->group_inside));
    for (uint32_t i = 0; i < count; i++) {
        member[nodes[i]] = 1;
        group[nodes[i]] = wg->pg.group_of[i];
    }
    hs_dominators_outermost(src->dom, member, outer);
    hs_dominators_outermost_by_group(src->dom, group, ng, in_group);
    for (uint32_t i = 0; i < count; i++) {
        uint32_t v = nodes[i], k = wg->pg.group_of[i];

        wg->total += g->size[v];
        if (!member[v])
            continue; /* given twice: counted once */
        member[v] = 0;
        if (outer[v])
            wg->retained += src->dom->retained[v];
        else
            wg->nested++;
        if (in_group[v]) {
            wg->group_retained[k] += src->dom->retained[v];
            wg->group_inside[k] += !outer[v];
        } else {
            wg->group_nested[k]++;
        }
    }
    free(member);
    free(outer);
    free(in_group);
    free(group);
    order_groups(wg, count);
    return 0;
}

void
hs_why_groups_release(struct hs_why_groups *wg)
{
    free(wg->steps);
    free(wg->group_retained);
    free(wg->group_nested);
    free(wg->group_inside);
    hs_path_groups_release(&wg->pg);
}

/* The shape of group k's paths into `out` (reset first). */
void
hs_why_group_shape(const struct hs_json_src *src, struct hs_why_groups *wg, uint32_t k,
            struct hs_buf *out)
{
    hs_buf_reset(out);
    HS_ALLOC_GROW(wg->steps, (size_t)wg->pg.groups[k].nsteps + 1,
                  wg->steps_alloc);
    hs_path_groups_steps(&wg->pg, k, wg->steps);
    hs_render_shape(src->names, &wg->pg.groups[k], wg->steps, out);
}

int
hs_why_groups_json(const struct hs_json_src *src, const uint32_t *nodes,
                   uint32_t count, const char *spec, uint32_t type,
                   int npaths, uint32_t path_steps, struct hs_json *doc)
{
    struct hs_why_groups wg;
    int rc = hs_why_groups_run(src, nodes, count, &wg);

    if (rc == 0)
        hs_why_groups_render_json(src, &wg, count, spec, type, npaths,
                                  path_steps, doc);
    hs_why_groups_release(&wg);
    return rc;
}

void
hs_why_groups_render_json(const struct hs_json_src *src,
                          struct hs_why_groups *groups, uint32_t count,
                          const char *spec, uint32_t type, int npaths,
                          uint32_t path_steps, struct hs_json *doc)
{
    const struct hs_graph *g = src->g;
    const struct hs_why_groups *wg = groups;
    struct hs_buf b = HS_BUF_INIT;
    struct hs_json *jgroups;
    uint32_t shown = 0, more = 0;
    char name[256];

    hs_json_set_str(doc, "query", spec);
    if (type != UINT32_MAX) {
        hs_json_set_str(doc, "type", hs_type_display_name(&g->types[type],
                                                          name, sizeof(name)));
        if (src->viewer)
            hs_json_set_int(doc, "type_id",
                            hs_graph_object_id(g->types[type].node));
    }
    hs_json_set_int(doc, "count", count);
    hs_json_set_int(doc, "bytes", (int64_t)wg->total);
    hs_json_set_int(doc, "retained_size", (int64_t)wg->retained);
    hs_json_set_int(doc, "nested", wg->nested);
    jgroups = hs_json_array();
    for (uint32_t k = 0; k < wg->pg.ngroups; k++) {
        const struct hs_path_group *gr = &wg->pg.groups[k];
        struct hs_json *jg, *e;

        if ((int)shown >= npaths) {
            more++;
            continue;
        }
        shown++;
        jg = hs_json_object();
        hs_json_set_int(jg, "count", gr->count);
        hs_json_set_int(jg, "bytes", (int64_t)gr->bytes);
        hs_json_set_int(jg, "retained_size", (int64_t)wg->group_retained[k]);
        hs_json_set_int(jg, "nested_in_group", wg->group_nested[k]);
        hs_json_set_int(jg, "inside_other_groups", wg->group_inside[k]);
        /* As a percentage first, then scaled: the bits the text shows. */
        hs_json_set_num(jg, "share",
                        (wg->total ? 100.0 * (double)gr->bytes /
                                        (double)wg->total
                                  : 0) /
                            100.0);
        hs_json_set_bool(jg, "unreachable", gr->unreachable);
        e = hs_why_node_json(src, gr->example);
        if (!gr->unreachable) {
            hs_why_group_shape(src, groups, k, &b);
            hs_json_set_str(jg, "shape", b.buf);
            hs_json_set_str(jg, "root_kind",
                            hs_root_kind_name(
                                (enum hs_root_kind)gr->root_kind));
            hs_buf_reset(&b);
            hs_why_path_line(src, gr->example, path_steps, 0, &b);
            hs_json_set_str(e, "path", b.buf);
        }
        if (src->sites && src->sites->recorded) {
            hs_json_set(e, "allocated_at",
                        hs_sites_traceback_json(src->sites, gr->example));
            hs_json_set(jg, "sites",
                        hs_sites_group_json(src, groups, k, HS_GROUP_SITES));
        }
        hs_json_set(jg, "example", e);
        hs_json_push(jgroups, jg);
    }
    hs_json_set(doc, "groups", jgroups);
    hs_json_set_int(doc, "groups_not_shown", more);
    hs_buf_release(&b);
}
