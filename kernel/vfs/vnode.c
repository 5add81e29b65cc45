/*
 * Vnodes: attributes, references and stat, common to every file system.
 */
#include "vfs_impl.h"

static ino_t next_ino = 2;

ino_t vnode_next_ino(void) { return next_ino++; }

static struct timespec now(void)
{
	int64_t ns = time_wall_ns();
	struct timespec ts = {.tv_sec = ns / 1000000000, .tv_nsec = ns % 1000000000};
	return ts;
}

void vnode_init_attrs(struct vnode *v, mode_t mode)
{
	v->mode = mode;
	v->uid = 0;
	v->gid = 0;
	v->nlink = 0;
	v->ino = vnode_next_ino();
	v->size = 0;
	v->atime = v->mtime = v->ctime = v->btime = now();
	v->refs = 0;
	v->vflags = 0;
	v->mount = NULL;
	v->mounted = NULL;
}

void vnode_touch(struct vnode *v, int a, int m, int c)
{
	struct timespec t = now();
	if (a)
		v->atime = t;
	if (m)
		v->mtime = t;
	if (c)
		v->ctime = t;
}

void vnode_hold(struct vnode *v) { v->refs++; }

void vnode_rele(struct vnode *v)
{
	if (v->refs <= 0)
		panic("vfs: vnode %lu released too often", (unsigned long)v->ino);
	if (--v->refs > 0)
		return;
	if (v->ops->inactive) {
		if (!(v->vflags & VN_PENDING))
			v->ops->inactive(v);
	} else if (v->nlink == 0 && v->ops->reclaim) {
		v->ops->reclaim(v);
	}
}

/* Vnodes handed out unheld, retired at the next vfs_exit (kernel/fs.h). */
static struct vnode *pending;

void vnode_pending(struct vnode *v)
{
	if (v->vflags & VN_PENDING)
		return;
	v->vflags |= VN_PENDING;
	v->pending_next = pending;
	pending = v;
}

void vfs_exit(void)
{
	while (pending) {
		struct vnode *v = pending;
		pending = v->pending_next;
		v->vflags &= ~VN_PENDING;
		if (v->refs == 0)
			v->ops->inactive(v); /* may add to the list again */
	}
	rumpuser_mutex_exit(vfs_lock);
}

int vnode_rofs(const struct vnode *v)
{
	return (v->mount && (v->mount->flags & MNT_RDONLY)) ? -EROFS : 0;
}

struct vnode *vnode_cross(struct vnode *v)
{
	while (v && v->mounted)
		v = v->mounted->root;
	return v;
}

void vnode_stat(struct vnode *v, struct stat *st)
{
	memset(st, 0, sizeof(*st));
	st->st_dev = v->mount ? v->mount->dev : 1;
	st->st_ino = v->ino;
	st->st_mode = v->mode;
	st->st_nlink = v->nlink;
	st->st_uid = v->uid;
	st->st_gid = v->gid;
	st->st_rdev = v->rdev;
	st->st_size = v->size;
	st->st_blksize = PAGE_SIZE;
	if (v->vflags & VN_BLOCKS)
		st->st_blocks = v->blocks;
	else
		st->st_blocks =
		    S_ISREG(v->mode) ? (blkcnt_t)(ROUNDUP((uint64_t)v->size, PAGE_SIZE) / 512) : 0;
	st->st_atim = v->atime;
	st->st_mtim = v->mtime;
	st->st_ctim = v->ctime;
}

/*
 * Permission check for the one user there is (root, uid 0): reading and
 * writing are always allowed; executing (searching, for directories) needs
 * an x bit somewhere, as Linux grants root.
 */
int vnode_access(struct vnode *v, int mode)
{
	if ((mode & X_OK) && !S_ISDIR(v->mode) && !(v->mode & 0111))
		return -EACCES;
	return 0;
}
