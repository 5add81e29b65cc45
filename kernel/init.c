/*
 * rumprun_kernel_main: the kernel's entry from the platform.  It reads the
 * configuration, builds the root file system and the console descriptors,
 * and starts the programs (kernel/program.c).
 */
#include <kernel/kernel.h>
#include <kernel/config.h>
#include <kernel/dev.h>
#include <kernel/file.h>
#include <kernel/net.h>
#include <kernel/program.h>
#include <kernel/vfs.h>

int syscall_upcall(int nr, void *args, long *retval);

static struct rumprun_config config;

const struct rumprun_config *config_get(void) { return &config; }

static const struct rumpuser_hyperup hyperup = {
    .hyp_syscall = syscall_upcall,
    .hyp_ext_fault = program_fault,
    .hyp_ext_preempted = program_preempted,
};

/* Most configurations fit this at once; a longer one is asked for its
 * size first (a boot runs less code the short way: benchmarks/README.md,
 * microvm). */
#define CONFIG_FIRST_TRY 1024

static void load_config(void)
{
	size_t size = CONFIG_FIRST_TRY;
	char *text = kmalloc(size);
	int err;

	if (!text)
		panic("no memory for the configuration");
	if ((err = rumpuser_getparam(RUMPRUN_PARAM_CONFIG, text, size)) == E2BIG) {
		kfree(text, size);
		size = param_number(RUMPRUN_PARAM_CONFIG_SIZE) + 1;
		if ((text = kmalloc(size)) == NULL)
			panic(
			    "no memory for the configuration (%lu bytes)", (unsigned long)size - 1);
		err = rumpuser_getparam(RUMPRUN_PARAM_CONFIG, text, size);
	}
	if (err == 0)
		config_parse(text, strlen(text), &config);
	else if (err == ENOENT)
		kfree(text, size);
	else
		panic("configuration unreadable");
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

/* Descriptors 0, 1 and 2 of the boot table, which every program copies. */
static void open_console(void)
{
	int fd;

	for (fd = 0; fd < 3; fd++) {
		struct file *f = console_open_stream(fd);

		if (!f || fd_install(f, fd, 0) != fd)
			panic("cannot open the console");
	}
}

void rumprun_kernel_main(void)
{
	if (rumpuser_init(RUMPUSER_VERSION, &hyperup) != 0)
		panic("the platform does not speak hypercall version %d", RUMPUSER_VERSION);
	load_config();
	vfs_init();
	dev_attach();
	vfs_mount_config();
	open_console();
	net_init();
	programs_run();
}
