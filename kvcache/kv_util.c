/*-------------------------------------------------------------------------
 *
 * kv_util.c
 *	  Small helpers shared by the SQL layers: interval conversion, argument
 *	  errors, and Redis glob matching.
 *
 * kvcache/kv_util.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/int.h"
#include "datatype/timestamp.h"
#include "miscadmin.h"

#include "kvcache.h"

/*
 * Convert an interval to milliseconds, counting a month as 30 days (as
 * EXTRACT(EPOCH FROM interval) does).  Raises 22023 on overflow.
 */
int64
KvIntervalToMs(Interval *iv)
{
	int64		ms = iv->time / 1000;
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
 * Redis glob matching (stringmatchlen): '*' any run, '?' one byte,
 * '[...]' a set with ranges and '^' negation, '\' escapes.  Byte-wise.
 * Recursion depth is bounded by the number of '*' in the pattern, and
 * consecutive '*' are collapsed.  Checks for interrupts, so it must not be
 * called with an LWLock held.
 */
bool
KvGlobMatch(const char *pattern, int plen, const char *str, int slen, bool nocase)
{
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
