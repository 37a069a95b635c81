/* A lab that passes in full (with one skip): what --expect full must accept. */
#include <criterion/criterion.h>

Test(clean, first) {
    cr_assert(1);
}
Test(clean, second) {
    cr_assert_eq(2 * 2, 4);
}
Test(clean, later) {
    cr_skip_test("needs a later lab");
}
