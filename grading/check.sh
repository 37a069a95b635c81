#!/usr/bin/env bash
# `make test`: the project's own checks. One line per check as it ends, the log of a failing
# check, and a closing "N passed, N failed" line; exits non-zero if any check failed.
set -u
cd "$(dirname "$0")/.."
BUILD=${BUILD:-build}
export NO_DEPS=1 BUILD
labs=("$@")
only=() # labs named on the command line: build just those
if [ ${#labs[@]} -eq 0 ]; then
    labs=($(ls -d harness/*/tests 2>/dev/null | cut -d/ -f2))
else
    only=(LAB="${labs[*]}")
fi
logs=$BUILD/test-logs
rm -rf "$logs"
mkdir -p "$logs"
pass=0 fail=0 skip=0
started=$(date +%s)

# check NAME CMD...: runs CMD with its output in a log; prints PASS/FAIL with the time taken.
check() {
    local name=$1
    shift
    local log="$logs/${name//\//_}.log" t0 ms
    t0=$(date +%s%N)
    if "$@" >"$log" 2>&1; then
        ms=$((($(date +%s%N) - t0) / 1000000))
        printf '  PASS  %-44s %4d.%01ds\n' "$name" $((ms / 1000)) $((ms % 1000 / 100))
        pass=$((pass + 1))
    else
        ms=$((($(date +%s%N) - t0) / 1000000))
        printf '  FAIL  %-44s %4d.%01ds   (log: %s)\n' "$name" $((ms / 1000)) $((ms % 1000 / 100)) "$log"
        tail -n 40 "$log" | sed 's/^/        | /'
        fail=$((fail + 1))
    fi
}
skipped() {
    printf '  SKIP  %-44s         %s\n' "$1" "$2"
    skip=$((skip + 1))
}

# batch KIND SCRIPT PART PATCH...: one check per patch ("PART/KIND/NAME"), each run by
# SCRIPT PART PATCH, up to $VLAB_CHECK_JOBS at once (default: the CPUs), their lines printed in
# order. Each builds and grades in a scratch dir of its own.
JOBS=${VLAB_CHECK_JOBS:-$(nproc 2>/dev/null || echo 2)}
batch() {
    local kind=$1 script=$2 part=$3 i=0 dir p
    shift 3
    dir="$logs/.$kind-$part"
    rm -rf "$dir" && mkdir -p "$dir"
    for p in "$@"; do
        [ -e "$p" ] || continue
        while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n; done
        (check "$part/$kind/$(basename "$p" .patch)" "$script" "$part" "$p") \
            >"$dir/$(printf %04d $i)" &
        i=$((i + 1))
    done
    wait
    [ $i -gt 0 ] || return 0
    cat "$dir"/*
    pass=$((pass + $(cat "$dir"/* | grep -c '^  PASS ')))
    fail=$((fail + $(cat "$dir"/* | grep -c '^  FAIL ')))
}
# Seeded bugs in the reference that named tests must catch (grading/mutant.sh).
mutants() { batch mutant grading/mutant.sh "$@"; }
# Hostile submissions on the skeleton that `make grade` must score at most 5 (grading/attack.sh).
attacks() { batch attack grading/attack.sh "$@"; }

grade() { # grade SOL EXPECT LAB
    "$BUILD/grading/vlab-grade" --build "$BUILD/$1" --sol "$1" --out "$BUILD/test-grade/$1" \
        --expect "$2" "$3"
}

# Criterion test binaries print their own closing line; keep it in the log and show the count.
criterion() { "$@" --jobs 2; }

echo "== build"
check build/labs make -s all SOL=labs "${only[@]}"
have_ref=0
if [ -d reference ]; then
    have_ref=1
    check build/reference make -s all SOL=reference "${only[@]}"
fi
check build/selftest make -s selftest-bins
if [ $have_ref = 1 ]; then # the project's style; a student's own code is not held to it
    check format clang-format --dry-run --Werror $(git ls-files '*.c' '*.h' 2>/dev/null ||
        find core harness labs reference grading -name '*.[ch]')
fi

# LABS_ONLY=1: only the labs' checks (a lab author's quick loop); CI runs everything.
if [ "${LABS_ONLY:-0}" != 1 ]; then
    echo "== core and grader"
    check core/unit-tests criterion "$BUILD/core/test-core"
    check grader/self-tests "$BUILD/grading/test-grader"
    check grader/policy-tests grading/policy-test.sh
    check rubric/hints grading/hints-check.sh
    # `make report` on fixed results files: schema, sections, verdicts, a well-formed page.
    check report/page report/check.sh
    # each handout's grading table says what its rubric scores (and a wrong one fails the check)
    check rubric/grading-tables grading/table-check.sh --prove
    # the mutator of `make mutate` on a small file of its own (kinds, counts, each compiles)
    check mutate/self-check grading/mutate/selfcheck.sh
    # The project's own tests are killable too: seeded bugs in core, the grader, the
    # policy checker and the report.
    for part in core grader policy report; do
        mutants $part grading/mutants/$part/*.patch
    done
fi

for lab in "${labs[@]}"; do
    echo "== lab $lab"
    if [ $have_ref = 1 ]; then
        # Only in the instructors' tree is labs/ the untouched skeleton.
        check "$lab/skeleton-scores-zero" grade labs zero "$lab"
        check "$lab/reference-full-marks" grade reference full "$lab"
        # The grader gives its test uid a node of /dev/kvm (`set device`), and a kvm_* test that
        # cannot open it skips and is left out of the total: run them directly too, so that where
        # this user can open /dev/kvm real KVM is proven, not skipped.
        ref="$BUILD/reference/$lab/test-$lab"
        if [ -r /dev/kvm ] && [ -w /dev/kvm ] && "$ref" --list 2>/dev/null | grep -q "kvm_"; then
            check "$lab/reference-on-kvm" criterion "$ref" --filter "$lab/kvm_*"
        fi
        # A lab may prove itself as an ordinary user too (the sandbox, rootless).
        if [ -x "harness/$lab/grade-rootless.sh" ] && [ "$(id -u)" = 0 ]; then
            check "$lab/reference-rootless" "harness/$lab/grade-rootless.sh" reference
        fi
        if compgen -G "grading/mutants/$lab/*.patch" >/dev/null; then
            mutants "$lab" grading/mutants/"$lab"/*.patch
        else
            echo "  FAIL  $lab has no mutants in grading/mutants/$lab"
            fail=$((fail + 1))
        fi
        if compgen -G "grading/attacks/$lab/*.patch" >/dev/null; then
            # "Tier: full" attacks repeat a mechanism another attack or grading/policy-test.sh
            # already proves here: `make test-attacks` (a CI job of its own) runs them too
            mapfile -t quick < <(grep -L '^Tier: full' grading/attacks/"$lab"/*.patch)
            attacks "$lab" "${quick[@]}"
        else
            echo "  FAIL  $lab has no attacks in grading/attacks/$lab"
            fail=$((fail + 1))
        fi
    else
        skipped "$lab" "a student tree (no reference/): grade your work with make grade"
    fi
done

# Real KVM and cgroup v2 for machines without them: a QEMU/TCG VM (harness/vm/README.md).
# A VM that does not boot is a failure; VLAB_VM=0 skips the section, visibly.
if [ $have_ref = 1 ] && [ "${LABS_ONLY:-0}" != 1 ]; then
    echo "== test VM (real KVM on an emulated AMD SVM CPU, cgroup v2)"
    if [ "${VLAB_VM:-1}" = 0 ]; then
        skipped vm "VLAB_VM=0"
    else
        check vm/setup harness/vm/vlab-vm setup
        check vm/smoke harness/vm/vlab-vm smoke
        check vm/grade make -s --no-print-directory SOL=reference "${only[@]}" vm-grade
    fi
fi

if [ $have_ref = 1 ] && [ "${LABS_ONLY:-0}" != 1 ]; then
    echo "== handout"
    check handout/builds-and-scores-zero grading/handout-check.sh
    check hosted/instructor-files-only grading/hosted-check.sh
    check hosted/gradescope-autograder grading/gradescope/check.sh
fi

echo "make test: $(($(date +%s) - started))s; logs in $logs"
if [ $skip -gt 0 ]; then
    echo "$pass passed, $fail failed, $skip skipped"
else
    echo "$pass passed, $fail failed"
fi
[ $fail -eq 0 ]
