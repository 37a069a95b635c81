/* Lab 0 (pagewalk): the x86-64 4-level page walk in software.
 *
 * This is the whole interface between your code (labs/pagewalk/pagewalk.c) and the tests.
 * You implement pw_translate(); the harness provides the two functions that read and write
 * guest-physical memory. The handout is labs/pagewalk/README.md; section numbers (§) below
 * refer to it. */
#ifndef VLAB_PAGEWALK_H
#define VLAB_PAGEWALK_H

#include <stdint.h>

#include "vlab/err.h"
#include "vlab/pt.h"  /* struct vlab_paging, VLAB_ACC_* */
#include "vlab/x86.h" /* X86_PTE_*, X86_PF_*, X86_CR0_*, X86_CR4_*, X86_EFER_*, x86_pt_index */

/* The guest machine whose memory holds the page tables. Opaque to you on purpose: every
 * page-table entry you read or write goes through pw_read_entry()/pw_write_entry(), which count
 * the references (§6) and catch addresses outside guest memory (§2.5). */
struct pw_machine;

/* Reads the 8-byte entry at guest-physical address gpa into *val.
 * Returns VLAB_OK, VLAB_ERANGE if gpa is outside guest memory, or VLAB_EINVAL if gpa is not
 * 8-byte aligned (a bug in your address arithmetic: entries are always aligned). */
int pw_read_entry(struct pw_machine *m, uint64_t gpa, uint64_t *val);
/* Writes the 8-byte entry at gpa; the same return values, and VLAB_EINVAL too when the page
 * tables lie in read-only guest memory. Used only to set A/D bits (§5). */
int pw_write_entry(struct pw_machine *m, uint64_t gpa, uint64_t val);

/* What a translation produced. */
struct pw_result {
    /* on VLAB_OK */
    uint64_t gpa;       /* the guest-physical address gva maps to */
    uint64_t page_size; /* of the leaf that mapped it: X86_PAGE_SIZE, X86_PAGE_2M or X86_PAGE_1G */
    /* on VLAB_EPF */
    uint32_t pf_error; /* the exact #PF error code: X86_PF_P | X86_PF_W | ... (§2.4, §3, §4) */
    int fault_level;   /* the entry that faulted: 4 = PML4E, 3 = PDPTE, 2 = PDE, 1 = PTE */
};

/* Translates the guest-virtual address gva as the CPU would for one access.
 *   pg      the paging state: CR0 (WP), CR4 (SMEP), EFER (NXE) and MAXPHYADDR (0 means 52).
 *           The tests only pass 4-level long-mode states (CR0.PG, CR4.PAE, EFER.LMA set;
 *           no LA57, PKE or SMAP), with maxphyaddr 0 or 36..52.
 *   cr3     the root: the PML4 is at bits MAXPHYADDR-1:12 of cr3; the other bits are ignored.
 *   access  VLAB_ACC_READ (0), VLAB_ACC_WRITE or VLAB_ACC_FETCH, OR-ed with VLAB_ACC_USER for
 *           an access made at CPL 3. These are the #PF error-code bits W, I and U.
 * Returns
 *   VLAB_OK        out->gpa, out->page_size set; A/D bits updated (§5)
 *   VLAB_EPF       out->pf_error, out->fault_level set; guest memory unchanged
 *   VLAB_ENONCANON gva is not canonical: the CPU raises #GP, not #PF, and walks nothing (§2.1)
 *   any error pw_read_entry() or pw_write_entry() returned, unchanged (§2.5)
 * The other fields of *out are unspecified. Never call pw_read_entry() twice for one entry in a
 * walk, and write an entry back only if its value changed (§6). */
int pw_translate(struct pw_machine *m, const struct vlab_paging *pg, uint64_t cr3, uint64_t gva,
                 unsigned access, struct pw_result *out);

#endif
