/*
 * Multiboot (v1) information: usable memory goes to the page allocator,
 * minus everything the boot loader placed there (our image, its info
 * structure, the command line, modules); the configuration is copied out
 * before anything can overwrite it.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <hw/layout.h>

#define MB_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_CMDLINE (1 << 2)
#define MBI_MODS (1 << 3)
#define MBI_MMAP (1 << 6)

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
} __attribute__((packed));

struct mb_module {
	uint32_t start, end, string, reserved;
} __attribute__((packed));

struct mb_mmap {
	uint32_t size;
	uint64_t addr, len;
	uint32_t type;
} __attribute__((packed));

extern char _image_start[], _end[];

#define MAX_RESERVED 16
static struct { uint64_t start, end; } reserved[MAX_RESERVED];	/* physical */
static int nreserved;
static char *config, *image_name;
static size_t config_len;

static void reserve(uint64_t start, uint64_t end)
{
	if (nreserved < MAX_RESERVED && end > start) {
		reserved[nreserved].start = start & ~(BMK_PAGE_SIZE - 1);
		reserved[nreserved].end = (end + BMK_PAGE_SIZE - 1) & ~(BMK_PAGE_SIZE - 1);
		nreserved++;
	}
}

static size_t c_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

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
		bmk_pgalloc_add((uintptr_t)hw_phys_to_virt(start), (uintptr_t)hw_phys_to_virt(end));
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

#define FOR_EACH_MMAP(m, mbi) \
	for (const char *a_ = hw_phys_to_virt((mbi)->mmap_addr); \
	    (m) = (const struct mb_mmap *)a_, \
	    a_ < (const char *)hw_phys_to_virt((mbi)->mmap_addr) + (mbi)->mmap_length; \
	    a_ += (m)->size + 4)

/* Boot page tables map the first 4 GiB; usable memory above it is mapped
 * into the direct map before the page allocator may hand it out. */
#define BOOT_MAPPED 0x100000000ULL

void hw_multiboot_init(uint32_t magic, uint32_t info)
{
	const struct mbi *mbi = hw_phys_to_virt(info);
	const struct mb_module *mods = NULL;
	const struct mb_mmap *m;
	const char *cmdline = NULL;
	uint64_t lo = 0x100000, hi = 0, top = 0, bm;
	uint32_t i;

	if (magic != MB_BOOTLOADER_MAGIC || !(mbi->flags & MBI_MMAP)) {
		bmk_printf("rumprun: not started by a multiboot loader with a memory map\n");
		bmk_exit(1, 1);
	}
	reserve(PHYS((uintptr_t)_image_start), PHYS((uintptr_t)_end));
	reserve(info, info + sizeof(*mbi));
	reserve(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length);
	if (mbi->flags & MBI_CMDLINE) {
		cmdline = hw_phys_to_virt(mbi->cmdline);
		reserve(mbi->cmdline, mbi->cmdline + c_strlen(cmdline) + 1);
	}
	if ((mbi->flags & MBI_MODS) && mbi->mods_count) {
		mods = hw_phys_to_virt(mbi->mods_addr);
		reserve(mbi->mods_addr, mbi->mods_addr + mbi->mods_count * sizeof(*mods));
		for (i = 0; i < mbi->mods_count && i < 4; i++)
			reserve(mods[i].start, mods[i].end);
	}

	/* The managed range: usable memory from 1 MiB up. */
	FOR_EACH_MMAP(m, mbi) {
		uint64_t end = m->addr + m->len;

		if (m->type != 1 || end <= lo)
			continue;
		if (end > HW_DIRECT_MAP_SIZE)
			end = HW_DIRECT_MAP_SIZE;
		if (end > hi)
			hi = end;
	}
	for (i = 0; i < (uint32_t)nreserved; i++)
		if (reserved[i].end > top && reserved[i].end < hi)
			top = reserved[i].end;
	bm = top;
	reserve(bm, bm + bmk_pgalloc_bitmap_bytes(lo, hi));
	bmk_pgalloc_init((uintptr_t)hw_phys_to_virt(lo), (uintptr_t)hw_phys_to_virt(hi),
	    hw_phys_to_virt(bm));
	FOR_EACH_MMAP(m, mbi)
		if (m->type == 1 && m->addr < BOOT_MAPPED)
			add_usable(m->addr, m->addr + m->len < BOOT_MAPPED ?
			    m->addr + m->len : BOOT_MAPPED, 0);
	FOR_EACH_MMAP(m, mbi) {
		uint64_t start = m->addr > BOOT_MAPPED ? m->addr : BOOT_MAPPED;
		uint64_t end = m->addr + m->len < hi ? m->addr + m->len : hi;

		if (m->type != 1 || end <= start)
			continue;
		if (hw_mmu_direct_map(start, end - start) == 0)
			add_usable(start, end, 0);
	}

	/* The configuration: the first module, else the command line from
	 * its first '{' (QEMU puts the kernel's file name first). */
	if (mods) {
		config_len = mods[0].end - mods[0].start;
		config = copy_out(hw_phys_to_virt(mods[0].start), config_len);
	}
	if (cmdline) {
		const char *brace = cmdline, *sp = cmdline;

		while (*brace && *brace != '{')
			brace++;
		if (!config && *brace) {
			config_len = c_strlen(brace);
			config = copy_out(brace, config_len);
		}
		while (*sp && *sp != ' ')
			sp++;
		if (*cmdline && *cmdline != '{')
			image_name = copy_out(cmdline, sp - cmdline);
	}
}

const char *hw_config(size_t *len)
{
	*len = config_len;
	return config;
}

const char *hw_image_name(void)
{
	return image_name;
}
