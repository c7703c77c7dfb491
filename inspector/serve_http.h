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
 *
 * Who may read: every request must carry the server's token, 128 random
 * bits made at start and printed in the address it shows (like
 * Jupyter).  A request with ?token=T gets a cookie holding it and a
 * redirect to the same address without it; later requests carry the
 * cookie.  Anything else gets 403 (see hs_http_start()).  The peer's
 * address alone cannot tell the user's browser from another local user,
 * so loopback clients need the token too.
 *
 * Slow clients: at most HS_HTTP_PER_CLIENT connections per client address
 * and 64 in all; a connection that has not sent a whole request's headers
 * within `timeout` seconds of opening (or of its previous answer) is
 * closed, however slowly it trickles them.
 */
#ifndef HS_SERVE_HTTP_H
#define HS_SERVE_HTTP_H

#include "serve_api.h"

struct hs_http;

/* Connections one client address may hold at once. */
#define HS_HTTP_PER_CLIENT 32

/* Checks that `host` is a numeric IPv4 or IPv6 address, and a loopback
 * one unless `token` (the server will require its token); 0, or -1 after
 * a usage error (exit 2) for `serve`. */
int hs_http_check_host(const char *host, int token);

/* 1 when `host` (numeric, checked) is a loopback address. */
int hs_http_host_is_loopback(const char *host);

/*
 * Listens on host:port (port 0: a free one) and answers from `s` and the
 * files of `web_dir`, both borrowed for the server's life.  Requests are
 * only processed inside hs_http_run().  When `host` is a loopback
 * address, requests whose Host header names another host get 403 (DNS
 * rebinding: a web page elsewhere must not read the heap).  With
 * `token`, a random token is made (getrandom()) and every request must
 * carry it (above); without, any client that reaches the address may read
 * (the caller allows that on loopback only).  `timeout` is the seconds a
 * connection has to send a request's headers (>= 1).  Returns NULL after
 * an error (exit 4: the address is in use, not local, no randomness...).
 */
struct hs_http *hs_http_start(struct hs_serve *s, const char *web_dir,
                              const char *host, int port, int token,
                              unsigned timeout);

/* The token as 32 lowercase hex digits, or "" without one (borrowed). */
const char *hs_http_token(const struct hs_http *h);

/* The port it listens on (the one chosen when asked for port 0). */
int hs_http_port(const struct hs_http *h);

/* "127.0.0.1" or "[::1]": the host as a URL spells it (borrowed). */
const char *hs_http_url_host(const struct hs_http *h);

/*
 * Serves until SIGINT or SIGTERM arrives (both are blocked outside the
 * wait, so one arriving during a request ends the loop right after it).
 * Restores the signals' dispositions before returning.  0, or -1 after an
 * error of the wait itself, or when a request found the snapshot file
 * truncated or written over since loading (answered 503; exit 4).
 */
int hs_http_run(struct hs_http *h);

/* Closes every connection and the listening socket; NULL is allowed. */
void hs_http_stop(struct hs_http *h);

#endif /* HS_SERVE_HTTP_H */
