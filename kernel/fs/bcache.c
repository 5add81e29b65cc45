/*
 * The buffer cache (kernel/include/kernel/bcache.h): a hash of blocks, an
 * LRU list of the unheld ones, write-back in sorted, coalesced runs with
 * several requests in flight.
 */
#include <kernel/kernel.h>
#include <kernel/blkdev.h>
#include <kernel/bcache.h>

#define NHASH 4096
#define MAX_RUN (128 * 1024) /* bytes per coalesced request */
#define IN_FLIGHT 8 /* requests outstanding during write-back */

struct bcache {
	struct blkdev *bd;
	unsigned bsize;
	size_t max_bytes, bytes;
	size_t ndirty;
	struct buf *hash[NHASH];
	struct buf lru; /* head: lru.lru_next is the oldest unheld */
	struct bcache_stats st;
	/* Asynchronous requests: IN_FLIGHT slots, each with a run buffer. */
	struct rumpuser_mtx *mtx;
	struct rumpuser_cv *cv;
	int pending, error;
	struct req {
		struct bcache *bc;
		char *mem; /* MAX_RUN bytes, allocated on first use */
		int busy;
	} reqs[IN_FLIGHT];
};

static unsigned hslot(uint64_t blkno)
{
	return (unsigned)((blkno * 0x9E3779B97F4A7C15ULL) >> 52) & (NHASH - 1);
}

static uint64_t disk_off(struct bcache *bc, uint64_t blkno) { return blkno * bc->bsize; }

static void lru_unlink(struct buf *b)
{
	if (b->lru_next) {
		b->lru_prev->lru_next = b->lru_next;
		b->lru_next->lru_prev = b->lru_prev;
		b->lru_next = b->lru_prev = NULL;
	}
}

static void lru_append(struct bcache *bc, struct buf *b)
{
	b->lru_prev = bc->lru.lru_prev;
	b->lru_next = &bc->lru;
	bc->lru.lru_prev->lru_next = b;
	bc->lru.lru_prev = b;
}

struct bcache *bcache_create(struct blkdev *bd, unsigned bsize, size_t max_bytes)
{
	struct bcache *bc = kzalloc(sizeof(*bc));
	if (bc == NULL)
		return NULL;
	bc->bd = bd;
	bc->bsize = bsize;
	bc->max_bytes = max_bytes < 64 * bsize ? 64 * bsize : max_bytes;
	bc->lru.lru_next = bc->lru.lru_prev = &bc->lru;
	rumpuser_mutex_init(&bc->mtx, RUMPUSER_MTX_KMUTEX);
	rumpuser_cv_init(&bc->cv);
	return bc;
}

static struct buf *lookup(struct bcache *bc, uint64_t blkno)
{
	for (struct buf *b = bc->hash[hslot(blkno)]; b; b = b->hnext)
		if (b->blkno == blkno)
			return b;
	return NULL;
}

static void unhash(struct bcache *bc, struct buf *b)
{
	struct buf **pp = &bc->hash[hslot(b->blkno)];
	while (*pp != b)
		pp = &(*pp)->hnext;
	*pp = b->hnext;
}

static void buf_free(struct bcache *bc, struct buf *b)
{
	unhash(bc, b);
	lru_unlink(b);
	if (b->flags & B_DIRTY)
		bc->ndirty--;
	bc->bytes -= bc->bsize;
	kfree(b->data, bc->bsize);
	kfree(b, sizeof(*b));
}

/* --- asynchronous requests ------------------------------------------ */

static void req_done(void *arg, size_t done, int error)
{
	struct req *r = arg;
	struct bcache *bc = r->bc;
	(void)done;
	rumpuser_mutex_enter_nowrap(bc->mtx);
	if (error && !bc->error)
		bc->error = error;
	r->busy = 0;
	bc->pending--;
	rumpuser_cv_broadcast(bc->cv);
	rumpuser_mutex_exit(bc->mtx);
}

/* A free request slot, marked busy (waits for one). */
static struct req *req_slot(struct bcache *bc)
{
	rumpuser_mutex_enter(bc->mtx);
	for (;;) {
		for (int i = 0; i < IN_FLIGHT; i++) {
			if (!bc->reqs[i].busy) {
				bc->reqs[i].busy = 1;
				bc->reqs[i].bc = bc;
				bc->pending++;
				rumpuser_mutex_exit(bc->mtx);
				return &bc->reqs[i];
			}
		}
		rumpuser_cv_wait(bc->cv, bc->mtx);
	}
}

static int req_start(struct bcache *bc, struct req *r, int op, void *buf, size_t len, uint64_t off)
{
	int err = blkdev_submit(bc->bd, op, buf, len, off, req_done, r);
	if (err)
		req_done(r, 0, -err);
	return err;
}

/* Wait for every request; the first error since the last call. */
static int req_finish(struct bcache *bc)
{
	rumpuser_mutex_enter(bc->mtx);
	while (bc->pending > 0)
		rumpuser_cv_wait(bc->cv, bc->mtx);
	rumpuser_mutex_exit(bc->mtx);
	int err = bc->error ? -bc->error : 0;
	bc->error = 0;
	return err;
}

/* --- write-back ------------------------------------------------------- */

/* Order: data before metadata, then by block number. */
static int before(const struct buf *a, const struct buf *b)
{
	int ma = (a->flags & B_META) != 0, mb = (b->flags & B_META) != 0;
	if (ma != mb)
		return ma < mb;
	return a->blkno < b->blkno;
}

static void sift(struct buf **v, size_t n, size_t i)
{
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			return;
		if (c + 1 < n && before(v[c], v[c + 1]))
			c++;
		if (!before(v[i], v[c]))
			return;
		struct buf *t = v[i];
		v[i] = v[c];
		v[c] = t;
		i = c;
	}
}

static void sort_bufs(struct buf **v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift(v, n, i);
	for (size_t end = n; end-- > 1;) {
		struct buf *t = v[0];
		v[0] = v[end];
		v[end] = t;
		sift(v, end, 0);
	}
}

static int writeback(struct bcache *bc)
{
	if (bc->ndirty == 0)
		return 0;
	size_t n = 0, cap = bc->ndirty;
	struct buf **v = kmalloc(cap * sizeof(*v));
	if (v == NULL)
		return -ENOMEM;
	for (unsigned h = 0; h < NHASH; h++)
		for (struct buf *b = bc->hash[h]; b; b = b->hnext)
			if ((b->flags & B_DIRTY) && n < cap)
				v[n++] = b;
	sort_bufs(v, n);

	size_t max_run =
	    bc->bd->max_transfer && bc->bd->max_transfer < MAX_RUN ? bc->bd->max_transfer : MAX_RUN;
	unsigned per_run = max_run / bc->bsize;
	if (per_run == 0)
		per_run = 1;
	int err = 0;
	for (size_t i = 0; i < n && err == 0;) {
		size_t j = i + 1;
		while (j < n && j - i < per_run && v[j]->blkno == v[j - 1]->blkno + 1 &&
		    (v[j]->flags & B_META) == (v[i]->flags & B_META))
			j++;
		void *src;
		struct req *r = req_slot(bc);
		if (j - i == 1) {
			src = v[i]->data; /* held still: vfs_lock is ours */
		} else {
			if (r->mem == NULL && (r->mem = kmalloc(MAX_RUN)) == NULL) {
				req_done(r, 0, ENOMEM);
				err = -ENOMEM;
				break;
			}
			for (size_t k = i; k < j; k++)
				memcpy(r->mem + (k - i) * bc->bsize, v[k]->data, bc->bsize);
			src = r->mem;
		}
		err = req_start(
		    bc, r, BLKDEV_WRITE, src, (j - i) * bc->bsize, disk_off(bc, v[i]->blkno));
		bc->st.writes++;
		for (size_t k = i; k < j && err == 0; k++) {
			v[k]->flags &= ~B_DIRTY;
			bc->ndirty--;
		}
		i = j;
	}
	int err2 = req_finish(bc);
	if (err == 0)
		err = err2;
	kfree(v, cap * sizeof(*v));
	return err;
}

int bcache_sync(struct bcache *bc)
{
	int err = writeback(bc);
	if (err == 0) {
		bc->st.flushes++;
		err = blkdev_flush(bc->bd);
	}
	return err;
}

/* --- getting buffers ---------------------------------------------------- */

/* Room for one more buffer: drop the oldest clean unheld one, or write
 * everything back first when only dirty ones are left. */
static void make_room(struct bcache *bc)
{
	if (bc->bytes + bc->bsize <= bc->max_bytes)
		return;
	for (int pass = 0; pass < 2; pass++) {
		for (struct buf *b = bc->lru.lru_next; b != &bc->lru; b = b->lru_next) {
			if (!(b->flags & B_DIRTY)) {
				buf_free(bc, b);
				return;
			}
		}
		if (pass == 0 && writeback(bc) != 0)
			return; /* the error comes back at the next sync */
	}
}

static struct buf *get(struct bcache *bc, uint64_t blkno, int *cached)
{
	struct buf *b = lookup(bc, blkno);
	if (b) {
		*cached = 1;
		lru_unlink(b);
		b->refs++;
		return b;
	}
	*cached = 0;
	make_room(bc);
	if ((b = kzalloc(sizeof(*b))) == NULL)
		return NULL;
	if ((b->data = kmalloc(bc->bsize)) == NULL) {
		kfree(b, sizeof(*b));
		return NULL;
	}
	b->blkno = blkno;
	b->bc = bc;
	b->refs = 1;
	unsigned h = hslot(blkno);
	b->hnext = bc->hash[h];
	bc->hash[h] = b;
	bc->bytes += bc->bsize;
	return b;
}

int bread(struct bcache *bc, uint64_t blkno, struct buf **bp)
{
	int cached;
	if (disk_off(bc, blkno) + bc->bsize > bc->bd->size)
		return -EIO;
	struct buf *b = get(bc, blkno, &cached);
	if (b == NULL)
		return -ENOMEM;
	if (!(b->flags & B_VALID)) {
		bc->st.misses++;
		bc->st.reads++;
		int err = blkdev_io(bc->bd, BLKDEV_READ, b->data, bc->bsize, disk_off(bc, blkno));
		if (err) {
			b->refs--;
			buf_free(bc, b);
			return -EIO;
		}
		b->flags |= B_VALID;
	} else {
		bc->st.hits++;
	}
	*bp = b;
	return 0;
}

int bget(struct bcache *bc, uint64_t blkno, struct buf **bp)
{
	int cached;
	if (disk_off(bc, blkno) + bc->bsize > bc->bd->size)
		return -EIO;
	struct buf *b = get(bc, blkno, &cached);
	if (b == NULL)
		return -ENOMEM;
	if (!(b->flags & B_VALID)) {
		memset(b->data, 0, bc->bsize);
		b->flags |= B_VALID;
	}
	*bp = b;
	return 0;
}

int bcache_prefetch(struct bcache *bc, uint64_t blkno, unsigned n)
{
	size_t max_run =
	    bc->bd->max_transfer && bc->bd->max_transfer < MAX_RUN ? bc->bd->max_transfer : MAX_RUN;
	unsigned per_run = max_run / bc->bsize;
	uint64_t end = blkno + n, limit = bc->bd->size / bc->bsize;
	if (end > limit)
		end = limit;
	/* Never more than half the cache at once. */
	if ((end - blkno) * bc->bsize > bc->max_bytes / 2)
		end = blkno + bc->max_bytes / 2 / bc->bsize;
	char *tmp = NULL;
	int err = 0;
	for (uint64_t b = blkno; b < end && err == 0;) {
		if (lookup(bc, b)) {
			b++;
			continue;
		}
		uint64_t e = b + 1;
		while (e < end && e - b < per_run && !lookup(bc, e))
			e++;
		if (e - b == 1) {
			struct buf *bp;
			if ((err = bread(bc, b, &bp)) == 0)
				brelse(bp);
			b = e;
			continue;
		}
		if (tmp == NULL && (tmp = kmalloc(MAX_RUN)) == NULL)
			return -ENOMEM;
		bc->st.reads++;
		err = blkdev_io(bc->bd, BLKDEV_READ, tmp, (e - b) * bc->bsize, disk_off(bc, b));
		for (uint64_t k = b; k < e && err == 0; k++) {
			int cached;
			struct buf *bp = get(bc, k, &cached);
			if (bp == NULL) {
				err = -ENOMEM;
				break;
			}
			if (!(bp->flags & B_VALID)) {
				memcpy(bp->data, tmp + (k - b) * bc->bsize, bc->bsize);
				bp->flags |= B_VALID;
			}
			brelse(bp);
		}
		b = e;
	}
	if (tmp)
		kfree(tmp, MAX_RUN);
	return err;
}

void bdirty(struct buf *b, int meta)
{
	if (!(b->flags & B_DIRTY)) {
		b->flags |= B_DIRTY;
		b->bc->ndirty++;
	}
	if (meta)
		b->flags |= B_META;
	else
		b->flags &= ~B_META;
}

void brelse(struct buf *b)
{
	if (b->refs <= 0)
		panic("bcache: block %lu released too often", (unsigned long)b->blkno);
	if (--b->refs == 0)
		lru_append(b->bc, b);
}

void bcache_forget(struct bcache *bc, uint64_t blkno)
{
	struct buf *b = lookup(bc, blkno);
	if (b && b->refs == 0)
		buf_free(bc, b);
	else if (b && (b->flags & B_DIRTY)) {
		b->flags &= ~B_DIRTY;
		bc->ndirty--;
	}
}

int bcache_destroy(struct bcache *bc)
{
	int err = bcache_sync(bc);
	for (unsigned h = 0; h < NHASH; h++)
		while (bc->hash[h]) {
			buf_free(bc, bc->hash[h]);
		}
	for (int i = 0; i < IN_FLIGHT; i++)
		if (bc->reqs[i].mem)
			kfree(bc->reqs[i].mem, MAX_RUN);
	rumpuser_cv_destroy(bc->cv);
	rumpuser_mutex_destroy(bc->mtx);
	kfree(bc, sizeof(*bc));
	return err;
}

void bcache_stats(struct bcache *bc, struct bcache_stats *st)
{
	*st = bc->st;
	st->bytes = bc->bytes;
	st->dirty = bc->ndirty;
}
