/*
 * QEMU's firmware configuration device (fw_cfg) through its x86 I/O ports:
 * a 16-bit selector at 0x510, data bytes at 0x511.  Item 0 holds the
 * signature "QEMU"; item 0x19 the file directory: a big-endian 32-bit
 * count, then entries of {be32 size, be16 select, be16 reserved,
 * char name[56]}.  The launcher puts the configuration in the file
 * RUMPRUN_FW_CFG_CONFIG (-fw_cfg name=...,file=...); QEMU's microvm
 * adds its virtio-mmio devices to the kernel command line (items 0x14,
 * its size, little endian, and 0x15).  (Byte by byte rather than by DMA:
 * measured under TCG, DMA saved nothing on these few hundred bytes.)
 */
#include <bmk/core.h>
#include <hw/hw.h>

#define FW_CFG_PORT_SEL 0x510
#define FW_CFG_PORT_DATA 0x511
#define FW_CFG_SIGNATURE 0x0000
#define FW_CFG_CMDLINE_SIZE 0x0014
#define FW_CFG_CMDLINE_DATA 0x0015
#define FW_CFG_FILE_DIR 0x0019
#define FW_CFG_NAME_LEN 56

static void read_bytes(void *buf, size_t len)
{
	__asm__ volatile("rep insb" : "+D"(buf), "+c"(len) : "d"(FW_CFG_PORT_DATA) : "memory");
}

static uint32_t read_be32(void)
{
	uint8_t b[4];

	read_bytes(b, 4);
	return (uint32_t)b[0] << 24 | (uint32_t)b[1] << 16 | (uint32_t)b[2] << 8 | b[3];
}

static int present(void)
{
	char sig[4];

	outw(FW_CFG_PORT_SEL, FW_CFG_SIGNATURE);
	read_bytes(sig, 4);
	return sig[0] == 'Q' && sig[1] == 'E' && sig[2] == 'M' && sig[3] == 'U';
}

static int name_is(const char *a, const char *b)
{
	size_t i;

	for (i = 0; i < FW_CFG_NAME_LEN && a[i] == b[i]; i++)
		if (!a[i])
			return 1;
	return 0;
}

char *hw_fwcfg_file(const char *name, size_t *len)
{
	uint32_t count, i;
	struct {
		uint8_t size[4], select[2], reserved[2];
		char name[FW_CFG_NAME_LEN];
	} entry;
	char *data;

	if (!present())
		return NULL;
	outw(FW_CFG_PORT_SEL, FW_CFG_FILE_DIR);
	count = read_be32();
	for (i = 0; i < count; i++) {
		read_bytes(&entry, sizeof(entry));
		if (!name_is(entry.name, name))
			continue;
		*len = (size_t)entry.size[0] << 24 | (size_t)entry.size[1] << 16 |
		    (size_t)entry.size[2] << 8 | entry.size[3];
		if ((data = bmk_memalloc(*len + 1, 0)) == NULL) {
			bmk_printf("rumprun: fw_cfg file %s (%lu bytes) does not fit in memory\n",
			    name, (unsigned long)*len);
			bmk_exit(1, 0);
		}
		outw(FW_CFG_PORT_SEL, (uint16_t)(entry.select[0] << 8 | entry.select[1]));
		read_bytes(data, *len);
		data[*len] = '\0';
		return data;
	}
	return NULL;
}

char *hw_fwcfg_cmdline(size_t *len)
{
	uint8_t b[4];
	uint32_t size;
	char *text;

	if (!present())
		return NULL;
	outw(FW_CFG_PORT_SEL, FW_CFG_CMDLINE_SIZE);
	read_bytes(b, 4);
	size = b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
	if (size == 0 || size > 65536 || (text = bmk_memalloc(size + 1, 0)) == NULL)
		return NULL;
	outw(FW_CFG_PORT_SEL, FW_CFG_CMDLINE_DATA);
	read_bytes(text, size);
	text[size] = '\0';
	*len = size;
	return text;
}
