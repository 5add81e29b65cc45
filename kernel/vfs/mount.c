/*
 * The mount table: file system types (VFS_FSTYPE_REGISTER), vfs_mount,
 * syncing every mount, and unmounting everything when the machine ends.
 * Also the "tmpfs" type, so a fresh memory file system can be mounted
 * anywhere (the root itself is one too, outside the table).
 */
#include "vfs_impl.h"
#include <kernel/blkdev.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

extern const struct vfs_fstype *const __start_rumprun_fstypes[];
extern const struct vfs_fstype *const __stop_rumprun_fstypes[];

struct mount *vfs_mounts; /* newest first */
static int next_dev_minor = 1;

const struct vfs_fstype *vfs_fstype_lookup(const char *name)
{
	for (const struct vfs_fstype *const *t = __start_rumprun_fstypes;
	     t < __stop_rumprun_fstypes; t++)
		if (strcmp((*t)->name, name) == 0)
			return *t;
	return NULL;
}

const char *vfs_probe(struct blkdev *bd)
{
	for (const struct vfs_fstype *const *t = __start_rumprun_fstypes;
	     t < __stop_rumprun_fstypes; t++)
		if ((*t)->needs_blkdev && (*t)->probe && (*t)->probe(bd) == 1)
			return (*t)->name;
	return NULL;
}

static void copy_str(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;
	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

/*
 * The syncer: every SYNC_INTERVAL_S seconds, write back what changed on
 * every mount, so a machine that is killed (the launcher's Ctrl-C, QEMU
 * killed) loses at most that much of what was written without fsync.
 */
#define SYNC_INTERVAL_S 5

static void *syncer(void *arg)
{
	(void)arg;
	for (;;) {
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, SYNC_INTERVAL_S, 0);
		vfs_sync_all();
	}
	return NULL;
}

static void start_syncer(void)
{
	static int started;
	if (started)
		return;
	started = 1;
	if (rumpuser_thread_create(syncer, NULL, "syncer", 0, -1, -1, NULL) != 0)
		kprintf("rumprun: cannot start the syncer: unsynced writes reach the "
		        "disks only at fsync, sync and exit\n");
}

int vfs_mount(
    const char *path, const char *type, struct blkdev *bd, const char *source, int flags, int mkdir)
{
	const struct vfs_fstype *t;
	/* Absolute and not "/" itself (no strspn: the boot thread has no TLS
	 * for libc's stack protector). */
	size_t slashes = 0;
	while (path && path[slashes] == '/')
		slashes++;
	if (path == NULL || path[0] != '/' || path[slashes] == '\0')
		return -EINVAL;
	if (strlen(path) >= sizeof(((struct mount *)0)->path))
		return -ENAMETOOLONG;
	if (type == NULL || strcmp(type, "auto") == 0) {
		if (bd == NULL || (type = vfs_probe(bd)) == NULL)
			return -ENODEV;
	}
	if ((t = vfs_fstype_lookup(type)) == NULL)
		return -ENODEV;
	if (t->needs_blkdev && bd == NULL)
		return -ENODEV;
	if (bd && bd->users)
		return -EBUSY;
	if (bd && bd->readonly)
		flags |= MNT_RDONLY;
	if (mkdir) {
		int err = vfs_mkdir_p(path, 0755);
		if (err)
			return err;
	}
	struct mount *mp = kzalloc(sizeof(*mp));
	if (mp == NULL)
		return -ENOMEM;
	mp->type = t;
	mp->bd = bd;
	mp->flags = flags & MNT_RDONLY;
	copy_str(mp->path, sizeof(mp->path), path);
	copy_str(mp->source, sizeof(mp->source), bd ? bd->name : source);

	struct vnode *covered, *root;
	vfs_enter();
	int err = namei(vfs_root, path, 0, &covered);
	if (err)
		goto fail;
	if (!S_ISDIR(covered->mode)) {
		err = -ENOTDIR;
		goto fail_covered;
	}
	if (covered->mount && covered == covered->mount->root) {
		err = -EBUSY; /* something is mounted right there */
		goto fail_covered;
	}
	int minor = 100 + next_dev_minor++;
	mp->dev = makedev(0, minor);
	if ((err = t->mount(mp, &root)) != 0)
		goto fail_covered;
	root->mount = mp;
	if (root->parent == NULL)
		root->parent = root;
	mp->root = root;
	mp->covered = covered; /* keeps namei's hold */
	covered->mounted = mp;
	mp->next = vfs_mounts;
	vfs_mounts = mp;
	if (bd)
		bd->users++;
	vfs_exit();
	if (!(mp->flags & MNT_RDONLY) && mp->ops->sync)
		start_syncer();
	return 0;
fail_covered:
	vnode_rele(covered);
fail:
	vfs_exit();
	kfree(mp, sizeof(*mp));
	return err;
}

/* The mount a vnode belongs to, or NULL for the root tmpfs. */
struct mount *vnode_mount(struct vnode *v) { return v->mount; }

/* Sync one mount (locked); the first error. */
int mount_sync_locked(struct mount *mp)
{
	if (mp->ops && mp->ops->sync && !(mp->flags & MNT_RDONLY))
		return mp->ops->sync(mp);
	return 0;
}

int vfs_sync_all(void)
{
	int first = 0;
	vfs_enter();
	for (struct mount *mp = vfs_mounts; mp; mp = mp->next) {
		int err = mount_sync_locked(mp);
		if (err && !first)
			first = err;
	}
	vfs_exit();
	return first;
}

void vfs_unmount_all(void)
{
	if (vfs_lock == NULL || vfs_mounts == NULL)
		return;
	/* rumpuser_mutex_tryenter: 0 when taken, EBUSY when held. */
	if (rumpuser_mutex_tryenter(vfs_lock) != 0) {
		/* Give a thread inside the file system a moment to leave. */
		int64_t deadline = time_mono_ns() + 2000000000LL;
		int got = 0;
		while (time_mono_ns() < deadline) {
			rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 10000000);
			if ((got = rumpuser_mutex_tryenter(vfs_lock) == 0) != 0)
				break;
		}
		if (!got) {
			kprintf("rumprun: file systems busy at exit: not unmounted "
			        "(run fsck on the disk images)\n");
			return;
		}
	}
	/* Newest first: a mount inside another goes before it. */
	while (vfs_mounts) {
		struct mount *mp = vfs_mounts;
		int err = mount_sync_locked(mp);
		if (err)
			kprintf("rumprun: %s on %s: writing back failed (error %d)\n", mp->source,
			    mp->path, -err);
		if (mp->ops && mp->ops->unmount)
			mp->ops->unmount(mp);
		vfs_mounts = mp->next;
		mp->covered->mounted = NULL;
		vnode_rele(mp->covered);
		if (mp->bd)
			mp->bd->users--;
	}
	vfs_exit();
}

/* The tmpfs type: a fresh, empty memory file system. */

static int tmpfs_statfs(struct mount *mp, struct statfs *sf)
{
	(void)mp;
	vfs_fill_statfs_tmpfs(sf);
	return 0;
}

static const struct mount_ops tmpfs_mount_ops = {
    .statfs = tmpfs_statfs,
};

static int tmpfs_mount(struct mount *mp, struct vnode **rootp)
{
	struct vnode *root = tmpfs_mkroot();
	if (root == NULL)
		return -ENOMEM;
	mp->ops = &tmpfs_mount_ops;
	root->mount = mp;
	root->refs = 1;
	*rootp = root;
	return 0;
}

static const struct vfs_fstype tmpfs_type = {
    .name = "tmpfs",
    .mount = tmpfs_mount,
};
VFS_FSTYPE_REGISTER(tmpfs_type);
