/*
 * report_cycles.c: the answer of `cycles` (report.h): which reference
 * cycles to list (garbage always, interpreter machinery summarised), their
 * member types and one loop through each.  The command (cmd_cycles.c)
 * prints them as text, the pictures (draw.c) draw the same pick; --json
 * and the server's /api/cycles take the document built here.  Nothing
 * here prints.
 */
#include "report.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* The example loop is searched for in components up to this size. */
#define LOOP_SEARCH_MAX 100000

/*
 * Is component c interpreter machinery: reachable, and holding a module or
 * a class (every class is a cycle with its dict and descriptors, and every
 * module with its functions' __globals__)?  Unreachable cycles are always
 * interesting: they are garbage.
 */
static int
is_machinery(const struct hs_scc *scc, uint32_t c)
{
    const struct hs_scc_info *info = &scc->info[c];

    return info->nmodule_type > 0 && !(info->flags & HS_SCC_UNREACHABLE);
}

/* "CycleNode ×2, dict ×2" (types by count, the first HS_CYCLE_TYPES) into
 * `out` when not NULL; every type with its count into the JSON object
 * `json` when not NULL. */
void
hs_cycle_member_types(const struct hs_graph *g, const struct hs_scc *scc, uint32_t c,
             struct hs_buf *out, struct hs_json *json)
{
    uint32_t types[64], counts[64], ntypes = 0, other = 0;

    for (uint32_t i = scc->off[c]; i < scc->off[c + 1]; i++) {
        uint32_t t = g->type[scc->members[i]], k;

        for (k = 0; k < ntypes && types[k] != t; k++)
            ;
        if (k < ntypes) {
            counts[k]++;
        } else if (ntypes < 64) {
            types[ntypes] = t;
            counts[ntypes++] = 1;
        } else {
            other++;
        }
    }
    /* Most frequent first: a few types, a selection sort is enough. */
    for (uint32_t i = 0; i < ntypes; i++) {
        for (uint32_t j = i + 1; j < ntypes; j++) {
            if (counts[j] > counts[i]) {
                uint32_t tc = counts[i], tt = types[i];

                counts[i] = counts[j];
                types[i] = types[j];
                counts[j] = tc;
                types[j] = tt;
            }
        }
    }
    for (uint32_t i = 0; i < ntypes; i++) {
        char name[256];

        hs_type_display_name(&g->types[types[i]], name, sizeof(name));
        if (json)
            hs_json_set_int(json, name, counts[i]);
        if (out && i < HS_CYCLE_TYPES) {
            char digits[32];

            hs_buf_addf(out, "%s%s \xC3\x97%s", i ? ", " : "",
                        g->types[types[i]].name,
                        hs_group_digits(counts[i], digits, sizeof(digits)));
        }
    }
    if (out && (ntypes > HS_CYCLE_TYPES || other))
        hs_buf_adds(out, ", ...");
}

/*
 * One loop through the component's smallest member, as edge numbers:
 * a BFS inside the component from that member until an edge leads back
 * to it.  *via: scratch of g->n entries, allocated on first use.
 * O(component size); NULL for huge components.
 */
uint32_t *
hs_cycle_find_loop(const struct hs_graph *g, const struct hs_scc *scc, uint32_t c,
          uint32_t **via_p, uint32_t *len)
{
    uint32_t start = scc->members[scc->off[c]];
    uint32_t size = hs_scc_size(scc, c);
    uint32_t *queue, *via, head = 0, tail = 0, *loop = NULL;

    *len = 0;
    if (size > LOOP_SEARCH_MAX)
        return NULL;
    queue = hs_xmalloc(hs_st_mult(size, sizeof(*queue)));
    if (!*via_p)
        *via_p = hs_xmalloc(hs_st_mult(g->n ? g->n : 1, sizeof(**via_p)));
    via = *via_p;
    for (uint32_t i = scc->off[c]; i < scc->off[c + 1]; i++)
        via[scc->members[i]] = UINT32_MAX;
    queue[tail++] = start;
    while (head < tail && !loop) {
        uint32_t u = queue[head++];

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t v = g->out_dst[e];

            /* Every edge of the loop must be one the components were
             * computed over: ignored edges never join two members of a
             * component, except class and module references, skipped. */
            if (!hs_graph_retains(g, g->out_kind[e]) ||
                g->out_kind[e] == HS_EDGE_CLASS || scc->comp[v] != c)
                continue;
            if (v == start) {
                /* Walk back from u to start. */
                uint32_t n = 1, x = u;

                while (x != start) {
                    n++;
                    x = hs_graph_edge_src(g, via[x]);
                }
                loop = hs_xmalloc(hs_st_mult(n, sizeof(*loop)));
                loop[n - 1] = e;
                for (uint32_t k = n - 1, y = u; k > 0; k--) {
                    loop[k - 1] = via[y];
                    y = hs_graph_edge_src(g, via[y]);
                }
                *len = n;
                break;
            }
            if (via[v] == UINT32_MAX) {
                via[v] = e;
                queue[tail++] = v;
            }
        }
    }
    free(queue);
    return loop;
}

void
hs_cycles_pick(const struct hs_scc *scc, int all, int garbage, uint32_t limit,
               struct hs_cycle_pick *out)
{
    uint32_t ncycles;

    memset(out, 0, sizeof(*out));
    out->ids = hs_scc_cycles(scc, &ncycles);
    out->total = ncycles;
    for (uint32_t i = 0; i < ncycles; i++) {
        uint32_t c = out->ids[i];
        const struct hs_scc_info *info = &scc->info[c];
        int unreachable = (info->flags & HS_SCC_UNREACHABLE) != 0;

        out->total_bytes += info->bytes;
        if (unreachable) {
            out->unreachable++;
            out->unreachable_bytes += info->bytes;
        }
        if (garbage && !unreachable)
            continue;
        if (!all && is_machinery(scc, c)) {
            out->machinery++;
            out->machinery_members += hs_scc_size(scc, c);
            out->machinery_bytes += info->bytes;
            continue;
        }
        out->listed++;
        if (limit && out->shown >= limit)
            continue;
        /* ids[0 .. shown) are the shown ones (shown <= i). */
        out->ids[out->shown++] = c;
    }
}

void
hs_cycle_pick_release(struct hs_cycle_pick *p)
{
    HS_FREE_AND_NULL(p->ids);
}

struct hs_json *
hs_cycles_json(const struct hs_json_src *src, const struct hs_scc *scc,
               const struct hs_cycle_pick *p, uint32_t **via)
{
    const struct hs_graph *g = src->g;
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_json *jw = hs_json_object();
    char name[256];

    for (uint32_t i = 0; i < p->shown; i++) {
        uint32_t c = p->ids[i], len;
        const struct hs_scc_info *info = &scc->info[c];
        struct hs_json *jc = hs_json_object(), *jt = hs_json_object();
        struct hs_json *jl = hs_json_array();
        uint32_t *loop = hs_cycle_find_loop(g, scc, c, via, &len);

        hs_cycle_member_types(g, scc, c, NULL, jt);
        hs_json_set_int(jc, "members", hs_scc_size(scc, c));
        hs_json_set_int(jc, "bytes", (int64_t)info->bytes);
        hs_json_set_bool(jc, "unreachable",
                         (info->flags & HS_SCC_UNREACHABLE) != 0);
        hs_json_set_bool(jc, "has_del", (info->flags & HS_SCC_HAS_DEL) != 0);
        hs_json_set_bool(jc, "self_loop",
                         (info->flags & HS_SCC_SELF_LOOP) != 0);
        hs_json_set(jc, "types", jt);
        if (src->viewer)
            hs_json_set(jc, "first",
                        hs_why_node_json(src, scc->members[scc->off[c]]));
        for (uint32_t k = 0; loop && k < len; k++) {
            struct hs_json *step = hs_json_object();
            struct hs_buf l = HS_BUF_INIT;
            uint32_t from = hs_graph_edge_src(g, loop[k]);
            uint32_t to = g->out_dst[loop[k]];

            hs_naming_edge(src->names, loop[k], &l);
            hs_json_set_int(step, "from", hs_graph_object_id(from));
            hs_json_set_str(step, "label", l.buf);
            hs_json_set_int(step, "to", hs_graph_object_id(to));
            if (src->viewer) {
                hs_json_set_str(step, "from_type",
                                hs_naming_type(g, from, 0, name,
                                               sizeof(name)));
                hs_json_set_str(step, "to_type",
                                hs_naming_type(g, to, 0, name, sizeof(name)));
            }
            hs_json_push(jl, step);
            hs_buf_release(&l);
        }
        free(loop);
        hs_json_set(jc, "loop", jl);
        hs_json_push(arr, jc);
    }
    hs_json_set(doc, "cycles", arr);
    hs_json_set_int(doc, "total", p->total);
    hs_json_set_int(doc, "total_bytes", (int64_t)p->total_bytes);
    hs_json_set_int(doc, "unreachable", p->unreachable);
    hs_json_set_int(doc, "unreachable_bytes", (int64_t)p->unreachable_bytes);
    hs_json_set_int(doc, "not_shown", p->listed - p->shown);
    hs_json_set_int(jw, "cycles", p->machinery);
    hs_json_set_int(jw, "members", p->machinery_members);
    hs_json_set_int(jw, "bytes", (int64_t)p->machinery_bytes);
    hs_json_set(doc, "machinery", jw);
    return doc;
}
