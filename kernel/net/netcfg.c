/*
 * The network configuration: the "net" entries and the "dns" list of the
 * JSON configuration (CONFIG-SPEC: type inet with method dhcp or static,
 * type inet6 with method auto or static), applied at boot before any
 * program starts; and /etc/resolv.conf, from "dns" or else from what DHCP
 * and router advertisements name.
 *
 * A bad entry ends the machine with one console line and status 1
 * (config_bad).  DHCP is waited for, at most DHCP_WAIT_S seconds for all
 * interfaces together; without a lease the machine still starts, says so,
 * and DHCP goes on trying.  IPv6 autoconfiguration is waited for at most
 * SLAAC_WAIT_S seconds.
 */
#include "net_impl.h"
#include <kernel/config.h>
#include <kernel/vfs.h>

#include "lwip/netif.h"
#include "lwip/dhcp.h"
#include "lwip/ip_addr.h"
#include "lwip/ip4_addr.h"
#include "lwip/ip6_addr.h"
#include "lwip/pbuf.h"
#include "lwip/prot/dhcp.h"

#define MAX_ENTRIES 16
#define DHCP_WAIT_S 10
#define SLAAC_WAIT_S 5

static struct rumpuser_cv *cfg_cv;
static int user_dns; /* "dns" given: keep it */
static ip_addr_t learnt_dns[4]; /* IPv4 from DHCP: 0-1; IPv6 (RDNSS): 2-3 */
static int configured; /* an interface has an address */

/* Append the strings a, b, c to text (room bytes there); how many were. */
static size_t append(char *text, size_t room, const char *a, const char *b, const char *c)
{
	size_t n = strlen(a) + strlen(b) + strlen(c);

	if (n >= room)
		return 0;
	strcpy(text, a);
	strcat(text, b);
	strcat(text, c);
	return n;
}

/* An address as Linux tools write it (lwIP's IPv6 text is upper case). */
static char *ip_text(const ip_addr_t *ip, char *buf, size_t len)
{
	ipaddr_ntoa_r(ip, buf, len);
	for (char *p = buf; *p; p++)
		if (*p >= 'A' && *p <= 'F')
			*p += 'a' - 'A';
	return buf;
}

static void print_ip(const char *what, const ip_addr_t *ip)
{
	char buf[IP6ADDR_STRLEN_MAX];

	kprintf("%s%s", what, ip_text(ip, buf, sizeof(buf)));
}

/* ---- /etc/resolv.conf --------------------------------------------------- */

static void resolv_write(const char *text, size_t len)
{
	int err = vfs_put_file("/etc/resolv.conf", 0644, text, len);

	if (err)
		kprintf("rumprun: net: cannot write /etc/resolv.conf (error %d)\n", -err);
}

static void resolv_from_learnt(void)
{
	char text[4 * (IP6ADDR_STRLEN_MAX + 12)], buf[IP6ADDR_STRLEN_MAX];
	size_t len = 0;
	int i;

	if (user_dns)
		return;
	for (i = 0; i < 4; i++) {
		if (ip_addr_isany(&learnt_dns[i]))
			continue;
		ip_text(&learnt_dns[i], buf, sizeof(buf));
		len += append(text + len, sizeof(text) - len, "nameserver ", buf, "\n");
	}
	if (len)
		resolv_write(text, len);
}

void netcfg_dns_learnt(unsigned char n, const void *addr)
{
	const ip_addr_t *ip = addr;
	int slot;

	if (!ip || n >= 2)
		return;
	slot = IP_IS_V6(ip) ? 2 + n : n;
	if (ip_addr_cmp(&learnt_dns[slot], ip))
		return;
	ip_addr_copy(learnt_dns[slot], *ip);
	resolv_from_learnt();
}

/* lwIP's DHCP client hands us the options it does not parse itself:
 * keep the name servers (option 6) of an acknowledgement. */
void netcfg_dhcp_option(unsigned char msg_type, unsigned char option, unsigned char len,
    const void *pbuf, unsigned short offset)
{
	uint32_t servers[2];
	int i, n = len >= 8 ? 2 : len / 4;

	if (option != DHCP_OPTION_DNS_SERVER || msg_type != DHCP_ACK || n == 0)
		return;
	if (pbuf_copy_partial(pbuf, servers, n * 4, offset) != n * 4)
		return;
	for (i = 0; i < n; i++) {
		ip_addr_t ip;

		ip_addr_set_ip4_u32_val(ip, servers[i]);
		netcfg_dns_learnt(i, &ip);
	}
}

const void *netcfg_dns_server(unsigned char n) { return n < 4 ? &learnt_dns[n] : IP4_ADDR_ANY; }

static void apply_dns(void)
{
	const struct config_node *dns = config_member(config_root(), "dns"), *it;
	char text[512];
	size_t len = 0;
	ip_addr_t ip;

	if (!dns)
		return;
	if (dns->type == CONFIG_STRING) {
		it = dns;
	} else if (dns->type == CONFIG_ARRAY) {
		it = dns->items;
	} else {
		config_bad("dns", "a list of name server addresses");
	}
	for (; it; it = dns->type == CONFIG_ARRAY ? it->next : NULL) {
		if (it->type != CONFIG_STRING || !ipaddr_aton(it->str, &ip))
			config_bad("dns", "a list of name server addresses (IPv4 or IPv6)");
		len += append(text + len, sizeof(text) - len, "nameserver ", it->str, "\n");
	}
	user_dns = 1;
	resolv_write(text, len);
}

/* ---- the interfaces ----------------------------------------------------- */

static int ip6_ready(struct netif *netif);

static void nsc_callback(
    struct netif *netif, netif_nsc_reason_t reason, const netif_ext_callback_args_t *args)
{
	if (!(reason &
	        (LWIP_NSC_IPV4_SETTINGS_CHANGED | LWIP_NSC_IPV4_ADDRESS_CHANGED |
	            LWIP_NSC_IPV6_ADDR_STATE_CHANGED | LWIP_NSC_IPV6_SET)))
		return;
	if (!ip4_addr_isany_val(*netif_ip4_addr(netif)) || ip6_ready(netif) >= 0)
		configured = 1;
	rumpuser_cv_broadcast(cfg_cv);
}
NETIF_DECLARE_EXT_CALLBACK(nsc)

static const char *member_str(const struct config_node *e, const char *key, int required)
{
	const struct config_node *v = config_member(e, key);

	if (!v) {
		if (required)
			config_bad("net",
			    "entries with \"if\", \"type\" and \"method\" (and "
			    "\"addr\" and \"mask\" for static ones)");
		return NULL;
	}
	if (v->type != CONFIG_STRING && v->type != CONFIG_NUMBER)
		config_bad("net", "entries whose values are strings");
	return v->str;
}

/* A prefix length ("24") or a dotted IPv4 mask ("255.255.255.0"). */
static int prefix_len(const char *mask, int max)
{
	ip4_addr_t m;
	int n = 0;

	if (strchr(mask, '.')) {
		if (max != 32 || !ip4addr_aton(mask, &m))
			return -1;
		uint32_t bits = lwip_ntohl(ip4_addr_get_u32(&m));

		while (bits & 0x80000000u) {
			n++;
			bits <<= 1;
		}
		return bits ? -1 : n; /* not contiguous */
	}
	for (const char *p = mask; *p; p++) {
		if (*p < '0' || *p > '9' || n > 128)
			return -1;
		n = n * 10 + (*p - '0');
	}
	return *mask && n <= max ? n : -1;
}

struct waiting {
	struct netif *netif;
	const char *name;
	int inet6;
};

static void configure(const struct config_node *e, struct waiting *w, int *nw)
{
	const char *ifname = member_str(e, "if", 1), *type = member_str(e, "type", 1),
	           *method = member_str(e, "method", 1), *addr, *mask, *gw;
	struct netif *netif = netif_glue_find(ifname);
	int inet6 = !strcmp(type, "inet6");

	if (!netif) {
		kprintf("rumprun: bad configuration: \"net\" names interface %s, which this "
		        "machine does not have\n",
		    ifname);
		rumpuser_exit(1);
	}
	if (strcmp(type, "inet") && !inet6)
		config_bad("net", "entries of type \"inet\" or \"inet6\"");
	if (!strcmp(method, "static")) {
		ip_addr_t ip, gwip;
		int plen;

		addr = member_str(e, "addr", 1);
		mask = member_str(e, "mask", 1);
		gw = member_str(e, "gw", 0);
		if (!ipaddr_aton(addr, &ip) || IP_IS_V6(&ip) != inet6)
			config_bad("net",
			    inet6 ? "static inet6 entries with an IPv6 \"addr\""
			          : "static inet entries with an IPv4 \"addr\"");
		if ((plen = prefix_len(mask, inet6 ? 128 : 32)) < 0)
			config_bad("net",
			    "entries whose \"mask\" is a prefix length (\"24\") or "
			    "a dotted IPv4 mask");
		if (gw && (!ipaddr_aton(gw, &gwip) || IP_IS_V6(&gwip) != inet6))
			config_bad("net", "entries whose \"gw\" is an address of their type");
		net_lock();
		if (inet6) {
			s8_t idx;

			if (plen != 64)
				kprintf("rumprun: net: %s: lwIP uses /64 for %s\n", ifname, addr);
			netif_create_ip6_linklocal_address(netif, 1);
			if (netif_add_ip6_address(netif, ip_2_ip6(&ip), &idx) != ERR_OK) {
				net_unlock();
				config_bad(
				    "net", "static inet6 entries this interface has room for");
			}
			netif_ip6_addr_set_state(netif, idx, IP6_ADDR_PREFERRED);
		} else {
			ip4_addr_t m;

			ip4_addr_set_u32(&m, plen ? lwip_htonl(0xffffffffu << (32 - plen)) : 0);
			netif_set_addr(netif, ip_2_ip4(&ip), &m, gw ? ip_2_ip4(&gwip) : NULL);
			if (gw && (!netif_default || netif_default == netif_glue_find("lo")))
				netif_set_default(netif);
		}
		configured = 1;
		net_unlock();
		kprintf("rumprun: net: %s: %s/%d", ifname, addr, plen);
		if (gw)
			kprintf(", gateway %s", gw);
		kprintf(" (static)\n");
		return;
	}
	if (!inet6 && !strcmp(method, "dhcp")) {
		net_lock();
		netif_set_hostname(netif, config_get()->hostname);
		if (!netif_default)
			netif_set_default(netif);
		if (dhcp_start(netif) != ERR_OK) {
			net_unlock();
			kprintf("rumprun: net: %s: cannot start DHCP (out of memory)\n", ifname);
			rumpuser_exit(1);
		}
		net_timers_dhcp(1);
		net_unlock();
	} else if (inet6 && !strcmp(method, "auto")) {
		net_lock();
		netif_create_ip6_linklocal_address(netif, 1);
		netif_set_ip6_autoconfig_enabled(netif, 1);
		net_unlock();
	} else {
		config_bad("net",
		    inet6 ? "inet6 entries with method \"auto\" or \"static\""
		          : "inet entries with method \"dhcp\" or \"static\"");
	}
	if (*nw < MAX_ENTRIES) {
		w[*nw].netif = netif;
		w[*nw].name = ifname;
		w[*nw].inet6 = inet6;
		(*nw)++;
	}
}

/* A global (not link-local) IPv6 address ready for use, or -1. */
static int ip6_ready(struct netif *netif)
{
	for (int i = 0; i < LWIP_IPV6_NUM_ADDRESSES; i++)
		if (ip6_addr_ispreferred(netif_ip6_addr_state(netif, i)) &&
		    !ip6_addr_islinklocal(netif_ip6_addr(netif, i)))
			return i;
	return -1;
}

static int ready(const struct waiting *w)
{
	return w->inet6 ? ip6_ready(w->netif) >= 0 : dhcp_supplied_address(w->netif);
}

static void report(const struct waiting *w, int ok)
{
	if (!ok) {
		if (w->inet6)
			kprintf("rumprun: net: %s: no IPv6 router answered within %d s; "
			        "only the link-local address for now\n",
			    w->name, SLAAC_WAIT_S);
		else
			kprintf("rumprun: net: %s: no DHCP lease within %d s; going on "
			        "without an address (DHCP keeps trying)\n",
			    w->name, DHCP_WAIT_S);
		return;
	}
	kprintf("rumprun: net: %s: ", w->name);
	if (w->inet6) {
		print_ip("", netif_ip_addr6(w->netif, ip6_ready(w->netif)));
		kprintf("/64 (autoconfigured)\n");
		return;
	}
	print_ip("", netif_ip_addr4(w->netif));
	kprintf("/%d", __builtin_popcount(ip4_addr_get_u32(netif_ip4_netmask(w->netif))));
	if (!ip4_addr_isany_val(*netif_ip4_gw(w->netif)))
		print_ip(", gateway ", netif_ip_gw4(w->netif));
	kprintf(" (DHCP)\n");
}

void netcfg_apply(void)
{
	const struct config_node *entries[MAX_ENTRIES];
	struct waiting w[MAX_ENTRIES];
	int n = config_entries("net", entries, MAX_ENTRIES), nw = 0, i;
	int64_t start = time_mono_ns();

	rumpuser_cv_init(&cfg_cv);
	net_lock();
	netif_add_ext_callback(&nsc, nsc_callback);
	net_unlock();
	apply_dns();
	if (n > MAX_ENTRIES)
		config_bad("net", "at most 16 entries");
	for (i = 0; i < n; i++) {
		if (entries[i]->type != CONFIG_OBJECT)
			config_bad("net", "objects (or a list of objects)");
		configure(entries[i], w, &nw);
	}
	/* Wait for every DHCP lease and IPv6 address together. */
	net_lock();
	for (i = 0; i < nw; i++) {
		int64_t deadline = start + (w[i].inet6 ? SLAAC_WAIT_S : DHCP_WAIT_S) * 1000000000LL;

		while (!ready(&w[i]) && net_wait(cfg_cv, deadline) == 0)
			;
		int ok = ready(&w[i]);

		net_unlock();
		report(&w[i], ok);
		net_lock();
		if (ok)
			configured = 1;
	}
	net_unlock();
}

void netcfg_note_socket(void)
{
	static int said;

	if (said || configured)
		return;
	said = 1;
	kprintf("rumprun: net: no network interface is configured: only loopback "
	        "(127.0.0.1, ::1) works\n");
}
