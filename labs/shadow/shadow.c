/* Lab 1, Part 1: shadow paging. This file and nested.c are the only files you edit.
 * Read labs/shadow/README.md (the handout) first; "§n" below refers to its sections, and the
 * interface is harness/shadow/shadow.h. `make grade LAB=shadow` grades it. */
#include <stdbool.h>
#include <stdlib.h>

#include "shadow.h"

/* Your VMM's state. A suggestion (§2.1, §2.5): one record per shadow page, keyed by the guest
 * table frame it shadows and its level, found through a hash table, each with a host copy of
 * its 512 entries (so you can scan them without memory references); the current root. */
struct shadow {
    struct sh_vm *vm;
    uint64_t gcr3;
};

/* Task 1 (§2). Allocate your state; nothing is shadowed until the first shadow_set_cr3. */
int shadow_create(struct sh_vm *vm, struct shadow **out) {
    (void)vm;
    (void)out;
    return VLAB_ENOTIMPL; /* TODO */
}

void shadow_destroy(struct shadow *s) {
    free(s);
}

/* Task 1 (§2.1, §2.5). Find (or build) the shadow root for the guest's PML4 at gcr3 and load it
 * with sh_hw_load_cr3. Out of table frames? Reclaim (§2.6) and try again. */
int shadow_set_cr3(struct shadow *s, uint64_t gcr3) {
    (void)s;
    (void)gcr3;
    return VLAB_ENOTIMPL; /* TODO */
}

/* Tasks 1-3. An outline:
 *   walk the guest's tables for f->gva (sh_guest_walk, a probe)
 *   the guest's own MMU would fault?      -> SH_INJECT with its error code, CR2 = gva   (§2.2)
 *   a write to a frame you shadow?        -> emulate it: SH_EMULATED                    (§3.2)
 *   otherwise a hidden fault: walk again setting the guest's A/D (§4), build the shadow
 *   path for gva (shadow entries hold machine addresses, §1.2; leaves of guest page tables and
 *   of clean pages are read-only, §3.1, §4)  -> SH_RETRY                               (§2.3) */
int shadow_page_fault(struct shadow *s, const struct sh_fault *f, struct sh_fault_out *out) {
    (void)s;
    (void)f;
    (void)out;
    return VLAB_ENOTIMPL; /* TODO */
}

/* Task 1 (§2.4). Task 9 (§8, only when sh_oos_enabled(vm)): a PT-level table the kernel writes
 * may be left writable (out of sync) instead of emulating each write; resync it here and in
 * shadow_set_cr3. */
int shadow_invlpg(struct shadow *s, uint64_t gva) {
    (void)s;
    (void)gva;
    return VLAB_ENOTIMPL; /* TODO */
}
