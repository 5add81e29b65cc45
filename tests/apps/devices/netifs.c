/* Print each network interface the kernel found, as Linux shows them in
 * /sys/class/net: "NAME ADDRESS MTU", sorted by name. */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void read_line(const char *name, const char *file, char *buf, size_t len)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", name, file);
	if (!(f = fopen(path, "r")) || !fgets(buf, (int)len, f)) {
		printf("FAIL: cannot read %s\n", path);
		exit(1);
	}
	fclose(f);
	buf[strcspn(buf, "\n")] = '\0';
}

int main(void)
{
	struct dirent **names;
	char addr[64], mtu[16];
	int n, i;

	if ((n = scandir("/sys/class/net", &names, NULL, alphasort)) < 0) {
		printf("no /sys/class/net\n");
		return 0;
	}
	for (i = 0; i < n; i++) {
		if (names[i]->d_name[0] == '.')
			continue;
		read_line(names[i]->d_name, "address", addr, sizeof(addr));
		read_line(names[i]->d_name, "mtu", mtu, sizeof(mtu));
		printf("%s %s %s\n", names[i]->d_name, addr, mtu);
	}
	return 0;
}
