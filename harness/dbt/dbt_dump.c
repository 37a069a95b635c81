/* The debugging view of lab dbt (handout §10): with VLAB_DBT_DUMP=file, every translated run
 * appends to that file each CCF the translator reports, disassembled next to the guest block
 * it came from, and the other things it does to the TC (chains and unchains as dbt_tc_sync
 * sees them, flushes, invalidations). The student's own runs, as the tests make them. */
#define _GNU_SOURCE
#include "dbt_vm.h"

#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>

void dbt_dump_open(struct dbt_vm *vm) {
    const char *path = getenv("VLAB_DBT_DUMP");
    /* not the reruns dbt_vm_compare makes to find a memory difference: the file has those */
    if (!path || !*path || vm->dump || vm->cfg.ram_copy_at) return;
    vm->dump = fopen(path, "a");
    if (!vm->dump) return;
    if (vm->cfg.guest)
        fprintf(vm->dump, "==== translated run of guest %s, TC of %u bytes\n", vm->cfg.guest,
                vm->tc_size);
    else
        fprintf(vm->dump, "==== translated run of a generated guest (%zu bytes), TC of %u bytes\n",
                vm->cfg.code_len, vm->tc_size);
}

void dbt_dump_close(struct dbt_vm *vm) {
    if (!vm->dump) return;
    fprintf(vm->dump, "==== end of run: %s\n\n", vm->rc == VLAB_OK ? "ok" : vm->err);
    fclose(vm->dump);
    vm->dump = NULL;
}

/* A name for an absolute address in the VMM page, as the CCFs use them. */
static const char *vp_field(uint32_t a, char *buf, size_t len) {
    static const struct {
        uint32_t off;
        const char *name;
    } f[] = {
        {offsetof(struct dbt_vpage, vif), "vif"},
        {offsetof(struct dbt_vpage, viopl), "viopl"},
        {offsetof(struct dbt_vpage, pending), "pending"},
        {offsetof(struct dbt_vpage, exit_reason), "exit_reason"},
        {offsetof(struct dbt_vpage, exit_pc), "exit_pc"},
        {offsetof(struct dbt_vpage, exit_stub), "exit_stub"},
        {offsetof(struct dbt_vpage, target), "target"},
    };
    if (a < DBT_VPAGE || a >= DBT_VPAGE + DBT_PAGE) return NULL;
    uint32_t off = a - DBT_VPAGE;
    for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
        if (off == f[i].off) return f[i].name;
    if (off >= offsetof(struct dbt_vpage, save) && off < offsetof(struct dbt_vpage, spare))
        snprintf(buf, len, "save[%u]", (off - (uint32_t)offsetof(struct dbt_vpage, save)) / 4);
    else if (off >= offsetof(struct dbt_vpage, ibtl))
        snprintf(buf, len, "ibtl+%#x", off - (uint32_t)offsetof(struct dbt_vpage, ibtl));
    else
        snprintf(buf, len, "vpage+%#x", off);
    return buf;
}

/* Disassembles the instructions that start in [addr, addr + len) from p (avail bytes readable),
 * one line each, with `prefix`; for the TC, marks the places the CCF map names and the
 * VMM-page fields each instruction touches. */
static void listing(struct dbt_vm *vm, const char *prefix, const uint8_t *p, uint32_t avail,
                    uint32_t len, uint32_t addr, const struct dbt_insn_map *map, uint32_t nmap) {
    cs_insn *in = cs_malloc(vm->cs);
    const uint8_t *code = p;
    size_t size = avail;
    uint64_t a = addr;
    while (size > 0 && a < (uint64_t)addr + len) {
        uint32_t at = (uint32_t)a;
        for (uint32_t i = 0; map && i < nmap; i++)
            if (map[i].tc == at) {
                if (map[i].guest_pc == DBT_MAP_TARGET)
                    fprintf(vm->dump, "%19s; map: here the guest is at VP(target)\n", "");
                else
                    fprintf(vm->dump, "%19s; map: here the guest is at %#x\n", "", map[i].guest_pc);
            }
        if (!cs_disasm_iter(vm->cs, &code, &size, &a, in)) {
            fprintf(vm->dump, "  %s %#010x  %02x                       (not an instruction)\n",
                    prefix, at, *code);
            code++, size--, a++;
            continue;
        }
        char hex[3 * 16 + 1] = "";
        for (unsigned i = 0; i < in->size && i < 10; i++)
            snprintf(hex + 3 * i, sizeof hex - 3 * i, "%02x ", in->bytes[i]);
        char note[64] = "", fb[24];
        const cs_x86 *x = &in->detail->x86;
        for (int i = 0; i < x->op_count; i++) {
            const cs_x86_op *op = &x->operands[i];
            uint32_t v = op->type == X86_OP_MEM && op->mem.base == X86_REG_INVALID
                             ? (uint32_t)op->mem.disp
                         : op->type == X86_OP_IMM ? (uint32_t)op->imm
                                                  : 0;
            const char *name = vp_field(v, fb, sizeof fb);
            if (name) {
                snprintf(note, sizeof note, "  ; VP(%s)", name);
                break;
            }
        }
        fprintf(vm->dump, "  %s %#010x  %-30s %s %s%s\n", prefix, at, hex, in->mnemonic, in->op_str,
                note);
    }
    cs_free(in, 1);
}

void dbt_dump_ccf(struct dbt_vm *vm, uint32_t guest_pc, uint32_t guest_len, uint32_t ninsns,
                  uint32_t ccf, uint32_t ccf_len, const struct dbt_insn_map *map, uint32_t nmap) {
    if (!vm->dump) return;
    fprintf(vm->dump,
            "---- CCF %#x (%u bytes) for guest [%#x, %#x) (%u instructions), %u map lines\n", ccf,
            ccf_len, guest_pc, guest_pc + guest_len, ninsns, nmap);
    if (guest_pc < DBT_RAM_SIZE) {
        uint32_t n = guest_len < DBT_RAM_SIZE - guest_pc ? guest_len : DBT_RAM_SIZE - guest_pc;
        listing(vm, "guest", vm->ram + guest_pc, DBT_RAM_SIZE - guest_pc, n, guest_pc, NULL, 0);
    }
    if (ccf >= DBT_TC_BASE && ccf_len <= vm->tc_size && ccf - DBT_TC_BASE <= vm->tc_size - ccf_len)
        listing(vm, "tc   ", vm->tc + (ccf - DBT_TC_BASE), ccf_len, ccf_len, ccf, map, nmap);
    fflush(vm->dump);
}

void dbt_dump_sync(struct dbt_vm *vm, uint32_t tc_addr, uint32_t len) {
    if (!vm->dump) return;
    fprintf(vm->dump, "---- dbt_tc_sync(%#x, %u): now\n", tc_addr, len);
    /* an unchain puts back the start of a longer instruction: show the instructions whole */
    listing(vm, "tc   ", vm->tc + (tc_addr - DBT_TC_BASE), vm->tc_size - (tc_addr - DBT_TC_BASE),
            len, tc_addr, NULL, 0);
}

void dbt_dump_event(struct dbt_vm *vm, const char *what, uint32_t arg) {
    if (vm->dump) fprintf(vm->dump, "---- %s(%#x)\n", what, arg);
}
