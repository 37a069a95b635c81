/* Nothing a test starts may outlive its run. The grader is a child subreaper, so processes that
 * escape their parent (double fork, setsid) are re-parented to it instead of to init and stay
 * findable as its descendants; after every run it kills the run's process group, every
 * descendant and, when tests run under a uid of their own, every process of that uid. */
#ifndef VLAB_GRADE_REAP_H
#define VLAB_GRADE_REAP_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Becomes a child subreaper and non-dumpable (a same-uid test must not reach the grader's
 * files through /proc/PID/cwd or ptrace). Returns -1 with errno set on failure. */
int reaper_init(void);

/* SIGKILLs process group pgid (if > 0), every descendant of the grader and, if kill_uid, every
 * process whose uid is uid; reaps until the grader has no children and nothing of uid is left.
 * Returns false if something still survived after several seconds of trying. */
bool reaper_sweep(pid_t pgid, bool kill_uid, uid_t uid);

/* Tasks (threads count: RLIMIT_NPROC counts them) whose real uid is uid. */
size_t count_user_tasks(uid_t uid);

#endif
