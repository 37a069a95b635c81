#!/usr/bin/env bash
# Grades the sandbox lab as an ordinary user (issue 12 item 4): the tests run rootless, the
# container in a user namespace of that user, as bubblewrap and rootless podman run (handout
# §1.5, §2.8). Run as root: it drops to USER (default nobody) with setpriv, grades BUILD/SOL's
# test-sandbox with a private TMPDIR, and fails unless every test passed or was skipped with its
# reason and at least MIN tests passed (the cgroup tests skip without a delegated v2 subtree).
#   harness/sandbox/grade-rootless.sh [SOL] [MIN]      SOL: reference (default) or labs
set -euo pipefail
cd "$(dirname "$0")/../.."
sol=${1:-reference} min=${2:-30} user=${VLAB_ROOTLESS_USER:-nobody}
build=${BUILD:-build}
[ "$(id -u)" = 0 ] || { echo "grade-rootless: run as root (it drops to $user)" >&2; exit 2; }
uid=$(id -u "$user") gid=$(id -g "$user")
tmp=$(mktemp -d /tmp/vlab-rootless.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
chown "$uid:$gid" "$tmp"
out=$(setpriv --reuid="$uid" --regid="$gid" --clear-groups env -i PATH="$PATH" TMPDIR="$tmp" \
    HOME="$tmp" "$build/grading/vlab-grade" --build "$build/$sol" --out "$tmp/grade" \
    --sol "$sol-rootless" --expect full sandbox 2>&1) || { echo "$out"; exit 1; }
echo "$out" | tail -n 3
passed=$(echo "$out" | sed -n 's/^\([0-9]*\) passed.*/\1/p' | tail -n 1)
if [ "${passed:-0}" -lt "$min" ]; then
    echo "grade-rootless: only ${passed:-0} tests passed as $user, expected at least $min" >&2
    exit 1
fi
