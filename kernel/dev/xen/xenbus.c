/*
 * xenbus for frontends (kernel/include/kernel/xenbus.h): the devices the
 * toolstack announced under the domain's device/ directory, and the
 * state handshake, by polling the backend's "state" key (a few times at
 * boot: no watches needed).
 */
#include <kernel/kernel.h>
#include <kernel/xenbus.h>

int xenbus_present(void) { return rumpcomp_xen_store_read != NULL; }

/* dir + "/" + key into out (size bytes); -ENAMETOOLONG when it does not fit. */
static int join(char *out, size_t size, const char *dir, const char *key)
{
	size_t a = strlen(dir), b = strlen(key);
	if (a + 1 + b + 1 > size)
		return -ENAMETOOLONG;
	memcpy(out, dir, a);
	out[a] = '/';
	memcpy(out + a + 1, key, b + 1);
	return 0;
}

static int format_u64(char *out, uint64_t v)
{
	char tmp[24];
	int n = 0, i;
	do
		tmp[n++] = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	for (i = 0; i < n; i++)
		out[i] = tmp[n - 1 - i];
	out[n] = '\0';
	return n;
}

static int parse_u64(const char *s, uint64_t *v)
{
	uint64_t r = 0;
	if (*s == '\0')
		return -EINVAL;
	for (; *s; s++) {
		if (*s < '0' || *s > '9')
			return -EINVAL;
		r = r * 10 + (uint64_t)(*s - '0');
	}
	*v = r;
	return 0;
}

int xenbus_read(const char *dir, const char *key, char *buf, size_t size)
{
	char path[192];
	unsigned long len;
	int err = join(path, sizeof(path), dir, key);
	if (err)
		return err;
	if (!xenbus_present())
		return -ENOENT;
	err = rumpcomp_xen_store_read(path, buf, size, &len);
	return -err;
}

int xenbus_read_u64(const char *dir, const char *key, uint64_t *value)
{
	char buf[32];
	int err = xenbus_read(dir, key, buf, sizeof(buf));
	return err ? err : parse_u64(buf, value);
}

int xenbus_write(const char *dir, const char *key, const char *value)
{
	char path[192];
	int err = join(path, sizeof(path), dir, key);
	if (err)
		return err;
	return -rumpcomp_xen_store_write(path, value);
}

int xenbus_write_u64(const char *dir, const char *key, uint64_t value)
{
	char buf[24];
	format_u64(buf, value);
	return xenbus_write(dir, key, buf);
}

int xenbus_devices(const char *kind, unsigned *ids, int max)
{
	char dir[32], names[1024];
	unsigned long len;
	int n = 0;

	if (!xenbus_present() || join(dir, sizeof(dir), "device", kind))
		return 0;
	if (rumpcomp_xen_store_list(dir, names, sizeof(names), &len))
		return 0;
	for (const char *p = names; p < names + len; p += strlen(p) + 1) {
		uint64_t id;
		if (parse_u64(p, &id) || id > 0xffffffffu || n == max)
			continue;
		/* Insertion sort: a handful of devices, in ID order (the
		 * toolstack numbers them in the order it was given them). */
		int i = n++;
		while (i > 0 && ids[i - 1] > id) {
			ids[i] = ids[i - 1];
			i--;
		}
		ids[i] = (unsigned)id;
	}
	return n;
}

int xenbus_dev_init(struct xenbus_dev *d, const char *kind, unsigned id)
{
	char num[24];
	uint64_t domid;
	int err;

	memset(d, 0, sizeof(*d));
	d->id = id;
	format_u64(num, id);
	if ((err = join(d->node, sizeof(d->node), "device", kind)) != 0)
		return err;
	if ((err = join(d->node, sizeof(d->node), d->node, num)) != 0)
		return err;
	if ((err = xenbus_read(d->node, "backend", d->backend, sizeof(d->backend))) != 0)
		return err;
	if ((err = xenbus_read_u64(d->node, "backend-id", &domid)) != 0)
		return err;
	d->backend_id = (unsigned)domid;
	return 0;
}

int xenbus_set_state(struct xenbus_dev *d, enum xenbus_state state)
{
	return xenbus_write_u64(d->node, "state", (uint64_t)state);
}

int xenbus_wait_backend(struct xenbus_dev *d, enum xenbus_state want, int timeout_ms)
{
	int64_t deadline = time_mono_ns() + (int64_t)timeout_ms * 1000000;
	for (;;) {
		uint64_t state;
		if (xenbus_read_u64(d->backend, "state", &state) == 0) {
			if (state >= XENBUS_CLOSING && want < XENBUS_CLOSING)
				return -ENODEV;
			if (state >= (uint64_t)want)
				return (int)state;
		}
		if (time_mono_ns() > deadline)
			return -ETIMEDOUT;
		rumpuser_clock_sleep(RUMPUSER_CLOCK_RELWALL, 0, 5000000);
	}
}

static void attach_kind(const char *kind, const char *what, void (*attach)(struct xenbus_dev *))
{
	unsigned ids[16];
	struct xenbus_dev *d;
	int n, i;

	n = xenbus_devices(kind, ids, (int)ARRAY_SIZE(ids));
	for (i = 0; i < n; i++) {
		if ((d = kzalloc(sizeof(*d))) == NULL)
			return;
		if (xenbus_dev_init(d, kind, ids[i]) != 0) {
			kprintf("rumprun: xen %s %u: no backend in xenstore, left alone\n", what,
			    ids[i]);
			kfree(d, sizeof(*d));
			continue;
		}
		attach(d);
	}
}

void xenbus_attach_all(void)
{
	if (!xenbus_present())
		return;
	xen_cons_attach();
	xen_control_attach();
	attach_kind("vbd", "disk", xen_blk_attach);
	attach_kind("vif", "interface", xen_net_attach);
}
