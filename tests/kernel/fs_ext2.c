/*
 * ext2 read-write on a file-backed disk, in a process: for 1, 2 and 4 KiB
 * blocks, a volume made by mke2fs -d (from a small host tree) is mounted,
 * changed in every way the file system supports (files through direct,
 * indirect, double and triple indirect blocks, holes, truncation, many
 * directory entries, rename in and across directories and over files,
 * hard and symbolic links fast and slow, unlink while open, times and
 * modes), unmounted, checked with e2fsck -fn, mounted again and read back.
 * Then the refusals: ext4 (extents) is refused, ext3 (a journal) mounts
 * read-only, a read-only mount gives EROFS.  Needs e2fsprogs on the host.
 */
#include "kblk.h"
#include <kernel/fs.h>
#include <sys/statfs.h>
#include <dirent.h>
#include <stdarg.h>
#include <sys/wait.h>

static char tmpdir[] = "/tmp/fs-ext2-XXXXXX";

static long kmount(const char *path, struct blkdev *bd, int flags)
{
	rumprun_posix_enter();
	long r = vfs_mount(path, "auto", bd, NULL, flags, 1);
	rumprun_posix_leave();
	return r;
}

static void kunmount_all(void)
{
	rumprun_posix_enter();
	vfs_unmount_all();
	rumprun_posix_leave();
}

static int sh(const char *fmt, ...)
{
	char cmd[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int st = system(cmd);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

static unsigned char pattern(long seed, long i)
{
	return (unsigned char)((i * 31 + seed * 7 + (i >> 9)) & 0xff);
}

/* Write len bytes of pattern seed at off, in chunks of chunk bytes. */
static long put_pattern(const char *path, long seed, long off, long len, long chunk)
{
	long fd = K(SYS_open, path, O_CREAT | O_WRONLY, 0644);
	if (fd < 0)
		return fd;
	char *buf = malloc(chunk);
	long done = 0;
	while (done < len) {
		long n = len - done < chunk ? len - done : chunk;
		for (long i = 0; i < n; i++)
			buf[i] = (char)pattern(seed, off + done + i);
		long w = K(SYS_pwrite64, fd, buf, n, off + done);
		if (w != n) {
			done = w < 0 ? w : -EIO;
			break;
		}
		done += n;
	}
	free(buf);
	K(SYS_close, fd);
	return done;
}

/* Does [off, off+len) of path hold pattern seed (or zeros when seed < 0)? */
static int check_pattern(const char *path, long seed, long off, long len)
{
	long fd = K(SYS_open, path, O_RDONLY);
	if (fd < 0)
		return (int)fd;
	char *buf = malloc(65536);
	long done = 0;
	int ok = 1;
	while (done < len && ok) {
		long n = len - done < 65536 ? len - done : 65536;
		if (K(SYS_pread64, fd, buf, n, off + done) != n) {
			ok = 0;
			break;
		}
		for (long i = 0; i < n; i++)
			if ((unsigned char)buf[i] !=
			    (seed < 0 ? 0 : pattern(seed, off + done + i))) {
				ok = 0;
				break;
			}
		done += n;
	}
	free(buf);
	K(SYS_close, fd);
	return ok;
}

static int count_entries(const char *path)
{
	char buf[2048];
	long fd = K(SYS_open, path, O_RDONLY | O_DIRECTORY), got;
	int n = 0;
	if (fd < 0)
		return (int)fd;
	while ((got = K(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < got; off += ((struct dirent *)(buf + off))->d_reclen)
			n++;
	K(SYS_close, fd);
	return n;
}

static struct kblk *current_disk;

static long disk_flushes(void) { return current_disk->flushes; }

static void workload(const char *m, unsigned bsize)
{
	char p[256], q[256], t[256];
	struct stat st, st2;
	struct statfs sf, sf2;
	long fd;

	/* The tree mke2fs put there. */
	snprintf(p, sizeof(p), "%s/seed/hello.txt", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_size, 6);
	snprintf(p, sizeof(p), "%s/seed/big.bin", m);
	EXPECT(check_pattern(p, 9, 0, 300000), 1);
	EXPECT(K(SYS_statfs, m, &sf), 0);
	EXPECT(sf.f_type, 0xEF53);
	EXPECT(sf.f_bsize, bsize);

	/* Files through every level of the block map. */
	long p_blocks = bsize / 4;
	long direct = 12L * bsize, ind = direct + p_blocks * bsize;
	long dind = ind + p_blocks * p_blocks * bsize;
	snprintf(p, sizeof(p), "%s/d1", m);
	EXPECT(K(SYS_mkdir, p, 0755), 0);
	snprintf(p, sizeof(p), "%s/d1/d2", m);
	EXPECT(K(SYS_mkdir, p, 0750), 0);
	snprintf(p, sizeof(p), "%s/d1/d2/ind.bin", m);
	EXPECT(put_pattern(p, 1, 0, ind + 5000, 7000), ind + 5000);
	EXPECT(check_pattern(p, 1, 0, ind + 5000), 1);
	/* Double and triple indirect, sparsely: a byte far out. */
	snprintf(p, sizeof(p), "%s/d1/sparse", m);
	EXPECT(put_pattern(p, 2, ind + 100, 3000, 3000), 3000);
	EXPECT(put_pattern(p, 3, dind + 12345, 100, 100), 100);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_size, dind + 12345 + 100);
	EXPECT_TRUE(st.st_blocks < 64 * (bsize / 512));
	EXPECT(check_pattern(p, -1, 0, 20000), 1); /* a hole reads zeros */
	EXPECT(check_pattern(p, 2, ind + 100, 3000), 1);
	EXPECT(check_pattern(p, 3, dind + 12345, 100), 1);
	EXPECT(check_pattern(p, -1, dind, 12345), 1);

	/* Truncation: shrink keeps the head, grow reads zeros. */
	snprintf(p, sizeof(p), "%s/d1/trunc", m);
	EXPECT(put_pattern(p, 4, 0, 50000, 4096), 50000);
	EXPECT(K(SYS_truncate, p, 10001), 0);
	EXPECT(K(SYS_truncate, p, 30000), 0);
	EXPECT(check_pattern(p, 4, 0, 10001), 1);
	EXPECT(check_pattern(p, -1, 10001, 19999), 1);

	/* Many entries: several directory blocks, then half removed. */
	snprintf(p, sizeof(p), "%s/many", m);
	EXPECT(K(SYS_mkdir, p, 0755), 0);
	int made = 0, removed = 0;
	for (int i = 0; i < 300; i++) {
		snprintf(q, sizeof(q), "%s/many/entry-with-a-longish-name-%03d", m, i);
		fd = K(SYS_open, q, O_CREAT | O_WRONLY, 0600);
		made += fd >= 0;
		K(SYS_close, fd);
	}
	EXPECT(made, 300);
	for (int i = 0; i < 300; i += 2) {
		snprintf(q, sizeof(q), "%s/many/entry-with-a-longish-name-%03d", m, i);
		removed += K(SYS_unlink, q) == 0;
	}
	EXPECT(removed, 150);
	EXPECT(count_entries(p), 152);
	EXPECT(K(SYS_rmdir, p), -ENOTEMPTY);

	/* Renames: in a directory, across, over a file, a directory across. */
	snprintf(p, sizeof(p), "%s/d1/a", m);
	EXPECT(put_pattern(p, 5, 0, 100, 100), 100);
	snprintf(q, sizeof(q), "%s/d1/b", m);
	EXPECT(K(SYS_rename, p, q), 0);
	snprintf(t, sizeof(t), "%s/d1/d2/c", m);
	EXPECT(put_pattern(t, 6, 0, 200, 200), 200);
	EXPECT(K(SYS_rename, q, t), 0); /* replaces c */
	EXPECT(K(SYS_stat, t, &st), 0);
	EXPECT(st.st_size, 100);
	EXPECT(K(SYS_stat, q, &st), -ENOENT);
	snprintf(p, sizeof(p), "%s/d1/d2", m);
	snprintf(q, sizeof(q), "%s/moved", m);
	EXPECT(K(SYS_rename, p, q), 0);
	snprintf(p, sizeof(p), "%s/moved/..", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(K(SYS_stat, m, &st2), 0);
	EXPECT_TRUE(st.st_ino == st2.st_ino);
	snprintf(p, sizeof(p), "%s/d1", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_nlink, 2);

	/* Links: hard (counts), symbolic fast and slow. */
	snprintf(p, sizeof(p), "%s/moved/c", m);
	snprintf(q, sizeof(q), "%s/d1/hard", m);
	EXPECT(K(SYS_link, p, q), 0);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_nlink, 2);
	snprintf(q, sizeof(q), "%s/fast", m);
	EXPECT(K(SYS_symlink, "moved/c", q), 0);
	EXPECT(K(SYS_readlink, q, t, sizeof(t)), 7);
	EXPECT(K(SYS_stat, q, &st), 0);
	EXPECT(st.st_size, 100);
	char longtarget[200];
	memset(longtarget, 'x', sizeof(longtarget));
	memcpy(longtarget, "moved/", 6);
	longtarget[150] = '\0';
	snprintf(q, sizeof(q), "%s/slow", m);
	EXPECT(K(SYS_symlink, longtarget, q), 0);
	EXPECT(K(SYS_readlink, q, t, sizeof(t)), 150);
	EXPECT(memcmp(t, longtarget, 150), 0);

	/* Unlinked while open: readable until closed, then the space is back. */
	snprintf(p, sizeof(p), "%s/doomed", m);
	EXPECT(put_pattern(p, 7, 0, 200000, 65536), 200000);
	EXPECT(K(SYS_statfs, m, &sf), 0);
	fd = K(SYS_open, p, O_RDONLY);
	EXPECT(K(SYS_unlink, p), 0);
	char small[16];
	EXPECT(K(SYS_pread64, fd, small, 16, 100000), 16);
	EXPECT((unsigned char)small[0], pattern(7, 100000));
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_statfs, m, &sf2), 0);
	EXPECT_TRUE(sf2.f_bfree >= sf.f_bfree + 200000 / bsize);
	EXPECT_TRUE(sf2.f_ffree == sf.f_ffree + 1);

	/* Attributes that must last. */
	snprintf(p, sizeof(p), "%s/d1/trunc", m);
	struct timespec ts[2] = {{1000000000, 123456789}, {1234567890, 987654321}};
	EXPECT(K(SYS_utimensat, AT_FDCWD, p, ts, 0), 0);
	EXPECT(K(SYS_chmod, p, 0640), 0);
	EXPECT(K(SYS_chown, p, 1000, 100), 0);

	/* fsync and sync. */
	snprintf(p, sizeof(p), "%s/synced", m);
	fd = K(SYS_open, p, O_CREAT | O_WRONLY, 0644);
	EXPECT(K(SYS_write, fd, "durable\n", 8), 8);
	EXPECT(K(SYS_fsync, fd), 0);
	EXPECT(K(SYS_fdatasync, fd), 0);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_sync), 0);

	/* O_SYNC and O_DSYNC writes are stable when write returns. */
	snprintf(p, sizeof(p), "%s/osync", m);
	for (int k = 0; k < 2; k++) {
		fd = K(SYS_open, p, O_CREAT | O_WRONLY | (k ? O_DSYNC : O_SYNC), 0644);
		long before = disk_flushes();
		EXPECT(K(SYS_write, fd, "now", 3), 3);
		EXPECT_TRUE(disk_flushes() > before);
		EXPECT(K(SYS_close, fd), 0);
	}

	/* Empty directories go. */
	snprintf(p, sizeof(p), "%s/gone", m);
	EXPECT(K(SYS_mkdir, p, 0755), 0);
	EXPECT(K(SYS_rmdir, p), 0);
	EXPECT(K(SYS_stat, p, &st), -ENOENT);
}

static void verify(const char *m, unsigned bsize)
{
	char p[256], t[256];
	struct stat st;
	long p_blocks = bsize / 4;
	long direct = 12L * bsize, ind = direct + p_blocks * bsize;
	long dind = ind + p_blocks * p_blocks * bsize;

	snprintf(p, sizeof(p), "%s/moved/ind.bin", m);
	EXPECT(check_pattern(p, 1, 0, ind + 5000), 1);
	snprintf(p, sizeof(p), "%s/d1/sparse", m);
	EXPECT(check_pattern(p, 3, dind + 12345, 100), 1);
	EXPECT(check_pattern(p, 2, ind + 100, 3000), 1);
	snprintf(p, sizeof(p), "%s/d1/trunc", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_size, 30000);
	EXPECT(st.st_mode & 07777, 0640);
	EXPECT(st.st_uid, 1000);
	EXPECT(st.st_gid, 100);
	EXPECT(st.st_mtim.tv_sec, 1234567890);
	EXPECT(st.st_mtim.tv_nsec, 987654321);
	EXPECT(st.st_atim.tv_sec, 1000000000);
	EXPECT(check_pattern(p, 4, 0, 10001), 1);
	snprintf(p, sizeof(p), "%s/many", m);
	EXPECT(count_entries(p), 152);
	snprintf(p, sizeof(p), "%s/d1/hard", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_nlink, 2);
	EXPECT(st.st_size, 100);
	snprintf(p, sizeof(p), "%s/slow", m);
	EXPECT(K(SYS_readlink, p, t, sizeof(t)), 150);
	snprintf(p, sizeof(p), "%s/fast", m);
	EXPECT(K(SYS_readlink, p, t, sizeof(t)), 7);
	snprintf(p, sizeof(p), "%s/synced", m);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(st.st_size, 8);
	snprintf(p, sizeof(p), "%s/doomed", m);
	EXPECT(K(SYS_stat, p, &st), -ENOENT);
	/* Deleting the big tree empties the volume back to its start. */
	snprintf(p, sizeof(p), "%s/d1/sparse", m);
	EXPECT(K(SYS_unlink, p), 0);
}

int main(void)
{
	char img[256], tree[256], mnt[64];
	static const unsigned sizes[] = {1024, 2048, 4096};

	ktest_boot();
	if (mkdtemp(tmpdir) == NULL)
		return 2;
	snprintf(tree, sizeof(tree), "%s/tree", tmpdir);
	EXPECT(sh("mkdir -p %s/seed && printf 'hello\\n' > %s/seed/hello.txt", tree, tree), 0);
	{
		char big[300000];
		for (long i = 0; i < (long)sizeof(big); i++)
			big[i] = (char)pattern(9, i);
		char path[300];
		snprintf(path, sizeof(path), "%s/seed/big.bin", tree);
		FILE *f = fopen(path, "wb");
		fwrite(big, 1, sizeof(big), f);
		fclose(f);
	}

	for (unsigned k = 0; k < ARRAY_SIZE(sizes); k++) {
		unsigned bs = sizes[k];
		printf("# ext2 with %u-byte blocks\n", bs);
		snprintf(img, sizeof(img), "%s/ext2-%u.img", tmpdir, bs);
		EXPECT(sh("mke2fs -q -F -t ext2 -b %u -d %s %s 16M", bs, tree, img), 0);
		struct kblk *d = kblk_attach(img, 0, 0);
		current_disk = d;
		snprintf(mnt, sizeof(mnt), "/e%u", bs);
		EXPECT(kmount(mnt, &d->bd, 0), 0);
		workload(mnt, bs);
		kunmount_all();
		EXPECT(sh("e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; exit 1; }", img,
		           tmpdir, tmpdir),
		    0);
		EXPECT(sh("e2fsck -fn %s >/dev/null 2>&1", img), 0);
		snprintf(mnt, sizeof(mnt), "/again%u", bs);
		EXPECT(kmount(mnt, &d->bd, 0), 0);
		verify(mnt, bs);
		kunmount_all();
		EXPECT(sh("e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; exit 1; }", img,
		           tmpdir, tmpdir),
		    0);
	}

	/* Revision 0 (no file types in entries, 128-byte inodes). */
	snprintf(img, sizeof(img), "%s/rev0.img", tmpdir);
	EXPECT(sh("mke2fs -q -F -t ext2 -r 0 %s 4M", img), 0);
	struct kblk *r0 = kblk_attach(img, 0, 0);
	EXPECT(kmount("/rev0", &r0->bd, 0), 0);
	EXPECT(K(SYS_mkdir, "/rev0/dir", 0755), 0);
	EXPECT(put_pattern("/rev0/dir/f", 8, 0, 70000, 8192), 70000);
	EXPECT(K(SYS_rename, "/rev0/dir/f", "/rev0/g"), 0);
	kunmount_all();
	EXPECT(sh("e2fsck -fn %s >%s/fsck.log 2>&1 || { cat %s/fsck.log; exit 1; }", img, tmpdir,
	           tmpdir),
	    0);

	/* ext4 (extents, 64bit, flex_bg): refused. */
	snprintf(img, sizeof(img), "%s/ext4.img", tmpdir);
	EXPECT(sh("mke2fs -q -F -t ext4 %s 16M", img), 0);
	struct kblk *e4 = kblk_attach(img, 0, 0);
	EXPECT(kmount("/ext4", &e4->bd, 0), -EOPNOTSUPP);

	/* ext3 (a journal): read-only, and says so. */
	snprintf(img, sizeof(img), "%s/ext3.img", tmpdir);
	EXPECT(sh("mke2fs -q -F -t ext3 -d %s %s 16M", tree, img), 0);
	struct kblk *e3 = kblk_attach(img, 0, 0);
	EXPECT(kmount("/ext3", &e3->bd, 0), 0);
	EXPECT(check_pattern("/ext3/seed/big.bin", 9, 0, 300000), 1);
	EXPECT(K(SYS_open, "/ext3/new", O_CREAT | O_WRONLY, 0644), -EROFS);
	struct statfs sf;
	EXPECT(K(SYS_statfs, "/ext3", &sf), 0);
	EXPECT(sf.f_flags & 1, 1);

	/* Read-only on request. */
	snprintf(img, sizeof(img), "%s/ext2-1024.img", tmpdir);
	struct kblk *ro = kblk_attach(img, 0, 0);
	EXPECT(kmount("/ro", &ro->bd, MNT_RDONLY), 0);
	EXPECT(K(SYS_mkdir, "/ro/x", 0755), -EROFS);
	EXPECT(K(SYS_unlink, "/ro/moved/c"), -EROFS);
	EXPECT(K(SYS_open, "/ro/moved/c", O_WRONLY), -EROFS);
	EXPECT(check_pattern("/ro/moved/ind.bin", 1, 0, 10000), 1);
	long writes = ro->writes;
	kunmount_all();
	EXPECT(ro->writes, writes);

	if (getenv("KEEP_IMAGES") == NULL)
		sh("rm -rf %s", tmpdir);
	else
		printf("# images kept in %s\n", tmpdir);
	return ktest_done();
}
