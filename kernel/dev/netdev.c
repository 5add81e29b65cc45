/*
 * The list of network interfaces drivers have found (kernel/include/kernel/netdev.h),
 * and their files in /sys/class/net.
 */
#include <kernel/kernel.h>
#include <kernel/netdev.h>
#include <kernel/vfs.h>

static struct netdev *devices;
void (*netdev_attach)(struct netdev *dev);

static char *put_decimal(char *p, unsigned v)
{
	char digits[10];
	int n = 0;

	do
		digits[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	while (n > 0)
		*p++ = digits[--n];
	return p;
}

/* /sys/class/net/NAME/{address,mtu}, as Linux words them. */
static void publish(const struct netdev *dev)
{
	static const char hex[] = "0123456789abcdef";
	char path[64], text[24], *p;
	size_t dir;
	int i;

	dir = strlen(strcpy(path, "/sys/class/net/"));
	strcpy(path + dir, dev->name);
	dir += strlen(dev->name);
	for (p = text, i = 0; i < 6; i++) {
		*p++ = hex[dev->mac[i] >> 4];
		*p++ = hex[dev->mac[i] & 15];
		*p++ = i < 5 ? ':' : '\n';
	}
	strcpy(path + dir, "/address");
	vfs_put_file(path, 0444, text, (size_t)(p - text));
	p = put_decimal(text, dev->mtu);
	*p++ = '\n';
	strcpy(path + dir, "/mtu");
	vfs_put_file(path, 0444, text, (size_t)(p - text));
}

int netdev_register(struct netdev *dev)
{
	struct netdev **pp;

	for (pp = &devices; *pp; pp = &(*pp)->next)
		if (!strcmp((*pp)->name, dev->name))
			return -EEXIST;
	dev->next = NULL;
	*pp = dev;
	publish(dev);
	if (netdev_attach)
		netdev_attach(dev);
	return 0;
}

void netdev_name_unit(struct netdev *dev, const char *base)
{
	size_t len = strlen(base);
	unsigned unit = 0;

	memcpy(dev->name, base, len);
	do
		*put_decimal(dev->name + len, unit++) = '\0';
	while (netdev_find(dev->name));
}

struct netdev *netdev_first(void) { return devices; }

struct netdev *netdev_find(const char *name)
{
	struct netdev *d;

	for (d = devices; d; d = d->next)
		if (!strcmp(d->name, name))
			return d;
	return NULL;
}
