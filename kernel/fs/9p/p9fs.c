/*
 * 9P2000.L client file system: a host directory shared over a 9P channel
 * (kernel/include/kernel/p9chan.h; virtio-9p), mounted with type "9p" and
 * the channel's tag as the source.  QEMU's security_model=none is what it
 * expects: the host applies modes and owners as the guest sets them.
 *
 * Vnodes follow the disk model of kernel/fs.h: a vnode is a cache of one
 * host file, holding a walked fid (and, once the file is read or written,
 * an opened one); when the last reference goes (inactive) the fids are
 * clunked and the vnode freed.  Lookups always ask the host (walk, then
 * getattr), so changes made on the host are seen at the next path lookup.
 * Attribute changes the generic layer makes in the vnode (chmod, chown,
 * utimensat) are sent with setattr before the vnode is looked up again,
 * fsync'd, synced or let go.  Every request runs with vfs_lock held.
 */
#include "../../vfs/vfs_impl.h"
#include <kernel/p9chan.h>
#include <dirent.h>
#include <sys/statfs.h>

/* Message types (9P2000.L). */
enum {
	Tlerror = 6,
	Rlerror,
	Tstatfs = 8,
	Rstatfs,
	Tlopen = 12,
	Rlopen,
	Tlcreate = 14,
	Rlcreate,
	Tsymlink = 16,
	Rsymlink,
	Treadlink = 22,
	Rreadlink,
	Tgetattr = 24,
	Rgetattr,
	Tsetattr = 26,
	Rsetattr,
	Treaddir = 40,
	Rreaddir,
	Tfsync = 50,
	Rfsync,
	Tlink = 70,
	Rlink,
	Tmkdir = 72,
	Rmkdir,
	Trenameat = 74,
	Rrenameat,
	Tunlinkat = 76,
	Runlinkat,
	Tversion = 100,
	Rversion,
	Tattach = 104,
	Rattach,
	Twalk = 110,
	Rwalk,
	Tread = 116,
	Rread,
	Twrite = 118,
	Rwrite,
	Tclunk = 120,
	Rclunk,
};
#define P9_NOTAG 0xFFFF
#define P9_NOFID 0xFFFFFFFFu
#define P9_GETATTR_BASIC 0x7FFULL
#define P9_SETATTR_MODE 0x01
#define P9_SETATTR_UID 0x02
#define P9_SETATTR_GID 0x04
#define P9_SETATTR_SIZE 0x08
#define P9_SETATTR_ATIME 0x10
#define P9_SETATTR_MTIME 0x20
#define P9_SETATTR_ATIME_SET 0x80
#define P9_SETATTR_MTIME_SET 0x100
#define P9_AT_REMOVEDIR 0x200
#define P9_HASH 256
#define P9_MAGIC 0x01021997 /* V9FS_MAGIC, statfs's f_type */

struct p9_mount {
	struct p9_chan *c;
	struct mount *mp;
	uint32_t next_fid;
	uint32_t *free_fids;
	unsigned nfree, free_cap;
	struct vnode *hash[P9_HASH];
};

/* What the host was last told (or told us) of a node's attributes. */
struct p9_attrs {
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec atime, mtime;
};

struct p9_node {
	struct p9_mount *m;
	uint32_t fid; /* walked to the file */
	uint32_t iofid; /* opened, or P9_NOFID */
	int iomode; /* O_RDONLY or O_RDWR */
	int written; /* written since the host last fsync'd it */
	uint64_t qpath;
	struct p9_attrs synced;
	struct vnode *hnext;
};

static const struct vnode_ops p9_ops;

/* --- messages --- */

struct p9_msg {
	unsigned char *p;
	size_t len, cap;
	int bad; /* overflow or short answer */
};

static void put(struct p9_msg *b, uint64_t v, int n)
{
	if (b->len + n > b->cap) {
		b->bad = 1;
		return;
	}
	for (int i = 0; i < n; i++)
		b->p[b->len++] = (unsigned char)(v >> (8 * i));
}

static void put_str(struct p9_msg *b, const char *s, size_t n)
{
	put(b, n, 2);
	if (b->len + n > b->cap) {
		b->bad = 1;
		return;
	}
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

static uint64_t get(struct p9_msg *b, int n)
{
	uint64_t v = 0;
	if (b->len + n > b->cap) {
		b->bad = 1;
		return 0;
	}
	for (int i = 0; i < n; i++)
		v |= (uint64_t)b->p[b->len++] << (8 * i);
	return v;
}

/* A string of the answer: pointer into it and its length. */
static const char *get_str(struct p9_msg *b, size_t *n)
{
	*n = get(b, 2);
	if (b->bad || b->len + *n > b->cap) {
		b->bad = 1;
		return NULL;
	}
	const char *s = (const char *)b->p + b->len;
	b->len += *n;
	return s;
}

/* One request: a slot, the request being built, the answer being read. */
struct p9_req {
	struct p9_mount *m;
	struct p9_slot *s;
	struct p9_msg t, r;
};

static void req_start(struct p9_req *q, struct p9_mount *m, int type)
{
	q->m = m;
	q->s = m->c->ops->get(m->c);
	q->t.p = q->s->req;
	q->t.len = 0;
	q->t.cap = m->c->msize;
	q->t.bad = 0;
	put(&q->t, 0, 4);
	put(&q->t, type, 1);
	put(&q->t, type == Tversion ? P9_NOTAG : q->s->tag, 2);
}

/* Send and check the answer's type; -errno from Rlerror, -EIO otherwise. */
static int req_send(struct p9_req *q)
{
	unsigned char type = q->t.p[4];
	if (q->t.bad)
		return -EIO;
	size_t len = q->t.len;
	q->t.p[0] = len;
	q->t.p[1] = len >> 8;
	q->t.p[2] = len >> 16;
	q->t.p[3] = len >> 24;
	int n = q->m->c->ops->rpc(q->m->c, q->s);
	if (n < 0)
		return n;
	q->r.p = q->s->resp;
	q->r.cap = n;
	q->r.len = 0;
	q->r.bad = 0;
	uint32_t size = get(&q->r, 4);
	unsigned rtype = get(&q->r, 1);
	get(&q->r, 2);
	if (size < 7 || size > (uint32_t)n)
		return -EIO;
	q->r.cap = size;
	if (rtype == Rlerror) {
		uint32_t ecode = get(&q->r, 4);
		return (q->r.bad || ecode == 0 || ecode > 4095) ? -EIO : -(int)ecode;
	}
	return rtype == type + 1u ? 0 : -EIO;
}

static void req_end(struct p9_req *q) { q->m->c->ops->put(q->m->c, q->s); }

/* A request that answers nothing worth reading. */
#define REQ_SIMPLE(m, type, build) \
	({ \
		struct p9_req q_; \
		req_start(&q_, (m), (type)); \
		struct p9_msg *t = &q_.t; \
		build; \
		int e_ = req_send(&q_); \
		req_end(&q_); \
		e_; \
	})

/* --- fids --- */

static uint32_t fid_alloc(struct p9_mount *m)
{
	if (m->nfree)
		return m->free_fids[--m->nfree];
	return m->next_fid++;
}

static void fid_release(struct p9_mount *m, uint32_t fid)
{
	if (fid == P9_NOFID)
		return;
	REQ_SIMPLE(m, Tclunk, put(t, fid, 4));
	if (m->nfree == m->free_cap) {
		unsigned ncap = m->free_cap ? m->free_cap * 2 : 64;
		uint32_t *n = kmalloc(ncap * sizeof(*n));
		if (n == NULL)
			return; /* the number is simply not reused */
		if (m->free_fids) {
			memcpy(n, m->free_fids, m->nfree * sizeof(*n));
			kfree(m->free_fids, m->free_cap * sizeof(*n));
		}
		m->free_fids = n;
		m->free_cap = ncap;
	}
	m->free_fids[m->nfree++] = fid;
}

/* newfid := walk from fid through one name (or none: a clone). */
static int walk(struct p9_mount *m, uint32_t fid, const char *name, size_t len, uint32_t *newfid)
{
	struct p9_req q;
	uint32_t nf = fid_alloc(m);
	req_start(&q, m, Twalk);
	put(&q.t, fid, 4);
	put(&q.t, nf, 4);
	put(&q.t, name ? 1 : 0, 2);
	if (name)
		put_str(&q.t, name, len);
	int err = req_send(&q);
	if (err == 0 && name && get(&q.r, 2) != 1)
		err = -ENOENT; /* the host walked fewer names: nf is not made */
	req_end(&q);
	if (err) {
		if (m->nfree < m->free_cap)
			m->free_fids[m->nfree++] = nf;
		return err;
	}
	*newfid = nf;
	return 0;
}

/* --- attributes --- */

struct p9_stat {
	uint64_t qpath;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	uint64_t nlink, rdev, size, blocks;
	struct timespec atime, mtime, ctime, btime;
};

static int getattr(struct p9_mount *m, uint32_t fid, struct p9_stat *st)
{
	struct p9_req q;
	req_start(&q, m, Tgetattr);
	put(&q.t, fid, 4);
	put(&q.t, P9_GETATTR_BASIC, 8);
	int err = req_send(&q);
	if (err == 0) {
		get(&q.r, 8); /* valid */
		get(&q.r, 1); /* qid: type, version, path */
		get(&q.r, 4);
		st->qpath = get(&q.r, 8);
		st->mode = get(&q.r, 4);
		st->uid = get(&q.r, 4);
		st->gid = get(&q.r, 4);
		st->nlink = get(&q.r, 8);
		st->rdev = get(&q.r, 8);
		st->size = get(&q.r, 8);
		get(&q.r, 8); /* blksize */
		st->blocks = get(&q.r, 8);
		st->atime.tv_sec = get(&q.r, 8);
		st->atime.tv_nsec = get(&q.r, 8);
		st->mtime.tv_sec = get(&q.r, 8);
		st->mtime.tv_nsec = get(&q.r, 8);
		st->ctime.tv_sec = get(&q.r, 8);
		st->ctime.tv_nsec = get(&q.r, 8);
		st->btime.tv_sec = get(&q.r, 8);
		st->btime.tv_nsec = get(&q.r, 8);
		if (q.r.bad)
			err = -EIO;
	}
	req_end(&q);
	return err;
}

static void attrs_apply(struct vnode *v, const struct p9_stat *st)
{
	struct p9_node *n = v->fsdata;
	v->mode = st->mode;
	v->uid = st->uid;
	v->gid = st->gid;
	v->nlink = st->nlink;
	v->size = st->size;
	v->blocks = st->blocks;
	v->vflags |= VN_BLOCKS;
	v->atime = st->atime;
	v->mtime = st->mtime;
	v->ctime = st->ctime;
	v->btime = st->btime;
	n->synced.mode = v->mode;
	n->synced.uid = v->uid;
	n->synced.gid = v->gid;
	n->synced.atime = v->atime;
	n->synced.mtime = v->mtime;
}

static int ts_eq(struct timespec a, struct timespec b)
{
	return a.tv_sec == b.tv_sec && a.tv_nsec == b.tv_nsec;
}

/* Send what the generic layer changed in v since the host last said. */
static int attrs_push(struct vnode *v)
{
	struct p9_node *n = v->fsdata;
	uint32_t valid = 0;
	if (v->mount && (v->mount->flags & MNT_RDONLY))
		return 0;
	if ((v->mode & 07777) != (n->synced.mode & 07777))
		valid |= P9_SETATTR_MODE;
	if (v->uid != n->synced.uid)
		valid |= P9_SETATTR_UID;
	if (v->gid != n->synced.gid)
		valid |= P9_SETATTR_GID;
	if (!ts_eq(v->atime, n->synced.atime))
		valid |= P9_SETATTR_ATIME | P9_SETATTR_ATIME_SET;
	if (!ts_eq(v->mtime, n->synced.mtime))
		valid |= P9_SETATTR_MTIME | P9_SETATTR_MTIME_SET;
	if (valid == 0)
		return 0;
	int err = REQ_SIMPLE(n->m, Tsetattr, ({
		put(t, n->fid, 4);
		put(t, valid, 4);
		put(t, v->mode & 07777, 4);
		put(t, v->uid, 4);
		put(t, v->gid, 4);
		put(t, 0, 8);
		put(t, v->atime.tv_sec, 8);
		put(t, v->atime.tv_nsec, 8);
		put(t, v->mtime.tv_sec, 8);
		put(t, v->mtime.tv_nsec, 8);
	}));
	if (err == 0) {
		n->synced.mode = v->mode;
		n->synced.uid = v->uid;
		n->synced.gid = v->gid;
		n->synced.atime = v->atime;
		n->synced.mtime = v->mtime;
	}
	return err;
}

/* --- vnodes --- */

static void hash_remove(struct p9_mount *m, struct vnode *v)
{
	struct p9_node *n = v->fsdata;
	struct vnode **lp = &m->hash[n->qpath % P9_HASH];
	while (*lp && *lp != v)
		lp = &((struct p9_node *)(*lp)->fsdata)->hnext;
	if (*lp)
		*lp = n->hnext;
}

/* v has no name on the host any more: out of the cache, so a new file
 * that gets its inode number (its qid path) is not taken for it. */
static void forget(struct vnode *v) { hash_remove(((struct p9_node *)v->fsdata)->m, v); }

static int readlink_fid(struct p9_mount *m, uint32_t fid, char **target)
{
	struct p9_req q;
	size_t len;
	req_start(&q, m, Treadlink);
	put(&q.t, fid, 4);
	int err = req_send(&q);
	if (err == 0) {
		const char *s = get_str(&q.r, &len);
		if (s == NULL)
			err = -EIO;
		else if ((*target = kmalloc(len + 1)) == NULL)
			err = -ENOMEM;
		else {
			memcpy(*target, s, len);
			(*target)[len] = '\0';
		}
	}
	req_end(&q);
	return err;
}

static void target_free(struct vnode *v)
{
	if (v->target) {
		kfree(v->target, strlen(v->target) + 1);
		v->target = NULL;
	}
}

/*
 * The vnode for the host file that fid (ours now) walked to: the cached
 * one (refreshed; fid is clunked) or a new one owning fid.  Unheld, on
 * the pending list.  parent: the directory it was found in.
 */
static int node_get(struct p9_mount *m, uint32_t fid, struct vnode *parent, struct vnode **vp)
{
	struct p9_stat st = {0};
	int err = getattr(m, fid, &st);
	if (err) {
		fid_release(m, fid);
		return err;
	}
	struct vnode *v;
	for (v = m->hash[st.qpath % P9_HASH]; v; v = ((struct p9_node *)v->fsdata)->hnext)
		if (((struct p9_node *)v->fsdata)->qpath == st.qpath)
			break;
	if (v && (v->mode & S_IFMT) == (st.mode & S_IFMT)) {
		fid_release(m, fid);
		attrs_push(v);
		attrs_apply(v, &st);
	} else {
		struct p9_node *n = kzalloc(sizeof(*n));
		if (n == NULL || (v = kzalloc(sizeof(*v))) == NULL) {
			if (n)
				kfree(n, sizeof(*n));
			fid_release(m, fid);
			return -ENOMEM;
		}
		n->m = m;
		n->fid = fid;
		n->iofid = P9_NOFID;
		n->qpath = st.qpath;
		v->ops = &p9_ops;
		v->ino = st.qpath;
		v->mount = m->mp;
		v->fsdata = n;
		attrs_apply(v, &st);
		if (S_ISDIR(v->mode) && parent) {
			v->parent = parent;
			vnode_hold(parent);
		}
		n->hnext = m->hash[st.qpath % P9_HASH];
		m->hash[st.qpath % P9_HASH] = v;
	}
	if (S_ISLNK(v->mode)) {
		char *t = NULL;
		if (readlink_fid(m, ((struct p9_node *)v->fsdata)->fid, &t) == 0) {
			target_free(v);
			v->target = t;
			v->size = strlen(t);
		} else if (v->target == NULL && (v->target = kzalloc(1)) == NULL) {
			return -ENOMEM;
		}
	}
	if (v->refs == 0)
		vnode_pending(v);
	*vp = v;
	return 0;
}

static void p9_inactive(struct vnode *v)
{
	struct p9_node *n = v->fsdata;
	struct p9_mount *m = n->m;
	if (v == v->mount->root)
		return; /* the mount's, freed at unmount */
	attrs_push(v);
	hash_remove(m, v);
	fid_release(m, n->iofid);
	fid_release(m, n->fid);
	struct vnode *parent = S_ISDIR(v->mode) ? v->parent : NULL;
	target_free(v);
	kfree(n, sizeof(*n));
	kfree(v, sizeof(*v));
	if (parent && parent != v)
		vnode_rele(parent);
}

static struct vnode *p9_lookup(struct vnode *dir, const char *name, size_t len)
{
	struct p9_node *d = dir->fsdata;
	uint32_t fid;
	struct vnode *v;
	if (walk(d->m, d->fid, name, len, &fid) != 0)
		return NULL;
	if (node_get(d->m, fid, dir, &v) != 0)
		return NULL;
	return v;
}

/* Open v for I/O (read and write when possible). */
static int io_open(struct vnode *v, int need_write)
{
	struct p9_node *n = v->fsdata;
	if (n->iofid != P9_NOFID && (!need_write || n->iomode == O_RDWR))
		return 0;
	int rdonly = v->mount && (v->mount->flags & MNT_RDONLY);
	int modes[2] = {O_RDWR, O_RDONLY};
	int err = -EIO;
	for (int i = rdonly || S_ISDIR(v->mode) ? 1 : 0; i < 2; i++) {
		uint32_t fid;
		if ((err = walk(n->m, n->fid, NULL, 0, &fid)) != 0)
			return err;
		int flags = modes[i] | (S_ISDIR(v->mode) ? O_DIRECTORY : 0);
		err = REQ_SIMPLE(n->m, Tlopen, ({
			put(t, fid, 4);
			put(t, flags, 4);
		}));
		if (err == 0) {
			fid_release(n->m, n->iofid);
			n->iofid = fid;
			n->iomode = modes[i];
			break;
		}
		fid_release(n->m, fid);
		if (need_write)
			break;
	}
	if (err == 0 && need_write && n->iomode != O_RDWR)
		err = -EACCES;
	return err;
}

static ssize_t p9_read(struct vnode *v, void *buf, size_t len, off_t off)
{
	struct p9_node *n = v->fsdata;
	struct p9_mount *m = n->m;
	int err = io_open(v, 0);
	if (err)
		return err;
	size_t done = 0, most = m->c->msize - 11;
	while (done < len) {
		size_t want = len - done < most ? len - done : most;
		struct p9_req q;
		req_start(&q, m, Tread);
		put(&q.t, n->iofid, 4);
		put(&q.t, off + done, 8);
		put(&q.t, want, 4);
		err = req_send(&q);
		uint32_t got = 0;
		if (err == 0) {
			got = get(&q.r, 4);
			if (q.r.bad || got > want || q.r.len + got > q.r.cap)
				err = -EIO;
			else
				memcpy((char *)buf + done, q.r.p + q.r.len, got);
		}
		req_end(&q);
		if (err)
			return done ? (ssize_t)done : err;
		done += got;
		if (got < want)
			break;
	}
	return done;
}

static ssize_t p9_write(struct vnode *v, const void *buf, size_t len, off_t off)
{
	struct p9_node *n = v->fsdata;
	struct p9_mount *m = n->m;
	int err = io_open(v, 1);
	if (err)
		return err;
	size_t done = 0, most = m->c->msize - 23;
	while (done < len) {
		size_t want = len - done < most ? len - done : most;
		struct p9_req q;
		req_start(&q, m, Twrite);
		put(&q.t, n->iofid, 4);
		put(&q.t, off + done, 8);
		put(&q.t, want, 4);
		if (q.t.len + want > q.t.cap) {
			q.t.bad = 1;
		} else {
			memcpy(q.t.p + q.t.len, (const char *)buf + done, want);
			q.t.len += want;
		}
		err = req_send(&q);
		uint32_t put_n = 0;
		if (err == 0) {
			put_n = get(&q.r, 4);
			if (q.r.bad || put_n > want)
				err = -EIO;
		}
		req_end(&q);
		if (err)
			return done ? (ssize_t)done : err;
		done += put_n;
		if (put_n < want)
			break;
	}
	if (done && off + (off_t)done > v->size)
		v->size = off + done;
	if (done)
		n->written = 1;
	return done;
}

static int p9_truncate(struct vnode *v, off_t len)
{
	struct p9_node *n = v->fsdata;
	int err = REQ_SIMPLE(n->m, Tsetattr, ({
		put(t, n->fid, 4);
		put(t, P9_SETATTR_SIZE, 4);
		put(t, 0, 4);
		put(t, 0, 4);
		put(t, 0, 4);
		put(t, len, 8);
		put(t, 0, 8);
		put(t, 0, 8);
		put(t, 0, 8);
		put(t, 0, 8);
	}));
	if (err == 0) {
		v->size = len;
		((struct p9_node *)v->fsdata)->written = 1;
	}
	return err;
}

static int p9_create(struct vnode *dir, const char *name, size_t len, mode_t mode,
    const char *target, struct vnode **vp)
{
	struct p9_node *d = dir->fsdata;
	struct p9_mount *m = d->m;
	uint32_t iofid = P9_NOFID, fid;
	int err;

	if (S_ISREG(mode)) {
		/* lcreate turns a clone of the directory's fid into the file, open. */
		if ((err = walk(m, d->fid, NULL, 0, &iofid)) != 0)
			return err;
		err = REQ_SIMPLE(m, Tlcreate, ({
			put(t, iofid, 4);
			put_str(t, name, len);
			put(t, O_RDWR | O_CREAT | O_EXCL, 4);
			put(t, mode & 07777, 4);
			put(t, 0, 4);
		}));
	} else if (S_ISDIR(mode)) {
		err = REQ_SIMPLE(m, Tmkdir, ({
			put(t, d->fid, 4);
			put_str(t, name, len);
			put(t, mode & 07777, 4);
			put(t, 0, 4);
		}));
	} else if (S_ISLNK(mode)) {
		err = REQ_SIMPLE(m, Tsymlink, ({
			put(t, d->fid, 4);
			put_str(t, name, len);
			put_str(t, target, strlen(target));
			put(t, 0, 4);
		}));
	} else {
		return -EPERM;
	}
	if (err == 0)
		err = walk(m, d->fid, name, len, &fid);
	struct vnode *v = NULL;
	if (err == 0)
		err = node_get(m, fid, dir, &v);
	if (err) {
		fid_release(m, iofid);
		return err;
	}
	struct p9_node *n = v->fsdata;
	if (iofid != P9_NOFID) {
		fid_release(m, n->iofid);
		n->iofid = iofid;
		n->iomode = O_RDWR;
	}
	if (S_ISDIR(mode))
		dir->nlink++;
	*vp = v;
	return 0;
}

static int p9_link(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	struct p9_node *d = dir->fsdata, *n = v->fsdata;
	int err = REQ_SIMPLE(d->m, Tlink, ({
		put(t, d->fid, 4);
		put(t, n->fid, 4);
		put_str(t, name, len);
	}));
	if (err == 0)
		v->nlink++;
	return err;
}

static int p9_unlink(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	struct p9_node *d = dir->fsdata;
	int isdir = S_ISDIR(v->mode);
	/* Still open somewhere (the generic layer holds v only for open files
	 * and the like): open it on the host now, while it has a name, so it
	 * stays readable and writable. */
	if (!isdir && v->refs > 0 && v->nlink == 1 && io_open(v, 1) != 0)
		io_open(v, 0);
	int err = REQ_SIMPLE(d->m, Tunlinkat, ({
		put(t, d->fid, 4);
		put_str(t, name, len);
		put(t, isdir ? P9_AT_REMOVEDIR : 0, 4);
	}));
	if (err)
		return err;
	if (isdir) {
		v->nlink = 0;
		if (dir->nlink > 2)
			dir->nlink--;
	} else if (v->nlink > 0) {
		v->nlink--;
	}
	if (v->nlink == 0)
		forget(v);
	return 0;
}

static int p9_rename(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv)
{
	struct p9_node *od = odir->fsdata, *nd = ndir->fsdata;
	int err = REQ_SIMPLE(od->m, Trenameat, ({
		put(t, od->fid, 4);
		put_str(t, oname, olen);
		put(t, nd->fid, 4);
		put_str(t, nname, nlen);
	}));
	if (err)
		return err;
	if (tv) {
		if (S_ISDIR(tv->mode)) {
			tv->nlink = 0;
			if (ndir->nlink > 2)
				ndir->nlink--;
		} else if (tv->nlink > 0) {
			tv->nlink--;
		}
		if (tv->nlink == 0)
			forget(tv);
	}
	if (S_ISDIR(v->mode) && odir != ndir) {
		vnode_hold(ndir);
		v->parent = ndir;
		ndir->nlink++;
		if (odir->nlink > 2)
			odir->nlink--;
		vnode_rele(odir);
	}
	return 0;
}

/*
 * Directory reading.  Cookies 0 and 1 are "." and ".."; cookie c >= 2
 * is the host's readdir offset c - 2 (0: the start), computed modulo 2^64
 * (hosts' offsets are often hashes up to 2^63 - 1); the host's own "."
 * and ".." are skipped.
 */
static int p9_readdir(struct vnode *dir, off_t *cookie,
    int (*emit)(void *, ino_t, off_t, unsigned char, const char *, size_t), void *arg)
{
	struct p9_node *n = dir->fsdata;
	struct p9_mount *m = n->m;
	if (*cookie == 0) {
		if (emit(arg, dir->ino, 1, DT_DIR, ".", 1))
			return 0;
		*cookie = 1;
	}
	if (*cookie == 1) {
		if (emit(arg, dir->parent->ino, 2, DT_DIR, "..", 2))
			return 0;
		*cookie = 2;
	}
	int err = io_open(dir, 0);
	if (err)
		return err;
	for (;;) {
		struct p9_req q;
		req_start(&q, m, Treaddir);
		put(&q.t, n->iofid, 4);
		put(&q.t, (uint64_t)*cookie - 2, 8);
		put(&q.t, m->c->msize - 11, 4);
		err = req_send(&q);
		if (err) {
			req_end(&q);
			return err;
		}
		uint32_t count = get(&q.r, 4);
		if (q.r.bad || q.r.len + count > q.r.cap) {
			req_end(&q);
			return -EIO;
		}
		if (count == 0) {
			req_end(&q);
			return 0; /* the end */
		}
		struct p9_msg b = {q.r.p + q.r.len, 0, count, 0};
		int full = 0;
		while (b.len < b.cap && !full) {
			get(&b, 1);
			get(&b, 4);
			uint64_t qpath = get(&b, 8);
			uint64_t next = get(&b, 8);
			unsigned type = get(&b, 1);
			size_t nlen;
			const char *name = get_str(&b, &nlen);
			if (b.bad) {
				req_end(&q);
				return -EIO;
			}
			if (!((nlen == 1 && name[0] == '.') ||
			        (nlen == 2 && name[0] == '.' && name[1] == '.')))
				full = emit(arg, qpath, (off_t)(next + 2), type, name, nlen);
			if (!full)
				*cookie = (off_t)(next + 2);
		}
		req_end(&q);
		if (full)
			return 0;
	}
}

static int p9_isempty(struct vnode *dir)
{
	struct p9_node *n = dir->fsdata;
	uint32_t fid;
	int empty = 0;
	/* A fresh open: the cached one's position means nothing here. */
	if (walk(n->m, n->fid, NULL, 0, &fid) != 0)
		return 0;
	if (REQ_SIMPLE(n->m, Tlopen, ({
		    put(t, fid, 4);
		    put(t, O_RDONLY | O_DIRECTORY, 4);
	    })) == 0) {
		uint64_t off = 0;
		empty = 1;
		while (empty) {
			struct p9_req q;
			req_start(&q, n->m, Treaddir);
			put(&q.t, fid, 4);
			put(&q.t, off, 8);
			put(&q.t, 4096, 4);
			int err = req_send(&q);
			uint32_t count = err ? 0 : get(&q.r, 4);
			if (err || q.r.bad || q.r.len + count > q.r.cap) {
				empty = 0; /* cannot tell: refuse */
				req_end(&q);
				break;
			}
			struct p9_msg b = {q.r.p + q.r.len, 0, count, 0};
			while (b.len < b.cap && empty) {
				get(&b, 13);
				off = get(&b, 8);
				get(&b, 1);
				size_t nlen;
				const char *name = get_str(&b, &nlen);
				if (b.bad)
					empty = 0;
				else if (!((nlen == 1 && name[0] == '.') ||
				             (nlen == 2 && name[0] == '.' && name[1] == '.')))
					empty = 0;
			}
			req_end(&q);
			if (count == 0)
				break;
		}
	}
	fid_release(n->m, fid);
	return empty;
}

static int p9_fsync(struct vnode *v, int datasync)
{
	struct p9_node *n = v->fsdata;
	int err = attrs_push(v);
	/* Only what was written through this vnode needs the host's fsync
	 * (the syncer calls this every few seconds for every open file). */
	if (err == 0 && n->written && n->iofid != P9_NOFID && n->iomode == O_RDWR) {
		err = REQ_SIMPLE(n->m, Tfsync, ({
			put(t, n->iofid, 4);
			put(t, datasync, 4);
		}));
		if (err == 0)
			n->written = 0;
	}
	return err;
}

static const struct vnode_ops p9_ops = {
    .lookup = p9_lookup,
    .create = p9_create,
    .link = p9_link,
    .unlink = p9_unlink,
    .rename = p9_rename,
    .isempty = p9_isempty,
    .readdir = p9_readdir,
    .read = p9_read,
    .write = p9_write,
    .truncate = p9_truncate,
    .inactive = p9_inactive,
    .fsync = p9_fsync,
};

/* --- the mount --- */

static int p9_statfs(struct mount *mp, struct statfs *sf)
{
	struct p9_mount *m = mp->data;
	struct p9_node *root = mp->root->fsdata;
	struct p9_req q;
	req_start(&q, m, Tstatfs);
	put(&q.t, root->fid, 4);
	int err = req_send(&q);
	if (err == 0) {
		sf->f_type = P9_MAGIC;
		get(&q.r, 4);
		sf->f_bsize = get(&q.r, 4);
		sf->f_blocks = get(&q.r, 8);
		sf->f_bfree = get(&q.r, 8);
		sf->f_bavail = get(&q.r, 8);
		sf->f_files = get(&q.r, 8);
		sf->f_ffree = get(&q.r, 8);
		get(&q.r, 8);
		sf->f_namelen = get(&q.r, 4);
		if (q.r.bad)
			err = -EIO;
	}
	req_end(&q);
	return err;
}

static int p9_sync(struct mount *mp)
{
	struct p9_mount *m = mp->data;
	int first = 0;
	for (unsigned i = 0; i < P9_HASH; i++)
		for (struct vnode *v = m->hash[i]; v; v = ((struct p9_node *)v->fsdata)->hnext) {
			int err = p9_fsync(v, 0);
			if (err && !first)
				first = err;
		}
	return first;
}

static void p9_unmount(struct mount *mp)
{
	struct p9_mount *m = mp->data;
	/* Clunk what is left; the vnodes still referenced stay (the machine ends). */
	for (unsigned i = 0; i < P9_HASH; i++)
		for (struct vnode *v = m->hash[i]; v; v = ((struct p9_node *)v->fsdata)->hnext) {
			struct p9_node *n = v->fsdata;
			fid_release(m, n->iofid);
			n->iofid = P9_NOFID;
		}
	m->c->users--;
}

static const struct mount_ops p9_mount_ops = {
    .statfs = p9_statfs,
    .sync = p9_sync,
    .unmount = p9_unmount,
};

static int p9_mount(struct mount *mp, struct vnode **rootp)
{
	struct p9_chan *c = p9_chan_lookup(mp->source);
	if (c == NULL) {
		kprintf("rumprun: 9p: no shared folder with the tag \"%s\"\n", mp->source);
		return -ENXIO; /* not -ENODEV: that says the type is missing */
	}
	if (c->users)
		return -EBUSY;
	struct p9_mount *m = kzalloc(sizeof(*m));
	if (m == NULL)
		return -ENOMEM;
	m->c = c;
	m->mp = mp;
	m->next_fid = 1;

	/* Tversion: the client's msize and "9P2000.L"; the server may lower it. */
	struct p9_req q;
	req_start(&q, m, Tversion);
	put(&q.t, c->msize, 4);
	put_str(&q.t, "9P2000.L", 8);
	int err = req_send(&q);
	if (err == 0) {
		uint32_t msize = get(&q.r, 4);
		size_t vlen;
		const char *ver = get_str(&q.r, &vlen);
		if (ver == NULL || vlen != 8 || memcmp(ver, "9P2000.L", 8) != 0 || msize < 4096) {
			kprintf("rumprun: 9p: %s: the host does not speak 9P2000.L\n", mp->source);
			err = -EIO;
		} else if (msize < c->msize) {
			c->msize = msize;
		}
	}
	req_end(&q);
	uint32_t rootfid = 0;
	if (err == 0) {
		rootfid = fid_alloc(m);
		err = REQ_SIMPLE(m, Tattach, ({
			put(t, rootfid, 4);
			put(t, P9_NOFID, 4);
			put_str(t, "root", 4);
			put_str(t, "", 0);
			put(t, 0, 4);
		}));
	}
	struct vnode *root = NULL;
	if (err == 0) {
		mp->data = m;
		mp->ops = &p9_mount_ops;
		err = node_get(m, rootfid, NULL, &root);
	}
	if (err) {
		kprintf("rumprun: 9p: cannot attach to the shared folder \"%s\" (error %d)\n",
		    mp->source, -err);
		kfree(m, sizeof(*m));
		return err == -ENODEV ? -EIO : err;
	}
	root->parent = root;
	vnode_hold(root);
	c->users++;
	*rootp = root;
	return 0;
}

static const struct vfs_fstype p9_type = {
    .name = "9p",
    .needs_blkdev = 0,
    .mount = p9_mount,
};
VFS_FSTYPE_REGISTER(p9_type);

/* --- the channel registry --- */

static struct p9_chan *chans;

int p9_chan_register(struct p9_chan *c)
{
	if (p9_chan_lookup(c->tag))
		return -EEXIST;
	c->next = chans;
	chans = c;
	return 0;
}

struct p9_chan *p9_chan_lookup(const char *tag)
{
	for (struct p9_chan *c = chans; c; c = c->next)
		if (strcmp(c->tag, tag) == 0)
			return c;
	return NULL;
}
