/*
 * serve_svg.h: the pictures of `heapsnap serve`, drawn on request with
 * draw.h and rendered to SVG by the picture renderer (picture.h), whose
 * nodes link to the viewer's object pages (/object/<id>).
 *
 * Pictures are rendered in memory (hs_render_dot_data()): the server
 * writes no file.
 */
#ifndef HS_SERVE_SVG_H
#define HS_SERVE_SVG_H

#include "serve_api.h"

/*
 * Answers GET /svg/<route>, `route` being the decoded path after "/svg/":
 *   backrefs/<id>?depth=D&too_many=T&max_nodes=N   what refers to it
 *   refs/<id>?depth=D&too_many=T&max_nodes=N       what it refers to
 *   why/<id>?max_nodes=N        its retention path, or what holds it
 * (depth 0-10, default 3; too_many 1-100, default 10; max_nodes 1-1000,
 * default 400).  200 with image/svg+xml; or a JSON error: 400 for bad
 * parameters or a picture too big to lay out, 404 for no such object or
 * route, 500 when drawing failed (the reason is on stderr).  Cost: the
 * walk (draw.h) plus Graphviz's layout in a child process, killed after
 * 20 s.
 */
void hs_serve_svg(struct hs_serve *s, const char *route,
                  const struct hs_serve_query *q, struct hs_serve_reply *out);

#endif /* HS_SERVE_SVG_H */
