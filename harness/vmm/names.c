/* Names for modes and outcomes, and the exit histogram the tool prints. */
#include <string.h>
#include <strings.h>

#include "vmm.h"

static const char *const mode_names[] = {"real", "protected", "long"};
static const char *const outcome_names[VMM_OUTCOMES] = {
    "exited",           "halted",   "shutdown (triple fault)", "entry failed", "internal error",
    "watchdog timeout", "bad MMIO", "limit reached",           "VMM error",
};

const char *vmm_mode_name(enum vmm_mode mode) {
    return (unsigned)mode < 3 ? mode_names[mode] : "?";
}

int vmm_mode_parse(const char *name, enum vmm_mode *mode) {
    for (unsigned i = 0; i < 3; i++)
        if (name && !strcasecmp(name, mode_names[i])) {
            *mode = (enum vmm_mode)i;
            return VLAB_OK;
        }
    return VLAB_EINVAL;
}

const char *vmm_outcome_name(enum vmm_outcome outcome) {
    return (unsigned)outcome < VMM_OUTCOMES ? outcome_names[outcome] : "?";
}

void vmm_print_exits(const struct vmm *vm, FILE *out) {
    uint64_t total = 0;
    for (unsigned r = 0; r <= VLAB_EXIT_TIMEOUT; r++)
        total += vm->exits[r];
    fprintf(out, "VM exits: %llu\n", (unsigned long long)total);
    for (unsigned r = 0; r <= VLAB_EXIT_TIMEOUT; r++)
        if (vm->exits[r])
            fprintf(out, "  %-16s %10llu  %5.1f%%\n", vlab_exit_name((enum vlab_exit_reason)r),
                    (unsigned long long)vm->exits[r], 100.0 * (double)vm->exits[r] / (double)total);
    if (vm->hypercalls)
        fprintf(out, "  of which hypercalls %llu\n", (unsigned long long)vm->hypercalls);
    if (vm->unknown_io)
        fprintf(out, "  on unknown ports    %llu\n", (unsigned long long)vm->unknown_io);
}

void vmm_trace_exit(const struct vmm *vm, const struct vlab_exit *exit) {
    if (!vm->cfg.trace) return;
    char line[256];
    vlab_exit_str(exit, line, sizeof line);
    fprintf(vm->cfg.trace, "exit %llu: %s\n", (unsigned long long)vlab_hv_exit_count(vm->vcpu),
            line);
}
