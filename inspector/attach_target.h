/*
 * attach_target.h: what `heapsnap dump --pid` learns about a running
 * process before touching it (attach_target.c): its /proc facts, its
 * memory map, the dynamic symbols of its ELF files, the CPython it runs
 * and where its dlopen() is, whether it sees heapsnap's files as heapsnap
 * does, and why the kernel would refuse to let heapsnap trace it.  Nothing
 * declared here stops, writes to or signals the process.
 *
 * attach.c and attach_ptrace.c use these; the maps parser, the ELF lookup
 * and hs_target_python() are also declared for the unit tests.
 */
#ifndef HS_ATTACH_TARGET_H
#define HS_ATTACH_TARGET_H

#include "heapsnap.h"
#include "launch.h"

#if defined(__x86_64__) && defined(__linux__)

#include <elf.h>
#include <sys/types.h>

/*
 * Reads all of `path` (small files: /proc, the loader's status file) into
 * `out`, appending.  0, or -1 with errno set; `out` may hold a part then.
 */
int hs_proc_read_file(const char *path, struct hs_buf *out);

/* ---- the process -------------------------------------------------------- */

/* Facts from /proc/PID/status and friends. */
struct hs_proc_info {
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
int hs_proc_info_read(pid_t pid, struct hs_proc_info *pi);

/*
 * Explains why the kernel refused to let heapsnap trace (or read) `pid`
 * with error `err`: names the setting that decides it (Yama's
 * ptrace_scope, CAP_SYS_PTRACE, uids, dumpability, a tracer already
 * there).  Always returns -1 after one error line (exit 4).
 */
int hs_target_explain_denied(pid_t pid, const struct hs_proc_info *pi,
                             int err);

/*
 * 1 if process `pid` sees this process's files under the same names with
 * the same rights: same effective uid, mount namespace and root.  0 means
 * files must be staged in its own /tmp.
 */
int hs_target_same_view(pid_t pid, const struct hs_proc_info *pi);

/* ---- memory map --------------------------------------------------------- */

/* One line of /proc/PID/maps. */
struct hs_mapping {
    uint64_t start;  /* first address */
    uint64_t end;    /* one past the last address */
    uint64_t offset; /* file offset of `start` */
    int exec;        /* mapped executable */
    char *path;      /* file as the target names it, "[vdso]", or NULL */
};

/* A memory map: the lines of /proc/PID/maps, in its (address) order. */
struct hs_maps {
    struct hs_mapping *v; /* in address order */
    size_t n;             /* entries in use */
    size_t alloc;         /* entries allocated */
};

/*
 * Parses `text`, the contents of a /proc/PID/maps file, into `m` (which
 * it initializes).  The path is the rest of the line after the inode, as
 * the kernel printed it (spaces kept, " (deleted)" too).  Lines that do
 * not start with "START-END" are skipped.  `text` is modified: newlines
 * become NULs.  Cost: O(length of text).
 */
void hs_maps_parse(char *text, struct hs_maps *m);

/* Reads and parses /proc/PID/maps; -1 with errno when it cannot be read. */
int hs_maps_read(pid_t pid, struct hs_maps *m);

/* The mapping holding `addr`, or NULL.  Cost: O(n). */
const struct hs_mapping *hs_maps_find(const struct hs_maps *m, uint64_t addr);

void hs_maps_release(struct hs_maps *m);

/* ---- ELF dynamic symbols ------------------------------------------------ */

/* The dynamic symbol table of one ELF file, read with pread. */
struct hs_elf {
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

/*
 * Opens `path` and reads its headers and dynamic symbol table.  Returns 0,
 * or -1 (errno set; EINVAL for "not a 64-bit x86-64 ELF file with a
 * .dynsym").  Cost: O(size of .dynsym + .dynstr).
 */
int hs_elf_open(const char *path, struct hs_elf *e);

/*
 * Looks up defined dynamic symbol `name`; prefers the default version
 * (foo@@V) over hidden ones (foo@V).  Returns 1 and *out, or 0.
 * Cost: O(nsyms).
 */
int hs_elf_symbol(const struct hs_elf *e, const char *name, Elf64_Sym *out);

/*
 * 1 if NUL-terminated string `s` is one of the strings of section `name`
 * (".rodata"), else 0.  Cost: O(size of the section).
 */
int hs_elf_has_string(const struct hs_elf *e, const char *name,
                      const char *s);

/* Closes the file and frees the tables; leaves e->fd at -1. */
void hs_elf_release(struct hs_elf *e);

/* ---- the target --------------------------------------------------------- */

/* Everything learnt about the process before touching it. */
struct hs_target {
    pid_t pid;                /* the process */
    struct hs_proc_info info; /* its /proc facts */
    char root[64];            /* "/proc/PID/root": prefix to open its files */
    struct hs_maps maps;      /* its memory map */
    char *exe;                /* its executable, as it names it */
    char *python;             /* file exporting the C API */
    int python_is_exe;        /* a static python: the executable itself */
    int major, minor;         /* Python version */
    char version[32];         /* "3.12.1", or "3.9" when only that is known */
    struct hs_python py;      /* for hs_agent_dir() */
    uint64_t fn_errno;        /* __errno_location in the target */
    uint64_t fn_dlopen;       /* dlopen */
    uint64_t fn_dlsym;        /* dlsym */
    uint64_t fn_dlerror;      /* dlerror, or 0 */
    size_t stack_need;        /* set by attach.c: bytes its calls write
                                 below the stack (hs_safe_point() checks) */
    char *checked[16];        /* libraries hs_safe_point() read ... */
    int verdict[16];          /* ... and what it said of each */
    size_t nchecked;          /* entries in use */
};

/*
 * Learns everything about process `pid` without stopping it: /proc facts,
 * map, Python (hs_target_python()) and the C library's dlopen, dlsym,
 * dlerror and __errno_location.  Returns 0, or -1 after one error line:
 * exit 2 (no such process, heapsnap itself, not CPython, unsupported
 * version or build, no dlopen), exit 4 (exited, not permitted).  `t` is
 * initialized either way: release it.
 */
int hs_target_inspect(pid_t pid, struct hs_target *t);

/*
 * Identifies the Python in `t`, whose pid, info.comm, root, maps and exe
 * are set: the file exporting the C API (a libpythonX.Y*.so in the map,
 * else the executable), its version (Py_Version on 3.11+, else the
 * library's name, else a "3.X.Y" string in a static python's .rodata)
 * and build.  Fills python, python_is_exe, major, minor, version and py.
 * Returns 0, or -1 after an error (exit 2: not a CPython process, unknown
 * or unsupported version, free-threaded; exit 4: a file cannot be read).
 */
int hs_target_python(struct hs_target *t);

/* Opens ELF file `path` of the target (through t->root); as hs_elf_open. */
int hs_target_elf(const struct hs_target *t, const char *path,
                  struct hs_elf *e);

/*
 * The address and size of section `name` (".PyRuntime") of ELF file
 * `path` as mapped in the target.  0, or -1 with errno (ENOENT: the file
 * is not mapped or has no such section).
 */
int hs_target_section(const struct hs_target *t, const char *path,
                      const char *name, uint64_t *addr, uint64_t *size);

void hs_target_release(struct hs_target *t);

#endif /* x86-64 Linux */

#endif /* HS_ATTACH_TARGET_H */
