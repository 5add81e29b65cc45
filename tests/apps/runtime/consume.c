/* consume [STATUS]: read stdin to its end, echoing each line; count them. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int main(int argc, char **argv)
{
	char line[256];
	int lines = 0;
	size_t bytes = 0;

	while (fgets(line, sizeof(line), stdin)) {
		lines++;
		bytes += strlen(line);
		printf("consume got: %s", line);
	}
	printf("consume: %d lines, %zu bytes, %s\n", lines, bytes,
	    ferror(stdin) ? "read error" : "end of input");
	return argc > 1 ? atoi(argv[1]) : 0;
}
