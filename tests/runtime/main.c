/* runtime CASE [ARGS...]: run one POSIX runtime test case (see runtime.h). */
#include <stdlib.h>
#include <string.h>
#include "runtime.h"

int failures;

extern const struct runtime_case thread_cases[], memory_cases[],
	clock_cases[], identity_cases[], etc_cases[];
static const struct runtime_case *groups[] = {
	thread_cases, memory_cases, clock_cases, identity_cases, etc_cases,
};

int main(int argc, char **argv)
{
	const struct runtime_case *c;
	size_t g;

	/* Unbuffered, so what a case printed survives a crash. */
	setvbuf(stdout, NULL, _IONBF, 0);
	if (argc < 2) {
		printf("usage: runtime CASE [ARGS...]\n");
		return 2;
	}
	for (g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (c = groups[g]; c->name; c++)
			if (!strcmp(c->name, argv[1])) {
				c->run(argc - 1, argv + 1);
				printf("runtime %s: %d failures\n", argv[1], failures);
				return failures ? 1 : 0;
			}
	printf("runtime: no case %s\n", argv[1]);
	return 2;
}
