/* Descriptors: dup, dup2, dup3, fcntl, the lowest free descriptor, EMFILE. */
#include "ktest.h"

int
main(void)
{
	char buf[64];
	long fd, fd2;

	ktest_boot();

	fd = EXPECT_OK(K(SYS_open, "/tmp/f", O_CREAT | O_RDWR, 0644));
	EXPECT(fd, 3);
	EXPECT(kput(fd, "abcdef"), 6);

	/* dup shares the file offset and flags. */
	fd2 = EXPECT_OK(K(SYS_dup, fd));
	EXPECT(fd2, 4);
	EXPECT(K(SYS_lseek, fd2, 1, SEEK_SET), 1);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_CUR), 1);
	EXPECT(K(SYS_read, fd, buf, 2), 2);
	EXPECT(K(SYS_lseek, fd2, 0, SEEK_CUR), 3);
	EXPECT(K(SYS_dup, 99), -EBADF);
	EXPECT(K(SYS_dup, -1), -EBADF);

	/* dup2 / dup3. */
	EXPECT(K(SYS_dup2, fd, 10), 10);
	EXPECT(K(SYS_lseek, 10, 0, SEEK_CUR), 3);
	EXPECT(K(SYS_dup2, fd, fd), fd);
	EXPECT(K(SYS_dup2, 99, 11), -EBADF);
	EXPECT(K(SYS_dup2, fd, -1), -EBADF);
	EXPECT(K(SYS_dup2, fd, FD_MAX), -EBADF);
	EXPECT(K(SYS_dup3, fd, fd, 0), -EINVAL);
	EXPECT(K(SYS_dup3, fd, 11, 0x4), -EINVAL);
	EXPECT(K(SYS_dup3, fd, 11, O_CLOEXEC), 11);
	EXPECT(K(SYS_fcntl, 11, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_fcntl, 10, F_GETFD), 0);
	/* dup2 over an open descriptor closes it first. */
	long other = EXPECT_OK(K(SYS_open, "/tmp/g", O_CREAT | O_RDWR, 0644));
	EXPECT(K(SYS_dup2, other, 10), 10);
	EXPECT(kput(10, "G"), 1);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_CUR), 3);	/* /tmp/f untouched */
	EXPECT(K(SYS_close, other), 0);
	EXPECT(K(SYS_pread64, 10, buf, 1, 0), 1);
	EXPECT(buf[0], 'G');

	/* fcntl. */
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, 20), 20);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, 20), 21);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD_CLOEXEC, 0), 5);
	EXPECT(K(SYS_fcntl, 5, F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_fcntl, 5, F_SETFD, 0), 0);
	EXPECT(K(SYS_fcntl, 5, F_GETFD), 0);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, -1), -EINVAL);
	EXPECT(K(SYS_fcntl, fd, F_DUPFD, FD_MAX), -EINVAL);
	EXPECT(K(SYS_fcntl, fd, F_GETFL), O_RDWR);
	EXPECT(K(SYS_fcntl, fd, F_SETFL, O_APPEND | O_NONBLOCK | O_RDONLY), 0);
	EXPECT(K(SYS_fcntl, fd, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK);
	EXPECT(K(SYS_fcntl, fd2, F_GETFL), O_RDWR | O_APPEND | O_NONBLOCK);	/* shared */
	EXPECT(K(SYS_fcntl, fd, F_SETFL, 0), 0);
	EXPECT(K(SYS_fcntl, 99, F_GETFD), -EBADF);
	EXPECT(K(SYS_fcntl, fd, 12345), -EINVAL);
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET };
	EXPECT(K(SYS_fcntl, fd, F_SETLK, &fl), 0);
	EXPECT(K(SYS_fcntl, fd, F_GETLK, &fl), 0);
	EXPECT(fl.l_type, F_UNLCK);
	EXPECT(K(SYS_flock, fd, 2 /* LOCK_EX */), 0);
	EXPECT(K(SYS_flock, 99, 2), -EBADF);

	/* Closing one descriptor leaves the others working. */
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_pread64, fd2, buf, 3, 0), 3);
	EXPECT_TRUE(memcmp(buf, "abc", 3) == 0);
	/* The lowest free descriptor is reused. */
	EXPECT(K(SYS_open, "/tmp/f", O_RDONLY), 3);

	/* EMFILE when the table is full, and everything closes again. */
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
	EXPECT_TRUE(n > FD_MAX - 20);
	EXPECT(K(SYS_dup, 3), -EMFILE);
	EXPECT(K(SYS_pipe, (int[2]){0}), -EMFILE);
	for (int i = 3; i < FD_MAX; i++)
		K(SYS_close, i);
	EXPECT(K(SYS_open, "/tmp/f", O_RDONLY), 3);

	return ktest_done();
}
