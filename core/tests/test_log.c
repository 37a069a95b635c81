/* Criterion runs each test in its own process, so every test sees the lazy VLAB_LOG read fresh. */
#include <criterion/criterion.h>
#include <criterion/redirect.h>
#include <stdlib.h>
#include <string.h>

#include "vlab/log.h"

struct capture {
    int calls;
    enum vlab_log_level level;
    char module[32];
    char msg[2048];
};

static void sink(void *ctx, enum vlab_log_level level, const char *module, const char *msg) {
    struct capture *c = ctx;
    c->calls++;
    c->level = level;
    snprintf(c->module, sizeof c->module, "%s", module);
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

Test(core, log_parse_level) {
    struct {
        const char *name;
        int want;
    } k[] = {{"debug", VLAB_LOG_DEBUG},
             {"info", VLAB_LOG_INFO},
             {"warn", VLAB_LOG_WARN},
             {"error", VLAB_LOG_ERROR},
             {"off", VLAB_LOG_OFF},
             {"DeBuG", VLAB_LOG_DEBUG},
             {"WARN", VLAB_LOG_WARN},
             {"verbose", -1},
             {"", -1},
             {"warn ", -1},
             {"de", -1},
             {NULL, -1}};
    for (unsigned i = 0; i < sizeof k / sizeof k[0]; i++) {
        int got = vlab_log_parse_level(k[i].name);
        cr_assert_eq(got, k[i].want, "\"%s\": expected %d, got %d",
                     k[i].name ? k[i].name : "(null)", k[i].want, got);
    }
}

Test(core, log_env_default_is_warn) {
    unsetenv("VLAB_LOG");
    cr_assert_eq(vlab_log_level(), VLAB_LOG_WARN, "expected warn by default, got %d",
                 vlab_log_level());
}

Test(core, log_env_read_once_lazily) {
    setenv("VLAB_LOG", "DEBUG", 1);
    cr_assert_eq(vlab_log_level(), VLAB_LOG_DEBUG, "expected debug from VLAB_LOG, got %d",
                 vlab_log_level());
    setenv("VLAB_LOG", "error", 1);
    cr_assert_eq(vlab_log_level(), VLAB_LOG_DEBUG, "expected the first read to stick, got %d",
                 vlab_log_level());
}

Test(core, log_env_unknown_falls_back_to_warn, .init = cr_redirect_stderr) {
    setenv("VLAB_LOG", "chatty", 1);
    cr_assert_eq(vlab_log_level(), VLAB_LOG_WARN, "expected warn for an unknown value, got %d",
                 vlab_log_level());
    cr_assert_stderr_eq_str("vlab[log] warn: unknown VLAB_LOG value 'chatty', using warn\n",
                            "expected one warning about the bad VLAB_LOG value");
}

Test(core, log_set_level_beats_env) {
    setenv("VLAB_LOG", "debug", 1);
    vlab_log_set_level(VLAB_LOG_ERROR);
    cr_assert_eq(vlab_log_level(), VLAB_LOG_ERROR, "expected the explicit level, got %d",
                 vlab_log_level());
    vlab_log_set_level((enum vlab_log_level)42);
    cr_assert_eq(vlab_log_level(), VLAB_LOG_ERROR, "expected an invalid level ignored, got %d",
                 vlab_log_level());
}

Test(core, log_stderr_format, .init = cr_redirect_stderr) {
    vlab_log_set_level(VLAB_LOG_INFO);
    VLAB_DEBUG("mmu", "hidden %d", 1);
    VLAB_INFO("mmu", "x=%d", 5);
    VLAB_WARN("vmm", "exit %s\n", "hlt");
    VLAB_ERROR(NULL, "boom");
    cr_assert_stderr_eq_str("vlab[mmu] info: x=5\nvlab[vmm] warn: exit hlt\nvlab[?] error: boom\n",
                            "expected three formatted lines, debug filtered out");
}

Test(core, log_sink_capture_and_threshold) {
    struct capture c;
    memset(&c, 0, sizeof c);
    vlab_log_set_level(VLAB_LOG_WARN);
    vlab_log_set_sink(sink, &c);
    VLAB_INFO("pt", "quiet");
    cr_assert_eq(c.calls, 0, "expected info suppressed at warn, got %d calls", c.calls);
    VLAB_ERROR("pt", "walk failed at %#x", 0x1000);
    cr_assert_eq(c.calls, 1, "expected 1 call, got %d", c.calls);
    cr_assert_eq(c.level, VLAB_LOG_ERROR, "expected level error, got %d", c.level);
    cr_assert_str_eq(c.module, "pt", "expected module \"pt\", got \"%s\"", c.module);
    cr_assert_str_eq(c.msg, "walk failed at 0x1000", "expected the formatted message, got \"%s\"",
                     c.msg);
    VLAB_WARN("pt", "line\n");
    cr_assert_str_eq(c.msg, "line", "expected the trailing newline stripped, got \"%s\"", c.msg);
    vlab_log(VLAB_LOG_OFF, "pt", "never");
    cr_assert_eq(c.calls, 2, "expected a message at level off dropped, got %d calls", c.calls);
    vlab_log_set_level(VLAB_LOG_OFF);
    VLAB_ERROR("pt", "silenced");
    cr_assert_eq(c.calls, 2, "expected nothing logged at off, got %d calls", c.calls);
}

Test(core, log_long_message_intact) {
    struct capture c;
    memset(&c, 0, sizeof c);
    vlab_log_set_level(VLAB_LOG_DEBUG);
    vlab_log_set_sink(sink, &c);
    char big[1500];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    VLAB_DEBUG("t", "<%s>", big);
    cr_assert_eq(strlen(c.msg), sizeof big + 1, "expected %zu chars, got %zu", sizeof big + 1,
                 strlen(c.msg));
    cr_assert_eq(c.msg[sizeof big], '>', "expected the closing '>' kept");
}

Test(core, log_sink_reset_to_stderr, .init = cr_redirect_stderr) {
    struct capture c;
    memset(&c, 0, sizeof c);
    vlab_log_set_level(VLAB_LOG_WARN);
    vlab_log_set_sink(sink, &c);
    VLAB_WARN("a", "to sink");
    vlab_log_set_sink(NULL, NULL);
    VLAB_WARN("a", "to stderr");
    cr_assert_eq(c.calls, 1, "expected 1 sink call, got %d", c.calls);
    cr_assert_stderr_eq_str("vlab[a] warn: to stderr\n", "expected stderr restored");
}
