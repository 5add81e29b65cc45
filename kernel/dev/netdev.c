/*
 * The list of network interfaces drivers have found (kernel/include/kernel/netdev.h).
 */
#include <kernel/kernel.h>
#include <kernel/netdev.h>

static struct netdev *devices;
void (*netdev_attach)(struct netdev *dev);

int netdev_register(struct netdev *dev)
{
	struct netdev **pp;

	for (pp = &devices; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, dev->name))
			return -EEXIST;
	dev->next = NULL;
	*pp = dev;
	if (netdev_attach)
		netdev_attach(dev);
	return 0;
}

struct netdev *netdev_first(void)
{
	return devices;
}

struct netdev *netdev_find(const char *name)
{
	struct netdev *d;

	for (d = devices; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}
