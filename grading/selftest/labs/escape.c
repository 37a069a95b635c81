/* Leaves a daemon behind: double fork, setsid, sleep forever, then the test passes. The daemon
 * opens HOSTILE_SPY (a FIFO the self-test reads) and keeps it open, so the self-test sees EOF
 * only once the daemon is dead. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

static void daemon_main(int ready) {
    const char *spy = getenv("HOSTILE_SPY");
    int fd = spy ? open(spy, O_WRONLY | O_NONBLOCK) : -1;
    if (fd >= 0) {
        char buf[32];
        int n = snprintf(buf, sizeof buf, "%d\n", (int)getpid());
        if (write(fd, buf, (size_t)n) != n) _exit(1);
    }
    /* a well-behaved daemon closes what it inherited, so the runner is not held up */
    for (int i = 0; i < 1024; i++)
        if (i != fd && i != ready) close(i);
    if (write(ready, "x", 1) != 1) _exit(1);
    close(ready);
    for (;;)
        pause();
}

Test(escape, daemon) {
    int p[2];
    cr_assert_eq(pipe(p), 0);
    pid_t pid = fork();
    cr_assert(pid >= 0);
    if (pid == 0) {
        close(p[0]);
        if (fork() != 0) _exit(0);
        setsid();
        if (fork() != 0) _exit(0);
        daemon_main(p[1]);
    }
    close(p[1]);
    waitpid(pid, NULL, 0);
    char c;
    cr_assert_eq(read(p[0], &c, 1), 1, "the daemon never got going");
    cr_assert(1, "escaped");
}
