/*
 * The PVH start information (x86_64/pvh.h): its memory map, modules and
 * command line, handed to bootinfo.c.  The configuration is the first
 * module when there is one, else the command line from its first '{'.
 */
#include <bmk/core.h>
#include <x86_64/cpu.h>
#include <x86_64/pvh.h>

static size_t c_strlen(const char *s)
{
	size_t n = 0;

	while (s[n])
		n++;
	return n;
}

void x86_pvh_init(uint32_t info)
{
	const struct hvm_start_info *si = x86_phys_to_virt(info);
	const struct hvm_modlist_entry *mods = NULL;
	const struct hvm_memmap_table_entry *mm;
	const char *cmdline = NULL;
	uint32_t i;

	if (si->magic != PVH_START_MAGIC || si->version < 1 || !si->memmap_entries) {
		bmk_printf("rumprun: the PVH start information has no memory map "
		           "(version %u, magic %x)\n",
		    si->version, si->magic);
		bmk_exit(1, 1);
	}
	x86_boot_reserve(info, info + sizeof(*si));
	mm = x86_phys_to_virt(si->memmap_paddr);
	x86_boot_reserve(si->memmap_paddr, si->memmap_paddr + si->memmap_entries * sizeof(*mm));
	for (i = 0; i < si->memmap_entries; i++)
		if (mm[i].type == HVM_MEMMAP_TYPE_RAM)
			x86_boot_ram(mm[i].addr, mm[i].addr + mm[i].size);
	if (si->cmdline_paddr) {
		cmdline = x86_phys_to_virt(si->cmdline_paddr);
		x86_boot_reserve(si->cmdline_paddr, si->cmdline_paddr + c_strlen(cmdline) + 1);
	}
	if (si->nr_modules) {
		mods = x86_phys_to_virt(si->modlist_paddr);
		x86_boot_reserve(
		    si->modlist_paddr, si->modlist_paddr + si->nr_modules * sizeof(*mods));
		for (i = 0; i < si->nr_modules; i++) {
			x86_boot_reserve(mods[i].paddr, mods[i].paddr + mods[i].size);
			if (mods[i].cmdline_paddr)
				x86_boot_reserve(mods[i].cmdline_paddr,
				    mods[i].cmdline_paddr +
				        c_strlen(x86_phys_to_virt(mods[i].cmdline_paddr)) + 1);
		}
	}
	x86_boot_memory_done();

	if (mods)
		x86_boot_config(x86_phys_to_virt(mods[0].paddr), mods[0].size);
	for (i = 1; mods && i < si->nr_modules; i++)
		x86_boot_module(mods[i].paddr, mods[i].paddr + mods[i].size,
		    mods[i].cmdline_paddr ? x86_phys_to_virt(mods[i].cmdline_paddr) : NULL);
	if (cmdline)
		x86_boot_cmdline(cmdline, 0);
}
