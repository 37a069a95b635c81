/* Tries to tamper with the grade output (path in HOSTILE_OUT, set by the self-test). Each
 * hostile test passes only if its attack worked, so the grader must make them all fail. The
 * last test is the control: a test may write in its own private temp dir. */
#include <criterion/criterion.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static char *out_path(const char *name) {
    const char *dir = getenv("HOSTILE_OUT");
    cr_assert_not_null(dir, "HOSTILE_OUT is not set");
    static char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    return path;
}

Test(writer, create_marker) {
    int fd = open(out_path("pwned"), O_WRONLY | O_CREAT | O_TRUNC, 0666);
    cr_assert(fd >= 0, "could not create the marker: %s", strerror(errno));
}

Test(writer, overwrite_keep) {
    int fd = open(out_path("keep.txt"), O_WRONLY | O_TRUNC);
    cr_assert(fd >= 0, "could not open keep.txt for writing: %s", strerror(errno));
    cr_assert(write(fd, "pwned\n", 6) == 6);
}

Test(writer, delete_keep) {
    cr_assert(unlink(out_path("keep.txt")) == 0, "could not delete keep.txt: %s", strerror(errno));
}

Test(writer, plant_results) {
    FILE *f = fopen(out_path("results.json"), "w");
    cr_assert_not_null(f, "could not create results.json: %s", strerror(errno));
    fputs("{\"score\": 1000}\n", f);
    fclose(f);
}

static pid_t parent_of(pid_t pid) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[1024];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    char *close_paren = strrchr(buf, ')');
    int ppid = 0;
    if (!close_paren || sscanf(close_paren + 1, " %*c %d", &ppid) != 1) return 0;
    return (pid_t)ppid;
}

/* A mount namespace is no wall if the grader's own view is one /proc/PID/root away. */
Test(writer, via_proc_root) {
    const char *dir = getenv("HOSTILE_OUT");
    cr_assert_not_null(dir, "HOSTILE_OUT is not set");
    for (pid_t pid = getppid(); pid > 1; pid = parent_of(pid)) {
        char path[4096];
        snprintf(path, sizeof path, "/proc/%d/root%s/pwned", (int)pid, dir);
        int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0666);
        if (fd >= 0) {
            close(fd);
            return; /* got through: the attack worked */
        }
    }
    cr_assert_fail("no ancestor's /proc/PID/root led to a writable grade output");
}

Test(writer, tmpdir_writable) {
    const char *tmp = getenv("TMPDIR");
    cr_assert_not_null(tmp, "TMPDIR is not set");
    char path[4096];
    snprintf(path, sizeof path, "%s/scratch", tmp);
    FILE *f = fopen(path, "w");
    cr_assert_not_null(f, "cannot write in the private temp dir %s: %s", tmp, strerror(errno));
    fputs("scratch\n", f);
    cr_assert_eq(fclose(f), 0);
    FILE *g = fopen("cwd-scratch", "w");
    cr_assert_not_null(g, "cannot write in the working directory: %s", strerror(errno));
    fclose(g);
}
