/*
 * Multiboot (v1) information: usable memory goes to the page allocator,
 * minus everything the boot loader placed there (our image, its info
 * structure, the command line, modules); the configuration is copied out
 * before anything can overwrite it.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <rumprun_abi.h>

#define MB_BOOTLOADER_MAGIC 0x2BADB002
#define MBI_CMDLINE (1 << 2)
#define MBI_MODS (1 << 3)
#define MBI_MMAP (1 << 6)
#define MBI_LOADER_NAME (1 << 9)

struct mbi {
	uint32_t flags, mem_lower, mem_upper, boot_device, cmdline;
	uint32_t mods_count, mods_addr;
	uint32_t syms[4];
	uint32_t mmap_length, mmap_addr;
	uint32_t drives_length, drives_addr, config_table, boot_loader_name;
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
static struct { uintptr_t start, end; } reserved[MAX_RESERVED];
static int nreserved;
static char *config, *image_name;
static size_t config_len;

static void reserve(uintptr_t start, uintptr_t end)
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

/* Add [start, end) minus the reserved ranges, from reserved entry i on. */
static void add_usable(uintptr_t start, uintptr_t end, int i)
{
	for (; i < nreserved && start < end; i++) {
		if (reserved[i].end <= start || reserved[i].start >= end)
			continue;
		add_usable(start, reserved[i].start, i + 1);
		start = reserved[i].end;
	}
	if (start < end)
		bmk_pgalloc_add(start, end);
}

static int is_qemu(const char *loader)
{
	return loader[0] == 'q' && loader[1] == 'e' && loader[2] == 'm' &&
	    loader[3] == 'u' && loader[4] == '\0';
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

void hw_multiboot_init(uint32_t magic, const void *info)
{
	const struct mbi *mbi = info;
	const struct mb_module *mods = NULL;
	const char *cmdline = NULL, *loader = NULL;
	uintptr_t a, lo = 0x100000, hi = 0, top = 0, bm;
	uint32_t i;

	if (magic != MB_BOOTLOADER_MAGIC || !(mbi->flags & MBI_MMAP)) {
		bmk_printf("rumprun: not started by a multiboot loader with a memory map\n");
		bmk_exit(1, 1);
	}
	reserve((uintptr_t)_image_start, (uintptr_t)_end);
	reserve((uintptr_t)mbi, (uintptr_t)(mbi + 1));
	reserve(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length);
	if (mbi->flags & MBI_CMDLINE) {
		cmdline = (const char *)(uintptr_t)mbi->cmdline;
		reserve((uintptr_t)cmdline, (uintptr_t)cmdline + c_strlen(cmdline) + 1);
	}
	if (mbi->flags & MBI_LOADER_NAME) {
		loader = (const char *)(uintptr_t)mbi->boot_loader_name;
		reserve((uintptr_t)loader, (uintptr_t)loader + c_strlen(loader) + 1);
	}
	if ((mbi->flags & MBI_MODS) && mbi->mods_count) {
		mods = (const struct mb_module *)(uintptr_t)mbi->mods_addr;
		reserve((uintptr_t)mods, (uintptr_t)(mods + mbi->mods_count));
		for (i = 0; i < mbi->mods_count && i < 4; i++)
			reserve(mods[i].start, mods[i].end);
	}

	/* The managed range: usable memory from 1 MiB up to 4 GiB (what the
	 * boot page tables map). */
	for (a = mbi->mmap_addr; a < mbi->mmap_addr + mbi->mmap_length;
	    a += ((const struct mb_mmap *)a)->size + 4) {
		const struct mb_mmap *m = (const struct mb_mmap *)a;
		uint64_t end = m->addr + m->len;

		if (m->type != 1 || end <= lo)
			continue;
		if (end > 0x100000000ULL)
			end = 0x100000000ULL;
		if (end > hi)
			hi = end;
	}
	for (i = 0; i < (uint32_t)nreserved; i++)
		if (reserved[i].end > top && reserved[i].end < hi)
			top = reserved[i].end;
	bm = top;
	reserve(bm, bm + bmk_pgalloc_bitmap_bytes(lo, hi));
	bmk_pgalloc_init(lo, hi, (void *)bm);
	for (a = mbi->mmap_addr; a < mbi->mmap_addr + mbi->mmap_length;
	    a += ((const struct mb_mmap *)a)->size + 4) {
		const struct mb_mmap *m = (const struct mb_mmap *)a;

		if (m->type == 1)
			add_usable(m->addr, m->addr + m->len, 0);
	}

	/* The configuration (rumprun_abi.h says the order): QEMU's fw_cfg
	 * file, probed only when QEMU's own multiboot loader started us; the
	 * first module; the command line from its first '{' (QEMU puts the
	 * kernel's file name first). */
	if (loader && is_qemu(loader))
		config = hw_fwcfg_file(RUMPRUN_FW_CFG_CONFIG, &config_len);
	if (!config && mods) {
		config_len = mods[0].end - mods[0].start;
		config = copy_out((const char *)(uintptr_t)mods[0].start, config_len);
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
