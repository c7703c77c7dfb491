/*
 * util.c: error reporting, checked allocation, the hs_buf growable string
 * and small formatting helpers shared by every command.
 *
 * Owns one piece of global state, the exit code recorded by the first
 * hs_error() of the run; the inspector is single-threaded.
 */
#include "heapsnap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

char hs_buf_empty[1];

/* Exit code of the first error reported; 0 while none was. */
static int recorded_status;

static void vreport(const char *prefix, const char *fmt, va_list ap)
    HS_VPRINTF(2);

static void
vreport(const char *prefix, const char *fmt, va_list ap)
{
    char msg[4096];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    fprintf(stderr, "%s: %s%s\n", HS_PROG, prefix, msg);
}

int
hs_error(enum hs_exit code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("error: ", fmt, ap);
    va_end(ap);
    if (!recorded_status)
        recorded_status = code;
    return -1;
}

void
hs_warn(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("warning: ", fmt, ap);
    va_end(ap);
}

void
hs_note(const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("", fmt, ap);
    va_end(ap);
}

int
hs_error_status(void)
{
    return recorded_status ? recorded_status : HS_EXIT_INTERNAL;
}

void
hs_error_reset(void)
{
    recorded_status = 0;
}

void
hs_die(enum hs_exit code, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport("error: ", fmt, ap);
    va_end(ap);
    fflush(stdout);
    exit(code);
}

/* ---- allocation ---------------------------------------------------------- */

static void
out_of_memory(size_t size)
{
    hs_die(HS_EXIT_INTERNAL, "out of memory (tried to allocate %zu bytes)",
           size);
}

/* Big arrays (graphs of millions of objects) asked to be backed by huge
 * pages: a 2 MiB page costs one fault where 4 KiB pages cost 512, and on
 * a virtual machine the faults were a third of a command's time. */
#define HUGE_ARRAY ((size_t)4 << 20)
#define HUGE_PAGE ((uintptr_t)2 << 20)

static void
advise_huge(void *p, size_t size)
{
    uintptr_t start = ((uintptr_t)p + HUGE_PAGE - 1) & ~(HUGE_PAGE - 1);
    uintptr_t end = ((uintptr_t)p + size) & ~(HUGE_PAGE - 1);

    if (size >= HUGE_ARRAY && end > start)
        madvise((void *)start, end - start, MADV_HUGEPAGE);
}

void *
hs_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        out_of_memory(size);
    advise_huge(p, size);
    return p;
}

void *
hs_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        out_of_memory(hs_st_mult(nmemb, size));
    advise_huge(p, hs_st_mult(nmemb, size));
    return p;
}

void *
hs_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        out_of_memory(size);
    return p;
}

char *
hs_xstrdup(const char *s)
{
    return hs_xstrndup(s, strlen(s));
}

char *
hs_xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *p = hs_xmalloc(hs_st_add(len, 1));

    memcpy(p, s, len);
    p[len] = '\0';
    return p;
}

char *
hs_xasprintf(const char *fmt, ...)
{
    struct hs_buf b = HS_BUF_INIT;
    va_list ap;

    va_start(ap, fmt);
    hs_buf_vaddf(&b, fmt, ap);
    va_end(ap);
    return hs_buf_detach(&b);
}

size_t
hs_st_mult(size_t a, size_t b)
{
    if (b && a > SIZE_MAX / b)
        hs_die(HS_EXIT_INTERNAL, "size overflow: %zu * %zu", a, b);
    return a * b;
}

size_t
hs_st_add(size_t a, size_t b)
{
    if (a > SIZE_MAX - b)
        hs_die(HS_EXIT_INTERNAL, "size overflow: %zu + %zu", a, b);
    return a + b;
}

/* ---- hs_buf ---------------------------------------------------------------- */

void
hs_buf_init(struct hs_buf *b)
{
    b->buf = hs_buf_empty;
    b->len = 0;
    b->alloc = 0;
}

void
hs_buf_release(struct hs_buf *b)
{
    if (b->alloc)
        free(b->buf);
    hs_buf_init(b);
}

void
hs_buf_reset(struct hs_buf *b)
{
    b->len = 0;
    if (b->alloc)
        b->buf[0] = '\0';
}

void
hs_buf_grow(struct hs_buf *b, size_t extra)
{
    size_t need = hs_st_add(hs_st_add(b->len, extra), 1);
    int fresh = !b->alloc;

    if (need <= b->alloc)
        return;
    if (fresh)
        b->buf = NULL;
    HS_ALLOC_GROW(b->buf, need, b->alloc);
    if (fresh)
        b->buf[0] = '\0';
}

void
hs_buf_add(struct hs_buf *b, const void *data, size_t len)
{
    hs_buf_grow(b, len);
    memcpy(b->buf + b->len, data, len);
    b->len += len;
    b->buf[b->len] = '\0';
}

void
hs_buf_adds(struct hs_buf *b, const char *s)
{
    hs_buf_add(b, s, strlen(s));
}

void
hs_buf_addch(struct hs_buf *b, int c)
{
    char ch = (char)c;

    hs_buf_add(b, &ch, 1);
}

void
hs_buf_vaddf(struct hs_buf *b, const char *fmt, va_list ap)
{
    va_list cp;
    int n;

    hs_buf_grow(b, 64);
    va_copy(cp, ap);
    n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, cp);
    va_end(cp);
    if (n < 0)
        hs_die(HS_EXIT_INTERNAL, "bad format string '%s'", fmt);
    if ((size_t)n >= b->alloc - b->len) {
        hs_buf_grow(b, (size_t)n);
        n = vsnprintf(b->buf + b->len, b->alloc - b->len, fmt, ap);
    }
    b->len += (size_t)n;
}

void
hs_buf_addf(struct hs_buf *b, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    hs_buf_vaddf(b, fmt, ap);
    va_end(ap);
}

char *
hs_buf_detach(struct hs_buf *b)
{
    char *s = b->alloc ? b->buf : hs_xstrdup("");

    hs_buf_init(b);
    return s;
}

/* ---- formatting -------------------------------------------------------------- */

char *
hs_human_size(uint64_t bytes, char *out, size_t outlen)
{
    static const char *const units[] = { "KiB", "MiB", "GiB", "TiB", "PiB" };
    double v = (double)bytes;
    size_t u = 0;

    if (bytes < 1024) {
        snprintf(out, outlen, "%" PRIu64 " B", bytes);
        return out;
    }
    v /= 1024.0;
    while (v >= 1024.0 && u + 1 < HS_ARRAY_SIZE(units)) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, outlen, "%.1f %s", v, units[u]);
    return out;
}

char *
hs_human_seconds(const char *seconds, char *out, size_t outlen)
{
    char *end;
    double v = strtod(seconds, &end);

    if (end == seconds || *end || v < 0 || v != v) {
        snprintf(out, outlen, "%s s", seconds);
        return out;
    }
    if (v < 10)
        snprintf(out, outlen, "%.2f s", v);
    else if (v < 60)
        snprintf(out, outlen, "%.1f s", v);
    else
        snprintf(out, outlen, "%.0f min %02.0f s", floor(v / 60),
                 floor(fmod(v, 60)));
    return out;
}

const char *
hs_base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

int
hs_starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

void
hs_sleep(double seconds)
{
    struct timespec ts;

    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

char *
hs_utc_now(char *out, size_t outlen)
{
    time_t now = time(NULL);
    struct tm tm;

    if (!outlen)
        return out;
    out[0] = '\0';
    if (gmtime_r(&now, &tm))
        strftime(out, outlen, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return out;
}

char *
hs_group_digits(uint64_t n, char *out, size_t outlen)
{
    char digits[32];
    size_t len, i, o = 0;

    len = (size_t)snprintf(digits, sizeof(digits), "%" PRIu64, n);
    for (i = 0; i < len && o + 2 < outlen; i++) {
        if (i && (len - i) % 3 == 0)
            out[o++] = ',';
        out[o++] = digits[i];
    }
    out[o] = '\0';
    return out;
}

int
hs_parse_u64(const char *s, uint64_t *out)
{
    char *end;
    unsigned long long v;

    if (!*s || *s == '-' || *s == '+' || *s == ' ')
        return -1;
    int hex = s[0] == '0' && (s[1] == 'x' || s[1] == 'X');
    const char *digits = hex ? s + 2 : s;

    if (!*digits || *digits == '-' || *digits == '+' || *digits == ' ')
        return -1;
    errno = 0;
    v = strtoull(digits, &end, hex ? 16 : 10);
    if (errno || *end || end == digits)
        return -1;
    *out = v;
    return 0;
}

const char *
hs_exe_dir(void)
{
    static char dir[PATH_MAX];
    ssize_t n;

    if (dir[0])
        return dir;
    n = readlink("/proc/self/exe", dir, sizeof(dir) - 1);
    if (n <= 0) {
        dir[0] = '.';
        dir[1] = '\0';
        return dir;
    }
    dir[n] = '\0';
    {
        char *slash = strrchr(dir, '/');

        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
    }
    return dir;
}

size_t
hs_utf8_len(const unsigned char *s)
{
    unsigned c = s[0];
    size_t n;
    unsigned lo = 0x80, hi = 0xbf;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 2;
    else if (c >= 0xe0 && c <= 0xef)
        n = 3;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 4;
    else
        return 0;
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80 || s[i] > 0xbf)
            return 0;
    }
    return n;
}

char *
hs_utf8_repaired(const char *text)
{
    const unsigned char *s = (const unsigned char *)text;
    struct hs_buf b = HS_BUF_INIT;

    while (*s) {
        size_t n = hs_utf8_len(s);

        if (n) {
            hs_buf_add(&b, s, n);
            s += n;
        } else {
            hs_buf_adds(&b, "\xEF\xBF\xBD"); /* U+FFFD */
            s++;
        }
    }
    return hs_buf_detach(&b);
}

char *
hs_folder_of(const char *path)
{
    const char *slash = strrchr(path, '/');

    if (!slash)
        return hs_xstrdup(".");
    if (slash == path)
        return hs_xstrdup("/");
    return hs_xstrndup(path, (size_t)(slash - path));
}

int
hs_check_output_folder(const char *path)
{
    char *folder = hs_folder_of(path);
    struct stat st;
    int rc = 0;

    if (stat(folder, &st) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot write '%s': folder '%s': %s", path,
                      folder, strerror(errno));
    else if (!S_ISDIR(st.st_mode))
        rc = hs_error(HS_EXIT_IO, "cannot write '%s': '%s' is not a folder",
                      path, folder);
    else if (access(folder, W_OK | X_OK) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot write '%s': folder '%s': %s", path,
                      folder, strerror(errno));
    free(folder);
    return rc;
}

int
hs_tmp_create(const char *tmp)
{
    int fd;

    if (unlink(tmp) < 0 && errno != ENOENT)
        return hs_error(HS_EXIT_IO, "cannot replace '%s': %s", tmp,
                        strerror(errno));
    fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return hs_error(HS_EXIT_IO, "cannot create '%s': %s", tmp,
                        strerror(errno));
    return fd;
}

int
hs_tmp_finish(int fd, const char *tmp, const char *path)
{
    int err = 0;

    if (fsync(fd) < 0) {
        err = errno;
        close(fd);
    } else if (close(fd) < 0) {
        err = errno;
    }
    if (err) {
        unlink(tmp);
        return hs_error(HS_EXIT_IO, "cannot write '%s': %s", tmp,
                        strerror(err));
    }
    if (rename(tmp, path) == 0)
        return 0;
    err = errno;
    unlink(tmp);
    return hs_error(HS_EXIT_IO, "cannot rename '%s' to '%s': %s", tmp, path,
                    strerror(err));
}
