/*
 * Programs' memory: the mappings of the one address space, who owns them,
 * and what backs them (include/kernel/vm.h says the rules).
 *
 * Mappings are kept in one list sorted by address, for every program at
 * once, since they share the address space.  A mapping is one of:
 *   ANON       anonymous memory the platform backs (taken at once, or
 *              committed at first touch)
 *   RESERVED   PROT_NONE memory never opened up: nothing behind it yet
 *   ROOM       nothing mapped, but kept free for its owner: the room its
 *              break grows into, the gap below a stack.  Placement avoids
 *              it; the owner's MAP_FIXED and brk may take it.
 *   FILE       MAP_SHARED pages of a file, pinned with the file's getpage
 *              (MAP_PRIVATE file mappings are ANON with the file's bytes
 *              copied in, which POSIX allows: the file's later changes need
 *              not show through a private mapping)
 * One lock guards the list; it is held across file page calls, which may
 * block.
 */
#define _GNU_SOURCE
#include <kernel/kernel.h>
#include <kernel/file.h>
#include <kernel/thread.h>
#include <kernel/vm.h>
#include <sys/mman.h>
#include <fcntl.h>

enum kind { ANON, RESERVED, ROOM, FILE_SHARED };

struct mapping {
	uintptr_t start, end;
	struct vmspace *owner;
	enum kind kind;
	int prot; /* PROT_*; PROT_NONE for RESERVED and ROOM */
	struct file *file; /* FILE_SHARED: held */
	off_t off; /* FILE_SHARED: the file offset of start */
	off_t filled; /* FILE_SHARED: pages below start + filled are mapped */
	struct mapping *prev, *next;
};

struct vmspace {
	uintptr_t brk_base, brk_cur, brk_end; /* brk_base 0: no break yet */
	uintptr_t stack_lo, stack_top; /* the main stack (vm_stack) */
};

/* Room kept for a program's break: it grows page by page within it. */
#define BRK_ROOM (64UL << 30)

static struct mapping *head, *tail;
static struct rumpuser_mtx *vm_lock;
static uintptr_t area_lo, area_hi;
static struct vmspace kernel_space;

static void vm_init(void)
{
	void *base;
	rumpuser_size_t len;

	if (vm_lock)
		return;
	rumpuser_mutex_init(&vm_lock, RUMPUSER_MTX_KMUTEX);
	rumpuser_ext_vm_area(&base, &len);
	area_lo = (uintptr_t)base;
	area_hi = area_lo + len;
}

static void lock(void)
{
	vm_init();
	rumpuser_mutex_enter(vm_lock);
}

static void unlock(void) { rumpuser_mutex_exit(vm_lock); }

struct vmspace *vm_current(void)
{
	struct lwp *l = curlwp();

	return l && l->vm ? l->vm : &kernel_space;
}

static int platform_prot(int prot)
{
	return ((prot & PROT_READ) ? RUMPUSER_PROT_READ : 0) |
	    ((prot & PROT_WRITE) ? RUMPUSER_PROT_WRITE : 0) |
	    ((prot & PROT_EXEC) ? RUMPUSER_PROT_EXEC : 0);
}

/* ---- the list -------------------------------------------------------- */

static struct mapping *mapping_new(
    uintptr_t start, uintptr_t end, struct vmspace *owner, enum kind kind, int prot)
{
	struct mapping *m = kzalloc(sizeof(*m));

	if (m) {
		m->start = start;
		m->end = end;
		m->owner = owner;
		m->kind = kind;
		m->prot = prot;
	}
	return m;
}

static void unlink_mapping(struct mapping *m)
{
	if (m->prev)
		m->prev->next = m->next;
	else
		head = m->next;
	if (m->next)
		m->next->prev = m->prev;
	else
		tail = m->prev;
}

static void free_mapping(struct mapping *m)
{
	if (m->file)
		file_drop(m->file);
	kfree(m, sizeof(*m));
}

static int mergeable(const struct mapping *a, const struct mapping *b)
{
	return a->end == b->start && a->owner == b->owner && a->kind == b->kind &&
	    a->prot == b->prot && a->kind != FILE_SHARED;
}

/* The first mapping that ends above addr. */
static struct mapping *first_above(uintptr_t addr)
{
	struct mapping *m;

	for (m = head; m && m->end <= addr; m = m->next)
		;
	return m;
}

/* Merge like neighbours around [start, end) after changes there. */
static void coalesce(uintptr_t start, uintptr_t end)
{
	struct mapping *m = first_above(start);

	if (m && m->prev)
		m = m->prev;
	while (m && m->next && m->start <= end) {
		struct mapping *n = m->next;

		if (mergeable(m, n)) {
			m->end = n->end;
			unlink_mapping(n);
			free_mapping(n);
		} else {
			m = n;
		}
	}
}

/* Put m in its place, merging it with like neighbours (m may be gone). */
static void insert(struct mapping *m)
{
	struct mapping *after = tail;

	while (after && after->start > m->start)
		after = after->prev;
	m->prev = after;
	m->next = after ? after->next : head;
	if (m->next)
		m->next->prev = m;
	else
		tail = m;
	if (after)
		after->next = m;
	else
		head = m;
	coalesce(m->start, m->end);
}

/* Split m at addr (inside it): m keeps the part below; the new mapping
 * (returned, in the list) the rest.  NULL when memory is exhausted. */
static struct mapping *split(struct mapping *m, uintptr_t addr)
{
	struct mapping *n = mapping_new(addr, m->end, m->owner, m->kind, m->prot);

	if (!n)
		return NULL;
	if (m->file) {
		file_hold(m->file);
		n->file = m->file;
		n->off = m->off + (addr - m->start);
		n->filled =
		    m->filled > (off_t)(addr - m->start) ? m->filled - (off_t)(addr - m->start) : 0;
		m->filled =
		    m->filled < (off_t)(addr - m->start) ? m->filled : (off_t)(addr - m->start);
	}
	m->end = addr;
	n->prev = m;
	n->next = m->next;
	if (n->next)
		n->next->prev = n;
	else
		tail = n;
	m->next = n;
	return n;
}

/* Split the mappings of [start, end) at its ends, so that each lies wholly
 * inside or outside it.  -ENOMEM when a split cannot be made. */
static int isolate(uintptr_t start, uintptr_t end)
{
	struct mapping *m;

	for (m = first_above(start); m && m->start < end; m = m->next) {
		if (m->start < start && !split(m, start))
			return -ENOMEM;
		if (m->start < end && m->end > end && !split(m, end))
			return -ENOMEM;
	}
	return 0;
}

/* Give back what is behind m: its pages, its file's pins. */
static void undo(struct mapping *m)
{
	uintptr_t a;

	if (m->kind == ANON || m->kind == FILE_SHARED)
		rumpuser_ext_vm_unmap((void *)m->start, m->end - m->start);
	if (m->kind == FILE_SHARED && m->file->ops->putpage)
		for (a = m->start; a < m->start + m->filled; a += PAGE_SIZE)
			m->file->ops->putpage(m->file, m->off + (a - m->start),
			    (m->prot & PROT_WRITE) ? FILE_PAGE_DIRTY : 0);
}

/* Give back what is behind m and forget it. */
static void release(struct mapping *m)
{
	undo(m);
	unlink_mapping(m);
	free_mapping(m);
}

/* Unmap owner's mappings in [start, end) (other owners' stay). */
static int cut(struct vmspace *owner, uintptr_t start, uintptr_t end)
{
	struct mapping *m, *next;
	int error;

	if ((error = isolate(start, end)) != 0)
		return error;
	for (m = first_above(start); m && m->start < end; m = next) {
		next = m->next;
		if (m->owner == owner)
			release(m);
	}
	return 0;
}

/* May owner map [start, end) with MAP_FIXED: nothing there but its own? */
static int only_own(struct vmspace *owner, uintptr_t start, uintptr_t end)
{
	struct mapping *m;

	for (m = first_above(start); m && m->start < end; m = m->next)
		if (m->owner != owner)
			return 0;
	return 1;
}

/* Is [start, end) free, or only owner's ROOM? */
static int free_for(struct vmspace *owner, uintptr_t start, uintptr_t end)
{
	struct mapping *m;

	for (m = first_above(start); m && m->start < end; m = m->next)
		if (m->owner != owner || m->kind != ROOM)
			return 0;
	return 1;
}

/* Is [start, end) wholly covered by owner's mappings other than ROOM? */
static int covered(struct vmspace *owner, uintptr_t start, uintptr_t end)
{
	struct mapping *m;

	for (m = first_above(start); m && start < end; m = m->next) {
		if (m->start > start || m->owner != owner || m->kind == ROOM)
			return 0;
		start = m->end;
	}
	return start >= end;
}

/* A free range of len bytes in the application area, as high as possible
 * (mmaps grow down from the top, as on Linux); bottom_up: as low as
 * possible (breaks).  0 when there is none. */
static uintptr_t find_free(size_t len, int bottom_up)
{
	struct mapping *m;
	uintptr_t lo, hi;

	if (len > area_hi - area_lo)
		return 0;
	if (bottom_up) {
		lo = area_lo;
		for (m = first_above(area_lo); m && m->start < area_hi; m = m->next) {
			if (m->start >= lo + len)
				return lo;
			if (m->end > lo)
				lo = m->end;
		}
		return lo + len <= area_hi ? lo : 0;
	}
	hi = area_hi;
	for (m = tail; m && m->end > area_lo; m = m->prev) {
		if (m->start >= hi)
			continue;
		if (m->end <= hi - len && m->end >= area_lo)
			return hi - len;
		hi = m->start;
		if (hi < area_lo + len)
			return 0;
	}
	return hi >= area_lo + len ? hi - len : 0;
}

/* ---- vmspaces ---------------------------------------------------------- */

struct vmspace *vmspace_new(void)
{
	vm_init();
	return kzalloc(sizeof(struct vmspace));
}

void vmspace_destroy(struct vmspace *vs)
{
	struct mapping *m, *next;

	lock();
	for (m = head; m; m = next) {
		next = m->next;
		if (m->owner == vs)
			release(m);
	}
	unlock();
	kfree(vs, sizeof(*vs));
}

/* ---- mapping ----------------------------------------------------------- */

/* A shared mapping of a file whose file system cannot share its pages:
 * said once, then ENODEV. */
static long cannot_share(void)
{
	static int said;

	if (!said++)
		kprintf("rumprun: unsupported: MAP_SHARED mapping of a file whose file "
		        "system cannot share its pages, returning ENODEV\n");
	return -ENODEV;
}

/* Map file f's pages at m (FILE_SHARED), those below the end of the file. */
static long map_file_pages(struct mapping *m, off_t size)
{
	uintptr_t a;
	void *page;
	long error;

	for (a = m->start; a < m->end && m->off + (off_t)(a - m->start) < size; a += PAGE_SIZE) {
		if ((error = m->file->ops->getpage(m->file, m->off + (a - m->start), &page)) != 0)
			return error;
		m->filled = a + PAGE_SIZE - m->start;
		if ((error = rumpuser_ext_vm_map_page((void *)a, page, platform_prot(m->prot))) !=
		    0)
			return -error;
	}
	return 0;
}

/* A private copy of f's bytes at m (ANON, mapped writable just now). */
static long copy_file(struct mapping *m, struct file *f, off_t off)
{
	off_t pos = off;
	size_t want = m->end - m->start;
	char *p = (char *)m->start;
	ssize_t n = 0;

	if (!f->ops->read)
		return -ENODEV;
	while (want > 0 && (n = f->ops->read(f, p, want, &pos)) > 0) {
		p += n;
		want -= n;
	}
	return n < 0 ? n : 0;
}

static long file_check(struct file *f, int prot, int flags, off_t *size)
{
	struct stat st;
	int acc = f->flags & O_ACCMODE;
	long error;

	if (acc == O_WRONLY || (f->flags & O_PATH))
		return -EACCES;
	if ((flags & MAP_TYPE) == MAP_SHARED && (prot & PROT_WRITE) && acc != O_RDWR)
		return -EACCES;
	if (!f->ops->stat || (error = f->ops->stat(f, &st)) != 0)
		return -ENODEV;
	if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
		return -ENODEV;
	*size = st.st_size;
	return 0;
}

long vm_mmap(
    struct vmspace *vs, uintptr_t addr, size_t len, int prot, int flags, struct file *f, off_t off)
{
	int type = flags & MAP_TYPE, shared_file;
	uintptr_t start, end;
	struct mapping *m;
	off_t size = 0;
	long error;

	if (len == 0 || (off & (PAGE_SIZE - 1)) ||
	    (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE))
		return -EINVAL;
	if ((flags & MAP_ANONYMOUS) || !f)
		f = NULL;
	len = ROUNDUP(len, PAGE_SIZE);
	if (len == 0)
		return -ENOMEM; /* rounding up wrapped: more than there is */
	if ((flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) && (addr & (PAGE_SIZE - 1)))
		return -EINVAL;
	if (f && (error = file_check(f, prot, flags, &size)) != 0)
		return error;
	shared_file = f && type != MAP_PRIVATE;
	if (shared_file && !f->ops->getpage)
		return cannot_share();

	lock();
	if (flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)) {
		start = addr;
		error = -ENOMEM;
		if (start + len < start || !only_own(vs, start, start + len))
			goto out;
		error = -EEXIST;
		if ((flags & MAP_FIXED_NOREPLACE) && !free_for(vs, start, start + len))
			goto out;
	} else if (addr && !(addr & (PAGE_SIZE - 1)) && addr + len > addr && addr >= area_lo &&
	    addr + len <= area_hi && free_for(vs, addr, addr + len)) {
		start = addr; /* the hint is free: take it */
	} else if ((start = find_free(len, 0)) == 0) {
		error = -ENOMEM;
		goto out;
	}
	end = start + len;
	error = -ENOMEM;
	if ((m = mapping_new(start, end, vs, shared_file ? FILE_SHARED : ANON, prot)) == NULL)
		goto out;
	if ((error = cut(vs, start, end)) != 0) {
		free_mapping(m);
		goto out;
	}
	if (shared_file) {
		file_hold(f);
		m->file = f;
		m->off = off;
		if ((error = map_file_pages(m, size)) == -ENODEV)
			error = cannot_share();
	} else if (!f && prot == PROT_NONE) {
		m->kind = RESERVED;
	} else {
		int pprot = platform_prot(f ? prot | PROT_WRITE : prot);

		error = -rumpuser_ext_vm_map(
		    (void *)start, len, pprot, (flags & MAP_NORESERVE) ? RUMPUSER_VM_LAZY : 0);
		if (!error && f && (error = copy_file(m, f, off)) == 0 && !(prot & PROT_WRITE))
			rumpuser_ext_protect((void *)start, len, platform_prot(prot));
	}
	if (error) {
		undo(m);
		free_mapping(m);
		if (error == -EINVAL && !(flags & (MAP_FIXED | MAP_FIXED_NOREPLACE)))
			error = -ENOMEM;
		goto out;
	}
	insert(m);
	unlock();
	return start;
out:
	unlock();
	return error;
}

long vm_munmap(struct vmspace *vs, uintptr_t addr, size_t len)
{
	long error;

	if ((addr & (PAGE_SIZE - 1)) || len == 0 || addr + len < addr)
		return -EINVAL;
	lock();
	error = cut(vs, addr, addr + ROUNDUP(len, PAGE_SIZE));
	unlock();
	return error;
}

long vm_mprotect(struct vmspace *vs, uintptr_t addr, size_t len, int prot)
{
	uintptr_t end = addr + ROUNDUP(len, PAGE_SIZE);
	struct mapping *m;
	long error = 0;

	if ((addr & (PAGE_SIZE - 1)) || end < addr)
		return -EINVAL;
	if (len == 0)
		return 0;
	lock();
	if (!covered(vs, addr, end)) {
		error = -ENOMEM;
		goto out;
	}
	for (m = first_above(addr); m && m->start < end; m = m->next)
		if (m->kind == FILE_SHARED && (prot & PROT_WRITE) &&
		    (m->file->flags & O_ACCMODE) != O_RDWR) {
			error = -EACCES;
			goto out;
		}
	if ((error = isolate(addr, end)) != 0)
		goto out;
	for (m = first_above(addr); m && m->start < end; m = m->next) {
		if (m->kind == RESERVED && prot != PROT_NONE) {
			/* Opened up for the first time: committed page by page. */
			if (rumpuser_ext_vm_map((void *)m->start, m->end - m->start,
			        platform_prot(prot), RUMPUSER_VM_LAZY)) {
				error = -ENOMEM;
				break;
			}
			m->kind = ANON;
		} else if (m->kind != RESERVED) {
			rumpuser_ext_protect(
			    (void *)m->start, m->end - m->start, platform_prot(prot));
		}
		m->prot = prot;
	}
	coalesce(addr, end);
out:
	unlock();
	return error;
}

/* ---- the break --------------------------------------------------------- */

/* The break starts at base, with room up to the next mapping (at most
 * room bytes).  Called locked. */
static void brk_place(struct vmspace *vs, uintptr_t base, size_t room)
{
	struct mapping *m = first_above(base), *r;
	uintptr_t end = base + room;

	if (m && m->start < end)
		end = m->start > base ? m->start : base;
	vs->brk_base = vs->brk_cur = base;
	vs->brk_end = end;
	if (end > base && (r = mapping_new(base, end, vs, ROOM, PROT_NONE)) != NULL)
		insert(r);
}

void vm_brk_init(struct vmspace *vs, uintptr_t base)
{
	lock();
	if (vs->brk_base)
		cut(vs, ROUNDUP(vs->brk_base, PAGE_SIZE), vs->brk_end);
	brk_place(vs, ROUNDUP(base, PAGE_SIZE), BRK_ROOM);
	unlock();
}

uintptr_t vm_brk(struct vmspace *vs, uintptr_t want)
{
	uintptr_t cur_end, want_end, base;
	struct mapping *m;

	lock();
	if (!vs->brk_base) {
		size_t room = BRK_ROOM;

		while ((base = find_free(room, 1)) == 0 && room > BRK_ROOM / 1024)
			room /= 4;
		if (base)
			brk_place(vs, base, room);
	}
	if (!vs->brk_base || want < vs->brk_base || want > vs->brk_end)
		goto out;
	cur_end = ROUNDUP(vs->brk_cur, PAGE_SIZE);
	want_end = ROUNDUP(want, PAGE_SIZE);
	if (want_end > cur_end) {
		if (!free_for(vs, cur_end, want_end) ||
		    (m = mapping_new(cur_end, want_end, vs, ANON, PROT_READ | PROT_WRITE)) == NULL)
			goto out;
		if (cut(vs, cur_end, want_end) ||
		    rumpuser_ext_vm_map((void *)cur_end, want_end - cur_end,
		        RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE, 0)) {
			free_mapping(m);
			if ((m = mapping_new(cur_end, want_end, vs, ROOM, PROT_NONE)) != NULL)
				insert(m); /* the room stays the break's */
			goto out;
		}
		insert(m);
	} else if (want_end < cur_end) {
		if (cut(vs, want_end, cur_end))
			goto out;
		if ((m = mapping_new(want_end, cur_end, vs, ROOM, PROT_NONE)) != NULL)
			insert(m);
	}
	/* The rest of the page at the old break may hold what was there
	 * before a shrink: a grown break reads as zeroes. */
	if (want > vs->brk_cur && vs->brk_cur < cur_end) {
		m = first_above(vs->brk_cur);
		if (m && m->start <= vs->brk_cur && m->kind == ANON && (m->prot & PROT_WRITE))
			memset((void *)vs->brk_cur, 0,
			    (want < cur_end ? want : cur_end) - vs->brk_cur);
	}
	vs->brk_cur = want;
out:
	want = vs->brk_cur;
	unlock();
	return want;
}

/* ---- stacks ------------------------------------------------------------ */

/*
 * The top of a new stack, which every program touches at once (its
 * arguments, its first frames), is committed now rather than page by page
 * at its first touches: a short program then takes no page fault at all,
 * and under QEMU's TCG the fault path is code translated for one use.
 * When memory is short it stays lazy.
 */
#define STACK_COMMIT (2 * PAGE_SIZE)

static void commit_top(uintptr_t top, size_t size)
{
	size_t n = size < STACK_COMMIT ? size : STACK_COMMIT;
	int prot = RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE;

	if (rumpuser_ext_vm_map((void *)(top - n), n, prot, 0) != 0)
		rumpuser_ext_vm_map((void *)(top - n), n, prot, RUMPUSER_VM_LAZY);
}

long vm_stack(struct vmspace *vs, size_t size, uintptr_t *top)
{
	struct mapping *gap, *stack;
	uintptr_t lo;
	long error = -ENOMEM;

	size = ROUNDUP(size, PAGE_SIZE);
	lock();
	if ((lo = find_free(VM_STACK_GAP + size, 0)) == 0)
		goto out;
	gap = mapping_new(lo, lo + VM_STACK_GAP, vs, ROOM, PROT_NONE);
	stack = mapping_new(
	    lo + VM_STACK_GAP, lo + VM_STACK_GAP + size, vs, ANON, PROT_READ | PROT_WRITE);
	if (!gap || !stack ||
	    rumpuser_ext_vm_map((void *)stack->start, size,
	        RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE, RUMPUSER_VM_LAZY)) {
		if (gap)
			free_mapping(gap);
		if (stack)
			free_mapping(stack);
		goto out;
	}
	commit_top(stack->end, size);
	*top = vs->stack_top = stack->end;
	vs->stack_lo = stack->start;
	insert(gap);
	insert(stack);
	error = 0;
out:
	unlock();
	return error;
}

size_t vm_stack_grow(struct vmspace *vs, size_t size)
{
	struct mapping *m, *stack, *room = NULL;
	uintptr_t floor = area_lo, gaplo, lo = vs->stack_lo, want;

	lock();
	if (!lo || size <= vs->stack_top - lo)
		goto out;
	want = size < vs->stack_top ? (vs->stack_top - size) & ~(PAGE_SIZE - 1) : 0;
	/* The lowest address the room below the stack reaches: the end of
	 * the first mapping under it that is not the owner's ROOM. */
	stack = first_above(lo);
	for (m = stack ? stack->prev : tail; m; m = m->prev)
		if (m->owner != vs || m->kind != ROOM) {
			floor = m->end > floor ? m->end : floor;
			break;
		}
	if (floor > lo || lo - floor <= VM_STACK_GUARD)
		goto out;
	if (want < floor + VM_STACK_GUARD)
		want = floor + VM_STACK_GUARD;
	if (want >= lo)
		goto out;
	gaplo = want - floor > VM_STACK_GAP ? want - VM_STACK_GAP : floor;
	/* Only room or nothing is in [gaplo, lo): no pages to give back. */
	if ((stack = mapping_new(want, lo, vs, ANON, PROT_READ | PROT_WRITE)) == NULL ||
	    (room = mapping_new(gaplo, want, vs, ROOM, PROT_NONE)) == NULL ||
	    rumpuser_ext_vm_map((void *)want, lo - want, RUMPUSER_PROT_READ | RUMPUSER_PROT_WRITE,
	        RUMPUSER_VM_LAZY))
		goto fail;
	if (cut(vs, gaplo, lo)) {
		rumpuser_ext_vm_unmap((void *)want, lo - want);
		goto fail;
	}
	insert(stack);
	insert(room);
	vs->stack_lo = want;
	goto out;
fail:
	if (stack)
		free_mapping(stack);
	if (room)
		free_mapping(room);
out:
	size = vs->stack_top - vs->stack_lo;
	unlock();
	return size;
}

/* ---- mremap, madvise, msync -------------------------------------------- */

long vm_mremap(
    struct vmspace *vs, uintptr_t old, size_t oldlen, size_t newlen, int flags, uintptr_t newaddr)
{
	uintptr_t to;
	struct mapping *m, *moved;
	enum kind kind;
	int prot;
	long error = -EINVAL;

	oldlen = ROUNDUP(oldlen, PAGE_SIZE);
	newlen = ROUNDUP(newlen, PAGE_SIZE);
	if ((old & (PAGE_SIZE - 1)) || newlen == 0 || oldlen == 0 ||
	    (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED)) ||
	    ((flags & MREMAP_FIXED) && (!(flags & MREMAP_MAYMOVE) || (newaddr & (PAGE_SIZE - 1)))))
		return -EINVAL;
	lock();
	/* The old range must lie in one mapping (Linux: one VMA). */
	m = first_above(old);
	if (!m || m->start > old || m->end < old + oldlen || m->owner != vs ||
	    (m->kind != ANON && m->kind != RESERVED)) {
		error = -EFAULT;
		goto out;
	}
	kind = m->kind;
	prot = m->prot;
	if (!(flags & MREMAP_FIXED) && newlen <= oldlen) {
		error = cut(vs, old + newlen, old + oldlen);
		goto done;
	}
	if (!(flags & MREMAP_FIXED) && free_for(vs, old + oldlen, old + newlen) &&
	    old + newlen > old) {
		/* Grow in place. */
		if ((moved = mapping_new(old + oldlen, old + newlen, vs, kind, prot)) == NULL ||
		    cut(vs, old + oldlen, old + newlen)) {
			error = -ENOMEM;
			goto out;
		}
		if (kind == ANON &&
		    rumpuser_ext_vm_map(
		        (void *)moved->start, newlen - oldlen, platform_prot(prot), 0)) {
			free_mapping(moved);
			error = -ENOMEM;
			goto out;
		}
		insert(moved);
		error = 0;
		goto done;
	}
	error = -ENOMEM;
	if (!(flags & MREMAP_MAYMOVE))
		goto out;
	if (flags & MREMAP_FIXED) {
		to = newaddr;
		error = -EINVAL;
		if (to + newlen < to || (to < old + oldlen && old < to + newlen))
			goto out;
		error = -ENOMEM;
		if (!only_own(vs, to, to + newlen))
			goto out;
	} else if ((to = find_free(newlen, 0)) == 0) {
		goto out;
	}
	if ((moved = mapping_new(to, to + newlen, vs, kind, prot)) == NULL)
		goto out;
	if (newlen < oldlen) {
		/* Moving fewer pages than there are: the rest goes first. */
		if (cut(vs, old + newlen, old + oldlen)) {
			free_mapping(moved);
			goto out;
		}
		oldlen = newlen;
	}
	if (cut(vs, to, to + newlen) || isolate(old, old + oldlen)) {
		free_mapping(moved);
		goto out;
	}
	if (kind == ANON) {
		if (rumpuser_ext_vm_move((void *)old, (void *)to, oldlen) ||
		    (newlen > oldlen &&
		        rumpuser_ext_vm_map(
		            (void *)(to + oldlen), newlen - oldlen, platform_prot(prot), 0))) {
			rumpuser_ext_vm_move((void *)to, (void *)old, oldlen);
			free_mapping(moved);
			goto out;
		}
	}
	/* The old range's mapping goes without unmapping: its pages moved. */
	m = first_above(old);
	unlink_mapping(m);
	free_mapping(m);
	insert(moved);
	error = 0;
	old = to;
done:
	unlock();
	return error ? error : (long)old;
out:
	unlock();
	return error;
}

long vm_madvise(struct vmspace *vs, uintptr_t addr, size_t len, int advice)
{
	uintptr_t end = addr + ROUNDUP(len, PAGE_SIZE);
	struct mapping *m;
	long error = 0;

	if ((addr & (PAGE_SIZE - 1)) || end < addr)
		return -EINVAL;
	if (advice != MADV_DONTNEED && advice != MADV_FREE)
		return 0; /* advice, taken as such */
	lock();
	if ((error = isolate(addr, end)) != 0)
		goto out;
	/* Private anonymous pages go back: fresh zeroes at the next touch. */
	for (m = first_above(addr); m && m->start < end; m = m->next)
		if (m->owner == vs && m->kind == ANON)
			rumpuser_ext_vm_map((void *)m->start, m->end - m->start,
			    platform_prot(m->prot), RUMPUSER_VM_LAZY);
	coalesce(addr, end);
out:
	unlock();
	return error;
}

long vm_msync(struct vmspace *vs, uintptr_t addr, size_t len, int flags)
{
	uintptr_t end = addr + ROUNDUP(len, PAGE_SIZE), a;
	struct mapping *m;
	long error = 0;

	if ((addr & (PAGE_SIZE - 1)) || end < addr ||
	    (flags & ~(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	lock();
	if (!covered(vs, addr, end)) {
		error = -ENOMEM;
		goto out;
	}
	/* Written shared pages go back to their file systems. */
	for (m = first_above(addr); m && m->start < end; m = m->next) {
		if (m->kind != FILE_SHARED || !(m->prot & PROT_WRITE) || !m->file->ops->putpage)
			continue;
		for (a = m->start > addr ? m->start : addr; a < end && a < m->start + m->filled;
		     a += PAGE_SIZE)
			m->file->ops->putpage(
			    m->file, m->off + (a - m->start), FILE_PAGE_DIRTY | FILE_PAGE_KEEP);
	}
out:
	unlock();
	return error;
}
