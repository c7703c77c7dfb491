/*
 * graph_cache.c: the arrays of struct hs_graph stored as blobs in the
 * derived table `graph_cache`, and read back (graph_cache.h).
 *
 * Each array is written as parts of at most 16 MiB, in native byte
 * order, all in one transaction with the meta row that describes them, so
 * a crash leaves the old cache or the new one.  Reading checks every
 * value that could send a later walk out of bounds (targets, kinds, type
 * indices, offsets), which costs one pass over the arrays: far less than
 * the SQLite rows it replaces.
 */
#include "graph_cache.h"
#include "snapshot.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define META_KEY "derived_graph_cache"
#define BYTE_ORDER_MARK 1234 /* what a little-endian writer records */

size_t hs_graph_cache_part_bytes = (size_t)16 << 20;

/* One array of the graph: its name in the table and where it lives. */
struct array {
    const char *name;
    void *data;
    size_t bytes;
};

/* The cached arrays of g, in a fixed order. */
static size_t
arrays_of(const struct hs_graph *g, struct array out[7])
{
    size_t n = g->n, m = g->m;

    out[0] = (struct array){ "address", g->address, n * sizeof(uint64_t) };
    out[1] = (struct array){ "size", g->size, n * sizeof(uint64_t) };
    out[2] = (struct array){ "type", g->type, n * sizeof(uint32_t) };
    out[3] = (struct array){ "flags", g->flags, n * sizeof(uint32_t) };
    out[4] = (struct array){ "out_off", g->out_off,
                             (n + 1) * sizeof(uint32_t) };
    out[5] = (struct array){ "out_dst", g->out_dst, m * sizeof(uint32_t) };
    out[6] = (struct array){ "out_kind", g->out_kind, m };
    return 7;
}

static int
byte_order(void)
{
    const uint16_t probe = 1;
    uint8_t first;

    memcpy(&first, &probe, 1);
    return first ? BYTE_ORDER_MARK : 4321;
}

/* 1 if the meta row describes a cache of g in our format and byte order. */
static int
meta_matches(const struct hs_graph *g)
{
    struct hs_snapshot *s = g->snap;

    return hs_derived_meta_int(s, META_KEY, "format") ==
               HS_GRAPH_CACHE_FORMAT &&
           hs_derived_meta_int(s, META_KEY, "byte_order") == byte_order() &&
           hs_derived_meta_int(s, META_KEY, "objects") == (int64_t)g->n &&
           hs_derived_meta_int(s, META_KEY, "edges") == (int64_t)g->m &&
           hs_derived_meta_int(s, META_KEY, "types") == (int64_t)g->ntypes;
}

/*
 * Reads the parts of array `a`, in order, into a->data: their rowids and
 * lengths from q, their bytes straight from the file.  1 when they fill it
 * exactly, 0 when they do not, -1 after a read error.
 */
static int
read_array(struct hs_snapshot *s, struct hs_query *q, const struct array *a)
{
    size_t at = 0;
    int64_t want_part = 0;
    int rc;

    hs_query_reset(q);
    if (hs_query_bind_text(q, 1, a->name) < 0)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t len = hs_query_int(q, 2);
        int got;

        if (hs_query_int(q, 1) != want_part++ || len < 0 ||
            (uint64_t)len > a->bytes - at)
            return 0;
        got = hs_snapshot_blob_read(s, "graph_cache", "data",
                                    hs_query_int(q, 0), (char *)a->data + at,
                                    (size_t)len);
        if (got <= 0)
            return got;
        at += (size_t)len;
    }
    return rc < 0 ? -1 : at == a->bytes;
}

/* 1 if the arrays hold a graph the walks can trust. */
static int
arrays_valid(const struct hs_graph *g)
{
    if (g->out_off[0] != 0 || g->out_off[g->n] != g->m)
        return 0;
    for (uint32_t v = 0; v < g->n; v++) {
        if (g->out_off[v] > g->out_off[v + 1] || g->type[v] >= g->ntypes)
            return 0;
    }
    for (uint32_t e = 0; e < g->m; e++) {
        if (g->out_dst[e] >= g->n || g->out_kind[e] >= HS_EDGE_NKINDS)
            return 0;
    }
    return 1;
}

/*
 * Reads arrays[0 .. n) of g's cache in one read transaction, so that the
 * meta row and the parts agree: 1 when all were read, 0 when one is
 * missing or damaged, or the cache was stored for other tables (*stale
 * set then), -1 after an error.
 */
static int
read_arrays(const struct hs_graph *g, struct array *arrays, size_t n,
            int *stale)
{
    struct hs_query *q;
    int rc = 1;

    *stale = 0;
    if (hs_snapshot_exec(g->snap, "BEGIN") < 0)
        return -1;
    if (!meta_matches(g)) {
        *stale = 1;
        rc = 0;
    } else if (!(q = hs_query_prepare(g->snap,
                                      "SELECT rowid, part, length(data) "
                                      "FROM graph_cache WHERE name = ?1 "
                                      "ORDER BY part"))) {
        rc = -1;
    } else {
        for (size_t i = 0; i < n && rc == 1; i++)
            rc = read_array(g->snap, q, &arrays[i]);
        hs_query_free(q);
    }
    if (hs_snapshot_exec(g->snap, "COMMIT") < 0 && rc >= 0)
        rc = -1;
    return rc;
}

int
hs_graph_cache_load(struct hs_graph *g)
{
    struct array arrays[7];
    size_t narrays = arrays_of(g, arrays);
    int rc, stale;

    if (!hs_snapshot_has_table(g->snap, "graph_cache"))
        return 0;
    /* Stale: the tables changed since, rebuilt without a word. */
    rc = read_arrays(g, arrays, narrays, &stale);
    if (rc == 1 && !arrays_valid(g))
        rc = 0;
    if (rc == 0 && !stale)
        hs_note("the graph cache of '%s' is damaged; reading the "
                "tables instead",
                hs_snapshot_path(g->snap));
    return rc;
}

/* The meta value describing the cache of g, as a malloc'd JSON object. */
static char *
meta_json(const struct hs_graph *g, size_t bytes)
{
    struct hs_buf b = HS_BUF_INIT;
    char when[32];

    hs_utc_now(when, sizeof(when));
    hs_buf_addf(&b,
                "{\"format\":%d,\"heapsnap\":\"%s\",\"computed_at\":\"%s\","
                "\"objects\":%" PRIu32 ",\"edges\":%" PRIu32
                ",\"types\":%" PRIu32 ",\"byte_order\":%d,\"bytes\":%zu}",
                HS_GRAPH_CACHE_FORMAT, HS_VERSION, when, g->n, g->m,
                g->ntypes, byte_order(), bytes);
    return hs_buf_detach(&b);
}

/* Inserts the parts of every array through the prepared INSERT q. */
static int
insert_parts(struct hs_query *q, const struct array *arrays, size_t narrays)
{
    for (size_t i = 0; i < narrays; i++) {
        size_t at = 0;
        int64_t part = 0;

        do {
            size_t len = arrays[i].bytes - at;

            if (len > hs_graph_cache_part_bytes)
                len = hs_graph_cache_part_bytes;
            hs_query_reset(q);
            if (hs_query_bind_text(q, 1, arrays[i].name) < 0 ||
                hs_query_bind_int(q, 2, part++) < 0 ||
                hs_query_bind_blob(q, 3, (const char *)arrays[i].data + at,
                                   len) < 0 ||
                hs_query_step(q) < 0)
                return -1;
            at += len;
        } while (at < arrays[i].bytes);
    }
    return 0;
}

/* hs_derived_replace()'s check: the file holds a current cache of g. */
static int
stored_current(const void *g)
{
    return meta_matches(g);
}

/* hs_derived_replace()'s fill: every part of every array. */
struct store {
    struct array arrays[8]; /* arrays_of()'s, and out_arg */
    size_t narrays;
};

static int
fill_parts(struct hs_snapshot *s, void *arg)
{
    struct store *st = arg;
    struct hs_query *q = hs_query_prepare(s, "INSERT INTO graph_cache "
                                             "(name, part, data) VALUES "
                                             "(?1, ?2, ?3)");
    int rc = q ? insert_parts(q, st->arrays, st->narrays) : -1;

    hs_query_free(q);
    return rc;
}

int
hs_graph_cache_load_args(const struct hs_graph *g, uint32_t *arg)
{
    struct array a = { "out_arg", arg, (size_t)g->m * sizeof(uint32_t) };
    int stale;

    if (!g->snap || !hs_snapshot_has_table(g->snap, "graph_cache"))
        return 0;
    return read_arrays(g, &a, 1, &stale);
}

int
hs_graph_cache_stored(const struct hs_graph *g)
{
    return g->snap && hs_snapshot_has_table(g->snap, "graph_cache") &&
           meta_matches(g);
}

int
hs_graph_cache_store(const struct hs_graph *g, const uint32_t *arg)
{
    struct store st;
    size_t bytes = 0;
    char *json;
    int rc;

    if (!g->snap)
        return hs_error(HS_EXIT_INTERNAL, "no snapshot to store the graph "
                                          "cache in");
    st.narrays = arrays_of(g, st.arrays);
    if (arg)
        st.arrays[st.narrays++] = (struct array){
            "out_arg", (void *)(uintptr_t)arg, (size_t)g->m * sizeof(*arg)
        };
    for (size_t i = 0; i < st.narrays; i++)
        bytes += st.arrays[i].bytes;
    json = meta_json(g, bytes);
    rc = hs_derived_replace(g->snap, "graph_cache", fill_parts, &st, json,
                            stored_current, g);
    free(json);
    return rc;
}
