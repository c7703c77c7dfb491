#!/usr/bin/env bats
# The README's shell examples run as written and print what it says.

load lib

@test "readme: every example runs and prints what the README shows" {
    run python3 "$ROOT/tests/cli/readme_examples.py" "$ROOT/README.md" "$HEAPSNAP" "$BATS_TEST_TMPDIR/readme"
    echo "$output"
    [ "$status" -eq 0 ]
}
