#include "pw_machine.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

void pw_machine_init(struct pw_machine *m, struct vlab_gpmem *mem) {
    memset(m, 0, sizeof *m);
    m->mem = mem;
}

void pw_machine_reset(struct pw_machine *m) {
    m->reads = m->writes = m->failed = 0;
    m->nrefs = 0;
}

bool pw_machine_trace_complete(const struct pw_machine *m) {
    return m->nrefs <= PW_TRACE_MAX;
}

static void record(struct pw_machine *m, uint64_t gpa, uint64_t val, int rc, bool write) {
    if (m->nrefs < PW_TRACE_MAX)
        m->ref[m->nrefs] = (struct pw_ref){.gpa = gpa, .val = val, .rc = rc, .write = write};
    m->nrefs++;
    if (rc != VLAB_OK)
        m->failed++;
    else if (write)
        m->writes++;
    else
        m->reads++;
}

/* Misalignment is refused rather than served: a correct walk never produces it, and a clean
 * error beats silently reading half of two entries. */
int pw_read_entry(struct pw_machine *m, uint64_t gpa, uint64_t *val) {
    if (!m || !val) return VLAB_EINVAL;
    uint64_t v = 0;
    int rc = (gpa & 7) ? VLAB_EINVAL : vlab_gpmem_read_u64(m->mem, gpa, &v);
    if (rc != VLAB_OK && rc != VLAB_EINVAL) rc = VLAB_ERANGE;
    record(m, gpa, v, rc, false);
    if (rc == VLAB_OK) *val = v;
    return rc;
}

int pw_write_entry(struct pw_machine *m, uint64_t gpa, uint64_t val) {
    if (!m) return VLAB_EINVAL;
    int rc = (gpa & 7) ? VLAB_EINVAL : vlab_gpmem_write_u64(m->mem, gpa, val);
    /* Only an address outside memory is ERANGE; a read-only region stays EINVAL. */
    if (rc != VLAB_OK && rc != VLAB_EINVAL) rc = VLAB_ERANGE;
    record(m, gpa, val, rc, true);
    return rc;
}

const char *pw_machine_trace_str(const struct pw_machine *m, char *buf, size_t len) {
    if (len == 0) return buf;
    buf[0] = '\0';
    if (m->nrefs == 0) {
        snprintf(buf, len, "no memory references");
        return buf;
    }
    size_t used = 0;
    unsigned shown = m->nrefs < PW_TRACE_MAX ? m->nrefs : PW_TRACE_MAX;
    for (unsigned i = 0; i < shown && used < len; i++) {
        const struct pw_ref *r = &m->ref[i];
        int n;
        if (r->rc != VLAB_OK)
            n = snprintf(buf + used, len - used, "%s%s %#" PRIx64 " failed (%s)", i ? ", " : "",
                         r->write ? "W" : "R", r->gpa, vlab_strerror(r->rc));
        else
            n = snprintf(buf + used, len - used, "%s%s %#" PRIx64 " %s %#" PRIx64, i ? ", " : "",
                         r->write ? "W" : "R", r->gpa, r->write ? "<-" : "->", r->val);
        if (n < 0) break;
        used += (size_t)n;
    }
    if (m->nrefs > shown && used < len)
        snprintf(buf + used, len - used, ", ... (%u references in all)", m->nrefs);
    return buf;
}
