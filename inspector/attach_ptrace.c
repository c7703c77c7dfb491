/*
 * attach_ptrace.c: the remote-call machinery of `heapsnap dump --pid`
 * (attach_ptrace.h): stop one thread of a running process with ptrace,
 * judge whether it stopped at a safe point, and make it call functions by
 * setting its registers; the calls return to address 0, where the fault
 * that follows hands the thread back.  Then put everything back.
 *
 * Owns: the state of one stopped thread (struct hs_tracee): its saved
 * registers, vector state and errno, the bytes it had below its stack and
 * the /proc/PID/mem descriptor.  Invariants: nothing is written into the
 * target's code; every register, the vector state, errno and every byte
 * written below its stack pointer are restored before detaching; a thread
 * is detached on every path out of hs_tracee_restore() and left stopped
 * only by a job-control stop the user asked for.
 */
#include "attach_ptrace.h"
#include "progress.h"

/*
 * Design notes.
 *
 * Why these stop points.  dlopen() takes the loader lock and malloc's
 * arena lock; a thread stopped while holding either deadlocks it.  A
 * thread blocked in a leaf syscall (nanosleep, poll, read, futex: the GIL
 * wait) called from outside ld.so holds neither; nor does a thread running
 * in libpython or an extension, as opposed to libc, ld.so, libgcc_s or a
 * library that defines malloc, unless it is in a signal handler (it then
 * blocks a signal the process catches).  memray gets the same property by
 * breaking on malloc entry; sampling writes no breakpoints into code.
 * attach.c tries blocked threads first, then samples running ones, a
 * fresh map each round.  Other threads keep running, so they release
 * whatever lock they hold.
 *
 * Residual risks: a signal handler that blocks nothing (SA_NODEFER) and
 * interrupted malloc, a futex wait inside ld.so's own lock sequence,
 * shadow-stack (CET) processes (refused), and SIGKILL of heapsnap in the
 * few milliseconds a call is in flight (the thread then returns to
 * address 0 and crashes; catchable signals are blocked meanwhile).
 */

/* Everything here serves attach.c's x86-64 Linux implementation. */
#if defined(__x86_64__) && defined(__linux__)

#include <fcntl.h>
#include <signal.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <unistd.h>

/* ---- ptrace: one stopped thread ----------------------------------------- */

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
        if (hs_now() >= deadline)
            return 0;
        hs_sleep(pause);
        if (pause < 1e-3)
            pause *= 2;
    }
}

/* Detaches without touching registers (for a thread never modified). */
static void
tracee_detach(struct hs_tracee *tr, int sig)
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
int
hs_tracee_stop(struct hs_tracee *tr, pid_t pid, pid_t tid, double deadline)
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
void
hs_tracee_restore(struct hs_tracee *tr)
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
int
hs_tracee_call(struct hs_tracee *tr, uint64_t fn, const uint64_t *args,
               size_t nargs, uint64_t sp, double deadline, uint64_t *ret,
               const char *what)
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
            if (wait_thread(tr->tid, hs_now() + 1.0, &status) != 1)
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
void
hs_tracee_read_string(const struct hs_tracee *tr, uint64_t addr, char *out,
                      size_t len)
{
    ssize_t n = pread(tr->memfd, out, len - 1, (off_t)addr);

    out[n > 0 ? n : 0] = '\0';
}

/*
 * Writes `data` below the red zone of the stopped thread's stack, with a
 * zero return-address slot under it (attach_ptrace.h).  The bytes
 * replaced are kept in tr->scratch_saved for hs_tracee_restore().
 */
int
hs_tracee_stack_write(struct hs_tracee *tr, const void *data, size_t len,
                      uint64_t *at, uint64_t *sp)
{
    char path[64];
    uint64_t top;
    unsigned char *bytes;
    int rc = 0;

    /* 128 bytes of red zone belong to the interrupted function. */
    top = (tr->saved.rsp - 256) & ~(uint64_t)15;
    *at = (top - len) & ~(uint64_t)15;
    *sp = *at - 8; /* the return-address slot; rsp % 16 == 8 at entry */
    snprintf(path, sizeof(path), "/proc/%d/mem", (int)tr->pid);
    tr->memfd = open(path, O_RDWR | O_CLOEXEC);
    if (tr->memfd < 0)
        return hs_error(HS_EXIT_IO, "cannot open '%s': %s", path,
                        strerror(errno));
    tr->scratch = *sp;
    tr->scratch_len = (size_t)(top - *sp);
    tr->scratch_saved = hs_xmalloc(tr->scratch_len);
    if (pread(tr->memfd, tr->scratch_saved, tr->scratch_len,
              (off_t)tr->scratch) != (ssize_t)tr->scratch_len) {
        HS_FREE_AND_NULL(tr->scratch_saved);
        return hs_error(HS_EXIT_IO, "cannot read the stack of thread %d: %s",
                        (int)tr->tid, strerror(errno));
    }
    /* Zeroed: the return address every call pops is 0. */
    bytes = hs_xcalloc(1, tr->scratch_len);
    memcpy(bytes + (*at - *sp), data, len);
    if (pwrite(tr->memfd, bytes, tr->scratch_len, (off_t)tr->scratch) !=
        (ssize_t)tr->scratch_len)
        rc = hs_error(HS_EXIT_IO, "cannot write to process %d: %s",
                      (int)tr->pid, strerror(errno));
    free(bytes);
    return rc;
}

/* Saves errno through the target's __errno_location() (attach_ptrace.h). */
int
hs_tracee_save_errno(struct hs_tracee *tr, uint64_t fn_errno, uint64_t sp,
                     double deadline)
{
    uint64_t rv = 0;

    if (hs_tracee_call(tr, fn_errno, NULL, 0, sp, deadline, &rv,
                       "__errno_location()") < 0)
        return -1;
    if (pread(tr->memfd, &tr->errno_saved, sizeof(int), (off_t)rv) ==
        (ssize_t)sizeof(int))
        tr->errno_addr = rv;
    return 0;
}

/* ---- safe points -------------------------------------------------------- */

/*
 * 1 if a thread blocked in syscall `nr` holds no lock dlopen needs: leaf
 * waits (sleep, poll, I/O, futex: condition and mutex waits release or do
 * not yet hold their lock).  restart_syscall is a resumed sleep or futex.
 */
int
hs_safe_syscall(long nr)
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
lock_holding_object(struct hs_target *t, const char *path)
{
    static const char *const names[] = {
        "ld-linux",    "ld-musl",     "libc.so",     "libc-2.",  "libc.musl",
        "libpthread",  "libdl",       "librt",       "libgcc_s", "libstdc++",
        "libjemalloc", "libtcmalloc", "libmimalloc", "libhoard", "libasan",
        "libtsan",     "libubsan",    "liblsan",
    };
    const char *base = hs_base_name(path);
    struct hs_elf e;
    Elf64_Sym s;
    int has_malloc;

    for (size_t i = 0; i < HS_ARRAY_SIZE(names); i++) {
        if (hs_starts_with(base, names[i]))
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
    if (hs_target_elf(t, path, &e) == 0) {
        has_malloc = hs_elf_symbol(&e, "malloc", &s) &&
                     ELF64_ST_TYPE(s.st_info) == STT_FUNC;
        hs_elf_release(&e);
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

    if (hs_proc_read_file(path, &b) == 0 && (p = strstr(b.buf, key)))
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
int
hs_safe_point(struct hs_target *t, pid_t tid, const struct user_regs_struct *r,
              char *why, size_t len)
{
    const struct hs_mapping *m = hs_maps_find(&t->maps, r->rip);
    const struct hs_mapping *stack = hs_maps_find(&t->maps, r->rsp);
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
    if (nr >= 0 && !hs_safe_syscall(nr)) {
        snprintf(why, len, "in system call %ld", nr);
        return 0;
    }
    if (!m || !m->path) {
        snprintf(why, len, "running anonymous code at 0x%llx", r->rip);
        return 0;
    }
    if (nr >= 0) {
        /* ld.so makes its own syscalls while holding its lock. */
        if (hs_starts_with(hs_base_name(m->path), "ld-")) {
            snprintf(why, len, "inside the dynamic loader");
            return 0;
        }
        return 1;
    }
    if (!strcmp(m->path, "[vdso]"))
        return !maybe_in_handler(t->pid, tid);
    if (m->path[0] != '/' || lock_holding_object(t, m->path)) {
        snprintf(why, len, "running in %s", hs_base_name(m->path));
        return 0;
    }
    if (maybe_in_handler(t->pid, tid)) {
        snprintf(why, len, "blocking a caught signal (in a handler?)");
        return 0;
    }
    return 1;
}

#endif /* x86-64 Linux */
