/*
 * What a boot protocol hands over (multiboot on hw, PVH on hw and xen),
 * independent of the protocol: the memory map goes to the page allocator
 * minus the ranges in use (the image, the protocol's own structures,
 * modules); the configuration and the image's name are copied out before
 * anything can overwrite them.  The protocol's parser (hw/multiboot.c,
 * pvh.c) feeds it, all addresses physical.
 */
#include <bmk/core.h>
#include <x86_64/cpu.h>
#include <x86_64/layout.h>

#define MAX_RANGES 32
struct range {
	uint64_t start, end;
};
static struct range reserved[MAX_RANGES], ram[MAX_RANGES];
static int nreserved, nram;
static char *config, *image_name;
static size_t config_len;

extern char _image_start[], _end[];

/* Boot page tables map the first 4 GiB; usable memory above it is mapped
 * into the direct map before the page allocator may hand it out. */
#define BOOT_MAPPED 0x100000000ULL
#define LOW_MEMORY_END 0x100000 /* below 1 MiB: firmware, never used */

static void add_range(struct range *r, int *n, uint64_t start, uint64_t end, const char *what)
{
	if (end <= start)
		return;
	if (*n == MAX_RANGES) {
		bmk_printf("rumprun: too many %s ranges at boot, ignoring [%lx, %lx)\n", what,
		    (unsigned long)start, (unsigned long)end);
		return;
	}
	r[*n].start = start;
	r[*n].end = end;
	(*n)++;
}

void x86_boot_reserve(uint64_t start, uint64_t end)
{
	add_range(reserved, &nreserved, start & ~(BMK_PAGE_SIZE - 1),
	    (end + BMK_PAGE_SIZE - 1) & ~(BMK_PAGE_SIZE - 1), "reserved");
}

void x86_boot_ram(uint64_t start, uint64_t end) { add_range(ram, &nram, start, end, "memory"); }

/* Add physical [start, end) minus the reserved ranges, from reserved
 * entry i on, to the page allocator (which hands out direct-map addresses). */
static void add_usable(uint64_t start, uint64_t end, int i)
{
	for (; i < nreserved && start < end; i++) {
		if (reserved[i].end <= start || reserved[i].start >= end)
			continue;
		add_usable(start, reserved[i].start, i + 1);
		start = reserved[i].end;
	}
	if (start < end)
		bmk_pgalloc_add(
		    (uintptr_t)x86_phys_to_virt(start), (uintptr_t)x86_phys_to_virt(end));
}

void x86_boot_memory_done(void)
{
	uint64_t lo = LOW_MEMORY_END, hi = 0, top = 0, bm;
	int i;

	x86_boot_reserve(PHYS((uintptr_t)_image_start), PHYS((uintptr_t)_end));
	for (i = 0; i < nram; i++) {
		uint64_t end = ram[i].end < X86_DIRECT_MAP_SIZE ? ram[i].end : X86_DIRECT_MAP_SIZE;

		if (end > lo && end > hi)
			hi = end;
	}
	if (hi == 0) {
		bmk_printf("rumprun: the boot loader reported no usable memory\n");
		bmk_exit(1, 1);
	}
	/* The page allocator's bitmap goes above everything reserved. */
	for (i = 0; i < nreserved; i++)
		if (reserved[i].end > top && reserved[i].end < hi)
			top = reserved[i].end;
	bm = top;
	x86_boot_reserve(bm, bm + bmk_pgalloc_bitmap_bytes(lo, hi));
	bmk_pgalloc_init(
	    (uintptr_t)x86_phys_to_virt(lo), (uintptr_t)x86_phys_to_virt(hi), x86_phys_to_virt(bm));
	for (i = 0; i < nram; i++) {
		uint64_t start = ram[i].start > lo ? ram[i].start : lo;
		uint64_t end = ram[i].end < BOOT_MAPPED ? ram[i].end : BOOT_MAPPED;

		add_usable(start, end, 0);
	}
	for (i = 0; i < nram; i++) {
		uint64_t start = ram[i].start > BOOT_MAPPED ? ram[i].start : BOOT_MAPPED;
		uint64_t end = ram[i].end < hi ? ram[i].end : hi;

		if (end > start && x86_mmu_direct_map(start, end - start) == 0)
			add_usable(start, end, 0);
	}
}

static char *copy_out(const char *src, size_t len)
{
	char *dst = bmk_memalloc(len + 1, 0);
	size_t i;

	if (dst) {
		for (i = 0; i < len; i++)
			dst[i] = src[i];
		dst[len] = '\0';
	}
	return dst;
}

void x86_boot_config(const char *text, size_t len)
{
	config = copy_out(text, len);
	config_len = config ? len : 0;
}

void x86_boot_cmdline(const char *cmdline, int first_word_is_image)
{
	const char *brace = cmdline, *sp = cmdline;

	while (*brace && *brace != '{')
		brace++;
	if (!config && *brace) {
		size_t n = 0;

		while (brace[n])
			n++;
		x86_boot_config(brace, n);
	}
	while (*sp && *sp != ' ')
		sp++;
	if (first_word_is_image && *cmdline && *cmdline != '{')
		image_name = copy_out(cmdline, sp - cmdline);
}

const char *bmk_platform_config(size_t *len)
{
	*len = config_len;
	return config;
}

/* Boot modules after the configuration: disk images (rumpuser_ext_bootmodule). */
#define MAX_MODULES 16
static struct {
	uint64_t start, end;
	char *name;
} modules[MAX_MODULES];
static int nmodules;

void x86_boot_module(uint64_t start, uint64_t end, const char *name)
{
	size_t n = 0;

	if (nmodules == MAX_MODULES) {
		bmk_printf("rumprun: more than %d boot modules, ignoring %s\n", MAX_MODULES,
		    name ? name : "one");
		return;
	}
	while (name && name[n])
		n++;
	modules[nmodules].start = start;
	modules[nmodules].end = end;
	modules[nmodules].name = copy_out(name ? name : "", n);
	nmodules++;
}

int bmk_platform_module(int index, const char **name, void **addr, size_t *len)
{
	if (index < 0 || index >= nmodules)
		return -1;
	*name = modules[index].name ? modules[index].name : "";
	*addr = x86_phys_to_virt(modules[index].start);
	*len = modules[index].end - modules[index].start;
	return 0;
}

const char *bmk_platform_image_name(void) { return image_name; }
