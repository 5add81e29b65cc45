/* Lookups through the baked-in /etc. */
#include <arpa/inet.h>
#include <grp.h>
#include <netdb.h>
#include <pwd.h>
#include <string.h>
#include <sys/socket.h>
#include "../apptest.h"

static void passwd(int argc, char **argv)
{
	struct passwd *pw = getpwnam("root");

	CHECK(pw != NULL, "getpwnam(root)");
	if (pw) {
		printf("getpwnam root: uid %d gid %d home %s shell %s\n", (int)pw->pw_uid,
		    (int)pw->pw_gid, pw->pw_dir, pw->pw_shell);
		CHECK(pw->pw_uid == 0 && pw->pw_gid == 0, "ids");
		CHECK(!strcmp(pw->pw_dir, "/root"), "home %s", pw->pw_dir);
	}
	pw = getpwuid(0);
	CHECK(pw && !strcmp(pw->pw_name, "root"), "getpwuid(0) %s", pw ? pw->pw_name : "NULL");
	CHECK(getpwnam("no-such-user") == NULL, "getpwnam of nobody known");
}

static void group(int argc, char **argv)
{
	struct group *gr = getgrnam("root");

	CHECK(gr != NULL, "getgrnam(root)");
	if (gr) {
		printf("getgrnam root: gid %d\n", (int)gr->gr_gid);
		CHECK(gr->gr_gid == 0, "gid %d", (int)gr->gr_gid);
	}
	gr = getgrgid(0);
	CHECK(gr && !strcmp(gr->gr_name, "root"), "getgrgid(0) %s", gr ? gr->gr_name : "NULL");
}

static void hosts(int argc, char **argv)
{
	struct hostent *h = gethostbyname("localhost");
	char buf[64];

	CHECK(h != NULL, "gethostbyname(localhost): h_errno %d", h_errno);
	if (h && h->h_addr_list[0]) {
		inet_ntop(h->h_addrtype, h->h_addr_list[0], buf, sizeof(buf));
		printf("gethostbyname localhost: %s\n", buf);
		CHECK(!strcmp(buf, "127.0.0.1"), "address %s", buf);
	}
}

static void addrinfo(int argc, char **argv)
{
	struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM}, *res;
	struct servent *se;
	char buf[64];
	int r = getaddrinfo("localhost", "80", &hints, &res);

	CHECK(r == 0, "getaddrinfo(localhost): %s", gai_strerror(r));
	if (r == 0) {
		struct sockaddr_in *sin = (struct sockaddr_in *)res->ai_addr;
		inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof(buf));
		printf("getaddrinfo localhost: %s port %d\n", buf, ntohs(sin->sin_port));
		CHECK(!strcmp(buf, "127.0.0.1") && ntohs(sin->sin_port) == 80, "%s", buf);
		freeaddrinfo(res);
	}
	se = getservbyname("http", "tcp");
	CHECK(se && ntohs(se->s_port) == 80, "getservbyname(http)");
	if (se)
		printf("getservbyname http: %d\n", ntohs(se->s_port));
}

CASES(etc) = {
    {"passwd", passwd}, {"group", group}, {"hosts", hosts}, {"addrinfo", addrinfo}, END_CASES};
