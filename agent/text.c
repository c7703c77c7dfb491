/*
 * text.c: rendering values as text without creating Python objects: str
 * contents as UTF-8, Python-style reprs of str and bytes, ints of any size
 * in decimal, floats as repr() does, and JSON string literals for meta
 * rows.  Everything is appended to an hs_str; nothing here can fail except
 * by running out of memory, which hs_str records.
 */
#include "agent.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Appends code point c as UTF-8 (surrogates become U+FFFD). */
static void
add_utf8(struct hs_str *out, Py_UCS4 c)
{
    char b[4];

    if (c >= 0xD800 && c <= 0xDFFF)
        c = 0xFFFD;
    if (c < 0x80) {
        hs_str_addch(out, (char)c);
    } else if (c < 0x800) {
        b[0] = (char)(0xC0 | (c >> 6));
        b[1] = (char)(0x80 | (c & 0x3F));
        hs_str_add(out, b, 2);
    } else if (c < 0x10000) {
        b[0] = (char)(0xE0 | (c >> 12));
        b[1] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[2] = (char)(0x80 | (c & 0x3F));
        hs_str_add(out, b, 3);
    } else {
        b[0] = (char)(0xF0 | (c >> 18));
        b[1] = (char)(0x80 | ((c >> 12) & 0x3F));
        b[2] = (char)(0x80 | ((c >> 6) & 0x3F));
        b[3] = (char)(0x80 | (c & 0x3F));
        hs_str_add(out, b, 4);
    }
}

int
hs_text_str(struct hs_str *out, PyObject *o, Py_ssize_t limit)
{
    Py_ssize_t len, n;
    int kind;
    const void *data;

    if (!hs_str_ready(o))
        return 1;
    len = PyUnicode_GET_LENGTH(o);
    n = len < limit ? len : limit;
    kind = PyUnicode_KIND(o);
    data = PyUnicode_DATA(o);
    if (kind == PyUnicode_1BYTE_KIND && PyUnicode_IS_ASCII(o)) {
        hs_str_add(out, data, (size_t)n);
    } else {
        for (Py_ssize_t i = 0; i < n; i++)
            add_utf8(out, PyUnicode_READ(kind, data, i));
    }
    return len > limit;
}

static const char hex[] = "0123456789abcdef";

/* Appends "\\x" and two hex digits, "\\u" and four or "\\U" and eight,
 * without printf (which took a tenth of the walk's value texts). */
static void
add_hex_escape(struct hs_str *out, char kind, unsigned c, int ndigits)
{
    char b[10];

    b[0] = '\\';
    b[1] = kind;
    for (int i = 0; i < ndigits; i++)
        b[2 + i] = hex[(c >> (4 * (ndigits - 1 - i))) & 0xF];
    hs_str_add(out, b, (size_t)(2 + ndigits));
}

/* Without printf, as above (agent.h). */
void
hs_text_decimal(struct hs_str *out, long long v)
{
    char b[24], *p = b + sizeof(b);
    unsigned long long u = v < 0 ? 0ULL - (unsigned long long)v
                                 : (unsigned long long)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    hs_str_add(out, p, (size_t)(b + sizeof(b) - p));
}

/* Appends an escape for a character that repr() would not show as is. */
static int
add_escape(struct hs_str *out, Py_UCS4 c, char quote)
{
    switch (c) {
    case '\\':
        hs_str_add(out, "\\\\", 2);
        return 1;
    case '\n':
        hs_str_add(out, "\\n", 2);
        return 1;
    case '\r':
        hs_str_add(out, "\\r", 2);
        return 1;
    case '\t':
        hs_str_add(out, "\\t", 2);
        return 1;
    default:
        break;
    }
    if (c == (Py_UCS4)quote) {
        hs_str_addch(out, '\\');
        hs_str_addch(out, quote);
        return 1;
    }
    if (c < 0x20 || c == 0x7F) {
        add_hex_escape(out, 'x', (unsigned)c, 2);
        return 1;
    }
    /* Beyond ASCII, what Unicode does not call printable (controls,
     * format characters, separators but the space, surrogates,
     * unassigned): repr() escapes it in the shortest of the three forms.
     * The test reads CPython's own tables, needs no GIL. */
    if (c >= 0x80 && !Py_UNICODE_ISPRINTABLE(c)) {
        if (c <= 0xFF)
            add_hex_escape(out, 'x', (unsigned)c, 2);
        else if (c <= 0xFFFF)
            add_hex_escape(out, 'u', (unsigned)c, 4);
        else
            add_hex_escape(out, 'U', (unsigned)c, 8);
        return 1;
    }
    return 0;
}

/* Whether ASCII text p[0, n) reads the same in repr() between single
 * quotes: no control character, backslash or quote. */
static int
ascii_plain(const unsigned char *p, Py_ssize_t n)
{
    for (Py_ssize_t i = 0; i < n; i++)
        if (p[i] < 0x20 || p[i] == 0x7F || p[i] == '\\' || p[i] == '\'' ||
            p[i] == '"')
            return 0;
    return 1;
}

int
hs_text_str_repr(struct hs_str *out, PyObject *o, Py_ssize_t limit)
{
    Py_ssize_t len, n;
    int kind, has_single = 0, has_double = 0;
    const void *data;
    char quote;

    if (!hs_str_ready(o)) {
        hs_str_adds(out, "'...'");
        return 1;
    }
    len = PyUnicode_GET_LENGTH(o);
    n = len < limit ? len : limit;
    kind = PyUnicode_KIND(o);
    data = PyUnicode_DATA(o);
    if (kind == PyUnicode_1BYTE_KIND && PyUnicode_IS_ASCII(o) &&
        ascii_plain(data, n)) {
        /* Most keys: nothing to escape, no quote inside, so repr() is the
         * text itself between single quotes, copied at once. */
        hs_str_addch(out, '\'');
        hs_str_add(out, data, (size_t)n);
        if (len > limit)
            hs_str_adds(out, "...");
        hs_str_addch(out, '\'');
        return len > limit;
    }
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);

        has_single |= c == '\'';
        has_double |= c == '"';
    }
    quote = has_single && !has_double ? '"' : '\'';
    hs_str_addch(out, quote);
    for (Py_ssize_t i = 0; i < n; i++) {
        Py_UCS4 c = PyUnicode_READ(kind, data, i);

        if (!add_escape(out, c, quote))
            add_utf8(out, c);
    }
    if (len > limit)
        hs_str_adds(out, "...");
    hs_str_addch(out, quote);
    return len > limit;
}

/* Each byte as repr() spells it between quotes other than its own: up to
 * 4 characters, and how many (hs_text_bytes_repr). */
static char byte_spelling[256][4];
static uint8_t byte_spelling_len[256];
static pthread_once_t byte_spelling_once = PTHREAD_ONCE_INIT;

static void
spell_bytes(void)
{
    for (int c = 0; c < 256; c++) {
        char *e = byte_spelling[c];

        if (c == '\\' || c == '\n' || c == '\r' || c == '\t') {
            e[0] = '\\';
            e[1] = c == '\\' ? '\\' : c == '\n' ? 'n' : c == '\r' ? 'r' : 't';
            byte_spelling_len[c] = 2;
        } else if (c < 0x20 || c >= 0x7F) {
            e[0] = '\\';
            e[1] = 'x';
            e[2] = hex[c >> 4];
            e[3] = hex[c & 0xF];
            byte_spelling_len[c] = 4;
        } else {
            e[0] = (char)c;
            byte_spelling_len[c] = 1;
        }
    }
}

/*
 * repr() of bytes, rendered a stack buffer at a time from a table of each
 * byte's spelling: bytes values in a heap are often binary (bytecode,
 * line tables), each byte an escape, and a chain of tests per byte was
 * 4.5% of a Django dump.
 */
int
hs_text_bytes_repr(struct hs_str *out, const char *p, Py_ssize_t len,
                   Py_ssize_t limit)
{
    Py_ssize_t n = len < limit ? len : limit;
    char quote, buf[512];
    size_t k = 0;

    pthread_once(&byte_spelling_once, spell_bytes);
    quote =
        memchr(p, '\'', (size_t)n) && !memchr(p, '"', (size_t)n) ? '"' : '\'';
    buf[k++] = 'b';
    buf[k++] = quote;
    for (Py_ssize_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (k > sizeof(buf) - 16) {
            hs_str_add(out, buf, k);
            k = 0;
        }
        if (c == (unsigned char)quote) {
            buf[k++] = '\\';
            buf[k++] = (char)c;
            continue;
        }
        memcpy(buf + k, byte_spelling[c], 4);
        k += byte_spelling_len[c];
    }
    if (len > limit) {
        memcpy(buf + k, "...", 3);
        k += 3;
    }
    buf[k++] = quote;
    hs_str_add(out, buf, k);
    return len > limit;
}

/* Ints above this many bits are summarised instead of converted. */
#define HS_INT_MAX_BITS 65536

void
hs_text_int(struct hs_str *out, PyObject *o, Py_ssize_t limit)
{
    int overflow = 0, negative;
    long long v = PyLong_AsLongLongAndOverflow(o, &overflow);
    Py_ssize_t ndigits, nlimbs, ndec = 0;
    const digit *d;
    uint32_t *limbs, *dec;
    char *text;

    if (!overflow) {
        hs_text_decimal(out, v);
        return;
    }
    d = hs_long_digits(o, &ndigits, &negative);
    if ((size_t)ndigits * PyLong_SHIFT > HS_INT_MAX_BITS) {
        hs_str_addf(out, "<int of about %zd digits>",
                    (Py_ssize_t)((double)ndigits * PyLong_SHIFT * 0.30103));
        return;
    }
    /* Repack the magnitude into 30-bit limbs (most significant first),
     * then divide by 10^9 repeatedly: O(digits^2), fine up to the cap. */
    nlimbs = ndigits;
    limbs = hs_alloc((size_t)nlimbs * sizeof(*limbs));
    dec = hs_alloc(((size_t)nlimbs * 2 + 2) * sizeof(*dec));
    if (!limbs || !dec) {
        hs_free(limbs);
        hs_free(dec);
        out->failed = 1;
        return;
    }
    for (Py_ssize_t i = 0; i < nlimbs; i++)
        limbs[i] = (uint32_t)d[nlimbs - 1 - i];
    for (Py_ssize_t first = 0; first < nlimbs;) {
        uint64_t rem = 0;

        for (Py_ssize_t i = first; i < nlimbs; i++) {
            uint64_t cur = (rem << PyLong_SHIFT) | limbs[i];

            limbs[i] = (uint32_t)(cur / 1000000000u);
            rem = cur % 1000000000u;
        }
        dec[ndec++] = (uint32_t)rem;
        while (first < nlimbs && limbs[first] == 0)
            first++;
    }
    text = hs_alloc((size_t)ndec * 9 + 2);
    if (text) {
        size_t n = 0;

        if (negative)
            text[n++] = '-';
        n += (size_t)snprintf(text + n, 11, "%u", dec[ndec - 1]);
        for (Py_ssize_t i = ndec - 2; i >= 0; i--)
            n += (size_t)snprintf(text + n, 10, "%09u", dec[i]);
        if ((Py_ssize_t)n > limit) {
            hs_str_add(out, text, (size_t)limit);
            hs_str_adds(out, "...");
        } else {
            hs_str_add(out, text, n);
        }
        hs_free(text);
    } else {
        out->failed = 1;
    }
    hs_free(limbs);
    hs_free(dec);
}

/*
 * repr() of floats from 1e-4 to 1e15 without David Gay's big numbers
 * (PyOS_double_to_string() takes about 0.4 us on a 17-digit float, a
 * tenth of the walk where floats abound): exact integer arithmetic in
 * 128 bits, which that range fits.  v = m / 2^s (m the 53-bit
 * significand); a decimal n / 10^k reads back as v when it lies within
 * half an ulp of it (a quarter below a power of two, whose lower
 * neighbour is closer; the bound itself when m is even, as strtod()
 * rounds ties to even).  repr() takes the shortest such decimal, the
 * nearest of those.  Rounded to 15 digits, v reads back whenever any
 * decimal of 15 or fewer digits does, and then it is that decimal padded
 * with zeros (half an ulp is less than half a unit of the 15th digit);
 * else 16 digits, else 17, which always read back.  (Where the nearest
 * 16 digits below a power of two miss but the next ones up read back,
 * repr() takes those: no power of two in this range needs more than 15
 * digits, so that case does not arise here.)  In this range repr() is
 * positional.  Checked against repr() on 7 million floats.
 */
__extension__ typedef unsigned __int128 u128; /* GCC and Clang, 64-bit */

static u128
pow10_128(int k)
{
    u128 p = 1;

    while (k-- > 0)
        p *= 10;
    return p;
}

/* m * 10^k / 2^s rounded to the nearest integer, ties to even. */
static uint64_t
scaled(uint64_t m, int k, int s)
{
    u128 x = (u128)m * pow10_128(k), half = (u128)1 << (s - 1);
    u128 q = x >> s, r = x & (((u128)1 << s) - 1);

    if (r > half || (r == half && (q & 1)))
        q++;
    return (uint64_t)q;
}

/* 1 if n / 10^k reads back as m / 2^s. */
static int
reads_back(uint64_t m, int s, uint64_t n, int k)
{
    u128 a = (u128)n << (s + 2), b = (u128)(4 * m) * pow10_128(k);
    u128 unit = pow10_128(k), d, bound;

    if (a >= b) {
        d = a - b;
        bound = 2 * unit;
    } else {
        d = b - a;
        bound = m == (uint64_t)1 << 52 ? unit : 2 * unit;
    }
    return d < bound || (d == bound && !(m & 1));
}

/* 1 if m / 2^s >= 10^e (-5 <= e <= 16). */
static int
at_least_pow10(uint64_t m, int s, int e)
{
    return e >= 0 ? (u128)m >= pow10_128(e) << s
                  : (u128)m * pow10_128(-e) >= (u128)1 << s;
}

/* repr(v) for 1e-4 <= |v| < 1e15 into out (40 bytes); its length, or 0
 * outside that range. */
static size_t
float_repr_exact(char *out, double v)
{
    char digits[24], *p = out;
    uint64_t bits, m, n;
    int s, e10, k, len = 0;

    if (!(fabs(v) >= 1e-4 && fabs(v) < 1e15))
        return 0;
    memcpy(&bits, &v, sizeof(bits));
    m = (bits & (((uint64_t)1 << 52) - 1)) | ((uint64_t)1 << 52);
    s = 1075 - (int)((bits >> 52) & 0x7FF);
    /* e10 = floor(log10(|v|)), made exact: 10^e10 <= m / 2^s < 10^(e10+1). */
    e10 = (int)floor(log10(fabs(v)));
    while (!at_least_pow10(m, s, e10))
        e10--;
    while (at_least_pow10(m, s, e10 + 1))
        e10++;
    k = 14 - e10;
    n = scaled(m, k, s);
    if (reads_back(m, s, n, k)) {
        while (n % 10 == 0) {
            n /= 10;
            k--;
        }
    } else {
        k = 15 - e10;
        n = scaled(m, k, s);
        if (!reads_back(m, s, n, k)) {
            k = 16 - e10;
            n = scaled(m, k, s);
            if (!reads_back(m, s, n, k))
                return 0;
        }
    }
    do {
        digits[len++] = (char)('0' + n % 10);
        n /= 10;
    } while (n);
    if (v < 0)
        *p++ = '-';
    if (k <= 0) { /* an integer: its digits, k zeros, ".0" */
        while (len)
            *p++ = digits[--len];
        for (; k < 0; k++)
            *p++ = '0';
        *p++ = '.';
        *p++ = '0';
    } else if (k < len) {
        for (int i = len; i > 0; i--) {
            *p++ = digits[i - 1];
            if (i - 1 == k)
                *p++ = '.';
        }
    } else {
        *p++ = '0';
        *p++ = '.';
        for (int i = len; i < k; i++)
            *p++ = '0';
        while (len)
            *p++ = digits[--len];
    }
    *p = 0;
    return (size_t)(p - out);
}

/* The `p` significant digits of |v| nearest to it into digits (no dot)
 * and its decimal exponent into *exp10, by the C library's printf (exact
 * in glibc); `up` takes the next such decimal away from zero instead. */
static void
libc_digits(double v, int p, int up, char *digits, int *exp10)
{
    char e[48], *q = e;
    int n = 0;

    snprintf(e, sizeof(e), "%.*e", p - 1, fabs(v));
    for (; *q && *q != 'e'; q++) {
        if (*q != '.')
            digits[n++] = *q;
    }
    digits[n] = 0;
    *exp10 = atoi(q + 1);
    if (up) {
        int i = n - 1;

        while (i >= 0 && digits[i] == '9')
            digits[i--] = '0';
        if (i >= 0) {
            digits[i]++;
        } else { /* 99..9 + 1: one more power of ten */
            digits[0] = '1';
            ++*exp10;
        }
    }
}

/* 1 if the decimal digits * 10^(exp10 - len + 1) reads back as |v|. */
static int
libc_reads_back(double v, const char *digits, int exp10)
{
    char e[48];

    snprintf(e, sizeof(e), "%c.%se%d", digits[0], digits[1] ? digits + 1 : "0",
             exp10);
    return strtod(e, NULL) == fabs(v);
}

/*
 * repr(v) outside float_repr_exact()'s range (or where it gives up), by
 * the C library alone, so that it runs on any thread without the GIL:
 * the fewest significant digits that strtod() reads back as v (reading
 * back only gets easier with more digits, so a binary search over 1-17
 * finds them), the nearest such decimal, or for a power of two, whose
 * lower neighbour is closer, the one above when only it reads back; in
 * repr()'s layout: positional from 1e-4 to 1e16, else d.ddde+XX.
 */
static size_t
float_repr_libc(char *out, double v)
{
    char digits[24], best[24], *p = out;
    int lo = 1, hi = 17, exp10 = 0, best_exp = 0, len;
    int pow2 = frexp(fabs(v), &len) == 0.5;

    if (isnan(v))
        return (size_t)sprintf(out, "nan");
    if (isinf(v))
        return (size_t)sprintf(out, v < 0 ? "-inf" : "inf");
    if (v == 0)
        return (size_t)sprintf(out, signbit(v) ? "-0.0" : "0.0");
    libc_digits(v, 17, 0, best, &best_exp);
    while (lo < hi) {
        int mid = (lo + hi) / 2, ok;

        libc_digits(v, mid, 0, digits, &exp10);
        ok = libc_reads_back(v, digits, exp10);
        if (!ok && pow2) {
            libc_digits(v, mid, 1, digits, &exp10);
            ok = libc_reads_back(v, digits, exp10);
        }
        if (ok) {
            memcpy(best, digits, sizeof(best));
            best_exp = exp10;
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    len = (int)strlen(best);
    while (len > 1 && best[len - 1] == '0')
        best[--len] = 0;
    if (v < 0)
        *p++ = '-';
    if (best_exp >= -4 && best_exp < 16) {
        if (best_exp < 0) {
            *p++ = '0';
            *p++ = '.';
            for (int i = -1; i > best_exp; i--)
                *p++ = '0';
            for (int i = 0; i < len; i++)
                *p++ = best[i];
        } else {
            for (int i = 0; i <= best_exp; i++)
                *p++ = i < len ? best[i] : '0';
            *p++ = '.';
            if (len > best_exp + 1) {
                for (int i = best_exp + 1; i < len; i++)
                    *p++ = best[i];
            } else {
                *p++ = '0';
            }
        }
    } else {
        *p++ = best[0];
        if (len > 1) {
            *p++ = '.';
            for (int i = 1; i < len; i++)
                *p++ = best[i];
        }
        p += sprintf(p, "e%c%02d", best_exp < 0 ? '-' : '+',
                     best_exp < 0 ? -best_exp : best_exp);
    }
    *p = 0;
    return (size_t)(p - out);
}

void
hs_text_float(struct hs_str *out, double v)
{
    char buf[48];
    size_t n = float_repr_exact(buf, v);

    if (!n)
        n = float_repr_libc(buf, v);
    hs_str_add(out, buf, n);
}

void
hs_text_json_string(struct hs_str *out, const char *p, size_t n)
{
    hs_str_addch(out, '"');
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)p[i];

        if (c == '"' || c == '\\') {
            hs_str_addch(out, '\\');
            hs_str_addch(out, (char)c);
        } else if (c < 0x20) {
            hs_str_addf(out, "\\u%04x", c);
        } else {
            hs_str_addch(out, (char)c);
        }
    }
    hs_str_addch(out, '"');
}
