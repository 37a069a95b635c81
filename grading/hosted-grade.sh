#!/usr/bin/env bash
# Grades a submission with the instructor's files (Gradescope's run_autograder and the GitHub
# Classroom workflow call it). The work tree is a fresh copy of the instructor's tree; from the
# submission only the lab's student files (labs/<lab>/NAME.c, for each NAME.c the instructor's
# labs/<lab>/ has) are taken. The rubric, harness, tests, grader and Makefile stay the
# instructor's whatever the submission holds.
#
#   grading/hosted-grade.sh --instructor DIR --submission DIR --work DIR [--lab LAB ...] [--out DIR]
#
# A student file NAME.c (for each NAME.c the instructor's labs/<lab>/ has) is found by its name
# anywhere in the submission: labs/<lab>/NAME.c, under a top folder (X/labs/<lab>/NAME.c, as in
# a GitHub zip download), flat (NAME.c) or at any depth; when several files have the name, the
# one at .../labs/<lab>/NAME.c is taken, else none. It must be a regular file (no symlink on the
# way) of at most 1 MiB. A missing file leaves the skeleton in place (0 points), said on a
# "MISSING" line. Labs graded: --lab, else $VLAB_LAB, else the labs the submission has student
# files for (every lab if none). What was taken, what was missing and what was ignored heads
# the reports (vlab-grade --about). The work tree (removed first) gets the instructor's prebuilt
# build/ when there is one. Reports
# (results.json, classroom.json, summary.md, junit.xml, report.html) go to --out (default
# WORK/build/grade/labs). Exit 0 when grading ran, whatever the score; 2 on a usage error;
# otherwise non-zero when the grader could not run.
set -euo pipefail
umask 022
export LC_ALL=C

MAX_BYTES=$((1024 * 1024)) # per student file
SHOW=5                     # ignored paths listed by name

usage() {
    echo "usage: $0 --instructor DIR --submission DIR --work DIR [--lab LAB ...] [--out DIR]" >&2
    exit 2
}
die() {
    echo "hosted-grade: $*" >&2
    exit 2
}

inst="" sub="" work="" out=""
labs_arg=()
while [ $# -gt 0 ]; do
    case "$1" in
    --instructor) [ $# -ge 2 ] || usage; inst=$2; shift 2 ;;
    --submission) [ $# -ge 2 ] || usage; sub=$2; shift 2 ;;
    --work) [ $# -ge 2 ] || usage; work=$2; shift 2 ;;
    --out) [ $# -ge 2 ] || usage; out=$2; shift 2 ;;
    --lab) # may hold several, space-separated
        [ $# -ge 2 ] || usage
        read -r -a more <<<"$2"
        labs_arg+=("${more[@]}")
        shift 2
        ;;
    -h | --help) sed -n '2,21p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) usage ;;
    esac
done
[ -n "$inst" ] && [ -n "$sub" ] && [ -n "$work" ] || usage
[ -d "$inst" ] || die "--instructor $inst: not a directory"
[ -d "$sub" ] || die "--submission $sub: not a directory"
[ -f "$inst/Makefile" ] && [ -d "$inst/labs" ] || die "--instructor $inst: no Makefile and labs/ there"
inst=$(realpath -e -- "$inst")
sub=$(realpath -e -- "$sub")
work=$(realpath -m -- "$work")
[ -z "$out" ] || out=$(realpath -m -- "$out")

# within A B: A is B or inside B.
within() { case "$1/" in "$2"/*) return 0 ;; esac; return 1; }
[ "$work" != / ] || die "--work /: refusing"
within "$inst" "$work" && die "--work $work holds the instructor tree; it is removed first"
within "$sub" "$work" && die "--work $work holds the submission; it is removed first"
within "$work" "$sub" && die "--work $work is inside the submission"
if within "$work" "$inst" && ! within "$work" "$inst/build"; then
    die "--work $work is inside the instructor tree (only $inst/build/... is allowed)"
fi
prebuilt=(core grading harness labs) # the instructor's build/ parts a grade run reuses
for d in "${prebuilt[@]}"; do
    within "$work" "$inst/build/$d" && die "--work $work is inside $inst/build/$d, which is copied"
done

# ------------------------------------------------------------------ the labs and their files
# The instructor's labs: labs/<lab>/ with at least one regular .c file.
all_labs=()
for d in "$inst"/labs/*/; do
    lab=$(basename "$d")
    for f in "$d"*.c; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then all_labs+=("$lab"); break; fi
    done
done
[ ${#all_labs[@]} -gt 0 ] || die "$inst/labs: no lab with .c files"
is_lab() {
    local l
    for l in "${all_labs[@]}"; do [ "$l" = "$1" ] && return 0; done
    return 1
}
names_of() { # the student file names of lab $1
    local f
    for f in "$inst/labs/$1"/*.c; do
        if [ -f "$f" ] && [ ! -L "$f" ]; then basename "$f"; fi
    done
}

# where LAB NAME: the submission paths (relative, one per line) that may hold labs/LAB/NAME:
# every file or symlink named NAME anywhere in it (a flat upload, a top folder, any depth),
# except under .git, __MACOSX and build; when there are several, those at .../labs/LAB/NAME.
where() {
    local all
    all=$(find "$sub" \( -name .git -o -name __MACOSX -o -name build \) -prune -o \
        -name "$2" \( -type f -o -type l \) -print | sed "s|^$sub/||" | sort)
    [ -n "$all" ] || return 0
    if [ "$(echo "$all" | wc -l)" -gt 1 ]; then
        local placed
        placed=$(echo "$all" | grep -E "(^|/)labs/$1/$2\$" || true)
        [ -z "$placed" ] || all=$placed
    fi
    echo "$all"
}

labs=()
how=""
if [ ${#labs_arg[@]} -gt 0 ]; then
    labs=("${labs_arg[@]}")
    how="--lab"
elif [ -n "${VLAB_LAB:-}" ]; then
    read -r -a labs <<<"$VLAB_LAB"
    how="VLAB_LAB"
else
    for lab in "${all_labs[@]}"; do
        while read -r name; do
            if [ -n "$(where "$lab" "$name")" ]; then labs+=("$lab"); break; fi
        done < <(names_of "$lab")
    done
    how="the submission's files"
    if [ ${#labs[@]} -eq 0 ]; then
        labs=("${all_labs[@]}")
        how="no student file found in the submission: every lab, the skeletons"
    fi
fi
for lab in "${labs[@]}"; do
    [[ "$lab" =~ ^[A-Za-z0-9_-]+$ ]] && is_lab "$lab" ||
        die "no lab '$lab' in the instructor tree (have: ${all_labs[*]})"
done

echo "hosted-grade: instructor tree $inst"
echo "hosted-grade: submission $sub"
echo "hosted-grade: labs graded: ${labs[*]} ($how)"

# ------------------------------------------------------------------ the work tree
rm -rf -- "$work"
mkdir -p -- "$work"
chmod 755 "$work"
# The instructor's tree without build/ and .git; modes from the umask, so the grader's test uid
# can read it when the grader runs as root.
tar -C "$inst" --anchored --exclude=./build --exclude=./.git -cf - . |
    tar -C "$work" --no-same-owner --no-same-permissions -xf -
reused=()
for d in "${prebuilt[@]}"; do
    if [ -d "$inst/build/$d" ]; then
        mkdir -p "$work/build"
        cp -a -- "$inst/build/$d" "$work/build/$d"
        reused+=("build/$d")
    fi
done
if [ ${#reused[@]} -gt 0 ]; then
    echo "hosted-grade: reusing the instructor's ${reused[*]}"
    # The graded labs' solution objects are always rebuilt, from the submitted files.
    for lab in "${labs[@]}"; do rm -rf -- "$work/build/labs/$lab/obj/sol"; done
    chmod -R a+rX "$work/build"
fi

# ------------------------------------------------------------------ take the student files
taken=()  # submission paths (relative) that were taken
seen=()   # and those looked at but not taken (already reported)
prefix="" # the folders above labs/<lab>/NAME.c of a file taken from inside a tree
about=()  # what students read first: what was graded (results.json, summary.md)
say() {
    echo "$*"
    about+=("$*")
}
for lab in "${labs[@]}"; do
    while read -r name; do
        dest="labs/$lab/$name"
        mapfile -t found < <(where "$lab" "$name")
        cand=""
        why=""
        if [ ${#found[@]} -eq 1 ]; then
            cand=${found[0]}
        elif [ ${#found[@]} -gt 1 ]; then
            list=$(printf '%s, ' "${found[@]:0:$SHOW}")
            why="several files named $name in the submission (${list%, }): keep one"
            seen+=("${found[@]}")
        fi
        if [ -n "$cand" ]; then
            p="$sub/$cand"
            if [ -L "$p" ] || [ "$(realpath -e -- "$p" 2>/dev/null)" != "$p" ]; then
                why="$cand is a symlink or lies under one, not taken"
            elif [ ! -f "$p" ]; then
                why="$cand is not a regular file, not taken"
            elif [ "$(stat -c %s -- "$p")" -gt $MAX_BYTES ]; then
                why="$cand is larger than $MAX_BYTES bytes, not taken"
            else
                rm -f -- "$work/$dest"
                install -m 0644 -- "$p" "$work/$dest"
                taken+=("$cand")
                case "$cand" in */"$dest") prefix=${cand%"$dest"} ;; esac
                sum=$(sha256sum -- "$p" | cut -c1-12)
                if [ "$cand" = "$dest" ]; then
                    say "$dest: taken from the submission (sha256 $sum...)"
                else
                    say "$dest: taken from the submission's $cand (sha256 $sum...)"
                fi
                continue
            fi
        fi
        if [ -n "$why" ]; then
            [ -z "$cand" ] || seen+=("$cand")
            say "$dest: MISSING: $why; the skeleton is graded (0 points)"
        else
            say "$dest: MISSING: no $name in the submission; the skeleton is graded (0 points)"
        fi
    done < <(names_of "$lab")
done

# Everything else the submission changed or added is ignored: say so, briefly.
ignored=()
while IFS= read -r -d '' p; do
    rel=${p#"$sub"/}
    case "/$rel/" in */.git/* | */__MACOSX/*) continue ;; esac
    skip=0
    for t in "${taken[@]}" "${seen[@]}"; do [ "$t" = "$rel" ] && skip=1 && break; done
    [ $skip = 0 ] || continue
    q=$rel
    [ -n "$prefix" ] && case "$rel" in "$prefix"*) q=${rel#"$prefix"} ;; esac
    case "$q" in build/*) continue ;; esac
    if [ -L "$p" ]; then
        [ -L "$inst/$q" ] && [ "$(readlink -- "$p")" = "$(readlink -- "$inst/$q")" ] && continue
    elif [ -f "$inst/$q" ] && [ ! -L "$inst/$q" ] && cmp -s -- "$p" "$inst/$q"; then
        continue
    fi
    ignored+=("$rel")
done < <(find "$sub" -mindepth 1 ! -type d -print0 | sort -z)
if [ ${#ignored[@]} -gt 0 ]; then
    list=$(printf '%s, ' "${ignored[@]:0:$SHOW}")
    list=${list%, }
    [ ${#ignored[@]} -le $SHOW ] || list="$list, ..."
    say "ignored ${#ignored[@]} other file(s) of the submission (only labs/<lab>/*.c" \
        "files count, found by name): $list"
fi
# The instructor tree's version: `make gradescope` records it; else its git commit.
version=$(head -n 1 "$inst/.vlab-version" 2>/dev/null ||
    git -C "$inst" rev-parse --short=12 HEAD 2>/dev/null || echo unknown)
head="Graded: ${labs[*]}, with the autograder's files of $version"
# The submission's commit, as the caller knows it (the Classroom workflow: github.sha); git is
# never run on the submission, whose .git/config is the student's.
if [[ "${VLAB_SUBMISSION_COMMIT:-}" =~ ^[0-9a-f]{7,40}$ ]]; then
    head="$head; the submission is commit ${VLAB_SUBMISSION_COMMIT:0:12}"
fi
about=("$head." "${about[@]}")
aboutf="$work/build/hosted-about.txt"
mkdir -p "$work/build"
printf '%s\n' "${about[@]}" >"$aboutf"

# ------------------------------------------------------------------ grade
if [ -n "$out" ]; then # no stale reports from an earlier run if this one fails
    for r in results.json classroom.json summary.md junit.xml report.html; do rm -f -- "$out/$r"; done
fi
echo "hosted-grade: make grade LAB=\"${labs[*]}\" in $work"
status=0
(
    cd "$work"
    # The instructor's Makefile with its own defaults: nothing from the caller's make or
    # environment moves the build, the solution tree or the reports.
    # No repository above the work tree (it may lie in one) speaks for the submission.
    export GIT_CEILING_DIRECTORIES=${work%/*}
    exec env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL -u GNUMAKEFLAGS -u MAKEFILES \
        -u BUILD -u SOL -u SOLOUT -u LAB -u GRADE_OUT -u GRADE_FLAGS -u CORE_DIR -u GRADER_DIR \
        make -s -j"$(nproc 2>/dev/null || echo 1)" grade NO_DEPS=1 LAB="${labs[*]}" \
        GRADE_FLAGS="--about $aboutf"
) || status=$?
reports="$work/build/grade/labs"
if [ ! -f "$reports/results.json" ]; then
    echo "hosted-grade: the grader did not run (make grade exited $status; no $reports/results.json)" >&2
    [ $status -ne 0 ] || status=1
    exit $status
fi
if [ -n "$out" ] && [ "$out" != "$reports" ]; then
    mkdir -p -- "$out"
    cp -r -- "$reports"/. "$out"/
    echo "hosted-grade: reports in $out"
else
    echo "hosted-grade: reports in $reports"
fi
if [ $status -ne 0 ]; then
    echo "hosted-grade: make grade exited $status" >&2
    exit $status
fi
