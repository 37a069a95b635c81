#!/usr/bin/env bash
# Automatic mutation analysis (`make mutate`): every small bug of the kinds grading/mutate/
# mutator.c finds with libclang, applied one at a time to the reference (or core, or the grader),
# built, and graded on the whole rubric (or the whole unit / self-test suite); a mutant the tests
# do not catch is a survivor. Writes $BUILD/mutate/PART.md (survivors, score per file) and
# $BUILD/mutate/PART.tsv (every mutant run and its outcome).
#   grading/mutate.sh PART        PART: a lab, core or grader
# Environment (the Makefile sets them):
#   MUTATOR        the built grading/mutate/mutator.c
#   MUTATE_CFLAGS  what clang needs to parse PART's files (includes, pkg-config cflags)
#   MUTATE_MAX     run at most this many mutants (default 100; 0: all). When there are more, the
#                  sample is the MUTATE_MAX with the smallest cksum of "SEED:KEY": the same for
#                  the same seed and source, and a mutant stays in it while others come and go
#   MUTATE_SEED    the seed (default 1)
#   MUTATE_JOBS    mutants at once (default 2; the grader's: 1)
#   MUTATE_TIMEOUT seconds one mutant's grading may take (default: 3x the original's, +30);
#                  past it the mutant counts as killed, as a grade with a timeout would be
#   MUTATE_BUDGET  seconds: no mutant is started after this long (default 0: no bound); the
#                  report covers those that ran. Ctrl-C does the same at once.
#   MUTATE_RESUME  1: keep the mutants of the last run of this PART that have an outcome (by
#                  key) and run only the others, e.g. after a budget or Ctrl-C cut a run short
#   MUTATE_SANITIZE 1 (the grader's default; 0 for the others, the only choice there): each
#                  mutant grader is built with ASan+UBSan (LeakSanitizer too) and a sanitizer
#                  report from it kills the mutant, as in `make test-sanitize`: a leak or an
#                  overflow no self-test's verdict shows is still a bug
#   MUTATE_VM      1: the survivors graded again inside the QEMU test VM (real /dev/kvm, cgroup
#                  v2; the lab's VM_GRADE tests), one boot for all, after the reference scores
#                  full marks there; those that fail there count as killed (grading/mutate/vm.sh)
#   VM_SPEC        the lab's VM_GRADE entry, LAB or LAB:GLOB (the Makefile sets it)
#   MUTATE_PATCHES DIR: instead of libclang's mutants, the bugs in DIR/PART/*.patch (or DIR/*.patch
#                  when there is no DIR/PART), each a unified diff whose first line is "Bug: what
#                  is wrong" (paths a/FILE.c as in reference/LAB, a/src/FILE.c for core and the
#                  grader): bugs written by people who never saw the tests, graded the same way.
#                  Report in $BUILD/mutate/PART-bugs.md; equivalents and MUTATE_MAX do not apply
# grading/mutate/equivalent/PART.txt lists mutants (by KEY) that cannot be told from the
# original, each with the reason; they are not run and not in the score.
set -euo pipefail
# The whole script is one { ... } block: bash reads a script as it runs it, so an edit to this
# file during a run (a run takes up to hours) would run the rest of the new text from the old
# offset; a block is parsed whole before any of it runs.
{
cd "$(dirname "$0")/.."
. grading/lib.sh
part=${1:?usage: grading/mutate.sh LAB|core|grader}
BUILD=${BUILD:-build}
MUTATOR=${MUTATOR:-$BUILD/mutate/vlab-mutator}
MAX=${MUTATE_MAX:-100}
SEED=${MUTATE_SEED:-1}
# The grader's self-tests share one test uid (nothing_survives counts its processes, and a grader
# waits for another that uses it): two runs at once fail each other, so one at a time.
JOBS=${MUTATE_JOBS:-$([ "$part" = grader ] && echo 1 || echo 2)}
read -r -a cflags <<<"${MUTATE_CFLAGS:-}"
PATCHES=${MUTATE_PATCHES:-}
name=$part
if [ -n "$PATCHES" ]; then
    [ -d "$PATCHES/$part" ] && PATCHES=$PATCHES/$part
    PATCHES=$(realpath "$PATCHES")
    name=$part-bugs MAX=0
fi
out=$BUILD/mutate/$name
report=$BUILD/mutate/$name.md
equiv=grading/mutate/equivalent/$part.txt
# Test uids of their own per job slot (the lab grader's default is 64999, the self-tests'
# 64998): two graders on one uid take turns, and would kill each other's leftovers. Each lab's
# slots start at a base of its own (10 apart), so runs of two labs at once never wait on each
# other; two runs of one lab (two checkouts) would: MUTATE_UID_BASE=N moves this run's slots to
# N, N+1, ...
case $part in
pagewalk) lab_base=64900 ;; dbt) lab_base=64910 ;; shadow) lab_base=64920 ;;
vmm) lab_base=64930 ;; sandbox) lab_base=64940 ;; *) lab_base=64970 ;;
esac
LAB_UID_BASE=${MUTATE_UID_BASE:-$lab_base} SELFTEST_UID_BASE=64960
SANITIZE=${MUTATE_SANITIZE:-$([ "$part" = grader ] && echo 1 || echo 0)}
[ "$part" = grader ] || SANITIZE=0

# srcdir: the files mutated; patchdir: where a bug's diff applies with -p1 (in the mutant's copy)
case $part in
core) srcdir=core/src patchdir=core bugtop=core ;;
grader) srcdir=grading/src patchdir=grading bugtop=grading ;;
*)
    [ -d "reference/$part" ] || { echo "mutate: no lab $part (reference/$part)" >&2; exit 2; }
    srcdir=reference/$part patchdir=$part bugtop=reference/$part
    ;;
esac
started=$(date +%s)
BUDGET=${MUTATE_BUDGET:-0}
if [ "${MUTATE_RESUME:-0}" = 1 ]; then rm -f "$out"/*.tsv; else rm -rf "$out"; fi
mkdir -p "$out/m"

# ---- the mutants: PATH KEY OP LINE COL OFFSET LENGTH FROM TO REPLACEMENT, tab-separated. A
# written bug: the file it patches first, its name, "bug", its first hunk's line, FROM its Bug:
# line, TO "-" (no field may be empty: read collapses tabs), REPLACEMENT the patch file.
if [ -n "$PATCHES" ]; then
    for f in "$PATCHES"/*.patch; do
        [ -e "$f" ] || { echo "mutate: no *.patch in $PATCHES" >&2; exit 2; }
        target=$(sed -n 's|^+++ b/\([^[:space:]]*\).*|\1|p' "$f" | head -n 1)
        [ -n "$target" ] || { echo "mutate: $f: no '+++ b/FILE' line" >&2; exit 2; }
        line=$(sed -n 's/^@@ -\([0-9]*\).*/\1/p' "$f" | head -n 1)
        bug=$(sed -n '/^--- /q; s/^Bug: *//p' "$f" | head -n 1 | tr '\t' ' ')
        printf '%s\t%s\tbug\t%s\t0\t0\t0\t%s\t-\t%s\n' "$bugtop/$target" \
            "$(basename "$f" .patch)" "${line:-0}" "${bug:-(no Bug: line)}" "$f"
    done
else
    for f in "$srcdir"/*.c; do
        "$MUTATOR" "$f" "${cflags[@]}" | sed "s|^|$f\t|" # prefixes a path: not a look at C source
    done
fi >"$out/all.tsv"
generated=$(wc -l <"$out/all.tsv")

# ---- known equivalents: KEY REASON per line; a key no longer generated is stale (said, not run)
declare -A is_equiv=()
if [ -f "$equiv" ] && [ -z "$PATCHES" ]; then
    while read -r key reason; do
        case $key in '' | '#'*) continue ;; esac
        [ -n "$reason" ] || { echo "mutate: $equiv: $key has no reason" >&2; exit 2; }
        is_equiv[$key]=1
    done <"$equiv"
fi
declare -A generated_keys=()
while IFS=$'\t' read -r _ key _; do generated_keys[$key]=1; done <"$out/all.tsv"
stale=()
for key in "${!is_equiv[@]}"; do [ -n "${generated_keys[$key]:-}" ] || stale+=("$key"); done

# ---- the sample: the MAX non-equivalent mutants with the smallest cksum of SEED:KEY; that
# cksum is also the mutant's id (its directory m/ID) and the first column from here on
while IFS= read -r line; do
    key=$(cut -f2 <<<"$line")
    [ -z "${is_equiv[$key]:-}" ] || continue
    printf '%s\t%s\n' "$(printf '%s:%s' "$SEED" "$key" | cksum | cut -d' ' -f1)" "$line"
done <"$out/all.tsv" | sort -n -k1,1 >"$out/candidates.tsv"
candidates=$(wc -l <"$out/candidates.tsv")
if [ "$MAX" -gt 0 ]; then head -n "$MAX" "$out/candidates.tsv" >"$out/sample.tsv"; else
    cp "$out/candidates.tsv" "$out/sample.tsv"; fi
sampled=$(wc -l <"$out/sample.tsv")
echo "mutate $part: $generated mutants, ${#is_equiv[@]} known equivalent, running $sampled" \
    "(MUTATE_MAX=$MAX, MUTATE_SEED=$SEED, $JOBS at once)"

# ---- the sanitized grader (MUTATE_SANITIZE=1): its objects are what each mutant's build starts
# from, as the plain build's are otherwise; the self-tests and their hostile labs stay plain
# (grading/sanitize.sh says why). san_env DIR CMD...: CMD with the sanitizers' reports in DIR.
grader_obj=$BUILD/grading/obj grader_bin=$BUILD/grading/vlab-grade
san_flags=()
if [ "$SANITIZE" = 1 ]; then
    SAN="-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer"
    san_flags=(OPT="-O2 -g" EXTRA_CFLAGS="$SAN" EXTRA_LDFLAGS="$SAN")
    make -s NO_DEPS=1 BUILD="$out/san" "${san_flags[@]}" "$out/san/grading/vlab-grade" \
        >"$out/san-build.log" 2>&1 ||
        { echo "mutate $part: the sanitized grader did not build ($out/san-build.log)" >&2; exit 1; }
    grader_obj=$out/san/grading/obj grader_bin=$out/san/grading/vlab-grade
fi
san_env() {
    local d=$1
    shift
    if [ "$SANITIZE" != 1 ]; then "$@"; return; fi
    mkdir -p "$d" && chmod 1777 "$d" # self-tests that run the grader as another user write too
    d=$(realpath "$d")
    ASAN_OPTIONS="detect_leaks=1:halt_on_error=1:abort_on_error=0:log_exe_name=1:malloc_context_size=20:log_path=$d/asan" \
        UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1:log_path=$d/ubsan" \
        LSAN_OPTIONS="log_exe_name=1:log_path=$d/lsan:suppressions=$PWD/grading/sanitize.supp" "$@"
}
# san_reports DIR: the reports in DIR (ASan's stack-switch warnings are notes, not reports)
san_reports() {
    [ -d "$1" ] && grep -lE 'ERROR: (Address|Leak|Undefined)Sanitizer|runtime error:' -r "$1"
}

# ---- the original must pass what each mutant is held to; its time bounds theirs
t0=$(date +%s%N)
case $part in
core) "$BUILD/core/test-core" --jobs 1 >"$out/original.log" 2>&1 ;;
grader)
    VLAB_SELFTEST_UID=$SELFTEST_UID_BASE VLAB_GRADE_BIN=$grader_bin \
        san_env "$out/original-reports" "$BUILD/grading/test-grader" >"$out/original.log" 2>&1
    ;;
*)
    VLAB_GRADE_UID=$LAB_UID_BASE "$BUILD/grading/vlab-grade" --quiet --build "$BUILD/reference" \
        --sol reference --out "$out/original" --expect full "$part" >"$out/original.log" 2>&1
    ;;
esac || { [ "$part" = core ] || [ "$part" = grader ] && {
    # their tests share the machine with whatever else runs: a second try before giving up
    echo "mutate $part: the original failed once; again (log: $out/original.log)"
    cp "$out/original.log" "$out/original-1.log"
    case $part in
    core) "$BUILD/core/test-core" --jobs 1 >"$out/original.log" 2>&1 ;;
    grader)
        rm -rf "$out/original-reports"
        VLAB_SELFTEST_UID=$SELFTEST_UID_BASE VLAB_GRADE_BIN=$grader_bin \
            san_env "$out/original-reports" "$BUILD/grading/test-grader" >"$out/original.log" 2>&1
        ;;
    esac
}; } || {
    echo "mutate $part: the original does not pass (log: $out/original.log)" >&2
    exit 1
}
if san_reports "$out/original-reports" >/dev/null; then
    echo "mutate $part: the sanitized original has sanitizer reports: $(san_reports "$out/original-reports" | tr '\n' ' ')" >&2
    exit 1
fi
orig_s=$((($(date +%s%N) - t0) / 1000000000 + 1))
TIMEOUT=${MUTATE_TIMEOUT:-$((3 * orig_s + 30))}
echo "mutate $part: the original passes in ${orig_s}s; each mutant gets ${TIMEOUT}s"

# apply_mutant DEST (in run_one, its copy made): DEST, the copy of the mutated file, rewritten;
# a written bug is patched into the copy (it may touch other files too)
apply_mutant() {
    if [ "$op" = bug ]; then
        patch -s -p1 --fuzz=0 -d "$w/src/$patchdir" <"$repl" >"$w/patch.log" 2>&1
    else
        mutate_apply "$path" "$off" "$len" "$repl" >"$1"
    fi
}

# run_one N SLOT: builds and tests mutant N of the sample; writes its outcome to m/N/outcome:
# killed, timeout (killed by the time bound), survived, stillborn (does not compile) or error.
run_one() {
    local n=$1 slot=$2 id w path key op line col off len from to repl rel rc
    IFS=$'\t' read -r id path key op line col off len from to repl < <(sed -n "${n}p" "$out/sample.tsv")
    w=$out/m/$id
    rm -rf "$w"
    mkdir -p "$w/src"
    rel=${path#"$srcdir"/}
    case $part in
    core | grader)
        # core's tests and headers come along (CORE_DIR); the grader is its sources alone
        local top=$srcdir
        [ "$part" = grader ] || top=core
        mkdir -p "$w/src/$(dirname "$top")"
        cp -rp "$top" "$w/src/$top"
        apply_mutant "$w/src/$srcdir/$rel" || { echo stillborn >"$w/outcome"; return; }
        if [ "$part" = core ]; then
            reuse_objects "$BUILD/core/obj" "$w/build/core/obj"
            reuse_objects "$BUILD/core/tests" "$w/build/core/tests"
            reuse_objects "$BUILD/core/guests" "$w/build/core/guests"
            make -s NO_DEPS=1 CORE_DIR="$w/src/core" BUILD="$w/build" "$w/build/core/test-core" \
                >"$w/build.log" 2>&1 || { echo stillborn >"$w/outcome"; return; }
            timeout -k 5 "$TIMEOUT" "$w/build/core/test-core" --jobs 1 >"$w/test.log" 2>&1
            rc=$?
        else
            reuse_objects "$grader_obj" "$w/build/grading/obj"
            make -s NO_DEPS=1 GRADER_DIR="$w/src/grading/src" BUILD="$w/build" "${san_flags[@]}" \
                "$w/build/grading/vlab-grade" >"$w/build.log" 2>&1 ||
                { echo stillborn >"$w/outcome"; return; }
            # A mutant may drop one of the grader's fences: the limits set here still bind the
            # hostile self-tests (the fork bomb, the memory hog) once they run as the test uid.
            local uid=$((SELFTEST_UID_BASE + slot))
            VLAB_GRADE_BIN="$w/build/grading/vlab-grade" VLAB_SELFTEST_BUILD="$BUILD/selftest" \
                VLAB_SELFTEST_UID=$uid san_env "$w/reports" timeout -k 5 "$TIMEOUT" \
                prlimit --nproc=1024 --fsize=$((512 << 20)) -- "$BUILD/grading/test-grader" \
                >"$w/test.log" 2>&1
            rc=$?
        fi
        ;;
    *)
        cp -rp "reference/$part" "$w/src/$part"
        apply_mutant "$w/src/$part/$rel" || { echo stillborn >"$w/outcome"; return; }
        # the harness's and the unmutated files' objects are the reference's (times kept):
        # only the mutated file is compiled, then the link
        reuse_harness_build "$BUILD/reference" "$w/build" "$part"
        reuse_objects "$BUILD/reference/$part/obj/sol" "$w/build/$part/obj/sol"
        make -s NO_DEPS=1 LAB="$part" SOL="$w/src" SOLOUT="$w/build" \
            "$w/build/$part/test-$part" >"$w/build.log" 2>&1 ||
            { echo stillborn >"$w/outcome"; return; }
        VLAB_GRADE_UID=$((LAB_UID_BASE + slot)) timeout -k 10 "$TIMEOUT" \
            "$BUILD/grading/vlab-grade" --quiet --build "$w/build" --sol "mutant-$n" \
            --out "$w/grade" --expect full "$part" >"$w/test.log" 2>&1
        rc=$?
        ;;
    esac
    # core's and the grader's tests share the machine (/dev/kvm, /tmp, pids): a mutant they
    # failed on is tried again on just the failed tests, and one that then passes is "flaky"
    # (not in the score) rather than killed
    # A sanitizer report is the mutant's own bug, whatever the verdicts: killed, no retry
    if [ "$part" = grader ] && san_reports "$w/reports" >/dev/null; then rc=sanitizer; fi
    if [ "$rc" != sanitizer ] && { [ "$part" = core ] || [ "$part" = grader ]; } &&
        [ $rc != 0 ] && [ $rc != 124 ] && [ $rc != 137 ]; then
        local failed
        failed=$(grep -o '^\[FAIL\] [A-Za-z_0-9]*::[A-Za-z_0-9]*' "$w/test.log" | cut -d' ' -f2 |
            sed 's|::|/|' | sort -u | tr '\n' '|' | sed 's/|$//')
        if [ -n "$failed" ]; then
            local filter
            filter="${failed%%/*}/@($(tr '|' '\n' <<<"$failed" | cut -d/ -f2 | paste -sd'|'))"
            if [ "$part" = core ]; then
                timeout -k 5 "$TIMEOUT" "$w/build/core/test-core" --jobs 1 --filter "$filter" \
                    >"$w/retry.log" 2>&1
            else
                rm -rf "$w/retry-reports"
                VLAB_GRADE_BIN="$w/build/grading/vlab-grade" VLAB_SELFTEST_BUILD="$BUILD/selftest" \
                    VLAB_SELFTEST_UID=$((SELFTEST_UID_BASE + slot)) \
                    san_env "$w/retry-reports" timeout -k 5 "$TIMEOUT" \
                    prlimit --nproc=1024 --fsize=$((512 << 20)) -- "$BUILD/grading/test-grader" \
                    --filter "$filter" >"$w/retry.log" 2>&1
            fi && rc=flaky
        fi
    fi
    if [ "$part" = grader ]; then
        # what an unfenced hostile test left behind: processes of this slot's test uid, which
        # only these runs use, each ended by its pid
        local p
        for p in $(ps -o pid= -u $((SELFTEST_UID_BASE + slot)) 2>/dev/null); do
            kill -9 "$p" 2>/dev/null || true
        done
    fi
    case $rc in
    130) rm -f "$w/outcome" && return ;; # interrupted (Ctrl-C): not run
    flaky) echo flaky ;;
    sanitizer) echo killed ;;
    0) echo survived ;;
    124 | 137) echo timeout ;;
    1) echo killed ;;
    *) [ "$part" = core ] || [ "$part" = grader ] && echo killed || echo "error $rc" ;;
    esac >"$w/outcome"
}

# ---- run the sample, JOBS at once, each in a slot of its own (its test uid)
stop=
trap 'stop="interrupted"' INT TERM
declare -a slot_pid=()
skipped=0
for n in $(seq 1 "$sampled"); do
    id=$(sed -n "${n}p" "$out/sample.tsv" | cut -f1)
    if [ "${MUTATE_RESUME:-0}" = 1 ] && [ -s "$out/m/$id/outcome" ]; then
        skipped=$((skipped + 1))
        continue
    fi
    if [ "$BUDGET" -gt 0 ] && [ $(($(date +%s) - started)) -ge "$BUDGET" ]; then
        stop="the time budget (MUTATE_BUDGET=$BUDGET s) ran out"
    fi
    [ -z "$stop" ] || break
    while :; do
        free=-1
        for s in $(seq 0 $((JOBS - 1))); do
            p=${slot_pid[$s]:-}
            if [ -z "$p" ] || ! kill -0 "$p" 2>/dev/null; then free=$s && break; fi
        done
        [ $free -ge 0 ] && break
        wait -n || true
    done
    [ -z "$stop" ] || break
    # the sources and builds of survivors are kept: the rest is scratch (logs stay)
    (
        trap - INT TERM
        set +e
        run_one "$n" "$free"
        grep -qx survived "$out/m/$id/outcome" 2>/dev/null || rm -rf "$out/m/$id/src" "$out/m/$id/build"
    ) &
    slot_pid[$free]=$!
    printf '\r  %d/%d started' "$n" "$sampled" >&2
done
while [ -n "$(jobs -rp)" ]; do wait || true; done
printf '\n' >&2
[ "$skipped" = 0 ] || echo "mutate $part: $skipped mutants kept from the last run (MUTATE_RESUME=1)"
[ -z "$stop" ] || echo "mutate $part: stopped starting mutants: $stop"

# ---- MUTATE_VM=1: the survivors graded again in the test VM (grading/mutate/vm.sh)
: >"$out/vm.md"
if [ "${MUTATE_VM:-0}" = 1 ] && [ -z "$PATCHES" ]; then
    . grading/mutate/vm.sh
    mutate_vm_pass
fi

# ---- results: the sample's rows that have an outcome, the outcome last
while IFS= read -r line; do
    o=$out/m/$(cut -f1 <<<"$line")/outcome
    [ -s "$o" ] && printf '%s\t%s\n' "$line" "$(cat "$o")"
done <"$out/sample.tsv" >"$out/results.tsv" || true
ran=$(wc -l <"$out/results.tsv")
cp "$out/results.tsv" "$BUILD/mutate/$name.tsv"
elapsed=$(($(date +%s) - started))

# the line of source a mutant changes, for the survivors' table (Markdown-safe)
src_line() { sed -n "$2p" "$1" | sed 's/^[[:space:]]*//; s/|/\\|/g' | cut -c1-90; }
md() { sed 's/|/\\|/g' <<<"$1"; }

{
    if [ -n "$PATCHES" ]; then
        echo "# Written bugs: $part"
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo '?')," \
            "${elapsed}s. The $generated bugs in \`$PATCHES\`, of which $ran ran${stop:+ (then $stop)}," \
            "${TIMEOUT}s each at most."
    else
        echo "# Mutation analysis: $part"
        echo
        echo "$(date -u '+%Y-%m-%d %H:%M UTC'), commit $(git rev-parse --short=12 HEAD 2>/dev/null || echo '?')," \
            "${elapsed}s. Mutants of \`$srcdir/*.c\` found by \`grading/mutate/mutator.c\` (libclang);" \
            "$generated generated, ${#is_equiv[@]} known equivalent (\`$equiv\`, not run)," \
            "a sample of $sampled of the $candidates not known equivalent (MUTATE_MAX=$MAX: the smallest cksum of" \
            "\"$SEED:KEY\", MUTATE_SEED=$SEED), of which $ran ran${stop:+ (then $stop)}," \
            "${TIMEOUT}s each at most."
    fi
    case $part in
    core) echo "Each mutant: core/test-core, every unit test." ;;
    grader)
        echo "Each mutant: build/grading/test-grader, every self-test$([ "$SANITIZE" = 1 ] &&
            echo ", the grader built with ASan+UBSan (MUTATE_SANITIZE=1): a sanitizer report kills")."
        ;;
    *) echo "Each mutant: graded on the whole rubric (\`vlab-grade --expect full\`)." ;;
    esac
    echo
    # per file: run, killed (a timeout is a kill), survived, stillborn, error
    awk -F'\t' '
        { f = $2; sub(".*/", "", f); o = $NF; sub(" .*", "", o); t[f]++
          if (o == "killed" || o == "timeout" || o == "killed-vm") k[f]++; else if (o == "survived") s[f]++
          else if (o == "stillborn") sb[f]++; else er[f]++ } # flaky, error
        END { for (f in t) printf "%s\t%d\t%d\t%d\t%d\t%d\n", f, t[f], k[f], s[f], sb[f], er[f] }
        ' "$out/results.tsv" | sort >"$out/files.tsv"
    echo "| file | run | killed | survived | stillborn | flaky/error | score |"
    echo "| --- | ---: | ---: | ---: | ---: | ---: | ---: |"
    awk -F'\t' -v part="$name" '
        function pct(a, b, d) { return b ? sprintf("%." d "f %%", 100 * a / b) : "-" }
        { printf "| %s | %d | %d | %d | %d | %d | %s |\n", $1, $2, $3, $4, $5, $6, pct($3, $3 + $4, 0)
          T += $2; K += $3; S += $4; SB += $5; ER += $6 }
        END { printf "| **all** | %d | %d | %d | %d | %d | **%s** |\n", T, K, S, SB, ER, pct(K, K + S, 1)
              printf "\nmutation score %s: %s (%d of %d killed; stillborn and errors left out)\n",
                     part, pct(K, K + S, 1), K, K + S }' "$out/files.tsv"
    echo
    if [ -s "$out/vm.md" ]; then cat "$out/vm.md" && echo; fi
    echo "Killed: a test failed, crashed or timed out (a timeout past ${TIMEOUT}s counts too)." \
        "Stillborn: does not compile under the project's warnings. Flaky: failed, then passed" \
        "the failed tests when run again (core, grader). Neither is in the score."
    echo
    echo "Survivors by kind: $(awk -F'\t' '$NF == "survived" { c[$4]++ } END { for (o in c) printf "%s %d, ", o, c[o] }' "$out/results.tsv" | sed 's/, $//')"
    echo
    echo "## Survivors"
    echo
    echo "Each is a bug the tests let through, or an equivalent mutant: then add its key and why to"
    echo "\`$equiv\`. Logs, and the survivor's sources and build: \`$out/m/ID/\`."
    echo
    echo "| id | file | line | kind | change | source | key |"
    echo "| ---: | --- | ---: | --- | --- | --- | --- |"
    while IFS=$'\t' read -r id path key op line col off len from to repl outcome; do
        [ "$outcome" = survived ] || continue
        if [ "$op" = bug ]; then change="$(md "$from")"
        elif [ "$op" = call ] || [ "$op" = return ]; then change="\`$(md "$from")\` deleted"
        else change="\`$(md "$from")\` → \`$(md "$to")\`"; fi
        printf '| %s | %s | %d | %s | %s | `%s` | `%s` |\n' "$id" "${path##*/}" "$line" "$op" \
            "$change" "$(src_line "$path" "$line")" "$(md "$key")"
    done <"$out/results.tsv"
    if [ ${#stale[@]} -gt 0 ]; then
        echo
        echo "Stale keys in \`$equiv\` (no such mutant any more): ${stale[*]}"
    fi
    if grep -q $'\t\(error\|flaky\)' "$out/results.tsv"; then
        echo
        echo "Flaky or errors (see \`$out/m/ID/test.log\`, \`retry.log\`):" \
            "$(awk -F'\t' '$NF ~ /^(error|flaky)/ { printf "%s (%s) ", $1, $NF }' "$out/results.tsv")"
    fi
} >"$report"
tail -n +1 "$report" | sed -n '/^| file/,/^mutation score/p'
echo "mutate $part: ${elapsed}s; report: $report"
exit 0
}
