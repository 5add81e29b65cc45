/*
 * The PVH start information (Xen's public arch-x86/hvm/start_info.h, the
 * x86/HVM direct boot ABI): EBX points at struct hvm_start_info when the
 * PVH entry starts.  Shared by the C and assembly code.
 */
#ifndef X86_64_PVH_H
#define X86_64_PVH_H

#define PVH_START_MAGIC 0x336ec578

#ifndef __ASSEMBLER__
#include <stdint.h>

struct hvm_start_info {
	uint32_t magic; /* PVH_START_MAGIC */
	uint32_t version; /* 1 and later have the memory map */
	uint32_t flags;
	uint32_t nr_modules;
	uint64_t modlist_paddr; /* struct hvm_modlist_entry[nr_modules] */
	uint64_t cmdline_paddr; /* NUL-terminated, 0 when none */
	uint64_t rsdp_paddr;
	uint64_t memmap_paddr; /* struct hvm_memmap_table_entry[] */
	uint32_t memmap_entries;
	uint32_t reserved;
};

struct hvm_modlist_entry {
	uint64_t paddr;
	uint64_t size;
	uint64_t cmdline_paddr;
	uint64_t reserved;
};

#define HVM_MEMMAP_TYPE_RAM 1
struct hvm_memmap_table_entry {
	uint64_t addr;
	uint64_t size;
	uint32_t type;
	uint32_t reserved;
};
#endif
#endif
