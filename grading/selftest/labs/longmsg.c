/* A failing test whose message is longer than the terminal shows: the terminal must say which
 * file has the rest. */
#include <criterion/criterion.h>

Test(longmsg, seven_lines) {
    cr_assert_fail("line 1\nline 2\nline 3\nline 4\nline 5\nline 6\nline 7");
}
