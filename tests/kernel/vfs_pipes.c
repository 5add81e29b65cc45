/* Pipes, and poll/ppoll/select/pselect6 on pipes, files and the console. */
#include "ktest.h"
#include <poll.h>
#include <pthread.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <time.h>

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct job {
	int fd;
	int delay_ms;
	size_t len;
	long result;
};

static void *late_writer(void *arg)
{
	struct job *j = arg;
	static char data[200000];
	memset(data, 'w', sizeof(data));
	usleep(j->delay_ms * 1000);
	j->result = K(SYS_write, j->fd, data, j->len);
	return NULL;
}

static void *late_closer(void *arg)
{
	struct job *j = arg;
	usleep(j->delay_ms * 1000);
	j->result = K(SYS_close, j->fd);
	return NULL;
}

int main(void)
{
	int p[2], q[2];
	char buf[70000];
	struct stat st;
	pthread_t t;
	struct job j;
	long t0;

	ktest_boot();

	KTEST_SECTION("Basics");
	EXPECT(K(SYS_pipe, p), 0);
	EXPECT(p[0], 3);
	EXPECT(p[1], 4);
	EXPECT(kput(p[1], "hello"), 5);
	int avail = -1;
	EXPECT(K(SYS_ioctl, p[0], FIONREAD, &avail), 0);
	EXPECT(avail, 5);
	EXPECT(K(SYS_read, p[0], buf, 3), 3);
	EXPECT(K(SYS_read, p[0], buf, sizeof(buf)), 2);
	EXPECT_TRUE(memcmp(buf, "lo", 2) == 0);
	EXPECT(K(SYS_read, p[1], buf, 1), -EBADF);
	EXPECT(K(SYS_write, p[0], "x", 1), -EBADF);
	EXPECT(K(SYS_lseek, p[0], 0, SEEK_SET), -ESPIPE);
	EXPECT(K(SYS_fstat, p[0], &st), 0);
	EXPECT_TRUE(S_ISFIFO(st.st_mode));
	EXPECT(K(SYS_fcntl, p[0], F_GETPIPE_SZ), 65536);
	EXPECT(K(SYS_fcntl, p[0], F_GETFL), O_RDONLY);
	EXPECT(K(SYS_fcntl, p[1], F_GETFL), O_WRONLY);
	EXPECT(K(SYS_pipe2, q, 0x1), -EINVAL);

	KTEST_SECTION("Non-blocking ends");
	EXPECT(K(SYS_pipe2, q, O_NONBLOCK | O_CLOEXEC), 0);
	EXPECT(K(SYS_fcntl, q[0], F_GETFD), FD_CLOEXEC);
	EXPECT(K(SYS_read, q[0], buf, 1), -EAGAIN);
	static char fill[70000];
	EXPECT(K(SYS_write, q[1], fill, sizeof(fill)), 65536);
	EXPECT(K(SYS_write, q[1], fill, 1), -EAGAIN);
	EXPECT(K(SYS_read, q[0], buf, sizeof(buf)), 65536);
	KTEST_SECTION("EOF once the writers are gone; EPIPE once the readers are");
	EXPECT(kput(q[1], "tail"), 4);
	EXPECT(K(SYS_close, q[1]), 0);
	EXPECT(K(SYS_read, q[0], buf, sizeof(buf)), 4);
	EXPECT(K(SYS_read, q[0], buf, sizeof(buf)), 0);
	EXPECT(K(SYS_close, q[0]), 0);
	EXPECT(K(SYS_pipe, q), 0);
	EXPECT(K(SYS_close, q[0]), 0);
	EXPECT(kput(q[1], "x"), -EPIPE);
	EXPECT(K(SYS_close, q[1]), 0);

	KTEST_SECTION("A reader of an empty pipe blocks until another thread writes");
	j = (struct job){p[1], 100, 10, 0};
	t0 = now_ms();
	pthread_create(&t, NULL, late_writer, &j);
	EXPECT(K(SYS_read, p[0], buf, sizeof(buf)), 10);
	EXPECT_TRUE(now_ms() - t0 >= 80);
	pthread_join(t, NULL);
	EXPECT(j.result, 10);

	KTEST_SECTION("A writer of a full pipe blocks until the reader drains it");
	j = (struct job){p[1], 0, 200000, 0};
	pthread_create(&t, NULL, late_writer, &j);
	usleep(50000);
	size_t total = 0;
	long r;
	while (total < 200000 && (r = K(SYS_read, p[0], buf, sizeof(buf))) > 0)
		total += r;
	pthread_join(t, NULL);
	EXPECT(j.result, 200000);
	EXPECT(total, 200000);

	KTEST_SECTION("A blocked reader sees EOF when the last writer closes");
	long w2 = EXPECT_OK(K(SYS_dup, p[1]));
	EXPECT(K(SYS_close, p[1]), 0);
	j = (struct job){(int)w2, 50, 0, 0};
	pthread_create(&t, NULL, late_closer, &j);
	EXPECT(K(SYS_read, p[0], buf, sizeof(buf)), 0);
	pthread_join(t, NULL);
	EXPECT(K(SYS_close, p[0]), 0);

	KTEST_SECTION("poll");
	EXPECT(K(SYS_pipe, p), 0);
	long file = EXPECT_OK(K(SYS_open, "/tmp/pf", O_CREAT | O_RDWR, 0644));
	struct pollfd pf[5] = {
	    {p[0], POLLIN, 0},
	    {p[1], POLLOUT, 0},
	    {(int)file, POLLIN | POLLOUT, 0},
	    {1, POLLOUT, 0},
	    {-1, POLLIN, 0},
	};
	EXPECT(K(SYS_poll, pf, 5, 0), 3);
	EXPECT(pf[0].revents, 0);
	EXPECT(pf[1].revents, POLLOUT);
	EXPECT(pf[2].revents, POLLIN | POLLOUT);
	EXPECT(pf[3].revents, POLLOUT);
	EXPECT(pf[4].revents, 0);
	t0 = now_ms();
	EXPECT(K(SYS_poll, pf, 1, 100), 0);
	EXPECT_TRUE(now_ms() - t0 >= 90);
	struct pollfd bad = {77, POLLIN, 0};
	EXPECT(K(SYS_poll, &bad, 1, 0), 1);
	EXPECT(bad.revents, POLLNVAL);
	EXPECT(K(SYS_poll, pf, FD_DEFAULT_SOFT + 1, 0), -EINVAL);
	KTEST_SECTION("Woken by a write from another thread, long before the timeout");
	j = (struct job){p[1], 50, 3, 0};
	t0 = now_ms();
	pthread_create(&t, NULL, late_writer, &j);
	EXPECT(K(SYS_poll, pf, 1, 5000), 1);
	EXPECT(pf[0].revents, POLLIN);
	EXPECT_TRUE(now_ms() - t0 < 2000);
	pthread_join(t, NULL);
	EXPECT(K(SYS_poll, pf, 1, -1), 1); /* ready: an infinite timeout returns at once */
	struct timespec ts = {0, 0};
	EXPECT(K(SYS_ppoll, pf, 1, &ts, NULL, 8), 1);
	ts.tv_nsec = -1;
	EXPECT(K(SYS_ppoll, pf, 1, &ts, NULL, 8), -EINVAL);
	EXPECT(K(SYS_read, p[0], buf, sizeof(buf)), 3);
	ts = (struct timespec){0, 30000000};
	EXPECT(K(SYS_ppoll, pf, 1, &ts, NULL, 8), 0);
	EXPECT(ts.tv_sec, 0);
	EXPECT(ts.tv_nsec, 0);

	KTEST_SECTION("Hang-up and error conditions");
	EXPECT(K(SYS_pipe, q), 0);
	EXPECT(K(SYS_close, q[1]), 0);
	struct pollfd hup = {q[0], POLLIN, 0};
	EXPECT(K(SYS_poll, &hup, 1, 0), 1);
	EXPECT(hup.revents, POLLHUP);
	EXPECT(K(SYS_close, q[0]), 0);
	EXPECT(K(SYS_pipe, q), 0);
	EXPECT(K(SYS_close, q[0]), 0);
	struct pollfd err = {q[1], POLLOUT, 0};
	EXPECT(K(SYS_poll, &err, 1, 0), 1);
	EXPECT(err.revents, POLLERR);
	EXPECT(K(SYS_close, q[1]), 0);

	KTEST_SECTION("select");
	fd_set rs, ws;
	struct timeval tv = {0, 0};
	FD_ZERO(&rs);
	FD_ZERO(&ws);
	FD_SET(p[0], &rs);
	FD_SET(p[1], &ws);
	FD_SET(file, &rs);
	EXPECT(K(SYS_select, p[1] + 1 > file + 1 ? p[1] + 1 : file + 1, &rs, &ws, NULL, &tv), 2);
	EXPECT_TRUE(!FD_ISSET(p[0], &rs) && FD_ISSET(file, &rs) && FD_ISSET(p[1], &ws));
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	tv = (struct timeval){0, 50000};
	t0 = now_ms();
	EXPECT(K(SYS_select, p[0] + 1, &rs, NULL, NULL, &tv), 0);
	EXPECT_TRUE(now_ms() - t0 >= 40);
	EXPECT_TRUE(!FD_ISSET(p[0], &rs));
	EXPECT(tv.tv_sec, 0);
	EXPECT(tv.tv_usec, 0);
	FD_SET(p[0], &rs);
	j = (struct job){p[1], 30, 1, 0};
	pthread_create(&t, NULL, late_writer, &j);
	EXPECT(K(SYS_select, p[0] + 1, &rs, NULL, NULL, NULL), 1);
	EXPECT_TRUE(FD_ISSET(p[0], &rs));
	pthread_join(t, NULL);
	FD_ZERO(&rs);
	FD_SET(60, &rs);
	EXPECT(K(SYS_select, 61, &rs, NULL, NULL, &tv), -EBADF);
	EXPECT(K(SYS_select, -1, NULL, NULL, NULL, &tv), -EINVAL);
	tv.tv_usec = 2000000;
	EXPECT(K(SYS_select, 1, NULL, NULL, NULL, &tv), -EINVAL);
	FD_ZERO(&rs);
	FD_SET(p[0], &rs);
	ts = (struct timespec){1, 0};
	EXPECT(K(SYS_pselect6, p[0] + 1, &rs, NULL, NULL, &ts, NULL), 1);
	KTEST_SECTION("select with no descriptors is a sleep");
	tv = (struct timeval){0, 20000};
	t0 = now_ms();
	EXPECT(K(SYS_select, 0, NULL, NULL, NULL, &tv), 0);
	EXPECT_TRUE(now_ms() - t0 >= 15);

	return ktest_done();
}
