#!/usr/bin/env bash
# tests/fresh-machine.sh — prove that the README's two commands work the
# first time on a fresh machine of the kind the project runs on.
#
#   tests/fresh-machine.sh [--keep] [--rebuild] [DIR]     (as root)
#
# It builds, once, a "machine image" in DIR/machine (default DIR is
# /var/tmp/heapsnap-fresh): `debootstrap --variant=minbase bookworm`, plus
# what a new machine of this kind ships and nothing else — gcc g++ make gdb
# python3 git ca-certificates from Debian (without their Recommends: gdb's
# would bring libc6-dbg, which the Makefile must install itself), the
# certificate authorities the machine adds (/usr/local/share/ca-certificates,
# and NODE_EXTRA_CA_CERTS, SSL_CERT_FILE, SSL_CERT_DIR as it sets them),
# its Node.js 20 and npm (copied from this host's /usr/bin/node and
# /usr/lib/node_modules/npm), and Go 1.26.8 at /usr/local/go, first on PATH
# (copied from this host's).
# Package lists are dropped, as on a new machine, so the Makefile's own
# `apt-get update` is needed.  Then, for every run, it copies that image to
# DIR/root, clones the repository's HEAD commit into /root/heapsnap there,
# and runs, as root in a chroot with /proc, /dev and /sys mounted:
#
#   make demo
#   make test
#
# Logs go to DIR/demo.log and DIR/test.log; the last lines printed say what
# each command did, and the exit status is 0 only if both succeeded and make
# test ended with "N passed, 0 failed, N skipped".  It is not part of make
# test: the image is a few hundred MB from Debian's mirror, and the run
# builds and tests everything from nothing.  --rebuild makes the image
# again; --keep keeps DIR/root after a successful run (it is always kept
# after a failure, for a look inside).
#
# The host is kept out of harm's way: everything that mounts runs in a
# private mount namespace and a new pid namespace (unshare), so no mount
# can leak out and no process outlives the run, and the mounts are taken
# down on exit whatever happens.  /sys is mounted read-only.  Nothing is
# removed while anything is mounted under DIR.  The chroot shares the
# host's network: the Makefile needs Debian's mirror.
set -eu

MIRROR=${MIRROR:-http://deb.debian.org/debian}
SECURITY=${SECURITY:-http://deb.debian.org/debian-security}
HOST_GO=${HOST_GO:-/usr/local/go}
MACHINE_DEBS="gcc g++ make gdb python3 git ca-certificates"
# The environment of a root login on the new machine: Go first on PATH, and
# the machine's own word on which certificate authorities to trust (its
# network reaches the registries through a TLS proxy whose CA it trusts:
# Node.js and others are told where the bundle is).
CHROOT_ENV="HOME=/root LANG=C.UTF-8 TERM=dumb USER=root LOGNAME=root SHELL=/bin/bash
PATH=/usr/local/go/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
for v in NODE_EXTRA_CA_CERTS SSL_CERT_FILE SSL_CERT_DIR; do
    [ -n "${!v:-}" ] && CHROOT_ENV="$CHROOT_ENV $v=${!v}"
done

say() { echo "fresh-machine: $*"; }
die() { echo "fresh-machine: $*" >&2; exit 1; }

# --- inside the namespaces: mount, chroot, run, unmount -----------------
# "$0" --in-chroot ROOT CMD runs CMD (a shell command line) in ROOT, as pid 1
# of its own pid namespace, with its own mounts.
if [ "${1:-}" = --in-chroot ]; then
    root=$2 cmd=$3
    unmount_all() {
        for m in "$root/sys" "$root/dev" "$root/proc"; do
            if mountpoint -q "$m"; then umount -R "$m" || umount -R -l "$m"; fi
        done
    }
    trap unmount_all EXIT
    trap 'exit 130' INT TERM
    # The namespace was made private by unshare; say so again, so that even a
    # shared /dev could not carry our mounts back to the host.
    mount --make-rprivate /
    mount -t proc proc "$root/proc"
    mount -t sysfs -o ro sysfs "$root/sys"
    mount --rbind /dev "$root/dev"
    mount --make-rslave "$root/dev"
    cp /etc/resolv.conf "$root/etc/resolv.conf"
    rc=0
    # shellcheck disable=SC2086  # CHROOT_ENV is a list of words
    chroot "$root" /usr/bin/env -i $CHROOT_ENV /bin/bash -c "$cmd" || rc=$?
    exit $rc
fi

# --- outside -------------------------------------------------------------
keep=0 rebuild=0
while [ $# -gt 0 ]; do
    case $1 in
    --keep) keep=1 ;;
    --rebuild) rebuild=1 ;;
    -h|--help) sed -n '2,/^set -eu/p' "$0" | sed -e '$d' -e 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "usage: $0 [--keep] [--rebuild] [DIR]" >&2; exit 2 ;;
    *) break ;;
    esac
    shift
done
[ $# -le 1 ] || { echo "usage: $0 [--keep] [--rebuild] [DIR]" >&2; exit 2; }
[ "$(id -u)" = 0 ] || die "must run as root (debootstrap, chroot and mounts need it)"
for t in debootstrap unshare chroot mountpoint git; do
    command -v $t >/dev/null || die "needs $t"
done
[ -x "$HOST_GO/bin/go" ] || die "$HOST_GO/bin/go: no Go to copy into the machine"

SRC=$(cd "$(dirname "$0")/.." && pwd)
DIR=${1:-/var/tmp/heapsnap-fresh}
mkdir -p "$DIR"
DIR=$(cd "$DIR" && pwd)
case $DIR in /|/usr|/usr/*|/etc|/etc/*|/bin|/sbin|/lib*|/boot|/dev|/proc|/sys) die "$DIR: not a place for a scratch machine" ;; esac
SELF=$(cd "$(dirname "$0")" && pwd)/$(basename "$0")

# in_chroot ROOT CMD: CMD in ROOT, in private namespaces (see --in-chroot).
in_chroot() {
    unshare --mount --pid --fork --propagation private -- bash "$SELF" --in-chroot "$1" "$2"
}

# remove TREE: rm -rf, but only when nothing is mounted under TREE, and
# never across into another file system.
remove() {
    [ -e "$1" ] || return 0
    if awk -v t="$1" '$5 == t || index($5, t "/") == 1 { found = 1 } END { exit !found }' /proc/self/mountinfo; then
        die "$1: something is still mounted under it; not removing it"
    fi
    rm -rf --one-file-system "$1"
}

commit=$(git -C "$SRC" rev-parse HEAD)
if [ -n "$(git -C "$SRC" status --porcelain --untracked-files=no)" ]; then
    say "note: $SRC has uncommitted changes; this tests commit $commit, not them"
fi

# The machine image, once.
if [ $rebuild = 1 ] || [ ! -f "$DIR/machine/.heapsnap-machine" ]; then
    remove "$DIR/machine"
    say "debootstrap --variant=minbase bookworm into $DIR/machine"
    debootstrap --variant=minbase --keyring=/usr/share/keyrings/debian-archive-keyring.gpg \
        bookworm "$DIR/machine" "$MIRROR" >"$DIR/debootstrap.log" 2>&1 ||
        die "debootstrap failed; see $DIR/debootstrap.log"
    cat >"$DIR/machine/etc/apt/sources.list" <<EOF
deb $MIRROR bookworm main
deb $MIRROR bookworm-updates main
deb $SECURITY bookworm-security main
EOF
    say "adding what the machine ships: $MACHINE_DEBS, Go from $HOST_GO"
    in_chroot "$DIR/machine" "apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
        apt-get install -y -qq --no-install-recommends $MACHINE_DEBS && apt-get clean &&
        rm -rf /var/lib/apt/lists/*" >"$DIR/machine.log" 2>&1 ||
        die "installing the machine's packages failed; see $DIR/machine.log"
    cp -a "$HOST_GO" "$DIR/machine/usr/local/go"
    echo 'export PATH=/usr/local/go/bin:$PATH' >"$DIR/machine/etc/profile.d/go.sh"
    touch "$DIR/machine/.heapsnap-machine"
fi

# A fresh root from the image, and the repository as a user would clone it.
remove "$DIR/root"
say "copying the machine image to $DIR/root"
cp -a "$DIR/machine" "$DIR/root"
# Node.js and npm as this machine kind ships them (not Debian's: its nodejs
# 18 is older than the browser tests' playwright-core accepts), copied from
# the host for each run, as Go is into the image.
if [ -x /usr/bin/node ] && [ -d /usr/lib/node_modules/npm ]; then
    cp -a /usr/bin/node "$DIR/root/usr/bin/node"
    mkdir -p "$DIR/root/usr/lib/node_modules"
    cp -a /usr/lib/node_modules/npm "$DIR/root/usr/lib/node_modules/npm"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$DIR/root/usr/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$DIR/root/usr/bin/npx"
    [ -f /root/.npmrc ] && grep -v -i 'token\|auth' /root/.npmrc >"$DIR/root/root/.npmrc"
fi
# The certificate authorities this machine kind adds to Debian's (the TLS
# proxy's CA is made when the machine boots, so it is copied for each run,
# not kept in the image).
if ls /usr/local/share/ca-certificates/*.crt >/dev/null 2>&1; then
    cp /usr/local/share/ca-certificates/*.crt "$DIR/root/usr/local/share/ca-certificates/"
    in_chroot "$DIR/root" 'update-ca-certificates >/dev/null 2>&1' || die "update-ca-certificates failed in the machine"
fi
git clone -q --no-checkout "$(git -C "$SRC" rev-parse --path-format=absolute --git-common-dir)" \
    "$DIR/root/root/heapsnap"
git -C "$DIR/root/root/heapsnap" checkout -q --detach "$commit"
say "machine: $(in_chroot "$DIR/root" 'echo "$(go version), $(gcc --version | head -1), go first on PATH: $(command -v go)"')"
say "testing commit $commit"

demo_rc=0 test_rc=0
say "make demo (log: $DIR/demo.log)"
in_chroot "$DIR/root" 'cd /root/heapsnap && make demo' >"$DIR/demo.log" 2>&1 || demo_rc=$?
say "make test (log: $DIR/test.log)"
in_chroot "$DIR/root" 'cd /root/heapsnap && make test' >"$DIR/test.log" 2>&1 || test_rc=$?

summary=$(grep -E '^[0-9]+ passed, [0-9]+ failed, [0-9]+ skipped$' "$DIR/test.log" | tail -1 || true)
say "make demo: exit $demo_rc"
say "make test: exit $test_rc: ${summary:-no summary line}"
if [ $demo_rc = 0 ] && [ $test_rc = 0 ] && echo "$summary" | grep -q ' 0 failed,'; then
    say "ok: the README's two commands work the first time on a fresh machine"
    [ $keep = 1 ] || remove "$DIR/root"
    exit 0
fi
grep -E '^(not ok|make: \*\*\*)' "$DIR/demo.log" "$DIR/test.log" | head -20 || true
say "FAILED; $DIR/root is kept for a look inside"
exit 1
