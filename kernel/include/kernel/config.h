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
	char **argv; /* argv[0] is bin */
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

/*
 * The parsed JSON tree, for components that read keys of their own
 * ("net", "blk", ...) without touching this parser.  Strings are decoded
 * (UTF-8, NUL-terminated); a number keeps its source text in str.
 */
enum config_type {
	CONFIG_NULL,
	CONFIG_BOOL,
	CONFIG_NUMBER,
	CONFIG_STRING,
	CONFIG_ARRAY,
	CONFIG_OBJECT
};
struct config_node {
	enum config_type type;
	char *str; /* STRING's text, NUMBER's source text */
	int boolean; /* BOOL */
	struct config_node *items; /* ARRAY items, OBJECT members, in order */
	struct config_node *next; /* the next item or member */
	char *key; /* a member's name, NULL for array items */
};

/* The whole configuration (an object), or NULL when the machine has none. */
const struct config_node *config_root(void);
/* The first member called key of object obj, or NULL (also when obj is
 * NULL or not an object). */
const struct config_node *config_member(const struct config_node *obj, const char *key);
/*
 * The entries of top-level key: every item of it when it is an array,
 * the value itself otherwise, and all of them when the key is repeated
 * (rumprun's launcher wrote one "net" member per interface).  Stores up
 * to max of them in out and returns how many there are in all.
 */
int config_entries(const char *key, const struct config_node **out, int max);
/* Print "rumprun: bad configuration: "key" must be what" and end the
 * machine with status 1. */
void config_bad(const char *key, const char *what) __attribute__((noreturn));

#endif
