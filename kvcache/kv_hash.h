/*-------------------------------------------------------------------------
 *
 * kv_hash.h
 *	  Hash values (HSET/HGET/HDEL/HINCRBY/...): the C API of kv_hash.c.
 *
 * kvcache/kv_hash.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KV_HASH_H
#define KV_HASH_H

#include "kvcache.h"

/* One field (and, for writes, its value) passed to the hash API */
typedef struct KvHashPair
{
	const char *field;
	uint32		flen;
	const char *value;			/* unused by reads and HDEL */
	uint32		vlen;
} KvHashPair;

/* kv_hash.c */
extern void KvHashFreeContents(KvEntry *entry);
extern bool KvHashCopyContents(KvEntry *dst, KvEntry *src, KvKey *key);
extern int64 KvHashSet(KvKey *key, const KvHashPair *pairs, int n);
extern text *KvHashGet(KvKey *key, const char *field, uint32 flen);
extern void KvHashMget(KvKey *key, const KvHashPair *fields, int n,
					   text **values);
extern int64 KvHashDel(KvKey *key, const KvHashPair *fields, int n);
extern int64 KvHashGetAll(KvKey *key, bool want_fields, bool want_values,
						  text ***fields, text ***values);
extern int64 KvHashLen(KvKey *key);
extern bool KvHashExists(KvKey *key, const char *field, uint32 flen);
extern int64 KvHashIncrBy(KvKey *key, const char *field, uint32 flen,
						  int64 delta);
extern double KvHashIncrByFloat(KvKey *key, const char *field, uint32 flen,
								double delta);

#endif							/* KV_HASH_H */
