/*
 * fuzz_serve_http.c: libFuzzer target for the HTTP side of `heapsnap
 * serve` (serve_http.c): what happens to raw bytes from a client before
 * and after they reach the router, through libmicrohttpd as the server
 * runs it.  The server is the real one (hs_http_start() with a token, on
 * 127.0.0.1 and a free port, answering from the test fixture
 * HEAPSNAP_FUZZ_SNAPSHOT and the viewer's files in HEAPSNAP_FUZZ_WEB),
 * run by hs_http_run() in a thread of its own.  Each input is sent as is
 * on a fresh connection, whose sending side is then shut: the server
 * must answer or close it.  In the input, "@T" is replaced by the
 * server's token and "@P" by its port, so that mutations reach what comes
 * after the token check (the ?token= redirect, the cookie, the Host check
 * and every route).
 *
 * The contract checked: whatever the server sends is an HTTP/1.x answer;
 * an input without "@T" is never answered 2xx or 3xx (nothing is read,
 * and no cookie is set, without the token); a 200 carries the security
 * headers; the connection ends (no hang).  Besides that, any answer but a
 * crash, a sanitizer report or a leak is fine.
 */
#include "serve_api.h"
#include "serve_http.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The server: loaded and started once, serving until the process ends. */
static struct hs_serve served;
static struct hs_http *http;

/* Longest wait for the server to answer and close (ms); a hang is a
 * failure (its header deadline is 1 s). */
#define ANSWER_WAIT_MS 30000

static void *
serve_thread(void *arg)
{
    (void)arg;
    hs_http_run(http);
    fprintf(stderr, "fuzz_serve_http: the server stopped\n");
    abort();
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("HEAPSNAP_FUZZ_SNAPSHOT");
    const char *web = getenv("HEAPSNAP_FUZZ_WEB");
    pthread_t t;

    (void)argc;
    (void)argv;
    if (!path || !web || hs_serve_load(&served, path, NULL) < 0) {
        fprintf(stderr, "fuzz_serve_http: HEAPSNAP_FUZZ_SNAPSHOT must name "
                        "a snapshot and HEAPSNAP_FUZZ_WEB the viewer's "
                        "folder (web/)\n");
        exit(2);
    }
    http = hs_http_start(&served, web, "127.0.0.1", 0, 1, 1);
    if (!http || pthread_create(&t, NULL, serve_thread, NULL)) {
        fprintf(stderr, "fuzz_serve_http: cannot start the server\n");
        exit(2);
    }
    pthread_detach(t);
    return 0;
}

/* The input with "@T" and "@P" replaced; sets *authed when it has "@T". */
static void
expand(struct hs_buf *b, const uint8_t *data, size_t size, int *authed)
{
    *authed = 0;
    for (size_t i = 0; i < size; i++) {
        if (data[i] == '@' && i + 1 < size && data[i + 1] == 'T') {
            hs_buf_adds(b, hs_http_token(http));
            *authed = 1;
            i++;
        } else if (data[i] == '@' && i + 1 < size && data[i + 1] == 'P') {
            hs_buf_addf(b, "%d", hs_http_port(http));
            i++;
        } else {
            hs_buf_addch(b, (char)data[i]);
        }
    }
}

/* Sends `req` on a new connection, shuts its sending side, and reads the
 * whole answer into `ans` until the server closes. */
static void
exchange(const struct hs_buf *req, struct hs_buf *ans)
{
    struct sockaddr_in a;
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    size_t sent = 0;

    memset(&a, 0, sizeof(a));
    a.sin_family = AF_INET;
    a.sin_port = htons((uint16_t)hs_http_port(http));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (fd < 0 || connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
        perror("fuzz_serve_http: connect");
        abort();
    }
    /* The server may close early (a request too big, a bad line): what
     * it did not read is simply not sent. */
    while (sent < req->len) {
        ssize_t n = send(fd, req->buf + sent, req->len - sent, MSG_NOSIGNAL);

        if (n <= 0)
            break;
        sent += (size_t)n;
    }
    shutdown(fd, SHUT_WR);
    for (;;) {
        struct pollfd p = { fd, POLLIN, 0 };
        char chunk[16384];
        ssize_t n;

        if (poll(&p, 1, ANSWER_WAIT_MS) == 0) {
            fprintf(stderr, "fuzz_serve_http: no answer in %d ms\n",
                    ANSWER_WAIT_MS);
            abort();
        }
        n = recv(fd, chunk, sizeof(chunk), 0);
        if (n <= 0)
            break; /* closed, or reset after an early close */
        hs_buf_add(ans, chunk, (size_t)n);
    }
    close(fd);
}

/* Checks one answer (the first, when requests were pipelined). */
static void
check_answer(const struct hs_buf *ans, int authed)
{
    int status;

    if (!ans->len)
        return;
    if (ans->len < 12 ||
        (strncmp(ans->buf, "HTTP/1.1 ", 9) &&
         strncmp(ans->buf, "HTTP/1.0 ", 9)) ||
        sscanf(ans->buf + 9, "%3d", &status) != 1) {
        fprintf(stderr, "fuzz_serve_http: not an HTTP answer: %.40s\n",
                ans->buf);
        abort();
    }
    if (!authed && status >= 200 && status < 400) {
        fprintf(stderr, "fuzz_serve_http: %d without the token\n", status);
        abort();
    }
    if (status == 200 && (!strstr(ans->buf, "Content-Security-Policy: ") ||
                          !strstr(ans->buf, "X-Content-Type-Options: "))) {
        fprintf(stderr, "fuzz_serve_http: a 200 without the security "
                        "headers\n");
        abort();
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hs_buf req, ans;
    int authed;

    hs_buf_init(&req);
    hs_buf_init(&ans);
    expand(&req, data, size, &authed);
    exchange(&req, &ans);
    check_answer(&ans, authed);
    hs_buf_release(&req);
    hs_buf_release(&ans);
    return 0;
}
