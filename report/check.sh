#!/usr/bin/env bash
# `make test`'s check of `make report` (report/vlab-report.c), on fixed results files in
# report/fixtures/: reference/ is a real `make bench SOL=reference` run, labs/ a student who did
# every lab, wrong/ one who has not done vmm, whose translator is 3x slower on a system call and
# exits on popf, and whose nested paging takes more exits than shadow paging; invalid/ holds one
# schema fault per file.
#   1. the schema: every real and fixture file passes, every invalid one is rejected, and a
#      bench's fresh output (pagewalk's, run in a scratch directory) passes;
#   2. labs/ (its CPU name holds & < > " to escape): the page is well formed (xmllint) and the
#      expected one byte for byte (the same inputs give the same bytes),
#      with one section, chart and verdict per claim, all holding;
#   3. wrong/: the verdicts change where the numbers do.
# `report/check.sh --update` rewrites report/fixtures/expected.html after a deliberate change.
set -eu
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
# VLAB_REPORT_TOOL: a patched copy (grading/mutant.sh report ...); each failure names its tag.
tool=${VLAB_REPORT_TOOL:-$BUILD/report/vlab-report}
fx=report/fixtures
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() {
    echo "FAIL [$1]: ${*:2}"
    exit 1
}
[ -n "${VLAB_REPORT_TOOL:-}" ] || make -s --no-print-directory NO_DEPS=1 "$tool"

echo "== 1. schema"
"$tool" --check $fx/reference/*.json $fx/labs/*.json $fx/wrong/*.json
for f in $fx/invalid/*.json; do
    if "$tool" --check "$f"; then fail schema-invalid "$f passed the schema check"; fi
done
bench=$BUILD/reference/pagewalk/bench-pagewalk
if [ -x "$bench" ]; then
    abs=$(cd "$(dirname "$bench")" && pwd)/bench-pagewalk
    (cd "$tmp" && "$abs" >/dev/null)
    "$tool" --check "$tmp/build/bench/reference/pagewalk.json"
else
    echo "SKIP fresh bench output: $bench not built (make SOL=reference)"
fi

section() { sed -n "/<section id=\"$2\">/,/<\/section>/p" "$1"; }

echo "== 2. a student who did every lab"
"$tool" --student $fx/labs --name labs --reference $fx/reference --out "$tmp/good.html"
"$tool" --student $fx/labs --name labs --reference $fx/reference --out "$tmp/again.html"
cmp "$tmp/good.html" "$tmp/again.html" || fail deterministic "two runs on the same files differ"
if command -v xmllint >/dev/null; then
    xmllint --noout "$tmp/good.html" || fail well-formed "the page is not well formed"
    echo "xmllint: well formed"
else
    echo "SKIP well-formedness: no xmllint (apt-get install libxml2-utils)"
fi
if [ "${1:-}" = --update ]; then cp "$tmp/good.html" $fx/expected.html; fi
if ! cmp -s "$tmp/good.html" $fx/expected.html; then
    diff $fx/expected.html "$tmp/good.html" | head -n 20
    fail expected-page "the page differs from $fx/expected.html (report/check.sh --update if meant)"
fi
grep -q '<script' "$tmp/good.html" && fail standalone "the page has a script"
grep -Eq '(src|href)="https?:' "$tmp/good.html" && fail standalone "the page loads something from the network"
grep -q '@media print' "$tmp/good.html" || fail print "no print CSS"
for id in popf chaining syscall device-io pagewalk shadow launch; do
    s=$(section "$tmp/good.html" $id)
    [ -n "$s" ] || fail sections "no section $id"
    grep -q '<svg' <<<"$s" || fail sections "section $id has no chart"
    grep -q '<td class="n">' <<<"$s" || fail sections "section $id has no numbers"
    grep -q 'Verdict: the claim holds' <<<"$s" || fail good-holds "section $id: the claim does not hold"
    grep -q 'Reference only' <<<"$s" && fail good-holds "section $id: marked reference only"
    grep -q 'slower than the reference' <<<"$s" && fail good-holds "section $id: slower than the reference"
    echo "section $id: numbers, chart, holds"
done
grep -q '<th>architecture</th><td>x86_64</td>' "$tmp/good.html" || fail where "does not say where it ran"

"$tool" --student $fx/reference --name reference --reference $fx/reference --out "$tmp/same.html"
[ "$(grep -c 'Verdict: the claim holds' "$tmp/same.html")" = 7 ] || fail same "SOL=reference: not 7 claims holding"
grep -Eq "(of|than|match) the reference's" "$tmp/same.html" && fail same "SOL=reference compared with itself"
echo "SOL=reference: 7 claims hold, no comparison with itself"

# A picture as a browser draws it, where Debian's chromium is installed (not on every machine).
chrome=$(command -v chromium || command -v chromium-browser || true)
if [ -n "$chrome" ]; then
    timeout 60 "$chrome" --headless --no-sandbox --disable-gpu --window-size=1000,4000 \
        --screenshot="$tmp/report.png" "file://$tmp/good.html" >/dev/null 2>&1 || true
    [ -s "$tmp/report.png" ] || fail screenshot "headless chromium drew no picture of the page"
    echo "chromium: screenshot $(stat -c %s "$tmp/report.png") bytes"
else
    echo "SKIP screenshot: no chromium here (apt-get install chromium)"
fi

echo "== 3. a student with a lab missing and a slower translator"
"$tool" --student $fx/wrong --name wrong --reference $fx/reference --out "$tmp/wrong.html"
section "$tmp/wrong.html" device-io | grep -q 'Reference only: the vmm lab' ||
    fail wrong-vmm-missing "vmm missing, but device-io is not marked reference only"
section "$tmp/wrong.html" launch | grep -q 'Reference only' &&
    fail wrong-vmm-missing "sandbox done, but launch is marked reference only"
section "$tmp/wrong.html" syscall | grep -q 'slower than the reference' ||
    fail wrong-syscall-slower "3x slower round trip, but the verdict does not say so"
section "$tmp/wrong.html" popf | grep -q "at trap-and-emulate's price" ||
    fail wrong-popf-exits "40 flag exits, but the popf verdict does not say so"
section "$tmp/wrong.html" shadow | grep -q 'Verdict: the claim does not hold' ||
    fail wrong-shadow-fails "nested takes more exits than shadow, but the claim holds"
grep -c 'class="verdict' "$tmp/wrong.html" | grep -qx 7 || fail wrong-verdicts "not 7 verdicts"
echo "wrong/: device-io reference only, syscall slower, popf exits, shadow fails"
echo "report checks: all passed"
