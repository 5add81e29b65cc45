/*
 * The ISO 9660 file system in a process (posix platform), over a
 * file-backed block device: tests/test_storage_fs.py makes the volumes
 * (rumprun mkfs iso, and pycdlib for Joliet-only and plain ones) and runs
 *
 *   build/posix/inputs/iso9660 IMAGE MOUNTPOINT [checks]
 *
 * It mounts IMAGE (type "auto": found by probing) and prints every entry
 * below the mount point as fsprobe's walk does ("walk: PATH TYPE ..."),
 * which the test compares with the host's tree; with "checks" it also
 * checks that every change is EROFS and statfs says ISO 9660, read-only.
 * A disk without a file system: "iso9660 IMAGE /x nofs" expects
 * ENODEV from the probe; "damaged" (a broken primary volume descriptor)
 * expects EINVAL.
 */
#include "kblk.h"
#include <kernel/fs.h>
#include <dirent.h>
#include <sys/statfs.h>
#include <sys/statvfs.h>
#include <sys/mman.h>

static void walk(const char *top, const char *rel)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s%s%s", top, *rel ? "/" : "", rel);
	long fd = K(SYS_open, path, O_RDONLY | O_DIRECTORY);
	if (fd < 0) {
		printf("walk: %s error %ld\n", path, fd);
		return;
	}
	static char names[4096][256];
	char buf[8192];
	int n = 0;
	long got;
	/* Small reads, so getdents must resume from its cookies. */
	while ((got = K(SYS_getdents64, fd, buf, 300)) > 0) {
		for (long off = 0; off < got;) {
			struct dirent *d = (struct dirent *)(buf + off);
			if (strcmp(d->d_name, ".") && strcmp(d->d_name, "..") && n < 4096)
				snprintf(names[n++], 256, "%s", d->d_name);
			off += d->d_reclen;
		}
	}
	K(SYS_close, fd);
	/* sort (small n; insertion) */
	static char tmp[256];
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && strcmp(names[j - 1], names[j]) > 0; j--) {
			memcpy(tmp, names[j], 256);
			memcpy(names[j], names[j - 1], 256);
			memcpy(names[j - 1], tmp, 256);
		}
	char(*mine)[256] = malloc((size_t)n * 256);
	memcpy(mine, names, (size_t)n * 256);
	for (int i = 0; i < n; i++) {
		char sub[4096], full[8192];
		struct stat st;
		snprintf(sub, sizeof(sub), "%s%s%s", rel, *rel ? "/" : "", mine[i]);
		snprintf(full, sizeof(full), "%s/%s", top, sub);
		long err = K(SYS_lstat, full, &st);
		if (err) {
			printf("walk: %s error %ld\n", sub, err);
			continue;
		}
		if (S_ISDIR(st.st_mode)) {
			printf("walk: %s d %o\n", sub, st.st_mode & 07777);
			walk(top, sub);
		} else if (S_ISLNK(st.st_mode)) {
			char t[4096];
			long k = K(SYS_readlink, full, t, sizeof(t) - 1);
			t[k < 0 ? 0 : k] = '\0';
			printf("walk: %s l ->%s\n", sub, t);
		} else {
			uint64_t h = 1469598103934665603ULL;
			long long size = 0;
			long f = K(SYS_open, full, O_RDONLY);
			static char data[100000]; /* odd size: reads cross sectors */
			while ((got = K(SYS_read, f, data, sizeof(data))) > 0) {
				for (long j = 0; j < got; j++)
					h = (h ^ (unsigned char)data[j]) * 1099511628211ULL;
				size += got;
			}
			K(SYS_close, f);
			printf("walk: %s f %o %lld %016llx %lld\n", sub, st.st_mode & 07777, size,
			    (unsigned long long)h, (long long)st.st_mtime);
		}
	}
	free(mine);
}

int main(int argc, char **argv)
{
	if (argc < 3)
		return 2;
	const char *mnt = argv[2];
	int checks = argc > 3 && strcmp(argv[3], "checks") == 0;
	int nofs = argc > 3 && strcmp(argv[3], "nofs") == 0;
	int damaged = argc > 3 && strcmp(argv[3], "damaged") == 0;

	ktest_boot();
	struct kblk *k = kblk_attach(argv[1], 0, 1);
	rumprun_posix_enter();
	long err = vfs_mount(mnt, "auto", &k->bd, NULL, 0, 1);
	rumprun_posix_leave();
	if (damaged) {
		KTEST_SECTION("a damaged volume descriptor is refused");
		EXPECT(err, -EINVAL);
		return ktest_done();
	}
	if (nofs) {
		KTEST_SECTION("a disk without a file system is not mounted");
		EXPECT(err, -ENODEV);
		return ktest_done();
	}
	if (err) {
		printf("FAIL mount %s: %ld\n", argv[1], err);
		return 1;
	}
	walk(mnt, "");
	printf("walk %s: end\n", mnt);
	if (!checks)
		return ktest_done();

	KTEST_SECTION("every change is EROFS");
	char p[512], q[512];
	snprintf(p, sizeof(p), "%s/new", mnt);
	EXPECT(K(SYS_open, p, O_WRONLY | O_CREAT, 0644), -EROFS);
	EXPECT(K(SYS_mkdir, p, 0755), -EROFS);
	snprintf(p, sizeof(p), "%s/script.sh", mnt);
	EXPECT(K(SYS_open, p, O_WRONLY), -EROFS);
	EXPECT(K(SYS_open, p, O_RDWR | O_TRUNC), -EROFS);
	EXPECT(K(SYS_truncate, p, 0), -EROFS);
	EXPECT(K(SYS_unlink, p), -EROFS);
	EXPECT(K(SYS_chmod, p, 0600), -EROFS);
	snprintf(q, sizeof(q), "%s/moved", mnt);
	EXPECT(K(SYS_rename, p, q), -EROFS);
	EXPECT(K(SYS_symlink, "x", q), -EROFS);
	long fd = EXPECT_OK(K(SYS_open, p, O_RDONLY));
	EXPECT(K(SYS_write, fd, "x", 1), -EBADF);
	char buf[64];
	EXPECT(K(SYS_read, fd, buf, 10), 10);
	EXPECT(memcmp(buf, "#!/bin/sh\n", 10), 0);
	EXPECT(K(SYS_read, fd, buf, 10), 0);
	EXPECT(K(SYS_pread64, fd, buf, 4, 2), 4);
	EXPECT(memcmp(buf, "/bin", 4), 0);
	K(SYS_close, fd);

	KTEST_SECTION("shared read-only mappings show the file's bytes");
	snprintf(p, sizeof(p), "%s/big.bin", mnt);
	fd = EXPECT_OK(K(SYS_open, p, O_RDONLY));
	unsigned char *map = (unsigned char *)K(SYS_mmap, 0, 3 << 20, PROT_READ, MAP_SHARED, fd, 0);
	EXPECT_TRUE((long)map > 0);
	unsigned char *again =
	    (unsigned char *)K(SYS_mmap, 0, 8192, PROT_READ, MAP_SHARED, fd, 4096);
	EXPECT_TRUE((long)again > 0);
	static unsigned char want[3 << 20];
	EXPECT(K(SYS_pread64, fd, want, sizeof(want), 0), sizeof(want));
	if ((long)map > 0 && (long)again > 0) {
		rumprun_posix_enter();
		int same =
		    memcmp(map, want, sizeof(want)) == 0 && memcmp(again, want + 4096, 8192) == 0;
		rumprun_posix_leave();
		EXPECT_TRUE(same);
		EXPECT(K(SYS_munmap, map, 3 << 20), 0);
		EXPECT(K(SYS_munmap, again, 8192), 0);
	}
	EXPECT(K(SYS_mmap, 0, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0), -EACCES);
	K(SYS_close, fd);

	KTEST_SECTION("statfs: ISO 9660, read-only");
	struct statfs sf;
	EXPECT(K(SYS_statfs, mnt, &sf), 0);
	EXPECT(sf.f_type, 0x9660);
	EXPECT_TRUE(sf.f_flags & ST_RDONLY);
	EXPECT_TRUE(sf.f_blocks > 1000);

	KTEST_SECTION("lookups: missing names, files as directories, '..' out of the mount");
	snprintf(p, sizeof(p), "%s/nothing/here", mnt);
	struct stat st, root;
	EXPECT(K(SYS_stat, p, &st), -ENOENT);
	snprintf(p, sizeof(p), "%s/script.sh/x", mnt);
	EXPECT(K(SYS_stat, p, &st), -ENOTDIR);
	snprintf(p, sizeof(p), "%s/a/b/..", mnt);
	snprintf(q, sizeof(q), "%s/a", mnt);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(K(SYS_stat, q, &root), 0);
	EXPECT_TRUE(st.st_ino == root.st_ino);
	snprintf(p, sizeof(p), "%s/..", mnt);
	EXPECT(K(SYS_stat, p, &st), 0);
	EXPECT(K(SYS_stat, "/", &root), 0);
	EXPECT_TRUE(st.st_ino == root.st_ino && st.st_dev == root.st_dev);
	snprintf(p, sizeof(p), "%s/link/d", mnt);
	EXPECT(K(SYS_stat, p, &st), 0); /* through the relative symlink */
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	return ktest_done();
}
