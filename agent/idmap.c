/*
 * idmap.c: dense ids for objects (agent.h, struct hs_idmap).  Ids are
 * handed out in discovery order, which is also the order the walk
 * processes objects in, so the id array doubles as the work queue: no
 * separate stack or queue is needed and nothing recurses.
 *
 * The hash table holds only ids (4 bytes a slot) and compares against
 * objs[id - 1]; it is kept at most half full.  Cost: 8 bytes per object
 * for objs plus 4 to 8 bytes of slots.
 */
#include "agent.h"

#include <string.h>

static inline uint32_t
slot_of(PyObject *o, uint32_t mask)
{
    /* Objects are 16-byte aligned: drop the zero bits, then Fibonacci
     * hashing spreads consecutive allocations. */
    uint64_t h = ((uint64_t)(uintptr_t)o >> 4) * 0x9E3779B97F4A7C15ULL;

    return (uint32_t)(h >> 32) & mask;
}

int
hs_idmap_init(struct hs_idmap *m, uint32_t expected)
{
    uint32_t n = 1024;

    memset(m, 0, sizeof(*m));
    while (n < expected * 2 && n < (1u << 31))
        n *= 2;
    m->slots = hs_alloc((size_t)n * sizeof(*m->slots));
    m->objs = hs_alloc((size_t)(n / 2) * sizeof(*m->objs));
    if (!m->slots || !m->objs) {
        hs_idmap_release(m);
        return -1;
    }
    memset(m->slots, 0, (size_t)n * sizeof(*m->slots));
    m->nslots = n;
    m->cap = n / 2;
    return 0;
}

void
hs_idmap_release(struct hs_idmap *m)
{
    hs_free(m->slots);
    hs_free(m->objs);
    memset(m, 0, sizeof(*m));
}

uint32_t
hs_idmap_find(const struct hs_idmap *m, PyObject *o)
{
    uint32_t mask = m->nslots - 1;
    uint32_t i = slot_of(o, mask);

    for (;;) {
        uint32_t id = m->slots[i];

        if (!id || m->objs[id - 1] == o)
            return id;
        i = (i + 1) & mask;
    }
}

/* Doubles the table (and objs); 0 or -1. */
static int
grow(struct hs_idmap *m)
{
    uint32_t n = m->nslots * 2, mask = n - 1;
    uint32_t *slots;
    PyObject **objs;

    if (m->nslots >= (1u << 31))
        return -1;
    slots = hs_alloc((size_t)n * sizeof(*slots));
    objs = hs_realloc(m->objs, (size_t)(n / 2) * sizeof(*objs));
    if (!slots || !objs) {
        hs_free(slots);
        if (objs)
            m->objs = objs;
        return -1;
    }
    m->objs = objs;
    memset(slots, 0, (size_t)n * sizeof(*slots));
    for (uint32_t id = 1; id <= m->count; id++) {
        uint32_t i = slot_of(objs[id - 1], mask);

        while (slots[i])
            i = (i + 1) & mask;
        slots[i] = id;
    }
    hs_free(m->slots);
    m->slots = slots;
    m->nslots = n;
    m->cap = n / 2;
    return 0;
}

uint32_t
hs_idmap_add(struct hs_idmap *m, PyObject *o, int *added)
{
    uint32_t mask = m->nslots - 1;
    uint32_t i = slot_of(o, mask);

    *added = 0;
    for (;;) {
        uint32_t id = m->slots[i];

        if (!id)
            break;
        if (m->objs[id - 1] == o)
            return id;
        i = (i + 1) & mask;
    }
    if (m->count + 1 >= m->cap) {
        if (grow(m) < 0)
            return 0;
        return hs_idmap_add(m, o, added);
    }
    m->objs[m->count] = o;
    m->slots[i] = ++m->count;
    *added = 1;
    return m->count;
}
