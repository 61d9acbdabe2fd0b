/*-------------------------------------------------------------------------
 *
 * kv_front.h
 *	  The cache in front of tables: read-through loading with single-flight
 *	  (kv_loader.c) and invalidation at commit by row triggers, with the
 *	  stale-refill guard (kv_invalidate.c).
 *
 * kvcache/kv_front.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KV_FRONT_H
#define KV_FRONT_H

#include "fmgr.h"
#include "parser/parse_coerce.h"
#include "utils/snapshot.h"

#include "kvcache.h"

/* kvcache.load_wait_timeout in ms (defined with the other GUCs in kv_shmem.c) */
extern int	kv_load_wait_timeout_ms;

/*
 * How to turn a datum of one type into text exactly as "value::text" does:
 * the cast function from pg_cast, a binary-compatible relabelling, or the
 * type's output function.
 */
typedef struct KvTextCast
{
	CoercionPathType path;
	FmgrInfo	fn;				/* cast or output function (not for RELABELTYPE) */
	int			nargs;			/* arguments of the cast function */
} KvTextCast;

/* ----------------------------------------------------------------
 * kv_loader.c: kv.get_or_load and single-flight loading
 * ----------------------------------------------------------------
 */
extern void KvLoaderShmemRequest(void);
extern void KvLoaderShmemInit(void);
extern void KvTextCastInit(KvTextCast *cast, Oid typid, MemoryContext mcxt);
extern text *KvTextCastApply(KvTextCast *cast, Datum value);
extern text *KvGetOrLoad(KvKey *key, text *loader, int64 ttl_ms);

/* ----------------------------------------------------------------
 * kv_invalidate.c: invalidation triggers, the per-transaction queue, and
 * the shared record of recent invalidations
 * ----------------------------------------------------------------
 */
extern void KvInvalShmemRequest(void);
extern void KvInvalShmemInit(void);
extern void KvInvalRegisterCallbacks(void);

/* Has this transaction queued an invalidation of key (not yet committed)? */
extern bool KvInvalPending(KvKey *key);

/*
 * May a value loaded under snapshot be stored for key?  False if an
 * invalidation of key committed that snapshot does not see.  Caller holds
 * the key's partition lock exclusive.
 */
extern bool KvInvalAllowsStore(KvKey *key, Snapshot snapshot);

#endif							/* KV_FRONT_H */
