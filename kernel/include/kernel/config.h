/*
 * The unikernel's configuration (kernel/config.c), rumprun's JSON format:
 *   {"cmdline": "prog arg1 'arg two'", "env": ["A=1", "B=2"],
 *    "hostname": "name"}
 * cmdline is split with sh-like quoting (single and double quotes,
 * backslash); the first word is argv[0].  An "env" given as a single
 * string is taken as one entry, as rumprun's older files did.
 *
 * Several programs in one image: "rc" is an array of
 *   {"bin": "name", "argv": ["arg1", ...], "runmode": "" | "&" | "|"}
 * run in order: "" (the default) in the foreground (wait for it), "&" in
 * the background, "|" with its standard output piped to the next entry's
 * standard input (and not waited for).  bin names a baked app; it is also
 * argv[0], and "argv" holds the arguments after it.
 */
#ifndef KERNEL_CONFIG_H
#define KERNEL_CONFIG_H

enum rc_mode { RC_FOREGROUND, RC_BACKGROUND, RC_PIPE };

struct rc_entry {
	const char *bin;
	int argc;
	char **argv;		/* argv[0] is bin */
	enum rc_mode mode;
};

struct rumprun_config {
	int argc;
	char **argv;
	int envc;
	char **envp;
	const char *hostname;
	int nrc;
	struct rc_entry *rc;
};

/* Parse text (len bytes).  On a syntax error, print where it broke and
 * end the machine with status 1. */
void config_parse(const char *text, unsigned long len, struct rumprun_config *cfg);

#endif
