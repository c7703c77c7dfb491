/*
 * serve_svg.c: the pictures of `heapsnap serve` (serve_svg.h).  A picture
 * is drawn the way the commands draw it (refs/backrefs: hs_draw_walk;
 * why: hs_draw_path or, for an unreachable object, hs_draw_holders), with
 * its URL base set to "" so that each node links to /object/<id> on
 * whatever host and port the viewer was opened at.  The SVG is written
 * into the server's private folder, read back and removed.
 */
#include "serve_svg.h"
#include "draw.h"
#include "serve_static.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Layout time allowed per picture: the viewer waits for it. */
#define SVG_TIMEOUT_MS 20000
/* Biggest SVG read back. */
#define SVG_MAX ((off_t)64 << 20)

int
hs_serve_svg_prepare(struct hs_serve *s)
{
    const char *tmp = getenv("TMPDIR");
    char *dir =
        hs_xasprintf("%s/heapsnap-serve-XXXXXX", tmp && *tmp ? tmp : "/tmp");

    if (!mkdtemp(dir)) {
        hs_error(HS_EXIT_IO, "cannot make a folder for pictures '%s': %s", dir,
                 strerror(errno));
        free(dir);
        return -1;
    }
    s->picture_dir = dir;
    return 0;
}

void
hs_serve_svg_cleanup(struct hs_serve *s)
{
    char *files[2];

    if (!s->picture_dir)
        return;
    /* The renderer leaves PATH.tmp only when it fails in between. */
    files[0] = hs_xasprintf("%s/picture.svg", s->picture_dir);
    files[1] = hs_xasprintf("%s/picture.svg.tmp", s->picture_dir);
    for (int i = 0; i < 2; i++) {
        unlink(files[i]);
        free(files[i]);
    }
    rmdir(s->picture_dir);
    HS_FREE_AND_NULL(s->picture_dir);
}

/* Reads `path` whole into `out` as the reply body.  0, or -1. */
static int
read_back(const char *path, struct hs_serve_reply *out)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    return fd < 0 ? -1 : hs_serve_read_fd(fd, SVG_MAX, out);
}

/* Draws why v is alive into d, its title into `title`.  0, or -1. */
static int
draw_why(struct hs_draw *d, uint32_t v, struct hs_buf *title)
{
    int rc = hs_draw_why_object(d, v, title);

    d->pic.dir = HS_PIC_DIR_BACKREFS;
    return rc;
}

/* Writes d's picture as SVG into the private folder and reads it back
 * into `out` (200), or fills `out` with the error. */
static void
render(struct hs_serve *s, struct hs_draw *d, struct hs_serve_reply *out)
{
    char *file = hs_xasprintf("%s/picture.svg", s->picture_dir);

    if (!hs_render_dot_engine(&d->pic)) {
        hs_serve_reply_error(out, 400,
                             "%u objects and %u references are too many to "
                             "lay out; lower depth, too_many or max_nodes",
                             d->pic.nnodes, d->pic.nedges);
    } else if (hs_draw_write(d, file) < 0) {
        hs_serve_reply_error(out,
                             hs_error_status() == HS_EXIT_USAGE ? 400 : 500,
                             "cannot draw the picture (the server's log "
                             "says why)");
    } else if (read_back(file, out) < 0) {
        hs_serve_reply_error(out, 500, "cannot read the picture back: %s",
                             strerror(errno));
    } else {
        out->status = 200;
        out->content_type = "image/svg+xml";
    }
    unlink(file);
    free(file);
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
        render(s, &d, out);
    }
    hs_buf_release(&title);
    hs_draw_release(&d);
}
