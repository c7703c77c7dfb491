#!/usr/bin/env bats
# The command table, help texts and usage errors.

load lib

@test "help: --help lists every command and the exit codes" {
    run "$HEAPSNAP" --help
    [ "$status" -eq 0 ]
    [[ "$output" == *"dump "* ]]
    [[ "$output" == *"info "* ]]
    [[ "$output" == *"Exit codes:"* ]]
    [[ "$output" == *"3  not a heapsnap snapshot"* ]]
}

@test "help: no arguments prints usage on stderr and exits 2" {
    run "$HEAPSNAP"
    [ "$status" -eq 2 ]
    [[ "$output" == *"usage: heapsnap"* ]]
}

@test "help: 'help CMD' and 'CMD --help' print the same text" {
    a=$("$HEAPSNAP" help info)
    b=$("$HEAPSNAP" info --help)
    [ "$a" = "$b" ]
    [[ "$a" == *"usage: heapsnap info"* ]]
    [[ "$a" == *"--json"* ]]
}

@test "help: --version names the snapshot format" {
    run "$HEAPSNAP" --version
    [ "$status" -eq 0 ]
    [[ "$output" =~ ^heapsnap\ [0-9]+\.[0-9]+\.[0-9]+\ \(snapshot\ format\ 1\)$ ]]
}

@test "help: an unknown command is a usage error with a hint" {
    run "$HEAPSNAP" frobnicate
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: 'frobnicate' is not a heapsnap command" ]
    [ "${lines[1]}" = "try 'heapsnap --help'" ]
}

@test "help: an unknown option names the command to ask" {
    run "$HEAPSNAP" info --frobnicate
    [ "$status" -eq 2 ]
    [ "${lines[0]}" = "heapsnap: error: unknown option '--frobnicate'" ]
    [ "${lines[1]}" = "try 'heapsnap info --help'" ]
}

@test "help: an option missing its value is a usage error" {
    run "$HEAPSNAP" info -f
    [ "$status" -eq 2 ]
    [[ "${lines[0]}" == "heapsnap: error: -f needs a value"* ]]
}

@test "help: help for an unknown command fails" {
    run "$HEAPSNAP" help frobnicate
    [ "$status" -eq 2 ]
    [[ "$output" == *"'frobnicate' is not a heapsnap command"* ]]
}

@test "help: a closed stdout pipe is not an error" {
    run bash -c "'$HEAPSNAP' --help | head -1"
    [ "$status" -eq 0 ]
    [ "$output" = "usage: heapsnap [--version] [--help] <command> [<args>]" ]
}
