/*
 * advise_gc.c: the `gc_freeze` and `gc_tuning` findings.  Every object
 * the cyclic gc tracks, unless frozen (gc.freeze() moved it to the
 * permanent generation), is examined by each full collection: the
 * collector writes into its gc header, the two words just before the
 * object.
 *
 * gc_freeze: in a process that has forked workers (multiprocessing with
 * the fork start method: a multiprocessing.popen_fork.Popen per worker
 * started, whether by a Pool, a ProcessPoolExecutor or a Process), the
 * parent's objects are shared with each worker page by page until one
 * side writes a page.  A full collection in a worker writes the header of
 * every unfrozen tracked object, so the kernel copies every page that
 * holds such a header into that worker.  The saving of gc.freeze()
 * before forking is those pages, counted exactly from the objects'
 * addresses (objects.address) and the page size the agent recorded,
 * times the workers.  Pages a worker writes for its own reasons (the
 * reference counts of the objects it uses) are copied anyway: the basis
 * says so.
 *
 * gc_tuning: a process with many unfrozen tracked objects and no forked
 * workers: freezing saves no bytes but every full collection's walk over
 * them; the finding says how many and how many full collections ran
 * (meta gc_collections, gc.get_stats()).  bytes_saved is 0.
 *
 * Neither applies with the gc disabled (no collection runs).  Cost: O(n)
 * expected (a hash set of page numbers).
 */
#include "advise.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* gc_freeze: fewer long-lived objects than this are not worth freezing. */
#define HS_GC_FREEZE_MIN 10000
/* gc_tuning: the tracked objects from which a full collection's walk over
 * them is worth avoiding (about a tenth of a second of CPU per collection
 * on this machine at 1M). */
#define HS_GC_TUNING_MIN 100000
#define HS_GC_TYPES      3

/* What the agent recorded about the collector (meta). */
struct gc_meta {
    int enabled;
    long thresholds[3];
    int have_thresholds;
    long collections[3];
    int have_collections;
    uint64_t page; /* bytes */
};

/* "[a, b, c]" into out[3]: 0, or -1 when the text is not that. */
static int
parse3(const char *s, long out[3])
{
    return s && sscanf(s, " [ %ld , %ld , %ld ]", &out[0], &out[1], &out[2]) ==
                       3
               ? 0
               : -1;
}

static void
read_meta(const struct hs_graph *g, struct gc_meta *m)
{
    char *v;

    memset(m, 0, sizeof(*m));
    m->enabled = 1;
    m->page = 4096;
    if (!g->snap)
        return;
    v = hs_snapshot_meta(g->snap, "gc_enabled");
    if (v && !strcmp(v, "0"))
        m->enabled = 0;
    free(v);
    v = hs_snapshot_meta(g->snap, "gc_thresholds");
    m->have_thresholds = parse3(v, m->thresholds) == 0;
    free(v);
    v = hs_snapshot_meta(g->snap, "gc_collections");
    m->have_collections = parse3(v, m->collections) == 0;
    free(v);
    v = hs_snapshot_meta(g->snap, "page_size");
    if (v) {
        uint64_t p = strtoull(v, NULL, 10);

        /* A power of two, or the default stays. */
        if (p >= 512 && !(p & (p - 1)))
            m->page = p;
    }
    free(v);
}

/* An unfrozen object the collector tracks: what each full collection
 * examines and gc.freeze() would move. */
static int
collected(const struct hs_graph *g, uint32_t v)
{
    return (g->flags[v] & (HS_OBJ_GC_TRACKED | HS_OBJ_FROZEN)) ==
           HS_OBJ_GC_TRACKED;
}

/* Open-addressing set of page numbers (0 is never a page number used:
 * numbers are stored + 1). */
struct page_set {
    uint64_t *v;
    uint64_t cap, count;
};

static void
page_add(struct page_set *s, uint64_t page)
{
    uint64_t key = page + 1, j = (key * 0x9E3779B97F4A7C15ull) & (s->cap - 1);

    while (s->v[j] && s->v[j] != key)
        j = (j + 1) & (s->cap - 1);
    if (!s->v[j]) {
        s->v[j] = key;
        s->count++;
    }
}

/*
 * The distinct pages that hold the gc header (`header` bytes just before
 * the object) of the n_tracked objects collected() says the collector
 * writes.  O(n) expected.
 */
static uint64_t
header_pages(const struct hs_graph *g, uint64_t n_tracked, uint64_t header,
             uint64_t page)
{
    struct page_set s;
    uint64_t pages;

    s.cap = 1024;
    while (s.cap < 4 * n_tracked + 4)
        s.cap *= 2;
    s.v = hs_xcalloc(s.cap, sizeof(*s.v));
    s.count = 0;
    for (uint32_t v = 0; v < g->n; v++) {
        uint64_t a = g->address[v];

        if (!collected(g, v) || a < header)
            continue;
        page_add(&s, (a - header) / page);
        page_add(&s, (a - 1) / page);
    }
    pages = s.count;
    free(s.v);
    return pages;
}

static int
type_is(const struct hs_type *t, const char *module, const char *name)
{
    return t->module && !strcmp(t->module, module) && !strcmp(t->name, name);
}

/* The types most of the collected() objects have, as "dict ×200,000,
 * list ×10" into b; the most frequent one is returned.  O(n + T). */
static uint32_t
top_types(const struct hs_graph *g, struct hs_buf *b)
{
    uint32_t *count = hs_xcalloc((size_t)g->ntypes + 1, sizeof(*count));
    uint32_t top;

    for (uint32_t v = 0; v < g->n; v++)
        if (collected(g, v))
            count[g->type[v]]++;
    top = hs_advise_top_types(g, count, b);
    free(count);
    return top;
}

int
hs_advise_gc(const struct hs_advise_ctx *c, struct hs_advice_list *list)
{
    const struct hs_graph *g = c->g;
    struct gc_meta m;
    struct hs_buf types = HS_BUF_INIT, runs = HS_BUF_INIT;
    uint64_t tracked = 0, frozen = 0, workers = 0;
    uint32_t example = UINT32_MAX, top = UINT32_MAX;
    uint8_t *forker;
    int froze = 0;
    char n1[32], n2[32], sz[32];

    read_meta(g, &m);
    if (!m.enabled)
        return 0;
    forker = hs_xcalloc((size_t)g->ntypes + 1, 1);
    for (uint32_t k = 0; k < g->ntypes; k++)
        forker[k] =
            type_is(&g->types[k], "multiprocessing.popen_fork", "Popen");
    for (uint32_t v = 0; v < g->n; v++) {
        tracked += collected(g, v);
        frozen += (g->flags[v] & HS_OBJ_FROZEN) != 0;
        if (forker[g->type[v]] && hs_bfs_reached(c->bfs, v)) {
            workers++;
            if (example == UINT32_MAX)
                example = v;
        }
    }
    free(forker);
    if (m.have_collections)
        hs_buf_addf(
            &runs, "; %s full collection%s so far",
            hs_group_digits((uint64_t)m.collections[2], n1, sizeof(n1)),
            m.collections[2] == 1 ? "" : "s");
    if (m.have_thresholds)
        hs_buf_addf(&runs, "; thresholds %ld/%ld/%ld", m.thresholds[0],
                    m.thresholds[1], m.thresholds[2]);
    if (workers && tracked >= HS_GC_FREEZE_MIN) {
        uint64_t header = 2 * c->pointer;
        uint64_t pages = header_pages(g, tracked, header, m.page);
        uint64_t per_worker = pages * m.page;

        if (per_worker * workers >= c->min_bytes) {
            top = top_types(g, &types);
            hs_group_digits(tracked, n1, sizeof(n1));
            hs_group_digits(pages, n2, sizeof(n2));
            hs_advice_add(
                list, "gc_freeze", per_worker * workers, tracked, top, example,
                hs_xasprintf("%s gc-tracked objects (%s) are not frozen in a "
                             "process that forked %" PRIu64 " worker%s: a "
                             "full collection in each worker copies the %s "
                             "of pages holding their gc headers",
                             n1, types.buf, workers, workers == 1 ? "" : "s",
                             hs_human_size(per_worker, sz, sizeof(sz))),
                hs_xstrdup("call gc.freeze() once start-up has built the "
                           "long-lived objects, just before the workers "
                           "are forked (gc.disable() early in the parent "
                           "and gc.enable() in each worker keep start-up "
                           "garbage out, as the gc documentation advises)"),
                hs_xasprintf("%s distinct %" PRIu64 "-byte pages hold the "
                             "%" PRIu64 "-byte gc headers of the %s "
                             "unfrozen tracked objects; a full collection "
                             "writes every header, so each of the %" PRIu64
                             " fork workers gets its own copy of those pages "
                             "(pages a worker writes for its own reasons, "
                             "as reference counts of objects it uses, are "
                             "copied anyway)%s",
                             n2, m.page, header, n1, workers, runs.buf));
            froze = 1;
        }
    }
    if (!froze && tracked >= HS_GC_TUNING_MIN) {
        top = top_types(g, &types);
        hs_group_digits(tracked, n1, sizeof(n1));
        hs_group_digits(frozen, n2, sizeof(n2));
        hs_advice_add(
            list, "gc_tuning", 0, tracked, top, UINT32_MAX,
            hs_xasprintf("%s gc-tracked objects (%s) are not frozen (%s "
                         "are): every full collection examines each of "
                         "them%s",
                         n1, types.buf, n2, runs.buf),
            hs_xstrdup("call gc.freeze() once start-up has built the "
                       "long-lived objects: full collections then skip "
                       "them (gc.unfreeze() undoes it); or make collections "
                       "rarer with a higher first threshold "
                       "(gc.set_threshold)"),
            hs_xasprintf("saves no bytes: gc.freeze() would move these %s "
                         "objects into the permanent generation "
                         "(gc.get_freeze_count() then says how many), which "
                         "no collection examines",
                         n1));
    }
    hs_buf_release(&types);
    hs_buf_release(&runs);
    return 0;
}
