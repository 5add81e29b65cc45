/*
 * What files and file systems are: stat, lstat, fstat, newfstatat, statx;
 * statfs, fstatfs.  Linux x86_64 semantics and errors.
 */
#include "vfs_impl.h"
#include <kernel/syscall.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>

#ifndef ST_RDONLY
#define ST_RDONLY 0x0001 /* <sys/statvfs.h>'s, and Linux's f_flags */
#endif
#ifndef ST_VALID
#define ST_VALID 0x0020 /* f_flags is meaningful */
#endif

/* The stat family */

static int fstat_file(int fd, struct stat *st)
{
	struct file *f = fd_get(fd);
	if (f == NULL)
		return -EBADF;
	int err = 0;
	if (f->ops->stat) {
		err = f->ops->stat(f, st);
	} else {
		memset(st, 0, sizeof(*st));
		st->st_blksize = PAGE_SIZE;
	}
	file_drop(f);
	return err;
}

static int do_fstatat(int dirfd, const char *path, struct stat *st, int flags)
{
	struct vnode *v;
	int err;
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if (st == NULL)
		return -EFAULT;
	if (path && path[0] == '\0' && (flags & AT_EMPTY_PATH)) {
		if (dirfd == AT_FDCWD) {
			vfs_enter();
			vnode_stat(vfs_cwd, st);
			vfs_exit();
			return 0;
		}
		return fstat_file(dirfd, st);
	}
	err = vfs_lookup_begin(dirfd, path, (flags & AT_SYMLINK_NOFOLLOW) ? NAMEI_NOFOLLOW : 0, &v);
	if (err)
		return err;
	vnode_stat(v, st);
	vfs_lookup_done(v);
	return 0;
}

static long sys_stat(SYSARGS)
{
	return do_fstatat(AT_FDCWD, (const char *)a0, (struct stat *)a1, 0);
}
static long sys_lstat(SYSARGS)
{
	return do_fstatat(AT_FDCWD, (const char *)a0, (struct stat *)a1, AT_SYMLINK_NOFOLLOW);
}
static long sys_fstat(SYSARGS)
{
	if (a1 == 0)
		return -EFAULT;
	return fstat_file((int)a0, (struct stat *)a1);
}
static long sys_newfstatat(SYSARGS)
{
	return do_fstatat((int)a0, (const char *)a1, (struct stat *)a2, (int)a3);
}
SYSCALL_REGISTER(SYS_stat, sys_stat, FULL, "");
SYSCALL_REGISTER(SYS_lstat, sys_lstat, FULL, "");
SYSCALL_REGISTER(SYS_fstat, sys_fstat, FULL, "");
SYSCALL_REGISTER(SYS_newfstatat, sys_newfstatat, FULL, "");

/* Linux's struct statx (include/uapi/linux/stat.h), 256 bytes. */
struct statx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};
struct linux_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, spare0;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t spare2[14];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx is 256 bytes");
#define STATX_BASIC_STATS 0x7ffU

static long sys_statx(SYSARGS)
{
	struct stat st;
	struct linux_statx *sx = (struct linux_statx *)a4;
	if (a3 & 0x80000000L) /* STATX__RESERVED */
		return -EINVAL;
	if (sx == NULL)
		return -EFAULT;
	int err = do_fstatat((int)a0, (const char *)a1, &st, (int)a2);
	if (err)
		return err;
	memset(sx, 0, sizeof(*sx));
	sx->stx_mask = STATX_BASIC_STATS;
	sx->stx_blksize = st.st_blksize;
	sx->stx_nlink = st.st_nlink;
	sx->stx_uid = st.st_uid;
	sx->stx_gid = st.st_gid;
	sx->stx_mode = st.st_mode;
	sx->stx_ino = st.st_ino;
	sx->stx_size = st.st_size;
	sx->stx_blocks = st.st_blocks;
#define TS(d, s) \
	do { \
		sx->d.tv_sec = st.s.tv_sec; \
		sx->d.tv_nsec = st.s.tv_nsec; \
	} while (0)
	TS(stx_atime, st_atim);
	TS(stx_mtime, st_mtim);
	TS(stx_ctime, st_ctim);
#undef TS
	sx->stx_rdev_major = major(st.st_rdev);
	sx->stx_rdev_minor = minor(st.st_rdev);
	sx->stx_dev_major = major(st.st_dev);
	sx->stx_dev_minor = minor(st.st_dev);
	return 0;
}
SYSCALL_REGISTER(SYS_statx, sys_statx, FULL, "");

/* File systems */

void vfs_fill_statfs_tmpfs(struct statfs *sf)
{
	char buf[32];
	unsigned long long mem = 256ULL << 20;
	if (rumpuser_getparam(RUMPRUN_PARAM_MEMSIZE, buf, sizeof(buf)) == 0) {
		mem = 0;
		for (char *p = buf; *p >= '0' && *p <= '9'; p++)
			mem = mem * 10 + (*p - '0');
	}
	memset(sf, 0, sizeof(*sf));
	sf->f_type = 0x01021994; /* TMPFS_MAGIC */
	sf->f_bsize = PAGE_SIZE;
	sf->f_frsize = PAGE_SIZE;
	sf->f_blocks = mem / PAGE_SIZE;
	sf->f_bfree = sf->f_bavail = mem / PAGE_SIZE / 2;
	sf->f_files = sf->f_ffree = mem / 1024;
	sf->f_namelen = NAME_MAX_LEN;
}

/* statfs of the file system holding v (locked). */
static int fill_statfs(struct vnode *v, struct statfs *sf)
{
	struct mount *mp = v->mount;
	int err = 0;
	memset(sf, 0, sizeof(*sf));
	if (mp && mp->ops && mp->ops->statfs)
		err = mp->ops->statfs(mp, sf);
	else
		vfs_fill_statfs_tmpfs(sf);
	if (err)
		return err;
	if (mp && (mp->flags & MNT_RDONLY))
		sf->f_flags |= ST_RDONLY;
	sf->f_flags |= ST_VALID;
	dev_t dev = mp ? mp->dev : 1;
	sf->f_fsid.__val[0] = (int)dev;
	sf->f_fsid.__val[1] = (int)(dev >> 32);
	return 0;
}

static long sys_statfs(SYSARGS)
{
	struct vnode *v;
	struct statfs sf;
	if (a1 == 0)
		return -EFAULT;
	int err = vfs_lookup_begin(AT_FDCWD, (const char *)a0, 0, &v);
	if (err)
		return err;
	err = fill_statfs(v, &sf);
	vfs_lookup_done(v);
	if (err == 0)
		memcpy((void *)a1, &sf, sizeof(sf));
	return err;
}
static long sys_fstatfs(SYSARGS)
{
	struct file *f = fd_get((int)a0);
	if (f == NULL)
		return -EBADF;
	struct vnode *v = vfs_file_vnode(f);
	struct statfs sf;
	int err = 0;
	if (a1 == 0) {
		err = -EFAULT;
	} else if (v) {
		vfs_enter();
		err = fill_statfs(v, &sf);
		vfs_exit();
	} else {
		memset(&sf, 0, sizeof(sf));
		vfs_fill_statfs_tmpfs(&sf);
	}
	file_drop(f);
	if (err == 0 && a1)
		memcpy((void *)a1, &sf, sizeof(sf));
	return err;
}
SYSCALL_REGISTER(
    SYS_statfs, sys_statfs, FULL, "the mount's figures (tmpfs: from the machine's memory)");
SYSCALL_REGISTER(SYS_fstatfs, sys_fstatfs, FULL, "as statfs");
