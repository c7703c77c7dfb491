/*
 * Tests of the dict and set table model (hash_tables.c) on sizes read
 * off CPython 3.8.18, 3.12.1 and 3.13.18 by sys.getsizeof (the agent
 * suite checks the model against each interpreter live): versions parsed
 * from meta python_version, sizes decomposed into tables or refused, and
 * the tables dict(d) and set(s) make, with 3.10-3.13.3's rounding.
 */
#include "hash_tables.h"
#include "test_util.h"

static const struct hs_hash_tables py38 = { 30818, 8, 64, 216 };
static const struct hs_hash_tables py312 = { 31201, 8, 64, 216 };
static const struct hs_hash_tables py313 = { 31318, 8, 64, 216 };

static void
test_hash_tables__version_numbers(void **state)
{
    (void)state;
    assert_int_equal(hs_python_version_number("3.13.4"), 31304);
    assert_int_equal(hs_python_version_number("3.8.18"), 30818);
    assert_int_equal(hs_python_version_number("3.14.0rc1"), 31400);
    assert_int_equal(hs_python_version_number("3.14"), 31400);
    assert_int_equal(hs_python_version_number(""), 0);
    assert_int_equal(hs_python_version_number("PyPy"), 0);
    assert_int_equal(hs_python_version_number("3.100.1"), 0);
    assert_int_equal(hs_python_version_number(NULL), 0);
}

static void
test_hash_tables__dict_sizes_decompose(void **state)
{
    unsigned k;
    int u;

    (void)state;
    /* {} and {1: 1} on 3.8 (232), 3.12 int keys (352: 16 slots), 3.12
     * str keys (184: 8 slots of 16-byte entries; 272: 16). */
    assert_int_equal(hs_dict_table_of(&py38, 64, &k, &u), 0);
    assert_int_equal(k, 0);
    assert_int_equal(hs_dict_table_of(&py38, 232, &k, &u), 0);
    assert_int_equal(k, 3);
    assert_int_equal(hs_dict_table_of(&py312, 352, &k, &u), 0);
    assert_int_equal(k, 4);
    assert_int_equal(u, 0);
    assert_int_equal(hs_dict_table_of(&py312, 184, &k, &u), 0);
    assert_int_equal(k, 3);
    assert_int_equal(u, 1);
    assert_int_equal(hs_dict_table_of(&py312, 272, &k, &u), 0);
    assert_int_equal(k, 4);
    assert_int_equal(u, 1);
    /* A split table's size (a values array beside shared keys) is no
     * combined table's. */
    assert_int_equal(hs_dict_table_of(&py312, 64 + 30 * 8, &k, &u), -1);
    assert_int_equal(hs_dict_table_of(&py312, 10, &k, &u), -1);
}

static void
test_hash_tables__fresh_dicts_per_version(void **state)
{
    (void)state;
    /* dict(d) with 1..4 items: 8 slots, but 16 on 3.10-3.13.3; 5 items:
     * 8 everywhere; 21 items (32 wanted): 32, or 64 there. */
    assert_int_equal(hs_dict_fresh_log2(&py38, 0), 0);
    assert_int_equal(hs_dict_fresh_log2(&py38, 1), 3);
    assert_int_equal(hs_dict_fresh_log2(&py312, 1), 4);
    assert_int_equal(hs_dict_fresh_log2(&py313, 1), 3);
    assert_int_equal(hs_dict_fresh_log2(&py312, 5), 3);
    assert_int_equal(hs_dict_fresh_log2(&py38, 21), 5);
    assert_int_equal(hs_dict_fresh_log2(&py312, 21), 6);
    assert_int_equal(hs_dict_fresh_log2(&py313, 21), 5);
    /* sys.getsizeof(dict(d)) read off each: 85 items with int keys. */
    assert_int_equal(hs_dict_size(&py312, hs_dict_fresh_log2(&py312, 85), 0),
                     4688);
    assert_int_equal(hs_dict_size(&py313, hs_dict_fresh_log2(&py313, 85), 0),
                     2264);
    assert_int_equal(hs_dict_size(&py313, hs_dict_fresh_log2(&py313, 85), 1),
                     1584);
}

static void
test_hash_tables__sets(void **state)
{
    uint64_t slots;

    (void)state;
    assert_int_equal(hs_set_fresh_slots(0), 8);
    assert_int_equal(hs_set_fresh_slots(4), 8);
    assert_int_equal(hs_set_fresh_slots(5), 16);
    assert_int_equal(hs_set_fresh_slots(8), 32);
    assert_int_equal(hs_set_size(&py312, 8), 216);
    assert_int_equal(hs_set_size(&py312, 32), 216 + 512);
    assert_int_equal(hs_set_table_of(&py312, 216, &slots), 0);
    assert_int_equal(slots, 8);
    assert_int_equal(hs_set_table_of(&py312, 216 + 4096, &slots), 0);
    assert_int_equal(slots, 256);
    assert_int_equal(hs_set_table_of(&py312, 216 + 48 * 16, &slots), -1);
    assert_int_equal(hs_set_table_of(&py312, 100, &slots), -1);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hash_tables__version_numbers),
        cmocka_unit_test(test_hash_tables__dict_sizes_decompose),
        cmocka_unit_test(test_hash_tables__fresh_dicts_per_version),
        cmocka_unit_test(test_hash_tables__sets),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
