/* Words for the numbers a page walk produces, so every test and benchmark message reads the
 * same: accesses, #PF error codes, levels, paging modes and outcomes. */
#ifndef VLAB_PW_FMT_H
#define VLAB_PW_FMT_H

#include <stddef.h>
#include <stdint.h>

#include "pagewalk.h"

/* "read", "write", "fetch", "user read", ...; "invalid access" for other bit sets. */
const char *pw_access_str(unsigned access);
/* "PML4E (level 4)" ... "PTE (level 1)". */
const char *pw_level_str(int level);
/* "VLAB_EPF", "VLAB_OK", ...; "error <n>" for unknown codes (uses buf). */
const char *pw_rc_name(int rc, char *buf, size_t len);
/* "0x7 (P W U)", "0x0 (none)". */
const char *pw_pf_str(uint32_t pf_error, char *buf, size_t len);
/* "4 KiB", "2 MiB", "1 GiB" or the number. */
const char *pw_size_str(uint64_t size, char *buf, size_t len);
/* "CR0.WP=1 EFER.NXE=0 CR4.SMEP=1 MAXPHYADDR=40". */
const char *pw_mode_str(const struct vlab_paging *pg, char *buf, size_t len);
/* One outcome of a translation: "gpa 0x1234 (4 KiB page)", "#PF error 0x7 (P W U) at PTE
 * (level 1)", "VLAB_ENONCANON (#GP)", "VLAB_ERANGE (...)". */
const char *pw_outcome_str(int rc, const struct pw_result *r, char *buf, size_t len);
/* The entries a walk read, one per line with its address and decoded bits, each line starting
 * with indent. levels entries at entry_gpa[]/entry[] (index 0 = PML4E). */
const char *pw_path_str(int levels, const uint64_t *entry_gpa, const uint64_t *entry,
                        const char *indent, char *buf, size_t len);

#endif
