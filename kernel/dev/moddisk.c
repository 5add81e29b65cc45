/*
 * Boot-module disks: every boot module the platform hands over besides the
 * configuration (rumpuser_ext_bootmodule: the -b images `rumprun iso`
 * packs into the ISO's images/ directory, which GRUB loads) becomes a block
 * device served from memory, its origin the module's name, so a "blk"
 * configuration entry with "source": "module", "path": "images/NAME"
 * finds it (blkdev_lookup_origin).  An image holding ISO 9660 is
 * read-only; any other is writable in memory, and what is written is lost
 * at power-off (the ISO it came from cannot change).
 */
#include <kernel/kernel.h>
#include <kernel/blkdev.h>
#include <kernel/dev.h>

#define MODDISK_SECTOR 512

struct moddisk {
	struct blkdev bd;
	char *data;
};

static void moddisk_submit(
    struct blkdev *bd, int op, void *buf, size_t len, uint64_t off, blkdev_done_fn done, void *arg)
{
	struct moddisk *md = bd->priv;

	if (op & BLKDEV_READ)
		memcpy(buf, md->data + off, len);
	else if (op & BLKDEV_WRITE)
		memcpy(md->data + off, buf, len);
	done(arg, len, 0);
}

static const struct blkdev_ops moddisk_ops = {
    .submit = moddisk_submit,
};

void moddisk_attach(void)
{
	for (int i = 0;; i++) {
		const char *name;
		void *addr;
		rumpuser_size_t len;

		if (rumpuser_ext_bootmodule(i, &name, &addr, &len) != 0)
			break;
		uint64_t size = len - len % MODDISK_SECTOR;
		if (size == 0) {
			kprintf("rumprun: boot module %s is smaller than one sector; "
			        "not a disk\n",
			    name);
			continue;
		}
		struct moddisk *md = kzalloc(sizeof(*md));
		if (md == NULL) {
			kprintf("rumprun: out of memory for the disk %s\n", name);
			return;
		}
		md->data = addr;
		md->bd.ops = &moddisk_ops;
		md->bd.priv = md;
		md->bd.sector_size = MODDISK_SECTOR;
		md->bd.size = size;
		md->bd.readonly = size >= 32768 + 6 && memcmp(md->data + 32769, "CD001", 5) == 0;
		size_t n = strlen(name);
		if (n >= sizeof(md->bd.origin))
			n = sizeof(md->bd.origin) - 1;
		memcpy(md->bd.origin, name, n);
		md->bd.origin[n] = '\0';
		int err = blkdev_register(&md->bd);
		if (err)
			kprintf("rumprun: cannot register the disk %s (error %d)\n", name, -err);
	}
}
