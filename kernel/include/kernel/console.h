/*
 * The programs' standard streams (kernel/console.c) and the channels that
 * carry them to the host.
 *
 * A driver that finds a channel for a stream (the virtio console's ports
 * rumprun.stdin, rumprun.stdout, rumprun.stderr) attaches it.  It may do
 * so at boot, or defer setting its device up to the first use of any
 * stream (console_defer): a program that never touches its streams then
 * never pays for the device's handshake (most of a quiet program's boot
 * under QEMU's TCG, which translates every first-run instruction).
 * A stream without a channel falls back to the
 * platform console (rumpuser_putchar: COM1 on a PC) for output and reads
 * end of file for input.  The platform console itself then carries only
 * what the kernel says (notices, crash reports, the exit status line), so
 * the launcher can tell those from the program's output.
 */
#ifndef KERNEL_CONSOLE_H
#define KERNEL_CONSOLE_H

#include <sys/types.h>

enum console_stream { CONSOLE_STDIN, CONSOLE_STDOUT, CONSOLE_STDERR, CONSOLE_NSTREAMS };

struct console_channel {
	/*
	 * Write len bytes; returns once the host has taken all of them
	 * (nothing is left in flight when the machine ends), with len, or
	 * -EIO when the device failed.  Concurrent writes do not interleave.
	 */
	ssize_t (*write)(struct console_channel *ch, const void *buf, size_t len);
	/*
	 * Read up to len (> 0) bytes: what is there, at once; else block
	 * until something comes.  Returns the count, 0 at end of file (the
	 * host closed its end and everything before was read), or -EAGAIN
	 * when nonblock is set and nothing is there.
	 */
	ssize_t (*read)(struct console_channel *ch, void *buf, size_t len, int nonblock);
	/* Whether read would return at once (data or end of file). */
	int (*readable)(struct console_channel *ch);
	int tty; /* the host end is a terminal (isatty() is true) */
};

/* Carry stream over ch from now on (ch lives as long as the machine).
 * Components that make a channel readable call poll_wakeup(). */
void console_attach(enum console_stream stream, struct console_channel *ch);

/*
 * A device whose channels are set up later: start(cs) runs once, in the
 * thread that first reads, writes, polls or asks about any stream, or in
 * a kernel thread 50 ms after boot when the programs block or idle by
 * then, whichever comes first (it may sleep; other users of the streams
 * wait for it), and calls console_attach for the channels it finds.  Call
 * at boot (dev_attach).
 */
struct console_starter {
	void (*start)(struct console_starter *cs);
	struct console_starter *next;
};
void console_defer(struct console_starter *cs);

#endif
