/*
 * bfs.c: the layered retention BFS (bfs.h).  It owns three n-sized arrays
 * and nothing else; a path is read back by following parent edges.
 */
#include "bfs.h"

#include <stdlib.h>
#include <string.h>

void
hs_bfs_run(const struct hs_graph *g, struct hs_bfs *out)
{
    uint32_t n = g->n, head = 0, tail = 0;
    size_t bytes = hs_st_mult(n ? n : 1, sizeof(uint32_t));
    uint32_t *queue = hs_xmalloc(bytes);

    memset(out, 0, sizeof(*out));
    out->n = n;
    out->parent_edge = hs_xmalloc(bytes);
    out->root = hs_xmalloc(bytes);
    out->dist = hs_xmalloc(bytes);
    memset(out->parent_edge, 0xFF, bytes);
    memset(out->root, 0xFF, bytes);
    memset(out->dist, 0xFF, bytes);

    for (int cls = 0; cls < 3; cls++) {
        uint32_t first = tail;

        /* Seeding in g->roots order makes the first root of a node win,
         * and queue order is what breaks ties between equal paths. */
        for (uint32_t r = 0; r < g->nroots; r++) {
            uint32_t v = g->roots[r].node;

            if (hs_root_class((enum hs_root_kind)g->roots[r].kind) != cls ||
                out->dist[v] != HS_BFS_NONE)
                continue;
            out->dist[v] = 0;
            out->root[v] = r;
            queue[tail++] = v;
        }
        /* Earlier classes reached everything their nodes retain, so this
         * class only ever enters nodes they left unreached. */
        while (head < tail) {
            uint32_t u = queue[head++];

            for (uint32_t e = g->out_off[u]; e < g->out_off[u + 1]; e++) {
                uint32_t w = g->out_dst[e];

                if (out->dist[w] != HS_BFS_NONE ||
                    !hs_graph_retains(g, g->out_kind[e]))
                    continue;
                out->dist[w] = out->dist[u] + 1;
                out->root[w] = out->root[u];
                out->parent_edge[w] = e;
                queue[tail++] = w;
            }
        }
        out->nreached[cls] = tail - first;
    }
    free(queue);
}

void
hs_bfs_release(struct hs_bfs *b)
{
    HS_FREE_AND_NULL(b->parent_edge);
    HS_FREE_AND_NULL(b->root);
    HS_FREE_AND_NULL(b->dist);
    b->n = 0;
}

uint32_t
hs_bfs_path(const struct hs_graph *g, const struct hs_bfs *b, uint32_t v,
            uint32_t *edges)
{
    uint32_t x = v;

    for (uint32_t i = b->dist[v]; i > 0; i--) {
        uint32_t e = b->parent_edge[x];

        edges[i - 1] = e;
        x = hs_graph_edge_src(g, e);
    }
    return b->root[v];
}
