/* Tests that leave things behind in the machine's shared places, and two that check the fences
 * around them. The self-test looks outside afterwards: nothing may be left. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *tag(void) {
    const char *t = getenv("LITTER_TAG");
    cr_assert(t && *t, "LITTER_TAG is not set");
    return t;
}

static void litter_file(const char *dir) {
    char path[256];
    snprintf(path, sizeof path, "%s/vlab-litter-%s", dir, tag());
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    cr_assert(fd >= 0, "cannot create %s: %s", path, strerror(errno));
    cr_assert_eq(write(fd, "x", 1), 1);
    close(fd);
}

Test(litter, files_and_ipc) {
    litter_file("/tmp");
    litter_file("/var/tmp");
    litter_file("/dev/shm");
    char name[128];
    snprintf(name, sizeof name, "/vlab-litter-posix-%s", tag());
    int fd = shm_open(name, O_RDWR | O_CREAT, 0600);
    cr_assert(fd >= 0, "shm_open: %s", strerror(errno));
    key_t key = (key_t)strtol(tag(), NULL, 10);
    cr_assert(shmget(key, 1 << 20, IPC_CREAT | 0600) >= 0, "shmget: %s", strerror(errno));
    cr_assert(semget(key, 1, IPC_CREAT | 0600) >= 0, "semget: %s", strerror(errno));
    cr_assert(msgget(key, IPC_CREAT | 0600) >= 0, "msgget: %s", strerror(errno));
}

/* Read-only all the way down (each level made 0500 once entered): whoever removes it must make
 * each directory writable again, and one moved to another parent writes its "..", which a
 * grader that is not root may do only in a directory it can write. */
Test(litter, deep_tree) {
    for (int i = 0; i < 5000; i++) {
        cr_assert(mkdir("d", 0700) == 0 && chdir("d") == 0, "level %d: %s", i, strerror(errno));
        if (i > 0) cr_assert(chmod("..", 0500) == 0, "level %d: %s", i, strerror(errno));
    }
    int fd = open("leaf", O_WRONLY | O_CREAT, 0400);
    cr_assert(fd >= 0);
    close(fd);
}

/* the self-test planted /tmp/vlab-planted-TAG in the machine's /tmp */
Test(litter, tmp_is_private) {
    char path[256];
    snprintf(path, sizeof path, "/tmp/vlab-planted-%s", tag());
    cr_assert(access(path, F_OK) != 0, "%s is visible: this test shares the machine's /tmp", path);
}

Test(litter, open_files_are_limited) {
    int n = 0;
    while (n < 20000 && open("/dev/null", O_RDONLY) >= 0)
        n++;
    cr_assert(n < 100, "opened %d files: no RLIMIT_NOFILE from the rubric", n);
}
