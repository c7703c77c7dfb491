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
 *
 * The token (serve_http.h) is checked after the Host header and before
 * anything is routed; it is compared in constant time.  Its cookie is
 * named after the port, so two servers on one machine keep theirs apart.
 * The header deadline is kept here, not by the library (whose timeout
 * restarts at every byte): each connection is tracked from the library's
 * connection notifications, and one whose headers are late is shut down
 * (shutdown(), not close(): the library still owns the descriptor and
 * closes it when it reads the end).
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
#include <sys/random.h>
#include <sys/socket.h>
#include <time.h>

#include <microhttpd.h>

/* Connections served at once; keeps descriptors below FD_SETSIZE. */
#define MAX_CONNECTIONS 64
/* Random bytes in the token. */
#define TOKEN_BYTES 16
/* Longest wait in pselect() while a header deadline is pending (ms). */
#define DEADLINE_POLL_MS 250

/* One open connection, from the library's notifications. */
struct conn {
    struct MHD_Connection *c;
    struct timespec since; /* opened, or its last answer was done */
    int state;             /* 0 awaiting headers, 1 in a request, 2 shut */
    struct conn *prev, *next;
};

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
    char token[2 * TOKEN_BYTES + 1]; /* hex; "" when none is required */
    char cookie[32];                 /* the cookie's name */
    unsigned timeout;                /* seconds to send headers */
    struct conn *conns;              /* open connections (owned) */
    int snapshot_changed;            /* the file changed: stop serving */
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
hs_http_host_is_loopback(const char *host)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) == 1)
        return (ntohl(a4.s_addr) >> 24) == 127;
    if (inet_pton(AF_INET6, host, &a6) == 1)
        return IN6_IS_ADDR_LOOPBACK(&a6);
    return 0;
}

int
hs_http_check_host(const char *host, int token)
{
    struct in_addr a4;
    struct in6_addr a6;

    if (inet_pton(AF_INET, host, &a4) != 1 &&
        inet_pton(AF_INET6, host, &a6) != 1)
        return hs_usage_error("serve",
                              "--host takes a numeric IPv4 or IPv6 address "
                              "(127.0.0.1, ::1), not '%s'",
                              host);
    if (!token && !hs_http_host_is_loopback(host))
        return hs_usage_error("serve",
                              "--no-token needs a loopback --host: anyone "
                              "who reaches %s could read the heap",
                              host);
    return 0;
}

/* ---- the token ---------------------------------------------------------- */

/* 1 when `text` is the token; the time taken does not depend on where
 * they differ. */
static int
token_matches(const struct hs_http *h, const char *text)
{
    size_t n = strlen(h->token), len = strlen(text);
    unsigned char diff = (unsigned char)(len != n);

    for (size_t i = 0; i < n; i++)
        diff |= (unsigned char)(h->token[i] ^ (i < len ? text[i] : 0));
    return diff == 0;
}

/* Appends `text` percent-encoded, all but unreserved characters (and '/'
 * when `keep_slash`). */
static void
add_encoded(struct hs_buf *b, const char *text, int keep_slash)
{
    static const char hex[] = "0123456789ABCDEF";

    for (const unsigned char *p = (const unsigned char *)text; *p; p++) {
        if ((*p >= 'A' && *p <= 'Z') || (*p >= 'a' && *p <= 'z') ||
            (*p >= '0' && *p <= '9') || strchr("-._~", *p) ||
            (keep_slash && *p == '/'))
            hs_buf_addch(b, *p);
        else
            hs_buf_addf(b, "%%%c%c", hex[*p >> 4], hex[*p & 15]);
    }
}

/* The library's iterator over query arguments: re-encodes all but the
 * token into the hs_buf `cls`. */
static enum MHD_Result
add_argument(void *cls, enum MHD_ValueKind kind, const char *key,
             const char *value)
{
    struct hs_buf *b = cls;

    (void)kind;
    if (!strcmp(key, "token"))
        return MHD_YES;
    hs_buf_addch(b, strchr(b->buf, '?') ? '&' : '?');
    add_encoded(b, key, 0);
    if (value) {
        hs_buf_addch(b, '=');
        add_encoded(b, value, 0);
    }
    return MHD_YES;
}

/*
 * 1 when the request may be routed.  Otherwise 0 with `r` filled: 403, or
 * (a right ?token=) a redirect to the same address without the token, and
 * `set_cookie` and `location` (an hs_buf each, appended to) to send.
 */
static int
authorized(struct hs_http *h, struct MHD_Connection *c, const char *url,
           struct hs_serve_reply *r, struct hs_buf *set_cookie,
           struct hs_buf *location)
{
    const char *given;

    if (!h->token[0])
        return 1;
    given = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "token");
    if (given) {
        if (!token_matches(h, given)) {
            hs_serve_reply_error(r, 403, "wrong token");
            return 0;
        }
        hs_buf_addf(set_cookie, "%s=%s; Path=/; HttpOnly; SameSite=Strict",
                    h->cookie, h->token);
        add_encoded(location, url, 1);
        MHD_get_connection_values(c, MHD_GET_ARGUMENT_KIND, add_argument,
                                  location);
        hs_serve_reply_error(r, 303, "see %s", location->buf);
        return 0;
    }
    given = MHD_lookup_connection_value(c, MHD_COOKIE_KIND, h->cookie);
    if (given && token_matches(h, given))
        return 1;
    hs_serve_reply_error(r, 403,
                         "this server needs its token: open the address "
                         "it printed (http://%s:%d/?token=...)",
                         h->url_host, h->port);
    return 0;
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

/* Fills `r` with the answer to GET `url`, and `set_cookie` and `location`
 * with those headers when they are to be sent (authorized()). */
static void
route(struct hs_http *h, struct MHD_Connection *c, const char *url,
      struct hs_serve_reply *r, struct hs_buf *set_cookie,
      struct hs_buf *location)
{
    struct hs_serve_query q = { query_get, c };

    if (!host_allowed(h, c))
        hs_serve_reply_error(r, 403,
                             "this server answers requests for "
                             "http://%s:%d/ only",
                             h->url_host, h->port);
    else if (!authorized(h, c, url, r, set_cookie, location))
        return;
    else if (!path_is_clean(url))
        hs_serve_reply_error(r, 400, "a path with '.' or '..' in it");
    /* The viewer's pages are one page that reads the path itself. */
    else if (!strcmp(url, "/") || !strcmp(url, "/index.html") ||
             !strcmp(url, "/cycles") || !strcmp(url, "/advice") ||
             !strncmp(url, "/object/", 8) || !strncmp(url, "/type/", 6) ||
             !strcmp(url, "/map") || !strncmp(url, "/map/", 5) ||
             !strcmp(url, "/diff"))
        hs_serve_static(h->web_dir, "index.html", r);
    else if (!strncmp(url, "/static/", 8))
        hs_serve_static(h->web_dir, url + 8, r);
    else if ((!strncmp(url, "/api/", 5) || !strncmp(url, "/svg/", 5)) &&
             hs_snapshot_check_unchanged(h->s->heap.snap) < 0) {
        /* Its pages would mix the old file with the new: the error is
         * printed, and the server stops after this answer. */
        h->snapshot_changed = 1;
        hs_serve_reply_error(r, 503,
                             "the snapshot file changed on disk; "
                             "the server stopped");
    } else if (!strncmp(url, "/api/", 5))
        hs_serve_api(h->s, url + 5, &q, r);
    else if (!strncmp(url, "/svg/", 5))
        hs_serve_svg(h->s, url + 5, &q, r);
    else
        hs_serve_reply_error(r, 404, "no such page '%s'", url);
}

/*
 * Queues `r` on the connection with the security headers, and Set-Cookie
 * and Location when those are not empty; the body's ownership passes to
 * the library (it frees it after sending).
 */
static enum MHD_Result
send_reply(struct MHD_Connection *c, struct hs_serve_reply *r, int is_405,
           const struct hs_buf *set_cookie, const struct hs_buf *location)
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
    if (set_cookie->len)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_SET_COOKIE,
                                set_cookie->buf);
    if (location->len)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_LOCATION, location->buf);
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
    struct hs_buf set_cookie, location;
    const union MHD_ConnectionInfo *info;
    enum MHD_Result ret;
    int is_405 = strcmp(method, MHD_HTTP_METHOD_GET) &&
                 strcmp(method, MHD_HTTP_METHOD_HEAD);

    (void)version;
    (void)upload_data;
    (void)upload_data_size;
    /* A GET is answered on the second call, once the library knows the
     * request is complete: answering on the first would make it close
     * the connection (no keep-alive). */
    info = MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    if (info && info->socket_context)
        ((struct conn *)info->socket_context)->state = 1;
    if (!is_405 && !*req_cls) {
        *req_cls = h;
        return MHD_YES;
    }
    /* Each request starts with no error recorded, so a failure's exit
     * code is this request's own (serve_svg.c reads it). */
    hs_error_reset();
    hs_buf_init(&set_cookie);
    hs_buf_init(&location);
    if (is_405)
        hs_serve_reply_error(&r, 405, "only GET and HEAD, not %s", method);
    else
        route(h, c, url, &r, &set_cookie, &location);
    /* A changed file ends the run: its exit code stays. */
    if (!h->snapshot_changed)
        hs_error_reset();
    ret = send_reply(c, &r, is_405, &set_cookie, &location);
    hs_buf_release(&set_cookie);
    hs_buf_release(&location);
    return ret;
}

/* ---- connections and their header deadline ------------------------------ */

/* The library's notification of a connection opened or closed. */
static void
on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
              enum MHD_ConnectionNotificationCode code)
{
    struct hs_http *h = cls;
    struct conn *k = *socket_context;

    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        k = hs_xcalloc(1, sizeof(*k));
        k->c = c;
        clock_gettime(CLOCK_MONOTONIC, &k->since);
        k->next = h->conns;
        if (h->conns)
            h->conns->prev = k;
        h->conns = k;
        *socket_context = k;
    } else if (k) {
        if (k->prev)
            k->prev->next = k->next;
        else
            h->conns = k->next;
        if (k->next)
            k->next->prev = k->prev;
        free(k);
        *socket_context = NULL;
    }
}

/* The library's notification that a request was answered: the connection
 * waits for the next request's headers from now. */
static void
on_completed(void *cls, struct MHD_Connection *c, void **req_cls,
             enum MHD_RequestTerminationCode code)
{
    const union MHD_ConnectionInfo *info =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn *k = info ? info->socket_context : NULL;

    (void)cls;
    (void)req_cls;
    (void)code;
    if (k && k->state == 1) {
        k->state = 0;
        clock_gettime(CLOCK_MONOTONIC, &k->since);
    }
}

/* Shuts down every connection whose headers are late; 1 while some
 * connection still awaits headers (a deadline is pending). */
static int
enforce_deadlines(struct hs_http *h)
{
    struct timespec now;
    int pending = 0;

    clock_gettime(CLOCK_MONOTONIC, &now);
    for (struct conn *k = h->conns; k; k = k->next) {
        const union MHD_ConnectionInfo *info;

        if (k->state != 0)
            continue;
        if ((now.tv_sec - k->since.tv_sec) * 1000 +
                (now.tv_nsec - k->since.tv_nsec) / 1000000 <
            (long)h->timeout * 1000) {
            pending = 1;
            continue;
        }
        info =
            MHD_get_connection_info(k->c, MHD_CONNECTION_INFO_CONNECTION_FD);
        if (info)
            shutdown(info->connect_fd, SHUT_RDWR);
        k->state = 2;
    }
    return pending;
}

/* ---- the server --------------------------------------------------------- */

struct hs_http *
hs_http_start(struct hs_serve *s, const char *web_dir, const char *host,
              int port, int token, unsigned timeout)
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
        hs_http_check_host(host, 1);
        hs_http_stop(h);
        return NULL;
    }
    h->timeout = timeout ? timeout : 1;
    if (token) {
        unsigned char bytes[TOKEN_BYTES];
        ssize_t got;

        do
            got = getrandom(bytes, sizeof(bytes), 0);
        while (got < 0 && errno == EINTR);
        if (got != (ssize_t)sizeof(bytes)) {
            hs_error(HS_EXIT_IO, "cannot make a token: getrandom: %s",
                     got < 0 ? strerror(errno) : "short read");
            hs_http_stop(h);
            return NULL;
        }
        for (size_t i = 0; i < sizeof(bytes); i++)
            snprintf(h->token + 2 * i, 3, "%02x", bytes[i]);
    }
    h->starting = 1;
    h->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, handle_request, h,
        MHD_OPTION_SOCK_ADDR, addr, MHD_OPTION_CONNECTION_LIMIT,
        (unsigned int)MAX_CONNECTIONS, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned int)HS_HTTP_PER_CLIENT, MHD_OPTION_CONNECTION_TIMEOUT,
        h->timeout, MHD_OPTION_NOTIFY_CONNECTION, on_connection, h,
        MHD_OPTION_NOTIFY_COMPLETED, on_completed, h,
        MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_END);
    h->starting = 0;
    if (!h->daemon) {
        hs_error(HS_EXIT_IO, "cannot listen on %s:%d: %s", h->url_host, port,
                 h->log.len ? h->log.buf : "libmicrohttpd failed to start");
        hs_http_stop(h);
        return NULL;
    }
    info = MHD_get_daemon_info(h->daemon, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info && info->port ? info->port : port;
    snprintf(h->cookie, sizeof(h->cookie), "heapsnap-token-%d", h->port);
    return h;
}

const char *
hs_http_token(const struct hs_http *h)
{
    return h->token;
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
    if (MHD_get_timeout(h->daemon, &ms) == MHD_YES)
        tsp = &ts;
    /* A connection awaiting headers: wake up to check its deadline. */
    if (enforce_deadlines(h) && (!tsp || ms > DEADLINE_POLL_MS)) {
        ms = DEADLINE_POLL_MS;
        tsp = &ts;
    }
    if (tsp) {
        ts.tv_sec = (time_t)(ms / 1000);
        ts.tv_nsec = (long)(ms % 1000) * 1000000L;
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
    while (!stop_signal && rc == 0 && !h->snapshot_changed)
        rc = serve_once(h, &wait_mask);
    if (h->snapshot_changed)
        rc = -1;
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
    /* The library reports each connection closed as it stops; whatever
     * it did not is freed here. */
    while (h->conns) {
        struct conn *k = h->conns;

        h->conns = k->next;
        free(k);
    }
    hs_buf_release(&h->log);
    free(h);
}
