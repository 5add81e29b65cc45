/* peer_client: talks to peer_server, another program of the same image. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

/* Connect, retrying for up to 5 s while the server starts. */
static int dial(int family, const struct sockaddr *sa, socklen_t len)
{
	for (int i = 0; i < 50; i++) {
		int s = socket(family, SOCK_STREAM, 0);

		if (connect(s, sa, len) == 0)
			return s;
		close(s);
		usleep(100000);
	}
	return -1;
}

static int talk(int family, const struct sockaddr *sa, socklen_t len, const char *msg)
{
	char buf[256];
	int s = dial(family, sa, len);
	ssize_t n;

	if (s < 0) {
		printf("peer_client: cannot connect: %s\n", strerror(errno));
		return 1;
	}
	write(s, msg, strlen(msg));
	n = read(s, buf, sizeof(buf) - 1);
	close(s);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	printf("peer_client: %s\n", buf);
	return 0;
}

int main(void)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX, .sun_path = "/tmp/peer.sock"};
	struct sockaddr_in in = {.sin_family = AF_INET,
	    .sin_port = htons(7777),
	    .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};

	return talk(AF_UNIX, (struct sockaddr *)&un, sizeof(un), "hello") |
	    talk(AF_INET, (struct sockaddr *)&in, sizeof(in), "hi");
}
