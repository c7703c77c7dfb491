/*
 * hash_tables.c: CPython's dict and set table sizes per version (the
 * rules are in hash_tables.h).
 */
#include "hash_tables.h"

#include <stdlib.h>

#define HS_V(major, minor, micro) ((major)*10000u + (minor)*100u + (micro))

uint32_t
hs_python_version_number(const char *s)
{
    unsigned long part[3] = { 0, 0, 0 };
    char *end;

    if (!s)
        return 0;
    for (int i = 0; i < 3; i++) {
        part[i] = strtoul(s, &end, 10);
        if (end == s || part[i] > 99)
            return 0;
        if (*end != '.')
            break; /* "3.14" or "3.14.0rc1": the rest stays 0 */
        s = end + 1;
    }
    return part[0] ? HS_V(part[0], part[1], part[2]) : 0;
}

/* The bytes of a dict's keys object with 2^log2 slots. */
static uint64_t
keys_bytes(const struct hs_hash_tables *t, unsigned log2, int unicode)
{
    uint64_t slots = (uint64_t)1 << log2, head, index, entry;

    /* dk_refcnt, dk_size, dk_lookup, dk_usable, dk_nentries before 3.11;
     * then dk_refcnt, three bytes and dk_version (a 32-bit word with the
     * padding), dk_usable, dk_nentries. */
    head = t->version < HS_V(3, 11, 0) ? 5 * t->pointer : 3 * t->pointer + 8;
    index = log2 < 8 ? 1 : log2 < 16 ? 2 : log2 < 32 ? 4 : 8;
    entry = (unicode && t->version >= HS_V(3, 11, 0) ? 2 : 3) * t->pointer;
    return head + index * slots + (slots * 2 / 3) * entry;
}

uint64_t
hs_dict_size(const struct hs_hash_tables *t, unsigned log2, int unicode)
{
    return t->dict_head + (log2 ? keys_bytes(t, log2, unicode) : 0);
}

int
hs_dict_table_of(const struct hs_hash_tables *t, uint64_t size, unsigned *log2,
                 int *unicode)
{
    if (size == t->dict_head) {
        *log2 = 0;
        *unicode = 0;
        return 0;
    }
    for (unsigned k = 3; k < 40; k++)
        for (int u = 0; u <= (t->version >= HS_V(3, 11, 0)); u++)
            if (hs_dict_size(t, k, u) == size) {
                *log2 = k;
                *unicode = u;
                return 0;
            }
    return -1;
}

unsigned
hs_dict_fresh_log2(const struct hs_hash_tables *t, uint64_t n)
{
    uint64_t want = (3 * n + 1) / 2;
    unsigned k = 3;

    if (n == 0)
        return 0;
    if (t->version >= HS_V(3, 10, 0) && t->version < HS_V(3, 13, 4)) {
        /* calculate_log2_keysize() there: the bit length of
         * ((want | 8) - 1) | 7, one slot count too many when the 8 bit
         * of want is clear (2 → 16 slots, 32 → 64). */
        uint64_t x = ((want | 8) - 1) | 7;

        k = 0;
        while (x) {
            k++;
            x >>= 1;
        }
        return k;
    }
    while (((uint64_t)1 << k) < want)
        k++;
    return k;
}

int
hs_set_table_of(const struct hs_hash_tables *t, uint64_t size, uint64_t *slots)
{
    uint64_t entry = 2 * t->pointer, table;

    if (size < t->set_head)
        return -1;
    table = size - t->set_head;
    if (table == 0) {
        *slots = 8;
        return 0;
    }
    if (table % entry || table / entry < 16 ||
        (table / entry & (table / entry - 1)))
        return -1;
    *slots = table / entry;
    return 0;
}

uint64_t
hs_set_fresh_slots(uint64_t n)
{
    uint64_t slots = 8;

    /* set_merge() resizes only when the items would fill 3/5 of the 8. */
    if (n * 5 < 21)
        return 8;
    while (slots <= 2 * n)
        slots <<= 1;
    return slots;
}

uint64_t
hs_set_size(const struct hs_hash_tables *t, uint64_t slots)
{
    return t->set_head + (slots > 8 ? slots * 2 * t->pointer : 0);
}
