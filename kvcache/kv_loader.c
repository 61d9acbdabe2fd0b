/*-------------------------------------------------------------------------
 *
 * kv_loader.c
 *	  kv.get_or_load: read-through caching with single-flight loading.
 *
 * A hit returns the cached string, exactly as kv.get does (shared partition
 * lock, one lookup, one copy).  On a miss the loader query runs through SPI
 * in read-only mode with no snapshot of its own, which makes SPI use the
 * caller's active snapshot: the statement's snapshot in READ COMMITTED, the
 * transaction's in REPEATABLE READ and SERIALIZABLE.  The result (at most
 * one row of exactly one column, converted as by ::text) is stored with the
 * ttl and returned.  No row or a NULL value returns NULL and stores nothing
 * (no negative caching).
 *
 * Storing is refused, and the loaded value only returned, when
 *	  - an invalidation of the key committed that the caller's snapshot does
 *		not see (KvInvalAllowsStore; the argument that this closes the
 *		stale-refill race is in kv_invalidate.c);
 *	  - this transaction itself has queued an invalidation of the key (also
 *		while the loader ran): the caller then reads its own uncommitted
 *		rows, which must never reach other sessions.  A call made after the
 *		key was queued bypasses the cache entirely, so a transaction reads
 *		its own writes;
 *	  - the key was filled meanwhile by someone else (the existing value is
 *		kept, as SET NX would), or the value cannot be stored: over 512 MB,
 *		or no memory under the eviction policy.  A read never fails because
 *		the cache is full.
 *
 * Single-flight.  Each backend has a slot in a shared table of loads in
 * progress (indexed by process number).  A backend that misses registers
 * its load there, unless another backend is already loading the same key
 * (same database, same partition and 32-bit hash: a rare false match only
 * costs a wait).  It then waits on that backend's condition variable, up to
 * kvcache.load_wait_timeout, re-reads the cache once the load is finished,
 * and returns the stored value.  If there is none (the loader got no row,
 * its store was refused, it failed, or the key was invalidated meanwhile)
 * or the wait timed out, the waiter runs the loader itself without waiting
 * again.  So concurrent misses whose result gets cached run the loader once.
 *
 * No deadlock.  Nothing is locked while a loader runs, so a loader may call
 * any kv function.  A backend that is running a loader never waits for
 * another backend's load (a nested kv.get_or_load loads directly), so a
 * cycle of waiting loaders cannot form; any other wait (a waiter holding a
 * row lock the loader needs, say) ends after the timeout.  Waits sleep on a
 * condition variable with no LWLock held and are interruptible.
 *
 * Locking.  The load table has one LWLock, taken briefly to register,
 * unregister and look for loads.  It nests inside partition locks and
 * nothing is acquired while holding it.  A miss checks the cache and the
 * load table under the key's partition lock held exclusive, and a loader
 * stores its value and unregisters under the same lock, so a backend that
 * misses either sees the stored value or sees the load still registered.
 * A loader that fails unregisters while unwinding (taking only the load
 * table's lock, since the error may have been raised under a partition
 * lock), and a backend exiting mid-load unregisters in a before_shmem_exit
 * callback; both wake the waiters.
 *
 * kvcache/kv_loader.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "common/int.h"
#include "executor/spi.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/condition_variable.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "tcop/cmdtag.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"
#include "utils/plancache.h"
#include "utils/snapmgr.h"
#include "utils/wait_event.h"

#include "kv_front.h"

#define KV_LOAD_TRANCHE		"kvcache loads"
#define KV_LOAD_MAX_SLEEP_MS	(3600 * 1000)
#define KV_LOAD_CONTEXT_BYTES	64	/* key bytes shown in error context */

/* One slot of the load table; slot i belongs to process number i */
typedef struct KvLoadSlot
{
	ConditionVariable cv;		/* waiters sleep here; the owner broadcasts */
	uint64		generation;		/* bumped at every registration */
	bool		loading;
	Oid			dbid;			/* the key being loaded */
	int			partition;
	uint32		hash;
} KvLoadSlot;

/* The load table, in kvcache's shared memory */
typedef struct KvLoadState
{
	LWLock	   *lock;			/* protects everything below */
	int			nslots;
	int			nactive;
	int		   *active;			/* slot numbers of registered loads */
	KvLoadSlot *slots;
} KvLoadState;

static KvLoadState *KvLoad = NULL;

/* our registered slot, or NULL */
static KvLoadSlot *kv_load_me = NULL;
static bool kv_load_exit_hook = false;

/* loaders of this backend currently running (nesting depth) */
static int	kv_loader_depth = 0;

/* Slots: one per process number (see kv_blocking.c for the extra one) */
static int
kv_load_nslots(void)
{
	return MaxBackends + 1;
}

/* Shared memory for the load table */
static Size
kv_load_shmem_size(void)
{
	Size		size = MAXALIGN(sizeof(KvLoadState));

	size = add_size(size, MAXALIGN(mul_size(sizeof(int), kv_load_nslots())));
	size = add_size(size, mul_size(sizeof(KvLoadSlot), kv_load_nslots()));
	return size;
}

/* Request the table's memory and lock (from the shmem request hook) */
void
KvLoaderShmemRequest(void)
{
	RequestAddinShmemSpace(kv_load_shmem_size());
	RequestNamedLWLockTranche(KV_LOAD_TRANCHE, 1);
}

/* Create or attach to the table (shmem startup, AddinShmemInitLock held) */
void
KvLoaderShmemInit(void)
{
	bool		found;
	char	   *base;
	int			i;

	base = ShmemInitStruct("kvcache loads", kv_load_shmem_size(), &found);
	KvLoad = (KvLoadState *) base;
	if (found)
		return;
	KvLoad->lock = &(GetNamedLWLockTranche(KV_LOAD_TRANCHE))->lock;
	KvLoad->nslots = kv_load_nslots();
	KvLoad->nactive = 0;
	base += MAXALIGN(sizeof(KvLoadState));
	KvLoad->active = (int *) base;
	base += MAXALIGN(sizeof(int) * KvLoad->nslots);
	KvLoad->slots = (KvLoadSlot *) base;
	for (i = 0; i < KvLoad->nslots; i++)
	{
		ConditionVariableInit(&KvLoad->slots[i].cv);
		KvLoad->slots[i].generation = 0;
		KvLoad->slots[i].loading = false;
	}
}

/* The registered load of key by another backend, or -1; table lock held */
static int
kv_load_find(KvKey *key)
{
	int			i;

	for (i = 0; i < KvLoad->nactive; i++)
	{
		KvLoadSlot *s = &KvLoad->slots[KvLoad->active[i]];

		if (s != kv_load_me && s->dbid == MyDatabaseId &&
			s->partition == key->partition && s->hash == key->hash)
			return KvLoad->active[i];
	}
	return -1;
}

/* Register our load of key; table lock held exclusive, slot number valid */
static void
kv_load_register(KvKey *key, int slotno)
{
	KvLoadSlot *me = &KvLoad->slots[slotno];
	int			i;

	me->generation++;
	me->loading = true;
	me->dbid = MyDatabaseId;
	me->partition = key->partition;
	me->hash = key->hash;
	/* never listed twice, even after an error that skipped unregistering */
	for (i = 0; i < KvLoad->nactive; i++)
		if (KvLoad->active[i] == slotno)
			break;
	if (i == KvLoad->nactive)
		KvLoad->active[KvLoad->nactive++] = slotno;
	kv_load_me = me;
}

/*
 * Leave the load table; the caller wakes the waiters afterwards (with
 * ConditionVariableBroadcast on the returned slot's variable).  Takes only
 * the table's lock and cannot fail, so it is safe while unwinding an error.
 */
static KvLoadSlot *
kv_load_unregister(void)
{
	KvLoadSlot *me = kv_load_me;
	int			myslot;
	int			i;

	Assert(me != NULL);
	myslot = (int) (me - KvLoad->slots);
	LWLockAcquire(KvLoad->lock, LW_EXCLUSIVE);
	for (i = 0; i < KvLoad->nactive; i++)
	{
		if (KvLoad->active[i] == myslot)
		{
			KvLoad->active[i] = KvLoad->active[--KvLoad->nactive];
			break;
		}
	}
	me->loading = false;
	LWLockRelease(KvLoad->lock);
	kv_load_me = NULL;
	return me;
}

/* before_shmem_exit callback: a backend dying mid-load wakes its waiters */
static void
kv_load_on_exit(int code, Datum arg)
{
	if (kv_load_me != NULL)
		ConditionVariableBroadcast(&kv_load_unregister()->cv);
}

/*
 * Wait until the load registered in slotno with generation gen ends, or
 * kvcache.load_wait_timeout passes.  No lock is held.
 */
static void
kv_load_wait(int slotno, uint64 gen)
{
	KvLoadSlot *s = &KvLoad->slots[slotno];
	TimestampTz deadline = TimestampTzPlusMilliseconds(GetCurrentTimestamp(),
													   kv_load_wait_timeout_ms);

	ConditionVariablePrepareToSleep(&s->cv);
	for (;;)
	{
		bool		done;
		TimestampTz now;
		int64		ms;

		LWLockAcquire(KvLoad->lock, LW_SHARED);
		done = !s->loading || s->generation != gen;
		LWLockRelease(KvLoad->lock);
		if (done)
			break;
		now = GetCurrentTimestamp();
		if (now >= deadline)
			break;
		ms = (deadline - now + 999) / 1000;
		(void) ConditionVariableTimedSleep(&s->cv, Min(ms, KV_LOAD_MAX_SLEEP_MS),
										   PG_WAIT_EXTENSION);
	}
	KvCVCancelSleep();
}

/* ----------------------------------------------------------------
 * Conversion to text
 * ----------------------------------------------------------------
 */

/* Find how values of typid become text; lookups are kept in mcxt */
void
KvTextCastInit(KvTextCast *cast, Oid typid, MemoryContext mcxt)
{
	Oid			base = getBaseType(typid);
	Oid			funcid = InvalidOid;

	if (base == TEXTOID)
		cast->path = COERCION_PATH_RELABELTYPE;
	else
		cast->path = find_coercion_pathway(TEXTOID, base, COERCION_EXPLICIT,
										   &funcid);
	switch (cast->path)
	{
		case COERCION_PATH_FUNC:
			fmgr_info_cxt(funcid, &cast->fn, mcxt);
			cast->nargs = get_func_nargs(funcid);
			break;
		case COERCION_PATH_RELABELTYPE:
			break;
		case COERCION_PATH_COERCEVIAIO:
			{
				Oid			outfn;
				bool		isvarlena;

				getTypeOutputInfo(base, &outfn, &isvarlena);
				fmgr_info_cxt(outfn, &cast->fn, mcxt);
			}
			break;
		default:
			ereport(ERROR,
					(errcode(ERRCODE_CANNOT_COERCE),
					 errmsg("cannot cast type %s to text", format_type_be(typid))));
	}
}

/* Convert a non-null value as prepared by KvTextCastInit */
text *
KvTextCastApply(KvTextCast *cast, Datum value)
{
	switch (cast->path)
	{
		case COERCION_PATH_FUNC:
			if (cast->nargs == 1)
				return DatumGetTextPP(FunctionCall1(&cast->fn, value));
			if (cast->nargs == 2)
				return DatumGetTextPP(FunctionCall2(&cast->fn, value,
													Int32GetDatum(-1)));
			return DatumGetTextPP(FunctionCall3(&cast->fn, value,
												Int32GetDatum(-1),
												BoolGetDatum(true)));
		case COERCION_PATH_RELABELTYPE:
			return DatumGetTextPP(value);
		default:
			return cstring_to_text(OutputFunctionCall(&cast->fn, value));
	}
}

/* ----------------------------------------------------------------
 * Reading, loading, storing
 * ----------------------------------------------------------------
 */

/* A palloc'd text copy of a string entry's value */
static text *
kv_copy_value(KvEntry *e, bool *binary)
{
	text	   *t = (text *) palloc(VARHDRSZ + e->vallen);

	SET_VARSIZE(t, VARHDRSZ + e->vallen);
	memcpy(VARDATA(t), KV_ENTRY_VALUE(e), e->vallen);
	*binary = (e->flags & KV_FLAG_BINARY) != 0;
	return t;
}

/* A value set from bytea must be valid in the database encoding (as kv.get) */
static void
kv_check_text(text *t, bool binary)
{
	if (binary &&
		!pg_verifymbstr(VARDATA(t), VARSIZE(t) - VARHDRSZ, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("value is not valid in encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errhint("Read it with kv.get_bytea().")));
}

/*
 * Look key up under a shared lock; *found tells a hit.  A key of another
 * type raises 42809.
 */
static text *
kv_front_read(KvKey *key, bool count_stats, bool *found)
{
	KvEntry    *e;
	text	   *t = NULL;
	bool		binary = false;

	*found = false;
	if (key->dbslot < 0)
		return NULL;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_STRING, false, count_stats);
	if (e)
	{
		t = kv_copy_value(e, &binary);
		*found = true;
	}
	KvUnlockPartition(key);
	if (t)
		kv_check_text(t, binary);
	return t;
}

/* Error context line for errors raised by a loader */
static void
kv_loader_error_context(void *arg)
{
	KvKey	   *key = (KvKey *) arg;
	int			len = key->len;

	if (len > KV_LOAD_CONTEXT_BYTES)
		len = pg_mbcliplen(key->data, len, KV_LOAD_CONTEXT_BYTES);
	errcontext("loader of kv.get_or_load for key \"%.*s%s\"", len, key->data,
			   len < (int) key->len ? "..." : "");
}

/*
 * Run the loader in the active snapshot.  Returns its value as text
 * (palloc'd in the caller's context) or NULL for no row or a NULL value.
 */
static text *
kv_run_loader(KvKey *key, text *loader)
{
	ErrorContextCallback errcb;
	SPIPlanPtr	plan;
	List	   *sources;
	int			rc;
	TupleDesc	desc;
	text	   *result = NULL;

	errcb.callback = kv_loader_error_context;
	errcb.arg = key;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	plan = SPI_prepare(text_to_cstring(loader), 0, NULL);
	if (plan == NULL)
		elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
	sources = SPI_plan_get_plan_sources(plan);
	if (list_length(sources) != 1 ||
		((CachedPlanSource *) linitial(sources))->commandTag != CMDTAG_SELECT)
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("loader must be a single SELECT or VALUES query")));

	/* read-only with no snapshot given: SPI uses the caller's snapshot */
	rc = SPI_execute_plan(plan, NULL, NULL, true, 2);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "SPI_execute_plan failed: %s", SPI_result_code_string(rc));
	desc = SPI_tuptable->tupdesc;
	if (desc->natts != 1)
		ereport(ERROR,
				(errcode(ERRCODE_SYNTAX_ERROR),
				 errmsg("loader must return exactly one column"),
				 errdetail("It returned %d columns.", desc->natts)));
	if (SPI_processed > 1)
		ereport(ERROR,
				(errcode(ERRCODE_CARDINALITY_VIOLATION),
				 errmsg("loader returned more than one row")));
	if (SPI_processed == 1)
	{
		bool		isnull;
		Datum		d = SPI_getbinval(SPI_tuptable->vals[0], desc, 1, &isnull);

		if (!isnull)
		{
			KvTextCast cast;
			text	   *t;
			Size		len;

			KvTextCastInit(&cast, TupleDescAttr(desc, 0)->atttypid,
						   CurrentMemoryContext);
			t = KvTextCastApply(&cast, d);
			len = VARSIZE_ANY_EXHDR(t);
			result = (text *) SPI_palloc(VARHDRSZ + len);
			SET_VARSIZE(result, VARHDRSZ + len);
			memcpy(VARDATA(result), VARDATA_ANY(t), len);
		}
	}
	SPI_finish();

	error_context_stack = errcb.previous;
	return result;
}

/* Run the loader, counting nesting depth (also when it fails) */
static text *
kv_run_loader_nested(KvKey *key, text *loader)
{
	text	   *result;

	kv_loader_depth++;
	PG_TRY();
	{
		result = kv_run_loader(key, loader);
	}
	PG_FINALLY();
	{
		kv_loader_depth--;
	}
	PG_END_TRY();
	return result;
}

/* Run the loader of our registered load; a failure unregisters and wakes */
static text *
kv_run_loader_registered(KvKey *key, text *loader)
{
	text	   *value;

	PG_TRY();
	{
		value = kv_run_loader_nested(key, loader);
	}
	PG_CATCH();
	{
		ConditionVariableBroadcast(&kv_load_unregister()->cv);
		PG_RE_THROW();
	}
	PG_END_TRY();
	return value;
}

/*
 * Store a loaded value unless that is refused (see the file header), then
 * unregister our load if we registered one and wake its waiters.
 */
static void
kv_store_loaded(KvKey *key, text *value, int64 ttl_ms, Snapshot snapshot,
				bool registered)
{
	KvLoadSlot *me = NULL;

	KvLockPartition(key, LW_EXCLUSIVE);

	/*
	 * A transaction that has written anything may have loaded its own
	 * uncommitted rows (its invalidations are queued only at the end of
	 * each statement): return the value but never store it.
	 */
	if (value != NULL &&
		!TransactionIdIsValid(GetTopTransactionIdIfAny()) &&
		VARSIZE(value) - VARHDRSZ <= KV_MAX_VALUE_BYTES &&
		!KvInvalPending(key) &&
		KvInvalAllowsStore(key, snapshot) &&
		KvLookupNoWait(key, true, false) == NULL)
	{
		Size		len = VARSIZE(value) - VARHDRSZ;
		KvEntry    *e = KvEntryTryCreate(key, KV_TYPE_STRING, len, NULL);

		if (e != NULL)
		{
			memcpy(KV_ENTRY_VALUE(e), VARDATA(value), len);
			if (ttl_ms > 0)
			{
				int64		at;

				if (pg_add_s64_overflow(KvNowMs(), ttl_ms, &at))
					at = PG_INT64_MAX;
				e->expire_at = at;
			}
			KvEntryLink(key, e, NULL);
		}
	}
	if (registered)
		me = kv_load_unregister();
	KvUnlockPartition(key);
	if (me)
		ConditionVariableBroadcast(&me->cv);
}

/*
 * A miss: wait for another backend's load of key or register our own, run
 * the loader, store.  key has a database slot.
 */
static text *
kv_load(KvKey *key, text *loader, int64 ttl_ms, Snapshot snapshot)
{
	int			myslot = KvMyProcNumber();
	bool		may_wait;
	bool		waited = false;
	bool		registered = false;
	text	   *value;

	/* a loader never waits (no cycles), nor does a process without a slot */
	/*
	 * A transaction with an xid may hold locks another session's loader
	 * needs; waiting for that loader would be a deadlock nobody detects.
	 */
	may_wait = (kv_loader_depth == 0 && myslot >= 0 && myslot < KvLoad->nslots &&
				!TransactionIdIsValid(GetTopTransactionIdIfAny()));

	for (;;)
	{
		KvEntry    *e;
		int			other = -1;
		uint64		gen = 0;

		KvLockPartition(key, LW_EXCLUSIVE);
		e = KvLookupTyped(key, KV_TYPE_STRING, true, false);
		if (e)
		{
			bool		binary;

			value = kv_copy_value(e, &binary);
			KvUnlockPartition(key);
			kv_check_text(value, binary);
			return value;
		}
		if (may_wait)
		{
			LWLockAcquire(KvLoad->lock, LW_EXCLUSIVE);
			other = kv_load_find(key);
			if (other >= 0)
				gen = KvLoad->slots[other].generation;
			else
			{
				kv_load_register(key, myslot);
				registered = true;
			}
			LWLockRelease(KvLoad->lock);
		}
		KvUnlockPartition(key);

		if (other < 0 || waited || kv_load_wait_timeout_ms == 0)
			break;
		kv_load_wait(other, gen);
		waited = true;
	}

	if (registered)
		value = kv_run_loader_registered(key, loader);
	else
		value = kv_run_loader_nested(key, loader);
	kv_store_loaded(key, value, ttl_ms, snapshot, registered);
	return value;
}

/*
 * GET with read-through: the cached string of key, or the loader's result
 * (stored with ttl_ms, 0 for none, unless refused).  NULL when the loader
 * returns no row or NULL.  See the file header.
 */
text *
KvGetOrLoad(KvKey *key, text *loader, int64 ttl_ms)
{
	text	   *value;
	bool		found;
	bool		pending;
	bool		pushed = false;

	if (!kv_load_exit_hook)
	{
		before_shmem_exit(kv_load_on_exit, (Datum) 0);
		kv_load_exit_hook = true;
	}

	/* our own pending transactional write of key: read it, never store */
	if (KV_SLOT_IS_SHADOW(key->dbslot))
	{
		value = kv_front_read(key, true, &found);
		if (found)
			return value;
		pending = true;
	}
	else
		pending = KvInvalPending(key);
	if (!pending)
	{
		value = kv_front_read(key, true, &found);
		if (found)
			return value;
		if (key->dbslot < 0)
			KvKeyInit(key, key->data, key->len, true);
	}

	if (!ActiveSnapshotSet())
	{
		PushActiveSnapshot(GetTransactionSnapshot());
		pushed = true;
	}
	if (pending)
		value = kv_run_loader_nested(key, loader);
	else
		value = kv_load(key, loader, ttl_ms, GetActiveSnapshot());
	if (pushed)
		PopActiveSnapshot();
	return value;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_get_or_load);

/* kv.get_or_load(key text, loader text, ttl interval) -> text */
Datum
kv_get_or_load(PG_FUNCTION_ARGS)
{
	KvKey		key;
	int64		ttl_ms = 0;
	text	   *value;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("loader must not be null")));
	if (!PG_ARGISNULL(2))
	{
		int64		at;

		ttl_ms = KvIntervalToMs(PG_GETARG_INTERVAL_P(2));
		if (ttl_ms <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid expire time in \"get_or_load\""),
					 errdetail("The ttl must be positive.")));
		if (pg_add_s64_overflow(KvNowMs(), ttl_ms, &at))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid expire time in \"get_or_load\"")));
	}
	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	value = KvGetOrLoad(&key, PG_GETARG_TEXT_PP(1), ttl_ms);
	if (value == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(value);
}
