/*-------------------------------------------------------------------------
 *
 * kv_hash.c
 *	  Hash values: HSET/HGET/HMGET/HDEL/HGETALL/HKEYS/HVALS/HLEN/HEXISTS/
 *	  HINCRBY/HINCRBYFLOAT with Redis semantics, and their SQL functions.
 *
 * Structure.  A hash key is one entry whose payload is a fixed-size KvHash
 * header; the fields live in a chained hash table of their own:
 *
 *	  KvHash (entry payload)		buckets, nbuckets, count
 *	  bucket array (one chunk)		nbuckets pointers to chains of nodes
 *	  KvHashNode (one chunk each)	next, hash, flen, vlen, vcap, then the
 *									field bytes and vcap value bytes
 *
 * Field hashes come from hash_bytes_extended() seeded with a fixed mix of
 * the cache's random seed, so they are as unpredictable from outside as key
 * hashes; the low bits pick the bucket.  HGET, HSET, HDEL, HEXISTS and
 * HINCRBY are O(1) expected; HGETALL, HKEYS and HVALS are O(n + buckets).
 * Fields and values are byte strings compared with memcmp.
 *
 * Invariants:
 *	  - count >= 1 while the key exists: the write that removes the last
 *		field deletes the key, so an empty hash is never visible.
 *	  - nbuckets is a power of two >= KV_HASH_MIN_BUCKETS.  A write that
 *		takes count past nbuckets (load > 1) grows the array to the next
 *		power of two that holds count; if that allocation fails the old
 *		array is kept (chains get longer) and the next such write retries.
 *		HDEL gives back an array that is less than 1/8 full (best effort).
 *	  - A node's vcap is the value capacity it was allocated with.  A new
 *		value is written in place when it fits and uses at least about half
 *		of vcap; otherwise the node is replaced by a new one.
 *	  - The nodes and the bucket array belong to the entry and are freed
 *		with it (KvHashFreeContents, registered with kv_dict.c).
 *
 * Errors: a write validates its input and allocates everything it needs
 * (entry, larger bucket array, nodes) before its first change; on a memory
 * shortage it frees what it took and raises 53200 with nothing changed.
 * HSET of several fields is therefore all-or-nothing.  A field given twice
 * in one HSET counts once and its last value wins.
 *
 * Memory: a field costs its node (24 header bytes plus field and value,
 * rounded up to the arena size class) and one or two bucket pointers.
 * There is no compact encoding for small hashes (Redis listpack): a
 * one-field hash is the entry, a 4-pointer bucket array and one node.
 *
 * Long operations: growing the bucket array rehashes every node, and
 * HGETALL/HKEYS/HVALS copy every field, each in one lock hold (O(n), with
 * interrupts held off by the LWLock), as one Redis command would; growth
 * is amortised O(1) per added field.
 *
 * Order: HGETALL/HKEYS/HVALS return fields in bucket order, which depends
 * on the seed and on the history of the table: it is unspecified, as in
 * Redis.
 *
 * TTL: no hash write replaces the key's entry, so its TTL is kept.
 *
 * Locking: each operation holds its key's partition lock for its duration,
 * shared for reads and exclusive for writes (see kv_dict.c).  Reads copy
 * what they return into palloc'd memory under the lock and build tuples
 * after releasing it.
 *
 * kvcache/kv_hash.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "common/int.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/tuplestore.h"

#include "kvcache.h"
#include "kv_hash.h"

#define KV_HASH_MIN_BUCKETS		4
#define KV_HASH_SEED_MIX		UINT64CONST(0x9E3779B97F4A7C15)

/* One field and its value; one arena chunk */
typedef struct KvHashNode
{
	struct KvHashNode *next;	/* bucket chain */
	uint32		hash;			/* field hash */
	uint32		flen;			/* field bytes */
	uint32		vlen;			/* value bytes */
	uint32		vcap;			/* value bytes the chunk has room for */
	char		data[FLEXIBLE_ARRAY_MEMBER];	/* field, then value */
} KvHashNode;

#define KV_HASH_NODE_SIZE(flen, vcap) \
	(offsetof(KvHashNode, data) + (Size) (flen) + (Size) (vcap))
#define KV_HASH_NODE_VALUE(n)	((n)->data + (n)->flen)

/* The entry payload of a hash key */
typedef struct KvHash
{
	KvHashNode **buckets;		/* arena chunk of nbuckets chain heads */
	uint64		nbuckets;		/* power of two */
	uint64		count;			/* fields */
} KvHash;

/* Per-pair working state of a write */
typedef struct KvHashWork
{
	const KvHashPair *pair;
	uint32		hash;
	bool		dup;			/* a later pair has the same field: skip */
	KvHashNode *old;			/* the field's current node, or NULL */
	KvHashNode *fresh;			/* new node for it, or NULL: write in place */
} KvHashWork;

/* ----------------------------------------------------------------
 * The per-key hash table
 * ----------------------------------------------------------------
 */

/* Hash of a field's bytes */
static inline uint32
kv_hash_field_hash(const char *field, uint32 flen)
{
	return (uint32) hash_bytes_extended((const unsigned char *) field, (int) flen,
										KvShared->seed ^ KV_HASH_SEED_MIX);
}

/* Does node hold field? */
static inline bool
kv_hash_node_is(KvHashNode *node, const char *field, uint32 flen, uint32 hash)
{
	return node->hash == hash && node->flen == flen &&
		memcmp(node->data, field, flen) == 0;
}

/* The node of field in h, or NULL */
static KvHashNode *
kv_hash_find(KvHash *h, const char *field, uint32 flen, uint32 hash)
{
	KvHashNode *node;

	for (node = h->buckets[hash & (h->nbuckets - 1)]; node; node = node->next)
	{
		if (kv_hash_node_is(node, field, flen, hash))
			return node;
	}
	return NULL;
}

/* The link (bucket head or next field) that points at node, which is in h */
static KvHashNode **
kv_hash_link_of(KvHash *h, KvHashNode *node)
{
	KvHashNode **link = &h->buckets[node->hash & (h->nbuckets - 1)];

	while (*link != node)
	{
		Assert(*link != NULL);
		link = &(*link)->next;
	}
	return link;
}

/* Bucket count for n fields: the smallest power of two >= n, at least the minimum */
static uint64
kv_hash_buckets_for(uint64 n)
{
	uint64		nb = KV_HASH_MIN_BUCKETS;

	while (nb < n)
		nb <<= 1;
	return nb;
}

/*
 * Move every node of h into the new bucket array nb (newn heads, not yet
 * initialised) and free the old array, if any (a hash being created has
 * none).  Cannot fail.
 */
static void
kv_hash_rehash(KvHash *h, KvHashNode **nb, uint64 newn)
{
	uint64		i;

	memset(nb, 0, newn * sizeof(KvHashNode *));
	for (i = 0; i < h->nbuckets; i++)
	{
		KvHashNode *node = h->buckets[i];

		while (node)
		{
			KvHashNode *next = node->next;
			KvHashNode **head = &nb[node->hash & (newn - 1)];

			node->next = *head;
			*head = node;
			node = next;
		}
	}
	if (h->buckets)
		KvFree(h->buckets);
	h->buckets = nb;
	h->nbuckets = newn;
}

/* Give back a mostly empty bucket array; best effort, never evicts */
static void
kv_hash_maybe_shrink(KvHash *h)
{
	uint64		newn;
	KvHashNode **nb;

	if (h->nbuckets <= KV_HASH_MIN_BUCKETS || h->count * 8 >= h->nbuckets)
		return;
	newn = kv_hash_buckets_for(h->count * 2);
	nb = KvArenaAlloc(newn * sizeof(KvHashNode *));
	if (nb)
		kv_hash_rehash(h, nb, newn);
}

/* Can a value of vlen bytes replace node's value in place? */
static inline bool
kv_hash_fits(KvHashNode *node, uint32 vlen)
{
	return vlen <= node->vcap && (Size) node->vcap <= 2 * (Size) vlen + 16;
}

/* Free the nodes and bucket array of a hash entry (kv_dict.c calls it) */
void
KvHashFreeContents(KvEntry *entry)
{
	KvHash	   *h = (KvHash *) KV_ENTRY_VALUE(entry);
	uint64		i;

	if (h->buckets == NULL)
		return;
	for (i = 0; i < h->nbuckets; i++)
	{
		KvHashNode *node = h->buckets[i];

		while (node)
		{
			KvHashNode *next = node->next;

			KvFree(node);
			node = next;
		}
	}
	KvFree(h->buckets);
}

/*
 * Copy the fields of hash src into dst, a new entry (kv_dict.c's
 * KvEntryCopy; caller holds the partition exclusive).  False if memory ran
 * out, with dst holding what was copied so far (freeable).
 */
bool
KvHashCopyContents(KvEntry *dst, KvEntry *src, KvKey *key)
{
	KvHash	   *s = (KvHash *) KV_ENTRY_VALUE(src);
	KvHash	   *d = (KvHash *) KV_ENTRY_VALUE(dst);
	uint64		i;

	d->nbuckets = 0;
	d->count = 0;
	d->buckets = KvAlloc(s->nbuckets * sizeof(KvHashNode *), key, src);
	if (d->buckets == NULL)
		return false;
	memset(d->buckets, 0, s->nbuckets * sizeof(KvHashNode *));
	d->nbuckets = s->nbuckets;
	for (i = 0; i < s->nbuckets; i++)
	{
		KvHashNode *node;

		for (node = s->buckets[i]; node; node = node->next)
		{
			Size		size = KV_HASH_NODE_SIZE(node->flen, node->vcap);
			KvHashNode *copy = KvAlloc(size, key, src);

			if (copy == NULL)
				return false;
			memcpy(copy, node, size);
			copy->next = d->buckets[i];
			d->buckets[i] = copy;
			d->count++;
		}
	}
	return true;
}

/*
 * Write the pairs of w[0..n-1] (except duplicates) into the hash at key,
 * whose live entry is e (NULL: create the key).  Caller holds the partition
 * exclusive.  Everything is allocated before the first change; on a
 * shortage all of it is freed and 53200 raised with nothing changed.
 * Returns the number of fields that did not exist before.
 */
static int64
kv_hash_write(KvKey *key, KvEntry *e, KvHashWork *w, int n)
{
	KvHash	   *h = e ? (KvHash *) KV_ENTRY_VALUE(e) : NULL;
	KvEntry    *created = NULL;
	KvEntry    *owner;
	KvHashNode **nb = NULL;
	uint64		newn = 0;
	uint64		nnew = 0;
	Size		failed = 0;
	int			i;

	/* which fields exist already */
	for (i = 0; i < n; i++)
	{
		w[i].old = NULL;
		w[i].fresh = NULL;
		if (w[i].dup)
			continue;
		if (h)
			w[i].old = kv_hash_find(h, w[i].pair->field, w[i].pair->flen, w[i].hash);
		if (w[i].old == NULL)
			nnew++;
	}

	/* allocate the entry, a larger bucket array and the new nodes */
	if (e == NULL)
	{
		Assert(nnew > 0);
		created = KvEntryCreate(key, KV_TYPE_HASH, sizeof(KvHash), NULL);
	}
	owner = e ? e : created;
	if (h == NULL || h->count + nnew > h->nbuckets)
	{
		newn = kv_hash_buckets_for((h ? h->count : 0) + nnew);
		nb = KvAlloc(newn * sizeof(KvHashNode *), key, owner);
		/* an existing hash keeps its array if this fails; a new one cannot */
		if (nb == NULL && h == NULL)
			failed = newn * sizeof(KvHashNode *);
	}
	for (i = 0; i < n && failed == 0; i++)
	{
		const KvHashPair *p = w[i].pair;
		Size		size;

		if (w[i].dup || (w[i].old && kv_hash_fits(w[i].old, p->vlen)))
			continue;
		size = KV_HASH_NODE_SIZE(p->flen, p->vlen);
		w[i].fresh = KvAlloc(size, key, owner);
		if (w[i].fresh == NULL)
			failed = size;
	}
	if (failed)
	{
		for (i = 0; i < n; i++)
		{
			if (w[i].fresh)
				KvFree(w[i].fresh);
		}
		if (nb)
			KvFree(nb);
		if (created)
			KvFree(created);
		KvOutOfMemory(failed);
	}

	/* apply; nothing from here on can fail */
	if (created)
	{
		h = (KvHash *) KV_ENTRY_VALUE(created);
		h->buckets = NULL;
		h->nbuckets = 0;
		h->count = 0;
	}
	if (nb)
		kv_hash_rehash(h, nb, newn);
	for (i = 0; i < n; i++)
	{
		const KvHashPair *p = w[i].pair;
		KvHashNode *node = w[i].fresh;

		if (w[i].dup)
			continue;
		if (node == NULL)
		{
			/* same field, value fits the old node */
			memcpy(KV_HASH_NODE_VALUE(w[i].old), p->value, p->vlen);
			w[i].old->vlen = p->vlen;
			continue;
		}
		node->hash = w[i].hash;
		node->flen = p->flen;
		node->vlen = p->vlen;
		node->vcap = p->vlen;
		memcpy(node->data, p->field, p->flen);
		memcpy(KV_HASH_NODE_VALUE(node), p->value, p->vlen);
		if (w[i].old)
		{
			KvHashNode **link = kv_hash_link_of(h, w[i].old);

			node->next = w[i].old->next;
			*link = node;
			KvFree(w[i].old);
		}
		else
		{
			KvHashNode **head = &h->buckets[w[i].hash & (h->nbuckets - 1)];

			node->next = *head;
			*head = node;
			h->count++;
		}
	}
	if (created)
		KvEntryLink(key, created, NULL);
	return (int64) nnew;
}

/* ----------------------------------------------------------------
 * C API
 * ----------------------------------------------------------------
 */

/*
 * Raise 54000 for a field or value over the documented limit, or a field
 * node that no arena could hold; vlen < 0 checks just a field.
 */
static void
kv_hash_check_size(Size flen, int64 vlen)
{
	if (flen > KV_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hash field is too long"),
				 errdetail("The field is %zu bytes; the limit is %d bytes.",
						   flen, KV_MAX_VALUE_BYTES)));
	if (vlen > KV_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("hash value is too long"),
				 errdetail("The value is %lld bytes; the limit is %d bytes.",
						   (long long) vlen, KV_MAX_VALUE_BYTES)));
	KvCheckChunkFits(KV_HASH_NODE_SIZE(flen, Max(vlen, 0)));
}

/* Allocate an array that may pass MaxAllocSize for a very large call */
static void *
kv_hash_palloc_huge(Size size)
{
	return palloc_extended(Max(size, 1), MCXT_ALLOC_HUGE);
}

/* Mark each pair whose field appears again later in w: the last one wins */
static void
kv_hash_mark_duplicates(KvHashWork *w, int n)
{
	uint64		size = kv_hash_buckets_for((uint64) n);
	int		   *heads = kv_hash_palloc_huge(size * sizeof(int));
	int		   *next = kv_hash_palloc_huge((Size) n * sizeof(int));
	int			i;

	memset(heads, -1, size * sizeof(int));
	for (i = n - 1; i >= 0; i--)
	{
		const KvHashPair *p = w[i].pair;
		uint64		b = w[i].hash & (size - 1);
		int			j;

		CHECK_FOR_INTERRUPTS();
		for (j = heads[b]; j >= 0; j = next[j])
		{
			if (w[j].hash == w[i].hash && w[j].pair->flen == p->flen &&
				memcmp(w[j].pair->field, p->field, p->flen) == 0)
				break;
		}
		if (j >= 0)
			w[i].dup = true;
		else
		{
			next[i] = heads[b];
			heads[b] = i;
		}
	}
	pfree(heads);
	pfree(next);
}

/*
 * HSET key field value [field value ...]: set n pairs, all or nothing.
 * Returns the number of new fields.  Keeps the TTL.
 */
int64
KvHashSet(KvKey *key, const KvHashPair *pairs, int n)
{
	KvHashWork *w;
	KvEntry    *e;
	int64		added;
	int			i;

	if (n == 0)
		return 0;
	w = kv_hash_palloc_huge((Size) n * sizeof(KvHashWork));
	for (i = 0; i < n; i++)
	{
		kv_hash_check_size(pairs[i].flen, pairs[i].vlen);
		w[i].pair = &pairs[i];
		w[i].hash = kv_hash_field_hash(pairs[i].field, pairs[i].flen);
		w[i].dup = false;
	}
	if (n > 1)
		kv_hash_mark_duplicates(w, n);

	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_HASH, true, false);
	added = kv_hash_write(key, e, w, n);
	KvUnlockPartition(key);
	pfree(w);
	return added;
}

/* A palloc'd text copy of a node's value */
static text *
kv_hash_value_text(KvHashNode *node)
{
	return cstring_to_text_with_len(KV_HASH_NODE_VALUE(node), node->vlen);
}

/* HGET key field: the value as palloc'd text, or NULL */
text *
KvHashGet(KvKey *key, const char *field, uint32 flen)
{
	uint32		hash = kv_hash_field_hash(field, flen);
	KvEntry    *e;
	text	   *result = NULL;

	if (key->dbslot < 0)
		return NULL;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_HASH, false, true);
	if (e)
	{
		KvHashNode *node = kv_hash_find((KvHash *) KV_ENTRY_VALUE(e), field, flen, hash);

		if (node)
			result = kv_hash_value_text(node);
	}
	KvUnlockPartition(key);
	return result;
}

/*
 * HMGET key field ...: values[i] is the value of fields[i] as palloc'd
 * text, or NULL if missing (or if fields[i].field is NULL).
 */
void
KvHashMget(KvKey *key, const KvHashPair *fields, int n, text **values)
{
	uint32	   *hashes = kv_hash_palloc_huge((Size) n * sizeof(uint32));
	KvEntry    *e;
	int			i;

	for (i = 0; i < n; i++)
	{
		values[i] = NULL;
		if (fields[i].field)
			hashes[i] = kv_hash_field_hash(fields[i].field, fields[i].flen);
	}
	if (key->dbslot >= 0)
	{
		KvLockPartition(key, LW_SHARED);
		e = KvLookupTyped(key, KV_TYPE_HASH, false, true);
		for (i = 0; e && i < n; i++)
		{
			KvHashNode *node;

			if (fields[i].field == NULL)
				continue;
			node = kv_hash_find((KvHash *) KV_ENTRY_VALUE(e),
								fields[i].field, fields[i].flen, hashes[i]);
			if (node)
				values[i] = kv_hash_value_text(node);
		}
		KvUnlockPartition(key);
	}
	pfree(hashes);
}

/*
 * HDEL key field ...: remove the fields; returns how many existed.
 * Removing the last field deletes the key.
 */
int64
KvHashDel(KvKey *key, const KvHashPair *fields, int n)
{
	uint32	   *hashes;
	KvEntry    *e;
	int64		deleted = 0;
	int			i;

	if (key->dbslot < 0)
		return 0;
	hashes = kv_hash_palloc_huge((Size) n * sizeof(uint32));
	for (i = 0; i < n; i++)
		hashes[i] = kv_hash_field_hash(fields[i].field, fields[i].flen);

	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_HASH, true, false);
	if (e)
	{
		KvHash	   *h = (KvHash *) KV_ENTRY_VALUE(e);

		for (i = 0; i < n; i++)
		{
			KvHashNode *node = kv_hash_find(h, fields[i].field, fields[i].flen,
											hashes[i]);

			if (node)
			{
				*kv_hash_link_of(h, node) = node->next;
				KvFree(node);
				h->count--;
				deleted++;
			}
		}
		if (h->count == 0)
			KvEntryDelete(key, e);
		else
			kv_hash_maybe_shrink(h);
	}
	KvUnlockPartition(key);
	pfree(hashes);
	return deleted;
}

/*
 * HGETALL / HKEYS / HVALS: copy the fields and/or values of key into
 * palloc'd arrays of text (in bucket order, which is unspecified).  Returns
 * the number of fields; the arrays not asked for are left NULL.
 */
int64
KvHashGetAll(KvKey *key, bool want_fields, bool want_values,
			 text ***fields, text ***values)
{
	KvEntry    *e;
	int64		n = 0;

	*fields = NULL;
	*values = NULL;
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_HASH, false, true);
	if (e)
	{
		KvHash	   *h = (KvHash *) KV_ENTRY_VALUE(e);
		uint64		b;

		if (want_fields)
			*fields = kv_hash_palloc_huge(h->count * sizeof(text *));
		if (want_values)
			*values = kv_hash_palloc_huge(h->count * sizeof(text *));
		for (b = 0; b < h->nbuckets; b++)
		{
			KvHashNode *node;

			for (node = h->buckets[b]; node; node = node->next)
			{
				if (want_fields)
					(*fields)[n] = cstring_to_text_with_len(node->data, node->flen);
				if (want_values)
					(*values)[n] = kv_hash_value_text(node);
				n++;
			}
		}
		Assert((uint64) n == h->count);
	}
	KvUnlockPartition(key);
	return n;
}

/* HLEN key: number of fields, 0 if missing */
int64
KvHashLen(KvKey *key)
{
	KvEntry    *e;
	int64		n = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_HASH, false, true);
	if (e)
		n = (int64) ((KvHash *) KV_ENTRY_VALUE(e))->count;
	KvUnlockPartition(key);
	return n;
}

/* HEXISTS key field */
bool
KvHashExists(KvKey *key, const char *field, uint32 flen)
{
	uint32		hash = kv_hash_field_hash(field, flen);
	KvEntry    *e;
	bool		found = false;

	if (key->dbslot < 0)
		return false;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_HASH, false, true);
	if (e)
		found = kv_hash_find((KvHash *) KV_ENTRY_VALUE(e), field, flen, hash) != NULL;
	KvUnlockPartition(key);
	return found;
}

/*
 * Set up a one-pair write of field = value for kv_hash_write; caller
 * fills in pair->value and pair->vlen before the write.
 */
static void
kv_hash_one_pair(KvHashWork *w, KvHashPair *pair, const char *field, uint32 flen)
{
	pair->field = field;
	pair->flen = flen;
	pair->value = NULL;
	pair->vlen = 0;
	w->pair = pair;
	w->hash = kv_hash_field_hash(field, flen);
	w->dup = false;
}

/*
 * HINCRBY key field delta: the stored value must be a strict 64-bit
 * integer (a missing field counts as 0).  Returns the new value; on error
 * nothing changes.
 */
int64
KvHashIncrBy(KvKey *key, const char *field, uint32 flen, int64 delta)
{
	KvHashPair	pair;
	KvHashWork	w;
	KvEntry    *e;
	KvHashNode *node = NULL;
	int64		cur = 0;
	int64		result;
	char		buf[MAXINT8LEN + 1];

	kv_hash_check_size(flen, -1);
	kv_hash_one_pair(&w, &pair, field, flen);
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_HASH, true, false);
	if (e)
		node = kv_hash_find((KvHash *) KV_ENTRY_VALUE(e), field, flen, w.hash);
	if (node && !KvParseInt64(KV_HASH_NODE_VALUE(node), node->vlen, &cur))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("hash value is not an integer")));
	if (pg_add_s64_overflow(cur, delta, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment or decrement would overflow")));
	pair.value = buf;
	pair.vlen = pg_lltoa(result, buf);
	kv_hash_write(key, e, &w, 1);
	KvUnlockPartition(key);
	return result;
}

/*
 * HINCRBYFLOAT key field delta: long double arithmetic, the increment taken
 * as its shortest round-trip decimal (so 10.5 + 0.1 stores "10.6" as in
 * Redis).  A NaN or infinite increment or result is an error and changes
 * nothing (the key is not created).
 */
double
KvHashIncrByFloat(KvKey *key, const char *field, uint32 flen, double delta)
{
	KvHashPair	pair;
	KvHashWork	w;
	KvEntry    *e;
	KvHashNode *node = NULL;
	long double cur = 0;
	long double result;
	char		buf[KV_LONG_DOUBLE_BUFSIZE];

	if (isnan(delta) || isinf(delta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment would produce NaN or Infinity")));
	kv_hash_check_size(flen, -1);
	kv_hash_one_pair(&w, &pair, field, flen);
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_HASH, true, false);
	if (e)
		node = kv_hash_find((KvHash *) KV_ENTRY_VALUE(e), field, flen, w.hash);
	if (node && !KvParseLongDouble(KV_HASH_NODE_VALUE(node), node->vlen, &cur))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("hash value is not a float")));
	if (!KvLongDoubleAdd(cur, delta, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment would produce NaN or Infinity")));
	pair.value = buf;
	pair.vlen = KvFormatLongDouble(result, buf, sizeof(buf));
	kv_hash_write(key, e, &w, 1);
	KvUnlockPartition(key);
	return (double) result;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_hset);
PG_FUNCTION_INFO_V1(kv_hset_array);
PG_FUNCTION_INFO_V1(kv_hget);
PG_FUNCTION_INFO_V1(kv_hmget);
PG_FUNCTION_INFO_V1(kv_hdel);
PG_FUNCTION_INFO_V1(kv_hgetall);
PG_FUNCTION_INFO_V1(kv_hkeys);
PG_FUNCTION_INFO_V1(kv_hvals);
PG_FUNCTION_INFO_V1(kv_hlen);
PG_FUNCTION_INFO_V1(kv_hexists);
PG_FUNCTION_INFO_V1(kv_hincrby);
PG_FUNCTION_INFO_V1(kv_hincrbyfloat);

/* Raise 22004 for a NULL argument or element named what */
static void
kv_hash_null_error(const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("argument \"%s\" must not be null", what)));
}

/*
 * Deconstruct a text[] into *n pairs whose field (or, with as_values, value)
 * points into the detoasted elements.  A NULL element raises 22004 naming
 * what, or with allow_null leaves the pointer NULL.  pairs may be given to
 * fill in the other half of existing pairs.
 */
static KvHashPair *
kv_hash_from_array(ArrayType *arr, KvHashPair *pairs, int *n, bool as_values,
				   bool allow_null, const char *what)
{
	Datum	   *d;
	bool	   *nulls;
	int			i;

	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, n);
	if (pairs == NULL)
		pairs = kv_hash_palloc_huge((Size) *n * sizeof(KvHashPair));
	for (i = 0; i < *n; i++)
	{
		const char *data = NULL;
		uint32		len = 0;

		if (nulls[i])
		{
			if (!allow_null)
				kv_hash_null_error(what);
		}
		else
		{
			text	   *t = (text *) PG_DETOAST_DATUM_PACKED(d[i]);

			data = VARDATA_ANY(t);
			len = VARSIZE_ANY_EXHDR(t);
		}
		if (as_values)
		{
			pairs[i].value = data;
			pairs[i].vlen = len;
		}
		else
		{
			pairs[i].field = data;
			pairs[i].flen = len;
		}
	}
	return pairs;
}

/* kv.hset(key text, field text, value text) -> bigint */
Datum
kv_hset(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvHashPair	pair;
	text	   *field;
	text	   *value;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_hash_null_error("field");
	if (PG_ARGISNULL(2))
		kv_hash_null_error("value");
	field = PG_GETARG_TEXT_PP(1);
	value = PG_GETARG_TEXT_PP(2);
	pair.field = VARDATA_ANY(field);
	pair.flen = VARSIZE_ANY_EXHDR(field);
	pair.value = VARDATA_ANY(value);
	pair.vlen = VARSIZE_ANY_EXHDR(value);
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvHashSet(&key, &pair, 1));
}

/*
 * kv.hset(key text, fields text[], vals text[]) -> bigint.  Every pair is
 * validated before anything changes; the last of duplicate fields wins.
 */
Datum
kv_hset_array(PG_FUNCTION_ARGS)
{
	KvKey		key;
	ArrayType  *fa;
	ArrayType  *va;
	KvHashPair *pairs;
	int			nf;
	int			nv;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_hash_null_error("fields");
	if (PG_ARGISNULL(2))
		kv_hash_null_error("vals");
	fa = PG_GETARG_ARRAYTYPE_P(1);
	va = PG_GETARG_ARRAYTYPE_P(2);
	if (ArrayGetNItems(ARR_NDIM(fa), ARR_DIMS(fa)) !=
		ArrayGetNItems(ARR_NDIM(va), ARR_DIMS(va)))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("fields and vals must have the same number of elements")));
	pairs = kv_hash_from_array(fa, NULL, &nf, false, false, "field");
	kv_hash_from_array(va, pairs, &nv, true, false, "value");
	Assert(nf == nv);
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvHashSet(&key, pairs, nf));
}

/* kv.hget(key text, field text) -> text */
Datum
kv_hget(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *field = PG_GETARG_TEXT_PP(1);
	text	   *v;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	v = KvHashGet(&key, VARDATA_ANY(field), VARSIZE_ANY_EXHDR(field));
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(v);
}

/* kv.hmget(key text, fields text[]) -> text[], NULL for missing fields */
Datum
kv_hmget(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvHashPair *fields;
	text	  **values;
	Datum	   *out;
	bool	   *outnull;
	int			n;
	int			i;
	int			dims[1];
	int			lbs[1] = {1};

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	fields = kv_hash_from_array(PG_GETARG_ARRAYTYPE_P(1), NULL, &n, false, true, "field");
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	values = palloc(sizeof(text *) * n);
	KvHashMget(&key, fields, n, values);
	out = palloc(sizeof(Datum) * n);
	outnull = palloc(sizeof(bool) * n);
	for (i = 0; i < n; i++)
	{
		out[i] = PointerGetDatum(values[i]);
		outnull[i] = (values[i] == NULL);
	}
	dims[0] = n;
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, outnull, 1, dims, lbs,
											 TEXTOID, -1, false, TYPALIGN_INT));
}

/* kv.hdel(key text, VARIADIC fields text[]) -> bigint */
Datum
kv_hdel(PG_FUNCTION_ARGS)
{
	KvKey		key;
	KvHashPair *fields;
	int			n;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_hash_null_error("fields");
	fields = kv_hash_from_array(PG_GETARG_ARRAYTYPE_P(1), NULL, &n, false, false, "field");
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvHashDel(&key, fields, n));
}

/* Shared body of kv.hgetall, kv.hkeys and kv.hvals */
static Datum
kv_hash_emit(FunctionCallInfo fcinfo, bool want_fields, bool want_values)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	KvKey		key;
	text	  **fields;
	text	  **values;
	int64		n;
	int64		i;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	n = KvHashGetAll(&key, want_fields, want_values, &fields, &values);
	for (i = 0; i < n; i++)
	{
		Datum		row[2];
		bool		nulls[2] = {false, false};
		int			col = 0;

		CHECK_FOR_INTERRUPTS();
		if (want_fields)
			row[col++] = PointerGetDatum(fields[i]);
		if (want_values)
			row[col++] = PointerGetDatum(values[i]);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, row, nulls);
	}
	PG_RETURN_NULL();
}

/* kv.hgetall(key text) -> TABLE(field text, value text), unspecified order */
Datum
kv_hgetall(PG_FUNCTION_ARGS)
{
	return kv_hash_emit(fcinfo, true, true);
}

/* kv.hkeys(key text) -> SETOF text, unspecified order */
Datum
kv_hkeys(PG_FUNCTION_ARGS)
{
	return kv_hash_emit(fcinfo, true, false);
}

/* kv.hvals(key text) -> SETOF text, unspecified order */
Datum
kv_hvals(PG_FUNCTION_ARGS)
{
	return kv_hash_emit(fcinfo, false, true);
}

/* kv.hlen(key text) -> bigint */
Datum
kv_hlen(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvHashLen(&key));
}

/* kv.hexists(key text, field text) -> boolean */
Datum
kv_hexists(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *field = PG_GETARG_TEXT_PP(1);

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_BOOL(KvHashExists(&key, VARDATA_ANY(field), VARSIZE_ANY_EXHDR(field)));
}

/* kv.hincrby(key text, field text, increment bigint) -> bigint */
Datum
kv_hincrby(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *field;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_hash_null_error("field");
	if (PG_ARGISNULL(2))
		kv_hash_null_error("increment");
	field = PG_GETARG_TEXT_PP(1);
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvHashIncrBy(&key, VARDATA_ANY(field), VARSIZE_ANY_EXHDR(field),
								 PG_GETARG_INT64(2)));
}

/* kv.hincrbyfloat(key text, field text, increment float8) -> float8 */
Datum
kv_hincrbyfloat(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *field;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_hash_null_error("field");
	if (PG_ARGISNULL(2))
		kv_hash_null_error("increment");
	field = PG_GETARG_TEXT_PP(1);
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_FLOAT8(KvHashIncrByFloat(&key, VARDATA_ANY(field), VARSIZE_ANY_EXHDR(field),
									   PG_GETARG_FLOAT8(2)));
}
