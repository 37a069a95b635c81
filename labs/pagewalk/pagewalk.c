/* Lab 0: the x86-64 4-level page walk. This is the only file you edit.
 * Read labs/pagewalk/README.md (the handout) first; "§n" below refers to its sections, and the
 * interface you implement is harness/pagewalk/pagewalk.h. `make grade LAB=pagewalk` grades it. */
#include "pagewalk.h"

#include <stdbool.h>

/* Suggested helpers: rename, change or delete them as you like (`static inline` keeps an
 * unused one from tripping -Werror). */

/* Task 2 (§3 Reserved bits): the bits that must be 0 in a present entry at this level. */
static inline uint64_t reserved_mask(const struct vlab_paging *pg, int level, uint64_t entry) {
    (void)pg;
    (void)level;
    (void)entry;
    return 0; /* TODO: bits 51:MAXPHYADDR, XD without EFER.NXE, PS in a PML4E, ... */
}

/* Task 3 (§4 Permissions): may this access go ahead, given the rights combined over the
 * levels walked (R/W and U/S of every entry, XD of any)? */
static inline bool access_allowed(const struct vlab_paging *pg, unsigned access, bool writable,
                                  bool user_page, bool exec_disabled) {
    (void)pg;
    (void)access;
    (void)writable;
    (void)user_page;
    (void)exec_disabled;
    return true; /* TODO */
}

/* Task 1 (§2 The walk), then Tasks 2-4 inside it. An outline:
 *   non-canonical gva?                               -> VLAB_ENONCANON               (§2.1)
 *   table = the PML4's address from cr3
 *   for level 4, 3, 2, 1:
 *       read the entry for gva at this level with pw_read_entry (pass errors up)  (§2.2, §2.5)
 *       not present?                                 -> #PF at this level            (§2.4)
 *       reserved bits set?                           -> #PF with RSVD               (§3)
 *       combine its R/W, U/S, XD into the rights so far                             (§4)
 *       a leaf (PTE, or PS=1 in a PDE/PDPTE)?        -> stop; else follow it to the next table
 *   rights forbid the access?                        -> #PF with P at the leaf's level (§4)
 *   set A in every entry used, D in the leaf for a write (once each, only if changed) (§5)
 *   out->gpa = the leaf's frame + gva's offset in the page; out->page_size       (§2.3)
 * Read each entry once and keep it: the budget test counts your references (§6). */
int pw_translate(struct pw_machine *m, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva,
                 unsigned access, struct pw_result *out) {
    (void)m;
    (void)pg;
    (void)cr3;
    (void)gva;
    (void)access;
    (void)out;
    (void)reserved_mask; /* "used", until your walk calls them */
    (void)access_allowed;
    return VLAB_ENOTIMPL; /* TODO: delete this line and write the walk */
}
