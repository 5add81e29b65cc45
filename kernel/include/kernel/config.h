/*
 * The unikernel's configuration (kernel/config.c), rumprun's JSON format:
 *   {"cmdline": "prog arg1 'arg two'", "env": ["A=1", "B=2"],
 *    "hostname": "name"}
 * cmdline is split with sh-like quoting (single and double quotes,
 * backslash); the first word is argv[0].  An "env" given as a single
 * string is taken as one entry, as rumprun's older files did.
 */
#ifndef KERNEL_CONFIG_H
#define KERNEL_CONFIG_H

struct rumprun_config {
	int argc;
	char **argv;
	int envc;
	char **envp;
	const char *hostname;
};

/* Parse text (len bytes).  On a syntax error, print where it broke and
 * end the machine with status 1. */
void config_parse(const char *text, unsigned long len, struct rumprun_config *cfg);

#endif
