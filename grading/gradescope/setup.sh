#!/usr/bin/env bash
# Gradescope autograder image setup (runs once, as root, in /autograder/source = this tree
# as produced by `make handout` plus any hidden tests). Installs packages and pre-builds.
set -euo pipefail
cd /autograder/source
make deps
make -s all
