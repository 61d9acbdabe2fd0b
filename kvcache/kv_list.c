/*-------------------------------------------------------------------------
 *
 * kv_list.c
 *	  List values: LPUSH/RPUSH/LPOP/RPOP/LRANGE/LINDEX/LSET/LLEN/LTRIM/
 *	  LREM/LINSERT with Redis semantics, and their SQL functions.
 *
 * A list is one entry of type KV_TYPE_LIST whose payload is a fixed-size
 * KvListHeader; the elements live in a chain of arena nodes owned by the
 * entry (kv_quicklist.c describes the structure).  Because the header has
 * a fixed size the entry never moves: every change is made in place under
 * the key's partition lock.
 *
 * Redis rules kept here: a push to a missing key creates the list; a list
 * that becomes empty (pop, LREM, LTRIM) deletes its key, so a linked list
 * entry is never empty; reads of a missing key see an empty list; a key of
 * another type raises 42809.  Pushes keep the key's TTL.
 *
 * Errors: input is validated and all memory is allocated before a list is
 * changed; when the arena is short, anything allocated (including a new
 * entry) is given back before 53200 is raised, so an error never leaves a
 * list half changed.
 *
 * Locking: each command holds its key's partition lock for its duration,
 * shared for reads and exclusive for changes.  Results are copied into
 * palloc'd memory under the lock and turned into tuples after releasing
 * it.  After a push releases the lock it wakes blocked poppers
 * (kv_blocking.c).
 *
 * kvcache/kv_list.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/array.h"
#include "utils/builtins.h"

#include "kv_list.h"

/* ----------------------------------------------------------------
 * C API
 * ----------------------------------------------------------------
 */

/* Raise 54000 if a list element is over the documented limit */
static void
kv_list_check_size(Size len)
{
	if (len > KV_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("list element is too long"),
				 errdetail("Element length is %zu bytes; the limit is %d bytes.",
						   len, KV_MAX_VALUE_BYTES)));
}

/* A palloc'd array of n pointers (lists may exceed palloc's 1 GB limit) */
static text **
kv_list_result_array(int64 n)
{
	return MemoryContextAllocHuge(CurrentMemoryContext,
								  sizeof(text *) * Max(n, 1));
}

/* Free function for list entries: give every node back to the arena */
void
KvListFreeContents(KvEntry *entry)
{
	KvQlFree(KV_LIST_HEADER(entry));
}

/*
 * Copy the nodes of list src into dst, a new entry (kv_dict.c's
 * KvEntryCopy; caller holds the partition exclusive).  False if memory ran
 * out, with dst holding the nodes copied so far (freeable).
 */
bool
KvListCopyContents(KvEntry *dst, KvEntry *src, KvKey *key)
{
	KvListHeader *s = KV_LIST_HEADER(src);
	KvListHeader *d = KV_LIST_HEADER(dst);
	KvListNode *node;

	KvQlInit(d);
	for (node = s->head; node; node = node->next)
	{
		Size		size = offsetof(KvListNode, data) + node->cap;
		KvListNode *copy = KvAlloc(size, key, src);

		if (copy == NULL)
			return false;
		memcpy(copy, node, size);
		copy->prev = d->tail;
		copy->next = NULL;
		if (d->tail)
			d->tail->next = copy;
		else
			d->head = copy;
		d->tail = copy;
		d->nnodes++;
		d->length += copy->count;
	}
	return true;
}

/*
 * LPUSH/RPUSH key vals...: push n values in order at the head (left) or
 * tail, creating the list if needed.  Returns the new length.  With n = 0
 * nothing changes and the current length is returned.
 */
int64
KvListPush(KvKey *key, bool left, int n, const char *const *vals,
		   const uint32 *lens)
{
	KvEntry    *e;
	KvListHeader *h;
	bool		created = false;
	Size		failed;
	int64		length;
	int			i;

	for (i = 0; i < n; i++)
		kv_list_check_size(lens[i]);

	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (n == 0)
	{
		length = e ? KV_LIST_HEADER(e)->length : 0;
		KvUnlockPartition(key);
		return length;
	}
	if (e == NULL)
	{
		e = KvEntryCreate(key, KV_TYPE_LIST, sizeof(KvListHeader), NULL);
		KvQlInit(KV_LIST_HEADER(e));
		created = true;
	}
	h = KV_LIST_HEADER(e);
	if (!KvQlPush(h, left, n, vals, lens, key, e, &failed))
	{
		if (created)
			KvFree(e);
		KvUnlockPartition(key);
		KvOutOfMemory(failed);
	}
	if (created)
		KvEntryLink(key, e, NULL);
	length = h->length;
	KvUnlockPartition(key);

	KvBlockNotify(key);
	return length;
}

/* Copy the next element of an iterator into a new text */
static text *
kv_list_copy_next(KvListIter *it, bool forward)
{
	const char *data;
	uint32		len;
	bool		found PG_USED_FOR_ASSERTS_ONLY;

	found = forward ? KvQlNext(it, &data, &len) : KvQlPrev(it, &data, &len);
	Assert(found);
	return cstring_to_text_with_len(data, len);
}

/*
 * LPOP/RPOP key count: pop up to count (>= 0) elements from the head or
 * tail.  Returns the number popped with the elements in *out (in pop
 * order), or -1 if the key does not exist.
 */
int64
KvListPop(KvKey *key, bool left, int64 count, text ***out)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;
	text	  **res;
	int64		n;
	int64		i;

	*out = NULL;
	if (key->dbslot < 0)
		return -1;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (e == NULL)
	{
		KvUnlockPartition(key);
		return -1;
	}
	h = KV_LIST_HEADER(e);
	n = Min(count, h->length);

	/* copy first: palloc may fail, and nothing must have changed then */
	res = kv_list_result_array(n);
	if (left)
		KvQlIterHead(h, &it);
	else
		KvQlIterTail(h, &it);
	for (i = 0; i < n; i++)
		res[i] = kv_list_copy_next(&it, left);

	if (n == h->length)
		KvEntryDelete(key, e);
	else
		KvQlTrimEnd(h, left, n);
	KvUnlockPartition(key);
	*out = res;
	return n;
}

/*
 * Pop one element from the head or tail into *out; false if the key is
 * missing.  A key of another type raises 42809 with wrongtype_error, and
 * otherwise counts as missing (blocked poppers keep waiting on it, as in
 * Redis).
 */
bool
KvListPopOne(KvKey *key, bool left, bool wrongtype_error, text **out)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;

	if (key->dbslot < 0)
		return false;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookup(key, true, false);
	if (e && e->type != KV_TYPE_LIST)
	{
		if (wrongtype_error)
			KvWrongType(e->type, KV_TYPE_LIST);
		e = NULL;
	}
	if (e == NULL)
	{
		KvUnlockPartition(key);
		return false;
	}
	h = KV_LIST_HEADER(e);
	if (left)
		KvQlIterHead(h, &it);
	else
		KvQlIterTail(h, &it);
	*out = kv_list_copy_next(&it, left);
	if (h->length == 1)
		KvEntryDelete(key, e);
	else
		KvQlTrimEnd(h, left, 1);
	KvUnlockPartition(key);
	return true;
}

/* Raise 42809 if key exists and is not a list */
void
KvListCheckType(KvKey *key)
{
	if (key->dbslot < 0)
		return;
	KvLockPartition(key, LW_SHARED);
	(void) KvLookupTyped(key, KV_TYPE_LIST, false, false);
	KvUnlockPartition(key);
}

/* LLEN key: 0 if missing */
int64
KvListLen(KvKey *key)
{
	KvEntry    *e;
	int64		length = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_LIST, false, true);
	if (e)
		length = KV_LIST_HEADER(e)->length;
	KvUnlockPartition(key);
	return length;
}

/*
 * LRANGE key start stop: the elements in list order into *out; returns
 * their number.  O(start / node size + elements returned).
 */
int64
KvListRange(KvKey *key, int64 start, int64 stop, text ***out)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;
	int64		n = 0;
	int64		i;

	*out = NULL;
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_LIST, false, true);
	if (e)
	{
		h = KV_LIST_HEADER(e);
		if (KvClampRange(h->length, &start, &stop))
		{
			n = stop - start + 1;
			*out = kv_list_result_array(n);
			KvQlSeek(h, start, &it);
			for (i = 0; i < n; i++)
				(*out)[i] = kv_list_copy_next(&it, true);
		}
	}
	KvUnlockPartition(key);
	return n;
}

/* Resolve a possibly negative index; false if out of range */
static bool
kv_list_index(int64 len, int64 *index)
{
	if (*index < 0)
		*index += len;
	return *index >= 0 && *index < len;
}

/* LINDEX key index: the element, or NULL if missing or out of range */
text *
KvListIndex(KvKey *key, int64 index)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;
	text	   *result = NULL;

	if (key->dbslot < 0)
		return NULL;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_LIST, false, true);
	if (e)
	{
		h = KV_LIST_HEADER(e);
		if (kv_list_index(h->length, &index))
		{
			KvQlSeek(h, index, &it);
			result = kv_list_copy_next(&it, true);
		}
	}
	KvUnlockPartition(key);
	return result;
}

/*
 * LSET key index value.  Errors as in Redis: a missing key raises
 * "no such key" (42704 undefined_object: the object the command needs
 * does not exist), an index outside the list raises "index out of range"
 * (2202E array_subscript_error, as for a bad array subscript).
 */
void
KvListSet(KvKey *key, int64 index, const char *val, uint32 len)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;
	const char *data;
	uint32		oldlen;
	Size		failed;

	kv_list_check_size(len);
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (e == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("no such key")));
	h = KV_LIST_HEADER(e);
	if (!kv_list_index(h->length, &index))
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("index out of range")));
	KvQlSeek(h, index, &it);
	(void) KvQlNext(&it, &data, &oldlen);
	if (!KvQlSplice(h, it.elem_node, it.elem_off, true, val, len, key, e,
					&failed))
	{
		KvUnlockPartition(key);
		KvOutOfMemory(failed);
	}
	KvUnlockPartition(key);
}

/*
 * LTRIM key start stop: keep only the given range; an empty range deletes
 * the key.  O(elements removed / node size + node size).
 */
void
KvListTrim(KvKey *key, int64 start, int64 stop)
{
	KvEntry    *e;
	KvListHeader *h;

	if (key->dbslot < 0)
		return;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (e)
	{
		h = KV_LIST_HEADER(e);
		if (!KvClampRange(h->length, &start, &stop))
			KvEntryDelete(key, e);
		else
		{
			int64		rtrim = h->length - 1 - stop;

			KvQlTrimEnd(h, true, start);
			KvQlTrimEnd(h, false, rtrim);
		}
	}
	KvUnlockPartition(key);
}

/*
 * LREM key count value: remove elements equal to value (byte-wise), up to
 * count from the head (count > 0), up to -count from the tail (count < 0),
 * or all (count = 0).  Returns the number removed.
 */
int64
KvListRem(KvKey *key, int64 count, const char *val, uint32 len)
{
	KvEntry    *e;
	KvListHeader *h;
	int64		removed = 0;
	uint64		limit;

	if (key->dbslot < 0)
		return 0;
	/* |count| without overflow for PG_INT64_MIN */
	limit = count >= 0 ? (uint64) count : (uint64) (-(count + 1)) + 1;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (e)
	{
		h = KV_LIST_HEADER(e);
		removed = KvQlRemoveMatching(h, count >= 0, limit, val, len);
		if (h->length == 0)
			KvEntryDelete(key, e);
	}
	KvUnlockPartition(key);
	return removed;
}

/*
 * LINSERT key BEFORE|AFTER pivot value: insert next to the first element
 * equal to pivot (byte-wise, from the head).  Returns the new length, -1
 * if the pivot is not in the list, 0 if the key does not exist.
 */
int64
KvListInsert(KvKey *key, bool before, const char *pivot, uint32 pivotlen,
			 const char *val, uint32 len)
{
	KvEntry    *e;
	KvListHeader *h;
	KvListIter	it;
	const char *data;
	uint32		dlen;
	bool		found = false;
	int64		result;
	Size		failed;

	kv_list_check_size(len);
	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_EXCLUSIVE);
	e = KvLookupTyped(key, KV_TYPE_LIST, true, false);
	if (e == NULL)
	{
		KvUnlockPartition(key);
		return 0;
	}
	h = KV_LIST_HEADER(e);
	KvQlIterHead(h, &it);
	while (KvQlNext(&it, &data, &dlen))
	{
		if (dlen == pivotlen && memcmp(data, pivot, pivotlen) == 0)
		{
			found = true;
			break;
		}
	}
	if (!found)
	{
		KvUnlockPartition(key);
		return -1;
	}
	if (!KvQlSplice(h, it.elem_node,
					before ? it.elem_off : it.elem_off + KvQlElemSize(dlen),
					false, val, len, key, e, &failed))
	{
		KvUnlockPartition(key);
		KvOutOfMemory(failed);
	}
	result = h->length;
	KvUnlockPartition(key);
	return result;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_lpush);
PG_FUNCTION_INFO_V1(kv_rpush);
PG_FUNCTION_INFO_V1(kv_lpop);
PG_FUNCTION_INFO_V1(kv_rpop);
PG_FUNCTION_INFO_V1(kv_lpop_count);
PG_FUNCTION_INFO_V1(kv_rpop_count);
PG_FUNCTION_INFO_V1(kv_lrange);
PG_FUNCTION_INFO_V1(kv_lindex);
PG_FUNCTION_INFO_V1(kv_lset);
PG_FUNCTION_INFO_V1(kv_llen);
PG_FUNCTION_INFO_V1(kv_ltrim);
PG_FUNCTION_INFO_V1(kv_lrem);
PG_FUNCTION_INFO_V1(kv_linsert);

/* Raise 22004 if argument n (called name) is NULL */
static void
kv_list_not_null(FunctionCallInfo fcinfo, int n, const char *name)
{
	if (PG_ARGISNULL(n))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("%s must not be null", name)));
}

/* Shared body of kv.lpush and kv.rpush */
static Datum
kv_push_common(FunctionCallInfo fcinfo, bool left)
{
	KvKey		key;
	ArrayType  *arr;
	Datum	   *d;
	bool	   *nulls;
	int			n;
	int			i;
	const char **vals;
	uint32	   *lens;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	kv_list_not_null(fcinfo, 1, "value");
	arr = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(arr, TEXTOID, -1, false, TYPALIGN_INT, &d, &nulls, &n);
	vals = palloc(sizeof(char *) * Max(n, 1));
	lens = palloc(sizeof(uint32) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		text	   *t;

		if (nulls[i])
			ereport(ERROR,
					(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
					 errmsg("value must not be null")));
		t = (text *) PG_DETOAST_DATUM_PACKED(d[i]);
		vals[i] = VARDATA_ANY(t);
		lens[i] = VARSIZE_ANY_EXHDR(t);
	}
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvListPush(&key, left, n, vals, lens));
}

/* kv.lpush(key text, VARIADIC vals text[]) -> bigint */
Datum
kv_lpush(PG_FUNCTION_ARGS)
{
	return kv_push_common(fcinfo, true);
}

/* kv.rpush(key text, VARIADIC vals text[]) -> bigint */
Datum
kv_rpush(PG_FUNCTION_ARGS)
{
	return kv_push_common(fcinfo, false);
}

/* Shared body of kv.lpop(key) and kv.rpop(key) */
static Datum
kv_pop_one(FunctionCallInfo fcinfo, bool left)
{
	KvKey		key;
	text	   *v;

	KV_ARG_KEY(fcinfo, 0, key, false);
	if (!KvListPopOne(&key, left, true, &v))
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(v);
}

/* kv.lpop(key text) -> text */
Datum
kv_lpop(PG_FUNCTION_ARGS)
{
	return kv_pop_one(fcinfo, true);
}

/* kv.rpop(key text) -> text */
Datum
kv_rpop(PG_FUNCTION_ARGS)
{
	return kv_pop_one(fcinfo, false);
}

/* Emit n texts as the rows of a materialized SETOF text result */
static void
kv_list_emit(FunctionCallInfo fcinfo, text **vals, int64 n)
{
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;
	int64		i;

	for (i = 0; i < n; i++)
	{
		Datum		value = PointerGetDatum(vals[i]);
		bool		isnull = false;

		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, &value, &isnull);
		pfree(vals[i]);
	}
}

/* Shared body of kv.lpop(key, count) and kv.rpop(key, count) */
static Datum
kv_pop_count(FunctionCallInfo fcinfo, bool left)
{
	KvKey		key;
	int64		count;
	int64		n;
	text	  **vals;

	kv_list_not_null(fcinfo, 1, "count");
	count = PG_GETARG_INT64(1);
	if (count < 0)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("count must not be negative")));
	KV_ARG_KEY(fcinfo, 0, key, false);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	n = KvListPop(&key, left, count, &vals);
	kv_list_emit(fcinfo, vals, n);
	return (Datum) 0;
}

/* kv.lpop(key text, count bigint) -> SETOF text, in pop order */
Datum
kv_lpop_count(PG_FUNCTION_ARGS)
{
	return kv_pop_count(fcinfo, true);
}

/* kv.rpop(key text, count bigint) -> SETOF text, in pop order */
Datum
kv_rpop_count(PG_FUNCTION_ARGS)
{
	return kv_pop_count(fcinfo, false);
}

/* kv.lrange(key text, start bigint, stop bigint) -> SETOF text, in list order */
Datum
kv_lrange(PG_FUNCTION_ARGS)
{
	KvKey		key;
	int64		n;
	text	  **vals;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	InitMaterializedSRF(fcinfo, MAT_SRF_USE_EXPECTED_DESC);
	n = KvListRange(&key, PG_GETARG_INT64(1), PG_GETARG_INT64(2), &vals);
	kv_list_emit(fcinfo, vals, n);
	return (Datum) 0;
}

/* kv.lindex(key text, index bigint) -> text */
Datum
kv_lindex(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *v;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	v = KvListIndex(&key, PG_GETARG_INT64(1));
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(v);
}

/* kv.lset(key text, index bigint, value text) -> void */
Datum
kv_lset(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *val;

	kv_list_not_null(fcinfo, 1, "index");
	kv_list_not_null(fcinfo, 2, "value");
	val = PG_GETARG_TEXT_PP(2);
	KV_ARG_KEY(fcinfo, 0, key, false);
	KvListSet(&key, PG_GETARG_INT64(1), VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val));
	PG_RETURN_VOID();
}

/* kv.llen(key text) -> bigint */
Datum
kv_llen(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvListLen(&key));
}

/* kv.ltrim(key text, start bigint, stop bigint) -> void */
Datum
kv_ltrim(PG_FUNCTION_ARGS)
{
	KvKey		key;

	kv_list_not_null(fcinfo, 1, "start");
	kv_list_not_null(fcinfo, 2, "stop");
	KV_ARG_KEY(fcinfo, 0, key, false);
	KvListTrim(&key, PG_GETARG_INT64(1), PG_GETARG_INT64(2));
	PG_RETURN_VOID();
}

/* kv.lrem(key text, count bigint, value text) -> bigint */
Datum
kv_lrem(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *val;

	kv_list_not_null(fcinfo, 1, "count");
	kv_list_not_null(fcinfo, 2, "value");
	val = PG_GETARG_TEXT_PP(2);
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvListRem(&key, PG_GETARG_INT64(1), VARDATA_ANY(val),
							  VARSIZE_ANY_EXHDR(val)));
}

/* kv.linsert(key text, before boolean, pivot text, value text) -> bigint */
Datum
kv_linsert(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *pivot;
	text	   *val;

	kv_list_not_null(fcinfo, 1, "before");
	kv_list_not_null(fcinfo, 2, "pivot");
	kv_list_not_null(fcinfo, 3, "value");
	pivot = PG_GETARG_TEXT_PP(2);
	val = PG_GETARG_TEXT_PP(3);
	KV_ARG_KEY(fcinfo, 0, key, false);
	PG_RETURN_INT64(KvListInsert(&key, PG_GETARG_BOOL(1),
								 VARDATA_ANY(pivot), VARSIZE_ANY_EXHDR(pivot),
								 VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val)));
}
