/*
 * The programs' standard streams (kernel/console.c) and the channels that
 * carry them to the host.
 *
 * A driver that finds a channel for a stream (the virtio console's ports
 * rumprun.stdin, rumprun.stdout, rumprun.stderr) attaches it at boot,
 * before the programs start.  A stream without a channel falls back to the
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

#endif
