/*
 * inject.c: libheapsnap_inject.so, the loader that `heapsnap dump --pid`
 * makes a running CPython process dlopen() (see inspector/attach.c).
 *
 * Exports one symbol, heapsnap_inject_start(), which the CLI calls on a
 * thread it stopped at a safe point.  That call never touches Python (the
 * thread may be anywhere in the interpreter): it opens the status file,
 * copies its argument and starts a detached thread, all signals blocked.
 * The thread takes the GIL, loads the agent by absolute path under a
 * private module name, dumps, undoes its import and exits.
 *
 * Version-independent: not linked with libpython, no Python.h; it finds the
 * stable C API with dlsym().  Owns nothing after its thread ends but the
 * mapping of this library (reused by the next attach).
 */
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define HS_INJECT_EXPORT __attribute__((visibility("default")))

HS_INJECT_EXPORT int heapsnap_inject_start(const char *spec);

/*
 * Notes.  Waiting for the GIL in PyGILState_Ensure() is also what makes a
 * busy main thread drop it at its next eval-breaker check, on 3.9-3.12 too
 * (research P9, gh-95820).  Status protocol, one write() per line on the
 * file the CLI created, fields TAB-separated, NS = CLOCK_MONOTONIC ns:
 *   "thread TID NS"  "gil NS"  "ok OBJECTS EDGES SECONDS" or "fail MESSAGE"
 *   "end NS"
 * When the CLI gives up it unlinks the status file; a thread that only then
 * gets the GIL sees st_nlink == 0 and leaves without dumping.
 */

/* Opaque stand-ins for the few C API types used (stable since 3.2). */
typedef struct hs_pyobject hs_pyobject;
typedef int hs_gilstate; /* PyGILState_STATE is an enum */

#define HS_PY_FILE_INPUT 257 /* Py_file_input, unchanged since Python 2 */

/* The C API entry points, all exported by CPython 3.8-3.13. */
struct pyapi {
    int (*is_initialized)(void);
    int (*is_finalizing)(void); /* Py_IsFinalizing (3.13), else _Py_... */
    hs_gilstate (*gil_ensure)(void);
    void (*gil_release)(hs_gilstate);
    hs_pyobject *(*dict_new)(void);
    int (*dict_set)(hs_pyobject *, const char *, hs_pyobject *);
    hs_pyobject *(*dict_get)(hs_pyobject *, const char *);
    void (*dict_clear)(hs_pyobject *);
    hs_pyobject *(*builtins)(void);
    hs_pyobject *(*decode_fs)(const char *);
    hs_pyobject *(*long_from)(long);
    hs_pyobject *(*run)(const char *, int, hs_pyobject *, hs_pyobject *,
                        void *);
    const char *(*as_utf8)(hs_pyobject *);
    void (*err_clear)(void);
    void (*decref)(hs_pyobject *);
};

/* What the CLI asked for, parsed from the spec ("key=value" lines). */
struct job {
    int status_fd;      /* the status file, opened by the start call */
    char *spec;         /* the spec text; the fields below point into it */
    const char *agent;  /* folder holding the heapsnap package */
    const char *output; /* snapshot path, as the target sees it */
    const char *python; /* libpython path, or "" for the executable */
    int collect;        /* gc.collect() first */
    int redact;         /* no str/bytes contents */
    int fork;           /* a forked child of the target dumps */
};

/*
 * The Python side, run with the GIL held on the loader's own thread.  The
 * agent is loaded as "_heapsnap_attach_TID" so that a `heapsnap` the
 * program imported itself is neither reused nor replaced, nor is the copy
 * of a concurrent attach; the module and the importer-cache entry its
 * import creates are removed again.
 */
static const char payload[] =
    "def _heapsnap_attach(agent_dir, output, collect, redact, fork, tid):\n"
    "    import sys\n"
    "    name = '_heapsnap_attach_%d' % tid\n"
    "    pkg = agent_dir + '/heapsnap'\n"
    "    had_cache = pkg in sys.path_importer_cache\n"
    "    try:\n"
    "        boot = sys.modules['_frozen_importlib']\n"
    "        ext = sys.modules['_frozen_importlib_external']\n"
    "        spec = ext.spec_from_file_location(\n"
    "            name, pkg + '/__init__.py',\n"
    "            submodule_search_locations=[pkg])\n"
    "        mod = boot.module_from_spec(spec)\n"
    "        sys.modules[name] = mod\n"
    "        spec.loader.exec_module(mod)\n"
    "        r = mod._attach_dump(output, collect, redact, fork)\n"
    "        return 'ok\\t%d\\t%d\\t%.6f' % (r['objects'], r['edges'],\n"
    "                                     r['seconds'])\n"
    "    except BaseException as e:\n"
    "        msg = ' '.join(str(e).split()) or type(e).__name__\n"
    "        return 'fail\\t%s: %s' % (type(e).__name__, msg)\n"
    "    finally:\n"
    "        for k in [k for k in sys.modules\n"
    "                  if k == name or k.startswith(name + '.')]:\n"
    "            sys.modules.pop(k, None)\n"
    "        if not had_cache:\n"
    "            sys.path_importer_cache.pop(pkg, None)\n"
    "_heapsnap_result = _heapsnap_attach(_agent, _output, _collect, "
    "_redact, _fork, _tid)\n"
    "del _heapsnap_attach\n";

static long long
now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

/* Appends one line to the status file; a failed write is ignored (the CLI
 * then times out and says what it saw last). */
static void report(int fd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
report(int fd, const char *fmt, ...)
{
    char line[1024];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(line, sizeof(line) - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n > sizeof(line) - 2)
        n = (int)sizeof(line) - 2;
    line[n++] = '\n';
    if (write(fd, line, (size_t)n) < 0)
        return;
}

/* The symbol `name` from `handle`, also trying `alt` if given. */
static void *
sym(void *handle, const char *name, const char *alt)
{
    void *p = dlsym(handle, name);

    if (!p && alt)
        p = dlsym(handle, alt);
    return p;
}

/*
 * Fills `api` from libpython `path` (already loaded: RTLD_NOLOAD) or from
 * the global scope.  Returns the handle to dlclose (or NULL) in *handle;
 * 0 if every function was found, -1 if not.
 */
static int
load_api(const char *path, struct pyapi *api, void **handle)
{
    void *h = NULL;

    *handle = NULL;
    if (path && *path)
        h = dlopen(path, RTLD_LAZY | RTLD_NOLOAD);
    *handle = h;
    if (!h)
        h = RTLD_DEFAULT;
        /* POSIX guarantees that a data pointer from dlsym() converts to a
     * function pointer; the union spells that without a cast warning. */
#define HS_LOAD(field, name, alt)     \
    do {                              \
        union {                       \
            void *p;                  \
            __typeof__(api->field) f; \
        } u_;                         \
        u_.p = sym(h, name, alt);     \
        api->field = u_.f;            \
        if (!u_.p)                    \
            return -1;                \
    } while (0)
    HS_LOAD(is_initialized, "Py_IsInitialized", NULL);
    HS_LOAD(is_finalizing, "Py_IsFinalizing", "_Py_IsFinalizing");
    HS_LOAD(gil_ensure, "PyGILState_Ensure", NULL);
    HS_LOAD(gil_release, "PyGILState_Release", NULL);
    HS_LOAD(dict_new, "PyDict_New", NULL);
    HS_LOAD(dict_set, "PyDict_SetItemString", NULL);
    HS_LOAD(dict_get, "PyDict_GetItemString", NULL);
    HS_LOAD(dict_clear, "PyDict_Clear", NULL);
    HS_LOAD(builtins, "PyEval_GetBuiltins", NULL);
    HS_LOAD(decode_fs, "PyUnicode_DecodeFSDefault", NULL);
    HS_LOAD(long_from, "PyLong_FromLong", NULL);
    HS_LOAD(run, "PyRun_StringFlags", NULL);
    HS_LOAD(as_utf8, "PyUnicode_AsUTF8", NULL);
    HS_LOAD(err_clear, "PyErr_Clear", NULL);
    HS_LOAD(decref, "Py_DecRef", NULL);
#undef HS_LOAD
    return 0;
}

/* Sets globals[key] = value and drops the new reference; -1 on failure. */
static int
set_item(const struct pyapi *api, hs_pyobject *globals, const char *key,
         hs_pyobject *value)
{
    int rc;

    if (!value)
        return -1;
    rc = api->dict_set(globals, key, value);
    api->decref(value);
    return rc;
}

/*
 * Runs the payload; the GIL is held.  Writes "ok ..." or "fail ..." into
 * `out` (NUL-terminated).  Python errors are all caught by the payload; a
 * failure of the C calls around it clears the exception and says so.
 */
static void
run_payload(const struct pyapi *api, const struct job *job, char *out,
            size_t outlen)
{
    hs_pyobject *globals = api->dict_new();
    hs_pyobject *res, *text;
    const char *s;

    snprintf(out, outlen,
             "fail\tthe loader could not run its Python "
             "code in the target");
    if (!globals) {
        api->err_clear();
        return;
    }
    if (api->dict_set(globals, "__builtins__", api->builtins()) < 0 ||
        set_item(api, globals, "_agent", api->decode_fs(job->agent)) < 0 ||
        set_item(api, globals, "_output", api->decode_fs(job->output)) < 0 ||
        set_item(api, globals, "_collect", api->long_from(job->collect)) < 0 ||
        set_item(api, globals, "_redact", api->long_from(job->redact)) < 0 ||
        set_item(api, globals, "_fork", api->long_from(job->fork)) < 0 ||
        set_item(api, globals, "_tid",
                 api->long_from((long)syscall(SYS_gettid))) < 0)
        goto done;
    res = api->run(payload, HS_PY_FILE_INPUT, globals, globals, NULL);
    if (!res)
        goto done;
    api->decref(res);
    text = api->dict_get(globals, "_heapsnap_result"); /* borrowed */
    s = text ? api->as_utf8(text) : NULL;
    if (s)
        snprintf(out, outlen, "%s", s);
done:
    api->err_clear();
    /* Break the payload's function <-> globals cycle now rather than
     * leaving it for the target's next collection. */
    api->dict_clear(globals);
    api->decref(globals);
}

/* Splits the spec into the job's fields (in place). */
static void
parse_spec(struct job *job)
{
    char *line = job->spec, *nl;

    job->agent = job->output = job->python = "";
    for (; line && *line; line = nl) {
        char *eq;

        nl = strchr(line, '\n');
        if (nl)
            *nl++ = '\0';
        eq = strchr(line, '=');
        if (!eq)
            continue;
        *eq++ = '\0';
        if (!strcmp(line, "agent"))
            job->agent = eq;
        else if (!strcmp(line, "output"))
            job->output = eq;
        else if (!strcmp(line, "python"))
            job->python = eq;
        else if (!strcmp(line, "collect"))
            job->collect = *eq == '1';
        else if (!strcmp(line, "redact"))
            job->redact = *eq == '1';
        else if (!strcmp(line, "fork"))
            job->fork = *eq == '1';
    }
}

/* 1 when the CLI gave up (it unlinked the status file). */
static int
abandoned(int fd)
{
    struct stat st;

    return fstat(fd, &st) == 0 && st.st_nlink == 0;
}

/*
 * The loader thread: takes the GIL, runs the payload, reports, exits.
 * Owns `arg` (a struct job) and frees it.  Any failure is reported on the
 * status file; the thread never outlives a GIL it holds.
 */
static void *
loader_main(void *arg)
{
    struct job *job = arg;
    struct pyapi api;
    void *handle = NULL;
    char result[1024];
    hs_gilstate gil;

    prctl(PR_SET_NAME, "heapsnap-attach", 0, 0, 0);
    report(job->status_fd, "thread\t%ld\t%lld", (long)syscall(SYS_gettid),
           now_ns());
    parse_spec(job);
    if (load_api(job->python, &api, &handle) < 0) {
        report(job->status_fd, "fail\tthe loader found no Python C API "
                               "in the process");
        goto out;
    }
    /* Before Py_Initialize, or once finalization started, taking the GIL
     * crashes or ends this thread (PyThread_exit_thread in take_gil). */
    if (!api.is_initialized() || api.is_finalizing()) {
        report(job->status_fd, "fail\tthe interpreter is %s",
               api.is_initialized() ? "shutting down" : "not initialized");
        goto out;
    }
    gil = api.gil_ensure();
    report(job->status_fd, "gil\t%lld", now_ns());
    if (abandoned(job->status_fd)) {
        api.gil_release(gil);
        goto out;
    }
    run_payload(&api, job, result, sizeof(result));
    api.gil_release(gil);
    report(job->status_fd, "%s", result);
out:
    report(job->status_fd, "end\t%lld", now_ns());
    close(job->status_fd);
    if (handle)
        dlclose(handle);
    free(job->spec);
    free(job);
    return NULL;
}

/*
 * Called by the CLI on a thread it hijacked.  `spec` holds "key=value"
 * lines: status, agent, output, python, collect, redact, fork.  Opens the status
 * file, copies the spec and starts the loader thread with all signals
 * blocked (signals stay with the program's threads), restoring this
 * thread's signal mask.  Returns 0, or an errno value; never blocks on
 * anything the interrupted code could hold but the allocator's and the
 * thread library's own locks, which a safe point does not hold.
 */
int
heapsnap_inject_start(const char *spec)
{
    struct job *job;
    const char *status;
    char path[4096];
    size_t len;
    pthread_attr_t attr;
    pthread_t th;
    sigset_t all, old;
    int rc;

    status = strstr(spec, "status=");
    if (!status)
        return EINVAL;
    status += strlen("status=");
    len = strcspn(status, "\n");
    if (len >= sizeof(path))
        return ENAMETOOLONG;
    memcpy(path, status, len);
    path[len] = '\0';
    job = calloc(1, sizeof(*job));
    if (!job)
        return ENOMEM;
    job->spec = strdup(spec);
    if (!job->spec) {
        free(job);
        return ENOMEM;
    }
    job->status_fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
    if (job->status_fd < 0) {
        rc = errno;
        goto fail;
    }
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    rc = pthread_create(&th, &attr, loader_main, job);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc == 0)
        return 0;
    close(job->status_fd);
fail:
    free(job->spec);
    free(job);
    return rc;
}
