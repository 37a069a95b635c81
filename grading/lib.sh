# Shell helpers for grading/mutant.sh and grading/attack.sh (sourced, not run).

# reuse_harness_build FROM TO LAB: the harness's objects, tools' objects and guests do not depend
# on the solution, so a scratch build of LAB in TO starts from FROM's (check.sh has just made
# it) and compiles only the solution's files.
reuse_harness_build() {
    local from=$1 to=$2 lab=$3 d
    for d in obj/rt obj/tests obj/tools guests; do
        if [ -d "$from/$lab/$d" ]; then
            mkdir -p "$to/$lab/$(dirname "$d")"
            cp -pr "$from/$lab/$d" "$to/$lab/$d"
        fi
    done
}

# reuse_objects FROM TO: a copy of a build directory with its times kept, so make rebuilds only
# what a patched source makes out of date (nothing when FROM does not exist).
reuse_objects() {
    local from=$1 to=$2
    [ -d "$from" ] || return 0
    mkdir -p "$(dirname "$to")"
    cp -rp "$from" "$to"
}

# mutate_apply SRC OFFSET LENGTH REPLACEMENT: SRC with LENGTH bytes at OFFSET replaced (to stdout);
# REPLACEMENT as grading/mutate/mutator.c writes it (\\, \n, \t escaped, read by printf %b).
mutate_apply() {
    head -c "$2" "$1"
    printf '%b' "$4"
    tail -c +$(($2 + $3 + 1)) "$1"
}
