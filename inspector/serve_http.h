/*
 * serve_http.h: the HTTP side of `heapsnap serve`, the only file that
 * includes microhttpd.h.  It listens on one address, routes GET and HEAD
 * requests (/ and the viewer's pages to web/index.html, /static/ to
 * web/, /api/ to serve_api.c, /svg/ to serve_svg.c), adds the security
 * headers to every answer, and runs until SIGINT or SIGTERM.
 *
 * Threads: none.  libmicrohttpd runs without threads of its own
 * (external select mode) and the loop in hs_http_run() drives it from the
 * calling thread, so requests are handled one at a time, in that thread:
 * the snapshot's SQLite connection and the naming context need no lock,
 * and the picture renderer may fork() safely.  A slow request (a big
 * picture) delays the others; pictures are limited to 20 s.
 */
#ifndef HS_SERVE_HTTP_H
#define HS_SERVE_HTTP_H

#include "serve_api.h"

struct hs_http;

/* Checks that `host` is a numeric IPv4 or IPv6 address; 0, or -1 after a
 * usage error (exit 2) for `serve`. */
int hs_http_check_host(const char *host);

/*
 * Listens on host:port (port 0: a free one) and answers from `s` and the
 * files of `web_dir`, both borrowed for the server's life.  Requests are
 * only processed inside hs_http_run().  When `host` is a loopback
 * address, requests whose Host header names another host get 403 (DNS
 * rebinding: a web page elsewhere must not read the heap).  Returns NULL
 * after an error (exit 4: the address is in use, not local, ...).
 */
struct hs_http *hs_http_start(struct hs_serve *s, const char *web_dir,
                              const char *host, int port);

/* The port it listens on (the one chosen when asked for port 0). */
int hs_http_port(const struct hs_http *h);

/* "127.0.0.1" or "[::1]": the host as a URL spells it (borrowed). */
const char *hs_http_url_host(const struct hs_http *h);

/*
 * Serves until SIGINT or SIGTERM arrives (both are blocked outside the
 * wait, so one arriving during a request ends the loop right after it).
 * Restores the signals' dispositions before returning.  0, or -1 after an
 * error of the wait itself (exit 4).
 */
int hs_http_run(struct hs_http *h);

/* Closes every connection and the listening socket; NULL is allowed. */
void hs_http_stop(struct hs_http *h);

#endif /* HS_SERVE_HTTP_H */
