/* Seeded, reproducible random numbers for the labs' workload generators. Same seed, same
 * sequence, on every machine and libc: a failing random test prints its seed and the student
 * reruns exactly the walk (or instruction, or syscall) that went wrong. Not for cryptography. */
#ifndef VLAB_HARNESS_RNG_H
#define VLAB_HARNESS_RNG_H

#include <stdbool.h>
#include <stdint.h>

/* xoshiro256** (Blackman & Vigna), state expanded from the 64-bit seed with splitmix64. */
struct vlab_rng {
    uint64_t s[4];
    uint64_t seed; /* as given, for messages */
};

/* One splitmix64 step: advances *state and returns a well-mixed value. Also a good hash. */
uint64_t vlab_splitmix64(uint64_t *state);

void vlab_rng_seed(struct vlab_rng *r, uint64_t seed);
uint64_t vlab_rng_next(struct vlab_rng *r);
/* Uniform in [0, n); n == 0 gives 0. Unbiased (rejection), so results do not depend on n's
 * relation to 2^64. */
uint64_t vlab_rng_below(struct vlab_rng *r, uint64_t n);
/* Uniform in [lo, hi], inclusive; lo > hi gives lo. */
uint64_t vlab_rng_range(struct vlab_rng *r, uint64_t lo, uint64_t hi);
/* True with probability percent/100 (0 never, >= 100 always). */
bool vlab_rng_chance(struct vlab_rng *r, unsigned percent);
/* Index into a table of weights (sum > 0), chosen in proportion to weight. */
unsigned vlab_rng_weighted(struct vlab_rng *r, const unsigned *weight, unsigned n);

#endif
