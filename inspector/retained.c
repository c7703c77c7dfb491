/*
 * retained.c: storing dominators and retained sizes in a snapshot as the
 * derived table `retained`, and reading them back (retained.h).
 *
 * The DDL comes from schema/derived.sql (compiled in); the table is dropped,
 * re-created, filled and described in meta 'derived_retained' in a single
 * transaction, so a crash or a full disk leaves either the old table or the
 * new one.  A stored table is trusted only if its meta row has our format
 * and the snapshot's object and reference counts, every row is in range,
 * the idoms form a forest and the retained sizes add up; anything else is
 * treated as absent and recomputed.
 */
#include "retained.h"
#include "progress.h"
#include "snapshot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define META_KEY "derived_retained"

/* 1 if the meta row describes a table computed for g in our format. */
static int
meta_matches(const void *ctx)
{
    const struct hs_graph *g = ctx;

    return hs_derived_meta_int(g->snap, META_KEY, "format") ==
               HS_RETAINED_FORMAT &&
           hs_derived_meta_int(g->snap, META_KEY, "objects") ==
               (int64_t)g->n &&
           hs_derived_meta_int(g->snap, META_KEY, "edges") == (int64_t)g->m;
}

/*
 * 1 if d->idom is a forest under the virtual root (no cycles, nothing
 * hangs off an unreachable object) whose retained sizes are each node's
 * size plus its children's retained sizes; 0 otherwise.  A damaged or
 * hand-edited table must not send a later walk down the tree into a loop.
 * O(n) time: every node is walked over at most twice; 9 bytes per node.
 */
static int
check_tree(const struct hs_graph *g, const struct hs_dominators *d)
{
    uint32_t n = d->n;
    uint8_t *state = hs_xcalloc(n ? n : 1, 1); /* 1 on this walk, 2 done */
    uint64_t *sum = hs_xcalloc(n ? n : 1, sizeof(uint64_t));
    int ok = 1;

    for (uint32_t v = 0; v < n && ok; v++) {
        uint32_t c = v, p = d->idom[v];

        if (p < n) {
            sum[p] += d->retained[v];
            if (d->idom[p] == HS_DOM_UNREACHABLE)
                ok = 0;
        }
        while (c < n && !state[c]) {
            state[c] = 1;
            c = d->idom[c];
        }
        if (c < n && state[c] == 1)
            ok = 0; /* the walk came back onto itself */
        for (c = v; c < n && state[c] == 1; c = d->idom[c])
            state[c] = 2;
    }
    for (uint32_t v = 0; v < n && ok; v++)
        ok = d->retained[v] == g->size[v] + sum[v];
    free(state);
    free(sum);
    return ok;
}

/*
 * Reads the rows into out; 1 loaded, 0 when a row breaks the table's
 * invariants (out released), -1 after a read error (out released).
 */
static int
load_rows(const struct hs_graph *g, struct hs_dominators *out)
{
    struct hs_query *q;
    struct hs_progress prog;
    uint32_t n = g->n, v = 0;
    int rc, ok = 1;

    q = hs_query_prepare(g->snap, "SELECT object_id, idom, retained_size "
                                  "FROM retained ORDER BY object_id");
    if (!q)
        return -1;
    out->n = n;
    out->idom = hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(uint32_t)));
    out->retained = hs_xmalloc(hs_st_mult(n ? n : 1, sizeof(uint64_t)));
    hs_progress_start(&prog, "loading retained sizes", n);
    while ((rc = hs_query_step(q)) == 1) {
        int64_t idom = hs_query_is_null(q, 1) ? -1 : hs_query_int(q, 1);
        int64_t size = hs_query_int(q, 2);

        if (v >= n || hs_query_int(q, 0) != (int64_t)v + 1 || size < 0 ||
            idom > (int64_t)n || idom == (int64_t)v + 1 || idom < -1) {
            ok = 0;
            break;
        }
        out->retained[v] = (uint64_t)size;
        if (idom < 0) {
            out->idom[v] = HS_DOM_ROOT;
            out->reachable++;
            out->reachable_bytes += (uint64_t)size;
        } else if (idom == 0) {
            out->idom[v] = HS_DOM_UNREACHABLE;
            out->unreachable++;
            out->unreachable_bytes += (uint64_t)size;
        } else {
            out->idom[v] = (uint32_t)(idom - 1);
            out->reachable++;
        }
        hs_progress_tick(&prog, ++v);
    }
    hs_progress_end(&prog);
    hs_query_free(q);
    if (rc < 0 || !ok || v != n || !check_tree(g, out)) {
        hs_dominators_release(out);
        return rc < 0 ? -1 : 0;
    }
    return 1;
}

int
hs_retained_load(const struct hs_graph *g, struct hs_dominators *out)
{
    double start = hs_now();
    int rc;

    hs_dominators_init(out);
    if (!g->snap || !hs_snapshot_has_table(g->snap, "retained"))
        return 0;
    /* One read transaction, so that the meta row and the rows agree. */
    if (hs_snapshot_exec(g->snap, "BEGIN") < 0)
        return -1;
    rc = meta_matches(g) ? load_rows(g, out) : 0;
    if (hs_snapshot_exec(g->snap, "COMMIT") < 0 && rc > 0) {
        hs_dominators_release(out);
        return -1;
    }
    if (rc == 0)
        hs_note("the retained table of '%s' is out of date; ignoring it",
                hs_snapshot_path(g->snap));
    if (rc > 0) {
        out->origin = HS_DOM_LOADED;
        out->seconds = hs_now() - start;
    }
    return rc;
}

/* The meta value describing d, as a malloc'd JSON object. */
static char *
meta_json(const struct hs_graph *g, const struct hs_dominators *d)
{
    struct hs_buf b = HS_BUF_INIT;
    char when[32];

    hs_utc_now(when, sizeof(when));
    hs_buf_addf(&b,
                "{\"format\":%d,\"algorithm\":\"semi-nca\","
                "\"heapsnap\":\"%s\",\"computed_at\":\"%s\","
                "\"seconds\":%.3f,\"objects\":%" PRIu32 ",\"edges\":%" PRIu32
                ",\"reachable\":%" PRIu32 ",\"reachable_bytes\":%" PRIu64
                ",\"unreachable\":%" PRIu32 ",\"unreachable_bytes\":%" PRIu64
                "}",
                HS_RETAINED_FORMAT, HS_VERSION, when, d->seconds, g->n, g->m,
                d->reachable, d->reachable_bytes, d->unreachable,
                d->unreachable_bytes);
    return hs_buf_detach(&b);
}

/* Inserts one row per node through the prepared INSERT q. */
static int
insert_rows(struct hs_query *q, const struct hs_dominators *d)
{
    struct hs_progress prog;
    int rc = 0;

    hs_progress_start(&prog, "storing retained sizes", d->n);
    for (uint32_t v = 0; v < d->n && rc == 0; v++) {
        uint32_t p = d->idom[v];

        hs_query_reset(q);
        rc = hs_query_bind_int(q, 1, (int64_t)v + 1);
        if (rc == 0 && p == HS_DOM_ROOT)
            rc = hs_query_bind_null(q, 2);
        else if (rc == 0)
            rc = hs_query_bind_int(
                q, 2, p == HS_DOM_UNREACHABLE ? 0 : (int64_t)p + 1);
        if (rc == 0)
            rc = hs_query_bind_int(q, 3, (int64_t)d->retained[v]);
        if (rc == 0)
            rc = hs_query_step(q) < 0 ? -1 : 0;
        hs_progress_tick(&prog, v + 1);
    }
    hs_progress_end(&prog);
    return rc;
}

/* hs_derived_replace()'s fill: one row per node. */
static int
fill_rows(struct hs_snapshot *s, void *arg)
{
    struct hs_query *q = hs_query_prepare(s, "INSERT INTO retained "
                                             "(object_id, idom, "
                                             "retained_size) VALUES "
                                             "(?1, ?2, ?3)");
    int rc = q ? insert_rows(q, arg) : -1;

    hs_query_free(q);
    return rc;
}

int
hs_retained_store(const struct hs_graph *g, const struct hs_dominators *d)
{
    char *json;
    int rc;

    if (!g->snap)
        return hs_error(HS_EXIT_INTERNAL, "no snapshot to store retained "
                                          "sizes in");
    if (d->n != g->n)
        return hs_error(HS_EXIT_INTERNAL,
                        "retained sizes of %" PRIu32
                        " objects for a snapshot of %" PRIu32,
                        d->n, g->n);
    json = meta_json(g, d);
    /* insert_rows only reads d; the fill's argument is untyped. */
    rc = hs_derived_replace(g->snap, "retained", fill_rows,
                            (void *)(uintptr_t)d, json, meta_matches, g);
    free(json);
    return rc;
}

int
hs_retained_get(const struct hs_graph *g, struct hs_dominators *out)
{
    int rc = hs_retained_load(g, out);

    if (rc != 0)
        return rc < 0 ? -1 : 0;
    hs_dominators_compute(g, out);
    if (g->snap && !hs_snapshot_writable(g->snap))
        hs_snapshot_note_readonly(g->snap);
    if (g->snap && hs_snapshot_writable(g->snap)) {
        if (hs_retained_store(g, out) == 0)
            out->origin = HS_DOM_STORED;
        else
            hs_warn("retained sizes are not stored in '%s' (%s); they "
                    "were computed in memory and will be again",
                    hs_snapshot_path(g->snap),
                    hs_snapshot_store_error(g->snap));
    }
    return 0;
}
