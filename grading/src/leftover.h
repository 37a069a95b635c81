/* What a test run leaves in the machine's shared places: entries of the world-writable
 * scratch directories and SysV IPC objects created by the grading uid. With a private /tmp and
 * IPC namespace per run (privtmp.h) there is nothing here to find; without them, this is the
 * fence. A root grader's test uid is used by nothing else, so everything it owns there goes;
 * a grader running as the student's own uid removes only what appeared during the run. */
#ifndef VLAB_GRADE_LEFTOVER_H
#define VLAB_GRADE_LEFTOVER_H

#include <stddef.h>
#include <sys/types.h>

struct leftover_snap {
    char **items; /* "DIR/NAME inode" and "shm|sem|msg ID", owned by uid before the run */
    size_t n;
};

/* Records what uid owns in those places now. */
void leftover_snapshot(struct leftover_snap *s, uid_t uid);
void leftover_snap_free(struct leftover_snap *s);

/* Removes what uid owns there that before does not list (before NULL: everything uid owns),
 * never the path skip (the grader's own scratch dir). Returns how many it removed. */
size_t leftover_sweep(const struct leftover_snap *before, uid_t uid, const char *skip);

#endif
