/*
 * retained.h: retained sizes that are computed once per snapshot and then
 * read back: the derived table `retained` of schema/derived.sql, written
 * in one transaction through snapshot.h, plus its meta row
 * 'derived_retained'.
 *
 * A snapshot that cannot be written (read-only file, HS_SNAP_READONLY) gets
 * its dominators computed in memory on every call.  A stored table that no
 * longer matches the snapshot (another object or reference count, another
 * format) is recomputed and replaced.
 */
#ifndef HS_RETAINED_H
#define HS_RETAINED_H

#include "dominators.h"
#include "snapshot.h"

/* Version of the `retained` section of derived.sql; stored in meta. */
#define HS_RETAINED_FORMAT 1

/*
 * Fills `out` (which it initializes; the caller releases it) with the
 * dominators and retained sizes of g: loaded from g->snap when the table is
 * there and current, otherwise computed and, when the snapshot is writable,
 * stored.  out->origin says which.  A graph without a snapshot (tests,
 * benchmarks) is just computed.
 *
 * Returns 0, or -1 after an error reading the snapshot (exit 4).  A failure
 * to store is not one: it prints why, rolls back, warns, and still returns
 * the computed result with origin HS_DOM_COMPUTED.
 */
int hs_retained_get(const struct hs_graph *g, struct hs_dominators *out);

/*
 * Reads the stored table of g->snap into `out` (initialized here).
 * Returns 1 when loaded (origin HS_DOM_LOADED), 0 when there is no table or
 * it does not match g (out left empty), -1 after a read error.  O(n) rows,
 * 12 bytes per node.
 */
int hs_retained_load(const struct hs_graph *g, struct hs_dominators *out);

/*
 * Replaces the table `retained` and its meta row in g->snap with `d`, in
 * one transaction (rolled back on failure).  Returns 0, or -1 after an
 * error (exit 4).  O(n) rows.
 */
int hs_retained_store(const struct hs_graph *g, const struct hs_dominators *d);

#endif /* HS_RETAINED_H */
