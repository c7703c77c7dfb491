/*
 * serve_http.c: the HTTP server of `heapsnap serve` (serve_http.h), the
 * only file that includes microhttpd.h.
 *
 * libmicrohttpd runs in external select mode: no thread of its own.
 * hs_http_run() waits in pselect() with SIGINT and SIGTERM unblocked only
 * there, then lets the library read, answer and write; every request is
 * answered inside MHD_run_from_select(), on this thread, start to end.
 * So requests are serialized by construction (see serve_http.h).
 *
 * Every answer, error or not, carries the same security headers: a
 * Content-Security-Policy that allows only the server's own scripts,
 * styles and images (no inline script, no framing), nosniff, no referrer,
 * and no caching (pages show heap contents).  Only GET and HEAD are
 * served (405 otherwise; the library sends HEAD answers without a body).
 * No path with a "." or ".." segment is routed (400), whether it was sent
 * encoded or not: the library decodes the path before it reaches us.
 */
#include "serve_http.h"
#include "serve_static.h"
#include "serve_svg.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <signal.h>
#include <strings.h>
#include <sys/select.h>
#include <sys/socket.h>

#include <microhttpd.h>

/* Connections served at once; keeps descriptors below FD_SETSIZE. */
#define MAX_CONNECTIONS 64
/* Seconds an idle connection is kept. */
#define IDLE_TIMEOUT 60

static const char csp[] =
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self'; connect-src 'self'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'";

struct hs_http {
    struct MHD_Daemon *daemon; /* the library's server (owned) */
    struct hs_serve *s;        /* the snapshot answered from (borrowed) */
    const char *web_dir;       /* the viewer's files (borrowed) */
    int port;                  /* the port listened on */
    int loopback;              /* bound to a loopback address */
    char url_host[INET6_ADDRSTRLEN + 2]; /* "127.0.0.1" or "[::1]" */
    struct hs_buf log; /* the library's messages while starting */
    int starting;      /* 1 until MHD_start_daemon() returned */
};

/* The signal that ends hs_http_run(); 0 while none came. */
static volatile sig_atomic_t stop_signal;

static void
on_stop_signal(int sig)
{
    stop_signal = sig;
}

static void mhd_log(void *cls, const char *fmt, va_list ap) HS_VPRINTF(2);

/*
 * The library's own messages: kept while starting (the reason a bind
 * failed goes into our error), dropped afterwards (a client closing a
 * connection early is not the user's concern).
 */
static void
mhd_log(void *cls, const char *fmt, va_list ap)
{
    struct hs_http *h = cls;

    if (!h->starting)
        return;
    hs_buf_reset(&h->log);
    hs_buf_vaddf(&h->log, fmt, ap);
    while (h->log.len && (h->log.buf[h->log.len - 1] == '\n' ||
                          h->log.buf[h->log.len - 1] == '.'))
        h->log.buf[--h->log.len] = '\0';
}

int
hs_http_check_host(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1 ||
        inet_pton(AF_INET6, host, &a6) == 1)
        return 0;
    return hs_usage_error("serve",
                          "--host takes a numeric IPv4 or IPv6 address "
                          "(127.0.0.1, ::1), not '%s'",
                          host);
}

/* ---- requests ----------------------------------------------------------- */

/* Query parameters through the library (struct hs_serve_query). */
static const char *
query_get(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

/* 1 when no segment of the decoded path is "." or "..", and it has no
 * backslash. */
static int
path_is_clean(const char *url)
{
    const char *seg = url;

    if (url[0] != '/' || strchr(url, '\\'))
        return 0;
    while (seg) {
        size_t len;

        seg++;
        len = strcspn(seg, "/");
        if ((len == 1 && seg[0] == '.') ||
            (len == 2 && seg[0] == '.' && seg[1] == '.'))
            return 0;
        seg = strchr(seg, '/');
    }
    return 1;
}

/*
 * Is the Host header one this server answers to?  On a loopback address,
 * only its own address, localhost, 127.0.0.1 or [::1], with its port or
 * none: a page of another site that rebinds its name to 127.0.0.1 sends
 * its own name.  A request without Host (HTTP/1.0) is not from a
 * browser and is answered.
 */
static int
host_allowed(const struct hs_http *h, struct MHD_Connection *c)
{
    static const char *const names[] = { "localhost", "127.0.0.1", "[::1]" };
    const char *host =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_HOST);
    const char *colon;
    size_t len;
    char port[16];

    if (!h->loopback || !host)
        return 1;
    colon = host[0] == '[' ? strchr(host, ']') : host;
    if (!colon)
        return 0;
    colon = strchr(colon, ':');
    len = colon ? (size_t)(colon - host) : strlen(host);
    if (colon) {
        snprintf(port, sizeof(port), "%d", h->port);
        if (strcmp(colon + 1, port))
            return 0;
    }
    if (len == strlen(h->url_host) && !strncasecmp(host, h->url_host, len))
        return 1;
    for (size_t i = 0; i < HS_ARRAY_SIZE(names); i++) {
        if (len == strlen(names[i]) && !strncasecmp(host, names[i], len))
            return 1;
    }
    return 0;
}

/* Fills `r` with the answer to GET `url`. */
static void
route(struct hs_http *h, struct MHD_Connection *c, const char *url,
      struct hs_serve_reply *r)
{
    struct hs_serve_query q = { query_get, c };

    if (!host_allowed(h, c))
        hs_serve_reply_error(r, 403,
                             "this server answers requests for "
                             "http://%s:%d/ only",
                             h->url_host, h->port);
    else if (!path_is_clean(url))
        hs_serve_reply_error(r, 400, "a path with '.' or '..' in it");
    /* The viewer's pages are one page that reads the path itself. */
    else if (!strcmp(url, "/") || !strcmp(url, "/index.html") ||
             !strcmp(url, "/cycles") || !strncmp(url, "/object/", 8) ||
             !strncmp(url, "/type/", 6))
        hs_serve_static(h->web_dir, "index.html", r);
    else if (!strncmp(url, "/static/", 8))
        hs_serve_static(h->web_dir, url + 8, r);
    else if (!strncmp(url, "/api/", 5))
        hs_serve_api(h->s, url + 5, &q, r);
    else if (!strncmp(url, "/svg/", 5))
        hs_serve_svg(h->s, url + 5, &q, r);
    else
        hs_serve_reply_error(r, 404, "no such page '%s'", url);
}

/*
 * Queues `r` on the connection with the security headers; the body's
 * ownership passes to the library (it frees it after sending).
 */
static enum MHD_Result
send_reply(struct MHD_Connection *c, struct hs_serve_reply *r, int is_405)
{
    struct MHD_Response *resp;
    enum MHD_Result ret;

    resp = MHD_create_response_from_buffer(r->len, r->body,
                                           MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        hs_serve_reply_release(r);
        return MHD_NO;
    }
    r->body = NULL;
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE,
                            r->content_type);
    MHD_add_response_header(resp, "Content-Security-Policy", csp);
    MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    MHD_add_response_header(resp, "X-Frame-Options", "DENY");
    MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    MHD_add_response_header(resp, "Cross-Origin-Resource-Policy",
                            "same-origin");
    MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (is_405)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
    ret = MHD_queue_response(c, (unsigned int)r->status, resp);
    MHD_destroy_response(resp);
    return ret;
}

/*
 * The library's access handler: called when a request's headers are in,
 * then again for its body (a GET has none).  Anything but GET or HEAD
 * gets 405 at once, without reading a body; the library then closes that
 * connection.
 */
static enum MHD_Result
handle_request(void *cls, struct MHD_Connection *c, const char *url,
               const char *method, const char *version,
               const char *upload_data, size_t *upload_data_size,
               void **req_cls)
{
    struct hs_http *h = cls;
    struct hs_serve_reply r = { 0, NULL, NULL, 0 };
    int is_405 = strcmp(method, MHD_HTTP_METHOD_GET) &&
                 strcmp(method, MHD_HTTP_METHOD_HEAD);

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    /* A GET is answered on the second call, once the library knows the
     * request is complete: answering on the first would make it close
     * the connection (no keep-alive). */
    if (!is_405 && !*req_cls) {
        *req_cls = h;
        return MHD_YES;
    }
    /* Each request starts with no error recorded, so a failure's exit
     * code is this request's own (serve_svg.c reads it). */
    hs_error_reset();
    if (is_405)
        hs_serve_reply_error(&r, 405, "only GET and HEAD, not %s", method);
    else
        route(h, c, url, &r);
    hs_error_reset();
    return send_reply(c, &r, is_405);
}

/* ---- the server --------------------------------------------------------- */

struct hs_http *
hs_http_start(struct hs_serve *s, const char *web_dir, const char *host,
              int port)
{
    struct hs_http *h = hs_xcalloc(1, sizeof(*h));
    struct sockaddr_in a4;
    struct sockaddr_in6 a6;
    struct sockaddr *addr;
    const union MHD_DaemonInfo *info;
    unsigned int flags = MHD_USE_ERROR_LOG;

    memset(&a4, 0, sizeof(a4));
    memset(&a6, 0, sizeof(a6));
    h->s = s;
    h->web_dir = web_dir;
    hs_buf_init(&h->log);
    if (inet_pton(AF_INET, host, &a4.sin_addr) == 1) {
        a4.sin_family = AF_INET;
        a4.sin_port = htons((uint16_t)port);
        addr = (struct sockaddr *)&a4;
        h->loopback = (ntohl(a4.sin_addr.s_addr) >> 24) == 127;
        snprintf(h->url_host, sizeof(h->url_host), "%s", host);
    } else if (inet_pton(AF_INET6, host, &a6.sin6_addr) == 1) {
        a6.sin6_family = AF_INET6;
        a6.sin6_port = htons((uint16_t)port);
        addr = (struct sockaddr *)&a6;
        flags |= MHD_USE_IPv6;
        h->loopback = IN6_IS_ADDR_LOOPBACK(&a6.sin6_addr);
        snprintf(h->url_host, sizeof(h->url_host), "[%s]", host);
    } else {
        hs_http_check_host(host);
        hs_http_stop(h);
        return NULL;
    }
    h->starting = 1;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle_request, h,
        MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)MAX_CONNECTIONS, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned int)IDLE_TIMEOUT, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h,
        MHD_OPTION_END);
    h->starting = 0;
    if (!h->daemon) {
        hs_error(HS_EXIT_IO, "cannot listen on %s:%d: %s", h->url_host, port,
                 h->log.len ? h->log.buf : "libmicrohttpd failed to start");
        hs_http_stop(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : port;
    return h;
}

int
hs_http_port(const struct hs_http *h)
{
    return h->port;
}

const char *
hs_http_url_host(const struct hs_http *h)
{
    return h->url_host;
}

/* One wait for sockets or a signal, then the library's work.  0 to go
 * on, -1 after an error (printed). */
static int
serve_once(struct hs_http *h, const sigset_t *wait_mask)
{
    fd_set rs, ws, es;
    MHD_socket max = 0;
    MHD_UNSIGNED_LONG_LONG ms;
    struct timespec ts, *tsp = NULL;
    int n;

    FD_ZERO(&rs);
    FD_ZERO(&ws);
    FD_ZERO(&es);
    if (MHD_get_fdset2(h->daemon, &rs, &ws, &es, &max, FD_SETSIZE) != MHD_YES)
        return hs_error(HS_EXIT_IO, "libmicrohttpd has no sockets to wait "
                                    "for");
    if (MHD_get_timeout(h->daemon, &ms) == MHD_YES) {
        ts.tv_sec = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
        tsp = &ts;
    }
    n = pselect(max + 1, &rs, &ws, &es, tsp, wait_mask);
    if (n < 0) {
        if (errno == EINTR)
            return 0;
        return hs_error(HS_EXIT_IO, "waiting for connections: %s",
                        strerror(errno));
    }
    MHD_run_from_select(h->daemon, &rs, &ws, &es);
    return 0;
}

int
hs_http_run(struct hs_http *h)
{
    struct sigaction sa, old_int, old_term;
    sigset_t stops, old_mask, wait_mask;
    int rc = 0;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    sigemptyset(&stops);
    sigaddset(&stops, SIGINT);
    sigaddset(&stops, SIGTERM);
    /* Blocked except inside pselect(): a signal that comes during a
     * request is taken at the next wait, which then returns at once. */
    sigprocmask(SIG_BLOCK, &stops, &old_mask);
    stop_signal = 0;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    wait_mask = old_mask;
    sigdelset(&wait_mask, SIGINT);
    sigdelset(&wait_mask, SIGTERM);
    while (!stop_signal && rc == 0)
        rc = serve_once(h, &wait_mask);
    /* Unblock first, with our handler still in place, so that a second
     * signal already pending cannot kill the process on the way out. */
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    return rc;
}

void
hs_http_stop(struct hs_http *h)
{
    if (!h)
        return;
    if (h->daemon)
        MHD_stop_daemon(h->daemon);
    hs_buf_release(&h->log);
    free(h);
}
