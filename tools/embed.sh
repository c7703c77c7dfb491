#!/bin/sh
# Turns a text file into a C source file defining
#   const char NAME[] = "...";
# Usage: tools/embed.sh FILE NAME > OUT.c  (the build's generated sources)
set -eu
printf '/* Generated from %s by tools/embed.sh; do not edit. */\n' "$1"
printf 'extern const char %s[];\nconst char %s[] =\n' "$2" "$2"
sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/    "/' -e 's/$/\\n"/' "$1"
printf '    ;\n'
