/*
 * fuzz_serve_router.c: libFuzzer target for what `heapsnap serve` does
 * with a request's path and query once it is past the token and the
 * path check: the /api/ and /svg/ routers (serve_api.c, serve_svg.c) and
 * every handler's parameter parsing.  An input is "ROUTE\nNAME=VALUE\n..."
 * (the first byte picks /api/ or /svg/); it is answered from the test
 * fixture (HEAPSNAP_FUZZ_SNAPSHOT, loaded once as serve loads it).  The
 * contract checked: every answer has a status and a body, and a JSON
 * answer's status is 200 or an error status.  Anything else but a crash,
 * a sanitizer report or a leak is fine.
 */
#include "serve_api.h"
#include "serve_svg.h"

#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct hs_serve served; /* the fixture, loaded once */

/* The query of one input: NAME=VALUE lines. */
struct query {
    char *lines; /* the input after the route, NUL-separated (owned) */
    size_t len;
};

static const char *
query_get(void *ctx, const char *name)
{
    const struct query *q = ctx;
    size_t nlen = strlen(name);

    for (size_t at = 0; at < q->len; at += strlen(q->lines + at) + 1) {
        const char *line = q->lines + at;

        if (!strncmp(line, name, nlen) && line[nlen] == '=')
            return line + nlen + 1;
    }
    return NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *path = getenv("HEAPSNAP_FUZZ_SNAPSHOT");

    (void)argc;
    (void)argv;
    if (!path || hs_serve_load(&served, path, NULL) < 0) {
        fprintf(stderr, "fuzz_serve_router: HEAPSNAP_FUZZ_SNAPSHOT must "
                        "name a snapshot\n");
        exit(2);
    }
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct hs_serve_reply r = { 0, NULL, NULL, 0 };
    struct query q = { NULL, 0 };
    struct hs_serve_query sq = { query_get, &q };
    char *text, *nl;
    int svg;

    if (!size)
        return 0;
    svg = data[0] & 1;
    text = hs_xstrndup((const char *)data + 1, size - 1);
    nl = strchr(text, '\n');
    if (nl) {
        *nl = '\0';
        q.lines = nl + 1;
        q.len = strlen(q.lines);
        for (size_t i = 0; i < q.len; i++)
            if (q.lines[i] == '\n')
                q.lines[i] = '\0';
    }
    if (svg)
        hs_serve_svg(&served, text, &sq, &r);
    else
        hs_serve_api(&served, text, &sq, &r);
    if (r.status < 200 || r.status > 599 || !r.body)
        abort();
    hs_serve_reply_release(&r);
    hs_error_reset();
    free(text);
    return 0;
}
