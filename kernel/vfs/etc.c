/*
 * The baked-in /etc: the files musl reads directly (it has no nsswitch):
 * passwd and group (getpwnam, getgrnam), shadow (getspnam), hosts
 * (getaddrinfo for names), services (getservbyname, getaddrinfo with a
 * service name), resolv.conf (the DNS resolver), shells (getusershell).
 * The image's own root file system archive, unpacked after these, may
 * replace any of them.  The resolver points at QEMU's user-mode DNS
 * forwarder; the network component may rewrite resolv.conf with
 * vfs_put_file() when it learns a server from DHCP.
 */
#include "vfs_impl.h"

static const char passwd[] = "root:x:0:0:root:/root:/bin/sh\n"
                             "daemon:x:1:1:daemon:/usr/sbin:/usr/sbin/nologin\n"
                             "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";

static const char group[] = "root:x:0:\n"
                            "daemon:x:1:\n"
                            "tty:x:5:\n"
                            "nogroup:x:65534:\n";

static const char shadow[] = "root:*:19000:0:99999:7:::\n"
                             "daemon:*:19000:0:99999:7:::\n"
                             "nobody:*:19000:0:99999:7:::\n";

static const char hosts[] = "127.0.0.1\tlocalhost\n"
                            "::1\tlocalhost ip6-localhost ip6-loopback\n";

static const char resolv_conf[] = "nameserver 10.0.2.3\n";

static const char services[] = "echo\t\t7/tcp\n"
                               "echo\t\t7/udp\n"
                               "discard\t\t9/tcp\t\tsink null\n"
                               "discard\t\t9/udp\t\tsink null\n"
                               "daytime\t\t13/tcp\n"
                               "daytime\t\t13/udp\n"
                               "ftp-data\t20/tcp\n"
                               "ftp\t\t21/tcp\n"
                               "ssh\t\t22/tcp\n"
                               "telnet\t\t23/tcp\n"
                               "smtp\t\t25/tcp\t\tmail\n"
                               "time\t\t37/tcp\t\ttimserver\n"
                               "time\t\t37/udp\t\ttimserver\n"
                               "domain\t\t53/tcp\n"
                               "domain\t\t53/udp\n"
                               "bootps\t\t67/udp\n"
                               "bootpc\t\t68/udp\n"
                               "tftp\t\t69/udp\n"
                               "gopher\t\t70/tcp\n"
                               "finger\t\t79/tcp\n"
                               "http\t\t80/tcp\t\twww\n"
                               "pop3\t\t110/tcp\t\tpop-3\n"
                               "sunrpc\t\t111/tcp\t\tportmapper\n"
                               "sunrpc\t\t111/udp\t\tportmapper\n"
                               "nntp\t\t119/tcp\t\treadnews untp\n"
                               "ntp\t\t123/udp\n"
                               "imap2\t\t143/tcp\t\timap\n"
                               "snmp\t\t161/udp\n"
                               "snmp-trap\t162/udp\t\tsnmptrap\n"
                               "ldap\t\t389/tcp\n"
                               "https\t\t443/tcp\n"
                               "https\t\t443/udp\n"
                               "syslog\t\t514/udp\n"
                               "submission\t587/tcp\n"
                               "ldaps\t\t636/tcp\n"
                               "imaps\t\t993/tcp\n"
                               "pop3s\t\t995/tcp\n"
                               "mysql\t\t3306/tcp\n"
                               "postgresql\t5432/tcp\n"
                               "redis\t\t6379/tcp\n"
                               "http-alt\t8080/tcp\t\twebcache\n"
                               "memcache\t11211/tcp\n";

static const char shells[] = "/bin/sh\n";

static const char os_release[] = "NAME=\"rumprun\"\n"
                                 "ID=rumprun\n"
                                 "PRETTY_NAME=\"rumprun unikernel\"\n";

static const struct {
	const char *path;
	mode_t perm;
	const char *data;
	size_t len;
} etc_files[] = {
#define F(p, m, d) \
	{ \
		p, m, d, sizeof(d) - 1 \
	}
    F("/etc/passwd", 0644, passwd),
    F("/etc/group", 0644, group),
    F("/etc/shadow", 0640, shadow),
    F("/etc/hosts", 0644, hosts),
    F("/etc/resolv.conf", 0644, resolv_conf),
    F("/etc/services", 0644, services),
    F("/etc/shells", 0644, shells),
    F("/etc/os-release", 0644, os_release),
#undef F
};

void etc_populate(void)
{
	char host[64];
	for (size_t i = 0; i < ARRAY_SIZE(etc_files); i++)
		if (vfs_put_file(
		        etc_files[i].path, etc_files[i].perm, etc_files[i].data, etc_files[i].len))
			panic("vfs: cannot create %s", etc_files[i].path);
	if (rumpuser_getparam(RUMPUSER_PARAM_HOSTNAME, host, sizeof(host) - 1) == 0) {
		size_t n = strlen(host);
		host[n++] = '\n';
		vfs_put_file("/etc/hostname", 0644, host, n);
	}
}
