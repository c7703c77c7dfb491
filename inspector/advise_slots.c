/*
 * advise_slots.c: the `slots` finding.  A class with many instances that
 * keep their attributes in a __dict__ (3.8 - 3.10), in a values array
 * allocated apart (3.11, 3.12) or inline after the instance (3.13+) would
 * hold them in fixed slots with __slots__.  Per instance the saving is
 * what its attribute storage costs now, from the snapshot's sizes:
 *     objects.size of the instance (the __dict__ pointer and weak list
 *     included, in the pre-header on 3.11+)
 *   + objects.size of its __dict__, when it has one
 *   + type_layouts.values_bytes, when its values are stored apart without
 *     a __dict__ (3.11, 3.12) or inline (3.13+, always allocated)
 * minus the slot layout: the solid base's basic size + one pointer per
 * attribute + the gc header (+ a pointer for __weakref__ when any
 * instance is weakly referenced).  The attribute values themselves stay.
 *
 * Only classes whose layout is a plain object's (no C base with fields of
 * its own, no __slots__ already) and with HS_SLOTS_MIN_INSTANCES or more
 * instances are considered: with few instances the technique is not worth
 * a class's flexibility.  O(n + m) over the candidate types' instances.
 */
#include "advise.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define HS_SLOTS_MIN_INSTANCES 100
#define HS_SLOTS_NAMES_SHOWN   8

/* What one candidate type's instances cost now, summed. */
struct slots_tally {
    uint64_t count;  /* instances */
    uint64_t now;    /* their attribute storage now, bytes */
    uint64_t inst;   /* of which objects.size of the instances */
    uint64_t dicts;  /* of which their __dict__s */
    uint64_t values; /* of which values arrays */
    uint32_t ndicts; /* instances with a __dict__ */
    uint32_t min_attrs, max_attrs;
    uint32_t example; /* an instance with max_attrs attributes */
    int weak;         /* an instance is weakly referenced */
};

/* "'a', 'b', 'c'" from the labels of the attribute edges of `holder`
 * (".a" or "['a']"), the first HS_SLOTS_NAMES_SHOWN of them. */
static void
attr_names(const struct hs_advise_ctx *c, uint32_t holder, uint8_t kind,
           uint32_t skip_edge, struct hs_buf *out)
{
    const struct hs_graph *g = c->g;
    struct hs_buf label = HS_BUF_INIT;
    uint32_t shown = 0, total = 0;

    for (uint32_t e = g->out_off[holder]; e < g->out_off[holder + 1]; e++) {
        const char *s;
        size_t len;

        if (g->out_kind[e] != kind || e == skip_edge)
            continue;
        if (total++ >= HS_SLOTS_NAMES_SHOWN)
            continue;
        hs_buf_reset(&label);
        hs_naming_edge(c->names, e, &label);
        s = label.buf;
        len = label.len;
        /* ".name" or "['name']" -> name */
        if (len > 1 && s[0] == '.') {
            s++;
            len--;
        } else if (len > 4 && s[0] == '[' && s[1] == '\'') {
            s += 2;
            len -= 4;
        }
        hs_buf_addf(out, "%s'%.*s'", shown++ ? ", " : "", (int)len, s);
    }
    if (total > shown)
        hs_buf_adds(out, ", ...");
    else if (total == 1)
        hs_buf_addch(out, ',');
    hs_buf_release(&label);
}

static void
tally_instance(const struct hs_advise_ctx *c, const struct hs_type_layout *l,
               uint32_t v, uint32_t dict_e, struct slots_tally *t)
{
    const struct hs_graph *g = c->g;
    uint32_t nattrs;
    uint64_t cost = g->size[v];

    t->inst += g->size[v];
    if (dict_e != UINT32_MAX) {
        uint32_t d = g->out_dst[dict_e];

        nattrs = hs_advise_count_kind(g, d, HS_EDGE_VALUE);
        if (hs_advise_freed_with_holder(c, d)) {
            cost += g->size[d];
            t->dicts += g->size[d];
        }
        t->ndicts++;
        if (l->values_inline) {
            cost += (uint64_t)l->values_bytes;
            t->values += (uint64_t)l->values_bytes;
        }
    } else {
        nattrs =
            l->managed_dict ? hs_advise_count_kind(g, v, HS_EDGE_ATTR) : 0;
        if (l->managed_dict) {
            cost += (uint64_t)l->values_bytes;
            t->values += (uint64_t)l->values_bytes;
        }
    }
    if (!t->count || nattrs < t->min_attrs)
        t->min_attrs = nattrs;
    if (!t->count || nattrs > t->max_attrs) {
        t->max_attrs = nattrs;
        t->example = v;
    }
    for (uint32_t i = g->in_off[v]; i < g->in_off[v + 1]; i++)
        if (!hs_graph_in_retains(g, i))
            t->weak = 1;
    t->now += cost;
    t->count++;
}

/* The finding for type k, when it saves enough. */
static void
finding(const struct hs_advise_ctx *c, uint32_t k, const struct slots_tally *t,
        uint32_t example_dict_e, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    const struct hs_type_layout *l = &c->layouts[k];
    uint64_t p = c->pointer;
    uint64_t per = (uint64_t)l->solid_basicsize + p * t->max_attrs + 2 * p +
                   (t->weak ? p : 0);
    uint64_t after = per * t->count, saved;
    struct hs_buf names = HS_BUF_INIT, fix = HS_BUF_INIT, basis = HS_BUF_INIT;
    char tname[256], s1[32], s2[32], n1[32];

    if (t->now <= after)
        return;
    saved = t->now - after;
    if (saved < c->min_bytes)
        return;
    hs_type_display_name(&g->types[k], tname, sizeof(tname));
    if (example_dict_e != UINT32_MAX)
        attr_names(c, g->out_dst[example_dict_e], HS_EDGE_VALUE, UINT32_MAX,
                   &names);
    else
        attr_names(c, t->example, HS_EDGE_ATTR, UINT32_MAX, &names);
    if (t->weak)
        hs_buf_adds(&names, names.len ? ", '__weakref__'" : "'__weakref__',");
    hs_buf_addf(&fix, "add __slots__ = (%s) to class %s", names.buf,
                g->types[k].qualname ? g->types[k].qualname
                                     : g->types[k].name);
    hs_buf_addf(
        &basis,
        "%s instances now cost %s (instances %" PRIu64 " B, __dict__s %" PRIu64
        " B, values arrays %" PRIu64 " B); with __slots__ each is %" PRIu64
        " B (%" PRId64 " + %u x %" PRIu64 " + gc header %" PRIu64 "%s): %s",
        hs_group_digits(t->count, n1, sizeof(n1)),
        hs_human_size(t->now, s1, sizeof(s1)), t->inst, t->dicts, t->values,
        per, l->solid_basicsize, t->max_attrs, p, 2 * p,
        t->weak ? " + __weakref__" : "", hs_human_size(after, s2, sizeof(s2)));
    hs_advice_add(list, "slots", saved, t->count, k, t->example,
                  hs_xasprintf("%s instances of %s without __slots__ (%s%u "
                               "attribute%s each)",
                               n1, tname,
                               t->min_attrs != t->max_attrs ? "up to " : "",
                               t->max_attrs, t->max_attrs == 1 ? "" : "s"),
                  hs_buf_detach(&fix), hs_buf_detach(&basis));
    hs_buf_release(&names);
}

/* The __dict__ edge of each instance nodes[0 .. count) into de[] (or
 * UINT32_MAX): among the instance's attribute references to dicts, the
 * one labelled __dict__ (an attribute's value may be a dict too).  The
 * labels of all candidates are read in one pass.  0, or -1 (exit 4). */
static int
dict_edges(const struct hs_advise_ctx *c, const uint32_t *nodes,
           uint32_t count, uint32_t dict_type, uint32_t dict_name,
           uint32_t *de)
{
    const struct hs_graph *g = c->g;
    uint32_t *edges = NULL, *owner = NULL, *args, n = 0, alloc = 0, oalloc = 0;

    for (uint32_t i = 0; i < count; i++) {
        uint32_t v = nodes[i];

        de[i] = UINT32_MAX;
        for (uint32_t e = g->out_off[v]; e < g->out_off[v + 1]; e++) {
            if (g->out_kind[e] != HS_EDGE_ATTR ||
                g->type[g->out_dst[e]] != dict_type)
                continue;
            HS_ALLOC_GROW(edges, n + 1, alloc);
            HS_ALLOC_GROW(owner, n + 1, oalloc);
            edges[n] = e;
            owner[n++] = i;
        }
    }
    if (!n || !dict_name) {
        free(edges);
        free(owner);
        return 0;
    }
    args = hs_xcalloc(n, sizeof(*args));
    if (hs_advise_edge_args(c, edges, n, args) < 0) {
        free(edges);
        free(owner);
        free(args);
        return -1;
    }
    for (uint32_t j = 0; j < n; j++)
        if (args[j] == dict_name && de[owner[j]] == UINT32_MAX)
            de[owner[j]] = edges[j];
    free(edges);
    free(owner);
    free(args);
    return 0;
}

/* Would type k's instances fit a __slots__ layout: a class statement's
 * plain object layout with a __dict__, many instances? */
static int
candidate(const struct hs_advise_ctx *c, uint32_t k)
{
    const struct hs_type_layout *l = &c->layouts[k];
    const struct hs_type *t = &c->g->types[k];

    return l->present && t->count >= HS_SLOTS_MIN_INSTANCES &&
           (t->flags & HS_TYPE_HEAP) && !(t->flags & HS_TYPE_BUILTIN) &&
           l->itemsize == 0 && (l->dictoffset != 0 || l->managed_dict) &&
           l->solid_basicsize == (int64_t)(2 * c->pointer);
}

int
hs_advise_slots(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    uint32_t dict_type = c->dict_type;
    uint32_t *start, *end, *nodes, *de;
    uint32_t dict_name, packed = 0;
    int rc = 0;

    if (!c->have_layouts)
        return 0;
    if (hs_graph_name_id(g, "__dict__", &dict_name) < 0)
        return -1;
    /* The reachable instances of every candidate type, by type. */
    start = hs_xcalloc((size_t)g->ntypes + 1, sizeof(*start));
    end = hs_xcalloc((size_t)g->ntypes + 1, sizeof(*end));
    for (uint32_t k = 0; k < g->ntypes; k++)
        start[k + 1] = start[k] + (candidate(c, k) ? g->types[k].count : 0);
    memcpy(end, start, (size_t)g->ntypes * sizeof(*end));
    nodes = hs_xmalloc(((size_t)start[g->ntypes] + 1) * sizeof(*nodes));
    de = hs_xmalloc(((size_t)start[g->ntypes] + 1) * sizeof(*de));
    for (uint32_t v = 0; v < g->n; v++) {
        uint32_t k = g->type[v];

        if (start[k + 1] > start[k] && hs_bfs_reached(c->bfs, v))
            nodes[end[k]++] = v;
    }
    /* The types with enough reachable instances, packed together so that
     * their __dict__ edges are found in one call (one read of labels). */
    for (uint32_t k = 0; k < g->ntypes; k++) {
        uint32_t count = end[k] - start[k];

        if (count < HS_SLOTS_MIN_INSTANCES)
            count = 0;
        memmove(nodes + packed, nodes + start[k], count * sizeof(*nodes));
        start[k] = packed;
        end[k] = packed += count;
    }
    if (dict_edges(c, nodes, packed, dict_type, dict_name, de) < 0)
        rc = -1;
    for (uint32_t k = 0; k < g->ntypes && rc == 0; k++) {
        struct slots_tally t;
        uint32_t example_dict_e = UINT32_MAX, count = end[k] - start[k];

        if (count < HS_SLOTS_MIN_INSTANCES)
            continue;
        memset(&t, 0, sizeof(t));
        for (uint32_t i = start[k]; i < end[k]; i++) {
            tally_instance(c, &c->layouts[k], nodes[i], de[i], &t);
            if (t.example == nodes[i])
                example_dict_e = de[i];
        }
        finding(c, k, &t, example_dict_e, list);
    }
    free(start);
    free(end);
    free(nodes);
    free(de);
    return rc;
}
