/*
 * serve_static.c: the viewer's files (serve_static.h).  A request names a
 * file by a plain name; the name is checked character by character before
 * any path is built, the file is opened without following a symlink and
 * must be a regular file, and it is read whole (the viewer's files are a
 * few KiB).  The content type comes from the extension, never from the
 * bytes, and the server adds X-Content-Type-Options: nosniff.
 */
#include "serve_static.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Files bigger than this are not the viewer's. */
#define STATIC_MAX ((off_t)16 << 20)

/* Longest file name served. */
#define NAME_MAX_LEN 100

static const struct {
    const char *ext;  /* extension, with the dot */
    const char *type; /* Content-Type */
} content_types[] = {
    { ".html", "text/html; charset=utf-8" },
    { ".js", "text/javascript; charset=utf-8" },
    { ".css", "text/css; charset=utf-8" },
    { ".svg", "image/svg+xml" },
    { ".png", "image/png" },
    { ".json", "application/json; charset=utf-8" },
    { ".txt", "text/plain; charset=utf-8" },
};

/* The content type of a servable name, or NULL.  Servable: 1 to
 * NAME_MAX_LEN characters of [A-Za-z0-9._-], not starting with '.', with
 * a known extension. */
static const char *
servable_type(const char *name)
{
    size_t len = strlen(name);

    if (!len || len > NAME_MAX_LEN || name[0] == '.')
        return NULL;
    for (size_t i = 0; i < len; i++) {
        int c = (unsigned char)name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-'))
            return NULL;
    }
    for (size_t i = 0; i < HS_ARRAY_SIZE(content_types); i++) {
        size_t elen = strlen(content_types[i].ext);

        if (len > elen && !strcmp(name + len - elen, content_types[i].ext))
            return content_types[i].type;
    }
    return NULL;
}

int
hs_serve_read_fd(int fd, off_t max, struct hs_serve_reply *out)
{
    struct stat st;
    size_t got = 0;

    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > max) {
        close(fd);
        errno = EINVAL;
        return -1;
    }
    hs_serve_reply_release(out);
    out->body = hs_xmalloc((size_t)st.st_size + 1);
    while (got < (size_t)st.st_size) {
        ssize_t n = read(fd, out->body + got, (size_t)st.st_size - got);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        got += (size_t)n;
    }
    close(fd);
    out->len = got;
    if (got != (size_t)st.st_size) {
        errno = EIO;
        return -1;
    }
    return 0;
}

char *
hs_serve_web_dir(void)
{
    const char *exe = hs_exe_dir();
    char *cand[2], real[PATH_MAX], *found = NULL;

    cand[0] = hs_xasprintf("%s/../web", exe);
    cand[1] = hs_xasprintf("%s/../share/heapsnap/web", exe);
    for (int i = 0; i < 2 && !found; i++) {
        char *index = hs_xasprintf("%s/index.html", cand[i]);

        if (!access(index, R_OK))
            found = hs_xstrdup(realpath(cand[i], real) ? real : cand[i]);
        free(index);
    }
    if (!found)
        hs_error(HS_EXIT_IO,
                 "cannot find the viewer's files (index.html) in '%s' or "
                 "'%s'; run heapsnap from its build folder or install it "
                 "with 'make install'",
                 cand[0], cand[1]);
    free(cand[0]);
    free(cand[1]);
    return found;
}

void
hs_serve_static(const char *web_dir, const char *name,
                struct hs_serve_reply *out)
{
    const char *type = servable_type(name);
    char *path;
    int fd;

    if (!type) {
        hs_serve_reply_error(out, 404, "no such file '%s'", name);
        return;
    }
    path = hs_xasprintf("%s/%s", web_dir, name);
    fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    free(path);
    if (fd < 0) {
        if (errno == ENOENT || errno == ELOOP)
            hs_serve_reply_error(out, 404, "no such file '%s'", name);
        else
            hs_serve_reply_error(out, 500, "cannot read '%s': %s", name,
                                 strerror(errno));
        return;
    }
    if (hs_serve_read_fd(fd, STATIC_MAX, out) < 0) {
        if (errno == EIO)
            hs_serve_reply_error(out, 500, "cannot read '%s': short read",
                                 name);
        else
            hs_serve_reply_error(out, 404, "no such file '%s'", name);
        return;
    }
    out->status = 200;
    out->content_type = type;
}
