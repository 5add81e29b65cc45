/*
 * VFS internals, shared by the files of kernel/vfs/ only.
 *
 * Locking: one lock, vfs_lock, protects the whole name space and every
 * vnode's attributes and data.  The system calls take it around their work;
 * the functions below marked "locked" expect the caller to hold it.  Pipes
 * have their own locks (pipe.c) and poll has a leaf lock (poll.c).
 *
 * Reference counting: v->refs counts open files, the cwd and lookups in
 * progress; v->nlink counts directory entries.  A vnode's storage goes when
 * both reach zero (vnode_rele), so an unlinked file that is still open keeps
 * its data until the last close.
 */
#ifndef KERNEL_VFS_IMPL_H
#define KERNEL_VFS_IMPL_H

#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1 /* O_PATH, AT_EMPTY_PATH, statfs, F_GETPIPE_SZ ... */
#endif

#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/vfs.h>
#include <kernel/syscall.h> /* SYSARGS */
#include <sys/stat.h>
#include <fcntl.h>
#include <unistd.h>

#define NAME_MAX_LEN 255
#define PATH_MAX_LEN 4096
#define SYMLOOP_MAX_DEPTH 40

#include <kernel/fs.h>

/* The lock and the root. */
extern struct vnode *vfs_root;
extern struct vnode *vfs_cwd; /* held */
extern mode_t vfs_umask;

/* vnode.c (locked); vnode_hold, vnode_rele ... are in kernel/fs.h */
void vnode_stat(struct vnode *v, struct stat *st);

/* tmpfs.c */
struct vnode *tmpfs_mkroot(void);

/* mount.c (locked): the table, newest first; syncing one mount */
extern struct mount *vfs_mounts;
int mount_sync_locked(struct mount *mp);
/* sys_stat.c: statfs figures of a memory file system */
struct statfs;
void vfs_fill_statfs_tmpfs(struct statfs *sf);

/*
 * namei.c (locked).  Resolve path relative to dir (a held directory, or
 * NULL for the cwd).  NAMEI_NOFOLLOW: do not follow a final symlink.
 * namei returns the vnode held in *vp.  namei_parent resolves all but the
 * last component: the held parent directory in *dvp and the last name
 * (pointing into path) in *name and *len; a path ending in '/' sets *trailing.
 * The last name may be "." or ".." (callers reject them where Linux does).
 */
#define NAMEI_NOFOLLOW 0x01
int namei(struct vnode *dir, const char *path, int flags, struct vnode **vp);
int namei_parent(struct vnode *dir, const char *path, struct vnode **dvp, const char **name,
    size_t *len, int *trailing);
/*
 * open's O_CREAT lookup: the regular file path names, made (mode, less the
 * umask) when absent; held in *vp.  NAMEI_EXCL: EEXIST when present;
 * NAMEI_NOFOLLOW: ELOOP when it is a symbolic link.  Also EISDIR for a
 * trailing slash on a file, ENOENT in a removed directory, EROFS.
 */
#define NAMEI_EXCL 0x02
int namei_create(struct vnode *dir, const char *path, int flags, mode_t mode, struct vnode **vp);
/* Lookup of one name in a directory, "." and ".." included; NULL if absent. */
struct vnode *dir_lookup(struct vnode *dir, const char *name, size_t len);
int vnode_access(struct vnode *v, int mode);

/* vfs.c: make the node at absolute path (see there); locked */
int vfs_make_locked(const char *path, mode_t mode, const char *target, struct vnode **vp);

/* vfile.c: open files on vnodes */
int vfile_open(struct vnode *v, int flags, struct file **fp);

/*
 * vfs.c: where the system calls start (none of these is called locked).
 *
 * vfs_at_dir: the directory dirfd names (AT_FDCWD: the cwd), held, or
 * -EBADF, -ENOTDIR.  vfs_start_dir: where path starts (the root for an
 * absolute path, else as vfs_at_dir), held; -EFAULT for a NULL path.
 * vfs_fd_vnode: the vnode of fd's file, held, or NULL when the file is not
 * the VFS's (a pipe, a socket); 0 or -EBADF.  vfs_release drops a hold
 * taken by any of them.
 *
 * vfs_lookup_begin resolves path from dirfd (NAMEI_* flags) and takes
 * vfs_lock: 0 with the held vnode in *vp and the lock held, or -errno
 * with neither.  vfs_lookup_done(v) drops both.
 */
int vfs_at_dir(int dirfd, struct vnode **dvp);
int vfs_start_dir(int dirfd, const char *path, struct vnode **dvp);
int vfs_fd_vnode(int fd, struct vnode **vp);
void vfs_release(struct vnode *v);
int vfs_lookup_begin(int dirfd, const char *path, int flags, struct vnode **vp);
void vfs_lookup_done(struct vnode *v);

/* Is name "." or ".."? */
static inline int vfs_is_dot(const char *name, size_t len)
{
	return (len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.');
}

/*
 * The components of a path, in order, for every walk over one (namei,
 * mkdir -p): path_next gives the next name (pointing into the path) and
 * its length, and says whether it is the last one and whether a slash
 * follows it; 0 when none is left.  Repeated slashes count as one.
 */
struct path_iter {
	const char *path;
	size_t len, pos;
};
static inline void path_iter_init(struct path_iter *it, const char *path, size_t len)
{
	it->path = path;
	it->len = len;
	it->pos = 0;
}
static inline int path_next(
    struct path_iter *it, const char **name, size_t *len, int *last, int *slash)
{
	size_t i = it->pos, s, j;
	while (i < it->len && it->path[i] == '/')
		i++;
	if (i == it->len)
		return 0;
	s = i;
	while (i < it->len && it->path[i] != '/')
		i++;
	for (j = i; j < it->len && it->path[j] == '/'; j++)
		;
	*name = it->path + s;
	*len = i - s;
	*last = (j == it->len);
	*slash = (i < it->len);
	it->pos = i;
	return 1;
}

/* pipe.c: is f a pipe end (for F_GETPIPE_SZ)? its capacity or -EBADF */
long pipe_capacity(struct file *f);

/* Small helpers */
static inline int vnode_isdir(const struct vnode *v) { return S_ISDIR(v->mode); }

/* rootfs.c */
void rootfs_unpack(void);
int rootfs_unpack_buffer(const char *buf, size_t len);
/* etc.c */
void etc_populate(void);
/*
 * poll.c: the poll lock (a leaf) and waiters, shared with epoll.c.  A
 * waiter sleeps until poll_waiter_wake_locked (a watch fired, or
 * poll_wakeup), or the deadline (ns, -1: none), or, with slices, a
 * POLL_SLICE_NS slice (for files that do not notify).  sleep returns 1
 * when the deadline passed, else 0 (the woken flag is cleared).
 */
#define POLL_SLICE_NS 20000000LL /* 20 ms */
struct poll_waiter {
	struct rumpuser_cv *cv;
	int woken;
	struct poll_waiter *next, *prev;
};
void vfs_poll_init(void);
void poll_lock(void);
void poll_unlock(void);
void poll_waiter_init(struct poll_waiter *pw);
void poll_waiter_fini(struct poll_waiter *pw);
void poll_waiter_wake_locked(struct poll_waiter *pw);
int poll_waiter_sleep_locked(struct poll_waiter *pw, int64_t deadline, int slices);
void file_watch_add_locked(struct file *f, struct file_watch *w);
void file_watch_del_locked(struct file_watch *w);
void file_notify_locked(struct file *f, int events);
/* dev.c */
void dev_populate(void);

#endif
