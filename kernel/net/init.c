/* net_init: the network component's boot hook (kernel/include/kernel/net.h). */
#include "net_impl.h"
#include <kernel/config.h>
#include <kernel/net.h>
#include <kernel/netdev.h>

void net_init(void)
{
	/* No network device and no "net" or "dns" configuration: nothing to
	 * set up before a program opens an inet socket, which starts the
	 * stack (inet.c).  lwIP's start-up is a tenth of a trivial program's
	 * boot under QEMU's TCG (benchmarks/microvm_bench.py). */
	if (!netdev_first() && !config_member(config_root(), "net") &&
	    !config_member(config_root(), "dns"))
		return;
	net_stack_start();
	netif_glue_start();
	netcfg_apply();
}
