/*-------------------------------------------------------------------------
 *
 * kv_zset.c
 *	  Sorted sets (ZADD, ZINCRBY, ZSCORE, ZRANK, ZRANGE, ZREM, ZPOP...) with
 *	  Redis semantics, and their SQL functions.
 *
 * Structure: a sorted set is one entry whose fixed-size payload is a KvZset
 * header: a skiplist with spans (kv_skiplist.c), header node included, and
 * a member index.  Each member is one arena chunk, a KvSkipNode holding its
 * score, its skiplist tower and its bytes; the same node is on the skiplist
 * (order, rank) and on a chain of the member index (lookup by member), so
 * a member costs one allocation.
 *
 * The member index is a chained hash table: an arena chunk of nbuckets
 * (a power of two) chain heads, linked through KvSkipNode.hnext, keyed by
 * a seeded hash of the member bytes (not stored: recomputed when the table
 * is resized).  It doubles when the members would outnumber the buckets,
 * and halves (at least) when they fall under an eighth; the new array is
 * allocated before anything changes when growing, and shrinking is skipped
 * if no memory is free at once.  Resizing rehashes every member in one go.
 *
 * Complexity: ZSCORE, ZCARD, member lookup O(1); ZADD of one member, ZREM
 * of one member, ZINCRBY, ZRANK/ZREVRANK, ZCOUNT O(log n); range reads and
 * range deletes O(log n + m) for m members returned or removed.
 *
 * ZADD of many members: before taking the lock, a local hash table finds
 * members given more than once (each is then applied occurrence by
 * occurrence, as Redis does) and the distinct members are sorted by
 * (score, member), O(m log m).  Under the lock a new key is built by
 * appending the sorted nodes to the skiplist, O(m) with no searching; an
 * existing set takes them in order, O(m log n).  Either way the nodes are
 * allocated in skiplist order, next to each other in the arena, which
 * keeps range scans and the final free cache-friendly.
 *
 * Memory: a set costs its entry (about 600 bytes, mostly the skiplist
 * header node's 32 levels), 8 bytes of index per member rounded up to a
 * power of two, and per member a node of 32 bytes + 16 per level (1.33
 * levels on average) + the member bytes, rounded up to the arena's size
 * class.  There is no compact encoding for small sets.
 *
 * Invariants: the index and the skiplist hold the same nodes; a member is
 * there at most once; no score is NaN; a set is never empty (the operation
 * that removes the last member deletes the key).
 *
 * Errors: every input is validated, and every chunk an operation needs is
 * allocated, before the first change to the set; once it starts changing,
 * nothing can fail.  An allocation that fails frees what was allocated
 * before raising 53200, so ZADD of an array is all-or-nothing.
 *
 * Locking: each operation holds its key's partition lock, shared for reads
 * and exclusive for writes, for its whole duration and no longer; what can
 * be done in local memory (validation, hashing, ZADD's sorting) is done
 * before.  Range reads and pops copy the rows they return into local memory
 * under the lock; the SQL functions build tuples after it is released.  No
 * user code, sleep or interrupt check happens under the lock.
 *
 * kvcache/kv_zset.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "port/pg_bitutils.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "kv_zset.h"

#define KV_ZINDEX_MIN_BUCKETS	8

/* The payload of a sorted set entry */
typedef struct KvZset
{
	KvSkipNode **buckets;		/* member index chains, arena chunk; NULL if none */
	uint64		nbuckets;		/* 0 or a power of two */
	KvSkipList	sl;				/* members in order; sl.length is the cardinality */
} KvZset;

#define KV_ZSET(entry)		((KvZset *) KV_ENTRY_VALUE(entry))

/*
 * One distinct member of a ZADD, prepared in local memory before the lock
 * is taken.  A member given more than once has its argument indexes linked
 * through KvZaddBatch.next, from first to last.
 */
typedef struct KvZaddItem
{
	double		score;			/* its score if the member is new */
	const char *member;			/* the caller's copy of the bytes */
	KvSkipNode *node;			/* under the lock: its node, if any */
	uint32		len;
	uint32		hash;
	int			first;			/* argument index of the first occurrence */
	int			last;			/* ... and of the last (== first if given once) */
	bool		fresh;			/* node was allocated by this ZADD */
} KvZaddItem;

/* A ZADD prepared by kv_zadd_prepare */
typedef struct KvZaddBatch
{
	KvZsetElem *elems;			/* the arguments, in order */
	int		   *next;			/* next occurrence of a repeated member */
	KvZaddItem *items;			/* distinct members, sorted by (score, member) */
	int			nitems;
	int			flags;			/* KV_ZADD_* */
} KvZaddBatch;

/* A slot of the local table that finds repeated members */
typedef struct KvZaddSlot
{
	uint32		hash;
	int			item;			/* 1 + index into items; 0 = empty */
} KvZaddSlot;

/* Sort of KvZaddItem by (score, member), specialised for speed */
#define ST_SORT kv_zadd_sort
#define ST_ELEMENT_TYPE KvZaddItem
#define ST_COMPARE(a, b) \
	KvSkipCompare((a)->score, (a)->member, (a)->len, (b)->score, (b)->member, (b)->len)
#define ST_SCOPE static
#define ST_DECLARE
#define ST_DEFINE
#include "lib/sort_template.h"

/* ----------------------------------------------------------------
 * Member index
 * ----------------------------------------------------------------
 */

/* Hash of member bytes for the member index (seeded at server start) */
uint32
KvZsetHash(const char *member, uint32 len)
{
	return (uint32) hash_bytes_extended((const unsigned char *) member, (int) len,
										KvShared->seed ^ UINT64CONST(0x9E3779B97F4A7C15));
}

/* Buckets for an index of count members: a power of two >= count */
static uint64
kv_zindex_buckets_for(uint64 count)
{
	if (count <= KV_ZINDEX_MIN_BUCKETS)
		return KV_ZINDEX_MIN_BUCKETS;
	return pg_nextpower2_64(count);
}

/* The node of member, or NULL */
static KvSkipNode *
kv_zindex_find(KvZset *zs, const char *member, uint32 len, uint32 hash)
{
	KvSkipNode *n;

	if (zs->nbuckets == 0)
		return NULL;
	for (n = zs->buckets[hash & (zs->nbuckets - 1)]; n; n = n->hnext)
	{
		if (n->mlen == len && memcmp(KV_SKIP_MEMBER(n), member, len) == 0)
			return n;
	}
	return NULL;
}

/* Add node (not in the index, hash of its member given) to its chain */
static void
kv_zindex_insert(KvZset *zs, KvSkipNode *node, uint32 hash)
{
	KvSkipNode **head = &zs->buckets[hash & (zs->nbuckets - 1)];

	node->hnext = *head;
	*head = node;
}

/* Take node (in the index) off its chain */
static void
kv_zindex_remove(KvZset *zs, KvSkipNode *node, uint32 hash)
{
	KvSkipNode **pp = &zs->buckets[hash & (zs->nbuckets - 1)];

	while (*pp != node)
	{
		Assert(*pp != NULL);
		pp = &(*pp)->hnext;
	}
	*pp = node->hnext;
}

/*
 * Move the index to newb, an array of nb buckets, rehashing every member
 * on the skiplist, and free the old array.  Cannot fail.
 */
static void
kv_zindex_rehash(KvZset *zs, KvSkipNode **newb, uint64 nb)
{
	KvSkipNode *n;

	memset(newb, 0, nb * sizeof(KvSkipNode *));
	for (n = KV_SKIP_FIRST(&zs->sl); n; n = n->level[0].forward)
	{
		KvSkipNode **head = &newb[KvZsetHash(KV_SKIP_MEMBER(n), n->mlen) & (nb - 1)];

		n->hnext = *head;
		*head = n;
	}
	if (zs->buckets)
		KvFree(zs->buckets);
	zs->buckets = newb;
	zs->nbuckets = nb;
}

/*
 * After removals: halve the index (or more) when under an eighth full.  A
 * shrink must not evict other keys, nor fail after the removals are done,
 * so it takes free arena memory directly and is skipped if there is none.
 */
static void
kv_zindex_maybe_shrink(KvZset *zs)
{
	uint64		nb;
	KvSkipNode **newb;

	if (zs->nbuckets <= KV_ZINDEX_MIN_BUCKETS || zs->sl.length >= zs->nbuckets / 8)
		return;
	nb = kv_zindex_buckets_for(zs->sl.length * 2);
	newb = KvArenaAlloc(nb * sizeof(KvSkipNode *));
	if (newb)
		kv_zindex_rehash(zs, newb, nb);
}

/* ----------------------------------------------------------------
 * C API
 * ----------------------------------------------------------------
 */

/* Initialise the payload of a new sorted set entry */
static void
kv_zset_init(KvZset *zs)
{
	zs->buckets = NULL;
	zs->nbuckets = 0;
	KvSkipInit(&zs->sl);
}

/*
 * Free every node and the index of a sorted set entry; registered with
 * KvRegisterType, called with the partition held exclusive when the key is
 * deleted, replaced, expired, evicted or flushed.  O(n)
 */
void
KvZsetFreeContents(KvEntry *entry)
{
	KvZset	   *zs = KV_ZSET(entry);
	KvSkipNode *n = KV_SKIP_FIRST(&zs->sl);

	while (n)
	{
		KvSkipNode *next = n->level[0].forward;

		KvFree(n);
		n = next;
	}
	if (zs->buckets)
		KvFree(zs->buckets);
}

/*
 * Copy the members of sorted set src into dst, a new entry (kv_dict.c's
 * KvEntryCopy; caller holds the partition exclusive): nodes are appended
 * in order, so the copy is O(n).  False if memory ran out, with dst holding
 * the members copied so far (freeable).
 */
bool
KvZsetCopyContents(KvEntry *dst, KvEntry *src, KvKey *key)
{
	KvZset	   *s = KV_ZSET(src);
	KvZset	   *d = KV_ZSET(dst);
	KvSkipAppender app;
	KvSkipNode *n;

	kv_zset_init(d);
	if (s->nbuckets > 0)
	{
		d->buckets = KvAlloc(s->nbuckets * sizeof(KvSkipNode *), key, src);
		if (d->buckets == NULL)
			return false;
		memset(d->buckets, 0, s->nbuckets * sizeof(KvSkipNode *));
		d->nbuckets = s->nbuckets;
	}
	KvSkipAppendBegin(&d->sl, &app);
	for (n = KV_SKIP_FIRST(&s->sl); n; n = n->level[0].forward)
	{
		KvSkipNode *copy = KvAlloc(KV_SKIP_NODE_SIZE(n->mlen, n->nlevel), key, src);

		if (copy == NULL)
			return false;
		KvSkipNodeInit(copy, n->score, KV_SKIP_MEMBER(n), n->mlen, n->nlevel);
		KvSkipAppend(&d->sl, &app, copy);
		if (d->nbuckets > 0)
			kv_zindex_insert(d, copy, KvZsetHash(KV_SKIP_MEMBER(copy), copy->mlen));
	}
	return true;
}

/*
 * Allocate and fill a node for item (links unset).  Returns NULL if no
 * memory, with the size asked for in *size.
 */
static KvSkipNode *
kv_zset_node_alloc(KvKey *key, KvEntry *protect, const KvZaddItem *item,
				   Size *size)
{
	int			level = KvSkipRandomLevel();
	KvSkipNode *node;

	*size = KV_SKIP_NODE_SIZE(item->len, level);
	node = KvAlloc(*size, key, protect);
	if (node)
		KvSkipNodeInit(node, item->score, item->member, item->len, level);
	return node;
}

/* Free the nodes the first n items of b allocated */
static void
kv_zadd_free_fresh(KvZaddBatch *b, int n)
{
	int			i;

	for (i = 0; i < n; i++)
	{
		if (b->items[i].fresh)
			KvFree(b->items[i].node);
	}
}

/* Does ZADD with flags move a score from cur to score?  NX never, GT only up, LT only down */
static inline bool
kv_zadd_changes(double cur, double score, int flags)
{
	if (flags & KV_ZADD_NX)
		return false;
	if ((flags & KV_ZADD_GT) && score <= cur)
		return false;
	if ((flags & KV_ZADD_LT) && score >= cur)
		return false;
	return score != cur;
}

/*
 * Apply the occurrences of item's member, in argument order, to a score:
 * an existing member's *score, or (existing = false) a new member's, which
 * its first occurrence sets.  Returns how many occurrences changed it
 * (Redis's "updated" count for CH).  Cannot fail.
 */
static int64
kv_zadd_fold(KvZaddBatch *b, KvZaddItem *item, bool existing, double *score)
{
	int64		changes = 0;
	int			i = item->first;

	if (!existing)
	{
		*score = b->elems[i].score;
		if (i == item->last)
			return 0;
		i = b->next[i];
	}
	for (;;)
	{
		double		s = b->elems[i].score;

		if (kv_zadd_changes(*score, s, b->flags))
		{
			*score = s;
			changes++;
		}
		if (i == item->last)
			break;
		i = b->next[i];
	}
	return changes;
}

/*
 * Prepare a ZADD in local memory, before any lock is taken: find repeated
 * members (a local hash table on the member hashes), work out each
 * distinct member's score should it be new, and sort the distinct members
 * by (score, member).  The members being distinct, the order they are
 * applied in no longer matters, so under the lock they go in skiplist
 * order: a new set is built by appending, and nodes are allocated in
 * order, next to each other in memory.
 */
static void
kv_zadd_prepare(KvZaddBatch *b, KvZsetElem *elems, int n, int flags)
{
	uint64		nslots = pg_nextpower2_64(Max((uint64) n * 2, 16));
	KvZaddSlot *slots;
	int			i;

	b->elems = elems;
	b->next = NULL;
	b->items = palloc_extended(sizeof(KvZaddItem) * Max(n, 1), MCXT_ALLOC_HUGE);
	b->nitems = 0;
	b->flags = flags;
	slots = palloc_extended(sizeof(KvZaddSlot) * nslots,
							MCXT_ALLOC_HUGE | MCXT_ALLOC_ZERO);
	for (i = 0; i < n; i++)
	{
		KvZsetElem *el = &elems[i];
		uint64		pos = el->hash & (nslots - 1);
		KvZaddItem *item;

		/* linear probing; the hash in the slot spares most comparisons */
		for (;;)
		{
			KvZaddSlot *slot = &slots[pos];

			if (slot->item == 0)
			{
				item = &b->items[b->nitems++];
				item->score = el->score;
				item->member = el->member;
				item->node = NULL;
				item->len = el->len;
				item->hash = el->hash;
				item->first = item->last = i;
				item->fresh = false;
				slot->hash = el->hash;
				slot->item = b->nitems;
				break;
			}
			item = &b->items[slot->item - 1];
			if (slot->hash == el->hash && item->len == el->len &&
				memcmp(item->member, el->member, el->len) == 0)
			{
				/* a repeat: chain it after the member's last occurrence */
				if (b->next == NULL)
					b->next = palloc_extended(sizeof(int) * n, MCXT_ALLOC_HUGE);
				b->next[item->last] = i;
				item->last = i;
				break;
			}
			pos = (pos + 1) & (nslots - 1);
		}
	}
	pfree(slots);

	if (b->next)
	{
		for (i = 0; i < b->nitems; i++)
		{
			KvZaddItem *item = &b->items[i];

			if (item->first != item->last)
				kv_zadd_fold(b, item, false, &item->score);
		}
	}
	if (b->nitems > 1)
		kv_zadd_sort(b->items, b->nitems);
}

/*
 * ZADD into a key that does not exist (caller holds the partition
 * exclusive, and has excluded XX and an empty batch): allocate the entry,
 * the index and every node, in order; then append the nodes to the
 * skiplist, which needs no searching, and link the entry.  A failed
 * allocation frees everything before raising.
 */
static void
kv_zset_load(KvKey *key, KvZaddBatch *b, int64 *added, int64 *changed)
{
	uint64		nb = kv_zindex_buckets_for((uint64) b->nitems);
	KvEntry    *e;
	KvZset	   *zs;
	KvSkipAppender app;
	int			i;

	e = KvEntryCreate(key, KV_TYPE_ZSET, sizeof(KvZset), NULL);
	zs = KV_ZSET(e);
	kv_zset_init(zs);
	zs->buckets = KvAlloc(nb * sizeof(KvSkipNode *), key, NULL);
	if (zs->buckets == NULL)
	{
		KvFree(e);
		KvOutOfMemory(nb * sizeof(KvSkipNode *));
	}
	for (i = 0; i < b->nitems; i++)
	{
		KvZaddItem *item = &b->items[i];
		Size		size;

		item->node = kv_zset_node_alloc(key, NULL, item, &size);
		if (item->node == NULL)
		{
			kv_zadd_free_fresh(b, i);
			KvFree(zs->buckets);
			KvFree(e);
			KvOutOfMemory(size);
		}
		item->fresh = true;
	}

	/* from here on nothing can fail */
	memset(zs->buckets, 0, nb * sizeof(KvSkipNode *));
	zs->nbuckets = nb;
	KvSkipAppendBegin(&zs->sl, &app);
	for (i = 0; i < b->nitems; i++)
	{
		KvZaddItem *item = &b->items[i];
		double		score;

		KvSkipAppend(&zs->sl, &app, item->node);
		kv_zindex_insert(zs, item->node, item->hash);
		if (item->first != item->last)
			*changed += kv_zadd_fold(b, item, false, &score);
	}
	KvEntryLink(key, e, NULL);
	*added = b->nitems;
}

/*
 * ZADD into the existing set e (caller holds the partition exclusive).
 * First, with nothing changed: find each member's node, allocate one for
 * each new member (unless XX), and a bigger index if needed.  Then apply
 * the changes.
 */
static void
kv_zset_add_existing(KvKey *key, KvEntry *e, KvZaddBatch *b,
					 int64 *added, int64 *changed)
{
	KvZset	   *zs = KV_ZSET(e);
	KvSkipNode **newb = NULL;
	uint64		nb = 0;
	uint64		absent = 0;
	int			i;

	for (i = 0; i < b->nitems; i++)
	{
		KvZaddItem *item = &b->items[i];
		Size		size;

		item->node = kv_zindex_find(zs, item->member, item->len, item->hash);
		if (item->node || (b->flags & KV_ZADD_XX))
			continue;
		item->node = kv_zset_node_alloc(key, e, item, &size);
		if (item->node == NULL)
		{
			kv_zadd_free_fresh(b, i);
			KvOutOfMemory(size);
		}
		item->fresh = true;
		absent++;
	}
	if (zs->sl.length + absent > zs->nbuckets)
	{
		nb = kv_zindex_buckets_for(zs->sl.length + absent);
		newb = KvAlloc(nb * sizeof(KvSkipNode *), key, e);
		if (newb == NULL)
		{
			kv_zadd_free_fresh(b, b->nitems);
			KvOutOfMemory(nb * sizeof(KvSkipNode *));
		}
	}

	/* from here on nothing can fail */
	if (newb)
		kv_zindex_rehash(zs, newb, nb);
	for (i = 0; i < b->nitems; i++)
	{
		KvZaddItem *item = &b->items[i];
		double		score;

		if (item->node == NULL)
			continue;
		if (item->fresh)
		{
			KvSkipInsert(&zs->sl, item->node);
			kv_zindex_insert(zs, item->node, item->hash);
			(*added)++;
			if (item->first != item->last)
				*changed += kv_zadd_fold(b, item, false, &score);
		}
		else
		{
			score = item->node->score;
			*changed += kv_zadd_fold(b, item, true, &score);
			if (score != item->node->score)
				KvSkipUpdateScore(&zs->sl, item->node, score);
		}
	}
}

/*
 * ZADD key [NX|XX] [GT|LT] [CH] score member ...: flags KV_ZADD_*, already
 * checked for conflicts; scores are not NaN.  A repeated member is applied
 * occurrence by occurrence in argument order, as Redis does.  Returns the
 * number of members added, or added + changed with CH.  All or nothing.
 */
int64
KvZsetAdd(KvKey *key, KvZsetElem *elems, int n, int flags)
{
	KvZaddBatch b;
	KvEntry    *e;
	int64		added = 0;
	int64		changed = 0;

	kv_zadd_prepare(&b, elems, n, flags);
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e)
		kv_zset_add_existing(key, e, &b, &added, &changed);
	else if (!(flags & KV_ZADD_XX) && b.nitems > 0)
		kv_zset_load(key, &b, &added, &changed);
	KvUnlockPartition(key);
	pfree(b.items);
	if (b.next)
		pfree(b.next);
	return (flags & KV_ZADD_CH) ? added + changed : added;
}

/*
 * ZINCRBY key increment member (increment in elem->score, not NaN).
 * Returns the new score; a sum that is NaN (inf + -inf) raises 22003 with
 * nothing changed.  A new member is added with the increment as its score.
 */
double
KvZsetIncrBy(KvKey *key, KvZsetElem *elem)
{
	KvZaddBatch b;
	KvEntry    *e;
	KvSkipNode *node = NULL;
	double		result = elem->score;
	int64		added = 0;
	int64		changed = 0;

	/* a batch of one, for when the member is new */
	kv_zadd_prepare(&b, elem, 1, 0);
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e)
		node = kv_zindex_find(KV_ZSET(e), elem->member, elem->len, elem->hash);
	if (node)
	{
		result = node->score + elem->score;
		if (isnan(result))
			ereport(ERROR,
					(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
					 errmsg("resulting score is not a number (NaN)")));
		if (result != node->score)
			KvSkipUpdateScore(&KV_ZSET(e)->sl, node, result);
	}
	else if (e)
		kv_zset_add_existing(key, e, &b, &added, &changed);
	else
		kv_zset_load(key, &b, &added, &changed);
	KvUnlockPartition(key);
	pfree(b.items);
	return result;
}

/* Find the sorted set of key for reading; caller holds the partition shared */
static inline KvZset *
kv_zset_lookup_read(KvKey *key)
{
	KvEntry    *e = KvLookupTyped(key, KV_TYPE_ZSET, false, true);

	return e ? KV_ZSET(e) : NULL;
}

/* ZSCORE key member: false if the key or member is missing */
bool
KvZsetScore(KvKey *key, KvZsetElem *elem, double *score)
{
	KvZset	   *zs;
	KvSkipNode *node = NULL;

	if (key->dbslot < 0)
		return false;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs)
		node = kv_zindex_find(zs, elem->member, elem->len, elem->hash);
	if (node)
		*score = node->score;
	KvUnlockPartition(key);
	return node != NULL;
}

/* ZRANK (0-based from the lowest) or ZREVRANK (from the highest); -1 if missing */
int64
KvZsetRank(KvKey *key, KvZsetElem *elem, bool reverse)
{
	KvZset	   *zs;
	KvSkipNode *node = NULL;
	int64		rank = -1;

	if (key->dbslot < 0)
		return -1;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs)
		node = kv_zindex_find(zs, elem->member, elem->len, elem->hash);
	if (node)
	{
		uint64		r = KvSkipRank(&zs->sl, node);

		rank = reverse ? (int64) (zs->sl.length - r) : (int64) (r - 1);
	}
	KvUnlockPartition(key);
	return rank;
}

/* ZCARD key: 0 if missing */
int64
KvZsetCard(KvKey *key)
{
	KvZset	   *zs;
	int64		card = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs)
		card = (int64) zs->sl.length;
	KvUnlockPartition(key);
	return card;
}

/* ZCOUNT key min max: members with a score in range, from two ranks */
int64
KvZsetCount(KvKey *key, const KvScoreRange *range)
{
	KvZset	   *zs;
	int64		count = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs)
	{
		uint64		rfirst;
		uint64		rlast;

		if (KvSkipFirstInRange(&zs->sl, range, &rfirst) &&
			KvSkipLastInRange(&zs->sl, range, &rlast))
			count = (int64) (rlast - rfirst + 1);
	}
	KvUnlockPartition(key);
	return count;
}

/* A palloc'd text copy of a node's member */
static text *
kv_zset_member_text(KvSkipNode *node)
{
	text	   *t = (text *) palloc(VARHDRSZ + node->mlen);

	SET_VARSIZE(t, VARHDRSZ + node->mlen);
	memcpy(VARDATA(t), KV_SKIP_MEMBER(node), node->mlen);
	return t;
}

/*
 * Copy count members into a new row array, from node on, walking forward
 * or backward.  Caller holds the partition lock; the nodes must exist.
 */
static KvZsetRow *
kv_zset_copy_rows(KvSkipNode *node, int64 count, bool backward)
{
	KvZsetRow  *rows = palloc_extended(sizeof(KvZsetRow) * count, MCXT_ALLOC_HUGE);
	int64		i;

	for (i = 0; i < count; i++)
	{
		Assert(node != NULL);
		rows[i].member = kv_zset_member_text(node);
		rows[i].score = node->score;
		node = backward ? node->backward : node->level[0].forward;
	}
	return rows;
}

/*
 * ZRANGE / ZREVRANGE key start stop: members by rank, in ascending order
 * (descending with reverse, where ranks count from the highest).  Returns
 * the number of rows put in *rows.
 */
int64
KvZsetRangeByRank(KvKey *key, int64 start, int64 stop, bool reverse,
				  KvZsetRow **rows)
{
	KvZset	   *zs;
	int64		count = 0;

	*rows = NULL;
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs && KvClampRange((int64) zs->sl.length, &start, &stop))
	{
		uint64		first = reverse ? zs->sl.length - start : (uint64) start + 1;

		count = stop - start + 1;
		*rows = kv_zset_copy_rows(KvSkipByRank(&zs->sl, first), count, reverse);
	}
	KvUnlockPartition(key);
	return count;
}

/*
 * ZRANGEBYSCORE / ZREVRANGEBYSCORE key range LIMIT offset limit: members
 * with a score in range, ascending (descending with reverse), skipping
 * offset of them and returning at most limit (all if limit < 0).  As in
 * Redis, a negative offset returns nothing (Redis skips forward "offset--"
 * times, which with a negative offset runs off the end of the set).  The
 * rows are located by rank, so the offset costs O(log n), not O(offset).
 */
int64
KvZsetRangeByScore(KvKey *key, const KvScoreRange *range, bool reverse,
				   int64 offset, int64 limit, KvZsetRow **rows)
{
	KvZset	   *zs;
	int64		count = 0;

	*rows = NULL;
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	zs = kv_zset_lookup_read(key);
	if (zs && offset >= 0 && limit != 0)
	{
		uint64		rfirst;
		uint64		rlast;
		KvSkipNode *first = KvSkipFirstInRange(&zs->sl, range, &rfirst);
		KvSkipNode *last = first ? KvSkipLastInRange(&zs->sl, range, &rlast) : NULL;

		if (last && (uint64) offset <= rlast - rfirst)
		{
			KvSkipNode *start;

			count = (int64) (rlast - rfirst + 1) - offset;
			if (limit > 0 && limit < count)
				count = limit;
			if (offset == 0)
				start = reverse ? last : first;
			else
				start = KvSkipByRank(&zs->sl, reverse ? rlast - offset : rfirst + offset);
			*rows = kv_zset_copy_rows(start, count, reverse);
		}
	}
	KvUnlockPartition(key);
	return count;
}

/* After members were removed from e: delete the key if empty, else maybe shrink */
static void
kv_zset_after_remove(KvKey *key, KvEntry *e)
{
	KvZset	   *zs = KV_ZSET(e);

	if (zs->sl.length == 0)
		KvEntryDelete(key, e);
	else
		kv_zindex_maybe_shrink(zs);
}

/* ZREM key member ...: how many of the members were removed */
int64
KvZsetRem(KvKey *key, KvZsetElem *elems, int n)
{
	KvEntry    *e;
	int64		removed = 0;
	int			i;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e)
	{
		KvZset	   *zs = KV_ZSET(e);

		for (i = 0; i < n; i++)
		{
			KvZsetElem *el = &elems[i];
			KvSkipNode *node = kv_zindex_find(zs, el->member, el->len, el->hash);

			if (node == NULL)
				continue;
			KvSkipDelete(&zs->sl, node);
			kv_zindex_remove(zs, node, el->hash);
			KvFree(node);
			removed++;
		}
		kv_zset_after_remove(key, e);
	}
	KvUnlockPartition(key);
	return removed;
}

/* Range-delete callback: drop the unlinked node from the index and free it */
static void
kv_zset_drop_node(KvSkipNode *node, void *arg)
{
	KvZset	   *zs = (KvZset *) arg;

	kv_zindex_remove(zs, node, KvZsetHash(KV_SKIP_MEMBER(node), node->mlen));
	KvFree(node);
}

/* ZREMRANGEBYRANK key start stop (Redis rank range): how many were removed */
int64
KvZsetRemRangeByRank(KvKey *key, int64 start, int64 stop)
{
	KvEntry    *e;
	int64		removed = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e && KvClampRange((int64) KV_ZSET(e)->sl.length, &start, &stop))
	{
		KvZset	   *zs = KV_ZSET(e);

		removed = (int64) KvSkipDeleteRangeByRank(&zs->sl, start + 1, stop + 1,
												  kv_zset_drop_node, zs);
		kv_zset_after_remove(key, e);
	}
	KvUnlockPartition(key);
	return removed;
}

/* ZREMRANGEBYSCORE key min max: how many were removed */
int64
KvZsetRemRangeByScore(KvKey *key, const KvScoreRange *range)
{
	KvEntry    *e;
	int64		removed = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e)
	{
		KvZset	   *zs = KV_ZSET(e);

		removed = (int64) KvSkipDeleteRangeByScore(&zs->sl, range,
												   kv_zset_drop_node, zs);
		if (removed > 0)
			kv_zset_after_remove(key, e);
	}
	KvUnlockPartition(key);
	return removed;
}

/*
 * ZPOPMIN / ZPOPMAX key count (count > 0): remove the count lowest
 * (highest with max) members and return them lowest first (highest first
 * with max).  The rows are copied before anything is removed.
 */
int64
KvZsetPop(KvKey *key, int64 count, bool max, KvZsetRow **rows)
{
	KvEntry    *e;

	Assert(count > 0);
	*rows = NULL;
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_ZSET, true, false);
	if (e)
	{
		KvZset	   *zs = KV_ZSET(e);
		uint64		len = zs->sl.length;

		if ((uint64) count > len)
			count = (int64) len;
		*rows = kv_zset_copy_rows(max ? zs->sl.tail : KV_SKIP_FIRST(&zs->sl),
								  count, max);
		if (max)
			KvSkipDeleteRangeByRank(&zs->sl, len - count + 1, len,
									kv_zset_drop_node, zs);
		else
			KvSkipDeleteRangeByRank(&zs->sl, 1, count, kv_zset_drop_node, zs);
		kv_zset_after_remove(key, e);
	}
	else
		count = 0;
	KvUnlockPartition(key);
	return count;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_zadd);
PG_FUNCTION_INFO_V1(kv_zadd_array);
PG_FUNCTION_INFO_V1(kv_zincrby);
PG_FUNCTION_INFO_V1(kv_zscore);
PG_FUNCTION_INFO_V1(kv_zrank);
PG_FUNCTION_INFO_V1(kv_zrevrank);
PG_FUNCTION_INFO_V1(kv_zcard);
PG_FUNCTION_INFO_V1(kv_zcount);
PG_FUNCTION_INFO_V1(kv_zrange);
PG_FUNCTION_INFO_V1(kv_zrevrange);
PG_FUNCTION_INFO_V1(kv_zrangebyscore);
PG_FUNCTION_INFO_V1(kv_zrevrangebyscore);
PG_FUNCTION_INFO_V1(kv_zrem);
PG_FUNCTION_INFO_V1(kv_zremrangebyscore);
PG_FUNCTION_INFO_V1(kv_zremrangebyrank);
PG_FUNCTION_INFO_V1(kv_zpopmin);
PG_FUNCTION_INFO_V1(kv_zpopmax);

/* Raise 22004 if argument n (called name) is NULL */
static void
kv_zset_arg_notnull(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Raise 22023 for a NaN score or increment */
static void
kv_zset_check_score(double score, const char *name)
{
	if (isnan(score))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("%s must not be NaN", name)));
}

/* Point elem at the bytes of member t (detoasted) and hash them; 54000 if too long */
static void
kv_zset_elem(KvZsetElem *elem, text *t)
{
	Size		len = VARSIZE_ANY_EXHDR(t);

	if (len > KV_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("member is too long"),
				 errdetail("Member length is %zu bytes; the limit is %d bytes.",
						   len, KV_MAX_VALUE_BYTES)));
	elem->member = VARDATA_ANY(t);
	elem->len = (uint32) len;
	elem->hash = KvZsetHash(elem->member, elem->len);
}

/*
 * The ZADD flags from the five booleans starting at argument first (NULL
 * counts as false), rejecting the combinations Redis rejects with 22023.
 */
static int
kv_zadd_flags(FunctionCallInfo fcinfo, int first)
{
	static const int bits[] = {KV_ZADD_NX, KV_ZADD_XX, KV_ZADD_GT, KV_ZADD_LT, KV_ZADD_CH};
	int			flags = 0;
	int			i;

	for (i = 0; i < lengthof(bits); i++)
	{
		if (!PG_ARGISNULL(first + i) && PG_GETARG_BOOL(first + i))
			flags |= bits[i];
	}
	if ((flags & KV_ZADD_NX) && (flags & KV_ZADD_XX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nx and xx cannot both be true")));
	if ((flags & KV_ZADD_GT) && (flags & KV_ZADD_LT))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("gt and lt cannot both be true")));
	if ((flags & KV_ZADD_NX) && (flags & (KV_ZADD_GT | KV_ZADD_LT)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nx cannot be combined with gt or lt")));
	return flags;
}

/*
 * A score range from the arguments at imin, imax, iminex and imaxex (the
 * reverse functions take max before min); NaN bounds raise 22023.
 */
static void
kv_zset_range_args(FunctionCallInfo fcinfo, int imin, int imax, int iminex,
				   int imaxex, KvScoreRange *range)
{
	range->min = PG_GETARG_FLOAT8(imin);
	range->max = PG_GETARG_FLOAT8(imax);
	range->minex = PG_GETARG_BOOL(iminex);
	range->maxex = PG_GETARG_BOOL(imaxex);
	if (isnan(range->min) || isnan(range->max))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("min and max must not be NaN")));
}

/* Put rows into the tuplestore set up by InitMaterializedSRF */
static void
kv_zset_emit(FunctionCallInfo fcinfo, KvZsetRow *rows, int64 n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		i;

	for (i = 0; i < n; i++)
	{
		Datum		values[2];
		bool		nulls[2] = {false, false};

		CHECK_FOR_INTERRUPTS();
		values[0] = PointerGetDatum(rows[i].member);
		values[1] = Float8GetDatum(rows[i].score);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
		pfree(rows[i].member);
	}
	if (rows)
		pfree(rows);
}

/* kv.zadd(key, score, member, nx, xx, gt, lt, ch) -> bigint */
Datum
kv_zadd(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvZsetElem	elem;
	int			flags;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "score");
	kv_zset_arg_notnull(fcinfo, 2, "member");
	flags = kv_zadd_flags(fcinfo, 3);
	elem.score = PG_GETARG_FLOAT8(1);
	kv_zset_check_score(elem.score, "score");
	kv_zset_elem(&elem, PG_GETARG_TEXT_PP(2));
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvZsetAdd(&key, &elem, 1, flags));
}

/*
 * kv.zadd(key, scores[], members[], nx, xx, gt, lt, ch) -> bigint.  Every
 * pair is checked before the set is touched.
 */
Datum
kv_zadd_array(PG_FUNCTION_ARGS)
{
	KvKey		key;
	Datum	   *sd;
	Datum	   *md;
	bool	   *sn;
	bool	   *mn;
	int			ns;
	int			nm;
	int			flags;
	KvZsetElem *elems;
	int			i;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "scores");
	kv_zset_arg_notnull(fcinfo, 2, "members");
	flags = kv_zadd_flags(fcinfo, 3);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), FLOAT8OID, sizeof(float8),
					  FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &sd, &sn, &ns);
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(2), TEXTOID, -1, false,
					  TYPALIGN_INT, &md, &mn, &nm);
	if (ns != nm)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("scores and members must have the same number of elements")));
	elems = palloc_extended(sizeof(KvZsetElem) * Max(ns, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < ns; i++)
	{
		if (sn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("score must not be null")));
		if (mn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("member must not be null")));
		elems[i].score = DatumGetFloat8(sd[i]);
		kv_zset_check_score(elems[i].score, "score");
		kv_zset_elem(&elems[i], DatumGetTextPP(md[i]));
	}
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvZsetAdd(&key, elems, ns, flags));
}

/* kv.zincrby(key, increment, member) -> float8 */
Datum
kv_zincrby(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvZsetElem	elem;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "increment");
	kv_zset_arg_notnull(fcinfo, 2, "member");
	elem.score = PG_GETARG_FLOAT8(1);
	kv_zset_check_score(elem.score, "increment");
	kv_zset_elem(&elem, PG_GETARG_TEXT_PP(2));
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_FLOAT8(KvZsetIncrBy(&key, &elem));
}

/* kv.zscore(key, member) -> float8, NULL if missing */
Datum
kv_zscore(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvZsetElem	elem;
	double		score;

	kv_zset_elem(&elem, PG_GETARG_TEXT_PP(1));
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	if (!KvZsetScore(&key, &elem, &score))
		PG_RETURN_NULL();
	PG_RETURN_FLOAT8(score);
}

/* Shared body of kv.zrank and kv.zrevrank */
static Datum
kv_zrank_common(FunctionCallInfo fcinfo, bool reverse)
{
	KvKey		key;
	KvZsetElem	elem;
	int64		rank;

	kv_zset_elem(&elem, PG_GETARG_TEXT_PP(1));
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	rank = KvZsetRank(&key, &elem, reverse);
	if (rank < 0)
		PG_RETURN_NULL();
	PG_RETURN_INT64(rank);
}

/* kv.zrank(key, member) -> bigint, NULL if missing */
Datum
kv_zrank(PG_FUNCTION_ARGS)
{
	return kv_zrank_common(fcinfo, false);
}

/* kv.zrevrank(key, member) -> bigint, NULL if missing */
Datum
kv_zrevrank(PG_FUNCTION_ARGS)
{
	return kv_zrank_common(fcinfo, true);
}

/* kv.zcard(key) -> bigint */
Datum
kv_zcard(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvZsetCard(&key));
}

/* kv.zcount(key, min, max, min_exclusive, max_exclusive) -> bigint */
Datum
kv_zcount(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvScoreRange range;

	kv_zset_range_args(fcinfo, 1, 2, 3, 4, &range);
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvZsetCount(&key, &range));
}

/* Shared body of kv.zrange and kv.zrevrange */
static Datum
kv_zrange_common(FunctionCallInfo fcinfo, bool reverse)
{
	KvKey		key;
	KvZsetRow  *rows;
	int64		n;

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	n = KvZsetRangeByRank(&key, PG_GETARG_INT64(1), PG_GETARG_INT64(2), reverse, &rows);
	kv_zset_emit(fcinfo, rows, n);
	return (Datum) 0;
}

/* kv.zrange(key, start, stop) -> TABLE(member, score), ascending */
Datum
kv_zrange(PG_FUNCTION_ARGS)
{
	return kv_zrange_common(fcinfo, false);
}

/* kv.zrevrange(key, start, stop) -> TABLE(member, score), descending */
Datum
kv_zrevrange(PG_FUNCTION_ARGS)
{
	return kv_zrange_common(fcinfo, true);
}

/*
 * Shared body of kv.zrangebyscore(key, min, max, min_exclusive,
 * max_exclusive, limit_offset, limit_count) and kv.zrevrangebyscore(key,
 * max, min, max_exclusive, min_exclusive, ...): the reverse form takes its
 * bounds in the opposite order.
 */
static Datum
kv_zrangebyscore_common(FunctionCallInfo fcinfo, bool reverse)
{
	KvKey		key;
	KvScoreRange range;
	KvZsetRow  *rows;
	int64		n;

	if (reverse)
		kv_zset_range_args(fcinfo, 2, 1, 4, 3, &range);
	else
		kv_zset_range_args(fcinfo, 1, 2, 3, 4, &range);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	n = KvZsetRangeByScore(&key, &range, reverse, PG_GETARG_INT64(5),
						   PG_GETARG_INT64(6), &rows);
	kv_zset_emit(fcinfo, rows, n);
	return (Datum) 0;
}

/* kv.zrangebyscore(...) -> TABLE(member, score), ascending */
Datum
kv_zrangebyscore(PG_FUNCTION_ARGS)
{
	return kv_zrangebyscore_common(fcinfo, false);
}

/* kv.zrevrangebyscore(...) -> TABLE(member, score), descending */
Datum
kv_zrevrangebyscore(PG_FUNCTION_ARGS)
{
	return kv_zrangebyscore_common(fcinfo, true);
}

/* kv.zrem(key, VARIADIC members) -> bigint */
Datum
kv_zrem(PG_FUNCTION_ARGS)
{
	KvKey		key;
	Datum	   *md;
	bool	   *mn;
	int			n;
	KvZsetElem *elems;
	int			i;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "members");
	deconstruct_array(PG_GETARG_ARRAYTYPE_P(1), TEXTOID, -1, false,
					  TYPALIGN_INT, &md, &mn, &n);
	elems = palloc_extended(sizeof(KvZsetElem) * Max(n, 1), MCXT_ALLOC_HUGE);
	for (i = 0; i < n; i++)
	{
		if (mn[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("member must not be null")));
		kv_zset_elem(&elems[i], DatumGetTextPP(md[i]));
	}
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvZsetRem(&key, elems, n));
}

/* kv.zremrangebyscore(key, min, max, min_exclusive, max_exclusive) -> bigint */
Datum
kv_zremrangebyscore(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvScoreRange range;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "min");
	kv_zset_arg_notnull(fcinfo, 2, "max");
	kv_zset_arg_notnull(fcinfo, 3, "min_exclusive");
	kv_zset_arg_notnull(fcinfo, 4, "max_exclusive");
	kv_zset_range_args(fcinfo, 1, 2, 3, 4, &range);
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvZsetRemRangeByScore(&key, &range));
}

/* kv.zremrangebyrank(key, start, stop) -> bigint */
Datum
kv_zremrangebyrank(PG_FUNCTION_ARGS)
{
	KvKey		key;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "start");
	kv_zset_arg_notnull(fcinfo, 2, "stop");
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvZsetRemRangeByRank(&key, PG_GETARG_INT64(1), PG_GETARG_INT64(2)));
}

/*
 * Shared body of kv.zpopmin and kv.zpopmax.  A count of 0 returns nothing
 * without looking at the key, as Redis does.
 */
static Datum
kv_zpop_common(FunctionCallInfo fcinfo, bool max)
{
	KvKey		key;
	int64		count;
	KvZsetRow  *rows;
	int64		n;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_zset_arg_notnull(fcinfo, 1, "count");
	count = PG_GETARG_INT64(1);
	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must not be negative")));
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (count == 0)
		return (Datum) 0;
	KV_ARG_KEY(fcinfo, 0, key, false);
	n = KvZsetPop(&key, count, max, &rows);
	kv_zset_emit(fcinfo, rows, n);
	return (Datum) 0;
}

/* kv.zpopmin(key, count) -> TABLE(member, score), lowest first */
Datum
kv_zpopmin(PG_FUNCTION_ARGS)
{
	return kv_zpop_common(fcinfo, false);
}

/* kv.zpopmax(key, count) -> TABLE(member, score), highest first */
Datum
kv_zpopmax(PG_FUNCTION_ARGS)
{
	return kv_zpop_common(fcinfo, true);
}
