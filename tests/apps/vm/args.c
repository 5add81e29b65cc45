/*
 * args [ARGS...]: what the program got, byte by byte: the count and a hash
 * of every argument, the first three in hex, V from the environment in
 * hex, and PATH, HOME and TERM.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void hex(const char *what, const char *s)
{
	printf("%s:", what);
	for (; *s; s++)
		printf(" %02x", (unsigned char)*s);
	printf("\n");
}

int main(int argc, char **argv)
{
	unsigned long hash = 0;
	size_t bytes = 0;
	const char *p;
	char what[16];
	int i;

	for (i = 1; i < argc; i++)
		for (p = argv[i]; *p; p++, bytes++)
			hash = hash * 31 + (unsigned char)*p;
	printf("argc %d bytes %zu hash %lx\n", argc, bytes, hash);
	for (i = 1; i < argc && i < 4; i++) {
		snprintf(what, sizeof(what), "arg %d", i);
		hex(what, argv[i]);
	}
	if (getenv("V"))
		hex("V", getenv("V"));
	printf("PATH=%s HOME=%s TERM=%s\n", getenv("PATH"), getenv("HOME"), getenv("TERM"));
	return 0;
}
