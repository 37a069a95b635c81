/* A binary whose listing of its tests goes wrong as LISTER says (the grader passes the
 * environment on): "hang" never ends, "exit" exits 3, "noise" prints no test list; unset, it
 * lists its tests, of which `off` and the one-letter `z` are disabled (Criterion lists them
 * with " (skipped)" after the name). */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void misbehave(int argc, char **argv) {
    const char *mode = getenv("LISTER");
    bool listing = false;
    for (int i = 1; i < argc; i++)
        listing |= strcmp(argv[i], "--list") == 0;
    if (!listing || !mode) return;
    if (strcmp(mode, "hang") == 0)
        for (;;)
            pause();
    if (strcmp(mode, "exit") == 0) _exit(3);
    if (strcmp(mode, "noise") == 0) {
        puts("no tests here");
        exit(0);
    }
}

Test(lister, shown) {
    cr_assert(1);
}
Test(lister, off, .disabled = true) {
    cr_assert(0);
}
Test(lister, z, .disabled = true) {
    cr_assert(0);
}
Test(lister, prints) {
    /* a stray byte; an encoded surrogate (U+D800) and U+FFFF, neither allowed in text; a
     * no-break space (U+00A0, just past the C1 controls that are dropped) that stays */
    printf("é, \xff, \xed\xa0\x80, \xef\xbf\xbf, a\xc2\xa0z and CRLF\r\nend\r\n");
}
/* The grader starts the runner in a session of its own (no controlling terminal, one process
 * group to kill); Criterion forks this worker from it. */
Test(lister, own_session) {
    pid_t runner = getppid();
    cr_assert_eq(getsid(runner), runner, "the runner %d is in session %d, not its own", (int)runner,
                 (int)getsid(runner));
}
