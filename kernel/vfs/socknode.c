/*
 * Socket nodes: the names AF_UNIX sockets bind to (S_IFSOCK vnodes), for
 * kernel/net/unix.c.  The VFS only keeps the name; which socket listens
 * behind it is the network component's business (it keeps the held vnode
 * as the key).  Opening a socket node with open() fails with ENXIO, as on
 * Linux (vfile.c).
 */
#include "vfs_impl.h"

int vfs_socknode_create(const char *path, mode_t perm, struct vnode **vp)
{
	struct vnode *dir, *v;
	const char *name;
	size_t len;
	int trailing, err;

	vfs_enter();
	if ((err = namei_parent(NULL, path, &dir, &name, &len, &trailing)) != 0)
		goto out;
	if (trailing || (len == 1 && name[0] == '.') || (len == 2 && !memcmp(name, "..", 2)) ||
	    dir_lookup(dir, name, len))
		err = -EADDRINUSE;
	else if (dir->nlink == 0)
		err = -ENOENT;
	else if ((err = vnode_rofs(dir)) == 0 && (err = vnode_access(dir, W_OK | X_OK)) == 0 &&
	    (err = dir->ops->create(
	         dir, name, len, S_IFSOCK | (perm & 07777 & ~vfs_umask), NULL, &v)) == 0) {
		vnode_hold(v);
		*vp = v;
	}
	vnode_rele(dir);
out:
	vfs_exit();
	return err;
}

int vfs_socknode_lookup(const char *path, struct vnode **vp)
{
	struct vnode *v;
	int err;

	vfs_enter();
	if ((err = namei(NULL, path, 0, &v)) == 0) {
		if (S_ISSOCK(v->mode)) {
			*vp = v;
		} else {
			vnode_rele(v);
			err = -ECONNREFUSED;
		}
	}
	vfs_exit();
	return err;
}

void vfs_vnode_release(struct vnode *v)
{
	vfs_enter();
	vnode_rele(v);
	vfs_exit();
}
