/*
 * test_picture_oracle.h: the brute-force oracle for hs_picture_layers(),
 * shared by the picture and render_dot unit tests (header-only).
 */
#ifndef HS_TEST_PICTURE_ORACLE_H
#define HS_TEST_PICTURE_ORACLE_H

#include "picture.h"

#include <stdint.h>
#include <stdlib.h>

/*
 * Layers by brute force: repeated relaxation (O(n m) per round) from all
 * depth-0 nodes together, then from each unreached node in order through
 * unreached nodes only.  hs_picture_layers() does a BFS; the renderer uses
 * its layers.
 */
static inline void
oracle_layers(const struct hs_picture *p, uint32_t *layer)
{
    int back = p->dir == HS_PIC_DIR_BACKREFS;
    uint8_t *done = calloc(p->nnodes + 1, 1);

    for (uint32_t v = 0; v < p->nnodes; v++)
        layer[v] = p->nodes[v].depth == 0 ? 0 : UINT32_MAX;
    for (;;) {
        int changed = 1;
        uint32_t s;

        while (changed) {
            changed = 0;
            for (uint32_t e = 0; e < p->nedges; e++) {
                uint32_t a = back ? p->edges[e].to : p->edges[e].from;
                uint32_t b = back ? p->edges[e].from : p->edges[e].to;

                if (done[a] || done[b] || layer[a] == UINT32_MAX)
                    continue;
                if (layer[b] == UINT32_MAX || layer[b] > layer[a] + 1) {
                    layer[b] = layer[a] + 1;
                    changed = 1;
                }
            }
        }
        for (uint32_t v = 0; v < p->nnodes; v++)
            done[v] |= layer[v] != UINT32_MAX;
        for (s = 0; s < p->nnodes && done[s]; s++)
            ;
        if (s == p->nnodes)
            break;
        layer[s] = 0;
    }
    free(done);
}

#endif /* HS_TEST_PICTURE_ORACLE_H */
