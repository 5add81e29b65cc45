/*
 * Processor set-up: TSS with interrupt stacks, IDT, the ring-0 system call
 * MSRs; and the C side of traps and system calls.  Interrupts go to the
 * machine's x86_intr (the machine also sets up its interrupt controller).
 */
#include <bmk/core.h>
#include <bmk/symbols.h>
#include <rumprun_abi.h>
#include <x86_64/cpu.h>

struct idt_gate {
	uint16_t off_lo, sel;
	uint8_t ist, type;
	uint16_t off_mid;
	uint32_t off_hi, zero;
} __attribute__((packed));

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];
	uint64_t reserved1;
	uint64_t ist[7];
	uint64_t reserved2;
	uint16_t reserved3, iomap;
} __attribute__((packed));

extern uint64_t gdt64[];
extern void x86_trap0(void), x86_trap1(void), x86_trap2(void), x86_trap3(void), x86_trap4(void),
    x86_trap5(void), x86_trap6(void), x86_trap7(void), x86_trap8(void), x86_trap9(void),
    x86_trap10(void), x86_trap11(void), x86_trap12(void), x86_trap13(void), x86_trap14(void),
    x86_trap15(void), x86_trap16(void), x86_trap17(void), x86_trap18(void), x86_trap19(void),
    x86_trap20(void), x86_trap21(void);
extern void x86_irq0(void), x86_irq1(void), x86_irq2(void), x86_irq3(void), x86_irq4(void),
    x86_irq5(void), x86_irq6(void), x86_irq7(void), x86_irq8(void), x86_irq9(void), x86_irq10(void),
    x86_irq11(void), x86_irq12(void), x86_irq13(void), x86_irq14(void), x86_irq15(void);

static void (*const traps[])(void) = {
    x86_trap0,
    x86_trap1,
    x86_trap2,
    x86_trap3,
    x86_trap4,
    x86_trap5,
    x86_trap6,
    x86_trap7,
    x86_trap8,
    x86_trap9,
    x86_trap10,
    x86_trap11,
    x86_trap12,
    x86_trap13,
    x86_trap14,
    x86_trap15,
    x86_trap16,
    x86_trap17,
    x86_trap18,
    x86_trap19,
    x86_trap20,
    x86_trap21,
};
static void (*const irqs[])(void) = {
    x86_irq0,
    x86_irq1,
    x86_irq2,
    x86_irq3,
    x86_irq4,
    x86_irq5,
    x86_irq6,
    x86_irq7,
    x86_irq8,
    x86_irq9,
    x86_irq10,
    x86_irq11,
    x86_irq12,
    x86_irq13,
    x86_irq14,
    x86_irq15,
};

/* Every trap and interrupt runs on a stack of its own (the IST), never on
 * the interrupted stack: app code keeps data in its red zone, and a stack
 * overflow must still be reportable. */
#define IST_TRAP 1
#define IST_IRQ 2
#define IST_DOUBLE 3
static uint8_t ist_stacks[3][8192] __attribute__((aligned(16)));
static struct tss tss;
static struct idt_gate idt[48];

static void set_gate(int vec, void (*fn)(void), int ist)
{
	uintptr_t a = (uintptr_t)fn;

	idt[vec].off_lo = a & 0xffff;
	idt[vec].sel = GDT_KCODE;
	idt[vec].ist = ist;
	idt[vec].type = 0x8e; /* present, ring 0, interrupt gate */
	idt[vec].off_mid = (a >> 16) & 0xffff;
	idt[vec].off_hi = a >> 32;
	idt[vec].zero = 0;
}

void x86_cpu_init(void)
{
	struct {
		uint16_t limit;
		uint64_t base;
	} __attribute__((packed)) idtr;
	uintptr_t t = (uintptr_t)&tss;
	unsigned i;

	tss.ist[IST_TRAP - 1] = (uintptr_t)ist_stacks[0] + sizeof(ist_stacks[0]);
	tss.ist[IST_IRQ - 1] = (uintptr_t)ist_stacks[1] + sizeof(ist_stacks[1]);
	tss.ist[IST_DOUBLE - 1] = (uintptr_t)ist_stacks[2] + sizeof(ist_stacks[2]);
	tss.iomap = sizeof(tss);
	gdt64[GDT_TSS / 8] = (sizeof(tss) - 1) | ((t & 0xffffff) << 16) | (0x89ULL << 40) |
	    (((t >> 24) & 0xff) << 56);
	gdt64[GDT_TSS / 8 + 1] = t >> 32;
	__asm__ volatile("ltr %w0" ::"r"(GDT_TSS));

	for (i = 0; i < ARRAY_LEN(traps); i++)
		set_gate(i, traps[i], i == 8 ? IST_DOUBLE : IST_TRAP);
	for (i = 0; i < ARRAY_LEN(irqs); i++)
		set_gate(32 + i, irqs[i], IST_IRQ);
	idtr.limit = sizeof(idt) - 1;
	idtr.base = (uintptr_t)idt;
	__asm__ volatile("lidt %0" ::"m"(idtr));

	wrmsr(MSR_STAR, (uint64_t)GDT_KCODE << 32);
	wrmsr(MSR_LSTAR, (uintptr_t)x86_syscall_entry);
	wrmsr(MSR_FMASK, RFLAGS_IF | RFLAGS_DF | RFLAGS_TF | RFLAGS_AC);
}

static const struct {
	const char *name;
	int signo;
} trapinfo[] = {
    [0] = {"divide error", 8}, /* SIGFPE */
    [1] = {"debug exception", 5}, /* SIGTRAP */
    [2] = {"non-maskable interrupt", 11},
    [3] = {"breakpoint", 5},
    [4] = {"overflow", 11},
    [5] = {"bound range exceeded", 11},
    [6] = {"invalid opcode", 4}, /* SIGILL */
    [7] = {"device not available", 11},
    [8] = {"double fault", 11},
    [9] = {"coprocessor segment overrun", 11},
    [10] = {"invalid TSS", 11},
    [11] = {"segment not present", 7}, /* SIGBUS */
    [12] = {"stack fault", 7},
    [13] = {"general protection fault", 11}, /* SIGSEGV */
    [14] = {"page fault", 11},
    [15] = {"reserved exception", 11},
    [16] = {"x87 floating point error", 8},
    [17] = {"alignment check", 7},
    [18] = {"machine check", 7},
    [19] = {"SIMD floating point error", 8},
    [20] = {"virtualization exception", 11},
    [21] = {"control protection", 11},
};

/*
 * Whether tf was taken in application code: interrupts on (kernel code
 * runs with them off) and not on the thread's kernel stack (the
 * scheduler's interrupt window and the idle loop run there with them on).
 */
static int in_app_code(const struct trapframe *tf)
{
	return (tf->rflags & RFLAGS_IF) && bmk_current() && !bmk_sched_on_kernel_stack(tf->rsp);
}

/* A reported fault ends: in app code, the kernel ends the program
 * (bmk_app_fault on the thread's kernel stack, through x86_fault_stub,
 * which the trap's return goes to); anywhere else the machine ends now,
 * without entering the kernel again (its state may be what broke). */
static int reporting; /* a report is being printed */

static void fault_end(struct trapframe *tf, int signo)
{
	if (!in_app_code(tf))
		bmk_exit(128 + signo, 1);
	reporting = 0;
	tf->rip = (uintptr_t)x86_fault_stub;
	tf->rdi = (uint64_t)signo;
	tf->rsp = x86_kstack_top;
	tf->rflags &= ~(uint64_t)RFLAGS_IF;
}

/* A trap: a page fault the machine resolves (a lazily committed page)
 * returns to the faulting instruction; anything else is reported, then
 * ends the faulting program (app code) or the machine (kernel code) with
 * the status a shell would show. */
void x86_trap(struct trapframe *tf)
{
	struct bmk_thread *t = bmk_current();
	unsigned v = (unsigned)tf->vector;
	uintptr_t off;
	const char *fn;
	int signo = trapinfo[v].signo, fault = X86_FAULT_BAD;

	if (v == 14 && (fault = x86_page_fault(read_cr2(), tf->error)) == X86_FAULT_RESOLVED)
		return;
	if (reporting) {
		/* The report itself faulted: no loop, no kernel. */
		bmk_printf("\nrumprun: fatal: %s (vector %u) at rip %p while reporting a fault\n",
		    trapinfo[v].name, v, (void *)tf->rip);
		bmk_exit(128 + signo, 1);
	}
	reporting = 1;
	fn = bmk_symbol_lookup(tf->rip, &off);

	/* The bake turns the app's hlt (how musl crashes on purpose) into the
	 * invalid opcode RUMPRUN_CRASH_OPCODE (rumprun/toolchain/linkobjs.py): report it as Linux would
	 * a hlt in user mode, a segmentation fault. */
	if (v == 6 && *(const uint8_t *)tf->rip == RUMPRUN_CRASH_OPCODE) {
		bmk_printf("\nrumprun: fatal: the app executed hlt, musl's way to crash on purpose "
		           "(a corrupted heap or a misused thread?), in thread \"%s\" at rip %p",
		    t ? bmk_thread_name(t) : "boot", (void *)tf->rip);
		if (fn)
			bmk_printf(" <%s+0x%lx>", fn, (unsigned long)off);
		bmk_printf("\n");
		fault_end(tf, 11);
		return;
	}

	bmk_printf("\nrumprun: fatal: %s (vector %u, error 0x%lx) in thread \"%s\" at rip %p",
	    trapinfo[v].name, v, (unsigned long)tf->error, t ? bmk_thread_name(t) : "boot",
	    (void *)tf->rip);
	if (fn)
		bmk_printf(" <%s+0x%lx>", fn, (unsigned long)off);
	if (v == 14) {
		uintptr_t addr = read_cr2();

		bmk_printf(", address %p (%s, %s)", (void *)addr,
		    tf->error & 2        ? "write"
		        : tf->error & 16 ? "execute"
		                         : "read",
		    tf->error & 1 ? "protection" : "not mapped");
		if (fault == X86_FAULT_NOMEM) {
			bmk_printf(": out of memory for a page of a lazily committed mapping\n");
			fault_end(tf, 9); /* SIGKILL, as Linux's out-of-memory killer */
			return;
		}
		if (addr < BMK_PAGE_SIZE)
			bmk_printf(": null pointer dereference");
		else if (!(tf->error & 1) && addr + 65536 >= tf->rsp && addr < tf->rsp + 256)
			bmk_printf(": stack overflow (guard page hit)");
	}
	bmk_printf("\n");
	bmk_printf(
	    "  rax %016lx rbx %016lx rcx %016lx rdx %016lx\n", tf->rax, tf->rbx, tf->rcx, tf->rdx);
	bmk_printf(
	    "  rsi %016lx rdi %016lx rbp %016lx rsp %016lx\n", tf->rsi, tf->rdi, tf->rbp, tf->rsp);
	bmk_printf(
	    "  r8  %016lx r9  %016lx r10 %016lx r11 %016lx\n", tf->r8, tf->r9, tf->r10, tf->r11);
	bmk_printf(
	    "  r12 %016lx r13 %016lx r14 %016lx r15 %016lx\n", tf->r12, tf->r13, tf->r14, tf->r15);
	bmk_printf("  rflags %016lx\n", tf->rflags);
	fault_end(tf, signo);
}

/*
 * An interrupt (irq_common): the machine's handler, then, when it came in
 * app code that has kept the CPU while an interrupt waits (the scheduler
 * decides), send that thread into the kernel as if it had yielded: its
 * frame is copied to the top of its kernel stack, and the interrupt's
 * return goes to x86_preempt_stub, which returns to the copy later.
 */
void x86_irq(struct trapframe *tf)
{
	struct trapframe *copy;

	x86_intr(tf);
	if (!in_app_code(tf) || !bmk_sched_preempt())
		return;
	copy = (struct trapframe *)(x86_kstack_top - sizeof(*copy));
	*copy = *tf;
	tf->rip = (uintptr_t)x86_preempt_stub;
	tf->rsp = (uintptr_t)copy;
	tf->rflags &= ~(uint64_t)RFLAGS_IF;
}

/* The app's system call: hand it to the kernel through the hyp_syscall upcall. */
void x86_syscall(struct trapframe *tf)
{
	struct bmk_thread *t = bmk_current();
	void *outer = bmk_thread_frame(t);
	long args[6] = {
	    (long)tf->rdi, (long)tf->rsi, (long)tf->rdx, (long)tf->r10, (long)tf->r8, (long)tf->r9};

	bmk_thread_set_frame(t, tf);
	tf->rax = (uint64_t)bmk_syscall((long)tf->rax, args);
	bmk_thread_set_frame(t, outer);
}
