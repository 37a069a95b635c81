#include "pw_fmt.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

const char *pw_access_str(unsigned access) {
    static const char *const name[] = {
        [VLAB_ACC_READ] = "supervisor read",
        [VLAB_ACC_WRITE] = "supervisor write",
        [VLAB_ACC_FETCH] = "supervisor fetch",
        [VLAB_ACC_USER | VLAB_ACC_READ] = "user read",
        [VLAB_ACC_USER | VLAB_ACC_WRITE] = "user write",
        [VLAB_ACC_USER | VLAB_ACC_FETCH] = "user fetch",
    };
    if (access < sizeof name / sizeof name[0] && name[access]) return name[access];
    return "invalid access";
}

const char *pw_level_str(int level) {
    switch (level) {
    case 4: return "PML4E (level 4)";
    case 3: return "PDPTE (level 3)";
    case 2: return "PDE (level 2)";
    case 1: return "PTE (level 1)";
    default: return "no level (expected 1..4)";
    }
}

const char *pw_rc_name(int rc, char *buf, size_t len) {
    switch (rc) {
    case VLAB_OK: return "VLAB_OK";
    case VLAB_EINVAL: return "VLAB_EINVAL";
    case VLAB_ENOMEM: return "VLAB_ENOMEM";
    case VLAB_ERANGE: return "VLAB_ERANGE";
    case VLAB_EPF: return "VLAB_EPF";
    case VLAB_ENONCANON: return "VLAB_ENONCANON";
    case VLAB_ENOTIMPL: return "VLAB_ENOTIMPL";
    case VLAB_EIO: return "VLAB_EIO";
    case VLAB_EUNSUPP: return "VLAB_EUNSUPP";
    case VLAB_EEXIST: return "VLAB_EEXIST";
    case VLAB_ENOENT: return "VLAB_ENOENT";
    default: snprintf(buf, len, "return value %d (not a vlab error code)", rc); return buf;
    }
}

const char *pw_pf_str(uint32_t pf_error, char *buf, size_t len) {
    static const struct {
        uint32_t bit;
        const char *name;
    } bits[] = {{X86_PF_P, "P"}, {X86_PF_W, "W"},   {X86_PF_U, "U"},  {X86_PF_RSVD, "RSVD"},
                {X86_PF_I, "I"}, {X86_PF_PK, "PK"}, {X86_PF_SS, "SS"}};
    int n = snprintf(buf, len, "%#x (", pf_error);
    size_t used = n > 0 ? (size_t)n : 0;
    bool any = false;
    for (size_t i = 0; i < sizeof bits / sizeof bits[0] && used < len; i++) {
        if (!(pf_error & bits[i].bit)) continue;
        n = snprintf(buf + used, len - used, "%s%s", any ? " " : "", bits[i].name);
        used += n > 0 ? (size_t)n : 0;
        any = true;
    }
    uint32_t known =
        X86_PF_P | X86_PF_W | X86_PF_U | X86_PF_RSVD | X86_PF_I | X86_PF_PK | X86_PF_SS;
    if (used < len && (pf_error & ~known)) {
        n = snprintf(buf + used, len - used, "%sunknown bits", any ? " " : "");
        used += n > 0 ? (size_t)n : 0;
        any = true;
    }
    if (used < len) snprintf(buf + used, len - used, "%s)", any ? "" : "none");
    return buf;
}

const char *pw_size_str(uint64_t size, char *buf, size_t len) {
    if (size == X86_PAGE_SIZE) return "4 KiB";
    if (size == X86_PAGE_2M) return "2 MiB";
    if (size == X86_PAGE_1G) return "1 GiB";
    snprintf(buf, len, "%#" PRIx64 " bytes (not a page size)", size);
    return buf;
}

const char *pw_mode_str(const struct vlab_paging *pg, char *buf, size_t len) {
    snprintf(buf, len, "CR0.WP=%d EFER.NXE=%d CR4.SMEP=%d MAXPHYADDR=%u", !!(pg->cr0 & X86_CR0_WP),
             !!(pg->efer & X86_EFER_NXE), !!(pg->cr4 & X86_CR4_SMEP),
             pg->maxphyaddr ? pg->maxphyaddr : 52);
    return buf;
}

const char *pw_outcome_str(int rc, const struct pw_result *r, char *buf, size_t len) {
    char a[64], b[64];
    switch (rc) {
    case VLAB_OK:
        snprintf(buf, len, "success: gpa %#" PRIx64 " in a %s page", r->gpa,
                 pw_size_str(r->page_size, a, sizeof a));
        break;
    case VLAB_EPF:
        snprintf(buf, len, "#PF with error code %s at the %s", pw_pf_str(r->pf_error, a, sizeof a),
                 pw_level_str(r->fault_level));
        break;
    case VLAB_ENONCANON: snprintf(buf, len, "VLAB_ENONCANON (#GP: non-canonical address)"); break;
    case VLAB_ERANGE:
        snprintf(buf, len, "VLAB_ERANGE (a paging entry lies outside guest memory)");
        break;
    default: snprintf(buf, len, "%s (%s)", pw_rc_name(rc, b, sizeof b), vlab_strerror(rc)); break;
    }
    return buf;
}

const char *pw_path_str(int levels, const uint64_t *entry_gpa, const uint64_t *entry,
                        const char *indent, char *buf, size_t len) {
    static const char *const name[] = {"PML4E", "PDPTE", "PDE  ", "PTE  "};
    size_t used = 0;
    if (len) buf[0] = '\0';
    for (int i = 0; i < levels && i < 4 && used < len; i++) {
        char bits[96];
        int n = snprintf(buf + used, len - used, "%s%s at gpa %#" PRIx64 ": %s%s", indent, name[i],
                         entry_gpa[i], vlab_pte_str(entry[i], bits, sizeof bits),
                         i + 1 < levels ? "\n" : "");
        if (n < 0) break;
        used += (size_t)n;
    }
    return buf;
}
