/*
 * attach_remote.h: CPython 3.14's remote-debugging protocol (PEP 768)
 * seen from outside the process, for `heapsnap dump --pid`
 * (attach_remote.c): read _Py_DebugOffsets at the start of the target's
 * .PyRuntime section, find its main interpreter and thread states, tell
 * whether remote debugging is enabled (and by which setting it is not),
 * pick a thread that is running bytecode, ask it to run a script at its
 * next eval-breaker check, and take the request back.  Everything goes
 * through process_vm_readv/process_vm_writev: no thread is ever stopped.
 *
 * attach.c decides when to use it and what the script does.
 */
#ifndef HS_ATTACH_REMOTE_H
#define HS_ATTACH_REMOTE_H

#include "attach_target.h"

#if defined(__x86_64__) && defined(__linux__)

/*
 * The fields of the target's _Py_DebugOffsets that heapsnap uses: offsets
 * inside CPython's own structs, as that build laid them out.
 */
struct hs_debug_offsets {
    uint64_t version;             /* PY_VERSION_HEX of the target */
    uint64_t free_threaded;       /* 1 for a free-threaded build */
    uint64_t rt_finalizing;       /* _PyRuntimeState: _finalizing */
    uint64_t rt_interp_head;      /* ... interpreters.head */
    uint64_t interp_size;         /* sizeof(PyInterpreterState) */
    uint64_t interp_id;           /* ... id (int64; 0 is the main one) */
    uint64_t interp_next;         /* ... next */
    uint64_t interp_threads_head; /* ... threads.head */
    uint64_t interp_threads_main; /* ... threads.main */
    uint64_t tstate_size;         /* sizeof(PyThreadState) */
    uint64_t tstate_next;         /* ... next */
    uint64_t tstate_frame;        /* ... current_frame */
    uint64_t tstate_native_id;    /* ... native_thread_id */
    uint64_t frame_size;          /* sizeof(_PyInterpreterFrame) */
    uint64_t frame_instr_ptr;     /* ... instr_ptr */
    uint64_t eval_breaker;        /* PyThreadState: eval_breaker */
    uint64_t remote_support;      /* ... remote_debugger_support */
    uint64_t remote_enabled;      /* PyInterpreterState: config.remote_debug */
    uint64_t pending_call;        /* _PyRemoteDebuggerSupport: pending flag */
    uint64_t script_path;         /* ... debugger_script_path */
    uint64_t script_path_size;    /* ... its size in bytes (512) */
    uint64_t please_stop_bit;     /* the eval-breaker bit that makes a
                                   thread handle pending work (1 << 5) */
};

/*
 * Decodes `len` bytes read from the start of .PyRuntime for a Python
 * 3.`minor`: checks the cookie "xdebugpy", the version against `minor`,
 * and that every offset lies inside the struct it indexes (a layout
 * heapsnap misread shows there).  Returns 0, or -1 with one line of why in
 * `why` (unknown layout for that version, bad cookie, inconsistent).
 * Pure: unit-tested on bytes.
 */
int hs_debug_offsets_parse(const void *raw, size_t len, int minor,
                           struct hs_debug_offsets *out, char *why,
                           size_t whylen);

/* Bytes of _Py_DebugOffsets to read for Python 3.`minor`; 0 if unknown. */
size_t hs_debug_offsets_size(int minor);

/* One Python thread of the target. */
struct hs_remote_thread {
    uint64_t tstate; /* its PyThreadState, in the target */
    pid_t tid;       /* native_thread_id */
    int is_main;     /* the interpreter's main thread */
    char state;      /* /proc/PID/task/TID/stat state when sampled */
    unsigned moves;  /* samples in which its frame or instruction moved */
    uint64_t frame;  /* last current_frame seen */
    uint64_t ip;     /* last instr_ptr seen */
};

/* The target's interpreter as the remote-debugging protocol sees it. */
struct hs_remote {
    pid_t pid;                        /* the process */
    uint64_t runtime;                 /* address of _PyRuntime */
    struct hs_debug_offsets off;      /* its debug offsets */
    uint64_t interp;                  /* its main PyInterpreterState */
    int enabled;                      /* config.remote_debug */
    struct hs_remote_thread *threads; /* its thread states, list order */
    size_t nthreads;                  /* entries in use */
    size_t alloc;                     /* entries allocated */
};

/*
 * Reads the protocol's view of target `t` (inspected already): the debug
 * offsets, the main interpreter, whether remote debugging is enabled, and
 * the thread states.  Returns 0, or -1 with one line in `why` and *code
 * set: 2 (this Python has no remote debugging heapsnap can use: version,
 * layout, finalizing), 4 (the memory cannot be read).  Does not print.
 */
int hs_remote_open(const struct hs_target *t, struct hs_remote *r, char *why,
                   size_t whylen, int *code);

/*
 * Why remote debugging is disabled in `t`, in words naming the setting:
 * PYTHON_DISABLE_REMOTE_DEBUG in its environment, -X disable-remote-debug
 * on its command line, a build --without-remote-debug, or its embedder's
 * PyConfig.  Writes one phrase into `out`.
 */
void hs_remote_disabled_reason(const struct hs_target *t, char *out,
                               size_t outlen);

/*
 * Watches the threads (samples 1 ms apart) for at least `seconds`, and on
 * until one of them moved twice or `longest` seconds passed: how often
 * each one's current frame or instruction pointer moved, and its /proc
 * state.  Returns the thread most likely to reach an eval-breaker check
 * soon: the one that moved most, a running one first on a tie, the main
 * thread when none moved.  NULL if the interpreter has no thread.
 */
const struct hs_remote_thread *hs_remote_pick(struct hs_remote *r,
                                              double seconds, double longest);

/*
 * Asks thread `th` to run the script at `path` (as the target sees it):
 * writes the path, the pending-call flag and the eval-breaker bit, in
 * that order.  Refuses a path that does not fit and a request another
 * debugger left pending.  Returns 0, or -1 with one line in `why`.
 */
int hs_remote_request(const struct hs_remote *r,
                      const struct hs_remote_thread *th, const char *path,
                      char *why, size_t whylen);

/*
 * Takes a request back: clears the pending-call flag and the path.  The
 * thread may have taken it just before; the caller tells by the status
 * file.  Best effort.
 */
void hs_remote_cancel(const struct hs_remote *r,
                      const struct hs_remote_thread *th);

void hs_remote_release(struct hs_remote *r);

#endif /* x86-64 Linux */

#endif /* HS_ATTACH_REMOTE_H */
