/*-------------------------------------------------------------------------
 *
 * kv_invalidate.c
 *	  Invalidation at commit: kv.invalidate_on/off, the row trigger that
 *	  queues keys, the transaction callbacks that delete them at commit, and
 *	  the shared record of recent invalidations that stops a reader from
 *	  storing a value older than a committed invalidation (stale refill).
 *
 * Triggers.  kv.invalidate_on(tbl, template) creates one AFTER INSERT OR
 * UPDATE OR DELETE FOR EACH ROW trigger running kv.invalidate_trigger() with
 * the template as its argument, named kv_invalidate_<64-bit hash of the
 * template>, so several templates coexist on a table.  Installing a template
 * twice is an error (42710), like CREATE TRIGGER.  A template is text with
 * {column} placeholders ({{ and }} are literal braces).  It is checked at
 * install time and again per statement against the table the trigger fires
 * on (a partition may order its columns differently): unknown column 42703,
 * empty or unterminated placeholder or a lone } 22023.  Values are rendered
 * as value::text renders them; NULL renders as the empty string, as
 * concat() and format() do.  An ambiguity this creates ('a:' for both NULL
 * and '') can only delete a key too many, never leave one stale.  A key
 * longer than kvcache's key limit is skipped: it can never be cached.  The
 * trigger reads the rows through the trigger's tuple slots, so it works on
 * any table access method.
 *
 * Queue.  The trigger renders the keys of the OLD row (UPDATE, DELETE) and
 * the NEW row (INSERT, UPDATE) and queues each distinct key once, in
 * backend memory of the top transaction: a hash table on the key bytes plus
 * an array in queue order, each key tagged with the subtransaction that
 * queued it.  The key's hash and partition (KvKeyInit, which may raise an
 * error) are computed here, at queue time.  Subtransaction ids grow, so the
 * keys of the innermost open subtransaction always form a suffix of the
 * array: its abort drops that suffix, its commit hands the suffix to the
 * parent.  A top-level abort drops everything; PREPARE TRANSACTION with
 * queued keys is refused (0A000), since the commit happens elsewhere.
 *
 * Commit.  XACT_EVENT_PRE_COMMIT only notes the transaction's full xid.
 * XACT_EVENT_COMMIT, which runs after the commit is durable and visible
 * (ProcArrayEndTransaction) and before the client is told, then takes each
 * key's partition lock exclusive, records the invalidation in the key's
 * slot (below) and deletes the key.  Nothing there allocates or raises an
 * error: the keys were prepared at queue time, slots are fixed shared
 * memory, deletion only frees.
 *
 * Record of invalidations.  A fixed table of KV_INVAL_SLOTS_PER_PARTITION
 * slots per cache partition; a key's slot is picked by its hash, so every
 * key of a slot lives in the same partition and the slot is protected by
 * that partition's lock.  A slot holds up to KV_INVAL_RECORDS records
 * (database, 32-bit key hash, full xid of the committed invalidating
 * transaction) and an overflow mark.  To add a record to a full slot, the
 * writer first drops the records that every snapshot in the cluster sees:
 * those older than the oldest xid any backend still considers running
 * (every running backend's snapshot xmin and xid are at least that, and
 * every future snapshot's xmin too).  If none can go, the oldest record is
 * folded into the overflow mark, which keeps the newest xid folded into it.
 *
 * Store rule (KvInvalAllowsStore, under the key's partition lock held
 * exclusive).  A value loaded under snapshot S may be stored unless some
 * record of the key (same database and hash; a different key with the same
 * hash only makes this conservative) has an xid S does not see
 * (XidInMVCCSnapshot: in S's xip/subxip, or >= S's xmax), or the slot's
 * overflow mark is not older than S's xmin (a folded xid could be anything
 * up to the mark, and only xids below xmin are surely seen).  Full xids
 * make records immune to wraparound: a record older than S's xmin is seen.
 *
 * Why a stale value cannot be stored.  Let writer W commit an invalidation
 * of key K, and reader R load K under snapshot S that does not see W
 * (R's snapshot was taken before W's commit became visible).  R stores
 * under K's partition lock.  W records and deletes under the same lock, in
 * one hold, after its commit became visible.
 *	  - If R stores first, W's deletion, later, removes R's value.
 *	  - If W goes first, R finds W's record, or, if the record has been
 *		folded, an overflow mark >= W's xid >= S's xmin (S does not see W,
 *		so W's xid is not below S's xmin); either way it refuses.  The
 *		record cannot have been dropped: R's own snapshot keeps the oldest
 *		running xid at or below S's xmin, which is at or below W's xid.
 * A reader whose snapshot sees W loaded data at least as new as W, and may
 * store.  Nothing else can store into K but plain kv.set (not our business)
 * and the writer's own transaction, which bypasses the cache for keys it
 * has queued (kv_loader.c).
 *
 * READ COMMITTED and REPEATABLE READ.  Both the loader and the store rule
 * use the caller's active snapshot: in READ COMMITTED the statement's
 * snapshot, taken when the statement started, possibly long before the
 * miss; in REPEATABLE READ the transaction's.  The window between taking
 * the snapshot and the miss is therefore covered: a commit in that window
 * is invisible to S, so its record refuses the store (or its deletion
 * follows the store), exactly as above.
 *
 * The guarantee.  Once W's COMMIT has returned, W's keys are gone and no
 * value older than W can be stored again.  So kv.get calls that start
 * afterwards, and kv.get_or_load calls whose snapshot is taken afterwards
 * (in READ COMMITTED: statements that start afterwards; in REPEATABLE READ:
 * transactions that start afterwards), never return a value older than
 * W's commit.  A kv.get_or_load with an older snapshot that misses returns
 * what its snapshot sees, without storing it.
 *
 * Not covered: TRUNCATE (no row triggers), triggers disabled (ALTER TABLE
 * DISABLE TRIGGER, session_replication_role = replica, so also rows applied
 * by logical replication), changes on another server: a hot standby's cache
 * is never invalidated by replayed commits.
 *
 * kvcache/kv_invalidate.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/table.h"
#include "access/transam.h"
#include "access/xact.h"
#include "catalog/pg_class.h"
#include "commands/trigger.h"
#include "common/hashfn.h"
#include "executor/spi.h"
#include "executor/tuptable.h"
#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "parser/parse_func.h"
#include "storage/procarray.h"
#include "storage/shmem.h"
#include "utils/acl.h"
#include "utils/builtins.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "kv_front.h"

#define KV_INVAL_SLOTS_PER_PARTITION	64	/* power of two */
#define KV_INVAL_RECORDS				4
#define KV_INVAL_NSLOTS		(KV_NUM_PARTITIONS * KV_INVAL_SLOTS_PER_PARTITION)
#define KV_TRIGGER_FUNCTION				"invalidate_trigger"

/* One committed invalidation of a key */
typedef struct KvInvalRecord
{
	FullTransactionId fxid;		/* invalid: record unused */
	Oid			dbid;
	uint32		hash;			/* KvKey.hash; the partition is the slot's */
} KvInvalRecord;

/* Recent invalidations of the keys hashing to one slot */
typedef struct KvInvalSlot
{
	KvInvalRecord rec[KV_INVAL_RECORDS];
	FullTransactionId overflow; /* newest xid folded out of rec[], or invalid */
} KvInvalSlot;

static KvInvalSlot *KvInvalSlots = NULL;

/* A queued key as the hash table sees it: bytes and length */
/* A queued key */
typedef struct KvPending
{
	KvBytesKey name;			/* hash key; bytes in TopTransactionContext */
	KvKey		key;			/* hash and partition, computed at queue time */
	SubTransactionId subid;		/* subtransaction that owns the entry */
} KvPending;

/* The queue of the current transaction (all in TopTransactionContext) */
static HTAB *kv_pending = NULL;
static KvPending **kv_pending_list = NULL;	/* in queue order */
static int	kv_pending_count = 0;
static int	kv_pending_cap = 0;
static FullTransactionId kv_pending_fxid;	/* noted at pre-commit */

/* One piece of a parsed template: literal text, then a column (or none) */
typedef struct KvTemplatePart
{
	char	   *literal;
	int			litlen;
	AttrNumber	attnum;			/* InvalidAttrNumber: literal only */
	KvTextCast	cast;
} KvTemplatePart;

/* A key template parsed against one relation */
typedef struct KvTemplate
{
	Oid			relid;
	char	   *source;
	int			nparts;
	KvTemplatePart parts[FLEXIBLE_ARRAY_MEMBER];
} KvTemplate;

/* ----------------------------------------------------------------
 * Shared record of invalidations
 * ----------------------------------------------------------------
 */

/* Shared memory for the slots */
static Size
kv_inval_shmem_size(void)
{
	return mul_size(sizeof(KvInvalSlot), KV_INVAL_NSLOTS);
}

/* Request the slots' memory (from the shmem request hook) */
void
KvInvalShmemRequest(void)
{
	RequestAddinShmemSpace(kv_inval_shmem_size());
}

/* Create or attach to the slots (shmem startup, AddinShmemInitLock held) */
void
KvInvalShmemInit(void)
{
	bool		found;
	int			i;
	int			r;

	KvInvalSlots = (KvInvalSlot *) ShmemInitStruct("kvcache invalidations",
												   kv_inval_shmem_size(), &found);
	if (found)
		return;
	for (i = 0; i < KV_INVAL_NSLOTS; i++)
	{
		for (r = 0; r < KV_INVAL_RECORDS; r++)
			KvInvalSlots[i].rec[r].fxid = InvalidFullTransactionId;
		KvInvalSlots[i].overflow = InvalidFullTransactionId;
	}
}

/* The slot of a key: within the key's partition, so that lock protects it */
static inline KvInvalSlot *
kv_inval_slot(KvKey *key)
{
	return &KvInvalSlots[key->partition * KV_INVAL_SLOTS_PER_PARTITION +
						 ((key->hash >> 16) & (KV_INVAL_SLOTS_PER_PARTITION - 1))];
}

/* Does record r describe key (in this database)? */
static inline bool
kv_inval_matches(KvInvalRecord *r, KvKey *key)
{
	return FullTransactionIdIsValid(r->fxid) && r->dbid == MyDatabaseId &&
		r->hash == key->hash;
}

/* Widen xid, which is not in the future and less than 2^31 old, to 64 bits */
static FullTransactionId
kv_full_xid(FullTransactionId next, TransactionId xid)
{
	uint64		n = U64FromFullTransactionId(next);
	uint32		behind = XidFromFullTransactionId(next) - xid;

	if (behind > n)
		return FirstNormalFullTransactionId;
	return FullTransactionIdFromU64(n - behind);
}

/* An unused record of slot, or NULL */
static KvInvalRecord *
kv_inval_free_record(KvInvalSlot *slot)
{
	int			i;

	for (i = 0; i < KV_INVAL_RECORDS; i++)
		if (!FullTransactionIdIsValid(slot->rec[i].fxid))
			return &slot->rec[i];
	return NULL;
}

/*
 * Record that transaction fxid, committed, invalidated key.  Caller holds
 * the key's partition lock exclusive.  *horizon caches the oldest running
 * xid across calls of one commit (invalid until first needed).  Cannot
 * fail: runs in XACT_EVENT_COMMIT.
 */
static void
kv_inval_record(KvKey *key, FullTransactionId fxid, FullTransactionId *horizon)
{
	KvInvalSlot *slot = kv_inval_slot(key);
	KvInvalRecord *r = kv_inval_free_record(slot);
	int			i;

	if (r == NULL)
	{
		/* forget what every snapshot sees */
		if (!FullTransactionIdIsValid(*horizon))
			*horizon = kv_full_xid(ReadNextFullTransactionId(),
								   GetOldestTransactionIdConsideredRunning());
		for (i = 0; i < KV_INVAL_RECORDS; i++)
			if (FullTransactionIdPrecedes(slot->rec[i].fxid, *horizon))
				slot->rec[i].fxid = InvalidFullTransactionId;
		if (FullTransactionIdIsValid(slot->overflow) &&
			FullTransactionIdPrecedes(slot->overflow, *horizon))
			slot->overflow = InvalidFullTransactionId;
		r = kv_inval_free_record(slot);
	}
	if (r == NULL)
	{
		/* still full: fold the oldest record into the overflow mark */
		r = &slot->rec[0];
		for (i = 1; i < KV_INVAL_RECORDS; i++)
			if (FullTransactionIdPrecedes(slot->rec[i].fxid, r->fxid))
				r = &slot->rec[i];
		if (!FullTransactionIdIsValid(slot->overflow) ||
			FullTransactionIdPrecedes(slot->overflow, r->fxid))
			slot->overflow = r->fxid;
	}
	r->fxid = fxid;
	r->dbid = MyDatabaseId;
	r->hash = key->hash;
}

/*
 * Was top-level transaction xid still running (so invisible) for snapshot?
 * Recorded xids are always top-level, so the snapshot's xip array answers
 * it without pg_subtrans, which matters because the caller holds a
 * partition lock: no I/O and no error may happen here.  A snapshot taken
 * during recovery keeps xids in subxip; if that overflowed, answer "running"
 * (refusing a store is always safe).
 */
static bool
kv_xid_running_in(TransactionId xid, Snapshot snapshot)
{
	uint32		i;

	if (TransactionIdFollowsOrEquals(xid, snapshot->xmax))
		return true;
	if (TransactionIdPrecedes(xid, snapshot->xmin))
		return false;
	if (!snapshot->takenDuringRecovery)
	{
		for (i = 0; i < snapshot->xcnt; i++)
			if (TransactionIdEquals(snapshot->xip[i], xid))
				return true;
		return false;
	}
	if (snapshot->suboverflowed)
		return true;
	for (i = 0; i < (uint32) snapshot->subxcnt; i++)
		if (TransactionIdEquals(snapshot->subxip[i], xid))
			return true;
	return false;
}

/*
 * May a value loaded under snapshot be stored for key?  See the store rule
 * in the file header.  Caller holds the key's partition lock exclusive.
 */
bool
KvInvalAllowsStore(KvKey *key, Snapshot snapshot)
{
	KvInvalSlot *slot = kv_inval_slot(key);
	bool		any = FullTransactionIdIsValid(slot->overflow);
	FullTransactionId xmin;
	int			i;

	for (i = 0; i < KV_INVAL_RECORDS && !any; i++)
		any = kv_inval_matches(&slot->rec[i], key);
	if (!any)
		return true;			/* the common case: nothing recent */
	if (snapshot == NULL || snapshot->snapshot_type != SNAPSHOT_MVCC)
		return false;

	xmin = kv_full_xid(ReadNextFullTransactionId(), snapshot->xmin);
	for (i = 0; i < KV_INVAL_RECORDS; i++)
	{
		KvInvalRecord *r = &slot->rec[i];

		if (kv_inval_matches(r, key) &&
			!FullTransactionIdPrecedes(r->fxid, xmin) &&
			kv_xid_running_in(XidFromFullTransactionId(r->fxid), snapshot))
			return false;
	}
	if (FullTransactionIdIsValid(slot->overflow) &&
		!FullTransactionIdPrecedes(slot->overflow, xmin))
		return false;
	return true;
}

/* ----------------------------------------------------------------
 * The queue of the current transaction
 * ----------------------------------------------------------------
 */

/* Forget the queue (its memory goes with the transaction) */
static void
kv_pending_reset(void)
{
	kv_pending = NULL;
	kv_pending_list = NULL;
	kv_pending_count = 0;
	kv_pending_cap = 0;
	kv_pending_fxid = InvalidFullTransactionId;
}

/* Has this transaction queued key? */
bool
KvInvalPending(KvKey *key)
{
	KvBytesKey name;

	if (kv_pending_count == 0)
		return false;
	name.data = key->data;
	name.len = key->len;
	return hash_search(kv_pending, &name, HASH_FIND, NULL) != NULL;
}

/*
 * Queue key (data, len) for deletion at commit, once.  Everything that can
 * fail happens before the queue changes.
 */
static void
kv_pending_add(const char *data, Size len)
{
	KvBytesKey name;
	KvPending  *p;
	KvKey		key;
	char	   *copy;
	bool		found;

	if (len > KV_MAX_KEY_BYTES)
		return;					/* such a key is never cached */
	if (kv_pending == NULL)
	{
		kv_pending = KvBytesTableCreate("kvcache pending invalidations",
										sizeof(KvPending));
		kv_pending_cap = 64;
		kv_pending_list = MemoryContextAlloc(TopTransactionContext,
											 sizeof(KvPending *) * kv_pending_cap);
	}
	name.data = data;
	name.len = (uint32) len;
	if (hash_search(kv_pending, &name, HASH_FIND, NULL) != NULL)
		return;

	copy = MemoryContextAlloc(TopTransactionContext, Max(len, 1));
	memcpy(copy, data, len);
	KvKeyInit(&key, copy, len, false);
	if (kv_pending_count == kv_pending_cap)
	{
		kv_pending_list = repalloc(kv_pending_list,
								   sizeof(KvPending *) * kv_pending_cap * 2);
		kv_pending_cap *= 2;
	}
	name.data = copy;
	p = (KvPending *) hash_search(kv_pending, &name, HASH_ENTER, &found);
	Assert(!found);
	p->key = key;
	p->subid = GetCurrentSubTransactionId();
	kv_pending_list[kv_pending_count++] = p;
}

/*
 * At commit: record and delete every queued key.  Must not fail (see the
 * file header).
 */
static void
kv_pending_apply(void)
{
	int			dbslot = KvDbSlotLookup(MyDatabaseId, false);
	FullTransactionId horizon = InvalidFullTransactionId;
	int			i;

	for (i = 0; i < kv_pending_count; i++)
	{
		KvKey	   *key = &kv_pending_list[i]->key;
		KvEntry    *e;

		/* a reader may have given the database its slot after queue time */
		key->dbslot = dbslot;
		KvLockPartition(key, LW_EXCLUSIVE);
		if (FullTransactionIdIsValid(kv_pending_fxid))
			kv_inval_record(key, kv_pending_fxid, &horizon);
		e = KvLookupNoWait(key, true, false);
		if (e)
			KvEntryDelete(key, e);
		KvUnlockPartition(key);
	}
}

/* Transaction callback: apply the queue at commit, drop it otherwise */
static void
kv_inval_xact_callback(XactEvent event, void *arg)
{
	switch (event)
	{
		case XACT_EVENT_PRE_COMMIT:
			if (kv_pending_count > 0)
				kv_pending_fxid = GetTopFullTransactionIdIfAny();
			break;
		case XACT_EVENT_COMMIT:
			if (kv_pending_count > 0)
				kv_pending_apply();
			kv_pending_reset();
			break;
		case XACT_EVENT_PRE_PREPARE:
			if (kv_pending_count > 0)
				ereport(ERROR,
						(errcode(ERRCODE_FEATURE_NOT_SUPPORTED),
						 errmsg("cannot PREPARE a transaction that has queued cache invalidations"),
						 errdetail("Rows of a table with kv.invalidate_on() triggers were changed; their keys are deleted from the cache when the transaction commits in this session.")));
			break;
		case XACT_EVENT_ABORT:
		case XACT_EVENT_PREPARE:
		case XACT_EVENT_PARALLEL_ABORT:
		case XACT_EVENT_PARALLEL_COMMIT:
			kv_pending_reset();
			break;
		case XACT_EVENT_PARALLEL_PRE_COMMIT:
			break;
	}
}

/*
 * Subtransaction callback: an aborted subtransaction drops its keys (the
 * suffix it owns), a committed one gives them to its parent.
 */
static void
kv_inval_subxact_callback(SubXactEvent event, SubTransactionId mySubid,
						  SubTransactionId parentSubid, void *arg)
{
	int			i;

	switch (event)
	{
		case SUBXACT_EVENT_ABORT_SUB:
			while (kv_pending_count > 0 &&
				   kv_pending_list[kv_pending_count - 1]->subid >= mySubid)
			{
				KvPending  *p = kv_pending_list[--kv_pending_count];

				hash_search(kv_pending, &p->name, HASH_REMOVE, NULL);
			}
			break;
		case SUBXACT_EVENT_COMMIT_SUB:
			for (i = kv_pending_count - 1;
				 i >= 0 && kv_pending_list[i]->subid >= mySubid; i--)
				kv_pending_list[i]->subid = parentSubid;
			break;
		default:
			break;
	}
}

/* Register the transaction callbacks (from _PG_init) */
void
KvInvalRegisterCallbacks(void)
{
	kv_pending_reset();
	RegisterXactCallback(kv_inval_xact_callback, NULL);
	RegisterSubXactCallback(kv_inval_subxact_callback, NULL);
}

/* ----------------------------------------------------------------
 * Key templates
 * ----------------------------------------------------------------
 */

/* Raise 22023 for a malformed template; pos is a byte offset into it */
static void
kv_template_error(const char *source, const char *pos, const char *what)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
			 errmsg("invalid key template \"%s\"", source),
			 errdetail("%s at character %d.", what,
					   pg_mbstrlen_with_len(source, (int) (pos - source)) + 1),
			 errhint("Placeholders are column names in braces, such as {id}; write {{ and }} for literal braces.")));
}

/* The user column of rel named name, or raise 42703 */
static AttrNumber
kv_template_column(Relation rel, const char *name)
{
	TupleDesc	desc = RelationGetDescr(rel);
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	ereport(ERROR,
			(errcode(ERRCODE_UNDEFINED_COLUMN),
			 errmsg("column \"%s\" of relation \"%s\" does not exist",
					name, RelationGetRelationName(rel))));
	return InvalidAttrNumber;	/* keep the compiler quiet */
}

/* Parse source against rel's columns; the result lives in mcxt */
static KvTemplate *
kv_template_parse(const char *source, Relation rel, MemoryContext mcxt)
{
	KvTemplate *t;
	StringInfoData lit;
	const char *p;
	int			maxparts = 1;
	KvTemplatePart *part;

	if (*source == '\0')
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("key template must not be empty")));
	for (p = source; *p; p++)
		if (*p == '{')
			maxparts++;
	t = MemoryContextAllocZero(mcxt, offsetof(KvTemplate, parts) +
							   sizeof(KvTemplatePart) * maxparts);
	t->relid = RelationGetRelid(rel);
	t->source = MemoryContextStrdup(mcxt, source);
	initStringInfo(&lit);

	/* '{' and '}' never occur inside a multibyte character */
	p = source;
	while (*p)
	{
		if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}'))
		{
			appendStringInfoChar(&lit, p[0]);
			p += 2;
		}
		else if (p[0] == '}')
			kv_template_error(source, p, "Unmatched \"}\"");
		else if (p[0] == '{')
		{
			const char *start = p + 1;
			const char *end = start;
			char	   *name;

			while (*end && *end != '}' && *end != '{')
				end++;
			if (*end != '}')
				kv_template_error(source, p, "Unterminated placeholder");
			if (end == start)
				kv_template_error(source, p, "Empty placeholder");
			name = pnstrdup(start, end - start);
			part = &t->parts[t->nparts++];
			part->attnum = kv_template_column(rel, name);
			part->literal = MemoryContextAlloc(mcxt, lit.len + 1);
			memcpy(part->literal, lit.data, lit.len + 1);
			part->litlen = lit.len;
			KvTextCastInit(&part->cast,
						   TupleDescAttr(RelationGetDescr(rel), part->attnum - 1)->atttypid,
						   mcxt);
			resetStringInfo(&lit);
			p = end + 1;
		}
		else
			appendStringInfoChar(&lit, *p++);
	}
	part = &t->parts[t->nparts++];
	part->attnum = InvalidAttrNumber;
	part->literal = MemoryContextAlloc(mcxt, lit.len + 1);
	memcpy(part->literal, lit.data, lit.len + 1);
	part->litlen = lit.len;
	return t;
}

/* Render the key of the row in slot into buf (NULL columns render as '') */
static void
kv_template_render(KvTemplate *t, TupleTableSlot *slot, StringInfo buf)
{
	int			i;

	resetStringInfo(buf);
	for (i = 0; i < t->nparts; i++)
	{
		KvTemplatePart *part = &t->parts[i];
		Datum		d;
		bool		isnull;

		appendBinaryStringInfo(buf, part->literal, part->litlen);
		if (part->attnum == InvalidAttrNumber)
			continue;
		d = slot_getattr(slot, part->attnum, &isnull);
		if (!isnull)
		{
			text	   *s = KvTextCastApply(&part->cast, d);

			appendBinaryStringInfo(buf, VARDATA_ANY(s), VARSIZE_ANY_EXHDR(s));
		}
	}
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_invalidate_trigger);
PG_FUNCTION_INFO_V1(kv_invalidate_on);
PG_FUNCTION_INFO_V1(kv_invalidate_off);

/*
 * kv.invalidate_trigger(): the row trigger installed by kv.invalidate_on.
 * The parsed template is cached in fn_extra for the rest of the statement.
 */
Datum
kv_invalidate_trigger(PG_FUNCTION_ARGS)
{
	TriggerData *td = (TriggerData *) fcinfo->context;
	KvTemplate *t;
	StringInfoData buf;

	if (!CALLED_AS_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kv.invalidate_trigger() was not called by trigger manager")));
	if (!TRIGGER_FIRED_AFTER(td->tg_event) || !TRIGGER_FIRED_FOR_ROW(td->tg_event))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kv.invalidate_trigger() must be fired AFTER ... FOR EACH ROW")));
	if (td->tg_trigger->tgnargs != 1)
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("kv.invalidate_trigger() takes the key template as its only argument"),
				 errhint("Install it with kv.invalidate_on().")));

	t = (KvTemplate *) fcinfo->flinfo->fn_extra;
	if (t == NULL || t->relid != RelationGetRelid(td->tg_relation) ||
		strcmp(t->source, td->tg_trigger->tgargs[0]) != 0)
	{
		t = kv_template_parse(td->tg_trigger->tgargs[0], td->tg_relation,
							  fcinfo->flinfo->fn_mcxt);
		fcinfo->flinfo->fn_extra = t;
	}

	initStringInfo(&buf);
	kv_template_render(t, td->tg_trigslot, &buf);
	kv_pending_add(buf.data, buf.len);
	if (TRIGGER_FIRED_BY_UPDATE(td->tg_event))
	{
		kv_template_render(t, td->tg_newslot, &buf);
		kv_pending_add(buf.data, buf.len);
	}
	return PointerGetDatum(NULL);
}

/* The trigger name for a template: stable across restarts */
static char *
kv_trigger_name(const char *source)
{
	uint64		h = hash_bytes_extended((const unsigned char *) source,
										(int) strlen(source), 0);

	return psprintf("kv_invalidate_%016" INT64_MODIFIER "x", h);
}

/* The trigger named name on rel, or NULL */
static Trigger *
kv_find_trigger(Relation rel, const char *name)
{
	TriggerDesc *trigdesc = rel->trigdesc;
	int			i;

	if (trigdesc == NULL)
		return NULL;
	for (i = 0; i < trigdesc->numtriggers; i++)
		if (strcmp(trigdesc->triggers[i].tgname, name) == 0)
			return &trigdesc->triggers[i];
	return NULL;
}

/* Is trigger the one kv.invalidate_on installs for source? */
static bool
kv_is_our_trigger(Trigger *trigger, Oid fnoid, const char *source)
{
	return trigger->tgfoid == fnoid && trigger->tgnargs == 1 &&
		strcmp(trigger->tgargs[0], source) == 0;
}

/* Check the arguments of invalidate_on/off and ownership; open the table */
static Relation
kv_open_table(FunctionCallInfo fcinfo, LOCKMODE lockmode, char **source)
{
	Oid			relid;
	Relation	rel;

	if (PG_ARGISNULL(0))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("table must not be null")));
	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("key template must not be null")));
	relid = PG_GETARG_OID(0);
	*source = text_to_cstring(PG_GETARG_TEXT_PP(1));

	/* ownership before locking, as the trigger DDL checks it */
	if (!pg_class_ownercheck(relid, GetUserId()))
		aclcheck_error(ACLCHECK_NOT_OWNER, get_relkind_objtype(get_rel_relkind(relid)),
					   get_rel_name(relid));
	rel = table_open(relid, lockmode);
	if (rel->rd_rel->relkind != RELKIND_RELATION &&
		rel->rd_rel->relkind != RELKIND_PARTITIONED_TABLE)
		ereport(ERROR,
				(errcode(ERRCODE_WRONG_OBJECT_TYPE),
				 errmsg("\"%s\" is not a table", RelationGetRelationName(rel)),
				 errdetail("Cache invalidation triggers can only be installed on tables.")));
	return rel;
}

/* OID of kv.invalidate_trigger(), in the schema of the calling function */
static Oid
kv_trigger_function(FunctionCallInfo fcinfo, char **qualname)
{
	char	   *schema = get_namespace_name(get_func_namespace(fcinfo->flinfo->fn_oid));

	*qualname = quote_qualified_identifier(schema, KV_TRIGGER_FUNCTION);
	return LookupFuncName(list_make2(makeString(schema),
									 makeString(KV_TRIGGER_FUNCTION)),
						  0, NULL, false);
}

/* Run one utility statement through SPI */
static void
kv_run_ddl(const char *sql)
{
	int			rc;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	rc = SPI_execute(sql, false, 0);
	if (rc != SPI_OK_UTILITY)
		elog(ERROR, "SPI_execute failed: %s", SPI_result_code_string(rc));
	SPI_finish();
}

/* kv.invalidate_on(tbl regclass, key_template text) -> void */
Datum
kv_invalidate_on(PG_FUNCTION_ARGS)
{
	char	   *source;
	Relation	rel;
	char	   *name;
	char	   *fnname;
	Oid			fnoid;
	Trigger    *existing;

	KvCheckLoaded();
	rel = kv_open_table(fcinfo, ShareRowExclusiveLock, &source);
	(void) kv_template_parse(source, rel, CurrentMemoryContext);
	fnoid = kv_trigger_function(fcinfo, &fnname);
	name = kv_trigger_name(source);
	existing = kv_find_trigger(rel, name);
	if (existing && kv_is_our_trigger(existing, fnoid, source))
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("key template \"%s\" is already installed on table \"%s\"",
						source, RelationGetRelationName(rel))));
	if (existing)
		ereport(ERROR,
				(errcode(ERRCODE_DUPLICATE_OBJECT),
				 errmsg("trigger \"%s\" for relation \"%s\" already exists",
						name, RelationGetRelationName(rel))));

	kv_run_ddl(psprintf("CREATE TRIGGER %s AFTER INSERT OR UPDATE OR DELETE ON %s "
						"FOR EACH ROW EXECUTE FUNCTION %s(%s)",
						quote_identifier(name),
						quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel)),
						fnname, quote_literal_cstr(source)));
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}

/* kv.invalidate_off(tbl regclass, key_template text) -> void */
Datum
kv_invalidate_off(PG_FUNCTION_ARGS)
{
	char	   *source;
	Relation	rel;
	char	   *name;
	char	   *fnname;
	Oid			fnoid;
	Trigger    *existing;

	KvCheckLoaded();
	rel = kv_open_table(fcinfo, AccessExclusiveLock, &source);
	fnoid = kv_trigger_function(fcinfo, &fnname);
	name = kv_trigger_name(source);
	existing = kv_find_trigger(rel, name);
	if (existing == NULL || !kv_is_our_trigger(existing, fnoid, source))
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("key template \"%s\" is not installed on table \"%s\"",
						source, RelationGetRelationName(rel))));

	kv_run_ddl(psprintf("DROP TRIGGER %s ON %s",
						quote_identifier(name),
						quote_qualified_identifier(get_namespace_name(RelationGetNamespace(rel)),
												   RelationGetRelationName(rel))));
	table_close(rel, NoLock);
	PG_RETURN_VOID();
}
