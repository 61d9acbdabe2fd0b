/*-------------------------------------------------------------------------
 *
 * wc_groupcache.c
 *	  Shared cache of decoded row groups (widecol.group_cache_size).
 *
 * A key scan or a fetch by TID that needs a row of a cold block
 * decompresses the row's group (about 8 kB of PAX image) and rebuilds its
 * rows as heap tuples; for a query that returns a few rows this is most of
 * its work (DESIGN.md 6.5).  This cache keeps the rebuilt rows of recently
 * decoded groups in shared memory, as Cassandra's chunk cache and
 * ClickHouse's uncompressed cache keep decompressed chunks, so that the
 * next reader of the group copies them instead: only the rows of the run
 * it reads, a few rows of a group that holds many partitions' runs (the
 * mover's tail blocks).  Sequential scans, which
 * decode every group once, neither read nor fill it.
 *
 * Key.  A group is named by the table's storage (RelFileNode), the block
 * (its TOAST value id Xb and write time), a CRC of the block's header (the
 * payload's stored CRC included) and directories, and the group's number.  A block's bytes never change once written, so an entry
 * never goes stale: a rewritten table has a new RelFileNode, a new block a
 * new (Xb, write time, CRCs) even if Xb is reused.  The rows are stored as
 * WcPaxDecode rebuilt them, before the MVCC fields are patched; a reader
 * patches its copy from the block tuple it read, so visibility is always
 * decided by the block tuple and the tombstones, never by the cache.
 *
 * Layout.  The cache is cut into WC_GC_PARTITIONS partitions by the key's
 * hash.  Each has an LWLock, a log of entries (a circular arena written
 * at its head and evicted at its tail, FIFO) and an open-addressing index
 * (linear probing, backward-shift deletion) of 64-bit buckets: the key's
 * hash in the high half, the entry's offset in the arena plus one in the
 * low half, 0 for an empty bucket.  An entry is a WcGcEntry header, the
 * row lengths (uint16 each), then the rows, each MAXALIGNed as
 * WcPaxDecode lays them out.  An entry never wraps: when it does not fit
 * before the end of the arena, a filler (a header of size 0, or fewer
 * bytes than a header) fills the rest and the entry starts at offset 0.
 * Offsets of head and tail are counted in bytes written since start
 * (uint64), so the live entries lie in [tail, head) and head - tail is at
 * most the arena size.  The index holds at most one entry per
 * WC_GC_AVG_ENTRY bytes of arena and has twice as many buckets.
 *
 * Locking: a lookup holds its partition's lock shared while it compares
 * the key and copies the rows out; an insert holds it exclusive while it
 * evicts from the tail, writes the entry and indexes it.  No other lock
 * is taken under it.  Statistics are counted under the same lock (a hit
 * or a miss per lookup, under the shared lock with an atomic add; a reader
 * of several runs of a group looks it up once per run); a group too large
 * to cache is turned away before the lock.
 *
 * widecol/wc_groupcache.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/atomics.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/builtins.h"
#include "utils/guc.h"

#include "widecol.h"
#include "wc_cold.h"

#define WC_GC_PARTITIONS		64
/* arena bytes per index entry the index is sized for */
#define WC_GC_AVG_ENTRY			1024
/* largest entry, as a fraction of a partition's arena */
#define WC_GC_MAX_ENTRY_DIV		4

/* Header of an entry in a partition's log */
typedef struct WcGcEntry
{
	WcGroupKey	key;
	uint32		hash;
	uint32		size;			/* bytes in the log with header; 0: filler */
	uint32		datalen;		/* bytes of rows */
	uint16		nrows;
} WcGcEntry;

#define WC_GC_HDR				MAXALIGN(sizeof(WcGcEntry))

StaticAssertDecl(sizeof(WcGroupKey) ==
				 sizeof(WcFileNode) + sizeof(Oid) + sizeof(TimestampTz) + 2 * sizeof(uint32),
				 "WcGroupKey must have no padding");

/* One partition: its log positions, index size and counters */
typedef struct WcGcPartition
{
	uint64		head;			/* bytes written to the log since start */
	uint64		tail;			/* start of the oldest live entry */
	int			nentries;
	pg_atomic_uint64 hits;
	pg_atomic_uint64 misses;
	uint64		inserts;
	uint64		evictions;
} WcGcPartition;

/* A partition on cache lines of its own (its counters change often) */
typedef union WcGcPartitionPadded
{
	WcGcPartition part;
	char		pad[PG_CACHE_LINE_SIZE];
} WcGcPartitionPadded;

StaticAssertDecl(sizeof(WcGcPartition) <= PG_CACHE_LINE_SIZE,
				 "WcGcPartition must fit in a cache line");

/* The cache in shared memory; partitions' indexes and logs follow */
typedef struct WcGcShared
{
	WcGcPartitionPadded parts[WC_GC_PARTITIONS];	/* first: line-aligned */
	Size		arena;			/* log bytes per partition */
	Size		partbytes;		/* bytes of a partition's index and log */
	uint32		nbuckets;		/* index buckets per partition (power of 2) */
	int			maxentries;		/* entries per partition */
} WcGcShared;

/* widecol.group_cache_size, in kB */
int			wc_group_cache_size = 64 * 1024;

static WcGcShared *wc_gc = NULL;
static LWLockPadded *wc_gc_locks = NULL;
static char *wc_gc_base = NULL;		/* first partition's index */


/* Arena bytes per partition for the configured size (0: no cache) */
static Size
wc_gc_arena_size(void)
{
	Size		total = (Size) wc_group_cache_size * 1024;

	return TYPEALIGN_DOWN(MAXIMUM_ALIGNOF, total / WC_GC_PARTITIONS);
}

/* Index buckets per partition for an arena */
static uint32
wc_gc_nbuckets(Size arena)
{
	uint32		n = 16;

	while (n < 2 * (arena / WC_GC_AVG_ENTRY))
		n *= 2;
	return n;
}

/* Bytes of one partition's index and log */
static Size
wc_gc_part_bytes(Size arena)
{
	return MAXALIGN(sizeof(uint64) * wc_gc_nbuckets(arena)) + arena;
}

/* Shared memory the cache needs */
static Size
wc_gc_shmem_size(void)
{
	Size		arena = wc_gc_arena_size();

	if (arena == 0)
		return 0;
	return add_size(MAXALIGN(sizeof(WcGcShared)),
					mul_size(WC_GC_PARTITIONS, wc_gc_part_bytes(arena)));
}

/* Reserve the cache and its locks (wc_init.c's shmem_request_hook) */
void
WcGroupCacheShmemRequest(void)
{
	if (wc_gc_arena_size() == 0)
		return;
	RequestAddinShmemSpace(wc_gc_shmem_size());
	RequestNamedLWLockTranche("widecol group cache", WC_GC_PARTITIONS);
}

/*
 * Create or attach to the cache (wc_init.c's shmem_startup_hook, under
 * AddinShmemInitLock)
 */
void
WcGroupCacheShmemStartup(void)
{
	Size		arena = wc_gc_arena_size();
	bool		found;
	int			p;

	if (arena == 0)
		return;
	wc_gc = ShmemInitStruct("widecol group cache", wc_gc_shmem_size(), &found);
	wc_gc_locks = GetNamedLWLockTranche("widecol group cache");
	wc_gc_base = (char *) wc_gc + MAXALIGN(sizeof(WcGcShared));
	if (!found)
	{
		wc_gc->arena = arena;
		wc_gc->partbytes = wc_gc_part_bytes(arena);
		wc_gc->nbuckets = wc_gc_nbuckets(arena);
		wc_gc->maxentries = Max(arena / WC_GC_AVG_ENTRY, 1);
		for (p = 0; p < WC_GC_PARTITIONS; p++)
		{
			WcGcPartition *part = &wc_gc->parts[p].part;

			part->head = part->tail = 0;
			part->nentries = 0;
			pg_atomic_init_u64(&part->hits, 0);
			pg_atomic_init_u64(&part->misses, 0);
			part->inserts = part->evictions = 0;
		}
		/*
		 * Empty indexes; zeroing the logs too touches every page now, at
		 * server start, rather than in the first queries after it (a page
		 * fault on a fresh huge page costs a cold query tens of us)
		 */
		memset(wc_gc_base, 0, WC_GC_PARTITIONS * wc_gc->partbytes);
	}
}

/* Index buckets of partition p */
static inline uint64 *
wc_gc_buckets(int p)
{
	return (uint64 *) (wc_gc_base + p * wc_gc->partbytes);
}

/* Log arena of partition p */
static inline char *
wc_gc_log(int p)
{
	return wc_gc_base + p * wc_gc->partbytes +
		MAXALIGN(sizeof(uint64) * wc_gc->nbuckets);
}

/* Home bucket of a hash (its low bits chose the partition) */
static inline uint32
wc_gc_home(uint32 hash)
{
	return (hash / WC_GC_PARTITIONS) & (wc_gc->nbuckets - 1);
}

/* True if the cache exists (preloaded, widecol.group_cache_size > 0) */
bool
WcGroupCacheEnabled(void)
{
	return wc_gc != NULL;
}

/* Hash of a key (its padding must be zero) */
static inline uint32
wc_gc_hash(const WcGroupKey *key)
{
	return hash_bytes((const unsigned char *) key, sizeof(WcGroupKey));
}

/* The entry of key in partition p, or NULL; caller holds the lock */
static WcGcEntry *
wc_gc_find(int p, const WcGroupKey *key, uint32 hash)
{
	uint64	   *buckets = wc_gc_buckets(p);
	char	   *log = wc_gc_log(p);
	uint32		mask = wc_gc->nbuckets - 1;
	uint32		i;

	for (i = wc_gc_home(hash);; i = (i + 1) & mask)
	{
		uint64		b = buckets[i];
		WcGcEntry  *e;

		if (b == 0)
			return NULL;
		if ((uint32) (b >> 32) != hash)
			continue;
		e = (WcGcEntry *) (log + (uint32) b - 1);
		if (memcmp(&e->key, key, sizeof(WcGroupKey)) == 0)
			return e;
	}
}

/* Remove the bucket pointing at log offset off; caller holds the lock */
static void
wc_gc_unindex(int p, uint32 hash, uint32 off)
{
	uint64	   *buckets = wc_gc_buckets(p);
	uint32		mask = wc_gc->nbuckets - 1;
	uint32		i;
	uint32		j;

	for (i = wc_gc_home(hash); (uint32) buckets[i] != off + 1; i = (i + 1) & mask)
		Assert(buckets[i] != 0);

	/* backward-shift deletion: move later members of the cluster up */
	j = i;
	for (;;)
	{
		uint32		k;

		buckets[i] = 0;
		for (;;)
		{
			j = (j + 1) & mask;
			if (buckets[j] == 0)
				return;
			k = wc_gc_home((uint32) (buckets[j] >> 32));
			/* stays if its home lies cyclically in (i, j] */
			if (i <= j ? (i < k && k <= j) : (i < k || k <= j))
				continue;
			break;
		}
		buckets[i] = buckets[j];
		i = j;
	}
}

/* Evict the oldest entry (or filler) of partition p; caller holds it */
static void
wc_gc_evict_one(int p)
{
	WcGcPartition *part = &wc_gc->parts[p].part;
	Size		arena = wc_gc->arena;
	uint32		off = part->tail % arena;
	WcGcEntry  *e = (WcGcEntry *) (wc_gc_log(p) + off);

	Assert(part->tail < part->head);
	if (arena - off < WC_GC_HDR || e->size == 0)
	{
		part->tail += arena - off;	/* filler up to the arena's end */
		return;
	}
	wc_gc_unindex(p, e->hash, off);
	part->tail += e->size;
	part->nentries--;
	part->evictions++;
}

#ifdef USE_ASSERT_CHECKING
/*
 * Check partition p (assert-enabled builds, after every insert): its log
 * from tail to head is a chain of entries and fillers, every entry is
 * found through the index at its own offset, and the index holds nothing
 * else.  Caller holds the lock exclusively.
 */
static void
wc_gc_check_partition(int p)
{
	WcGcPartition *part = &wc_gc->parts[p].part;
	Size		arena = wc_gc->arena;
	char	   *log = wc_gc_log(p);
	uint64	   *buckets = wc_gc_buckets(p);
	uint64		pos = part->tail;
	int			n = 0;
	uint32		i;

	Assert(part->tail <= part->head && part->head - part->tail <= arena);
	while (pos < part->head)
	{
		uint32		off = pos % arena;
		WcGcEntry  *e = (WcGcEntry *) (log + off);

		if (arena - off < WC_GC_HDR || e->size == 0)
		{
			pos += arena - off;
			continue;
		}
		Assert(e->size >= WC_GC_HDR && off + e->size <= arena);
		Assert(wc_gc_find(p, &e->key, e->hash) == e);
		pos += e->size;
		n++;
	}
	Assert(pos == part->head && n == part->nentries);
	for (i = 0, n = 0; i < wc_gc->nbuckets; i++)
		if (buckets[i] != 0)
			n++;
	Assert(n == part->nentries);
}
#endif

/*
 * Copy rows [first, first + count) of the cached group key, of nrows rows,
 * into rows[first ..] (rows is the group's row 0; one allocation in the
 * current memory context, headers not patched).  A key scan asks only for
 * the rows of the run it reads, often a small part of the group.  Returns
 * false if the group is not cached (a miss).
 */
bool
WcGroupCacheGet(const WcGroupKey *key, int nrows, int first, int count,
				HeapTupleData *rows)
{
	uint32		hash = wc_gc_hash(key);
	int			p = hash % WC_GC_PARTITIONS;
	LWLock	   *lock = &wc_gc_locks[p].lock;
	WcGcEntry  *e;
	char	   *mem;
	const uint16 *lens;
	const char *data;
	Size		start = 0;
	Size		len = 0;
	Size		pos = 0;
	int			i;

	Assert(first >= 0 && count > 0 && first + count <= nrows);
	LWLockAcquire(lock, LW_SHARED);
	e = wc_gc_find(p, key, hash);
	if (e == NULL || e->nrows != nrows)
	{
		pg_atomic_fetch_add_u64(&wc_gc->parts[p].part.misses, 1);
		LWLockRelease(lock);
		return false;
	}
	lens = (const uint16 *) ((char *) e + WC_GC_HDR);
	data = (const char *) lens + MAXALIGN(sizeof(uint16) * nrows);
	for (i = 0; i < first; i++)
		start += MAXALIGN(lens[i]);
	for (i = first; i < first + count; i++)
		len += MAXALIGN(lens[i]);
	Assert(start + len <= e->datalen);
	mem = palloc(Max(len, 1));
	memcpy(mem, data + start, len);
	for (i = first; i < first + count; i++)
	{
		rows[i].t_len = lens[i];
		rows[i].t_data = (HeapTupleHeader) (mem + pos);
		pos += MAXALIGN(lens[i]);
	}
	pg_atomic_fetch_add_u64(&wc_gc->parts[p].part.hits, 1);
	LWLockRelease(lock);
	return true;
}

/*
 * Cache the rows of a group as WcPaxDecode rebuilt them: rows[0 .. nrows)
 * in one allocation, each at the MAXALIGNed end of the one before, headers
 * not yet patched (after WcGroupCacheGet missed it).  A group too large
 * for the cache, or cached meanwhile by another backend, is left alone.
 */
void
WcGroupCachePut(const WcGroupKey *key, int nrows, HeapTupleData *rows)
{
	uint32		hash = wc_gc_hash(key);
	int			p = hash % WC_GC_PARTITIONS;
	WcGcPartition *part = &wc_gc->parts[p].part;
	LWLock	   *lock = &wc_gc_locks[p].lock;
	Size		arena = wc_gc->arena;
	Size		datalen = 0;
	Size		size;
	uint64		start;
	char	   *log;
	WcGcEntry  *e;
	uint16	   *lens;
	uint64	   *buckets;
	uint32		mask;
	uint32		i;
	int			r;

	for (r = 0; r < nrows; r++)
	{
		Assert((char *) rows[r].t_data == (char *) rows[0].t_data + datalen);
		datalen += MAXALIGN(rows[r].t_len);
	}
	size = WC_GC_HDR + MAXALIGN(sizeof(uint16) * nrows) + datalen;
	if (nrows == 0 || size > arena / WC_GC_MAX_ENTRY_DIV)
		return;

	LWLockAcquire(lock, LW_EXCLUSIVE);
	if (wc_gc_find(p, key, hash) != NULL)
	{
		LWLockRelease(lock);
		return;
	}

	/* where it goes: at the head, or at the arena's start after a filler */
	start = part->head;
	if (arena - start % arena < size)
		start += arena - start % arena;
	while (part->tail < part->head &&
		   (start + size - part->tail > arena ||
			part->nentries >= wc_gc->maxentries))
		wc_gc_evict_one(p);
	if (part->tail == part->head)
		part->tail = part->head = start;	/* empty: skip the filler */

	log = wc_gc_log(p);
	if (start != part->head && arena - part->head % arena >= WC_GC_HDR)
		((WcGcEntry *) (log + part->head % arena))->size = 0;

	e = (WcGcEntry *) (log + start % arena);
	e->key = *key;
	e->hash = hash;
	e->size = size;
	e->datalen = datalen;
	e->nrows = nrows;
	lens = (uint16 *) ((char *) e + WC_GC_HDR);
	for (r = 0; r < nrows; r++)
		lens[r] = rows[r].t_len;
	memcpy((char *) lens + MAXALIGN(sizeof(uint16) * nrows), rows[0].t_data,
		   datalen);
	part->head = start + size;
	part->nentries++;
	part->inserts++;

	buckets = wc_gc_buckets(p);
	mask = wc_gc->nbuckets - 1;
	for (i = wc_gc_home(hash); buckets[i] != 0; i = (i + 1) & mask)
		;
	buckets[i] = ((uint64) hash << 32) | (uint32) (start % arena + 1);
#ifdef USE_ASSERT_CHECKING
	wc_gc_check_partition(p);
#endif
	LWLockRelease(lock);
}

PG_FUNCTION_INFO_V1(widecol_group_cache_stats);

/*
 * widecol.group_cache_stats(): size, use and counters of the group cache
 * (one row; all zero when the cache is off)
 */
Datum
widecol_group_cache_stats(PG_FUNCTION_ARGS)
{
	TupleDesc	tupdesc;
	Datum		values[7];
	bool		nulls[7] = {0};
	int64		used = 0;
	int64		entries = 0;
	int64		hits = 0;
	int64		misses = 0;
	int64		inserts = 0;
	int64		evictions = 0;
	int			p;

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	if (wc_gc != NULL)
	{
		for (p = 0; p < WC_GC_PARTITIONS; p++)
		{
			WcGcPartition *part = &wc_gc->parts[p].part;

			LWLockAcquire(&wc_gc_locks[p].lock, LW_SHARED);
			used += part->head - part->tail;
			entries += part->nentries;
			hits += pg_atomic_read_u64(&part->hits);
			misses += pg_atomic_read_u64(&part->misses);
			inserts += part->inserts;
			evictions += part->evictions;
			LWLockRelease(&wc_gc_locks[p].lock);
		}
	}
	values[0] = Int64GetDatum(wc_gc ? (int64) wc_gc->arena * WC_GC_PARTITIONS : 0);
	values[1] = Int64GetDatum(used);
	values[2] = Int64GetDatum(entries);
	values[3] = Int64GetDatum(hits);
	values[4] = Int64GetDatum(misses);
	values[5] = Int64GetDatum(inserts);
	values[6] = Int64GetDatum(evictions);
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(tupdesc, values, nulls)));
}
