/* Tests that never finish: per-test wall-clock limit, then the lab's own limit. */
#include <criterion/criterion.h>
#include <unistd.h>

Test(hang, spin) {
    for (volatile unsigned long i = 0;; i++)
        ;
}

Test(hang, sleeps) {
    sleep(100000);
}

Test(hang, spin_again) {
    for (volatile unsigned long i = 0;; i++)
        ;
}

Test(hang, not_started) {
    cr_assert(1);
}
