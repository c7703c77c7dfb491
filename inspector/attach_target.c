/*
 * attach_target.c: looking at a running process before touching it, for
 * `heapsnap dump --pid` (attach_target.h).  Reads /proc/PID/{status,maps,
 * exe,ns}, finds the Python C API in a libpythonX.Y*.so of the map or in
 * a static python executable, reads its version (Py_Version, the
 * library's name, or a "3.X.Y" string in .rodata), refuses free-threaded
 * and pre-3.8 builds, finds dlopen() and friends in the C library, and
 * words every refusal as one line naming its cause and setting.
 *
 * Owns: struct hs_target, its map and the ELF images it opens for a
 * moment.  Invariants: the process is never stopped, written or signalled
 * here; its files are opened through /proc/PID/root (its mount namespace);
 * every failure is one hs_error() line, exit 2 (not a Python heapsnap can
 * attach to) or 4 (the system refused).
 */
#include "attach_target.h"

/* Everything here serves attach.c's x86-64 Linux implementation. */
#if defined(__x86_64__) && defined(__linux__)

#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/* Reads all of `path` (small files, /proc) into `out`; 0, or -1 with
 * errno set. */
int
hs_proc_read_file(const char *path, struct hs_buf *out)
{
    char chunk[8192];
    ssize_t n;
    int fd = open(path, O_RDONLY | O_CLOEXEC);

    if (fd < 0)
        return -1;
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            int saved = errno;

            close(fd);
            errno = saved;
            return -1;
        }
        hs_buf_add(out, chunk, (size_t)n);
    }
    close(fd);
    return 0;
}

/* ---- the process ------------------------------------------------------ */

/* Reads the facts; -1 with errno (ENOENT: no such process). */
int
hs_proc_info_read(pid_t pid, struct hs_proc_info *pi)
{
    char path[64];
    struct hs_buf b = HS_BUF_INIT;
    struct stat st;
    char *line, *nl;

    memset(pi, 0, sizeof(*pi));
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (hs_proc_read_file(path, &b) < 0)
        return -1;
    for (line = b.buf; *line; line = nl) {
        unsigned long a = 0, e = 0;

        nl = strchr(line, '\n');
        nl = nl ? nl + 1 : line + strlen(line);
        if (hs_starts_with(line, "Name:\t"))
            snprintf(pi->comm, sizeof(pi->comm), "%.*s",
                     (int)strcspn(line + 6, "\n"), line + 6);
        else if (hs_starts_with(line, "State:\t"))
            pi->state = line[7];
        else if (sscanf(line, "Uid:\t%lu\t%lu", &a, &e) == 2) {
            pi->real_uid = (uid_t)a;
            pi->uid = (uid_t)e;
        } else if (sscanf(line, "Gid:\t%lu\t%lu", &a, &e) == 2)
            pi->gid = (gid_t)e;
        else if (sscanf(line, "TracerPid:\t%lu", &a) == 1)
            pi->tracer = (pid_t)a;
        else if (hs_starts_with(line, "CapPrm:\t"))
            pi->cap_prm = strtoull(line + 8, NULL, 16);
        else if (hs_starts_with(line, "x86_Thread_features:")) {
            const char *hit = strstr(line, "shstk");

            pi->shadow_stack = hit && hit < nl;
        }
    }
    hs_buf_release(&b);
    /* The files of a non-dumpable process belong to root (the folder
     * does not change). */
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    pi->proc_owner = stat(path, &st) ? 0 : st.st_uid;
    return 0;
}

/* heapsnap's own capability set `field` ("CapEff", "CapPrm"). */
static uint64_t
my_caps(const char *field)
{
    struct hs_buf b = HS_BUF_INIT;
    char *key = hs_xasprintf("\n%s:\t", field);
    const char *p;
    uint64_t caps = 0;

    if (hs_proc_read_file("/proc/self/status", &b) == 0 &&
        (p = strstr(b.buf, key)))
        caps = strtoull(p + strlen(key), NULL, 16);
    hs_buf_release(&b);
    free(key);
    return caps;
}

/* /proc/sys/kernel/yama/ptrace_scope, or -1 without Yama. */
static int
yama_scope(void)
{
    struct hs_buf b = HS_BUF_INIT;
    int v = -1;

    if (hs_proc_read_file("/proc/sys/kernel/yama/ptrace_scope", &b) == 0 &&
        b.len)
        v = (int)strtol(b.buf, NULL, 10);
    hs_buf_release(&b);
    return v;
}

/*
 * Explains why the kernel refused to let heapsnap trace (or read) `pid`:
 * names the setting that decides it.  Always returns -1 (exit 4).
 */
int
hs_target_explain_denied(pid_t pid, const struct hs_proc_info *pi, int err)
{
    int cap = (int)((my_caps("CapEff") >> 19) & 1); /* CAP_SYS_PTRACE */
    int scope = yama_scope();
    uid_t me = geteuid();

    if (pi->tracer)
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: it is already traced "
                        "by process %d (a debugger?); detach that first",
                        (int)pid, (int)pi->tracer);
    if (scope == 3)
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: ptrace is disabled "
                        "on this machine (/proc/sys/kernel/yama/"
                        "ptrace_scope is 3)",
                        (int)pid);
    if (!cap && scope == 2)
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: /proc/sys/kernel/yama/"
                        "ptrace_scope is 2, which lets only CAP_SYS_PTRACE "
                        "(root) attach",
                        (int)pid);
    if (!cap && (pi->uid != me || pi->real_uid != me))
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: it runs as uid %lu "
                        "and heapsnap as uid %lu; run heapsnap as that user "
                        "or as root (CAP_SYS_PTRACE)",
                        (int)pid, (unsigned long)pi->uid, (unsigned long)me);
    if (!cap && scope == 1)
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: /proc/sys/kernel/yama/"
                        "ptrace_scope is 1, which lets only a parent process "
                        "attach; run heapsnap as root (CAP_SYS_PTRACE) or "
                        "set it to 0 (sysctl kernel.yama.ptrace_scope=0)",
                        (int)pid);
    if (!cap && pi->proc_owner != pi->uid)
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: it is not dumpable "
                        "(setuid, or prctl(PR_SET_DUMPABLE, 0)), which only "
                        "CAP_SYS_PTRACE (root) overrides",
                        (int)pid);
    if (!cap && (pi->cap_prm & ~my_caps("CapPrm")))
        return hs_error(HS_EXIT_IO,
                        "cannot attach to process %d: it holds capabilities "
                        "heapsnap lacks (CapPrm %llx), which only "
                        "CAP_SYS_PTRACE overrides; run heapsnap as root",
                        (int)pid, (unsigned long long)pi->cap_prm);
    return hs_error(HS_EXIT_IO,
                    "cannot attach to process %d: %s (%s; in a container, "
                    "ptrace needs --cap-add=SYS_PTRACE)",
                    (int)pid, strerror(err),
                    cap ? "a security policy (seccomp, SELinux, AppArmor) "
                          "forbids it"
                        : "heapsnap lacks CAP_SYS_PTRACE and the process "
                          "may be non-dumpable (prctl(PR_SET_DUMPABLE, 0)) "
                          "or protected by a security policy");
}

/* 1 if the target sees this process's files under the same names. */
int
hs_target_same_view(pid_t pid, const struct hs_proc_info *pi)
{
    char path[64];
    struct stat mine, theirs;

    if (pi->uid != geteuid())
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/ns/mnt", (int)pid);
    if (stat("/proc/self/ns/mnt", &mine) || stat(path, &theirs) ||
        mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
        return 0;
    snprintf(path, sizeof(path), "/proc/%d/root", (int)pid);
    if (stat("/", &mine) || stat(path, &theirs) ||
        mine.st_ino != theirs.st_ino || mine.st_dev != theirs.st_dev)
        return 0;
    return 1;
}

/* ---- memory map --------------------------------------------------------- */

void
hs_maps_release(struct hs_maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* Parses the text of a maps file (attach_target.h); modifies `text`. */
void
hs_maps_parse(char *text, struct hs_maps *m)
{
    char *line, *nl;

    memset(m, 0, sizeof(*m));
    for (line = text; *line; line = nl) {
        struct hs_mapping mp;
        char *p = line, *end;

        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        else
            nl = line + strlen(line);
        memset(&mp, 0, sizeof(mp));
        mp.start = strtoull(p, &end, 16);
        if (*end != '-')
            continue;
        mp.end = strtoull(end + 1, &p, 16);
        while (*p == ' ')
            p++;
        mp.exec = strlen(p) > 3 && p[2] == 'x';
        p += strcspn(p, " ");
        mp.offset = strtoull(p, &p, 16);
        /* device, inode, then the name after a run of spaces */
        for (int field = 0; field < 2; field++) {
            while (*p == ' ')
                p++;
            p += strcspn(p, " ");
        }
        while (*p == ' ')
            p++;
        if (*p)
            mp.path = hs_xstrdup(p);
        HS_ALLOC_GROW(m->v, m->n + 1, m->alloc);
        m->v[m->n++] = mp;
    }
}

/* Parses /proc/PID/maps; -1 with errno when it cannot be read. */
int
hs_maps_read(pid_t pid, struct hs_maps *m)
{
    char path[64];
    struct hs_buf b = HS_BUF_INIT;

    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    if (hs_proc_read_file(path, &b) < 0)
        return -1;
    hs_maps_parse(b.buf, m);
    hs_buf_release(&b);
    return 0;
}

/* The mapping holding `addr`, or NULL. */
const struct hs_mapping *
hs_maps_find(const struct hs_maps *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++) {
        if (addr >= m->v[i].start && addr < m->v[i].end)
            return &m->v[i];
    }
    return NULL;
}

/* The first mapping of file `path` at file offset 0, or NULL. */
static const struct hs_mapping *
maps_first_of(const struct hs_maps *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].path && !strcmp(m->v[i].path, path) && !m->v[i].offset)
            return &m->v[i];
    }
    return NULL;
}

/* ---- ELF dynamic symbols ---------------------------------------------- */

void
hs_elf_release(struct hs_elf *e)
{
    if (e->fd >= 0)
        close(e->fd);
    free(e->ph);
    free(e->sh);
    free(e->syms);
    free(e->strs);
    free(e->versym);
    memset(e, 0, sizeof(*e));
    e->fd = -1;
}

/* Reads exactly `len` bytes at `off` into a new buffer; NULL on error. */
static void *
pread_alloc(int fd, uint64_t off, uint64_t len, size_t extra)
{
    char *buf;
    ssize_t n;

    if (len > (64u << 20))
        return NULL;
    buf = hs_xmalloc((size_t)len + extra);
    n = pread(fd, buf, (size_t)len, (off_t)off);
    if (n != (ssize_t)len) {
        free(buf);
        return NULL;
    }
    memset(buf + len, 0, extra);
    return buf;
}

/*
 * Opens `path` and reads its headers and dynamic symbol table.  Returns 0,
 * or -1 (errno set; EINVAL for "not a 64-bit ELF file of this machine").
 * Cost: O(size of .dynsym + .dynstr).
 */
int
hs_elf_open(const char *path, struct hs_elf *e)
{
    const Elf64_Shdr *dynsym = NULL, *versym = NULL;

    memset(e, 0, sizeof(*e));
    e->fd = open(path, O_RDONLY | O_CLOEXEC);
    if (e->fd < 0)
        return -1;
    if (pread(e->fd, &e->eh, sizeof(e->eh), 0) != (ssize_t)sizeof(e->eh) ||
        memcmp(e->eh.e_ident, ELFMAG, SELFMAG) ||
        e->eh.e_ident[EI_CLASS] != ELFCLASS64 ||
        e->eh.e_machine != EM_X86_64 ||
        e->eh.e_phentsize != sizeof(Elf64_Phdr) ||
        e->eh.e_shentsize != sizeof(Elf64_Shdr))
        goto invalid;
    e->ph = pread_alloc(e->fd, e->eh.e_phoff,
                        (uint64_t)e->eh.e_phnum * sizeof(Elf64_Phdr), 0);
    e->sh = pread_alloc(e->fd, e->eh.e_shoff,
                        (uint64_t)e->eh.e_shnum * sizeof(Elf64_Shdr), 0);
    if (!e->ph || !e->sh)
        goto invalid;
    for (unsigned i = 0; i < e->eh.e_phnum; i++) {
        if (e->ph[i].p_type == PT_LOAD && e->ph[i].p_offset == 0) {
            e->base_vaddr = e->ph[i].p_vaddr & ~(uint64_t)4095;
            break;
        }
    }
    for (unsigned i = 0; i < e->eh.e_shnum; i++) {
        if (e->sh[i].sh_type == SHT_DYNSYM)
            dynsym = &e->sh[i];
        else if (e->sh[i].sh_type == SHT_GNU_versym)
            versym = &e->sh[i];
    }
    if (!dynsym || dynsym->sh_link >= e->eh.e_shnum ||
        dynsym->sh_entsize != sizeof(Elf64_Sym))
        goto invalid;
    e->nsyms = (size_t)(dynsym->sh_size / sizeof(Elf64_Sym));
    e->syms = pread_alloc(e->fd, dynsym->sh_offset, dynsym->sh_size, 0);
    e->nstrs = (size_t)e->sh[dynsym->sh_link].sh_size;
    e->strs =
        pread_alloc(e->fd, e->sh[dynsym->sh_link].sh_offset, e->nstrs, 1);
    if (!e->syms || !e->strs)
        goto invalid;
    if (versym && versym->sh_size == (uint64_t)e->nsyms * 2)
        e->versym = pread_alloc(e->fd, versym->sh_offset, versym->sh_size, 0);
    return 0;
invalid:
    hs_elf_release(e);
    errno = EINVAL;
    return -1;
}

/*
 * Looks up defined dynamic symbol `name`; prefers the default version
 * (foo@@V) over hidden ones (foo@V).  Returns 1 and *out, or 0.
 * Cost: O(nsyms).
 */
int
hs_elf_symbol(const struct hs_elf *e, const char *name, Elf64_Sym *out)
{
    int found = 0;

    for (size_t i = 1; i < e->nsyms; i++) {
        const Elf64_Sym *s = &e->syms[i];

        if (s->st_shndx == SHN_UNDEF || s->st_name >= e->nstrs ||
            strcmp(e->strs + s->st_name, name))
            continue;
        *out = *s;
        found = 1;
        if (!e->versym || !(e->versym[i] & 0x8000))
            break;
    }
    return found;
}

/* Reads `len` bytes of the file image at virtual address `vaddr`; 0/-1. */
static int
elf_read_vaddr(const struct hs_elf *e, uint64_t vaddr, void *buf, size_t len)
{
    for (unsigned i = 0; i < e->eh.e_phnum; i++) {
        const Elf64_Phdr *p = &e->ph[i];

        if (p->p_type == PT_LOAD && vaddr >= p->p_vaddr &&
            vaddr + len <= p->p_vaddr + p->p_filesz)
            return pread(e->fd, buf, len,
                         (off_t)(p->p_offset + (vaddr - p->p_vaddr))) ==
                           (ssize_t)len
                       ? 0
                       : -1;
    }
    return -1;
}

/* The header of section `name`, or NULL.  Cost: O(sections). */
static const Elf64_Shdr *
elf_section(const struct hs_elf *e, const char *name)
{
    const Elf64_Shdr *shstr, *found = NULL;
    char *names;

    if (e->eh.e_shstrndx >= e->eh.e_shnum)
        return NULL;
    shstr = &e->sh[e->eh.e_shstrndx];
    names = pread_alloc(e->fd, shstr->sh_offset, shstr->sh_size, 1);
    for (unsigned i = 0; names && i < e->eh.e_shnum && !found; i++) {
        if (e->sh[i].sh_name < shstr->sh_size &&
            !strcmp(names + e->sh[i].sh_name, name))
            found = &e->sh[i];
    }
    free(names);
    return found;
}

/*
 * 1 if NUL-terminated string `s` is one of the strings of section `name`
 * (e.g. .rodata), else 0.  Cost: O(size of the section).
 */
int
hs_elf_has_string(const struct hs_elf *e, const char *name, const char *s)
{
    const Elf64_Shdr *sec = elf_section(e, name);
    size_t n = strlen(s) + 1;
    char *data;
    int found = 0;

    if (!sec || sec->sh_type == SHT_NOBITS)
        return 0;
    data = pread_alloc(e->fd, sec->sh_offset, sec->sh_size, 1);
    for (size_t at = 0; data && !found && at + n <= sec->sh_size; at++)
        found = (at == 0 || data[at - 1] == '\0') && !memcmp(data + at, s, n);
    free(data);
    return found;
}

/*
 * Finds a "3.X.Y" string in .rodata (the PY_VERSION literal of a static
 * python older than 3.11, which has no Py_Version).  Fills major/minor and
 * `out` when exactly one minor version appears; returns 1, else 0.  Blind
 * to a literal the linker merged into the tail of a longer string (pyenv's
 * prefix "/root/.pyenv/versions/3.8.18" swallows "3.8.18").
 */
static int
elf_rodata_version(const struct hs_elf *e, int *major, int *minor, char *out,
                   size_t outlen)
{
    const Elf64_Shdr *s = elf_section(e, ".rodata");
    char *data = NULL;
    int found = 0, ok = 1;

    if (s)
        data = pread_alloc(e->fd, s->sh_offset, s->sh_size, 1);
    for (char *p = data; data && p < data + s->sh_size; p += strlen(p) + 1) {
        int a, b, c, n = 0;

        if (p > data && p[-1] != '\0')
            continue;
        if (sscanf(p, "%d.%d.%d%n", &a, &b, &c, &n) != 3 || a != 3 ||
            p[n] != '\0' || strchr(p, ' '))
            continue;
        if (found && (b != *minor))
            ok = 0;
        *major = a;
        *minor = b;
        snprintf(out, outlen, "%s", p);
        found = 1;
    }
    free(data);
    /* Two minor versions say nothing: leave no string behind for the
     * caller, who falls back to the file's name. */
    if (!ok)
        out[0] = '\0';
    return found && ok;
}

/* ---- the target --------------------------------------------------------- */

void
hs_target_release(struct hs_target *t)
{
    hs_maps_release(&t->maps);
    free(t->exe);
    free(t->python);
    for (size_t i = 0; i < t->nchecked; i++)
        free(t->checked[i]);
    hs_python_release(&t->py);
}

/*
 * The address and size of section `name` of ELF file `path` as the target
 * maps it (its first mapping's start minus the file's base address, plus
 * the section's address).  0, or -1 with errno (ENOENT: not mapped or no
 * such section).
 */
int
hs_target_section(const struct hs_target *t, const char *path,
                  const char *name, uint64_t *addr, uint64_t *size)
{
    const struct hs_mapping *first = maps_first_of(&t->maps, path);
    const Elf64_Shdr *sec;
    struct hs_elf e;

    if (!first) {
        errno = ENOENT;
        return -1;
    }
    if (hs_target_elf(t, path, &e) < 0)
        return -1;
    sec = elf_section(&e, name);
    if (sec) {
        *addr = first->start - e.base_vaddr + sec->sh_addr;
        *size = sec->sh_size;
    }
    hs_elf_release(&e);
    if (!sec)
        errno = ENOENT;
    return sec ? 0 : -1;
}

/* Opens the ELF file `path` of the target (through /proc/PID/root). */
int
hs_target_elf(const struct hs_target *t, const char *path, struct hs_elf *e)
{
    char *full = hs_xasprintf("%s%s", t->root, path);
    int rc = hs_elf_open(full, e);

    free(full);
    return rc;
}

/* Parses "libpythonX.Y[flags].so..." into its parts; 1 if it is one. */
static int
libpython_name(const char *base, int *major, int *minor, char *flags,
               size_t flagslen)
{
    int n = 0;
    const char *p;
    size_t k = 0;

    if (sscanf(base, "libpython%d.%d%n", major, minor, &n) != 2)
        return 0;
    for (p = base + n; *p >= 'a' && *p <= 'z'; p++) {
        if (k + 1 < flagslen)
            flags[k++] = *p;
    }
    flags[k] = '\0';
    return !strncmp(p, ".so", 3);
}

/*
 * Identifies the Python in `t` (the map is read): the C API's file, its
 * version and build.  Returns 0, or -1 after an error (exit 2: not a
 * CPython process, unknown or unsupported version, free-threaded).
 */
int
hs_target_python(struct hs_target *t)
{
    struct hs_elf e;
    Elf64_Sym s;
    char flags[8] = "";
    int have_name = 0, rc = -1;
    uint32_t hex = 0;

    for (size_t i = 0; i < t->maps.n && !t->python; i++) {
        const char *path = t->maps.v[i].path;

        if (path && path[0] == '/' &&
            libpython_name(hs_base_name(path), &t->major, &t->minor, flags,
                           sizeof(flags))) {
            t->python = hs_xstrdup(path);
            have_name = 1;
        }
    }
    if (!t->python && t->exe) {
        if (hs_target_elf(t, t->exe, &e) == 0) {
            if (hs_elf_symbol(&e, "PyGILState_Ensure", &s) &&
                hs_elf_symbol(&e, "Py_IsInitialized", &s)) {
                t->python = hs_xstrdup(t->exe);
                t->python_is_exe = 1;
            }
            hs_elf_release(&e);
        } else if (errno == EACCES || errno == EPERM)
            return hs_target_explain_denied(t->pid, &t->info, errno);
    }
    if (!t->python)
        return hs_error(HS_EXIT_USAGE,
                        "process %d ('%s') is not a CPython process: no "
                        "libpython in its memory and its executable '%s' "
                        "does not export the Python C API",
                        (int)t->pid, t->info.comm, t->exe ? t->exe : "?");
    if (hs_target_elf(t, t->python, &e) < 0) {
        if (errno == EACCES || errno == EPERM)
            return hs_target_explain_denied(t->pid, &t->info, errno);
        return hs_error(HS_EXIT_IO, "cannot read '%s' of process %d: %s",
                        t->python, (int)t->pid, strerror(errno));
    }
    /* const unsigned long Py_Version (3.11+); little-endian, so its low
     * 32 bits come first whatever its size. */
    if (hs_elf_symbol(&e, "Py_Version", &s) && s.st_size >= 4 &&
        elf_read_vaddr(&e, s.st_value, &hex, 4) == 0) {
        static const char *const level[16] = {
            [0xA] = "a",
            [0xB] = "b",
            [0xC] = "rc",
            [0xF] = "",
        };
        const char *lv = level[(hex >> 4) & 0xF];

        t->major = (int)(hex >> 24);
        t->minor = (int)((hex >> 16) & 0xFF);
        snprintf(t->version, sizeof(t->version), "%d.%d.%u%s", t->major,
                 t->minor, (hex >> 8) & 0xFF, lv ? lv : "?");
        if (lv && *lv)
            snprintf(t->version + strlen(t->version),
                     sizeof(t->version) - strlen(t->version), "%u", hex & 0xF);
    } else if (have_name) {
        snprintf(t->version, sizeof(t->version), "%d.%d", t->major, t->minor);
    } else if (!elf_rodata_version(&e, &t->major, &t->minor, t->version,
                                   sizeof(t->version)) &&
               sscanf(hs_base_name(t->python), "python%d.%d", &t->major,
                      &t->minor) != 2) {
        hs_error(HS_EXIT_USAGE,
                 "cannot tell which Python version process %d ('%s') "
                 "runs: '%s' has no Py_Version and no version string",
                 (int)t->pid, t->info.comm, t->python);
        goto out;
    }
    if (!t->version[0])
        snprintf(t->version, sizeof(t->version), "%d.%d", t->major, t->minor);
    if (t->major != 3 || t->minor < 8) {
        hs_error(HS_EXIT_USAGE,
                 "process %d runs Python %s ('%s'); heapsnap needs CPython "
                 "3.8 or newer",
                 (int)t->pid, t->version, t->python);
        goto out;
    }
    if (strchr(flags, 't') || hs_elf_symbol(&e, "_Py_DecRefShared", &s)) {
        hs_error(HS_EXIT_USAGE,
                 "process %d runs a free-threaded build of Python %s, which "
                 "heapsnap does not support yet",
                 (int)t->pid, t->version);
        goto out;
    }
    {
        /* The agent's file name: EXT_SUFFIX of this build ("t" excluded
         * above; "d" for debug builds stays). */
        char abiflags[8] = "";

        snprintf(abiflags, sizeof(abiflags), "%s",
                 strchr(flags, 'd') ? "d" : "");
        t->py.exe = hs_xstrdup(t->exe ? t->exe : t->python);
        t->py.impl = hs_xstrdup("CPython");
        t->py.version = hs_xstrdup(t->version);
        snprintf(t->py.minor, sizeof(t->py.minor), "%d.%d", t->major,
                 t->minor);
        t->py.major_minor = t->major << 8 | t->minor;
        t->py.ext_suffix = hs_xasprintf(".cpython-%d%d%s-x86_64-linux-gnu.so",
                                        t->major, t->minor, abiflags);
    }
    rc = 0;
out:
    hs_elf_release(&e);
    return rc;
}

/* 1 if the file of `path` is one of the C library's objects. */
static int
is_libc_object(const char *base)
{
    return hs_starts_with(base, "libc.so") || hs_starts_with(base, "libc-2.") ||
           hs_starts_with(base, "libdl.so") || hs_starts_with(base, "libdl-2.") ||
           hs_starts_with(base, "ld-musl-") || hs_starts_with(base, "libc.musl-");
}

/* 1 if process `pid` is gone or a zombie: what it showed of itself while
 * exiting (no memory, no C library) says nothing about what it was. */
static int
target_exited(pid_t pid)
{
    struct hs_proc_info info;

    return hs_proc_info_read(pid, &info) < 0 || info.state == 'Z' ||
           info.state == 'X';
}

/*
 * Finds dlopen, dlsym, dlerror and __errno_location in the target's C
 * library (libc, or libdl before glibc 2.34).  0, or -1 after an error.
 */
static int
target_libc(struct hs_target *t)
{
    static const char *const names[][2] = {
        { "__errno_location", NULL },
        { "dlopen", "__libc_dlopen_mode" },
        { "dlsym", "__libc_dlsym" },
        { "dlerror", NULL },
    };
    uint64_t *slots[] = { &t->fn_errno, &t->fn_dlopen, &t->fn_dlsym,
                          &t->fn_dlerror };
    const char *seen = NULL;

    for (size_t i = 0; i < t->maps.n; i++) {
        const struct hs_mapping *m = &t->maps.v[i];
        const struct hs_mapping *first;
        struct hs_elf e;

        if (!m->path || m->path[0] != '/' || m->offset ||
            !is_libc_object(hs_base_name(m->path)) ||
            (seen && !strcmp(seen, m->path)))
            continue;
        seen = m->path;
        first = maps_first_of(&t->maps, m->path);
        if (!first || hs_target_elf(t, m->path, &e) < 0)
            continue;
        for (size_t k = 0; k < HS_ARRAY_SIZE(names); k++) {
            for (size_t alt = 0; alt < 2 && !*slots[k]; alt++) {
                Elf64_Sym s;

                if (names[k][alt] && hs_elf_symbol(&e, names[k][alt], &s) &&
                    ELF64_ST_TYPE(s.st_info) == STT_FUNC)
                    *slots[k] = first->start - e.base_vaddr + s.st_value;
            }
        }
        hs_elf_release(&e);
    }
    if ((!t->fn_errno || !t->fn_dlopen || !t->fn_dlsym) &&
        target_exited(t->pid))
        return hs_error(HS_EXIT_IO, "process %d exited during the attach",
                        (int)t->pid);
    if (!t->fn_errno || !t->fn_dlopen || !t->fn_dlsym)
        return hs_error(HS_EXIT_USAGE,
                        "cannot attach to process %d: no dlopen() found in "
                        "its C library (heapsnap supports glibc and musl)",
                        (int)t->pid);
    return 0;
}

/*
 * Learns everything about process `pid` without stopping it.  Returns 0,
 * or -1 after an error (exit 2 or 4, see hs_attach_dump()).
 */
int
hs_target_inspect(pid_t pid, struct hs_target *t)
{
    char path[64], exe[PATH_MAX];
    ssize_t n;

    memset(t, 0, sizeof(*t));
    t->pid = pid;
    snprintf(t->root, sizeof(t->root), "/proc/%d/root", (int)pid);
    if (pid <= 0 || hs_proc_info_read(pid, &t->info) < 0)
        return hs_error(HS_EXIT_USAGE, "no process with pid %d", (int)pid);
    if (pid == getpid())
        return hs_error(HS_EXIT_USAGE, "process %d is heapsnap itself",
                        (int)pid);
    if (t->info.state == 'Z' || t->info.state == 'X')
        return hs_error(HS_EXIT_IO, "process %d ('%s') has exited", (int)pid,
                        t->info.comm);
    if (hs_maps_read(pid, &t->maps) < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return hs_error(HS_EXIT_USAGE, "no process with pid %d", (int)pid);
        return hs_target_explain_denied(pid, &t->info, errno);
    }
    if (!t->maps.n && target_exited(pid))
        return hs_error(HS_EXIT_IO, "process %d exited during the attach",
                        (int)pid);
    if (!t->maps.n)
        return hs_error(HS_EXIT_USAGE,
                        "process %d ('%s') is not a CPython process (it "
                        "has no user memory: a kernel thread?)",
                        (int)pid, t->info.comm);
    snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
    n = readlink(path, exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        t->exe = hs_xstrdup(exe);
    }
    if (hs_target_python(t) < 0)
        return -1;
    return target_libc(t);
}

#endif /* x86-64 Linux */
