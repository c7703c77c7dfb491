/*
 * advise_backref.c: the `back_reference` finding.  Reference cycles that
 * a back-pointer closes: a child's .parent (or .owner) pointing at what
 * holds it, or a stored bound method whose __self__ is the object that
 * stores it.  Such a structure is never freed by reference counting: it
 * waits for the cyclic gc (or stays for good with gc disabled).  Made a
 * weak reference (weakref.ref, weakref.WeakMethod), the back-pointer no
 * longer retains, and the objects it kept in cycles go as soon as the
 * structure is dropped.
 *
 * The cycles are the strongly connected components of the data
 * references (scc.h, as `heapsnap cycles` lists them) that a root
 * reaches and that hold no module or class.  In each, the references
 * named like a back-pointer (HS_BACKREF_NAMES: an attribute, or a key of
 * an instance __dict__ before 3.11) are taken away and the components of
 * what remains are computed again.  The members no longer in a cycle,
 * with what each alone retains (its dominator subtree, but not members of
 * other cycles), are then freed by reference counting as soon as the structure is dropped: `count` is the
 * gc-tracked objects among them (what gc.collect() would otherwise have
 * to find), `bytes_saved` the bytes of all of them, which no longer wait
 * for a collection.  One finding per
 * back-pointer name and type it points at.  Cost: O(n + m) for the
 * components and the labels, plus O(size) per cycle.
 */
#include "advise.h"
#include "report.h"
#include "scc.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The back-pointer names looked for. */
static const char *const backref_names[] = {
    "parent", "_parent", "owner", "_owner", "__self__",
};
#define HS_BACKREF_NAMES HS_ARRAY_SIZE(backref_names)

/* One cycle broken by one back-pointer name. */
struct broken {
    uint32_t name;    /* index into backref_names */
    uint32_t type;    /* the type the back-pointers point at */
    uint64_t freed;   /* gc-tracked objects no longer kept by a cycle */
    uint64_t bytes;   /* the bytes of all objects no longer kept so */
    uint32_t example; /* an object holding such a back-pointer */
};

/* A back-pointer reference inside a cycle. */
struct backptr {
    uint32_t edge; /* the reference */
    uint32_t name; /* index into backref_names */
    uint32_t comp; /* the component */
};

static int
by_comp_name(const void *a, const void *b)
{
    const struct backptr *x = a, *y = b;

    if (x->comp != y->comp)
        return x->comp < y->comp ? -1 : 1;
    if (x->name != y->name)
        return x->name < y->name ? -1 : 1;
    return x->edge < y->edge ? -1 : x->edge > y->edge;
}

static int
by_name_type(const void *a, const void *b)
{
    const struct broken *x = a, *y = b;

    if (x->name != y->name)
        return x->name < y->name ? -1 : 1;
    if (x->type != y->type)
        return x->type < y->type ? -1 : 1;
    return x->example < y->example ? -1 : x->example > y->example;
}

/* Does edge e count inside a cycle (as hs_scc_run_data counts it)? */
static int
data_edge(const struct hs_graph *g, uint32_t e)
{
    return hs_graph_retains(g, g->out_kind[e]) &&
           g->out_kind[e] != HS_EDGE_CLASS;
}

/*
 * Component c without its edges marked in `cut`: the members that leave
 * the cycles, and with each what it alone retains (its dominator subtree,
 * but not what lies in this or another cycle): into *tracked the gc-tracked ones among them (what
 * gc.collect() would count), into *bytes their sizes.  Returns how many
 * members leave.  local[]: scratch, n entries, all UINT32_MAX on entry
 * and on return; *stack, *salloc: scratch.  O(size + internal edges +
 * the subtrees).
 */
static uint32_t
freed_without(const struct hs_advise_ctx *ac, const struct hs_scc *s,
              uint32_t c, const uint8_t *cut, uint32_t *local,
              uint32_t **stack, uint32_t *salloc, uint64_t *tracked,
              uint64_t *bytes)
{
    const struct hs_graph *g = ac->g;
    const uint32_t *mem = s->members + s->off[c];
    uint32_t k = hs_scc_size(s, c), ne = 0, *off, *adj, *comp, *size,
             freed = 0;
    uint8_t *self_loop;

    for (uint32_t i = 0; i < k; i++)
        local[mem[i]] = i;
    for (uint32_t i = 0; i < k; i++)
        for (uint32_t e = g->out_off[mem[i]]; e < g->out_off[mem[i] + 1]; e++)
            ne += !cut[e] && data_edge(g, e) &&
                  local[g->out_dst[e]] != UINT32_MAX;
    off = hs_xmalloc(((size_t)k + 1) * sizeof(*off));
    adj = hs_xmalloc(((size_t)ne + 1) * sizeof(*adj));
    comp = hs_xmalloc(((size_t)k + 1) * sizeof(*comp));
    size = hs_xcalloc((size_t)k + 1, sizeof(*size));
    self_loop = hs_xcalloc((size_t)k + 1, 1);
    ne = 0;
    for (uint32_t i = 0; i < k; i++) {
        off[i] = ne;
        for (uint32_t e = g->out_off[mem[i]]; e < g->out_off[mem[i] + 1];
             e++) {
            uint32_t j = local[g->out_dst[e]];

            if (cut[e] || !data_edge(g, e) || j == UINT32_MAX)
                continue;
            adj[ne++] = j;
            self_loop[i] |= j == i;
        }
    }
    off[k] = ne;
    hs_scc_csr(k, off, adj, comp);
    for (uint32_t i = 0; i < k; i++)
        size[comp[i]]++;
    *tracked = *bytes = 0;
    for (uint32_t i = 0; i < k; i++) {
        uint32_t top = 0;

        if (size[comp[i]] > 1 || self_loop[i])
            continue;
        freed++;
        HS_ALLOC_GROW(*stack, 1, *salloc);
        (*stack)[top++] = mem[i];
        while (top) {
            uint32_t u = (*stack)[--top], nk;
            const uint32_t *kids;

            *tracked += (g->flags[u] & HS_OBJ_GC_TRACKED) != 0;
            *bytes += g->size[u] + hs_advise_values_extra(ac, u);
            nk = hs_dominators_children(ac->dom, u, &kids);
            HS_ALLOC_GROW(*stack, top + nk, *salloc);
            /* Members of this or another cycle still wait for the gc. */
            for (uint32_t q = 0; q < nk; q++)
                if (local[kids[q]] == UINT32_MAX &&
                    !(s->info[s->comp[kids[q]]].flags & HS_SCC_CYCLE))
                    (*stack)[top++] = kids[q];
        }
    }
    for (uint32_t i = 0; i < k; i++)
        local[mem[i]] = UINT32_MAX;
    free(self_loop);
    free(size);
    free(comp);
    free(adj);
    free(off);
    return freed;
}

/* The finding for the cycles b[0 .. n) broken by one name and type. */
static void
finding(const struct hs_advise_ctx *c, const struct broken *b, uint32_t n,
        struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    const char *name = backref_names[b->name];
    uint64_t freed = 0, bytes = 0;
    char n1[32], n2[32], sz[32], tname[256];
    int method = !strcmp(name, "__self__");

    for (uint32_t i = 0; i < n; i++) {
        freed += b[i].freed;
        bytes += b[i].bytes;
    }
    if (bytes < c->min_bytes)
        return;
    hs_group_digits(freed, n1, sizeof(n1));
    hs_group_digits(n, n2, sizeof(n2));
    hs_type_display_name(&g->types[b->type], tname, sizeof(tname));
    /* Weak back-pointers shrink no live structure: bytes_saved is 0, and
     * the bytes that wait for the gc are said in the title. */
    hs_advice_add(
        list, "back_reference", 0, freed, b->type, b->example,
        hs_xasprintf("%s objects (%s) wait for the cyclic gc in %s "
                     "reference cycle%s closed by back-references .%s to %s",
                     n1, hs_human_size(bytes, sz, sizeof(sz)), n2,
                     n == 1 ? "" : "s", name, tname),
        method ? hs_xasprintf("store weakref.WeakMethod(obj.method) instead "
                              "of the bound method (its __self__ closes the "
                              "cycle); call it as ref()(...)")
               : hs_xasprintf("make .%s a weak reference: self.%s = "
                              "weakref.ref(%s), read as self.%s(); then "
                              "reference counting frees these %s objects "
                              "without the cyclic gc",
                              name, name, name, name, n1),
        hs_xasprintf("saves no bytes of the live heap: once no .%s "
                     "retains, the cycles' members that leave them and what "
                     "they alone hold (%s gc-tracked objects, %" PRIu64
                     " bytes) are freed as soon as dropped instead of at a "
                     "collection",
                     name, n1, bytes));
}

int
hs_advise_backref(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t attr_id[HS_BACKREF_NAMES], key_id[HS_BACKREF_NAMES];
    uint32_t *edges = NULL, *args, ne = 0, alloc = 0, *local;
    uint32_t nb = 0, balloc = 0, nbp, *stack = NULL, salloc = 0;
    struct broken *br = NULL;
    struct backptr *bp = NULL;
    uint8_t *cut, any = 0;
    struct hs_scc s;
    int rc = 0;

    {
        /* The attribute names, then the same as __dict__ keys ('parent'). */
        const char *texts[2 * HS_BACKREF_NAMES];
        char quoted[HS_BACKREF_NAMES][64];
        uint32_t ids[2 * HS_BACKREF_NAMES];

        for (uint32_t j = 0; j < HS_BACKREF_NAMES; j++) {
            snprintf(quoted[j], sizeof(quoted[j]), "'%s'", backref_names[j]);
            texts[j] = backref_names[j];
            texts[HS_BACKREF_NAMES + j] = quoted[j];
        }
        if (hs_graph_name_ids(g, texts, 2 * HS_BACKREF_NAMES, ids) < 0)
            return -1;
        for (uint32_t j = 0; j < HS_BACKREF_NAMES; j++) {
            attr_id[j] = ids[j];
            key_id[j] = ids[HS_BACKREF_NAMES + j];
            any |= attr_id[j] || key_id[j];
        }
    }
    if (!any)
        return 0;
    memset(&s, 0, sizeof(s));
    hs_scc_run_data(g, c->bfs, &s);
    /* The attribute and __dict__ value references inside the cycles. */
    for (uint32_t v = 0; v < g->n; v++) {
        const struct hs_scc_info *in = &s.info[s.comp[v]];

        if (!(in->flags & HS_SCC_CYCLE) || (in->flags & HS_SCC_UNREACHABLE) ||
            in->nmodule_type)
            continue;
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++)
            if ((g->out_kind[e] == HS_EDGE_ATTR ||
                 (g->out_kind[e] == HS_EDGE_VALUE &&
                  g->type[v] == c->dict_type)) &&
                s.comp[g->out_dst[e]] == s.comp[v]) {
                HS_ALLOC_GROW(edges, ne + 1, alloc);
                edges[ne++] = e;
            }
    }
    args = hs_xcalloc((size_t)ne + 1, sizeof(*args));
    bp = hs_xmalloc(((size_t)ne + 1) * sizeof(*bp));
    if (hs_advise_edge_args(c, edges, ne, args) < 0) {
        rc = -1;
        goto done;
    }
    cut = hs_xcalloc((size_t)g->m + 1, 1);
    local = hs_xmalloc(((size_t)g->n + 1) * sizeof(*local));
    for (uint32_t v = 0; v < g->n; v++)
        local[v] = UINT32_MAX;
    /* The back-pointers, grouped by component. */
    nbp = 0;
    for (uint32_t i = 0; i < ne; i++)
        for (uint32_t j = 0; j < HS_BACKREF_NAMES; j++)
            if (args[i] && args[i] == (g->out_kind[edges[i]] == HS_EDGE_VALUE
                                           ? key_id[j]
                                           : attr_id[j])) {
                bp[nbp].edge = edges[i];
                bp[nbp].name = j;
                bp[nbp++].comp = s.comp[g->out_dst[edges[i]]];
            }
    qsort(bp, nbp, sizeof(*bp), by_comp_name);
    for (uint32_t i = 0, k; i < nbp; i = k) {
        uint64_t tracked, bytes;

        /* Cut every back-pointer of this name in the component. */
        for (k = i;
             k < nbp && bp[k].comp == bp[i].comp && bp[k].name == bp[i].name;
             k++)
            cut[bp[k].edge] = 1;
        if (!freed_without(c, &s, bp[i].comp, cut, local, &stack, &salloc,
                           &tracked, &bytes))
            tracked = 0;
        for (uint32_t q = i; q < k; q++)
            cut[bp[q].edge] = 0;
        if (!tracked)
            continue;
        HS_ALLOC_GROW(br, nb + 1, balloc);
        br[nb].name = bp[i].name;
        br[nb].type = g->type[g->out_dst[bp[i].edge]];
        br[nb].freed = tracked;
        br[nb].bytes = bytes;
        br[nb].example = g->out_dst[bp[i].edge];
        nb++;
    }
    free(local);
    free(cut);
    if (nb) {
        qsort(br, nb, sizeof(*br), by_name_type);
        for (uint32_t i = 0, k; i < nb; i = k) {
            for (k = i + 1; k < nb && br[k].name == br[i].name &&
                            br[k].type == br[i].type;
                 k++)
                ;
            finding(c, br + i, k - i, list);
        }
    }
done:
    free(stack);
    free(bp);
    free(br);
    free(args);
    free(edges);
    hs_scc_release(&s);
    return rc;
}
