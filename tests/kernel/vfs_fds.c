/* Descriptors: dup, dup2, dup3, fcntl, the lowest free descriptor, EMFILE. */
#include "ktest.h"
#include <sys/resource.h>

int main(void)
{
	char buf[64];
	long fd, fd2;

	ktest_boot();

	fd = EXPECT_OK(K(SYS_open, "/tmp/f", O_CREAT | O_RDWR, 0644));
	EXPECT(fd, 3);
	EXPECT(kput(fd, "abcdef"), 6);

	KTEST_SECTION("dup shares the file offset and flags");
	fd2 = EXPECT_OK(K(SYS_dup, fd));
	EXPECT(fd2, 4);
	EXPECT(K(SYS_lseek, fd2, 1, SEEK_SET), 1);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_CUR), 1);
	EXPECT(K(SYS_read, fd, buf, 2), 2);
	EXPECT(K(SYS_lseek, fd2, 0, SEEK_CUR), 3);
	EXPECT(K(SYS_dup, 99), -EBADF);
	EXPECT(K(SYS_dup, -1), -EBADF);

	KTEST_SECTION("dup2 / dup3");
	EXPECT(K(SYS_dup2, fd, 10), 10);
	EXPECT(K(SYS_lseek, 10, 0, SEEK_CUR), 3);
	EXPECT(K(SYS_dup2, fd, fd), fd);
	EXPECT(K(SYS_dup2, 99, 11), -EBADF);
	EXPECT(K(SYS_dup2, fd, -1), -EBADF);
	EXPECT(K(SYS_dup2, fd, FD_DEFAULT_SOFT), -EBADF);
	EXPECT(K(SYS_dup3, fd, fd, 0), -EINVAL);
	EXPECT(K(SYS_dup3, fd, 11, 0x4), -EINVAL);
	EXPECT(K(SYS_dup3, fd, 11, O_CLOEXEC), 11);
	EXPECT(K(SYS_fcntl, 11, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_fcntl, 10, F_GETFD), 0);
	KTEST_SECTION("dup2 over an open descriptor closes it first");
	long other = EXPECT_OK(K(SYS_open, "/tmp/g", O_CREAT | O_RDWR, 0644));
	EXPECT(K(SYS_dup2, other, 10), 10);
	EXPECT(kput(10, "G"), 1);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_CUR), 3); /* /tmp/f untouched */
	EXPECT(K(SYS_close, other), 0);
	EXPECT(K(SYS_pread64, 10, buf, 1, 0), 1);
	EXPECT(buf[0], 'G');

	KTEST_SECTION("fcntl");
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, 20), 20);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, 20), 21);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0), 5);
	EXPECT(K(SYS_fcntl, 5, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_fcntl, 5, F_SETFD, 0), 0);
	EXPECT(K(SYS_fcntl, 5, F_GETFD), 0);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, -1), -EINVAL);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, FD_DEFAULT_SOFT), -EINVAL);
	EXPECT(K(SYS_fcntl, fd, F_GETFL), O_RDWR);
	EXPECT(K(SYS_fcntl, fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY), 0);
	EXPECT(K(SYS_fcntl, fd, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK);
	EXPECT(K(SYS_fcntl, fd2, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK); /* shared */
	EXPECT(K(SYS_fcntl, fd, F_SETFL, 0), 0);
	EXPECT(K(SYS_fcntl, 99, F_GETFD), -EBADF);
	EXPECT(K(SYS_fcntl, fd, 12345), -EINVAL);
	struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
	EXPECT(K(SYS_fcntl, fd, F_SETLK, &fl), 0);
	EXPECT(K(SYS_fcntl, fd, F_GETLK, &fl), 0);
	EXPECT(fl.l_type, F_UNLCK);
	EXPECT(K(SYS_flock, fd, 2 /* LOCK_EX */), 0);
	EXPECT(K(SYS_flock, 99, 2), -EBADF);

	KTEST_SECTION("Closing one descriptor leaves the others working");
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_pread64, fd2, buf, 3, 0), 3);
	EXPECT_TRUE(memcmp(buf, "abc", 3) == 0);
	KTEST_SECTION("The lowest free descriptor is reused");
	EXPECT(K(SYS_open, "/tmp/f", O_RDONLY), 3);

	KTEST_SECTION("EMFILE when the table is full, and everything closes again");
	long last = 0, n = 0;
	for (;;) {
		long r = K(SYS_open, "/tmp/f", O_RDONLY);
		if (r < 0) {
			last = r;
			break;
		}
		n++;
	}
	EXPECT(last, -EMFILE);
	EXPECT_TRUE(n > FD_DEFAULT_SOFT - 20);
	EXPECT(K(SYS_dup, 3), -EMFILE);
	EXPECT(K(SYS_pipe, (int[2]){0}), -EMFILE);
	for (int i = 3; i < FD_DEFAULT_SOFT; i++)
		K(SYS_close, i);
	EXPECT(K(SYS_open, "/tmp/f", O_RDONLY), 3);

	KTEST_SECTION("RLIMIT_NOFILE: soft 1024, hard 524288; raising it grows the table");
	struct rlimit rl;
	EXPECT(K(SYS_prlimit64, 0, RLIMIT_NOFILE, 0, &rl), 0);
	EXPECT(rl.rlim_cur, 1024);
	EXPECT(rl.rlim_max, 524288);
	rl.rlim_cur = 20000;
	rl.rlim_max = 10000;
	EXPECT(K(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, 0), -EINVAL);
	rl.rlim_cur = rl.rlim_max = 2000000;
	EXPECT(K(SYS_prlimit64, 0, RLIMIT_NOFILE, &rl, 0), -EPERM);
	rl.rlim_cur = 20000;
	rl.rlim_max = 524288;
	EXPECT(K(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0);
	EXPECT(K(SYS_getrlimit, RLIMIT_NOFILE, &rl), 0);
	EXPECT(rl.rlim_cur, 20000);
	EXPECT(K(SYS_dup2, 3, 19999), 19999);
	EXPECT(K(SYS_dup2, 3, 20000), -EBADF);
	EXPECT(K(SYS_fcntl, 3, F_DUPFD, 15000), 15000);
	n = 0;
	for (;;) {
		long r = K(SYS_dup, 3);
		if (r < 0) {
			last = r;
			break;
		}
		n++;
	}
	EXPECT(last, -EMFILE);
	EXPECT_TRUE(n > 20000 - 20);
	for (int i = 4; i < 20000; i++)
		K(SYS_close, i);
	EXPECT(K(SYS_dup, 3), 4);
	KTEST_SECTION("The lowest descriptor again, after one low in the table closes");
	EXPECT(K(SYS_close, 0), 0);
	EXPECT(K(SYS_dup, 3), 0);
	KTEST_SECTION("Lowering the limit below open descriptors is allowed, as on Linux");
	rl.rlim_cur = 2;
	EXPECT(K(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0);
	EXPECT(K(SYS_dup, 3), -EMFILE);
	EXPECT(K(SYS_read, 4, buf, 0), 0);
	rl.rlim_cur = 1024;
	EXPECT(K(SYS_setrlimit, RLIMIT_NOFILE, &rl), 0);

	return ktest_done();
}
