/* Private scratch directories: each test run gets a fresh one as cwd and TMPDIR, so tests can
 * write somewhere without being able to leave state for the next run or write anywhere else. */
#ifndef VLAB_GRADE_TMPDIR_H
#define VLAB_GRADE_TMPDIR_H

#include <stdbool.h>
#include <sys/types.h>

/* A fresh base directory (mode 0711: the test uid may enter its own run dir inside but not list
 * the others). NULL with a message on stderr on failure. */
char *tmpdir_base_create(void);

/* base/run-N, mode 0700, owned by uid:gid when chown_to is set. */
char *tmpdir_run_create(const char *base, unsigned n, bool chown_to, uid_t uid, gid_t gid);

/* Removes path and everything below it without following symlinks; only call once nothing that
 * could still write there is running. Returns -1 if something could not be removed. */
int rmtree(const char *path);

#endif
