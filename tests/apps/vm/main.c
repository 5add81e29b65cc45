/* vm CASE [ARGS...]: memory, stacks and program runs (see tests/test_vm.py). */
#include "../apptest.h"

int failures;

extern const struct runtime_case anon_cases[], stack_cases[], filemap_cases[];
static const struct runtime_case *groups[] = {anon_cases, stack_cases, filemap_cases};

int main(int argc, char **argv)
{
	return run_cases("vm", groups, sizeof(groups) / sizeof(groups[0]), argc, argv);
}
