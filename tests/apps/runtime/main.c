/* runtime CASE [ARGS...]: run one POSIX runtime test case (see ../apptest.h). */
#include <stdlib.h>
#include <string.h>
#include "../apptest.h"

int failures;

extern const struct runtime_case thread_cases[], memory_cases[], clock_cases[], identity_cases[],
    etc_cases[];
static const struct runtime_case *groups[] = {
    thread_cases,
    memory_cases,
    clock_cases,
    identity_cases,
    etc_cases,
};

int main(int argc, char **argv)
{
	return run_cases("runtime", groups, sizeof(groups) / sizeof(groups[0]), argc, argv);
}
