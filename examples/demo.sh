#!/bin/sh
# make demo: snapshot the bundled leaky service, then ask heapsnap why its
# requests are still alive, and draw the answer.
set -eu
BUILD=${BUILD:-build}
HS="$BUILD/heapsnap"
OUT="$BUILD/demo"
mkdir -p "$OUT"
rm -f "$OUT/leaky.db"

echo "== heapsnap dump -o $OUT/leaky.db -- python3 examples/leaky_service.py"
"$HS" dump -o "$OUT/leaky.db" -- python3 examples/leaky_service.py
echo
echo "== heapsnap top -f $OUT/leaky.db -n 8"
"$HS" top -f "$OUT/leaky.db" -n 8
echo
echo "== heapsnap why -f $OUT/leaky.db LeakedRequest --svg $OUT/why.svg"
"$HS" why -f "$OUT/leaky.db" LeakedRequest --svg "$OUT/why.svg"
echo
echo "demo: the retention path is drawn in $(pwd)/$OUT/why.svg (open it in a browser)"
