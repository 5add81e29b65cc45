/*
 * The programs' standard streams under rumprun -i (tests/test_console.py).
 *
 *   streams echo      copy stdin to stdout, then on stderr: how many bytes
 *                     came and whether each stream is a terminal
 *   streams apart     a line on stdout, one on stderr, then stdout text
 *                     without a newline; exit status 3
 *   streams flood N   N MiB of a known pattern to stdout (byte i is
 *                     'a' + i % 23), in writes of odd sizes
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static int write_all(int fd, const char *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);

		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static char buf[100003];
	const char *mode = argc > 1 ? argv[1] : "echo";

	if (strcmp(mode, "echo") == 0) {
		long total = 0;
		ssize_t n;

		while ((n = read(0, buf, sizeof(buf))) > 0) {
			if (write_all(1, buf, (size_t)n) != 0)
				return 1;
			total += n;
		}
		fprintf(stderr, "read %ld bytes (last %zd) isatty %d %d %d\n", total, n, isatty(0),
		    isatty(1), isatty(2));
		return n < 0;
	}
	if (strcmp(mode, "apart") == 0) {
		printf("to stdout\n");
		fflush(stdout);
		fprintf(stderr, "to stderr\n");
		printf("stdout's last words");
		return 3;
	}
	if (strcmp(mode, "flood") == 0) {
		size_t total = (size_t)atol(argc > 2 ? argv[2] : "1") << 20, done = 0;
		size_t sizes[] = {1, 4093, 65536, 100003, 17};
		unsigned k = 0;

		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (char)('a' + i % 23);
		while (done < total) {
			size_t n = sizes[k++ % 5];
			size_t start = done % 23;

			if (n > total - done)
				n = total - done;
			if (n > sizeof(buf) - start)
				n = sizeof(buf) - start;
			if (write_all(1, buf + start, n) != 0)
				return 1;
			done += n;
		}
		return 0;
	}
	fprintf(stderr, "streams: unknown mode %s\n", mode);
	return 2;
}
