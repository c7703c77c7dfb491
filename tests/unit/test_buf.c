/*
 * Tests of the growable buffer (util.c, heapsnap.h): its invariants hold
 * after every operation (buf never NULL, NUL-terminated at len, len <
 * alloc once allocated), embedded NUL bytes are kept, reset keeps the
 * memory, detach hands the bytes over and leaves an empty buffer, and
 * formatted additions of any length are whole.
 */
#include "heapsnap.h"
#include "test_util.h"

static void
assert_invariants(const struct hs_buf *b)
{
    assert_non_null(b->buf);
    assert_int_equal(b->buf[b->len], '\0');
    if (b->alloc)
        assert_true(b->len < b->alloc);
    else
        assert_int_equal(b->len, 0);
}

static void
test_buf__empty_needs_no_memory(void **state)
{
    struct hs_buf a = HS_BUF_INIT, b;

    (void)state;
    hs_buf_init(&b);
    assert_invariants(&a);
    assert_invariants(&b);
    assert_string_equal(a.buf, "");
    assert_int_equal(a.alloc, 0);
    hs_buf_reset(&a);
    assert_invariants(&a);
    hs_buf_release(&a);
    hs_buf_release(&b);
    assert_invariants(&a);
    /* The shared empty string is never written through. */
    assert_string_equal(hs_buf_empty, "");
}

static void
test_buf__additions_keep_bytes_and_invariants(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    static const char bin[] = { 'a', '\0', 'b' };

    (void)state;
    hs_buf_adds(&b, "heap");
    assert_invariants(&b);
    hs_buf_addch(&b, '-');
    hs_buf_add(&b, bin, sizeof(bin));
    assert_invariants(&b);
    assert_int_equal(b.len, 8);
    assert_memory_equal(b.buf, "heap-a\0b", 8);
    hs_buf_addf(&b, "%d%s", 42, "!");
    assert_int_equal(b.len, 11);
    assert_memory_equal(b.buf + 8, "42!", 4);
    hs_buf_add(&b, "", 0);
    assert_int_equal(b.len, 11);
    assert_invariants(&b);
    hs_buf_release(&b);
    assert_invariants(&b);
    assert_int_equal(b.len, 0);
}

static void
test_buf__grows_a_byte_at_a_time_and_at_once(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    size_t n = 1 << 20;

    (void)state;
    for (size_t i = 0; i < n; i++) {
        hs_buf_addch(&b, 'a' + (int)(i % 26));
        if ((i & (i + 1)) == 0) /* at 1, 3, 7, ...: around each growth */
            assert_invariants(&b);
    }
    assert_int_equal(b.len, n);
    for (size_t i = 0; i < n; i += 4093)
        assert_int_equal(b.buf[i], 'a' + (int)(i % 26));
    hs_buf_grow(&b, n);
    assert_true(b.alloc > 2 * n);
    assert_int_equal(b.len, n);
    assert_invariants(&b);
    hs_buf_release(&b);
}

static void
test_buf__long_formats_are_whole(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    char *big = malloc(100001);

    (void)state;
    memset(big, 'x', 100000);
    big[100000] = '\0';
    hs_buf_adds(&b, "<");
    hs_buf_addf(&b, "%s>%05d", big, 7);
    assert_int_equal(b.len, 1 + 100000 + 1 + 5);
    assert_int_equal(b.buf[0], '<');
    assert_int_equal(b.buf[100001], '>');
    assert_string_equal(b.buf + 100002, "00007");
    assert_invariants(&b);
    hs_buf_release(&b);
    free(big);
}

static void
test_buf__reset_keeps_memory_detach_hands_over(void **state)
{
    struct hs_buf b = HS_BUF_INIT;
    size_t alloc;
    char *s;

    (void)state;
    hs_buf_addf(&b, "%s", "retained size");
    alloc = b.alloc;
    hs_buf_reset(&b);
    assert_int_equal(b.len, 0);
    assert_int_equal(b.alloc, alloc);
    assert_invariants(&b);
    hs_buf_adds(&b, "dominator");
    s = hs_buf_detach(&b);
    assert_string_equal(s, "dominator");
    assert_invariants(&b);
    assert_int_equal(b.len, 0);
    free(s);
    /* Detaching an empty buffer still gives a string the caller frees. */
    s = hs_buf_detach(&b);
    assert_non_null(s);
    assert_string_equal(s, "");
    free(s);
    hs_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_buf__empty_needs_no_memory),
        cmocka_unit_test(test_buf__additions_keep_bytes_and_invariants),
        cmocka_unit_test(test_buf__grows_a_byte_at_a_time_and_at_once),
        cmocka_unit_test(test_buf__long_formats_are_whole),
        cmocka_unit_test(test_buf__reset_keeps_memory_detach_hands_over),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
