/* Lab 1, Part 2: nested paging. Read labs/shadow/README.md §5 first; the interface is
 * harness/shadow/shadow.h. `make grade LAB=shadow` grades it. */
#include <stdbool.h>
#include <stdlib.h>

#include "shadow.h"

struct nested {
    struct sh_vm *vm;
    uint64_t root; /* machine address of the nested PML4 */
};

/* Task 6 (§5.2): an empty nested table; load its root with sh_hw_load_ncr3. */
int nested_create(struct sh_vm *vm, struct nested **out) {
    (void)vm;
    (void)out;
    return VLAB_ENOTIMPL; /* TODO */
}

void nested_destroy(struct nested *n) {
    free(n);
}

/* Task 7 (§5.3): map the 4 KiB page holding gpa (or its whole 2 MiB range, when the p2m maps
 * that range to one aligned 2 MiB machine range) to its machine address. */
int nested_fault(struct nested *n, uint64_t gpa, unsigned access) {
    (void)n;
    (void)gpa;
    (void)access;
    return VLAB_ENOTIMPL; /* TODO */
}

/* Task 6 (§5.1): the 2-D walk, every entry read with sh_mpa_read. */
int nested_walk(struct sh_vm *vm, uint64_t gcr3, uint64_t ncr3, uint64_t gva, unsigned access,
                struct nested_result *r) {
    (void)vm;
    (void)gcr3;
    (void)ncr3;
    (void)gva;
    (void)access;
    (void)r;
    return VLAB_ENOTIMPL; /* TODO */
}
