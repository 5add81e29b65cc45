/*
 * Hypercalls from a PVH guest: Xen fills a page of the guest's memory with
 * one 32-byte stub per hypercall (vmcall or vmmcall, whichever this CPU
 * has) once the guest writes that page's physical address to the MSR that
 * Xen's CPUID leaves name.  Arguments go in rdi, rsi, rdx, r10, r8; the
 * result comes back in rax.  Pointers in arguments are the guest's own
 * virtual addresses (Xen walks the guest's page tables).
 */
#include <bmk/core.h>
#include <x86_64/layout.h>
#include <xen/xen.h>

/* The page Xen fills; in the image's text so it is there before the page
 * allocator and executable after x86_mmu_init's protections. */
__asm__(".pushsection .text.xen_hypercall_page, \"ax\", @progbits\n"
        ".balign 4096\n"
        ".globl xen_hypercall_page\n"
        "xen_hypercall_page:\n"
        ".fill 4096, 1, 0xcc\n" /* int3 until Xen writes it */
        ".popsection");
extern char xen_hypercall_page[];

int xen_hypercall_init(void)
{
	uint32_t r[4], base;

	/* Xen's leaves sit at 0x40000000 or, when it also offers another
	 * hypervisor's interface there (Viridian), 0x100 further up. */
	for (base = 0x40000000; base < 0x40010000; base += 0x100) {
		cpuid(base, 0, r);
		if (r[1] == 0x566e6558 && r[2] == 0x65584d4d && r[3] == 0x4d4d566e &&
		    r[0] - base >= 2) /* "XenVMMXenVMM", leaf base + 2 exists */
			break;
	}
	if (base >= 0x40010000)
		return -1;
	cpuid(base + 2, 0, r); /* eax: pages, ebx: the MSR */
	wrmsr(r[1], PHYS((uint64_t)(uintptr_t)xen_hypercall_page));
	return 0;
}

long xen_hypercall(unsigned nr, unsigned long a1, unsigned long a2, unsigned long a3,
    unsigned long a4, unsigned long a5)
{
	register unsigned long r10 __asm__("r10") = a4;
	register unsigned long r8 __asm__("r8") = a5;
	void *stub = xen_hypercall_page + nr * 32;
	long ret;

	__asm__ volatile("call *%[stub]"
	                 : "=a"(ret), "+D"(a1), "+S"(a2), "+d"(a3), "+r"(r10), "+r"(r8)
	                 : [stub] "r"(stub)
	                 : "memory", "rcx", "r9", "r11");
	return ret;
}

struct xen_hvm_param {
	uint16_t domid;
	uint16_t pad;
	uint32_t index;
	uint64_t value;
};

int xen_hvm_param(uint32_t index, uint64_t *value)
{
	struct xen_hvm_param p = {.domid = DOMID_SELF, .index = index};
	long rc = xen_hypercall(__HYPERVISOR_hvm_op, HVMOP_get_param, (unsigned long)&p, 0, 0, 0);

	*value = p.value;
	return (int)rc;
}
