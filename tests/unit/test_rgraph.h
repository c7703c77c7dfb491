/*
 * test_rgraph.h: the small random graphs of the graph algorithms' unit
 * tests (paths, scc, dominators), header-only.  The including file defines
 * MAXN and MAXM (and RG_MAXR, the most roots, when not 8) before including
 * it; the oracles keep node sets in 64-bit masks, so MAXN <= 64.
 */
#ifndef HS_TEST_RGRAPH_H
#define HS_TEST_RGRAPH_H

#include "graph.h"
#include "test_util.h"

#ifndef RG_MAXR
#define RG_MAXR 8
#endif

struct rgraph {
    uint32_t n, m, nroots;
    uint32_t src[MAXM], dst[MAXM];
    uint8_t kind[MAXM];
    uint64_t size[MAXN];
    uint32_t roots[RG_MAXR];
    uint8_t root_kind[RG_MAXR];
};

/* Sizes of 1 to 303 bytes, and below `max_roots` (<= RG_MAXR) roots of
 * random kinds on random nodes. */
static inline void
rgraph_random_sizes_roots(struct test_rng *r, struct rgraph *rg,
                          uint32_t max_roots)
{
    for (uint32_t v = 0; v < rg->n; v++)
        rg->size[v] = 1 + test_rng_below(r, 4) * 100 + test_rng_below(r, 3);
    rg->nroots = test_rng_below(r, max_roots);
    for (uint32_t i = 0; i < rg->nroots; i++) {
        rg->roots[i] = test_rng_below(r, rg->n);
        rg->root_kind[i] = (uint8_t)test_rng_below(r, HS_ROOT_NKINDS);
    }
}

/* The hs_graph of rg (the caller frees it with hs_graph_free()). */
static inline struct hs_graph *
rgraph_build(const struct rgraph *rg)
{
    struct hs_graph_spec spec = { rg->n,     rg->m,         rg->src,
                                  rg->dst,   rg->kind,      rg->size,
                                  rg->roots, rg->root_kind, rg->nroots };

    return hs_graph_build(&spec);
}

#endif /* HS_TEST_RGRAPH_H */
