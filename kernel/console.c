/*
 * The console as files: descriptors 0, 1 and 2 of every program, and
 * /dev/console and /dev/tty (kernel/include/kernel/console.h).
 *
 * Each standard stream goes over the channel a driver attached for it
 * (the virtio console's ports; a driver may defer its device's set-up to
 * the first use of a stream), else over the platform console: output
 * through rumpuser_putchar, input at end of file.  A stream is a terminal
 * (isatty, the termios ioctls) when its channel's host end is one; the
 * platform console counts as a serial terminal.  /dev/console and /dev/tty
 * read standard input and write to the platform console.
 */
#include <kernel/kernel.h>
#include <kernel/console.h>
#include <kernel/file.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <fcntl.h>
#include <poll.h>

static struct console_channel *channels[CONSOLE_NSTREAMS];

/* What a console file is: a stream, or the platform console (-1). */
#define PLATFORM_CONSOLE (-1)
#define STREAM(f) ((int)(intptr_t)(f)->priv)

void console_attach(enum console_stream stream, struct console_channel *ch)
{
	channels[stream] = ch;
}

static struct console_starter *deferred; /* devices not set up yet */
static struct rumpuser_mtx *start_lock; /* held while one is set up */

/* The deferred devices, set up by the first user of a stream.  A device
 * leaves the list only when its set-up is done (which sleeps), so a
 * second user meanwhile waits for the lock and finds the channels there. */
static void start_deferred(void)
{
	struct console_starter *cs;

	rumpuser_mutex_enter(start_lock);
	while ((cs = deferred) != NULL) {
		cs->start(cs);
		deferred = cs->next;
	}
	rumpuser_mutex_exit(start_lock);
}

/*
 * A machine that runs longer sets the devices up anyway, START_AFTER_NS
 * after boot (as soon as its programs block or idle), whether or not a
 * program uses its streams: the host's requests (the virtio console's
 * rumprun.control port: shutdown) must reach a quiet program too.  A
 * short program ends before.
 */
#define START_AFTER_NS (50 * 1000000L)

static void *starter(void *arg)
{
	rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, START_AFTER_NS);
	if (deferred)
		start_deferred();
	rumpuser_thread_exit();
}

void console_defer(struct console_starter *cs)
{
	if (!start_lock) {
		rumpuser_mutex_init(&start_lock, RUMPUSER_MTX_KMUTEX);
		if (rumpuser_thread_create(starter, NULL, "console", 0, -1, -1, NULL) != 0)
			panic("no memory for the console's thread");
	}
	cs->next = deferred;
	deferred = cs;
}

static struct console_channel *channel(struct file *f, int input)
{
	int s = STREAM(f);

	if (deferred)
		start_deferred();

	if (input)
		return channels[CONSOLE_STDIN];
	return s == PLATFORM_CONSOLE ? NULL : channels[s];
}

static ssize_t console_read(struct file *f, void *buf, size_t len, off_t *pos)
{
	struct console_channel *ch = channel(f, 1);

	if (!ch || len == 0)
		return 0;
	return ch->read(ch, buf, len, (f->flags & O_NONBLOCK) != 0);
}

static ssize_t console_write(struct file *f, const void *buf, size_t len, off_t *pos)
{
	struct console_channel *ch = channel(f, 0);
	const char *p = buf;
	size_t i;

	if (ch)
		return ch->write(ch, buf, len);
	for (i = 0; i < len; i++)
		rumpuser_putchar(p[i]);
	return (ssize_t)len;
}

static int is_tty(struct file *f)
{
	struct console_channel *ch = channel(f, STREAM(f) == CONSOLE_STDIN);

	return ch ? ch->tty : 1;
}

static long console_ioctl(struct file *f, unsigned long cmd, unsigned long arg)
{
	if (!is_tty(f))
		return -ENOTTY;
	switch (cmd) {
	case TIOCGWINSZ: {
		struct winsize *ws = (struct winsize *)arg;

		ws->ws_row = 25;
		ws->ws_col = 80;
		ws->ws_xpixel = ws->ws_ypixel = 0;
		return 0;
	}
	case TCGETS: {
		/* Linux's own struct termios is shorter than musl's (19 control
		 * characters, no speeds): write only its 36 bytes, all that
		 * glibc's buffer holds. */
		struct termios *t = (struct termios *)arg;

		memset(t, 0, offsetof(struct termios, c_cc) + 19);
		t->c_oflag = OPOST | ONLCR;
		t->c_cflag = CS8 | CREAD | B115200;
		t->c_lflag = ECHO | ICANON;
		return 0;
	}
	case TCSETS:
	case TCSETSW:
	case TCSETSF:
		return 0;
	default:
		return -ENOTTY;
	}
}

/* A terminal is a character device; a stream whose host end is a pipe or
 * a file looks like a pipe, as it would to a Linux process. */
static int console_stat(struct file *f, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	if (is_tty(f)) {
		st->st_mode = S_IFCHR | 0620;
		st->st_rdev = (5 << 8) | 1; /* /dev/console */
	} else {
		st->st_mode = S_IFIFO | 0600;
	}
	st->st_blksize = 4096;
	return 0;
}

static int console_poll(struct file *f, int events)
{
	struct console_channel *in = channel(f, 1);
	int ready = events & POLLOUT;

	if (events & POLLIN && (!in || in->readable(in)))
		ready |= POLLIN;
	return ready;
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
	return file_new(&console_ops, flags, (void *)(intptr_t)PLATFORM_CONSOLE);
}

struct file *console_open_stream(int fd)
{
	return file_new(
	    &console_ops, fd == CONSOLE_STDIN ? O_RDONLY : O_WRONLY, (void *)(intptr_t)fd);
}
