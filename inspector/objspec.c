/*
 * objspec.c: resolving OBJ (objspec.h).  Addresses use the graph's sorted
 * address index (O(log n) after an O(n log n) build); type names are
 * matched against every type, then the instances are collected in one
 * pass over the nodes (O(n)).
 */
#include "objspec.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int
no_match(const char *spec)
{
    return hs_error(HS_EXIT_NO_RESULT, "no object matches '%s'", spec);
}

static int
single(struct hs_objset *out, int64_t node, const char *spec)
{
    if (node < 0)
        return no_match(spec);
    out->nodes = hs_xmalloc(sizeof(*out->nodes));
    out->nodes[0] = (uint32_t)node;
    out->n = 1;
    return 0;
}

/* Does type t answer to `name`: its __name__ or __qualname__, or either
 * prefixed by its module ("collections.OrderedDict", "app.Outer.Inner")? */
static int
type_matches(const struct hs_type *t, const char *name, int *qualified)
{
    const char *dot = strrchr(name, '.');

    *qualified = 0;
    if (!strcmp(t->name, name) || (t->qualname && !strcmp(t->qualname, name)))
        return 1;
    if (!dot || !t->module)
        return 0;
    {
        size_t mlen = strlen(t->module);

        if (!strncmp(name, t->module, mlen) && name[mlen] == '.' &&
            ((t->qualname && !strcmp(name + mlen + 1, t->qualname)) ||
             !strcmp(name + mlen + 1, t->name))) {
            *qualified = 1;
            return 1;
        }
    }
    return 0;
}

int
hs_objspec_type(struct hs_graph *g, const char *spec, uint32_t *type)
{
    uint32_t *cands = NULL, ncands = 0, exact = UINT32_MAX;
    size_t alloc = 0;
    char name[512];

    if (!*spec)
        return hs_error(HS_EXIT_USAGE, "an empty object name");
    for (uint32_t t = 0; t < g->ntypes; t++) {
        int qualified;

        if (!type_matches(&g->types[t], spec, &qualified))
            continue;
        if (qualified)
            exact = t;
        HS_ALLOC_GROW(cands, (size_t)ncands + 1, alloc);
        cands[ncands++] = t;
    }
    if (exact != UINT32_MAX) {
        cands[0] = exact;
        ncands = 1;
    }
    if (ncands > 1) {
        hs_error(HS_EXIT_USAGE, "'%s' names %u types; say which:", spec,
                 ncands);
        for (uint32_t i = 0; i < ncands; i++)
            fprintf(stderr, "  %s (%u objects)\n",
                    hs_type_display_name(&g->types[cands[i]], name,
                                         sizeof(name)),
                    g->types[cands[i]].count);
        free(cands);
        return -1;
    }
    if (ncands == 0) {
        free(cands);
        return no_match(spec);
    }
    *type = cands[0];
    free(cands);
    return 0;
}

/* Is node c a class: does it hold a tuple (its __mro__) that holds it
 * back?  Structural, so no labels are read.  O(out-degree squared) at
 * worst, over a class's few references. */
static int
is_class_node(const struct hs_graph *g, uint32_t c)
{
    for (uint32_t e = g->out_off[c]; e < g->out_off[c + 1]; e++) {
        uint32_t t = g->out_dst[e];

        if (strcmp(hs_graph_type_of(g, t)->name, "tuple"))
            continue;
        for (uint32_t f = g->out_off[t]; f < g->out_off[t + 1]; f++)
            if (g->out_dst[f] == c)
                return 1;
    }
    return 0;
}

/* A class named `spec` that no object in the heap is an instance of (so
 * the types table does not list it): its node, or -1.  One scan of the
 * objects' values. */
static int64_t
class_without_instances(const struct hs_graph *g, const char *spec)
{
    const char *dot = strrchr(spec, '.');

    return hs_graph_find_value(g, spec, dot ? dot + 1 : spec, is_class_node);
}

/* The error for a class without instances: "0 instances of Node (the
 * class exists: @0x...)".  Always -1. */
static int
no_instances(const struct hs_graph *g, const char *spec, uint32_t node)
{
    return hs_error(HS_EXIT_NO_RESULT,
                    "0 instances of %s (the class exists: @0x%" PRIx64
                    ", object @%" PRId64 ")",
                    spec, g->address[node], hs_graph_object_id(node));
}

static int
by_type(struct hs_graph *g, const char *spec, struct hs_objset *out)
{
    if (!hs_objspec_is_object(spec)) {
        int ntypes = 0, q;

        for (uint32_t t = 0; t < g->ntypes; t++)
            ntypes += type_matches(&g->types[t], spec, &q);
        if (!ntypes) {
            int64_t c = class_without_instances(g, spec);

            if (c >= 0)
                return no_instances(g, spec, (uint32_t)c);
        }
    }
    if (hs_objspec_type(g, spec, &out->type) < 0)
        return -1;
    out->is_type = 1;
    if (g->types[out->type].count == 0)
        return no_instances(g, spec, g->types[out->type].node);
    out->nodes = hs_xmalloc(hs_st_mult(g->types[out->type].count,
                                       sizeof(*out->nodes)));
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->type[v] == out->type)
            out->nodes[out->n++] = v;
    }
    return 0;
}

int
hs_objspec_is_object(const char *spec)
{
    return spec[0] == '@' || isdigit((unsigned char)spec[0]);
}

int
hs_objspec_resolve(struct hs_graph *g, const char *spec,
                   struct hs_objset *out)
{
    uint64_t num;

    memset(out, 0, sizeof(*out));
    if (!*spec)
        return hs_error(HS_EXIT_USAGE, "an empty object name");
    if (spec[0] == '@') {
        if (hs_parse_u64(spec + 1, &num) < 0 || num > INT64_MAX)
            return hs_error(HS_EXIT_USAGE,
                            "'%s' is not an object id (@ and a number)",
                            spec);
        return single(out, hs_graph_node_of_id(g, (int64_t)num), spec);
    }
    if (isdigit((unsigned char)spec[0])) {
        if (hs_parse_u64(spec, &num) < 0)
            return hs_error(HS_EXIT_USAGE,
                            "'%s' is not an address (0x... or decimal)",
                            spec);
        return single(out, hs_graph_node_of_address(g, num), spec);
    }
    return by_type(g, spec, out);
}

int
hs_objspec_resolve_all(struct hs_graph *g, const char *const *specs, int n,
                       struct hs_objset *out)
{
    uint8_t *member;
    uint32_t count = 0;

    if (n == 1)
        return hs_objspec_resolve(g, specs[0], out);
    memset(out, 0, sizeof(*out));
    member = hs_xcalloc(g->n ? g->n : 1, 1);
    for (int i = 0; i < n; i++) {
        struct hs_objset one;

        if (hs_objspec_resolve(g, specs[i], &one) < 0) {
            free(member);
            return -1;
        }
        for (uint32_t k = 0; k < one.n; k++) {
            count += !member[one.nodes[k]];
            member[one.nodes[k]] = 1;
        }
        hs_objset_release(&one);
    }
    out->nodes =
        hs_xmalloc(hs_st_mult(count ? count : 1, sizeof(*out->nodes)));
    for (uint32_t v = 0; v < g->n; v++)
        if (member[v])
            out->nodes[out->n++] = v;
    free(member);
    return 0;
}

void
hs_objset_release(struct hs_objset *set)
{
    free(set->nodes);
    memset(set, 0, sizeof(*set));
}
