/*
 * The canonical app: greets WORLD (from the environment, else "world"),
 * prints the time, sleeps a second (unless built with -DNO_SLEEP), greets
 * again and exits with the status given as its first argument.
 */
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char *argv[])
{
	const char *world = getenv("WORLD");
	time_t now = time(NULL);
	char when[64];
	int status = argc > 1 ? atoi(argv[1]) : 0;

	if (!world)
		world = "world";
	strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime(&now));
	printf("Hello, %s!\n", world);
	printf("The time is %s.\n", when);
	for (int i = 1; i < argc; i++)
		printf("argv[%d] = %s\n", i, argv[i]);
#ifndef NO_SLEEP
	sleep(1);
	printf("Slept for a second.\n");
#endif
	printf("Goodbye, %s! Exiting with status %d.\n", world, status);
	return status;
}
