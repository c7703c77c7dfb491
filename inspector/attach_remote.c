/*
 * attach_remote.c: the remote-debugging protocol of CPython 3.14 (PEP 768)
 * driven from outside the process (attach_remote.h).  The interpreter
 * publishes the offsets of its own structs in _Py_DebugOffsets, at the
 * start of the .PyRuntime section of the file holding the runtime; a
 * debugger writes a script path into a thread state, sets that thread's
 * pending-call flag and one eval-breaker bit, and the thread runs the
 * script at its next eval-breaker check, with the GIL held, where signal
 * handlers run.
 *
 * Owns: struct hs_remote (a copy of the offsets, the list of thread
 * states).  Invariants: the target is only read and written with
 * process_vm_readv/writev (no stop, no signal); every pointer read from it
 * is followed a bounded number of times (lists end at 4,096 entries); the
 * only writes are a request and its cancellation.  Nothing here prints:
 * failures come back as one line in the caller's buffer.
 */
#include "attach_remote.h"
#include "progress.h"

#if defined(__x86_64__) && defined(__linux__)

#include <sys/uio.h>
#include <unistd.h>

/* ---- the layout of _Py_DebugOffsets ------------------------------------- */

/*
 * Where each field heapsnap uses sits in _Py_DebugOffsets, in 8-byte words,
 * for one minor version (CPython's Include/internal/pycore_debug_offsets.h;
 * every field there is a uint64_t).  For 3.14: cookie 0, version 1,
 * free_threaded 2; runtime_state 3-5; interpreter_state 6-21 (16 fields);
 * thread_state 22-30; interpreter_frame 31-38; code, object, type, tuple,
 * list, set, dict, float, long, bytes, unicode, gc, generator and llist
 * offsets 39-88; debugger_support 89-94.  The layout is fixed within a
 * minor series: external profilers rely on it.
 */
struct layout {
    int minor;                /* 3.minor */
    unsigned words;           /* size of the struct in words */
    uint64_t please_stop_bit; /* _PY_EVAL_PLEASE_STOP_BIT (pycore_ceval.h) */
    unsigned version, free_threaded, rt_size, rt_finalizing, rt_interp_head,
        interp_size, interp_id, interp_next, interp_threads_head,
        interp_threads_main, tstate_size, tstate_next, tstate_frame,
        tstate_native_id, frame_size, frame_instr_ptr, eval_breaker,
        remote_support, remote_enabled, pending_call, script_path,
        script_path_size;
};

static const struct layout layouts[] = {
    { .minor = 14,
      .words = 95,
      .please_stop_bit = 1u << 5,
      .version = 1,
      .free_threaded = 2,
      .rt_size = 3,
      .rt_finalizing = 4,
      .rt_interp_head = 5,
      .interp_size = 6,
      .interp_id = 7,
      .interp_next = 8,
      .interp_threads_head = 9,
      .interp_threads_main = 10,
      .tstate_size = 22,
      .tstate_next = 24,
      .tstate_frame = 26,
      .tstate_native_id = 28,
      .frame_size = 31,
      .frame_instr_ptr = 34,
      .eval_breaker = 89,
      .remote_support = 90,
      .remote_enabled = 91,
      .pending_call = 92,
      .script_path = 93,
      .script_path_size = 94 },
};

static const struct layout *
layout_for(int minor)
{
    for (size_t i = 0; i < HS_ARRAY_SIZE(layouts); i++) {
        if (layouts[i].minor == minor)
            return &layouts[i];
    }
    return NULL;
}

size_t
hs_debug_offsets_size(int minor)
{
    const struct layout *l = layout_for(minor);

    return l ? l->words * sizeof(uint64_t) : 0;
}

int
hs_debug_offsets_parse(const void *raw, size_t len, int minor,
                       struct hs_debug_offsets *out, char *why, size_t whylen)
{
    const struct layout *l = layout_for(minor);
    const unsigned char *bytes = raw;
    uint64_t w[128];
    uint64_t rt_size;

    memset(out, 0, sizeof(*out));
    if (!l) {
        snprintf(why, whylen,
                 "heapsnap knows the remote-debugging layout of Python 3.14 "
                 "only, not of 3.%d",
                 minor);
        return -1;
    }
    if (len < l->words * sizeof(uint64_t) || l->words > HS_ARRAY_SIZE(w)) {
        snprintf(why, whylen, "its _Py_DebugOffsets are cut short");
        return -1;
    }
    memcpy(w, bytes, l->words * sizeof(uint64_t));
    if (memcmp(bytes, "xdebugpy", 8)) {
        snprintf(why, whylen,
                 "its .PyRuntime section does not start with the "
                 "_Py_DebugOffsets cookie");
        return -1;
    }
#define HS_TAKE(field) out->field = w[l->field]
    HS_TAKE(version);
    HS_TAKE(free_threaded);
    HS_TAKE(rt_finalizing);
    HS_TAKE(rt_interp_head);
    HS_TAKE(interp_size);
    HS_TAKE(interp_id);
    HS_TAKE(interp_next);
    HS_TAKE(interp_threads_head);
    HS_TAKE(interp_threads_main);
    HS_TAKE(tstate_size);
    HS_TAKE(tstate_next);
    HS_TAKE(tstate_frame);
    HS_TAKE(tstate_native_id);
    HS_TAKE(frame_size);
    HS_TAKE(frame_instr_ptr);
    HS_TAKE(eval_breaker);
    HS_TAKE(remote_support);
    HS_TAKE(remote_enabled);
    HS_TAKE(pending_call);
    HS_TAKE(script_path);
    HS_TAKE(script_path_size);
#undef HS_TAKE
    out->please_stop_bit = l->please_stop_bit;
    rt_size = w[l->rt_size];
    if ((out->version >> 24) != 3 ||
        (int)((out->version >> 16) & 0xFF) != minor) {
        snprintf(why, whylen,
                 "its _Py_DebugOffsets are for version %#llx, not 3.%d",
                 (unsigned long long)out->version, minor);
        return -1;
    }
    if (out->free_threaded) {
        snprintf(why, whylen, "it is a free-threaded build");
        return -1;
    }
    /* Every offset inside its struct, every struct of a sane size: a
     * wrong layout table would fail here rather than write elsewhere. */
    if (rt_size > (1u << 24) || out->interp_size > (1u << 24) ||
        out->tstate_size > (1u << 20) || out->frame_size > 4096 ||
        out->rt_finalizing + 8 > rt_size ||
        out->rt_interp_head + 8 > rt_size ||
        out->interp_id + 8 > out->interp_size ||
        out->interp_next + 8 > out->interp_size ||
        out->interp_threads_head + 8 > out->interp_size ||
        out->interp_threads_main + 8 > out->interp_size ||
        out->remote_enabled + 4 > out->interp_size ||
        out->tstate_next + 8 > out->tstate_size ||
        out->tstate_frame + 8 > out->tstate_size ||
        out->tstate_native_id + 8 > out->tstate_size ||
        out->eval_breaker + 8 > out->tstate_size ||
        out->frame_instr_ptr + 8 > out->frame_size ||
        out->script_path_size < 64 || out->script_path_size > 65536 ||
        out->pending_call + 4 > out->script_path ||
        out->remote_support + out->script_path + out->script_path_size >
            out->tstate_size) {
        snprintf(why, whylen,
                 "its _Py_DebugOffsets do not have the layout heapsnap "
                 "expects for Python 3.%d",
                 minor);
        return -1;
    }
    return 0;
}

/* ---- the target's memory ------------------------------------------------ */

/* Copies `len` bytes between `buf` and `addr` of `pid`: into `buf` when
 * `to_target` is 0, from it otherwise.  0, or -1 with errno (EFAULT for a
 * short copy). */
static int
vm_copy(pid_t pid, uint64_t addr, void *buf, size_t len, int to_target)
{
    struct iovec local = { buf, len };
    struct iovec remote = { (void *)(uintptr_t)addr, len };
    ssize_t n = to_target ? process_vm_writev(pid, &local, 1, &remote, 1, 0)
                          : process_vm_readv(pid, &local, 1, &remote, 1, 0);

    if (n == (ssize_t)len)
        return 0;
    if (n >= 0)
        errno = EFAULT;
    return -1;
}

/* Reads `len` bytes at `addr` of `pid`; 0, or -1 with errno. */
static int
peek(pid_t pid, uint64_t addr, void *buf, size_t len)
{
    return vm_copy(pid, addr, buf, len, 0);
}

/* Writes `len` bytes to `addr` of `pid`; 0, or -1 with errno. */
static int
poke(pid_t pid, uint64_t addr, const void *buf, size_t len)
{
    return vm_copy(pid, addr, (void *)(uintptr_t)buf, len, 1);
}

static int
peek_u64(pid_t pid, uint64_t addr, uint64_t *v)
{
    return peek(pid, addr, v, sizeof(*v));
}

/* ---- opening ------------------------------------------------------------ */

void
hs_remote_release(struct hs_remote *r)
{
    free(r->threads);
    memset(r, 0, sizeof(*r));
}

/* Fills `why` for a failed read of `what` and sets the exit code. */
static int
read_failed(const struct hs_remote *r, const char *what, char *why,
            size_t whylen, int *code)
{
    snprintf(why, whylen, "cannot read %s of process %d: %s", what,
             (int)r->pid, strerror(errno));
    *code = HS_EXIT_IO;
    return -1;
}

/* Lists the thread states of r->interp into r->threads. */
static int
read_threads(struct hs_remote *r, char *why, size_t whylen, int *code)
{
    const struct hs_debug_offsets *o = &r->off;
    uint64_t ts, main_ts;

    r->nthreads = 0;
    if (peek_u64(r->pid, r->interp + o->interp_threads_head, &ts) < 0 ||
        peek_u64(r->pid, r->interp + o->interp_threads_main, &main_ts) < 0)
        return read_failed(r, "the interpreter's thread list", why, whylen,
                           code);
    for (; ts && r->nthreads < 4096;) {
        struct hs_remote_thread th;
        uint64_t native = 0, next = 0;

        if (peek_u64(r->pid, ts + o->tstate_native_id, &native) < 0 ||
            peek_u64(r->pid, ts + o->tstate_next, &next) < 0)
            return read_failed(r, "a thread state", why, whylen, code);
        memset(&th, 0, sizeof(th));
        th.tstate = ts;
        th.tid = (pid_t)native;
        th.is_main = ts == main_ts;
        th.state = '?';
        HS_ALLOC_GROW(r->threads, r->nthreads + 1, r->alloc);
        r->threads[r->nthreads++] = th;
        ts = next;
    }
    return 0;
}

int
hs_remote_open(const struct hs_target *t, struct hs_remote *r, char *why,
               size_t whylen, int *code)
{
    size_t need = hs_debug_offsets_size(t->minor);
    unsigned char raw[1024] = { 0 };
    uint64_t size = 0, interp = 0, finalizing = 0;
    int32_t enabled = 0;

    memset(r, 0, sizeof(*r));
    r->pid = t->pid;
    *code = HS_EXIT_USAGE;
    if (t->minor < 14) {
        snprintf(why, whylen,
                 "Python %s has no remote debugging (it came in 3.14)",
                 t->version);
        return -1;
    }
    if (!need || need > sizeof(raw))
        return hs_debug_offsets_parse(raw, 0, t->minor, &r->off, why, whylen);
    if (hs_target_section(t, t->python, ".PyRuntime", &r->runtime, &size) <
        0) {
        snprintf(why, whylen, "'%s' has no .PyRuntime section: %s", t->python,
                 strerror(errno));
        return -1;
    }
    if (size < need) {
        snprintf(why, whylen, "the .PyRuntime section of '%s' is too small",
                 t->python);
        return -1;
    }
    if (peek(r->pid, r->runtime, raw, need) < 0)
        return read_failed(r, "_Py_DebugOffsets", why, whylen, code);
    if (hs_debug_offsets_parse(raw, need, t->minor, &r->off, why, whylen) < 0)
        return -1;
    if (peek_u64(r->pid, r->runtime + r->off.rt_finalizing, &finalizing) < 0 ||
        peek_u64(r->pid, r->runtime + r->off.rt_interp_head, &interp) < 0)
        return read_failed(r, "the runtime state", why, whylen, code);
    if (finalizing) {
        snprintf(why, whylen, "its interpreter is shutting down");
        return -1;
    }
    /* The main interpreter (id 0) is the oldest: last in the list. */
    for (int n = 0; interp && n < 4096; n++) {
        int64_t id = -1;

        if (peek(r->pid, interp + r->off.interp_id, &id, sizeof(id)) < 0)
            return read_failed(r, "an interpreter state", why, whylen, code);
        if (id == 0) {
            r->interp = interp;
            break;
        }
        if (peek_u64(r->pid, interp + r->off.interp_next, &interp) < 0)
            return read_failed(r, "an interpreter state", why, whylen, code);
    }
    if (!r->interp) {
        snprintf(why, whylen,
                 "it has no main interpreter (not initialized "
                 "yet, or finalized)");
        return -1;
    }
    if (peek(r->pid, r->interp + r->off.remote_enabled, &enabled,
             sizeof(enabled)) < 0)
        return read_failed(r, "the interpreter's configuration", why, whylen,
                           code);
    r->enabled = enabled == 1;
    return read_threads(r, why, whylen, code);
}

/* ---- why it is disabled ------------------------------------------------- */

/* Reads NUL-separated /proc/PID/`file` into `b`; 0 or -1. */
static int
proc_strings(pid_t pid, const char *file, struct hs_buf *b)
{
    char path[64];

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, file);
    return hs_proc_read_file(path, b);
}

/* 1 if environment `b` (NUL-separated) sets PYTHON_DISABLE_REMOTE_DEBUG
 * to a non-empty value (an empty one counts as unset). */
static int
has_env_setting(const struct hs_buf *b)
{
    static const char name[] = "PYTHON_DISABLE_REMOTE_DEBUG=";

    for (size_t at = 0; at < b->len; at += strlen(b->buf + at) + 1) {
        if (hs_starts_with(b->buf + at, name) &&
            b->buf[at + sizeof(name) - 1] != '\0')
            return 1;
    }
    return 0;
}

/* 1 if the command line `b` (NUL-separated) has -X disable-remote-debug. */
static int
has_x_option(const struct hs_buf *b)
{
    const char *prev = "";

    for (size_t at = 0; at < b->len; at += strlen(b->buf + at) + 1) {
        const char *arg = b->buf + at;
        const char *opt = !strcmp(prev, "-X")         ? arg
                          : hs_starts_with(arg, "-X") ? arg + 2
                                                      : NULL;

        /* CPython 3.14 reads this spelling only: "-X
         * disable_remote_debug" leaves remote debugging on. */
        if (opt && !strcmp(opt, "disable-remote-debug"))
            return 1;
        prev = arg;
    }
    return 0;
}

void
hs_remote_disabled_reason(const struct hs_target *t, char *out, size_t outlen)
{
    struct hs_buf env = HS_BUF_INIT, argv = HS_BUF_INIT;
    struct hs_elf e;
    int built = 1;

    proc_strings(t->pid, "environ", &env);
    proc_strings(t->pid, "cmdline", &argv);
    if (hs_target_elf(t, t->python, &e) == 0) {
        /* The audit event's name exists only in builds that can run a
         * debugger's script. */
        built =
            hs_elf_has_string(&e, ".rodata", "cpython.remote_debugger_script");
        hs_elf_release(&e);
    }
    if (has_x_option(&argv))
        snprintf(out, outlen, "it was started with -X disable-remote-debug");
    else if (has_env_setting(&env))
        snprintf(out, outlen,
                 "PYTHON_DISABLE_REMOTE_DEBUG is set in its environment");
    else if (!built)
        snprintf(out, outlen, "its Python was built --without-remote-debug");
    else
        snprintf(out, outlen,
                 "its embedding application set PyConfig.remote_debug to 0");
    hs_buf_release(&env);
    hs_buf_release(&argv);
}

/* ---- choosing a thread -------------------------------------------------- */

/* The state letter of thread `tid` from /proc/PID/task/TID/stat, or '?'. */
static char
task_state(pid_t pid, pid_t tid)
{
    char path[96];
    struct hs_buf b = HS_BUF_INIT;
    const char *close_paren;
    char state = '?';

    snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
    if (hs_proc_read_file(path, &b) == 0 &&
        (close_paren = strrchr(b.buf, ')')) && close_paren[1] == ' ')
        state = close_paren[2];
    hs_buf_release(&b);
    return state;
}

/* One sample of thread `th`: its frame and instruction, its state. */
static void
sample(const struct hs_remote *r, struct hs_remote_thread *th, int first)
{
    uint64_t frame = 0, ip = 0;

    if (peek_u64(r->pid, th->tstate + r->off.tstate_frame, &frame) < 0)
        return;
    if (frame)
        peek_u64(r->pid, frame + r->off.frame_instr_ptr, &ip);
    if (!first && (frame != th->frame || ip != th->ip))
        th->moves++;
    th->frame = frame;
    th->ip = ip;
    if (th->state != 'R')
        th->state = task_state(r->pid, th->tid);
}

/* 1 if `a` is a better choice than `b`. */
static int
better(const struct hs_remote_thread *a, const struct hs_remote_thread *b)
{
    if (a->moves != b->moves)
        return a->moves > b->moves;
    if ((a->state == 'R') != (b->state == 'R'))
        return a->state == 'R';
    return a->is_main && !b->is_main;
}

const struct hs_remote_thread *
hs_remote_pick(struct hs_remote *r, double seconds, double longest)
{
    const struct hs_remote_thread *best = NULL;
    double start = hs_now();

    if (!r->nthreads)
        return NULL;
    for (int i = 0;; i++) {
        double spent = hs_now() - start;
        unsigned most = 0;

        for (size_t k = 0; k < r->nthreads; k++) {
            sample(r, &r->threads[k], i == 0);
            if (r->threads[k].moves > most)
                most = r->threads[k].moves;
        }
        /* On a loaded machine a busy thread may not run for a while:
         * keep looking until one moved twice, up to `longest`. */
        if (i > 0 && ((spent >= seconds && most >= 2) || spent >= longest))
            break;
        hs_sleep(1e-3);
    }
    for (size_t k = 0; k < r->nthreads; k++) {
        if (!best || better(&r->threads[k], best))
            best = &r->threads[k];
    }
    return best;
}

/* ---- the request -------------------------------------------------------- */

int
hs_remote_request(const struct hs_remote *r, const struct hs_remote_thread *th,
                  const char *path, char *why, size_t whylen)
{
    const struct hs_debug_offsets *o = &r->off;
    uint64_t support = th->tstate + o->remote_support;
    size_t len = strlen(path) + 1;
    int32_t pending = 0, one = 1;
    uint64_t breaker = 0;

    if (len > o->script_path_size) {
        snprintf(why, whylen,
                 "the payload's path is %zu bytes long, longer than the "
                 "%llu the protocol allows",
                 len - 1, (unsigned long long)o->script_path_size - 1);
        return -1;
    }
    if (peek(r->pid, support + o->pending_call, &pending, sizeof(pending)) < 0)
        goto failed;
    if (pending) {
        snprintf(why, whylen,
                 "thread %d of process %d already has a remote-debugging "
                 "request pending (another debugger's)",
                 (int)th->tid, (int)r->pid);
        return -1;
    }
    /* The path first, then the flag that makes it valid, then the bit
     * that makes the thread look.  The bit is read, OR-ed and written back
     * as CPython's own sys.remote_exec() does: a bit the target sets in
     * between may be lost once (it asks again), and one it clears may be
     * set again (a spurious check, harmless). */
    if (poke(r->pid, support + o->script_path, path, len) < 0 ||
        poke(r->pid, support + o->pending_call, &one, sizeof(one)) < 0 ||
        peek_u64(r->pid, th->tstate + o->eval_breaker, &breaker) < 0)
        goto failed;
    breaker |= o->please_stop_bit;
    if (poke(r->pid, th->tstate + o->eval_breaker, &breaker, sizeof(breaker)) <
        0)
        goto failed;
    return 0;
failed:
    snprintf(why, whylen, "cannot write to process %d: %s", (int)r->pid,
             strerror(errno));
    return -1;
}

void
hs_remote_cancel(const struct hs_remote *r, const struct hs_remote_thread *th)
{
    uint64_t support = th->tstate + r->off.remote_support;
    int32_t zero = 0;
    char nul = '\0';

    poke(r->pid, support + r->off.pending_call, &zero, sizeof(zero));
    poke(r->pid, support + r->off.script_path, &nul, 1);
}

#endif /* x86-64 Linux */
