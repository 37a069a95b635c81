/* libFuzzer harness: the readers of what a test binary prints, which student code controls —
 * Criterion's --list tree and its JSON report, read by their fixed layout (grading/src/crit.h). */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "crit.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    char *text = malloc(size + 1);
    if (!text) return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    struct crit_list l;
    if (crit_parse_list(text, "lab", &l) == 0) (void)crit_list_has(&l, "t");
    crit_list_free(&l);
    struct crit_entry e;
    if (crit_find_test(text, "lab", "t", &e)) free(e.message);
    free(text);
    return 0;
}
