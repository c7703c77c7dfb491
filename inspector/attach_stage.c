/*
 * attach_stage.c: the files of one `heapsnap dump --pid` (attach_stage.h):
 * the status file, and when the target is another user's or sees another
 * file system, a private folder in its /tmp (or /dev/shm, /var/tmp) owned
 * by its user with copies of the loader and the agent; the PEP 768 payload
 * beside the status file; the snapshot brought back to where the user
 * asked for it.
 *
 * Owns: struct hs_attach_paths and the files it names.  Invariants: every
 * file is created with O_EXCL (mkstemp, mkdtemp) and mode 0600 or 0700,
 * then given to the target's user; hs_attach_paths_release() removes
 * everything but a snapshot the user asked for, and a staging folder
 * whose dump is still running.  The status file is claimed by the payload
 * with rename() and withdrawn by heapsnap with unlink(): exactly one of
 * the two succeeds, so a request taken back never dumps.
 */
#include "attach_stage.h"
#include "launch.h"

#if defined(__x86_64__) && defined(__linux__)

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- where things go ---------------------------------------------------- */

/* The loader library next to this binary (build tree or installed). */
char *
hs_attach_find_loader(void)
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

/* Gives `path` to the target's user; 0, or -1 with errno. */
static int
hand_over(const char *path, const struct hs_proc_info *pi)
{
    if (chown(path, pi->uid, pi->gid) < 0 && pi->uid != geteuid())
        return -1;
    return 0;
}

/* Copies the agent package for the target into `dst`/heapsnap, each file
 * given to its user.  0, or -1 with errno. */
static int
stage_agent(const char *agent, const char *ext, const char *dst,
            const struct hs_proc_info *pi)
{
    /* What `import heapsnap` loads (the extension last: it gets `ext`). */
    static const char *const files[] = { "__init__.py", "track.py",
                                         "_heapsnap" };
    char *pkg = hs_xasprintf("%s/heapsnap", dst);
    int rc = mkdir(pkg, 0700) < 0 || hand_over(pkg, pi) < 0 ? -1 : 0;

    for (size_t i = 0; rc == 0 && i < HS_ARRAY_SIZE(files); i++) {
        const char *suffix = i == HS_ARRAY_SIZE(files) - 1 ? ext : "";
        char *from = hs_xasprintf("%s/heapsnap/%s%s", agent, files[i], suffix);
        char *to = hs_xasprintf("%s/%s%s", pkg, files[i], suffix);

        rc = copy_file(from, to, 0600) < 0 || hand_over(to, pi) < 0 ? -1 : 0;
        free(from);
        free(to);
    }
    free(pkg);
    return rc;
}

/*
 * Fills the staged half of `p`: a private folder in the target's /tmp (or
 * /dev/shm, /var/tmp) owned by its user, with copies of the loader and the
 * agent and an empty status file.  Returns 0, or -1 after an error.
 */
static int
stage(const struct hs_target *t, const char *lib, const char *agent,
      struct hs_attach_paths *p)
{
    static const char *const tmpdirs[] = { "/tmp", "/dev/shm", "/var/tmp" };
    char *lib_copy, *agent_copy;
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
    p->output_local = hs_xasprintf("%s/snapshot.db", p->stage);
    if (copy_file(lib, lib_copy, 0644) < 0 || mkdir(agent_copy, 0700) < 0 ||
        hand_over(agent_copy, &t->info) < 0 ||
        stage_agent(agent, t->py.ext_suffix, agent_copy, &t->info) < 0 ||
        make_status_file(p->stage, &p->status_local) < 0)
        rc = hs_error(HS_EXIT_IO, "cannot prepare staging folder '%s': %s",
                      p->stage, strerror(errno));
    else if (hand_over(p->stage, &t->info) < 0 ||
             hand_over(lib_copy, &t->info) < 0 ||
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
    return rc;
}

/* The names the status file takes once the payload claimed it. */
static void
name_claimed(struct hs_attach_paths *p)
{
    free(p->claimed);
    free(p->claimed_local);
    p->claimed = hs_xasprintf("%s.run", p->status);
    p->claimed_local = hs_xasprintf("%s.run", p->status_local);
}

/*
 * Decides where everything goes and prepares it: the status file, and a
 * staging folder when the target does not see this process's files under
 * the same names with the same rights.  Returns 0, or -1 after an error
 * (exit 4); nothing in the target has been touched then.
 */
int
hs_attach_prepare(const struct hs_target *t, const char *lib,
                  const char *agent, const char *output,
                  struct hs_attach_paths *p)
{
    char *dir = hs_xstrdup(output), *slash = strrchr(dir, '/');
    int rc = -1;

    memset(p, 0, sizeof(*p));
    p->uid = t->info.uid;
    p->gid = t->info.gid;
    if (slash)
        slash[slash == dir ? 1 : 0] = '\0';
    if (hs_target_same_view(t->pid, &t->info)) {
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
    if (rc == 0)
        name_claimed(p);
    free(dir);
    return rc;
}

/*
 * Moves the staged snapshot to `output` (copying across file systems); it
 * then belongs to heapsnap's user, who asked for it, not to the target's.
 */
int
hs_attach_collect_output(const struct hs_attach_paths *p, const char *output)
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

int
hs_attach_write_payload(struct hs_attach_paths *p, const char *text)
{
    size_t len = strlen(text);
    int fd;

    free(p->payload_local);
    free(p->payload);
    p->payload_local = hs_xasprintf("%s.py", p->status_local);
    p->payload = hs_xasprintf("%s.py", p->status);
    fd = open(p->payload_local, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0 || write(fd, text, len) != (ssize_t)len || close(fd) < 0 ||
        (p->stage && chown(p->payload_local, p->uid, p->gid) < 0 &&
         p->uid != geteuid())) {
        int saved = errno;

        if (fd >= 0)
            unlink(p->payload_local);
        HS_FREE_AND_NULL(p->payload);
        return hs_error(HS_EXIT_IO, "cannot write '%s': %s", p->payload_local,
                        strerror(saved));
    }
    return 0;
}

int
hs_attach_withdraw(const struct hs_attach_paths *p)
{
    if (unlink(p->status_local) == 0)
        return 1;
    return errno == ENOENT && access(p->claimed_local, F_OK) == 0 ? 0 : -1;
}

int
hs_attach_renew_status(struct hs_attach_paths *p)
{
    char *dir = hs_xstrdup(p->status_local), *slash = strrchr(dir, '/');
    char *fresh = NULL;

    if (slash)
        *slash = '\0';
    if (make_status_file(dir, &fresh) < 0 ||
        (p->stage && chown(fresh, p->uid, p->gid) < 0 &&
         p->uid != geteuid())) {
        hs_error(HS_EXIT_IO, "cannot write to '%s': %s", dir, strerror(errno));
        if (fresh)
            unlink(fresh);
        free(fresh);
        free(dir);
        return -1;
    }
    free(p->status_local);
    p->status_local = fresh;
    free(p->status);
    p->status = hs_xstrdup(fresh + p->root_len);
    name_claimed(p);
    free(dir);
    return 0;
}

void
hs_attach_paths_release(struct hs_attach_paths *p, int keep_stage)
{
    if (p->stage && !keep_stage)
        remove_tree(p->stage, 3);
    else if (!p->stage) {
        if (p->status_local)
            unlink(p->status_local);
        if (p->claimed_local)
            unlink(p->claimed_local);
        if (p->payload_local)
            unlink(p->payload_local);
    }
    free(p->lib);
    free(p->agent);
    free(p->output);
    free(p->status);
    free(p->status_local);
    free(p->claimed);
    free(p->claimed_local);
    free(p->payload);
    free(p->payload_local);
    free(p->output_local);
    free(p->stage);
    memset(p, 0, sizeof(*p));
}

/* ---- the status file ---------------------------------------------------- */

/* Parses the status file as it is now; a missing file reads as empty. */
void
hs_attach_status_read(const char *path, struct hs_attach_status *st)
{
    struct hs_buf b = HS_BUF_INIT;
    char *line, *nl;

    memset(st, 0, sizeof(*st));
    if (hs_proc_read_file(path, &b) < 0)
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
        else if (sscanf(line, "walked\t%lld", &ns) == 1)
            st->t_walked = ns;
        else if (sscanf(line, "end\t%lld", &ns) == 1)
            st->t_end = ns;
        else if (sscanf(line, "ok\t%llu\t%llu\t%lf", &a, &c, &st->seconds) ==
                 3) {
            st->result = 1;
            st->objects = a;
            st->edges = c;
        } else if (hs_starts_with(line, "fail\t")) {
            st->result = -1;
            snprintf(st->message, sizeof(st->message), "%s", line + 5);
        }
    }
    hs_buf_release(&b);
}

#endif /* x86-64 Linux */
