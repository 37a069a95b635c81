/* Resource limits other than memory and processes: a flood of output (kept to the first few
 * KiB), a file larger than RLIMIT_FSIZE, and a CPU burner stopped by RLIMIT_CPU before the
 * wall-clock limit. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

Test(limits, floods_output) {
    static char line[1024];
    memset(line, 'x', sizeof line - 1);
    line[sizeof line - 2] = '\n';
    for (int i = 0; i < 20 * 1024; i++) {
        fputs(line, stdout);
        fputs(line, stderr);
    }
    fflush(stdout);
    cr_assert(1);
}

Test(limits, big_file) {
    static char block[1 << 20];
    FILE *f = fopen("big", "w");
    cr_assert_not_null(f);
    for (int i = 0; i < 128; i++)
        fwrite(block, 1, sizeof block, f);
    fclose(f);
    cr_assert(1, "wrote 128 MiB");
}

Test(limits, burns_cpu) {
    for (volatile unsigned long i = 0;; i++)
        ;
}
