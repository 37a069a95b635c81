/* The control: graded right after the hostile labs, it must still come out exactly right. Its
 * failing test's message carries markup, quotes, a backslash, a control character and a second
 * line, which Criterion writes into its JSON unescaped and every report must escape. */
#include <criterion/criterion.h>
#include <stdio.h>

Test(good, pass_one) {
    cr_assert_eq(1 + 1, 2);
}

Test(good, pass_two) {
    printf("pass_two says hello\n");
    cr_assert_str_eq("vlab", "vlab");
}

Test(good, pass_three) {
    cr_assert(1);
}

Test(good, fails) {
    printf("output of the failing test\n");
    cr_assert_eq(41, 42,
                 "expected 42, got 41 <b>&\"quoted\"</b> C:\\temp \x01 ]]>\n"
                 "second line of the message");
}

Test(good, skipped) {
    cr_skip_test("not ready: see section 2");
}
