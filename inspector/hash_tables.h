/*
 * hash_tables.h: what CPython allocates for a dict's or a set's hash
 * table, per version, to tell a table left large by deletions from one
 * sized for what it holds.  A dict or set never gives back its table when
 * items are deleted (only clear() does); dict(d) and set(s) allocate one
 * sized for the items left.  The model answers two questions from
 * objects.size (sys.getsizeof) alone: which table does this object have
 * (an exact decomposition of its size, or none: then the object is not
 * a plain combined table and is left alone), and what would a fresh copy
 * with n items have.
 *
 * The rules, checked against sys.getsizeof(dict(d)) and set(s) on every
 * CPython the agent supports (tests/agent/test_advise.py):
 *   dict: sizeof = gc header + basicsize + (a table unless empty: the
 *     keys object header, one index of 1/2/4/8 bytes per slot, and
 *     2/3 of the slots as entries of 3 pointers, or 2 for str-only keys
 *     on 3.11+).  dict(d) with n items asks for (3n+1)/2 slots, rounded
 *     up to a power of two, at least 8; on 3.10 to 3.13.3 that rounding
 *     overshoots (CPython gh-133703, fixed in 3.13.4 and 3.14).
 *   set: sizeof = gc header + basicsize + 2 pointers per slot unless the
 *     table is the 8 slots inside the object.  set(s) with n items keeps
 *     those 8 below 5 items, else takes the least power of two above 2n.
 * A table grown by insertions alone is at most twice the fresh one, so
 * four times or more means deletions.
 */
#ifndef HS_HASH_TABLES_H
#define HS_HASH_TABLES_H

#include <stdint.h>

/* One snapshot's parameters. */
struct hs_hash_tables {
    uint32_t version;   /* 31304 for 3.13.4 (hs_python_version_number) */
    uint64_t pointer;   /* 8 or 4 */
    uint64_t dict_head; /* gc header + dict's basicsize */
    uint64_t set_head;  /* gc header + set's basicsize */
};

/* "3.13.4" (meta python_version) as 31304; 0 when it is not one. */
uint32_t hs_python_version_number(const char *s);

/* A dict's table, from its size: *log2 is its slots' log2 (0 for no
 * table), *unicode 1 for a str-keys table.  0, or -1 when no table of
 * this version has that size (a split table, a subclass). */
int hs_dict_table_of(const struct hs_hash_tables *t, uint64_t size,
                     unsigned *log2, int *unicode);

/* The log2 of the slots dict(d) gives n items (0 for n = 0), and its
 * sys.getsizeof with that many items of that kind. */
unsigned hs_dict_fresh_log2(const struct hs_hash_tables *t, uint64_t n);
uint64_t hs_dict_size(const struct hs_hash_tables *t, unsigned log2,
                      int unicode);

/* A set's slots, from its size (8 for the table inside the object); 0,
 * or -1 when the size is not a set's of this version. */
int hs_set_table_of(const struct hs_hash_tables *t, uint64_t size,
                    uint64_t *slots);

/* The slots set(s) gives n items, and a set's size with that many. */
uint64_t hs_set_fresh_slots(uint64_t n);
uint64_t hs_set_size(const struct hs_hash_tables *t, uint64_t slots);

#endif /* HS_HASH_TABLES_H */
