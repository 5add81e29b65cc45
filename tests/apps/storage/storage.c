/*
 * File work for the storage tests, the same source natively and in the
 * guest.  storage MODE DIR:
 *   work DIR      a deterministic workload (directories, files of many
 *                 sizes, holes, appends, truncation, renames, hard and
 *                 symbolic links, removals), then "work done"
 *   manifest DIR  every entry below DIR, sorted: type, mode, size, links,
 *                 symlink target or a checksum of the contents
 *   durable DIR   write and fsync DIR/durable.bin (4 MiB), print "synced",
 *                 then keep writing DIR/scratch without syncing, forever
 *   lazy DIR      write DIR/lazy.bin (1 MiB) without syncing, print
 *                 "written", then sleep for ever (the kernel's syncer must
 *                 write it back within seconds)
 *   abort DIR     write DIR/aborted.bin (64 KiB) without syncing, then abort()
 *   crash DIR     write DIR/crashed.bin (64 KiB) and DIR/crashed.dir/
 *                 without syncing, then dereference a null pointer
 *   spin DIR      write DIR/spun.bin (1 MiB) without syncing, print
 *                 "written", then compute for ever without a system call
 *   outlive DIR   wait (10 s at most) until another program has made
 *                 DIR/crashed.dir/inside or DIR/aborted.bin, write
 *                 DIR/outlived.bin (64 KiB) without syncing, print
 *                 "outlived"
 *   erofs DIR     try to change DIR; print the errno of each attempt
 *   raw DEV       block I/O on DEV: size, a write and read back at an odd
 *                 offset, fsync
 *   statfs DIR    f_type, whether read-only, free blocks below total
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#define BLKGETSIZE64_ 0x80081272

static char buf[1 << 20];

static void die(const char *what, const char *path)
{
	printf("FAILED %s %s: %s\n", what, path, strerror(errno));
	exit(1);
}

static void fill(long seed, long off, long n)
{
	for (long i = 0; i < n; i++)
		buf[i] = (char)(((off + i) * 131 + seed * 17 + ((off + i) >> 11)) & 0xff);
}

static void put(const char *dir, const char *name, long seed, long off, long len, int flags)
{
	char p[512];
	snprintf(p, sizeof(p), "%s/%s", dir, name);
	int fd = open(p, O_WRONLY | O_CREAT | flags, 0644);
	if (fd < 0)
		die("open", p);
	long done = 0;
	while (done < len) {
		long n = len - done < (long)sizeof(buf) ? len - done : (long)sizeof(buf);
		n = n > 70000 ? 70000 : n; /* odd-sized chunks */
		fill(seed, off + done, n);
		if (pwrite(fd, buf, n, off + done) != n)
			die("pwrite", p);
		done += n;
	}
	if (close(fd) != 0)
		die("close", p);
}

static void path(char *out, const char *dir, const char *name)
{
	snprintf(out, 512, "%s/%s", dir, name);
}

static int work(const char *d)
{
	char a[512], b[512];
	static const char *dirs[] = {"docs", "docs/deep", "docs/deep/er", "data", "empty", "tmp"};
	for (unsigned i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		path(a, d, dirs[i]);
		if (mkdir(a, 0755) != 0)
			die("mkdir", a);
	}
	static const long sizes[] = {
	    0, 1, 511, 4096, 4097, 49152, 50000, 1 << 20, 3 * (1 << 20) + 77};
	for (unsigned i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		char name[64];
		snprintf(name, sizeof(name), "data/size-%ld", sizes[i]);
		put(d, name, (long)i, 0, sizes[i], O_TRUNC);
	}
	put(d, "data/holey", 40, 5 << 20, 1000, 0); /* a 5 MiB hole, then data */
	put(d, "data/holey", 41, 100, 100, 0);
	put(d, "docs/log", 50, 0, 3000, 0);
	path(a, d, "docs/log");
	int fd = open(a, O_WRONLY | O_APPEND);
	for (int i = 0; i < 100; i++)
		if (write(fd, "another line of the log\n", 24) != 24)
			die("append", a);
	close(fd);
	path(a, d, "data/size-1048576");
	if (truncate(a, 300001) != 0)
		die("truncate", a);
	path(a, d, "data/size-4096");
	if (truncate(a, 10000) != 0)
		die("truncate", a);
	for (int i = 0; i < 120; i++) {
		char name[64];
		snprintf(name, sizeof(name), "docs/deep/er/note-%03d.txt", i);
		put(d, name, i, 0, 100 + i * 37, 0);
	}
	for (int i = 0; i < 120; i += 3) {
		char name[64];
		snprintf(name, sizeof(name), "docs/deep/er/note-%03d.txt", i);
		path(a, d, name);
		if (unlink(a) != 0)
			die("unlink", a);
	}
	path(a, d, "docs/log");
	path(b, d, "docs/deep/log.old");
	if (rename(a, b) != 0)
		die("rename", a);
	path(a, d, "docs/deep");
	path(b, d, "data/deep-moved");
	if (rename(a, b) != 0)
		die("rename", a);
	put(d, "tmp/replacement", 60, 0, 777, 0);
	path(a, d, "tmp/replacement");
	path(b, d, "data/size-511");
	if (rename(a, b) != 0)
		die("rename over", a);
	path(a, d, "data/size-50000");
	path(b, d, "data/hardlink");
	if (link(a, b) != 0)
		die("link", a);
	path(a, d, "data/short-link");
	if (symlink("size-50000", a) != 0)
		die("symlink", a);
	char target[200];
	memset(target, 'l', sizeof(target));
	memcpy(target, "../data/", 8);
	target[120] = '\0';
	path(a, d, "data/long-link");
	if (symlink(target, a) != 0)
		die("symlink", a);
	path(a, d, "tmp");
	if (rmdir(a) != 0)
		die("rmdir", a);
	path(a, d, "data/size-49152");
	if (chmod(a, 0600) != 0)
		die("chmod", a);
	sync();
	printf("work done\n");
	return 0;
}

/* A manifest line per entry, sorted by path. */
static char *lines[4096];
static int nlines;

static uint32_t crc_file(const char *p, long *size)
{
	uint32_t crc = 0xffffffff;
	int fd = open(p, O_RDONLY);
	ssize_t n;
	*size = 0;
	if (fd < 0)
		return 0;
	while ((n = read(fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			crc ^= (unsigned char)buf[i];
			for (int k = 0; k < 8; k++)
				crc = (crc >> 1) ^ (0xEDB88320 & -(crc & 1));
		}
		*size += n;
	}
	close(fd);
	return ~crc;
}

static void walk(const char *root, const char *rel)
{
	char p[1024];
	snprintf(p, sizeof(p), "%s%s%s", root, *rel ? "/" : "", rel);
	DIR *dir = opendir(p);
	struct dirent *e;
	if (dir == NULL)
		die("opendir", p);
	while ((e = readdir(dir)) != NULL) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..") ||
		    !strcmp(e->d_name, "lost+found"))
			continue;
		char r[1024], full[1100], line[1400];
		struct stat st;
		snprintf(r, sizeof(r), "%s%s%s", rel, *rel ? "/" : "", e->d_name);
		snprintf(full, sizeof(full), "%s/%s", root, r);
		if (lstat(full, &st) != 0)
			die("lstat", full);
		if (S_ISDIR(st.st_mode)) {
			snprintf(line, sizeof(line), "d %04o %s", st.st_mode & 07777, r);
			walk(root, r);
		} else if (S_ISLNK(st.st_mode)) {
			char t[512];
			ssize_t n = readlink(full, t, sizeof(t) - 1);
			t[n < 0 ? 0 : n] = '\0';
			snprintf(line, sizeof(line), "l %s -> %s", r, t);
		} else {
			long size;
			uint32_t crc = crc_file(full, &size);
			snprintf(line, sizeof(line), "f %04o %ld %ld %08x %s", st.st_mode & 07777,
			    (long)st.st_size, (long)st.st_nlink, crc, r);
			if (size != st.st_size)
				printf("FAILED %s: read %ld bytes, size says %ld\n", r, size,
				    (long)st.st_size);
		}
		lines[nlines++] = strdup(line);
	}
	closedir(dir);
}

static int cmp(const void *a, const void *b)
{
	return strcmp(strchr(*(char *const *)a, ' '), strchr(*(char *const *)b, ' '));
}

static int manifest(const char *d)
{
	walk(d, "");
	qsort(lines, nlines, sizeof(lines[0]), cmp);
	for (int i = 0; i < nlines; i++)
		printf("%s\n", lines[i]);
	printf("manifest: %d entries\n", nlines);
	return 0;
}

static int durable(const char *d)
{
	char p[512];
	put(d, "durable.bin", 99, 0, 4 << 20, O_TRUNC);
	path(p, d, "durable.bin");
	int fd = open(p, O_RDWR);
	if (fd < 0 || fsync(fd) != 0)
		die("fsync", p);
	close(fd);
	path(p, d, ".");
	fd = open(p, O_RDONLY | O_DIRECTORY);
	if (fd < 0 || fsync(fd) != 0)
		die("fsync dir", p);
	close(fd);
	printf("synced\n");
	fflush(stdout);
	for (long i = 0;; i++)
		put(d, "scratch", i, (i % 64) * 65536, 65536, 0);
}

static int lazy(const char *d)
{
	put(d, "lazy.bin", 98, 0, 1 << 20, O_TRUNC);
	printf("written\n");
	fflush(stdout);
	for (;;)
		sleep(1000);
}

static int erofs(const char *d)
{
	char p[512];
	path(p, d, "new");
	printf("create %d\n", open(p, O_CREAT | O_WRONLY, 0644) < 0 ? errno : 0);
	path(p, d, "newdir");
	printf("mkdir %d\n", mkdir(p, 0755) < 0 ? errno : 0);
	printf("chmod %d\n", chmod(d, 0700) < 0 ? errno : 0);
	struct statfs sf;
	printf("statfs-ro %d\n", statfs(d, &sf) == 0 ? (int)(sf.f_flags & 1) : -1);
	return 0;
}

static int raw(const char *dev)
{
	uint64_t size = 0;
	int fd = open(dev, O_RDWR);
	if (fd < 0)
		die("open", dev);
	if (ioctl(fd, BLKGETSIZE64_, &size) != 0)
		die("ioctl", dev);
	printf("size %llu end %lld\n", (unsigned long long)size, (long long)lseek(fd, 0, SEEK_END));
	if (pwrite(fd, "raw block data", 14, 1000) != 14)
		die("pwrite", dev);
	if (fsync(fd) != 0)
		die("fsync", dev);
	char back[15] = {0};
	if (pread(fd, back, 14, 1000) != 14)
		die("pread", dev);
	printf("read back '%s'\n", back);
	struct stat st;
	fstat(fd, &st);
	printf("block device %d\n", S_ISBLK(st.st_mode));
	close(fd);
	return 0;
}

static int do_statfs(const char *d)
{
	struct statfs sf;
	if (statfs(d, &sf) != 0)
		die("statfs", d);
	printf("type %lx ro %d free<total %d\n", (unsigned long)sf.f_type, (int)(sf.f_flags & 1),
	    sf.f_bfree < sf.f_blocks);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 3) {
		printf("usage: storage work|manifest|durable|erofs|raw|statfs DIR\n");
		return 2;
	}
	const char *mode = argv[1], *d = argv[2];
	if (!strcmp(mode, "work"))
		return work(d);
	if (!strcmp(mode, "manifest"))
		return manifest(d);
	if (!strcmp(mode, "durable"))
		return durable(d);
	if (!strcmp(mode, "abort")) {
		put(d, "aborted.bin", 97, 0, 65536, O_TRUNC);
		abort();
	}
	if (!strcmp(mode, "lazy"))
		return lazy(d);
	if (!strcmp(mode, "crash")) {
		char sub[4096];
		put(d, "crashed.bin", 96, 0, 65536, O_TRUNC);
		snprintf(sub, sizeof(sub), "%s/crashed.dir", d);
		if (mkdir(sub, 0755) != 0)
			die("mkdir", sub);
		put(sub, "inside", 95, 0, 5000, O_TRUNC);
		*(volatile int *)(uintptr_t)argc = 0; /* argc is 3: a null page address */
		return 1;
	}
	if (!strcmp(mode, "outlive")) {
		char p[512], q[512];
		struct stat st;
		path(p, d, "crashed.dir/inside");
		path(q, d, "aborted.bin");
		for (int i = 0; i < 1000 && stat(p, &st) != 0 && stat(q, &st) != 0; i++)
			usleep(10000);
		usleep(200000); /* the other program has crashed by now */
		put(d, "outlived.bin", 93, 0, 65536, O_TRUNC);
		printf("outlived\n");
		return 0;
	}
	if (!strcmp(mode, "spin")) {
		put(d, "spun.bin", 94, 0, 1 << 20, O_TRUNC);
		printf("written\n");
		fflush(stdout);
		for (volatile unsigned long n = 0;; n++)
			;
	}
	if (!strcmp(mode, "erofs"))
		return erofs(d);
	if (!strcmp(mode, "raw"))
		return raw(d);
	if (!strcmp(mode, "statfs"))
		return do_statfs(d);
	printf("unknown mode %s\n", mode);
	return 2;
}
