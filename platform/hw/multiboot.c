/*
 * Multiboot (v1) information: the memory map, modules and command line,
 * handed to the shared boot code (x86_64/bootinfo.c).  The configuration
 * (rumprun_abi.h says the order) is QEMU's fw_cfg file when QEMU's own
 * multiboot loader started us, else the first module when there is one,
 * else the command line from its first '{' (QEMU and grub put the kernel's
 * file name first).
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

static size_t c_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

static int is_qemu(const char *loader)
{
	return loader[0] == 'q' && loader[1] == 'e' && loader[2] == 'm' && loader[3] == 'u' &&
	    loader[4] == '\0';
}

/* The launcher's configuration from fw_cfg, probed only on QEMU (a PC may
 * have something else at fw_cfg's ports); 1 if there was one. */
static int fwcfg_config(const char *loader)
{
	size_t len;
	char *text;

	if (!loader || !is_qemu(loader) ||
	    (text = hw_fwcfg_file(RUMPRUN_FW_CFG_CONFIG, &len)) == NULL)
		return 0;
	x86_boot_config(text, len);
	bmk_memfree(text, len + 1);
	return 1;
}

/* QEMU's microvm adds its virtio-mmio devices to the command line it
 * keeps in fw_cfg, not to the one its multiboot loader hands over. */
static void fwcfg_devices(void)
{
	size_t len;
	char *text = hw_fwcfg_cmdline(&len);

	if (text) {
		hw_mmio_scan(text);
		bmk_memfree(text, len + 1);
	}
}

void hw_multiboot_init(uint32_t info)
{
	const struct mbi *mbi = x86_phys_to_virt(info);
	const struct mb_module *mods = NULL;
	const char *cmdline = NULL, *loader = NULL;
	const char *a, *mmap_end;
	uint32_t i;

	if (!(mbi->flags & MBI_MMAP)) {
		bmk_printf("rumprun: the multiboot loader gave no memory map\n");
		bmk_exit(1, 1);
	}
	x86_boot_reserve(info, info + sizeof(*mbi));
	x86_boot_reserve(mbi->mmap_addr, mbi->mmap_addr + mbi->mmap_length);
	if (mbi->flags & MBI_CMDLINE) {
		cmdline = x86_phys_to_virt(mbi->cmdline);
		x86_boot_reserve(mbi->cmdline, mbi->cmdline + c_strlen(cmdline) + 1);
	}
	if (mbi->flags & MBI_LOADER_NAME) {
		loader = x86_phys_to_virt(mbi->boot_loader_name);
		x86_boot_reserve(
		    mbi->boot_loader_name, mbi->boot_loader_name + c_strlen(loader) + 1);
	}
	if ((mbi->flags & MBI_MODS) && mbi->mods_count) {
		mods = x86_phys_to_virt(mbi->mods_addr);
		x86_boot_reserve(mbi->mods_addr, mbi->mods_addr + mbi->mods_count * sizeof(*mods));
		for (i = 0; i < mbi->mods_count; i++) {
			x86_boot_reserve(mods[i].start, mods[i].end);
			if (mods[i].string)
				x86_boot_reserve(mods[i].string,
				    mods[i].string + c_strlen(x86_phys_to_virt(mods[i].string)) +
				        1);
		}
	}
	mmap_end = (const char *)x86_phys_to_virt(mbi->mmap_addr) + mbi->mmap_length;
	for (a = x86_phys_to_virt(mbi->mmap_addr); a < mmap_end;
	     a += ((const struct mb_mmap *)a)->size + 4) {
		const struct mb_mmap *m = (const struct mb_mmap *)a;

		if (m->type == 1)
			x86_boot_ram(m->addr, m->addr + m->len);
	}
	x86_boot_memory_done();

	i = 0;
	if (!fwcfg_config(loader) && mods) {
		x86_boot_config(x86_phys_to_virt(mods[0].start), mods[0].end - mods[0].start);
		i = 1;
	}
	for (; mods && i < mbi->mods_count; i++)
		x86_boot_module(mods[i].start, mods[i].end,
		    mods[i].string ? x86_phys_to_virt(mods[i].string) : NULL);
	if (cmdline) {
		x86_boot_cmdline(cmdline, 1);
		hw_mmio_scan(cmdline);
	}
	if (loader && is_qemu(loader))
		fwcfg_devices();
}
