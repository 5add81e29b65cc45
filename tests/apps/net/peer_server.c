/*
 * peer_server: one of two programs baked into one image (with
 * peer_client).  It answers one connection over AF_UNIX (/tmp/peer.sock)
 * and one over TCP on 127.0.0.1:7777, then exits.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static void answer(int l, const char *how)
{
	char buf[128], reply[200];
	int a = accept(l, NULL, NULL);
	ssize_t n = a < 0 ? -1 : read(a, buf, sizeof(buf) - 1);

	if (n <= 0) {
		printf("peer_server: nothing over %s\n", how);
		return;
	}
	buf[n] = 0;
	snprintf(reply, sizeof(reply), "server got \"%s\" over %s", buf, how);
	write(a, reply, strlen(reply));
	close(a);
}

int main(void)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/tmp/peer.sock"};
	struct sockaddr_in in = {.sin_family = AF_INET,
	    .sin_port = htons(7777),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int u = socket(AF_UNIX, SOCK_STREAM, 0), t = socket(AF_INET, SOCK_STREAM, 0);

	if (bind(u, (struct sockaddr *)&un, sizeof(un)) || listen(u, 1) ||
	    bind(t, (struct sockaddr *)&in, sizeof(in)) || listen(t, 1)) {
		perror("peer_server");
		return 1;
	}
	printf("peer_server: listening\n");
	answer(u, "AF_UNIX");
	answer(t, "TCP");
	return 0;
}
