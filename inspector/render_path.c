/*
 * render_path.c: paths and path shapes as text (render_path.h).  A path is
 * first turned into tokens (a label and the type it leads to), the
 * shortenings are applied to the token list, then the tokens are printed.
 * Cost: one label lookup per step shown.
 */
#include "render_path.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

struct token {
    char *label;   /* ".name", "['k']", "[3]" (malloc'd) */
    char *type;    /* type of what the step leads to (malloc'd) */
    int opens;     /* shapes: repeated segments starting at this step */
    int closes;    /* shapes: repeated segments ending at it */
};

struct tokens {
    struct token *v;
    size_t n, alloc;
};

static void
push(struct tokens *t, char *label, char *type)
{
    HS_ALLOC_GROW(t->v, t->n + 1, t->alloc);
    t->v[t->n].label = label;
    t->v[t->n].type = type;
    t->v[t->n].opens = 0;
    t->v[t->n].closes = 0;
    t->n++;
}

static void
tokens_release(struct tokens *t)
{
    for (size_t i = 0; i < t->n; i++) {
        free(t->v[i].label);
        free(t->v[i].type);
    }
    free(t->v);
}

char *
hs_render_key_as_attribute(const char *label)
{
    size_t len = strlen(label);

    if (len < 5 || label[0] != '[' || label[1] != '\'' ||
        label[len - 1] != ']' || label[len - 2] != '\'')
        return NULL;
    if (!isalpha((unsigned char)label[2]) && label[2] != '_')
        return NULL;
    for (size_t i = 2; i < len - 2; i++) {
        if (!isalnum((unsigned char)label[i]) && label[i] != '_')
            return NULL;
    }
    return hs_xasprintf(".%.*s", (int)(len - 4), label + 2);
}

/* The two shortenings of render_path.h, in place. */
static void
shorten(struct tokens *t)
{
    size_t out = 0;

    for (size_t i = 0; i < t->n; i++) {
        struct token *a = &t->v[i];
        char *attr;

        /* Only steps with no segment boundary between them merge; the
         * merged step starts what the first started and ends what the
         * last ended. */
        if (!strcmp(a->label, ".__dict__") && i + 1 < t->n && !a->closes &&
            !t->v[i + 1].opens &&
            (attr = hs_render_key_as_attribute(t->v[i + 1].label))) {
            int opens = a->opens;

            free(a->label);
            free(a->type);
            free(t->v[i + 1].label);
            t->v[out].label = attr;
            t->v[out].type = t->v[i + 1].type;
            t->v[out].opens = opens;
            t->v[out].closes = t->v[i + 1].closes;
            out++;
            i++;
            continue;
        }
        if (!strcmp(a->label, ".__closure__") && i + 2 < t->n &&
            !strncmp(t->v[i + 1].label, "closure ", 8) &&
            !strcmp(t->v[i + 2].label, ".cell_contents") && !a->closes &&
            !t->v[i + 1].opens && !t->v[i + 1].closes &&
            !t->v[i + 2].opens) {
            int opens = a->opens, closes = t->v[i + 2].closes;

            free(a->label);
            free(a->type);
            free(t->v[i + 1].type);
            free(t->v[i + 2].label);
            t->v[out].label = t->v[i + 1].label;
            t->v[out].type = t->v[i + 2].type;
            t->v[out].opens = opens;
            t->v[out].closes = closes;
            out++;
            i += 2;
            continue;
        }
        t->v[out++] = *a;
    }
    t->n = out;
}

static void
print_tokens(const struct tokens *t, uint32_t max_steps, struct hs_buf *out)
{
    uint32_t head, tail;
    size_t skip_from, skip_to;

    hs_path_elide((uint32_t)t->n, max_steps, &head, &tail);
    skip_from = tail ? head : t->n;
    skip_to = tail ? t->n - tail : t->n;
    for (size_t i = 0; i < t->n; i++) {
        if (i == skip_from) {
            hs_buf_addf(out, " \xE2\x80\xA6 %zu more steps \xE2\x80\xA6",
                        skip_to - skip_from);
            i = skip_to - 1;
            continue;
        }
        hs_buf_addch(out, ' ');
        for (int k = 0; k < t->v[i].opens; k++)
            hs_buf_addch(out, '(');
        hs_buf_addf(out, "%s " HS_ARROW " %s", t->v[i].label, t->v[i].type);
        for (int k = 0; k < t->v[i].closes; k++)
            hs_buf_adds(out, ")+");
    }
}

void
hs_render_path_start(struct hs_naming *n, uint32_t r, struct hs_buf *out)
{
    const struct hs_graph *g = hs_naming_graph(n);
    const struct hs_root *root = &g->roots[r];
    char name[256];

    if (root->kind == HS_ROOT_MODULE) {
        hs_naming_object(n, root->node, 0, out);
        return;
    }
    hs_naming_root(n, r, out);
    /* A 3.8-3.10 frame root is the frame object: its locals follow as
     * steps.  Other roots hold the object the path starts at. */
    if (root->kind == HS_ROOT_FRAME &&
        !strcmp(hs_graph_type_of(g, root->node)->name, "frame"))
        return;
    hs_buf_addf(out, " " HS_ARROW " %s",
                hs_naming_type(g, root->node, 0, name, sizeof(name)));
}

void
hs_render_path(struct hs_naming *n, uint32_t r, const uint32_t *edges,
               uint32_t nedges, uint32_t max_steps, struct hs_buf *out)
{
    struct tokens t = { NULL, 0, 0 };
    struct hs_buf label = HS_BUF_INIT;
    char name[256];

    hs_render_path_start(n, r, out);
    for (uint32_t i = 0; i < nedges; i++) {
        const struct hs_graph *g = hs_naming_graph(n);
        uint32_t dst = g->out_dst[edges[i]];
        char *type;

        hs_buf_reset(&label);
        hs_naming_edge(n, edges[i], &label);
        /* A frame is named by its function and line, as a traceback
         * names it: "frame of handle (app.py:12)". */
        if (!strcmp(hs_graph_type_of(g, dst)->name, "frame")) {
            struct hs_buf fb = HS_BUF_INIT;

            hs_naming_object(n, dst, 0, &fb);
            type = hs_buf_detach(&fb);
        } else {
            type = hs_xstrdup(hs_naming_type(g, dst, 0, name, sizeof(name)));
        }
        push(&t, hs_xstrdup(label.buf), type);
    }
    shorten(&t);
    print_tokens(&t, max_steps, out);
    tokens_release(&t);
    hs_buf_release(&label);
}

/* A step's type, or the types met at a wild position:
 * "{section|paragraph|note|…}" (malloc'd). */
static char *
step_types(const struct hs_graph *g, const struct hs_path_step *st)
{
    struct hs_buf b = HS_BUF_INIT;
    uint32_t shown = st->ntypes < HS_RENDER_TYPES ? st->ntypes
                                                  : HS_RENDER_TYPES;

    if (st->ntypes <= 1 || st->type >= g->ntypes)
        return hs_xstrdup(st->type < g->ntypes ? g->types[st->type].name
                                               : "?");
    hs_buf_addch(&b, '{');
    for (uint32_t k = 0; k < shown && k < HS_PATHS_TYPES; k++)
        hs_buf_addf(&b, "%s%s", k ? "|" : "", g->types[st->types[k]].name);
    if (st->ntypes > shown)
        hs_buf_adds(&b, "|\xE2\x80\xA6");
    hs_buf_addch(&b, '}');
    return hs_buf_detach(&b);
}

void
hs_render_shape(struct hs_naming *n, const struct hs_path_group *grp,
                const struct hs_path_step *steps, struct hs_buf *out)
{
    const struct hs_graph *g = hs_naming_graph(n);
    struct tokens t = { NULL, 0, 0 };
    struct hs_buf label = HS_BUF_INIT;

    if (grp->root_node != HS_BFS_NONE)
        hs_naming_object(n, grp->root_node, 0, out);
    else if (grp->root_kind == HS_ROOT_MODULE)
        hs_buf_adds(out, "module");
    else
        hs_buf_addf(out, "%s root " HS_ARROW " %s",
                    hs_root_kind_name((enum hs_root_kind)grp->root_kind),
                    g->types[grp->root_type].name);
    for (uint32_t i = 0; i < grp->nsteps; i++) {
        hs_buf_reset(&label);
        hs_naming_step(n, steps[i].kind, steps[i].arg, steps[i].wild, &label);
        push(&t, hs_xstrdup(label.buf), step_types(g, &steps[i]));
    }
    /* A step closing a segment of k steps opens it k - 1 steps back. */
    for (uint32_t i = 0; i < grp->nsteps; i++) {
        if (steps[i].repeat && steps[i].repeat <= i + 1) {
            t.v[i].closes++;
            t.v[i + 1 - steps[i].repeat].opens++;
        }
    }
    shorten(&t);
    print_tokens(&t, 0, out);
    tokens_release(&t);
    hs_buf_release(&label);
}
