/*
 * Interrupts on a PC: the two 8259 PICs deliver IRQ 0-15 as vectors 32-47
 * (x86_intr).  Only the timer is unmasked; its one job is to end the idle
 * loop's hlt.
 */
#include <hw/hw.h>

void hw_intr_init(void)
{
	outb(0x20, 0x11); outb(0xa0, 0x11);	/* ICW1: init, ICW4 follows */
	outb(0x21, 0x20); outb(0xa1, 0x28);	/* vectors 32-47 */
	outb(0x21, 0x04); outb(0xa1, 0x02);	/* cascade on IRQ2 */
	outb(0x21, 0x01); outb(0xa1, 0x01);	/* 8086 mode */
	outb(0x21, 0xfe); outb(0xa1, 0xff);	/* only the timer */
}

void x86_intr(struct trapframe *tf)
{
	int irq = (int)tf->vector - 32;

	if (irq >= 8)
		outb(0xa0, 0x20);
	outb(0x20, 0x20);
}
