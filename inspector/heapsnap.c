/*
 * heapsnap.c: main() of the `heapsnap` CLI.  Holds the command table, the
 * top-level options (--help, --version), `heapsnap help CMD`, and the
 * process policy around a command: dispatch, then make sure stdout really
 * reached its destination, then exit with the command's code.
 *
 * This is the only file that exits (hs_die aside).
 */
#include "heapsnap.h"
#include "snapshot.h"

#include <errno.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const struct hs_cmd commands[] = {
    { "dump", cmd_dump, "run a Python program and snapshot its heap" },
    { "info", cmd_info, "metadata and totals of a snapshot" },
    { "top", cmd_top, "the types with the most instances or memory" },
    { "why", cmd_why, "why an object (or every object of a type) is alive" },
    { "show", cmd_show, "one object: facts, referrers and referents" },
    { "cycles", cmd_cycles, "reference cycles, biggest first" },
    { "advise", cmd_advise, "memory-saving techniques and what each saves" },
    { "diff", cmd_diff, "what grew between two snapshots, and where" },
    { "refs", cmd_refs, "draw what an object references" },
    { "backrefs", cmd_backrefs, "draw what references an object" },
    { "export", cmd_export, "write the heap for Chrome DevTools or MemLab" },
    { "serve", cmd_serve, "browse the snapshot in a web browser" },
};

static const char *const exit_codes_help[] = {
    "Exit codes:",
    "    0  success",
    "    1  no result (nothing matched)",
    "    2  usage error",
    "    3  not a heapsnap snapshot, or a newer snapshot format",
    "    4  I/O or SQLite error",
    "    5  internal error",
    NULL,
};

static void
print_main_help(FILE *out)
{
    fprintf(out, "usage: %s [--version] [--help] <command> [<args>]\n\n",
            HS_PROG);
    fprintf(out, "heapsnap snapshots a Python heap into SQLite and explains "
                 "it: what is big,\nwhy an object is alive, what would be "
                 "freed, which cycles exist.\n\nCommands:\n");
    for (size_t i = 0; i < HS_ARRAY_SIZE(commands); i++)
        fprintf(out, "    %-10s %s\n", commands[i].name, commands[i].summary);
    fprintf(out, "    %-10s %s\n", "help", "help on a command");
    fputc('\n', out);
    for (const char *const *l = exit_codes_help; *l; l++)
        fprintf(out, "%s\n", *l);
    fprintf(out, "\nSee '%s help <command>' or '%s <command> --help'.\n",
            HS_PROG, HS_PROG);
}

static const struct hs_cmd *
find_command(const char *name)
{
    for (size_t i = 0; i < HS_ARRAY_SIZE(commands); i++) {
        if (!strcmp(commands[i].name, name))
            return &commands[i];
    }
    return NULL;
}

static int
unknown_command(const char *name)
{
    return hs_usage_error(NULL, "'%s' is not a heapsnap command", name);
}

/* `heapsnap help [CMD]`: the command's own --help. */
static int
cmd_help(int argc, const char **argv)
{
    const struct hs_cmd *cmd;
    const char *help_argv[] = { NULL, "--help", NULL };

    if (argc < 2) {
        print_main_help(stdout);
        return HS_EXIT_OK;
    }
    if (!strcmp(argv[1], "help")) {
        printf("usage: %s help [<command>]\n", HS_PROG);
        return HS_EXIT_OK;
    }
    cmd = find_command(argv[1]);
    if (!cmd) {
        unknown_command(argv[1]);
        return hs_error_status();
    }
    help_argv[0] = cmd->name;
    return cmd->fn(2, help_argv);
}

/*
 * After the command: flush stdout and report a failed write (ENOSPC, EIO);
 * a closed pipe (`heapsnap top | head`) is not an error.
 */
static int
check_stdout(int status)
{
    struct stat st;

    if (fflush(stdout) == 0 && !ferror(stdout))
        return status;
    if (errno == EPIPE)
        return status;
    if (fstat(fileno(stdout), &st) == 0 &&
        (S_ISFIFO(st.st_mode) || S_ISSOCK(st.st_mode)))
        return status;
    hs_error(HS_EXIT_IO, "write failure on standard output: %s",
             strerror(errno));
    return status ? status : HS_EXIT_IO;
}

int
main(int argc, char **argv)
{
    const char **args = (const char **)(void *)argv;
    const struct hs_cmd *cmd;

    /* Quiet SIGPIPE: `heapsnap top | head` ends with EPIPE, not a signal. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        print_main_help(stderr);
        return HS_EXIT_USAGE;
    }
    if (!strcmp(args[1], "--help") || !strcmp(args[1], "-h")) {
        print_main_help(stdout);
        return check_stdout(HS_EXIT_OK);
    }
    if (!strcmp(args[1], "--version") || !strcmp(args[1], "version")) {
        printf("heapsnap %s (snapshot format %d)\n", HS_VERSION,
               hs_schema_version());
        return check_stdout(HS_EXIT_OK);
    }
    if (!strcmp(args[1], "help"))
        return check_stdout(cmd_help(argc - 1, args + 1));
    if (args[1][0] == '-') {
        hs_usage_error(NULL, "unknown option '%s'", args[1]);
        return HS_EXIT_USAGE;
    }
    cmd = find_command(args[1]);
    if (!cmd) {
        unknown_command(args[1]);
        return HS_EXIT_USAGE;
    }
    return check_stdout(cmd->fn(argc - 1, args + 1));
}
