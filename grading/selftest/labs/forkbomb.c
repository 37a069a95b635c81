/* A fork bomb: only the process limit stands between it and the machine. */
#include <criterion/criterion.h>
#include <unistd.h>

Test(forkbomb, bomb) {
    for (;;)
        fork();
}
