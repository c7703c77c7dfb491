#!/usr/bin/env bats
# The build's order (issue 18, group 7): on a fresh machine `make test`
# must install the test tier's packages (libcmocka-dev) before it builds a
# cmocka unit test, and run deps.sh once rather than twice at once.

load lib

@test "i18.7 make: deps.sh test runs before any unit test is built" {
    cd "$ROOT"
    run make -n --no-print-directory BUILD="$BUILD" -W tests/unit/test_buf.c \
        "$BUILD/tests/test_buf"
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    deps=$(grep -n 'tools/deps.sh test' <<< "$output" | head -1 | cut -d: -f1)
    link=$(grep -n -- '-lcmocka' <<< "$output" | head -1 | cut -d: -f1)
    [ -n "$deps" ] && [ -n "$link" ] || { echo "$output"; false; }
    [ "$deps" -lt "$link" ]
}

@test "i18.7 make: fuzz-build and newest-pythons share one deps.sh run" {
    cd "$ROOT"
    run make -n --no-print-directory BUILD="$BUILD" NEWEST_PYTHONS=3.14 \
        newest-pythons fuzz-build
    [ "$status" -eq 0 ] || { echo "$output"; false; }
    [ "$(grep -c '^tools/deps.sh test$' <<< "$output")" -eq 1 ] || { echo "$output"; false; }
}
