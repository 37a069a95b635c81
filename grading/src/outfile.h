/* Report files appear whole or not at all: each is written to a temp name in the output dir and
 * renamed over the final name, so a reader (or a crash mid-write) never sees half a report. */
#ifndef VLAB_GRADE_OUTFILE_H
#define VLAB_GRADE_OUTFILE_H

#include <stdio.h>

struct outfile {
    FILE *f;
    char *tmp;
    char *path;
};

/* Opens dir/name.XXXXXX for writing; returns NULL with a message on stderr on failure. */
FILE *outfile_open(struct outfile *of, const char *dir, const char *name);

/* Flushes, syncs and renames into place; -1 with a message on failure (temp file removed). */
int outfile_commit(struct outfile *of);

/* Creates dir and its parents (mode 0755) and checks a file can be created there. */
int ensure_out_dir(const char *dir);

#endif
