/*-------------------------------------------------------------------------
 *
 * kv_txn.c
 *	  kvcache.transactional: kv writes made in a transaction block are
 *	  applied at commit and discarded at rollback (savepoints included), and
 *	  the transaction reads its own writes.
 *
 * Shadow keys.  The first write of a transaction to key K copies K's entry,
 * if it exists, to a *shadow* entry: the same key bytes and hash, so the
 * same partition and bucket, under a database slot of this backend's own
 * (KV_SHADOW_SLOT_BASE + pgprocno).  From then on every command of this
 * backend on K, read or write, works on the shadow: KvKeyInitText and
 * KvKeyInitWrite find K in a backend-local table of "records" and change
 * the KvKey's slot.  All the type code therefore runs unchanged, and each
 * command returns what it would return if K were written directly.  Other
 * backends never see shadows: lookups match the slot, listings and flushes
 * skip shadow slots, eviction never picks one (kv_dict.c).
 *
 * Commit.  At XACT_EVENT_PRE_COMMIT each record is taken in one global
 * order (partition, hash, bytes), each under its partition lock alone:
 *	  1. wait while another backend's commit is installing K (its shadow of K
 *		 carries KV_FLAG_PENDING; the wait sleeps on the partition's condition
 *		 variable, interruptibly, without the lock);
 *	  2. if the first write of K read K, check that K has not changed since
 *		 (every write gives an entry a new version; deletion and eviction
 *		 change it too) or fail with 40001, as a REPEATABLE READ transaction
 *		 does on a concurrent update and as Redis's WATCH makes EXEC fail;
 *		 blind first writes (SET, MSET) skip the check;
 *	  3. mark our shadow KV_FLAG_PENDING (a key the transaction deleted gets
 *		 a marker shadow flagged KV_FLAG_DELETED) and note K's version.
 * From then on every writer of K (an exclusive KvLookup) waits until we are
 * done; readers go on seeing the committed value.  At XACT_EVENT_COMMIT,
 * after the commit record, each shadow replaces K (or K is deleted), marks
 * go and waiters are woken.  That step allocates nothing and cannot fail.
 * No LWLock is held across the commit record: a commit that waits (for a
 * synchronous standby, a heavyweight lock in PreCommit_Notify) holds only
 * marks, and whoever waits for a mark can be cancelled.  Committers take
 * marks in the global order and wait for a mark only before taking the
 * next, so two committers cannot wait for each other.  The few deletions
 * that do not wait (commit-time invalidation, active expiry) are noticed at
 * COMMIT by K's version: K is then deleted rather than overwritten, which
 * is always safe for a cache.  An error after PRE_COMMIT aborts the
 * transaction; abort deletes the shadows, marked or not, and wakes waiters.
 *
 * Savepoints.  A write at subtransaction level L to a key whose current
 * state belongs to an outer level first saves a deep copy of the shadow (or
 * "absent") as an unlinked entry.  Rolling back level L puts the copy back
 * (linking cannot fail); releasing it hands the copy to the parent unless
 * the parent has one already.  A key first written at level L is forgotten
 * when L rolls back.
 *
 * Not covered: KEYS, SCAN, DBSIZE and RANDOMKEY list committed keys only;
 * FLUSHDB/FLUSHALL and PREPARE TRANSACTION are refused while writes are
 * pending (0A000); blocking pops do not block (as in Redis MULTI).
 *
 * Locking: one partition lock at a time, never across a wait or the commit
 * record; marks (above) order committers and writers.
 *
 * kvcache/kv_txn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/parallel.h"
#include "access/xact.h"
#include "common/hashfn.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "storage/proc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"

#include "kvcache.h"
#include "kv_list.h"

bool		kv_transactional = false;
int			kv_txn_nkeys = 0;

/* The state of a key before a subtransaction first wrote it */
typedef struct KvTxnSave
{
	int			level;			/* the subtransaction */
	KvEntry    *entry;			/* unlinked copy of the shadow, NULL: absent */
	struct KvTxnSave *next;		/* saves of outer levels */
} KvTxnSave;

/* A key with pending writes in this transaction */
typedef struct KvTxnRecord
{
	KvBytesKey	id;				/* hash key; data is our own copy */
	uint32		hash;			/* the KvKey's hash and partition */
	int			partition;
	int			realslot;		/* the database's slot */
	int			level;			/* nesting level of the first write */
	bool		checked;		/* conflict check at commit */
	bool		base_exists;	/* K existed at the first write ... */
	uint32		base_version;	/* ... with this version */
	int64		base_expire_at; /* ... and expiry */
	KvTxnSave  *saves;			/* newest first */
	bool		marked;			/* PRE_COMMIT marked the shadow pending */
	bool		seen_exists;	/* at marking: K existed ... */
	uint32		seen_version;	/* ... with this version */
} KvTxnRecord;

static HTAB *kv_txn_records = NULL;
static int	kv_txn_slot = -1;	/* this backend's shadow slot */
static bool kv_txn_committing = false;	/* from PRE_COMMIT on */

/* From PRE_COMMIT to COMMIT: the records in marking order */
static KvTxnRecord **kv_txn_commit_list = NULL;
static int	kv_txn_commit_n = 0;

/* Are writes made now collected for commit? */
bool
KvTxnCollecting(void)
{
	/* parallel workers (kv writers are PARALLEL UNSAFE) never collect */
	return kv_transactional && IsTransactionBlock() && !IsParallelWorker();
}

/* Raise 0A000 for a command that cannot run with pending writes */
void
KvTxnRefuse(const char *what)
{
	if (kv_txn_nkeys > 0 || KvTxnCollecting())
		ereport(ERROR,
				(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
				 errmsg("%s cannot run in a transaction block when \"kvcache.transactional\" is on",
						what)));
}

/* This backend's shadow slot */
static int
kv_txn_my_slot(void)
{
	if (kv_txn_slot < 0)
	{
		if (MyProc == NULL ||
			KV_SHADOW_SLOT_BASE + MyProc->pgprocno > PG_UINT16_MAX)
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("transactional cache writes are not available in this process")));
		kv_txn_slot = KV_SHADOW_SLOT_BASE + MyProc->pgprocno;
	}
	return kv_txn_slot;
}

/* The real and shadow KvKeys of a record */
static void
kv_txn_keys(KvTxnRecord *r, KvKey *real, KvKey *shadow)
{
	real->data = r->id.data;
	real->len = r->id.len;
	real->dbslot = r->realslot;
	real->hash = r->hash;
	real->partition = r->partition;
	*shadow = *real;
	shadow->dbslot = kv_txn_slot;
}

/* The level whose state the shadow of r currently holds */
static inline int
kv_txn_top_level(KvTxnRecord *r)
{
	return r->saves ? r->saves->level : r->level;
}

/*
 * First write of key in this transaction: make the shadow a copy of the
 * real entry (unless blind) and note what the copy was taken from.  The
 * record r is new; on error the caller forgets it.
 */
static void
kv_txn_begin_key(KvTxnRecord *r, bool blind)
{
	KvKey		real;
	KvKey		shadow;
	KvEntry    *e;
	KvEntry    *old;
	KvEntry    *copy = NULL;

	kv_txn_keys(r, &real, &shadow);
	KvLockPartition(&real, LW_EXCLUSIVE);
	/* a plain lookup: an exclusive one would give the entry a new version */
	e = KvLookup(&real, false, false);
	r->checked = !blind;
	r->base_exists = (e != NULL);
	r->base_version = e ? e->version : 0;
	r->base_expire_at = e ? e->expire_at : 0;
	if (e && !blind)
	{
		copy = KvEntryCopy(&shadow, e);
		if (copy == NULL)
		{
			Size		size = KV_ENTRY_SIZE(e->keylen, e->vallen);

			KvUnlockPartition(&real);
			KvOutOfMemory(size);
		}
	}
	/* a shadow left by an earlier process with our slot goes */
	old = KvLookup(&shadow, true, false);
	if (copy)
		KvEntryLink(&shadow, copy, old);
	else if (old)
		KvEntryDelete(&shadow, old);
	KvUnlockPartition(&real);
}

/*
 * A write at a deeper subtransaction level than the shadow's state: save a
 * copy of the shadow so that rolling back the level can restore it.
 */
static void
kv_txn_save(KvTxnRecord *r, int level)
{
	KvKey		real;
	KvKey		shadow;
	KvEntry    *e;
	KvEntry    *copy = NULL;
	KvTxnSave  *save;

	save = MemoryContextAlloc(TopTransactionContext, sizeof(KvTxnSave));
	kv_txn_keys(r, &real, &shadow);
	KvLockPartition(&shadow, LW_EXCLUSIVE);
	e = KvLookup(&shadow, true, false);
	if (e)
	{
		copy = KvEntryCopy(&shadow, e);
		if (copy == NULL)
		{
			Size		size = KV_ENTRY_SIZE(e->keylen, e->vallen);

			KvUnlockPartition(&shadow);
			pfree(save);
			KvOutOfMemory(size);
		}
	}
	KvUnlockPartition(&shadow);
	save->level = level;
	save->entry = copy;
	save->next = r->saves;
	r->saves = save;
}

/*
 * Point key at its shadow if this transaction has writes pending for it;
 * for a write while collecting, start (or save) the key's pending state
 * first.  Called by KvKeyInitText/KvKeyInitWrite.
 */
void
KvTxnRedirect(KvKey *key, bool write, bool blind)
{
	KvBytesKey	id;
	KvTxnRecord *r = NULL;
	bool		found;
	int			level;
	char	   *copy;

	if (kv_txn_committing)
		return;					/* committing: keys are real again */
	id.data = key->data;
	id.len = key->len;
	if (kv_txn_records)
		r = hash_search(kv_txn_records, &id, HASH_FIND, NULL);
	if (r == NULL)
	{
		if (!write || !KvTxnCollecting())
			return;
		kv_txn_my_slot();
		if (key->dbslot < 0)
			key->dbslot = KvDbSlotLookup(MyDatabaseId, true);
		if (kv_txn_records == NULL)
			kv_txn_records = KvBytesTableCreate("kvcache pending writes",
												sizeof(KvTxnRecord));
		copy = MemoryContextAlloc(TopTransactionContext, Max(key->len, 1));
		memcpy(copy, key->data, key->len);
		id.data = copy;
		r = hash_search(kv_txn_records, &id, HASH_ENTER, &found);
		Assert(!found);
		r->hash = key->hash;
		r->partition = key->partition;
		r->realslot = key->dbslot;
		r->level = GetCurrentTransactionNestLevel();
		r->saves = NULL;
		r->marked = false;
		PG_TRY();
		{
			kv_txn_begin_key(r, blind);
		}
		PG_CATCH();
		{
			hash_search(kv_txn_records, &id, HASH_REMOVE, NULL);
			PG_RE_THROW();
		}
		PG_END_TRY();
		kv_txn_nkeys++;
	}
	else if (write &&
			 (level = GetCurrentTransactionNestLevel()) > kv_txn_top_level(r))
		kv_txn_save(r, level);
	key->dbslot = kv_txn_slot;
}

/* Free the saves of r down to (not including) those of levels < level */
static void
kv_txn_free_saves(KvTxnRecord *r, int level)
{
	while (r->saves && r->saves->level >= level)
	{
		KvTxnSave  *save = r->saves;

		if (save->entry)
			KvEntryFreeUnlinked(save->entry);
		r->saves = save->next;
		pfree(save);
	}
}

/* Delete r's shadow entry, if any, and link repl (may be NULL) instead */
static void
kv_txn_set_shadow(KvTxnRecord *r, KvEntry *repl)
{
	KvKey		real;
	KvKey		shadow;
	KvEntry    *e;

	kv_txn_keys(r, &real, &shadow);
	KvLockPartition(&shadow, LW_EXCLUSIVE);
	e = KvLookup(&shadow, true, false);
	if (repl)
		KvEntryLink(&shadow, repl, e);
	else if (e)
		KvEntryDelete(&shadow, e);
	KvUnlockPartition(&shadow);
}

/* Forget every record: the transaction is over (shadows already handled) */
static void
kv_txn_reset(void)
{
	kv_txn_records = NULL;		/* its memory goes with TopTransactionContext */
	kv_txn_nkeys = 0;
	kv_txn_committing = false;
	kv_txn_commit_list = NULL;
	kv_txn_commit_n = 0;
}

/* The global marking order of records: partition, hash, key bytes */
static int
kv_txn_record_cmp(const void *a, const void *b)
{
	const KvTxnRecord *ra = *(KvTxnRecord *const *) a;
	const KvTxnRecord *rb = *(KvTxnRecord *const *) b;
	int			c;

	if (ra->partition != rb->partition)
		return (ra->partition > rb->partition) - (ra->partition < rb->partition);
	if (ra->hash != rb->hash)
		return (ra->hash > rb->hash) - (ra->hash < rb->hash);
	c = memcmp(ra->id.data, rb->id.data, Min(ra->id.len, rb->id.len));
	if (c != 0)
		return c;
	return (ra->id.len > rb->id.len) - (ra->id.len < rb->id.len);
}

/* The records in marking order, in TopTransactionContext */
static KvTxnRecord **
kv_txn_sorted(int *n)
{
	HASH_SEQ_STATUS status;
	KvTxnRecord *r;
	KvTxnRecord **all;
	int			i = 0;

	all = MemoryContextAlloc(TopTransactionContext,
							 sizeof(KvTxnRecord *) * Max(kv_txn_nkeys, 1));
	hash_seq_init(&status, kv_txn_records);
	while ((r = hash_seq_search(&status)) != NULL)
		all[i++] = r;
	qsort(all, i, sizeof(KvTxnRecord *), kv_txn_record_cmp);
	*n = i;
	return all;
}

/* Has K changed since the first write read it (base_*)?  e: K's entry now */
static bool
kv_txn_changed(KvTxnRecord *r, KvEntry *e, int64 now)
{
	if (!r->checked)
		return false;
	if (r->base_exists)
		return e ? e->version != r->base_version :
			!(r->base_expire_at != 0 && r->base_expire_at <= now);
	return e != NULL;
}

/*
 * PRE_COMMIT: for each record in marking order, wait for other commits of
 * the key, check it for conflicts (40001) and mark our shadow pending.
 */
static void
kv_txn_pre_commit(void)
{
	int64		now = KvNowMs();
	int			i;

	kv_txn_commit_list = kv_txn_sorted(&kv_txn_commit_n);
	kv_txn_committing = true;
	for (i = 0; i < kv_txn_commit_n; i++)
	{
		KvTxnRecord *r = kv_txn_commit_list[i];
		KvKey		real;
		KvKey		shadow;
		KvEntry    *e;
		KvEntry    *sh;

		CHECK_FOR_INTERRUPTS();
		kv_txn_keys(r, &real, &shadow);
		KvLockPartition(&real, LW_EXCLUSIVE);
		KvWaitPending(&real);
		e = KvLookupNoWait(&real, false, false);
		if (kv_txn_changed(r, e, now))
		{
			KvUnlockPartition(&real);
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent change of cache key \"%.*s\"",
							pg_mbcliplen(r->id.data, (int) r->id.len, 200), r->id.data),
					 errdetail("Another session wrote the key after this transaction first wrote it."),
					 errhint("The transaction might succeed if retried.")));
		}
		r->seen_exists = (e != NULL);
		r->seen_version = e ? e->version : 0;
		sh = KvLookupNoWait(&shadow, true, false);
		if (sh == NULL)
		{
			/* the transaction deletes K: a marker says so */
			sh = KvEntryTryCreate(&shadow, KV_TYPE_STRING, 0, NULL);
			if (sh == NULL)
			{
				KvUnlockPartition(&real);
				KvOutOfMemory(KV_ENTRY_SIZE(shadow.len, 0));
			}
			sh->flags = KV_FLAG_DELETED;
			KvEntryLink(&shadow, sh, NULL);
		}
		KvEntrySetPending(sh);
		r->marked = true;
		KvUnlockPartition(&real);
	}
}

/* Wake the backends waiting for marks in the partitions of the records */
static void
kv_txn_wake(void)
{
	int			i;

	for (i = 0; i < kv_txn_commit_n; i++)
	{
		int			p = kv_txn_commit_list[i]->partition;

		if (kv_txn_commit_list[i]->marked &&
			(i == 0 || p != kv_txn_commit_list[i - 1]->partition))
			ConditionVariableBroadcast(&KvShared->partitions[p].pending_cv);
	}
}

/*
 * COMMIT (after the commit record): each shadow replaces its key, or the
 * key is deleted (a deleting transaction, an expired shadow, or a key that
 * a non-waiting deletion changed since PRE_COMMIT).  Cannot fail.
 */
static void
kv_txn_commit(void)
{
	int			i;

	for (i = 0; i < kv_txn_commit_n; i++)
	{
		KvTxnRecord *r = kv_txn_commit_list[i];
		KvKey		real;
		KvKey		shadow;
		KvEntry    *sh;
		KvEntry    *old;
		bool		changed;
		bool		notify = false;

		kv_txn_keys(r, &real, &shadow);
		KvLockPartition(&real, LW_EXCLUSIVE);
		old = KvLookupNoWait(&real, false, false);
		changed = (old != NULL) != r->seen_exists ||
			(old && old->version != r->seen_version);
		/* exclusive, to reclaim an expired entry before replacing it */
		old = KvLookupNoWait(&real, true, false);
		sh = KvLookupNoWait(&shadow, true, false);
		if (sh && !(sh->flags & KV_FLAG_DELETED) && !changed)
		{
			notify = (sh->type == KV_TYPE_LIST);
			KvEntryRelabel(&shadow, sh, &real, old);
		}
		else
		{
			if (old)
				KvEntryDelete(&real, old);
			if (sh)
				KvEntryDelete(&shadow, sh);
		}
		KvUnlockPartition(&real);
		kv_txn_free_saves(r, 0);
		/* blocked pops wait on the real key: wake them for a new list */
		if (notify)
			KvBlockNotify(&real);
	}
	kv_txn_wake();
}

/* ABORT: delete every shadow (marked or not) and saved copy; cannot fail */
static void
kv_txn_abort(void)
{
	HASH_SEQ_STATUS status;
	KvTxnRecord *r;

	hash_seq_init(&status, kv_txn_records);
	while ((r = hash_seq_search(&status)) != NULL)
	{
		kv_txn_set_shadow(r, NULL);
		kv_txn_free_saves(r, 0);
		if (r->marked)
			ConditionVariableBroadcast(&KvShared->partitions[r->partition].pending_cv);
	}
}

/* Transaction callback: see the file header */
static void
kv_txn_xact_callback(XactEvent event, void *arg)
{
	if (kv_txn_records == NULL || kv_txn_nkeys == 0)
	{
		kv_txn_reset();
		return;
	}
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			kv_txn_pre_commit();
			break;
		case XACT_EVENT_COMMIT:
			kv_txn_commit();
			kv_txn_reset();
			break;
		case XACT_EVENT_PRE_PREPARE:
			ereport(ERROR,
					(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
					 errmsg("cannot prepare a transaction that has pending cache writes"),
					 errdetail("With \"kvcache.transactional\" on, kv writes are applied by the session's own COMMIT.")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PARALLEL_ABORT:
			kv_txn_abort();
			kv_txn_reset();
			break;
		default:
			break;
	}
}

/*
 * Subtransaction callback: rolling back level L restores each key's state
 * from before L (or forgets keys L wrote first); releasing L hands its saves
 * to the parent.
 */
static void
kv_txn_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						SubTransactionId parentSubid, void *arg)
{
	HASH_SEQ_STATUS status;
	KvTxnRecord *r;
	int			level;

	if (kv_txn_records == NULL || kv_txn_nkeys == 0)
		return;
	level = GetCurrentTransactionNestLevel();
	if (event == SUBXACT_EVENT_ABORT_SUB)
	{
		hash_seq_init(&status, kv_txn_records);
		while ((r = hash_seq_search(&status)) != NULL)
		{
			if (r->level >= level)
			{
				kv_txn_set_shadow(r, NULL);
				kv_txn_free_saves(r, 0);
				hash_search(kv_txn_records, &r->id, HASH_REMOVE, NULL);
				kv_txn_nkeys--;
			}
			else if (r->saves && r->saves->level >= level)
			{
				KvTxnSave  *save = r->saves;

				kv_txn_set_shadow(r, save->entry);
				r->saves = save->next;
				pfree(save);
			}
		}
	}
	else if (event == SUBXACT_EVENT_COMMIT_SUB)
	{
		hash_seq_init(&status, kv_txn_records);
		while ((r = hash_seq_search(&status)) != NULL)
		{
			if (r->level >= level)
				r->level = level - 1;
			if (r->saves && r->saves->level >= level)
			{
				KvTxnSave  *save = r->saves;

				/* the parent's state is already kept: drop this copy */
				if ((save->next ? save->next->level : r->level) >= level - 1)
				{
					r->saves = save->next;
					if (save->entry)
						KvEntryFreeUnlinked(save->entry);
					pfree(save);
				}
				else
					save->level = level - 1;
			}
		}
	}
}

/* Register the callbacks (from _PG_init) */
void
KvTxnRegisterCallbacks(void)
{
	RegisterXactCallback(kv_txn_xact_callback, NULL);
	RegisterSubXactCallback(kv_txn_subxact_callback, NULL);
}
