/*
 * render_text.h: aligned plain-text tables for people reading a terminal or
 * a pipe.  Cells are copied; widths are measured in UTF-8 code points.
 */
#ifndef HS_RENDER_TEXT_H
#define HS_RENDER_TEXT_H

#include "heapsnap.h"

enum hs_align { HS_ALIGN_LEFT, HS_ALIGN_RIGHT };

struct hs_table;

/* A table of `ncols` columns; `align` has ncols entries (copied). */
struct hs_table *hs_table_new(int ncols, const enum hs_align *align);

/* Appends a row from ncols string arguments; a NULL cell prints empty. */
void hs_table_rowv(struct hs_table *t, ...);

/* Appends a line of dashes across the table. */
void hs_table_rule(struct hs_table *t);

/* Indents every printed line by `n` spaces (default 0). */
void hs_table_indent(struct hs_table *t, int n);

/* Prints with columns separated by two spaces; trailing blanks trimmed. */
void hs_table_print(const struct hs_table *t, FILE *out);

void hs_table_free(struct hs_table *t);

/* Number of UTF-8 code points in s. */
size_t hs_text_width(const char *s);

#endif /* HS_RENDER_TEXT_H */
