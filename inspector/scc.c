/*
 * scc.c: strongly connected components (scc.h) by an iterative version of
 * Pearce's space-efficient variant of Tarjan's algorithm.
 *
 * One array, rindex, carries the DFS preorder index of a node while it is
 * open (1 .. n, lowered to the smallest index it can reach, as Tarjan's
 * lowlink) and its component once it is done, encoded as
 * SCC_DONE - component so that every finished node compares above every
 * open one and never lowers an index again.  The DFS keeps (node, next
 * edge) frames on an explicit stack; finished nodes that are not the root
 * of their component wait on a second stack.  Both stacks hold at most n
 * entries, so the depth of the graph never matters.
 */
#include "scc.h"

#include <stdlib.h>
#include <string.h>

/* rindex of a finished node of component c is SCC_DONE - c. */
#define SCC_DONE UINT32_MAX

/*
 * Pearce's algorithm over a CSR.  When `kind` is not NULL, edge e counts
 * only if retains[kind[e]] (kinds beyond HS_EDGE_NKINDS never count).
 * Writes the component of each node to comp, returns the number of
 * components.  O(n + m), scratch 3 words + 1 bit per node.
 */
static uint32_t
scc_pearce(uint32_t n, const uint32_t *off, const uint32_t *adj,
           const uint8_t *kind, const uint8_t *retains, uint32_t *comp)
{
    uint32_t *rindex = comp; /* becomes the component array in place */
    uint32_t *frame_node = hs_xmalloc(hs_st_mult(n ? n : 1, 4));
    uint32_t *frame_edge = hs_xmalloc(hs_st_mult(n ? n : 1, 4));
    uint32_t *waiting = hs_xmalloc(hs_st_mult(n ? n : 1, 4));
    uint8_t *not_root = hs_xcalloc((size_t)n / 8 + 1, 1);
    uint32_t index = 0, ncomp = 0, depth = 0, nwaiting = 0;

    memset(rindex, 0, (size_t)n * sizeof(*rindex));
    for (uint32_t start = 0; start < n; start++) {
        if (rindex[start])
            continue;
        rindex[start] = ++index;
        frame_node[0] = start;
        frame_edge[0] = off[start];
        depth = 1;
        while (depth) {
            uint32_t v = frame_node[depth - 1];
            uint32_t e = frame_edge[depth - 1], end = off[v + 1];
            int descended = 0;

            for (; e < end; e++) {
                uint32_t w = adj[e];

                if (kind && !(kind[e] < HS_EDGE_NKINDS && retains[kind[e]]))
                    continue;
                if (!rindex[w]) {
                    /* Resume at this same edge once w is done, so that
                     * w's lowered index reaches v. */
                    frame_edge[depth - 1] = e;
                    rindex[w] = ++index;
                    frame_node[depth] = w;
                    frame_edge[depth] = off[w];
                    depth++;
                    descended = 1;
                    break;
                }
                if (rindex[w] < rindex[v]) {
                    rindex[v] = rindex[w];
                    not_root[v / 8] |= (uint8_t)(1u << (v % 8));
                }
            }
            if (descended)
                continue;
            depth--;
            if (not_root[v / 8] & (1u << (v % 8))) {
                waiting[nwaiting++] = v;
                continue;
            }
            /* v roots a component: it is every waiting node whose
             * (lowered) index is not below v's, all pushed after v was
             * entered. */
            while (nwaiting && rindex[waiting[nwaiting - 1]] >= rindex[v])
                rindex[waiting[--nwaiting]] = SCC_DONE - ncomp;
            rindex[v] = SCC_DONE - ncomp;
            ncomp++;
        }
    }
    for (uint32_t v = 0; v < n; v++)
        comp[v] = SCC_DONE - rindex[v];
    free(frame_node);
    free(frame_edge);
    free(waiting);
    free(not_root);
    return ncomp;
}

uint32_t
hs_scc_csr(uint32_t n, const uint32_t *off, const uint32_t *adj,
           uint32_t *comp)
{
    return scc_pearce(n, off, adj, NULL, NULL, comp);
}

/* Is type t builtins.module or builtins.type? */
static int
type_is_module_or_type(const struct hs_type *t)
{
    if (t->module && strcmp(t->module, "builtins"))
        return 0;
    return t->name && (!strcmp(t->name, "module") || !strcmp(t->name, "type"));
}

/* Counting sort of the nodes by component: off and members.  O(n). */
static void
group_members(struct hs_scc *s)
{
    uint32_t *cursor;

    s->off = hs_xcalloc((size_t)s->ncomp + 1, sizeof(*s->off));
    s->members = hs_xmalloc(hs_st_mult(s->n ? s->n : 1, 4));
    for (uint32_t v = 0; v < s->n; v++)
        s->off[s->comp[v] + 1]++;
    for (uint32_t c = 0; c < s->ncomp; c++)
        s->off[c + 1] += s->off[c];
    cursor = hs_xmalloc(hs_st_mult((size_t)s->ncomp + 1, 4));
    memcpy(cursor, s->off, ((size_t)s->ncomp + 1) * sizeof(*cursor));
    for (uint32_t v = 0; v < s->n; v++)
        s->members[cursor[s->comp[v]]++] = v;
    free(cursor);
}

/*
 * Fills s->info: one pass over the nodes and their out-edges, O(n + m).
 * A component starts "unreachable" and loses the bit at its first member
 * that is reachable, which is why the bit is set before the pass.
 */
static void
fill_info(const struct hs_graph *g, const struct hs_bfs *reach,
          const uint8_t *kind, const uint8_t *is_class, struct hs_scc *s)
{
    uint8_t *modtype = hs_xcalloc(g->ntypes ? g->ntypes : 1, 1);
    uint8_t *is_type_node = hs_xcalloc(s->n ? s->n : 1, 1);

    for (uint32_t t = 0; t < g->ntypes; t++) {
        modtype[t] = (uint8_t)type_is_module_or_type(&g->types[t]);
        if (g->types[t].node < s->n)
            is_type_node[g->types[t].node] = 1;
    }
    s->info = hs_xcalloc(s->ncomp ? s->ncomp : 1, sizeof(*s->info));
    for (uint32_t c = 0; c < s->ncomp; c++) {
        s->info[c].flags = HS_SCC_UNREACHABLE;
        if (hs_scc_size(s, c) > 1)
            s->info[c].flags |= HS_SCC_CYCLE;
    }
    for (uint32_t v = 0; v < s->n; v++) {
        struct hs_scc_info *in = &s->info[s->comp[v]];
        int reached = reach ? hs_bfs_reached(reach, v)
                            : !(g->flags[v] & HS_OBJ_UNREACHABLE);

        in->bytes += g->size[v];
        if (reached)
            in->flags &= ~HS_SCC_UNREACHABLE;
        if (g->flags[v] & HS_OBJ_HAS_DEL)
            in->flags |= HS_SCC_HAS_DEL;
        if ((g->type[v] < g->ntypes && modtype[g->type[v]]) ||
            is_type_node[v] || (is_class && (is_class[v / 8] >> (v % 8)) & 1))
            in->nmodule_type++;
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            if (g->out_dst[e] == v && hs_graph_retains(g, kind[e]))
                in->flags |= HS_SCC_SELF_LOOP | HS_SCC_CYCLE;
        }
    }
    free(modtype);
    free(is_type_node);
}

void
hs_scc_run(const struct hs_graph *g, const struct hs_bfs *reach,
           struct hs_scc *out)
{
    memset(out, 0, sizeof(*out));
    out->n = g->n;
    out->comp = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, 4));
    out->ncomp = scc_pearce(g->n, g->out_off, g->out_dst, g->out_kind,
                            g->retains, out->comp);
    group_members(out);
    fill_info(g, reach, g->out_kind, NULL, out);
}

void
hs_scc_run_data(const struct hs_graph *g, const struct hs_bfs *reach,
                struct hs_scc *out)
{
    uint8_t *kind = hs_xmalloc(g->m ? g->m : 1);
    uint8_t *modular = hs_xcalloc((size_t)g->n / 8 + 1, 1);

    /* Modules, and the dicts a module holds as attributes (its __dict__). */
    for (uint32_t v = 0; v < g->n; v++) {
        const struct hs_type *t = hs_graph_type_of(g, v);

        if (strcmp(t->name, "module") ||
            (t->module && strcmp(t->module, "builtins")))
            continue;
        modular[v / 8] |= (uint8_t)(1u << (v % 8));
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            uint32_t d = g->out_dst[e];

            if (g->out_kind[e] == HS_EDGE_ATTR &&
                !strcmp(hs_graph_type_of(g, d)->name, "dict"))
                modular[d / 8] |= (uint8_t)(1u << (d % 8));
        }
    }
    for (uint32_t e = 0; e < g->m; e++) {
        uint32_t d = g->out_dst[e];

        kind[e] = g->out_kind[e] == HS_EDGE_CLASS ||
                          (modular[d / 8] & (1u << (d % 8)))
                      ? HS_EDGE_WEAK
                      : g->out_kind[e];
    }
    /* Classes, whatever their metaclass: a class's __mro__ is a tuple
     * whose first item is the class itself.  Reuses the bitmap. */
    memset(modular, 0, (size_t)g->n / 8 + 1);
    for (uint32_t t = 0; t < g->n; t++) {
        uint32_t cls;

        if (g->out_off[t] == g->out_off[t + 1] ||
            g->out_kind[g->out_off[t]] != HS_EDGE_ITEM ||
            strcmp(hs_graph_type_of(g, t)->name, "tuple"))
            continue;
        cls = g->out_dst[g->out_off[t]];
        for (uint32_t e = g->out_off[cls]; e < g->out_off[cls + 1]; e++) {
            if (g->out_dst[e] == t && g->out_kind[e] == HS_EDGE_ATTR) {
                modular[cls / 8] |= (uint8_t)(1u << (cls % 8));
                break;
            }
        }
    }
    memset(out, 0, sizeof(*out));
    out->n = g->n;
    out->comp = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, 4));
    out->ncomp = scc_pearce(g->n, g->out_off, g->out_dst, kind, g->retains,
                            out->comp);
    group_members(out);
    fill_info(g, reach, kind, modular, out);
    free(kind);
    free(modular);
}

void
hs_scc_release(struct hs_scc *s)
{
    HS_FREE_AND_NULL(s->comp);
    HS_FREE_AND_NULL(s->off);
    HS_FREE_AND_NULL(s->members);
    HS_FREE_AND_NULL(s->info);
    s->ncomp = 0;
}

/* A cycle with its sort keys, so that qsort needs no context. */
struct cycle_key {
    uint64_t bytes; /* total shallow size */
    uint32_t count; /* members */
    uint32_t first; /* smallest member */
    uint32_t id;    /* component */
};

static int
cycle_cmp(const void *pa, const void *pb)
{
    const struct cycle_key *a = pa, *b = pb;

    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    /* Members are disjoint, so smallest members never tie. */
    return a->first < b->first ? -1 : a->first > b->first;
}

uint32_t *
hs_scc_cycles(const struct hs_scc *s, uint32_t *count)
{
    struct cycle_key *keys;
    uint32_t *ids, k = 0;

    for (uint32_t c = 0; c < s->ncomp; c++)
        k += (s->info[c].flags & HS_SCC_CYCLE) != 0;
    *count = k;
    if (!k)
        return NULL;
    keys = hs_xmalloc(hs_st_mult(k, sizeof(*keys)));
    k = 0;
    for (uint32_t c = 0; c < s->ncomp; c++) {
        if (!(s->info[c].flags & HS_SCC_CYCLE))
            continue;
        keys[k].bytes = s->info[c].bytes;
        keys[k].count = hs_scc_size(s, c);
        keys[k].first = s->members[s->off[c]];
        keys[k++].id = c;
    }
    qsort(keys, k, sizeof(*keys), cycle_cmp);
    ids = hs_xmalloc(hs_st_mult(k, sizeof(*ids)));
    for (uint32_t i = 0; i < k; i++)
        ids[i] = keys[i].id;
    free(keys);
    return ids;
}
