/*
 * The console as a file: output goes to the platform console; it answers
 * the terminal ioctls musl asks (so stdout is line buffered, as on a tty);
 * there is no input yet, so reads see end of file.
 */
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <poll.h>

static ssize_t console_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	return 0;
}

static ssize_t console_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	const char *p = buf;
	size_t i;

	for (i = 0; i < len; i++)
		rumpuser_putchar(p[i]);
	return (ssize_t)len;
}

static long console_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	switch (cmd) {
	case TIOCGWINSZ: {
		struct winsize *ws = (struct winsize *)arg;

		ws->ws_row = 25;
		ws->ws_col = 80;
		ws->ws_xpixel = ws->ws_ypixel = 0;
		return 0;
	}
	case TCGETS: {
		struct termios *t = (struct termios *)arg;

		memset(t, 0, sizeof(*t));
		t->c_oflag = OPOST | ONLCR;
		t->c_cflag = CS8 | CREAD | B115200;
		t->c_lflag = ECHO | ICANON;
		return 0;
	}
	case TCSETS: case TCSETSW: case TCSETSF:
		return 0;
	default:
		return -ENOTTY;
	}
}

static int console_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_mode = S_IFCHR | 0620;
	st->st_rdev = (5 << 8) | 1;	/* /dev/console */
	st->st_blksize = 1024;
	return 0;
}

static int console_poll(struct file *f, int events)
{
	return events & POLLOUT;
}

static const struct file_ops console_ops = {
	.read = console_read,
	.write = console_write,
	.ioctl = console_ioctl,
	.stat = console_stat,
	.poll = console_poll,
};

struct file *console_open(int flags)
{
	return file_new(&console_ops, flags, NULL);
}
