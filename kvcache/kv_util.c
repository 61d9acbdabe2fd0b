/*-------------------------------------------------------------------------
 *
 * kv_util.c
 *	  Small helpers shared by the SQL layers: interval conversion, argument
 *	  errors, Redis number parsing and formatting, and Redis glob matching.
 *
 * kvcache/kv_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <math.h>

#include "common/hashfn.h"
#include "common/int.h"
#include "common/shortest_dec.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"
#include "utils/memutils.h"

#include "kvcache.h"

/*
 * Convert an interval to milliseconds, counting a month as 30 days (as
 * EXTRACT(EPOCH FROM interval) does).  Raises 22023 on overflow.
 */
int64
KvIntervalToMs(Interval *iv)
{
	/* a positive part below a millisecond rounds up, so it never reads as 0 */
	int64		ms = iv->time / 1000 + (iv->time % 1000 > 0 ? 1 : 0);
	int64		days_ms;
	int64		months_ms;

	if (pg_mul_s64_overflow((int64) iv->day, INT64CONST(86400000), &days_ms) ||
		pg_mul_s64_overflow((int64) iv->month, INT64CONST(30) * 86400000, &months_ms) ||
		pg_add_s64_overflow(ms, days_ms, &ms) ||
		pg_add_s64_overflow(ms, months_ms, &ms))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid expire time")));
	return ms;
}

/* Raise the error for a NULL key or value in a write */
text *
KvNullKeyError(void)
{
	ereport(ERROR,
			(errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
			 errmsg("key must not be null")));
}

/*
 * Parse a Redis integer: optional '-', digits, no leading zeros (except
 * "0"), no spaces, fits in int64.
 */
bool
KvParseInt64(const char *s, Size len, int64 *result)
{
	bool		neg = false;
	uint64		v = 0;
	Size		i = 0;

	if (len == 0 || len > 20)
		return false;
	if (len == 1 && s[0] == '0')
	{
		*result = 0;
		return true;
	}
	if (s[0] == '-')
	{
		neg = true;
		i = 1;
		if (len == 1)
			return false;
	}
	if (s[i] < '1' || s[i] > '9')
		return false;
	for (; i < len; i++)
	{
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (PG_UINT64_MAX - (s[i] - '0')) / 10)
			return false;
		v = v * 10 + (s[i] - '0');
	}
	if (neg)
	{
		if (v > (uint64) PG_INT64_MAX + 1)
			return false;
		*result = (int64) (0 - v);
	}
	else
	{
		if (v > (uint64) PG_INT64_MAX)
			return false;
		*result = (int64) v;
	}
	return true;
}

/* Parse a stored float the way Redis does (strtold, no spaces, no NaN) */
bool
KvParseLongDouble(const char *s, Size len, long double *result)
{
	char		buf[KV_LONG_DOUBLE_BUFSIZE];
	char	   *end;
	long double v;

	if (len == 0 || len >= sizeof(buf) || isspace((unsigned char) s[0]))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	errno = 0;
	v = strtold(buf, &end);
	if (end != buf + len || errno == ERANGE || isnan(v))
		return false;
	*result = v;
	return true;
}

/*
 * result = cur + delta in long double, taking delta as the shortest decimal
 * that round-trips (so 10.5 + 0.1 gives 10.6, as in Redis).  Returns false
 * if the result is NaN or infinite.
 */
bool
KvLongDoubleAdd(long double cur, double delta, long double *result)
{
	char		buf[64];
	long double r;

	if (isnan(delta) || isinf(delta))
		return false;
	double_to_shortest_decimal_buf(delta, buf);
	r = cur + strtold(buf, NULL);
	if (isnan(r) || isinf(r) || isinf((double) r))
		return false;
	*result = (r == 0) ? 0 : r;	/* no "-0" */
	return true;
}

/*
 * Format a long double as Redis does for INCRBYFLOAT: 17 decimals, then
 * trailing zeros (and a trailing point) trimmed, never "-0".  Returns the
 * length.  PostgreSQL's snprintf has no long double support, so this uses
 * the C library's.
 */
int
KvFormatLongDouble(long double v, char *buf, Size bufsize)
{
	int			len;

#undef snprintf
	len = snprintf(buf, bufsize, "%.17Lf", v);
	if (len < 0 || (Size) len >= bufsize)
		elog(ERROR, "kvcache: could not format a long double");
	if (strchr(buf, '.'))
	{
		while (len > 0 && buf[len - 1] == '0')
			len--;
		if (len > 0 && buf[len - 1] == '.')
			len--;
	}
	if (len == 2 && buf[0] == '-' && buf[1] == '0')
	{
		buf[0] = '0';
		len = 1;
	}
	buf[len] = '\0';
	return len;
}
/*
 * Resolve a Redis index range against len elements (LRANGE, ZRANGE, ...):
 * negative indexes count from the end, start is clamped to 0 and stop to
 * len - 1.  Returns false if nothing is left (start past stop or the end).
 */
bool
KvClampRange(int64 len, int64 *start, int64 *stop)
{
	if (*start < 0)
		*start += len;
	if (*stop < 0)
		*stop += len;
	if (*start < 0)
		*start = 0;
	if (*start > *stop || *start >= len)
		return false;
	if (*stop >= len)
		*stop = len - 1;
	return true;
}

/*
 * Redis glob matching (stringmatchlen): '*' any run, '?' one byte,
 * '[...]' a set with ranges and '^' negation, '\' escapes.  Byte-wise.
 * Recursion depth grows with the number of '*' in the pattern (consecutive
 * ones are collapsed) and is checked against max_stack_depth.  Checks for interrupts, so it must not be
 * called with an LWLock held.
 */
bool
KvGlobMatch(const char *pattern, int plen, const char *str, int slen, bool nocase)
{
	check_stack_depth();
	while (plen && slen)
	{
		switch (pattern[0])
		{
			case '*':
				while (plen > 1 && pattern[1] == '*')
				{
					pattern++;
					plen--;
				}
				if (plen == 1)
					return true;	/* trailing star matches everything */
				while (slen)
				{
					CHECK_FOR_INTERRUPTS();
					if (KvGlobMatch(pattern + 1, plen - 1, str, slen, nocase))
						return true;
					str++;
					slen--;
				}
				return false;
			case '?':
				str++;
				slen--;
				break;
			case '[':
				{
					bool		not;
					bool		match = false;

					pattern++;
					plen--;
					not = (plen > 0 && pattern[0] == '^');
					if (not)
					{
						pattern++;
						plen--;
					}
					for (;;)
					{
						if (plen == 0)
						{
							/* unterminated set: treat like ']' */
							break;
						}
						if (pattern[0] == '\\' && plen >= 2)
						{
							pattern++;
							plen--;
							if (pattern[0] == str[0])
								match = true;
						}
						else if (pattern[0] == ']')
							break;
						else if (plen >= 3 && pattern[1] == '-')
						{
							unsigned char start = pattern[0];
							unsigned char end = pattern[2];
							unsigned char c = str[0];

							if (start > end)
							{
								unsigned char t = start;

								start = end;
								end = t;
							}
							if (nocase)
							{
								start = pg_tolower(start);
								end = pg_tolower(end);
								c = pg_tolower(c);
							}
							pattern += 2;
							plen -= 2;
							if (c >= start && c <= end)
								match = true;
						}
						else
						{
							if (nocase ? pg_tolower((unsigned char) pattern[0]) == pg_tolower((unsigned char) str[0])
								: pattern[0] == str[0])
								match = true;
						}
						pattern++;
						plen--;
					}
					if (not)
						match = !match;
					if (!match)
						return false;
					str++;
					slen--;
					if (plen == 0)
						return slen == 0;
					break;
				}
			case '\\':
				if (plen >= 2)
				{
					pattern++;
					plen--;
				}
				/* FALLTHROUGH */
			default:
				if (nocase ? pg_tolower((unsigned char) pattern[0]) != pg_tolower((unsigned char) str[0])
					: pattern[0] != str[0])
					return false;
				str++;
				slen--;
				break;
		}
		pattern++;
		plen--;
		if (slen == 0)
		{
			while (plen && *pattern == '*')
			{
				pattern++;
				plen--;
			}
			break;
		}
	}
	return plen == 0 && slen == 0;
}

/* dynahash hash function for KvBytesKey */
static uint32
kv_bytes_hash(const void *key, Size keysize)
{
	const KvBytesKey *k = (const KvBytesKey *) key;

	return hash_bytes((const unsigned char *) k->data, (int) k->len);
}

/* dynahash match function for KvBytesKey: 0 when equal */
static int
kv_bytes_match(const void *key1, const void *key2, Size keysize)
{
	const KvBytesKey *a = (const KvBytesKey *) key1;
	const KvBytesKey *b = (const KvBytesKey *) key2;

	if (a->len == b->len && memcmp(a->data, b->data, a->len) == 0)
		return 0;
	return 1;
}

/* A hash table of entries starting with a KvBytesKey, for this transaction */
HTAB *
KvBytesTableCreate(const char *name, Size entrysize)
{
	HASHCTL		ctl;

	ctl.keysize = sizeof(KvBytesKey);
	ctl.entrysize = entrysize;
	ctl.hash = kv_bytes_hash;
	ctl.match = kv_bytes_match;
	ctl.hcxt = TopTransactionContext;
	return hash_create(name, 64, &ctl,
					   HASH_ELEM | HASH_FUNCTION | HASH_COMPARE | HASH_CONTEXT);
}
