-- heapsnap derived tables, added to a snapshot by the inspector.
--
-- The agent never creates these: they are computed from the snapshot's own
-- tables by `heapsnap` and stored so that later commands are instant.  The
-- snapshot stays a valid input without them, and a read-only snapshot just
-- has them computed in memory each time.  This file is the single source of
-- truth for their DDL; it is compiled into the inspector (derived_sql.c).
--
-- Each table's DDL starts at a line "-- derived: NAME" and runs to the next
-- such line.  The inspector drops and re-creates table NAME from that
-- section, fills it and records how in meta under the key 'derived_NAME',
-- all in one transaction.  The meta value is a JSON object; its "format"
-- is the version of the section below, and a table whose format, object
-- count or reference count does not match is recomputed.

-- derived: retained
-- The dominator tree and retained sizes (inspector/dominators.c), over
-- retaining references only (edge_kinds.retains = 1) from a virtual root
-- that references every row of roots.  One row per object.  meta
-- 'derived_retained' holds {"format":1, "algorithm":"semi-nca",
-- "heapsnap":VERSION, "computed_at":ISO-8601 UTC, "seconds":S,
-- "objects":N, "edges":M, "reachable":R, "reachable_bytes":B,
-- "unreachable":U, "unreachable_bytes":UB}.
--
-- What the biggest owners retain:
--   SELECT o.id, t.name, r.retained_size FROM retained r
--     JOIN objects o ON o.id = r.object_id JOIN types t ON t.id = o.type_id
--    ORDER BY r.retained_size DESC LIMIT 10;
-- Who keeps object 42 alive, up to the roots:
--   WITH RECURSIVE up(id) AS (SELECT 42 UNION ALL
--     SELECT r.idom FROM retained r JOIN up ON r.object_id = up.id
--      WHERE r.idom > 0) SELECT * FROM up;
CREATE TABLE retained (
    object_id      INTEGER PRIMARY KEY,  -- objects.id
    idom           INTEGER,  -- objects.id of the immediate dominator: the
                             -- nearest object every retaining path from
                             -- the roots to this one goes through.  NULL
                             -- when only the roots dominate it; 0 when no
                             -- root reaches it (cyclic garbage)
    retained_size  INTEGER NOT NULL  -- bytes freed if this object went
                                     -- away: its size plus the sizes of all
                                     -- it dominates; just its own size when
                                     -- no root reaches it
);

-- derived: graph_cache
-- The arrays of the in-memory graph (inspector/graph.c), so that later
-- commands load a snapshot with a few large reads instead of one SQLite
-- row per object and per reference.  Each array is cut into parts of at
-- most 16 MiB, in native byte order; meta 'derived_graph_cache' holds
-- {"format":1, "heapsnap":VERSION, "computed_at":ISO-8601 UTC,
-- "objects":N, "edges":M, "types":T, "byte_order":1234 (little-endian),
-- "bytes":B}.  The arrays, per object: address (8 bytes), size (8), type
-- (4: index among types ordered by id), flags (4), out_off (4, plus one
-- more: where each object's references start); per reference, in
-- edge_list order: out_dst (4: the target's id - 1), out_kind (1), and
-- out_arg (4: edge_list.arg, 0 for NULL; only `advise` reads it, and a
-- cache stored by an older heapsnap lacks it).
-- About 28 bytes per object and 9 per reference; to give the space back:
-- sqlite3 FILE "DROP TABLE graph_cache; VACUUM" (the next command that can
-- write the file stores it again; a read-only file is never written).
CREATE TABLE graph_cache (
    name  TEXT NOT NULL,     -- the array
    part  INTEGER NOT NULL,  -- its part, from 0
    data  BLOB NOT NULL,     -- the part's bytes
    PRIMARY KEY (name, part)
);
