#!/usr/bin/env bats
# tools/newest_pythons.sh: idempotent (a fresh installation is kept without
# touching the network), one clear error line when the private apt update
# fails (an unreachable mirror), the previous installation kept intact
# after a failed refresh, the mirror taken from the machine's apt sources
# (deb822 and one-line), and nothing asked for means an empty list.  The
# mirrors here are file: URIs of folders that do not exist; the real
# download is what `make test` and .ci/run do.

load lib

setup() {
    REAL=$(python3 -c 'import sys; print(sys.executable)')
    MINOR=$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')
    FULL=$(python3 -c 'import sys; print("%d.%d.%d" % sys.version_info[:3])')
    D=$BATS_TEST_TMPDIR/pythons
    NOWHERE=file://$BATS_TEST_TMPDIR/no-mirror/debian
    cd "$ROOT"
}

# A finished installation of Python $MINOR in $D, checked now.
fake_install() {
    mkdir -p "$D/root/usr/bin"
    ln -s "$REAL" "$D/root/usr/bin/python$MINOR"
    printf 'minors %s\npython%s-minimal=%s-1\n' "$MINOR" "$MINOR" "$FULL" > "$D/stamp"
}

@test "newest_pythons: a fresh installation is kept; no network needed" {
    fake_install
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$D" "$MINOR"
    echo "$output"
    [ "$status" -eq 0 ]
    [ "$output" = "heapsnap: newest Debian CPython up to date: $FULL (in $D/root)" ]
    [ "$(cat "$D/list")" = "$D/root/usr/bin/python$MINOR" ]
    # A second run leaves the list file alone (config.mk depends on it).
    touch -d '2000-01-01' "$D/list"
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$D" "$MINOR"
    [ "$status" -eq 0 ]
    [ "$(stat -c %Y "$D/list")" = "$(date -d 2000-01-01 +%s)" ]
    [ ! -e "$D/apt" ]
}

@test "newest_pythons: an unreachable mirror is one error line; the installation stays" {
    fake_install
    # A day-old check must ask the mirror again.
    touch -d '2 days ago' "$D/stamp"
    echo "$D/root/usr/bin/python$MINOR" > "$D/list"
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$D" "$MINOR"
    echo "$output"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "heapsnap: error: cannot read Debian sid's package lists from $NOWHERE: "*"(log: $D/apt/update.log)" ]]
    [ "$(readlink "$D/root/usr/bin/python$MINOR")" = "$REAL" ]
    [ "$(cat "$D/list")" = "$D/root/usr/bin/python$MINOR" ]
    # The private configuration names only the given mirror.
    grep -q " $NOWHERE sid main\$" "$D/apt/sources.list"
    # --refresh asks the mirror even after a fresh check.
    touch "$D/stamp"
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh --refresh "$D" "$MINOR"
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "heapsnap: error: cannot read Debian sid's package lists"* ]]
}

@test "newest_pythons: nothing installed and no mirror: one line, no list" {
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$D" 3.14 3.13
    [ "$status" -eq 1 ]
    [ "${#lines[@]}" -eq 1 ]
    [[ "$output" == "heapsnap: error: cannot read Debian sid's package lists from $NOWHERE"* ]]
    [ ! -e "$D/list" ]
    [ ! -e "$D/root" ]
}

@test "newest_pythons: the mirror comes from the machine's apt sources" {
    local etc=$BATS_TEST_TMPDIR/etc-apt
    mkdir -p "$etc/sources.list.d"
    # deb822: the security stanza comes first and is not the archive.
    cat > "$etc/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: file://$BATS_TEST_TMPDIR/security
Suites: bookworm-security
Components: main

# a comment
Types: deb-src deb
URIs: file://$BATS_TEST_TMPDIR/archive
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
    run env -u HEAPSNAP_DEBIAN_MIRROR HEAPSNAP_APT_ETC="$etc" tools/newest_pythons.sh "$D" 3.14
    [ "$status" -eq 1 ]
    [[ "$output" == "heapsnap: error: cannot read Debian sid's package lists from file://$BATS_TEST_TMPDIR/archive: "* ]]
    # One-line format, with options.
    rm "$etc/sources.list.d/debian.sources"
    printf '# deb http://nowhere/ bookworm main\ndeb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] file://%s/oneline bookworm main\n' \
        "$BATS_TEST_TMPDIR" > "$etc/sources.list"
    run env -u HEAPSNAP_DEBIAN_MIRROR HEAPSNAP_APT_ETC="$etc" tools/newest_pythons.sh "$D" 3.14
    [ "$status" -eq 1 ]
    [[ "$output" == "heapsnap: error: cannot read Debian sid's package lists from file://$BATS_TEST_TMPDIR/oneline: "* ]]
    grep -q "signed-by=/usr/share/keyrings/debian-archive-keyring.gpg\] file://$BATS_TEST_TMPDIR/oneline sid main" "$D/apt/sources.list"
    # No source at all.
    rm "$etc/sources.list"
    run env -u HEAPSNAP_DEBIAN_MIRROR HEAPSNAP_APT_ETC="$etc" tools/newest_pythons.sh "$D" 3.14
    [ "$status" -eq 1 ]
    [ "$output" = "heapsnap: error: no Debian mirror in $etc/sources.list or $etc/sources.list.d (set HEAPSNAP_DEBIAN_MIRROR)" ]
}

@test "newest_pythons: nothing asked for is an empty list; a bad minor is a usage error" {
    fake_install
    echo "$D/root/usr/bin/python$MINOR" > "$D/list"
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$D"
    [ "$status" -eq 0 ]
    [ ! -s "$D/list" ]
    run tools/newest_pythons.sh "$D" 3.x
    [ "$status" -eq 2 ]
    [ "$output" = "heapsnap: error: '3.x' is not a minor version such as 3.14" ]
}

@test "newest_pythons: the build's own installation is up to date on a second run" {
    local list=$ROOT/$BUILD/pythons/list minors
    [ -s "$list" ] || skip "no newest Debian CPython in $BUILD (NEWEST_PYTHONS)"
    [ -n "$(find "$ROOT/$BUILD/pythons/stamp" -mmin -1380)" ] || skip "its last check is nearly a day old"
    # The minors it was asked for, in the list's order: the list stays.
    minors=$(sed 's/.*python//' "$list")
    before=$(stat -c %Y "$ROOT/$BUILD/pythons/root")
    run env HEAPSNAP_DEBIAN_MIRROR="$NOWHERE" tools/newest_pythons.sh "$ROOT/$BUILD/pythons" $minors
    echo "$output"
    [ "$status" -eq 0 ]
    [[ "$output" == "heapsnap: newest Debian CPython up to date: "* ]]
    [ "$(stat -c %Y "$ROOT/$BUILD/pythons/root")" = "$before" ]
}
