/*
 * COMMAND: serve
 * USAGE:   heapsnap serve [-f FILE] [--diff OLD] [--port N] [--host ADDR]
 *          [--no-token] [--timeout S]
 *
 * A local web viewer over one snapshot: a summary (totals, top types,
 * leak suspects), a page per type (its instances grouped by path), a page
 * per object (facts, referrers and referents as links, why it is alive
 * with retained sizes, a picture of what refers to it) and the reference
 * cycles, the heap map (a treemap of the dominator tree), and with
 * --diff OLD what grew since OLD.  The snapshot is loaded once (serve_api.c); requests are read
 * only and answered one at a time on this thread (serve_http.c).  Binds
 * 127.0.0.1:8765 unless told otherwise, prints one line saying where (with
 * the token every request needs, serve_http.h), and serves until SIGINT or
 * SIGTERM, then exits 0.  A --host that is not loopback gets one more line
 * first, saying that the token guards it; --no-token is refused there.  Everything that can fail
 * (options, the viewer's files, the snapshot, the address) fails before
 * anything listens.
 */
#include "heapsnap.h"
#include "serve_api.h"
#include "serve_http.h"
#include "serve_static.h"
#include "serve_svg.h"

#include <stdlib.h>
#include <string.h>

static const char *const serve_usage[] = {
    "usage: heapsnap serve [-f FILE] [--diff OLD] [--port N] [--host ADDR]",
    "                      [--no-token] [--timeout S]",
    "",
    "Serves a web viewer of the snapshot at http://127.0.0.1:8765/ until",
    "Ctrl-C: the biggest types and leak suspects, each type's instances",
    "grouped by why they are alive, each object with its referrers,",
    "referents, retention path and a picture of what refers to it, the",
    "reference cycles, and the heap map (/map): the dominator tree as a",
    "treemap, each block sized by what it retains, coloured by type; a",
    "click zooms in.  --diff OLD adds a page (/diff) with what `heapsnap",
    "diff OLD FILE` says: what grew since the older snapshot OLD, and",
    "where the new objects are held.  Pages and their JSON (/api/...) are",
    "read only.",
    "--port 0 picks a free port; the line printed on stderr says which.",
    "Every request needs the random token in the address printed",
    "(http://127.0.0.1:8765/?token=...): opening it sets a cookie that",
    "authorizes the browser from then on; anything else gets 403.  Any",
    "local user could otherwise read the heap.  A --host that is not",
    "loopback is guarded by the token alone (the line printed says so);",
    "--no-token, for scripts, is allowed on a loopback --host only.  A",
    "client may hold 32 connections, and each must send a request's",
    "headers within --timeout seconds.",
    NULL,
};

/* The port when none is given. */
#define DEFAULT_PORT 8765
/* Seconds to send a request's headers when --timeout is not given. */
#define DEFAULT_TIMEOUT 10

int
cmd_serve(int argc, const char **argv)
{
    const char *file = NULL, *host = "127.0.0.1", *diff_old = NULL;
    int port = DEFAULT_PORT, no_token = 0, timeout = DEFAULT_TIMEOUT;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_STRING, 0, "diff", &diff_old, "OLD",
          "also show what grew since the older snapshot OLD (/diff)", NULL },
        { HS_OPT_INT, 0, "port", &port, "N",
          "port to listen on (default 8765; 0 picks a free one)", NULL },
        { HS_OPT_STRING, 0, "host", &host, "ADDR",
          "address to listen on (default 127.0.0.1)", NULL },
        { HS_OPT_FLAG, 0, "no-token", &no_token, NULL,
          "answer every client without a token (loopback --host only)", NULL },
        { HS_OPT_INT, 0, "timeout", &timeout, "S",
          "seconds a client has to send a request's headers (default 10)",
          NULL },
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_serve s;
    struct hs_http *http = NULL;
    char *web_dir = NULL;
    int n, rc = HS_EXIT_OK;

    memset(&s, 0, sizeof(s));
    n = hs_parse_options(argc, argv, opts, serve_usage, 0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (n > 0) {
        hs_usage_error("serve", "unexpected argument '%s'", argv[0]);
        return HS_EXIT_USAGE;
    }
    if (port < 0 || port > 65535) {
        hs_usage_error("serve", "--port takes 0 to 65535, not %d", port);
        return HS_EXIT_USAGE;
    }
    if (timeout < 1 || timeout > 3600) {
        hs_usage_error("serve", "--timeout takes 1 to 3600, not %d", timeout);
        return HS_EXIT_USAGE;
    }
    if (hs_http_check_host(host, !no_token) < 0)
        return HS_EXIT_USAGE;
    /* The viewer's files first: cheap, and loading a big snapshot only to
     * fail on them would waste the user's time. */
    if (!(web_dir = hs_serve_web_dir()) ||
        hs_serve_load(&s, file, diff_old) < 0 ||
        !(http = hs_http_start(&s, web_dir, host, port, !no_token,
                               (unsigned)timeout))) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (!hs_http_host_is_loopback(host))
        hs_note("%s is not a loopback address: whoever reaches it needs "
                "the token below, and it is the only guard",
                host);
    hs_note("serving %s at http://%s:%d/%s%s (Ctrl-C stops)", s.heap.path,
            hs_http_url_host(http), hs_http_port(http),
            no_token ? "" : "?token=", hs_http_token(http));
    if (hs_http_run(http) < 0)
        rc = hs_error_status();
cleanup:
    hs_http_stop(http);
    hs_serve_release(&s);
    free(web_dir);
    return rc;
}
