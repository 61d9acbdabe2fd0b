/*-------------------------------------------------------------------------
 *
 * kv_string.c
 *	  String values: SET/GET/GETSET/GETDEL/MGET/MSET/INCR/INCRBYFLOAT/
 *	  APPEND/STRLEN with Redis semantics, and their SQL functions.
 *
 * A string is one entry whose payload is the value bytes.  Values set from
 * text are valid in the database encoding by construction; values set from
 * bytea carry KV_FLAG_BINARY and are checked against the encoding when read
 * back as text.  Every change builds the new entry first (which may evict
 * or fail with nothing changed) and then links it in place of the old one,
 * so an error never leaves a half-written value.
 *
 * Locking: each operation holds its key's partition lock for its duration:
 * shared for reads, exclusive for writes.  MSET takes the locks one key at a
 * time (see kv_mset).
 *
 * kvcache/kv_string.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "catalog/pg_type.h"
#include "common/int.h"
#include "fmgr.h"
#include "mb/pg_wchar.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/lsyscache.h"

#include "kvcache.h"

/* ----------------------------------------------------------------
 * C API
 * ----------------------------------------------------------------
 */

/* Raise 54000 if a value is over the documented limit */
static void
kv_check_value_size(Size len)
{
	if (len > KV_MAX_VALUE_BYTES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("value is too long"),
				 errdetail("Value length is %zu bytes; the limit is %d bytes.",
						   len, KV_MAX_VALUE_BYTES)));
}

/* Build a new string entry holding val (not linked) */
static KvEntry *
kv_string_build(KvKey *key, const char *val, Size len, bool binary, KvEntry *protect)
{
	KvEntry    *e = KvEntryCreate(key, KV_TYPE_STRING, len, protect);

	memcpy(KV_ENTRY_VALUE(e), val, len);
	if (binary)
		e->flags |= KV_FLAG_BINARY;
	return e;
}

/*
 * SET key val: flags KV_SET_*; expire_at is an absolute time in ms or 0.
 * Returns false if NX/XX refused the write.
 */
bool
KvStringSet(KvKey *key, const char *val, Size len, bool binary,
			int64 expire_at, int flags)
{
	KvEntry    *old;
	KvEntry    *e;

	kv_check_value_size(len);
	KvLockPartition(key, LW_EXCLUSIVE);
	old = KvLookup(key, true, false);
	if (((flags & KV_SET_NX) && old) || ((flags & KV_SET_XX) && !old))
	{
		KvUnlockPartition(key);
		return false;
	}
	e = kv_string_build(key, val, len, binary, old);
	if ((flags & KV_SET_KEEPTTL) && old)
		e->expire_at = old->expire_at;
	else
		e->expire_at = expire_at;
	KvEntryLink(key, e, old);
	KvUnlockPartition(key);
	return true;
}

/* Copy an entry's string value into a new varlena (text or bytea) */
static struct varlena *
kv_string_copy(KvEntry *e, bool as_bytea)
{
	struct varlena *result = (struct varlena *) palloc(VARHDRSZ + e->vallen);

	SET_VARSIZE(result, VARHDRSZ + e->vallen);
	memcpy(VARDATA(result), KV_ENTRY_VALUE(e), e->vallen);
	return result;
}

/* A binary value read as text must be valid in the database encoding */
static void
kv_check_text(struct varlena *v, bool binary)
{
	if (binary &&
		!pg_verifymbstr(VARDATA(v), VARSIZE(v) - VARHDRSZ, true))
		ereport(ERROR,
				(errcode(ERRCODE_CHARACTER_NOT_IN_REPERTOIRE),
				 errmsg("value is not valid in encoding \"%s\"",
						GetDatabaseEncodingName()),
				 errhint("Read it with kv.get_bytea().")));
}

/*
 * GET key.  Returns a palloc'd text (or bytea) or NULL if missing.  A key
 * of another type raises 42809, or returns NULL with wrongtype_null.
 */
struct varlena *
KvStringGet(KvKey *key, bool as_bytea, bool wrongtype_null)
{
	KvEntry    *e;
	struct varlena *result = NULL;
	bool		binary = false;

	if (key->dbslot < 0)
	{
		/* no key was ever set in this database */
		return NULL;
	}
	KvLockPartition(key, LW_SHARED);
	e = KvLookup(key, false, true);
	if (e && e->type != KV_TYPE_STRING)
	{
		if (!wrongtype_null)
			KvWrongType(e->type, KV_TYPE_STRING);
		e = NULL;
	}
	if (e)
	{
		result = kv_string_copy(e, as_bytea);
		binary = (e->flags & KV_FLAG_BINARY) != 0;
	}
	KvUnlockPartition(key);
	if (result && !as_bytea)
		kv_check_text(result, binary);
	return result;
}

/*
 * GETSET (replace = true, new value val) or GETDEL (replace = false).
 * Returns the old value or NULL.  GETSET clears any TTL, as SET does.
 */
struct varlena *
KvStringGetAndReplace(KvKey *key, const char *val, Size len, bool replace)
{
	KvEntry    *old;
	struct varlena *result = NULL;
	bool		binary = false;

	if (replace)
		kv_check_value_size(len);
	KvLockPartition(key, LW_EXCLUSIVE);
	old = KvLookupTyped(key, KV_TYPE_STRING, true, true);
	if (old)
	{
		result = kv_string_copy(old, false);
		binary = (old->flags & KV_FLAG_BINARY) != 0;
	}
	if (replace)
	{
		KvEntry    *e = kv_string_build(key, val, len, false, old);

		KvEntryLink(key, e, old);
	}
	else if (old)
		KvEntryDelete(key, old);
	KvUnlockPartition(key);

	/*
	 * The change is done; an encoding error now still reports the problem
	 * (the old value was binary) but cannot undo it, as in Redis.
	 */
	if (result)
		kv_check_text(result, binary);
	return result;
}

/*
 * INCRBY key delta.  The value must be a strict 64-bit integer; the TTL is
 * kept.  Returns the new value.
 */
int64
KvStringIncr(KvKey *key, int64 delta)
{
	KvEntry    *old;
	KvEntry    *e;
	int64		cur = 0;
	int64		result;
	char		buf[32];
	int			len;

	KvLockPartition(key, LW_EXCLUSIVE);
	old = KvLookupTyped(key, KV_TYPE_STRING, true, false);
	if (old && !KvParseInt64(KV_ENTRY_VALUE(old), old->vallen, &cur))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("value is not an integer or out of range")));
	if (pg_add_s64_overflow(cur, delta, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment or decrement would overflow")));
	len = pg_lltoa(result, buf);

	/* rewrite in place when the length is unchanged (the common case) */
	if (old && old->vallen == (uint32) len)
	{
		memcpy(KV_ENTRY_VALUE(old), buf, len);
		old->flags &= ~KV_FLAG_BINARY;
	}
	else
	{
		e = kv_string_build(key, buf, len, false, old);
		if (old)
			e->expire_at = old->expire_at;
		KvEntryLink(key, e, old);
	}
	KvUnlockPartition(key);
	return result;
}

/*
 * INCRBYFLOAT key delta: long double arithmetic, result formatted with 17
 * decimals and trailing zeros trimmed; never NaN, Infinity or "-0".
 */
double
KvStringIncrFloat(KvKey *key, double delta)
{
	KvEntry    *old;
	KvEntry    *e;
	long double cur = 0;
	long double result;
	char		buf[KV_LONG_DOUBLE_BUFSIZE];
	int			len;

	if (isnan(delta) || isinf(delta))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment would produce NaN or Infinity")));
	KvLockPartition(key, LW_EXCLUSIVE);
	old = KvLookupTyped(key, KV_TYPE_STRING, true, false);
	if (old && !KvParseLongDouble(KV_ENTRY_VALUE(old), old->vallen, &cur))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_TEXT_REPRESENTATION),
				 errmsg("value is not a valid float")));
	if (!KvLongDoubleAdd(cur, delta, &result))
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("increment would produce NaN or Infinity")));
	len = KvFormatLongDouble(result, buf, sizeof(buf));
	e = kv_string_build(key, buf, len, false, old);
	if (old)
		e->expire_at = old->expire_at;
	KvEntryLink(key, e, old);
	KvUnlockPartition(key);
	return (double) result;
}

/* APPEND key val: returns the new length; keeps the TTL */
int64
KvStringAppend(KvKey *key, const char *val, Size len)
{
	KvEntry    *old;
	KvEntry    *e;
	Size		oldlen;
	int64		newlen;

	KvLockPartition(key, LW_EXCLUSIVE);
	old = KvLookupTyped(key, KV_TYPE_STRING, true, false);
	oldlen = old ? old->vallen : 0;
	kv_check_value_size(oldlen + len);
	e = KvEntryCreate(key, KV_TYPE_STRING, oldlen + len, old);
	if (old)
	{
		memcpy(KV_ENTRY_VALUE(e), KV_ENTRY_VALUE(old), oldlen);
		e->flags = old->flags;
		e->expire_at = old->expire_at;
	}
	memcpy(KV_ENTRY_VALUE(e) + oldlen, val, len);
	KvEntryLink(key, e, old);
	newlen = (int64) (oldlen + len);
	KvUnlockPartition(key);
	return newlen;
}

/* STRLEN key: bytes of the value, 0 if missing */
int64
KvStringStrlen(KvKey *key)
{
	KvEntry    *e;
	int64		len = 0;

	if (key->dbslot < 0)
		return 0;
	KvLockPartition(key, LW_SHARED);
	e = KvLookupTyped(key, KV_TYPE_STRING, false, true);
	if (e)
		len = e->vallen;
	KvUnlockPartition(key);
	return len;
}

/* ----------------------------------------------------------------
 * SQL interface
 * ----------------------------------------------------------------
 */

PG_FUNCTION_INFO_V1(kv_set);
PG_FUNCTION_INFO_V1(kv_set_bytea);
PG_FUNCTION_INFO_V1(kv_get);
PG_FUNCTION_INFO_V1(kv_get_bytea);
PG_FUNCTION_INFO_V1(kv_getset);
PG_FUNCTION_INFO_V1(kv_getdel);
PG_FUNCTION_INFO_V1(kv_mget);
PG_FUNCTION_INFO_V1(kv_mset);
PG_FUNCTION_INFO_V1(kv_incr);
PG_FUNCTION_INFO_V1(kv_decr);
PG_FUNCTION_INFO_V1(kv_incrbyfloat);
PG_FUNCTION_INFO_V1(kv_append);
PG_FUNCTION_INFO_V1(kv_strlen);

/* Raise 22004 for a NULL value argument */
static void
kv_null_value_error(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("value must not be null")));
}

/* Shared body of kv.set(text) and kv.set(bytea) */
static Datum
kv_set_common(FunctionCallInfo fcinfo, bool binary)
{
	KvKey		key;
	struct varlena *val;
	int			flags = 0;
	int64		expire_at = 0;
	bool		has_ttl = !PG_ARGISNULL(2);

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_null_value_error();
	if (!PG_ARGISNULL(3) && PG_GETARG_BOOL(3))
		flags |= KV_SET_NX;
	if (!PG_ARGISNULL(4) && PG_GETARG_BOOL(4))
		flags |= KV_SET_XX;
	if (!PG_ARGISNULL(5) && PG_GETARG_BOOL(5))
		flags |= KV_SET_KEEPTTL;
	if ((flags & KV_SET_NX) && (flags & KV_SET_XX))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("nx and xx cannot both be true")));
	if ((flags & KV_SET_KEEPTTL) && has_ttl)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("keepttl cannot be combined with ttl")));
	if (has_ttl)
	{
		int64		ms = KvIntervalToMs(PG_GETARG_INTERVAL_P(2));

		if (ms <= 0)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid expire time in \"set\""),
					 errdetail("The ttl must be positive.")));
		if (pg_add_s64_overflow(KvNowMs(), ms, &expire_at))
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("invalid expire time in \"set\"")));
	}
	val = PG_GETARG_VARLENA_PP(1);
	/* a plain SET does not depend on the old value */
	KV_ARG_KEY_BLIND(fcinfo, 0, key, true,
					 (flags & (KV_SET_NX | KV_SET_XX | KV_SET_KEEPTTL)) == 0);
	PG_RETURN_BOOL(KvStringSet(&key, VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val),
							   binary, expire_at, flags));
}

/* kv.set(key text, value text, ttl, nx, xx, keepttl) */
Datum
kv_set(PG_FUNCTION_ARGS)
{
	return kv_set_common(fcinfo, false);
}

/* kv.set(key text, value bytea, ttl, nx, xx, keepttl) */
Datum
kv_set_bytea(PG_FUNCTION_ARGS)
{
	return kv_set_common(fcinfo, true);
}

/* Shared body of kv.get and kv.get_bytea */
static Datum
kv_get_common(FunctionCallInfo fcinfo, bool as_bytea)
{
	KvKey		key;
	struct varlena *v;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	v = KvStringGet(&key, as_bytea, false);
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(v);
}

/* kv.get(key text) -> text */
Datum
kv_get(PG_FUNCTION_ARGS)
{
	return kv_get_common(fcinfo, false);
}

/* kv.get_bytea(key text) -> bytea */
Datum
kv_get_bytea(PG_FUNCTION_ARGS)
{
	return kv_get_common(fcinfo, true);
}

/* kv.getset(key text, value text) -> text */
Datum
kv_getset(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *val;
	struct varlena *v;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	if (PG_ARGISNULL(1))
		kv_null_value_error();
	val = PG_GETARG_TEXT_PP(1);
	KV_ARG_KEY(fcinfo, 0, key, true);
	v = KvStringGetAndReplace(&key, VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val), true);
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(v);
}

/* kv.getdel(key text) -> text */
Datum
kv_getdel(PG_FUNCTION_ARGS)
{
	KvKey		key;
	struct varlena *v;

	if (PG_ARGISNULL(0))
		KvNullKeyError();
	KV_ARG_KEY(fcinfo, 0, key, false);
	if (key.dbslot < 0)
		PG_RETURN_NULL();
	v = KvStringGetAndReplace(&key, NULL, 0, false);
	if (v == NULL)
		PG_RETURN_NULL();
	PG_RETURN_POINTER(v);
}

/* kv.mget(keys text[]) -> text[]: NULL for missing and non-string keys */
Datum
kv_mget(PG_FUNCTION_ARGS)
{
	ArrayType  *keys = PG_GETARG_ARRAYTYPE_P(0);
	Datum	   *kd;
	bool	   *kn;
	int			n;
	Datum	   *out;
	bool	   *outnull;
	int			i;
	int			dims[1];
	int			lbs[1] = {1};

	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &kd, &kn, &n);
	out = palloc(sizeof(Datum) * Max(n, 1));
	outnull = palloc(sizeof(bool) * Max(n, 1));
	for (i = 0; i < n; i++)
	{
		KvKey		key;
		struct varlena *v = NULL;

		if (!kn[i])
		{
			KvKeyInitText(&key, DatumGetTextPP(kd[i]), false);
			v = KvStringGet(&key, false, true);
		}
		out[i] = PointerGetDatum(v);
		outnull[i] = (v == NULL);
	}
	dims[0] = n;
	if (n == 0)
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(TEXTOID));
	PG_RETURN_ARRAYTYPE_P(construct_md_array(out, outnull, 1, dims, lbs,
											 TEXTOID, -1, false, TYPALIGN_INT));
}

/*
 * kv.mset(keys text[], vals text[]).  All arguments are validated and every
 * new entry is allocated before any key changes, so bad input or a memory
 * shortage changes nothing.  Keys are then replaced one at a time (other
 * sessions may see some keys already set; last duplicate wins).
 */
Datum
kv_mset(PG_FUNCTION_ARGS)
{
	ArrayType  *keys;
	ArrayType  *vals;
	Datum	   *kd,
			   *vd;
	bool	   *kn,
			   *vn;
	int			nk,
				nv;
	int			i;
	KvKey	   *kk;
	KvEntry   **built;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		KvNullKeyError();
	keys = PG_GETARG_ARRAYTYPE_P(0);
	vals = PG_GETARG_ARRAYTYPE_P(1);
	deconstruct_array(keys, TEXTOID, -1, false, TYPALIGN_INT, &kd, &kn, &nk);
	deconstruct_array(vals, TEXTOID, -1, false, TYPALIGN_INT, &vd, &vn, &nv);
	if (nk != nv)
		ereport(ERROR,
				(errcode(ERRCODE_ARRAY_SUBSCRIPT_ERROR),
				 errmsg("keys and vals must have the same number of elements")));
	kk = palloc(sizeof(KvKey) * Max(nk, 1));
	built = palloc0(sizeof(KvEntry *) * Max(nk, 1));
	for (i = 0; i < nk; i++)
	{
		if (kn[i])
			KvNullKeyError();
		if (vn[i])
			kv_null_value_error();
		kd[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(kd[i]));
		vd[i] = PointerGetDatum(PG_DETOAST_DATUM_PACKED(vd[i]));
		kv_check_value_size(VARSIZE_ANY_EXHDR(DatumGetPointer(vd[i])));
		KvKeyInitWrite(&kk[i], (text *) DatumGetPointer(kd[i]), true, true);
		KvCheckChunkFits(KV_ENTRY_SIZE(kk[i].len, VARSIZE_ANY_EXHDR(DatumGetPointer(vd[i]))));
	}

	/* build every entry first; on failure give them all back */
	for (i = 0; i < nk; i++)
	{
		text	   *v = (text *) DatumGetPointer(vd[i]);
		Size		len = VARSIZE_ANY_EXHDR(v);

		KvLockPartition(&kk[i], LW_EXCLUSIVE);
		built[i] = KvEntryTryCreate(&kk[i], KV_TYPE_STRING, len, NULL);
		KvUnlockPartition(&kk[i]);
		if (built[i] == NULL)
		{
			int			j;

			for (j = 0; j < i; j++)
				KvFree(built[j]);
			KvOutOfMemory(KV_ENTRY_SIZE(kk[i].len, len));
		}
		memcpy(KV_ENTRY_VALUE(built[i]), VARDATA_ANY(v), len);
	}

	/* now link them; this cannot fail */
	for (i = 0; i < nk; i++)
	{
		KvEntry    *old;

		KvLockPartition(&kk[i], LW_EXCLUSIVE);
		old = KvLookup(&kk[i], true, false);
		KvEntryLink(&kk[i], built[i], old);
		KvUnlockPartition(&kk[i]);
	}
	PG_RETURN_VOID();
}

/* kv.incr(key text, increment bigint) -> bigint */
Datum
kv_incr(PG_FUNCTION_ARGS)
{
	KvKey		key;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("increment must not be null")));
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvStringIncr(&key, PG_GETARG_INT64(1)));
}

/* kv.decr(key text, decrement bigint) -> bigint */
Datum
kv_decr(PG_FUNCTION_ARGS)
{
	KvKey		key;
	int64		dec;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("decrement must not be null")));
	dec = PG_GETARG_INT64(1);
	if (dec == PG_INT64_MIN)
		ereport(ERROR,
				(errcode(ERRCODE_NUMERIC_VALUE_OUT_OF_RANGE),
				 errmsg("decrement would overflow")));
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvStringIncr(&key, -dec));
}

/* kv.incrbyfloat(key text, increment float8) -> float8 */
Datum
kv_incrbyfloat(PG_FUNCTION_ARGS)
{
	KvKey		key;

	if (PG_ARGISNULL(1))
		ereport(ERROR,
				(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
				 errmsg("increment must not be null")));
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_FLOAT8(KvStringIncrFloat(&key, PG_GETARG_FLOAT8(1)));
}

/* kv.append(key text, value text) -> bigint */
Datum
kv_append(PG_FUNCTION_ARGS)
{
	KvKey		key;
	text	   *val;

	if (PG_ARGISNULL(1))
		kv_null_value_error();
	val = PG_GETARG_TEXT_PP(1);
	KV_ARG_KEY(fcinfo, 0, key, true);
	PG_RETURN_INT64(KvStringAppend(&key, VARDATA_ANY(val), VARSIZE_ANY_EXHDR(val)));
}

/* kv.strlen(key text) -> bigint */
Datum
kv_strlen(PG_FUNCTION_ARGS)
{
	KvKey		key;

	KvKeyInitText(&key, PG_GETARG_TEXT_PP(0), false);
	PG_RETURN_INT64(KvStringStrlen(&key));
}
