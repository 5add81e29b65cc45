/*
 * Device interrupts: the two 8259 PICs and the rumpcomp_pci_irq_*
 * hypercalls over them (the model is described in rumpcomp_pci.h).
 *
 * The stub (x86_intr, interrupt context) masks a device line, marks it
 * pending, acknowledges the PIC and raises bmk's interrupt flag; the
 * interrupt thread later runs hw_intr_run(), which calls the line's
 * handlers and unmasks it.  PCI lines are level triggered (ELCR): masking
 * until the handlers have silenced the device is what keeps a line that is
 * still asserted from interrupting again at once.  The timer (line 0) ends
 * the idle loop's hlt, and while app code runs it ticks for the watchdog.
 */
#include <bmk/core.h>
#include <hw/hw.h>
#include <errno.h>
#include "rumpcomp_pci.h"

#define PIC1 0x20
#define PIC2 0xa0
#define ELCR1 0x4d0 /* edge/level control (PIIX and successors) */
#define ELCR2 0x4d1
#define EOI 0x20
#define NLINES 16
#define CASCADE 2

struct handler {
	int (*fn)(void *);
	void *arg;
	struct handler *next;
};

struct irq_route {
	unsigned cookie;
	int line;
	struct irq_route *next;
};

static struct handler *handlers[NLINES];
static struct irq_route *routes;
static uint16_t masked = 0xffff & ~1; /* IMR shadow: bit set = masked */
static volatile uint16_t pending;
int hw_intr_lines;

static void write_masks(void)
{
	outb(PIC1 + 1, masked & 0xff);
	outb(PIC2 + 1, masked >> 8);
}

/*
 * The local APIC in virtual-wire mode, so that the PICs' output (LINT0)
 * reaches the CPU: PC firmware sets this up, but after a PVH boot (QEMU's
 * microvm) nobody has.  Harmless when it is set up already.
 */
#define MSR_APIC_BASE 0x1b
#define APIC_BASE_ENABLE (1 << 11)
#define LAPIC_SVR 0xf0
#define LAPIC_LVT_LINT0 0x350
#define LAPIC_LVT_LINT1 0x360
#define LAPIC_SVR_ENABLE 0x100
#define LVT_EXTINT 0x700
#define LVT_NMI 0x400

static void lapic_virtual_wire(void)
{
	uint32_t r[4];
	uint64_t base;
	volatile uint32_t *lapic;

	cpuid(1, 0, r);
	if (!(r[3] & (1 << 9))) /* no local APIC: the PIC is wired directly */
		return;
	base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_ENABLE))
		return;
	lapic = x86_phys_to_virt(base & ~0xfffULL);
	lapic[LAPIC_SVR / 4] |= LAPIC_SVR_ENABLE | 0xff; /* spurious vector 0xff */
	lapic[LAPIC_LVT_LINT0 / 4] = LVT_EXTINT;
	lapic[LAPIC_LVT_LINT1 / 4] = LVT_NMI;
}

void hw_intr_init(void)
{
	lapic_virtual_wire();
	outb(PIC1, 0x11);
	outb(PIC2, 0x11); /* ICW1: init, ICW4 follows */
	outb(PIC1 + 1, 0x20);
	outb(PIC2 + 1, 0x28); /* vectors 32-47 */
	outb(PIC1 + 1, 1 << CASCADE);
	outb(PIC2 + 1, CASCADE);
	outb(PIC1 + 1, 0x01);
	outb(PIC2 + 1, 0x01); /* 8086 mode */
	write_masks();
}

/* Whether line is really in service: lines 7 and 15 also signal spurious
 * interrupts (a request that went away before the CPU took it). */
static int in_service(int line)
{
	uint16_t pic = line >= 8 ? PIC2 : PIC1;

	outb(pic, 0x0b); /* OCW3: read the in-service register */
	return inb(pic) & (1 << (line & 7));
}

void x86_intr(struct trapframe *tf)
{
	int line = (int)tf->vector - 32;

	if ((line & 7) == 7 && !in_service(line)) {
		if (line == 15)
			outb(PIC1, EOI); /* the master saw a real cascade request */
		return;
	}
	if (line == 0)
		bmk_sched_watchdog(hw_clock_mono());
	if (handlers[line]) {
		masked |= 1 << line;
		write_masks();
		pending |= 1 << line;
		bmk_intr_raise();
	}
	if (line >= 8)
		outb(PIC2, EOI);
	outb(PIC1, EOI);
}

/* The interrupt thread's work: every pending line's handlers, then unmask. */
static void hw_intr_run(void)
{
	uint16_t lines;
	struct handler *h;
	int line;

	while ((lines = __atomic_exchange_n(&pending, 0, __ATOMIC_SEQ_CST)) != 0) {
		for (line = 0; line < NLINES; line++) {
			if (!(lines & (1 << line)))
				continue;
			for (h = handlers[line]; h; h = h->next)
				h->fn(h->arg);
			masked &= ~(1 << line);
			write_masks();
		}
	}
}

int rumpcomp_pci_irq_map(unsigned bus, unsigned dev, unsigned fun, int intrline, unsigned cookie)
{
	struct irq_route *r;

	/* 0 is the timer, 2 the cascade; 0xff means "not connected". */
	if (intrline <= 0 || intrline >= NLINES || intrline == CASCADE)
		return EINVAL;
	for (r = routes; r; r = r->next)
		if (r->cookie == cookie)
			break;
	if (!r) {
		if ((r = bmk_memalloc(sizeof(*r), 0)) == NULL)
			return ENOMEM;
		r->cookie = cookie;
		r->next = routes;
		routes = r;
	}
	r->line = intrline;
	return 0;
}

void *rumpcomp_pci_irq_establish(unsigned cookie, int (*fn)(void *), void *arg)
{
	struct irq_route *r;
	struct handler *h, **pp;
	uint16_t elcr;
	int line;

	for (r = routes; r && r->cookie != cookie; r = r->next)
		;
	if (!r || bmk_intr_init(hw_intr_run) != 0)
		return NULL;
	if ((h = bmk_memalloc(sizeof(*h), 0)) == NULL)
		return NULL;
	line = r->line;
	h->fn = fn;
	h->arg = arg;
	h->next = NULL;
	for (pp = &handlers[line]; *pp; pp = &(*pp)->next)
		;
	*pp = h;

	/* PCI interrupts are level triggered and shareable; the firmware
	 * usually says so in the ELCR already. */
	elcr = inb(ELCR1) | inb(ELCR2) << 8;
	if (!(elcr & (1 << line))) {
		elcr |= 1 << line;
		outb(ELCR1, elcr & 0xff);
		outb(ELCR2, elcr >> 8);
	}
	masked &= ~(1 << line);
	if (line >= 8)
		masked &= ~(1 << CASCADE);
	write_masks();
	hw_intr_lines++;
	bmk_intr_awaited(1);
	return h;
}

void rumpcomp_pci_irq_awaited(int delta) { bmk_intr_awaited(delta); }
