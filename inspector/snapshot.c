/*
 * snapshot.c: the inspector's only door to SQLite.  Opens a snapshot
 * read-only (or read-write for derived tables), validates application_id,
 * user_version and the core tables, and wraps prepared statements in
 * struct hs_query so that model files never include sqlite3.h.
 *
 * Every failure prints one line naming the file and the cause and records
 * exit 4 (cannot read) or 3 (not a snapshot / newer format).
 *
 * A snapshot may come from anyone: the connection is opened defensively
 * (SQLITE_DBCONFIG_DEFENSIVE, an untrusted schema, no triggers and no
 * views run), only regular files are opened, the tables the inspector
 * reads must be real tables, and a file holding a trigger is refused, so
 * nothing in the file runs when derived tables are written.  A statement
 * the file's schema cannot answer (a missing table or column) or a damaged
 * page is exit 3.  While derived tables are stored, failures are kept
 * (hs_snapshot_store_error()) rather than printed: storing is optional.
 */
#include "snapshot.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>

int hs_snapshot_busy_ms = 600000;
#include <sys/stat.h>
#include <unistd.h>

struct hs_snapshot {
    sqlite3 *db;  /* open connection */
    char *path;   /* as given by the user */
    int writable; /* opened read-write for derived tables */
    int wanted_derived; /* opened with HS_SNAP_DERIVED */
    int noted_readonly; /* hs_snapshot_note_readonly() has spoken */
    int fd;             /* the file, opened beside SQLite's (-1: none);
                           hs_snapshot_check_unchanged() fstat()s it */
    struct stat pinned; /* the file as hs_snapshot_pin() saw it */
    int is_pinned;      /* hs_snapshot_pin() was called */
    int storing;        /* inside hs_derived_replace(): keep errors */
    char *store_error;  /* the first failure while storing (malloc'd) */
    int64_t data_version; /* PRAGMA data_version at open: it changes when
                             another connection commits */
};

struct hs_query {
    struct hs_snapshot *snap; /* owner, for error messages */
    sqlite3_stmt *stmt;       /* the prepared statement */
};

/* ---- the compiled-in schema ------------------------------------------------ */

/* The integer after "PRAGMA name =" in the schema text, or -1. */
static int64_t
schema_pragma(const char *name)
{
    char needle[64];
    const char *p;

    snprintf(needle, sizeof(needle), "PRAGMA %s =", name);
    p = strstr(hs_schema_sql, needle);
    if (!p)
        return -1;
    return strtoll(p + strlen(needle), NULL, 10);
}

int
hs_schema_version(void)
{
    return (int)schema_pragma("user_version");
}

int64_t
hs_schema_application_id(void)
{
    return schema_pragma("application_id");
}

/* ---- picking and opening ---------------------------------------------------- */

char *
hs_snapshot_pick(const char *file)
{
    DIR *dir;
    struct dirent *de;
    char *best = NULL;
    struct timespec best_time = { 0, 0 };

    if (file)
        return hs_xstrdup(file);
    dir = opendir(".");
    if (!dir) {
        hs_error(HS_EXIT_IO, "cannot list the current folder: %s",
                 strerror(errno));
        return NULL;
    }
    while ((de = readdir(dir))) {
        struct stat st;

        if (fnmatch("heapsnap-*.db", de->d_name, 0))
            continue;
        if (stat(de->d_name, &st) || !S_ISREG(st.st_mode))
            continue;
        if (!best || st.st_mtim.tv_sec > best_time.tv_sec ||
            (st.st_mtim.tv_sec == best_time.tv_sec &&
             (st.st_mtim.tv_nsec > best_time.tv_nsec ||
              (st.st_mtim.tv_nsec == best_time.tv_nsec &&
               strcmp(de->d_name, best) > 0)))) {
            free(best);
            best = hs_xstrdup(de->d_name);
            best_time = st.st_mtim;
        }
    }
    closedir(dir);
    if (!best) {
        hs_error(HS_EXIT_USAGE, "no snapshot given and no heapsnap-*.db in "
                                "the current folder (use -f FILE)");
        return NULL;
    }
    hs_note("reading '%s' (newest heapsnap-*.db here; -f picks another)",
            best);
    return best;
}

/* 1 if the schema has anything (view, index, trigger) called `name`. */
static int
has_schema_object(struct hs_snapshot *s, const char *name)
{
    sqlite3_stmt *st;
    int found;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM sqlite_master WHERE name = ?1", -1,
                           &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

/*
 * Checks that the core tables exist as tables (a view or anything else
 * of that name is not trusted) and that the file holds no trigger, which
 * would run when derived tables are written; 0 or -1 (exit 3).
 */
static int
check_tables(struct hs_snapshot *s)
{
    static const char *const required[] = {
        "meta",         "types",   "type_flags", "objects",
        "object_flags", "names",   "edge_kinds", "edge_list",
        "roots",        "threads", "frames"
    };
    sqlite3_stmt *st;
    int rc;

    for (size_t i = 0; i < HS_ARRAY_SIZE(required); i++) {
        if (hs_snapshot_has_table(s, required[i]))
            continue;
        if (has_schema_object(s, required[i]))
            return hs_error(HS_EXIT_SNAPSHOT,
                            "'%s' is not a heapsnap snapshot: '%s' is not a "
                            "table",
                            s->path, required[i]);
        return hs_error(HS_EXIT_SNAPSHOT,
                        "'%s' is not a complete heapsnap snapshot: "
                        "table '%s' is missing",
                        s->path, required[i]);
    }
    if (sqlite3_prepare_v2(s->db,
                           "SELECT name FROM sqlite_master WHERE type = "
                           "'trigger' LIMIT 1",
                           -1, &st, NULL) != SQLITE_OK)
        return hs_error(HS_EXIT_SNAPSHOT,
                        "'%s' is not a heapsnap snapshot: %s", s->path,
                        sqlite3_errmsg(s->db));
    rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        hs_error(HS_EXIT_SNAPSHOT,
                 "'%s' is not a heapsnap snapshot: it holds trigger '%s'",
                 s->path, (const char *)sqlite3_column_text(st, 0));
    else if (rc != SQLITE_DONE)
        hs_error(HS_EXIT_SNAPSHOT, "'%s' is not a heapsnap snapshot: %s",
                 s->path, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* What a file that is not a regular file is, for messages. */
static const char *
file_kind(mode_t mode)
{
    if (S_ISDIR(mode))
        return "a folder";
    if (S_ISFIFO(mode))
        return "a FIFO";
    if (S_ISCHR(mode) || S_ISBLK(mode))
        return "a device";
    if (S_ISSOCK(mode))
        return "a socket";
    return "not a regular file";
}

/* 1 if the folder holding `path` lets this process create files (SQLite's
 * journal goes there when derived tables are written). */
static int
folder_writable(const char *path)
{
    char *dir = hs_folder_of(path);
    int ok = !access(dir, W_OK | X_OK);

    free(dir);
    return ok;
}

/* Turns off whatever in a file could run or write outside the tables. */
static void
configure_defensive(sqlite3 *db)
{
    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_TRIGGER, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_VIEW, 0, NULL);
    sqlite3_db_config(db, SQLITE_DBCONFIG_ENABLE_LOAD_EXTENSION, 0, NULL);
}

/*
 * Reports the connection's last failure while doing `what` ("read",
 * "update"): exit 3 when the file is damaged or its schema cannot answer
 * the inspector's SQL (a missing table or column: SQLITE_ERROR from our
 * fixed statements), 4 otherwise.  While storing derived tables it only
 * keeps the first cause.  Returns -1.
 */
static int
snapshot_failed(struct hs_snapshot *s, const char *what, const char *msg)
{
    int code = sqlite3_errcode(s->db);

    if (!msg)
        msg = sqlite3_errmsg(s->db);
    if (s->storing) {
        if (!s->store_error)
            s->store_error = hs_xstrdup(msg);
        return -1;
    }
    if (code == SQLITE_CORRUPT || code == SQLITE_NOTADB)
        return hs_error(HS_EXIT_SNAPSHOT, "'%s' is damaged: %s", s->path, msg);
    if (code == SQLITE_ERROR || code == SQLITE_MISMATCH)
        return hs_error(HS_EXIT_SNAPSHOT,
                        "'%s' is not a complete heapsnap snapshot: %s",
                        s->path, msg);
    return hs_error(HS_EXIT_IO, "cannot %s '%s': %s", what, s->path, msg);
}

/* Reads a PRAGMA integer; 0 or -1 after an error (exit 3 or 4). */
static int
pragma_int(struct hs_snapshot *s, const char *pragma, int64_t *out)
{
    sqlite3_stmt *st;
    char sql[64];
    int rc;

    snprintf(sql, sizeof(sql), "PRAGMA %s", pragma);
    rc = sqlite3_prepare_v2(s->db, sql, -1, &st, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        *out = sqlite3_column_int64(st, 0);
        sqlite3_finalize(st);
        return 0;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_NOTADB || rc == SQLITE_CORRUPT)
        return hs_error(HS_EXIT_SNAPSHOT,
                        "'%s' is not a heapsnap snapshot: %s", s->path,
                        sqlite3_errstr(rc));
    return hs_error(HS_EXIT_IO, "cannot read '%s': %s", s->path,
                    sqlite3_errmsg(s->db));
}

struct hs_snapshot *
hs_snapshot_open(const char *path, unsigned flags)
{
    struct hs_snapshot *s;
    struct stat st;
    int64_t app_id, version;
    int rc, oflags, fd;

    /* O_NONBLOCK: a FIFO must not hang the open; it is refused below. */
    fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0 && errno == EISDIR) {
        hs_error(HS_EXIT_SNAPSHOT,
                 "'%s' is not a heapsnap snapshot: it is "
                 "a folder",
                 path);
        return NULL;
    }
    if (fd < 0) {
        hs_error(HS_EXIT_IO, "cannot open '%s': %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) < 0) {
        hs_error(HS_EXIT_IO, "cannot open '%s': %s", path, strerror(errno));
        close(fd);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        hs_error(HS_EXIT_SNAPSHOT, "'%s' is not a heapsnap snapshot: it is %s",
                 path, file_kind(st.st_mode));
        close(fd);
        return NULL;
    }
    s = hs_xcalloc(1, sizeof(*s));
    s->fd = fd;
    s->path = hs_xstrdup(path);
    /* A file without write bits stays read-only even for root, whom
     * access() lets write anything: the owner asked for it.  So does one
     * in a folder where SQLite cannot create its journal. */
    s->wanted_derived = (flags & HS_SNAP_DERIVED) != 0;
    s->writable = (flags & HS_SNAP_DERIVED) && !access(path, W_OK) &&
                  (st.st_mode & (S_IWUSR | S_IWGRP | S_IWOTH)) &&
                  folder_writable(path);
    /* One thread uses the connection: SQLite's per-call mutex is waste. */
    oflags = (s->writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY) |
             SQLITE_OPEN_NOMUTEX;
    rc = sqlite3_open_v2(path, &s->db, oflags, NULL);
    if (rc != SQLITE_OK) {
        hs_error(HS_EXIT_IO, "cannot open '%s': %s", path,
                 s->db ? sqlite3_errmsg(s->db) : sqlite3_errstr(rc));
        goto fail;
    }
    configure_defensive(s->db);
    /* Commands that open a new snapshot together wait for each other's
     * derived tables rather than fail. */
    sqlite3_busy_timeout(s->db, hs_snapshot_busy_ms);
    /* Pages are read with read(), never mapped (SQLite's default on
     * Debian): a mapping makes every page a command touches count in its
     * RSS, 209 against 84 bytes/object for `why OBJ` at 1.37M objects,
     * and was no faster (0.36 against 0.30 s); it also turns a file
     * truncated under a reader into SIGBUS. */
    sqlite3_exec(s->db, "PRAGMA mmap_size = 0", NULL, NULL, NULL);
    if (pragma_int(s, "application_id", &app_id) < 0)
        goto fail;
    if (app_id != hs_schema_application_id()) {
        hs_error(HS_EXIT_SNAPSHOT,
                 "'%s' is not a heapsnap snapshot (SQLite application_id "
                 "is %lld)",
                 path, (long long)app_id);
        goto fail;
    }
    if (pragma_int(s, "user_version", &version) < 0)
        goto fail;
    if (version > hs_schema_version()) {
        hs_error(HS_EXIT_SNAPSHOT,
                 "'%s' has snapshot format %lld; this heapsnap reads "
                 "format %d or older (upgrade heapsnap)",
                 path, (long long)version, hs_schema_version());
        goto fail;
    }
    if (version < 1) {
        hs_error(HS_EXIT_SNAPSHOT,
                 "'%s' is not a complete heapsnap snapshot (format 0)", path);
        goto fail;
    }
    if (check_tables(s) < 0 || pragma_int(s, "data_version",
                                          &s->data_version) < 0)
        goto fail;
    return s;
fail:
    hs_snapshot_close(s);
    return NULL;
}

void
hs_snapshot_close(struct hs_snapshot *s)
{
    if (!s)
        return;
    sqlite3_close(s->db);
    if (s->fd >= 0)
        close(s->fd);
    free(s->store_error);
    free(s->path);
    free(s);
}

void
hs_snapshot_pin(struct hs_snapshot *s)
{
    if (fstat(s->fd, &s->pinned) == 0)
        s->is_pinned = 1;
}

int
hs_snapshot_check_unchanged(struct hs_snapshot *s)
{
    struct stat now;

    if (!s->is_pinned)
        return 0;
    if (fstat(s->fd, &now))
        return hs_error(HS_EXIT_IO, "cannot read '%s': %s", s->path,
                        strerror(errno));
    /* The change time catches a write that restored the modification
     * time, but unlinking (a rename() over the file) changes it too, and
     * then nothing can open the file to write it any more. */
    if (now.st_size != s->pinned.st_size ||
        now.st_mtim.tv_sec != s->pinned.st_mtim.tv_sec ||
        now.st_mtim.tv_nsec != s->pinned.st_mtim.tv_nsec ||
        (now.st_nlink && (now.st_ctim.tv_sec != s->pinned.st_ctim.tv_sec ||
                          now.st_ctim.tv_nsec != s->pinned.st_ctim.tv_nsec)))
        return hs_error(HS_EXIT_IO,
                        "'%s' was changed while being read (truncated or "
                        "written over); start again to read it as it is now",
                        s->path);
    return 0;
}

const char *
hs_snapshot_path(const struct hs_snapshot *s)
{
    return s->path;
}

int
hs_snapshot_writable(const struct hs_snapshot *s)
{
    return s->writable;
}

int
hs_snapshot_has_table(struct hs_snapshot *s, const char *name)
{
    sqlite3_stmt *st;
    int found = 0;

    if (sqlite3_prepare_v2(s->db,
                           "SELECT 1 FROM sqlite_master WHERE name = ?1 AND "
                           "type = 'table'",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    found = sqlite3_step(st) == SQLITE_ROW;
    sqlite3_finalize(st);
    return found;
}

char *
hs_snapshot_meta(struct hs_snapshot *s, const char *key)
{
    struct hs_query *q;
    char *v = NULL;

    q = hs_query_prepare(s, "SELECT value FROM meta WHERE key = ?1");
    if (!q)
        return NULL;
    hs_query_bind_text(q, 1, key);
    if (hs_query_step(q) == 1 && !hs_query_is_null(q, 0))
        v = hs_xstrdup(hs_query_text(q, 0));
    hs_query_free(q);
    return v;
}

/* A meta value as a number, 0 when absent. */
static double
meta_number(struct hs_snapshot *s, const char *key)
{
    char *v = hs_snapshot_meta(s, key);
    double d = v ? strtod(v, NULL) : 0;

    free(v);
    return d;
}

int
hs_snapshot_file_figures(const char *path, uint64_t *objects, uint64_t *edges,
                         double *seconds)
{
    struct hs_snapshot *s = hs_snapshot_open(path, HS_SNAP_READONLY);

    if (!s)
        return 0;
    *objects = (uint64_t)meta_number(s, "object_count");
    *edges = (uint64_t)meta_number(s, "edge_count");
    *seconds = meta_number(s, "dump_seconds");
    hs_snapshot_close(s);
    return 1;
}

int
hs_snapshot_exec(struct hs_snapshot *s, const char *sql)
{
    char *err = NULL;

    if (sqlite3_exec(s->db, sql, NULL, NULL, &err) != SQLITE_OK) {
        snapshot_failed(s, "update", err);
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

int64_t
hs_snapshot_int(struct hs_snapshot *s, const char *sql, int64_t dflt)
{
    struct hs_query *q = hs_query_prepare(s, sql);
    int64_t v = dflt;

    if (!q)
        return dflt;
    if (hs_query_step(q) == 1 && !hs_query_is_null(q, 0))
        v = hs_query_int(q, 0);
    hs_query_free(q);
    return v;
}

/* ---- queries ------------------------------------------------------------------ */

static int
query_error(struct hs_query *q)
{
    return snapshot_failed(q->snap, "read", NULL);
}

struct hs_query *
hs_query_prepare(struct hs_snapshot *s, const char *sql)
{
    struct hs_query *q = hs_xcalloc(1, sizeof(*q));

    q->snap = s;
    if (sqlite3_prepare_v2(s->db, sql, -1, &q->stmt, NULL) != SQLITE_OK) {
        query_error(q);
        sqlite3_finalize(q->stmt);
        free(q);
        return NULL;
    }
    return q;
}

int
hs_query_bind_int(struct hs_query *q, int idx, int64_t v)
{
    if (sqlite3_bind_int64(q->stmt, idx, v) != SQLITE_OK)
        return query_error(q);
    return 0;
}

int
hs_query_bind_text(struct hs_query *q, int idx, const char *text)
{
    if (sqlite3_bind_text(q->stmt, idx, text, -1, SQLITE_TRANSIENT) !=
        SQLITE_OK)
        return query_error(q);
    return 0;
}

int
hs_query_bind_null(struct hs_query *q, int idx)
{
    if (sqlite3_bind_null(q->stmt, idx) != SQLITE_OK)
        return query_error(q);
    return 0;
}

int
hs_query_bind_blob(struct hs_query *q, int idx, const void *data, size_t len)
{
    if (sqlite3_bind_blob64(q->stmt, idx, data, len, SQLITE_TRANSIENT) !=
        SQLITE_OK)
        return query_error(q);
    return 0;
}

int
hs_query_step(struct hs_query *q)
{
    int rc = sqlite3_step(q->stmt);

    if (rc == SQLITE_ROW)
        return 1;
    if (rc == SQLITE_DONE)
        return 0;
    return query_error(q);
}

void
hs_query_reset(struct hs_query *q)
{
    sqlite3_reset(q->stmt);
}

int
hs_query_is_null(struct hs_query *q, int col)
{
    return sqlite3_column_type(q->stmt, col) == SQLITE_NULL;
}

int64_t
hs_query_int(struct hs_query *q, int col)
{
    return sqlite3_column_int64(q->stmt, col);
}

double
hs_query_double(struct hs_query *q, int col)
{
    return sqlite3_column_double(q->stmt, col);
}

const char *
hs_query_text(struct hs_query *q, int col)
{
    return (const char *)sqlite3_column_text(q->stmt, col);
}

void
hs_query_free(struct hs_query *q)
{
    if (!q)
        return;
    sqlite3_finalize(q->stmt);
    free(q);
}

int
hs_snapshot_blob_read(struct hs_snapshot *s, const char *table,
                      const char *column, int64_t rowid, void *dst,
                      size_t len)
{
    sqlite3_blob *blob = NULL;
    int rc = sqlite3_blob_open(s->db, "main", table, column, rowid, 0, &blob);

    if (rc != SQLITE_OK) {
        sqlite3_blob_close(blob);
        /* A missing row or a column that is not a blob: not ours. */
        if (rc == SQLITE_ERROR)
            return 0;
        return snapshot_failed(s, "read", NULL);
    }
    if ((size_t)sqlite3_blob_bytes(blob) != len) {
        sqlite3_blob_close(blob);
        return 0;
    }
    if (len > INT_MAX)
        rc = SQLITE_TOOBIG;
    else if (len)
        rc = sqlite3_blob_read(blob, dst, (int)len, 0);
    sqlite3_blob_close(blob);
    if (rc != SQLITE_OK)
        return hs_error(HS_EXIT_IO, "cannot read '%s': %s", s->path,
                        sqlite3_errstr(rc));
    return 1;
}

/* ---- derived tables ---------------------------------------------------------- */

char *
hs_derived_section(const char *name)
{
    static const char marker[] = "-- derived: ";
    const char *p = hs_derived_sql, *end;
    size_t nlen = strlen(name);

    for (;;) {
        p = strstr(p, marker);
        if (!p)
            return NULL;
        if ((p == hs_derived_sql || p[-1] == '\n') &&
            !strncmp(p + strlen(marker), name, nlen) &&
            p[strlen(marker) + nlen] == '\n')
            break;
        p += strlen(marker);
    }
    end = strstr(p + 1, "\n-- derived: ");
    return end ? hs_xstrndup(p, (size_t)(end - p) + 1) : hs_xstrdup(p);
}

int64_t
hs_derived_meta_int(struct hs_snapshot *s, const char *key, const char *field)
{
    char needle[64], *json = hs_snapshot_meta(s, key), *end;
    const char *p;
    long long v = -1;

    if (!json)
        return -1;
    snprintf(needle, sizeof(needle), "\"%s\":", field);
    p = strstr(json, needle);
    if (p) {
        v = strtoll(p + strlen(needle), &end, 10);
        if (end == p + strlen(needle))
            v = -1;
    }
    free(json);
    return (int64_t)v;
}

int
hs_derived_replace(struct hs_snapshot *s, const char *name,
                   int (*fill)(struct hs_snapshot *s, void *arg), void *arg,
                   const char *meta_json, int (*current)(const void *ctx),
                   const void *ctx)
{
    char *ddl = hs_derived_section(name), *sql = NULL;
    struct hs_query *q = NULL;
    int64_t version;
    int rc = -1;

    if (!ddl)
        return hs_error(HS_EXIT_INTERNAL, "derived.sql has no section '%s'",
                        name);
    free(s->store_error);
    s->store_error = NULL;
    s->storing = 1;
    if (hs_snapshot_exec(s, "BEGIN IMMEDIATE") < 0)
        goto out;
    /* Another command opened the file with this one and stored the same
     * table first: keep its copy (a table this one found damaged is still
     * replaced, as nobody else wrote). */
    if (current && pragma_int(s, "data_version", &version) == 0 &&
        version != s->data_version && current(ctx)) {
        rc = 0;
        hs_snapshot_exec(s, "ROLLBACK");
        goto out;
    }
    sql = hs_xasprintf("DROP TABLE IF EXISTS %s", name);
    if (hs_snapshot_exec(s, sql) < 0 || hs_snapshot_exec(s, ddl) < 0 ||
        fill(s, arg) < 0)
        goto rollback;
    free(sql);
    sql = hs_xasprintf("INSERT OR REPLACE INTO meta (key, value) VALUES "
                       "('derived_%s', ?1)",
                       name);
    q = hs_query_prepare(s, sql);
    if (!q || hs_query_bind_text(q, 1, meta_json) < 0 || hs_query_step(q) < 0)
        goto rollback;
    hs_query_free(q);
    q = NULL;
    if (hs_snapshot_exec(s, "COMMIT") < 0)
        goto rollback;
    rc = 0;
    goto out;
rollback:
    hs_query_free(q);
    /* After a failed COMMIT SQLite may have rolled back itself. */
    if (!sqlite3_get_autocommit(s->db))
        hs_snapshot_exec(s, "ROLLBACK");
out:
    s->storing = 0;
    if (rc < 0 && !s->store_error)
        s->store_error = hs_xstrdup("unknown cause");
    free(sql);
    free(ddl);
    return rc;
}

const char *
hs_snapshot_store_error(const struct hs_snapshot *s)
{
    return s->store_error ? s->store_error : "no error";
}

void
hs_snapshot_note_readonly(struct hs_snapshot *s)
{
    if (s->noted_readonly || !s->wanted_derived)
        return;
    s->noted_readonly = 1;
    hs_note("'%s' is read-only: derived data is computed, not stored",
            s->path);
}
