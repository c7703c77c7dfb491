/*
 * opt.c: the option-table parser and help printer (git's parse-options in
 * miniature).  One struct hs_option table per command drives both parsing
 * and `--help`, so the help can never drift from what is accepted.
 *
 * Accepted spellings: -o VALUE, -oVALUE, --output VALUE, --output=VALUE,
 * flags as -x or --flag; "--" ends the options.  Unique prefixes of long
 * options are not accepted: scripts must not break when options are added.
 */
#include "heapsnap.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

int
hs_usage_error(const char *cmd, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    hs_error(HS_EXIT_USAGE, "%s", msg);
    if (cmd)
        fprintf(stderr, "try '%s %s --help'\n", HS_PROG, cmd);
    else
        fprintf(stderr, "try '%s --help'\n", HS_PROG);
    return -1;
}

static const struct hs_option *
find_long(const struct hs_option *opts, const char *name, size_t len)
{
    for (; opts->type != HS_OPT_END; opts++) {
        if (opts->long_name && strlen(opts->long_name) == len &&
            !memcmp(opts->long_name, name, len))
            return opts;
    }
    return NULL;
}

static const struct hs_option *
find_short(const struct hs_option *opts, int c)
{
    for (; opts->type != HS_OPT_END; opts++) {
        if (opts->type != HS_OPT_GROUP && opts->short_name == c)
            return opts;
    }
    return NULL;
}

static void
option_name(const struct hs_option *o, char *out, size_t len)
{
    if (o->long_name)
        snprintf(out, len, "--%s", o->long_name);
    else
        snprintf(out, len, "-%c", o->short_name);
}

/* Stores `arg` into option `o`; returns 0, or -1 after a usage error. */
static int
set_value(const char *cmd, const struct hs_option *o, const char *arg)
{
    char name[64];
    char *end;
    long v;

    option_name(o, name, sizeof(name));
    switch (o->type) {
    case HS_OPT_FLAG:
        *(int *)o->value = 1;
        return 0;
    case HS_OPT_INT:
        errno = 0;
        v = strtol(arg, &end, 10);
        if (errno || !*arg || *end || v < INT_MIN || v > INT_MAX)
            return hs_usage_error(cmd, "%s expects an integer, not '%s'",
                                  name, arg);
        *(int *)o->value = (int)v;
        return 0;
    case HS_OPT_OPTINT:
        errno = 0;
        v = arg ? strtol(arg, &end, 10) : 0;
        if (arg && (errno || !*arg || *end || v < 1 || v > INT_MAX))
            return hs_usage_error(cmd, "%s expects a positive integer, not "
                                  "'%s'", name, arg);
        *(int *)o->value = (int)v;
        return 0;
    case HS_OPT_STRING:
        *(const char **)o->value = arg;
        return 0;
    case HS_OPT_CHOICE:
        for (const char *const *c = o->choices; *c; c++) {
            if (!strcmp(*c, arg)) {
                *(const char **)o->value = *c;
                return 0;
            }
        }
        {
            struct hs_buf b = HS_BUF_INIT;
            int rc;

            for (const char *const *c = o->choices; *c; c++)
                hs_buf_addf(&b, "%s%s", c == o->choices ? "" : ", ", *c);
            rc = hs_usage_error(cmd, "%s expects one of %s, not '%s'", name,
                                b.buf, arg);
            hs_buf_release(&b);
            return rc;
        }
    case HS_OPT_END:
    case HS_OPT_GROUP:
        break;
    }
    return hs_error(HS_EXIT_INTERNAL, "bad option table entry %s", name);
}

static int
takes_arg(const struct hs_option *o)
{
    return o->type == HS_OPT_INT || o->type == HS_OPT_STRING ||
           o->type == HS_OPT_CHOICE;
}

int
hs_parse_options(int argc, const char **argv, const struct hs_option *opts,
                 const char *const *usage, int flags)
{
    const char *cmd = argc > 0 ? argv[0] : NULL;
    int nout = 0;
    int i;

    /* The top level (argv[0] == "heapsnap") has no command name to cite. */
    if (cmd && !strcmp(cmd, HS_PROG))
        cmd = NULL;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i];
        const struct hs_option *o;

        if (!strcmp(a, "--")) {
            i++;
            break;
        }
        if (a[0] != '-' || !a[1]) {
            if (flags & HS_PARSE_STOP_AT_NON_OPTION)
                break;
            argv[nout++] = a;
            continue;
        }
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            hs_print_usage(stdout, usage, opts);
            return -2;
        }
        if (a[1] == '-') {
            const char *name = a + 2;
            const char *eq = strchr(name, '=');
            size_t len = eq ? (size_t)(eq - name) : strlen(name);

            o = find_long(opts, name, len);
            if (!o || o->type == HS_OPT_GROUP)
                return hs_usage_error(cmd, "unknown option '--%.*s'",
                                      (int)len, name);
            if (o->type == HS_OPT_OPTINT) {
                if (set_value(cmd, o, eq ? eq + 1 : NULL) < 0)
                    return -1;
                continue;
            }
            if (!takes_arg(o)) {
                if (eq)
                    return hs_usage_error(cmd, "--%s takes no value",
                                          o->long_name);
                if (set_value(cmd, o, NULL) < 0)
                    return -1;
                continue;
            }
            if (eq) {
                if (set_value(cmd, o, eq + 1) < 0)
                    return -1;
            } else if (i + 1 < argc) {
                if (set_value(cmd, o, argv[++i]) < 0)
                    return -1;
            } else {
                return hs_usage_error(cmd, "--%s needs a value (%s)",
                                      o->long_name, o->argh ? o->argh : "");
            }
            continue;
        }
        /* One or more short options: -x, -xy, -oFILE, -o FILE. */
        for (const char *p = a + 1; *p; p++) {
            o = find_short(opts, (unsigned char)*p);
            if (!o)
                return hs_usage_error(cmd, "unknown option '-%c'", *p);
            if (!takes_arg(o)) {
                if (set_value(cmd, o, NULL) < 0)
                    return -1;
                continue;
            }
            if (p[1]) {
                if (set_value(cmd, o, p + 1) < 0)
                    return -1;
            } else if (i + 1 < argc) {
                if (set_value(cmd, o, argv[++i]) < 0)
                    return -1;
            } else {
                return hs_usage_error(cmd, "-%c needs a value (%s)", *p,
                                      o->argh ? o->argh : "");
            }
            break;
        }
    }
    for (; i < argc; i++)
        argv[nout++] = argv[i];
    return nout;
}

/* "-o, --output FILE", "    --json", "-n N" */
static int
format_spec(const struct hs_option *o, char *out, size_t len)
{
    const char *arg = o->argh ? o->argh : "";
    const char *sep = o->argh ? " " : "";

    if (o->type == HS_OPT_OPTINT)
        return snprintf(out, len, "    --%s[=%s]", o->long_name, arg);
    if (o->short_name && o->long_name)
        return snprintf(out, len, "-%c, --%s%s%s", o->short_name,
                        o->long_name, sep, arg);
    if (o->short_name)
        return snprintf(out, len, "-%c%s%s", o->short_name, sep, arg);
    return snprintf(out, len, "    --%s%s%s", o->long_name, sep, arg);
}

void
hs_print_usage(FILE *out, const char *const *usage,
               const struct hs_option *opts)
{
    const struct hs_option *o;
    char spec[128];
    int width = 0;

    for (; usage && *usage; usage++)
        fprintf(out, "%s\n", *usage);
    for (o = opts; o && o->type != HS_OPT_END; o++) {
        int n;

        if (o->type == HS_OPT_GROUP)
            continue;
        n = format_spec(o, spec, sizeof(spec));
        if (n > width)
            width = n;
    }
    if (opts && opts->type != HS_OPT_END)
        fputc('\n', out);
    for (o = opts; o && o->type != HS_OPT_END; o++) {
        if (o->type == HS_OPT_GROUP) {
            fprintf(out, "\n%s\n", o->help);
            continue;
        }
        format_spec(o, spec, sizeof(spec));
        fprintf(out, "    %-*s  %s", width, spec, o->help);
        if (o->type == HS_OPT_CHOICE && o->choices) {
            fputs(" (", out);
            for (const char *const *c = o->choices; *c; c++)
                fprintf(out, "%s%s", c == o->choices ? "" : ", ", *c);
            fputc(')', out);
        }
        fputc('\n', out);
    }
}
