/* net_init: the network component's boot hook (kernel/include/kernel/net.h). */
#include "net_impl.h"
#include <kernel/net.h>

void net_init(void)
{
	net_stack_start();
	netif_glue_start();
	netcfg_apply();
}
