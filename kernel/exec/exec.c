/*
 * The ELF loader: prebuilt static Linux x86_64 executables (glibc or musl,
 * C or C++, ET_EXEC or static-pie ET_DYN), run as they are
 * (include/kernel/exec.h).  Their `syscall` instructions land in the same
 * system call layer as a rumprun-cc app's.
 */
#include <kernel/kernel.h>
#include <kernel/exec.h>
#include <kernel/vm.h>
#include <elf.h>
#include <sys/mman.h>

#define ROUNDDOWN(x, a) ((x) & ~((__typeof__(x))(a)-1))

static const Elf64_Phdr *phdrs(const void *file)
{
	const Elf64_Ehdr *eh = file;

	return (const Elf64_Phdr *)((const char *)file + eh->e_phoff);
}

const char *exec_check(const void *file, size_t size)
{
	const Elf64_Ehdr *eh = file;
	const Elf64_Phdr *ph;
	int i, loads = 0, phdrs_loaded = 0;

	if (size < sizeof(*eh) || memcmp(eh->e_ident, ELFMAG, SELFMAG))
		return "not an ELF file";
	if (eh->e_ident[EI_CLASS] != ELFCLASS64 || eh->e_ident[EI_DATA] != ELFDATA2LSB ||
	    eh->e_machine != EM_X86_64)
		return "not an x86_64 (64-bit, little-endian) executable";
	if (eh->e_type != ET_EXEC && eh->e_type != ET_DYN)
		return "not an executable (neither ET_EXEC nor ET_DYN)";
	if (eh->e_phentsize != sizeof(Elf64_Phdr) || eh->e_phnum == 0 || eh->e_phoff > size ||
	    (size - eh->e_phoff) / sizeof(Elf64_Phdr) < eh->e_phnum)
		return "its program headers are missing or truncated";
	ph = phdrs(file);
	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_INTERP)
			return "it is dynamically linked (it names a program interpreter)";
		if (ph[i].p_type != PT_LOAD)
			continue;
		if (ph[i].p_filesz > ph[i].p_memsz || ph[i].p_offset > size ||
		    size - ph[i].p_offset < ph[i].p_filesz ||
		    ph[i].p_vaddr + ph[i].p_memsz < ph[i].p_vaddr ||
		    (ph[i].p_vaddr - ph[i].p_offset) % PAGE_SIZE)
			return "a loadable segment lies outside the file or is misaligned";
		if (loads && ph[i].p_vaddr < ph[i - 1].p_vaddr)
			return "its loadable segments are not in address order";
		if (ph[i].p_offset <= eh->e_phoff &&
		    eh->e_phoff + eh->e_phnum * sizeof(Elf64_Phdr) <=
		        ph[i].p_offset + ph[i].p_filesz)
			phdrs_loaded = 1;
		loads++;
	}
	if (!loads)
		return "it has no loadable segment";
	if (!phdrs_loaded)
		return "its program headers are not in a loadable segment (its libc could "
		       "not find its TLS)";
	return NULL;
}

static int segment_prot(const Elf64_Phdr *ph)
{
	return ((ph->p_flags & PF_R) ? PROT_READ : 0) | ((ph->p_flags & PF_W) ? PROT_WRITE : 0) |
	    ((ph->p_flags & PF_X) ? PROT_EXEC : 0);
}

/* The protection of the page at va (load bias applied): the union of the
 * segments on it, -1 for none. */
static int page_prot(const Elf64_Ehdr *eh, const Elf64_Phdr *ph, uintptr_t bias, uintptr_t va)
{
	int i, prot = -1;

	for (i = 0; i < eh->e_phnum; i++) {
		uintptr_t lo = ROUNDDOWN(ph[i].p_vaddr + bias, PAGE_SIZE);
		uintptr_t hi = ROUNDUP(ph[i].p_vaddr + bias + ph[i].p_memsz, PAGE_SIZE);

		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz && va >= lo && va < hi)
			prot = (prot < 0 ? 0 : prot) | segment_prot(&ph[i]);
	}
	return prot;
}

long exec_load(struct vmspace *vs, const void *file, size_t size, struct exec_image *img)
{
	const Elf64_Ehdr *eh = file;
	const Elf64_Phdr *ph = phdrs(file);
	uintptr_t lo = UINTPTR_MAX, hi = 0, bias = 0, va, run;
	long rv;
	int i, prot;

	for (i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type != PT_LOAD || !ph[i].p_memsz)
			continue;
		if (ph[i].p_vaddr < lo)
			lo = ph[i].p_vaddr;
		if (ph[i].p_vaddr + ph[i].p_memsz > hi)
			hi = ph[i].p_vaddr + ph[i].p_memsz;
	}
	lo = ROUNDDOWN(lo, PAGE_SIZE);
	hi = ROUNDUP(hi, PAGE_SIZE);

	/* The whole span writable while the bytes go in; the protections and
	 * the gaps come after.  Committed at first touch (MAP_NORESERVE), as
	 * Linux commits a program's pages: a large bss takes only what the
	 * program uses of it. */
	rv = vm_mmap(vs, eh->e_type == ET_EXEC ? lo : 0, hi - lo, PROT_READ | PROT_WRITE,
	    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
	        (eh->e_type == ET_EXEC ? MAP_FIXED_NOREPLACE : 0),
	    NULL, 0);
	if (rv < 0)
		return rv == -EEXIST ? -ENOMEM : rv;
	if (eh->e_type == ET_DYN)
		bias = (uintptr_t)rv - lo;
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_filesz)
			memcpy((void *)(ph[i].p_vaddr + bias), (const char *)file + ph[i].p_offset,
			    ph[i].p_filesz);
	/* Runs of pages with one protection. */
	for (va = lo + bias; va < hi + bias; va = run) {
		prot = page_prot(eh, ph, bias, va);
		for (run = va + PAGE_SIZE; run < hi + bias && page_prot(eh, ph, bias, run) == prot;
		     run += PAGE_SIZE)
			;
		rv = prot < 0 ? vm_munmap(vs, va, run - va) : vm_mprotect(vs, va, run - va, prot);
		if (rv < 0)
			return rv;
	}

	img->base = bias;
	img->entry = eh->e_entry + bias;
	img->phnum = eh->e_phnum;
	img->phent = sizeof(Elf64_Phdr);
	img->lo = lo + bias;
	img->hi = hi + bias;
	img->phdr = 0;
	for (i = 0; i < eh->e_phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			img->phdr = ph[i].p_vaddr + bias;
	for (i = 0; i < eh->e_phnum && !img->phdr; i++)
		if (ph[i].p_type == PT_LOAD && ph[i].p_offset <= eh->e_phoff &&
		    eh->e_phoff < ph[i].p_offset + ph[i].p_filesz)
			img->phdr = ph[i].p_vaddr + (eh->e_phoff - ph[i].p_offset) + bias;
	vm_brk_init(vs, img->hi);
	return 0;
}
