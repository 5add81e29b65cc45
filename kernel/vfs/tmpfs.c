/*
 * tmpfs: the root file system, in memory.
 *
 * Directories are lists of entries in creation order, each with a cookie
 * (its getdents64 position) that never changes, so reading a directory
 * while entries come and go neither repeats nor skips the entries that
 * stay.  Regular files are arrays of page pointers; a missing page is a
 * hole and reads as zeros.
 */
#include "vfs_impl.h"

#define TMPFS_MAX_SIZE ((off_t)1 << 40)

struct tmpfs_dirent {
	struct tmpfs_dirent *next;
	off_t cookie;
	struct vnode *v;
	size_t len;
	char name[];
};

struct tmpfs_dir {
	struct tmpfs_dirent *head;
	off_t next_cookie;
};

struct tmpfs_reg {
	char **pages;
	size_t npages; /* capacity of pages[] */
	size_t pinned; /* pages pinned by shared mappings */
};

static const struct vnode_ops tmpfs_ops;

static struct vnode *tmpfs_newnode(mode_t mode, const char *target)
{
	struct vnode *v = kzalloc(sizeof(*v));
	if (v == NULL)
		return NULL;
	v->ops = &tmpfs_ops;
	vnode_init_attrs(v, mode);
	if (S_ISDIR(mode)) {
		struct tmpfs_dir *d = kzalloc(sizeof(*d));
		if (d == NULL)
			goto fail;
		d->next_cookie = 2;
		v->fsdata = d;
	} else if (S_ISREG(mode)) {
		struct tmpfs_reg *r = kzalloc(sizeof(*r));
		if (r == NULL)
			goto fail;
		v->fsdata = r;
	} else if (S_ISLNK(mode)) {
		size_t n = strlen(target);
		v->target = kmalloc(n + 1);
		if (v->target == NULL)
			goto fail;
		memcpy(v->target, target, n + 1);
		v->size = n;
	}
	return v;
fail:
	kfree(v, sizeof(*v));
	return NULL;
}

static void tmpfs_reclaim(struct vnode *v)
{
	if (S_ISDIR(v->mode)) {
		struct tmpfs_dir *d = v->fsdata;
		/* An empty directory (rmdir checked); free anything left. */
		while (d->head) {
			struct tmpfs_dirent *e = d->head;
			d->head = e->next;
			kfree(e, sizeof(*e) + e->len + 1);
		}
		kfree(d, sizeof(*d));
	} else if (S_ISREG(v->mode)) {
		struct tmpfs_reg *r = v->fsdata;
		for (size_t i = 0; i < r->npages; i++)
			if (r->pages[i])
				kpages_free(r->pages[i], PAGE_SIZE);
		if (r->pages)
			kfree(r->pages, r->npages * sizeof(char *));
		kfree(r, sizeof(*r));
	} else if (S_ISLNK(v->mode)) {
		kfree(v->target, strlen(v->target) + 1);
	}
	kfree(v, sizeof(*v));
}

struct vnode *tmpfs_mkroot(void)
{
	struct vnode *v = tmpfs_newnode(S_IFDIR | 0755, NULL);
	if (v == NULL)
		return NULL;
	v->nlink = 2;
	v->parent = v;
	return v;
}

/* Directories */

static struct tmpfs_dirent *dir_find(
    struct vnode *dir, const char *name, size_t len, struct tmpfs_dirent ***linkp)
{
	struct tmpfs_dir *d = dir->fsdata;
	struct tmpfs_dirent **lp;
	for (lp = &d->head; *lp; lp = &(*lp)->next) {
		struct tmpfs_dirent *e = *lp;
		if (e->len == len && memcmp(e->name, name, len) == 0) {
			if (linkp)
				*linkp = lp;
			return e;
		}
	}
	return NULL;
}

static struct vnode *tmpfs_lookup(struct vnode *dir, const char *name, size_t len)
{
	struct tmpfs_dirent *e = dir_find(dir, name, len, NULL);
	return e ? e->v : NULL;
}

static struct tmpfs_dirent *dirent_new(const char *name, size_t len, struct vnode *v)
{
	struct tmpfs_dirent *e = kmalloc(sizeof(*e) + len + 1);
	if (e == NULL)
		return NULL;
	e->next = NULL;
	e->v = v;
	e->len = len;
	memcpy(e->name, name, len);
	e->name[len] = '\0';
	return e;
}

/* Append e to dir and account for it. */
static void dirent_insert(struct vnode *dir, struct tmpfs_dirent *e)
{
	struct tmpfs_dir *d = dir->fsdata;
	struct tmpfs_dirent **lp = &d->head;
	while (*lp)
		lp = &(*lp)->next;
	e->cookie = d->next_cookie++;
	*lp = e;
	dir->size += 1;
	vnode_touch(dir, 0, 1, 1);
}

static int tmpfs_create(struct vnode *dir, const char *name, size_t len, mode_t mode,
    const char *target, struct vnode **vp)
{
	struct vnode *v = tmpfs_newnode(mode, target);
	if (v == NULL)
		return -ENOMEM;
	v->mount = dir->mount;
	struct tmpfs_dirent *e = dirent_new(name, len, v);
	if (e == NULL) {
		tmpfs_reclaim(v);
		return -ENOMEM;
	}
	if (S_ISDIR(mode)) {
		v->nlink = 2;
		v->parent = dir;
		dir->nlink++;
	} else {
		v->nlink = 1;
	}
	dirent_insert(dir, e);
	*vp = v;
	return 0;
}

static int tmpfs_link(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	struct tmpfs_dirent *e = dirent_new(name, len, v);
	if (e == NULL)
		return -ENOMEM;
	dirent_insert(dir, e);
	if (S_ISDIR(v->mode)) {
		/* Only rename moves directories. */
		v->parent = dir;
		dir->nlink++;
	} else {
		v->nlink++;
	}
	vnode_touch(v, 0, 0, 1);
	return 0;
}

static int tmpfs_unlink(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	struct tmpfs_dirent **lp;
	struct tmpfs_dirent *e = dir_find(dir, name, len, &lp);
	if (e == NULL || e->v != v)
		return -ENOENT;
	*lp = e->next;
	kfree(e, sizeof(*e) + e->len + 1);
	dir->size -= 1;
	vnode_touch(dir, 0, 1, 1);
	vnode_touch(v, 0, 0, 1);
	if (S_ISDIR(v->mode)) {
		dir->nlink--;
		v->nlink = 0;
	} else {
		v->nlink--;
	}
	if (v->nlink == 0 && v->refs == 0)
		tmpfs_reclaim(v);
	return 0;
}

/*
 * Move the entry oname (vnode v) of odir to nname in ndir, replacing the
 * entry tv there (NULL when absent).  Only fails (ENOMEM) before changing
 * anything.
 */
static int tmpfs_rename(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv)
{
	struct tmpfs_dirent *ne = dirent_new(nname, nlen, v);
	if (ne == NULL)
		return -ENOMEM;
	if (tv)
		tmpfs_unlink(ndir, nname, nlen, tv);
	struct tmpfs_dirent **lp;
	struct tmpfs_dirent *oe = dir_find(odir, oname, olen, &lp);
	*lp = oe->next;
	kfree(oe, sizeof(*oe) + oe->len + 1);
	odir->size -= 1;
	vnode_touch(odir, 0, 1, 1);
	dirent_insert(ndir, ne);
	if (S_ISDIR(v->mode)) {
		odir->nlink--;
		ndir->nlink++;
		v->parent = ndir;
	}
	vnode_touch(v, 0, 0, 1);
	return 0;
}

static int tmpfs_isempty(struct vnode *dir)
{
	return ((struct tmpfs_dir *)dir->fsdata)->head == NULL;
}

static unsigned char dtype(mode_t m)
{
	return (unsigned char)((m & S_IFMT) >> 12); /* DT_* == S_IF* >> 12 */
}

static int tmpfs_readdir(struct vnode *dir, off_t *cookie,
    int (*emit)(void *, ino_t, off_t, unsigned char, const char *, size_t), void *arg)
{
	struct tmpfs_dir *d = dir->fsdata;
	if (*cookie == 0) {
		if (emit(arg, dir->ino, 1, dtype(S_IFDIR), ".", 1))
			return 0;
		*cookie = 1;
	}
	if (*cookie == 1) {
		if (emit(arg, dir->parent->ino, 2, dtype(S_IFDIR), "..", 2))
			return 0;
		*cookie = 2;
	}
	for (struct tmpfs_dirent *e = d->head; e; e = e->next) {
		if (e->cookie < *cookie)
			continue;
		if (emit(arg, e->v->ino, e->cookie + 1, dtype(e->v->mode), e->name, e->len))
			return 0;
		*cookie = e->cookie + 1;
	}
	return 0;
}

/* Regular files */

static int reg_reserve(struct tmpfs_reg *r, size_t npages)
{
	if (npages <= r->npages)
		return 0;
	size_t n = r->npages ? r->npages : 8;
	while (n < npages)
		n *= 2;
	char **p = kzalloc(n * sizeof(char *));
	if (p == NULL)
		return -ENOMEM;
	if (r->pages) {
		memcpy(p, r->pages, r->npages * sizeof(char *));
		kfree(r->pages, r->npages * sizeof(char *));
	}
	r->pages = p;
	r->npages = n;
	return 0;
}

static ssize_t tmpfs_read(struct vnode *v, void *buf, size_t len, off_t off)
{
	struct tmpfs_reg *r = v->fsdata;
	if (off >= v->size)
		return 0;
	if ((off_t)len > v->size - off)
		len = v->size - off;
	size_t done = 0;
	while (done < len) {
		size_t pg = (off + done) / PAGE_SIZE, po = (off + done) % PAGE_SIZE;
		size_t n = PAGE_SIZE - po;
		if (n > len - done)
			n = len - done;
		if (pg < r->npages && r->pages[pg])
			memcpy((char *)buf + done, r->pages[pg] + po, n);
		else
			memset((char *)buf + done, 0, n);
		done += n;
	}
	return done;
}

static ssize_t tmpfs_write(struct vnode *v, const void *buf, size_t len, off_t off)
{
	struct tmpfs_reg *r = v->fsdata;
	if (off >= TMPFS_MAX_SIZE)
		return -EFBIG;
	if ((off_t)len > TMPFS_MAX_SIZE - off)
		len = TMPFS_MAX_SIZE - off;
	if (len == 0)
		return 0;
	int err = reg_reserve(r, (off + len + PAGE_SIZE - 1) / PAGE_SIZE);
	if (err)
		return err;
	size_t done = 0;
	while (done < len) {
		size_t pg = (off + done) / PAGE_SIZE, po = (off + done) % PAGE_SIZE;
		size_t n = PAGE_SIZE - po;
		if (n > len - done)
			n = len - done;
		if (r->pages[pg] == NULL) {
			r->pages[pg] = kpages_alloc(PAGE_SIZE);
			if (r->pages[pg] == NULL)
				break;
			memset(r->pages[pg], 0, PAGE_SIZE);
		}
		memcpy(r->pages[pg] + po, (const char *)buf + done, n);
		done += n;
	}
	if (done == 0)
		return -ENOSPC;
	if (off + (off_t)done > v->size)
		v->size = off + done;
	return done;
}

static int tmpfs_truncate(struct vnode *v, off_t len)
{
	struct tmpfs_reg *r = v->fsdata;
	if (len > TMPFS_MAX_SIZE)
		return -EFBIG;
	if (len < v->size) {
		size_t keep = (len + PAGE_SIZE - 1) / PAGE_SIZE;
		for (size_t i = keep; i < r->npages; i++) {
			if (r->pages[i] && r->pinned) {
				/* Maybe mapped: it stays, reading as zeros. */
				memset(r->pages[i], 0, PAGE_SIZE);
			} else if (r->pages[i]) {
				kpages_free(r->pages[i], PAGE_SIZE);
				r->pages[i] = NULL;
			}
		}
		/* Zero the tail of the last page so growing reads zeros. */
		size_t po = len % PAGE_SIZE;
		if (po && keep - 1 < r->npages && r->pages[keep - 1])
			memset(r->pages[keep - 1] + po, 0, PAGE_SIZE - po);
	}
	v->size = len;
	return 0;
}

/* Shared mappings map the file's own pages. */
static int tmpfs_getpage(struct vnode *v, off_t off, void **page)
{
	struct tmpfs_reg *r = v->fsdata;
	size_t pg = off / PAGE_SIZE;
	int err = reg_reserve(r, pg + 1);
	if (err)
		return err;
	if (r->pages[pg] == NULL) {
		if ((r->pages[pg] = kpages_alloc(PAGE_SIZE)) == NULL)
			return -ENOMEM;
		memset(r->pages[pg], 0, PAGE_SIZE);
	}
	r->pinned++;
	*page = r->pages[pg];
	return 0;
}

static void tmpfs_putpage(struct vnode *v, off_t off, int flags)
{
	struct tmpfs_reg *r = v->fsdata;
	if (!(flags & FILE_PAGE_KEEP))
		r->pinned--;
}

static const struct vnode_ops tmpfs_ops = {
    .lookup = tmpfs_lookup,
    .create = tmpfs_create,
    .link = tmpfs_link,
    .unlink = tmpfs_unlink,
    .rename = tmpfs_rename,
    .isempty = tmpfs_isempty,
    .readdir = tmpfs_readdir,
    .read = tmpfs_read,
    .write = tmpfs_write,
    .truncate = tmpfs_truncate,
    .getpage = tmpfs_getpage,
    .putpage = tmpfs_putpage,
    .reclaim = tmpfs_reclaim,
};
