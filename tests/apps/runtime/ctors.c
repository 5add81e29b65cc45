/*
 * ctors [STATUS]: constructors, destructors and atexit handlers announce
 * themselves; main prints its arguments and returns STATUS.
 */
#include <stdio.h>
#include <stdlib.h>

static int seen_by_main;

__attribute__((constructor(102))) static void ctor_102(void)
{
	printf("ctor 102\n");
	seen_by_main++;
}
__attribute__((constructor(101))) static void ctor_101(void)
{
	printf("ctor 101\n");
	seen_by_main++;
}
__attribute__((constructor)) static void ctor_plain(void)
{
	printf("ctor plain\n");
	seen_by_main++;
}
__attribute__((destructor(101))) static void dtor_101(void) { printf("dtor 101\n"); }
__attribute__((destructor(102))) static void dtor_102(void) { printf("dtor 102\n"); }
__attribute__((destructor)) static void dtor_plain(void) { printf("dtor plain\n"); }

static void atexit_first(void) { printf("atexit registered first\n"); }
static void atexit_second(void) { printf("atexit registered second\n"); }

int main(int argc, char **argv)
{
	int i;

	atexit(atexit_first);
	atexit(atexit_second);
	printf("main after %d constructors\n", seen_by_main);
	for (i = 0; i < argc; i++)
		printf("ctors argv[%d] = %s\n", i, argv[i]);
	return argc > 1 ? atoi(argv[1]) : 0;
}
