#!/usr/bin/env bash
# grading/classroom/workflow.sh LAB: the Classroom workflow (grading/classroom/classroom.yml)
# with the lab set, on stdout; LAB "" leaves it to vars.VLAB_LAB or the submission's files.
set -euo pipefail
here=$(dirname "$0")
lab=${1-}
if [ -z "$lab" ]; then
    cat "$here/classroom.yml"
    exit 0
fi
[[ "$lab" =~ ^[A-Za-z0-9_-]+$ ]] || { echo "workflow: '$lab' is not a lab name" >&2; exit 2; }
out=$(sed "s/^  VLAB_LAB: \"\"\$/  VLAB_LAB: $lab/; s/^name: autograding\$/name: autograding ($lab)/" \
    "$here/classroom.yml")
grep -q "^  VLAB_LAB: $lab\$" <<<"$out" || { echo "workflow: no VLAB_LAB line to set" >&2; exit 1; }
echo "$out"
