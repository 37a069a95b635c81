/* The helpers sandbox.h offers the student's code: whole-file reads and writes, and the
 * report vlab-sandbox prints. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include "sandbox.h"

int sb_write_file(const char *path, const char *s) {
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t len = strlen(s);
    /* cgroup and /proc files take a value in a single write(); a short one is an error */
    ssize_t n = write(fd, s, len);
    int rc = n < 0 ? -errno : (size_t)n != len ? -EIO : 0;
    if (close(fd) && !rc) rc = -errno;
    return rc;
}

ssize_t sb_read_file(const char *path, char *buf, size_t len) {
    if (!len) return -EINVAL;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return -errno;
    size_t got = 0;
    while (got < len - 1) {
        ssize_t n = read(fd, buf + got, len - 1 - got);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) {
            int e = errno;
            close(fd);
            buf[got] = 0;
            return -e;
        }
        if (n == 0) break;
        got += (size_t)n;
    }
    close(fd);
    buf[got] = 0;
    return (ssize_t)got;
}

void sb_result_print(FILE *f, const struct sb_result *r) {
    if (r->interrupted)
        fprintf(f, "ended: interrupted by %s, container killed\n", strsignal(r->interrupted));
    else if (r->timed_out)
        fprintf(f, "ended: killed at the timeout\n");
    else if (r->exited)
        fprintf(f, "ended: exit status %d\n", r->status);
    else
        fprintf(f, "ended: signal %d (%s)\n", r->signal, strsignal(r->signal));
    fprintf(f, "wall time: %.3f s\n", r->wall);
    fprintf(f, "cpu time: %.3f s\n", (double)r->use.cpu_ns * 1e-9);
    fprintf(f, "memory peak: %.1f MiB\n", (double)r->use.mem_peak / (1 << 20));
    fprintf(f, "oom kills: %" PRIu64 "\n", r->use.oom_kills);
    fprintf(f, "pids limit hits: %" PRIu64 "\n", r->use.pids_max);
}
