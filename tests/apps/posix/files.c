/*
 * Files through the libc, in the unikernel: stdio on /tmp, directories,
 * stat, the user database, pipes and poll, dup2, /dev.  Prints one line
 * per step ("ok ..." or "FAIL ...") and exits with the number of failures.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../apptest.h"

int failures;

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void)
{
	char line[256];
	struct stat st;

	/* stdio on /tmp */
	FILE *f = fopen("/tmp/notes.txt", "w");
	CHECK_SAY(f != NULL, "fopen /tmp/notes.txt for writing");
	for (int i = 0; i < 100; i++)
		fprintf(f, "line %d\n", i);
	CHECK_SAY(fclose(f) == 0, "fclose");
	CHECK_SAY(stat("/tmp/notes.txt", &st) == 0 && st.st_size == 790, "stat size %lld",
	    (long long)st.st_size);
	f = fopen("/tmp/notes.txt", "r");
	int n = 0;
	while (f && fgets(line, sizeof(line), f))
		n++;
	CHECK_SAY(f && n == 100, "read back %d lines", n);
	if (f)
		fclose(f);
	f = fopen("/tmp/notes.txt", "a+");
	fputs("appended\n", f);
	fseek(f, -9, SEEK_END);
	CHECK_SAY(
	    fgets(line, sizeof(line), f) && strcmp(line, "appended\n") == 0, "append and seek");
	fclose(f);

	/* directories */
	CHECK_SAY(mkdir("/tmp/dir", 0755) == 0, "mkdir /tmp/dir");
	CHECK_SAY(mkdir("/tmp/dir", 0755) == -1 && errno == EEXIST, "mkdir again: EEXIST");
	for (int i = 0; i < 5; i++) {
		snprintf(line, sizeof(line), "/tmp/dir/file%d", i);
		int fd = open(line, O_CREAT | O_WRONLY | O_EXCL, 0644);
		write(fd, line, strlen(line));
		close(fd);
	}
	DIR *d = opendir("/tmp/dir");
	char *names[16];
	int count = 0;
	struct dirent *de;
	while (d && (de = readdir(d)) && count < 16)
		names[count++] = strdup(de->d_name);
	if (d)
		closedir(d);
	qsort(names, count, sizeof(char *), cmp);
	line[0] = '\0';
	for (int i = 0; i < count; i++) {
		strcat(line, names[i]);
		strcat(line, " ");
	}
	CHECK_SAY(count == 7, "readdir: %s", line);
	CHECK_SAY(rename("/tmp/dir/file0", "/tmp/dir/renamed") == 0, "rename");
	CHECK_SAY(unlink("/tmp/dir/file1") == 0, "unlink");
	CHECK_SAY(access("/tmp/dir/file1", F_OK) == -1 && errno == ENOENT, "access: ENOENT");
	CHECK_SAY(rmdir("/tmp/dir") == -1 && errno == ENOTEMPTY, "rmdir non-empty: ENOTEMPTY");
	CHECK_SAY(
	    chdir("/tmp/dir") == 0 && getcwd(line, sizeof(line)) && strcmp(line, "/tmp/dir") == 0,
	    "chdir, getcwd = %s", line);
	CHECK_SAY(stat("renamed", &st) == 0 && S_ISREG(st.st_mode), "relative stat");
	CHECK_SAY(symlink("renamed", "link") == 0 && readlink("link", line, sizeof(line)) == 7,
	    "symlink, readlink");
	chdir("/");

	/* the user database, straight from /etc */
	struct passwd *pw = getpwnam("root");
	CHECK_SAY(pw && pw->pw_uid == 0 && strcmp(pw->pw_dir, "/root") == 0,
	    "getpwnam(root): uid %d home %s", pw ? (int)pw->pw_uid : -1, pw ? pw->pw_dir : "-");
	struct group *gr = getgrgid(0);
	CHECK_SAY(
	    gr && strcmp(gr->gr_name, "root") == 0, "getgrgid(0): %s", gr ? gr->gr_name : "-");
	CHECK_SAY(getpwnam("nosuchuser") == NULL, "getpwnam(nosuchuser) = NULL");

	/* pipes and poll */
	int p[2];
	CHECK_SAY(pipe(p) == 0, "pipe");
	struct pollfd pfd = {p[0], POLLIN, 0};
	CHECK_SAY(poll(&pfd, 1, 10) == 0, "poll on an empty pipe times out");
	write(p[1], "through the pipe", 16);
	CHECK_SAY(poll(&pfd, 1, 1000) == 1 && (pfd.revents & POLLIN), "poll sees data");
	memset(line, 0, sizeof(line));
	CHECK_SAY(read(p[0], line, sizeof(line)) == 16 && strcmp(line, "through the pipe") == 0,
	    "read from the pipe");
	close(p[1]);
	CHECK_SAY(read(p[0], line, sizeof(line)) == 0, "EOF after the writer closes");
	close(p[0]);

	/* dup2 stdout into a file and back */
	fflush(stdout);
	int saved = dup(1);
	int fd = open("/tmp/captured", O_CREAT | O_WRONLY | O_TRUNC, 0644);
	dup2(fd, 1);
	close(fd);
	printf("captured text\n");
	fflush(stdout);
	dup2(saved, 1);
	close(saved);
	f = fopen("/tmp/captured", "r");
	CHECK_SAY(f && fgets(line, sizeof(line), f) && strcmp(line, "captured text\n") == 0,
	    "dup2 redirected stdout into a file");
	if (f)
		fclose(f);

	/* /dev */
	unsigned char rnd[16] = {0};
	fd = open("/dev/urandom", O_RDONLY);
	CHECK_SAY(fd >= 0 && read(fd, rnd, sizeof(rnd)) == 16, "read /dev/urandom");
	close(fd);
	f = fopen("/dev/null", "w");
	CHECK_SAY(f && fprintf(f, "nothing") == 7 && fclose(f) == 0, "write /dev/null");

	/* files from the image's root file system, when baked with --rootfs */
	f = fopen("/etc/rootfs-marker", "r");
	if (f) {
		CHECK_SAY(fgets(line, sizeof(line), f) != NULL, "rootfs marker: %s", line);
		fclose(f);
	}

	printf("files: %d failures\n", failures);
	return failures;
}
