/* Hashing, the seeded PRNG and clocks. */
#include "cm.h"

#include <string.h>

#include <time.h>

static inline uint64_t load64(const unsigned char *s)
{
	uint64_t w;
	memcpy(&w, s, 8);
	return w;
}

static inline uint64_t mix64(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdULL;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ULL;
	return h ^ (h >> 33);
}

uint64_t cm_hash64(const void *p, size_t n)
{
	/* Eight bytes per step (bodies and paths are hashed on hot paths),
	 * then a murmur-style finaliser so that short inputs spread. Not
	 * cryptographic; equal inputs give equal hashes everywhere. */
	const unsigned char *s = p;
	uint64_t h = 0xcbf29ce484222325ULL ^ (n * 0x9e3779b97f4a7c15ULL);
	size_t i = 0;
	for (; i + 8 <= n; i += 8) {
		h = (h ^ load64(s + i)) * 0x100000001b3ULL;
		h ^= h >> 29;
	}
	uint64_t tail = 0;
	for (size_t k = 0; i + k < n; k++)
		tail |= (uint64_t)s[i + k] << (8 * k);
	h = (h ^ tail) * 0x100000001b3ULL;
	return mix64(h);
}

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void cm_rng_seed(cm_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t cm_rng_next(cm_rng *r)
{
	/* xoshiro256** */
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

uint64_t cm_rng_below(cm_rng *r, uint64_t n)
{
	if (n == 0)
		cm_panic("cm_rng_below(0)");
	/* Lemire's multiply-shift; the tiny bias is irrelevant here. */
	return (uint64_t)(((unsigned __int128)cm_rng_next(r) * n) >> 64);
}

bool cm_rng_chance(cm_rng *r, uint32_t per_million)
{
	return cm_rng_below(r, 1000000) < per_million;
}

uint64_t cm_now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

uint64_t cm_wall_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}
