/*
 * snapshot.h: opening and validating a snapshot file, and the small query
 * API through which the rest of the inspector reads it.  snapshot.c is the
 * only file that calls sqlite3_*; other model files write SQL but never see
 * SQLite types.
 */
#ifndef HS_SNAPSHOT_H
#define HS_SNAPSHOT_H

#include "heapsnap.h"

/* schema/heapsnap.sql, compiled in (build/gen/schema_sql.c). */
extern const char hs_schema_sql[];

/*
 * The snapshot format this inspector reads and the application_id of every
 * snapshot, both parsed from the PRAGMA lines of the compiled-in schema so
 * that the schema file stays the single source of truth.
 */
int hs_schema_version(void);
int64_t hs_schema_application_id(void);

struct hs_snapshot;
struct hs_query;

/* Flags of hs_snapshot_open(). */
#define HS_SNAP_READONLY 0u
#define HS_SNAP_DERIVED 1u /* open read-write to add derived tables; falls
                              back to read-only (with a note) if the file is
                              not writable */

/*
 * The snapshot a command should read: `file` when given (the -f option),
 * otherwise the newest heapsnap-*.db in the current folder, which it names
 * on stderr.  Returns a malloc'd path, or NULL after an error (exit 2 when
 * there is none).
 */
char *hs_snapshot_pick(const char *file);

/*
 * Opens `path` and checks that it is a complete heapsnap snapshot of a
 * format this inspector reads.  Returns NULL after an error: exit 4 when
 * the file cannot be read, 3 when it is not a snapshot or its format is
 * newer.  Read-only unless HS_SNAP_DERIVED.
 */
struct hs_snapshot *hs_snapshot_open(const char *path, unsigned flags);

/* Closes the snapshot; NULL is allowed. */
void hs_snapshot_close(struct hs_snapshot *s);

const char *hs_snapshot_path(const struct hs_snapshot *s);

/* 1 if derived tables can be written to this snapshot. */
int hs_snapshot_writable(const struct hs_snapshot *s);

/* Milliseconds a connection opened from now on waits for another
 * process's lock (one storing derived tables) before a statement fails
 * with "locked": 10 minutes (tests that hold a lock on purpose lower it). */
extern int hs_snapshot_busy_ms;

/*
 * For a long-running reader (`serve`), once loading has written what it
 * would: the file's size and times are recorded for
 * hs_snapshot_check_unchanged().  Can't fail.  (Pages are never mapped, so
 * a file truncated under the reader fails a read, not with SIGBUS.)
 */
void hs_snapshot_pin(struct hs_snapshot *s);

/*
 * 0 if the file is as hs_snapshot_pin() saw it (or was never pinned); -1
 * after printing that it was truncated or written over since (exit 4).
 * A file replaced by rename() is not a change: the open file is still the
 * one that was read.
 */
int hs_snapshot_check_unchanged(struct hs_snapshot *s);

/* 1 if a table of that name exists (a view of that name does not count:
 * views in a snapshot are never used). */
int hs_snapshot_has_table(struct hs_snapshot *s, const char *name);

/* The meta value for `key` as a malloc'd string, or NULL if absent. */
char *hs_snapshot_meta(struct hs_snapshot *s, const char *key);

/*
 * The figures a complete snapshot file records of its dump: object and
 * edge counts and the dump's seconds, from its meta (absent ones are 0).
 * 1 if `path` opened as a snapshot, 0 if not (nothing printed).
 */
int hs_snapshot_file_figures(const char *path, uint64_t *objects,
                             uint64_t *edges, double *seconds);

/*
 * Runs one or more SQL statements that return no rows (derived-table DDL,
 * BEGIN/COMMIT).  0, or -1 after an error (exit 4).
 */
int hs_snapshot_exec(struct hs_snapshot *s, const char *sql);

/*
 * The single integer a query returns (SELECT count(*) ...), or `dflt` when it
 * returns no row or NULL.  Errors print and return `dflt` with the exit code
 * recorded; callers that must tell the difference use hs_query_*.
 */
int64_t hs_snapshot_int(struct hs_snapshot *s, const char *sql, int64_t dflt);

/* ---- queries ---------------------------------------------------------------- */

/* Prepares `sql`.  NULL after an error (exit 4). */
struct hs_query *hs_query_prepare(struct hs_snapshot *s, const char *sql);

/* Binding; parameters count from 1.  0, or -1 after an error. */
int hs_query_bind_int(struct hs_query *q, int idx, int64_t v);
int hs_query_bind_text(struct hs_query *q, int idx, const char *text);
int hs_query_bind_null(struct hs_query *q, int idx);
/* Binds a blob the query copies. */
int hs_query_bind_blob(struct hs_query *q, int idx, const void *data,
                       size_t len);

/* 1 when a row is ready, 0 when done, -1 after an error (exit 4). */
int hs_query_step(struct hs_query *q);

/* Rewinds the query for new bindings (bindings are kept). */
void hs_query_reset(struct hs_query *q);

/* Column access for the current row; columns count from 0. */
int hs_query_is_null(struct hs_query *q, int col);
int64_t hs_query_int(struct hs_query *q, int col);
double hs_query_double(struct hs_query *q, int col);
/* NULL for SQL NULL; valid until the next step, reset or free. */
const char *hs_query_text(struct hs_query *q, int col);

/* Finalizes; NULL is allowed. */
void hs_query_free(struct hs_query *q);

/*
 * Copies `len` bytes of the blob in column `column` of row `rowid` of
 * `table` into dst, straight from the file (no intermediate buffer).
 * The blob must be exactly `len` bytes.
 * Returns 1, 0 when the row is missing or its blob has another length,
 * -1 after a read error (exit 4).
 */
int hs_snapshot_blob_read(struct hs_snapshot *s, const char *table,
                          const char *column, int64_t rowid, void *dst,
                          size_t len);

/* ---- derived tables ---------------------------------------------------------- */

/* schema/derived.sql, compiled in (build/gen/derived_sql.c). */
extern const char hs_derived_sql[];

/*
 * The DDL section "-- derived: NAME" of derived.sql as a malloc'd string,
 * or NULL if there is none.
 */
char *hs_derived_section(const char *name);

/*
 * The integer field `field` of the flat JSON object stored in meta under
 * `key` (the description of a derived table), or -1 when the row or the
 * field is missing or not an integer.
 */
int64_t hs_derived_meta_int(struct hs_snapshot *s, const char *key,
                            const char *field);

/*
 * Replaces the derived table `name` and its meta row 'derived_NAME' in one
 * transaction: drops the table, re-creates it from derived.sql's section
 * NAME, calls fill(s, arg) to insert its rows, stores `meta_json` in meta
 * and commits; anything failing rolls it all back, so the file keeps the
 * old table or gets the new one.  When another connection has written the
 * file since it was opened and current(ctx) says, inside the transaction,
 * that it holds a current table (another command stored it while this one
 * computed), nothing is written (current may be NULL: always write).  Returns 0, or -1: storing is optional,
 * so a failure of SQLite (a full disk, a lock held too long) is not
 * printed and records no exit code; hs_snapshot_store_error() says why.
 * Exit 5 when derived.sql has no such section.
 */
int hs_derived_replace(struct hs_snapshot *s, const char *name,
                       int (*fill)(struct hs_snapshot *s, void *arg),
                       void *arg, const char *meta_json,
                       int (*current)(const void *ctx), const void *ctx);

/* Why the last hs_derived_replace() failed (owned by s). */
const char *hs_snapshot_store_error(const struct hs_snapshot *s);

/*
 * Says once per snapshot, as a note, that derived data is computed but not
 * stored because the file is read-only; silent when the snapshot was opened
 * read-only on purpose.  For the derived-table writers.
 */
void hs_snapshot_note_readonly(struct hs_snapshot *s);

#endif /* HS_SNAPSHOT_H */
