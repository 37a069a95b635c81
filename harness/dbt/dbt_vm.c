/* The machine and the two executors of lab dbt. The oracle runs guest code directly in Unicorn
 * and emulates each sensitive instruction from a code hook: an ideal trap-and-emulate machine.
 * The translated run maps guest RAM non-executable and runs only the student's CCFs, returning
 * to the dispatcher loop below at every exit. Both share the virtual CPU model (dbt_emul.c), so
 * any difference in what the guest observes is the translator's. */
#define _GNU_SOURCE
#include "dbt_vm.h"
#include "vlab/stats.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

void dbt_vm_fail(struct dbt_vm *vm, int rc, const char *fmt, ...) {
    if (vm->rc != VLAB_OK) return; /* the first error is the one to read */
    vm->rc = rc;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(vm->err, sizeof vm->err, fmt, ap);
    va_end(ap);
    if (vm->uc) uc_emu_stop(vm->uc);
}

uint32_t dbt_reg(struct dbt_vm *vm, int ucreg) {
    uint32_t v = 0;
    uc_reg_read(vm->uc, ucreg, &v);
    return v;
}

void dbt_set_reg(struct dbt_vm *vm, int ucreg, uint32_t v) {
    uc_reg_write(vm->uc, ucreg, &v);
}

/* The guest's EFLAGS image: the real arithmetic flags, the virtual IF and IOPL. */
uint32_t dbt_guest_eflags(struct dbt_vm *vm) {
    uint32_t real = dbt_reg(vm, UC_X86_REG_EFLAGS);
    real &= ~(DBT_EFLAGS_IF | DBT_EFLAGS_IOPL | 0x10000u /* RF */ | 0x20000u /* VM */);
    return real | 0x2u | vm->vp->vif | vm->vp->viopl;
}

void dbt_set_guest_eflags(struct dbt_vm *vm, uint32_t image) {
    vm->vp->vif = image & DBT_EFLAGS_IF;
    vm->vp->viopl = image & DBT_EFLAGS_IOPL;
    /* The real IF and IOPL keep their sentinel 0; only the guest's other flags are real. What
     * the virtual CPU does with the bits it does not model (handout §3.2): NT, AC and ID are
     * kept as plain bits (they change nothing else here: iret is emulated as a same-privilege
     * return, AC checks only at CPL 3, ID only says CPUID exists); TF is dropped (no
     * single-step debugging: it would trap the VMM's own code), and so are RF and VM (no debug
     * faults to resume from, no virtual-8086 mode). */
    uint32_t real = (image & 0x00244cd5u) | 0x2u; /* CF PF AF ZF SF DF OF NT AC ID */
    dbt_set_reg(vm, UC_X86_REG_EFLAGS, real);
}

static uint64_t ram_hash(const uint8_t *p, size_t n) {
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i += 8) {
        uint64_t w;
        memcpy(&w, p + i, 8);
        h = (h ^ w) * 0x100000001b3ull;
        h ^= h >> 29;
    }
    return h;
}

static const int gpr[8] = {UC_X86_REG_EAX, UC_X86_REG_ECX, UC_X86_REG_EDX, UC_X86_REG_EBX,
                           UC_X86_REG_ESP, UC_X86_REG_EBP, UC_X86_REG_ESI, UC_X86_REG_EDI};
static const char *const gpr_name[8] = {"eax", "ecx", "edx", "ebx", "esp", "ebp", "esi", "edi"};

void dbt_observe(struct dbt_vm *vm, uint32_t kind, uint32_t pc, uint32_t port, uint32_t size,
                 uint32_t value) {
    struct dbt_obs o = {.kind = kind, .port = port, .size = size, .value = value, .pc = pc};
    for (int i = 0; i < 8; i++)
        o.regs[i] = dbt_reg(vm, gpr[i]);
    o.eflags = dbt_guest_eflags(vm) & (0xcd5u | DBT_EFLAGS_IF | DBT_EFLAGS_IOPL);
    o.cr0 = vm->cpu.cr0;
    o.cr3 = vm->cpu.cr3;
    o.cr4 = vm->cpu.cr4;
    o.gdtr_base = vm->cpu.gdtr_base;
    o.gdtr_limit = vm->cpu.gdtr_limit;
    o.idtr_base = vm->cpu.idtr_base;
    o.idtr_limit = vm->cpu.idtr_limit;
    if (!vm->cfg.no_ram_hash) o.ram_hash = ram_hash(vm->ram, DBT_RAM_SIZE);
    if (kind != DBT_OBS_END && vm->cfg.ram_copy_at && vm->obs_total + 1 == vm->cfg.ram_copy_at &&
        !vm->ram_copy && (vm->ram_copy = malloc(DBT_RAM_SIZE)))
        memcpy(vm->ram_copy, vm->ram, DBT_RAM_SIZE);
    if (kind == DBT_OBS_END)
        vm->end = o;
    else if (vm->nobs < DBT_OBS_MAX)
        vm->obs[vm->nobs++] = o;
    vm->obs_total++;
    vm->obs_hash = (vm->obs_hash ^ ram_hash((const uint8_t *)&o, sizeof o)) * 0x9e3779b97f4a7c15ull;
}

/* ---- watchdog: a hung guest or a CCF loop that never exits ends the run with a message ----
 * It counts the CPU time of the thread running the guest, not wall time: a loaded machine (a
 * hosted grader, make test beside other builds) must not fail a correct translator. */

static double thread_cpu_s(clockid_t clk) {
    struct timespec ts;
    if (clock_gettime(clk, &ts)) return 0;
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *wd_main(void *arg) {
    struct dbt_vm *vm = arg;
    double budget = vm->cfg.watchdog_s > 0 ? vm->cfg.watchdog_s : 2.0;
#if defined(__SANITIZE_ADDRESS__)
    budget *= 10; /* make test-sanitize: every hook and CCF exit runs instrumented */
#endif
    /* a safety net, not a measure: stretched where the host is emulated (grading/src/rubric.c) */
    const char *scale = getenv("VLAB_TIME_SCALE");
    if (scale && strtod(scale, NULL) > 1 && strtod(scale, NULL) <= 1000)
        budget *= strtod(scale, NULL);
    double start = thread_cpu_s(vm->wd_clock);
    pthread_mutex_lock(&vm->wd_mu);
    while (!vm->wd_stop) {
        if (thread_cpu_s(vm->wd_clock) - start >= budget) {
            vm->wd_fired = true;
            break;
        }
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        until.tv_nsec += 20 * 1000000L; /* look again in 20 ms */
        if (until.tv_nsec >= 1000000000L) until.tv_sec++, until.tv_nsec -= 1000000000L;
        pthread_cond_timedwait(&vm->wd_cv, &vm->wd_mu, &until);
    }
    pthread_mutex_unlock(&vm->wd_mu);
    /* uc_emu_stop has no effect between runs: keep asking until the loop notices. */
    while (vm->wd_fired && !vm->wd_stop) {
        uc_emu_stop(vm->uc);
        usleep(1000);
    }
    return NULL;
}

static void wd_start(struct dbt_vm *vm) {
    pthread_mutex_init(&vm->wd_mu, NULL);
    pthread_cond_init(&vm->wd_cv, NULL);
    if (pthread_getcpuclockid(pthread_self(), &vm->wd_clock)) vm->wd_clock = CLOCK_MONOTONIC;
    vm->wd_on = pthread_create(&vm->wd, NULL, wd_main, vm) == 0;
}

static void wd_end(struct dbt_vm *vm) {
    if (!vm->wd_on) return;
    pthread_mutex_lock(&vm->wd_mu);
    vm->wd_stop = true;
    pthread_cond_signal(&vm->wd_cv);
    pthread_mutex_unlock(&vm->wd_mu);
    pthread_join(vm->wd, NULL);
    vm->wd_on = false;
}

/* ---- the machine ---- */

static int guest_file(const char *name, char *buf, size_t len) {
    const char *dir = getenv("VLAB_GUEST_DIR");
    if (dir) return snprintf(buf, len, "%s/%s.bin", dir, name) < (int)len ? 0 : -1;
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0) return -1;
    exe[n] = 0;
    char *slash = strrchr(exe, '/');
    if (slash) *slash = 0;
    return snprintf(buf, len, "%s/guests/%s.bin", exe, name) < (int)len ? 0 : -1;
}

static int load_guest(struct dbt_vm *vm, char *err, size_t len) {
    if (vm->cfg.code) {
        if (vm->cfg.code_len > DBT_GUEST_STACK - DBT_GUEST_BASE - 0x10000) {
            snprintf(err, len, "generated guest of %zu bytes is too large", vm->cfg.code_len);
            return VLAB_EINVAL;
        }
        memcpy(vm->ram + DBT_GUEST_BASE, vm->cfg.code, vm->cfg.code_len);
        return VLAB_OK;
    }
    char path[PATH_MAX + 64];
    if (!vm->cfg.guest || guest_file(vm->cfg.guest, path, sizeof path) < 0) {
        snprintf(err, len, "no guest named");
        return VLAB_EINVAL;
    }
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, len, "cannot open guest %s: %s", path, strerror(errno));
        return VLAB_EIO;
    }
    size_t n = fread(vm->ram + DBT_GUEST_BASE, 1, DBT_RAM_SIZE - DBT_GUEST_BASE, f);
    fclose(f);
    if (n == 0) {
        snprintf(err, len, "guest %s is empty", path);
        return VLAB_EIO;
    }
    return VLAB_OK;
}

struct dbt_vm *dbt_vm_open(const struct dbt_vm_config *cfg, char *err, size_t len) {
    struct dbt_vm *vm = calloc(1, sizeof *vm);
    if (!vm) {
        snprintf(err, len, "out of memory");
        return NULL;
    }
    vm->cfg = *cfg;
    vm->tc_size = cfg->tc_size ? cfg->tc_size : DBT_TC_MAX;
    if (vm->tc_size > DBT_TC_MAX || vm->tc_size % 256 || vm->tc_size < 1024) {
        snprintf(err, len, "TC size %#x: not a multiple of 256 from 1 KiB to %#x", vm->tc_size,
                 DBT_TC_MAX);
        free(vm);
        return NULL;
    }
    vm->ram = aligned_alloc(DBT_PAGE, DBT_RAM_SIZE);
    vm->tc = aligned_alloc(DBT_PAGE, DBT_TC_MAX);
    vm->vp = aligned_alloc(DBT_PAGE, DBT_PAGE);
    vm->obs = calloc(DBT_OBS_MAX, sizeof *vm->obs);
    vm->xlated = calloc(DBT_RAM_SIZE, 1);
    vm->code = calloc(DBT_RAM_SIZE, 1);
    vm->resume = calloc(DBT_TC_MAX, sizeof *vm->resume);
    if (!vm->ram || !vm->tc || !vm->vp || !vm->obs || !vm->xlated || !vm->code || !vm->resume) {
        snprintf(err, len, "out of memory");
        dbt_vm_close(vm);
        return NULL;
    }
    memset(vm->ram, 0, DBT_RAM_SIZE);
    memset(vm->tc, 0xf4, DBT_TC_MAX); /* hlt: running into unused TC stops with no record */
    memset(vm->vp, 0, DBT_PAGE);
    vlab_uart_init(&vm->uart, NULL, NULL);
    if (cfg->uart_input) vlab_uart_input(&vm->uart, cfg->uart_input, strlen(cfg->uart_input));
    vm->cpu.cr0 = 0x11; /* PE | ET: protected mode, as the guest is entered */
    vm->cpu.cs = 0x08;
    vm->cpu.ds = vm->cpu.es = vm->cpu.ss = vm->cpu.fs = vm->cpu.gs = 0x10;
    int rc = load_guest(vm, err, len);
    if (rc != VLAB_OK) {
        dbt_vm_close(vm);
        return NULL;
    }
    uc_err e = uc_open(UC_ARCH_X86, UC_MODE_32, &vm->uc);
    if (e != UC_ERR_OK) {
        snprintf(err, len, "uc_open: %s", uc_strerror(e));
        vm->uc = NULL;
        dbt_vm_close(vm);
        return NULL;
    }
    if (cs_open(CS_ARCH_X86, CS_MODE_32, &vm->cs) != CS_ERR_OK) {
        snprintf(err, len, "cs_open failed");
        vm->cs = 0;
        dbt_vm_close(vm);
        return NULL;
    }
    cs_option(vm->cs, CS_OPT_DETAIL, CS_OPT_ON);
    return vm;
}

void dbt_vm_close(struct dbt_vm *vm) {
    if (!vm) return;
    wd_end(vm);
    if (vm->uc) uc_close(vm->uc);
    if (vm->cs) cs_close(&vm->cs);
    free(vm->ram);
    free(vm->tc);
    free(vm->vp);
    free(vm->obs);
    free(vm->xlated);
    free(vm->code);
    free(vm->resume);
    free(vm->ram_copy);
    free(vm);
}

static void start_regs(struct dbt_vm *vm) {
    for (int i = 0; i < 8; i++)
        dbt_set_reg(vm, gpr[i], 0);
    dbt_set_reg(vm, UC_X86_REG_ESP, DBT_GUEST_STACK);
    dbt_set_guest_eflags(vm, 0x2);
}

static bool hook_unmapped(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                          void *data) {
    (void)uc;
    (void)value;
    struct dbt_vm *vm = data;
    uint32_t eip = dbt_reg(vm, UC_X86_REG_EIP);
    dbt_vm_fail(vm, VLAB_ERANGE, "%s of %d bytes at unmapped address %#llx (pc %#x)",
                type == UC_MEM_FETCH_UNMAPPED   ? "fetch"
                : type == UC_MEM_WRITE_UNMAPPED ? "write"
                                                : "read",
                size, (unsigned long long)addr, eip);
    return false;
}

/* ---- the oracle ---- */

static void oracle_code(uc_engine *uc, uint64_t addr, uint32_t size, void *data) {
    (void)uc;
    (void)size;
    struct dbt_vm *vm = data;
    if (vm->rc != VLAB_OK) return;
    if (++vm->st.guest_insns > (vm->cfg.max_insns ? vm->cfg.max_insns : 200000000ull)) {
        dbt_vm_fail(vm, VLAB_EINVAL, "oracle: the guest ran more than %llu instructions",
                    (unsigned long long)(vm->st.guest_insns - 1));
        return;
    }
    uint32_t pc = (uint32_t)addr;
    if (pc >= DBT_RAM_SIZE) return;
    const uint8_t *p = vm->ram + pc;
    if (!dbt_oracle_sensitive(p, DBT_RAM_SIZE - pc)) return;
    if (p[0] == 0xf4) { /* hlt runs for real: Unicorn returns after it */
        vm->halted = true;
        return;
    }
    uint32_t next = pc;
    if (dbt_emulate(vm, pc, &next) != VLAB_OK) return;
    if (vm->halted) return;
    if (dbt_maybe_deliver(vm, &next) != VLAB_OK) return;
    dbt_set_reg(vm, UC_X86_REG_EIP, next); /* skips the instruction: it was emulated */
}

int dbt_vm_run_oracle(struct dbt_vm *vm) {
    vm->translated = false;
    uc_err e = uc_mem_map_ptr(vm->uc, 0, DBT_RAM_SIZE, UC_PROT_ALL, vm->ram);
    if (e == UC_ERR_OK)
        e = uc_mem_map_ptr(vm->uc, DBT_VPAGE, DBT_PAGE, UC_PROT_READ | UC_PROT_WRITE, vm->vp);
    if (e != UC_ERR_OK) {
        dbt_vm_fail(vm, VLAB_ENOMEM, "oracle: uc_mem_map_ptr: %s", uc_strerror(e));
        return vm->rc;
    }
    uc_hook_add(vm->uc, &vm->hooks[0], UC_HOOK_CODE, oracle_code, vm, 0, DBT_RAM_SIZE - 1);
    uc_hook_add(vm->uc, &vm->hooks[1], UC_HOOK_MEM_UNMAPPED, hook_unmapped, vm, 1, 0);
    start_regs(vm);
    wd_start(vm);
    e = uc_emu_start(vm->uc, DBT_GUEST_BASE, DBT_RAM_SIZE, 0, 0);
    wd_end(vm);
    uint32_t eip = dbt_reg(vm, UC_X86_REG_EIP);
    if (vm->rc != VLAB_OK) return vm->rc;
    if (vm->wd_fired) {
        dbt_vm_fail(vm, VLAB_EINVAL, "oracle: watchdog: the guest did not finish (pc %#x)", eip);
        return vm->rc;
    }
    if (e != UC_ERR_OK) {
        dbt_vm_fail(vm, VLAB_EINVAL, "oracle: Unicorn stopped at pc %#x: %s", eip, uc_strerror(e));
        return vm->rc;
    }
    if (!vm->halted) {
        dbt_vm_fail(vm, VLAB_EINVAL, "oracle: the guest stopped at %#x without hlt", eip);
        return vm->rc;
    }
    dbt_observe(vm, DBT_OBS_END, eip, 0, 0, 0);
    return VLAB_OK;
}

/* ---- what the student's translator calls ---- */

const uint8_t *dbt_guest(struct dbt_vm *vm, uint32_t pc, size_t *avail) {
    if (pc >= DBT_RAM_SIZE) return NULL;
    if (avail) *avail = DBT_RAM_SIZE - pc;
    return vm->ram + pc;
}

struct dbt_vpage *dbt_vp(struct dbt_vm *vm) {
    return vm->vp;
}

uint8_t *dbt_tc(struct dbt_vm *vm) {
    return vm->tc;
}

uint32_t dbt_tc_size(struct dbt_vm *vm) {
    return vm->tc_size;
}

int dbt_tc_sync(struct dbt_vm *vm, uint32_t tc_addr, uint32_t len) {
    if (tc_addr < DBT_TC_BASE || len > vm->tc_size || tc_addr - DBT_TC_BASE > vm->tc_size - len)
        return VLAB_EINVAL;
    vm->st.syncs++;
    uc_ctl_remove_cache(vm->uc, tc_addr, (uint64_t)tc_addr + len);
    dbt_dump_sync(vm, tc_addr, len);
    return VLAB_OK;
}

int dbt_tc_flush(struct dbt_vm *vm) {
    vm->st.flushes++;
    dbt_dump_event(vm, "dbt_tc_flush", vm->tc_size);
    memset(vm->xlated, 0, DBT_RAM_SIZE);
    memset(vm->code, 0, DBT_RAM_SIZE);
    memset(vm->resume, 0, vm->tc_size * sizeof *vm->resume);
    uc_ctl_remove_cache(vm->uc, DBT_TC_BASE, (uint64_t)DBT_TC_BASE + vm->tc_size);
    return VLAB_OK;
}

int dbt_watch_page(struct dbt_vm *vm, uint32_t page) {
    if (page % DBT_PAGE || page >= DBT_RAM_SIZE) return VLAB_EINVAL;
    if (vm->watched[page / DBT_PAGE]) return VLAB_OK;
    if (uc_mem_protect(vm->uc, page, DBT_PAGE, UC_PROT_READ) != UC_ERR_OK) return VLAB_EINVAL;
    vm->watched[page / DBT_PAGE] = true;
    return VLAB_OK;
}

void dbt_report_ccf(struct dbt_vm *vm, uint32_t guest_pc, uint32_t guest_len, uint32_t ninsns,
                    uint32_t ccf, uint32_t ccf_len, const struct dbt_insn_map *map, uint32_t nmap) {
    vm->st.translations++;
    vm->st.guest_bytes += guest_len;
    vm->st.ccf_bytes += ccf_len;
    vm->st.ccf_insns += ninsns;
    if (guest_len == 0 && vm->st.empty_ccfs++ == 0) vm->st.empty_ccf_pc = guest_pc;
    vm->last_ccf_guest_pc = guest_pc;
    if (guest_pc < DBT_RAM_SIZE) {
        if (vm->xlated[guest_pc]) vm->st.retranslations++;
        vm->xlated[guest_pc] = 1;
    }
    if (ccf < DBT_TC_BASE || ccf_len > vm->tc_size || ccf - DBT_TC_BASE > vm->tc_size - ccf_len) {
        dbt_vm_fail(vm, VLAB_ERANGE,
                    "the CCF for guest pc %#x reported at TC %#x, %u bytes, does "
                    "not fit in the TC [%#x, %#x)",
                    guest_pc, ccf, ccf_len, DBT_TC_BASE, DBT_TC_BASE + vm->tc_size);
        return;
    }
    if (nmap) vm->has_maps = true;
    if (guest_pc < DBT_RAM_SIZE)
        memset(vm->code + guest_pc, 1,
               guest_len < DBT_RAM_SIZE - guest_pc ? guest_len : DBT_RAM_SIZE - guest_pc);
    uint32_t *r = vm->resume + (ccf - DBT_TC_BASE);
    memset(r, 0, ccf_len * sizeof *r);
    for (uint32_t i = 0; map && i < nmap; i++) {
        if (map[i].tc < ccf || map[i].tc - ccf >= ccf_len ||
            (map[i].guest_pc != DBT_MAP_TARGET && map[i].guest_pc >= DBT_RAM_SIZE)) {
            dbt_vm_fail(vm, VLAB_ERANGE,
                        "the map of the CCF for guest pc %#x (TC %#x, %u bytes) has line %u: "
                        "TC %#x -> guest pc %#x, outside the CCF or guest RAM (handout §8.2)",
                        guest_pc, ccf, ccf_len, i, map[i].tc, map[i].guest_pc);
            return;
        }
        r[map[i].tc - ccf] =
            map[i].guest_pc == DBT_MAP_TARGET ? DBT_MAP_TARGET : map[i].guest_pc + 1;
    }
    dbt_check_ccf(vm, ccf, ccf_len);
    dbt_dump_ccf(vm, guest_pc, guest_len, ninsns, ccf, ccf_len, map, nmap);
}

/* Would writing buf to [addr, addr + len) change bytes a reported CCF was translated from? */
static bool changes_code(const struct dbt_vm *vm, uint32_t addr, const void *buf, uint32_t len) {
    const uint8_t *b = buf;
    for (uint32_t i = 0; i < len; i++)
        if (vm->code[addr + i] && vm->ram[addr + i] != b[i]) return true;
    return false;
}

/* Like QEMU's code bitmap: a store to a watched page that leaves translated bytes as they are
 * (data next to code) goes ahead with the page still watched, so that a later store in the
 * same CCF that does change code is still seen. One that changes them invalidates the watched
 * pages it touches (the student's dbt_invalidate) and unwatches them. */
int dbt_vm_guest_write(struct dbt_vm *vm, uint32_t addr, const void *buf, uint32_t len) {
    if (!len || addr >= DBT_RAM_SIZE || len > DBT_RAM_SIZE - addr) return VLAB_OK;
    if (!vm->translated) {
        /* The oracle runs guest RAM in Unicorn, which does not notice writes through the host
         * pointer: its own translations of these bytes must go (the code hook that emulated
         * the writing instruction sets EIP, so Unicorn looks the next block up afresh). */
        uc_ctl_remove_cache(vm->uc, addr, (uint64_t)addr + len);
        return VLAB_OK;
    }
    if (!changes_code(vm, addr, buf, len)) return VLAB_OK;
    uint32_t first = addr & ~(DBT_PAGE - 1), last = (addr + len - 1) & ~(DBT_PAGE - 1);
    for (uint32_t page = first; page <= last; page += DBT_PAGE) {
        if (!vm->watched[page / DBT_PAGE]) continue;
        vm->st.invalidations++;
        dbt_dump_event(vm, "dbt_invalidate", page);
        int rc = dbt_invalidate(vm->t, page);
        if (rc != VLAB_OK) {
            dbt_vm_fail(vm, rc, "dbt_invalidate(%#x) returned %d (%s)", page, rc,
                        vlab_strerror(rc));
            return rc;
        }
        vm->watched[page / DBT_PAGE] = false;
        memset(vm->xlated + page, 0, DBT_PAGE);
        memset(vm->code + page, 0, DBT_PAGE);
        uc_mem_protect(vm->uc, page, DBT_PAGE, UC_PROT_READ | UC_PROT_WRITE);
    }
    return VLAB_OK;
}

/* Unicorn generates a block of the TC: after a store that changed translated code (which
 * dropped all of Unicorn's blocks of the TC), the first one is where the CCF stands once the
 * writing guest instruction is complete. Stop before running it. (Asking for the stop in the
 * write hook would stop in the middle of the writing instruction: Unicorn 2.0.1 checks right
 * after each store. And when a stop was asked for, Unicorn does not set EIP to the block it
 * stops before: this hook's cur_tb says where.) */
static void hook_edge(uc_engine *uc, uc_tb *cur, uc_tb *prev, void *data) {
    (void)prev;
    struct dbt_vm *vm = data;
    if (!vm->smc_stop || vm->smc_tb) return;
    vm->smc_tb = (uint32_t)cur->pc;
    uc_emu_stop(uc);
}

/* A store to a watched page. The harness makes the store itself: Unicorn 2.0.1's store_helper
 * read the page's TLB entry before calling this hook, and when that entry was filled while the
 * page was read-only (any earlier load from the page, e.g. the load half of `incl`), it carries
 * TLB_DISCARD_WRITE and the store is silently dropped even though the hook made the page
 * writable (unicorn-engine/unicorn#2368). Writing the bytes here is right whether or not
 * Unicorn's own store then lands too: it stores the same bytes. A store straddling into an
 * unwatched page reaches this hook whole, or byte by byte for the watched half. */
static bool hook_write_prot(uc_engine *uc, uc_mem_type type, uint64_t addr, int size, int64_t value,
                            void *data) {
    (void)type;
    struct dbt_vm *vm = data;
    uint64_t v = (uint64_t)value;
    if (addr >= DBT_RAM_SIZE || size < 1 || size > 8 || (uint64_t)size > DBT_RAM_SIZE - addr) {
        dbt_vm_fail(vm, VLAB_EINVAL, "write of %d bytes to %#llx: not guest RAM", size,
                    (unsigned long long)addr);
        return false;
    }
    uint32_t a = (uint32_t)addr, first = a & ~(DBT_PAGE - 1);
    uint32_t last = (a + (uint32_t)size - 1) & ~(DBT_PAGE - 1);
    if (!vm->watched[first / DBT_PAGE] && !vm->watched[last / DBT_PAGE]) {
        dbt_vm_fail(vm, VLAB_EINVAL,
                    "write of %d bytes to %#x: a read-only page the harness "
                    "does not watch",
                    size, a);
        return false;
    }
    uint8_t b[8];
    memcpy(b, &v, sizeof b); /* little-endian host, like the guest */
    bool code = changes_code(vm, a, b, (uint32_t)size);
    if (dbt_vm_guest_write(vm, a, b, (uint32_t)size) != VLAB_OK) return false;
    memcpy(vm->ram + a, b, (size_t)size);
    /* Precise SMC (QEMU's tb_invalidate_phys_page_fast and cpu_restore_state, §8.2): the rest
     * of the running CCF may be stale. Unicorn finishes the block of its own it is in (the CCF
     * ends one right after the writing instruction); with all its blocks of the TC dropped,
     * the next one is generated anew and hook_edge stops the run before it. */
    if (code && !vm->smc_stop) {
        vm->smc_stop = true;
        vm->smc_tb = 0;
        vm->smc_addr = a;
        uc_ctl_remove_cache(uc, DBT_TC_BASE, (uint64_t)DBT_TC_BASE + vm->tc_size);
    }
    return true;
}

/* ---- the translated run: the dispatcher loop ---- */

static void check_sentinels(struct dbt_vm *vm, uint32_t pc) {
    if (vm->native[0]) return;
    uint32_t fl = dbt_reg(vm, UC_X86_REG_EFLAGS), cr3 = dbt_reg(vm, UC_X86_REG_CR3);
    uc_x86_mmr gdtr = {0}, idtr = {0};
    uc_reg_read(vm->uc, UC_X86_REG_GDTR, &gdtr);
    uc_reg_read(vm->uc, UC_X86_REG_IDTR, &idtr);
    if (fl & (DBT_EFLAGS_IF | DBT_EFLAGS_IOPL | 0x100u /* TF */))
        snprintf(vm->native, sizeof vm->native,
                 "the real EFLAGS became %#x (IF/IOPL/TF changed natively) by guest pc %#x", fl,
                 pc);
    else if (cr3 != DBT_SENTINEL_CR3)
        snprintf(vm->native, sizeof vm->native,
                 "the real CR3 became %#x (mov to CR3 ran natively) by guest pc %#x", cr3, pc);
    else if (gdtr.base != DBT_SENTINEL_GDTR || idtr.base != DBT_SENTINEL_IDTR)
        snprintf(vm->native, sizeof vm->native,
                 "the real GDTR/IDTR became %#llx/%#llx (lgdt/lidt ran natively) by guest pc %#x",
                 (unsigned long long)gdtr.base, (unsigned long long)idtr.base, pc);
}

static int map_translated(struct dbt_vm *vm) {
    uc_err e = uc_mem_map_ptr(vm->uc, 0, DBT_RAM_SIZE, UC_PROT_READ | UC_PROT_WRITE, vm->ram);
    if (e == UC_ERR_OK)
        e = uc_mem_map_ptr(vm->uc, DBT_VPAGE, DBT_PAGE, UC_PROT_READ | UC_PROT_WRITE, vm->vp);
    if (e == UC_ERR_OK)
        e = uc_mem_map_ptr(vm->uc, DBT_TC_BASE, (vm->tc_size + DBT_PAGE - 1) & ~(DBT_PAGE - 1),
                           UC_PROT_READ | UC_PROT_EXEC, vm->tc);
    if (e != UC_ERR_OK) {
        dbt_vm_fail(vm, VLAB_ENOMEM, "uc_mem_map_ptr: %s", uc_strerror(e));
        return vm->rc;
    }
    uc_hook_add(vm->uc, &vm->hooks[0], UC_HOOK_MEM_WRITE_PROT, hook_write_prot, vm, 1, 0);
    uc_hook_add(vm->uc, &vm->hooks[1], UC_HOOK_MEM_UNMAPPED, hook_unmapped, vm, 1, 0);
    uc_hook_add(vm->uc, &vm->hooks[2], UC_HOOK_EDGE_GENERATED, hook_edge, vm, 1, 0);
    dbt_set_reg(vm, UC_X86_REG_CR3, DBT_SENTINEL_CR3);
    uc_x86_mmr gdtr = {.base = DBT_SENTINEL_GDTR, .limit = 0x17};
    uc_x86_mmr idtr = {.base = DBT_SENTINEL_IDTR, .limit = 0xff};
    uc_reg_write(vm->uc, UC_X86_REG_GDTR, &gdtr);
    uc_reg_write(vm->uc, UC_X86_REG_IDTR, &idtr);
    return VLAB_OK;
}

static bool in_tc(struct dbt_vm *vm, uint32_t a) {
    return a >= DBT_TC_BASE && a - DBT_TC_BASE < vm->tc_size;
}

static void dispatch_loop(struct dbt_vm *vm) {
    struct dbt_vpage *vp = vm->vp;
    uint64_t max = vm->cfg.max_dispatches ? vm->cfg.max_dispatches : 500000ull;
    uint32_t pc = DBT_GUEST_BASE, from = 0, again = 0;
    for (;;) {
        uint32_t ccf = 0;
        if (again) { /* on in the CCF, where Unicorn stopped (see below) */
            ccf = again;
            again = 0;
            goto run;
        }
        uint64_t irqs = vm->st.irqs;
        if (dbt_maybe_deliver(vm, &pc) != VLAB_OK) return;
        if (vm->st.irqs != irqs) from = 0; /* the stub led to the interrupted pc, not here */
        if (vm->st.dispatches >= max) {
            dbt_vm_fail(vm, VLAB_EINVAL,
                        "more than %llu dispatcher entries: the guest runs "
                        "away or the translator never reaches its hlt (pc %#x)",
                        (unsigned long long)max, pc);
            return;
        }
        uint32_t stub = vm->cfg.no_chain ? 0 : from;
        vm->st.dispatches++;
        if (stub) vm->st.chain_requests++;
        uint64_t t0 = vlab_now_ns();
        int rc = dbt_enter(vm->t, pc, stub, &ccf);
        vm->st.enter_ns += vlab_now_ns() - t0;
        if (rc != VLAB_OK) {
            dbt_vm_fail(vm, rc, "dbt_enter(guest pc %#x) returned %d (%s)", pc, rc,
                        vlab_strerror(rc));
            return;
        }
        if (!in_tc(vm, ccf)) {
            dbt_vm_fail(vm, VLAB_EINVAL, "dbt_enter(guest pc %#x) gave CCF %#x, outside the TC", pc,
                        ccf);
            return;
        }
    run:
        vp->exit_reason = DBT_EXIT_NONE;
        vp->exit_stub = 0;
        uc_err e = uc_emu_start(vm->uc, ccf, 0, 0, 0);
        uint32_t eip = dbt_reg(vm, UC_X86_REG_EIP);
        if (vm->rc != VLAB_OK) return;
        if (vm->wd_fired) {
            dbt_vm_fail(vm, VLAB_EINVAL,
                        "watchdog: the translated guest did not finish (last "
                        "entered guest pc %#x, Unicorn at %#x)",
                        pc, eip);
            return;
        }
        if (e != UC_ERR_OK) {
            uint32_t fl = dbt_reg(vm, UC_X86_REG_EFLAGS);
            dbt_vm_fail(vm, VLAB_EINVAL,
                        "Unicorn stopped at %#x%s after entering the CCF of "
                        "guest pc %#x: %s%s",
                        eip, in_tc(vm, eip) ? " (in the TC)" : "", pc, uc_strerror(e),
                        fl & 0x100u ? "; the real TF is set: a native popf loaded the guest's "
                                      "TF and the real CPU single-stepped the CCF"
                                    : "");
            return;
        }
        check_sentinels(vm, pc);
        if (vm->smc_stop) {
            vm->smc_stop = false;
            vm->st.smc_stops++;
            if (vp->exit_reason == DBT_EXIT_NONE) {
                uint32_t at = vm->smc_tb, r = in_tc(vm, at) ? vm->resume[at - DBT_TC_BASE] : 0;
                if (!r && !vm->has_maps && in_tc(vm, at)) {
                    /* A translator without CCF maps (before §8.2): the CCF goes on where it
                     * stopped, at a block boundary, as if nothing had happened. Stale code
                     * may run; the tests of §8.2 see it. */
                    again = at;
                    continue;
                }
                if (!r) {
                    dbt_vm_fail(vm, VLAB_EINVAL,
                                "the guest wrote translated code at %#x from the CCF entered for "
                                "guest pc %#x; the run stopped before TC %#x, which no CCF map "
                                "names: after each guest instruction that may write memory, end "
                                "Unicorn's block and map the place that follows (handout §8.2)",
                                vm->smc_addr, pc, at);
                    return;
                }
                pc = r == DBT_MAP_TARGET ? vp->target : r - 1;
                from = 0;
                continue;
            }
        }
        switch (vp->exit_reason) {
        case DBT_EXIT_BRANCH:
            vm->st.exits_branch++;
            pc = vp->exit_pc;
            from = vp->exit_stub;
            break;
        case DBT_EXIT_INDIRECT:
            vm->st.exits_indirect++;
            pc = vp->target;
            from = 0;
            break;
        case DBT_EXIT_EMULATE: {
            vm->st.exits_emulate++;
            uint32_t at = vp->exit_pc;
            if (at < DBT_RAM_SIZE && (vm->ram[at] == 0xfa || vm->ram[at] == 0xfb ||
                                      vm->ram[at] == 0x9c || vm->ram[at] == 0x9d))
                vm->st.exits_flags++;
            from = 0;
            if (dbt_emulate(vm, at, &pc) != VLAB_OK) return;
            if (vm->halted) {
                dbt_observe(vm, DBT_OBS_END, pc, 0, 0, 0);
                return;
            }
            break;
        }
        default:
            dbt_vm_fail(vm, VLAB_EINVAL,
                        "a CCF stopped at TC %#x with exit_reason %u: no exit "
                        "record (entered for guest pc %#x)",
                        eip, vp->exit_reason, pc);
            return;
        }
        if (from && !in_tc(vm, from)) {
            dbt_vm_fail(vm, VLAB_EINVAL, "exit_stub %#x is not a TC address", from);
            return;
        }
    }
}

int dbt_vm_run_translated(struct dbt_vm *vm) {
    vm->translated = true;
    if (map_translated(vm) != VLAB_OK) return vm->rc;
    start_regs(vm);
    vm->t = dbt_create(vm);
    if (!vm->t) {
        dbt_vm_fail(vm, VLAB_ENOTIMPL, "dbt_create returned NULL (not implemented?)");
        return vm->rc;
    }
    dbt_dump_open(vm);
    wd_start(vm);
    dispatch_loop(vm);
    wd_end(vm);
    dbt_destroy(vm->t);
    vm->t = NULL;
    dbt_dump_close(vm);
    return vm->rc;
}

/* ---- comparison ---- */

static int obs_str(const struct dbt_obs *o, char *buf, size_t len) {
    const char *k = o->kind == DBT_OBS_OUT ? "out" : o->kind == DBT_OBS_IN ? "in" : "end";
    return snprintf(buf, len,
                    "%s port %#x size %u value %#x at pc %#x; eax=%#x ecx=%#x edx=%#x ebx=%#x "
                    "esp=%#x ebp=%#x esi=%#x edi=%#x eflags=%#x cr0=%#x cr3=%#x cr4=%#x "
                    "gdtr=%#x/%#x idtr=%#x/%#x",
                    k, o->port, o->size, o->value, o->pc, o->regs[0], o->regs[1], o->regs[2],
                    o->regs[3], o->regs[4], o->regs[5], o->regs[6], o->regs[7], o->eflags, o->cr0,
                    o->cr3, o->cr4, o->gdtr_base, o->gdtr_limit, o->idtr_base, o->idtr_limit);
}

/* Where two copies of guest RAM differ: the first differing byte, the aligned words around it
 * and how many bytes differ, into buf. */
static void ram_diff(const uint8_t *o, const uint8_t *d, char *buf, size_t len) {
    uint32_t first = DBT_RAM_SIZE, count = 0;
    for (uint32_t a = 0; a < DBT_RAM_SIZE; a++)
        if (o[a] != d[a] && count++ == 0) first = a;
    if (!count) {
        snprintf(buf, len, "(the final memory is the same)");
        return;
    }
    uint32_t w = first & ~3u, vo, vd;
    memcpy(&vo, o + w, 4);
    memcpy(&vd, d + w, 4);
    snprintf(buf, len,
             "first at address %#x: the oracle's guest has byte 0x%02x there (word at %#x: "
             "0x%08x), the translated guest 0x%02x (word 0x%08x); %u byte%s differ%s",
             first, o[first], w, vo, d[first], vd, count, count == 1 ? "" : "s",
             count == 1 ? "s" : "");
}

/* Guest RAM as it was at I/O observation i (0-based) of the run vm made: the run again (both
 * executors are deterministic), with a copy taken there. NULL if the rerun fails to get there. */
static struct dbt_vm *rerun_to(const struct dbt_vm *vm, uint32_t i) {
    struct dbt_vm_config cfg = vm->cfg;
    cfg.ram_copy_at = i + 1;
    char err[256];
    struct dbt_vm *r = dbt_vm_open(&cfg, err, sizeof err);
    if (!r) return NULL;
    if (vm->translated)
        dbt_vm_run_translated(r);
    else
        dbt_vm_run_oracle(r);
    if (!r->ram_copy) {
        dbt_vm_close(r);
        return NULL;
    }
    return r;
}

/* The memory difference at observation i (i == nobs: the end, where both RAMs are at hand). */
static void mem_diff(const struct dbt_vm *o, const struct dbt_vm *d, uint32_t i, bool end,
                     char *buf, size_t len) {
    if (end) {
        ram_diff(o->ram, d->ram, buf, len);
        return;
    }
    struct dbt_vm *ro = rerun_to(o, i), *rd = ro ? rerun_to(d, i) : NULL;
    if (ro && rd)
        ram_diff(ro->ram_copy, rd->ram_copy, buf, len);
    else
        snprintf(buf, len, "(a rerun to find the address did not reach observation %u)", i);
    dbt_vm_close(ro);
    dbt_vm_close(rd);
}

static const char *diff_field(const struct dbt_obs *a, const struct dbt_obs *b) {
    if (a->kind != b->kind || a->port != b->port || a->size != b->size) return "the I/O itself";
    if (a->value != b->value) return "the I/O data";
    if (a->pc != b->pc) return "pc";
    for (int i = 0; i < 8; i++)
        if (a->regs[i] != b->regs[i]) return gpr_name[i];
    if (a->eflags != b->eflags) return "eflags (arithmetic flags, virtual IF/IOPL)";
    if (a->cr0 != b->cr0 || a->cr3 != b->cr3 || a->cr4 != b->cr4) return "a control register";
    if (a->gdtr_base != b->gdtr_base || a->gdtr_limit != b->gdtr_limit ||
        a->idtr_base != b->idtr_base || a->idtr_limit != b->idtr_limit)
        return "GDTR/IDTR";
    if (a->ram_hash != b->ram_hash) return "guest memory";
    return NULL;
}

const char *dbt_vm_compare(const struct dbt_vm *o, const struct dbt_vm *d, char *buf, size_t len) {
    uint32_t n = o->nobs < d->nobs ? o->nobs : d->nobs;
    for (uint32_t i = 0; i <= n; i++) {
        const struct dbt_obs *a = i < n ? &o->obs[i] : NULL, *b = i < n ? &d->obs[i] : NULL;
        if (i == n) {
            if (o->obs_total != d->obs_total) {
                snprintf(buf, len,
                         "the oracle made %llu I/O observations, the translated run "
                         "%llu",
                         (unsigned long long)(o->obs_total - 1),
                         (unsigned long long)(d->obs_total - 1));
                return buf;
            }
            a = &o->end;
            b = &d->end;
        }
        const char *f = diff_field(a, b);
        if (!f) continue;
        char sa[512], sb[512], mem[256] = "";
        obs_str(a, sa, sizeof sa);
        obs_str(b, sb, sizeof sb);
        if (strcmp(f, "guest memory") == 0) mem_diff(o, d, i, i == n, mem, sizeof mem);
        snprintf(buf, len, "%s %llu differs in %s%s%s:\n  oracle:     %s\n  translated: %s",
                 i == n ? "the final state after observation" : "I/O observation",
                 (unsigned long long)i, f, mem[0] ? ", " : "", mem, sa, sb);
        return buf;
    }
    if (o->obs_hash != d->obs_hash) {
        snprintf(buf, len, "observations beyond the first %u differ", DBT_OBS_MAX);
        return buf;
    }
    if (strcmp(o->uart.out, d->uart.out) != 0) {
        snprintf(buf, len, "UART output differs: oracle \"%s\", translated \"%s\"", o->uart.out,
                 d->uart.out);
        return buf;
    }
    return NULL;
}

/* ---- direct execution: the speed baseline (no virtualization at all) ---- */

static uint32_t direct_in(uc_engine *uc, uint32_t port, int size, void *data) {
    (void)uc;
    (void)size;
    (void)data;
    return port == VLAB_UART_COM1 + VLAB_UART_LSR ? VLAB_UART_LSR_THRE | VLAB_UART_LSR_TEMT : 0;
}

int dbt_vm_run_direct(struct dbt_vm *vm) {
    uc_err e = uc_mem_map_ptr(vm->uc, 0, DBT_RAM_SIZE, UC_PROT_ALL, vm->ram);
    if (e != UC_ERR_OK) {
        dbt_vm_fail(vm, VLAB_ENOMEM, "direct: uc_mem_map_ptr: %s", uc_strerror(e));
        return vm->rc;
    }
    uc_hook_add(vm->uc, &vm->hooks[0], UC_HOOK_INSN, direct_in, vm, 1, 0, UC_X86_INS_IN);
    start_regs(vm);
    e = uc_emu_start(vm->uc, DBT_GUEST_BASE, DBT_RAM_SIZE, 0, 0);
    if (e != UC_ERR_OK) {
        dbt_vm_fail(vm, VLAB_EINVAL, "direct: Unicorn stopped at %#x: %s",
                    dbt_reg(vm, UC_X86_REG_EIP), uc_strerror(e));
        return vm->rc;
    }
    return VLAB_OK;
}

/* ---- transparency ---- */

/* A VMM address the translated guest holds where the oracle's guest holds something else:
 * in a register at an I/O instruction or at the end, or in a word of its final memory. (A value
 * the oracle holds too is the guest's own data that happens to look like one.) */
const char *dbt_vm_leak(const struct dbt_vm *o, const struct dbt_vm *d, char *buf, size_t len) {
    uint32_t n = o->nobs < d->nobs ? o->nobs : d->nobs;
    for (uint32_t i = 0; i <= n; i++) {
        const struct dbt_obs *a = i < n ? &o->obs[i] : &o->end, *b = i < n ? &d->obs[i] : &d->end;
        for (int r = 0; r < 8; r++)
            if (dbt_is_vmm_addr(b->regs[r]) && b->regs[r] != a->regs[r]) {
                snprintf(buf, len,
                         "%s = %#x (a VMM address; the oracle's guest had %#x) %s %u, "
                         "guest pc %#x",
                         gpr_name[r], b->regs[r], a->regs[r],
                         i < n ? "at I/O observation" : "at the end, after observation", i, b->pc);
                return buf;
            }
    }
    for (uint32_t a = 0; a + 4 <= DBT_RAM_SIZE; a += 4) {
        uint32_t vd, vo;
        memcpy(&vd, d->ram + a, 4);
        memcpy(&vo, o->ram + a, 4);
        if (dbt_is_vmm_addr(vd) && vd != vo) {
            snprintf(buf, len,
                     "guest memory at %#x holds %#x at the end (a VMM address; the "
                     "oracle's guest has %#x there)",
                     a, vd, vo);
            return buf;
        }
    }
    return NULL;
}
