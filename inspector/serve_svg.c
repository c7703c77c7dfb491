/*
 * serve_svg.c: the pictures of `heapsnap serve` (serve_svg.h).  A picture
 * is drawn the way the commands draw it (refs/backrefs: hs_draw_walk;
 * why: hs_draw_path or, for an unreachable object, hs_draw_holders), with
 * its URL base set to "" so that each node links to /object/<id> on
 * whatever host and port the viewer was opened at.  The SVG is rendered
 * in memory (picture.h, in a child process) and sent: nothing is written
 * to disk.
 */
#include "serve_svg.h"
#include "draw.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

/* Layout time allowed per picture: the viewer waits for it. */
#define SVG_TIMEOUT_MS 20000

/* Draws why v is alive into d, its title into `title`.  0, or -1. */
static int
draw_why(struct hs_draw *d, uint32_t v, struct hs_buf *title)
{
    int rc = hs_draw_why_object(d, v, title);

    d->pic.dir = HS_PIC_DIR_BACKREFS;
    return rc;
}

/* Renders d's picture as SVG in memory into `out` (200), or fills `out`
 * with the error; `route` names the picture in the server's log. */
static void
render(struct hs_draw *d, const char *route, struct hs_serve_reply *out)
{
    struct hs_buf svg = HS_BUF_INIT;
    char *what = hs_xasprintf("/svg/%s", route);

    if (!hs_render_dot_engine(&d->pic)) {
        hs_serve_reply_error(out, 400,
                             "%u objects and %u references are too many to "
                             "lay out; lower depth, too_many or max_nodes",
                             d->pic.nnodes, d->pic.nedges);
    } else if (hs_render_dot_data(&d->pic, HS_RENDER_SVG, what, &svg) < 0) {
        hs_serve_reply_error(out,
                             hs_error_status() == HS_EXIT_USAGE ? 400 : 500,
                             "cannot draw the picture (the server's log "
                             "says why)");
    } else {
        hs_serve_reply_release(out);
        out->len = svg.len;
        out->body = hs_buf_detach(&svg);
        out->status = 200;
        out->content_type = "image/svg+xml";
    }
    hs_buf_release(&svg);
    free(what);
}

void
hs_serve_svg(struct hs_serve *s, const char *route,
             const struct hs_serve_query *q, struct hs_serve_reply *out)
{
    static const char *const kinds[] = { "backrefs/", "refs/", "why/" };
    struct hs_draw d;
    struct hs_buf title = HS_BUF_INIT;
    const char *arg = NULL;
    int kind = -1, depth, too_many, max_nodes, rc;
    uint32_t v;

    for (int k = 0; k < 3 && kind < 0; k++) {
        if (!strncmp(route, kinds[k], strlen(kinds[k]))) {
            kind = k;
            arg = route + strlen(kinds[k]);
        }
    }
    if (kind < 0) {
        hs_serve_reply_error(out, 404, "no such picture '/svg/%s'", route);
        return;
    }
    if (!hs_serve_object_arg(s, arg, &v, out) ||
        !hs_serve_int_arg(q, "depth", 3, 0, 10, &depth, out) ||
        !hs_serve_int_arg(q, "too_many", 10, 1, 100, &too_many, out) ||
        !hs_serve_int_arg(q, "max_nodes", 400, 1, HS_PICTURE_MAX_NODES,
                          &max_nodes, out))
        return;
    hs_draw_init(&d, s->heap.g, s->heap.names, (uint32_t)max_nodes);
    d.dom = &s->heap.dom;
    d.bfs = &s->heap.bfs;
    d.too_many_option = "too_many";
    d.too_many = (uint32_t)too_many;
    d.max_nodes_option = "max_nodes";
    d.pic.timeout_ms = SVG_TIMEOUT_MS;
    if (kind == 2) {
        rc = draw_why(&d, v, &title);
    } else {
        rc = hs_draw_walk(&d, &v, 1,
                          kind == 0 ? HS_PIC_DIR_BACKREFS : HS_PIC_DIR_REFS,
                          (uint32_t)depth, (uint32_t)too_many);
        hs_buf_adds(&title, kind == 0 ? "backrefs of " : "refs of ");
        hs_naming_object(s->heap.names, v, 0, &title);
        hs_buf_addf(&title, " @0x%" PRIx64 ", depth %d", s->heap.g->address[v],
                    depth);
    }
    if (rc < 0) {
        hs_serve_reply_error(out, 500,
                             "cannot draw the picture (the server's log "
                             "says why)");
    } else {
        hs_picture_set_title(&d.pic, title.buf);
        hs_picture_set_url_base(&d.pic, "");
        render(&d, route, out);
    }
    hs_buf_release(&title);
    hs_draw_release(&d);
}
