/*
 * launch.h: running a Python program with the heapsnap agent preloaded
 * (`heapsnap dump -- PROGRAM ...`): finding the interpreter behind a command
 * line, asking it what it is, finding the agent built for it, and running
 * the program with signals forwarded and its exit status passed through.
 */
#ifndef HS_LAUNCH_H
#define HS_LAUNCH_H

#include "heapsnap.h"

/* What an interpreter said about itself. */
struct hs_python {
    char *exe;         /* the interpreter as given or found on PATH */
    char *impl;        /* platform.python_implementation(): "CPython" */
    char *version;     /* "3.12.1" */
    char minor[16];    /* "3.12" */
    int major_minor;   /* 0x030C for 3.12 */
    char *ext_suffix;  /* EXT_SUFFIX: ".cpython-312-x86_64-linux-gnu.so" */
    int free_threaded; /* Py_GIL_DISABLED build */
};

/*
 * The Python interpreter that will run `argv` (a command line): argv[0]
 * itself when it is a python executable, or the interpreter of its "#!"
 * line.  Refuses anything else: a program that is not Python is never run
 * to find out.  Returns a malloc'd path, or NULL after an error (exit 2).
 */
char *hs_program_interpreter(const char *const *argv);

/*
 * Checks the interpreter options on the command line: -I, -E and -S keep
 * Python from loading the agent, so they are refused.  0, or -1 after an
 * error (exit 2).
 */
int hs_check_python_flags(const char *const *argv);

/*
 * Runs `exe -E -S -c ...` to learn its implementation and version, and
 * checks that heapsnap supports it (CPython >= 3.8 with the GIL).  0, or -1
 * after an error (exit 2) naming the interpreter and the cause.
 */
int hs_python_probe(const char *exe, struct hs_python *out);

void hs_python_release(struct hs_python *py);

/*
 * The folder holding the `heapsnap` package built for `py`, searched in
 * $HEAPSNAP_AGENT_DIR, then the build tree next to this binary, then the
 * site-packages `pip install .` put beside it (BIN/../lib/python3.X/
 * site-packages), then the installed tree (PREFIX/lib/heapsnap), then where
 * `py` itself imports heapsnap from (it is run to say); the first of these
 * holding any fit wins.  In the first, second and fourth, folders are
 * named py<KEY> (tools/pythons.sh: "py3.13.18", "py3.13.0t"): the one for
 * py's exact version and ABI flags, else the newest older micro version of
 * its minor, else the oldest newer one (the agent refuses a version it does
 * not know); the others hold one heapsnap package with py's extension.  Returns a malloc'd path, or
 * NULL after an error (exit 2) that says how to build it.
 */
char *hs_agent_dir(const struct hs_python *py);

/*
 * 1 if agent folder `dir` is one of make's py<KEY> folders, which hold the
 * heapsnap package alone (and go on the program's PYTHONPATH); 0 for a
 * site-packages or other folder of a Python's own (only the agent's boot
 * goes on PYTHONPATH then, which loads the package from there by path).
 */
int hs_agent_dir_is_private(const char *dir);

/*
 * Runs `argv` with `setenv_pairs` (NAME, VALUE, ..., NULL; a NULL value
 * unsets) added to the environment, forwarding SIGTERM, SIGHUP, SIGUSR1 and
 * SIGUSR2 to it, and waits.  `keep_fd` (or -1) is a descriptor the program
 * inherits.  Returns its exit status, 128 + N when signal N killed it, or
 * -1 after an error (it could not be started: exit 2 for a missing
 * program, 4 otherwise).
 */
int hs_run_program(const char *const *argv, const char *const *setenv_pairs,
                   int keep_fd);

#endif /* HS_LAUNCH_H */
