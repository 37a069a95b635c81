/* libFuzzer harness: the rubric parser on arbitrary bytes (grading/fuzz.sh runs it). A rubric
 * comes from the instructor, but on a hosted grader a malformed one must still be an error
 * message, never a crash. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "rubric.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size == 0) return 0; /* fmemopen refuses an empty buffer */
    FILE *f = fmemopen((void *)data, size, "r");
    if (!f) return 0;
    struct rubric r;
    if (rubric_read(f, "fuzz", "lab", &r) == 0) {
        for (size_t i = 0; i < r.ntests; i++)
            (void)rubric_selects("a* *_b", r.tests[i].name);
        rubric_keep(&r, "t* x");
        rubric_free(&r);
    }
    fclose(f);
    return 0;
}
