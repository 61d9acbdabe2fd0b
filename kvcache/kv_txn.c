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
 * Commit.  At XACT_EVENT_PRE_COMMIT the partitions of all records are locked
 * exclusive, in ascending order, and each record whose first write read K
 * is checked: if K changed since (another session wrote, deleted or evicted
 * it; every write gives an entry a new version), the transaction fails with
 * 40001, as a REPEATABLE READ transaction does on a concurrent update and as
 * Redis's WATCH makes EXEC fail.  Blind first writes (SET, MSET) skip the
 * check: they do not depend on K's old value.  The locks are kept until
 * XACT_EVENT_COMMIT, after the commit record, where each shadow is
 * relabelled as K's entry (the old entry is freed) or, if the shadow is
 * gone, K is deleted.  Relabelling allocates nothing, so nothing can fail
 * after the commit point; holding the locks across the commit record means
 * no write to K can slip in between the check and the install.  An error
 * after PRE_COMMIT aborts the transaction, and abort releases the locks.
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
 * Locking: the per-key work holds one partition lock at a time, except from
 * PRE_COMMIT to COMMIT, when this backend holds the partitions of its
 * records (at most KV_NUM_PARTITIONS, taken in ascending order; no other
 * kvcache code waits for a second partition lock, so no deadlock).
 *
 * kvcache/kv_txn.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/xact.h"
#include "common/hashfn.h"
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
} KvTxnRecord;

static HTAB *kv_txn_records = NULL;
static int	kv_txn_slot = -1;	/* this backend's shadow slot */
static bool kv_txn_locked = false;	/* partitions held from PRE_COMMIT */

/* From PRE_COMMIT to COMMIT: the records in lock order, lists to wake */
static KvTxnRecord **kv_txn_commit_list = NULL;
static int	kv_txn_commit_n = 0;
static bool *kv_txn_notify = NULL;

/* Are writes made now collected for commit? */
bool
KvTxnCollecting(void)
{
	return kv_transactional && IsTransactionBlock();
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

	if (kv_txn_locked)
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
		r = hash_search(kv_txn_records, &id, HASH_ENTER, &found);
		Assert(!found);
		r->id.data = MemoryContextAlloc(TopTransactionContext, Max(key->len, 1));
		memcpy((char *) r->id.data, key->data, key->len);
		r->hash = key->hash;
		r->partition = key->partition;
		r->realslot = key->dbslot;
		r->level = GetCurrentTransactionNestLevel();
		r->saves = NULL;
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
	kv_txn_locked = false;
	kv_txn_commit_list = NULL;
	kv_txn_commit_n = 0;
	kv_txn_notify = NULL;
}

/* Order of records by partition, for taking their locks */
static int
kv_txn_record_cmp(const void *a, const void *b)
{
	const KvTxnRecord *ra = *(KvTxnRecord *const *) a;
	const KvTxnRecord *rb = *(KvTxnRecord *const *) b;

	return (ra->partition > rb->partition) - (ra->partition < rb->partition);
}

/* The records in partition order, in TopTransactionContext */
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

/*
 * PRE_COMMIT: lock every record's partition (ascending) and check that no
 * key whose old value the transaction read has changed since; 40001 if one
 * has.  The locks stay held until XACT_EVENT_COMMIT.
 */
static void
kv_txn_pre_commit(void)
{
	int64		now = KvNowMs();
	int			last = -1;
	int			i;

	kv_txn_commit_list = kv_txn_sorted(&kv_txn_commit_n);
	/* COMMIT must not allocate */
	kv_txn_notify = MemoryContextAllocZero(TopTransactionContext,
										   sizeof(bool) * Max(kv_txn_commit_n, 1));
	kv_txn_locked = true;
	for (i = 0; i < kv_txn_commit_n; i++)
	{
		KvTxnRecord *r = kv_txn_commit_list[i];

		if (r->partition != last)
		{
			LWLockAcquire(KvShared->partitions[r->partition].lock, LW_EXCLUSIVE);
			last = r->partition;
		}
	}
	for (i = 0; i < kv_txn_commit_n; i++)
	{
		KvTxnRecord *r = kv_txn_commit_list[i];
		KvKey		real;
		KvKey		shadow;
		KvEntry    *e;
		bool		changed;

		if (!r->checked)
			continue;
		kv_txn_keys(r, &real, &shadow);
		e = KvLookup(&real, false, false);
		if (r->base_exists)
			changed = e ? e->version != r->base_version :
				!(r->base_expire_at != 0 && r->base_expire_at <= now);
		else
			changed = (e != NULL);
		if (changed)
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent change of cache key \"%.*s\"",
							Min((int) r->id.len, 200), r->id.data),
					 errdetail("Another session changed the key after this transaction first wrote it."),
					 errhint("The transaction might succeed if retried.")));
	}
}

/*
 * COMMIT (after the commit record): install every shadow as its key, then
 * release the partitions.  Allocates nothing and cannot fail.
 */
static void
kv_txn_commit(void)
{
	bool	   *notify = kv_txn_notify;
	int			i;

	for (i = 0; i < kv_txn_commit_n; i++)
	{
		KvTxnRecord *r = kv_txn_commit_list[i];
		KvKey		real;
		KvKey		shadow;
		KvEntry    *sh;
		KvEntry    *old;

		kv_txn_keys(r, &real, &shadow);
		sh = KvLookup(&shadow, true, false);
		old = KvLookup(&real, true, false);
		if (sh)
		{
			notify[i] = (sh->type == KV_TYPE_LIST);
			KvEntryRelabel(&shadow, sh, &real, old);
		}
		else if (old)
			KvEntryDelete(&real, old);
		kv_txn_free_saves(r, 0);
	}
	for (i = 0; i < kv_txn_commit_n; i++)
	{
		if (i == 0 || kv_txn_commit_list[i]->partition !=
			kv_txn_commit_list[i - 1]->partition)
			LWLockRelease(KvShared->partitions[kv_txn_commit_list[i]->partition].lock);
	}
	/* blocked pops wait on the real keys: wake them for new lists */
	for (i = 0; i < kv_txn_commit_n; i++)
	{
		if (notify[i])
		{
			KvKey		real;
			KvKey		shadow;

			kv_txn_keys(kv_txn_commit_list[i], &real, &shadow);
			KvBlockNotify(&real);
		}
	}
}

/* ABORT: delete every shadow and saved copy; cannot fail */
static void
kv_txn_abort(void)
{
	HASH_SEQ_STATUS status;
	KvTxnRecord *r;

	/* AbortTransaction has released any partition locks from PRE_COMMIT */
	kv_txn_locked = false;
	hash_seq_init(&status, kv_txn_records);
	while ((r = hash_seq_search(&status)) != NULL)
	{
		kv_txn_set_shadow(r, NULL);
		kv_txn_free_saves(r, 0);
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
