/*
 * The JSON configuration.  A small strict parser (RFC 8259 syntax; \u
 * escapes are decoded to UTF-8) that reports the first error with its
 * offset, then the few keys the kernel knows are picked out.  Unknown keys
 * are ignored so newer launchers work with older kernels.
 */
#include <kernel/kernel.h>
#include <kernel/config.h>

struct parser {
	const char *s;
	size_t len, pos;
};

/* The parsed tree (struct config_node, kernel/config.h). */
static const struct config_node *root;

static void fail(struct parser *p, const char *what)
{
	size_t line = 1, col = 1, i;

	for (i = 0; i < p->pos && i < p->len; i++) {
		if (p->s[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	kprintf("rumprun: bad configuration: JSON error at offset %lu (line %lu, column %lu): %s\n",
	    (unsigned long)p->pos, (unsigned long)line, (unsigned long)col, what);
	rumpuser_exit(1);
}

static void *alloc(struct parser *p, size_t n)
{
	void *v = kzalloc(n);

	if (!v)
		fail(p, "out of memory");
	return v;
}

static void skip_ws(struct parser *p)
{
	while (p->pos < p->len &&
	    (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n' ||
	        p->s[p->pos] == '\r'))
		p->pos++;
}

static int peek(struct parser *p)
{
	skip_ws(p);
	return p->pos < p->len ? (unsigned char)p->s[p->pos] : -1;
}

static void expect(struct parser *p, char c, const char *what)
{
	if (peek(p) != c)
		fail(p, what);
	p->pos++;
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* The four hex digits of a \u escape. */
static unsigned parse_u4(struct parser *p)
{
	unsigned cp = 0;
	int i, h;

	for (i = 0; i < 4; i++) {
		if (p->pos >= p->len || (h = hexval(p->s[p->pos])) < 0)
			fail(p, "bad \\u escape");
		cp = cp * 16 + h;
		p->pos++;
	}
	return cp;
}

/* Code point cp as UTF-8 at out; how many bytes (never more than its
 * escape's source bytes: 6 for up to 3, 12 for 4). */
static size_t utf8_encode(unsigned cp, char *out)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | (cp >> 6);
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | (cp >> 12);
		out[1] = 0x80 | ((cp >> 6) & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | (cp >> 18);
	out[1] = 0x80 | ((cp >> 12) & 0x3f);
	out[2] = 0x80 | ((cp >> 6) & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

static char *parse_string(struct parser *p)
{
	size_t start, n = 0;
	char *out;

	expect(p, '"', "expected a string");
	start = p->pos;
	/* Decoded text is never longer than the source. */
	while (p->pos < p->len && p->s[p->pos] != '"')
		p->pos += p->s[p->pos] == '\\' ? 2 : 1;
	if (p->pos >= p->len)
		fail(p, "unterminated string");
	out = alloc(p, p->pos - start + 1);
	p->pos = start;
	while (p->s[p->pos] != '"') {
		unsigned char c = p->s[p->pos++];

		if (c < 0x20) {
			p->pos--;
			fail(p, "control character in string");
		}
		if (c != '\\') {
			out[n++] = c;
			continue;
		}
		c = p->s[p->pos++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			out[n++] = c;
			break;
		case 'b':
			out[n++] = '\b';
			break;
		case 'f':
			out[n++] = '\f';
			break;
		case 'n':
			out[n++] = '\n';
			break;
		case 'r':
			out[n++] = '\r';
			break;
		case 't':
			out[n++] = '\t';
			break;
		case 'u': {
			unsigned cp = parse_u4(p), lo;

			if (cp >= 0xd800 && cp < 0xdc00 && p->pos + 6 <= p->len &&
			    p->s[p->pos] == '\\' && p->s[p->pos + 1] == 'u') {
				/* A surrogate pair: one code point above the BMP. */
				p->pos += 2;
				lo = parse_u4(p);
				if (lo < 0xdc00 || lo >= 0xe000)
					fail(p, "bad surrogate pair in \\u escapes");
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			} else if (cp >= 0xdc80 && cp < 0xdd00) {
				/* A lone low surrogate U+DC80..U+DCFF stands for the
				 * byte 0x80..0xff that was not UTF-8 (Python's
				 * surrogateescape): arguments arrive byte-exact. */
				out[n++] = cp - 0xdc00;
				break;
			}
			n += utf8_encode(cp, out + n);
			break;
		}
		default:
			p->pos--;
			fail(p, "bad escape in string");
		}
	}
	p->pos++;
	out[n] = '\0';
	return out;
}

static struct config_node *parse_value(struct parser *p, int depth);

static struct config_node *parse_container(struct parser *p, int depth, int obj)
{
	struct config_node *v = alloc(p, sizeof(*v)), **tail = &v->items;
	char close = obj ? '}' : ']';

	v->type = obj ? CONFIG_OBJECT : CONFIG_ARRAY;
	p->pos++;
	if (peek(p) == close) {
		p->pos++;
		return v;
	}
	for (;;) {
		struct config_node *item;
		char *key = NULL;

		if (obj) {
			if (peek(p) != '"')
				fail(p, "expected a member name in double quotes");
			key = parse_string(p);
			expect(p, ':', "expected ':' after the member name");
		}
		item = parse_value(p, depth + 1);
		item->key = key;
		*tail = item;
		tail = &item->next;
		if (peek(p) == ',') {
			p->pos++;
			continue;
		}
		expect(p, close, obj ? "expected ',' or '}'" : "expected ',' or ']'");
		return v;
	}
}

static int match_word(struct parser *p, const char *w)
{
	size_t n = strlen(w);

	if (p->len - p->pos >= n && !memcmp(p->s + p->pos, w, n)) {
		p->pos += n;
		return 1;
	}
	return 0;
}

static struct config_node *parse_value(struct parser *p, int depth)
{
	struct config_node *v;
	int c = peek(p);

	if (depth > 32)
		fail(p, "nested too deeply");
	if (c == '{' || c == '[')
		return parse_container(p, depth, c == '{');
	v = alloc(p, sizeof(*v));
	if (c == '"') {
		v->type = CONFIG_STRING;
		v->str = parse_string(p);
	} else if (match_word(p, "true")) {
		v->type = CONFIG_BOOL;
		v->boolean = 1;
	} else if (match_word(p, "false")) {
		v->type = CONFIG_BOOL;
	} else if (match_word(p, "null")) {
		v->type = CONFIG_NULL;
	} else if (c == '-' || (c >= '0' && c <= '9')) {
		size_t start = p->pos;

		p->pos++;
		while (p->pos < p->len && (strchr("0123456789.eE+-", p->s[p->pos])))
			p->pos++;
		v->type = CONFIG_NUMBER;
		v->str = alloc(p, p->pos - start + 1);
		memcpy(v->str, p->s + start, p->pos - start);
	} else {
		fail(p, c < 0 ? "unexpected end of input" : "expected a value");
	}
	return v;
}

static const struct config_node *member(const struct config_node *obj, const char *key)
{
	const struct config_node *m;

	for (m = obj->items; m; m = m->next)
		if (!strcmp(m->key, key))
			return m;
	return NULL;
}

const struct config_node *config_member(const struct config_node *obj, const char *key)
{
	return obj && obj->type == CONFIG_OBJECT ? member(obj, key) : NULL;
}

const struct config_node *config_root(void) { return root; }

int config_entries(const char *key, const struct config_node **out, int max)
{
	const struct config_node *m, *e;
	int n = 0;

	for (m = root ? root->items : NULL; m; m = m->next) {
		if (strcmp(m->key, key))
			continue;
		if (m->type != CONFIG_ARRAY) {
			if (n < max)
				out[n] = m;
			n++;
			continue;
		}
		for (e = m->items; e; e = e->next) {
			if (n < max)
				out[n] = e;
			n++;
		}
	}
	return n;
}

void config_bad(const char *key, const char *what)
{
	kprintf("rumprun: bad configuration: \"%s\" must be %s\n", key, what);
	rumpuser_exit(1);
}

/* Split a command line with sh-like quoting into argv. */
static void split_cmdline(struct parser *p, const char *s, struct rumprun_config *cfg)
{
	size_t len = strlen(s), n = 0, words = 0, i;
	char *buf = alloc(p, len + 1), *w;
	int inword = 0;
	char quote = 0;

	/* Words are written NUL-separated into buf. */
	for (i = 0; i < len; i++) {
		char c = s[i];

		if (quote) {
			if (c == quote)
				quote = 0;
			else if (c == '\\' && quote == '"' && i + 1 < len &&
			    strchr("\"\\$`", s[i + 1]))
				buf[n++] = s[++i];
			else
				buf[n++] = c;
		} else if (c == ' ' || c == '\t' || c == '\n') {
			if (inword) {
				buf[n++] = '\0';
				words++;
				inword = 0;
			}
		} else {
			inword = 1;
			if (c == '\'' || c == '"')
				quote = c;
			else if (c == '\\' && i + 1 < len)
				buf[n++] = s[++i];
			else
				buf[n++] = c;
		}
	}
	if (quote) {
		kprintf("rumprun: bad configuration: unterminated quote in \"cmdline\"\n");
		rumpuser_exit(1);
	}
	if (inword) {
		buf[n++] = '\0';
		words++;
	}
	cfg->argv = alloc(p, (words + 1) * sizeof(char *));
	for (i = 0, w = buf; i < words; i++, w += strlen(w) + 1)
		cfg->argv[i] = w;
	cfg->argc = (int)words;
}

static void parse_rc(struct parser *p, const struct config_node *v, struct rumprun_config *cfg)
{
	const struct config_node *e, *m, *a;
	int n = 0, i;

	if (v->type != CONFIG_ARRAY)
		config_bad("rc", "an array of {\"bin\", \"argv\", \"runmode\"} objects");
	for (e = v->items; e; e = e->next)
		n++;
	cfg->rc = alloc(p, (n ? n : 1) * sizeof(*cfg->rc));
	cfg->nrc = n;
	for (e = v->items, i = 0; e; e = e->next, i++) {
		struct rc_entry *rc = &cfg->rc[i];
		int argc = 1;

		if (e->type != CONFIG_OBJECT || !(m = member(e, "bin")) || m->type != CONFIG_STRING)
			config_bad("rc", "an array of objects with a \"bin\" string");
		rc->bin = m->str;
		if ((m = member(e, "argv")) != NULL) {
			if (m->type != CONFIG_ARRAY)
				config_bad("rc argv", "an array of strings");
			for (a = m->items; a; a = a->next) {
				if (a->type != CONFIG_STRING)
					config_bad("rc argv", "an array of strings");
				argc++;
			}
		}
		rc->argv = alloc(p, (argc + 1) * sizeof(char *));
		rc->argv[0] = (char *)rc->bin;
		rc->argc = 1;
		if (m)
			for (a = m->items; a; a = a->next)
				rc->argv[rc->argc++] = a->str;
		rc->mode = RC_FOREGROUND;
		if ((m = member(e, "runmode")) != NULL) {
			if (m->type != CONFIG_STRING ||
			    (strcmp(m->str, "") && strcmp(m->str, "&") && strcmp(m->str, "|")))
				config_bad("rc runmode", "\"\", \"&\" or \"|\"");
			rc->mode = !strcmp(m->str, "&") ? RC_BACKGROUND
			    : !strcmp(m->str, "|")      ? RC_PIPE
			                                : RC_FOREGROUND;
		}
	}
	if (n && cfg->rc[n - 1].mode == RC_PIPE)
		config_bad("rc", "an array whose last entry does not pipe (\"|\") into nothing");
}

void config_parse(const char *text, unsigned long len, struct rumprun_config *cfg)
{
	struct parser p = {text, len, 0};
	const struct config_node *v;

	root = parse_value(&p, 0);
	if (peek(&p) != -1)
		fail(&p, "unexpected text after the configuration");
	if (root->type != CONFIG_OBJECT) {
		kprintf("rumprun: bad configuration: it must be a JSON object\n");
		rumpuser_exit(1);
	}
	if ((v = member(root, "cmdline")) != NULL) {
		if (v->type != CONFIG_STRING)
			config_bad("cmdline", "a string");
		split_cmdline(&p, v->str, cfg);
	}
	if ((v = member(root, "env")) != NULL) {
		const struct config_node *e;
		int n = 0;

		if (v->type == CONFIG_STRING) {
			if (!strchr(v->str, '='))
				config_bad("env", "an array of \"NAME=value\" strings");
			cfg->envp = alloc(&p, 2 * sizeof(char *));
			cfg->envp[n++] = v->str;
		} else if (v->type == CONFIG_ARRAY) {
			for (e = v->items; e; e = e->next)
				n++;
			cfg->envp = alloc(&p, (n + 1) * sizeof(char *));
			n = 0;
			for (e = v->items; e; e = e->next) {
				if (e->type != CONFIG_STRING || !strchr(e->str, '='))
					config_bad("env", "an array of \"NAME=value\" strings");
				cfg->envp[n++] = e->str;
			}
		} else {
			config_bad("env", "an array of \"NAME=value\" strings");
		}
		cfg->envc = n;
	}
	if ((v = member(root, "rc")) != NULL)
		parse_rc(&p, v, cfg);
	if ((v = member(root, "hostname")) != NULL) {
		if (v->type != CONFIG_STRING)
			config_bad("hostname", "a string");
		cfg->hostname = v->str;
	}
}
