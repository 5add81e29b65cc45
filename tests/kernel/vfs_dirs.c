/* Directories and names: mkdir, rmdir, unlink, rename, links, getdents64, cwd. */
#include "ktest.h"
#include <dirent.h>

/* Names in directory fd, read with getdents64 in chunks of bufsize, sorted into one string. */
static void list_dir(long fd, size_t bufsize, char *out, size_t outsize)
{
	char buf[4096], names[64][64];
	int n = 0;
	long got;
	K(SYS_lseek, fd, 0, SEEK_SET);
	while ((got = K(SYS_getdents64, fd, buf, bufsize)) > 0) {
		for (long off = 0; off < got;) {
			struct dirent *d = (struct dirent *)(buf + off);
			if (n < 64)
				snprintf(names[n++], 64, "%.63s", d->d_name);
			off += d->d_reclen;
		}
	}
	for (int i = 0; i < n; i++)
		for (int j = i + 1; j < n; j++)
			if (strcmp(names[i], names[j]) > 0) {
				char t[64];
				memcpy(t, names[i], 64);
				memcpy(names[i], names[j], 64);
				memcpy(names[j], t, 64);
			}
	out[0] = '\0';
	for (int i = 0; i < n; i++) {
		strncat(out, names[i], outsize - strlen(out) - 2);
		strcat(out, " ");
	}
}

int main(void)
{
	char buf[4096], list[1024];
	struct stat st;
	long fd, fd2;

	ktest_boot();

	KTEST_SECTION("mkdir / rmdir and their errors");
	EXPECT(K(SYS_mkdir, "/tmp/d", 0755), 0);
	EXPECT(K(SYS_mkdir, "/tmp/d", 0755), -EEXIST);
	EXPECT(K(SYS_mkdir, "/tmp/d/", 0755), -EEXIST);
	EXPECT(K(SYS_mkdir, "/tmp/x/y", 0755), -ENOENT);
	EXPECT(K(SYS_mkdir, "/", 0755), -EEXIST);
	EXPECT(K(SYS_mkdir, "/tmp/d/e/", 0700), 0);
	EXPECT(K(SYS_stat, "/tmp/d", &st), 0);
	EXPECT(st.st_nlink, 3);
	EXPECT(st.st_mode, S_IFDIR | 0755);
	EXPECT(K(SYS_rmdir, "/tmp/d"), -ENOTEMPTY);
	EXPECT(K(SYS_rmdir, "/tmp/d/e/."), -EINVAL);
	EXPECT(K(SYS_rmdir, "/tmp/d/e/.."), -ENOTEMPTY);
	EXPECT(K(SYS_rmdir, "/"), -EBUSY);
	EXPECT(K(SYS_rmdir, "/tmp/none"), -ENOENT);
	fd = EXPECT_OK(K(SYS_open, "/tmp/d/f", O_CREAT | O_WRONLY, 0644));
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_rmdir, "/tmp/d/f"), -ENOTDIR);
	EXPECT(K(SYS_mkdir, "/tmp/d/f/g", 0755), -ENOTDIR);
	EXPECT(K(SYS_mkdirat, AT_FDCWD, "tmp/d/h", 0755), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/d", O_RDONLY | O_DIRECTORY));
	EXPECT(K(SYS_mkdirat, fd, "i", 0755), 0);
	EXPECT(K(SYS_stat, "/tmp/d/i", &st), 0);
	EXPECT(K(SYS_unlinkat, fd, "i", AT_REMOVEDIR), 0);
	EXPECT(K(SYS_unlinkat, fd, "i", AT_REMOVEDIR), -ENOENT);
	EXPECT(K(SYS_unlinkat, fd, "h", 0), -EISDIR);
	EXPECT(K(SYS_unlinkat, fd, "h", 0x1), -EINVAL);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_rmdir, "/tmp/d/h"), 0);

	KTEST_SECTION("unlink");
	EXPECT(K(SYS_unlink, "/tmp/d/e"), -EISDIR);
	EXPECT(K(SYS_unlink, "/tmp/d/none"), -ENOENT);
	EXPECT(K(SYS_unlink, "/tmp/d/f/"), -ENOTDIR);
	EXPECT(K(SYS_unlink, "/tmp/d/f"), 0);
	EXPECT(K(SYS_stat, "/tmp/d/f", &st), -ENOENT);

	KTEST_SECTION("An unlinked file that is still open keeps its data until the last close");
	fd = EXPECT_OK(K(SYS_open, "/tmp/keep", O_CREAT | O_RDWR, 0644));
	EXPECT(kput(fd, "still here"), 10);
	EXPECT(K(SYS_unlink, "/tmp/keep"), 0);
	EXPECT(K(SYS_open, "/tmp/keep", O_RDONLY), -ENOENT);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_nlink, 0);
	memset(buf, 0, 64);
	EXPECT(K(SYS_pread64, fd, buf, 64, 0), 10);
	EXPECT_TRUE(strcmp(buf, "still here") == 0);
	EXPECT(kput(fd, "!"), 1);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("Hard links");
	fd = EXPECT_OK(K(SYS_open, "/tmp/l1", O_CREAT | O_RDWR, 0644));
	EXPECT(kput(fd, "linked"), 6);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_link, "/tmp/l1", "/tmp/l2"), 0);
	EXPECT(K(SYS_link, "/tmp/l1", "/tmp/l2"), -EEXIST);
	EXPECT(K(SYS_link, "/tmp/none", "/tmp/l3"), -ENOENT);
	EXPECT(K(SYS_link, "/tmp/d", "/tmp/l3"), -EPERM);
	EXPECT(K(SYS_stat, "/tmp/l2", &st), 0);
	EXPECT(st.st_nlink, 2);
	EXPECT(K(SYS_unlink, "/tmp/l1"), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/l2", O_RDONLY));
	memset(buf, 0, 64);
	EXPECT(K(SYS_read, fd, buf, 64), 6);
	EXPECT_TRUE(strcmp(buf, "linked") == 0);
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT(st.st_nlink, 1);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_linkat, AT_FDCWD, "/tmp/l2", AT_FDCWD, "/tmp/l4", 0), 0);

	KTEST_SECTION("Symbolic links");
	EXPECT(K(SYS_symlink, "l2", "/tmp/s1"), 0);
	EXPECT(K(SYS_symlink, "l2", "/tmp/s1"), -EEXIST);
	EXPECT(K(SYS_symlink, "", "/tmp/s9"), -ENOENT);
	EXPECT(K(SYS_symlink, "/tmp/d", "/tmp/sd"), 0);
	EXPECT(K(SYS_symlink, "/tmp/loop2", "/tmp/loop1"), 0);
	EXPECT(K(SYS_symlink, "/tmp/loop1", "/tmp/loop2"), 0);
	EXPECT(K(SYS_symlink, "nowhere", "/tmp/dangling"), 0);
	memset(buf, 0, 64);
	EXPECT(K(SYS_readlink, "/tmp/s1", buf, 64), 2);
	EXPECT_TRUE(strcmp(buf, "l2") == 0);
	EXPECT(K(SYS_readlink, "/tmp/s1", buf, 1), 1);
	EXPECT(K(SYS_readlink, "/tmp/l2", buf, 64), -EINVAL);
	EXPECT(K(SYS_readlink, "/tmp/none", buf, 64), -ENOENT);
	EXPECT(K(SYS_readlinkat, AT_FDCWD, "tmp/s1", buf, 64), 2);
	EXPECT(K(SYS_stat, "/tmp/s1", &st), 0);
	EXPECT_TRUE(S_ISREG(st.st_mode));
	EXPECT(st.st_size, 6);
	EXPECT(K(SYS_lstat, "/tmp/s1", &st), 0);
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT(st.st_size, 2);
	EXPECT(K(SYS_stat, "/tmp/sd/e", &st), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT(K(SYS_stat, "/tmp/loop1", &st), -ELOOP);
	EXPECT(K(SYS_stat, "/tmp/dangling", &st), -ENOENT);
	EXPECT(K(SYS_lstat, "/tmp/dangling", &st), 0);
	EXPECT(K(SYS_open, "/tmp/s1", O_RDONLY | O_NOFOLLOW), -ELOOP);
	fd = EXPECT_OK(K(SYS_open, "/tmp/s1", O_RDONLY));
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/s1", O_PATH | O_NOFOLLOW));
	EXPECT(K(SYS_fstat, fd, &st), 0);
	EXPECT_TRUE(S_ISLNK(st.st_mode));
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_lstat, "/tmp/sd/", &st), 0); /* trailing slash follows */
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT(K(SYS_unlink, "/tmp/sd"), 0); /* removes the link, not the dir */
	EXPECT(K(SYS_stat, "/tmp/d", &st), 0);

	KTEST_SECTION("rename");
	fd = EXPECT_OK(K(SYS_open, "/tmp/r1", O_CREAT | O_WRONLY, 0644));
	EXPECT(kput(fd, "one"), 3);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/r2", O_CREAT | O_WRONLY, 0644));
	EXPECT(kput(fd, "two!"), 4);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_rename, "/tmp/r1", "/tmp/r2"), 0);
	EXPECT(K(SYS_stat, "/tmp/r1", &st), -ENOENT);
	EXPECT(K(SYS_stat, "/tmp/r2", &st), 0);
	EXPECT(st.st_size, 3);
	EXPECT(K(SYS_rename, "/tmp/r2", "/tmp/r2"), 0);
	EXPECT(K(SYS_rename, "/tmp/none", "/tmp/r3"), -ENOENT);
	EXPECT(K(SYS_rename, "/tmp/r2", "/tmp/d"), -EISDIR);
	EXPECT(K(SYS_rename, "/tmp/d", "/tmp/r2"), -ENOTDIR);
	EXPECT(K(SYS_rename, "/tmp/d", "/tmp/d/e/inside"), -EINVAL);
	EXPECT(K(SYS_rename, "/tmp/d", "/tmp/."), -EBUSY);
	EXPECT(K(SYS_mkdir, "/tmp/full", 0755), 0);
	EXPECT(K(SYS_mkdir, "/tmp/full/x", 0755), 0);
	EXPECT(K(SYS_rename, "/tmp/d", "/tmp/full"), -ENOTEMPTY);
	EXPECT(K(SYS_mkdir, "/tmp/empty", 0755), 0);
	EXPECT(K(SYS_rename, "/tmp/d", "/tmp/empty"), 0); /* replaces an empty dir */
	EXPECT(K(SYS_stat, "/tmp/empty/e", &st), 0);
	EXPECT(K(SYS_rename, "/tmp/empty", "/tmp/full/x/moved"), 0);
	EXPECT(K(SYS_stat, "/tmp/full/x", &st), 0);
	EXPECT(st.st_nlink, 3);
	EXPECT(K(SYS_stat, "/tmp/full/x/moved/e/..", &st), 0);
	EXPECT(
	    K(SYS_renameat2, AT_FDCWD, "/tmp/r2", AT_FDCWD, "/tmp/l2", 1 /* NOREPLACE */), -EEXIST);
	EXPECT(K(SYS_renameat2, AT_FDCWD, "/tmp/r2", AT_FDCWD, "/tmp/r5", 1), 0);
	EXPECT(K(SYS_renameat, AT_FDCWD, "/tmp/r5", AT_FDCWD, "/tmp/r6"), 0);
	EXPECT(K(SYS_stat, "/tmp/r6", &st), 0);

	KTEST_SECTION("getdents64");
	EXPECT(K(SYS_mkdir, "/tmp/ls", 0755), 0);
	for (int i = 0; i < 40; i++) {
		char name[64];
		snprintf(name, sizeof(name), "/tmp/ls/file-with-a-long-name-%02d", i);
		fd = K(SYS_open, name, O_CREAT | O_WRONLY, 0644);
		K(SYS_close, fd);
	}
	EXPECT(K(SYS_mkdir, "/tmp/ls/sub", 0755), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/ls", O_RDONLY | O_DIRECTORY));
	list_dir(fd, 4096, list, sizeof(list));
	EXPECT_TRUE(strncmp(list, ". .. file-with-a-long-name-00 ", 30) == 0);
	EXPECT_TRUE(strstr(list, "file-with-a-long-name-39 sub ") != NULL);
	char list2[1024];
	list_dir(fd, 100, list2, sizeof(list2)); /* small buffer: many calls */
	EXPECT_TRUE(strcmp(list, list2) == 0);
	EXPECT(K(SYS_lseek, fd, 0, SEEK_SET), 0);
	EXPECT(K(SYS_getdents64, fd, buf, 10), -EINVAL);
	struct dirent *de = (struct dirent *)buf;
	EXPECT_OK(K(SYS_getdents64, fd, buf, sizeof(buf)));
	EXPECT(de->d_type, DT_DIR);
	EXPECT_TRUE(strcmp(de->d_name, ".") == 0);
	KTEST_SECTION("Removing entries while reading neither repeats nor skips the others");
	EXPECT(K(SYS_lseek, fd, 0, SEEK_SET), 0);
	EXPECT_OK(K(SYS_getdents64, fd, buf, 200));
	EXPECT(K(SYS_unlink, "/tmp/ls/file-with-a-long-name-00"), 0);
	EXPECT(K(SYS_unlink, "/tmp/ls/file-with-a-long-name-30"), 0);
	int count = 0;
	long got;
	while ((got = K(SYS_getdents64, fd, buf, sizeof(buf))) > 0)
		for (long off = 0; off < got; off += ((struct dirent *)(buf + off))->d_reclen)
			count++;
	EXPECT_TRUE(count >= 36 && count <= 39);
	fd2 = EXPECT_OK(K(SYS_open, "/tmp/ls/sub", O_RDONLY));
	EXPECT(K(SYS_getdents64, fd2, buf, sizeof(buf)), 48); /* . and .. */
	EXPECT(K(SYS_getdents64, fd2, buf, sizeof(buf)), 0);
	EXPECT(K(SYS_close, fd2), 0);
	fd2 = EXPECT_OK(K(SYS_open, "/tmp/r6", O_RDONLY));
	EXPECT(K(SYS_getdents64, fd2, buf, sizeof(buf)), -ENOTDIR);
	EXPECT(K(SYS_close, fd2), 0);
	EXPECT(K(SYS_getdents64, 99, buf, sizeof(buf)), -EBADF);
	EXPECT(K(SYS_close, fd), 0);

	KTEST_SECTION("The current directory");
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), 2);
	EXPECT_TRUE(strcmp(buf, "/") == 0);
	EXPECT(K(SYS_chdir, "/tmp/full/x"), 0);
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), 12);
	EXPECT_TRUE(strcmp(buf, "/tmp/full/x") == 0);
	EXPECT(K(SYS_getcwd, buf, 5), -ERANGE);
	EXPECT(K(SYS_stat, "moved/e", &st), 0);
	fd = EXPECT_OK(K(SYS_open, "rel", O_CREAT | O_WRONLY, 0644));
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_stat, "/tmp/full/x/rel", &st), 0);
	EXPECT(K(SYS_chdir, ".."), 0);
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), 10);
	EXPECT(K(SYS_chdir, "../../.."), 0);
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), 2);
	EXPECT(K(SYS_chdir, "/tmp/r6"), -ENOTDIR);
	EXPECT(K(SYS_chdir, "/tmp/none"), -ENOENT);
	fd = EXPECT_OK(K(SYS_open, "/tmp/ls", O_RDONLY | O_DIRECTORY));
	EXPECT(K(SYS_fchdir, fd), 0);
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), 8);
	EXPECT_TRUE(strcmp(buf, "/tmp/ls") == 0);
	EXPECT(K(SYS_close, fd), 0);
	fd = EXPECT_OK(K(SYS_open, "/tmp/r6", O_RDONLY));
	EXPECT(K(SYS_fchdir, fd), -ENOTDIR);
	EXPECT(K(SYS_close, fd), 0);
	EXPECT(K(SYS_fchdir, 99), -EBADF);
	KTEST_SECTION("A removed cwd: getcwd fails with ENOENT, creating in it too");
	EXPECT(K(SYS_mkdir, "/tmp/gone", 0755), 0);
	EXPECT(K(SYS_chdir, "/tmp/gone"), 0);
	EXPECT(K(SYS_rmdir, "/tmp/gone"), 0);
	EXPECT(K(SYS_getcwd, buf, sizeof(buf)), -ENOENT);
	EXPECT(K(SYS_open, "f", O_CREAT | O_WRONLY, 0644), -ENOENT);
	EXPECT(K(SYS_chdir, "/"), 0);

	KTEST_SECTION("Paths: '.', '..', repeated slashes, the root's '..'");
	EXPECT(K(SYS_stat, "//tmp///ls/./sub/../sub//", &st), 0);
	EXPECT_TRUE(S_ISDIR(st.st_mode));
	EXPECT(K(SYS_stat, "/../../tmp", &st), 0);
	EXPECT(K(SYS_stat, "/tmp/r6/..", &st), -ENOTDIR);

	return ktest_done();
}
