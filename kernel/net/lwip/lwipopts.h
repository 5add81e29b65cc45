/*
 * lwIP's configuration for the unikernel (lwIP 2.1.3, fetched by the build;
 * see kernel/net/README.md).
 *
 * The stack runs in lwIP's NO_SYS mode under one kernel lock (net_lock,
 * kernel/net/stack.c): system calls, frames from the drivers and timers all
 * call the raw API directly, with no tcpip thread and no message passing,
 * which on a one-CPU cooperative scheduler would only add two thread
 * switches to every call.  Timers are ours (LWIP_TIMERS_CUSTOM) so that
 * nothing wakes the machine while the network is idle.  Memory comes from
 * the kernel's allocator on demand (no fixed pools): a machine with 16 MiB
 * and one with 4 GiB use the same image.
 */
#ifndef LWIPOPTS_H
#define LWIPOPTS_H

/* ---- how lwIP runs ---------------------------------------------------- */
#define NO_SYS 1
#define LWIP_TIMERS 1
#define LWIP_TIMERS_CUSTOM 1 /* stack.c: sys_timeout and friends */
#define SYS_LIGHTWEIGHT_PROT 0 /* everything runs under net_lock */
#define LWIP_NETCONN 0 /* our sockets are over the raw API */
#define LWIP_SOCKET 0
#define LWIP_DONT_PROVIDE_BYTEORDER_FUNCTIONS 1 /* musl's htons & co. */
#define LWIP_ASSERT_CORE_LOCKED() net_assert_locked()
void net_assert_locked(void);

/* ---- memory: the kernel allocator, no pools -------------------------- */
#define MEM_LIBC_MALLOC 1
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT 8
#define mem_clib_malloc net_mem_alloc
#define mem_clib_free net_mem_free
#define mem_clib_calloc net_mem_calloc
#include <stddef.h>
void *net_mem_alloc(size_t size);
void *net_mem_calloc(size_t n, size_t size);
void net_mem_free(void *p);
#define MEM_SIZE (16 * 1024 * 1024) /* only a type size hint */

/* ---- protocols --------------------------------------------------------- */
#define LWIP_IPV4 1
#define LWIP_IPV6 1
#define LWIP_ARP 1
#define ARP_QUEUEING 1
#define ETHARP_SUPPORT_STATIC_ENTRIES 0
#define IP_REASSEMBLY 1
#define IP_FRAG 1
#define LWIP_IPV6_REASS 1
#define LWIP_IPV6_FRAG 1
#define IPV6_FRAG_COPYHEADER 1 /* its helper is bigger than the header on 64-bit */
#define LWIP_ICMP 1 /* echo replies */
#define LWIP_RAW 0
#define LWIP_UDP 1
#define LWIP_TCP 1
#define LWIP_DHCP 1
#define DHCP_DOES_ARP_CHECK 0 /* no half-second probe at boot */
#define LWIP_AUTOIP 0
#define LWIP_IGMP 0
#define LWIP_DNS 0 /* musl resolves, over UDP */
#define LWIP_IPV6_AUTOCONFIG 1
#define LWIP_IPV6_MLD 1
#define LWIP_IPV6_DHCP6 0
#define LWIP_ND6_RDNSS_MAX_DNS_SERVERS 2
#define LWIP_IPV6_NUM_ADDRESSES 3
/* One packet waits per unresolved IPv6 neighbour (RFC 4861 allows it):
 * with pools from the heap, lwIP's queue would have no bound. */
#define LWIP_ND6_QUEUEING 0

/* Name servers learnt from DHCP (option 6, which lwIP leaves to this
 * hook without its resolver) and router advertisements (RDNSS) go to
 * /etc/resolv.conf (netcfg.c) instead of lwIP's resolver. */
#define LWIP_HOOK_DHCP_PARSE_OPTION(netif, dhcp, state, msg, msg_type, option, len, pbuf, offset) \
	netcfg_dhcp_option((msg_type), (option), (len), (pbuf), (offset))
void netcfg_dhcp_option(unsigned char msg_type, unsigned char option, unsigned char len,
    const void *pbuf, unsigned short offset);
#define DNS_MAX_SERVERS 2
#define dns_setserver(n, addr) netcfg_dns_learnt((n), (const void *)(addr))
#define dns_getserver(n) ((const ip_addr_t *)netcfg_dns_server(n))
void netcfg_dns_learnt(unsigned char n, const void *addr);
const void *netcfg_dns_server(unsigned char n);

/* ---- TCP ---------------------------------------------------------------- */
#define TCP_MSS 1460
#define LWIP_WND_SCALE 1
#define TCP_RCV_SCALE 2
#define TCP_WND (128 * 1024)
#define TCP_SND_BUF (128 * 1024)
#define TCP_SND_QUEUELEN ((4 * TCP_SND_BUF + TCP_MSS - 1) / TCP_MSS)
#define TCP_SNDLOWAT (16 * 1024)
#define TCP_SNDQUEUELOWAT (TCP_SND_QUEUELEN / 2)
#define TCP_OVERSIZE TCP_MSS
#define TCP_QUEUE_OOSEQ 1
/* Out-of-order segments kept per connection: at most a window's worth
 * (lwIP's default is no limit). */
#define TCP_OOSEQ_MAX_BYTES TCP_WND
#define TCP_OOSEQ_MAX_PBUFS (2 * TCP_WND / TCP_MSS)
#define LWIP_TCP_SACK_OUT 1
#define LWIP_TCP_MAX_SACK_NUM 4
#define TCP_LISTEN_BACKLOG 1
#define TCP_DEFAULT_LISTEN_BACKLOG 0xff
#define LWIP_TCP_KEEPALIVE 1
#define SO_REUSE 1
#define LWIP_TCP_TIMESTAMPS 0
/* A SYN for a connection in TIME_WAIT starts a new one when its sequence
 * number is past the old connection's (RFC 1122 4.2.2.13, as Linux);
 * lwIP would keep the new connection waiting the whole 2 MSL. */
#define LWIP_HOOK_IP4_INPUT(p, inp) net_syn_in_time_wait((p), 4)
#define LWIP_HOOK_IP6_INPUT(p, inp) net_syn_in_time_wait((p), 6)
struct pbuf;
int net_syn_in_time_wait(struct pbuf *p, int version);

/* Initial sequence numbers as RFC 6528 says (a 4 us clock plus a keyed
 * hash of the connection's addresses and ports); lwIP's own are a counter. */
#define LWIP_HOOK_TCP_ISN(local_ip, local_port, remote_ip, remote_port) \
	net_tcp_isn((local_ip), (local_port), (remote_ip), (remote_port))
unsigned net_tcp_isn(const void *local_ip, unsigned short local_port, const void *remote_ip,
    unsigned short remote_port);

/* ---- interfaces ----------------------------------------------------------- */
#define LWIP_NETIF_LOOPBACK 1 /* 127.0.0.1, ::1 and our own addresses */
#define LWIP_HAVE_LOOPIF 1
#define LWIP_LOOPBACK_MAX_PBUFS 0
#define LWIP_NETIF_HOSTNAME 1 /* sent with DHCP requests */
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_EXT_STATUS_CALLBACK 1 /* addresses come and go: netcfg.c */
#define LWIP_NETIF_LINK_CALLBACK 0
#define LWIP_CHECKSUM_CTRL_PER_NETIF 1 /* none on loopback, none checked when the device did */
#define LWIP_CHKSUM_ALGORITHM 3
#define LWIP_NUM_NETIF_CLIENT_DATA 0

/* ---- diagnostics ---------------------------------------------------------- */
#define LWIP_STATS 0
/* LWIP_DEBUG stays undefined (lwIP tests it with #ifdef); assertions stay
 * on: they report internal inconsistencies, never bad input. */

/* A random 32-bit number (ephemeral ports, DHCP transaction ids). */
#define LWIP_RAND() net_random32()
unsigned net_random32(void);

#endif
