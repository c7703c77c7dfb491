/*
 * test_attach_target.c: unit tests of attach_target.c: the /proc/PID/maps
 * parser (hand-written, odd and generated maps text, up to 200,000 lines),
 * the ELF dynamic-symbol lookup checked against the dynamic linker on
 * fixtures compiled here with cc and on the C library, Python version
 * detection on patched fixtures and on every pyenv libpython, and
 * hs_target_inspect() on live processes.  Fixtures live in a temporary
 * folder made by the group setup; without a C compiler or pyenv the tests
 * that need them are skipped.
 */
#include "attach_target.h"
#include "test_util.h"

#if defined(__x86_64__) && defined(__linux__)

#include <dirent.h>
#include <dlfcn.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>

/* ---- fixtures ----------------------------------------------------------- */

/*
 * One C file, several builds.  Py_Version's magic value and the 16-byte
 * RODATA placeholders are patched in copies of the built files, so one
 * compile serves many versions.
 */
static const char fixture_src[] =
    "#define _GNU_SOURCE\n"
    "#include <dlfcn.h>\n"
    "#include <stdio.h>\n"
    "#include <unistd.h>\n"
    "#ifndef NOT_PYTHON\n"
    "#ifndef NO_VERSION\n"
    "const unsigned long Py_Version = 0x0123456789abcdefUL;\n"
    "#endif\n"
    "int hs_fixture_counter[64];\n"
    "void PyGILState_Ensure(void) { hs_fixture_counter[0]++; }\n"
    "int Py_IsInitialized(void) { return 1; }\n"
    "int hs_fixture_puts(void) { return puts(\"x\"); }\n"
    "#endif\n"
    "#ifdef FREE_THREADED\n"
    "void _Py_DecRefShared(void) { hs_fixture_counter[1]++; }\n"
    "#endif\n"
    "#ifdef RODATA\n"
    "const char hs_fixture_v1[16] = \"@@RODATA-ONE@@@\";\n"
    "const char hs_fixture_v2[16] = \"@@RODATA-TWO@@@\";\n"
    "#endif\n"
    "#ifdef VERSIONED\n"
    "int hs_vers_old(void) { return 1; }\n"
    "int hs_vers_new(void) { return 2; }\n"
    "__asm__(\".symver hs_vers_old, hs_vers@V1\");\n"
    "__asm__(\".symver hs_vers_new, hs_vers@@V2\");\n"
    "#endif\n"
    "#ifdef WITH_MAIN\n"
    "int main(void)\n"
    "{\n"
    "    printf(\"%p %p %p %p\\n\",\n"
    "           dlsym(RTLD_DEFAULT, \"__errno_location\"),\n"
    "           dlsym(RTLD_DEFAULT, \"dlopen\"),\n"
    "           dlsym(RTLD_DEFAULT, \"dlsym\"),\n"
    "           dlsym(RTLD_DEFAULT, \"dlerror\"));\n"
    "    fflush(stdout);\n"
    "    sleep(60);\n"
    "    return 0;\n"
    "}\n"
    "#endif\n";

static const unsigned char version_magic[8] = { 0xef, 0xcd, 0xab, 0x89,
                                                0x67, 0x45, 0x23, 0x01 };

/* Built fixtures: NULL when the compiler could not build one. */
struct fixtures {
    char dir[64];     /* the temporary folder */
    char *lib;        /* shared library with Py_Version */
    char *lib_nover;  /* shared library without Py_Version */
    char *lib_ft;     /* ... defining _Py_DecRefShared (free-threaded) */
    char *lib_vers;   /* hs_vers@V1 and hs_vers@@V2 */
    char *exe;        /* executable exporting the API, prints libc addrs */
    char *exe_rodata; /* no Py_Version, two RODATA placeholders */
    char *exe_plain;  /* exports no Python API */
    char *exe_static; /* static: no .dynsym */
    int serial;       /* for unique copy names */
};

static struct fixtures fx;

static char *
compile(const char *out, const char *flags)
{
    const char *cc = getenv("CC");
    char *path = hs_xasprintf("%s/%s", fx.dir, out);
    char *cmd =
        hs_xasprintf("%s -O1 -o '%s' '%s/fixture.c' %s >'%s/cc.log' 2>&1",
                     cc && *cc ? cc : "cc", path, fx.dir, flags, fx.dir);
    int rc = system(cmd);

    free(cmd);
    if (rc != 0) {
        free(path);
        return NULL;
    }
    return path;
}

static int
fixtures_setup(void **state)
{
    char tmpl[] = "/tmp/hs-unit-attach-XXXXXX";
    FILE *f;

    (void)state;
    memset(&fx, 0, sizeof(fx));
    if (!mkdtemp(tmpl))
        return -1;
    snprintf(fx.dir, sizeof(fx.dir), "%s", tmpl);
    {
        char *src = hs_xasprintf("%s/fixture.c", fx.dir);
        char *map = hs_xasprintf("%s/vers.map", fx.dir);

        f = fopen(src, "w");
        assert_non_null(f);
        fputs(fixture_src, f);
        fclose(f);
        f = fopen(map, "w");
        assert_non_null(f);
        fputs("V1 { global: hs_vers; local: *; };\n"
              "V2 { global: hs_vers; } V1;\n",
              f);
        fclose(f);
        free(src);
        free(map);
    }
    fx.lib = compile("lib.so", "-shared -fPIC");
    fx.lib_nover = compile("lib_nover.so", "-shared -fPIC -DNO_VERSION");
    fx.lib_ft = compile("lib_ft.so", "-shared -fPIC -DFREE_THREADED");
    {
        char *flags = hs_xasprintf("-shared -fPIC -DVERSIONED "
                                   "-Wl,--version-script='%s/vers.map'",
                                   fx.dir);

        fx.lib_vers = compile("lib_vers.so", flags);
        free(flags);
    }
    fx.exe = compile("exe", "-rdynamic -DWITH_MAIN");
    fx.exe_rodata =
        compile("exe_rodata", "-rdynamic -DNO_VERSION -DRODATA -DWITH_MAIN");
    fx.exe_plain = compile("exe_plain", "-rdynamic -DNOT_PYTHON -DWITH_MAIN");
    fx.exe_static = compile("exe_static", "-static -DNOT_PYTHON");
    return 0;
}

static int
fixtures_teardown(void **state)
{
    char *cmd = hs_xasprintf("rm -rf '%s'", fx.dir);

    (void)state;
    if (fx.dir[0] && system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", fx.dir);
    free(cmd);
    free(fx.lib);
    free(fx.lib_nover);
    free(fx.lib_ft);
    free(fx.lib_vers);
    free(fx.exe);
    free(fx.exe_rodata);
    free(fx.exe_plain);
    free(fx.exe_static);
    return 0;
}

static void
need(const char *fixture)
{
    if (!fixture)
        skip(); /* no C compiler, or it cannot build this fixture */
}

/* Reads a whole file; the caller frees. */
static unsigned char *
slurp(const char *path, size_t *len)
{
    struct hs_buf b = HS_BUF_INIT;

    assert_int_equal(hs_proc_read_file(path, &b), 0);
    *len = b.len;
    return (unsigned char *)hs_buf_detach(&b);
}

static void
spit(const char *path, const void *data, size_t len, mode_t mode)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, mode);

    assert_true(fd >= 0);
    assert_int_equal(write(fd, data, len), (ssize_t)len);
    close(fd);
}

/* Replaces every occurrence of `pat` by `rep` (same length); returns how
 * many there were. */
static int
patch(unsigned char *data, size_t len, const void *pat, const void *rep,
      size_t n)
{
    int hits = 0;

    for (size_t i = 0; i + n <= len; i++) {
        if (!memcmp(data + i, pat, n)) {
            memcpy(data + i, rep, n);
            hits++;
        }
    }
    return hits;
}

/*
 * Copies fixture `src` to `dir`/`name` (creating `dir` under the fixture
 * folder), with Py_Version set to `hex` (if it has one) and the RODATA
 * placeholders set to `ro1`, `ro2` (NULL: left alone).  Returns the path.
 */
static char *
fixture_copy(const char *src, const char *dir, const char *name, uint32_t hex,
             const char *ro1, const char *ro2)
{
    size_t len;
    unsigned char *data = slurp(src, &len);
    unsigned char ver[8] = { 0 };
    char *folder = hs_xasprintf("%s/%s%d", fx.dir, dir, fx.serial++);
    char *path = hs_xasprintf("%s/%s", folder, name);
    const char *ro[2] = { ro1, ro2 };
    const char *place[2] = { "@@RODATA-ONE@@@", "@@RODATA-TWO@@@" };

    assert_int_equal(mkdir(folder, 0700), 0);
    for (int i = 0; i < 4; i++)
        ver[i] = (unsigned char)(hex >> (8 * i));
    if (hex)
        assert_int_equal(patch(data, len, version_magic, ver, 8), 1);
    for (int i = 0; i < 2; i++) {
        char rep[16] = { 0 };

        if (!ro[i])
            continue;
        assert_true(strlen(ro[i]) < sizeof(rep));
        memcpy(rep, ro[i], strlen(ro[i]));
        assert_int_equal(patch(data, len, place[i], rep, 16), 1);
    }
    spit(path, data, len, 0755);
    free(data);
    free(folder);
    return path;
}

/* ---- the maps parser ---------------------------------------------------- */

/* One line of a maps file, as the kernel would print it. */
struct line {
    uint64_t start, end, offset;
    const char *perms;
    unsigned major, minor;
    uint64_t inode;
    const char *path; /* NULL: anonymous */
};

/* Formats `l` like fs/proc/task_mmu.c: the name starts at column 73. */
static void
format_line(struct hs_buf *b, const struct line *l, int trailing_space)
{
    size_t at = b->len;

    hs_buf_addf(b, "%08llx-%08llx %s %08llx %02x:%02x %llu ",
                (unsigned long long)l->start, (unsigned long long)l->end,
                l->perms, (unsigned long long)l->offset, l->major, l->minor,
                (unsigned long long)l->inode);
    if (l->path) {
        while (b->len - at < 73)
            hs_buf_addch(b, ' ');
        hs_buf_adds(b, l->path);
    } else if (!trailing_space) {
        b->buf[--b->len] = '\0';
    }
    hs_buf_addch(b, '\n');
}

/* Parses `text` and checks every field against `want`. */
static void
check_parse(const char *text, const struct line *want, size_t n)
{
    char *copy = hs_xstrdup(text);
    struct hs_maps m;

    hs_maps_parse(copy, &m);
    assert_int_equal(m.n, n);
    for (size_t i = 0; i < n; i++) {
        assert_true(m.v[i].start == want[i].start);
        assert_true(m.v[i].end == want[i].end);
        assert_true(m.v[i].offset == want[i].offset);
        assert_int_equal(m.v[i].exec, want[i].perms[2] == 'x');
        if (want[i].path)
            assert_string_equal(m.v[i].path, want[i].path);
        else
            assert_null(m.v[i].path);
    }
    hs_maps_release(&m);
    assert_null(m.v);
    free(copy);
}

static const struct line shared_python[] = {
    { 0x55d0c2a00000, 0x55d0c2a01000, 0, "r--p", 8, 1, 1311,
      "/usr/bin/python3.12" },
    { 0x55d0c2a01000, 0x55d0c2a02000, 0x1000, "r-xp", 8, 1, 1311,
      "/usr/bin/python3.12" },
    { 0x55d0c3a00000, 0x55d0c3c21000, 0, "rw-p", 0, 0, 0, "[heap]" },
    { 0x7f1c4a000000, 0x7f1c4a0a5000, 0, "r--p", 8, 1, 4242,
      "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0" },
    { 0x7f1c4a0a5000, 0x7f1c4a2e1000, 0xa5000, "r-xp", 8, 1, 4242,
      "/root/.pyenv/versions/3.12.1/lib/libpython3.12.so.1.0" },
    { 0x7f1c4a600000, 0x7f1c4a628000, 0, "r--p", 8, 1, 77,
      "/usr/lib/x86_64-linux-gnu/libc.so.6" },
    { 0x7f1c4a628000, 0x7f1c4a7bd000, 0x28000, "r-xp", 8, 1, 77,
      "/usr/lib/x86_64-linux-gnu/libc.so.6" },
    { 0x7f1c4a900000, 0x7f1c4a904000, 0, "rw-p", 0, 0, 0, NULL },
    { 0x7f1c4aa00000, 0x7f1c4aa01000, 0, "r--p", 8, 1, 70,
      "/usr/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2" },
    { 0x7ffd1c000000, 0x7ffd1c021000, 0, "rw-p", 0, 0, 0, "[stack]" },
    { 0x7ffd1c1f0000, 0x7ffd1c1f4000, 0, "r--p", 0, 0, 0, "[vvar]" },
    { 0x7ffd1c1f4000, 0x7ffd1c1f6000, 0, "r-xp", 0, 0, 0, "[vdso]" },
    { 0xffffffffff600000, 0xffffffffff601000, 0, "--xp", 0, 0, 0,
      "[vsyscall]" },
};

static const struct line static_python[] = {
    { 0x400000, 0x420000, 0, "r--p", 8, 1, 9001, "/usr/bin/python3.9" },
    { 0x420000, 0x6a0000, 0x20000, "r-xp", 8, 1, 9001, "/usr/bin/python3.9" },
    { 0x6a0000, 0x7e0000, 0x2a0000, "r--p", 8, 1, 9001, "/usr/bin/python3.9" },
    { 0x7e1000, 0x822000, 0x3e0000, "rw-p", 8, 1, 9001, "/usr/bin/python3.9" },
    { 0x1c3e000, 0x1d8e000, 0, "rw-p", 0, 0, 0, "[heap]" },
    { 0x7fa1b0000000, 0x7fa1b0021000, 0, "rw-p", 0, 0, 0, NULL },
    { 0x7fa1b4000000, 0x7fa1b4028000, 0, "r--p", 8, 1, 77,
      "/lib/x86_64-linux-gnu/libc.so.6" },
};

static const struct line odd_paths[] = {
    { 0x1000, 0x2000, 0, "r-xp", 8, 1, 1,
      "/usr/lib/libpython3.11.so.1.0 (deleted)" },
    { 0x2000, 0x3000, 0, "r-xp", 8, 1, 2,
      "/opt/my python/lib/libpython3.12.so.1.0" },
    { 0x3000, 0x4000, 0, "r--p", 8, 1, 3, "/tmp/two  spaces and trailing " },
    { 0x4000, 0x5000, 0, "rw-s", 0, 1, 4, "/memfd:jit code (deleted)" },
    { 0x5000, 0x6000, 0, "rw-p", 0, 0, 0, "[anon:glibc malloc]" },
    { 0x6000, 0x7000, 0, "rw-p", 0, 0, 0, "[stack:1234]" },
    { 0x7000, 0x8000, 0, "r--p", 8, 1, 7, "/tmp/new\\012line" },
    { 0x8000, 0x9000, 0, "r--p", 8, 1, 8, "/tmp/caf\xc3\xa9/lib\tx.so" },
    { 0x9000, 0xa000, 0, "---p", 0, 0, 0, NULL },
    /* A file beyond 4 GiB, mapped at its end; a 20-digit inode. */
    { 0x7f0000000000, 0x7f0000001000, 0x3ffffffff000, "r--s", 259, 3,
      18446744073709551615ULL, "/data/huge.bin" },
};

static void
test_attach_target__maps_shared_libpython(void **state)
{
    struct hs_buf b = HS_BUF_INIT;

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(shared_python); i++)
        format_line(&b, &shared_python[i], 1);
    check_parse(b.buf, shared_python, HS_ARRAY_SIZE(shared_python));
    hs_buf_release(&b);
}

static void
test_attach_target__maps_static_python(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    char *copy;
    struct hs_maps m;

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(static_python); i++)
        format_line(&b, &static_python[i], 0);
    check_parse(b.buf, static_python, HS_ARRAY_SIZE(static_python));
    /* The last line without its newline is still a line. */
    b.buf[--b.len] = '\0';
    check_parse(b.buf, static_python, HS_ARRAY_SIZE(static_python));
    /* Lookups at the edges of each mapping. */
    copy = hs_xstrdup(b.buf);
    hs_maps_parse(copy, &m);
    for (size_t i = 0; i < HS_ARRAY_SIZE(static_python); i++) {
        assert_ptr_equal(hs_maps_find(&m, static_python[i].start), &m.v[i]);
        assert_ptr_equal(hs_maps_find(&m, static_python[i].end - 1), &m.v[i]);
    }
    assert_null(hs_maps_find(&m, 0x3fffff));
    assert_null(hs_maps_find(&m, 0x7e0000)); /* the hole before .data */
    assert_null(hs_maps_find(&m, 0x7fa1b4028000));
    hs_maps_release(&m);
    free(copy);
    hs_buf_release(&b);
}

static void
test_attach_target__maps_odd_lines(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    char empty[] = "";
    struct hs_maps m;

    (void)state;
    for (size_t i = 0; i < HS_ARRAY_SIZE(odd_paths); i++) {
        format_line(&b, &odd_paths[i], (int)(i & 1));
        /* Lines that are not mappings are skipped, blank ones too. */
        if (i == 2)
            hs_buf_adds(&b, "\n\ngarbage without a range\n");
        if (i == 5)
            hs_buf_adds(&b, "   \n-1000 r--p\n");
    }
    check_parse(b.buf, odd_paths, HS_ARRAY_SIZE(odd_paths));
    hs_maps_parse(empty, &m);
    assert_int_equal(m.n, 0);
    hs_maps_release(&m);
    hs_buf_release(&b);
}

/* A random path: spaces, tabs, UTF-8, " (deleted)", very long, pseudo. */
static const char *
random_path(struct test_rng *r, char *out, size_t len)
{
    static const char *const parts[] = {
        "lib",         "python3.12", " ", "  ",         "dir", ".so.1.0",
        "caf\xc3\xa9", "\t",         "x", " (deleted)", "-",   "_",
    };
    size_t k = 0, n;

    switch (test_rng_below(r, 8)) {
    case 0:
        return NULL;
    case 1:
        return "[heap]";
    case 2:
        return "[anon:some name]";
    default:
        break;
    }
    n = test_rng_below(r, 500) == 0 ? 600 : 1 + test_rng_below(r, 12);
    out[k++] = '/';
    for (size_t i = 0; i < n && k + 16 < len; i++) {
        const char *p = parts[test_rng_below(r, HS_ARRAY_SIZE(parts))];

        memcpy(out + k, p, strlen(p));
        k += strlen(p);
        if (test_rng_below(r, 4) == 0)
            out[k++] = '/';
    }
    out[k] = '\0';
    return out;
}

/*
 * Generated maps: `n` random lines (addresses up to 2^64, offsets of
 * files beyond 4 GiB), parsed and compared field by field; then `lookups`
 * random addresses found by hs_maps_find() against a brute-force scan of
 * the generated table.
 */
static void
random_maps(uint64_t seed, size_t n, size_t lookups)
{
    static const char *const perms[] = { "r-xp", "rw-p", "r--s",
                                         "---p", "rwxp", "r--p" };
    struct test_rng r = { seed * 0x9E3779B97F4A7C15ULL + 1 };
    struct line *want = hs_xcalloc(n ? n : 1, sizeof(*want));
    char *path = hs_xmalloc(8192);
    struct hs_buf b = HS_BUF_INIT;
    uint64_t at = test_rng_below(&r, 1u << 20) << 12;
    struct hs_maps m;
    char *copy;

    for (size_t i = 0; i < n; i++) {
        uint64_t gap = (uint64_t)test_rng_below(&r, 1u << 16) << 12;
        uint64_t size = ((uint64_t)test_rng_below(&r, 1u << 12) + 1) << 12;
        uint64_t jump;
        const char *name;

        if (at + gap + size < at || at + gap + size > (~0ULL << 12)) {
            n = i;
            break;
        }
        want[i].start = at + gap;
        want[i].end = want[i].start + size;
        at = want[i].end;
        want[i].offset = (test_rng_next(&r) >> 16) & ~(uint64_t)4095;
        want[i].perms = perms[test_rng_below(&r, HS_ARRAY_SIZE(perms))];
        want[i].major = test_rng_below(&r, 300);
        want[i].minor = test_rng_below(&r, 256);
        want[i].inode = test_rng_next(&r);
        name = random_path(&r, path, 8192);
        want[i].path = name ? hs_xstrdup(name) : NULL;
        format_line(&b, &want[i], (int)test_rng_below(&r, 2));
        /* Far apart: jump high sometimes, as stacks and vsyscall are. */
        jump = test_rng_below(&r, 50) ? 0 : test_rng_next(&r) >> 20 << 12;
        if (at + jump > at)
            at += jump;
    }
    check_parse(b.buf, want, n);
    copy = hs_xstrdup(b.buf);
    hs_maps_parse(copy, &m);
    for (size_t k = 0; k < lookups && n; k++) {
        const struct line *l = &want[test_rng_below(&r, (uint32_t)n)];
        uint64_t addr;
        const struct hs_mapping *got;
        size_t oracle = SIZE_MAX;

        switch (test_rng_below(&r, 4)) {
        case 0:
            addr = l->start;
            break;
        case 1:
            addr = l->end - 1;
            break;
        case 2:
            addr = l->end; /* next mapping or a hole */
            break;
        default:
            addr = l->start - 1 - test_rng_below(&r, 1u << 20);
            break;
        }
        for (size_t i = 0; i < n; i++) {
            if (addr >= want[i].start && addr < want[i].end) {
                oracle = i;
                break;
            }
        }
        got = hs_maps_find(&m, addr);
        if (oracle == SIZE_MAX)
            assert_null(got);
        else
            assert_ptr_equal(got, &m.v[oracle]);
    }
    hs_maps_release(&m);
    free(copy);
    hs_buf_release(&b);
    for (size_t i = 0; i < n; i++)
        free((char *)(uintptr_t)want[i].path);
    free(path);
    free(want);
}

static void
test_attach_target__maps_random(void **state)
{
    (void)state;
    for (uint64_t seed = 1; seed <= 2000; seed++)
        random_maps(seed, test_rng_below(&(struct test_rng){ seed }, 40), 64);
}

static void
test_attach_target__maps_huge(void **state)
{
    (void)state;
    /* 200,000 mappings: real processes have a few thousand at most. */
    random_maps(7, 200000, 200);
}

static void
test_attach_target__maps_of_this_process(void **state)
{
    struct hs_maps m;
    Dl_info info;
    const struct hs_mapping *mp;
    char a[PATH_MAX], b[PATH_MAX];
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    void *fn;

    (void)state;
    assert_non_null(libc);
    fn = dlsym(libc, "getpid");
    assert_int_equal(hs_maps_read(getpid(), &m), 0);
    assert_true(m.n > 5);
    /* Code of libc: an executable mapping of the file dladdr() names. */
    assert_true(dladdr(fn, &info) != 0);
    mp = hs_maps_find(&m, (uint64_t)(uintptr_t)fn);
    assert_non_null(mp);
    assert_true(mp->exec);
    assert_non_null(realpath(info.dli_fname, a));
    assert_non_null(realpath(mp->path, b));
    assert_string_equal(a, b);
    /* This thread's stack. */
    mp = hs_maps_find(&m, (uint64_t)(uintptr_t)__builtin_frame_address(0));
    assert_non_null(mp);
    assert_string_equal(mp->path, "[stack]");
    assert_false(mp->exec);
    hs_maps_release(&m);
    dlclose(libc);
    errno = 0;
    assert_int_equal(hs_maps_read(-5, &m), -1);
    assert_int_equal(errno, ENOENT);
}

/* ---- ELF symbols -------------------------------------------------------- */

/* The address the dynamic linker gives `name` in `handle` equals the one
 * computed from the file: load base - base_vaddr + st_value. */
static void
check_symbol(void *handle, const struct hs_elf *e, const char *name,
             uint64_t size)
{
    void *addr = dlsym(handle, name);
    Dl_info info;
    Elf64_Sym s;

    assert_non_null(addr);
    assert_true(dladdr(addr, &info) != 0);
    assert_int_equal(hs_elf_symbol(e, name, &s), 1);
    assert_true((uint64_t)(uintptr_t)info.dli_fbase - e->base_vaddr +
                    s.st_value ==
                (uint64_t)(uintptr_t)addr);
    if (size)
        assert_int_equal(s.st_size, size);
}

static void
test_attach_target__elf_symbols_match_dlsym(void **state)
{
    struct hs_elf e;
    Elf64_Sym s;
    void *h;

    (void)state;
    need(fx.lib);
    h = dlopen(fx.lib, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    assert_int_equal(hs_elf_open(fx.lib, &e), 0);
    check_symbol(h, &e, "PyGILState_Ensure", 0);
    check_symbol(h, &e, "Py_IsInitialized", 0);
    check_symbol(h, &e, "Py_Version", sizeof(unsigned long));
    check_symbol(h, &e, "hs_fixture_counter", 64 * sizeof(int));
    /* Undefined (imported) and absent names are not found. */
    assert_int_equal(hs_elf_symbol(&e, "puts", &s), 0);
    assert_int_equal(hs_elf_symbol(&e, "no_such_symbol", &s), 0);
    assert_int_equal(hs_elf_symbol(&e, "", &s), 0);
    hs_elf_release(&e);
    assert_int_equal(e.fd, -1);
    dlclose(h);
}

static void
test_attach_target__elf_default_version_wins(void **state)
{
    struct hs_elf e;
    void *h, *old_v;

    (void)state;
    need(fx.lib_vers);
    h = dlopen(fx.lib_vers, RTLD_NOW | RTLD_LOCAL);
    assert_non_null(h);
    old_v = dlvsym(h, "hs_vers", "V1");
    /* The two versions are different functions, so a wrong pick shows. */
    assert_non_null(old_v);
    assert_ptr_not_equal(old_v, dlsym(h, "hs_vers"));
    assert_int_equal(hs_elf_open(fx.lib_vers, &e), 0);
    assert_non_null(e.versym);
    check_symbol(h, &e, "hs_vers", 0);
    hs_elf_release(&e);
    dlclose(h);
}

static void
test_attach_target__elf_libc_functions(void **state)
{
    static const char *const names[] = { "dlopen", "dlsym", "dlerror",
                                         "__errno_location", "malloc" };
    void *libc = dlopen("libc.so.6", RTLD_NOW | RTLD_NOLOAD);
    Dl_info info;
    struct hs_elf e;

    (void)state;
    assert_non_null(libc);
    assert_true(dladdr(dlsym(libc, "dlopen"), &info) != 0);
    assert_int_equal(hs_elf_open(info.dli_fname, &e), 0);
    for (size_t i = 0; i < HS_ARRAY_SIZE(names); i++)
        check_symbol(libc, &e, names[i], 0);
    hs_elf_release(&e);
    dlclose(libc);
}

/* hs_elf_open() fails with `err` on `path`. */
static void
check_refused(const char *path, int err)
{
    struct hs_elf e;

    errno = 0;
    assert_int_equal(hs_elf_open(path, &e), -1);
    assert_int_equal(errno, err);
    assert_int_equal(e.fd, -1);
    assert_null(e.syms);
}

static void
test_attach_target__elf_refuses_bad_files(void **state)
{
    size_t len;
    unsigned char *data, *bad;
    Elf64_Ehdr eh;
    char *path;

    (void)state;
    need(fx.lib);
    path = hs_xasprintf("%s/bad.so", fx.dir);
    check_refused("/nonexistent/libpython3.12.so", ENOENT);
    check_refused(fx.dir, EINVAL); /* a folder */
    spit(path, "", 0, 0644);
    check_refused(path, EINVAL);
    spit(path, fixture_src, sizeof(fixture_src), 0644);
    check_refused(path, EINVAL);
    if (fx.exe_static)
        check_refused(fx.exe_static, EINVAL); /* no .dynsym */
    data = slurp(fx.lib, &len);
    bad = hs_xmalloc(len);
    memcpy(&eh, data, sizeof(eh));
    /* Truncated inside the header, then before the section headers. */
    spit(path, data, 40, 0644);
    check_refused(path, EINVAL);
    spit(path, data, (size_t)eh.e_shoff, 0644);
    check_refused(path, EINVAL);
    /* 32-bit, another machine, section headers past the end. */
    memcpy(bad, data, len);
    bad[EI_CLASS] = ELFCLASS32;
    spit(path, bad, len, 0644);
    check_refused(path, EINVAL);
    memcpy(bad, data, len);
    ((Elf64_Ehdr *)(void *)bad)->e_machine = EM_AARCH64;
    spit(path, bad, len, 0644);
    check_refused(path, EINVAL);
    memcpy(bad, data, len);
    ((Elf64_Ehdr *)(void *)bad)->e_shoff = len + 4096;
    spit(path, bad, len, 0644);
    check_refused(path, EINVAL);
    /* The unmodified copy opens: the refusals above are the edits'. */
    spit(path, data, len, 0644);
    {
        struct hs_elf e;

        assert_int_equal(hs_elf_open(path, &e), 0);
        hs_elf_release(&e);
    }
    unlink(path);
    free(bad);
    free(data);
    free(path);
}

/*
 * Corrupted headers, 1,000 seeds: opening either fails with EINVAL or
 * succeeds, and lookups and version detection on what opened stay in
 * bounds (ASan run).  No oracle beyond "does not crash or leak".
 */
static void
test_attach_target__elf_corrupt_headers(void **state)
{
    size_t len;
    unsigned char *data, *bad;
    char *dir, *path, *maps_text;
    Elf64_Ehdr eh;
    int opened = 0;

    (void)state;
    need(fx.lib);
    dir = hs_xasprintf("%s/corrupt", fx.dir);
    path = hs_xasprintf("%s/libpython3.12.so.1.0", dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    data = slurp(fx.lib, &len);
    memcpy(&eh, data, sizeof(eh));
    bad = hs_xmalloc(len);
    maps_text = hs_xasprintf("1000-2000 r-xp 00000000 08:01 1 %s\n", path);
    for (uint64_t seed = 1; seed <= 1000; seed++) {
        struct test_rng r = { seed };
        struct hs_elf e;
        int flips = 1 + (int)test_rng_below(&r, 8);

        memcpy(bad, data, len);
        for (int i = 0; i < flips; i++) {
            /* The file header, program headers or section headers. */
            size_t at;

            switch (test_rng_below(&r, 3)) {
            case 0:
                at = test_rng_below(&r, sizeof(Elf64_Ehdr));
                break;
            case 1:
                at = eh.e_phoff +
                     test_rng_below(&r, eh.e_phnum * sizeof(Elf64_Phdr));
                break;
            default:
                at = eh.e_shoff +
                     test_rng_below(&r, eh.e_shnum * sizeof(Elf64_Shdr));
                break;
            }
            if (at < len)
                bad[at] = (unsigned char)test_rng_next(&r);
        }
        spit(path, bad, len, 0644);
        errno = 0;
        if (hs_elf_open(path, &e) == 0) {
            Elf64_Sym s;

            opened++;
            hs_elf_symbol(&e, "Py_Version", &s);
            hs_elf_symbol(&e, "PyGILState_Ensure", &s);
            hs_elf_release(&e);
        } else {
            assert_int_equal(errno, EINVAL);
        }
        {
            /* As a libpython, then as a static python. */
            struct hs_target t;
            char *copy = hs_xstrdup(maps_text);

            for (int as_exe = 0; as_exe < 2; as_exe++) {
                memset(&t, 0, sizeof(t));
                if (!as_exe)
                    hs_maps_parse(copy, &t.maps);
                else
                    t.exe = hs_xstrdup(path);
                hs_error_reset();
                hs_target_python(&t);
                hs_target_release(&t);
            }
            free(copy);
        }
    }
    /* Most single-byte edits leave the symbol table readable. */
    assert_true(opened > 100);
    unlink(path);
    rmdir(dir);
    free(maps_text);
    free(bad);
    free(data);
    free(path);
    free(dir);
}

/* ---- Python versions ---------------------------------------------------- */

/* PY_VERSION for a PY_VERSION_HEX, e.g. "3.13.0a3", written from the
 * spec (Include/patchlevel.h) rather than from attach_target.c. */
static void
version_string(uint32_t hex, char *out, size_t len)
{
    static const char *const level[] = { "a", "b", "rc" };
    unsigned lv = (hex >> 4) & 0xF;

    if (lv == 0xF)
        snprintf(out, len, "%u.%u.%u", hex >> 24, (hex >> 16) & 0xFF,
                 (hex >> 8) & 0xFF);
    else
        snprintf(out, len, "%u.%u.%u%s%u", hex >> 24, (hex >> 16) & 0xFF,
                 (hex >> 8) & 0xFF, level[lv - 0xA], hex & 0xF);
}

/*
 * Runs hs_target_python() on a target whose map holds `lib` (or nothing
 * but an anonymous line) and whose executable is `exe`.  Returns its
 * result; the caller releases `t`.
 */
static int
python_of(struct hs_target *t, const char *lib, const char *exe)
{
    char *text =
        lib ? hs_xasprintf("7f0000000000-7f0000001000 r-xp 00000000 08:01 "
                           "42                         %s\n",
                           lib)
            : hs_xstrdup("7f0000000000-7f0000001000 rw-p 00000000 00:00 "
                         "0\n");

    memset(t, 0, sizeof(*t));
    t->pid = 4242;
    snprintf(t->info.comm, sizeof(t->info.comm), "fixture");
    hs_maps_parse(text, &t->maps);
    free(text);
    t->exe = exe ? hs_xstrdup(exe) : NULL;
    hs_error_reset();
    return hs_target_python(t);
}

/* Expects success: version `version`, minor `minor`, EXT_SUFFIX. */
static void
check_python(struct hs_target *t, int rc, const char *python,
             const char *version, int minor, const char *abiflags)
{
    char suffix[64];

    assert_int_equal(rc, 0);
    assert_string_equal(t->python, python);
    assert_string_equal(t->version, version);
    assert_string_equal(t->py.version, version);
    assert_int_equal(t->major, 3);
    assert_int_equal(t->minor, minor);
    assert_int_equal(t->py.major_minor, 0x300 | minor);
    snprintf(suffix, sizeof(suffix), "3.%d", minor);
    assert_string_equal(t->py.minor, suffix);
    snprintf(suffix, sizeof(suffix), ".cpython-3%d%s-x86_64-linux-gnu.so",
             minor, abiflags);
    assert_string_equal(t->py.ext_suffix, suffix);
}

static void
test_attach_target__version_from_py_version(void **state)
{
    static const unsigned levels[] = { 0xA, 0xB, 0xC, 0xF };
    struct test_rng r = { 11 };

    (void)state;
    need(fx.lib);
    for (int i = 0; i < 60; i++) {
        unsigned minor = 8 + test_rng_below(&r, 8); /* 3.8-3.15 */
        unsigned lv = levels[test_rng_below(&r, 4)];
        uint32_t hex = 3u << 24 | minor << 16 | test_rng_below(&r, 30) << 8 |
                       lv << 4 | (lv == 0xF ? 0 : 1 + test_rng_below(&r, 5));
        int debug = test_rng_below(&r, 4) == 0;
        char name[64], want[32];
        char *lib;
        struct hs_target t;

        /* The library's name says 3.12; Py_Version has the last word. */
        snprintf(name, sizeof(name), "libpython3.12%s.so.1.0",
                 debug ? "d" : "");
        lib = fixture_copy(fx.lib, "v", name, hex, NULL, NULL);
        version_string(hex, want, sizeof(want));
        check_python(&t, python_of(&t, lib, "/usr/bin/python3"), lib, want,
                     (int)minor, debug ? "d" : "");
        assert_false(t.python_is_exe);
        hs_target_release(&t);
        /* The same file as a static python's executable. */
        check_python(&t, python_of(&t, NULL, lib), lib, want, (int)minor, "");
        assert_true(t.python_is_exe);
        hs_target_release(&t);
        free(lib);
    }
}

static void
test_attach_target__version_from_name(void **state)
{
    struct hs_target t;
    char *lib;

    (void)state;
    need(fx.lib_nover);
    for (int minor = 8; minor <= 13; minor++) {
        char name[64], want[16];

        snprintf(name, sizeof(name), "libpython3.%d.so.1.0", minor);
        snprintf(want, sizeof(want), "3.%d", minor);
        lib = fixture_copy(fx.lib_nover, "n", name, 0, NULL, NULL);
        check_python(&t, python_of(&t, lib, NULL), lib, want, minor, "");
        hs_target_release(&t);
        free(lib);
    }
    /* In a folder with spaces, as the parser hands it over. */
    lib = fixture_copy(fx.lib_nover, "with space ", "libpython3.10.so", 0,
                       NULL, NULL);
    check_python(&t, python_of(&t, lib, NULL), lib, "3.10", 10, "");
    hs_target_release(&t);
    free(lib);
}

static void
test_attach_target__version_refusals(void **state)
{
    struct hs_target t;
    char *lib, *gone;

    (void)state;
    need(fx.lib);
    need(fx.lib_nover);
    need(fx.lib_ft);
    /* Too old, by name and by Py_Version. */
    lib = fixture_copy(fx.lib_nover, "old", "libpython3.7m.so.1.0", 0, NULL,
                       NULL);
    assert_int_equal(python_of(&t, lib, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    free(lib);
    lib = fixture_copy(fx.lib, "old", "libpython3.12.so", 0x030716F0, NULL,
                       NULL);
    assert_int_equal(python_of(&t, lib, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    free(lib);
    /* Free-threaded, by name ("t") and by symbol. */
    lib = fixture_copy(fx.lib, "ft", "libpython3.13t.so.1.0", 0x030D00F0, NULL,
                       NULL);
    assert_int_equal(python_of(&t, lib, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    free(lib);
    lib = fixture_copy(fx.lib_ft, "ft", "libpython3.13.so.1.0", 0x030D00F0,
                       NULL, NULL);
    assert_int_equal(python_of(&t, lib, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    /* A deleted library (upgraded under a running process): the map
     * names a file that is gone; refused as unreadable. */
    gone = hs_xasprintf("%s (deleted)", lib);
    assert_int_equal(python_of(&t, gone, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    hs_target_release(&t);
    free(gone);
    free(lib);
    /* Not Python at all: no libpython, an executable without the API. */
    need(fx.exe_plain);
    assert_int_equal(python_of(&t, NULL, fx.exe_plain), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    assert_int_equal(python_of(&t, NULL, "/nonexistent/python"), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    assert_int_equal(python_of(&t, NULL, NULL), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
}

static void
test_attach_target__version_from_rodata(void **state)
{
    struct test_rng r = { 5 };
    struct hs_target t;
    char *exe;

    (void)state;
    need(fx.exe_rodata);
    for (int i = 0; i < 12; i++) {
        int minor = 8 + (int)test_rng_below(&r, 3);
        char want[16];

        snprintf(want, sizeof(want), "3.%d.%u", minor, test_rng_below(&r, 20));
        /* The executable's name says nothing. */
        exe = fixture_copy(fx.exe_rodata, "ro", "python", 0, want, NULL);
        check_python(&t, python_of(&t, NULL, exe), exe, want, minor, "");
        hs_target_release(&t);
        free(exe);
    }
    /* The same string twice is no conflict. */
    exe = fixture_copy(fx.exe_rodata, "ro", "python", 0, "3.9.18", "3.9.18");
    check_python(&t, python_of(&t, NULL, exe), exe, "3.9.18", 9, "");
    hs_target_release(&t);
    free(exe);
    /* Two minor versions (another library's "3.X.Y" linked in): the
     * executable's name decides, and only its minor version is known. */
    for (int order = 0; order < 2; order++) {
        exe = fixture_copy(fx.exe_rodata, "ro", "python3.9", 0,
                           order ? "3.0.11" : "3.9.18",
                           order ? "3.9.18" : "3.0.11");
        check_python(&t, python_of(&t, NULL, exe), exe, "3.9", 9, "");
        hs_target_release(&t);
        free(exe);
    }
    exe = fixture_copy(fx.exe_rodata, "ro", "python3", 0, "3.9.18", "3.0.11");
    assert_int_equal(python_of(&t, NULL, exe), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    free(exe);
    /* No version string at all and a name without one. */
    exe = fixture_copy(fx.exe_rodata, "ro", "python", 0, "three", "x.y.z");
    assert_int_equal(python_of(&t, NULL, exe), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    free(exe);
}

/* ---- pyenv -------------------------------------------------------------- */

#define PYENV "/root/.pyenv/versions"

/* A pyenv version: its folder name, libpython and interpreter. */
struct pyenv_python {
    char version[32]; /* "3.12.1" */
    int major, minor;
    char lib[PATH_MAX]; /* .../lib/libpythonX.Y*.so.1.0 */
    char exe[PATH_MAX]; /* .../bin/pythonX.Y */
};

/* The pyenv versions with a shared libpython; skips without any. */
static size_t
pyenv_pythons(struct pyenv_python *out, size_t max)
{
    DIR *d = opendir(PYENV);
    struct dirent *de;
    size_t n = 0;

    while (d && (de = readdir(d)) && n < max) {
        struct pyenv_python *p = &out[n];
        char libdir[PATH_MAX];
        DIR *ld;
        struct dirent *le;
        int micro;

        if (sscanf(de->d_name, "%d.%d.%d", &p->major, &p->minor, &micro) != 3)
            continue;
        snprintf(p->version, sizeof(p->version), "%.31s", de->d_name);
        snprintf(libdir, sizeof(libdir), "%s/%.255s/lib", PYENV, de->d_name);
        p->lib[0] = '\0';
        ld = opendir(libdir);
        while (ld && (le = readdir(ld))) {
            size_t l = strlen(le->d_name);
            char want[32];

            snprintf(want, sizeof(want), "libpython%d.%d", p->major, p->minor);
            if (!strncmp(le->d_name, want, strlen(want)) && l > 7 &&
                !strcmp(le->d_name + l - 7, ".so.1.0"))
                snprintf(p->lib, sizeof(p->lib), "%.2048s/%.255s", libdir,
                         le->d_name);
        }
        if (ld)
            closedir(ld);
        snprintf(p->exe, sizeof(p->exe), "%s/%.255s/bin/python%d.%d", PYENV,
                 de->d_name, p->major, p->minor);
        if (p->lib[0] && access(p->exe, X_OK) == 0)
            n++;
    }
    if (d)
        closedir(d);
    if (!n)
        skip();
    return n;
}

/* The interpreter's own EXT_SUFFIX, or "" if it cannot say. */
static void
ext_suffix_of(const char *exe, char *out, size_t len)
{
    char *cmd = hs_xasprintf("'%s' -c 'import sysconfig; print(sysconfig."
                             "get_config_var(\"EXT_SUFFIX\"))' 2>/dev/null",
                             exe);
    FILE *p = popen(cmd, "r");

    out[0] = '\0';
    if (p && fgets(out, (int)len, p))
        out[strcspn(out, "\n")] = '\0';
    if (p)
        pclose(p);
    free(cmd);
}

static int
supported(const struct pyenv_python *p)
{
    return p->major == 3 && p->minor >= 8;
}

/* What heapsnap can know: the full version from Py_Version (3.11+), the
 * minor version from the library's name before that. */
static void
expected_version(const struct pyenv_python *p, int whole, char *out,
                 size_t len)
{
    if (whole || p->minor >= 11)
        snprintf(out, len, "%.31s", p->version);
    else
        snprintf(out, len, "%d.%d", p->major, p->minor);
}

static void
test_attach_target__pyenv_libpython(void **state)
{
    struct pyenv_python py[32];
    size_t n = pyenv_pythons(py, HS_ARRAY_SIZE(py));

    (void)state;
    for (size_t i = 0; i < n; i++) {
        struct hs_target t;
        struct hs_elf e;
        Elf64_Sym s;
        char want[32], suffix[64];
        int rc;

        /* Every libpython exports the C API entry points attach uses. */
        assert_int_equal(hs_elf_open(py[i].lib, &e), 0);
        assert_int_equal(hs_elf_symbol(&e, "PyGILState_Ensure", &s), 1);
        assert_int_equal(ELF64_ST_TYPE(s.st_info), STT_FUNC);
        assert_int_equal(hs_elf_symbol(&e, "Py_Version", &s),
                         py[i].major == 3 && py[i].minor >= 11);
        hs_elf_release(&e);

        rc = python_of(&t, py[i].lib, py[i].exe);
        if (!supported(&py[i])) {
            assert_int_equal(rc, -1);
            assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
            hs_target_release(&t);
            continue;
        }
        expected_version(&py[i], 0, want, sizeof(want));
        check_python(&t, rc, py[i].lib, want, py[i].minor, "");
        ext_suffix_of(py[i].exe, suffix, sizeof(suffix));
        if (suffix[0])
            assert_string_equal(t.py.ext_suffix, suffix);
        hs_target_release(&t);
    }
}

/*
 * The same libraries read as if statically linked into an executable
 * named pythonX.Y: Py_Version on 3.11+; before, a PY_VERSION string in
 * .rodata or else the name.  (pyenv's builds show no such string: the
 * linker merged "3.8.18" into the tail of the prefix ".../3.8.18".)
 */
static void
test_attach_target__pyenv_as_static(void **state)
{
    struct pyenv_python py[32];
    size_t n = pyenv_pythons(py, HS_ARRAY_SIZE(py));
    char *dir = hs_xasprintf("%s/static", fx.dir);

    (void)state;
    assert_int_equal(mkdir(dir, 0700), 0);
    for (size_t i = 0; i < n; i++) {
        struct hs_target t;
        char want[32], minor_only[32];
        char *exe =
            hs_xasprintf("%s/python%d.%d", dir, py[i].major, py[i].minor);
        int rc;

        assert_int_equal(symlink(py[i].lib, exe), 0);
        rc = python_of(&t, NULL, exe);
        if (!supported(&py[i])) {
            assert_int_equal(rc, -1);
            assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
            hs_target_release(&t);
            free(exe);
            continue;
        }
        expected_version(&py[i], 1, want, sizeof(want));
        expected_version(&py[i], 0, minor_only, sizeof(minor_only));
        check_python(&t, rc, exe,
                     strcmp(t.version, minor_only) ? want : minor_only,
                     py[i].minor, "");
        assert_true(t.python_is_exe);
        hs_target_release(&t);
        /* Under the library's own name only Py_Version can tell. */
        if (py[i].minor >= 11) {
            check_python(&t, python_of(&t, NULL, py[i].lib), py[i].lib, want,
                         py[i].minor, "");
            hs_target_release(&t);
        }
        free(exe);
    }
    free(dir);
}

/* ---- live processes ----------------------------------------------------- */

/* Starts argv with stdout on a pipe and reads its first line into
 * `line`; returns the pid. */
static pid_t
start(const char *const *argv, char *line, size_t len)
{
    int fds[2];
    pid_t pid;
    FILE *f;

    assert_int_equal(pipe(fds), 0);
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        dup2(fds[1], 1);
        close(fds[0]);
        close(fds[1]);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(fds[1]);
    f = fdopen(fds[0], "r");
    assert_non_null(f);
    line[0] = '\0';
    if (!fgets(line, (int)len, f))
        line[0] = '\0';
    fclose(f);
    return pid;
}

static void
stop(pid_t pid)
{
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

static void
test_attach_target__inspect_fixture_process(void **state)
{
    const char *argv[2] = { NULL, NULL };
    unsigned long long addr[4];
    char line[256], *exe;
    struct hs_target t;
    pid_t pid;

    (void)state;
    need(fx.exe);
    exe = fixture_copy(fx.exe, "live", "python", 0x030C01F0, NULL, NULL);
    argv[0] = exe;
    pid = start(argv, line, sizeof(line));
    assert_int_equal(sscanf(line, "%llx %llx %llx %llx", &addr[0], &addr[1],
                            &addr[2], &addr[3]),
                     4);
    hs_error_reset();
    assert_int_equal(hs_target_inspect(pid, &t), 0);
    assert_true(t.python_is_exe);
    assert_string_equal(t.python, exe);
    assert_string_equal(t.exe, exe);
    assert_string_equal(t.version, "3.12.1");
    /* The C library's functions where the process's own dlsym puts them. */
    assert_true(t.fn_errno == addr[0]);
    assert_true(t.fn_dlopen == addr[1]);
    assert_true(t.fn_dlsym == addr[2]);
    assert_true(t.fn_dlerror == addr[3]);
    assert_int_equal(t.info.uid, geteuid());
    assert_true(hs_target_same_view(pid, &t.info));
    hs_target_release(&t);
    stop(pid);
    free(exe);
}

static void
test_attach_target__inspect_refusals(void **state)
{
    const char *argv[2] = { NULL, NULL };
    char line[256];
    struct hs_target t;
    pid_t pid;

    (void)state;
    hs_error_reset();
    assert_int_equal(hs_target_inspect(getpid(), &t), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    hs_error_reset();
    assert_int_equal(hs_target_inspect(0, &t), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    /* A pid that was just reaped. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    hs_error_reset();
    assert_int_equal(hs_target_inspect(pid, &t), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    /* A zombie: exited, not yet reaped. */
    pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(0);
    for (int i = 0; i < 1000; i++) {
        struct hs_proc_info pi;

        if (hs_proc_info_read(pid, &pi) == 0 && pi.state == 'Z')
            break;
        usleep(1000);
    }
    hs_error_reset();
    assert_int_equal(hs_target_inspect(pid, &t), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_IO);
    hs_target_release(&t);
    waitpid(pid, NULL, 0);
    /* A C program. */
    need(fx.exe_plain);
    argv[0] = fx.exe_plain;
    pid = start(argv, line, sizeof(line));
    hs_error_reset();
    assert_int_equal(hs_target_inspect(pid, &t), -1);
    assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
    hs_target_release(&t);
    stop(pid);
}

static void
test_attach_target__inspect_pyenv_processes(void **state)
{
    struct pyenv_python py[32];
    size_t n = pyenv_pythons(py, HS_ARRAY_SIZE(py));

    (void)state;
    for (size_t i = 0; i < n; i++) {
        const char *argv[] = { py[i].exe, "-S", "-c",
                               "import sys, time\n"
                               "sys.stdout.write('ready\\n')\n"
                               "sys.stdout.flush()\n"
                               "time.sleep(60)\n",
                               NULL };
        char line[64], want[32];
        struct hs_target t;
        pid_t pid = start(argv, line, sizeof(line));
        int rc;

        assert_string_equal(line, "ready\n");
        hs_error_reset();
        rc = hs_target_inspect(pid, &t);
        if (!supported(&py[i])) {
            assert_int_equal(rc, -1);
            assert_int_equal(hs_error_status(), HS_EXIT_USAGE);
        } else {
            expected_version(&py[i], 0, want, sizeof(want));
            check_python(&t, rc, py[i].lib, want, py[i].minor, "");
            assert_false(t.python_is_exe);
            assert_true(t.fn_errno && t.fn_dlopen && t.fn_dlsym &&
                        t.fn_dlerror);
        }
        hs_target_release(&t);
        stop(pid);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_target__maps_shared_libpython),
        cmocka_unit_test(test_attach_target__maps_static_python),
        cmocka_unit_test(test_attach_target__maps_odd_lines),
        cmocka_unit_test(test_attach_target__maps_random),
        cmocka_unit_test(test_attach_target__maps_huge),
        cmocka_unit_test(test_attach_target__maps_of_this_process),
        cmocka_unit_test(test_attach_target__elf_symbols_match_dlsym),
        cmocka_unit_test(test_attach_target__elf_default_version_wins),
        cmocka_unit_test(test_attach_target__elf_libc_functions),
        cmocka_unit_test(test_attach_target__elf_refuses_bad_files),
        cmocka_unit_test(test_attach_target__elf_corrupt_headers),
        cmocka_unit_test(test_attach_target__version_from_py_version),
        cmocka_unit_test(test_attach_target__version_from_name),
        cmocka_unit_test(test_attach_target__version_refusals),
        cmocka_unit_test(test_attach_target__version_from_rodata),
        cmocka_unit_test(test_attach_target__pyenv_libpython),
        cmocka_unit_test(test_attach_target__pyenv_as_static),
        cmocka_unit_test(test_attach_target__inspect_fixture_process),
        cmocka_unit_test(test_attach_target__inspect_refusals),
        cmocka_unit_test(test_attach_target__inspect_pyenv_processes),
    };

    return cmocka_run_group_tests_name("attach_target", tests, fixtures_setup,
                                       fixtures_teardown);
}

#else /* not x86-64 Linux: attach_target.c is not built */

static void
test_attach_target__unsupported(void **state)
{
    (void)state;
    skip();
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_attach_target__unsupported),
    };

    return cmocka_run_group_tests_name("attach_target", tests, NULL, NULL);
}

#endif
