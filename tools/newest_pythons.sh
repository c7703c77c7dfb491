#!/bin/sh
# Installs the newest CPython of each asked-for minor version that Debian
# publishes (its newest suite, sid: binary packages) under DIR, where the
# build finds them:
#   tools/newest_pythons.sh [--refresh] DIR [MINOR...]     e.g. build/pythons 3.14 3.13
#
# Nothing of the machine's apt state is touched: a private apt configuration
# in DIR/apt (its own sources.list, lists, package cache and an empty dpkg
# status) downloads the packages, and `dpkg-deb -x` unpacks them into
# DIR/root.  The mirror is the machine's own, read from its apt sources
# (deb822 /etc/apt/sources.list.d/*.sources, one-line sources.list and
# *.list; HEAPSNAP_APT_ETC names another folder than /etc/apt);
# HEAPSNAP_DEBIAN_MIRROR overrides it.  sid's C library and the
# libraries the interpreter loads are unpacked beside it and patchelf points
# the interpreter at them, so it runs on an older Debian.
#
# Writes DIR/list, the interpreters one path a line (tools/pythons.sh reads
# it), rewritten only when it changes (config.mk depends on it); with no
# MINOR it is empty.  Idempotent: a check younger than a day with the same
# MINORs and working interpreters returns at once without the network
# (--refresh forces the check); the same package versions are not unpacked
# again, and the .debs are cached in DIR/apt/archives (HEAPSNAP_DEB_CACHE
# names another folder: two build folders can share one).  A failed refresh
# leaves the previous installation as it was.
#
# Exit 0 when every MINOR is installed, 1 with one "heapsnap: error:" line
# otherwise (mirror unreachable, a MINOR that sid does not have, a tool
# missing), 2 on a usage error.
set -u

err() {
    echo "heapsnap: error: $*" >&2
    exit 1
}

refresh=0
if [ "${1:-}" = --refresh ]; then
    refresh=1
    shift
fi
[ $# -ge 1 ] || {
    echo "usage: tools/newest_pythons.sh [--refresh] DIR [MINOR...]" >&2
    exit 2
}
dir=$1
shift
minors=$*
for m in $minors; do
    case "$m" in
    3.[0-9] | 3.[0-9][0-9]) ;;
    *) echo "heapsnap: error: '$m' is not a minor version such as 3.14" >&2; exit 2 ;;
    esac
done

mkdir -p "$dir" || err "cannot create '$dir'"
dir=$(cd "$dir" && pwd)
root=$dir/root

# Two builds may share a build folder: one installs at a time.
exec 9> "$dir/.lock"
command -v flock > /dev/null && flock 9

# Writes DIR/list from the MINORs, only when its content changes.
write_list() {
    : > "$dir/list.new"
    for m in $minors; do echo "$root/usr/bin/python$m" >> "$dir/list.new"; done
    if cmp -s "$dir/list.new" "$dir/list" 2> /dev/null; then
        rm -f "$dir/list.new"
    else
        mv "$dir/list.new" "$dir/list"
    fi
}

# 0 if every MINOR's interpreter runs and has the modules the agent and
# its tests use; prints the full versions.  Else 1, the failure's last
# line in $why.
check_all() {
    for m in $minors; do
        why=$("$root/usr/bin/python$m" -c '
import sys, ssl, sqlite3, ctypes, zlib, lzma, bz2, decimal, json
print("%d.%d.%d" % sys.version_info[:3])' 2>&1) || {
            why="python$m: $(echo "$why" | tail -n1)"
            return 1
        }
        echo "$why"
    done
}

if [ -z "$minors" ]; then
    write_list
    exit 0
fi

# A recent check of the same MINORs: nothing to do.
if [ $refresh = 0 ] && [ -f "$dir/stamp" ] &&
    [ -n "$(find "$dir/stamp" -mmin -1440 2> /dev/null)" ] &&
    [ "$(head -n1 "$dir/stamp")" = "minors $minors" ] &&
    versions=$(check_all); then
    write_list
    echo "heapsnap: newest Debian CPython up to date:" $versions "(in $root)" >&2
    exit 0
fi

for tool in apt-get apt-cache dpkg-deb patchelf; do
    command -v $tool > /dev/null ||
        err "$tool is missing (it comes with Debian; patchelf: tools/deps.sh test)"
done

# The machine's Debian mirror and keyring: the first source of a suite
# without "-" (bookworm, not bookworm-security or bookworm-updates).
keyring=/usr/share/keyrings/debian-archive-keyring.gpg
mirror=${HEAPSNAP_DEBIAN_MIRROR:-}
etc=${HEAPSNAP_APT_ETC:-/etc/apt}
if [ -z "$mirror" ]; then
    found=$(
        for f in "$etc"/sources.list.d/*.sources; do
            [ -f "$f" ] || continue
            awk 'function flush() {
                     if (deb && uri != "" && main_suite && enabled) print uri, key
                     deb = 0; uri = ""; key = ""; main_suite = 0; enabled = 1
                 }
                 BEGIN { enabled = 1 }
                 /^[ \t]*#/ { next }
                 /^[ \t]*$/ { flush(); next }
                 tolower($1) == "types:" { for (i = 2; i <= NF; i++) if ($i == "deb") deb = 1 }
                 tolower($1) == "uris:" { uri = $2 }
                 tolower($1) == "signed-by:" && $2 ~ /^\// { key = $2 }
                 tolower($1) == "enabled:" && tolower($2) == "no" { enabled = 0 }
                 tolower($1) == "suites:" { for (i = 2; i <= NF; i++) if ($i !~ /[-\/]/) main_suite = 1 }
                 END { flush() }' "$f"
        done
        for f in "$etc"/sources.list "$etc"/sources.list.d/*.list; do
            [ -f "$f" ] || continue
            awk '$1 == "deb" {
                     key = ""; i = 2
                     if ($2 ~ /^\[/) {
                         for (; i <= NF; i++) {
                             if ($i ~ /^\[?signed-by=/) { key = $i; sub(/^\[?signed-by=/, "", key); sub(/\]$/, "", key) }
                             if ($i ~ /\]$/) { i++; break }
                         }
                     }
                     if ($(i + 1) !~ /[-\/]/) print $i, key
                 }' "$f"
        done
    )
    set -- $found
    mirror=${1:-}
    [ -n "${2:-}" ] && keyring=$2
    [ -n "$mirror" ] ||
        err "no Debian mirror in $etc/sources.list or $etc/sources.list.d (set HEAPSNAP_DEBIAN_MIRROR)"
fi

arch=$(dpkg --print-architecture)
apt=$dir/apt
debs=${HEAPSNAP_DEB_CACHE:-$apt/archives}
mkdir -p "$apt/lists/partial" "$debs/partial" "$apt/cache" ||
    err "cannot create '$apt'"
: > "$apt/status"
echo "deb [arch=$arch signed-by=$keyring] $mirror sid main" > "$apt/sources.list"
# The machine's apt.conf.d (a proxy, say) still applies; its sources,
# pinning, lists, cache and dpkg status do not.
set -- -q -o Dir::Etc::SourceList="$apt/sources.list" \
    -o Dir::Etc::SourceParts=/dev/null -o Dir::Etc::Preferences=/dev/null \
    -o Dir::Etc::PreferencesParts=/dev/null -o Dir::State::Lists="$apt/lists" \
    -o Dir::Cache="$apt/cache" -o Dir::Cache::Archives="$debs" \
    -o Dir::State::status="$apt/status" -o APT::Architecture="$arch" \
    -o APT::Sandbox::User=root -o Debug::NoLocking=1

if ! apt-get "$@" update > "$apt/update.log" 2>&1 ||
    grep -q '^[WE]: \(Failed to fetch\|The repository\|Some index files\)' "$apt/update.log" ||
    ! ls "$apt/lists/"*_sid_main_binary-"${arch}"_Packages* > /dev/null 2>&1; then
    why=$(grep -m1 '^[WE]: ' "$apt/update.log" | cut -c4- | cut -c1-160)
    err "cannot read Debian sid's package lists from $mirror: ${why:-apt-get update failed} (log: $apt/update.log)"
fi

# The packages: each interpreter with its headers, and every library they
# depend on, transitively (lib*, not *-dev: sid's C library among them).
want=""
for m in $minors; do
    apt-cache "$@" show --no-all-versions "python$m-minimal" > /dev/null 2>&1 ||
        err "Debian sid has no python$m (asked for: $minors)"
    want="$want python$m-minimal libpython$m-minimal libpython$m-stdlib python$m libpython$m libpython$m-dev python$m-dev"
done
seen=" $want "
todo=$want
while [ -n "$todo" ]; do
    next=""
    for p in $(apt-cache "$@" depends --no-recommends --no-suggests --no-conflicts \
        --no-breaks --no-replaces --no-enhances $todo 2> /dev/null |
        awk '$1 ~ /^\|?(Pre)?Depends:$/ && $2 ~ /^lib/ && $2 !~ /-dev$/ { print $2 }' | sort -u); do
        case "$seen" in *" $p "*) continue ;; esac
        seen="$seen$p "
        next="$next $p"
    done
    todo=$next
done
pkgs=$seen

# name=version of each package: the stamp, and what is downloaded.
pinned=$(apt-cache "$@" show --no-all-versions $pkgs 2> /dev/null |
    awk '/^Package: / { p = $2 } /^Version: / { print p "=" $2 }' | sort)
stamp="minors $minors
$pinned"
if [ -f "$dir/stamp" ] && [ "$(cat "$dir/stamp")" = "$stamp" ] &&
    versions=$(check_all); then
    touch "$dir/stamp"
    write_list
    echo "heapsnap: newest Debian CPython up to date:" $versions "(in $root)" >&2
    exit 0
fi

# Download what the cache lacks (apt-get download names a file
# NAME_VERSION_ARCH.deb, the epoch's ':' as %3a).
missing=""
for pv in $pinned; do
    p=${pv%%=*} v=$(echo "${pv#*=}" | sed 's/:/%3a/')
    ls "$debs/${p}_${v}_"*.deb > /dev/null 2>&1 || missing="$missing $pv"
done
if [ -n "$missing" ]; then
    (cd "$debs" && apt-get "$@" download $missing) > "$apt/download.log" 2>&1 ||
        err "cannot download from $mirror: $(grep -m1 '^E: ' "$apt/download.log" | cut -c4- | cut -c1-160) (log: $apt/download.log)"
fi

# Unpack into a fresh tree, point the interpreters at its C library, and
# swap it in; on any failure the previous tree comes back.
rm -rf "$root.new" "$root.old"
mkdir -p "$root.new"
for pv in $pinned; do
    p=${pv%%=*} v=$(echo "${pv#*=}" | sed 's/:/%3a/')
    dpkg-deb -x "$(ls "$debs/${p}_${v}_"*.deb | head -n1)" "$root.new" ||
        err "cannot unpack $p $v"
done
libdir=usr/lib/$(dpkg-architecture -qDEB_HOST_MULTIARCH 2> /dev/null || gcc -print-multiarch)
loader=$(cd "$root.new" && ls $libdir/ld-linux*.so.* 2> /dev/null | head -n1)
[ -n "$loader" ] || err "no dynamic loader in sid's libc6 ($libdir)"
for m in $minors; do
    patchelf --set-interpreter "$root/$loader" --force-rpath \
        --set-rpath "$root/$libdir" "$root.new/usr/bin/python$m" ||
        err "patchelf failed on python$m"
done
[ ! -d "$root" ] || mv "$root" "$root.old"
mv "$root.new" "$root"
if ! versions=$(check_all); then
    rm -rf "$root"
    [ ! -d "$root.old" ] || mv "$root.old" "$root"
    err "sid's interpreter does not run here ($why); the previous installation is kept"
fi
rm -rf "$root.old"
echo "$stamp" > "$dir/stamp"
write_list
echo "heapsnap: installed Debian sid CPython" $versions "in $root" >&2
