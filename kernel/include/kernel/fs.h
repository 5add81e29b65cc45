/*
 * The file system interface (kernel/vfs/): what a file system implements
 * (struct vnode_ops, struct vfs_fstype, struct mount_ops) and what it may
 * call (vnodes, the lock, the mount table).  For file systems in
 * kernel/fs/ (ext2, iso9660, 9p) and tmpfs.  Everything returns 0 or a
 * negative errno unless said otherwise.
 *
 * Locking: one lock, vfs_lock, guards the name space, the mount table and
 * every vnode.  Every vnode op and mount op is called with it held (and
 * may sleep in block I/O with it held).  The system calls take it with
 * vfs_enter() and drop it with vfs_exit().
 *
 * Vnode lifetime.  v->refs counts open files, the cwd, lookups in
 * progress, child directories (their ->parent) and mounts; v->nlink counts
 * directory entries.  Two models:
 *  - memory file systems (tmpfs) keep a vnode while it has names; its
 *    storage goes (ops->reclaim) when both nlink and refs are zero;
 *  - on-disk file systems set ops->inactive: a vnode is only a cache of an
 *    inode, and when its last reference goes, inactive writes the inode
 *    back (or frees it on disk when nlink is 0) and frees the vnode's
 *    memory.  A vnode that lookup/create returns unheld must be put on the
 *    pending list (vnode_pending): at the next vfs_exit(), if still
 *    nobody holds it, inactive is called then.  So a vnode lives at least
 *    until the lock is dropped, which is how long callers may keep an
 *    unheld pointer.
 */
#ifndef KERNEL_FS_H
#define KERNEL_FS_H

#include <kernel/kernel.h>
#include <sys/types.h>
#include <sys/stat.h>
#include <time.h>

struct vnode;
struct mount;
struct blkdev;
struct statfs;
struct vfs_device;

/*
 * What a file system provides for its nodes.  Names are (pointer, length),
 * not NUL-terminated.  The generic layer has already checked types,
 * existence, read-only mounts (EROFS) and mount points (EBUSY, EXDEV):
 * create is called only when the name is absent, unlink only on an entry
 * that exists, rmdir only when empty, rename only within one mount.
 */
struct vnode_ops {
	/* Directory lookup: the entry's vnode (not held) or NULL.  Not
	 * called for "." and ".." (the generic layer uses ->parent). */
	struct vnode *(*lookup)(struct vnode *dir, const char *name, size_t len);
	/* New node of type/mode in dir (unheld in *vp); target for links. */
	int (*create)(struct vnode *dir, const char *name, size_t len, mode_t mode,
	    const char *target, struct vnode **vp);
	int (*link)(struct vnode *dir, const char *name, size_t len, struct vnode *v);
	/* Remove the entry name (whose vnode is v) from dir. */
	int (*unlink)(struct vnode *dir, const char *name, size_t len, struct vnode *v);
	/*
	 * Move entry oname (vnode v) of odir to nname in ndir, replacing tv, the
	 * vnode nname names now (NULL when absent; the caller checked types and
	 * emptiness).  Fails only before changing anything.  Keeps ->parent of
	 * a moved directory right (holding the new parent, releasing the old).
	 */
	int (*rename)(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
	    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv);
	/* Is the directory empty (no entries but . and ..)? */
	int (*isempty)(struct vnode *dir);
	/*
	 * Directory reading: from *cookie on, call emit for each entry until it
	 * returns nonzero (no room); *cookie then names the first entry not
	 * emitted.  Cookies 0 and 1 are "." and "..".
	 */
	int (*readdir)(struct vnode *dir, off_t *cookie,
	    int (*emit)(
	        void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len),
	    void *arg);
	/* Regular files: byte I/O at off; write extends the file.  A short
	 * count only at end of file (read) or when space ran out (write). */
	ssize_t (*read)(struct vnode *v, void *buf, size_t len, off_t off);
	ssize_t (*write)(struct vnode *v, const void *buf, size_t len, off_t off);
	int (*truncate)(struct vnode *v, off_t len);
	/* Shared memory mappings, optional: the page holding off, pinned, and
	 * unpinning it (kernel/file.h's getpage and putpage say the contract). */
	int (*getpage)(struct vnode *v, off_t off, void **page);
	void (*putpage)(struct vnode *v, off_t off, int flags);
	/* Memory model: free the node's storage, no names and no refs left. */
	void (*reclaim)(struct vnode *v);
	/* Disk model: the last reference went (see above).  Optional. */
	void (*inactive)(struct vnode *v);
	/* Make the file's data (and, unless datasync, its inode) stable on
	 * the medium, including a device cache flush.  Optional (no-op). */
	int (*fsync)(struct vnode *v, int datasync);
};

struct vnode {
	const struct vnode_ops *ops;
	mode_t mode; /* S_IFMT type and permission bits */
	uid_t uid;
	gid_t gid;
	nlink_t nlink; /* names; for directories 2 + subdirectories */
	ino_t ino;
	dev_t rdev;
	off_t size;
	struct timespec atime, mtime, ctime, btime;
	int refs;
	int vflags; /* VN_* below, the generic layer's */
	struct vnode *parent; /* directories: the directory holding it */
	const struct vfs_device *dev; /* character and block devices */
	char *target; /* symbolic links: NUL-terminated */
	void *fsdata; /* the file system's own state */
	struct mount *mount; /* the mount it belongs to (NULL: the root tmpfs) */
	struct mount *mounted; /* a mount covering this directory, or NULL */
	struct vnode *pending_next;
	blkcnt_t blocks; /* st_blocks (512-byte units) when VN_BLOCKS */
};

#define VN_PENDING 0x01 /* on the pending list (vnode_pending) */
#define VN_BLOCKS 0x02 /* ->blocks is the file system's st_blocks */

/* The lock.  vfs_exit also retires pending vnodes (see above).  The first
 * vfs_enter builds the name space (kernel/vfs/vfs.c, vfs_init). */
extern struct rumpuser_mtx *vfs_lock;
void vfs_enter(void);
void vfs_exit(void);

/* vnode.c (locked) */
void vnode_hold(struct vnode *v);
void vnode_rele(struct vnode *v);
void vnode_pending(struct vnode *v);
void vnode_touch(struct vnode *v, int atime, int mtime, int ctime);
ino_t vnode_next_ino(void);
/* Generic attributes: mode, root's ids, a fresh ino, now for the times. */
void vnode_init_attrs(struct vnode *v, mode_t mode);
/* -EROFS when v is on a read-only mount, else 0. */
int vnode_rofs(const struct vnode *v);
/* The root of the mount stacked on v (repeatedly), or v itself. */
struct vnode *vnode_cross(struct vnode *v);

/*
 * Mounts.  A file system type registers itself with VFS_FSTYPE_REGISTER
 * next to its code.  vfs_mount finds the type (by name, or by asking
 * every type's probe with "auto"), then calls its mount, which fills
 * mp->ops and mp->data and returns the root vnode (held once for the
 * mount) with its ->parent pointing at itself.
 */
#define MNT_RDONLY 0x01

struct mount_ops {
	/* statfs: fill f_type, f_bsize, f_blocks, f_bfree, f_bavail, f_files,
	 * f_ffree, f_namelen (the generic layer sets f_flags, f_fsid). */
	int (*statfs)(struct mount *mp, struct statfs *sf);
	/* Write everything dirty back (data before metadata), then flush the
	 * device.  Optional (nothing to write). */
	int (*sync)(struct mount *mp);
	/* Last call, after sync: mark the volume clean and free everything
	 * but the root vnode, which the generic layer releases afterwards. */
	void (*unmount)(struct mount *mp);
};

struct vfs_fstype {
	const char *name; /* "ext2", "cd9660", "9p", "tmpfs" */
	int needs_blkdev; /* mounts a block device (else a source string) */
	/* Does bd hold this file system (its superblock)?  1 yes, 0 no. */
	int (*probe)(struct blkdev *bd);
	/* Mount mp->bd (or mp->source) with mp->flags; may add MNT_RDONLY
	 * (after printing one console line saying why).  Returns 0 and the
	 * held root in *rootp, or -EINVAL (not this fs / corrupt), -EIO,
	 * -ENOMEM, -EROFS (must be read-only but rw was demanded). */
	int (*mount)(struct mount *mp, struct vnode **rootp);
};

#define VFS_FSTYPE_REGISTER(t) \
	static const struct vfs_fstype *const __fstype_ptr_##t \
	    __attribute__((section("rumprun_fstypes"), used)) = &(t)

struct mount {
	const struct vfs_fstype *type;
	const struct mount_ops *ops; /* set by the type's mount */
	void *data; /* the file system's own */
	struct blkdev *bd; /* NULL for sources that are not disks */
	char source[64]; /* "ld0", "share0", ... */
	char path[256]; /* where it is mounted */
	int flags; /* MNT_RDONLY */
	dev_t dev; /* st_dev of its files */
	struct vnode *covered; /* the directory it hides (held) */
	struct vnode *root; /* held */
	struct mount *next;
};

/*
 * Mount type ("auto": probe) from bd (or source, for types without a
 * disk) at the absolute path of an existing directory (created first
 * when mkdir).  Not locked (takes vfs_lock).  Errors: -ENODEV (no such
 * type / no type recognises the disk), -EBUSY (something is mounted
 * there, or the disk is mounted elsewhere), -ENOTDIR, -ENOENT, -EINVAL
 * (path "/" or not absolute), the type's mount errors.
 */
int vfs_mount(const char *path, const char *type, struct blkdev *bd, const char *source, int flags,
    int mkdir);
/* The type registered under name, or NULL. */
const struct vfs_fstype *vfs_fstype_lookup(const char *name);
/* Name of the first type whose probe recognises bd, or NULL. */
const char *vfs_probe(struct blkdev *bd);
/* Sync every mount (data, metadata, device flush).  Not locked. */
int vfs_sync_all(void);
/*
 * Sync and unmount everything, innermost first; for the exit path.
 * Not locked; gives up (after saying so) if the lock is held by a thread
 * that cannot run any more.
 */
void vfs_unmount_all(void);

#endif
