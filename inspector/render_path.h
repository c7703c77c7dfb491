/*
 * render_path.h: retention paths as one line of text, the way `why`
 * prints them:
 *
 *   module __main__ .REQUEST_LOG → dict [19999] → LeakedRequest
 *
 * The start (what the root is), then each reference's label and the type
 * of the object it leads to.  Two spellings are shortened, because that is
 * how Python code names the same thing:
 *   X .__dict__ → dict ['name'] → V          is   X .name → V
 *   f .__closure__ → tuple closure x → cell .cell_contents → V
 *                                            is   f closure x → V
 */
#ifndef HS_RENDER_PATH_H
#define HS_RENDER_PATH_H

#include "naming.h"
#include "paths.h"

/*
 * Appends the start of a path held by root r (index into g->roots):
 * "module __main__", "local buf of main() at app.py:12 in thread
 * 'MainThread' → list", "sys.modules → dict".
 */
void hs_render_path_start(struct hs_naming *n, uint32_t r,
                          struct hs_buf *out);

/*
 * Appends a path: its start, then the steps of edges[0 .. nedges).  When
 * max_steps > 0 and the path is longer, the middle is replaced by
 * "… N more steps …".
 */
void hs_render_path(struct hs_naming *n, uint32_t r, const uint32_t *edges,
                    uint32_t nedges, uint32_t max_steps, struct hs_buf *out);

/*
 * Appends a path shape (hs_paths_group): "module __main__ .LOG → dict [*]
 * → LeakedRequest", a repeated step as "(.next → Node)+", a repeated
 * segment whose classes vary as "(.children → list [*] →
 * {section|paragraph|note|…})+" (the HS_RENDER_TYPES most frequent).
 */
#define HS_RENDER_TYPES 3
void hs_render_shape(struct hs_naming *n, const struct hs_path_group *grp,
                     const struct hs_path_step *steps, struct hs_buf *out);

/* "['name']" with an identifier inside: a malloc'd ".name"; else NULL.
 * How a value of an instance dict reads as the attribute it is. */
char *hs_render_key_as_attribute(const char *label);

/* The arrow between steps. */
#define HS_ARROW "\xE2\x86\x92" /* → */

#endif /* HS_RENDER_PATH_H */
