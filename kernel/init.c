/*
 * rumprun_kernel_main: the kernel's entry from the platform.  It reads the
 * configuration, sets up the process (descriptors, identity, files), lays
 * out a Linux initial stack (argv, envp, auxv) and starts the app through
 * musl's own __libc_start_main.
 */
#include <kernel/kernel.h>
#include <kernel/config.h>
#include <kernel/file.h>
#include <kernel/thread.h>
#include <kernel/syscall.h>
#include <elf.h>

/* The app's main and musl's start-up, linked in by the bake. */
extern int main(int, char **, char **);
extern int __libc_start_main(int (*)(int, char **, char **), int, char **,
    void (*)(void), void (*)(void), void (*)(void));
int syscall_upcall(int nr, void *args, long *retval);
void vfs_init(void) __attribute__((weak));

#define APP_STACK_SIZE (256 * 1024)

static struct rumprun_config config;
static int app_argc;
static char **app_argv;

const struct rumprun_config *config_get(void)
{
	return &config;
}

static const struct rumpuser_hyperup hyperup = {
	.hyp_syscall = syscall_upcall,
};

static void load_config(void)
{
	char num[24], *text;
	unsigned long len = 0;
	const char *p;

	if (rumpuser_getparam(RUMPRUN_PARAM_CONFIG_SIZE, num, sizeof(num)) == 0) {
		for (p = num; *p; p++)
			len = len * 10 + (*p - '0');
		if ((text = kmalloc(len + 1)) == NULL)
			panic("no memory for the configuration (%lu bytes)", len);
		if (rumpuser_getparam(RUMPRUN_PARAM_CONFIG, text, len + 1) != 0)
			panic("configuration unreadable");
		config_parse(text, len, &config);
	}
	if (config.argc == 0) {
		static char image[256];
		static char *default_argv[2];

		if (rumpuser_getparam(RUMPRUN_PARAM_IMAGE, image, sizeof(image)) != 0)
			strcpy(image, "app");
		default_argv[0] = strrchr(image, '/') ? strrchr(image, '/') + 1 : image;
		config.argv = default_argv;
		config.argc = 1;
	}
	if (!config.envp) {
		static char *no_env[1];
		config.envp = no_env;
	}
	if (!config.hostname)
		config.hostname = "rumprun";
}

static void open_console(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		struct file *f = console_open(fd == 0 ? 0 /* O_RDONLY */ : 1 /* O_WRONLY */);

		if (!f || fd_install(f, fd, 0) != fd)
			panic("cannot open the console");
	}
}

/*
 * The Linux initial stack: argc, argv[], NULL, envp[], NULL, auxv pairs,
 * AT_NULL; then the strings and AT_RANDOM's 16 bytes above.  musl walks
 * from argv to envp to auxv, so they must be contiguous.
 */
static long *build_initial_stack(char *top)
{
	char *strp = top;
	long *sp;
	uint8_t *random;
	const void *phdrs;
	int phnum, phent, i, n;
	size_t got;
	char **argv, **envp;

	random = (uint8_t *)(strp -= 16);
	rumpuser_getrandom(random, 16, 0, &got);

	argv = (char **)kmalloc((config.argc + config.envc + 2) * sizeof(char *));
	if (!argv)
		panic("no memory for the arguments");
	envp = argv + config.argc + 1;
	for (i = 0; i < config.argc; i++) {
		strp -= strlen(config.argv[i]) + 1;
		strcpy(strp, config.argv[i]);
		argv[i] = strp;
	}
	for (i = 0; i < config.envc; i++) {
		strp -= strlen(config.envp[i]) + 1;
		strcpy(strp, config.envp[i]);
		envp[i] = strp;
	}

	phdrs = rumpuser_ext_image_phdrs(&phnum, &phent);
	n = 1 + config.argc + 1 + config.envc + 1 + 2 * 12;
	sp = (long *)((uintptr_t)strp & ~15UL) - n;
	sp = (long *)((uintptr_t)sp & ~15UL);
	i = 0;
	sp[i++] = config.argc;
	app_argv = (char **)&sp[i];
	for (n = 0; n < config.argc; n++)
		sp[i++] = (long)argv[n];
	sp[i++] = 0;
	for (n = 0; n < config.envc; n++)
		sp[i++] = (long)envp[n];
	sp[i++] = 0;
#define AUX(t, v) (sp[i++] = (t), sp[i++] = (long)(v))
	AUX(AT_PHDR, phdrs);
	AUX(AT_PHENT, phent);
	AUX(AT_PHNUM, phnum);
	AUX(AT_PAGESZ, PAGE_SIZE);
	AUX(AT_CLKTCK, 100);
	AUX(AT_RANDOM, random);
	AUX(AT_UID, 0);
	AUX(AT_EUID, 0);
	AUX(AT_GID, 0);
	AUX(AT_EGID, 0);
	AUX(AT_SECURE, 0);
	AUX(AT_NULL, 0);
#undef AUX
	kfree(argv, (config.argc + config.envc + 2) * sizeof(char *));
	app_argc = config.argc;
	return sp;
}

static void app_entry(void)
{
	__libc_start_main(main, app_argc, app_argv, 0, 0, 0);
	panic("__libc_start_main returned");
}

void rumprun_kernel_main(void)
{
	struct lwp *l;
	char *stack;
	long *sp;

	if (rumpuser_init(RUMPUSER_VERSION, &hyperup) != 0)
		panic("the platform does not speak hypercall version %d", RUMPUSER_VERSION);
	load_config();
	if (vfs_init)
		vfs_init();
	open_console();
	if ((l = lwp_new()) == NULL)
		panic("no memory for the first thread");
	rumpuser_curlwpop(RUMPUSER_LWP_SET, l);

	/* The app's main stack, apart from this thread's kernel stack, with
	 * a guard page below it so an overflow faults. */
	if ((stack = kpages_alloc(PAGE_SIZE + APP_STACK_SIZE)) == NULL)
		panic("no memory for the app's stack (%d KiB)", APP_STACK_SIZE / 1024);
	rumpuser_ext_protect(stack, PAGE_SIZE, 0);
	sp = build_initial_stack(stack + PAGE_SIZE + APP_STACK_SIZE);
	rumpuser_ext_app_start(sp, app_entry);
}
