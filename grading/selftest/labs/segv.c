/* Crashes of every kind: in the test (Criterion reports it), and of the runner itself, which
 * then reports nothing. The passing test proves one crash costs only its own points. */
#include <criterion/criterion.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

Test(segv, null_deref) {
    volatile int *p = NULL;
    *p = 1;
}

Test(segv, aborts) {
    abort();
}

Test(segv, kills_runner) {
    /* the runner (our parent) dies before writing any report */
    kill(getppid(), SIGSEGV);
    pause();
}

Test(segv, passes) {
    cr_assert(1);
}
