#!/usr/bin/env bash
# Each handout says what its rubric scores: points per task, the total, and the points of the
# tests it names. Lists every difference.
#   grading/table-check.sh [LAB...]          (default: every lab)
#   HANDOUT=FILE RUBRIC=FILE grading/table-check.sh LAB   (other copies of either)
#   grading/table-check.sh --prove [LAB...]  (then proves the check killable: for each lab, a
#                                            handout with one task's points changed, and a
#                                            rubric with one test's, must each fail it)
# The handout:
# - the table: the first Markdown table in labs/<lab>/README.md whose last column is "points".
#   A row whose first cell starts with a number ("1 The walk", "2. CPU modes", "**3** ...") is
#   that task, its last cell its points; a row whose first cell is empty or "total" is the
#   total. A cell "name N, name N, ..." gives tests' points (name: the test, or the end of its
#   name after a "_");
# - "Tests: `name` N, ..." under a heading that names "Task N": those tests' points;
# - "`glob_*` (P points)": the sum of the tests the glob matches;
# - "Task N, P points" and "Task N (P points)": task N's points.
# The rubric: a "# Task N..." comment starts task N's tests (several blocks may share a number);
# any other comment after a blank line ends it; a block header's "— P points" must be its tests'
# sum; a test outside every task must be worth 0.
set -uo pipefail
cd "$(dirname "$0")/.."
prove=0
if [ "${1:-}" = --prove ]; then
    prove=1
    shift
fi
labs=("$@")
[ ${#labs[@]} -gt 0 ] || labs=($(ls -d harness/*/tests 2>/dev/null | cut -d/ -f2))
bad=0
for lab in "${labs[@]}"; do
    rubric=${RUBRIC:-grading/rubric/$lab}
    handout=${HANDOUT:-labs/$lab/README.md}
    # "T N P": task N is worth P; "S P": total; "E msg": an error
    rub=$(awk -v f="$rubric" '
        function close_block() {
            if (claim != "" && claim + 0 != bsum)
                printf "E %s: the block \"%s\" says %s points, its tests add up to %s\n", f, head, claim, bsum
            claim = ""; bsum = 0
        }
        /^[[:space:]]*$/ { blank = 1; next }
        /^#/ {
            if (match($0, /^#[[:space:]]*Task[[:space:]]+[0-9]+/)) {
                close_block()
                s = substr($0, RSTART, RLENGTH); gsub(/[^0-9]/, "", s); cur = s; head = $0
                if (match($0, /— *[0-9.]+ *points/)) { c = substr($0, RSTART, RLENGTH); gsub(/[^0-9.]/, "", c); claim = c }
            } else if (blank) { close_block(); cur = ""; head = "" }
            blank = 0; next
        }
        { blank = 0 }
        $1 == "test" {
            p = $3 + 0; total += p; bsum += p
            if (cur == "") { if (p != 0) printf "E %s: test %s (%s points) is under no \"# Task N\" header\n", f, $2, $3 }
            else { task[cur] += p; seen[cur] = 1 }
            printf "P %s %s %s\n", cur, $2, $3
        }
        END {
            close_block()
            for (t in seen) printf "T %s %s\n", t, task[t]
            printf "S %s\n", total
        }' "$rubric")
    hand=$(awk -v f="$handout" '
        function trim(s) { gsub(/[*`]/, "", s); gsub(/^[[:space:]]+|[[:space:]]+$/, "", s); return s }
        function tests_line(b,    m, k, item, w) {
            if (match(b, /\.([[:space:]]|$)/)) b = substr(b, 1, RSTART - 1)
            m = split(b, item, ",")
            for (k = 1; k <= m; k++) {
                if (trim(item[k]) !~ /^[a-z0-9_]+ [0-9]+(\.[0-9]+)?$/) continue
                split(trim(item[k]), w, " "); printf "I %s %s %s\n", head_t, w[1], w[2]
            }
        }
        !done && !in_t && /^\|/ {
            n = split($0, c, "|")
            if (tolower(trim(c[n - 1])) == "points") { in_t = 1; next }
        }
        in_t && !/^\|/ { in_t = 0; done = 1 }
        in_t {
            n = split($0, c, "|")
            first = trim(c[2]); pts = trim(c[n - 1])
            if (first ~ /^-+$/ || first ~ /^:?-+:?$/) next
            if (pts !~ /^[0-9]+(\.[0-9]+)?$/) { printf "E %s: the row \"%s\" has no points in its last cell\n", f, $0; next }
            if (first ~ /^[0-9]+/) {
                t = first; sub(/[^0-9].*/, "", t)
                printf "T %s %s\n", t, pts
                for (i = 3; i < n - 1; i++) {
                    cell = trim(c[i]); m = split(cell, item, ",")
                    ok = m > 0
                    for (k = 1; k <= m && ok; k++) ok = trim(item[k]) ~ /^[a-z0-9_]+ [0-9]+(\.[0-9]+)?$/
                    for (k = 1; k <= m && ok; k++) { split(trim(item[k]), w, " "); printf "I %s %s %s\n", t, w[1], w[2] }
                }
            } else if (first == "" || tolower(first) == "total") printf "S %s\n", pts
            else printf "E %s: the row \"%s\" names no task number in its first cell\n", f, $0
        }
        # "Tests: `name` N, `name` N, ..." under a heading that names task N: those tests points
        /^#/ && match($0, /Task [0-9]+/) { head_t = substr($0, RSTART + 5, RLENGTH - 5) }
        collect && /^[[:space:]]*$/ { tests_line(buf); collect = 0 }
        collect { buf = buf " " $0 }
        !collect && head_t != "" && match($0, /Tests:([[:space:]]|$)/) { collect = 1; buf = substr($0, RSTART + 6) }
        # "`walk_*` (20 points)": the tests a glob names are worth that much together
        {
            line = $0
            while (match(line, /`[a-z0-9_*]+` \([0-9.]+ points\)/)) {
                m = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
                g = m; sub(/^`/, "", g); sub(/`.*/, "", g)
                p = m; sub(/.*\(/, "", p); sub(/ points\)$/, "", p)
                printf "G %s %s %d\n", g, p, NR
            }
        }
        # the text may give the points of a task too: "(Task 2, 21 points)", "**Task 1 (13 points):**"
        {
            line = $0
            while (match(line, /Task [0-9]+(, | \()[0-9.]+ points/)) {
                m = substr(line, RSTART, RLENGTH); line = substr(line, RSTART + RLENGTH)
                t = m; sub(/^Task /, "", t); sub(/[^0-9].*/, "", t)
                p = m; sub(/^Task [0-9]+(, | \()/, "", p); sub(/ points$/, "", p)
                printf "X %s %s %d\n", t, p, NR
            }
        }
        END { if (collect) tests_line(buf); if (!done && !in_t) printf "E %s: no grading table (a Markdown table whose last column is \"points\")\n", f }
    ' "$handout")
    errs=$(
        printf '%s\n' "$rub" "$hand" | sed -n 's/^E //p'
        # every task of either side, with both numbers
        join -a1 -a2 -e - -o 0,1.2,2.2 \
            <(printf '%s\n' "$rub" | awk '$1 == "T" { print $2, $3 }' | sort) \
            <(printf '%s\n' "$hand" | awk '$1 == "T" { print $2, $3 }' | sort) |
            awk -v r="$rubric" -v h="$handout" '$2 + 0 != $3 + 0 || $2 == "-" || $3 == "-" {
                printf "task %s: %s says %s points, %s says %s\n", $1, r, $2 == "-" ? "nothing" : $2, h, $3 == "-" ? "nothing" : $3 }'
        rs=$(printf '%s\n' "$rub" | awk '$1 == "S" { print $2 }')
        printf '%s\n' "$hand" | awk -v rs="$rs" -v h="$handout" '$1 == "S" && $2 + 0 != rs + 0 {
            printf "total: %s says %s, the rubric %s\n", h, $2, rs }'
        # a task's points said in the text
        printf '%s\n' "$hand" | awk '$1 == "X"' | while read -r _ t pts line; do
            got=$(printf '%s\n' "$rub" | awk -v t="$t" '$1 == "T" && $2 == t { print $3 }')
            if ! awk -v a="${got:-x}" -v b="$pts" 'BEGIN { exit !(a == b + 0) }'; then
                echo "task $t: $handout:$line says $pts points, $rubric ${got:+says $got}$([ -n "$got" ] || echo has no such task)"
            fi
        done
        # the points of the tests a glob names
        printf '%s\n' "$hand" | awk '$1 == "G"' | while read -r _ glob pts line; do
            got=$(printf '%s\n' "$rub" | awk '$1 == "P" { print $3, $4 }' | while read -r name p; do
                # shellcheck disable=SC2254
                case $name in $glob) echo "$p" ;; esac
            done | awk '{ s += $1 } END { print s + 0 }')
            if ! awk -v a="$got" -v b="$pts" 'BEGIN { exit !(a + 0 == b + 0) }'; then
                echo "$handout:$line says the tests $glob are worth $pts points, $rubric gives them $got"
            fi
        done
        # the points of the tests the table names, found by name or by the end of it
        printf '%s\n' "$hand" | awk '$1 == "I"' | while read -r _ t name pts; do
            got=$(printf '%s\n' "$rub" | awk -v t="$t" -v n="$name" '$1 == "P" && $2 == t &&
                ($3 == n || substr($3, length($3) - length(n)) == "_" n) { print $4 }')
            if [ "$(printf '%s\n' "$got" | grep -c .)" != 1 ]; then
                echo "task $t: $handout names test \"$name\", which is not one test of that task in $rubric"
            elif ! awk -v a="$got" -v b="$pts" 'BEGIN { exit !(a + 0 == b + 0) }'; then
                echo "task $t: $handout gives $name $pts points, $rubric gives it $got"
            fi
        done
    )
    if [ -n "$errs" ]; then
        printf '%s\n' "$errs" | sed "s/^/$lab: /"
        bad=$((bad + $(printf '%s\n' "$errs" | grep -c .)))
    else
        ntasks=$(printf '%s\n' "$hand" | grep -c '^T ')
        nitems=$(printf '%s\n' "$hand" | grep -c '^I ')
        echo "$lab: the handout's points match $rubric ($ntasks tasks in its table, $nitems tests named with points)"
    fi
done
echo "grading tables: $bad differences"
[ $bad = 0 ] || exit 1
[ $prove = 1 ] || exit 0

# The check is killable: a wrong number on either side fails it.
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
survived=0
for lab in "${labs[@]}"; do
    # the first task row of the table, its points one more
    awk '!done && /^\|/ { n = split($0, c, "|"); h = c[n - 1]; gsub(/[*` ]/, "", h)
            if (tolower(h) == "points") t = 1 }
         t && !done && /^\| *\**[0-9]/ { n = split($0, c, "|"); v = c[n - 1]; gsub(/[^0-9]/, "", v)
            sub(/[0-9]+[^0-9|]*\|[[:space:]]*$/, (v + 1) " |"); done = 1 }
         { print }' "labs/$lab/README.md" >"$tmp/README.md"
    # the first test of the rubric, one point more
    awk '!done && $1 == "test" { $3 = $3 + 1; done = 1 } { print }' "grading/rubric/$lab" >"$tmp/rubric"
    for wrong in handout rubric; do
        if [ $wrong = handout ]; then
            HANDOUT=$tmp/README.md RUBRIC='' "$0" "$lab" >"$tmp/out" 2>&1
        else
            RUBRIC=$tmp/rubric HANDOUT='' "$0" "$lab" >"$tmp/out" 2>&1
        fi
        if [ $? = 0 ]; then
            echo "$lab: a $wrong with one number changed passes the check: it proves nothing"
            survived=$((survived + 1))
        else
            echo "$lab: a $wrong with one number changed fails it: $(grep -m1 "^$lab: " "$tmp/out")"
        fi
    done
done
[ $survived = 0 ]
