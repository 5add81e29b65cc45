/*
 * The image's root file system: a cpio archive in the "newc" format
 * (magic 070701 or 070702), linked into the image between the symbols
 * _rumprun_rootfs_start and _rumprun_rootfs_end by rumprun-bake --rootfs
 * (rumprun/toolchain/rootfs.py).  Unpacked into the tmpfs root at boot, after /etc,
 * so the user's files win.  See README.md in this directory.
 *
 * Directories, regular files and symbolic links are unpacked with their
 * permissions, owners and modification times; other types are skipped.
 * A malformed archive is reported on the console and unpacking stops.
 */
#include "vfs_impl.h"

extern const char _rumprun_rootfs_start[] __attribute__((weak));
extern const char _rumprun_rootfs_end[] __attribute__((weak));

#define CPIO_HDR_LEN 110

/* Parse 8 hex digits; -1 when malformed. */
static long long hex8(const char *p)
{
	long long v = 0;
	for (int i = 0; i < 8; i++) {
		char c = p[i];
		int d;
		if (c >= '0' && c <= '9')
			d = c - '0';
		else if (c >= 'a' && c <= 'f')
			d = c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			d = c - 'A' + 10;
		else
			return -1;
		v = v * 16 + d;
	}
	return v;
}

static size_t pad4(size_t x) { return (x + 3) & ~(size_t)3; }

/*
 * Unpack the archive buf[0..len) into the root.  Returns the number of
 * entries unpacked, or -errno (EINVAL for a malformed archive).
 */
int rootfs_unpack_buffer(const char *buf, size_t len)
{
	size_t off = 0;
	int count = 0, err = 0;
	char *path = kmalloc(PATH_MAX_LEN);
	if (path == NULL)
		return -ENOMEM;
	for (;;) {
		if (off > len || len - off < CPIO_HDR_LEN || memcmp(buf + off, "07070", 5) != 0 ||
		    (buf[off + 5] != '1' && buf[off + 5] != '2'))
			goto bad;
		const char *h = buf + off + 6;
		long long f[13];
		for (int i = 0; i < 13; i++)
			if ((f[i] = hex8(h + 8 * i)) < 0)
				goto bad;
		long long mode = f[1], uid = f[2], gid = f[3], mtime = f[5];
		long long fsize = f[6], namesize = f[11];
		if (namesize < 1 || (size_t)namesize > len - off - CPIO_HDR_LEN)
			goto bad;
		const char *name = buf + off + CPIO_HDR_LEN;
		if (name[namesize - 1] != '\0')
			goto bad;
		size_t doff = pad4(off + CPIO_HDR_LEN + namesize);
		if (doff > len || (size_t)fsize > len - doff)
			goto bad;
		const char *data = buf + doff;
		off = pad4(doff + fsize);
		if (strcmp(name, "TRAILER!!!") == 0)
			break;

		/* "./a/b", "/a/b", "a/b" and "." all name paths from the root. */
		while (name[0] == '.' && name[1] == '/')
			name += 2;
		while (name[0] == '/')
			name++;
		size_t nlen = strlen(name);
		if (nlen + 2 > PATH_MAX_LEN)
			goto bad;
		path[0] = '/';
		memcpy(path + 1, name, nlen + 1);
		if (strcmp(name, ".") == 0 || nlen == 0)
			path[1] = '\0';

		mode_t type = mode & S_IFMT;
		if (type != S_IFDIR && type != S_IFREG && type != S_IFLNK)
			continue;
		if (path[1] == '\0')
			continue; /* the root keeps its own attributes */
		struct vnode *v;
		char *target = NULL;
		if (type == S_IFLNK) {
			target = kmalloc(fsize + 1);
			if (target == NULL) {
				err = -ENOMEM;
				break;
			}
			memcpy(target, data, fsize);
			target[fsize] = '\0';
		}
		vfs_enter();
		err = vfs_make_locked(path, mode & (S_IFMT | 07777), target, &v);
		if (err == 0 && type == S_IFREG && fsize > 0) {
			ssize_t w = v->ops->write(v, data, fsize, 0);
			if (w != fsize)
				err = w < 0 ? (int)w : -ENOSPC;
		}
		if (err == 0) {
			v->uid = uid;
			v->gid = gid;
			v->mtime.tv_sec = mtime;
			v->mtime.tv_nsec = 0;
		}
		vfs_exit();
		if (target)
			kfree(target, fsize + 1);
		if (err) {
			kprintf("rumprun: rootfs: cannot unpack %s (error %d)\n", path, -err);
			break;
		}
		count++;
		continue;
	bad:
		err = -EINVAL;
		kprintf(
		    "rumprun: rootfs: malformed cpio archive at byte %lu\n", (unsigned long)off);
		break;
	}
	kfree(path, PATH_MAX_LEN);
	return err ? err : count;
}

void rootfs_unpack(void)
{
	const char *s = _rumprun_rootfs_start, *e = _rumprun_rootfs_end;
	if (s == NULL || e == NULL || e <= s)
		return;
	rootfs_unpack_buffer(s, e - s);
}
