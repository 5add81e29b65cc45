/*
 * fsprobe: file system commands for the storage tests, one result line
 * each, so a test reads what the guest saw the way a user would.
 *
 *   fsprobe CMD ARGS [, CMD ARGS ...]      (commands separated by ",")
 *
 *   walk DIR        every entry below DIR, sorted: "walk: PATH TYPE MODE SIZE SUM|->TARGET"
 *   cat PATH        "cat PATH: CONTENTS"
 *   stat PATH       "stat PATH: mode=OCT size=N nlink=N mtime=SECS"
 *   write PATH TEXT create/truncate, write TEXT, fsync: "write PATH: ok" or ": error ENAME"
 *   append PATH TEXT
 *   mkdir PATH, rmdir PATH, unlink PATH, rename FROM TO, symlink TARGET PATH, chmod OCT PATH,
 *   link FROM TO, truncate PATH LEN, utime PATH SECS (atime and mtime)
 *   unlinkread PATH open it, unlink it, then read it: "unlinkread PATH: CONTENTS"
 *   statfs PATH     "statfs PATH: type=HEX ro=0|1"
 *   readbench PATH ROUNDS   read the file ROUNDS times in 1 MiB reads: "readbench PATH: BYTES bytes NS ns"
 *   writebench PATH MIB     write MIB MiB in 1 MiB writes, fsync: "writebench PATH: BYTES bytes NS ns"
 *
 * Errors are "CMD PATH: error ENAME".  Exit status 0 unless the command
 * line is wrong (2).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

static const char *ename(int e)
{
	switch (e) {
	case EROFS:
		return "EROFS";
	case ENOENT:
		return "ENOENT";
	case EACCES:
		return "EACCES";
	case EPERM:
		return "EPERM";
	case EEXIST:
		return "EEXIST";
	case ENOTEMPTY:
		return "ENOTEMPTY";
	case ENOTDIR:
		return "ENOTDIR";
	case EISDIR:
		return "EISDIR";
	case EIO:
		return "EIO";
	case EINVAL:
		return "EINVAL";
	case ENOSPC:
		return "ENOSPC";
	case EXDEV:
		return "EXDEV";
	case EBUSY:
		return "EBUSY";
	default:
		return "E?";
	}
}

static int fail(const char *cmd, const char *path)
{
	printf("%s %s: error %s\n", cmd, path, ename(errno));
	return 0;
}

/* FNV-1a over the file's bytes. */
static int sum_file(const char *path, uint64_t *h, long long *size)
{
	static char buf[1 << 16];
	int fd = open(path, O_RDONLY);
	if (fd < 0)
		return -1;
	*h = 1469598103934665603ULL;
	*size = 0;
	ssize_t n;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++)
			*h = (*h ^ (unsigned char)buf[i]) * 1099511628211ULL;
		*size += n;
	}
	close(fd);
	return n < 0 ? -1 : 0;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *top, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", top, *rel ? "/" : "", rel);
	DIR *d = opendir(path);
	if (d == NULL) {
		fail("walk", path);
		return;
	}
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 64;
			names = realloc(names, cap * sizeof(*names));
		}
		names[n++] = strdup(e->d_name);
	}
	closedir(d);
	qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		char sub[4096], full[4096];
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", names[i]);
		snprintf(full, sizeof(full), "%s/%s", top, sub);
		struct stat st;
		if (lstat(full, &st) != 0) {
			fail("walk", full);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			printf("walk: %s d %o\n", sub, st.st_mode & 07777);
			walk(top, sub);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			ssize_t k = readlink(full, t, sizeof(t) - 1);
			t[k < 0 ? 0 : k] = '\0';
			printf("walk: %s l ->%s\n", sub, t);
		} else {
			uint64_t h;
			long long size;
			if (sum_file(full, &h, &size) != 0)
				fail("walk", full);
			else
				printf("walk: %s f %o %lld %016llx %lld\n", sub, st.st_mode & 07777,
				    size, (unsigned long long)h, (long long)st.st_mtime);
		}
		free(names[i]);
	}
	free(names);
}

static int64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int put_file(const char *cmd, const char *path, const char *text, int flags)
{
	int fd = open(path, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		return fail(cmd, path);
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len || fsync(fd) != 0) {
		fail(cmd, path);
		close(fd);
		return 0;
	}
	if (close(fd) != 0)
		return fail(cmd, path);
	printf("%s %s: ok\n", cmd, path);
	return 0;
}

static int run(int argc, char **argv)
{
	const char *cmd = argv[0];
	const char *a = argc > 1 ? argv[1] : "", *b = argc > 2 ? argv[2] : "";
	struct stat st;

	if (strcmp(cmd, "walk") == 0 && argc == 2) {
		walk(a, "");
		printf("walk %s: end\n", a);
	} else if (strcmp(cmd, "cat") == 0 && argc == 2) {
		char buf[4096];
		int fd = open(a, O_RDONLY);
		if (fd < 0)
			return fail(cmd, a);
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return fail(cmd, a);
		buf[n] = '\0';
		printf("cat %s: %s\n", a, buf);
	} else if ((strcmp(cmd, "stat") == 0 || strcmp(cmd, "lstat") == 0) && argc == 2) {
		if ((cmd[0] == 's' ? stat(a, &st) : lstat(a, &st)) != 0)
			return fail(cmd, a);
		printf("%s %s: mode=%o size=%lld nlink=%ld mtime=%lld\n", cmd, a, st.st_mode,
		    (long long)st.st_size, (long)st.st_nlink, (long long)st.st_mtime);
	} else if (strcmp(cmd, "write") == 0 && argc == 3) {
		return put_file(cmd, a, b, O_TRUNC);
	} else if (strcmp(cmd, "append") == 0 && argc == 3) {
		return put_file(cmd, a, b, O_APPEND);
	} else if (strcmp(cmd, "mkdir") == 0 && argc == 2) {
		if (mkdir(a, 0755) != 0)
			return fail(cmd, a);
		printf("mkdir %s: ok\n", a);
	} else if (strcmp(cmd, "rmdir") == 0 && argc == 2) {
		if (rmdir(a) != 0)
			return fail(cmd, a);
		printf("rmdir %s: ok\n", a);
	} else if (strcmp(cmd, "unlink") == 0 && argc == 2) {
		if (unlink(a) != 0)
			return fail(cmd, a);
		printf("unlink %s: ok\n", a);
	} else if (strcmp(cmd, "rename") == 0 && argc == 3) {
		if (rename(a, b) != 0)
			return fail(cmd, a);
		printf("rename %s: ok\n", a);
	} else if (strcmp(cmd, "symlink") == 0 && argc == 3) {
		if (symlink(a, b) != 0)
			return fail(cmd, b);
		printf("symlink %s: ok\n", b);
	} else if (strcmp(cmd, "unlinkread") == 0 && argc == 2) {
		char buf[256];
		int fd = open(a, O_RDONLY);
		if (fd < 0 || unlink(a) != 0)
			return fail(cmd, a);
		ssize_t n = read(fd, buf, sizeof(buf) - 1);
		close(fd);
		if (n < 0)
			return fail(cmd, a);
		buf[n] = '\0';
		printf("unlinkread %s: %s\n", a, buf);
	} else if (strcmp(cmd, "link") == 0 && argc == 3) {
		if (link(a, b) != 0)
			return fail(cmd, b);
		printf("link %s: ok\n", b);
	} else if (strcmp(cmd, "truncate") == 0 && argc == 3) {
		if (truncate(a, atoll(b)) != 0)
			return fail(cmd, a);
		printf("truncate %s: ok\n", a);
	} else if (strcmp(cmd, "utime") == 0 && argc == 3) {
		struct timespec ts[2] = {{atoll(b), 0}, {atoll(b), 0}};
		if (utimensat(AT_FDCWD, a, ts, 0) != 0)
			return fail(cmd, a);
		printf("utime %s: ok\n", a);
	} else if (strcmp(cmd, "chmod") == 0 && argc == 3) {
		if (chmod(b, strtol(a, NULL, 8)) != 0)
			return fail(cmd, b);
		printf("chmod %s: ok\n", b);
	} else if (strcmp(cmd, "statfs") == 0 && argc == 2) {
		struct statfs sf;
		struct statvfs sv;
		if (statfs(a, &sf) != 0 || statvfs(a, &sv) != 0)
			return fail(cmd, a);
		printf("statfs %s: type=%lx ro=%d\n", a, (unsigned long)sf.f_type,
		    (sv.f_flag & ST_RDONLY) ? 1 : 0);
	} else if (strcmp(cmd, "readbench") == 0 && argc == 3) {
		static char buf[1 << 20];
		long long total = 0;
		int rounds = atoi(b);
		int64_t t0 = now_ns();
		for (int r = 0; r < rounds; r++) {
			int fd = open(a, O_RDONLY);
			if (fd < 0)
				return fail(cmd, a);
			ssize_t n;
			while ((n = read(fd, buf, sizeof(buf))) > 0)
				total += n;
			close(fd);
			if (n < 0)
				return fail(cmd, a);
		}
		printf("readbench %s: %lld bytes %lld ns\n", a, total, (long long)(now_ns() - t0));
	} else if (strcmp(cmd, "writebench") == 0 && argc == 3) {
		static char buf[1 << 20];
		memset(buf, 'w', sizeof(buf));
		int mib = atoi(b);
		int64_t t0 = now_ns();
		int fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		if (fd < 0)
			return fail(cmd, a);
		for (int i = 0; i < mib; i++)
			if (write(fd, buf, sizeof(buf)) != (ssize_t)sizeof(buf))
				return fail(cmd, a);
		if (fsync(fd) != 0 || close(fd) != 0)
			return fail(cmd, a);
		printf("writebench %s: %lld bytes %lld ns\n", a, (long long)mib << 20,
		    (long long)(now_ns() - t0));
	} else {
		fprintf(stderr, "fsprobe: bad command %s (%d words)\n", cmd, argc);
		return 2;
	}
	return 0;
}

int main(int argc, char **argv)
{
	int start = 1;
	for (int i = 1; i <= argc; i++) {
		if (i == argc || strcmp(argv[i], ",") == 0) {
			if (i > start) {
				int err = run(i - start, argv + start);
				if (err)
					return err;
			}
			start = i + 1;
		}
	}
	fflush(stdout);
	return 0;
}
