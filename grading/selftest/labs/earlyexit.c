/* Tests whose process ends before the test does, as student code could end it: Criterion
 * reports a worker that exits with status 0 as PASSED, so only the completion record
 * (harness/lib/complete.c) tells the grader these never reached their last check. */
#define _GNU_SOURCE
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

/* stands for a student function the test calls before its assertions */
static int __attribute__((noinline)) student(int how) {
    switch (how) {
    case 0: exit(0);
    case 1: _exit(0);
    case 2: syscall(SYS_exit_group, 0); break;
    case 3: __asm__ volatile("mov $231, %%eax\n\txor %%edi, %%edi\n\tsyscall" ::: "rax", "rdi");
    }
    return 42;
}

Test(earlyexit, calls_exit) {
    cr_assert_eq(student(0), 42);
}

Test(earlyexit, calls_underscore_exit) {
    cr_assert_eq(student(1), 42);
}

Test(earlyexit, exit_group_syscall) {
    cr_assert_eq(student(2), 42);
}

Test(earlyexit, exit_group_raw_instruction) {
    cr_assert_eq(student(3), 42);
}

static void *exiter(void *arg) {
    (void)arg;
    exit(0);
}

Test(earlyexit, thread_exits_process) {
    pthread_t t;
    pthread_create(&t, NULL, exiter, NULL);
    pthread_join(t, NULL);
    cr_assert_eq(student(4), 42);
}

/* the child returns through the test and its teardown; the test's own process then ends */
Test(earlyexit, forked_child_finishes_instead) {
    pid_t pid = fork();
    if (pid > 0) {
        waitpid(pid, NULL, 0);
        _exit(0);
    }
    cr_assert_eq(student(4), 42);
}

Test(earlyexit, fails_then_exits_1) {
    cr_expect_eq(student(4), 41, "student() returned 42, expected 41");
    exit(1);
}

/* the control: a child that exits is not the test ending */
Test(earlyexit, child_exit_is_fine) {
    pid_t pid = fork();
    if (pid == 0) exit(3);
    int st = 0;
    waitpid(pid, &st, 0);
    cr_assert(WIFEXITED(st) && WEXITSTATUS(st) == 3);
    cr_assert_eq(student(4), 42);
}

/* what a hostile test could do with the record's file and token if it found them in its
 * environment or /proc/self/environ: the harness takes both out of there when the test starts */
Test(earlyexit, forges_the_record) {
    char *path = getenv("VLAB_DONE"), *tok = getenv("VLAB_DONE_TOKEN");
    char env[65536] = "";
    FILE *e = fopen("/proc/self/environ", "r");
    size_t n = e ? fread(env, 1, sizeof env - 1, e) : 0;
    if (e) fclose(e);
    for (size_t i = 0; i < n;) {
        char *kv = env + i;
        if (!tok && strncmp(kv, "VLAB_DONE_TOKEN=", 16) == 0 && kv[16]) tok = kv + 16;
        if (!path && strncmp(kv, "VLAB_DONE=", 10) == 0 && kv[10]) path = kv + 10;
        i += strlen(kv) + 1;
    }
    if (path && tok) {
        FILE *f = fopen(path, "a");
        if (f) fprintf(f, "done earlyexit/forges_the_record %s\n", tok), fclose(f);
    }
    exit(0);
}
