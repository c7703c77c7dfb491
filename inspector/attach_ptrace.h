/*
 * attach_ptrace.h: making calls in a running process with ptrace, for
 * `heapsnap dump --pid` (attach_ptrace.c): stop one thread, decide whether
 * it stopped at a safe point, write a few bytes below its stack, call
 * functions on it that return to address 0, and put everything back.
 * attach.c decides which thread to try and what to call.
 */
#ifndef HS_ATTACH_PTRACE_H
#define HS_ATTACH_PTRACE_H

#include "attach_target.h"

#if defined(__x86_64__) && defined(__linux__)

#include <sys/types.h>
#include <sys/user.h>

/* A thread stopped by heapsnap, and what must be put back. */
struct hs_tracee {
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
 * Seizes thread `tid` of `pid` and stops it where it is.  Signals that
 * arrive meanwhile are delivered as usual.  Returns 0 (stopped, registers
 * and vector state saved), or -errno: -EPERM (not permitted), -ESRCH (it
 * is gone), -EAGAIN (the process entered a job-control stop: left
 * stopped, detached), -ETIMEDOUT (not stopped by `deadline`).
 */
int hs_tracee_stop(struct hs_tracee *tr, pid_t pid, pid_t tid,
                   double deadline);

/*
 * Puts back errno, the stack bytes, the vector state and the registers,
 * then detaches, closes /proc/PID/mem and frees the saved state.  Best
 * effort: each step is tried even if one fails (a warning each).  Does
 * only the freeing for a thread no longer stopped.
 */
void hs_tracee_restore(struct hs_tracee *tr);

/*
 * Writes `len` bytes of `data` on the stopped thread's stack below its
 * red zone, 16-byte aligned, with a zero return-address slot under them;
 * saves what was there for hs_tracee_restore() and opens /proc/PID/mem.
 * Sets *at to the data's address in the target and *sp to the stack
 * pointer for hs_tracee_call().  Once per stop.  0, or -1 after an error.
 */
int hs_tracee_stack_write(struct hs_tracee *tr, const void *data, size_t len,
                          uint64_t *at, uint64_t *sp);

/*
 * Saves the thread's errno for hs_tracee_restore(), calling the target's
 * __errno_location() at `fn_errno` (stack pointer `sp`, as for
 * hs_tracee_call()).  0, or -1 after an error.
 */
int hs_tracee_save_errno(struct hs_tracee *tr, uint64_t fn_errno, uint64_t sp,
                         double deadline);

/*
 * Calls fn(args...) (at most 3 integer arguments) on the stopped thread:
 * System V ABI, stack pointer `sp` from hs_tracee_stack_write(), return
 * address 0.  `what` names the call in messages.  Returns 0 with *ret =
 * rax, or -1 after an error: the thread faulted in the call, exited, or
 * `deadline` passed (it is stopped again if it can be).
 */
int hs_tracee_call(struct hs_tracee *tr, uint64_t fn, const uint64_t *args,
                   size_t nargs, uint64_t sp, double deadline, uint64_t *ret,
                   const char *what);

/* Reads a NUL-terminated string of the target (at most len-1 bytes) once
 * /proc/PID/mem is open; an empty string if it cannot be read. */
void hs_tracee_read_string(const struct hs_tracee *tr, uint64_t addr,
                           char *out, size_t len);

/*
 * 1 if a thread blocked in syscall `nr` holds no lock dlopen needs: leaf
 * waits (sleep, poll, I/O, futex).
 */
int hs_safe_syscall(long nr);

/*
 * Decides whether thread `tid` of `t`, stopped with registers `r`, is at
 * a safe point for dlopen(): room on its stack for t->stack_need bytes,
 * blocked in a safe syscall outside ld.so, or running outside the C
 * library, the loader and malloc replacements and not in a signal
 * handler.  Returns 1, or 0 with a short reason in `why`.  Reads t->maps
 * and caches per-library verdicts in `t`.
 */
int hs_safe_point(struct hs_target *t, pid_t tid,
                  const struct user_regs_struct *r, char *why, size_t len);

#endif /* x86-64 Linux */

#endif /* HS_ATTACH_PTRACE_H */
