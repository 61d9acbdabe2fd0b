/*-------------------------------------------------------------------------
 *
 * kv_alloc.c
 *	  The arena allocator: all keys, values and container nodes live here.
 *
 * The arena is kvcache.max_memory bytes of main shared memory, cut into
 * 8 kB pages.  Two kinds of allocation:
 *
 *	  small (<= 8 kB)	size-class chunks carved from 64 kB slabs.  A slab is
 *						8 pages aligned to an 8-page boundary, so the slab
 *						of a chunk is found by rounding its offset down.
 *						Each slab serves one size class and belongs to one
 *						allocator shard.  The slab header keeps a free list
 *						and a bump pointer for never-used space.
 *	  large (> 8 kB)	a run of whole pages with a 16-byte header.
 *
 * The page heap tracks free pages in a byte-wise bitmap (bit i of byte b is
 * page 8b + i; 1 = free) plus one kind byte per page; it is protected by
 * one LWLock ("heap lock").  A slab is one whole bitmap byte.  Slabs are
 * taken from the bottom of the arena and large runs from the top, so the
 * two do not interleave and contiguous runs stay available.
 *
 * Allocator shards: KV_ALLOC_SHARDS independent sets of partially used
 * slabs, one per size class, each protected by a spinlock.  A backend
 * allocates from the shard chosen by its process number, so backends do not
 * share a lock on the allocation path; a chunk is always freed into the
 * shard that owns its slab.  A slab that becomes empty goes back to the page
 * heap at once, so memory freed by one size class is usable by any other.
 *
 * Accounting: "used" is the sum of the sizes of allocated chunks (after
 * rounding up to the size class) plus the pages of large runs.  It can never
 * exceed the arena size.  Free space stranded in partially used slabs is
 * reported as fragmentation (KvArenaFreeBytes counts only whole free pages).
 *
 * Locking: shard spinlocks and the heap lock are leaf locks: nothing else
 * is acquired while they are held, and no ereport happens under them.  The
 * allocator never raises errors; it returns NULL when it cannot satisfy a
 * request and the caller (kv_dict.c) evicts and retries or reports.
 *
 * kvcache/kv_alloc.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "storage/lwlock.h"
#include "storage/spin.h"

#include "kvcache.h"

#define KV_PAGE_SIZE		8192
#define KV_SLAB_PAGES		8
#define KV_SLAB_SIZE		(KV_PAGE_SIZE * KV_SLAB_PAGES)
#define KV_SLAB_HEADER		64
#define KV_MAX_SMALL		KV_ARENA_MAX_SMALL
#define KV_NUM_CLASSES		63
#define KV_ALLOC_SHARDS		16
#define KV_LARGE_HEADER		16
#define KV_LARGE_MAGIC		0x4B564C47	/* "KVLG" */

#define KV_PAGE_FREE		0
#define KV_PAGE_SLAB		1
#define KV_PAGE_LARGE		2		/* first page of a large run */
#define KV_PAGE_LARGE_CONT	3

/* Header at the start of every slab */
typedef struct KvSlab
{
	struct KvSlab *prev;		/* links in the shard's partial list */
	struct KvSlab *next;
	void	   *freelist;		/* freed chunks, linked through first word */
	uint32		bump;			/* offset of the first never-used chunk */
	uint32		nused;			/* allocated chunks */
	uint16		sizeclass;
	uint16		shard;
	bool		in_partial;		/* on the shard's partial list? */
} KvSlab;

/* Header of a large run */
typedef struct KvLargeHeader
{
	uint32		magic;
	uint32		npages;
	uint64		pad;
} KvLargeHeader;

/* One allocator shard */
typedef struct KvAllocShard
{
	slock_t		mutex;
	uint64		used;			/* bytes in chunks allocated from this shard's slabs */
	KvSlab	   *partial[KV_NUM_CLASSES];	/* slabs with free chunks */
	char		pad[PG_CACHE_LINE_SIZE];
} KvAllocShard;

/* Arena control data, at the start of the arena's shared memory */
typedef struct KvArenaCtl
{
	LWLock	   *heaplock;
	char	   *pages;			/* first page */
	uint32		npages;			/* multiple of KV_SLAB_PAGES */
	uint32		free_pages;
	uint32		slab_hint;		/* no wholly free slab below this bitmap byte */
	uint64		large_used;		/* bytes in large runs */
	uint8	   *bitmap;			/* 1 = page free; npages / 8 bytes */
	uint8	   *kinds;			/* KV_PAGE_* per page */
	KvAllocShard shards[KV_ALLOC_SHARDS];
} KvArenaCtl;

static KvArenaCtl *kv_arena = NULL;

/* size class tables, computed once per process */
static uint32 kv_class_size[KV_NUM_CLASSES];
static uint8 kv_class_of[KV_MAX_SMALL / 8 + 1];
static bool kv_classes_ready = false;

/* Fill the size-class tables: 8-byte steps to 128, then 8 steps per doubling */
static void
kv_init_classes(void)
{
	int			n = 0;
	uint32		s;
	int			c;
	uint32		i;

	for (s = 16; s <= 128; s += 8)
		kv_class_size[n++] = s;
	for (s = 128; s < KV_MAX_SMALL; s *= 2)
	{
		uint32		step = s / 8;
		int			k;

		for (k = 1; k <= 8; k++)
			kv_class_size[n++] = s + step * k;
	}
	Assert(n == KV_NUM_CLASSES);
	c = 0;
	for (i = 0; i <= KV_MAX_SMALL / 8; i++)
	{
		while (kv_class_size[c] < i * 8)
			c++;
		kv_class_of[i] = c;
	}
	kv_classes_ready = true;
}

/* Pages in the arena for the configured max_memory */
static uint32
kv_arena_npages(void)
{
	uint64		bytes = (uint64) kv_max_memory_mb * 1024 * 1024;
	uint64		npages = bytes / KV_PAGE_SIZE;

	npages -= npages % KV_SLAB_PAGES;
	if (npages < KV_SLAB_PAGES)
		npages = KV_SLAB_PAGES;
	return (uint32) npages;
}

/* Shared memory needed for the arena and its control data */
Size
KvArenaShmemSize(void)
{
	uint32		npages = kv_arena_npages();
	Size		size;

	size = MAXALIGN(sizeof(KvArenaCtl));
	size = add_size(size, MAXALIGN(npages / 8));
	size = add_size(size, MAXALIGN(npages));
	size = add_size(size, PG_CACHE_LINE_SIZE);	/* alignment of pages */
	size = add_size(size, mul_size(npages, KV_PAGE_SIZE));
	return size;
}

/* Set up (or attach to) the arena at base; called under AddinShmemInitLock */
void
KvArenaInit(void *base, Size size, bool found)
{
	char	   *p = (char *) base;
	uint32		npages = kv_arena_npages();
	int			i;

	if (!kv_classes_ready)
		kv_init_classes();
	kv_arena = (KvArenaCtl *) p;
	if (found)
		return;

	memset(kv_arena, 0, sizeof(KvArenaCtl));
	p += MAXALIGN(sizeof(KvArenaCtl));
	kv_arena->bitmap = (uint8 *) p;
	p += MAXALIGN(npages / 8);
	kv_arena->kinds = (uint8 *) p;
	p += MAXALIGN(npages);
	kv_arena->pages = (char *) TYPEALIGN(PG_CACHE_LINE_SIZE, p);
	kv_arena->npages = npages;
	kv_arena->free_pages = npages;
	Assert(kv_arena->pages + (Size) npages * KV_PAGE_SIZE <= (char *) base + size);

	memset(kv_arena->bitmap, 0xFF, npages / 8);	/* npages is a multiple of 8 */
	memset(kv_arena->kinds, KV_PAGE_FREE, npages);
	kv_arena->heaplock = &(GetNamedLWLockTranche("kvcache"))[1].lock;
	for (i = 0; i < KV_ALLOC_SHARDS; i++)
		SpinLockInit(&kv_arena->shards[i].mutex);
}

/* Mark pages [first, first + n) used (set = false) or free (set = true) */
static void
kv_bitmap_set(uint32 first, uint32 n, bool set)
{
	uint32		i;

	for (i = first; i < first + n; i++)
	{
		if (set)
			kv_arena->bitmap[i / 8] |= (uint8) (1 << (i % 8));
		else
			kv_arena->bitmap[i / 8] &= (uint8) ~(1 << (i % 8));
	}
}

/* Take the lowest free, aligned slab from the page heap; NULL if none */
static KvSlab *
kv_heap_alloc_slab(void)
{
	uint8	   *bytes = kv_arena->bitmap;
	uint32		nbytes = kv_arena->npages / KV_SLAB_PAGES;
	uint32		b;
	KvSlab	   *slab = NULL;

	LWLockAcquire(kv_arena->heaplock, LW_EXCLUSIVE);
	if (kv_arena->free_pages >= KV_SLAB_PAGES)
	{
		for (b = kv_arena->slab_hint; b < nbytes; b++)
		{
			if (bytes[b] == 0xFF)
			{
				bytes[b] = 0;
				memset(kv_arena->kinds + b * KV_SLAB_PAGES, KV_PAGE_SLAB, KV_SLAB_PAGES);
				kv_arena->free_pages -= KV_SLAB_PAGES;
				kv_arena->slab_hint = b + 1;
				slab = (KvSlab *) (kv_arena->pages + (Size) b * KV_SLAB_SIZE);
				break;
			}
		}
		if (slab == NULL)
			kv_arena->slab_hint = nbytes;
	}
	LWLockRelease(kv_arena->heaplock);
	return slab;
}

/* Return an empty slab to the page heap */
static void
kv_heap_free_slab(KvSlab *slab)
{
	uint32		page = ((char *) slab - kv_arena->pages) / KV_PAGE_SIZE;

	LWLockAcquire(kv_arena->heaplock, LW_EXCLUSIVE);
	memset(kv_arena->kinds + page, KV_PAGE_FREE, KV_SLAB_PAGES);
	kv_arena->bitmap[page / 8] = 0xFF;
	kv_arena->free_pages += KV_SLAB_PAGES;
	kv_arena->slab_hint = Min(kv_arena->slab_hint, page / 8);
	LWLockRelease(kv_arena->heaplock);
}

/*
 * Allocate a run of npages pages, the highest that fits (scanning down,
 * skipping wholly used bitmap bytes); NULL if none.
 */
static void *
kv_heap_alloc_large(uint32 npages)
{
	uint32		run = 0;
	uint32		start = 0;
	uint32		i;
	void	   *result = NULL;

	LWLockAcquire(kv_arena->heaplock, LW_EXCLUSIVE);
	if (kv_arena->free_pages >= npages)
	{
		i = kv_arena->npages;
		while (i > 0)
		{
			uint32		page = i - 1;

			if (page % 8 == 7 && kv_arena->bitmap[page / 8] == 0)
			{
				run = 0;
				i -= 8;
				continue;
			}
			if (kv_arena->bitmap[page / 8] & (1 << (page % 8)))
			{
				start = page;
				if (++run == npages)
					break;
			}
			else
				run = 0;
			i--;
		}
		if (run == npages)
		{
			KvLargeHeader *h;

			kv_bitmap_set(start, npages, false);
			kv_arena->kinds[start] = KV_PAGE_LARGE;
			if (npages > 1)
				memset(kv_arena->kinds + start + 1, KV_PAGE_LARGE_CONT, npages - 1);
			kv_arena->free_pages -= npages;
			kv_arena->large_used += (uint64) npages * KV_PAGE_SIZE;
			h = (KvLargeHeader *) (kv_arena->pages + (Size) start * KV_PAGE_SIZE);
			h->magic = KV_LARGE_MAGIC;
			h->npages = npages;
			result = (char *) h + KV_LARGE_HEADER;
		}
	}
	LWLockRelease(kv_arena->heaplock);
	return result;
}

/* Put a slab at the head of its shard's partial list; shard mutex held */
static inline void
kv_slab_link(KvAllocShard *shard, KvSlab *slab)
{
	slab->prev = NULL;
	slab->next = shard->partial[slab->sizeclass];
	if (slab->next)
		slab->next->prev = slab;
	shard->partial[slab->sizeclass] = slab;
	slab->in_partial = true;
}

/* Take a slab off its shard's partial list; shard mutex held */
static inline void
kv_slab_unlink(KvAllocShard *shard, KvSlab *slab)
{
	if (slab->prev)
		slab->prev->next = slab->next;
	else
		shard->partial[slab->sizeclass] = slab->next;
	if (slab->next)
		slab->next->prev = slab->prev;
	slab->prev = slab->next = NULL;
	slab->in_partial = false;
}

/* Take one chunk from a slab that has one; shard mutex held */
static inline void *
kv_slab_take(KvAllocShard *shard, KvSlab *slab)
{
	uint32		csize = kv_class_size[slab->sizeclass];
	void	   *chunk;

	if (slab->freelist)
	{
		chunk = slab->freelist;
		slab->freelist = *(void **) chunk;
	}
	else
	{
		chunk = (char *) slab + slab->bump;
		slab->bump += csize;
	}
	slab->nused++;
	shard->used += csize;

	/* full now?  then it leaves the partial list */
	if (slab->freelist == NULL && slab->bump + csize > KV_SLAB_SIZE)
		kv_slab_unlink(shard, slab);
	return chunk;
}

/* A chunk of class cls from a partial slab of shard, or NULL */
static void *
kv_shard_take(KvAllocShard *shard, int cls)
{
	void	   *chunk = NULL;

	SpinLockAcquire(&shard->mutex);
	if (shard->partial[cls])
		chunk = kv_slab_take(shard, shard->partial[cls]);
	SpinLockRelease(&shard->mutex);
	return chunk;
}

/*
 * Allocate a small chunk of class cls; NULL if the arena is full.  Order:
 * a partial slab of our shard, a new slab, then (the arena being out of
 * free pages) free chunks of this class or of up to eight classes larger in
 * any shard, so that space freed by eviction in a neighbouring class is
 * usable without waiting for whole slabs to empty.
 */
static void *
kv_alloc_small(int cls)
{
	int			home = (int) (KvMyProcNumber() % KV_ALLOC_SHARDS);
	KvAllocShard *shard = &kv_arena->shards[home];
	KvSlab	   *slab;
	void	   *chunk;
	int			c;
	int			i;

	chunk = kv_shard_take(shard, cls);
	if (chunk)
		return chunk;

	slab = kv_heap_alloc_slab();
	if (slab)
	{
		slab->freelist = NULL;
		slab->bump = KV_SLAB_HEADER;
		slab->nused = 0;
		slab->sizeclass = cls;
		slab->shard = home;
		SpinLockAcquire(&shard->mutex);
		kv_slab_link(shard, slab);
		chunk = kv_slab_take(shard, slab);
		SpinLockRelease(&shard->mutex);
		return chunk;
	}

	for (c = cls; c < KV_NUM_CLASSES && c <= cls + 8; c++)
	{
		for (i = 0; i < KV_ALLOC_SHARDS; i++)
		{
			chunk = kv_shard_take(&kv_arena->shards[(home + i) % KV_ALLOC_SHARDS], c);
			if (chunk)
				return chunk;
		}
	}
	return NULL;
}

/* Allocate size bytes from the arena; NULL if it does not fit now */
void *
KvArenaAlloc(Size size)
{
	Assert(kv_arena != NULL);
	if (size <= KV_MAX_SMALL)
		return kv_alloc_small(kv_class_of[(size + 7) / 8]);
	if (size > KvArenaLargestChunk())
		return NULL;
	return kv_heap_alloc_large((size + KV_LARGE_HEADER + KV_PAGE_SIZE - 1) / KV_PAGE_SIZE);
}

/* Return a chunk to the arena */
void
KvArenaFree(void *ptr)
{
	Size		off = (char *) ptr - kv_arena->pages;
	uint32		page = off / KV_PAGE_SIZE;
	uint8		kind = kv_arena->kinds[page];

	if (kind == KV_PAGE_SLAB)
	{
		KvSlab	   *slab = (KvSlab *) (kv_arena->pages + (Size) (page & ~(KV_SLAB_PAGES - 1)) * KV_PAGE_SIZE);
		KvAllocShard *shard = &kv_arena->shards[slab->shard];
		bool		release = false;

		SpinLockAcquire(&shard->mutex);
		*(void **) ptr = slab->freelist;
		slab->freelist = ptr;
		slab->nused--;
		shard->used -= kv_class_size[slab->sizeclass];
		if (slab->nused == 0)
		{
			/* empty: unlink and give the pages back */
			if (slab->in_partial)
				kv_slab_unlink(shard, slab);
			release = true;
		}
		else if (!slab->in_partial)
			kv_slab_link(shard, slab);
		SpinLockRelease(&shard->mutex);
		if (release)
			kv_heap_free_slab(slab);
	}
	else
	{
		KvLargeHeader *h = (KvLargeHeader *) ((char *) ptr - KV_LARGE_HEADER);
		uint32		first = ((char *) h - kv_arena->pages) / KV_PAGE_SIZE;

		if (kind != KV_PAGE_LARGE || h->magic != KV_LARGE_MAGIC)
			elog(PANIC, "kvcache: freeing an invalid arena pointer");
		h->magic = 0;
		LWLockAcquire(kv_arena->heaplock, LW_EXCLUSIVE);
		memset(kv_arena->kinds + first, KV_PAGE_FREE, h->npages);
		kv_bitmap_set(first, h->npages, true);
		kv_arena->free_pages += h->npages;
		kv_arena->slab_hint = Min(kv_arena->slab_hint, first / KV_SLAB_PAGES);
		kv_arena->large_used -= (uint64) h->npages * KV_PAGE_SIZE;
		LWLockRelease(kv_arena->heaplock);
	}
}

/* Bytes actually taken by the chunk at ptr (its size class or page run) */
Size
KvArenaChunkSize(void *ptr)
{
	uint32		page = ((char *) ptr - kv_arena->pages) / KV_PAGE_SIZE;

	if (kv_arena->kinds[page] == KV_PAGE_SLAB)
	{
		KvSlab	   *slab = (KvSlab *) (kv_arena->pages + (Size) (page & ~(KV_SLAB_PAGES - 1)) * KV_PAGE_SIZE);

		return kv_class_size[slab->sizeclass];
	}
	return (Size) ((KvLargeHeader *) ((char *) ptr - KV_LARGE_HEADER))->npages * KV_PAGE_SIZE;
}

/* Bytes in allocated chunks and runs (approximate while others allocate) */
Size
KvArenaUsed(void)
{
	uint64		used = kv_arena->large_used;
	int			i;

	for (i = 0; i < KV_ALLOC_SHARDS; i++)
		used += kv_arena->shards[i].used;
	return (Size) used;
}

/* Size of the arena in bytes */
Size
KvArenaTotal(void)
{
	return (Size) kv_arena->npages * KV_PAGE_SIZE;
}

/* Bytes in whole free pages */
Size
KvArenaFreeBytes(void)
{
	return (Size) kv_arena->free_pages * KV_PAGE_SIZE;
}

/*
 * The largest chunk we agree to allocate: half the arena.  Anything bigger
 * could need nearly every page to be free and contiguous, which would mean
 * evicting the whole cache and then failing anyway.
 */
Size
KvArenaLargestChunk(void)
{
	return (Size) kv_arena->npages * KV_PAGE_SIZE / 2 - KV_LARGE_HEADER;
}
