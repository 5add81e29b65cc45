/*
 * Shutdown requests from the toolstack: `xl shutdown` writes "poweroff"
 * into the domain's control/shutdown key, and so does `rumprun xen` on
 * Ctrl-C, SIGTERM or SIGHUP and `rumprun stop`, after writing the signal
 * it stands for into rumprun/shutdown-signal.  The guest empties the key
 * (the acknowledgement xl waits for), then writes its volumes back,
 * unmounts them and powers off as if killed by that signal (SIGTERM when
 * none was named), as a QEMU guest does at its control port
 * (kernel/program.c, machine_shutdown).  "reboot" and "halt" are taken as
 * "poweroff" (a unikernel has nothing to boot again); anything else is
 * refused with one line.
 */
#include <signal.h>
#include <kernel/kernel.h>
#include <kernel/program.h>
#include <kernel/xenbus.h>

#define SHUTDOWN_KEY "control/shutdown"

static void shutdown_changed(void *unused)
{
	char what[32];
	uint64_t signo;

	(void)unused;
	if (xenbus_read("control", "shutdown", what, sizeof(what)) != 0 || what[0] == '\0')
		return; /* the watch's first firing, or our own acknowledgement */
	xenbus_write("control", "shutdown", "");
	if (strcmp(what, "poweroff") != 0 && strcmp(what, "reboot") != 0 &&
	    strcmp(what, "halt") != 0) {
		kprintf("rumprun: xen shutdown request \"%s\" is not supported, ignored\n", what);
		return;
	}
	if (xenbus_read_u64("rumprun", "shutdown-signal", &signo) != 0 || signo < 1 || signo > 64)
		signo = SIGTERM;
	machine_shutdown((int)signo);
}

void xen_control_attach(void)
{
	int err;

	/* Tell the toolstack a poweroff request is understood (Linux guests
	 * say the same); the toolstack may not let us: no matter. */
	xenbus_write("control", "feature-poweroff", "1");
	if ((err = rumpcomp_xen_store_watch(SHUTDOWN_KEY, shutdown_changed, NULL)) != 0)
		kprintf("rumprun: cannot watch xenstore's %s (error %d): shutdown requests "
		        "will not sync the volumes\n",
		    SHUTDOWN_KEY, err);
}
