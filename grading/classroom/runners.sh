#!/usr/bin/env bash
# grading/classroom/runners.sh CLASSROOM_JSON ENV_FILE: hands classroom.json to GitHub
# Classroom's autograding-grading-reporter as one runner per test. Appends to ENV_FILE (the
# workflow's $GITHUB_ENV) a line <RUNNER>_RESULTS=<base64 JSON> per test, each runner
# {version, status, max_score, tests: [the test]}, and VLAB_RUNNERS=<the runner ids, comma-
# separated> for the reporter's `runners` input.
# Why one per test: the reporter records the sum of the tests' scores (right with one runner),
# but prints each runner's total as (tests passed / tests) x max_score, which is right only when
# a runner's tests weigh the same, i.e. for one test.
set -euo pipefail
[ $# = 2 ] || { echo "usage: $0 CLASSROOM_JSON ENV_FILE" >&2; exit 2; }
command -v jq >/dev/null || { echo "runners: needs jq" >&2; exit 1; }
ids=()
while IFS=$'\t' read -r id payload; do
    echo "${id^^}_RESULTS=$payload" >>"$2"
    ids+=("$id")
done < <(jq -r '.tests[] | [(.name | gsub("[^A-Za-z0-9_]"; "_")),
    ({version: 1, status: .status, max_score: .max_score, tests: [.]} | tojson | @base64)] | @tsv' "$1")
[ ${#ids[@]} -gt 0 ] || { echo "runners: no test in $1" >&2; exit 1; }
(IFS=,; echo "VLAB_RUNNERS=${ids[*]}") >>"$2"
