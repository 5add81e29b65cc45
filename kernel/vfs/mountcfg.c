/*
 * The configuration's disks and shared folders, mounted at boot before the
 * programs start:
 *   "blk": [{"source": "dev"|"module", "path": "/dev/ld0"|"images/x.img",
 *            "fstype": "ext2"|"cd9660"|"auto"|"blk", "mountpoint": "/data",
 *            "ro": false}, ...]
 *   "share": [{"tag": "share0", "mountpoint": "/x", "ro": false}, ...]
 * A disk without a mountpoint (or fstype "blk") stays raw, as /dev/ldN.
 * Anything that cannot be mounted ends the machine with one console line
 * and status 1: the program must not run on the wrong files.
 */
#include "vfs_impl.h"
#include <kernel/blkdev.h>
#include <kernel/config.h>

#define MAX_ENTRIES 16

static const char *str_member(const struct config_node *obj, const char *key)
{
	const struct config_node *n = config_member(obj, key);
	return (n && n->type == CONFIG_STRING) ? n->str : NULL;
}

static int bool_member(const struct config_node *obj, const char *key)
{
	const struct config_node *n = config_member(obj, key);
	return n && n->type == CONFIG_BOOL && n->boolean;
}

static void __attribute__((noreturn))
fail(const char *what, const char *mountpoint, const char *why)
{
	kprintf("rumprun: cannot mount %s on %s: %s\n", what, mountpoint, why);
	vfs_unmount_all();
	rumpuser_exit(1);
}

static const char *mount_error(int err, const char *fstype)
{
	switch (err) {
	case -ENODEV:
		return (fstype && strcmp(fstype, "auto") != 0)
		    ? "no driver for that file system type in this image"
		    : "it holds no file system this kernel knows (ext2, cd9660)";
	case -EINVAL:
		return "the file system on it is damaged or not of the type given";
	case -EBUSY:
		return "something is already mounted there (or the disk is in use)";
	case -ENOTDIR:
		return "the mount point is not a directory";
	case -EROFS:
		return "it can only be mounted read-only";
	case -EOPNOTSUPP:
		return "its file system uses features this kernel does not support";
	case -EIO:
		return "the disk gives read errors";
	case -ENOMEM:
		return "out of memory";
	default:
		return "it failed";
	}
}

/* The mount point, made (with its parents) when missing. */
static void make_mountpoint(const char *what, const char *mountpoint)
{
	int err = mountpoint[0] == '/' ? vfs_mkdir_p(mountpoint, 0755) : -EINVAL;
	if (err == -EROFS)
		fail(what, mountpoint, "the directory is missing and its file system is read-only");
	if (err == -ENOTDIR)
		fail(what, mountpoint,
		    "the mount point (or a directory above it) is not a directory");
	if (err)
		fail(what, mountpoint, "the mount point cannot be made");
}

static void mount_disk(const struct config_node *e)
{
	const char *source = str_member(e, "source");
	const char *path = str_member(e, "path");
	const char *fstype = str_member(e, "fstype");
	const char *mountpoint = str_member(e, "mountpoint");
	struct blkdev *bd;

	if (path == NULL)
		config_bad("blk", "a list of objects with a \"path\"");
	if (source == NULL || strcmp(source, "dev") == 0) {
		const char *name = strncmp(path, "/dev/", 5) == 0 ? path + 5 : path;
		bd = blkdev_lookup(name);
	} else if (strcmp(source, "module") == 0) {
		bd = blkdev_lookup_origin(path);
	} else {
		config_bad("blk", "entries whose \"source\" is \"dev\" or \"module\"");
	}
	if (mountpoint == NULL || (fstype && strcmp(fstype, "blk") == 0)) {
		if (bd == NULL) {
			kprintf("rumprun: disk %s is missing (no such block device "
			        "was found)\n",
			    path);
			rumpuser_exit(1);
		}
		return;
	}
	if (bd == NULL)
		fail(path, mountpoint, "no such block device was found");
	int ro = bool_member(e, "ro") ? MNT_RDONLY : 0;
	make_mountpoint(path, mountpoint);
	int err = vfs_mount(mountpoint, fstype ? fstype : "auto", bd, NULL, ro, 0);
	if (err)
		fail(path, mountpoint, mount_error(err, fstype));
}

static void mount_share(const struct config_node *e)
{
	const char *tag = str_member(e, "tag");
	const char *mountpoint = str_member(e, "mountpoint");
	if (tag == NULL || mountpoint == NULL)
		config_bad("share", "a list of objects with a \"tag\" and a \"mountpoint\"");
	int ro = bool_member(e, "ro") ? MNT_RDONLY : 0;
	make_mountpoint(tag, mountpoint);
	int err = vfs_mount(mountpoint, "9p", NULL, tag, ro, 0);
	if (err == -ENODEV)
		fail(tag, mountpoint, "this image has no 9p file system (shared folders)");
	if (err)
		fail(tag, mountpoint, mount_error(err, "9p"));
}

void vfs_mount_config(void)
{
	const struct config_node *items[MAX_ENTRIES];
	int n = config_entries("blk", items, MAX_ENTRIES);
	if (n > MAX_ENTRIES)
		config_bad("blk", "at most 16 disks");
	for (int i = 0; i < n; i++) {
		if (items[i]->type != CONFIG_OBJECT)
			config_bad("blk", "a list of objects");
		mount_disk(items[i]);
	}
	n = config_entries("share", items, MAX_ENTRIES);
	if (n > MAX_ENTRIES)
		config_bad("share", "at most 16 shared folders");
	for (int i = 0; i < n; i++) {
		if (items[i]->type != CONFIG_OBJECT)
			config_bad("share", "a list of objects");
		mount_share(items[i]);
	}
}
