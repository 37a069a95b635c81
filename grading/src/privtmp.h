/* A private /tmp, /var/tmp and /dev/shm for each test run. Criterion's runner binds the fixed
 * path /tmp/criterion_<pid>.sock, so on a shared machine another user's stale socket for the
 * same pid makes a test crash; and whatever a test leaves in these shared directories would
 * outlive grading. Inside a mount namespace of its own, each run gets fresh tmpfs mounts there,
 * which vanish with the run's last process. Paths the test still needs that live under them
 * (the project, the build tree, the grader's run dirs) are bind-mounted back in place. */
#ifndef VLAB_GRADE_PRIVTMP_H
#define VLAB_GRADE_PRIVTMP_H

#include <stddef.h>
#include <sys/types.h>

/* The shared scratch directories replaced, NULL-terminated. */
extern const char *const privtmp_dirs[];

/* In a child that already has a mount namespace of its own (with / made non-shared): mounts a
 * tmpfs of size bytes on each of privtmp_dirs and binds every keep path (absolute, canonical,
 * NULL-terminated) that lies under one of them back into place. Returns -1 with errno set. */
int privtmp_mount(const char *const *keep, unsigned long long size);

/* In the same child, before it drops to uid: binds a node of the character device path (the
 * rubric's `set device`) that uid may open over path, for this run only. 0 if done or if the
 * device does not exist here; -1 with errno set. */
int privtmp_share_device(const char *path, uid_t uid, gid_t gid);

#endif
