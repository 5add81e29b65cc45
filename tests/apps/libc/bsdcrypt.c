/*
 * What libc/extras.mk adds to musl: BSD's sys/queue.h and sys/tree.h (with
 * sys/cdefs.h) and crypt()/crypt_r().  Prints what it computes, so the test
 * can compare the unikernel's output with the same program on Linux.
 */
#include <sys/cdefs.h>
#include <sys/queue.h>
#include <sys/tree.h>
#include <crypt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct word;
__BEGIN_DECLS
int word_cmp(struct word *, struct word *);
__END_DECLS

struct word {
	const char *text;
	TAILQ_ENTRY(word) order;
	RB_ENTRY(word) sorted;
};

TAILQ_HEAD(word_list, word);
RB_HEAD(word_tree, word);

int word_cmp(struct word *a, struct word *b) { return strcmp(a->text, b->text); }

RB_PROTOTYPE(word_tree, word, sorted, word_cmp)
RB_GENERATE(word_tree, word, sorted, word_cmp)

int main(int argc, char **argv)
{
	static const char *const texts[] = {"pear", "apple", "fig", "kiwi", "banana"};
	struct word_list list = TAILQ_HEAD_INITIALIZER(list);
	struct word_tree tree = RB_INITIALIZER(&tree);
	struct word words[5], *w, key;
	struct crypt_data data;
	static const char *const salts[] = {
	    "ab",
	    "$1$saltsalt$",
	    "$5$saltstring",
	    "$6$saltstring",
	    "$2b$05$abcdefghijklmnopqrstuu",
	};
	size_t i;

	for (i = 0; i < 5; i++) {
		words[i].text = texts[i];
		TAILQ_INSERT_TAIL(&list, &words[i], order);
		RB_INSERT(word_tree, &tree, &words[i]);
	}
	printf("tailq:");
	TAILQ_FOREACH(w, &list, order)
	printf(" %s", w->text);
	printf("\ntailq reversed:");
	TAILQ_FOREACH_REVERSE(w, &list, word_list, order)
	printf(" %s", w->text);
	printf("\nrb:");
	RB_FOREACH(w, word_tree, &tree)
	printf(" %s", w->text);
	key.text = "fig";
	RB_REMOVE(word_tree, &tree, RB_FIND(word_tree, &tree, &key));
	printf("\nrb without fig:");
	RB_FOREACH(w, word_tree, &tree)
	printf(" %s", w->text);
	printf(
	    "\nrb min %s max %s\n", RB_MIN(word_tree, &tree)->text, RB_MAX(word_tree, &tree)->text);

	for (i = 0; i < sizeof(salts) / sizeof(salts[0]); i++) {
		const char *pw = argc > 1 ? argv[1] : "Hello world!";
		char *h = crypt(pw, salts[i]);
		char *r;

		memset(&data, 0, sizeof(data));
		r = crypt_r(pw, salts[i], &data);
		printf("crypt %s -> %s (crypt_r %s)\n", salts[i], h ? h : "(null)",
		    r && h && !strcmp(r, h) ? "agrees" : "DIFFERS");
	}
	return 0;
}
