/*
 * ISO 9660 (ECMA-119), read only, with Rock Ridge (SUSP/RRIP 1.09/1.12)
 * and Joliet.
 *
 * Which names and attributes a volume shows, best first: Rock Ridge on
 * the primary tree (PX modes, links, owners; NM names; SL symbolic links;
 * TF times; CE continuation areas; CL/PL/RE relocated deep directories),
 * else the Joliet tree (UCS-2 names, up to 64 characters), else the plain
 * names (";1" versions and a trailing '.' removed, lowercased, as Linux
 * shows them).  Files may have several extents (multi-extent records, for
 * files past 4 GiB); directories may span any number of sectors.
 *
 * A directory is parsed once, on its first use, into a table of entries
 * (name and attributes); lookups and getdents work from the table, and a
 * cookie is an index into it, so listings are stable.  A vnode is made
 * for an entry when first looked up and kept (in a hash by inode number)
 * for as long as the volume is mounted: a read-only volume never changes,
 * so nothing needs invalidating.  Inode numbers are the byte position of
 * a directory's extent or of a file's directory record, unique on the
 * volume.  The root's "rr_moved" directory, where mastering tools put
 * directories deeper than 8 levels, is hidden (they show at their CL
 * records).
 *
 * The volume is read through iso_source (the block device's byte reader);
 * every change (create, write, truncate, rename...) is EROFS.
 */
#include "../../vfs/vfs_impl.h"
#include <kernel/blkdev.h>
#include <dirent.h>
#include <sys/statfs.h>

/*
 * Where the volume's bytes come from: read(ctx, off, buf, len) copies len
 * bytes at byte offset off (any alignment) into buf and returns 0 or
 * -errno; size is the volume's size in bytes.
 */
struct iso_source {
	int (*read)(void *ctx, uint64_t off, void *buf, size_t len);
	void *ctx;
	uint64_t size;
};

#define ISO_SECTOR 2048
#define ISO_VD_START 16
#define ISO_VD_MAX 64 /* descriptors looked at before giving up */
#define ISO_CE_MAX 32 /* continuation areas followed per record */
#define ISO_HASH 256

/* One file's extents: data_len bytes at block lba each. */
struct iso_extent {
	uint32_t lba;
	uint32_t len;
};

/* What a directory entry says about its node. */
struct iso_entry {
	char *name; /* NUL-terminated, shown name */
	size_t namelen;
	ino_t ino;
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	off_t size;
	struct timespec atime, mtime, ctime;
	char *target; /* symbolic links */
	struct iso_extent *ext; /* data (files) or the directory's extent */
	unsigned next;
};

struct iso_dir {
	struct iso_entry *ents;
	unsigned n, cap;
	int loaded;
	/* Name index: bucket heads and chains of entry numbers plus one
	 * (0 ends a chain); nbuckets a power of two, 0 when not built. */
	unsigned *buckets, *chain, nbuckets;
};

/* A page of a file lent to shared mappings (getpage), while pinned. */
struct iso_page {
	off_t off;
	void *page;
	int pins;
	struct iso_page *next;
};

struct iso_node {
	struct iso_mount *m;
	struct iso_extent *ext;
	unsigned next;
	struct iso_dir dir;
	struct iso_page *pages;
	struct vnode *hnext; /* hash chain */
};

struct iso_mount {
	struct iso_source src;
	struct mount *mp;
	int rr; /* Rock Ridge: names and attributes from SUSP */
	int joliet; /* names are UCS-2 (the Joliet tree) */
	unsigned susp_skip; /* SP's LEN_SKP */
	struct timespec vol_time;
	struct vnode *root;
	struct vnode *hash[ISO_HASH];
	uint64_t nodes;
	uint64_t blocks; /* volume space size */
	unsigned char *buf; /* one sector, for directory parsing */
	uint64_t buf_lba; /* which one it holds, or UINT64_MAX */
};

static const struct vnode_ops iso_ops;

/* --- reading --- */

static int iso_read(struct iso_mount *m, uint64_t off, void *buf, size_t len)
{
	return m->src.read(m->src.ctx, off, buf, len);
}

/* The sector lba, through the one-sector buffer. */
static int iso_sector(struct iso_mount *m, uint64_t lba, const unsigned char **p)
{
	if (m->buf_lba != lba) {
		m->buf_lba = UINT64_MAX;
		int err = iso_read(m, lba * ISO_SECTOR, m->buf, ISO_SECTOR);
		if (err)
			return err;
		m->buf_lba = lba;
	}
	*p = m->buf;
	return 0;
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian). */
static int64_t days_from_civil(int64_t y, unsigned mo, unsigned d)
{
	y -= mo <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static struct timespec mktime_utc(
    int64_t y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s, int gmtoff15, long ns)
{
	struct timespec ts = {0, 0};
	if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
		return ts;
	ts.tv_sec = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s -
	    (int64_t)gmtoff15 * 15 * 60;
	ts.tv_nsec = ns;
	return ts;
}

/* The 7-byte date of directory records (and TF's short form). */
static struct timespec iso_date7(const unsigned char *p)
{
	return mktime_utc(1900 + p[0], p[1], p[2], p[3], p[4], p[5], (signed char)p[6], 0);
}

static unsigned digits(const unsigned char *p, int n)
{
	unsigned v = 0;
	for (int i = 0; i < n; i++)
		v = v * 10 + (p[i] >= '0' && p[i] <= '9' ? p[i] - '0' : 0);
	return v;
}

/* The 17-byte date of volume descriptors (and TF's long form). */
static struct timespec iso_date17(const unsigned char *p)
{
	return mktime_utc(digits(p, 4), digits(p + 4, 2), digits(p + 6, 2), digits(p + 8, 2),
	    digits(p + 10, 2), digits(p + 12, 2), (signed char)p[16],
	    digits(p + 14, 2) * 10000000L);
}

/* --- names --- */

static int append(char **buf, size_t *len, size_t *cap, const void *s, size_t n)
{
	if (*len + n + 1 > *cap) {
		size_t ncap = (*len + n + 1) * 2;
		char *nb = kmalloc(ncap);
		if (nb == NULL)
			return -ENOMEM;
		if (*buf) {
			memcpy(nb, *buf, *len);
			kfree(*buf, *cap);
		}
		*buf = nb;
		*cap = ncap;
	}
	memcpy(*buf + *len, s, n);
	*len += n;
	(*buf)[*len] = '\0';
	return 0;
}

/* UCS-2 big endian (Joliet) to UTF-8; surrogate pairs combined. */
static int joliet_name(const unsigned char *p, size_t n, char **buf, size_t *len, size_t *cap)
{
	for (size_t i = 0; i + 1 < n; i += 2) {
		uint32_t c = p[i] << 8 | p[i + 1];
		if (c >= 0xD800 && c < 0xDC00 && i + 3 < n) {
			uint32_t lo = p[i + 2] << 8 | p[i + 3];
			if (lo >= 0xDC00 && lo < 0xE000) {
				c = 0x10000 + ((c - 0xD800) << 10) + (lo - 0xDC00);
				i += 2;
			}
		}
		unsigned char u[4];
		size_t k;
		if (c < 0x80) {
			u[0] = c;
			k = 1;
		} else if (c < 0x800) {
			u[0] = 0xC0 | c >> 6;
			u[1] = 0x80 | (c & 0x3F);
			k = 2;
		} else if (c < 0x10000) {
			u[0] = 0xE0 | c >> 12;
			u[1] = 0x80 | ((c >> 6) & 0x3F);
			u[2] = 0x80 | (c & 0x3F);
			k = 3;
		} else {
			u[0] = 0xF0 | c >> 18;
			u[1] = 0x80 | ((c >> 12) & 0x3F);
			u[2] = 0x80 | ((c >> 6) & 0x3F);
			u[3] = 0x80 | (c & 0x3F);
			k = 4;
		}
		int err = append(buf, len, cap, u, k);
		if (err)
			return err;
	}
	/* Joliet names carry ";1" too. */
	if (*len >= 2 && (*buf)[*len - 2] == ';' && (*buf)[*len - 1] == '1') {
		*len -= 2;
		(*buf)[*len] = '\0';
	}
	return 0;
}

/* A plain ISO 9660 name as Linux shows it: no version, no trailing dot, lower case. */
static int plain_name(const unsigned char *p, size_t n, char **buf, size_t *len, size_t *cap)
{
	size_t k = 0;
	while (k < n && p[k] != ';')
		k++;
	if (k > 1 && p[k - 1] == '.')
		k--;
	char tmp[256];
	for (size_t i = 0; i < k && i < sizeof(tmp); i++)
		tmp[i] = (p[i] >= 'A' && p[i] <= 'Z') ? p[i] - 'A' + 'a' : p[i];
	return append(buf, len, cap, tmp, k < sizeof(tmp) ? k : sizeof(tmp));
}

/* --- directory records and their system use area --- */

/* What one directory record (with its SUSP entries) says. */
struct iso_rec {
	unsigned char flags;
	uint32_t lba, len;
	const unsigned char *id;
	size_t idlen;
	struct timespec date;
	/* Rock Ridge */
	int has_px, has_nm, has_sl, relocated, has_cl;
	mode_t mode;
	nlink_t nlink;
	uid_t uid;
	gid_t gid;
	uint32_t cl_lba;
	struct timespec mtime, atime, ctime;
	int has_mtime, has_atime, has_ctime;
	char *name;
	size_t namelen, namecap;
	char *target;
	size_t tlen, tcap;
	int sl_more; /* the last SL component continues */
};

static void rec_free(struct iso_rec *r)
{
	if (r->name)
		kfree(r->name, r->namecap);
	if (r->target)
		kfree(r->target, r->tcap);
	r->name = r->target = NULL;
}

static int sl_component(struct iso_rec *r, unsigned cflags, const unsigned char *p, size_t n)
{
	int err = 0;
	/* A separator before this component, unless the last one continues
	 * into it or this is the first. */
	if (r->tlen > 0 && !r->sl_more && !(r->tlen == 1 && r->target[0] == '/'))
		err = append(&r->target, &r->tlen, &r->tcap, "/", 1);
	if (err)
		return err;
	if (cflags & 0x08) /* ROOT */
		err = r->tlen == 0 ? append(&r->target, &r->tlen, &r->tcap, "/", 1) : 0;
	else if (cflags & 0x02) /* CURRENT */
		err = append(&r->target, &r->tlen, &r->tcap, ".", 1);
	else if (cflags & 0x04) /* PARENT */
		err = append(&r->target, &r->tlen, &r->tcap, "..", 2);
	else
		err = append(&r->target, &r->tlen, &r->tcap, p, n);
	r->sl_more = cflags & 0x01;
	return err;
}

/*
 * Parse SUSP entries in su[0..n); continuation areas (CE) are read and
 * parsed in turn, at most ISO_CE_MAX of them.
 */
static int parse_susp(struct iso_mount *m, struct iso_rec *r, const unsigned char *su, size_t n)
{
	unsigned char *area = NULL;
	size_t area_len = 0;
	int err = 0;

	for (int hops = 0;; hops++) {
		uint32_t ce_lba = 0, ce_off = 0, ce_len = 0;
		size_t i = 0;
		while (i + 4 <= n) {
			const unsigned char *e = su + i;
			unsigned elen = e[2];
			if (elen < 4 || i + elen > n)
				break;
			const unsigned char *d = e + 4;
			size_t dlen = elen - 4;
			if (e[0] == 'S' && e[1] == 'T')
				break;
			if (e[0] == 'C' && e[1] == 'E' && dlen >= 24) {
				ce_lba = le32(d);
				ce_off = le32(d + 8);
				ce_len = le32(d + 16);
			} else if (e[0] == 'P' && e[1] == 'X' && dlen >= 32) {
				r->has_px = 1;
				r->mode = le32(d);
				r->nlink = le32(d + 8);
				r->uid = le32(d + 16);
				r->gid = le32(d + 24);
			} else if (e[0] == 'N' && e[1] == 'M' && dlen >= 1) {
				if (!(d[0] & 0x06)) { /* not CURRENT/PARENT */
					if ((err = append(&r->name, &r->namelen, &r->namecap, d + 1,
					         dlen - 1)))
						goto out;
					r->has_nm = 1;
				}
			} else if (e[0] == 'S' && e[1] == 'L' && dlen >= 1) {
				r->has_sl = 1;
				size_t j = 1;
				while (j + 2 <= dlen) {
					unsigned cf = d[j], cl = d[j + 1];
					if (j + 2 + cl > dlen)
						break;
					if ((err = sl_component(r, cf, d + j + 2, cl)))
						goto out;
					j += 2 + cl;
				}
			} else if (e[0] == 'T' && e[1] == 'F' && dlen >= 1) {
				unsigned tf = d[0];
				size_t sz = (tf & 0x80) ? 17 : 7, j = 1;
				for (unsigned bit = 1; bit < 0x80; bit <<= 1) {
					if (!(tf & bit))
						continue;
					if (j + sz > dlen)
						break;
					struct timespec t =
					    sz == 17 ? iso_date17(d + j) : iso_date7(d + j);
					if (bit == 0x02) {
						r->mtime = t;
						r->has_mtime = 1;
					} else if (bit == 0x04) {
						r->atime = t;
						r->has_atime = 1;
					} else if (bit == 0x08) {
						r->ctime = t;
						r->has_ctime = 1;
					}
					j += sz;
				}
			} else if (e[0] == 'C' && e[1] == 'L' && dlen >= 8) {
				r->has_cl = 1;
				r->cl_lba = le32(d);
			} else if (e[0] == 'R' && e[1] == 'E') {
				r->relocated = 1;
			}
			i += elen;
		}
		if (ce_len == 0 || hops >= ISO_CE_MAX)
			break;
		if (ce_len > ISO_SECTOR * 4 || ce_off >= ISO_SECTOR) {
			err = -EIO;
			goto out;
		}
		if (area)
			kfree(area, area_len);
		area_len = ce_len;
		if ((area = kmalloc(area_len)) == NULL) {
			err = -ENOMEM;
			goto out;
		}
		if ((err = iso_read(m, (uint64_t)ce_lba * ISO_SECTOR + ce_off, area, ce_len)))
			goto out;
		su = area;
		n = ce_len;
	}
out:
	if (area)
		kfree(area, area_len);
	return err;
}

/* Decode the directory record at p (length p[0], inside its sector). */
static int parse_record(struct iso_mount *m, const unsigned char *p, struct iso_rec *r)
{
	memset(r, 0, sizeof(*r));
	unsigned reclen = p[0];
	if (reclen < 34 || p[32] + 33u > reclen)
		return -EIO;
	r->flags = p[25];
	r->lba = le32(p + 2);
	r->len = le32(p + 10);
	r->id = p + 33;
	r->idlen = p[32];
	r->date = iso_date7(p + 18);
	if (m->rr) {
		size_t su = 33 + r->idlen + !(r->idlen & 1) + m->susp_skip;
		if (su < reclen) {
			int err = parse_susp(m, r, p + su, reclen - su);
			if (err) {
				rec_free(r);
				return err;
			}
		}
	}
	return 0;
}

/* --- directories --- */

static void entry_free(struct iso_entry *e)
{
	if (e->name)
		kfree(e->name, e->namelen + 1);
	if (e->target)
		kfree(e->target, strlen(e->target) + 1);
	if (e->ext)
		kfree(e->ext, e->next * sizeof(*e->ext));
}

static uint32_t name_hash(const char *s, size_t len)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (unsigned char)s[i]) * 16777619u;
	return h;
}

/* Index d's names (lookups in big directories); without memory for it,
 * lookups scan the table. */
static void dir_index(struct iso_dir *d)
{
	unsigned nb = 16;
	while (nb < d->n)
		nb *= 2;
	d->buckets = kzalloc(nb * sizeof(unsigned));
	d->chain = kzalloc((d->n + 1) * sizeof(unsigned));
	if (d->buckets == NULL || d->chain == NULL) {
		if (d->buckets)
			kfree(d->buckets, nb * sizeof(unsigned));
		if (d->chain)
			kfree(d->chain, (d->n + 1) * sizeof(unsigned));
		d->buckets = d->chain = NULL;
		return;
	}
	d->nbuckets = nb;
	for (unsigned i = 0; i < d->n; i++) {
		unsigned b = name_hash(d->ents[i].name, d->ents[i].namelen) & (nb - 1);
		d->chain[i + 1] = d->buckets[b];
		d->buckets[b] = i + 1;
	}
}

static void dir_free(struct iso_dir *d)
{
	if (d->nbuckets) {
		kfree(d->buckets, d->nbuckets * sizeof(unsigned));
		kfree(d->chain, (d->n + 1) * sizeof(unsigned));
		d->buckets = d->chain = NULL;
		d->nbuckets = 0;
	}
	for (unsigned i = 0; i < d->n; i++)
		entry_free(&d->ents[i]);
	if (d->ents)
		kfree(d->ents, d->cap * sizeof(*d->ents));
	d->ents = NULL;
	d->n = d->cap = 0;
}

static char *kstrndup(const char *s, size_t n)
{
	char *c = kmalloc(n + 1);
	if (c) {
		memcpy(c, s, n);
		c[n] = '\0';
	}
	return c;
}

/* The size of the directory at lba, from its "." record. */
static int dot_size(struct iso_mount *m, uint32_t lba, uint32_t *len)
{
	const unsigned char *s;
	int err = iso_sector(m, lba, &s);
	if (err)
		return err;
	if (s[0] < 34)
		return -EIO;
	*len = le32(s + 10);
	return 0;
}

/* Attributes of an entry from its record(s). */
static void entry_attrs(
    struct iso_mount *m, struct iso_entry *e, const struct iso_rec *r, int isdir)
{
	e->mtime = e->atime = e->ctime = r->date;
	if (m->rr && r->has_px) {
		e->mode = r->mode;
		e->nlink = r->nlink ? r->nlink : 1;
		e->uid = r->uid;
		e->gid = r->gid;
		/* The type from the record where PX disagrees with it. */
		if (isdir)
			e->mode = (e->mode & 07777) | S_IFDIR;
		else if (!S_ISLNK(e->mode))
			e->mode = (e->mode & 07777) | S_IFREG;
	} else {
		e->mode = isdir ? (S_IFDIR | 0555) : (S_IFREG | 0444);
		e->nlink = 1;
	}
	if (r->has_mtime)
		e->mtime = r->mtime;
	if (r->has_atime)
		e->atime = r->atime;
	if (r->has_ctime)
		e->ctime = r->ctime;
}

/*
 * Read directory dir's extent into its entry table.  Multi-extent files
 * (flag 0x80 on every record but the last) become one entry.
 */
static int dir_load(struct vnode *dir)
{
	struct iso_node *n = dir->fsdata;
	struct iso_mount *m = n->m;
	struct iso_dir *d = &n->dir;
	unsigned char *copy = NULL;
	uint32_t lba = n->ext[0].lba, size = n->ext[0].len;
	uint32_t nsect = (size + ISO_SECTOR - 1) / ISO_SECTOR;
	struct iso_entry *cur = NULL; /* a multi-extent file being gathered */
	int err = 0;

	if (d->loaded)
		return 0;
	/* parse_susp may read continuation areas through the sector buffer. */
	if ((copy = kmalloc(ISO_SECTOR)) == NULL)
		return -ENOMEM;
	for (uint32_t s = 0; s < nsect; s++) {
		const unsigned char *sec;
		if ((err = iso_sector(m, lba + s, &sec)))
			goto fail;
		memcpy(copy, sec, ISO_SECTOR);
		unsigned limit =
		    (s + 1 == nsect && size % ISO_SECTOR) ? size % ISO_SECTOR : ISO_SECTOR;
		for (unsigned off = 0; off < limit;) {
			const unsigned char *p = copy + off;
			if (p[0] == 0)
				break; /* the rest of the sector is padding */
			if (off + p[0] > ISO_SECTOR) {
				err = -EIO;
				goto fail;
			}
			uint64_t recpos = (uint64_t)(lba + s) * ISO_SECTOR + off;
			off += p[0];
			struct iso_rec r;
			if ((err = parse_record(m, p, &r)))
				goto fail;
			if (r.idlen == 1 && (r.id[0] == 0 || r.id[0] == 1)) {
				rec_free(&r); /* "." and ".." */
				continue;
			}
			if (r.relocated || (r.flags & 0x01)) {
				rec_free(&r); /* shown at its CL record; hidden files */
				continue;
			}
			if (cur) {
				/* Another extent of the file being gathered. */
				struct iso_extent *ne = kmalloc((cur->next + 1) * sizeof(*ne));
				if (ne == NULL) {
					rec_free(&r);
					err = -ENOMEM;
					goto fail;
				}
				memcpy(ne, cur->ext, cur->next * sizeof(*ne));
				kfree(cur->ext, cur->next * sizeof(*ne));
				ne[cur->next].lba = r.lba;
				ne[cur->next].len = r.len;
				cur->ext = ne;
				cur->next++;
				cur->size += r.len;
				if (!(r.flags & 0x80))
					cur = NULL;
				rec_free(&r);
				continue;
			}
			if (d->n == d->cap) {
				unsigned ncap = d->cap ? d->cap * 2 : 16;
				struct iso_entry *ne = kzalloc(ncap * sizeof(*ne));
				if (ne == NULL) {
					rec_free(&r);
					err = -ENOMEM;
					goto fail;
				}
				if (d->ents) {
					memcpy(ne, d->ents, d->n * sizeof(*ne));
					kfree(d->ents, d->cap * sizeof(*ne));
				}
				d->ents = ne;
				d->cap = ncap;
			}
			struct iso_entry *e = &d->ents[d->n];
			memset(e, 0, sizeof(*e));
			int isdir = (r.flags & 0x02) || r.has_cl;
			/* The name: Rock Ridge, Joliet, plain. */
			char *nm = NULL;
			size_t nlen = 0, ncap = 0;
			if (m->rr && r.has_nm) {
				nm = r.name;
				nlen = r.namelen;
				ncap = r.namecap;
				r.name = NULL;
			} else if (m->joliet) {
				err = joliet_name(r.id, r.idlen, &nm, &nlen, &ncap);
			} else {
				err = plain_name(r.id, r.idlen, &nm, &nlen, &ncap);
			}
			if (err == 0 && (nlen == 0 || nlen > NAME_MAX_LEN || memchr(nm, '/', nlen)))
				err = -EIO;
			if (err == 0 && (e->name = kstrndup(nm, nlen)) == NULL)
				err = -ENOMEM;
			if (nm)
				kfree(nm, ncap);
			if (err) {
				rec_free(&r);
				goto fail;
			}
			e->namelen = nlen;
			if (m->rr && dir == m->root && isdir && nlen == 8 &&
			    memcmp(e->name, "rr_moved", 8) == 0) {
				/* Where mastering moved deep directories (shown at
				 * their CL records): not part of the tree. */
				kfree(e->name, nlen + 1);
				e->name = NULL;
				rec_free(&r);
				continue;
			}
			entry_attrs(m, e, &r, isdir);
			e->next = 1;
			if ((e->ext = kmalloc(sizeof(*e->ext))) == NULL) {
				kfree(e->name, nlen + 1);
				rec_free(&r);
				err = -ENOMEM;
				goto fail;
			}
			d->n++;
			if (isdir) {
				e->ext[0].lba = r.has_cl ? r.cl_lba : r.lba;
				e->ext[0].len = r.len;
				if (r.has_cl && (err = dot_size(m, r.cl_lba, &e->ext[0].len))) {
					rec_free(&r);
					goto fail;
				}
				e->size = e->ext[0].len;
				e->ino = (ino_t)e->ext[0].lba * ISO_SECTOR;
			} else {
				e->ext[0].lba = r.lba;
				e->ext[0].len = r.len;
				e->size = r.len;
				e->ino = recpos;
				if (S_ISLNK(e->mode)) {
					if (r.has_sl && r.target) {
						e->target = kstrndup(r.target, r.tlen);
						e->size = r.tlen;
					} else {
						e->target = kstrndup("", 0);
						e->size = 0;
					}
					if (e->target == NULL) {
						rec_free(&r);
						err = -ENOMEM;
						goto fail;
					}
				} else if (r.flags & 0x80) {
					cur = e;
				}
			}
			rec_free(&r);
		}
	}
	d->loaded = 1;
	dir_index(d);
	kfree(copy, ISO_SECTOR);
	return 0;
fail:
	dir_free(d);
	if (copy)
		kfree(copy, ISO_SECTOR);
	if (err == -EIO)
		kprintf("rumprun: iso9660: malformed directory at block %u\n", (unsigned)lba);
	return err;
}

/* --- vnodes --- */

static struct vnode *hash_find(struct iso_mount *m, ino_t ino)
{
	for (struct vnode *v = m->hash[ino % ISO_HASH]; v;
	     v = ((struct iso_node *)v->fsdata)->hnext)
		if (v->ino == ino)
			return v;
	return NULL;
}

static struct vnode *node_make(struct iso_mount *m, const struct iso_entry *e, struct vnode *parent)
{
	struct vnode *v = hash_find(m, e->ino);
	if (v)
		return v;
	v = kzalloc(sizeof(*v));
	struct iso_node *n = kzalloc(sizeof(*n));
	struct iso_extent *ext = kmalloc(e->next * sizeof(*ext));
	char *target = e->target ? kstrndup(e->target, strlen(e->target)) : NULL;
	if (v == NULL || n == NULL || ext == NULL || (e->target && target == NULL)) {
		if (v)
			kfree(v, sizeof(*v));
		if (n)
			kfree(n, sizeof(*n));
		if (ext)
			kfree(ext, e->next * sizeof(*ext));
		if (target)
			kfree(target, strlen(target) + 1);
		return NULL;
	}
	memcpy(ext, e->ext, e->next * sizeof(*ext));
	n->m = m;
	n->ext = ext;
	n->next = e->next;
	v->ops = &iso_ops;
	v->mode = e->mode;
	v->uid = e->uid;
	v->gid = e->gid;
	v->nlink = e->nlink;
	v->ino = e->ino;
	v->size = e->size;
	v->atime = e->atime;
	v->mtime = e->mtime;
	v->ctime = e->ctime;
	v->btime = e->ctime;
	v->parent = S_ISDIR(e->mode) ? parent : NULL;
	v->target = target;
	v->fsdata = n;
	v->mount = m->mp;
	n->hnext = m->hash[v->ino % ISO_HASH];
	m->hash[v->ino % ISO_HASH] = v;
	m->nodes++;
	return v;
}

static struct vnode *iso_lookup(struct vnode *dir, const char *name, size_t len)
{
	struct iso_node *n = dir->fsdata;
	struct iso_dir *d = &n->dir;
	if (dir_load(dir))
		return NULL;
	if (d->nbuckets) {
		unsigned b = name_hash(name, len) & (d->nbuckets - 1);
		for (unsigned i = d->buckets[b]; i; i = d->chain[i]) {
			struct iso_entry *e = &d->ents[i - 1];
			if (e->namelen == len && memcmp(e->name, name, len) == 0)
				return node_make(n->m, e, dir);
		}
		return NULL;
	}
	for (unsigned i = 0; i < d->n; i++) {
		struct iso_entry *e = &d->ents[i];
		if (e->namelen == len && memcmp(e->name, name, len) == 0)
			return node_make(n->m, e, dir);
	}
	return NULL;
}

static unsigned char dtype(mode_t mode)
{
	return S_ISDIR(mode) ? DT_DIR : S_ISLNK(mode) ? DT_LNK : DT_REG;
}

static int iso_readdir(struct vnode *dir, off_t *cookie,
    int (*emit)(void *, ino_t, off_t, unsigned char, const char *, size_t), void *arg)
{
	struct iso_node *n = dir->fsdata;
	int err = dir_load(dir);
	if (err)
		return err;
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
	for (off_t i = *cookie - 2; i < n->dir.n; i++) {
		struct iso_entry *e = &n->dir.ents[i];
		if (emit(arg, e->ino, i + 3, dtype(e->mode), e->name, e->namelen))
			return 0;
		*cookie = i + 3;
	}
	return 0;
}

static ssize_t iso_vread(struct vnode *v, void *buf, size_t len, off_t off)
{
	struct iso_node *n = v->fsdata;
	if (off >= v->size)
		return 0;
	if ((off_t)len > v->size - off)
		len = v->size - off;
	size_t done = 0;
	off_t base = 0;
	for (unsigned i = 0; i < n->next && done < len; i++) {
		off_t elen = n->ext[i].len;
		off_t pos = off + done;
		if (pos >= base + elen) {
			base += elen;
			continue;
		}
		size_t chunk = len - done;
		if ((off_t)chunk > base + elen - pos)
			chunk = base + elen - pos;
		int err = iso_read(n->m, (uint64_t)n->ext[i].lba * ISO_SECTOR + (pos - base),
		    (char *)buf + done, chunk);
		if (err)
			return done ? (ssize_t)done : err;
		done += chunk;
		base += elen;
	}
	return done;
}

/*
 * Shared mappings (read-only: nothing can be opened for writing here): a
 * page of the file's bytes, read once and shared by every mapping of that
 * offset while any pins it.
 */
static int iso_getpage(struct vnode *v, off_t off, void **page)
{
	struct iso_node *n = v->fsdata;
	struct iso_page *p;
	for (p = n->pages; p; p = p->next)
		if (p->off == off)
			break;
	if (p == NULL) {
		if ((p = kzalloc(sizeof(*p))) == NULL)
			return -ENOMEM;
		if ((p->page = kpages_alloc(PAGE_SIZE)) == NULL) {
			kfree(p, sizeof(*p));
			return -ENOMEM;
		}
		memset(p->page, 0, PAGE_SIZE);
		size_t len = v->size - off < (off_t)PAGE_SIZE ? (size_t)(v->size - off) : PAGE_SIZE;
		ssize_t got = iso_vread(v, p->page, len, off);
		if (got < 0 || (size_t)got != len) {
			kpages_free(p->page, PAGE_SIZE);
			kfree(p, sizeof(*p));
			return got < 0 ? (int)got : -EIO;
		}
		p->off = off;
		p->next = n->pages;
		n->pages = p;
	}
	p->pins++;
	*page = p->page;
	return 0;
}

static void iso_putpage(struct vnode *v, off_t off, int flags)
{
	struct iso_node *n = v->fsdata;
	for (struct iso_page **lp = &n->pages; *lp; lp = &(*lp)->next) {
		struct iso_page *p = *lp;
		if (p->off != off)
			continue;
		if (!(flags & FILE_PAGE_KEEP) && --p->pins == 0) {
			*lp = p->next;
			kpages_free(p->page, PAGE_SIZE);
			kfree(p, sizeof(*p));
		}
		return;
	}
}

static int iso_create(struct vnode *dir, const char *name, size_t len, mode_t mode,
    const char *target, struct vnode **vp)
{
	return -EROFS;
}

static int iso_link(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	return -EROFS;
}

static int iso_unlink(struct vnode *dir, const char *name, size_t len, struct vnode *v)
{
	return -EROFS;
}

static int iso_rename(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv)
{
	return -EROFS;
}

static int iso_isempty(struct vnode *dir)
{
	struct iso_node *n = dir->fsdata;
	return dir_load(dir) == 0 && n->dir.n == 0;
}

static ssize_t iso_write(struct vnode *v, const void *buf, size_t len, off_t off) { return -EROFS; }

static int iso_truncate(struct vnode *v, off_t len) { return -EROFS; }

static const struct vnode_ops iso_ops = {
    .lookup = iso_lookup,
    .create = iso_create,
    .link = iso_link,
    .unlink = iso_unlink,
    .rename = iso_rename,
    .isempty = iso_isempty,
    .readdir = iso_readdir,
    .read = iso_vread,
    .write = iso_write,
    .truncate = iso_truncate,
    .getpage = iso_getpage,
    .putpage = iso_putpage,
};

/* --- mounting --- */

static int iso9660_probe_source(const struct iso_source *src)
{
	unsigned char id[6];
	if (src->size < (uint64_t)(ISO_VD_START + 1) * ISO_SECTOR)
		return 0;
	if (src->read(src->ctx, (uint64_t)ISO_VD_START * ISO_SECTOR, id, sizeof(id)))
		return 0;
	return memcmp(id + 1, "CD001", 5) == 0;
}

static void node_free(struct vnode *v)
{
	struct iso_node *n = v->fsdata;
	dir_free(&n->dir);
	while (n->pages) {
		struct iso_page *p = n->pages;
		n->pages = p->next;
		kpages_free(p->page, PAGE_SIZE);
		kfree(p, sizeof(*p));
	}
	kfree(n->ext, n->next * sizeof(*n->ext));
	kfree(n, sizeof(*n));
	if (v->target)
		kfree(v->target, strlen(v->target) + 1);
	kfree(v, sizeof(*v));
}

static struct vnode *root_make(struct iso_mount *m, const unsigned char *rootrec, struct timespec t)
{
	struct iso_entry e;
	memset(&e, 0, sizeof(e));
	struct iso_extent ext = {le32(rootrec + 2), le32(rootrec + 10)};
	e.ino = (ino_t)ext.lba * ISO_SECTOR;
	e.mode = S_IFDIR | 0555;
	e.nlink = 2;
	e.size = ext.len;
	e.atime = e.mtime = e.ctime = t;
	e.ext = &ext;
	e.next = 1;
	return node_make(m, &e, NULL);
}

/*
 * Rock Ridge: the root's "." record starts its system use area with SP
 * (check bytes BE EF); its PX, TF give the root's own attributes.
 */
static int root_rock_ridge(struct iso_mount *m, struct vnode *root)
{
	struct iso_node *n = root->fsdata;
	const unsigned char *s;
	int err = iso_sector(m, n->ext[0].lba, &s);
	if (err)
		return err;
	unsigned reclen = s[0];
	if (reclen < 34)
		return -EINVAL; /* the root directory is not there */
	size_t su = 33 + s[32] + !(s[32] & 1);
	if (su + 7 > reclen || s[su] != 'S' || s[su + 1] != 'P' || s[su + 4] != 0xBE ||
	    s[su + 5] != 0xEF)
		return 0;
	m->rr = 1;
	m->susp_skip = s[su + 6];
	unsigned char copy[256];
	memcpy(copy, s, reclen);
	struct iso_rec r;
	if ((err = parse_record(m, copy, &r)))
		return err;
	if (r.has_px)
		root->mode = S_IFDIR | (r.mode & 07777), root->nlink = r.nlink ? r.nlink : 2,
		root->uid = r.uid, root->gid = r.gid;
	if (r.has_mtime)
		root->mtime = r.mtime;
	if (r.has_atime)
		root->atime = r.atime;
	if (r.has_ctime)
		root->ctime = r.ctime;
	rec_free(&r);
	return 0;
}

static int iso9660_mount_source(
    const struct iso_source *src, struct mount *mnt, struct iso_mount **mp, struct vnode **rootp)
{
	struct iso_mount *m = kzalloc(sizeof(*m));
	unsigned char *vd = kmalloc(ISO_SECTOR);
	unsigned char pvd_root[34], joliet_root[34];
	int have_pvd = 0, have_joliet = 0, err = 0;

	if (m == NULL || vd == NULL || (m->buf = kmalloc(ISO_SECTOR)) == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	m->src = *src;
	m->mp = mnt;
	m->buf_lba = UINT64_MAX;
	for (unsigned i = 0; i < ISO_VD_MAX; i++) {
		uint64_t off = (uint64_t)(ISO_VD_START + i) * ISO_SECTOR;
		if (off + ISO_SECTOR > src->size)
			break;
		if ((err = iso_read(m, off, vd, ISO_SECTOR)))
			goto fail;
		if (memcmp(vd + 1, "CD001", 5) != 0 || vd[0] == 255)
			break;
		if (vd[0] == 1 && !have_pvd) {
			/* 2048-byte logical blocks (every CD and image), a root
			 * directory record inside the volume. */
			if ((vd[128] | vd[129] << 8) != ISO_SECTOR || vd[156] < 34 ||
			    (uint64_t)le32(vd + 156 + 2) * ISO_SECTOR >= src->size) {
				kprintf(
				    "rumprun: iso9660: the primary volume descriptor is damaged\n");
				err = -EINVAL;
				goto fail;
			}
			memcpy(pvd_root, vd + 156, 34);
			m->blocks = le32(vd + 80);
			m->vol_time = iso_date17(vd + 813);
			have_pvd = 1;
		} else if (vd[0] == 2 && !have_joliet && vd[88] == '%' && vd[89] == '/' &&
		    (vd[90] == '@' || vd[90] == 'C' || vd[90] == 'E')) {
			memcpy(joliet_root, vd + 156, 34);
			have_joliet = 1;
		}
	}
	if (!have_pvd) {
		err = -EINVAL;
		goto fail;
	}
	struct vnode *root = root_make(m, pvd_root, m->vol_time);
	if (root == NULL) {
		err = -ENOMEM;
		goto fail;
	}
	root->parent = root;
	if ((err = root_rock_ridge(m, root)))
		goto fail_root;
	if (!m->rr && have_joliet) {
		/* Joliet's tree instead: a new root over its extent. */
		m->hash[root->ino % ISO_HASH] = NULL;
		node_free(root);
		m->nodes = 0;
		m->joliet = 1;
		if ((root = root_make(m, joliet_root, m->vol_time)) == NULL) {
			err = -ENOMEM;
			goto fail;
		}
		root->parent = root;
	}
	m->root = root;
	kfree(vd, ISO_SECTOR);
	*mp = m;
	*rootp = root;
	return 0;
fail_root:
	m->hash[root->ino % ISO_HASH] = NULL;
	node_free(root);
fail:
	if (vd)
		kfree(vd, ISO_SECTOR);
	if (m) {
		if (m->buf)
			kfree(m->buf, ISO_SECTOR);
		kfree(m, sizeof(*m));
	}
	return err;
}

/* --- the block device and the mount table --- */

#define ISO_WINDOW (128 * 1024)

/*
 * The volume's bytes from its block device.  Whole sectors are read into
 * a window of ISO_WINDOW bytes and copied out from there: small reads
 * that follow each other (a program reading 4 KiB at a time, directory
 * sectors) are served from the window, one device request per window;
 * and the caller's buffer, which may be a program's memory not yet
 * committed, is only ever written by the calling thread.
 */
struct iso_dev {
	struct blkdev *bd;
	char *win;
	uint64_t win_off; /* device offset of win[0] */
	size_t win_len; /* valid bytes, 0: none */
};

static int bd_read(void *ctx, uint64_t off, void *buf, size_t len)
{
	struct iso_dev *d = ctx;
	struct blkdev *bd = d->bd;
	uint32_t ss = bd->sector_size;
	if (off > bd->size || len > bd->size - off)
		return -EIO;
	while (len > 0) {
		if (!(d->win_len && off >= d->win_off && off < d->win_off + d->win_len)) {
			uint64_t start = off - off % ss;
			size_t span = ISO_WINDOW;
			if (start + span > bd->size)
				span = bd->size - start;
			d->win_len = 0;
			int err = blkdev_io(bd, BLKDEV_READ, d->win, span, start);
			if (err)
				return err;
			d->win_off = start;
			d->win_len = span;
		}
		size_t skip = off - d->win_off;
		size_t n = d->win_len - skip < len ? d->win_len - skip : len;
		memcpy(buf, d->win + skip, n);
		buf = (char *)buf + n;
		off += n;
		len -= n;
	}
	return 0;
}

static int iso_dev_init(struct iso_dev *d, struct blkdev *bd)
{
	d->bd = bd;
	d->win_len = 0;
	d->win = kmalloc(ISO_WINDOW);
	return d->win ? 0 : -ENOMEM;
}

static void iso_dev_fini(struct iso_dev *d) { kfree(d->win, ISO_WINDOW); }

static int cd9660_probe(struct blkdev *bd)
{
	struct iso_dev d;
	if (iso_dev_init(&d, bd) != 0)
		return 0;
	struct iso_source src = {bd_read, &d, bd->size};
	int yes = iso9660_probe_source(&src);
	iso_dev_fini(&d);
	return yes;
}

static int cd9660_statfs(struct mount *mp, struct statfs *sf)
{
	struct iso_mount *m = mp->data;
	sf->f_type = 0x9660; /* ISOFS_SUPER_MAGIC */
	sf->f_bsize = ISO_SECTOR;
	sf->f_blocks = m->blocks;
	sf->f_bfree = sf->f_bavail = 0;
	sf->f_files = m->nodes;
	sf->f_ffree = 0;
	sf->f_namelen = NAME_MAX_LEN;
	return 0;
}

static void cd9660_unmount(struct mount *mp)
{
	struct iso_mount *m = mp->data;
	for (unsigned i = 0; i < ISO_HASH; i++) {
		struct vnode *v = m->hash[i];
		while (v) {
			struct vnode *next = ((struct iso_node *)v->fsdata)->hnext;
			if (v != m->root)
				node_free(v);
			v = next;
		}
	}
	kfree(m->buf, ISO_SECTOR);
	iso_dev_fini(m->src.ctx);
	kfree(m->src.ctx, sizeof(struct iso_dev));
}

static const struct mount_ops cd9660_mount_ops = {
    .statfs = cd9660_statfs,
    .unmount = cd9660_unmount,
};

static int cd9660_mount(struct mount *mp, struct vnode **rootp)
{
	struct iso_dev *d = kmalloc(sizeof(*d));
	if (d == NULL)
		return -ENOMEM;
	int err = iso_dev_init(d, mp->bd);
	if (err) {
		kfree(d, sizeof(*d));
		return err;
	}
	struct iso_source src = {bd_read, d, mp->bd->size};
	struct iso_mount *m;
	struct vnode *root;
	if ((err = iso9660_mount_source(&src, mp, &m, &root)) != 0) {
		iso_dev_fini(d);
		kfree(d, sizeof(*d));
		return err;
	}
	mp->flags |= MNT_RDONLY; /* ISO 9660 is read-only by nature */
	mp->ops = &cd9660_mount_ops;
	mp->data = m;
	vnode_hold(root);
	*rootp = root;
	return 0;
}

static const struct vfs_fstype cd9660_type = {
    .name = "cd9660",
    .needs_blkdev = 1,
    .probe = cd9660_probe,
    .mount = cd9660_mount,
};
VFS_FSTYPE_REGISTER(cd9660_type);
