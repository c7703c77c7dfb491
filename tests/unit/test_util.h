/*
 * test_util.h: helpers shared by the C unit tests (header-only; each test
 * program is one translation unit).  Builds snapshot files from the
 * compiled-in schema plus SQL, and random graphs from a seeded generator.
 */
#ifndef HS_TEST_UTIL_H
#define HS_TEST_UTIL_H

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern const char hs_schema_sql[];

/*
 * Creates a snapshot file at a fresh temporary path from the schema and
 * `sql` (INSERT statements); returns the malloc'd path.  Fails the test on
 * any SQLite error.
 */
static inline char *
test_snapshot_file(const char *sql)
{
    char tmpl[] = "/tmp/hs-unit-XXXXXX";
    int fd = mkstemp(tmpl);
    sqlite3 *db;
    char *err = NULL;

    assert_true(fd >= 0);
    close(fd);
    assert_int_equal(sqlite3_open(tmpl, &db), SQLITE_OK);
    if (sqlite3_exec(db, hs_schema_sql, NULL, NULL, &err) != SQLITE_OK ||
        (sql && sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK)) {
        fprintf(stderr, "fixture SQL failed: %s\n", err);
        fail();
    }
    sqlite3_close(db);
    return strdup(tmpl);
}

/* xorshift64*: a small deterministic generator for random graphs. */
struct test_rng {
    uint64_t s;
};

static inline uint64_t
test_rng_next(struct test_rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 0x2545F4914F6CDD1DULL;
}

/* Uniform in [0, n). */
static inline uint32_t
test_rng_below(struct test_rng *r, uint32_t n)
{
    return n ? (uint32_t)(test_rng_next(r) % n) : 0;
}

/*
 * m random edges among n nodes (n > 0) into src/dst/kind: one in ten a
 * self-loop, one in ten a repeat of the edge before (parallel edges);
 * kind `weak` one time in weak_one_in, else uniform in [0, nkinds), so
 * unknown kinds come up too.
 */
static inline void
test_random_edges(struct test_rng *r, uint32_t n, uint32_t m, uint32_t *src,
                  uint32_t *dst, uint8_t *kind, uint8_t weak,
                  uint32_t weak_one_in, uint32_t nkinds)
{
    for (uint32_t e = 0; e < m; e++) {
        uint32_t shape = test_rng_below(r, 10);

        src[e] = test_rng_below(r, n);
        if (shape == 0) {
            dst[e] = src[e];
        } else if (shape == 1 && e > 0) {
            src[e] = src[e - 1];
            dst[e] = dst[e - 1];
        } else {
            dst[e] = test_rng_below(r, n);
        }
        kind[e] = test_rng_below(r, weak_one_in) == 0
                      ? weak
                      : (uint8_t)test_rng_below(r, nkinds);
    }
}

#endif /* HS_TEST_UTIL_H */
