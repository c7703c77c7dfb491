/*
 * COMMAND: refs, backrefs
 * USAGE:   heapsnap refs OBJ [-f FILE] [--depth N] [--too-many N]
 *                   [--max-nodes N] [-o FILE] [--json]
 *          heapsnap backrefs OBJ (the same options)
 *
 * objgraph's show_refs and show_backrefs on a snapshot: a picture of what
 * OBJ references (refs) or what references OBJ (backrefs), to --depth
 * steps, each object showing its first --too-many references and a box
 * counting the rest, at most --max-nodes objects.  A type name draws its
 * first --too-many instances.  The walk is draw.c's (hs_draw_walk); this
 * file checks the options (the output format before anything is loaded),
 * picks the targets and the file name, and reports in one line (or JSON)
 * what was written and what was cut.
 */
#include "heapsnap.h"
#include "heap.h"
#include "draw.h"
#include "naming.h"
#include "objspec.h"
#include "render_json.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

static const char *const refs_usage[] = {
    "usage: heapsnap refs OBJ [-f FILE] [--depth N] [--too-many N]",
    "                     [--max-nodes N] [-o FILE] [--json]",
    "",
    "Draws what OBJ references, as objgraph's show_refs does: a breadth-",
    "first walk along references to --depth steps.  Each object shows its",
    "first --too-many references and a red box counting the rest.  Type",
    "objects and modules are drawn but not expanded (a class leads to",
    "everything it defines, a module to all of its globals).  A type name",
    "draws its first --too-many instances.  Every box shows the object's",
    "size and retained size; weak references are dashed.  -o FILE picks",
    "the format by its extension (.svg .png .pdf .dot .gv; '-' writes DOT",
    "to standard output); the default is refs-<id>.svg here.",
    NULL,
};

static const char *const backrefs_usage[] = {
    "usage: heapsnap backrefs OBJ [-f FILE] [--depth N] [--too-many N]",
    "                         [--max-nodes N] [-o FILE] [--json]",
    "",
    "Draws what references OBJ, as objgraph's show_backrefs does: a",
    "breadth-first walk along referrers to --depth steps.  Each object",
    "shows its first --too-many referrers (those that keep it alive",
    "first) and a red box counting the rest.  The walk does not go past",
    "modules (sys.modules and every function's globals would fill the",
    "picture) nor past roots; an object held from outside the heap (an",
    "'external' root) is still expanded.  A type name draws its first",
    "--too-many instances.  -o FILE picks the format by its extension",
    "(.svg .png .pdf .dot .gv; '-' writes DOT to standard output); the",
    "default is backrefs-<id>.svg here.",
    NULL,
};

/*
 * The default file name: "refs-16.svg" for object @16, "refs-Foo.svg" for
 * a type (characters other than letters, digits, '_', '-' and '.' become
 * '_').  Malloc'd.
 */
static char *
default_name(const char *cmd, const struct hs_graph *g,
             const struct hs_objset *set)
{
    struct hs_buf b = HS_BUF_INIT;

    hs_buf_addf(&b, "%s-", cmd);
    if (set->is_type) {
        for (const char *s = g->types[set->type].name; *s; s++) {
            int c = (unsigned char)*s;
            int ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                     (c >= '0' && c <= '9') || c == '_' || c == '-' ||
                     c == '.';

            hs_buf_addch(&b, ok ? (char)c : '_');
        }
    } else {
        hs_buf_addf(&b, "%" PRId64, hs_graph_object_id(set->nodes[0]));
    }
    hs_buf_adds(&b, ".svg");
    return hs_buf_detach(&b);
}

/* "refs of Foo @0x10000, depth 3" or "backrefs of 10 of 20,000 Foo
 * objects, depth 3". */
static void
title_text(const char *cmd, struct hs_naming *names,
           const struct hs_objset *set, uint32_t ntargets, int depth,
           struct hs_buf *out)
{
    const struct hs_graph *g = hs_naming_graph(names);
    char n1[32], n2[32];

    hs_buf_addf(out, "%s of ", cmd);
    if (!set->is_type) {
        hs_naming_object(names, set->nodes[0], 0, out);
        hs_buf_addf(out, " @0x%" PRIx64, g->address[set->nodes[0]]);
    } else if (ntargets < set->n) {
        hs_buf_addf(out, "%s of %s %s objects",
                    hs_group_digits(ntargets, n1, sizeof(n1)),
                    hs_group_digits(set->n, n2, sizeof(n2)),
                    g->types[set->type].name);
    } else {
        hs_buf_addf(out, "%s %s object%s",
                    hs_group_digits(set->n, n1, sizeof(n1)),
                    g->types[set->type].name, set->n == 1 ? "" : "s");
    }
    hs_buf_addf(out, ", depth %d", depth);
}

static int
print_json(const char *cmd, const char *out_path, const struct hs_draw *d,
           const struct hs_objset *set, uint32_t ntargets, int depth,
           int too_many)
{
    const struct hs_draw_cuts *c = &d->cuts;
    struct hs_json *doc = hs_json_object(), *arr = hs_json_array();
    struct hs_json *cut = hs_json_object(), *leaves = hs_json_object();
    enum hs_render_format format = HS_RENDER_DOT;
    static const char *const format_names[] = { "dot", "svg", "png", "pdf" };
    int rc;

    if (strcmp(out_path, "-"))
        hs_render_dot_format(out_path, &format);
    hs_json_set_str(doc, "command", cmd);
    hs_json_set_str(doc, "output", out_path);
    hs_json_set_str(doc, "format", format_names[format]);
    for (uint32_t i = 0; i < ntargets; i++)
        hs_json_push(arr, hs_json_int(hs_graph_object_id(set->nodes[i])));
    hs_json_set(doc, "targets", arr);
    hs_json_set_int(doc, "targets_total", set->n);
    hs_json_set_int(doc, "objects", d->pic.nnodes);
    hs_json_set_int(doc, "references", d->pic.nedges);
    hs_json_set_int(doc, "depth", depth);
    hs_json_set_int(doc, "too_many", too_many);
    hs_json_set_int(doc, "max_nodes", d->pic.max_nodes);
    hs_json_set_int(cut, "beyond_too_many", (int64_t)c->too_many);
    hs_json_set_int(cut, "targets_beyond_too_many", (int64_t)c->targets);
    hs_json_set_int(cut, "objects_beyond_max_nodes", (int64_t)c->nodes);
    hs_json_set_int(cut, "references_beyond_edge_cap", (int64_t)c->edges);
    hs_json_set(doc, "cut", cut);
    hs_json_set_int(leaves, "depth", c->leaf_depth);
    hs_json_set_int(leaves, "module", c->leaf_module);
    hs_json_set_int(leaves, "type", c->leaf_type);
    hs_json_set_int(leaves, "root", c->leaf_root);
    hs_json_set(doc, "not_expanded", leaves);
    rc = hs_json_print(doc, stdout);
    hs_json_free(doc);
    return rc;
}

/*
 * The checks made before anything is loaded: one operand, sane numbers,
 * one writer of standard output, and the picture's format and folder (the
 * default name is an SVG in the current folder).  0, or -1 after a usage
 * error (exit 2) or an unwritable folder (4).
 */
static int
check_options(const char *cmd, enum hs_picture_dir dir, int n, int depth,
              int too_many, int max_nodes, int json, const char *out)
{
    if (n != 1)
        return hs_usage_error(cmd, n ? "one object at a time, please"
                                     : "which object? (an address, @id or "
                                       "a type name)");
    if (depth < 0 || too_many < 1 || max_nodes < 1)
        return hs_usage_error(cmd, "%s",
                              depth < 0 ? "--depth must not be negative"
                              : too_many < 1
                                  ? "--too-many must be at least 1"
                                  : "--max-nodes must be at least 1");
    if (json && out && !strcmp(out, "-"))
        return hs_usage_error(cmd, "--json and -o - both write to standard "
                                   "output");
    return hs_draw_check_output(out ? out
                                : dir == HS_PIC_DIR_REFS ? "./refs.svg"
                                                         : "./backrefs.svg");
}

/* What was drawn, on stdout; on stderr when the DOT went to stdout. */
static void
say_written(const struct hs_draw *d, enum hs_picture_dir dir,
            const char *out_path)
{
    struct hs_buf text = HS_BUF_INIT;

    hs_draw_describe(
        d, dir == HS_PIC_DIR_REFS ? "reference" : "backreference", &text);
    if (!strcmp(out_path, "-"))
        hs_note("wrote DOT to standard output: %s", text.buf);
    else
        printf("wrote '%s': %s\n", out_path, text.buf);
    hs_buf_release(&text);
}

static int
refs_main(int argc, const char **argv, enum hs_picture_dir dir)
{
    const char *cmd = dir == HS_PIC_DIR_REFS ? "refs" : "backrefs";
    const char *file = NULL, *out = NULL;
    int json = 0, depth = 3, too_many = 10, max_nodes = HS_PICTURE_MAX_NODES;
    const struct hs_option opts[] = {
        HS_OPT_FILE(&file),
        { HS_OPT_INT, 0, "depth", &depth, "N",
          "steps away from OBJ to draw (default 3)", NULL },
        { HS_OPT_INT, 0, "too-many", &too_many, "N",
          "references shown per object and instances per type "
          "(default 10)",
          NULL },
        { HS_OPT_INT, 0, "max-nodes", &max_nodes, "N",
          "objects drawn at most (default 1000)", NULL },
        { HS_OPT_STRING, 'o', "output", &out, "FILE",
          "picture to write, format by extension ('-': DOT on stdout)", NULL },
        HS_OPT_JSON(&json),
        { HS_OPT_END, 0, NULL, NULL, NULL, NULL, NULL },
    };
    struct hs_heap heap;
    struct hs_graph *g;
    struct hs_naming *names;
    struct hs_dominators *dom;
    struct hs_objset set = { NULL, 0, 0, 0 };
    struct hs_draw d;
    struct hs_buf text = HS_BUF_INIT;
    char *out_path = NULL;
    uint32_t ntargets;
    int n, rc = HS_EXIT_OK, have_draw = 0;

    memset(&heap, 0, sizeof(heap));
    n = hs_parse_options(argc, argv, opts,
                         dir == HS_PIC_DIR_REFS ? refs_usage : backrefs_usage,
                         0);
    if (n < 0)
        return n == -2 ? HS_EXIT_OK : HS_EXIT_USAGE;
    if (check_options(cmd, dir, n, depth, too_many, max_nodes, json, out) < 0)
        return hs_error_status();
    if (hs_heap_open(&heap, file, 0) < 0 ||
        hs_objspec_resolve(heap.g, argv[0], &set) < 0 ||
        !(dom = hs_heap_dominators(&heap))) {
        rc = hs_error_status();
        goto cleanup;
    }
    g = heap.g;
    names = heap.names;
    ntargets =
        set.is_type && set.n > (uint32_t)too_many ? (uint32_t)too_many : set.n;
    hs_draw_init(&d, g, names, (uint32_t)max_nodes);
    have_draw = 1;
    d.dom = dom;
    d.too_many_option = "--too-many";
    d.max_nodes_option = "--max-nodes";
    d.cuts.targets = set.n - ntargets;
    if (hs_draw_walk(&d, set.nodes, ntargets, dir, (uint32_t)depth,
                     (uint32_t)too_many) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    title_text(cmd, names, &set, ntargets, depth, &text);
    hs_picture_set_title(&d.pic, text.buf);
    out_path = out ? hs_xstrdup(out) : default_name(cmd, g, &set);
    if (hs_draw_write(&d, out_path) < 0) {
        rc = hs_error_status();
        goto cleanup;
    }
    if (json) {
        if (print_json(cmd, out_path, &d, &set, ntargets, depth, too_many) < 0)
            rc = hs_error_status();
        goto cleanup;
    }
    say_written(&d, dir, out_path);
cleanup:
    if (have_draw)
        hs_draw_release(&d);
    hs_buf_release(&text);
    free(out_path);
    hs_objset_release(&set);
    hs_heap_release(&heap);
    return rc;
}

int
cmd_refs(int argc, const char **argv)
{
    return refs_main(argc, argv, HS_PIC_DIR_REFS);
}

int
cmd_backrefs(int argc, const char **argv)
{
    return refs_main(argc, argv, HS_PIC_DIR_BACKREFS);
}
