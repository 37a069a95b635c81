#include "vlab/log.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* -1 until the first use so that VLAB_LOG is read lazily (tests and tools may setenv() first);
 * atomics because VMM vCPU threads log concurrently and the lazy init may race harmlessly. */
static int g_level = -1;
static vlab_log_sink g_sink;
static void *g_sink_ctx;

static const char *const level_names[] = {"debug", "info", "warn", "error", "off"};

int vlab_log_parse_level(const char *name) {
    if (!name) return -1;
    for (int i = VLAB_LOG_DEBUG; i <= VLAB_LOG_OFF; i++)
        if (strcasecmp(name, level_names[i]) == 0) return i;
    return -1;
}

enum vlab_log_level vlab_log_level(void) {
    int lvl = __atomic_load_n(&g_level, __ATOMIC_ACQUIRE);
    if (lvl >= 0) return (enum vlab_log_level)lvl;

    const char *env = getenv("VLAB_LOG");
    int parsed = (env && *env) ? vlab_log_parse_level(env) : VLAB_LOG_WARN;
    lvl = parsed < 0 ? VLAB_LOG_WARN : parsed;
    int expected = -1;
    /* A concurrent vlab_log_set_level() wins over the environment. */
    if (!__atomic_compare_exchange_n(&g_level, &expected, lvl, false, __ATOMIC_ACQ_REL,
                                     __ATOMIC_ACQUIRE))
        return (enum vlab_log_level)expected;
    if (parsed < 0)
        fprintf(stderr, "vlab[log] warn: unknown VLAB_LOG value '%s', using warn\n", env);
    return (enum vlab_log_level)lvl;
}

void vlab_log_set_level(enum vlab_log_level level) {
    if ((int)level < VLAB_LOG_DEBUG || level > VLAB_LOG_OFF) return;
    __atomic_store_n(&g_level, (int)level, __ATOMIC_RELEASE);
}

void vlab_log_set_sink(vlab_log_sink sink, void *ctx) {
    g_sink = sink;
    g_sink_ctx = ctx;
}

void vlab_vlog(enum vlab_log_level level, const char *module, const char *fmt, va_list ap) {
    if ((int)level < VLAB_LOG_DEBUG || level >= VLAB_LOG_OFF || !fmt) return;
    if (level < vlab_log_level()) return;
    if (!module) module = "?";

    char small[512];
    char *msg = small;
    va_list ap2;
    va_copy(ap2, ap);
    int n = vsnprintf(small, sizeof small, fmt, ap);
    if (n < 0) {
        va_end(ap2);
        return;
    }
    if ((size_t)n >= sizeof small) {
        char *big = malloc((size_t)n + 1);
        if (big) {
            vsnprintf(big, (size_t)n + 1, fmt, ap2);
            msg = big;
        } else {
            n = (int)sizeof small - 1; /* truncated beats nothing */
        }
    }
    va_end(ap2);
    /* Callers often end messages with "\n" out of printf habit; one line per message is ours. */
    if (n > 0 && msg[n - 1] == '\n') msg[n - 1] = '\0';

    if (g_sink)
        g_sink(g_sink_ctx, level, module, msg);
    else
        /* One fprintf call, so lines from concurrent threads do not interleave. */
        fprintf(stderr, "vlab[%s] %s: %s\n", module, level_names[level], msg);

    if (msg != small) free(msg);
}

void vlab_log(enum vlab_log_level level, const char *module, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vlab_vlog(level, module, fmt, ap);
    va_end(ap);
}
