/*
 * Ending the machine (the status line is printed): leave through QEMU's
 * isa-debug-exit port, else ACPI soft-off, else halt.  A PC has no way to
 * tell a crash from a power-off; the status says it.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <rumprun_abi.h>

struct acpi_sdt {
	char sig[4];
	uint32_t len;
	uint8_t rev, sum;
	char oem[6], oemtable[8];
	uint32_t oemrev, creator, creatorrev;
} __attribute__((packed));

static uintptr_t ebda;

void hw_exit_init(void)
{
	/* The BIOS data area says where the extended one is. */
	ebda = (uintptr_t) * (volatile uint16_t *)x86_phys_to_virt(0x40e) << 4;
}

static const char *find_rsdp(void)
{
	uintptr_t a;

	for (a = ebda; ebda && a < ebda + 1024; a += 16)
		if (!__builtin_memcmp(x86_phys_to_virt(a), "RSD PTR ", 8))
			return x86_phys_to_virt(a);
	for (a = 0xe0000; a < 0x100000; a += 16)
		if (!__builtin_memcmp(x86_phys_to_virt(a), "RSD PTR ", 8))
			return x86_phys_to_virt(a);
	return NULL;
}

/* ACPI tables point at each other with 32-bit physical addresses. */
static const void *acpi_ptr(const void *field)
{
	return x86_phys_to_virt(*(const uint32_t *)field);
}

/* Find the FADT, its PM1a control port and \_S5's SLP_TYPa in the DSDT. */
static void acpi_poweroff(void)
{
	const char *rsdp = find_rsdp();
	const struct acpi_sdt *rsdt, *fadt = NULL, *dsdt;
	const uint8_t *p, *end;
	uint32_t i, n, pm1a, pm1b;
	uint16_t slp_typ = 0;

	if (!rsdp)
		return;
	rsdt = acpi_ptr(rsdp + 16);
	n = (rsdt->len - sizeof(*rsdt)) / 4;
	for (i = 0; i < n; i++) {
		const struct acpi_sdt *t = acpi_ptr((const uint32_t *)(rsdt + 1) + i);
		if (!__builtin_memcmp(t->sig, "FACP", 4))
			fadt = t;
	}
	if (!fadt)
		return;
	dsdt = acpi_ptr((const char *)fadt + 40);
	pm1a = *(const uint32_t *)((const char *)fadt + 64);
	pm1b = *(const uint32_t *)((const char *)fadt + 68);
	p = (const uint8_t *)(dsdt + 1);
	end = (const uint8_t *)dsdt + dsdt->len;
	for (; p + 8 < end; p++) {
		if (__builtin_memcmp(p, "_S5_", 4) || p[4] != 0x12)
			continue;
		p += 5; /* PackageOp */
		p += (*p >> 6) + 1; /* PkgLength */
		p++; /* NumElements */
		slp_typ = *p == 0x0a ? p[1] : *p; /* BytePrefix or constant */
		break;
	}
	outw(pm1a, (slp_typ << 10) | (1 << 13));
	if (pm1b)
		outw(pm1b, (slp_typ << 10) | (1 << 13));
}

void bmk_platform_exit(int status, int crash)
{
	outb(RUMPRUN_DEBUG_EXIT_PORT, (uint8_t)status);
	acpi_poweroff();
	for (;;)
		__asm__ volatile("cli; hlt");
}
