/* produce [N [WORD [STATUS]]]: print N lines "WORD i", sleeping 1 ms between them. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int n = argc > 1 ? atoi(argv[1]) : 3, i;
	const char *word = argc > 2 ? argv[2] : "line";

	for (i = 1; i <= n; i++) {
		printf("%s %d\n", word, i);
		fflush(stdout);
		usleep(1000);
	}
	return argc > 3 ? atoi(argv[3]) : 0;
}
