/*
 * The network stack's input path on the posix platform, with two network
 * devices played by the test (kernel/include/kernel/netdev.h): frames go
 * in through netdev_input and what the stack sends comes out through the
 * devices' transmit op.
 *
 * First what a real peer sees: ARP answers, ICMP echo replies, a SYN-ACK
 * from a listening socket, a UDP datagram reaching a bound socket, the
 * "net" configuration (static IPv4 and IPv6) applied by net_init.  Then a
 * fuzz test: valid frames of every kind the stack parses, mutated, and
 * random garbage, on a device whose checksums the stack checks and on one
 * that says it checked them (so mutated headers reach the deep code).
 * Nothing may crash, and memory lwIP holds must not grow with the number
 * of frames (measured over two equal halves).  Then the stack still
 * answers.
 */
#include "ktest.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <kernel/config.h>
#include <kernel/net.h>
#include <kernel/netdev.h>

static const uint8_t MAC0[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x10};
static const uint8_t MAC1[6] = {0x52, 0x54, 0x00, 0x00, 0x00, 0x11};
static const uint8_t PEER[6] = {0x02, 0x00, 0x00, 0x00, 0x00, 0x01};

/* ---- the devices -------------------------------------------------------- */

#define RING 64
static struct sent {
	uint8_t data[1600];
	size_t len;
} sent[RING];
static unsigned nsent; /* frames transmitted, all devices */
static int device_full; /* transmit says -ENOBUFS, as a full ring does */
static unsigned refused; /* frames refused that way */

static int fake_transmit(struct netdev *dev, const struct iovec *iov, int iovcnt, size_t len)
{
	struct sent *s;
	size_t off = 0;

	if (device_full) {
		refused++;
		return -ENOBUFS;
	}
	s = &sent[nsent++ % RING];

	if (len > sizeof(s->data))
		return -EIO;
	for (int i = 0; i < iovcnt; i++) {
		memcpy(s->data + off, iov[i].iov_base, iov[i].iov_len);
		off += iov[i].iov_len;
	}
	s->len = off;
	return off == len ? 0 : -EIO;
}

static const struct netdev_ops fake_ops = {.transmit = fake_transmit};
static struct netdev fz0 = {.name = "fz0", .mtu = 1500, .link_up = 1, .ops = &fake_ops};
static struct netdev fz1 = {
    .name = "fz1", .mtu = 1500, .link_up = 1, .ops = &fake_ops, .features = NETDEV_F_RX_CSUM_OK};

static void input(struct netdev *dev, const void *frame, size_t len)
{
	rumprun_posix_enter();
	netdev_input(dev, frame, len);
	rumprun_posix_leave();
}

/* The last transmitted frame of ethertype type (and IP protocol proto,
 * 0: any) since mark; NULL when none. */
static const struct sent *find_sent(unsigned mark, uint16_t type, int proto)
{
	for (unsigned i = nsent; i-- > mark && i + RING >= nsent;) {
		const struct sent *s = &sent[i % RING];

		if (s->len < 34 || (s->data[12] << 8 | s->data[13]) != type)
			continue;
		if (proto && type == 0x0800 && s->data[23] != proto)
			continue;
		return s;
	}
	return NULL;
}

/* ---- building frames --------------------------------------------------- */

static uint16_t csum(const void *data, size_t len, uint32_t sum)
{
	const uint8_t *p = data;

	for (size_t i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static size_t ether(uint8_t *f, const uint8_t *dst, uint16_t type)
{
	memcpy(f, dst, 6);
	memcpy(f + 6, PEER, 6);
	f[12] = type >> 8;
	f[13] = type & 0xff;
	return 14;
}

static size_t arp_request(uint8_t *f, const char *sender, const char *target)
{
	static const uint8_t bcast[6] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	size_t n = ether(f, bcast, 0x0806);
	uint8_t *a = f + n;

	memcpy(a, "\x00\x01\x08\x00\x06\x04\x00\x01", 8); /* Ethernet, IPv4, request */
	memcpy(a + 8, PEER, 6);
	inet_pton(AF_INET, sender, a + 14);
	memset(a + 18, 0, 6);
	inet_pton(AF_INET, target, a + 24);
	return n + 28;
}

/* An IPv4 packet of protocol proto with payload (its checksum, for TCP and
 * UDP, computed with the pseudo-header). */
static size_t ipv4(uint8_t *f, const uint8_t *dst, const char *src, const char *to, int proto,
    const void *payload, size_t plen)
{
	size_t n = ether(f, dst, 0x0800);
	uint8_t *ip = f + n, *l4 = ip + 20;

	memset(ip, 0, 20);
	ip[0] = 0x45;
	ip[2] = (20 + plen) >> 8;
	ip[3] = (20 + plen) & 0xff;
	ip[8] = 64;
	ip[9] = proto;
	inet_pton(AF_INET, src, ip + 12);
	inet_pton(AF_INET, to, ip + 16);
	uint16_t c = csum(ip, 20, 0);
	ip[10] = c >> 8;
	ip[11] = c & 0xff;
	memcpy(l4, payload, plen);
	if (proto == 6 || proto == 17) {
		uint8_t pseudo[12];
		memcpy(pseudo, ip + 12, 8);
		pseudo[8] = 0;
		pseudo[9] = proto;
		pseudo[10] = plen >> 8;
		pseudo[11] = plen & 0xff;
		uint32_t sum = 0;
		for (int i = 0; i < 12; i += 2)
			sum += pseudo[i] << 8 | pseudo[i + 1];
		int at = proto == 6 ? 16 : 6;
		l4[at] = l4[at + 1] = 0;
		c = csum(l4, plen, sum);
		l4[at] = c >> 8;
		l4[at + 1] = c & 0xff;
	} else if (proto == 1) {
		l4[2] = l4[3] = 0;
		c = csum(l4, plen, 0);
		l4[2] = c >> 8;
		l4[3] = c & 0xff;
	}
	return n + 20 + plen;
}

static size_t icmp_echo(uint8_t *f, const uint8_t *dst, const char *src, const char *to)
{
	uint8_t m[8 + 16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};
	memcpy(m + 8, "echo from a test", 16);
	return ipv4(f, dst, src, to, 1, m, sizeof(m));
}

static size_t tcp_syn(
    uint8_t *f, const uint8_t *dst, const char *src, const char *to, int sport, int dport)
{
	uint8_t t[24] = {sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, 0x11, 0x22, 0x33, 0x44,
	    0, 0, 0, 0, 0x60, 0x02, 0xff, 0xff, 0, 0, 0, 0, 2, 4, 0x05, 0xb4}; /* MSS 1460 */
	return ipv4(f, dst, src, to, 6, t, sizeof(t));
}

/* A TCP segment without options (flags: 0x10 ACK, 0x18 PSH|ACK...). */
static size_t tcp_segment(uint8_t *f, const uint8_t *dst, const char *src, const char *to,
    int sport, int dport, uint32_t seq, uint32_t ack, int flags, const char *data)
{
	uint8_t t[20 + 64] = {sport >> 8, sport & 0xff, dport >> 8, dport & 0xff, seq >> 24,
	    seq >> 16, seq >> 8, seq, ack >> 24, ack >> 16, ack >> 8, ack, 0x50, flags, 0xff, 0xff};
	size_t len = strlen(data);

	memcpy(t + 20, data, len);
	return ipv4(f, dst, src, to, 6, t, 20 + len);
}

static uint32_t seq_of(const struct sent *s)
{
	const uint8_t *t = s->data + 34;

	return (uint32_t)t[4] << 24 | t[5] << 16 | t[6] << 8 | t[7];
}

static size_t udp(
    uint8_t *f, const uint8_t *dst, const char *src, const char *to, int dport, const char *text)
{
	uint8_t u[8 + 64];
	size_t len = strlen(text);
	u[0] = 0x30;
	u[1] = 0x39; /* port 12345 */
	u[2] = dport >> 8;
	u[3] = dport & 0xff;
	u[4] = (8 + len) >> 8;
	u[5] = (8 + len) & 0xff;
	memcpy(u + 8, text, len);
	return ipv4(f, dst, src, to, 17, u, 8 + len);
}

/* An IPv6 packet (next header nh) to to from src; checksums are not
 * computed (used on fz1, whose checksums the stack does not check). */
static size_t ipv6(uint8_t *f, const uint8_t *dst, const char *src, const char *to, int nh,
    const void *payload, size_t plen, int hops)
{
	size_t n = ether(f, dst, 0x86dd);
	uint8_t *ip = f + n;

	memset(ip, 0, 40);
	ip[0] = 0x60;
	ip[4] = plen >> 8;
	ip[5] = plen & 0xff;
	ip[6] = nh;
	ip[7] = hops;
	inet_pton(AF_INET6, src, ip + 8);
	inet_pton(AF_INET6, to, ip + 24);
	memcpy(ip + 40, payload, plen);
	return n + 40 + plen;
}

/* ---- the fuzz test ------------------------------------------------------ */

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)rng;
}

#define NTEMPLATES 12
static uint8_t tmpl[NTEMPLATES][1600];
static size_t tmpl_len[NTEMPLATES];

static void make_templates(void)
{
	int i = 0;
	uint8_t ns[32] = {135, 0, 0, 0, 0, 0, 0, 0}, echo6[16] = {128, 0, 0, 0, 0, 1, 0, 1},
	        ra[64] = {134, 0, 0, 0, 64, 0, 0x07, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 3, 4, 64, 0xc0,
	            0, 0, 0x0e, 0x10, 0, 0, 0x07, 0x08, 0, 0, 0, 0},
	        frag[8 + 16] = {8, 0, 0, 0, 0x12, 0x34, 0, 1};

	inet_pton(AF_INET6, "fd01::2", ns + 8);
	inet_pton(AF_INET6, "fd02::", ra + 32); /* prefix option */
	tmpl_len[i] = arp_request(tmpl[i], "10.0.1.1", "10.0.1.2");
	i++;
	tmpl_len[i] = icmp_echo(tmpl[i], MAC1, "10.0.1.1", "10.0.1.2");
	i++;
	tmpl_len[i] = tcp_syn(tmpl[i], MAC1, "10.0.1.1", "10.0.1.2", 40000, 80);
	i++;
	tmpl_len[i] = udp(tmpl[i], MAC1, "10.0.1.1", "10.0.1.2", 5000, "fuzz me");
	i++;
	tmpl_len[i] = tcp_syn(tmpl[i], MAC1, "10.0.1.1", "10.0.1.2", 40001, 81);
	i++;
	tmpl_len[i] = ipv4(tmpl[i], MAC1, "10.0.1.1", "10.0.1.2", 1, frag, sizeof(frag));
	tmpl[i][14 + 6] = 0x20; /* more fragments: reassembly */
	i++;
	tmpl_len[i] = ipv6(tmpl[i], MAC1, "fd01::1", "fd01::2", 58, ns, sizeof(ns), 255);
	i++;
	tmpl_len[i] = ipv6(tmpl[i], MAC1, "fd01::1", "fd01::2", 58, echo6, sizeof(echo6), 64);
	i++;
	tmpl_len[i] = ipv6(tmpl[i], MAC1, "fe80::1", "ff02::1", 58, ra, sizeof(ra), 255);
	i++;
	tmpl_len[i] = ipv6(tmpl[i], MAC1, "fd01::1", "fd01::2", 17,
	    "\x30\x39\x13\x88\x00\x0c\x00\x00"
	    "abcd",
	    12, 64);
	i++;
	uint8_t fh[8 + 8] = {58, 0, 0, 1, 0, 0, 0, 7}; /* fragment header, more */
	memcpy(fh + 8, echo6, 8);
	tmpl_len[i] = ipv6(tmpl[i], MAC1, "fd01::1", "fd01::2", 44, fh, sizeof(fh), 64);
	i++;
	tmpl_len[i] = tcp_syn(tmpl[i], MAC0, "10.0.0.1", "10.0.0.2", 40002, 80);
	i++;
}

/* One fuzzed frame into dev. */
static void fuzz_one(void)
{
	static uint8_t f[1700];
	size_t len;
	struct netdev *dev = rnd() & 1 ? &fz1 : &fz0;

	switch (rnd() % 4) {
	case 0: /* garbage, sometimes with a plausible Ethernet type */
		len = rnd() % 1600;
		for (size_t i = 0; i < len; i++)
			f[i] = (uint8_t)rnd();
		if (len > 14 && (rnd() & 1)) {
			static const uint16_t types[] = {0x0800, 0x0806, 0x86dd, 0x8100};
			uint16_t t = types[rnd() % 4];
			memcpy(f,
			    rnd() & 1 ? dev->mac : (const uint8_t *)"\xff\xff\xff\xff\xff\xff", 6);
			f[12] = t >> 8;
			f[13] = t & 0xff;
		}
		break;
	default: { /* a valid frame, a few bytes changed, maybe cut or grown */
		int t = rnd() % NTEMPLATES;
		len = tmpl_len[t];
		memcpy(f, tmpl[t], len);
		memcpy(f, dev->mac, 6);
		for (int n = 1 + rnd() % 6; n > 0; n--)
			f[14 + rnd() % (len - 14)] = (uint8_t)rnd();
		if (rnd() % 8 == 0)
			len = 14 + rnd() % (len - 13);
		else if (rnd() % 8 == 0)
			len += rnd() % 200;
		break;
	}
	}
	input(dev, f, len);
}

int main(void)
{
	static const char config[] =
	    "{\"net\": [{\"if\": \"fz0\", \"type\": \"inet\", \"method\": \"static\","
	    " \"addr\": \"10.0.0.2\", \"mask\": \"24\", \"gw\": \"10.0.0.1\"},"
	    " {\"if\": \"fz1\", \"type\": \"inet\", \"method\": \"static\","
	    " \"addr\": \"10.0.1.2\", \"mask\": \"255.255.255.0\"},"
	    " {\"if\": \"fz1\", \"type\": \"inet6\", \"method\": \"static\","
	    " \"addr\": \"fd01::2\", \"mask\": \"64\"}],"
	    " \"dns\": [\"10.0.0.53\", \"fd01::53\"]}";
	struct rumprun_config cfg;
	uint8_t f[1600];
	char buf[256];
	size_t n;
	unsigned mark;

	ktest_boot();
	memcpy(fz0.mac, MAC0, 6);
	memcpy(fz1.mac, MAC1, 6);
	rumprun_posix_enter();
	config_parse(config, strlen(config), &cfg);
	EXPECT(netdev_register(&fz0), 0);
	EXPECT(netdev_register(&fz1), 0);
	net_init();
	rumprun_posix_leave();

	/* The configuration: resolv.conf, the interfaces' addresses. */
	long fd = K(SYS_open, "/etc/resolv.conf", O_RDONLY);
	n = K(SYS_read, fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	K(SYS_close, fd);
	EXPECT_TRUE(strcmp(buf, "nameserver 10.0.0.53\nnameserver fd01::53\n") == 0);
	int s = K(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	struct ifreq {
		char name[16];
		union {
			struct sockaddr_in a;
			int index;
		} u;
		char pad[8];
	} ifr;
	memset(&ifr, 0, sizeof(ifr));
	strcpy(ifr.name, "fz0");
	EXPECT(K(SYS_ioctl, s, 0x8915 /* SIOCGIFADDR */, &ifr), 0);
	EXPECT(ifr.u.a.sin_addr.s_addr, inet_addr("10.0.0.2"));
	EXPECT(K(SYS_ioctl, s, 0x8933 /* SIOCGIFINDEX */, &ifr), 0);
	EXPECT(ifr.u.index, 2); /* lo is 1, as on Linux */
	strcpy(ifr.name, "nosuch");
	EXPECT(K(SYS_ioctl, s, 0x8915, &ifr), -ENODEV);

	/* ARP: asked for 10.0.0.2, the stack answers with its MAC. */
	mark = nsent;
	input(&fz0, f, arp_request(f, "10.0.0.1", "10.0.0.2"));
	const struct sent *r = find_sent(mark, 0x0806, 0);
	EXPECT_TRUE(r != NULL);
	if (r) {
		EXPECT(r->data[21], 2); /* reply */
		EXPECT_TRUE(memcmp(r->data + 22, MAC0, 6) == 0);
		EXPECT_TRUE(memcmp(r->data, PEER, 6) == 0);
	}

	/* ICMP echo: a reply with the same data. */
	mark = nsent;
	input(&fz0, f, icmp_echo(f, MAC0, "10.0.0.1", "10.0.0.2"));
	r = find_sent(mark, 0x0800, 1);
	EXPECT_TRUE(r != NULL);
	if (r) {
		EXPECT(r->data[34], 0); /* echo reply */
		EXPECT_TRUE(memcmp(r->data + 42, "echo from a test", 16) == 0);
		EXPECT(csum(r->data + 14, 20, 0), 0); /* a valid IPv4 header */
	}
	/* A bad IPv4 checksum on fz0 (checked): dropped, no reply. */
	n = icmp_echo(f, MAC0, "10.0.0.1", "10.0.0.2");
	f[24] ^= 0x55;
	mark = nsent;
	input(&fz0, f, n);
	EXPECT_TRUE(find_sent(mark, 0x0800, 1) == NULL);

	/* TCP: a SYN to a listening socket gets a SYN-ACK; a closed port a RST. */
	int l = K(SYS_socket, AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(80)};
	EXPECT(K(SYS_bind, l, &a, sizeof(a)), 0);
	EXPECT(K(SYS_listen, l, 8), 0);
	mark = nsent;
	input(&fz0, f, tcp_syn(f, MAC0, "10.0.0.1", "10.0.0.2", 40000, 80));
	r = find_sent(mark, 0x0800, 6);
	EXPECT_TRUE(r != NULL);
	if (r) {
		EXPECT(r->data[47] & 0x3f, 0x12); /* SYN|ACK */
		EXPECT((r->data[34] << 8 | r->data[35]), 80);
	}
	mark = nsent;
	input(&fz0, f, tcp_syn(f, MAC0, "10.0.0.1", "10.0.0.2", 40001, 81));
	r = find_sent(mark, 0x0800, 6);
	EXPECT_TRUE(r != NULL && (r->data[47] & 0x04)); /* RST */

	/* UDP: a datagram reaches the bound socket, with its source. */
	int u = K(SYS_socket, AF_INET, SOCK_DGRAM, 0);
	a.sin_port = htons(5000);
	EXPECT(K(SYS_bind, u, &a, sizeof(a)), 0);
	input(&fz0, f, udp(f, MAC0, "10.0.0.1", "10.0.0.2", 5000, "from the wire"));
	struct sockaddr_in from;
	socklen_t flen = sizeof(from);
	EXPECT(K(SYS_recvfrom, u, buf, sizeof(buf), MSG_DONTWAIT, &from, &flen), 13);
	EXPECT(from.sin_addr.s_addr, inet_addr("10.0.0.1"));
	EXPECT(ntohs(from.sin_port), 12345);
	/* Sending off the link goes to the gateway (its MAC learnt by ARP). */
	struct sockaddr_in far = {
	    .sin_family = AF_INET, .sin_port = htons(9), .sin_addr.s_addr = inet_addr("192.0.2.9")};
	mark = nsent;
	EXPECT(K(SYS_sendto, u, "out", 3, 0, &far, sizeof(far)), 3);
	r = find_sent(mark, 0x0800, 17);
	EXPECT_TRUE(
	    r && memcmp(r->data, PEER, 6) == 0 && memcmp(r->data + 30, &far.sin_addr, 4) == 0);

	/* A full device: TCP holds its segment back and sends it as soon as
	 * the driver says it has room (tx_ready), not a retransmission
	 * timeout later. */
	mark = nsent;
	input(&fz0, f, tcp_syn(f, MAC0, "10.0.0.1", "10.0.0.2", 40100, 80));
	r = find_sent(mark, 0x0800, 6);
	EXPECT_TRUE(r != NULL && (r->data[47] & 0x3f) == 0x12);
	if (r) {
		input(&fz0, f,
		    tcp_segment(f, MAC0, "10.0.0.1", "10.0.0.2", 40100, 80, 0x11223345,
		        seq_of(r) + 1, 0x10, ""));
		int c = K(SYS_accept4, l, NULL, NULL, SOCK_NONBLOCK);
		EXPECT_TRUE(c >= 0);
		device_full = 1;
		mark = nsent;
		EXPECT(K(SYS_write, c, "held back", 9), 9);
		EXPECT(nsent, mark);
		EXPECT_TRUE(refused > 0);
		device_full = 0;
		EXPECT_TRUE(fz0.tx_ready != NULL);
		if (fz0.tx_ready) {
			rumprun_posix_enter();
			fz0.tx_ready(&fz0);
			rumprun_posix_leave();
		}
		r = find_sent(mark, 0x0800, 6);
		EXPECT_TRUE(
		    r != NULL && r->len >= 54 + 9 && memcmp(r->data + 54, "held back", 9) == 0);
		K(SYS_close, c);
	}

	/* The fuzz test. */
	make_templates();
	for (int i = 0; i < 2000; i++)
		fuzz_one();
	rumprun_posix_enter();
	unsigned long start = net_memory_in_use();
	rumprun_posix_leave();
	for (int i = 0; i < 100000; i++)
		fuzz_one();
	rumprun_posix_enter();
	unsigned long half = net_memory_in_use();
	rumprun_posix_leave();
	for (int i = 0; i < 100000; i++)
		fuzz_one();
	rumprun_posix_enter();
	unsigned long end = net_memory_in_use();
	rumprun_posix_leave();
	printf("net memory: %lu bytes after warm-up, %lu after 100000 frames, %lu after 200000\n",
	    start, half, end);
	EXPECT_TRUE(end < half + 64 * 1024); /* no growth with the number of frames */
	EXPECT_TRUE(end < 4 * 1024 * 1024);

	/* Still alive and answering (the fuzz may have changed what ARP
	 * knows of 10.0.0.1: say it again). */
	input(&fz0, f, arp_request(f, "10.0.0.1", "10.0.0.2"));
	mark = nsent;
	input(&fz0, f, icmp_echo(f, MAC0, "10.0.0.1", "10.0.0.2"));
	EXPECT_TRUE(find_sent(mark, 0x0800, 1) != NULL);
	K(SYS_close, l);
	K(SYS_close, u);
	K(SYS_close, s);
	return ktest_done();
}
