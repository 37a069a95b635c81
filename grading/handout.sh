#!/usr/bin/env bash
# `make handout DEST=dir`: the student tree. Everything tracked except the instructor's
# material: reference/ solutions, mutants, attacks, hidden tests and their rubric lines, the project's
# own CI. The classroom workflow template becomes the tree's active workflow.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$1
case "$dest" in /*) ;; *) dest="$PWD/$dest" ;; esac
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
    echo "handout: $dest exists and is not empty; choose a new directory" >&2
    exit 2
fi

if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard)
else
    files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
fi
instructor_only='^(reference/|grading/mutants/|grading/attacks/|harness/[^/]+/tests/hidden/|\.ci/|\.github/|docs/instructor-guide\.md$)'
mkdir -p "$dest"
echo "$files" | grep -Ev "$instructor_only" | while IFS= read -r f; do
    [ -f "$f" ] || continue
    mkdir -p "$dest/$(dirname "$f")"
    cp -p "$f" "$dest/$f"
done

# Hidden tests are not in the tree, so their rubric lines go too.
for r in "$dest"/grading/rubric/*; do
    [ -f "$r" ] || continue
    awk '!($1 == "test" && $4 == "hidden")' "$r" > "$r.tmp" && mv "$r.tmp" "$r"
done

mkdir -p "$dest/.github/workflows"
cp grading/classroom/classroom.yml "$dest/.github/workflows/classroom.yml"
echo "handout: student tree written to $dest ($(find "$dest" -type f | wc -l) files)"
