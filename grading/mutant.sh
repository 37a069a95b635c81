#!/usr/bin/env bash
# Proves one seeded bug is caught: copies reference/<lab>, applies the patch, builds the lab's
# test binary against the copy and grades it with --kills on the tests the patch names.
#   grading/mutant.sh LAB grading/mutants/LAB/NAME.patch
set -euo pipefail
lab=$1 patch=$2
name=$(basename "$patch" .patch)
kills=$(sed -n 's/^Kills:[[:space:]]*//p' "$patch" | head -n 1)
if [ -z "$kills" ]; then
    echo "$patch: no 'Kills: test ...' line: every mutant must name the tests that catch it" >&2
    exit 2
fi
work=${BUILD:-build}/mutants/$lab/$name
rm -rf "$work"
mkdir -p "$work/src"
cp -r "reference/$lab" "$work/src/$lab"
if ! patch -s -p1 -d "$work/src/$lab" < "$patch"; then
    echo "$patch no longer applies to reference/$lab: refresh it" >&2
    exit 2
fi
make -s NO_DEPS=1 LAB="$lab" SOL="$work/src" SOLOUT="$work/build" "$work/build/$lab/test-$lab"
"${BUILD:-build}"/grading/vlab-grade --quiet --build "$work/build" --sol "mutant-$name" \
    --out "$work/grade" --kills "$kills" "$lab"
