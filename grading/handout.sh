#!/usr/bin/env bash
# `make handout DEST=dir [LAB=lab]`: the student tree. Everything tracked except the
# instructor's material: reference/ solutions, mutants, attacks, hidden tests and their rubric
# lines, the project's own CI and the instructor guide. The top README.md is the students'
# (grading/handout/README.student.md, with the labs listed); the Classroom workflow becomes the
# tree's active workflow, for the one lab given, else for the labs vars.VLAB_LAB names.
set -euo pipefail
cd "$(dirname "$0")/.."
dest=$1
lab=${2-}
case "$dest" in /*) ;; *) dest="$PWD/$dest" ;; esac
if [ -e "$dest" ] && [ -n "$(ls -A "$dest" 2>/dev/null)" ]; then
    echo "handout: $dest exists and is not empty; choose a new directory" >&2
    exit 2
fi
if [ -n "$lab" ] && [ ! -f "grading/rubric/$lab" ]; then
    echo "handout: LAB=$lab: one lab, with a rubric in grading/rubric/" >&2
    exit 2
fi

if git rev-parse --git-dir >/dev/null 2>&1; then
    files=$(git ls-files --cached --others --exclude-standard)
else
    files=$(find . -path ./build -prune -o -type f -print | sed 's|^\./||')
fi
instructor_only='^(reference/|grading/mutants/|grading/attacks/|harness/[^/]+/tests/hidden/|\.ci/|\.github/|docs/instructor-guide\.md$|grading/handout/)'
mkdir -p "$dest"
echo "$files" | grep -Ev "$instructor_only" | while IFS= read -r f; do
    [ -f "$f" ] || continue
    mkdir -p "$dest/$(dirname "$f")"
    cp -p "$f" "$dest/$f"
done

# Hidden tests are not in the tree, so their rubric lines go too.
for r in "$dest"/grading/rubric/*; do
    [ -f "$r" ] || continue
    awk '!($1 == "test" && $4 == "hidden")' "$r" >"$r.tmp" && mv "$r.tmp" "$r"
done

# The students' README: the labs, each with its handout's title.
table="| lab | handout |"$'\n'"|---|---|"
for d in "$dest"/labs/*/; do
    l=$(basename "$d")
    [ -f "$d/README.md" ] || continue
    title=$(sed -n '1s/^# *//p' "$d/README.md")
    table+=$'\n'"| \`$l\` | [$title](labs/$l/README.md) |"
done
awk -v table="$table" '$0 == "@LABS@" { print table; next } { print }' \
    grading/handout/README.student.md >"$dest/README.md"

mkdir -p "$dest/.github/workflows"
grading/classroom/workflow.sh "$lab" >"$dest/.github/workflows/classroom.yml"
echo "handout: student tree written to $dest ($(find "$dest" -type f | wc -l) files)"
