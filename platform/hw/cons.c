/*
 * Console: COM1 at 115200 8N1, polled, mirrored to the VGA text screen
 * when there is one (the launcher's QEMU has none, a PC does).
 */
#include <bmk/core.h>
#include <hw/hw.h>

#define COM1 0x3f8
#define VGA_COLS 80
#define VGA_ROWS 25

static volatile uint16_t *vga;
static int vga_present, vga_row, vga_col;

void hw_cons_init(void)
{
	outb(COM1 + 1, 0x00); /* no interrupts */
	outb(COM1 + 3, 0x80); /* DLAB */
	outb(COM1 + 0, 0x01); /* 115200 baud */
	outb(COM1 + 1, 0x00);
	outb(COM1 + 3, 0x03); /* 8N1 */
	outb(COM1 + 2, 0xc7); /* FIFO on */
	outb(COM1 + 4, 0x03); /* DTR, RTS */

	/* A VGA answers at its misc output register (never all ones); without
	 * one (QEMU's microvm, -vga none) the text buffer's address may be
	 * plain memory, which would pass the test below.  A VGA text buffer
	 * keeps what is written to it; nothing there does not. */
	if (inb(0x3cc) == 0xff)
		return;
	vga = x86_phys_to_virt(0xb8000);
	vga[0] = 0x0741;
	if (vga[0] == 0x0741) {
		int i;

		vga_present = 1;
		for (i = 0; i < VGA_COLS * VGA_ROWS; i++)
			vga[i] = 0x0720;
	}
}

static void vga_putc(int c)
{
	int i;

	if (c == '\n') {
		vga_col = 0;
		vga_row++;
	} else if (c == '\r') {
		vga_col = 0;
	} else {
		vga[vga_row * VGA_COLS + vga_col] = 0x0700 | (uint8_t)c;
		if (++vga_col == VGA_COLS) {
			vga_col = 0;
			vga_row++;
		}
	}
	if (vga_row == VGA_ROWS) {
		for (i = 0; i < VGA_COLS * (VGA_ROWS - 1); i++)
			vga[i] = vga[i + VGA_COLS];
		for (; i < VGA_COLS * VGA_ROWS; i++)
			vga[i] = 0x0720;
		vga_row--;
	}
}

static void serial_putc(int c)
{
	while (!(inb(COM1 + 5) & 0x20))
		;
	outb(COM1, (uint8_t)c);
}

void hw_cons_putc(int c)
{
	if (c == '\n')
		serial_putc('\r');
	serial_putc(c);
	if (vga_present)
		vga_putc(c);
}
