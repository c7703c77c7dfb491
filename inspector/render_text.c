/*
 * render_text.c: the aligned text tables of render_text.h.  Rows are kept as
 * arrays of malloc'd cells until hs_table_print() measures the columns.
 */
#include "render_text.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

struct hs_table {
    int ncols;             /* columns per row */
    enum hs_align *align;  /* per column */
    char **cells;          /* nrows * ncols cells; a rule row is all NULL */
    unsigned char *rule;   /* per row: 1 for a rule line */
    size_t nrows;          /* rows in use */
    size_t alloc_cells;    /* capacity of cells */
    size_t alloc_rule;     /* capacity of rule */
    int indent;            /* spaces before each line */
};

size_t
hs_text_width(const char *s)
{
    size_t n = 0;

    for (; s && *s; s++) {
        if (((unsigned char)*s & 0xC0) != 0x80)
            n++;
    }
    return n;
}

struct hs_table *
hs_table_new(int ncols, const enum hs_align *align)
{
    struct hs_table *t = hs_xcalloc(1, sizeof(*t));

    t->ncols = ncols;
    t->align = hs_xcalloc((size_t)ncols, sizeof(*t->align));
    memcpy(t->align, align, (size_t)ncols * sizeof(*align));
    return t;
}

static void
add_row(struct hs_table *t, const char *const *cells, int is_rule)
{
    size_t base = t->nrows * (size_t)t->ncols;

    HS_ALLOC_GROW(t->cells, base + (size_t)t->ncols, t->alloc_cells);
    HS_ALLOC_GROW(t->rule, t->nrows + 1, t->alloc_rule);
    for (int c = 0; c < t->ncols; c++)
        t->cells[base + (size_t)c] =
            cells && cells[c] ? hs_xstrdup(cells[c]) : NULL;
    t->rule[t->nrows++] = (unsigned char)is_rule;
}

void
hs_table_rowv(struct hs_table *t, ...)
{
    const char *cells[32];
    va_list ap;

    if (t->ncols > 32)
        hs_die(HS_EXIT_INTERNAL, "hs_table_rowv: too many columns");
    va_start(ap, t);
    for (int c = 0; c < t->ncols; c++)
        cells[c] = va_arg(ap, const char *);
    va_end(ap);
    add_row(t, cells, 0);
}

void
hs_table_rule(struct hs_table *t)
{
    add_row(t, NULL, 1);
}

void
hs_table_indent(struct hs_table *t, int n)
{
    t->indent = n < 0 ? 0 : n;
}

void
hs_table_print(const struct hs_table *t, FILE *out)
{
    size_t *width = hs_xcalloc((size_t)t->ncols, sizeof(*width));
    size_t total = 0;
    struct hs_buf line = HS_BUF_INIT;

    for (size_t r = 0; r < t->nrows; r++) {
        for (int c = 0; c < t->ncols && !t->rule[r]; c++) {
            size_t w = hs_text_width(t->cells[r * (size_t)t->ncols + (size_t)c]);

            if (w > width[c])
                width[c] = w;
        }
    }
    for (int c = 0; c < t->ncols; c++)
        total += width[c] + (c ? 2 : 0);
    for (size_t r = 0; r < t->nrows; r++) {
        hs_buf_reset(&line);
        if (t->rule[r]) {
            for (size_t i = 0; i < total; i++)
                hs_buf_addch(&line, '-');
        }
        for (int c = 0; c < t->ncols && !t->rule[r]; c++) {
            const char *cell = t->cells[r * (size_t)t->ncols + (size_t)c];
            size_t pad = width[c] - hs_text_width(cell);

            if (c)
                hs_buf_adds(&line, "  ");
            if (t->align[c] == HS_ALIGN_RIGHT)
                for (size_t i = 0; i < pad; i++)
                    hs_buf_addch(&line, ' ');
            hs_buf_adds(&line, cell ? cell : "");
            if (t->align[c] == HS_ALIGN_LEFT && c + 1 < t->ncols)
                for (size_t i = 0; i < pad; i++)
                    hs_buf_addch(&line, ' ');
        }
        while (line.len && line.buf[line.len - 1] == ' ')
            line.buf[--line.len] = '\0';
        fprintf(out, "%*s%s\n", t->indent, "", line.buf);
    }
    hs_buf_release(&line);
    free(width);
}

void
hs_table_free(struct hs_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->nrows * (size_t)t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    free(t->rule);
    free(t->align);
    free(t);
}
