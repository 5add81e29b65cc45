/*
 * The name space: the root, the current directory, the boot hook, and the
 * helpers other kernel components use to publish files.
 */
#include "vfs_impl.h"

struct rumpuser_mtx *vfs_lock;
struct vnode *vfs_root;
struct vnode *vfs_cwd;
mode_t vfs_umask = 022;

/* Find or create the directory path[0..len) from the root (locked). */
static int mkdir_p_locked(const char *path, size_t plen, mode_t perm, struct vnode **dvp)
{
	struct vnode *cur = vfs_root;
	struct path_iter it;
	const char *name;
	size_t len;
	int last, slash;

	path_iter_init(&it, path, plen);
	while (path_next(&it, &name, &len, &last, &slash)) {
		struct vnode *next = vnode_cross(dir_lookup(cur, name, len));
		if (next == NULL) {
			int err = vnode_rofs(cur);
			if (err == 0)
				err = cur->ops->create(cur, name, len, S_IFDIR | perm, NULL, &next);
			if (err)
				return err;
		} else if (!S_ISDIR(next->mode)) {
			return -ENOTDIR;
		}
		cur = next;
	}
	*dvp = cur;
	return 0;
}

int vfs_mkdir_p(const char *path, mode_t perm)
{
	struct vnode *d;
	vfs_enter();
	int err = mkdir_p_locked(path, strlen(path), perm & 07777, &d);
	vfs_exit();
	return err;
}

/*
 * Make the node path (absolute) of type and permission mode, creating
 * missing parents (0755).  An existing node of the same type is kept
 * (a regular file emptied, permissions set); one of another type is
 * replaced unless it is a non-empty directory.  Locked.  The vnode is
 * returned unheld (it has a name).
 */
int vfs_make_locked(const char *path, mode_t mode, const char *target, struct vnode **vp)
{
	size_t n = strlen(path);
	while (n > 1 && path[n - 1] == '/')
		n--;
	size_t s = n;
	while (s > 0 && path[s - 1] != '/')
		s--;
	struct vnode *d, *v;
	int err = mkdir_p_locked(path, s, 0755, &d);
	if (err == 0)
		err = vnode_rofs(d);
	if (err)
		return err;
	if (s == n || (n - s == 1 && path[s] == '.')) {
		/* The root itself, or "dir/.". */
		if (!S_ISDIR(mode))
			return -EISDIR;
		d->mode = S_IFDIR | (mode & 07777);
		*vp = d;
		return 0;
	}
	if (n - s > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	v = dir_lookup(d, path + s, n - s);
	if (v && (v->mode & S_IFMT) == (mode & S_IFMT) && !S_ISLNK(mode)) {
		v->mode = mode;
		if (S_ISREG(mode))
			v->ops->truncate(v, 0);
		*vp = v;
		return 0;
	}
	if (v) {
		if (S_ISDIR(v->mode) && !v->ops->isempty(v))
			return -ENOTEMPTY;
		if ((err = d->ops->unlink(d, path + s, n - s, v)) != 0)
			return err;
	}
	return d->ops->create(d, path + s, n - s, mode, target, vp);
}

int vfs_put_file(const char *path, mode_t perm, const void *data, size_t len)
{
	struct vnode *v;
	vfs_enter();
	int err = vfs_make_locked(path, S_IFREG | (perm & 07777), NULL, &v);
	if (err == 0 && len) {
		ssize_t w = v->ops->write(v, data, len, 0);
		err = (w < 0) ? (int)w : ((size_t)w < len ? -ENOSPC : 0);
	}
	vfs_exit();
	return err;
}

int vfs_at_dir(int dirfd, struct vnode **dvp)
{
	if (dirfd == AT_FDCWD) {
		vfs_enter();
		vnode_hold(vfs_cwd);
		*dvp = vfs_cwd;
		vfs_exit();
		return 0;
	}
	struct vnode *v;
	int err = vfs_fd_vnode(dirfd, &v);
	if (err)
		return err;
	if (v == NULL || !S_ISDIR(v->mode)) {
		if (v)
			vfs_release(v);
		return -ENOTDIR;
	}
	*dvp = v;
	return 0;
}

int vfs_start_dir(int dirfd, const char *path, struct vnode **dvp)
{
	if (path == NULL)
		return -EFAULT;
	if (path[0] == '/') {
		vfs_enter();
		vnode_hold(vfs_root);
		vfs_exit();
		*dvp = vfs_root;
		return 0;
	}
	return vfs_at_dir(dirfd, dvp);
}

int vfs_fd_vnode(int fd, struct vnode **vp)
{
	struct file *f = fd_get(fd);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	if (v) {
		vfs_enter();
		vnode_hold(v);
		vfs_exit();
	}
	file_drop(f);
	*vp = v;
	return 0;
}

void vfs_release(struct vnode *v)
{
	vfs_enter();
	vnode_rele(v);
	vfs_exit();
}

int vfs_lookup_begin(int dirfd, const char *path, int flags, struct vnode **vp)
{
	struct vnode *dir;
	int err = vfs_start_dir(dirfd, path, &dir);
	if (err)
		return err;
	vfs_enter();
	err = namei(dir, path, flags, vp);
	vnode_rele(dir);
	if (err)
		vfs_exit();
	return err;
}

void vfs_lookup_done(struct vnode *v)
{
	vnode_rele(v);
	vfs_exit();
}

/*
 * The root, the directories, /dev, /etc and the image's archive are built
 * at the first vfs_enter rather than at boot: a program that never names a file
 * (with no mounts or network configuration at boot) never runs that code,
 * which under QEMU's TCG is most of what it costs (every instruction is
 * translated the first time it runs).  Building only takes memory, never
 * sleeps, so on the cooperative scheduler nobody else enters meanwhile;
 * its own vfs_enter calls find it started.
 */
static int namespace_built;

static void build_namespace(void)
{
	namespace_built = 1;
	vfs_root = tmpfs_mkroot();
	if (vfs_root == NULL)
		panic("vfs: out of memory for the root");
	vfs_root->refs = 1; /* never goes */
	vfs_cwd = vfs_root;
	vnode_hold(vfs_cwd);
	if (vfs_mkdir_p("/tmp", 01777) || vfs_mkdir_p("/dev", 0755) || vfs_mkdir_p("/root", 0700) ||
	    vfs_mkdir_p("/home", 0755) || vfs_mkdir_p("/var", 0755) ||
	    vfs_mkdir_p("/var/tmp", 01777) || vfs_mkdir_p("/etc", 0755))
		panic("vfs: cannot create the root directories");
	dev_populate();
	etc_populate();
	rootfs_unpack();
}

void vfs_enter(void)
{
	if (!namespace_built)
		build_namespace();
	rumpuser_mutex_enter(vfs_lock);
}

void vfs_init(void)
{
	if (vfs_lock)
		return;
	rumpuser_mutex_init(&vfs_lock, RUMPUSER_MTX_KMUTEX);
	vfs_poll_init();
}
