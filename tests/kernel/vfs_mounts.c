/*
 * The block device registry and /dev/ldN (raw block I/O), and the mount
 * table: crossing mount points both ways, st_dev, getcwd, EXDEV, EBUSY,
 * read-only mounts (EROFS), statfs per mount, probing unknown disks.
 */
#include "kblk.h"
#include <kernel/fs.h>
#include <sys/ioctl.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#define BLKGETSIZE64_ 0x80081272
#define BLKSSZGET_ 0x1268

static long kmount(const char *path, const char *type, struct blkdev *bd, int flags)
{
	rumprun_posix_enter();
	long r = vfs_mount(path, type, bd, NULL, flags, 1);
	rumprun_posix_leave();
	return r;
}

int main(void)
{
	struct stat st, st2;
	struct statfs sf;
	char buf[8192], cwd[256];
	uint64_t size64 = 0;
	int ssz = 0;

	ktest_boot();

	/* Registry: names in order, lookups, the /dev node. */
	struct kblk *a = kblk_temp(1 << 20);
	struct kblk *b = kblk_temp(64 << 10);
	EXPECT(strcmp(a->bd.name, "ld0"), 0);
	EXPECT(strcmp(b->bd.name, "ld1"), 0);
	EXPECT_TRUE(blkdev_lookup("ld1") == &b->bd);
	EXPECT_TRUE(blkdev_lookup("ld7") == NULL);
	EXPECT(blkdev_count(), 2);
	EXPECT(K(SYS_stat, "/dev/ld0", &st), 0);
	EXPECT_TRUE(S_ISBLK(st.st_mode));

	/* Submit checks: misaligned, beyond the end, read-only. */
	rumprun_posix_enter();
	EXPECT(blkdev_io(&a->bd, BLKDEV_READ, buf, 100, 0), -EINVAL);
	EXPECT(blkdev_io(&a->bd, BLKDEV_READ, buf, 512, 1 << 20), -EINVAL);
	EXPECT(blkdev_io(&a->bd, BLKDEV_READ, buf, 1024, 512), 0);
	EXPECT(blkdev_flush(&a->bd), 0);
	rumprun_posix_leave();
	EXPECT_TRUE(a->flushes == 1);

	/* Raw I/O through /dev/ld0: unaligned bytes, lseek, ioctls, fsync. */
	long fd = EXPECT_OK(K(SYS_open, "/dev/ld0", O_RDWR));
	EXPECT(K(SYS_ioctl, fd, BLKGETSIZE64_, &size64), 0);
	EXPECT_TRUE(size64 == (1 << 20));
	EXPECT(K(SYS_ioctl, fd, BLKSSZGET_, &ssz), 0);
	EXPECT(ssz, 512);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_END), 1 << 20);
	EXPECT(K(SYS_pwrite64, fd, "hello, disk", 11, 1000), 11);
	for (int i = 0; i < 3000; i++)
		buf[i] = (char)(i * 7);
	EXPECT(K(SYS_pwrite64, fd, buf, 3000, 4096 - 10), 3000);
	EXPECT(K(SYS_fsync, fd), 0);
	EXPECT(K(SYS_close, fd), 0);
	char host[16] = {0};
	EXPECT(pread(a->fd, host, 11, 1000), 11);
	EXPECT(memcmp(host, "hello, disk", 11), 0);
	fd = EXPECT_OK(K(SYS_open, "/dev/ld0", O_RDONLY));
	memset(buf + 4000, 0, 3000);
	EXPECT(K(SYS_pread64, fd, buf + 4000, 3000, 4096 - 10), 3000);
	int same = 1;
	for (int i = 0; i < 3000; i++)
		same &= buf[4000 + i] == (char)(i * 7);
	EXPECT_TRUE(same);
	EXPECT(K(SYS_pread64, fd, buf, 100, (1 << 20) - 40), 40);
	EXPECT(K(SYS_pread64, fd, buf, 100, 1 << 20), 0);
	EXPECT(K(SYS_write, fd, "x", 1), -EBADF);
	EXPECT(K(SYS_close, fd), 0);

	/* A read-only disk refuses writers. */
	char path[] = "/tmp/kblk-ro-XXXXXX";
	close(mkstemp(path));
	truncate(path, 8192);
	struct kblk *ro = kblk_attach(path, 0, 1);
	unlink(path);
	EXPECT(K(SYS_open, "/dev/ld2", O_RDWR), -EROFS);
	rumprun_posix_enter();
	EXPECT(blkdev_io(&ro->bd, BLKDEV_WRITE, buf, 512, 0), -EROFS);
	rumprun_posix_leave();

	/* No file system on a disk of zeros: auto finds nothing. */
	EXPECT(kmount("/mnt/none", "auto", &b->bd, 0), -ENODEV);
	EXPECT(kmount("/mnt/none", "nosuchfs", &b->bd, 0), -ENODEV);
	EXPECT(kmount("/", "tmpfs", NULL, 0), -EINVAL);

	/* A tmpfs on /mnt/t: crossing in and out. */
	EXPECT(K(SYS_mkdir, "/mnt", 0755), 0);
	EXPECT(K(SYS_stat, "/mnt", &st), 0);
	EXPECT(kmount("/mnt/t", "tmpfs", NULL, 0), 0);
	EXPECT(kmount("/mnt/t", "tmpfs", NULL, 0), -EBUSY);
	fd = EXPECT_OK(K(SYS_open, "/mnt/t/file", O_CREAT | O_WRONLY, 0644));
	EXPECT(K(SYS_write, fd, "abc", 3), 3);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_stat, "/mnt/t/file", &st2), 0);
	EXPECT_TRUE(st2.st_dev != st.st_dev);
	EXPECT(K(SYS_stat, "/mnt/t/..", &st2), 0);
	EXPECT_TRUE(st2.st_ino == st.st_ino && st2.st_dev == st.st_dev);
	EXPECT(K(SYS_stat, "/mnt/t/../t/file", &st2), 0);
	EXPECT(st2.st_size, 3);
	EXPECT(K(SYS_mkdir, "/mnt/t/sub", 0755), 0);
	EXPECT(K(SYS_chdir, "/mnt/t/sub"), 0);
	EXPECT(K(SYS_getcwd, cwd, sizeof(cwd)), 11);
	EXPECT(strcmp(cwd, "/mnt/t/sub"), 0);
	EXPECT(K(SYS_stat, "../../t/file", &st2), 0);
	EXPECT(K(SYS_chdir, "/"), 0);
	EXPECT(K(SYS_rename, "/mnt/t/file", "/tmp/file"), -EXDEV);
	EXPECT(K(SYS_link, "/mnt/t/file", "/tmp/file"), -EXDEV);
	EXPECT(K(SYS_rmdir, "/mnt/t"), -EBUSY);
	EXPECT(K(SYS_rename, "/mnt/t", "/mnt/u"), -EBUSY);
	fd = EXPECT_OK(K(SYS_open, "/mnt/t", O_RDONLY | O_DIRECTORY));
	EXPECT(K(SYS_fstat, fd, &st2), 0);
	EXPECT_TRUE(st2.st_dev != st.st_dev);
	EXPECT(K(SYS_syncfs, fd), 0);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_statfs, "/mnt/t/file", &sf), 0);
	EXPECT_TRUE((sf.f_flags & 1) == 0);

	/* A read-only mount: EROFS for every change, reading works. */
	EXPECT(kmount("/mnt/ro", "tmpfs", NULL, MNT_RDONLY), 0);
	EXPECT(K(SYS_open, "/mnt/ro/new", O_CREAT | O_WRONLY, 0644), -EROFS);
	EXPECT(K(SYS_mkdir, "/mnt/ro/d", 0755), -EROFS);
	EXPECT(K(SYS_symlink, "x", "/mnt/ro/l"), -EROFS);
	EXPECT(K(SYS_chmod, "/mnt/ro", 0700), -EROFS);
	EXPECT(K(SYS_open, "/mnt/ro", O_RDONLY | O_DIRECTORY) >= 0, 1);
	EXPECT(K(SYS_statfs, "/mnt/ro", &sf), 0);
	EXPECT(sf.f_flags & 1, 1);
	EXPECT(vfs_mkdir_p("/mnt/ro/made/by/kernel", 0755), -EROFS);
	EXPECT(vfs_put_file("/mnt/ro/file", 0644, "x", 1), -EROFS);
	EXPECT(K(SYS_stat, "/mnt/ro/..", &st2), 0);
	EXPECT_TRUE(st2.st_ino == st.st_ino);

	/* sync reaches every mount; unmounting at exit leaves the tree. */
	EXPECT(K(SYS_sync), 0);
	rumprun_posix_enter();
	vfs_unmount_all();
	rumprun_posix_leave();
	EXPECT(K(SYS_stat, "/mnt/t/file", &st2), -ENOENT);
	EXPECT(K(SYS_stat, "/mnt/t", &st2), 0);
	EXPECT(kmount("/mnt/t", "tmpfs", NULL, 0), 0);
	return ktest_done();
}
