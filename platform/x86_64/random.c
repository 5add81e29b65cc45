/*
 * Randomness: RDRAND when the CPU has it (and it answers); otherwise a
 * ChaCha20 generator (RFC 8439 block function) seeded at its first use
 * from the TSC, the wall clock and RDRAND when present, re-keyed after
 * every request so earlier output cannot be recovered.
 */
#include <bmk/core.h>
#include <x86_64/cpu.h>

static int have_rdrand, seeded;
static uint32_t key[8];
static uint64_t counter;

#define ROTL(a, b) (((a) << (b)) | ((a) >> (32 - (b))))

/* The state words of each quarter round of a double round: the columns,
 * then the diagonals. */
static const uint8_t quarter_rounds[8][4] = {
    {0, 4, 8, 12},
    {1, 5, 9, 13},
    {2, 6, 10, 14},
    {3, 7, 11, 15},
    {0, 5, 10, 15},
    {1, 6, 11, 12},
    {2, 7, 8, 13},
    {3, 4, 9, 14},
};

/*
 * The 80 quarter rounds (10 double rounds) run as one loop over the table
 * rather than unrolled: the block function runs at every boot (AT_RANDOM),
 * and under QEMU's TCG each instruction costs far more to translate the
 * first time than to run, so short code is the fast code here.
 */
static void chacha20_block(uint32_t out[16])
{
	static const uint32_t sigma[4] = {0x61707865, 0x3320646e, 0x79622d32, 0x6b206574};
	uint32_t in[16];
	int i;

	for (i = 0; i < 16; i++)
		in[i] = i < 4 ? sigma[i] : i < 12 ? key[i - 4] : 0;
	in[12] = (uint32_t)counter;
	in[13] = (uint32_t)(counter >> 32);
	counter++;
	for (i = 0; i < 16; i++)
		out[i] = in[i];
	for (i = 0; i < 80; i++) {
		const uint8_t *q = quarter_rounds[i & 7];
		uint32_t a = out[q[0]], b = out[q[1]], c = out[q[2]], d = out[q[3]];

		a += b, d ^= a, d = ROTL(d, 16);
		c += d, b ^= c, b = ROTL(b, 12);
		a += b, d ^= a, d = ROTL(d, 8);
		c += d, b ^= c, b = ROTL(b, 7);
		out[q[0]] = a, out[q[1]] = b, out[q[2]] = c, out[q[3]] = d;
	}
	for (i = 0; i < 16; i++)
		out[i] += in[i];
}

static int rdrand64(uint64_t *v)
{
	unsigned char ok;
	int tries;

	for (tries = 0; tries < 10; tries++) {
		__asm__ volatile("rdrand %0; setc %1" : "=r"(*v), "=qm"(ok));
		if (ok)
			return 1;
	}
	return 0;
}

void x86_random_init(void)
{
	uint32_t r[4];

	cpuid(1, 0, r);
	have_rdrand = (r[2] >> 30) & 1;
}

/* The generator's key, at its first use (without RDRAND, or when it
 * fails): from the TSC, the wall clock and RDRAND when it answers. */
static void seed(void)
{
	int i;

	for (i = 0; i < 8; i++) {
		uint64_t v = rdtsc() ^ ((uint64_t)bmk_platform_clock_wall() << 7);
		uint64_t hw;

		if (have_rdrand && rdrand64(&hw))
			v ^= hw;
		key[i] ^= (uint32_t)(v ^ (v >> 32)) ^ (uint32_t)(i * 0x9e3779b9);
	}
	seeded = 1;
}

/* Fill [p, p + len) from RDRAND; 0 when it failed on the way. */
static int rdrand_fill(uint8_t *p, size_t len)
{
	uint64_t v;
	size_t i, n;

	while (len) {
		if (!rdrand64(&v))
			return 0;
		n = len < 8 ? len : 8;
		for (i = 0; i < n; i++)
			p[i] = (uint8_t)(v >> (8 * i));
		p += n;
		len -= n;
	}
	return 1;
}

void bmk_platform_random(void *buf, size_t len)
{
	uint8_t *p = buf;
	uint32_t block[16];
	size_t i, n;

	/* The processor's generator when it has one and it answers: the
	 * generator below then never runs (under QEMU's TCG its code is what a
	 * program's first AT_RANDOM costs). */
	if (have_rdrand && rdrand_fill(p, len))
		return;
	if (!seeded)
		seed();
	while (len) {
		chacha20_block(block);
		n = len < 32 ? len : 32; /* the other half re-keys */
		for (i = 0; i < n; i++)
			p[i] = ((uint8_t *)block)[i];
		for (i = 0; i < 8; i++)
			key[i] = block[8 + i];
		p += n;
		len -= n;
	}
}
