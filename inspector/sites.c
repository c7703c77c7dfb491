/*
 * sites.c: reading a snapshot's allocation sites (sites.h).  Part of the
 * snapshot layer: the only file that reads the alloc_* tables.
 */
#include "sites.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static int
broken(struct hs_graph *g, const char *what, int64_t id)
{
    return hs_error(HS_EXIT_SNAPSHOT,
                    "'%s' is damaged: %s %" PRId64 " is out of range",
                    hs_snapshot_path(g->snap), what, id);
}

static int
load_frames(struct hs_graph *g, struct hs_sites *s)
{
    struct hs_query *q;
    int64_t max = hs_snapshot_int(g->snap,
                                  "SELECT max(id) FROM alloc_frames", 0);
    int rc;

    if (max < 0 || max >= INT32_MAX)
        return broken(g, "frame", max);
    s->nframes = (uint32_t)max;
    s->frames = hs_xcalloc((size_t)max + 1, sizeof(*s->frames));
    q = hs_query_prepare(g->snap,
                         "SELECT id, file, line, function FROM alloc_frames");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 0);
        struct hs_site_frame *f;

        if (id < 1 || id > max) {
            hs_query_free(q);
            return broken(g, "frame", id);
        }
        f = &s->frames[id];
        free(f->file);
        free(f->function);
        f->file = hs_xstrdup(hs_query_text(q, 1) ? hs_query_text(q, 1) : "?");
        f->line = hs_query_int(q, 2);
        f->function = hs_query_is_null(q, 3)
                          ? NULL
                          : hs_xstrdup(hs_query_text(q, 3));
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

static int
load_tracebacks(struct hs_graph *g, struct hs_sites *s)
{
    struct hs_query *q;
    int64_t max = hs_snapshot_int(g->snap,
                                  "SELECT max(id) FROM alloc_tracebacks", 0);
    int64_t rows = hs_snapshot_int(g->snap,
                                   "SELECT count(*) FROM alloc_tracebacks", 0);
    uint32_t k = 0, prev = 0;
    int rc;

    if (max < 0 || max >= INT32_MAX || rows < 0 || rows >= INT32_MAX)
        return broken(g, "traceback", max);
    s->ntb = (uint32_t)max;
    s->tb_off = hs_xcalloc((size_t)max + 2, sizeof(uint32_t));
    s->tb_frame = hs_xcalloc((size_t)rows + 1, sizeof(uint32_t));
    /* WITHOUT ROWID on (id, depth): this order is the key's. */
    q = hs_query_prepare(g->snap, "SELECT id, frame_id FROM alloc_tracebacks "
                                  "ORDER BY id, depth");
    if (!q)
        return -1;
    while ((rc = hs_query_step(q)) == 1) {
        int64_t id = hs_query_int(q, 0), f = hs_query_int(q, 1);

        if (id < 1 || id > max || k >= rows) {
            hs_query_free(q);
            return broken(g, "traceback", id);
        }
        if (f < 1 || f > s->nframes) {
            hs_query_free(q);
            return broken(g, "frame", f);
        }
        while (prev < (uint32_t)id)
            s->tb_off[++prev] = k;
        s->tb_frame[k++] = (uint32_t)f;
    }
    hs_query_free(q);
    while (prev <= s->ntb)
        s->tb_off[++prev] = k;
    return rc < 0 ? -1 : 0;
}

static int
load_objects(struct hs_graph *g, struct hs_sites *s)
{
    struct hs_query *q = hs_query_prepare(
        g->snap, "SELECT object_id, traceback_id FROM object_tracebacks");
    int rc;

    if (!q)
        return -1;
    s->node_tb = hs_xcalloc(g->n ? g->n : 1, sizeof(uint32_t));
    while ((rc = hs_query_step(q)) == 1) {
        int64_t v = hs_graph_node_of_id(g, hs_query_int(q, 0));
        int64_t t = hs_query_int(q, 1);

        if (v < 0) {
            rc = broken(g, "object", hs_query_int(q, 0));
            break;
        }
        if (t < 1 || t > s->ntb) {
            rc = broken(g, "traceback", t);
            break;
        }
        s->node_tb[v] = (uint32_t)t;
        s->traced++;
    }
    hs_query_free(q);
    return rc < 0 ? -1 : 0;
}

int
hs_sites_load(struct hs_graph *g, struct hs_sites *out)
{
    char *flag;

    memset(out, 0, sizeof(*out));
    if (!g->snap || !hs_snapshot_has_table(g->snap, "object_tracebacks"))
        return 0;
    flag = hs_snapshot_meta(g->snap, "alloc_sites");
    out->recorded = flag && !strcmp(flag, "1");
    free(flag);
    if (!out->recorded)
        return 0;
    if (load_frames(g, out) < 0 || load_tracebacks(g, out) < 0 ||
        load_objects(g, out) < 0)
        return -1;
    out->untraced = g->n - out->traced;
    return 0;
}

void
hs_sites_release(struct hs_sites *s)
{
    for (uint32_t i = 0; s->frames && i <= s->nframes; i++) {
        free(s->frames[i].file);
        free(s->frames[i].function);
    }
    free(s->frames);
    free(s->tb_off);
    free(s->tb_frame);
    free(s->node_tb);
    memset(s, 0, sizeof(*s));
}

void
hs_sites_frame_text(const struct hs_sites *s, uint32_t f, struct hs_buf *out)
{
    const struct hs_site_frame *fr;

    if (!f || f > s->nframes || !s->frames[f].file) {
        hs_buf_adds(out, "?");
        return;
    }
    fr = &s->frames[f];
    hs_buf_addf(out, "%s:%" PRId64, fr->file, fr->line);
    if (fr->function)
        hs_buf_addf(out, " in %s", fr->function);
}
