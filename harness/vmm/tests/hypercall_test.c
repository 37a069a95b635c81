/* Task 4 (handout §5): para-virtual hypercalls through VMM_HC_PORT. */
#include <stdlib.h>

#include "vmm_test.h"

/* lines.bin prints its 16 lines through the UART (method 0) or one hypercall a line (1). */
static void run_lines(struct tvm *t, enum vlab_hv_kind kind, uint8_t method) {
    tvm_boot(t, kind, VMM_MODE_LONG, "lines.bin");
    cr_assert_eq(vlab_gpmem_write_u8(&t->vm.mem, 0x500, method), VLAB_OK);
    tvm_run(t);
    tvm_expect(t, VMM_EXITED, "§5");
}

static unsigned count_lines(const char *s) {
    unsigned n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

VMM_TEST(hc_console_write) {
    struct tvm t;
    run_lines(&t, kind, 1);
    const char *out = t.vm.console.buf;
    cr_assert(count_lines(out) == 16 && !strncmp(out, "00 Para", 7) && strstr(out, "15 The end.\n"),
              "expected the guest's 16 lines on the console, got \"%.300s\" (handout §5.1)", out);
    cr_assert_eq(t.res.code, 12,
                 "expected the last write to return its length (12), got %lld "
                 "(handout §5.1)",
                 (long long)t.res.code);
    /* Budget: one VM exit per line (16 hypercalls) and the exit port. */
    cr_assert(t.vm.hypercalls == 16 && tvm_total_exits(&t) == 17,
              "expected 16 hypercalls and 17 VM exits in all (one per line, then the exit port), "
              "got %llu hypercalls and %llu exits (handout §5.1)",
              (unsigned long long)t.vm.hypercalls, (unsigned long long)tvm_total_exits(&t));
    tvm_free(&t);
}

Test(vmm, hc_cheaper_than_uart) {
    struct tvm uart, hc;
    run_lines(&uart, VLAB_HV_UNICORN, 0);
    run_lines(&hc, VLAB_HV_UNICORN, 1);
    cr_assert_str_eq(hc.vm.console.buf, uart.vm.console.buf,
                     "expected the same text through the UART and through hypercalls (§5.1)");
    uint64_t bytes = uart.vm.console.total, eu = tvm_total_exits(&uart), eh = tvm_total_exits(&hc);
    cr_assert(eu >= 2 * bytes,
              "expected at least 2 exits per byte through the UART (LSR, THR): "
              "%llu bytes, %llu exits (handout §4.2)",
              (unsigned long long)bytes, (unsigned long long)eu);
    cr_assert(eh * 40 < eu,
              "expected the hypercall console to take under 1/40 of the UART's "
              "exits: %llu vs %llu (handout §5.1)",
              (unsigned long long)eh, (unsigned long long)eu);
    cr_log_info("%llu bytes: %llu exits through the UART, %llu through hypercalls",
                (unsigned long long)bytes, (unsigned long long)eu, (unsigned long long)eh);
    tvm_free(&uart);
    tvm_free(&hc);
}

VMM_TEST(hc_get_info_and_exit) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "hc_info.bin", VMM_EXITED, "§5.2");
    cr_assert_eq((int64_t)tvm_read_u64(&t, 0x700), -VMM_ENOSYS,
                 "expected hypercall 99 to return -ENOSYS (-38), got %lld (handout §5)",
                 (long long)tvm_read_u64(&t, 0x700));
    cr_assert_eq(tvm_read_u64(&t, 0x708), 0,
                 "expected VMM_HC_GET_INFO to return 0, got %lld "
                 "(handout §5.2)",
                 (long long)tvm_read_u64(&t, 0x708));
    struct vmm_info info;
    cr_assert_eq(vlab_gpmem_read(&t.vm.mem, 0x600, &info, sizeof info), VLAB_OK);
    cr_assert(info.ram_size == T_RAM && info.mode == VMM_MODE_LONG &&
                  info.backend == (uint32_t)kind && info.exits == 2,
              "expected vmm_info {ram_size %#llx, mode 2, backend %d, exits 2} at 0x600, got "
              "{%#llx, %u, %u, %llu} (handout §5.2)",
              (unsigned long long)T_RAM, (int)kind, (unsigned long long)info.ram_size, info.mode,
              info.backend, (unsigned long long)info.exits);
    cr_assert_eq(t.res.code, 0x102,
                 "expected VMM_HC_EXIT's code 0x102 in res.code, got %#llx "
                 "(handout §5.3)",
                 (unsigned long long)t.res.code);
    tvm_free(&t);
}

static const char *const hostile_calls[] = {
    "a console write straddling the end of RAM: -EFAULT",
    "a console write whose end wraps around 2^64: -EFAULT",
    "a console write from the block device's MMIO page: -EFAULT",
    "a console write of 4097 bytes: -EINVAL",
    "a console write wholly beyond RAM: -EFAULT",
    "a get-info into the last 8 bytes of RAM (the structure is 24): -EFAULT",
    "a console write of 0 bytes: 0",
};

VMM_TEST(hc_bad_pointers) {
    static const int64_t want[] = {
        -VMM_EFAULT, -VMM_EFAULT, -VMM_EFAULT, -VMM_EINVAL, -VMM_EFAULT, -VMM_EFAULT, 0};
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "hc_hostile.bin", VMM_EXITED, "§5.4");
    for (unsigned i = 0; i < 7; i++) {
        int64_t got = (int64_t)tvm_read_u64(&t, 0x800 + 8 * i);
        cr_assert_eq(got, want[i], "hypercall %u, %s, returned %lld (handout §5.4)", i,
                     hostile_calls[i], (long long)got);
    }
    cr_assert_eq(t.vm.console.total, 0,
                 "expected nothing printed by refused writes, got \"%s\" "
                 "(handout §5.4)",
                 t.vm.console.buf);
    tvm_free(&t);
}

/* The exact edges, without a guest: the last byte of RAM is fine, one more is not. */
Test(vmm, hc_bounds_exact) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    struct vlab_regs r = {0};
    uint64_t code = 0;
    cr_assert_eq(vlab_gpmem_write(&t.vm.mem, T_RAM - 5, "edge!", 5), VLAB_OK);
    r.rax = VMM_HC_CONSOLE_WRITE, r.rbx = T_RAM - 5, r.rcx = 5;
    cr_assert(!vmm_hypercall(&t.vm, &r, &code), "expected a console write not to stop the guest");
    cr_assert(r.rax == 5 && !strcmp(t.vm.console.buf, "edge!"),
              "expected the last 5 bytes of RAM written (RAX 5), got RAX %lld, console \"%s\" "
              "(handout §5.1)",
              (long long)r.rax, t.vm.console.buf);
    r.rax = VMM_HC_CONSOLE_WRITE, r.rbx = T_RAM - 5, r.rcx = 6;
    vmm_hypercall(&t.vm, &r, &code);
    cr_assert_eq((int64_t)r.rax, -VMM_EFAULT,
                 "expected -EFAULT for 6 bytes at RAM's last 5, got %lld (handout §5.4)",
                 (long long)r.rax);
    r.rax = VMM_HC_CONSOLE_WRITE, r.rbx = T_RAM + 0x1000, r.rcx = VMM_HC_MAX_WRITE + 1;
    vmm_hypercall(&t.vm, &r, &code);
    cr_assert_eq((int64_t)r.rax, -VMM_EINVAL,
                 "expected -EINVAL for a %u-byte write from outside RAM: the length is checked "
                 "before the pointer, got %lld (handout §5.1)",
                 VMM_HC_MAX_WRITE + 1, (long long)r.rax);
    r.rax = VMM_HC_CONSOLE_WRITE, r.rbx = 0, r.rcx = VMM_HC_MAX_WRITE;
    vmm_hypercall(&t.vm, &r, &code);
    cr_assert_eq(r.rax, VMM_HC_MAX_WRITE,
                 "expected a write of exactly %u bytes allowed, got "
                 "%lld (handout §5.1)",
                 VMM_HC_MAX_WRITE, (long long)r.rax);
    r.rax = VMM_HC_GET_INFO, r.rbx = T_RAM - sizeof(struct vmm_info);
    vmm_hypercall(&t.vm, &r, &code);
    cr_assert_eq(r.rax, 0, "expected get-info into RAM's last 24 bytes to work, got %lld (§5.2)",
                 (long long)r.rax);
    r.rax = VMM_HC_GET_INFO, r.rbx = T_RAM - sizeof(struct vmm_info) + 1;
    vmm_hypercall(&t.vm, &r, &code);
    cr_assert_eq((int64_t)r.rax, -VMM_EFAULT,
                 "expected -EFAULT for get-info one byte further, "
                 "got %lld (handout §5.4)",
                 (long long)r.rax);
    r.rax = VMM_HC_EXIT, r.rbx = 0x1234;
    cr_assert(vmm_hypercall(&t.vm, &r, &code) && code == 0x1234 && r.rax == 0,
              "expected VMM_HC_EXIT to return true with *code = 0x1234 and RAX 0, got code %#llx "
              "RAX %#llx (§5.3)",
              (unsigned long long)code, (unsigned long long)r.rax);
    r.rax = VMM_HC_EXIT, r.rbx = 0xfedcba9876543210ull;
    cr_assert(vmm_hypercall(&t.vm, &r, &code) && code == 0xfedcba9876543210ull,
              "expected a long-mode guest's VMM_HC_EXIT code whole, all 64 bits of RBX "
              "(0xfedcba9876543210), got %#llx (handout §5.3)",
              (unsigned long long)code);
    tvm_free(&t);

    /* Outside long mode only the low 32 bits of RAX, RBX and RCX are the guest's: the upper
     * halves are ignored, and a result is returned in EAX (RAX's upper half zero). */
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_PROTECTED);
    code = 0;
    r.rax = 0xdead000000000000ull | VMM_HC_EXIT, r.rbx = 0xffffffff12345678ull;
    cr_assert(vmm_hypercall(&t.vm, &r, &code) && code == 0x12345678,
              "expected a protected-mode VMM_HC_EXIT with RAX %#llx, RBX %#llx to stop the guest "
              "with code 0x12345678 (EAX and EBX), got code %#llx (handout §5)",
              0xdead000000000000ull | VMM_HC_EXIT, 0xffffffff12345678ull, (unsigned long long)code);
    r.rax = 99;
    cr_assert(!vmm_hypercall(&t.vm, &r, &code) && r.rax == (uint32_t)-VMM_ENOSYS,
              "expected hypercall 99 from a protected-mode guest to return -ENOSYS in EAX "
              "(RAX %#x), got RAX %#llx (handout §5)",
              (uint32_t)-VMM_ENOSYS, (unsigned long long)r.rax);
    tvm_free(&t);
}

VMM_TEST(hc_elf_guest) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "hello_c.elf", VMM_EXITED, "§5");
    cr_assert_str_eq(t.vm.console.buf,
                     "Hello from C in long mode!\nRAM: 0x0000000000400000 bytes\n",
                     "expected the C guest's two lines, got \"%s\" (handout §5)", t.vm.console.buf);
    cr_assert_eq(t.res.code, 0xc0de, "expected exit code 0xc0de, got %#llx (handout §5.3)",
                 (unsigned long long)t.res.code);
    cr_assert_eq(tvm_total_exits(&t), 4,
                 "expected 4 VM exits (3 hypercalls and the exit), got "
                 "%llu (handout §5)",
                 (unsigned long long)tvm_total_exits(&t));
    tvm_free(&t);
}
