/*
 * What vfs_init builds: the directories, /dev, the baked-in /etc and, when
 * the program is linked with a root file system archive (the pytest suite
 * links vfs_boot-rootfs with one made by rumprun/toolchain/rootfs.py), its files.
 */
#include "ktest.h"
#include <sys/sysmacros.h>

extern const char _rumprun_rootfs_start[] __attribute__((weak));
int rootfs_unpack_buffer(const char *buf, size_t len);

static long slurp(const char *path, char *buf, size_t size)
{
	long fd = K(SYS_open, path, O_RDONLY);
	if (fd < 0)
		return fd;
	long n = K(SYS_read, fd, buf, size - 1);
	K(SYS_close, fd);
	buf[n > 0 ? n : 0] = '\0';
	return n;
}

int main(void)
{
	char buf[4096];
	struct stat st;
	long fd;

	ktest_boot();

	KTEST_SECTION("The directories");
	EXPECT(K(SYS_stat, "/tmp", &st), 0);
	EXPECT(st.st_mode, S_IFDIR | 01777);
	EXPECT(K(SYS_stat, "/var/tmp", &st), 0);
	EXPECT(st.st_mode, S_IFDIR | 01777);
	EXPECT(K(SYS_stat, "/root", &st), 0);
	EXPECT(K(SYS_stat, "/dev", &st), 0);

	KTEST_SECTION("/etc: what musl reads");
	EXPECT_TRUE(slurp("/etc/passwd", buf, sizeof(buf)) > 0);
	EXPECT_TRUE(strncmp(buf, "root:x:0:0:root:/root:/bin/sh\n", 30) == 0);
	EXPECT_TRUE(slurp("/etc/group", buf, sizeof(buf)) > 0);
	EXPECT_TRUE(strncmp(buf, "root:x:0:\n", 10) == 0);
	EXPECT_TRUE(slurp("/etc/hosts", buf, sizeof(buf)) > 0);
	if (!_rumprun_rootfs_start) /* the archive replaces it */
		EXPECT_TRUE(strstr(buf, "127.0.0.1\tlocalhost\n") != NULL);
	EXPECT_TRUE(slurp("/etc/services", buf, sizeof(buf)) > 0);
	EXPECT_TRUE(strstr(buf, "\nhttp\t\t80/tcp") != NULL);
	EXPECT_TRUE(slurp("/etc/resolv.conf", buf, sizeof(buf)) > 0);
	EXPECT_TRUE(strncmp(buf, "nameserver ", 11) == 0);
	EXPECT_TRUE(slurp("/etc/hostname", buf, sizeof(buf)) > 0);
	EXPECT(K(SYS_stat, "/etc/shadow", &st), 0);
	EXPECT(st.st_mode, S_IFREG | 0640);

	KTEST_SECTION("/dev");
	EXPECT(K(SYS_stat, "/dev/null", &st), 0);
	EXPECT(st.st_mode, S_IFCHR | 0666);
	EXPECT(st.st_rdev, makedev(1, 3));
	fd = EXPECT_OK(K(SYS_open, "/dev/null", O_RDWR));
	EXPECT(K(SYS_read, fd, buf, 10), 0);
	EXPECT(kput(fd, "discarded"), 9);
	EXPECT(K(SYS_lseek, fd, 100, SEEK_SET), 0);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_rdev, makedev(1, 3));
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/dev/zero", O_RDONLY));
	memset(buf, 1, 100);
	EXPECT(K(SYS_read, fd, buf, 100), 100);
	EXPECT_TRUE(buf[0] == 0 && buf[99] == 0);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/dev/full", O_WRONLY));
	EXPECT(kput(fd, "x"), -ENOSPC);
	EXPECT(K(SYS_close, fd), 0);
	for (int i = 0; i < 2; i++) {
		unsigned char r[64] = {0};
		int nonzero = 0;
		fd = EXPECT_OK(K(SYS_open, i ? "/dev/random" : "/dev/urandom", O_RDONLY));
		EXPECT(K(SYS_read, fd, r, sizeof(r)), sizeof(r));
		for (size_t k = 0; k < sizeof(r); k++)
			nonzero += r[k] != 0;
		EXPECT_TRUE(nonzero > 32);
		EXPECT(K(SYS_close, fd), 0);
	}
	fd = EXPECT_OK(K(SYS_open, "/dev/console", O_WRONLY));
	EXPECT(kput(fd, "console says hi\n"), 16);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT_TRUE(S_ISCHR(st.st_mode));
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_open, "/dev/none", O_RDONLY), -ENOENT);
	EXPECT(K(SYS_unlink, "/dev/zero"), 0); /* root may; the node goes */
	EXPECT(K(SYS_open, "/dev/zero", O_RDONLY), -ENOENT);

	KTEST_SECTION("A malformed archive is refused with a message");
	EXPECT(rootfs_unpack_buffer("070701nonsense", 14), -EINVAL);

	KTEST_SECTION("The image's root file system, when one is linked in");
	if (_rumprun_rootfs_start) {
		printf("rootfs: linked in\n");
		EXPECT(slurp("/hello.txt", buf, sizeof(buf)), 14);
		EXPECT_TRUE(strcmp(buf, "hello, rootfs\n") == 0);
		EXPECT(K(SYS_stat, "/data/sub/deep.bin", &st), 0);
		EXPECT(st.st_size, 100000);
		EXPECT(st.st_mode, S_IFREG | 0600);
		EXPECT(st.st_mtim.tv_sec, 1234567890);
		EXPECT(K(SYS_stat, "/data/sub", &st), 0);
		EXPECT(st.st_mode, S_IFDIR | 0750);
		EXPECT(K(SYS_stat, "/data/empty", &st), 0);
		EXPECT_TRUE(S_ISDIR(st.st_mode));
		EXPECT(K(SYS_readlink, "/data/link", buf, sizeof(buf)), 12);
		EXPECT_TRUE(strncmp(buf, "sub/deep.bin", 12) == 0);
		EXPECT(K(SYS_stat, "/data/link", &st), 0);
		EXPECT(st.st_size, 100000);
		EXPECT(K(SYS_access, "/bin/tool", X_OK), 0);
		/* The user's /etc/motd is added; the user's hosts replaces ours. */
		EXPECT_TRUE(slurp("/etc/motd", buf, sizeof(buf)) > 0);
		EXPECT_TRUE(slurp("/etc/hosts", buf, sizeof(buf)) > 0);
		EXPECT_TRUE(strcmp(buf, "10.0.0.1 server\n") == 0);
		EXPECT_TRUE(slurp("/etc/passwd", buf, sizeof(buf)) > 0); /* ours, kept */
		EXPECT(K(SYS_stat, "/tmp", &st), 0);
		EXPECT(st.st_mode, S_IFDIR | 01777);
		EXPECT(K(SYS_stat, "/", &st), 0); /* the archive's "." does not change / */
		EXPECT(st.st_mode, S_IFDIR | 0755);
	} else {
		printf("rootfs: none\n");
		EXPECT(K(SYS_stat, "/hello.txt", &st), -ENOENT);
	}

	return ktest_done();
}
