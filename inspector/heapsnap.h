/*
 * heapsnap.h: the inspector's internal header, included by every file in
 * inspector/.  It declares the exit-code table, error reporting, checked
 * allocation, the growable buffer, the option-table parser and the command
 * table.  Modules with a larger API (snapshot.h, graph.h, ...) have their own
 * header and include this one.
 *
 * Conventions (../shared/STYLE.md):
 *  - int functions return 0 on success and -1 on failure, after printing one
 *    "heapsnap: error: ..." line through hs_error(), which also records the
 *    exit code the failure deserves; pointer functions return NULL likewise.
 *  - Only main() (heapsnap.c) exits.  Commands return an exit code.
 *  - Lifecycle verbs: _init (no allocation of the struct), _release (free
 *    what it holds), _free (release and free the struct).
 */
#ifndef HEAPSNAP_H
#define HEAPSNAP_H

/* System headers that declare banned functions come before hs_banned.h. */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Exit codes, documented in README.md and in `heapsnap --help`. */
enum hs_exit {
    HS_EXIT_OK = 0,        /* success */
    HS_EXIT_NO_RESULT = 1, /* the query matched nothing */
    HS_EXIT_USAGE = 2,     /* bad command line */
    HS_EXIT_SNAPSHOT = 3,  /* not a heapsnap snapshot, or a newer format */
    HS_EXIT_IO = 4,        /* I/O or SQLite failure */
    HS_EXIT_INTERNAL = 5   /* a bug in heapsnap */
};

#define HS_PROG "heapsnap"

#if defined(__GNUC__)
#define HS_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define HS_VPRINTF(f) __attribute__((format(printf, f, 0)))
#define HS_NORETURN __attribute__((noreturn))
#else
#define HS_PRINTF(f, a)
#define HS_VPRINTF(f)
#define HS_NORETURN
#endif

/* ---- errors (util.c) ---------------------------------------------------- */

/*
 * Prints "heapsnap: error: MESSAGE" on stderr, records `code` as the exit
 * status of the run unless an earlier error recorded one, and returns -1.
 */
int hs_error(enum hs_exit code, const char *fmt, ...) HS_PRINTF(2, 3);

/* Prints "heapsnap: warning: MESSAGE" on stderr. */
void hs_warn(const char *fmt, ...) HS_PRINTF(1, 2);

/* Prints "heapsnap: MESSAGE" on stderr (progress and notes, not errors). */
void hs_note(const char *fmt, ...) HS_PRINTF(1, 2);

/* The exit code recorded by the first hs_error(), or HS_EXIT_INTERNAL. */
int hs_error_status(void);

/* Forgets the recorded error (tests). */
void hs_error_reset(void);

/* Out of memory and other unrecoverable states: message, then exit(code). */
HS_NORETURN void hs_die(enum hs_exit code, const char *fmt, ...)
    HS_PRINTF(2, 3);

/* ---- allocation (util.c): these never return NULL ----------------------- */

void *hs_xmalloc(size_t size);
void *hs_xcalloc(size_t nmemb, size_t size);
void *hs_xrealloc(void *ptr, size_t size);
char *hs_xstrdup(const char *s);
char *hs_xstrndup(const char *s, size_t n);
/* Allocating sprintf. */
char *hs_xasprintf(const char *fmt, ...) HS_PRINTF(1, 2);

/* Overflow-checked size arithmetic: dies rather than wrap. */
size_t hs_st_mult(size_t a, size_t b);
size_t hs_st_add(size_t a, size_t b);

/* Grows array `x` of `alloc` elements so that it holds at least `nr`. */
#define HS_ALLOC_GROW(x, nr, alloc)                                         \
    do {                                                                    \
        if ((size_t)(nr) > (size_t)(alloc)) {                               \
            size_t hs_new_ = (size_t)(alloc) < 16 ? 16 : (size_t)(alloc);   \
            while (hs_new_ < (size_t)(nr))                                  \
                hs_new_ = hs_st_add(hs_new_, hs_new_ / 2);                  \
            (x) = hs_xrealloc((x), hs_st_mult(hs_new_, sizeof(*(x))));      \
            (alloc) = hs_new_;                                              \
        }                                                                   \
    } while (0)

#define HS_FREE_AND_NULL(p)                                                 \
    do {                                                                    \
        free(p);                                                            \
        (p) = NULL;                                                         \
    } while (0)

#define HS_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* ---- growable string (util.c) ------------------------------------------ */

/*
 * A growable, NUL-terminated byte buffer.  Invariants: `buf` is never NULL
 * (it points at a static "" until the first addition), buf[len] == '\0',
 * len < alloc whenever alloc > 0.  Contents may hold NUL bytes.
 */
struct hs_buf {
    char *buf;    /* the bytes, always NUL-terminated */
    size_t len;   /* bytes in use, not counting the terminator */
    size_t alloc; /* bytes allocated; 0 while buf is the static "" */
};

extern char hs_buf_empty[];
#define HS_BUF_INIT { hs_buf_empty, 0, 0 }

void hs_buf_init(struct hs_buf *b);
void hs_buf_release(struct hs_buf *b);
void hs_buf_reset(struct hs_buf *b); /* len = 0, keeps the memory */
void hs_buf_grow(struct hs_buf *b, size_t extra);
void hs_buf_add(struct hs_buf *b, const void *data, size_t len);
void hs_buf_adds(struct hs_buf *b, const char *s);
void hs_buf_addch(struct hs_buf *b, int c);
void hs_buf_addf(struct hs_buf *b, const char *fmt, ...) HS_PRINTF(2, 3);
void hs_buf_vaddf(struct hs_buf *b, const char *fmt, va_list ap)
    HS_VPRINTF(2);
/* Returns the contents as a malloc'd string the caller owns; resets b. */
char *hs_buf_detach(struct hs_buf *b);

/* ---- small formatting helpers (util.c) --------------------------------- */

/* "512 B", "1.5 KiB", "23.0 MiB" into out (at least 16 bytes); returns out. */
char *hs_human_size(uint64_t bytes, char *out, size_t outlen);

/* A count of seconds given as text ("0.179357008000011") for people:
 * "0.18 s", "12.5 s", "3 min 05 s"; text that is no number is kept as
 * it is, with " s".  Into out (at least 32 bytes); returns out. */
char *hs_human_seconds(const char *seconds, char *out, size_t outlen);

/* "1,234,567" into out; returns out. */
char *hs_group_digits(uint64_t n, char *out, size_t outlen);

/* The part of `path` after its last '/' (all of it if none). */
const char *hs_base_name(const char *path);

/* The folder part of `path` (malloc'd): "." if it has no '/', "/" for a
 * file at the top. */
char *hs_folder_of(const char *path);

/*
 * Checks that a file can be created at `path`: its folder exists, is a
 * folder and is writable.  0, or -1 after an error naming path (exit 4).
 */
int hs_check_output_folder(const char *path);

/*
 * A file's temporary twin, `tmp` (PATH.tmp), created afresh with mode 0600:
 * a leftover is unlinked and O_EXCL never writes through a planted
 * symlink.  The open fd, or -1 after an error naming tmp (exit 4).
 */
int hs_tmp_create(const char *tmp);

/*
 * Finishes a file written through fd to `tmp`: syncs and closes fd (always)
 * and renames tmp to `path`.  On any failure removes tmp.  0, or -1 after
 * an error naming the file (exit 4).
 */
int hs_tmp_finish(int fd, const char *tmp, const char *path);

/* 1 if s begins with prefix, else 0. */
int hs_starts_with(const char *s, const char *prefix);

/* Sleeps `seconds`, resuming after signals. */
void hs_sleep(double seconds);

/* The current UTC time, "2026-11-24T02:05:00Z", into out (at least 21
 * bytes; empty if the clock cannot be read); returns out. */
char *hs_utc_now(char *out, size_t outlen);

/* Parses a decimal or 0x-hex unsigned integer; 0 on success, -1 if not. */
int hs_parse_u64(const char *s, uint64_t *out);

/*
 * Length of the valid UTF-8 sequence at s (1-4; 1 for ASCII and for the
 * terminating NUL), or 0 if the bytes there are not one: stray
 * continuation bytes, overlong forms, surrogates, code points above
 * U+10FFFF, a truncated sequence.
 */
size_t hs_utf8_len(const unsigned char *s);

/* A malloc'd copy of `text` with every byte that is not part of valid
 * UTF-8 replaced by U+FFFD.  O(len). */
char *hs_utf8_repaired(const char *text);

/* ---- options (opt.c) ---------------------------------------------------- */

enum hs_opt_type {
    HS_OPT_END = 0,
    HS_OPT_FLAG,   /* int *value set to 1 */
    HS_OPT_INT,    /* int *value from a decimal argument */
    HS_OPT_STRING, /* const char **value */
    HS_OPT_CHOICE, /* const char **value, one of choices[] */
    HS_OPT_GROUP,  /* a heading in --help; no value */
    HS_OPT_OPTINT  /* int *value: 0 for --name alone, N >= 1 from --name=N
                      (long name only; the caller's 0 is its default) */
};

/*
 * One command-line option.  A table of these drives both parsing and the
 * help text, so the two can never disagree.  The table ends with HS_OPT_END.
 */
struct hs_option {
    enum hs_opt_type type;     /* what kind of value it takes */
    int short_name;            /* 'o' for -o, or 0 */
    const char *long_name;     /* "output" for --output, or NULL */
    void *value;               /* where the parsed value goes */
    const char *argh;          /* argument placeholder in help: "FILE" */
    const char *help;          /* one line of help */
    const char *const *choices; /* HS_OPT_CHOICE: NULL-terminated list */
};

#define HS_OPT_FILE(v)                                                      \
    { HS_OPT_STRING, 'f', "file", (v), "FILE",                              \
      "snapshot to read (default: newest heapsnap-*.db here)", NULL }
#define HS_OPT_JSON(v)                                                      \
    { HS_OPT_FLAG, 0, "json", (v), NULL, "print JSON instead of text", NULL }

/* Flags of hs_parse_options(). */
#define HS_PARSE_STOP_AT_NON_OPTION 1 /* leave everything after the first
                                         non-option argument alone */

/*
 * Parses argv[1..argc) against `opts` (argv[0] is the command name).
 * Options may follow operands unless HS_PARSE_STOP_AT_NON_OPTION; "--" ends
 * options.  On success moves the operands to argv[0..n) and returns n >= 0.
 * On --help prints `usage` lines and the option table to stdout and returns
 * -2.  On a bad option prints an error and a "try" hint and returns -1
 * (exit code HS_EXIT_USAGE recorded).
 */
int hs_parse_options(int argc, const char **argv,
                     const struct hs_option *opts, const char *const *usage,
                     int flags);

/* Prints usage lines and the option table to `out`. */
void hs_print_usage(FILE *out, const char *const *usage,
                    const struct hs_option *opts);

/* Usage error with a "try 'heapsnap CMD --help'" hint; returns -1. */
int hs_usage_error(const char *cmd, const char *fmt, ...) HS_PRINTF(2, 3);

/* ---- commands (heapsnap.c) ---------------------------------------------- */

/*
 * One subcommand: `fn` receives argv with argv[0] the command name and
 * returns the process exit code.
 */
struct hs_cmd {
    const char *name;    /* "why" */
    int (*fn)(int argc, const char **argv);
    const char *summary; /* one line for `heapsnap --help` */
};

int cmd_dump(int argc, const char **argv);
int cmd_info(int argc, const char **argv);
int cmd_why(int argc, const char **argv);
int cmd_show(int argc, const char **argv);
int cmd_top(int argc, const char **argv);
int cmd_cycles(int argc, const char **argv);
int cmd_advise(int argc, const char **argv);
int cmd_diff(int argc, const char **argv);
int cmd_refs(int argc, const char **argv);
int cmd_backrefs(int argc, const char **argv);
int cmd_serve(int argc, const char **argv);
int cmd_export(int argc, const char **argv);

/* The path of the running heapsnap binary's folder (for agents, web/). */
const char *hs_exe_dir(void);

#include "hs_banned.h"

#endif /* HEAPSNAP_H */
