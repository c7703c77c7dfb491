/*
 * idmap.c: dense ids for objects (agent.h, struct hs_idmap).  Ids are
 * handed out in discovery order, which is also the order the walk
 * processes objects in, so the id -> object array doubles as the work
 * queue: no separate stack or queue is needed and nothing recurses.
 *
 * The hash table is one array of 8-byte slots {id, hash}: `hash` is 32
 * bits of the address hash and the home slot is hash * n >> 32 (multiply-
 * shift range reduction, so n need not be a power of two).  Slots are kept
 * sorted by hash (ordered linear probing: an insert shifts the rest of its
 * run by one slot; runs may extend past n, nothing wraps around).  A
 * lookup scans from the home slot over smaller hashes, compares the object
 * only on an equal hash (the one extra read of a hit; a miss almost never
 * makes it) and stops at a larger hash or an empty slot: one cache line in
 * the common case.
 *
 * Past 85% load the table is rebuilt 1.25 times bigger by one sequential
 * merge: sorted order makes each entry's new slot max(its new home, the
 * previous entry's slot + 1).  The merge writes into the second of two
 * reserved arrays and gives the first one's memory back as it passes, so
 * growth never holds two tables.  The load stays between 68% and 85%:
 * 9.4 to 11.8 bytes per object.  Per id, one 12-byte record (agent.h,
 * struct hs_idrec): the object's address with the caller's flag byte in
 * its top byte, and the caller's word, in an array that grows in place.
 * It replaced three arrays (the object, the word, the byte): 12 bytes
 * per id instead of 13, and one array's commit steps instead of three's
 * (a dump's peak at 1M objects on 3.13: 28.5 bytes per object, was 31.0).
 * The pause measured the same: a reference's target was mostly found
 * recently, so its entries were in cache whichever way they were laid
 * out; the table slot is the miss.  In all 21.4 to 23.8 bytes per object,
 * all arrays on huge pages once big.
 */
#include "agent.h"

#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#define LOAD_MAX 0.85 /* the table grows past this load */
#define LOAD_NEW 0.70 /* load of a table sized for an expected count */
#define GROWTH 1.25
#define MIN_SLOTS 1024u
#define EXPECTED_UNSEEN 8192.0 /* hs_idmap_expected() */

/* The most ids: UINT32_MAX stays free as a marker. */
#define MAX_IDS (UINT32_MAX - 1u)

static inline struct hs_idslot *
slots_of(const struct hs_idmap *m)
{
    return (struct hs_idslot *)m->tab[m->cur].base;
}

/* Home slots for `count` entries at load `load`. */
static uint32_t
slots_for(double count, double load)
{
    double n = count / load + 1;

    if (n > (double)UINT32_MAX / 2)
        return UINT32_MAX / 2;
    return n < MIN_SLOTS ? MIN_SLOTS : (uint32_t)n;
}

/* Makes slots [0, upto] of table t usable; 0 or -1. */
static int
reach_slot(struct hs_vmarr *t, uint64_t upto)
{
    return hs_vmarr_grow(t, (size_t)(upto + 1) * sizeof(struct hs_idslot));
}

/*
 * The most ids the arrays reserve room for.  Reserving costs no memory,
 * but a limit on address space (ulimit -v) counts it: each array taking
 * what it could ever need would leave the next ones, SQLite and Python
 * nothing, and whether a dump worked would depend on the limit by
 * chance.  Under a limit the arrays share half of the address space left
 * (the rest is for SQLite, the allocator and the program), in proportion
 * to their bytes per id, so a dump fits whenever its real needs do.
 */
static uint64_t
ids_affordable(void)
{
    /* Bytes per id in all the arrays: two tables at 60% load at worst,
     * and the record (the object, the caller's word and flag byte). */
    const double per_id =
        2 * sizeof(struct hs_idslot) / 0.6 + sizeof(struct hs_idrec);
    struct rlimit rl;
    unsigned long long pages = 0;
    long psize = sysconf(_SC_PAGESIZE);
    uint64_t used, ids;
    FILE *f;

    if (getrlimit(RLIMIT_AS, &rl) != 0 || rl.rlim_cur == RLIM_INFINITY ||
        psize <= 0)
        return MAX_IDS;
    f = fopen("/proc/self/statm", "r");
    if (f) {
        if (fscanf(f, "%llu", &pages) != 1)
            pages = 0;
        fclose(f);
    }
    used = (uint64_t)pages * (uint64_t)psize;
    if (used >= rl.rlim_cur)
        return MIN_SLOTS;
    ids = (uint64_t)((double)((rl.rlim_cur - used) / 2) / per_id);
    if (ids < MIN_SLOTS)
        return MIN_SLOTS;
    return ids < MAX_IDS ? ids : MAX_IDS;
}

static int reach_id(struct hs_idmap *m, uint32_t id);

int
hs_idmap_init(struct hs_idmap *m, uint32_t expected)
{
    uint64_t ids = ids_affordable();
    /* A table never has more slots than ids / 0.68 plus its overflow. */
    size_t table_max = (size_t)((double)ids / 0.6) * sizeof(struct hs_idslot);

    memset(m, 0, sizeof(*m));
    m->n = slots_for(expected, LOAD_NEW);
    if (m->n > table_max / sizeof(struct hs_idslot) / 2)
        m->n = (uint32_t)(table_max / sizeof(struct hs_idslot) / 2);
    m->limit = (uint32_t)(m->n * LOAD_MAX);
    if (hs_vmarr_init(&m->tab[0], table_max) < 0 ||
        hs_vmarr_init(&m->tab[1], table_max) < 0 ||
        hs_vmarr_init(&m->recs, (size_t)ids * sizeof(struct hs_idrec)) < 0) {
        hs_idmap_release(m);
        return -1;
    }
    hs_vmarr_expect(&m->tab[0], (size_t)m->n * sizeof(struct hs_idslot));
    hs_vmarr_expect(&m->recs, (size_t)expected * sizeof(struct hs_idrec));
    if (reach_slot(&m->tab[0], m->n) < 0) {
        hs_idmap_release(m);
        return -1;
    }
    m->end = 0;
    /* The records of the expected ids too, now: hs_dump() makes the map
     * with the GIL released, so their pages are not filled in during the
     * walk (at 10M objects, 0.2-0.4 s of a first dump's pause).  Only a
     * head start: if it fails, they grow as they are needed. */
    reach_id(m, expected);
    return 0;
}

/*
 * How many objects a walk will find, to size its table so that it need
 * not grow: each growth rebuilds the whole table, and a table sized for
 * the gc-tracked objects alone grew six times on a heap of mostly strs
 * and numbers (a sixth of the walk's time).  pymalloc's live blocks bound
 * the small objects from above (containers' item arrays and key tables
 * are blocks too; the bench heap has 1.17 blocks per object), so 80% of
 * them, at the table's initial load, stays below its growth limit there.
 * Without pymalloc's figures (m->pymalloc_blocks < 0), the tracked count.
 * Either way plus EXPECTED_UNSEEN for the objects neither count sees,
 * most of them in a small heap: static types and singletons, and objects
 * too big for pymalloc (a bare 3.11 interpreter: 24.6k objects, 20.2k
 * blocks, 7.4k tracked; its table grew twice).
 */
uint32_t
hs_idmap_expected(const struct hs_memfacts *m, hs_gcstate_t *gc)
{
    double n = (double)hs_gc_estimate(gc);

    if (m->pymalloc_blocks > 0 && 0.8 * (double)m->pymalloc_blocks > n)
        n = 0.8 * (double)m->pymalloc_blocks;
    n += EXPECTED_UNSEEN;
    return n < UINT32_MAX / 2 ? (uint32_t)n : UINT32_MAX / 2;
}

void
hs_idmap_release(struct hs_idmap *m)
{
    hs_vmarr_release(&m->tab[0]);
    hs_vmarr_release(&m->tab[1]);
    hs_vmarr_release(&m->recs);
    memset(m, 0, sizeof(*m));
}

uint32_t
hs_idmap_find(const struct hs_idmap *m, PyObject *o)
{
    uint32_t h = hs_idmap_hash((uintptr_t)o);
    const struct hs_idslot *s = slots_of(m) + hs_idmap_home(h, m->n);

    /* Slot `end` and every slot from there are empty, so this stops. */
    for (;; s++) {
        if (!s->id || s->hash > h)
            return 0;
        if (s->hash == h &&
            hs_idrec_address(hs_idmap_rec(m, s->id)) == (uint64_t)(uintptr_t)o)
            return s->id;
    }
}

/*
 * Rebuilds the table with n home slots by a merge into the other array
 * (see the file header); the old array's memory is given back as the
 * merge leaves it behind.  O(slots), sequential.  0, or -1 when memory
 * ran out (the map can then only be released).
 */
static int
rebuild(struct hs_idmap *m, uint32_t n)
{
    const struct hs_idslot *from = slots_of(m);
    struct hs_vmarr *old = &m->tab[m->cur], *to = &m->tab[!m->cur];
    struct hs_idslot *dst = (struct hs_idslot *)to->base;
    uint64_t next = 0; /* first free slot of the new table */

    for (uint32_t i = 0; i < m->end; i++) {
        uint64_t at;

        if (!from[i].id)
            continue;
        at = hs_idmap_home(from[i].hash, n);
        if (at < next)
            at = next;
        if (at + 1 >= (uint64_t)to->committed / sizeof(*dst) &&
            reach_slot(to, at + 1) < 0)
            return -1;
        dst[at] = from[i];
        next = at + 1;
        if (!(i & 0xFFFF))
            hs_vmarr_discard_below(old, (size_t)i * sizeof(*from));
    }
    if (reach_slot(to, next > n ? next : n) < 0)
        return -1;
    hs_vmarr_reset(old);
    m->cur = !m->cur;
    m->n = n;
    m->end = (uint32_t)next;
    m->limit = (uint32_t)(n * LOAD_MAX);
    return 0;
}

/* Room for id `id` in the record array; 0 or -1. */
static int
reach_id(struct hs_idmap *m, uint32_t id)
{
    size_t room;

    if (id <= m->id_room)
        return 0;
    if (hs_vmarr_grow(&m->recs, (size_t)id * sizeof(struct hs_idrec)) < 0)
        return -1;
    /* What it holds now (it commits in steps). */
    room = m->recs.committed / sizeof(struct hs_idrec);
    m->id_room = room > MAX_IDS ? MAX_IDS : (uint32_t)room;
    return 0;
}

const char *
hs_idmap_failure(const struct hs_idmap *m)
{
    return m->high_address ? "an object's address uses its top byte (a "
                             "tagged pointer): the object table cannot "
                             "hold it"
                           : "out of memory (object table)";
}

uint32_t
hs_idmap_add(struct hs_idmap *m, PyObject *o, int *added)
{
    uint32_t h = hs_idmap_hash((uintptr_t)o);
    struct hs_idslot *base = slots_of(m), *s, *free_slot;
    struct hs_idrec *r;
    uint32_t id;

    *added = 0;
    for (s = base + hs_idmap_home(h, m->n);; s++) {
        if (!s->id || s->hash > h)
            break;
        if (s->hash == h &&
            hs_idrec_address(hs_idmap_rec(m, s->id)) == (uint64_t)(uintptr_t)o)
            return s->id;
    }
    if (m->count >= MAX_IDS)
        return 0;
    if ((uint64_t)(uintptr_t)o >> 56) {
        m->high_address = 1;
        return 0;
    }
    if (m->count >= m->limit) {
        if (rebuild(m, slots_for(m->count / LOAD_MAX * GROWTH, 1.0)) < 0)
            return 0;
        return hs_idmap_add(m, o, added);
    }
    id = m->count + 1;
    if (reach_id(m, id) < 0)
        return 0;
    /* o goes before the first larger hash: the run from there shifts. */
    for (free_slot = s; free_slot->id; free_slot++)
        ;
    if ((uint32_t)(free_slot - base) + 1 >= m->end) {
        if (reach_slot(&m->tab[m->cur], (uint64_t)(free_slot - base) + 2) < 0)
            return 0;
        m->end = (uint32_t)(free_slot - base) + 1;
    }
    memmove(s + 1, s, (size_t)(free_slot - s) * sizeof(*s));
    s->id = id;
    s->hash = h;
    r = hs_idmap_rec(m, id);
    r->w[0] = (uint32_t)(uint64_t)(uintptr_t)o;
    r->w[1] = (uint32_t)((uint64_t)(uintptr_t)o >> 32);
    r->w[2] = 0;
    m->count = id;
    *added = 1;
    return id;
}
