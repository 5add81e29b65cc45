/*
 * The virtual file system (kernel/vfs/): one name space rooted in a tmpfs,
 * with device nodes in /dev, a baked-in /etc and the user's files from the
 * image's root file system archive (see kernel/vfs/README.md).
 *
 * Everything here returns 0 or a negative errno value, like the system
 * calls, unless said otherwise.
 */
#ifndef KERNEL_VFS_H
#define KERNEL_VFS_H

#include <sys/types.h>

struct file;

/*
 * Boot hook: the name space's lock.  The name space itself (/, /dev, /tmp,
 * /etc and the image's root file system archive, if any) is built at its
 * first use (the first vfs_enter).  Call once, before the first system
 * call that touches a path.  Building panics only when memory runs out.
 */
void vfs_init(void);

/*
 * Boot hook, after the drivers found the disks (dev_attach): mount the
 * configuration's "blk" and "share" entries (kernel/vfs/mountcfg.c).  Ends
 * the machine with one console line and status 1 when one cannot be.
 */
void vfs_mount_config(void);
/*
 * Exit path: sync every mount (data, metadata, device flush) and unmount
 * them, marking the volumes clean (kernel/vfs/mount.c).  Safe to call
 * more than once and from any thread.
 */
void vfs_unmount_all(void);

/*
 * Devices.  vfs_register_device creates the character device node
 * /dev/NAME (stat shows S_IFCHR, or S_IFBLK when perm says S_IFBLK, with
 * perm and dev->rdev); opening it calls
 * dev->open (without VFS locks held), which returns 0 and a new file (one
 * reference) in *fp, or -errno.  dev must live as long as the machine.
 * Returns 0, -EEXIST when the name is taken, -ENOMEM.
 */
struct vfs_device {
	int (*open)(const struct vfs_device *dev, int flags, struct file **fp);
	dev_t rdev; /* major/minor for stat (makedev) */
	void *priv;
};
int vfs_register_device(const char *name, mode_t perm, const struct vfs_device *dev);

/*
 * Create (or replace the contents of) the regular file at absolute path
 * with len bytes of data, creating missing parent directories with mode
 * 0755.  For kernel components that publish files (/etc, config).
 * Returns 0, -ENOTDIR/-EISDIR when the path is blocked, -ENOMEM.
 */
int vfs_put_file(const char *path, mode_t perm, const void *data, size_t len);
/* Create the directory path (and missing parents); 0 if it exists. */
int vfs_mkdir_p(const char *path, mode_t perm);

/*
 * Readiness.  Files whose ops set .notifies call file_notify() (file.h)
 * on every change, which wakes exactly the threads waiting for them.  A
 * component whose files do not notify calls poll_wakeup() when something
 * may have changed: every thread in poll, select or epoll_wait looks
 * again (they also look every 20 ms while such a file is among theirs).
 * Cheap; callable with any lock held except the poll lock (a leaf).
 */
void poll_wakeup(void);

/*
 * Socket nodes (S_IFSOCK), the names AF_UNIX sockets bind to
 * (kernel/vfs/socknode.c).  Paths are absolute or relative to the cwd.
 * vfs_socknode_create makes a new node (mode perm minus the umask) and
 * returns it held: -EADDRINUSE when the name exists, -ENOENT/-ENOTDIR/
 * -ENAMETOOLONG for a bad path.  vfs_socknode_lookup returns the held
 * node path names: -ENOENT, or -ECONNREFUSED when it is not a socket.
 * vfs_vnode_release drops the hold.
 */
struct vnode;
int vfs_socknode_create(const char *path, mode_t perm, struct vnode **vp);
int vfs_socknode_lookup(const char *path, struct vnode **vp);
void vfs_vnode_release(struct vnode *v);

/* The vnode behind an open file of the VFS, or NULL for other files. */
struct vnode *vfs_file_vnode(struct file *f);

#endif
