/*
 * bfs_hub.c: retention paths for a set of objects that pass through their
 * accumulation point (bfs.h, hs_bfs_through_hub()).  The plain BFS gives
 * every object its shortest path, so the last item of a collection that
 * a leftover loop variable still names is explained by that variable
 * ("module __main__ .c → document → ..."), not by the collection that
 * holds the other 999.  Here the set's accumulation point in the BFS tree
 * is found, and the objects of the set that an incidental variable holds
 * are given the path through it instead.  Owns nothing past the call.
 */
#include "bfs.h"

#include <stdlib.h>
#include <string.h>

/* The parent of reached non-root v in the tree. */
static uint32_t
tree_parent(const struct hs_graph *g, const struct hs_bfs *b, uint32_t v)
{
    return hs_graph_edge_src(g, b->parent_edge[v]);
}

/* count[v]: targets whose path passes v (v included).  Nodes are taken
 * deepest first (a counting sort by dist).  O(n log n). */
static uint32_t *
count_through(const struct hs_graph *g, const struct hs_bfs *b,
              const uint32_t *targets, uint32_t nt)
{
    uint32_t n = g->n, md = 0, *count, *start, *order;

    count = hs_xcalloc(n ? n : 1, sizeof(*count));
    for (uint32_t i = 0; i < nt; i++)
        if (hs_bfs_reached(b, targets[i]))
            count[targets[i]]++;
    for (uint32_t v = 0; v < n; v++)
        if (hs_bfs_reached(b, v) && b->dist[v] > md)
            md = b->dist[v];
    start = hs_xcalloc((size_t)md + 2, sizeof(*start));
    for (uint32_t v = 0; v < n; v++)
        if (hs_bfs_reached(b, v))
            start[b->dist[v] + 1]++;
    for (uint32_t d = 0; d <= md; d++)
        start[d + 1] += start[d];
    order = hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(*order)));
    for (uint32_t v = 0; v < n; v++)
        if (hs_bfs_reached(b, v))
            order[start[b->dist[v]]++] = v;
    /* start[d] is now the end of depth d; walk from the deepest. */
    for (uint32_t i = start[md]; i > 0; i--) {
        uint32_t v = order[i - 1];

        if (b->dist[v] && count[v])
            count[tree_parent(g, b, v)] += count[v];
    }
    free(start);
    free(order);
    return count;
}

/* The accumulation point: from the root holding most targets down the
 * child holding most, while it holds HS_HUB_RATIO of its parent's.
 * HS_BFS_NONE when it is a root (then every path already passes it).
 * O(sum of the out-degrees along the way). */
static uint32_t
find_hub(const struct hs_graph *g, const struct hs_bfs *b,
         const uint32_t *count)
{
    uint32_t u = HS_BFS_NONE, best = 0;

    for (uint32_t r = 0; r < g->nroots; r++) {
        uint32_t v = g->roots[r].node;

        if (b->dist[v] == 0 && count[v] > best) {
            best = count[v];
            u = v;
        }
    }
    while (u != HS_BFS_NONE) {
        uint32_t next = HS_BFS_NONE, most = 0;

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            if (b->parent_edge[w] == e && count[w] > most) {
                most = count[w];
                next = w;
            }
        }
        if (next == HS_BFS_NONE ||
            (double)most < HS_HUB_RATIO * (double)count[u])
            break;
        u = next;
    }
    return u != HS_BFS_NONE && b->dist[u] ? u : HS_BFS_NONE;
}

/* The variable a path starts with: the node at distance 1, or 2 when the
 * root is a module and distance 1 is its dict. */
static uint32_t
path_variable(const struct hs_graph *g, const struct hs_bfs *b, uint32_t v)
{
    uint32_t x = v;

    while (b->dist[x] > 2)
        x = tree_parent(g, b, x);
    if (b->dist[x] == 2) {
        uint32_t up = tree_parent(g, b, x);

        return g->roots[b->root[x]].kind == HS_ROOT_MODULE &&
                       !strcmp(hs_graph_type_of(g, up)->name, "dict")
                   ? x
                   : up;
    }
    return x;
}

int
hs_bfs_through_hub(const struct hs_graph *g, const struct hs_bfs *b,
                   const uint32_t *targets, uint32_t nt, struct hs_bfs *out)
{
    uint32_t n = g->n, hub, *count, total = 0, *sub_edge, *queue;
    uint32_t head = 0, tail = 0, moved = 0, *stack;
    size_t bytes = hs_st_mult(n ? n : 1, sizeof(uint32_t));
    uint8_t *blocked;

    memset(out, 0, sizeof(*out));
    count = count_through(g, b, targets, nt);
    hub = find_hub(g, b, count);
    for (uint32_t r = 0; r < g->nroots; r++)
        if (b->dist[g->roots[r].node] == 0)
            total += count[g->roots[r].node];
    if (hub == HS_BFS_NONE || count[hub] == total) {
        free(count);
        return 0;
    }
    /* A BFS from the hub that never enters the hub's own ancestors. */
    blocked = hs_xcalloc(n ? n : 1, 1);
    for (uint32_t x = hub;; x = tree_parent(g, b, x)) {
        blocked[x] = 1;
        if (!b->dist[x])
            break;
    }
    sub_edge = hs_xmalloc(bytes);
    memset(sub_edge, 0xFF, bytes);
    queue = hs_xmalloc(bytes);
    queue[tail++] = hub;
    while (head < tail) {
        uint32_t u = queue[head++];

        for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
            uint32_t w = g->out_dst[e];

            /* Roots keep their own paths. */
            if (blocked[w] || sub_edge[w] != HS_BFS_NONE || !b->dist[w] ||
                !hs_graph_retains(g, g->out_kind[e]))
                continue;
            sub_edge[w] = e;
            queue[tail++] = w;
        }
    }
    /* sub-BFS depth of a node, from the hub: by following sub_edge. */
    out->n = n;
    out->parent_edge = hs_xmalloc(bytes);
    out->root = hs_xmalloc(bytes);
    out->dist = hs_xmalloc(bytes);
    memcpy(out->parent_edge, b->parent_edge, bytes);
    memcpy(out->root, b->root, bytes);
    memcpy(out->dist, b->dist, bytes);
    memcpy(out->nreached, b->nreached, sizeof(out->nreached));
    for (uint32_t i = 0; i < nt; i++) {
        uint32_t s = targets[i], x, len = 0, var;

        if (!hs_bfs_reached(b, s) || !b->dist[s] ||
            sub_edge[s] == HS_BFS_NONE ||
            hs_bfs_class(g, b, s) != hs_bfs_class(g, b, hub))
            continue;
        /* Already through the hub (in the plain tree)? */
        for (x = s; x != hub && b->dist[x]; x = tree_parent(g, b, x))
            ;
        if (x == hub)
            continue;
        var = path_variable(g, b, s);
        for (x = s; x != hub; x = hs_graph_edge_src(g, sub_edge[x]))
            len++;
        if ((double)count[var] >= HS_HUB_INCIDENTAL * (double)total ||
            b->dist[hub] + len > b->dist[s] + HS_HUB_SLACK)
            continue;
        /* Re-parent the chain hub → s; dist and root follow below. */
        for (x = s; x != hub; x = hs_graph_edge_src(g, sub_edge[x]))
            out->parent_edge[x] = sub_edge[x];
        moved++;
    }
    free(queue);
    free(sub_edge);
    free(blocked);
    free(count);
    if (!moved) {
        hs_bfs_release(out);
        return 0;
    }
    /* dist and root again, parents first: each node's chain up to a node
     * already done, then back down.  O(n) with one explicit stack. */
    stack = hs_xmalloc(bytes);
    blocked = hs_xcalloc(n ? n : 1, 1); /* now: done */
    for (uint32_t v = 0; v < n; v++) {
        uint32_t depth = 0, x = v;

        if (!hs_bfs_reached(b, v) || blocked[v])
            continue;
        while (!blocked[x] && out->dist[x] != 0) {
            stack[depth++] = x;
            x = hs_graph_edge_src(g, out->parent_edge[x]);
        }
        blocked[x] = 1;
        while (depth) {
            uint32_t y = stack[--depth];

            out->dist[y] = out->dist[x] + 1;
            out->root[y] = out->root[x];
            blocked[y] = 1;
            x = y;
        }
    }
    free(stack);
    free(blocked);
    return 1;
}
