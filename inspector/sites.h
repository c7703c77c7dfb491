/*
 * sites.h: where the objects of a snapshot were allocated, as the agent
 * recorded it from tracemalloc (schema: alloc_frames, alloc_tracebacks,
 * object_tracebacks).  Loaded once per heap on first use (heap.h); a
 * snapshot of an untraced process, or of an older agent, has none and
 * loads as `recorded = 0`.
 *
 * A "site" is the innermost frame of a traceback: the line that allocated
 * the object.  Frame and traceback ids are the snapshot's (dense from 1;
 * 0 means none).  Memory: 4 bytes per node, plus the frames' text and 4
 * bytes per traceback frame.
 */
#ifndef HS_SITES_H
#define HS_SITES_H

#include "graph.h"

/* One distinct (file, line) of some traceback. */
struct hs_site_frame {
    char *file;     /* alloc_frames.file */
    int64_t line;   /* alloc_frames.line (0: unknown) */
    char *function; /* alloc_frames.function, or NULL */
};

struct hs_sites {
    int recorded;         /* the agent recorded sites (meta alloc_sites) */
    uint64_t traced;      /* objects with a traceback */
    uint64_t untraced;    /* objects without (allocated before tracing) */
    uint32_t nframes;     /* frames[1 .. nframes]; frames[0] is unused */
    struct hs_site_frame *frames;
    uint32_t ntb;         /* tracebacks 1 .. ntb */
    uint32_t *tb_off;     /* ntb + 2 entries: traceback t's frames are
                             tb_frame[tb_off[t] .. tb_off[t + 1]),
                             innermost first */
    uint32_t *tb_frame;
    uint32_t *node_tb;    /* g->n entries: the traceback of each node, 0
                             for none; NULL when nothing is recorded */
};

/*
 * Reads the sites of g's snapshot into `out` (which it initializes;
 * release it either way).  0, or -1 after an error: exit 4 when the file
 * cannot be read, 3 when the tables break their invariants (an id out of
 * range).  Cost: one scan of each table, O(objects traced + frames).
 */
int hs_sites_load(struct hs_graph *g, struct hs_sites *out);
void hs_sites_release(struct hs_sites *s);

/* The traceback of node v, 0 for none. */
static inline uint32_t
hs_sites_traceback(const struct hs_sites *s, uint32_t v)
{
    return s->node_tb ? s->node_tb[v] : 0;
}

/* The site (innermost frame id) of node v, 0 for none. */
static inline uint32_t
hs_sites_site(const struct hs_sites *s, uint32_t v)
{
    uint32_t t = hs_sites_traceback(s, v);

    return t && s->tb_off[t] < s->tb_off[t + 1] ? s->tb_frame[s->tb_off[t]]
                                                 : 0;
}

/* Appends "FILE:LINE in FUNCTION" (without " in ..." when the function is
 * unknown) of frame f. */
void hs_sites_frame_text(const struct hs_sites *s, uint32_t f,
                         struct hs_buf *out);

#endif /* HS_SITES_H */
