/*-------------------------------------------------------------------------
 *
 * kv_blocking.c
 *	  Blocking pops (BLPOP/BRPOP): the shared waiter table, first come
 *	  first served delivery, and the SQL functions.
 *
 * Design.  A PostgreSQL 15 backend can be prepared to sleep on only one
 * condition variable at a time, but a blocking pop waits on several keys.
 * So each backend that blocks registers in a shared waiter table, in the
 * slot of its process number, and sleeps on the condition variable of its
 * own slot.  A registration records the database slot, a 64-bit tag (hash)
 * of each key waited on, and an arrival sequence number.
 *
 * Delivery.  Waiters pop for themselves; nothing is handed over.  A
 * registered waiter examines its keys in order and pops from the first
 * one that has an element, skipping every key on which an OLDER waiter is
 * still registered: that waiter has the first claim on the key's
 * elements.  Since every popper takes its element under the key's
 * partition lock, an element goes to exactly one caller.
 *
 * Wake-ups.  After a push has linked its elements and released the
 * partition lock, it signals the oldest waiter registered on the key (one
 * atomic read and nothing more when nobody waits at all).  When a waiter
 * leaves the table, for whatever reason (it popped, timed out, failed or
 * was cancelled), it signals, for each of its keys, the oldest waiter that
 * remains registered on it; that waiter now has the first claim and
 * re-examines the key.  So elements flow down the queue of waiters of a
 * key in arrival order, one hand-over per element, and a wake-up is never
 * lost:
 *	  - a waiter prepares to sleep on its condition variable before it
 *		registers, and registers before its first look at the keys, so a
 *		signal sent at any time after registration ends its next sleep;
 *	  - a pusher reads the waiter count after releasing the partition lock
 *		under which it pushed, and a waiter registers before taking the
 *		same lock to look at the key: either the waiter sees the element
 *		or the pusher sees the registration (the LWLock operations order
 *		the memory accesses).
 * Wake-ups are hints: every waiter re-examines its keys after each one.
 * Two different keys with the same 64-bit tag would only make a waiter
 * defer to an older waiter on the other key until that one leaves.  A
 * registration holds at most KV_BLOCK_MAX_KEYS tags, which bounds the
 * number of keys one blocking pop may wait on.
 *
 * Non-blocking pops (kv.lpop/kv.rpop) do not consult the table, so one
 * may take an element between a push and the wake-up of the waiter it
 * signalled; that waiter then waits for the next element.  (Redis serves
 * blocked clients as part of the push, before any other command runs.)
 * A blocking pop that finds no waiter registered at all first tries its
 * keys without registering (the common, uncontended case).
 *
 * Cancellation.  The sleep checks for interrupts, so query cancel and
 * statement_timeout end it with an ERROR; the PG_FINALLY block leaves the
 * table, and a before_shmem_exit callback covers a FATAL exit, so an
 * aborted waiter never stays registered.
 *
 * Locking.  The table has its own LWLock: shared to look for waiters,
 * exclusive to register and leave.  It nests inside partition locks (a
 * waiter may leave after an error raised under one), never the other way
 * round, and no ereport happens while it is held.  No lock is held while
 * sleeping.
 *
 * Timeouts are measured against a deadline fixed at the start; each sleep
 * is at most an hour (WaitLatch takes an int timeout) and the deadline is
 * re-checked after every wake-up.
 *
 * kvcache/kv_blocking.c
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
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/wait_event.h"

#include "kv_list.h"

#define KV_BLOCK_TRANCHE		"kvcache blocking pops"
#define KV_BLOCK_MAX_SLEEP_MS	(3600 * 1000)
#define KV_BLOCK_MAX_TIMEOUT	1e9 /* seconds, about 31 years */
#define KV_BLOCK_TAG_SEED		UINT64CONST(0x6b76626c6f636b31)

/* One slot of the waiter table; slot i belongs to process number i */
typedef struct KvBlockWaiter
{
	ConditionVariable cv;		/* the owner sleeps here; others signal it */
	uint64		seq;			/* arrival order; 0 while not registered */
	int			dbslot;
	int			nkeys;
	uint64		tags[KV_BLOCK_MAX_KEYS];
} KvBlockWaiter;

/* The waiter table, in kvcache's shared memory */
typedef struct KvBlockState
{
	LWLock	   *lock;			/* protects everything below but nwaiters */
	pg_atomic_uint32 nwaiters;	/* == nactive; read by pushers without lock */
	uint64		next_seq;
	int			nslots;
	int			nactive;
	int		   *active;			/* slot numbers of registered waiters */
	KvBlockWaiter *slots;
} KvBlockState;

static KvBlockState *KvBlock = NULL;

/* the slot this backend is registered in, or NULL */
static KvBlockWaiter *kv_block_me = NULL;
static bool kv_block_exit_hook = false;

/*
 * Slots in the table: one per process number.  Process numbers of backends
 * are 1-based backend IDs before PostgreSQL 17 and 0-based after, hence
 * the one extra slot.
 */
static int
kv_block_nslots(void)
{
	return MaxBackends + 1;
}

/* Shared memory for the waiter table */
static Size
kv_block_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(KvBlockState));

	size = add_size(size, MAXALIGN(mul_size(sizeof(int), kv_block_nslots())));
	size = add_size(size, mul_size(sizeof(KvBlockWaiter), kv_block_nslots()));
	return size;
}

/* Request the table's memory and lock (from the shmem request hook) */
void
KvBlockShmemRequest(void)
{
	RequestAddinShmemSpace(kv_block_shmem_size());
	RequestNamedLWLockTranche(KV_BLOCK_TRANCHE, 1);
}

/* Create or attach to the table (shmem startup, AddinShmemInitLock held) */
void
KvBlockShmemInit(void)
{
	bool		found;
	char	   *base;
	int			i;

	base = ShmemInitStruct("kvcache blocking pops", kv_block_shmem_size(), &found);
	KvBlock = (KvBlockState *) base;
	if (found)
		return;
	KvBlock->lock = &(GetNamedLWLockTranche(KV_BLOCK_TRANCHE))->lock;
	pg_atomic_init_u32(&KvBlock->nwaiters, 0);
	KvBlock->next_seq = 0;
	KvBlock->nslots = kv_block_nslots();
	KvBlock->nactive = 0;
	base += MAXALIGN(sizeof(KvBlockState));
	KvBlock->active = (int *) base;
	base += MAXALIGN(sizeof(int) * KvBlock->nslots);
	KvBlock->slots = (KvBlockWaiter *) base;
	for (i = 0; i < KvBlock->nslots; i++)
	{
		ConditionVariableInit(&KvBlock->slots[i].cv);
		KvBlock->slots[i].seq = 0;
		KvBlock->slots[i].nkeys = 0;
	}
}

/* The tag of a key: a 64-bit hash of its bytes (database compared apart) */
static uint64
kv_block_tag(KvKey *key)
{
	return hash_bytes_extended((const unsigned char *) key->data, (int) key->len,
							   KvShared->seed ^ KV_BLOCK_TAG_SEED);
}

/* Does waiter w wait on tag in database dbslot? */
static inline bool
kv_block_waits_on(const KvBlockWaiter *w, int dbslot, uint64 tag)
{
	int			i;

	if (w->dbslot != dbslot)
		return false;
	for (i = 0; i < w->nkeys; i++)
		if (w->tags[i] == tag)
			return true;
	return false;
}

/* The oldest registered waiter on (dbslot, tag), or NULL; lock held */
static KvBlockWaiter *
kv_block_oldest(int dbslot, uint64 tag)
{
	KvBlockWaiter *best = NULL;
	int			i;

	for (i = 0; i < KvBlock->nactive; i++)
	{
		KvBlockWaiter *w = &KvBlock->slots[KvBlock->active[i]];

		if ((best == NULL || w->seq < best->seq) &&
			kv_block_waits_on(w, dbslot, tag))
			best = w;
	}
	return best;
}

/*
 * Wake the oldest backend blocked on key, if any; called by pushers after
 * releasing the key's partition lock.
 */
void
KvBlockNotify(KvKey *key)
{
	KvBlockWaiter *w;
	uint64		tag;

	if (pg_atomic_read_u32(&KvBlock->nwaiters) == 0)
		return;
	tag = kv_block_tag(key);
	LWLockAcquire(KvBlock->lock, LW_SHARED);
	w = kv_block_oldest(key->dbslot, tag);
	LWLockRelease(KvBlock->lock);

	/* slots are never freed, so a late signal at most wakes someone early */
	if (w)
		ConditionVariableSignal(&w->cv);
}

/*
 * Leave the waiter table, if registered, and signal for each of our keys
 * the oldest waiter that remains on it (it now has the first claim).
 * Cannot fail, so it is safe in error cleanup.
 */
static void
kv_block_unregister(void)
{
	KvBlockWaiter *me = kv_block_me;
	KvBlockWaiter *wake[KV_BLOCK_MAX_KEYS];
	int			nwake = 0;
	int			myslot;
	int			i;
	int			k;

	if (me == NULL)
		return;
	myslot = (int) (me - KvBlock->slots);

	LWLockAcquire(KvBlock->lock, LW_EXCLUSIVE);
	for (i = 0; i < KvBlock->nactive; i++)
	{
		if (KvBlock->active[i] == myslot)
		{
			KvBlock->active[i] = KvBlock->active[--KvBlock->nactive];
			break;
		}
	}
	pg_atomic_write_u32(&KvBlock->nwaiters, (uint32) KvBlock->nactive);
	me->seq = 0;
	for (k = 0; k < me->nkeys; k++)
	{
		KvBlockWaiter *w = kv_block_oldest(me->dbslot, me->tags[k]);

		for (i = 0; w && i < nwake; i++)
			if (wake[i] == w)
				w = NULL;
		if (w)
			wake[nwake++] = w;
	}
	LWLockRelease(KvBlock->lock);
	kv_block_me = NULL;

	for (i = 0; i < nwake; i++)
		ConditionVariableSignal(&wake[i]->cv);
}

/* before_shmem_exit callback: never leave a dying backend registered */
static void
kv_block_on_exit(int code, Datum arg)
{
	if (kv_block_me != NULL)
	{
		kv_block_unregister();
		ConditionVariableCancelSleep();
	}
}

/*
 * Register as a waiter on keys (all of this database) and prepare to
 * sleep on our slot's condition variable.
 */
static void
kv_block_register(KvKey *keys, int nkeys)
{
	int			slot = KvMyProcNumber();
	KvBlockWaiter *me;
	uint64		tags[KV_BLOCK_MAX_KEYS];
	int			i;

	if (slot < 0 || slot >= KvBlock->nslots)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("blocking pops are not supported in this process")));
	for (i = 0; i < nkeys; i++)
		tags[i] = kv_block_tag(&keys[i]);
	if (!kv_block_exit_hook)
	{
		before_shmem_exit(kv_block_on_exit, (Datum) 0);
		kv_block_exit_hook = true;
	}

	me = &KvBlock->slots[slot];
	ConditionVariablePrepareToSleep(&me->cv);

	LWLockAcquire(KvBlock->lock, LW_EXCLUSIVE);
	me->seq = ++KvBlock->next_seq;
	me->dbslot = keys[0].dbslot;
	me->nkeys = nkeys;
	memcpy(me->tags, tags, sizeof(uint64) * nkeys);
	KvBlock->active[KvBlock->nactive++] = slot;
	pg_atomic_write_u32(&KvBlock->nwaiters, (uint32) KvBlock->nactive);
	kv_block_me = me;
	LWLockRelease(KvBlock->lock);
}

/*
 * Bit i set: an older waiter is registered on our key i, so we must leave
 * that key's elements to it.
 */
static uint64
kv_block_deferred_keys(void)
{
	KvBlockWaiter *me = kv_block_me;
	uint64		mask = 0;
	int			i;
	int			k;

	LWLockAcquire(KvBlock->lock, LW_SHARED);
	for (i = 0; i < KvBlock->nactive; i++)
	{
		KvBlockWaiter *w = &KvBlock->slots[KvBlock->active[i]];

		if (w->seq >= me->seq)
			continue;
		for (k = 0; k < me->nkeys; k++)
			if (kv_block_waits_on(w, me->dbslot, me->tags[k]))
				mask |= UINT64CONST(1) << k;
	}
	LWLockRelease(KvBlock->lock);
	return mask;
}

/*
 * The wait loop of a registered waiter: look at the keys, sleep, repeat
 * until an element is popped (returns the key's index) or the deadline
 * passes (returns -1; deadline 0 waits forever).
 */
static int
kv_block_wait(KvKey *keys, int nkeys, bool left, TimestampTz deadline,
			  text **out)
{
	bool		first = true;
	int			i;

	for (;;)
	{
		uint64		deferred;

		CHECK_FOR_INTERRUPTS();
		deferred = kv_block_deferred_keys();
		for (i = 0; i < nkeys; i++)
		{
			if (deferred & (UINT64CONST(1) << i))
			{
				/* not ours to take, but a wrong type still errors at once */
				if (first)
					KvListCheckType(&keys[i]);
				continue;
			}
			if (KvListPopOne(&keys[i], left, first, out))
				return i;
		}
		first = false;

		if (deadline == 0)
			ConditionVariableSleep(&kv_block_me->cv, PG_WAIT_EXTENSION);
		else
		{
			TimestampTz now = GetCurrentTimestamp();
			int64		ms;

			if (now >= deadline)
				return -1;
			ms = (deadline - now + 999) / 1000;
			(void) ConditionVariableTimedSleep(&kv_block_me->cv,
											   Min(ms, KV_BLOCK_MAX_SLEEP_MS),
											   PG_WAIT_EXTENSION);
		}
	}
}

/*
 * BLPOP/BRPOP: pop from the first of keys (all initialised with a database
 * slot) that has an element, waiting up to timeout seconds (0: forever)
 * for one.  Returns the index of the key popped from, with the element in
 * *out, or -1 on timeout.  A key of another type raises 42809 on the first
 * look and is treated as empty afterwards, as in Redis.
 */
int
KvBlockingPop(KvKey *keys, int nkeys, bool left, double timeout, text **out)
{
	volatile TimestampTz deadline = 0;
	volatile int found = -1;
	int			i;

	Assert(nkeys > 0 && nkeys <= KV_BLOCK_MAX_KEYS);
	if (timeout > 0)
		deadline = GetCurrentTimestamp() + (TimestampTz) ceil(timeout * USECS_PER_SEC);

	/* nobody waits, so nobody has an older claim: just try */
	if (pg_atomic_read_u32(&KvBlock->nwaiters) == 0)
	{
		for (i = 0; i < nkeys; i++)
			if (KvListPopOne(&keys[i], left, true, out))
				return i;
	}

	kv_block_register(keys, nkeys);
	PG_TRY();
	{
		found = kv_block_wait(keys, nkeys, left, deadline, out);
	}
	PG_FINALLY();
	{
		kv_block_unregister();
		ConditionVariableCancelSleep();
	}
	PG_END_TRY();
	return found;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_blpop);
PG_FUNCTION_INFO_V1(kv_brpop);

/* Shared body of kv.blpop and kv.brpop */
static Datum
kv_bpop_common(FunctionCallInfo fcinfo, bool left)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	ArrayType  *arr;
	Datum	   *d;
	bool	   *nulls;
	int			n;
	int			i;
	double		timeout;
	KvKey	   *keys;
	text	   *value;
	int			which;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("keys must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("timeout must not be null")));
	timeout = PG_GETARG_FLOAT8(1);
	if (isnan(timeout))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be NaN")));
	if (timeout < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout must not be negative")));
	if (timeout > KV_BLOCK_MAX_TIMEOUT)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("timeout is out of range"),
				 errdetail("The timeout must be at most %.0f seconds; 0 waits forever.",
						   KV_BLOCK_MAX_TIMEOUT)));

	arr = PG_GETARG_ARRAYTYPE_P(0);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	if (n == 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keys must not be empty")));
	if (n > KV_BLOCK_MAX_KEYS)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("too many keys for a blocking pop"),
				 errdetail("A blocking pop can wait on at most %d keys.",
						   KV_BLOCK_MAX_KEYS)));
	keys = palloc(sizeof(KvKey) * n);
	for (i = 0; i < n; i++)
	{
		if (nulls[i])
			KvNullKeyError();
		d[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(d[i]));
		KvKeyInitWrite(&keys[i], (text *) DatumGetPointer(d[i]), true, false);
	}

	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	if (kv_txn_nkeys > 0 || KvTxnCollecting())
	{
		/* transactional writes: pop without blocking, as Redis MULTI does */
		which = -1;
		for (i = 0; i < n && which < 0; i++)
		{
			if (KvListPopOne(&keys[i], left, true, &value))
				which = i;
		}
	}
	else
		which = KvBlockingPop(keys, n, left, timeout, &value);
	if (which >= 0)
	{
		Datum		values[2];
		bool		isnull[2] = {false, false};

		values[0] = d[which];
		values[1] = PointerGetDatum(value);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, isnull);
	}
	return (Datum) 0;
}

/* kv.blpop(keys text[], timeout float8) -> TABLE(key text, value text) */
Datum
kv_blpop(PG_FUNCTION_ARGS)
{
	return kv_bpop_common(fcinfo, true);
}

/* kv.brpop(keys text[], timeout float8) -> TABLE(key text, value text) */
Datum
kv_brpop(PG_FUNCTION_ARGS)
{
	return kv_bpop_common(fcinfo, false);
}
