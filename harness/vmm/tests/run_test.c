/* Task 3 (handout §4): the run loop, the UART, the exit port and the block device. */
#include "vmm_test.h"

VMM_TEST(run_compute) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "compute.bin", VMM_HALTED, "§4.5");
    struct vlab_regs r;
    cr_assert_eq(vlab_hv_get_regs(t.vm.vcpu, &r), VLAB_OK, "expected KVM_GET_REGS to work");
    cr_assert_eq(r.rax, 333833500,
                 "expected RAX = 333833500 (sum of i*i, i <= 1000), got %llu "
                 "(handout §4.1)",
                 (unsigned long long)r.rax);
    uint64_t mem = tvm_read_u64(&t, 0x400);
    cr_assert_eq(mem, 333833500, "expected 333833500 at guest-physical 0x400, got %llu (§4.1)",
                 (unsigned long long)mem);
    cr_assert(tvm_total_exits(&t) == 1 && t.vm.exits[VLAB_EXIT_HLT] == 1,
              "expected exactly one VM exit (the hlt) in vm->exits, got %llu in all, %llu HLT "
              "(handout §4.1)",
              (unsigned long long)tvm_total_exits(&t),
              (unsigned long long)t.vm.exits[VLAB_EXIT_HLT]);
    tvm_free(&t);
}

static const char *const uart_checks[] = {
    "LCR reads back 0x03",
    "the divisor latch (DLAB = 1) reads back DLL 0x01, DLM 0x00",
    "the scratch register reads back 0xa5 then 0x5a (IN data must be written before the next "
    "run, not left stale)",
    "LSR reads 0x60 (THRE and TEMT: the transmitter is empty)",
    "IIR reads 0x01 (no interrupt) with IER 0",
    "IER reads back 0x0f after 0xff is written",
    "a port no device owns (0x80) reads 0xff",
    "a 16-bit IN at 0x3fe reads MSR in AL and SCR in AH (one register per byte)",
};

VMM_TEST(run_uart_registers) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "uart_regs.bin", VMM_EXITED, "§4.3");
    for (unsigned i = 0; i < 8; i++)
        cr_assert(t.res.code & (1u << i),
                  "the guest's UART check %u failed: expected %s (result %#llx) (handout §4.2)", i,
                  uart_checks[i], (unsigned long long)t.res.code);
    cr_assert_eq(t.res.code, 0xff,
                 "expected the exit port's value 0xff as the result code, got "
                 "%#llx (handout §4.3)",
                 (unsigned long long)t.res.code);
    tvm_free(&t);
}

VMM_TEST(run_console_exact) {
    struct tvm t;
    tvm_run_guest(&t, kind, VMM_MODE_LONG, "hello_long.bin", VMM_HALTED, "§4.5");
    const char *text = "Hello from long mode!\n";
    size_t n = strlen(text);
    cr_assert(t.vm.console.total == n && !strcmp(t.vm.console.buf, text),
              "expected exactly the %zu bytes \"Hello from long mode!\\n\" on the console, got "
              "%llu: \"%.200s\" (a byte lost or sent twice) (handout §4.2)",
              n, (unsigned long long)t.vm.console.total, t.vm.console.buf);
    /* The guest polls LSR once per byte (THRE is always set) and writes THR: two exits a
     * byte, then the hlt. */
    cr_assert(t.vm.exits[VLAB_EXIT_IO] == 2 * n && t.vm.exits[VLAB_EXIT_HLT] == 1,
              "expected vm->exits to count %zu IO exits and 1 HLT, got %llu IO and %llu HLT "
              "(handout §4.1)",
              2 * n, (unsigned long long)t.vm.exits[VLAB_EXIT_IO],
              (unsigned long long)t.vm.exits[VLAB_EXIT_HLT]);
    cr_assert_eq(tvm_total_exits(&t), vlab_hv_exit_count(t.vm.vcpu),
                 "expected the histogram to count every exit the vCPU took (%llu), got %llu "
                 "(handout §4.1)",
                 (unsigned long long)vlab_hv_exit_count(t.vm.vcpu),
                 (unsigned long long)tvm_total_exits(&t));
    tvm_free(&t);
}

/* The trace of guests/<file>: one line per exit, from vmm_trace_exit. */
static char *trace_of(const char *file) {
    struct tvm t;
    tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    char *text = NULL;
    size_t len = 0;
    t.cfg.trace = open_memstream(&text, &len);
    cr_assert_not_null(t.cfg.trace);
    tvm_boot_cfg(&t, file);
    tvm_run(&t);
    fclose(t.cfg.trace);
    tvm_free(&t);
    return text;
}

Test(vmm, run_trace_exits) {
    char *text = trace_of("compute.bin");
    cr_assert(text && strstr(text, "HLT"),
              "expected one trace line per exit (vmm_trace_exit), with the hlt in it, got \"%s\" "
              "(handout §4.1)",
              text ? text : "");
    free(text);
    /* A read is traced after the VMM answered it: the line shows what the guest read. */
    text = trace_of("blk.bin");
    cr_assert(text && strstr(text, "MMIO read gpa 0xd0000000 len 4 data 0x4b4c4256\n"),
              "expected the block device's MAGIC read traced with the value the guest got "
              "(\"MMIO read gpa 0xd0000000 len 4 data 0x4b4c4256\"): call vmm_trace_exit after "
              "the exit is answered, not before; the trace has \"%.400s\" (handout §4.1)",
              text ? text : "");
    free(text);
}

static const char *const blk_checks[] = {
    "MAGIC reads 0x4b4c4256 and STATUS 0xff before the first command",
    "a read of sectors 2..5 to 0x20000 (ADDR written with one 8-byte access) gives STATUS 0",
    "a write of 0x30000 to sector 7 (ADDR written as two 32-bit halves) gives STATUS 0",
    "SECTOR, COUNT and ADDR (an 8-byte read) read back what was written",
    "sectors past the end of the disk, and COUNT 0, give STATUS 1",
    "a buffer straddling the end of RAM, and one above 4 GiB, give STATUS 2",
    "an unknown command gives STATUS 3",
    "the last bytes of the device's page (an 8-byte read at 0xff8, a 4-byte one at 0xffc) read "
    "0: they are inside the device, not a bad MMIO",
};

static void run_blk(struct tvm *t, enum vlab_hv_kind kind) {
    tvm_run_guest(t, kind, VMM_MODE_LONG, "blk.bin", VMM_EXITED, "§4.4");
    cr_assert_eq(tvm_read_u64(t, 0x900), T_SECTORS,
                 "expected SECTORS to read the disk's %u sectors, got %llu (handout §4.4)",
                 T_SECTORS, (unsigned long long)tvm_read_u64(t, 0x900));
}

static void expect_blk_bits(const struct tvm *t, unsigned mask) {
    for (unsigned i = 0; i < 8; i++)
        if (mask & (1u << i))
            cr_assert(t->res.code & (1u << i),
                      "the guest's block device check %u failed: expected %s (result %#llx) "
                      "(handout §4.4)",
                      i, blk_checks[i], (unsigned long long)t->res.code);
}

VMM_TEST(run_blk_read) {
    struct tvm t;
    run_blk(&t, kind);
    expect_blk_bits(&t, 0x03);
    const uint8_t *buf = vlab_gpmem_hva(&t.vm.mem, 0x20000, 4 * VMM_BLK_SECTOR_SIZE);
    for (unsigned i = 0; i < 4 * VMM_BLK_SECTOR_SIZE; i++) {
        uint8_t want = vmm_disk_pattern(2 * VMM_BLK_SECTOR_SIZE + i, T_SEED);
        cr_assert_eq(buf[i], want,
                     "expected byte %u of sectors 2..5 at guest-physical %#x: %#x, got %#x "
                     "(handout §4.4)",
                     i, 0x20000 + i, want, buf[i]);
    }
    tvm_free(&t);
}

VMM_TEST(run_blk_write) {
    struct tvm t;
    run_blk(&t, kind);
    expect_blk_bits(&t, 0x0c);
    for (unsigned i = 0; i < T_SECTORS * VMM_BLK_SECTOR_SIZE; i++) {
        bool sector7 = i / VMM_BLK_SECTOR_SIZE == 7;
        uint8_t want = sector7 ? 0xc3 : vmm_disk_pattern(i, T_SEED);
        cr_assert_eq(t.disk.data[i], want,
                     "expected disk byte %u (sector %u) %#x after the guest wrote sector 7, got "
                     "%#x (handout §4.4)",
                     i, i / VMM_BLK_SECTOR_SIZE, want, t.disk.data[i]);
    }
    tvm_free(&t);
}

VMM_TEST(run_blk_errors) {
    struct tvm t;
    run_blk(&t, kind);
    expect_blk_bits(&t, 0xf0);
    cr_assert_eq(t.vm.blk.commands, 7,
                 "expected 7 doorbell writes counted in blk.commands, got "
                 "%llu (handout §4.4)",
                 (unsigned long long)t.vm.blk.commands);
    /* The refused read straddling the end of RAM must not have written its first half. */
    const uint8_t *tail = vlab_gpmem_hva(&t.vm.mem, T_RAM - 256, 256);
    for (unsigned i = 0; i < 256; i++)
        cr_assert_eq(tail[i], 0,
                     "expected the last 256 bytes of RAM untouched by a refused "
                     "read, byte %u is %#x (handout §4.4)",
                     i, tail[i]);
    tvm_free(&t);
}

Test(vmm, run_blk_registers) {
    struct tvm t;
    tvm_create(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    struct vmm *vm = &t.vm;
    vmm_blk_write(vm, VMM_BLK_ADDR_LO, 8, 0x123456789abcdef0ull);
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_ADDR_HI, 4), 0x12345678,
                 "expected ADDR_HI 0x12345678 after an 8-byte write of ADDR (handout §4.4)");
    vmm_blk_write(vm, VMM_BLK_ADDR_LO, 4, 0x11111111);
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_ADDR_LO, 8), 0x1234567811111111ull,
                 "expected a 4-byte write of ADDR_LO to keep ADDR_HI, got %#llx (handout §4.4)",
                 (unsigned long long)vmm_blk_read(vm, VMM_BLK_ADDR_LO, 8));
    /* A read narrower than 8 bytes at 0x10 is the low half of ADDR, cut to its length. */
    static const struct {
        unsigned len;
        uint64_t want;
    } narrow[] = {{4, 0x11111111}, {2, 0x1111}, {1, 0x11}};
    for (unsigned i = 0; i < 3; i++)
        cr_assert_eq(vmm_blk_read(vm, VMM_BLK_ADDR_LO, narrow[i].len), narrow[i].want,
                     "expected a %u-byte read of ADDR_LO (ADDR %#llx) to give %#llx, got %#llx "
                     "(handout §4.4)",
                     narrow[i].len, 0x1234567811111111ull, (unsigned long long)narrow[i].want,
                     (unsigned long long)vmm_blk_read(vm, VMM_BLK_ADDR_LO, narrow[i].len));
    vmm_blk_write(vm, VMM_BLK_ADDR_HI, 4, 0xcafe);
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_ADDR_LO, 8), 0x0000cafe11111111ull,
                 "expected a 4-byte write of 0xcafe to ADDR_HI to make ADDR 0xcafe11111111, got "
                 "%#llx (handout §4.4)",
                 (unsigned long long)vmm_blk_read(vm, VMM_BLK_ADDR_LO, 8));
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_MAGIC, 2), 0x4256,
                 "expected a 2-byte read of MAGIC to give its low half 0x4256 (handout §4.4)");
    vmm_blk_write(vm, VMM_BLK_MAGIC, 4, 0);
    vmm_blk_write(vm, 0x800, 4, 0xffffffff);
    cr_assert(vmm_blk_read(vm, VMM_BLK_MAGIC, 4) == VMM_BLK_MAGIC_VALUE &&
                  vmm_blk_read(vm, 0x800, 4) == 0,
              "expected MAGIC read-only and unknown registers reading 0 (handout §4.4)");
    cr_assert_eq(vm->blk.commands, 0, "expected no command without a doorbell write (§4.4)");
    /* Odd sizes and offsets: only a register's own offset reaches it; a write of any size
     * replaces the whole register; an 8-byte access covers ADDR alone of the registers. */
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_MAGIC + 1, 1), 0,
                 "expected a 1-byte read at offset 1 (inside MAGIC, no register's offset) to "
                 "read 0, got %#llx (handout §4.4)",
                 (unsigned long long)vmm_blk_read(vm, VMM_BLK_MAGIC + 1, 1));
    vmm_blk_write(vm, VMM_BLK_COUNT, 4, 0xffffffff);
    vmm_blk_write(vm, VMM_BLK_COUNT, 2, 5);
    cr_assert_eq(vm->blk.count, 5,
                 "expected a 2-byte write of 5 to COUNT to replace the whole register (COUNT 5), "
                 "got %#x (handout §4.4)",
                 vm->blk.count);
    vmm_blk_write(vm, VMM_BLK_SECTOR, 8, 0x0000000700000003ull);
    vmm_blk_write(vm, VMM_BLK_SECTOR + 1, 1, 0xff);
    cr_assert(vm->blk.sector == 3 && vm->blk.count == 5,
              "expected an 8-byte write at SECTOR to set SECTOR (3) and not COUNT, and a byte "
              "write inside SECTOR (offset 9) ignored; got SECTOR %#x COUNT %#x (handout §4.4)",
              vm->blk.sector, vm->blk.count);
    cr_assert_eq(vmm_blk_read(vm, VMM_BLK_SECTOR, 8), 3,
                 "expected an 8-byte read at SECTOR to give SECTOR alone (3), got %#llx (§4.4)",
                 (unsigned long long)vmm_blk_read(vm, VMM_BLK_SECTOR, 8));
    /* The order of the checks: the command, then the sectors, then the buffer. */
    static const struct {
        uint32_t cmd, count;
        uint32_t status;
        const char *what;
    } order[] = {
        {9, 0, VMM_BLK_ERR_CMD, "an unknown command with COUNT 0 and a buffer outside RAM"},
        {VMM_BLK_CMD_READ, 0, VMM_BLK_ERR_RANGE, "a READ with COUNT 0 and a buffer outside RAM"},
        {VMM_BLK_CMD_WRITE, 1, VMM_BLK_ERR_ADDR, "a WRITE of one sector from outside RAM"},
    };
    vmm_blk_write(vm, VMM_BLK_SECTOR, 4, 0);
    vmm_blk_write(vm, VMM_BLK_ADDR_LO, 8, T_RAM);
    for (unsigned i = 0; i < 3; i++) {
        vmm_blk_write(vm, VMM_BLK_COUNT, 4, order[i].count);
        vmm_blk_write(vm, VMM_BLK_CMD, 4, order[i].cmd);
        cr_assert_eq(vm->blk.status, order[i].status,
                     "expected STATUS %u for %s (the command is checked first, then the "
                     "sectors, then the buffer), got %u (handout §4.4)",
                     order[i].status, order[i].what, vm->blk.status);
    }
    /* The last sector of the disk is on it; two from there are not. */
    vmm_blk_write(vm, VMM_BLK_SECTOR, 4, T_SECTORS - 1);
    vmm_blk_write(vm, VMM_BLK_COUNT, 4, 1);
    vmm_blk_write(vm, VMM_BLK_ADDR_LO, 8, 0x40000);
    vmm_blk_write(vm, VMM_BLK_CMD, 4, VMM_BLK_CMD_READ);
    cr_assert_eq(vm->blk.status, VMM_BLK_OK,
                 "expected a READ of the disk's last sector (%u of %u) to work, got STATUS %u "
                 "(handout §4.4)",
                 T_SECTORS - 1, T_SECTORS, vm->blk.status);
    const uint8_t *buf = vlab_gpmem_hva(&vm->mem, 0x40000, VMM_BLK_SECTOR_SIZE);
    for (unsigned i = 0; i < VMM_BLK_SECTOR_SIZE; i++)
        cr_assert_eq(buf[i], vmm_disk_pattern((T_SECTORS - 1) * VMM_BLK_SECTOR_SIZE + i, T_SEED),
                     "expected byte %u of the last sector at 0x40000 (handout §4.4)", i);
    vmm_blk_write(vm, VMM_BLK_COUNT, 4, 2);
    vmm_blk_write(vm, VMM_BLK_CMD, 4, VMM_BLK_CMD_READ);
    cr_assert_eq(vm->blk.status, VMM_BLK_ERR_RANGE,
                 "expected a READ of 2 sectors from the last one to give STATUS 1, got %u "
                 "(handout §4.4)",
                 vm->blk.status);
    /* SECTOR + COUNT past 2^32: added in 32 bits it wraps to a small number that looks on the
     * disk, and the transfer would start 2 TiB into it */
    vmm_blk_write(vm, VMM_BLK_SECTOR, 4, 0xffffffff);
    vmm_blk_write(vm, VMM_BLK_COUNT, 4, 2);
    vmm_blk_write(vm, VMM_BLK_CMD, 4, VMM_BLK_CMD_READ);
    cr_assert_eq(vm->blk.status, VMM_BLK_ERR_RANGE,
                 "expected a READ of 2 sectors from sector 0xffffffff to give STATUS 1 (SECTOR + "
                 "COUNT is past the disk, not 1: add them in 64 bits), got %u (handout §4.4)",
                 vm->blk.status);
    tvm_free(&t);

    /* No disk: 0 sectors, and no sector is on it. */
    tvm_config(&t, VLAB_HV_UNICORN, VMM_MODE_LONG);
    t.cfg.disk = NULL;
    cr_assert_eq(vmm_create(&t.vm, &t.cfg), VLAB_OK, "vmm_create: %s (handout §2.1)", t.vm.err);
    t.created = true;
    vmm_blk_write(&t.vm, VMM_BLK_SECTOR, 4, 0);
    vmm_blk_write(&t.vm, VMM_BLK_COUNT, 4, 1);
    vmm_blk_write(&t.vm, VMM_BLK_ADDR_LO, 8, 0x40000);
    vmm_blk_write(&t.vm, VMM_BLK_CMD, 4, VMM_BLK_CMD_READ);
    cr_assert(vmm_blk_read(&t.vm, VMM_BLK_SECTORS, 4) == 0 && t.vm.blk.status == VMM_BLK_ERR_RANGE,
              "expected a VM without a disk (cfg.disk NULL) to have SECTORS 0 and a READ of sector "
              "0 to give STATUS 1, got SECTORS %llu STATUS %u (handout §4.4)",
              (unsigned long long)vmm_blk_read(&t.vm, VMM_BLK_SECTORS, 4), t.vm.blk.status);
    tvm_free(&t);
}
