/*
 * render_json.c: the hs_json builder over cJSON (the only file that includes
 * cJSON.h).  Integers travel as doubles in cJSON, which is exact below 2^53:
 * enough for sizes, counts and x86-64 addresses; addresses are also given as
 * hex strings by hs_json_set_addr().
 */
#include "render_json.h"

#include <cJSON.h>
#include <inttypes.h>
#include <stdlib.h>

/* struct hs_json is never defined: it is a cJSON under another name. */
static cJSON *
cj(struct hs_json *v)
{
    return (cJSON *)(void *)v;
}

static struct hs_json *
hj(cJSON *v)
{
    if (!v)
        hs_die(HS_EXIT_INTERNAL, "out of memory building JSON");
    return (struct hs_json *)(void *)v;
}

struct hs_json *
hs_json_object(void)
{
    return hj(cJSON_CreateObject());
}

struct hs_json *
hs_json_array(void)
{
    return hj(cJSON_CreateArray());
}

/* 1 if s is valid UTF-8 all through (JSON text must be). */
static int
valid_utf8(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p;) {
        size_t n = hs_utf8_len(p);

        if (!n)
            return 0;
        p += n;
    }
    return 1;
}

struct hs_json *
hs_json_str(const char *s)
{
    struct hs_json *v;
    char *fixed;

    if (!s)
        return hs_json_null();
    if (valid_utf8(s))
        return hj(cJSON_CreateString(s));
    /* Heap strings are bytes: the invalid ones show as U+FFFD. */
    fixed = hs_utf8_repaired(s);
    v = hj(cJSON_CreateString(fixed));
    free(fixed);
    return v;
}

struct hs_json *
hs_json_int(int64_t v)
{
    return hj(cJSON_CreateNumber((double)v));
}

struct hs_json *
hs_json_num(double v)
{
    return hj(cJSON_CreateNumber(v));
}

struct hs_json *
hs_json_bool(int v)
{
    return hj(cJSON_CreateBool(v ? 1 : 0));
}

struct hs_json *
hs_json_null(void)
{
    return hj(cJSON_CreateNull());
}

void
hs_json_set(struct hs_json *obj, const char *key, struct hs_json *child)
{
    if (!obj) {
        hs_json_free(child);
        return;
    }
    if (valid_utf8(key)) {
        cJSON_AddItemToObject(cj(obj), key, cj(child));
    } else {
        char *fixed = hs_utf8_repaired(key);

        cJSON_AddItemToObject(cj(obj), fixed, cj(child));
        free(fixed);
    }
}

void
hs_json_set_str(struct hs_json *obj, const char *key, const char *v)
{
    hs_json_set(obj, key, hs_json_str(v));
}

void
hs_json_set_int(struct hs_json *obj, const char *key, int64_t v)
{
    hs_json_set(obj, key, hs_json_int(v));
}

void
hs_json_set_num(struct hs_json *obj, const char *key, double v)
{
    hs_json_set(obj, key, hs_json_num(v));
}

void
hs_json_set_bool(struct hs_json *obj, const char *key, int v)
{
    hs_json_set(obj, key, hs_json_bool(v));
}

void
hs_json_set_null(struct hs_json *obj, const char *key)
{
    hs_json_set(obj, key, hs_json_null());
}

void
hs_json_set_addr(struct hs_json *obj, const char *key, uint64_t addr)
{
    char hex[32];

    snprintf(hex, sizeof(hex), "0x%" PRIx64, addr);
    hs_json_set_str(obj, key, hex);
}

void
hs_json_push(struct hs_json *arr, struct hs_json *child)
{
    if (!arr) {
        hs_json_free(child);
        return;
    }
    cJSON_AddItemToArray(cj(arr), cj(child));
}

int
hs_json_print(const struct hs_json *v, FILE *out)
{
    char *text = cJSON_Print((const cJSON *)(const void *)v);

    if (!text)
        hs_die(HS_EXIT_INTERNAL, "out of memory printing JSON");
    if (fputs(text, out) < 0 || fputc('\n', out) < 0) {
        cJSON_free(text);
        return hs_error(HS_EXIT_IO, "cannot write JSON output");
    }
    cJSON_free(text);
    return 0;
}

char *
hs_json_render(const struct hs_json *v)
{
    char *text = cJSON_PrintUnformatted((const cJSON *)(const void *)v);
    char *copy;

    if (!text)
        hs_die(HS_EXIT_INTERNAL, "out of memory printing JSON");
    copy = hs_xstrdup(text);
    cJSON_free(text);
    return copy;
}

void
hs_json_free(struct hs_json *v)
{
    cJSON_Delete(cj(v));
}
