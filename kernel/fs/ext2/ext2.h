/*
 * ext2 (kernel/fs/ext2/): on-disk layout (as "The Second Extended File
 * System" documentation and e2fsprogs' ext2_fs.h describe it: little
 * endian, which x86_64 is) and the state of a mounted volume.
 */
#ifndef KERNEL_FS_EXT2_H
#define KERNEL_FS_EXT2_H

#include <kernel/fs.h>
#include <kernel/bcache.h>
#include <kernel/blkdev.h>

#define EXT2_MAGIC 0xEF53
#define EXT2_ROOT_INO 2
#define EXT2_GOOD_OLD_INODE_SIZE 128
#define EXT2_GOOD_OLD_FIRST_INO 11
#define EXT2_NDIR 12
#define EXT2_IND 12
#define EXT2_DIND 13
#define EXT2_TIND 14
#define EXT2_NBLOCKS 15

/* s_state */
#define EXT2_VALID_FS 1
#define EXT2_ERROR_FS 2

/* Features this code honours fully; any other incompat one refuses the
 * mount, any other ro_compat one makes it read-only. */
#define COMPAT_DIR_PREALLOC 0x0001
#define COMPAT_HAS_JOURNAL 0x0004
#define COMPAT_EXT_ATTR 0x0008
#define COMPAT_RESIZE_INODE 0x0010
#define COMPAT_DIR_INDEX 0x0020
#define INCOMPAT_FILETYPE 0x0002
#define INCOMPAT_RECOVER 0x0004
#define INCOMPAT_META_BG 0x0010
#define INCOMPAT_EXTENTS 0x0040
#define INCOMPAT_64BIT 0x0080
#define INCOMPAT_FLEX_BG 0x0200
#define RO_COMPAT_SPARSE_SUPER 0x0001
#define RO_COMPAT_LARGE_FILE 0x0002
#define INCOMPAT_SUPPORTED (INCOMPAT_FILETYPE)
#define RO_COMPAT_SUPPORTED (RO_COMPAT_SPARSE_SUPER | RO_COMPAT_LARGE_FILE)

struct ext2_super {
	uint32_t s_inodes_count;
	uint32_t s_blocks_count;
	uint32_t s_r_blocks_count;
	uint32_t s_free_blocks_count;
	uint32_t s_free_inodes_count;
	uint32_t s_first_data_block;
	uint32_t s_log_block_size;
	uint32_t s_log_frag_size;
	uint32_t s_blocks_per_group;
	uint32_t s_frags_per_group;
	uint32_t s_inodes_per_group;
	uint32_t s_mtime;
	uint32_t s_wtime;
	uint16_t s_mnt_count;
	int16_t s_max_mnt_count;
	uint16_t s_magic;
	uint16_t s_state;
	uint16_t s_errors;
	uint16_t s_minor_rev_level;
	uint32_t s_lastcheck;
	uint32_t s_checkinterval;
	uint32_t s_creator_os;
	uint32_t s_rev_level;
	uint16_t s_def_resuid;
	uint16_t s_def_resgid;
	/* revision 1 */
	uint32_t s_first_ino;
	uint16_t s_inode_size;
	uint16_t s_block_group_nr;
	uint32_t s_feature_compat;
	uint32_t s_feature_incompat;
	uint32_t s_feature_ro_compat;
	uint8_t s_uuid[16];
	char s_volume_name[16];
	char s_last_mounted[64];
	uint32_t s_algorithm_usage_bitmap;
	uint8_t s_rest[1024 - 204];
} __attribute__((packed));

struct ext2_gd {
	uint32_t bg_block_bitmap;
	uint32_t bg_inode_bitmap;
	uint32_t bg_inode_table;
	uint16_t bg_free_blocks_count;
	uint16_t bg_free_inodes_count;
	uint16_t bg_used_dirs_count;
	uint16_t bg_flags;
	uint32_t bg_reserved[3];
} __attribute__((packed));

struct ext2_dinode {
	uint16_t i_mode;
	uint16_t i_uid;
	uint32_t i_size;
	uint32_t i_atime;
	uint32_t i_ctime;
	uint32_t i_mtime;
	uint32_t i_dtime;
	uint16_t i_gid;
	uint16_t i_links_count;
	uint32_t i_blocks; /* 512-byte units, indirect blocks included */
	uint32_t i_flags;
	uint32_t i_osd1;
	uint32_t i_block[EXT2_NBLOCKS];
	uint32_t i_generation;
	uint32_t i_file_acl;
	uint32_t i_size_high; /* i_dir_acl in revision 0 */
	uint32_t i_faddr;
	uint16_t i_blocks_hi;
	uint16_t i_file_acl_high;
	uint16_t i_uid_high;
	uint16_t i_gid_high;
	uint16_t i_checksum_lo;
	uint16_t i_reserved;
	/* large inodes (s_inode_size > 128) */
	uint16_t i_extra_isize;
	uint16_t i_checksum_hi;
	uint32_t i_ctime_extra;
	uint32_t i_mtime_extra;
	uint32_t i_atime_extra;
	uint32_t i_crtime;
	uint32_t i_crtime_extra;
} __attribute__((packed));
#define EXT2_EXTRA_TIMES_END 152 /* bytes of the inode the fields above span */

/* i_flags */
#define EXT2_INDEX_FL 0x00001000 /* hashed directory (htree) */
#define EXT2_EXTENTS_FL 0x00080000

struct ext2_dirent {
	uint32_t inode;
	uint16_t rec_len;
	uint8_t name_len;
	uint8_t file_type;
	char name[];
} __attribute__((packed));
#define DIRENT_SIZE(namelen) (((namelen) + 8 + 3) & ~3u)

/* file_type */
#define FT_UNKNOWN 0
#define FT_REG 1
#define FT_DIR 2
#define FT_CHR 3
#define FT_BLK 4
#define FT_FIFO 5
#define FT_SOCK 6
#define FT_LNK 7

/* A mounted volume. */
struct ext2_mount {
	struct mount *mp;
	struct blkdev *bd;
	struct bcache *bc;
	struct ext2_super sb;
	int sb_dirty;
	unsigned bsize;
	unsigned ptrs; /* block pointers per block */
	unsigned inode_size;
	unsigned ngroups;
	unsigned gd_blocks; /* blocks the descriptor table spans */
	struct ext2_gd *gd;
	int gd_dirty;
	int filetype; /* directory entries carry a type */
	int readonly;
	uint16_t mount_state; /* s_state found at mount */
	/* Vnode cache: every vnode of this volume, by inode number. */
	struct vnode **vhash;
	unsigned nvhash;
};

/* An inode in memory, the part the vnode does not hold. */
struct ext2_inode {
	struct ext2_mount *em;
	uint32_t block[EXT2_NBLOCKS];
	uint32_t flags;
	uint32_t file_acl;
	uint32_t generation;
	uint64_t blocks; /* i_blocks, 512-byte units */
	uint32_t alloc_goal; /* where the next block should go */
	struct vnode *hnext; /* vhash chain */
	int deleted; /* freed on disk: do not write back */
};

static inline struct ext2_inode *EI(struct vnode *v) { return v->fsdata; }
static inline struct ext2_mount *EM(struct vnode *v) { return EI(v)->em; }

/* ext2_fs.c: groups, bitmaps, allocation, the superblock */
int ext2_alloc_block(struct ext2_mount *em, uint32_t goal, uint32_t *bnp);
void ext2_free_block(struct ext2_mount *em, uint32_t bn);
int ext2_alloc_inode(struct ext2_mount *em, uint32_t parent_ino, int dir, uint32_t *inop);
void ext2_free_inode(struct ext2_mount *em, uint32_t ino, int dir);
int ext2_write_super(struct ext2_mount *em);

/* ext2_inode.c: inodes and file contents */
extern const struct vnode_ops ext2_vnode_ops;
int ext2_vget(struct ext2_mount *em, uint32_t ino, struct vnode **vp);
int ext2_iupdate(struct vnode *v);
/* Physical block of logical block lbn; 0 for a hole unless alloc. */
int ext2_bmap(struct vnode *v, uint64_t lbn, int alloc, uint32_t *bnp);
int ext2_itrunc(struct vnode *v, uint64_t size);
ssize_t ext2_read(struct vnode *v, void *buf, size_t len, off_t off);
ssize_t ext2_write(struct vnode *v, const void *buf, size_t len, off_t off);
int ext2_truncate(struct vnode *v, off_t len);
void ext2_inactive(struct vnode *v);
int ext2_fsync(struct vnode *v, int datasync);
int ext2_newnode(struct ext2_mount *em, struct vnode *dir, mode_t mode, struct vnode **vp);
void ext2_vhash_remove(struct ext2_mount *em, struct vnode *v);

/* ext2_dir.c: directories */
struct vnode *ext2_lookup(struct vnode *dir, const char *name, size_t len);
int ext2_create(struct vnode *dir, const char *name, size_t len, mode_t mode, const char *target,
    struct vnode **vp);
int ext2_link(struct vnode *dir, const char *name, size_t len, struct vnode *v);
int ext2_unlink(struct vnode *dir, const char *name, size_t len, struct vnode *v);
int ext2_rename(struct vnode *odir, const char *oname, size_t olen, struct vnode *v,
    struct vnode *ndir, const char *nname, size_t nlen, struct vnode *tv);
int ext2_isempty(struct vnode *dir);
int ext2_readdir(struct vnode *dir, off_t *cookie,
    int (*emit)(void *arg, ino_t ino, off_t next, unsigned char type, const char *name, size_t len),
    void *arg);

#endif
