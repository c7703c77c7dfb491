/*
 * render_json.h: building and printing JSON documents.  A thin layer over
 * cJSON so that render_json.c is the only file that includes cJSON.h.
 *
 * Ownership: a value added to an object or array belongs to it; free only
 * the root with hs_json_free().  Setters ignore a NULL container, and a NULL
 * string becomes JSON null, so callers need no checks.
 */
#ifndef HS_RENDER_JSON_H
#define HS_RENDER_JSON_H

#include "heapsnap.h"

struct hs_json;

struct hs_json *hs_json_object(void);
struct hs_json *hs_json_array(void);
struct hs_json *hs_json_str(const char *s);
struct hs_json *hs_json_int(int64_t v);
struct hs_json *hs_json_num(double v);
struct hs_json *hs_json_bool(int v);
struct hs_json *hs_json_null(void);

/* obj[key] = value; `child` is taken over. */
void hs_json_set(struct hs_json *obj, const char *key, struct hs_json *child);
void hs_json_set_str(struct hs_json *obj, const char *key, const char *v);
void hs_json_set_int(struct hs_json *obj, const char *key, int64_t v);
void hs_json_set_num(struct hs_json *obj, const char *key, double v);
void hs_json_set_bool(struct hs_json *obj, const char *key, int v);
void hs_json_set_null(struct hs_json *obj, const char *key);
/* "0x7f..." */
void hs_json_set_addr(struct hs_json *obj, const char *key, uint64_t addr);

/* Appends to an array; `child` is taken over. */
void hs_json_push(struct hs_json *arr, struct hs_json *child);

/* Pretty-prints `v` and a newline to `out`; 0, or -1 (exit 4). */
int hs_json_print(const struct hs_json *v, FILE *out);

/* Compact text of `v`, malloc'd. */
char *hs_json_render(const struct hs_json *v);

void hs_json_free(struct hs_json *v);

#endif /* HS_RENDER_JSON_H */
