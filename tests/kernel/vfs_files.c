/* Regular files: open flags, read/write/seek, stat family, truncate. */
#include "ktest.h"

#ifndef STATX_BASIC_STATS
#define STATX_BASIC_STATS 0x7ff
#endif

int main(void)
{
	char buf[512];
	struct stat st;
	long fd, fd2;

	ktest_boot();

	KTEST_SECTION("Creating, writing, reading back");
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_CREAT | O_RDWR, 0644));
	EXPECT(fd, 3);
	EXPECT(kput(fd, "hello, world\n"), 13);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_CUR), 13);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_SET), 0);
	memset(buf, 0, sizeof(buf));
	EXPECT(K(SYS_read, fd, buf, sizeof(buf)), 13);
	EXPECT_TRUE(strcmp(buf, "hello, world\n") == 0);
	EXPECT(K(SYS_read, fd, buf, sizeof(buf)), 0);
	EXPECT(K(SYS_pread64, fd, buf, 5, 7), 5);
	EXPECT_TRUE(memcmp(buf, "world", 5) == 0);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_END), 13);
	EXPECT(K(SYS_lseek, fd, -20, SEEK_END), -EINVAL);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_size, 13);
	EXPECT(st.st_mode, S_IFREG | 0644);
	EXPECT(st.st_nlink, 1);
	EXPECT_TRUE(st.st_mtim.tv_sec > 1600000000);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_close, fd), -EBADF);

	KTEST_SECTION("Sparse files read zeros in the hole");
	fd = EXPECT_OK(K(SYS_open, "/tmp/sparse", O_CREAT | O_RDWR | O_TRUNC, 0600));
	EXPECT(K(SYS_pwrite64, fd, "x", 1, 10000), 1);
	EXPECT(K(SYS_pread64, fd, buf, 4, 4094), 4);
	EXPECT_TRUE(buf[0] == 0 && buf[3] == 0);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_size, 10001);
	KTEST_SECTION("Shrink, then grow: the old bytes must not come back");
	EXPECT(K(SYS_ftruncate, fd, 3), 0);
	EXPECT(K(SYS_ftruncate, fd, 10001), 0);
	EXPECT(K(SYS_pread64, fd, buf, 1, 10000), 1);
	EXPECT(buf[0], 0);
	EXPECT(K(SYS_ftruncate, fd, -1), -EINVAL);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_truncate, "/tmp/sparse", 5), 0);
	EXPECT(K(SYS_stat, "/tmp/sparse", &st), 0);
	EXPECT(st.st_size, 5);
	EXPECT(K(SYS_truncate, "/tmp", 5), -EISDIR);
	EXPECT(K(SYS_truncate, "/tmp/none", 5), -ENOENT);

	KTEST_SECTION("A big file across many pages");
	fd = EXPECT_OK(K(SYS_open, "/tmp/big", O_CREAT | O_RDWR, 0600));
	static char big[300000], back[300000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 3);
	EXPECT(K(SYS_write, fd, big, sizeof(big)), sizeof(big));
	EXPECT(K(SYS_pread64, fd, back, sizeof(back), 0), sizeof(back));
	EXPECT_TRUE(memcmp(big, back, sizeof(big)) == 0);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("O_EXCL, O_TRUNC, O_APPEND, access modes");
	EXPECT(K(SYS_open, "/tmp/a", O_CREAT | O_EXCL | O_WRONLY, 0644), -EEXIST);
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_WRONLY | O_APPEND));
	EXPECT(kput(fd, "more\n"), 5);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_SET), 0);
	EXPECT(kput(fd, "end\n"), 4); /* appends despite the seek */
	EXPECT(K(SYS_read, fd, buf, 1), -EBADF);
	EXPECT(K(SYS_fcntl, fd, F_GETFL), O_WRONLY | O_APPEND);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_stat, "/tmp/a", &st), 0);
	EXPECT(st.st_size, 22);
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDONLY));
	EXPECT(kput(fd, "x"), -EBADF);
	EXPECT(K(SYS_ftruncate, fd, 0), -EINVAL);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDWR | O_TRUNC));
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_size, 0);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_creat, "/tmp/c", 0600));
	EXPECT(K(SYS_fcntl, fd, F_GETFL) & O_ACCMODE, O_WRONLY);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("Errors of open");
	EXPECT(K(SYS_open, "/tmp/none", O_RDONLY), -ENOENT);
	EXPECT(K(SYS_open, "/none/x", O_CREAT | O_RDWR, 0644), -ENOENT);
	EXPECT(K(SYS_open, "/tmp/a/x", O_RDONLY), -ENOTDIR);
	EXPECT(K(SYS_open, "/tmp/a/", O_RDONLY), -ENOTDIR);
	EXPECT(K(SYS_open, "/tmp", O_RDWR), -EISDIR);
	EXPECT(K(SYS_open, "/tmp", O_WRONLY | O_CREAT, 0644), -EISDIR);
	EXPECT(K(SYS_open, "/tmp/new/", O_WRONLY | O_CREAT, 0644), -EISDIR);
	EXPECT(K(SYS_open, "/tmp/a/", O_WRONLY | O_CREAT, 0644), -EISDIR);
	EXPECT(K(SYS_open, "/tmp/a", O_RDONLY | O_DIRECTORY), -ENOTDIR);
	EXPECT(K(SYS_open, "", O_RDONLY), -ENOENT);
	EXPECT(K(SYS_open, NULL, O_RDONLY), -EFAULT);
	memset(buf, 'n', 300);
	buf[0] = '/';
	buf[300] = '\0';
	EXPECT(K(SYS_open, buf, O_RDONLY), -ENAMETOOLONG);
	fd = EXPECT_OK(K(SYS_open, "/tmp", O_RDONLY | O_DIRECTORY));
	EXPECT(K(SYS_read, fd, buf, 10), -EISDIR);
	EXPECT(K(SYS_write, fd, buf, 10), -EBADF);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("umask applies to new files");
	EXPECT(K(SYS_umask, 077), 022);
	fd = EXPECT_OK(K(SYS_open, "/tmp/masked", O_CREAT | O_WRONLY, 0666));
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_mode, S_IFREG | 0600);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_umask, 022), 077);

	KTEST_SECTION("The stat family");
	EXPECT(K(SYS_stat, "/", &st), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT(K(SYS_stat, "/tmp", &st), 0);
	EXPECT(st.st_mode, S_IFDIR | 01777);
	EXPECT(K(SYS_newfstatat, AT_FDCWD, "tmp/a", &st, 0), 0);
	EXPECT(K(SYS_newfstatat, AT_FDCWD, "/tmp/a", &st, 0x12345), -EINVAL);
	fd = EXPECT_OK(K(SYS_open, "/tmp", O_RDONLY | O_DIRECTORY));
	EXPECT(K(SYS_newfstatat, fd, "a", &st, 0), 0);
	EXPECT(st.st_size, 0);
	EXPECT(K(SYS_newfstatat, fd, "", &st, AT_EMPTY_PATH), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT(K(SYS_newfstatat, fd, "", &st, 0), -ENOENT);
	fd2 = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDONLY));
	EXPECT(K(SYS_newfstatat, fd2, "x", &st, 0), -ENOTDIR);
	EXPECT(K(SYS_newfstatat, fd2, "/tmp/a", &st, 0), 0); /* absolute: dirfd ignored */
	EXPECT(K(SYS_newfstatat, 99, "x", &st, 0), -EBADF);
	EXPECT(K(SYS_close, fd2), 0);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_fstat, 99, &st), -EBADF);
	EXPECT(K(SYS_fstat, 1, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));

	unsigned char sx[256];
	EXPECT(K(SYS_statx, AT_FDCWD, "/tmp/big", 0, STATX_BASIC_STATS, sx), 0);
	EXPECT(*(unsigned long long *)(sx + 40), 300000); /* stx_size */
	EXPECT(*(unsigned short *)(sx + 28), S_IFREG | 0600); /* stx_mode */

	KTEST_SECTION("Attributes: chmod, chown, utimensat, access");
	EXPECT(K(SYS_chmod, "/tmp/a", 0755), 0);
	EXPECT(K(SYS_chown, "/tmp/a", 1000, 100), 0);
	EXPECT(K(SYS_stat, "/tmp/a", &st), 0);
	EXPECT(st.st_mode, S_IFREG | 0755);
	EXPECT(st.st_uid, 1000);
	EXPECT(st.st_gid, 100);
	EXPECT(K(SYS_chown, "/tmp/a", -1, 7), 0);
	EXPECT(K(SYS_stat, "/tmp/a", &st), 0);
	EXPECT(st.st_uid, 1000);
	EXPECT(st.st_gid, 7);
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDONLY));
	EXPECT(K(SYS_fchmod, fd, 0600), 0);
	EXPECT(K(SYS_fchown, fd, 0, 0), 0);
	struct timespec ts[2] = {{1000, 5}, {2000, 6}};
	EXPECT(K(SYS_utimensat, fd, NULL, ts, 0), 0);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_mode, S_IFREG | 0600);
	EXPECT(st.st_uid, 0);
	EXPECT(st.st_atim.tv_sec, 1000);
	EXPECT(st.st_mtim.tv_sec, 2000);
	EXPECT(st.st_mtim.tv_nsec, 6);
	EXPECT(K(SYS_close, fd), 0);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	EXPECT(K(SYS_utimensat, AT_FDCWD, "/tmp/a", ts, 0), 0);
	EXPECT(K(SYS_stat, "/tmp/a", &st), 0);
	EXPECT(st.st_atim.tv_sec, 1000);
	EXPECT_TRUE(st.st_mtim.tv_sec > 1600000000);
	ts[0].tv_nsec = 2000000000;
	EXPECT(K(SYS_utimensat, AT_FDCWD, "/tmp/a", ts, 0), -EINVAL);
	EXPECT(K(SYS_utimensat, AT_FDCWD, "/tmp/nope", NULL, 0), -ENOENT);
	EXPECT(K(SYS_access, "/tmp/a", F_OK), 0);
	EXPECT(K(SYS_access, "/tmp/a", R_OK | W_OK), 0);
	EXPECT(K(SYS_access, "/tmp/a", X_OK), -EACCES);
	EXPECT(K(SYS_access, "/tmp", X_OK), 0);
	EXPECT(K(SYS_access, "/tmp/none", F_OK), -ENOENT);
	EXPECT(K(SYS_access, "/tmp/a", 0100), -EINVAL);
	EXPECT(K(SYS_faccessat, AT_FDCWD, "tmp/a", R_OK), 0);

	KTEST_SECTION("fsync and friends");
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDWR));
	EXPECT(K(SYS_fsync, fd), 0);
	EXPECT(K(SYS_fdatasync, fd), 0);
	EXPECT(K(SYS_fsync, 77), -EBADF);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_lseek, 0, 0, SEEK_SET), -ESPIPE);

	KTEST_SECTION("O_CLOEXEC sets the descriptor flag");
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_RDONLY | O_CLOEXEC));
	EXPECT(K(SYS_fcntl, fd, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("O_PATH handles");
	fd = EXPECT_OK(K(SYS_open, "/tmp/a", O_PATH));
	EXPECT(K(SYS_read, fd, buf, 1), -EBADF);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(K(SYS_close, fd), 0);

	return ktest_done();
}
