/*
 * Parameters.  The standard ones have fixed answers; the rumprun ones come
 * from the environment (RUMPRUN_CONFIG: the JSON configuration, RUMPRUN_MEMSIZE,
 * RUMPRUN_IMAGE), so a test can hand the kernel a configuration.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "posix.h"

static int put(const char *value, void *buf, rumpuser_size_t blen)
{
	size_t n = strlen(value);
	if (n + 1 > blen)
		return E2BIG;
	memcpy(buf, value, n + 1);
	return 0;
}

int rumpuser_getparam(const char *name, void *buf, rumpuser_size_t blen)
{
	char tmp[32];
	const char *v;
	if (strcmp(name, RUMPUSER_PARAM_NCPU) == 0)
		return put("1", buf, blen);
	if (strcmp(name, RUMPUSER_PARAM_HOSTNAME) == 0)
		return put((v = getenv("RUMPRUN_HOSTNAME")) ? v : "rumprun-posix", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_CONFIG_SIZE) == 0) {
		if ((v = getenv(RUMPRUN_PARAM_CONFIG)) == NULL)
			return ENOENT;
		snprintf(tmp, sizeof(tmp), "%zu", strlen(v));
		return put(tmp, buf, blen);
	}
	if (strcmp(name, RUMPRUN_PARAM_MEMSIZE) == 0)
		return put((v = getenv(RUMPRUN_PARAM_MEMSIZE)) ? v : "268435456", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_MEMFREE) == 0)
		return put((v = getenv(RUMPRUN_PARAM_MEMFREE)) ? v : "134217728", buf, blen);
	if (strcmp(name, RUMPRUN_PARAM_CONFIG) == 0 || strcmp(name, RUMPRUN_PARAM_IMAGE) == 0)
		return (v = getenv(name)) ? put(v, buf, blen) : ENOENT;
	return ENOENT;
}

/*
 * Boot modules: RUMPRUN_POSIX_MODULES="NAME=FILE,NAME=FILE..." (in order),
 * each file read into memory once, as a boot loader would have loaded it.
 */
#define POSIX_MODULES_MAX 16
static struct {
	char *name;
	void *data;
	size_t len;
} posix_modules[POSIX_MODULES_MAX];
static int posix_nmodules = -1;

static void posix_modules_load(void)
{
	const char *spec = getenv("RUMPRUN_POSIX_MODULES");
	posix_nmodules = 0;
	if (spec == NULL)
		return;
	char *copy = strdup(spec), *save = NULL;
	for (char *item = strtok_r(copy, ",", &save); item && posix_nmodules < POSIX_MODULES_MAX;
	     item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		if (eq == NULL)
			continue;
		*eq = '\0';
		FILE *f = fopen(eq + 1, "rb");
		if (f == NULL) {
			fprintf(stderr, "rumprun-posix: cannot read the module %s\n", eq + 1);
			continue;
		}
		fseek(f, 0, SEEK_END);
		long n = ftell(f);
		fseek(f, 0, SEEK_SET);
		void *data = malloc(n > 0 ? n : 1);
		if (data == NULL || (n > 0 && fread(data, 1, n, f) != (size_t)n)) {
			fclose(f);
			free(data);
			continue;
		}
		fclose(f);
		posix_modules[posix_nmodules].name = strdup(item);
		posix_modules[posix_nmodules].data = data;
		posix_modules[posix_nmodules].len = n;
		posix_nmodules++;
	}
	free(copy);
}

int rumpuser_ext_bootmodule(int index, const char **name, void **addr, rumpuser_size_t *len)
{
	if (posix_nmodules < 0)
		posix_modules_load();
	if (index < 0 || index >= posix_nmodules)
		return ENOENT;
	*name = posix_modules[index].name;
	*addr = posix_modules[index].data;
	*len = posix_modules[index].len;
	return 0;
}
