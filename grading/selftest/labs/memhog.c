/* Eats memory: 4 GiB touched page by page, or asked for at once. RLIMIT_AS must stop both. */
#include <criterion/criterion.h>
#include <stdlib.h>

#define GIB   (1024UL * 1024 * 1024)
#define CHUNK (64UL * 1024 * 1024)

/* kept reachable so the compiler cannot drop the allocations as dead */
static char *volatile hoard[4 * GIB / CHUNK];

static void touch(volatile char *p, size_t len) {
    for (size_t off = 0; off < len; off += 4096)
        p[off] = 1; /* deliberately unchecked: a NULL p means a crash */
}

Test(memhog, touch_4g) {
    for (size_t i = 0; i < 4 * GIB / CHUNK; i++) {
        hoard[i] = malloc(CHUNK);
        touch(hoard[i], CHUNK);
    }
    cr_assert(1, "4 GiB allocated and touched");
}

Test(memhog, malloc_4g) {
    char *p = malloc(4 * GIB);
    cr_assert_not_null(p, "malloc(4 GiB) failed, as the memory limit should make it");
    hoard[0] = p;
    touch(p, 4 * GIB);
}
