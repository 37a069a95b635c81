#!/usr/bin/env bash
# `make gradescope LAB=<lab>`: the Gradescope autograder zip of one lab, OUT/<lab>.zip.
#   grading/gradescope/build.sh [--tree DIR] [--out DIR] LAB...
# The zip holds, at its root, the instructor tree (DIR, default this one: its tracked and
# untracked-but-not-ignored files) without reference solutions, mutants, attacks and the
# project's CI, with the hidden tests and the full rubric (their lines included); plus setup.sh
# and run_autograder (from grading/gradescope/), grading/gradescope/lab naming the lab, and
# .vlab-version (the tree's commit), which the graded output quotes.
set -euo pipefail
umask 022
here=$(cd "$(dirname "$0")/../.." && pwd)
tree=$here out=$here/build/gradescope
labs=()
while [ $# -gt 0 ]; do
    case "$1" in
    --tree) tree=$(cd "$2" && pwd); shift 2 ;;
    --out) out=$2; shift 2 ;;
    -*) echo "usage: $0 [--tree DIR] [--out DIR] LAB..." >&2; exit 2 ;;
    *) labs+=("$1"); shift ;;
    esac
done
[ ${#labs[@]} -gt 0 ] || { echo "usage: $0 [--tree DIR] [--out DIR] LAB..." >&2; exit 2; }
command -v zip >/dev/null || { echo "gradescope: needs zip (apt-get install zip)" >&2; exit 1; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
instructor_only='^(reference/|grading/mutants/|grading/attacks/|\.ci/|\.github/|build/)'

cd "$tree"
if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard)
    version=$(git rev-parse --short=12 HEAD)
    [ -z "$(git status --porcelain 2>/dev/null)" ] || version="$version + uncommitted changes"
else
    files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
    version="not a git checkout"
fi
for lab in "${labs[@]}"; do
    [ -f "grading/rubric/$lab" ] && [ -d "labs/$lab" ] || {
        echo "gradescope: no lab '$lab' in $tree" >&2
        exit 2
    }
    stage=$(mktemp -d)
    echo "$files" | grep -Ev "$instructor_only" | while IFS= read -r f; do
        if [ -f "$f" ] || [ -L "$f" ]; then printf '%s\0' "$f"; fi
    done | tar --null -T - -cf - | tar -C "$stage" -xf -
    cp "$here/grading/gradescope/setup.sh" "$here/grading/gradescope/run_autograder" "$stage/"
    chmod 755 "$stage/setup.sh" "$stage/run_autograder"
    mkdir -p "$stage/grading/gradescope"
    echo "$lab" >"$stage/grading/gradescope/lab"
    echo "vlab $version, $lab autograder built $(date -u +%Y-%m-%dT%H:%M:%SZ)" >"$stage/.vlab-version"
    hidden=$(grep -cE '^test +[^ ]+ +[0-9.]+ +(hidden|after_due_date|after_published)' \
        "$stage/grading/rubric/$lab" || true)
    rm -f "$out/$lab.zip"
    (cd "$stage" && zip -qr -X "$out/$lab.zip" .)
    rm -rf "$stage"
    echo "gradescope: $out/$lab.zip ($lab; $hidden test(s) not visible to students at first;" \
        "upload it on the assignment's Configure Autograder page, base image Ubuntu 22.04)"
done
