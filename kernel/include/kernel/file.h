/*
 * Open files and the descriptor table (kernel/fd.c).
 *
 * A struct file is one open file description: shared by dup'ed descriptors,
 * freed when its last reference goes.  Its ops decide what the file is
 * (console, tmpfs file, pipe, /dev/null, ...).  Every op returns a Linux
 * result: >= 0, or -errno.  A NULL op means the operation is not supported
 * and the caller gets the errno Linux gives for that case (EINVAL for read
 * and write, ENOTTY for ioctl, ESPIPE for lseek).
 */
#ifndef KERNEL_FILE_H
#define KERNEL_FILE_H

#include <sys/types.h>
#include <sys/stat.h>
#include <sys/uio.h>

struct file;

struct file_ops {
	/* read/write at *pos; advance *pos by what was transferred. */
	ssize_t (*read)(struct file *f, void *buf, size_t len, off_t *pos);
	ssize_t (*write)(struct file *f, const void *buf, size_t len, off_t *pos);
	long (*ioctl)(struct file *f, unsigned long cmd, unsigned long arg);
	/* New position for lseek, or -errno (ESPIPE when not seekable). */
	off_t (*seek)(struct file *f, off_t off, int whence);
	int (*stat)(struct file *f, struct stat *st);
	/* poll: the POLLIN/POLLOUT/... bits ready now. */
	int (*poll)(struct file *f, int events);
	int (*truncate)(struct file *f, off_t len);
	int (*fsync)(struct file *f);
	/*
	 * Shared memory mappings (mmap MAP_SHARED), optional.  getpage pins
	 * and returns in *page the page (PAGE_SIZE bytes of page-aligned
	 * kernel memory) that holds the file's bytes at off (page aligned,
	 * below the file's size): until putpage it stays the file's own, so
	 * stores to it are writes to the file and the file's writes show in
	 * it; truncation keeps it (zeroed past the end).  Returns 0, -ENOMEM
	 * or -EIO.  putpage unpins it; FILE_PAGE_DIRTY: it may have been
	 * written through a mapping (write it back to storage),
	 * FILE_PAGE_KEEP: keep it pinned (msync).
	 */
	int (*getpage)(struct file *f, off_t off, void **page);
	void (*putpage)(struct file *f, off_t off, int flags);
	/* Called once when the last reference is dropped. */
	void (*release)(struct file *f);
	/* Nonzero when the file calls file_notify() whenever its readiness
	 * may change (then poll and epoll sleep until it does); files that
	 * do not are polled again every few milliseconds. */
	int notifies;
};

#define FILE_PAGE_DIRTY 0x1
#define FILE_PAGE_KEEP 0x2

struct file_watch;

struct file {
	const struct file_ops *ops;
	int flags; /* O_ACCMODE bits, O_APPEND, O_NONBLOCK */
	int refs;
	off_t pos;
	void *priv; /* the ops' own state */
	struct file_watch *watchers; /* poll's and epoll's (kernel/vfs/poll.c) */
};

/* A new file with one reference, or NULL (ENOMEM). */
struct file *file_new(const struct file_ops *ops, int flags, void *priv);
void file_hold(struct file *f);
/* A new reference unless the last one is already being dropped (the
 * file is being released): 1, or 0 when it is. */
int file_tryhold(struct file *f);
void file_drop(struct file *f);

/*
 * Readiness (kernel/vfs/poll.c).  poll, select and epoll put a watch on
 * each file they wait for; a file whose ops say .notifies calls
 * file_notify(f, events) whenever it may have become ready (or stopped
 * being), events being the POLL* bits concerned (0: any).  wake runs with
 * the poll lock held (a leaf lock: it must not block or take other locks);
 * gone, also under it, tells the watcher the file is being released (the
 * watch is already off the file).  file_notify may be called with any lock
 * held but the poll lock.
 */
struct file_watch {
	struct file_watch *next, *prev;
	struct file *file;
	void (*wake)(struct file_watch *w, int events);
	void (*gone)(struct file_watch *w);
};
void file_watch_add(struct file *f, struct file_watch *w);
void file_watch_del(struct file_watch *w);
void file_notify(struct file *f, int events);
/* fd.c calls it when the last reference to a watched file goes. */
void file_watchers_gone(struct file *f);

/*
 * Descriptors.  fd_install returns the lowest free descriptor >= minfd, now
 * holding the caller's reference to f, or -EMFILE when none is free below
 * the RLIMIT_NOFILE soft limit (or -ENOMEM).  fd_get returns the file with
 * a new reference (drop it with file_drop) or NULL for a bad fd.
 * FD_CLOEXEC is kept per descriptor but has no effect (no exec).  Tables
 * grow as descriptors are installed, up to the limit.
 */
int fd_install(struct file *f, int minfd, int cloexec);
struct file *fd_get(int fd);
int fd_close(int fd);
/* Put f at exactly fd (dup2), closing what was there; fd, -EBADF when fd
 * is negative or not below the soft limit, or -ENOMEM. */
int fd_install_at(struct file *f, int fd, int cloexec);
int fd_cloexec(int fd);
void fd_set_cloexec(int fd, int on);

/*
 * RLIMIT_NOFILE of the calling thread's table: soft FD_DEFAULT_SOFT and
 * hard FD_DEFAULT_HARD at first, as systemd sets them on Linux.
 * fd_set_limit follows setrlimit: -EINVAL when soft > hard, -EPERM above
 * FD_NR_OPEN (Linux's fs.nr_open; everyone is root here).
 */
#define FD_DEFAULT_SOFT 1024
#define FD_DEFAULT_HARD 524288
#define FD_NR_OPEN 1048576
void fd_get_limit(unsigned long *soft, unsigned long *hard);
int fd_set_limit(unsigned long soft, unsigned long hard);
/* The soft limit: descriptors are below it. */
int fd_limit(void);

/*
 * Descriptor tables: one per program (kernel/program.c); the calls above
 * act on the calling thread's.  fdtable_copy gives the copy new references
 * (like fork); fdtable_close_all closes every descriptor (the table stays
 * valid, empty, for threads still inside a system call); fdtable_free closes
 * what is left and frees the table (no thread uses it any more);
 * fdtable_install_at puts f (the caller's reference) at fd of table t,
 * dropping what was there.
 */
struct fdtable;
struct fdtable *fdtable_boot(void);
struct fdtable *fdtable_copy(const struct fdtable *from);
void fdtable_close_all(struct fdtable *t);
void fdtable_free(struct fdtable *t);
int fdtable_install_at(struct fdtable *t, struct file *f, int fd);

/* Console files (kernel/console.c): standard stream fd (0, 1 or 2) for
 * the descriptors every program starts with; console_open for
 * /dev/console and /dev/tty. */
struct file *console_open_stream(int fd);
struct file *console_open(int flags);

#endif
