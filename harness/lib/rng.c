#include "rng.h"

uint64_t vlab_splitmix64(uint64_t *state) {
    uint64_t z = (*state += 0x9e3779b97f4a7c15ull);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    return z ^ (z >> 31);
}

void vlab_rng_seed(struct vlab_rng *r, uint64_t seed) {
    uint64_t st = seed;
    for (int i = 0; i < 4; i++)
        r->s[i] = vlab_splitmix64(&st);
    r->seed = seed;
}

static inline uint64_t rotl(uint64_t x, int k) {
    return (x << k) | (x >> (64 - k));
}

uint64_t vlab_rng_next(struct vlab_rng *r) {
    uint64_t *s = r->s;
    uint64_t result = rotl(s[1] * 5, 7) * 9;
    uint64_t t = s[1] << 17;
    s[2] ^= s[0];
    s[3] ^= s[1];
    s[1] ^= s[2];
    s[0] ^= s[3];
    s[2] ^= t;
    s[3] = rotl(s[3], 45);
    return result;
}

uint64_t vlab_rng_below(struct vlab_rng *r, uint64_t n) {
    if (n == 0) return 0;
    /* Values at or above the last whole multiple of n would favour small results. */
    uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do
        x = vlab_rng_next(r);
    while (x >= limit);
    return x % n;
}

uint64_t vlab_rng_range(struct vlab_rng *r, uint64_t lo, uint64_t hi) {
    if (lo >= hi) return lo;
    if (lo == 0 && hi == UINT64_MAX) return vlab_rng_next(r);
    return lo + vlab_rng_below(r, hi - lo + 1);
}

bool vlab_rng_chance(struct vlab_rng *r, unsigned percent) {
    if (percent >= 100) return true;
    return vlab_rng_below(r, 100) < percent;
}

unsigned vlab_rng_weighted(struct vlab_rng *r, const unsigned *weight, unsigned n) {
    uint64_t sum = 0;
    for (unsigned i = 0; i < n; i++)
        sum += weight[i];
    if (sum == 0) return 0;
    uint64_t x = vlab_rng_below(r, sum);
    for (unsigned i = 0; i < n; i++) {
        if (x < weight[i]) return i;
        x -= weight[i];
    }
    return n - 1;
}
