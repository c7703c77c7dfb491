/*
 * attach.c: `heapsnap dump --pid PID` (attach.h): load the agent into a
 * running CPython 3.8-3.13 with ptrace (no gdb) and snapshot it.
 *
 * Look before touching (maps + ELF symbols: CPython? which version? an
 * agent for it?), then stop ONE thread at a safe point, make it call
 * dlopen() on the loader (inject/inject.c) and the loader's start function
 * by setting its registers, restore everything and detach.  The loader's
 * own thread takes the GIL, dumps and reports on a status file polled here.
 *
 * Owns: the ptrace session (at most one stopped thread at a time), the
 * staging folder and status file of one attach.  Invariants: nothing is
 * written into the target's code; every register, the vector state, errno
 * and every byte written below its stack pointer are restored before
 * detaching; no thread is left stopped on any path; no wait outlasts
 * --timeout but a call already running in the target (it gets 5 s).
 */
#include "attach.h"
#include "launch.h"

#include <dirent.h>
#include <elf.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * Design notes.
 *
 * Why ptrace injection and not gdb or a pending call.  gdb may be missing
 * (pyrasite's silent failures), and Python-level tricks need code already
 * running in the target.  Running Python on the stopped thread (pyrasite)
 * is unsafe: it may be stopped mid-malloc, mid-GC or inside a dict resize.
 * So the stopped thread runs only C: dlopen() and a start function that
 * opens a file and creates a thread (memray's rule).  Python runs later on
 * that new thread, after PyGILState_Ensure(): a GIL holder is a safe point
 * by definition, and a thread waiting for the GIL makes a busy main thread
 * drop it within the switch interval, on 3.9-3.12 too (P9, gh-95820).
 *
 * Why these stop points.  dlopen() takes the loader lock and malloc's
 * arena lock; a thread stopped while holding either deadlocks it.  A
 * thread blocked in a leaf syscall (nanosleep, poll, read, futex: the GIL
 * wait) called from outside ld.so holds neither; nor does a thread running
 * in libpython or an extension, as opposed to libc, ld.so, libgcc_s or a
 * library that defines malloc, unless it is in a signal handler (it then
 * blocks a signal the process catches).  memray gets the same property by
 * breaking on malloc entry; sampling writes no breakpoints into code.
 * Threads are tried blocked ones first, then running ones are sampled, a
 * fresh map each round.  Other threads keep running, so they release
 * whatever lock they hold.
 *
 * Residual risks: a signal handler that blocks nothing (SA_NODEFER) and
 * interrupted malloc, a futex wait inside ld.so's own lock sequence,
 * shadow-stack (CET) processes (refused), and SIGKILL of heapsnap in the
 * few milliseconds a call is in flight (the thread then returns to
 * address 0 and crashes; catchable signals are blocked meanwhile).
 *
 * 3.14 plan: sys.remote_exec (PEP 768) runs a script at the main thread's
 * next eval-breaker check with no ptrace stop: read _Py_DebugOffsets at the
 * start of the .PyRuntime section, find the main thread state, write a
 * script path into tstate->remote_debugger_support and set the "please
 * stop" eval-breaker bit, all with process_vm_writev.  The script would
 * load the agent by absolute path exactly like the loader's payload.  It
 * can be disabled in the target (PYTHON_DISABLE_REMOTE_DEBUG), so the
 * ptrace path stays as the fallback.
 */

#if defined(__x86_64__) && defined(__linux__)

/* ---- small helpers ---------------------------------------------------- */

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
sleep_s(double s)
{
    struct timespec ts;

    ts.tv_sec = (time_t)s;
    ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* Reads all of `path` (small files, /proc) into `out`; 0, or -1 with
 * errno set. */
static int
read_whole(const char *path, struct hs_buf *out)
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

static const char *
base_name(const char *path)
{
    const char *slash = strrchr(path, '/');

    return slash ? slash + 1 : path;
}

static int
starts_with(const char *s, const char *prefix)
{
    return !strncmp(s, prefix, strlen(prefix));
}

/* ---- the process ------------------------------------------------------ */

/* Facts from /proc/PID/status and friends. */
struct proc_info {
    char comm[64];    /* Name: */
    char state;       /* R, S, D, T, t, Z, X */
    uid_t uid;        /* effective uid */
    gid_t gid;        /* effective gid */
    uid_t real_uid;   /* real uid (ptrace compares all of them) */
    pid_t tracer;     /* TracerPid: */
    uint64_t cap_prm; /* CapPrm: permitted capabilities */
    int shadow_stack; /* x86 user shadow stack enabled (CET) */
    uid_t proc_owner; /* owner of /proc/PID/status: root if not dumpable */
};

/* Reads the facts; -1 with errno (ENOENT: no such process). */
static int
proc_info_read(pid_t pid, struct proc_info *pi)
{
    char path[64];
    struct hs_buf b = HS_BUF_INIT;
    struct stat st;
    char *line, *nl;

    memset(pi, 0, sizeof(*pi));
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    if (read_whole(path, &b) < 0)
        return -1;
    for (line = b.buf; *line; line = nl) {
        unsigned long a = 0, e = 0;

        nl = strchr(line, '\n');
        nl = nl ? nl + 1 : line + strlen(line);
        if (starts_with(line, "Name:\t"))
            snprintf(pi->comm, sizeof(pi->comm), "%.*s",
                     (int)strcspn(line + 6, "\n"), line + 6);
        else if (starts_with(line, "State:\t"))
            pi->state = line[7];
        else if (sscanf(line, "Uid:\t%lu\t%lu", &a, &e) == 2) {
            pi->real_uid = (uid_t)a;
            pi->uid = (uid_t)e;
        } else if (sscanf(line, "Gid:\t%lu\t%lu", &a, &e) == 2)
            pi->gid = (gid_t)e;
        else if (sscanf(line, "TracerPid:\t%lu", &a) == 1)
            pi->tracer = (pid_t)a;
        else if (starts_with(line, "CapPrm:\t"))
            pi->cap_prm = strtoull(line + 8, NULL, 16);
        else if (starts_with(line, "x86_Thread_features:")) {
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

    if (read_whole("/proc/self/status", &b) == 0 && (p = strstr(b.buf, key)))
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

    if (read_whole("/proc/sys/kernel/yama/ptrace_scope", &b) == 0 && b.len)
        v = (int)strtol(b.buf, NULL, 10);
    hs_buf_release(&b);
    return v;
}

/*
 * Explains why the kernel refused to let heapsnap trace (or read) `pid`:
 * names the setting that decides it.  Always returns -1 (exit 4).
 */
static int
explain_denied(pid_t pid, const struct proc_info *pi, int err)
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

/* ---- memory map --------------------------------------------------------- */

/* One line of /proc/PID/maps. */
struct mapping {
    uint64_t start;  /* first address */
    uint64_t end;    /* one past the last address */
    uint64_t offset; /* file offset of `start` */
    int exec;        /* mapped executable */
    char *path;      /* file as the target names it, "[vdso]", or NULL */
};

struct maps {
    struct mapping *v; /* in address order */
    size_t n;          /* entries in use */
    size_t alloc;      /* entries allocated */
};

static void
maps_release(struct maps *m)
{
    for (size_t i = 0; i < m->n; i++)
        free(m->v[i].path);
    free(m->v);
    memset(m, 0, sizeof(*m));
}

/* Parses /proc/PID/maps; -1 with errno when it cannot be read. */
static int
maps_read(pid_t pid, struct maps *m)
{
    char path[64];
    struct hs_buf b = HS_BUF_INIT;
    char *line, *nl;

    memset(m, 0, sizeof(*m));
    snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
    if (read_whole(path, &b) < 0)
        return -1;
    for (line = b.buf; *line; line = nl) {
        struct mapping mp;
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
    hs_buf_release(&b);
    return 0;
}

/* The mapping holding `addr`, or NULL. */
static const struct mapping *
maps_find(const struct maps *m, uint64_t addr)
{
    for (size_t i = 0; i < m->n; i++) {
        if (addr >= m->v[i].start && addr < m->v[i].end)
            return &m->v[i];
    }
    return NULL;
}

/* The first mapping of file `path` at file offset 0, or NULL. */
static const struct mapping *
maps_first_of(const struct maps *m, const char *path)
{
    for (size_t i = 0; i < m->n; i++) {
        if (m->v[i].path && !strcmp(m->v[i].path, path) && !m->v[i].offset)
            return &m->v[i];
    }
    return NULL;
}

/* ---- ELF dynamic symbols ---------------------------------------------- */

/* The dynamic symbol table of one ELF file, read with pread. */
struct elf_image {
    int fd;              /* the open file */
    Elf64_Ehdr eh;       /* file header */
    Elf64_Phdr *ph;      /* program headers (eh.e_phnum) */
    Elf64_Shdr *sh;      /* section headers (eh.e_shnum) */
    Elf64_Sym *syms;     /* .dynsym */
    size_t nsyms;        /* entries in syms */
    char *strs;          /* .dynstr, NUL-terminated */
    size_t nstrs;        /* bytes in strs */
    uint16_t *versym;    /* .gnu.version (nsyms entries), or NULL */
    uint64_t base_vaddr; /* vaddr of the PT_LOAD at file offset 0 */
};

static void
elf_release(struct elf_image *e)
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
static int
elf_open(const char *path, struct elf_image *e)
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
    elf_release(e);
    errno = EINVAL;
    return -1;
}

/*
 * Looks up defined dynamic symbol `name`; prefers the default version
 * (foo@@V) over hidden ones (foo@V).  Returns 1 and *out, or 0.
 * Cost: O(nsyms).
 */
static int
elf_symbol(const struct elf_image *e, const char *name, Elf64_Sym *out)
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
elf_read_vaddr(const struct elf_image *e, uint64_t vaddr, void *buf,
               size_t len)
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

/*
 * Finds a "3.X.Y" string in .rodata (the PY_VERSION literal of a static
 * python older than 3.11, which has no Py_Version).  Fills major/minor and
 * `out` when exactly one minor version appears; returns 1, else 0.
 */
static int
elf_rodata_version(const struct elf_image *e, int *major, int *minor,
                   char *out, size_t outlen)
{
    const Elf64_Shdr *shstr;
    char *names = NULL, *data = NULL;
    int found = 0, ok = 1;

    if (e->eh.e_shstrndx >= e->eh.e_shnum)
        return 0;
    shstr = &e->sh[e->eh.e_shstrndx];
    names = pread_alloc(e->fd, shstr->sh_offset, shstr->sh_size, 1);
    for (unsigned i = 0; names && i < e->eh.e_shnum && !data; i++) {
        const Elf64_Shdr *s = &e->sh[i];

        if (s->sh_name < shstr->sh_size &&
            !strcmp(names + s->sh_name, ".rodata"))
            data = pread_alloc(e->fd, s->sh_offset, s->sh_size, 1);
        if (data) {
            for (char *p = data; p < data + s->sh_size; p += strlen(p) + 1) {
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
        }
    }
    free(names);
    free(data);
    return found && ok;
}

/* ---- the target --------------------------------------------------------- */

/* Everything learnt about the process before touching it. */
struct target {
    pid_t pid;             /* the process */
    struct proc_info info; /* its /proc facts */
    char root[64];         /* "/proc/PID/root": prefix to open its files */
    struct maps maps;      /* its memory map */
    char *exe;             /* its executable, as it names it */
    char *python;          /* file exporting the C API */
    int python_is_exe;     /* a static python: the executable itself */
    int major, minor;      /* Python version */
    char version[32];      /* "3.12.1", or "3.9" when only that is known */
    struct hs_python py;   /* for hs_agent_dir() */
    uint64_t fn_errno;     /* __errno_location in the target */
    uint64_t fn_dlopen;    /* dlopen */
    uint64_t fn_dlsym;     /* dlsym */
    uint64_t fn_dlerror;   /* dlerror, or 0 */
    size_t stack_need;     /* bytes inject() writes below the stack */
    char *checked[16];     /* libraries lock_holding_object() read */
    int verdict[16];       /* ... and what it said of each */
    size_t nchecked;       /* entries in use */
};

static void
target_release(struct target *t)
{
    maps_release(&t->maps);
    free(t->exe);
    free(t->python);
    for (size_t i = 0; i < t->nchecked; i++)
        free(t->checked[i]);
    hs_python_release(&t->py);
}

/* Opens the ELF file `path` of the target (through /proc/PID/root). */
static int
target_elf(const struct target *t, const char *path, struct elf_image *e)
{
    char *full = hs_xasprintf("%s%s", t->root, path);
    int rc = elf_open(full, e);

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
static int
target_python(struct target *t)
{
    struct elf_image e;
    Elf64_Sym s;
    char flags[8] = "";
    int have_name = 0, rc = -1;
    uint32_t hex = 0;

    for (size_t i = 0; i < t->maps.n && !t->python; i++) {
        const char *path = t->maps.v[i].path;

        if (path && path[0] == '/' &&
            libpython_name(base_name(path), &t->major, &t->minor, flags,
                           sizeof(flags))) {
            t->python = hs_xstrdup(path);
            have_name = 1;
        }
    }
    if (!t->python && t->exe) {
        if (target_elf(t, t->exe, &e) == 0) {
            if (elf_symbol(&e, "PyGILState_Ensure", &s) &&
                elf_symbol(&e, "Py_IsInitialized", &s)) {
                t->python = hs_xstrdup(t->exe);
                t->python_is_exe = 1;
            }
            elf_release(&e);
        } else if (errno == EACCES || errno == EPERM)
            return explain_denied(t->pid, &t->info, errno);
    }
    if (!t->python)
        return hs_error(HS_EXIT_USAGE,
                        "process %d ('%s') is not a CPython process: no "
                        "libpython in its memory and its executable '%s' "
                        "does not export the Python C API",
                        (int)t->pid, t->info.comm, t->exe ? t->exe : "?");
    if (target_elf(t, t->python, &e) < 0) {
        if (errno == EACCES || errno == EPERM)
            return explain_denied(t->pid, &t->info, errno);
        return hs_error(HS_EXIT_IO, "cannot read '%s' of process %d: %s",
                        t->python, (int)t->pid, strerror(errno));
    }
    /* const unsigned long Py_Version (3.11+); little-endian, so its low
     * 32 bits come first whatever its size. */
    if (elf_symbol(&e, "Py_Version", &s) && s.st_size >= 4 &&
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
               sscanf(base_name(t->python), "python%d.%d", &t->major,
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
    if (strchr(flags, 't') || elf_symbol(&e, "_Py_DecRefShared", &s)) {
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
    elf_release(&e);
    return rc;
}

/* 1 if the file of `path` is one of the C library's objects. */
static int
is_libc_object(const char *base)
{
    return starts_with(base, "libc.so") || starts_with(base, "libc-2.") ||
           starts_with(base, "libdl.so") || starts_with(base, "libdl-2.") ||
           starts_with(base, "ld-musl-") || starts_with(base, "libc.musl-");
}

/*
 * Finds dlopen, dlsym, dlerror and __errno_location in the target's C
 * library (libc, or libdl before glibc 2.34).  0, or -1 after an error.
 */
static int
target_libc(struct target *t)
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
        const struct mapping *m = &t->maps.v[i];
        const struct mapping *first;
        struct elf_image e;

        if (!m->path || m->path[0] != '/' || m->offset ||
            !is_libc_object(base_name(m->path)) ||
            (seen && !strcmp(seen, m->path)))
            continue;
        seen = m->path;
        first = maps_first_of(&t->maps, m->path);
        if (!first || target_elf(t, m->path, &e) < 0)
            continue;
        for (size_t k = 0; k < HS_ARRAY_SIZE(names); k++) {
            for (size_t alt = 0; alt < 2 && !*slots[k]; alt++) {
                Elf64_Sym s;

                if (names[k][alt] && elf_symbol(&e, names[k][alt], &s) &&
                    ELF64_ST_TYPE(s.st_info) == STT_FUNC)
                    *slots[k] = first->start - e.base_vaddr + s.st_value;
            }
        }
        elf_release(&e);
    }
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
static int
target_inspect(pid_t pid, struct target *t)
{
    char path[64], exe[PATH_MAX];
    ssize_t n;

    memset(t, 0, sizeof(*t));
    t->pid = pid;
    snprintf(t->root, sizeof(t->root), "/proc/%d/root", (int)pid);
    if (pid <= 0 || proc_info_read(pid, &t->info) < 0)
        return hs_error(HS_EXIT_USAGE, "no process with pid %d", (int)pid);
    if (pid == getpid())
        return hs_error(HS_EXIT_USAGE, "process %d is heapsnap itself",
                        (int)pid);
    if (t->info.state == 'Z' || t->info.state == 'X')
        return hs_error(HS_EXIT_IO, "process %d ('%s') has exited", (int)pid,
                        t->info.comm);
    if (maps_read(pid, &t->maps) < 0) {
        if (errno == ENOENT || errno == ESRCH)
            return hs_error(HS_EXIT_USAGE, "no process with pid %d", (int)pid);
        return explain_denied(pid, &t->info, errno);
    }
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
    if (target_python(t) < 0)
        return -1;
    return target_libc(t);
}

/* ---- ptrace: one stopped thread ------------------------------------------ */

/* A thread stopped by heapsnap, and what must be put back. */
struct tracee {
    pid_t pid;                     /* its process */
    pid_t tid;                     /* the thread */
    int stopped;                   /* attached and in a ptrace stop */
    int memfd;                     /* /proc/PID/mem, or -1 */
    struct user_regs_struct saved; /* registers at the stop */
    unsigned char *xstate;         /* vector state at the stop */
    size_t xstate_len;             /* bytes of it */
    int fp_legacy;                 /* xstate holds user_fpregs_struct */
    uint64_t scratch;              /* lowest byte written below the stack */
    unsigned char *scratch_saved;  /* its original contents */
    size_t scratch_len;            /* bytes written from `scratch` */
    uint64_t errno_addr;           /* its errno, or 0 */
    int errno_saved;               /* errno's value at the stop */
};

/*
 * The signals that would kill heapsnap in the middle of an injected call
 * (the thread would then return to address 0 and crash).  They are blocked
 * for the whole attach and taken with sigtimedwait() between steps.
 */
static void
fatal_signals(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
    sigaddset(set, SIGQUIT);
}

/* Sleeps `seconds`; returns a fatal signal that arrived meanwhile, or 0. */
static int
sleep_or_signal(double seconds)
{
    sigset_t set;
    struct timespec ts;
    int s;

    fatal_signals(&set);
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    s = sigtimedwait(&set, NULL, &ts);
    return s > 0 ? s : 0;
}

/*
 * Waits for a state change of traced thread `tid` until `deadline`.
 * Returns 1 (stopped, *status set), 0 (timed out) or -1 (it exited or is
 * no longer traced).  Polls: waitpid() has no timeout, and SIGCHLD would
 * race with other children.  Cost: one syscall per 0.1-1 ms.
 */
static int
wait_thread(pid_t tid, double deadline, int *status)
{
    double pause = 50e-6;

    for (;;) {
        pid_t r = waitpid(tid, status, __WALL | WNOHANG);

        if (r == tid)
            return WIFSTOPPED(*status) ? 1 : -1;
        if (r < 0 && errno != EINTR)
            return -1;
        if (now_s() >= deadline)
            return 0;
        sleep_s(pause);
        if (pause < 1e-3)
            pause *= 2;
    }
}

/* Detaches without touching registers (for a thread never modified). */
static void
tracee_detach(struct tracee *tr, int sig)
{
    if (tr->stopped)
        ptrace(PTRACE_DETACH, tr->tid, NULL, (void *)(uintptr_t)sig);
    tr->stopped = 0;
}

/*
 * Seizes thread `tid` and stops it where it is.  Signals that arrive
 * meanwhile are delivered as usual.  Returns 0 (stopped, registers and
 * vector state saved), or -errno: -EPERM (not permitted), -ESRCH (it is
 * gone), -EAGAIN (the process entered a job-control stop), -ETIMEDOUT.
 */
static int
tracee_stop(struct tracee *tr, pid_t pid, pid_t tid, double deadline)
{
    struct iovec iov;
    int status, r;

    memset(tr, 0, sizeof(*tr));
    tr->pid = pid;
    tr->tid = tid;
    tr->memfd = -1;
    if (ptrace(PTRACE_SEIZE, tid, NULL, NULL) < 0)
        return -errno;
    if (ptrace(PTRACE_INTERRUPT, tid, NULL, NULL) < 0) {
        r = -errno;
        ptrace(PTRACE_DETACH, tid, NULL, NULL);
        return r;
    }
    for (;;) {
        r = wait_thread(tid, deadline, &status);
        if (r <= 0)
            /* Not stopped: a tracer that exits detaches; returning the
             * error leads there without waiting longer. */
            return r == 0 ? -ETIMEDOUT : -ESRCH;
        if (status >> 16 == PTRACE_EVENT_STOP) {
            tr->stopped = 1;
            if (WSTOPSIG(status) == SIGTRAP)
                break;
            /* A job-control stop: stay stopped, as the user asked. */
            tracee_detach(tr, 0);
            return -EAGAIN;
        }
        ptrace(PTRACE_CONT, tid, NULL, (void *)(uintptr_t)WSTOPSIG(status));
    }
    if (ptrace(PTRACE_GETREGS, tid, NULL, &tr->saved) < 0) {
        r = -errno;
        tracee_detach(tr, 0);
        return r;
    }
    tr->xstate_len = 1 << 16;
    tr->xstate = hs_xmalloc(tr->xstate_len);
    iov.iov_base = tr->xstate;
    iov.iov_len = tr->xstate_len;
    if (ptrace(PTRACE_GETREGSET, tid, (void *)(uintptr_t)NT_X86_XSTATE,
               &iov) == 0) {
        tr->xstate_len = iov.iov_len;
        return 0;
    }
    /* No XSAVE: the legacy x87/SSE area is all there is. */
    tr->fp_legacy = 1;
    tr->xstate_len = sizeof(struct user_fpregs_struct);
    if (ptrace(PTRACE_GETFPREGS, tid, NULL, tr->xstate) < 0) {
        r = -errno;
        HS_FREE_AND_NULL(tr->xstate);
        tracee_detach(tr, 0);
        return r;
    }
    return 0;
}

/* Puts back errno, the scratch bytes, the vector state and the registers,
 * then detaches.  Best effort: each step is tried even if one fails. */
static void
tracee_restore(struct tracee *tr)
{
    struct iovec iov;

    if (!tr->stopped)
        goto out;
    if (tr->errno_addr && tr->memfd >= 0 &&
        pwrite(tr->memfd, &tr->errno_saved, sizeof(int),
               (off_t)tr->errno_addr) != (ssize_t)sizeof(int))
        hs_warn("could not restore errno of thread %d", (int)tr->tid);
    if (tr->scratch_saved && tr->memfd >= 0 &&
        pwrite(tr->memfd, tr->scratch_saved, tr->scratch_len,
               (off_t)tr->scratch) != (ssize_t)tr->scratch_len)
        hs_warn("could not restore the stack of thread %d", (int)tr->tid);
    iov.iov_base = tr->xstate;
    iov.iov_len = tr->xstate_len;
    if (tr->xstate &&
        (tr->fp_legacy ? ptrace(PTRACE_SETFPREGS, tr->tid, NULL, tr->xstate)
                       : ptrace(PTRACE_SETREGSET, tr->tid,
                                (void *)(uintptr_t)NT_X86_XSTATE, &iov)) < 0)
        hs_warn("could not restore the vector registers of thread %d: %s",
                (int)tr->tid, strerror(errno));
    if (ptrace(PTRACE_SETREGS, tr->tid, NULL, &tr->saved) < 0)
        hs_warn("could not restore the registers of thread %d: %s",
                (int)tr->tid, strerror(errno));
    tracee_detach(tr, 0);
out:
    if (tr->memfd >= 0)
        close(tr->memfd);
    tr->memfd = -1;
    HS_FREE_AND_NULL(tr->xstate);
    HS_FREE_AND_NULL(tr->scratch_saved);
}

/*
 * Calls fn(args...) on the stopped thread: System V ABI, return address 0,
 * stack pointer `sp` (16-byte aligned minus the return slot).  orig_rax is
 * set to -1 so that the kernel does not treat the resume as a syscall
 * restart.  Returns 0 with *ret = rax, or -1 after an error (the thread
 * crashed in the call, exited, or `deadline` passed).
 */
static int
remote_call(struct tracee *tr, uint64_t fn, const uint64_t *args, size_t nargs,
            uint64_t sp, double deadline, uint64_t *ret, const char *what)
{
    struct user_regs_struct regs = tr->saved;
    int status, r;

    regs.rip = fn;
    regs.rsp = sp;
    regs.rax = 0;
    regs.orig_rax = (unsigned long long)-1;
    regs.eflags &= ~(1ULL << 10); /* DF clear on entry */
    regs.rdi = nargs > 0 ? args[0] : 0;
    regs.rsi = nargs > 1 ? args[1] : 0;
    regs.rdx = nargs > 2 ? args[2] : 0;
    if (ptrace(PTRACE_SETREGS, tr->tid, NULL, &regs) < 0 ||
        ptrace(PTRACE_CONT, tr->tid, NULL, NULL) < 0)
        return hs_error(HS_EXIT_IO, "cannot run %s in process %d: %s", what,
                        (int)tr->pid, strerror(errno));
    for (;;) {
        int sig;

        r = wait_thread(tr->tid, deadline, &status);
        if (r < 0) {
            tr->stopped = 0;
            return hs_error(HS_EXIT_IO, "process %d exited during %s",
                            (int)tr->pid, what);
        }
        if (r == 0) {
            /* Stop it again so that it can be restored and detached. */
            ptrace(PTRACE_INTERRUPT, tr->tid, NULL, NULL);
            if (wait_thread(tr->tid, now_s() + 1.0, &status) != 1)
                tr->stopped = 0;
            return hs_error(HS_EXIT_IO,
                            "timed out during %s in thread %d of process "
                            "%d",
                            what, (int)tr->tid, (int)tr->pid);
        }
        sig = WSTOPSIG(status);
        if (status >> 16 == PTRACE_EVENT_STOP) {
            /* Job-control stop: finish the call; the thread stops again
             * by itself once detached (the stop is still in effect). */
            ptrace(PTRACE_CONT, tr->tid, NULL, NULL);
            continue;
        }
        if (sig == SIGSEGV || sig == SIGBUS || sig == SIGILL ||
            sig == SIGFPE || sig == SIGTRAP) {
            if (ptrace(PTRACE_GETREGS, tr->tid, NULL, &regs) < 0)
                return hs_error(HS_EXIT_IO, "cannot read registers: %s",
                                strerror(errno));
            if (sig == SIGSEGV && regs.rip == 0) {
                *ret = regs.rax;
                return 0;
            }
            return hs_error(HS_EXIT_INTERNAL,
                            "%s faulted in process %d (signal %d at "
                            "0x%llx); the call was abandoned",
                            what, (int)tr->pid, sig, regs.rip);
        }
        /* Somebody else's signal: deliver it, as it would have been. */
        ptrace(PTRACE_CONT, tr->tid, NULL, (void *)(uintptr_t)sig);
    }
}

/* Reads a NUL-terminated string of the target (at most len-1 bytes). */
static void
read_string(const struct tracee *tr, uint64_t addr, char *out, size_t len)
{
    ssize_t n = pread(tr->memfd, out, len - 1, (off_t)addr);

    out[n > 0 ? n : 0] = '\0';
}

/* ---- safe points ---------------------------------------------------------- */

/*
 * 1 if a thread blocked in syscall `nr` holds no lock dlopen needs: leaf
 * waits (sleep, poll, I/O, futex: condition and mutex waits release or do
 * not yet hold their lock).  restart_syscall is a resumed sleep or futex.
 */
static int
safe_syscall(long nr)
{
    static const long safe[] = {
        SYS_read,
        SYS_readv,
        SYS_pread64,
        SYS_preadv,
        SYS_write,
        SYS_poll,
        SYS_ppoll,
        SYS_select,
        SYS_pselect6,
        SYS_epoll_wait,
        SYS_epoll_pwait,
        SYS_nanosleep,
        SYS_clock_nanosleep,
        SYS_pause,
        SYS_futex,
        SYS_restart_syscall,
        SYS_wait4,
        SYS_waitid,
        SYS_accept,
        SYS_accept4,
        SYS_connect,
        SYS_recvfrom,
        SYS_recvmsg,
        SYS_recvmmsg,
        SYS_sendto,
        SYS_sendmsg,
        SYS_rt_sigsuspend,
        SYS_rt_sigtimedwait,
        SYS_msgrcv,
        SYS_semtimedop,
        SYS_flock,
        SYS_fcntl,
        SYS_io_getevents,
        SYS_mq_timedreceive,
        SYS_open,
        SYS_openat,
        SYS_sendfile,
    };

    for (size_t i = 0; i < HS_ARRAY_SIZE(safe); i++) {
        if (safe[i] == nr)
            return 1;
    }
    return 0;
}

/*
 * 1 if code in file `path` (a name from the map) may hold a lock dlopen()
 * or malloc() takes.  Verdicts are remembered: a busy thread is sampled
 * many times in the same library.
 */
static int
lock_holding_object(struct target *t, const char *path)
{
    static const char *const names[] = {
        "ld-linux",    "ld-musl",     "libc.so",     "libc-2.",  "libc.musl",
        "libpthread",  "libdl",       "librt",       "libgcc_s", "libstdc++",
        "libjemalloc", "libtcmalloc", "libmimalloc", "libhoard", "libasan",
        "libtsan",     "libubsan",    "liblsan",
    };
    const char *base = base_name(path);
    struct elf_image e;
    Elf64_Sym s;
    int has_malloc;

    for (size_t i = 0; i < HS_ARRAY_SIZE(names); i++) {
        if (starts_with(base, names[i]))
            return 1;
    }
    if (t->python && !strcmp(path, t->python))
        return 0;
    for (size_t i = 0; i < t->nchecked; i++) {
        if (!strcmp(t->checked[i], path))
            return t->verdict[i];
    }
    /* Any other library that replaces malloc holds its locks. */
    has_malloc = 1;
    if (target_elf(t, path, &e) == 0) {
        has_malloc = elf_symbol(&e, "malloc", &s) &&
                     ELF64_ST_TYPE(s.st_info) == STT_FUNC;
        elf_release(&e);
    }
    if (t->nchecked < HS_ARRAY_SIZE(t->checked)) {
        t->checked[t->nchecked] = hs_xstrdup(path);
        t->verdict[t->nchecked++] = has_malloc;
    }
    return has_malloc;
}

/* The hexadecimal field `key` ("SigBlk:") of a /proc status file. */
static uint64_t
status_mask(const char *path, const char *key)
{
    struct hs_buf b = HS_BUF_INIT;
    const char *p;
    uint64_t v = 0;

    if (read_whole(path, &b) == 0 && (p = strstr(b.buf, key)))
        v = strtoull(p + strlen(key), NULL, 16);
    hs_buf_release(&b);
    return v;
}

/*
 * 1 if thread `tid` may be running a signal handler: it blocks a signal
 * the process catches, as a handler does for its own signal.  A handler
 * may have interrupted malloc, so its thread is not a safe point.
 */
static int
maybe_in_handler(pid_t pid, pid_t tid)
{
    char path[96];
    uint64_t blocked, caught;

    snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid,
             (int)tid);
    blocked = status_mask(path, "\nSigBlk:\t");
    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    caught = status_mask(path, "\nSigCgt:\t");
    return (blocked & caught) != 0;
}

/*
 * Decides whether the stopped thread `tid` is at a safe point (see the
 * design notes).  Returns 1, or 0 with a short reason in `why`.
 */
static int
safe_point(struct target *t, pid_t tid, const struct user_regs_struct *r,
           char *why, size_t len)
{
    const struct mapping *m = maps_find(&t->maps, r->rip);
    const struct mapping *stack = maps_find(&t->maps, r->rsp);
    long nr = (long)r->orig_rax;
    size_t room = 0;

    /* Our writes must land inside the stack's mapping (the kernel grows
     * the main stack on its owner's faults only); a thread's fixed stack
     * also needs room for dlopen itself (64 KiB is far more than it uses,
     * the main stack just grows). */
    if (stack && !(stack->path && !strcmp(stack->path, "[stack]")))
        room = 65536;
    if (!stack || r->rsp - stack->start < t->stack_need + room) {
        snprintf(why, len, "near the end of its stack");
        return 0;
    }
    if (nr >= 0 && !safe_syscall(nr)) {
        snprintf(why, len, "in system call %ld", nr);
        return 0;
    }
    if (!m || !m->path) {
        snprintf(why, len, "running anonymous code at 0x%llx", r->rip);
        return 0;
    }
    if (nr >= 0) {
        /* ld.so makes its own syscalls while holding its lock. */
        if (starts_with(base_name(m->path), "ld-")) {
            snprintf(why, len, "inside the dynamic loader");
            return 0;
        }
        return 1;
    }
    if (!strcmp(m->path, "[vdso]"))
        return !maybe_in_handler(t->pid, tid);
    if (m->path[0] != '/' || lock_holding_object(t, m->path)) {
        snprintf(why, len, "running in %s", base_name(m->path));
        return 0;
    }
    if (maybe_in_handler(t->pid, tid)) {
        snprintf(why, len, "blocking a caught signal (in a handler?)");
        return 0;
    }
    return 1;
}

/* A thread of the target and what it was last seen doing. */
struct thread_seen {
    pid_t tid;    /* the thread */
    int rank;     /* 0 leaf syscall, 1 futex, 2 running, 3 other */
    char why[96]; /* why it was not used, for the timeout message */
};

/* Ranks the threads from /proc/PID/task/TID/{stat,syscall}, best first. */
static size_t
list_threads(pid_t pid, struct thread_seen **out, size_t *alloc)
{
    char path[96];
    DIR *d;
    struct dirent *de;
    size_t n = 0;

    snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
    d = opendir(path);
    if (!d)
        return 0;
    while ((de = readdir(d))) {
        struct hs_buf b = HS_BUF_INIT;
        struct thread_seen ts;
        char *close_paren;
        long nr;

        if (de->d_name[0] < '0' || de->d_name[0] > '9')
            continue;
        memset(&ts, 0, sizeof(ts));
        ts.tid = (pid_t)strtol(de->d_name, NULL, 10);
        ts.rank = 3;
        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid,
                 (int)ts.tid);
        if (read_whole(path, &b) == 0 && (close_paren = strrchr(b.buf, ')')) &&
            close_paren[1] == ' ') {
            char state = close_paren[2];

            hs_buf_reset(&b);
            snprintf(path, sizeof(path), "/proc/%d/task/%d/syscall", (int)pid,
                     (int)ts.tid);
            snprintf(ts.why, sizeof(ts.why), "in state %c", state);
            if (state == 'R')
                ts.rank = 2;
            else if (state == 'S' && read_whole(path, &b) == 0 &&
                     sscanf(b.buf, "%ld", &nr) == 1) {
                if (safe_syscall(nr))
                    ts.rank = nr == SYS_futex ? 1 : 0;
                else
                    snprintf(ts.why, sizeof(ts.why),
                             "blocked in system call %ld", nr);
            }
        }
        hs_buf_release(&b);
        HS_ALLOC_GROW(*out, n + 1, *alloc);
        (*out)[n++] = ts;
    }
    closedir(d);
    /* Insertion sort by rank: a few threads, usually. */
    for (size_t i = 1; i < n; i++) {
        struct thread_seen x = (*out)[i];
        size_t j = i;

        for (; j > 0 && (*out)[j - 1].rank > x.rank; j--)
            (*out)[j] = (*out)[j - 1];
        (*out)[j] = x;
    }
    return n;
}

/*
 * Stops some thread of `t` at a safe point (tr->stopped on success).
 * Rounds over the threads, best rank first, sampling running ones, until
 * `deadline`.  Returns 0, or -1 after an error that lists what each thread
 * was doing.  Cost per round: one stop per candidate thread, ~50 us each.
 */
static int
stop_at_safe_point(struct target *t, struct tracee *tr, double deadline,
                   int *sig)
{
    struct thread_seen *seen = NULL;
    size_t nseen = 0, alloc = 0, rounds = 0;
    double pause = 1e-3;
    struct hs_buf msg = HS_BUF_INIT;

    for (;;) {
        /* Threads and libraries come and go: a fresh map each round. */
        maps_release(&t->maps);
        if (maps_read(t->pid, &t->maps) < 0) {
            free(seen);
            return hs_error(HS_EXIT_IO, "process %d exited", (int)t->pid);
        }
        nseen = list_threads(t->pid, &seen, &alloc);
        if (!nseen) {
            free(seen);
            return hs_error(HS_EXIT_IO, "process %d exited", (int)t->pid);
        }
        for (size_t i = 0; i < nseen; i++) {
            struct thread_seen *ts = &seen[i];
            int r;

            if (ts->rank == 3)
                continue;
            r = tracee_stop(tr, t->pid, ts->tid, deadline);
            if (r == -EPERM || r == -EACCES) {
                free(seen);
                return explain_denied(t->pid, &t->info, -r);
            }
            if (r == -EAGAIN) {
                free(seen);
                return hs_error(HS_EXIT_IO,
                                "process %d is stopped (SIGSTOP or job "
                                "control); continue it first (kill -CONT "
                                "%d)",
                                (int)t->pid, (int)t->pid);
            }
            if (r < 0) {
                snprintf(ts->why, sizeof(ts->why), "could not be stopped: %s",
                         strerror(-r));
                continue;
            }
            if (safe_point(t, ts->tid, &tr->saved, ts->why, sizeof(ts->why))) {
                free(seen);
                return 0;
            }
            tracee_restore(tr);
        }
        rounds++;
        if (now_s() + pause >= deadline)
            break;
        *sig = sleep_or_signal(pause);
        if (*sig) {
            free(seen);
            return hs_error(HS_EXIT_IO,
                            "interrupted by signal %d before "
                            "anything was changed in process %d",
                            *sig, (int)t->pid);
        }
        if (pause < 20e-3)
            pause *= 1.5;
    }
    for (size_t i = 0; i < nseen && i < 8; i++)
        hs_buf_addf(&msg, "%sthread %d %s", i ? "; " : "", (int)seen[i].tid,
                    seen[i].why);
    hs_error(HS_EXIT_IO,
             "timed out: no thread of process %d reached a safe point in "
             "%zu tries (%s)",
             (int)t->pid, rounds, msg.buf);
    hs_buf_release(&msg);
    free(seen);
    return -1;
}

/* ---- loading the loader ------------------------------------------------- */

/*
 * On the stopped thread: errno is saved, then dlopen(lib), dlsym(start) and
 * start(spec) run; errno is put back by tracee_restore().  Strings go below
 * the red zone of its stack.  Returns 0 when the loader thread was started,
 * or -1 after an error.
 */
static int
inject(struct target *t, struct tracee *tr, const char *lib, const char *spec,
       double deadline)
{
    static const char start_name[] = "heapsnap_inject_start";
    char path[64], err[512];
    size_t lib_len = strlen(lib) + 1, spec_len = strlen(spec) + 1;
    size_t total = lib_len + spec_len + sizeof(start_name);
    uint64_t top, lib_at, spec_at, name_at, sp, rv = 0;
    uint64_t args[2];
    unsigned char *data;
    int rc = -1;

    /* 128 bytes of red zone belong to the interrupted function. */
    top = (tr->saved.rsp - 256) & ~(uint64_t)15;
    lib_at = (top - total) & ~(uint64_t)15;
    spec_at = lib_at + lib_len;
    name_at = spec_at + spec_len;
    sp = lib_at - 8; /* the return-address slot; rsp % 16 == 8 at entry */
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
    tr->memfd = open(path, O_RDWR | O_CLOEXEC);
    if (tr->memfd < 0)
        return hs_error(HS_EXIT_IO, "cannot open '%s': %s", path,
                        strerror(errno));
    tr->scratch = sp;
    tr->scratch_len = (size_t)(top - sp);
    tr->scratch_saved = hs_xmalloc(tr->scratch_len);
    if (pread(tr->memfd, tr->scratch_saved, tr->scratch_len,
              (off_t)tr->scratch) != (ssize_t)tr->scratch_len) {
        HS_FREE_AND_NULL(tr->scratch_saved);
        return hs_error(HS_EXIT_IO, "cannot read the stack of thread %d: %s",
                        (int)tr->tid, strerror(errno));
    }
    data = hs_xcalloc(1, tr->scratch_len);
    memcpy(data + (lib_at - sp), lib, lib_len);
    memcpy(data + (spec_at - sp), spec, spec_len);
    memcpy(data + (name_at - sp), start_name, sizeof(start_name));
    if (pwrite(tr->memfd, data, tr->scratch_len, (off_t)tr->scratch) !=
        (ssize_t)tr->scratch_len) {
        hs_error(HS_EXIT_IO, "cannot write to process %d: %s", (int)t->pid,
                 strerror(errno));
        goto out;
    }

    if (remote_call(tr, t->fn_errno, NULL, 0, sp, deadline, &rv,
                    "__errno_location()") < 0)
        goto out;
    if (pread(tr->memfd, &tr->errno_saved, sizeof(int), (off_t)rv) ==
        (ssize_t)sizeof(int))
        tr->errno_addr = rv;
    args[0] = lib_at;
    args[1] = 2; /* RTLD_NOW in glibc and musl: the target's value */
    if (remote_call(tr, t->fn_dlopen, args, 2, sp, deadline, &rv, "dlopen()") <
        0)
        goto out;
    if (!rv) {
        uint64_t msg = 0;

        err[0] = '\0';
        if (t->fn_dlerror &&
            remote_call(tr, t->fn_dlerror, NULL, 0, sp, deadline, &msg,
                        "dlerror()") == 0 &&
            msg)
            read_string(tr, msg, err, sizeof(err));
        hs_error(HS_EXIT_IO, "process %d could not load '%s': %s", (int)t->pid,
                 lib, err[0] ? err : "dlopen() failed");
        goto out;
    }
    args[0] = rv;
    args[1] = name_at;
    if (remote_call(tr, t->fn_dlsym, args, 2, sp, deadline, &rv, "dlsym()") <
        0)
        goto out;
    if (!rv) {
        hs_error(HS_EXIT_IO, "'%s' in process %d has no %s()", lib,
                 (int)t->pid, start_name);
        goto out;
    }
    args[0] = spec_at;
    if (remote_call(tr, rv, args, 1, sp, deadline, &rv, "the loader's start") <
        0)
        goto out;
    if ((int)rv != 0) {
        hs_error(HS_EXIT_IO, "the loader could not start in process %d: %s",
                 (int)t->pid, strerror((int)rv));
        goto out;
    }
    rc = 0;
out:
    free(data);
    return rc;
}

/* ---- where things go ---------------------------------------------------- */

/*
 * The paths of one attach, as the target sees them and as heapsnap sees
 * them.  Direct: the same paths (same mount namespace, root and user).
 * Staged: a folder under /proc/PID/root/tmp owned by the target's user
 * holds copies of the loader and the agent, the status file and the
 * snapshot, which is moved to the output at the end.
 */
struct attach_paths {
    char *lib;          /* loader, target's view */
    char *agent;        /* folder holding heapsnap/, target's view */
    char *output;       /* snapshot, target's view */
    char *status;       /* status file, target's view */
    char *status_local; /* status file, heapsnap's view */
    char *output_local; /* snapshot, heapsnap's view */
    char *stage;        /* staging folder, heapsnap's view, or NULL */
    size_t root_len;    /* length of "/proc/PID/root" in stage paths */
};

static void
paths_release(struct attach_paths *p)
{
    free(p->lib);
    free(p->agent);
    free(p->output);
    free(p->status);
    free(p->status_local);
    free(p->output_local);
    free(p->stage);
    memset(p, 0, sizeof(*p));
}

/* The loader library next to this binary (build tree or installed). */
static char *
find_loader(void)
{
    const char *dir = hs_exe_dir();
    char real[PATH_MAX];
    char *cand[2];

    cand[0] = hs_xasprintf("%s/inject/libheapsnap_inject.so", dir);
    cand[1] = hs_xasprintf("%s/../lib/heapsnap/libheapsnap_inject.so", dir);
    for (int i = 0; i < 2; i++) {
        if (!access(cand[i], R_OK) && realpath(cand[i], real)) {
            free(cand[0]);
            free(cand[1]);
            return hs_xstrdup(real);
        }
    }
    hs_error(HS_EXIT_USAGE,
             "cannot find libheapsnap_inject.so (looked in '%s' and '%s'); "
             "build it with 'make' in the heapsnap source tree",
             cand[0], cand[1]);
    free(cand[0]);
    free(cand[1]);
    return NULL;
}

/* 1 if the target sees this process's files under the same names. */
static int
same_view(pid_t pid, const struct proc_info *pi)
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

/* Copies file `from` to `to` (created 0600, or `mode`); 0 or -1 (errno). */
static int
copy_file(const char *from, const char *to, mode_t mode)
{
    char buf[65536];
    ssize_t n;
    int in = open(from, O_RDONLY | O_CLOEXEC), out, saved;

    if (in < 0)
        return -1;
    out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (out < 0) {
        saved = errno;
        close(in);
        errno = saved;
        return -1;
    }
    while ((n = read(in, buf, sizeof(buf))) > 0) {
        if (write(out, buf, (size_t)n) != n) {
            n = -1;
            break;
        }
    }
    saved = errno;
    close(in);
    if (close(out) < 0 && n == 0) {
        saved = errno;
        n = -1;
    }
    errno = saved;
    return n < 0 ? -1 : 0;
}

/*
 * Removes staging folder `dir`: its files, and the files of its sub-
 * folders down to `depth` levels (py/heapsnap/__pycache__ is 3).
 */
static void
remove_tree(const char *dir, int depth)
{
    DIR *d = opendir(dir);
    struct dirent *de;

    while (d && (de = readdir(d))) {
        char *p;
        struct stat st;

        if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
            continue;
        p = hs_xasprintf("%s/%s", dir, de->d_name);
        if (!lstat(p, &st) && S_ISDIR(st.st_mode) && depth > 0)
            remove_tree(p, depth - 1);
        else
            unlink(p);
        free(p);
    }
    if (d)
        closedir(d);
    rmdir(dir);
}

/* Creates an empty status file with an unpredictable name; 0 or -1. */
static int
make_status_file(const char *dir, char **out)
{
    char *tmpl = hs_xasprintf("%s/.heapsnap-attach-XXXXXX", dir);
    int fd = mkstemp(tmpl);

    if (fd < 0) {
        int saved = errno;

        free(tmpl);
        errno = saved;
        return -1;
    }
    close(fd);
    *out = tmpl;
    return 0;
}

/* Copies the agent package for the target into `dst`/heapsnap. */
static int
stage_agent(const char *agent, const char *ext, const char *dst)
{
    static const char *const files[] = { "__init__.py", "_heapsnap" };
    char *pkg = hs_xasprintf("%s/heapsnap", dst);
    int rc = mkdir(pkg, 0700);

    for (size_t i = 0; rc == 0 && i < HS_ARRAY_SIZE(files); i++) {
        const char *suffix = i ? ext : "";
        char *from = hs_xasprintf("%s/heapsnap/%s%s", agent, files[i], suffix);
        char *to = hs_xasprintf("%s/%s%s", pkg, files[i], suffix);

        rc = copy_file(from, to, 0600);
        free(from);
        free(to);
    }
    free(pkg);
    return rc;
}

/* Gives `path` to the target's user; 0, or -1 with errno. */
static int
hand_over(const char *path, const struct proc_info *pi)
{
    if (chown(path, pi->uid, pi->gid) < 0 && pi->uid != geteuid())
        return -1;
    return 0;
}

/*
 * Fills the staged half of `p`: a private folder in the target's /tmp (or
 * /dev/shm, /var/tmp) owned by its user, with copies of the loader and the
 * agent and an empty status file.  Returns 0, or -1 after an error.
 */
static int
stage(const struct target *t, const char *lib, const char *agent,
      struct attach_paths *p)
{
    static const char *const tmpdirs[] = { "/tmp", "/dev/shm", "/var/tmp" };
    char *lib_copy, *agent_copy, *pkg, *init, *ext;
    int rc = 0;

    for (size_t i = 0; i < HS_ARRAY_SIZE(tmpdirs) && !p->stage; i++) {
        char *tmpl =
            hs_xasprintf("%s%s/heapsnap-attach-XXXXXX", t->root, tmpdirs[i]);

        if (mkdtemp(tmpl))
            p->stage = tmpl;
        else
            free(tmpl);
    }
    if (!p->stage)
        return hs_error(HS_EXIT_IO,
                        "cannot create a staging folder in /tmp, /dev/shm "
                        "or /var/tmp of process %d: %s",
                        (int)t->pid, strerror(errno));
    p->root_len = strlen(t->root);
    lib_copy = hs_xasprintf("%s/libheapsnap_inject.so", p->stage);
    agent_copy = hs_xasprintf("%s/py", p->stage);
    pkg = hs_xasprintf("%s/heapsnap", agent_copy);
    init = hs_xasprintf("%s/__init__.py", pkg);
    ext = hs_xasprintf("%s/_heapsnap%s", pkg, t->py.ext_suffix);
    p->output_local = hs_xasprintf("%s/snapshot.db", p->stage);
    if (copy_file(lib, lib_copy, 0644) < 0 || mkdir(agent_copy, 0700) < 0 ||
        stage_agent(agent, t->py.ext_suffix, agent_copy) < 0 ||
        make_status_file(p->stage, &p->status_local) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot prepare staging folder '%s': %s",
                      p->stage, strerror(errno));
    else if (hand_over(p->stage, &t->info) < 0 ||
             hand_over(lib_copy, &t->info) < 0 ||
             hand_over(agent_copy, &t->info) < 0 ||
             hand_over(pkg, &t->info) < 0 || hand_over(init, &t->info) < 0 ||
             hand_over(ext, &t->info) < 0 ||
             hand_over(p->status_local, &t->info) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot give '%s' to uid %lu: %s", p->stage,
                      (unsigned long)t->info.uid, strerror(errno));
    /* What the target sees: the same paths without /proc/PID/root. */
    p->lib = hs_xstrdup(lib_copy + p->root_len);
    p->agent = hs_xstrdup(agent_copy + p->root_len);
    p->status =
        hs_xstrdup(p->status_local ? p->status_local + p->root_len : "");
    p->output = hs_xstrdup(p->output_local + p->root_len);
    free(lib_copy);
    free(agent_copy);
    free(pkg);
    free(init);
    free(ext);
    return rc;
}

/*
 * Decides where everything goes and prepares it: the status file, and a
 * staging folder when the target does not see this process's files under
 * the same names with the same rights.  Returns 0, or -1 after an error
 * (exit 4); nothing in the target has been touched then.
 */
static int
prepare_paths(const struct target *t, const char *lib, const char *agent,
              const char *output, struct attach_paths *p)
{
    char *dir = hs_xstrdup(output), *slash = strrchr(dir, '/');
    int rc = -1;

    memset(p, 0, sizeof(*p));
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    if (same_view(t->pid, &t->info)) {
        if (make_status_file(dir, &p->status_local) < 0) {
            hs_error(HS_EXIT_IO, "cannot write to '%s': %s", dir,
                     strerror(errno));
            goto out;
        }
        p->lib = hs_xstrdup(lib);
        p->agent = hs_xstrdup(agent);
        p->output = hs_xstrdup(output);
        p->status = hs_xstrdup(p->status_local);
        p->output_local = hs_xstrdup(output);
        rc = 0;
        goto out;
    }
    /* The snapshot comes back here at the end: check before dumping. */
    if (access(dir, W_OK | X_OK)) {
        hs_error(HS_EXIT_IO, "cannot write to '%s': %s", dir, strerror(errno));
        goto out;
    }
    rc = stage(t, lib, agent, p);
out:
    free(dir);
    return rc;
}

/*
 * Moves the staged snapshot to `output` (copying across file systems); it
 * then belongs to heapsnap's user, who asked for it, not to the target's.
 */
static int
collect_output(const struct attach_paths *p, const char *output)
{
    char *tmp;

    if (!p->stage)
        return 0;
    if (rename(p->output_local, output) == 0) {
        if (chown(output, geteuid(), getegid()) < 0)
            hs_warn("'%s' still belongs to the target's user: %s", output,
                    strerror(errno));
        return 0;
    }
    if (errno != EXDEV)
        return hs_error(HS_EXIT_IO, "cannot move the snapshot to '%s': %s",
                        output, strerror(errno));
    tmp = hs_xasprintf("%s.tmp", output);
    unlink(tmp);
    if (copy_file(p->output_local, tmp, 0600) < 0 || rename(tmp, output)) {
        hs_error(HS_EXIT_IO, "cannot write '%s': %s", output, strerror(errno));
        unlink(tmp);
        free(tmp);
        return -1;
    }
    free(tmp);
    return 0;
}

/* ---- the status file ---------------------------------------------------- */

/* What the loader reported so far. */
struct loader_status {
    pid_t tid;         /* its thread, once started */
    long long t_start; /* CLOCK_MONOTONIC ns: thread started */
    long long t_gil;   /* ... holds the GIL */
    long long t_end;   /* ... about to exit */
    int result;        /* 0 none yet, 1 ok, -1 failed */
    uint64_t objects;  /* ok: objects written */
    uint64_t edges;    /* ok: references written */
    double seconds;    /* ok: the agent's dump time */
    char message[512]; /* failed: why */
};

/* Parses the status file as it is now; a missing file reads as empty. */
static void
status_read(const char *path, struct loader_status *st)
{
    struct hs_buf b = HS_BUF_INIT;
    char *line, *nl;

    memset(st, 0, sizeof(*st));
    if (read_whole(path, &b) < 0)
        return;
    /* Only complete lines: each was one write() in the loader. */
    for (line = b.buf; (nl = strchr(line, '\n')); line = nl + 1) {
        unsigned long long a = 0, c = 0;
        long long ns = 0;
        long tid = 0;

        *nl = '\0';
        if (sscanf(line, "thread\t%ld\t%lld", &tid, &ns) == 2) {
            st->tid = (pid_t)tid;
            st->t_start = ns;
        } else if (sscanf(line, "gil\t%lld", &ns) == 1)
            st->t_gil = ns;
        else if (sscanf(line, "end\t%lld", &ns) == 1)
            st->t_end = ns;
        else if (sscanf(line, "ok\t%llu\t%llu\t%lf", &a, &c, &st->seconds) ==
                 3) {
            st->result = 1;
            st->objects = a;
            st->edges = c;
        } else if (starts_with(line, "fail\t")) {
            st->result = -1;
            snprintf(st->message, sizeof(st->message), "%s", line + 5);
        }
    }
    hs_buf_release(&b);
}

/* 1 while thread `tid` of `pid` exists. */
static int
thread_alive(pid_t pid, pid_t tid)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)pid, (int)tid);
    return access(path, F_OK) == 0;
}

/* 1 while process `pid` exists and is not a zombie. */
static int
process_alive(pid_t pid)
{
    struct proc_info pi;

    return proc_info_read(pid, &pi) == 0 && pi.state != 'Z' && pi.state != 'X';
}

/*
 * Waits for the loader's report until `deadline`, polling every 5 ms in
 * sigtimedwait() so that a blocked SIGINT/SIGTERM ends the wait (*sig).
 * Returns 1 (ended), 0 (timed out or interrupted), -1 (the process or the
 * loader thread vanished without a report; error printed).
 */
static int
await_loader(pid_t pid, const char *status_path, double deadline,
             struct loader_status *st, int *sig)
{
    for (;;) {

        status_read(status_path, st);
        if (st->t_end)
            return 1;
        if (!process_alive(pid))
            return hs_error(HS_EXIT_IO, "process %d exited during the %s",
                            (int)pid, st->t_gil ? "dump" : "attach");
        if (st->tid && !thread_alive(pid, st->tid)) {
            status_read(status_path, st);
            if (st->t_end)
                return 1;
            return hs_error(HS_EXIT_IO,
                            "the loader thread ended in process %d without "
                            "reporting (is the interpreter shutting "
                            "down?)",
                            (int)pid);
        }
        if (now_s() >= deadline)
            return 0;
        *sig = sleep_or_signal(5e-3);
        if (*sig)
            return 0;
    }
}

/* ---- the command -------------------------------------------------------- */

int
hs_attach_dump(const struct hs_attach_options *opts,
               struct hs_attach_result *res)
{
    double t0 = now_s(), deadline = t0 + opts->timeout;
    struct target t;
    struct tracee tr;
    struct attach_paths p;
    struct loader_status st;
    struct hs_buf spec = HS_BUF_INIT;
    sigset_t fatal, old_mask;
    char *lib = NULL, *agent = NULL;
    int rc = -1, sig = 0, ended;
    long long t0_ns = (long long)(t0 * 1e9);

    memset(res, 0, sizeof(*res));
    memset(&p, 0, sizeof(p));
    memset(&tr, 0, sizeof(tr));
    tr.memfd = -1;
    fatal_signals(&fatal);
    sigprocmask(SIG_BLOCK, &fatal, &old_mask);
    if (target_inspect(opts->pid, &t) < 0)
        goto out;
    snprintf(res->version, sizeof(res->version), "%s", t.version);
    if (t.info.tracer) {
        explain_denied(t.pid, &t.info, EPERM);
        goto out;
    }
    if (t.info.state == 'T' || t.info.state == 't') {
        hs_error(HS_EXIT_IO,
                 "process %d is stopped (SIGSTOP or job control); continue "
                 "it first (kill -CONT %d)",
                 (int)t.pid, (int)t.pid);
        goto out;
    }
    if (t.info.shadow_stack) {
        hs_error(HS_EXIT_IO,
                 "process %d runs with a shadow stack (CET), which "
                 "heapsnap's injected calls would violate",
                 (int)t.pid);
        goto out;
    }
    if (!(agent = hs_agent_dir(&t.py)) || !(lib = find_loader()))
        goto out;
    if (prepare_paths(&t, lib, agent, opts->output, &p) < 0)
        goto out;
    /* Red zone and margin, the loader's path, its start's name, alignment;
     * the spec is added below. */
    t.stack_need = 256 + strlen(p.lib) + 1 + 64 + 64;
    hs_buf_addf(&spec,
                "status=%s\nagent=%s\noutput=%s\npython=%s\ncollect=%d\n"
                "redact=%d\n",
                p.status, p.agent, p.output, t.python_is_exe ? "" : t.python,
                opts->collect, opts->redact);

    t.stack_need += spec.len;
    if (stop_at_safe_point(&t, &tr, deadline, &sig) < 0)
        goto out;
    res->tid = tr.tid;
    res->stop_ms = now_s();
    /* Once dlopen() runs, abandoning it could leave the loader lock held
     * in the target: a slow call gets a few seconds past the timeout. */
    rc = inject(&t, &tr, p.lib, spec.buf,
                deadline > now_s() + 5.0 ? deadline : now_s() + 5.0);
    tracee_restore(&tr);
    res->stop_ms = (now_s() - res->stop_ms) * 1e3;
    res->inject_ms = (now_s() - t0) * 1e3;
    if (rc < 0)
        goto out;
    rc = -1;

    ended = await_loader(t.pid, p.status_local, deadline, &st, &sig);
    if (ended < 0)
        goto out;
    if (!ended) {
        /* Tell a loader still waiting for the GIL to leave quietly.  A
         * dump already running cannot be stopped: keep its folder. */
        unlink(p.status_local);
        if (st.t_gil && p.stage)
            HS_FREE_AND_NULL(p.stage);
        if (sig)
            hs_error(HS_EXIT_IO, "interrupted by signal %d: %s%s%s", sig,
                     st.t_gil ? "the dump still runs in the target and will "
                                "write '"
                              : "the loader will leave the target without "
                                "dumping",
                     st.t_gil ? p.output_local : "", st.t_gil ? "'" : "");
        else if (!st.tid)
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s: the loader thread did not "
                     "start in process %d",
                     opts->timeout, (int)t.pid);
        else if (!st.t_gil)
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s waiting for the GIL in process "
                     "%d: some thread holds it without ever releasing it (a "
                     "long call into C code?); the loader thread %d will "
                     "leave without dumping once it gets it",
                     opts->timeout, (int)t.pid, (int)st.tid);
        else
            hs_error(HS_EXIT_IO,
                     "timed out after %.3g s: the dump is still running in "
                     "process %d (thread %d) and will write '%s' when done",
                     opts->timeout, (int)t.pid, (int)st.tid, p.output_local);
        goto out;
    }
    res->gil_ms = st.t_gil ? (double)(st.t_gil - t0_ns) / 1e6 : 0;
    if (st.result <= 0) {
        hs_error(HS_EXIT_IO, "the dump failed in process %d: %s", (int)t.pid,
                 st.result < 0 ? st.message : "no result was reported");
        goto out;
    }
    res->objects = st.objects;
    res->edges = st.edges;
    res->dump_s = st.seconds;
    /* The loader thread exits right after its last line; see it go, so
     * that "no thread left behind" is a checked fact. */
    while (thread_alive(t.pid, st.tid) && now_s() < deadline + 2.0)
        sleep_s(1e-3);
    if (thread_alive(t.pid, st.tid))
        hs_warn("the loader thread %d of process %d has not exited yet",
                (int)st.tid, (int)t.pid);
    if (collect_output(&p, opts->output) < 0)
        goto out;
    res->total_s = now_s() - t0;
    rc = 0;
out:
    if (tr.stopped)
        tracee_restore(&tr);
    if (p.stage)
        remove_tree(p.stage, 3);
    else if (p.status_local)
        unlink(p.status_local);
    paths_release(&p);
    target_release(&t);
    hs_buf_release(&spec);
    free(lib);
    free(agent);
    /* A SIGINT/SIGTERM taken while blocked is reported, not re-raised:
     * the command's exit status says 128 + signal. */
    res->signal = sig;
    sigprocmask(SIG_SETMASK, &old_mask, NULL);
    return rc;
}

#else /* not x86-64 Linux */

int
hs_attach_dump(const struct hs_attach_options *opts,
               struct hs_attach_result *res)
{
    (void)opts;
    memset(res, 0, sizeof(*res));
    return hs_error(HS_EXIT_USAGE,
                    "heapsnap dump --pid is only implemented for x86-64 "
                    "Linux; use heapsnap.install() and SIGUSR2 instead");
}

#endif
