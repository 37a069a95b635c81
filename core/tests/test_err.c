#include <criterion/criterion.h>
#include <string.h>

#include "vlab/err.h"

Test(core, err_strerror_every_code) {
    int codes[] = {VLAB_OK,      VLAB_EINVAL,    VLAB_ENOMEM,   VLAB_ERANGE,
                   VLAB_EPF,     VLAB_ENONCANON, VLAB_ENOTIMPL, VLAB_EIO,
                   VLAB_EUNSUPP, VLAB_EEXIST,    VLAB_ENOENT};
    size_t n = sizeof codes / sizeof codes[0];
    for (size_t i = 0; i < n; i++) {
        const char *s = vlab_strerror(codes[i]);
        cr_assert_not_null(s, "code %d: expected a message, got NULL", codes[i]);
        cr_assert_str_neq(s, "unknown vlab error", "code %d: expected its own message, got \"%s\"",
                          codes[i], s);
        cr_assert(strlen(s) > 0, "code %d: expected a non-empty message", codes[i]);
        for (size_t j = 0; j < i; j++) {
            cr_assert_neq(codes[i], codes[j], "expected distinct codes, %d repeats", codes[i]);
            cr_assert_str_neq(s, vlab_strerror(codes[j]),
                              "codes %d and %d: expected distinct messages, both \"%s\"", codes[i],
                              codes[j], s);
        }
        if (codes[i] != VLAB_OK)
            cr_assert_lt(codes[i], 0, "expected error %d to be negative", codes[i]);
    }
}

Test(core, err_strerror_unknown) {
    int unknown[] = {1, -11, -1000, 0x7fffffff, (int)0x80000000u};
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        cr_assert_str_eq(vlab_strerror(unknown[i]), "unknown vlab error",
                         "code %d: expected \"unknown vlab error\", got \"%s\"", unknown[i],
                         vlab_strerror(unknown[i]));
}
