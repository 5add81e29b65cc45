/*
 * The drivers' network devices (kernel/include/kernel/netdev.h) as lwIP
 * Ethernet interfaces: frames go out through the driver's transmit op,
 * frames come in through netdev_input, which lands here.
 */
#include "net_impl.h"
#include <kernel/netdev.h>
#include <net/if.h>
#include <netinet/in.h>
#include <sys/ioctl.h>

#include "lwip/netif.h"
#include "lwip/etharp.h"
#include "lwip/ethip6.h"
#include "lwip/pbuf.h"
#include "lwip/priv/tcp_priv.h"
#include "netif/ethernet.h"

struct nic {
	struct netif netif;
	struct netdev *dev;
	struct nic *next;
};

static struct nic *nics;

#define MAX_IOV 32

static err_t nic_linkoutput(struct netif *netif, struct pbuf *p)
{
	struct nic *nic = netif->state;
	struct iovec iov[MAX_IOV];
	struct pbuf *q;
	int n = 0, rv;

	for (q = p; q && n < MAX_IOV; q = q->next) {
		if (q->len == 0)
			continue;
		iov[n].iov_base = q->payload;
		iov[n].iov_len = q->len;
		n++;
	}
	if (q) {
		/* A long chain: one flat copy. */
		struct pbuf *flat = pbuf_clone(PBUF_RAW, PBUF_RAM, p);

		if (!flat)
			return ERR_MEM;
		iov[0].iov_base = flat->payload;
		iov[0].iov_len = flat->len;
		rv = nic->dev->ops->transmit(nic->dev, iov, 1, flat->tot_len);
		pbuf_free(flat);
	} else {
		rv = nic->dev->ops->transmit(nic->dev, iov, n, p->tot_len);
	}
	if (rv == -ENOBUFS)
		return ERR_MEM; /* TCP tries again; UDP reports ENOBUFS */
	return rv == 0 ? ERR_OK : ERR_IF;
}

static err_t nic_netif_init(struct netif *netif)
{
	struct nic *nic = netif->state;
	struct netdev *dev = nic->dev;

	netif->name[0] = dev->name[0];
	netif->name[1] = dev->name[1] ? dev->name[1] : 'x';
	netif->hwaddr_len = ETH_HWADDR_LEN;
	memcpy(netif->hwaddr, dev->mac, ETH_HWADDR_LEN);
	netif->mtu = dev->mtu ? dev->mtu : 1500;
	netif->flags =
	    NETIF_FLAG_BROADCAST | NETIF_FLAG_ETHARP | NETIF_FLAG_ETHERNET | NETIF_FLAG_MLD6;
	netif->output = etharp_output;
	netif->output_ip6 = ethip6_output;
	netif->linkoutput = nic_linkoutput;
	/* Checksums are computed on output; checked on input unless the
	 * device vouches for them. */
	if (dev->features & NETDEV_F_RX_CSUM_OK)
		NETIF_SET_CHECKSUM_CTRL(netif,
		    NETIF_CHECKSUM_GEN_IP | NETIF_CHECKSUM_GEN_UDP | NETIF_CHECKSUM_GEN_TCP |
		        NETIF_CHECKSUM_GEN_ICMP | NETIF_CHECKSUM_GEN_ICMP6);
	return ERR_OK;
}

/* One frame from the wire (the driver's thread).  The frame is copied
 * before this returns, as netdev.h promises the driver. */
static void nic_input(struct netdev *dev, const void *frame, size_t len)
{
	struct nic *nic = dev->stack;
	struct pbuf *p;

	/* The Ethernet header, and at most an MTU plus a VLAN tag after it. */
	if (len < NETDEV_ETHER_HLEN || len > (size_t)nic->netif.mtu + NETDEV_ETHER_HLEN + 4)
		return;
	net_lock();
	p = pbuf_alloc(PBUF_RAW, (u16_t)len, PBUF_POOL);
	if (p) {
		pbuf_take(p, frame, (u16_t)len);
		if (nic->netif.input(p, &nic->netif) != ERR_OK)
			pbuf_free(p);
	}
	net_unlock();
}

/* The driver has room again (its interrupt thread): send what TCP held
 * back when a transmit found the device full. */
static void nic_tx_ready(struct netdev *dev)
{
	(void)dev;
	net_lock();
	tcp_txnow();
	net_unlock();
}

static void nic_attach(struct netdev *dev)
{
	struct nic *nic = kzalloc(sizeof(*nic));

	if (!nic) {
		kprintf("rumprun: net: no memory to attach %s\n", dev->name);
		return;
	}
	nic->dev = dev;
	net_lock();
	if (!netif_add_noaddr(&nic->netif, nic, nic_netif_init, ethernet_input)) {
		net_unlock();
		kprintf("rumprun: net: cannot attach %s\n", dev->name);
		kfree(nic, sizeof(*nic));
		return;
	}
	nic->next = nics;
	nics = nic;
	net_nics++;
	dev->stack = nic;
	dev->input = nic_input;
	dev->tx_ready = nic_tx_ready;
	netif_set_up(&nic->netif);
	if (dev->link_up)
		netif_set_link_up(&nic->netif);
	net_unlock();
}

void netif_glue_start(void)
{
	struct netdev *dev;

	for (dev = netdev_first(); dev; dev = dev->next)
		if (!dev->stack)
			nic_attach(dev);
	netdev_attach = nic_attach;
}

struct netif *netif_glue_find(const char *name)
{
	struct nic *nic;

	for (nic = nics; nic; nic = nic->next)
		if (!strcmp(nic->dev->name, name))
			return &nic->netif;
	return NULL;
}

const char *netif_glue_name(const struct netif *netif)
{
	struct nic *nic;

	for (nic = nics; nic; nic = nic->next)
		if (&nic->netif == netif)
			return nic->dev->name;
	return "lo";
}

/* ---- interface ioctls --------------------------------------------------- */

static int is_loop(const struct netif *n) { return n->name[0] == 'l' && n->name[1] == 'o'; }

static struct netif *by_name(const char *name)
{
	struct netif *n;

	NETIF_FOREACH(n)
	if (!strncmp(netif_glue_name(n), name, IFNAMSIZ))
		return n;
	return NULL;
}

static void put_ip4(struct sockaddr *sa, const ip4_addr_t *ip)
{
	struct sockaddr_in *sin = (struct sockaddr_in *)sa;

	memset(sin, 0, sizeof(*sin));
	sin->sin_family = AF_INET;
	sin->sin_addr.s_addr = ip4_addr_get_u32(ip);
}

/* One interface's answer to a SIOCGIF* request (locked). */
static long ifreq_get(struct netif *n, unsigned long cmd, struct ifreq *ifr)
{
	ip4_addr_t bcast;

	switch (cmd) {
	case SIOCGIFFLAGS:
		ifr->ifr_flags = (netif_is_up(n) ? IFF_UP : 0) |
		    (netif_is_link_up(n) ? IFF_RUNNING | IFF_LOWER_UP : 0) |
		    (is_loop(n) ? IFF_LOOPBACK : IFF_BROADCAST | IFF_MULTICAST);
		return 0;
	case SIOCGIFADDR:
		if (ip4_addr_isany_val(*netif_ip4_addr(n)))
			return -EADDRNOTAVAIL;
		put_ip4(&ifr->ifr_addr, netif_ip4_addr(n));
		return 0;
	case SIOCGIFNETMASK:
		if (ip4_addr_isany_val(*netif_ip4_addr(n)))
			return -EADDRNOTAVAIL;
		put_ip4(&ifr->ifr_netmask, netif_ip4_netmask(n));
		return 0;
	case SIOCGIFBRDADDR:
		if (ip4_addr_isany_val(*netif_ip4_addr(n)))
			return -EADDRNOTAVAIL;
		ip4_addr_set_u32(&bcast,
		    ip4_addr_get_u32(netif_ip4_addr(n)) | ~ip4_addr_get_u32(netif_ip4_netmask(n)));
		put_ip4(&ifr->ifr_broadaddr, &bcast);
		return 0;
	case SIOCGIFMTU:
		ifr->ifr_mtu = is_loop(n) ? 65536 : n->mtu;
		return 0;
	case SIOCGIFHWADDR:
		memset(&ifr->ifr_hwaddr, 0, sizeof(ifr->ifr_hwaddr));
		ifr->ifr_hwaddr.sa_family =
		    is_loop(n) ? 772 : 1; /* ARPHRD_LOOPBACK, ARPHRD_ETHER */
		memcpy(ifr->ifr_hwaddr.sa_data, n->hwaddr, n->hwaddr_len);
		return 0;
	case SIOCGIFINDEX:
		ifr->ifr_ifindex = netif_get_index(n);
		return 0;
	}
	return -ENOTTY;
}

long netif_ioctl(unsigned long cmd, unsigned long arg)
{
	struct ifreq *ifr = (struct ifreq *)arg;
	struct netif *n;
	long rv;

	switch (cmd) {
	case SIOCGIFCONF: {
		struct ifconf *ifc = (struct ifconf *)arg;
		int len = 0;

		net_stack_start();
		net_lock();
		NETIF_FOREACH(n)
		{
			struct ifreq r;

			if (ip4_addr_isany_val(*netif_ip4_addr(n)))
				continue; /* Linux lists IPv4 addresses only */
			if (ifc->ifc_req) {
				if (len + (int)sizeof(r) > ifc->ifc_len)
					break;
				memset(&r, 0, sizeof(r));
				memcpy(r.ifr_name, netif_glue_name(n),
				    strnlen(netif_glue_name(n), IFNAMSIZ - 1));
				put_ip4(&r.ifr_addr, netif_ip4_addr(n));
				memcpy((char *)ifc->ifc_req + len, &r, sizeof(r));
			}
			len += sizeof(r);
		}
		net_unlock();
		ifc->ifc_len = len;
		return 0;
	}
	case SIOCGIFNAME:
		net_stack_start();
		net_lock();
		n = netif_get_by_index((u8_t)ifr->ifr_ifindex);
		if (n && ifr->ifr_ifindex > 0 && ifr->ifr_ifindex < 256)
			memcpy(ifr->ifr_name, netif_glue_name(n),
			    strnlen(netif_glue_name(n), IFNAMSIZ - 1) + 1);
		net_unlock();
		return n ? 0 : -ENODEV;
	case SIOCGIFFLAGS:
	case SIOCGIFADDR:
	case SIOCGIFNETMASK:
	case SIOCGIFBRDADDR:
	case SIOCGIFMTU:
	case SIOCGIFHWADDR:
	case SIOCGIFINDEX:
		net_stack_start();
		net_lock();
		n = by_name(ifr->ifr_name);
		rv = n ? ifreq_get(n, cmd, ifr) : -ENODEV;
		net_unlock();
		return rv;
	case SIOCSIFFLAGS:
	case SIOCSIFADDR:
	case SIOCSIFNETMASK:
	case SIOCSIFMTU:
	case SIOCSIFHWADDR:
	case SIOCADDRT:
	case SIOCDELRT:
		return -EOPNOTSUPP; /* the configuration says how interfaces are */
	}
	return -ENOTTY;
}
