#!/usr/bin/env bash
# `make test`'s check of the mutator (grading/mutate/mutator.c) on a small file of its own,
# grading/mutate/fixture/fixture.c: how many mutants of each kind, the ones it must find, the
# ones it must leave alone, and that every mutant compiles under the project's warnings.
set -euo pipefail
cd "$(dirname "$0")/../.."
. grading/lib.sh
BUILD=${BUILD:-build}
mutator=$BUILD/mutate/vlab-mutator
make -s --no-print-directory NO_DEPS=0 "$mutator" # installs libclang-dev when missing
fixture=grading/mutate/fixture/fixture.c
work=$BUILD/mutate/selfcheck
rm -rf "$work" && mkdir -p "$work"
"$mutator" "$fixture" -std=gnu11 >"$work/mutants.tsv"
fail=0
bad() { echo "FAIL: $*"; fail=1; }

# how many of each kind (a change in the mutator that finds more or fewer says so here)
want="bit=6 call=3 const=31 logic=2 rel=4 return=3 shift=2"
got=$(cut -f2 "$work/mutants.tsv" | sort | uniq -c | awk '{ printf "%s%s=%s", (NR > 1 ? " " : ""), $2, $1 }')
[ "$got" = "$want" ] && echo "kinds: $got" || bad "kinds: got '$got', want '$want'"

# found: KEY at LINE
for kl in 'fixture.c:fixture_clamp:rel:<:<=:1 19' 'fixture.c:fixture_clamp:logic:&&:||:1 20' \
    'fixture.c:fixture_page:shift:>>:<<:1 27' 'fixture.c:fixture_flags:bit:~:'"''"':1 35' \
    'fixture.c:fixture_flags:bit:&=:|=:1 35' 'fixture.c:#define-PAGE_SHIFT:const:12:13:1 5' \
    'fixture.c:fixture_page:const:0x1000:0xfff:1 30' 'fixture.c:fixture_clamp:call:bump():-:1 21' \
    'fixture.c:fixture_clamp:return:return:-:2 20'; do
    key=${kl% *} line=${kl##* }
    awk -F'\t' -v k="$key" -v l="$line" '$1 == k && $3 == l { f = 1 } END { exit !f }' \
        "$work/mutants.tsv" || bad "missing: $key at line $line"
done
# left alone: an array's size (line 11), operators of a macro's body (line 6: only its constant),
# `(void)bump;` (line 22, no call), a function's closing return (line 23)
awk -F'\t' '$3 == 11 || $3 == 22 || $3 == 23 || ($3 == 6 && $2 != "const") { print; f = 1 } END { exit f }' \
    "$work/mutants.tsv" || bad "mutants where there must be none (above)"

# each mutant is the fixture with one edit, and compiles under the project's warnings
n=0
while IFS=$'\t' read -r key op line col off len from to repl; do
    n=$((n + 1))
    mutate_apply "$fixture" "$off" "$len" "$repl" >"$work/m$n.c"
    cmp -s "$fixture" "$work/m$n.c" && bad "$key: changes nothing"
    gcc -std=gnu11 -Wall -Wextra -Werror -fsyntax-only "$work/m$n.c" 2>"$work/m$n.log" ||
        bad "$key does not compile: $(head -n 1 "$work/m$n.log")"
done <"$work/mutants.tsv"
echo "$n mutants, each compiles"
# the change is the one the key says: `<` became `<=` on line 19
mutate_apply "$fixture" $(awk -F'\t' '$1 == "fixture.c:fixture_clamp:rel:<:<=:1" { print $5, $6 }' \
    "$work/mutants.tsv") '<=' | sed -n 19p | grep -qF 'if (v <= lo) return lo;' ||
    bad "fixture_clamp's '<' -> '<=' is not applied where it should be"
exit $fail
