/* Imitates Criterion's runner failing to spawn its worker: the first run with --filter prints
 * the runner's message and exits before any test starts; later runs behave. The grader must
 * run the test again instead of charging the student. FLAKY_STATE names a world-writable
 * directory that remembers the first run across the grader's private temp dirs. */
#include <criterion/criterion.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

__attribute__((constructor)) static void flake_once(int argc, char **argv) {
    const char *state = getenv("FLAKY_STATE");
    bool filtered = false;
    for (int i = 1; i < argc; i++)
        filtered |= strncmp(argv[i], "--filter", 8) == 0;
    if (!state || !filtered) return;
    char path[4096];
    snprintf(path, sizeof path, "%s/flaked", state);
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL, 0666);
    if (fd < 0) return; /* already flaked once */
    close(fd);
    fprintf(stderr, "criterion: Could not spawn test instance: Protocol error\n");
    _exit(1);
}

Test(flaky, passes_after_a_runner_flake) {
    cr_assert(1);
}
