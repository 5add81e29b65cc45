/*
 * Path lookup: absolute paths and paths relative to a start directory,
 * "." and "..", symbolic links (at most SYMLOOP_MAX_DEPTH of them per
 * lookup, then ELOOP), Linux's errors (ENOENT, ENOTDIR, ENAMETOOLONG).
 * Everything here runs with vfs_lock held.
 */
#include "vfs_impl.h"

struct vnode *dir_lookup(struct vnode *dir, const char *name, size_t len)
{
	if (len == 1 && name[0] == '.')
		return dir;
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		/* At a mount's root, ".." is the parent of the covered directory. */
		while (dir->mount && dir == dir->mount->root && dir->mount->covered)
			dir = dir->mount->covered;
		return dir->parent;
	}
	return dir->ops->lookup(dir, name, len);
}

/*
 * Resolve path[0..plen) from start (held by the caller).  follow: follow a
 * symlink in the last component.  Returns the held result in *vp.
 */
static int walk(
    struct vnode *start, const char *path, size_t plen, int follow, int *depth, struct vnode **vp)
{
	struct vnode *cur = (plen > 0 && path[0] == '/') ? vfs_root : start;
	struct path_iter it;
	const char *name;
	size_t len;
	int last, slash, err = 0;

	vnode_hold(cur);
	path_iter_init(&it, path, plen);
	while (path_next(&it, &name, &len, &last, &slash)) {
		if (!S_ISDIR(cur->mode)) {
			err = -ENOTDIR;
			goto out;
		}
		if (len > NAME_MAX_LEN) {
			err = -ENAMETOOLONG;
			goto out;
		}
		if ((err = vnode_access(cur, X_OK)) != 0)
			goto out;
		struct vnode *next = vnode_cross(dir_lookup(cur, name, len));
		if (next == NULL) {
			err = -ENOENT;
			goto out;
		}
		if (S_ISLNK(next->mode) && (!last || follow || slash)) {
			if (++*depth > SYMLOOP_MAX_DEPTH) {
				err = -ELOOP;
				goto out;
			}
			struct vnode *res;
			vnode_hold(next);
			err = walk(cur, next->target, strlen(next->target), 1, depth, &res);
			vnode_rele(next);
			if (err)
				goto out;
			vnode_rele(cur);
			cur = res;
		} else {
			vnode_hold(next);
			vnode_rele(cur);
			cur = next;
		}
	}
	if (plen > 0 && path[plen - 1] == '/' && !S_ISDIR(cur->mode)) {
		err = -ENOTDIR;
		goto out;
	}
	*vp = cur;
	return 0;
out:
	vnode_rele(cur);
	return err;
}

static int path_len(const char *path, size_t *lenp)
{
	if (path == NULL)
		return -EFAULT;
	size_t n = strnlen(path, PATH_MAX_LEN);
	if (n == PATH_MAX_LEN)
		return -ENAMETOOLONG;
	if (n == 0)
		return -ENOENT;
	*lenp = n;
	return 0;
}

int namei(struct vnode *dir, const char *path, int flags, struct vnode **vp)
{
	size_t n;
	int depth = 0;
	int err = path_len(path, &n);
	if (err)
		return err;
	return walk(dir ? dir : vfs_cwd, path, n, !(flags & NAMEI_NOFOLLOW), &depth, vp);
}

int namei_parent(struct vnode *dir, const char *path, struct vnode **dvp, const char **name,
    size_t *len, int *trailing)
{
	size_t n;
	int depth = 0;
	int err = path_len(path, &n);
	if (err)
		return err;
	if (dir == NULL)
		dir = vfs_cwd;
	size_t end = n;
	while (end > 0 && path[end - 1] == '/')
		end--;
	*trailing = (end < n);
	if (end == 0) {
		/* "/" itself: the root, as "." of the root. */
		vnode_hold(vfs_root);
		*dvp = vfs_root;
		*name = ".";
		*len = 1;
		return 0;
	}
	size_t s = end;
	while (s > 0 && path[s - 1] != '/')
		s--;
	if (end - s > NAME_MAX_LEN)
		return -ENAMETOOLONG;
	struct vnode *d;
	if (s == 0) {
		d = dir;
		vnode_hold(d);
	} else if ((err = walk(dir, path, s, 1, &depth, &d)) != 0) {
		return err;
	}
	if (!S_ISDIR(d->mode)) {
		vnode_rele(d);
		return -ENOTDIR;
	}
	*dvp = d;
	*name = path + s;
	*len = end - s;
	return 0;
}

int namei_create(struct vnode *dir, const char *path, int flags, mode_t mode, struct vnode **vp)
{
	struct vnode *d, *e, *v = NULL;
	const char *name;
	size_t len;
	int trailing, err;

	if ((err = namei_parent(dir, path, &d, &name, &len, &trailing)) != 0)
		return err;
	e = dir_lookup(d, name, len);
	if (e && (flags & NAMEI_EXCL)) {
		err = -EEXIST;
	} else if (e == NULL) {
		if (trailing)
			err = -EISDIR;
		else if (d->nlink == 0)
			err = -ENOENT;
		else if ((err = vnode_rofs(d)) != 0)
			;
		else if ((err = d->ops->create(
		              d, name, len, S_IFREG | (mode & 07777 & ~vfs_umask), NULL, &v)) == 0)
			vnode_hold(v);
	} else if (trailing && !S_ISDIR(e->mode) && !S_ISLNK(e->mode)) {
		err = -EISDIR;
	} else if (S_ISLNK(e->mode)) {
		if (flags & NAMEI_NOFOLLOW)
			err = -ELOOP;
		else
			err = namei(dir, path, 0, &v);
	} else {
		v = vnode_cross(e);
		vnode_hold(v);
	}
	vnode_rele(d);
	if (err == 0)
		*vp = v;
	return err;
}
