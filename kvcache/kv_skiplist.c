/*-------------------------------------------------------------------------
 *
 * kv_skiplist.c
 *	  A skiplist with spans: the ordered half of a sorted set.
 *
 * Structure (Pugh's skiplist as Redis uses it for ZSETs): nodes are kept in
 * ascending order of (score, member bytes).  Every node has a tower of
 * 1..KV_SKIP_MAXLEVEL levels, chosen at random with P(level > k) =
 * 0.25^k, so a search touches O(log n) nodes on average.  Each level
 * link carries a span, the number of level-0 steps it jumps, so the rank of
 * a node is the sum of the spans crossed on the way to it and the node of
 * a given rank is found by the same descent: rank and select are O(log n).
 * Level 0 is doubly linked (backward pointers) for reverse iteration.
 *
 * Order: by score (a double, never NaN; -0 equals 0), then by member bytes
 * with memcmp, a member that is a prefix of another sorting first.  Two
 * nodes never compare equal because a set never holds a member twice; the
 * member index in kv_zset.c guarantees that.
 *
 * Invariants (n = length; the header node has rank 0 and every level):
 *	  - for a link at level i from a node of rank r to a node of rank r2,
 *		span = r2 - r; for a NULL link, span = n - r;
 *	  - levels at or above sl->level are NULL links in the header;
 *	  - sl->level is the highest level any node has (1 if empty), and
 *		tail is the last node (NULL if empty).
 *
 * Memory: this file never allocates.  Callers give it nodes allocated from
 * the arena and initialised with KvSkipNodeInit, and get them back from the
 * delete functions (range deletes hand each unlinked node to a callback).
 * A node keeps its tower for life, so a score update that moves it just
 * unlinks and relinks the same chunk: no operation here can fail, which is
 * what lets kv_zset.c allocate first and then mutate without error paths.
 *
 * Locking: none here; the caller holds the partition lock of the key that
 * owns the list (shared for the read functions, exclusive otherwise).
 *
 * kvcache/kv_skiplist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "common/pg_prng.h"
#include "port/pg_bitutils.h"

#include "kv_zset.h"

/* Does node x sort before (score, m, len)? */
static inline bool
kv_skip_before(const KvSkipNode *x, double score, const char *m, uint32 len)
{
	if (x->score != score)
		return x->score < score;
	return KvSkipMemberCompare(KV_SKIP_MEMBER(x), x->mlen, m, len) < 0;
}

/* Is value above the lower end of range? */
static inline bool
kv_skip_gte_min(double value, const KvScoreRange *range)
{
	return range->minex ? value > range->min : value >= range->min;
}

/* Is value below the upper end of range? */
static inline bool
kv_skip_lte_max(double value, const KvScoreRange *range)
{
	return range->maxex ? value < range->max : value <= range->max;
}

/* Make sl an empty list */
void
KvSkipInit(KvSkipList *sl)
{
	KvSkipNode *head = KV_SKIP_HEAD(sl);
	int			i;

	sl->tail = NULL;
	sl->length = 0;
	sl->level = 1;
	head->score = 0;
	head->backward = NULL;
	head->hnext = NULL;
	head->mlen = 0;
	head->nlevel = KV_SKIP_MAXLEVEL;
	for (i = 0; i < KV_SKIP_MAXLEVEL; i++)
	{
		head->level[i].forward = NULL;
		head->level[i].span = 0;
	}
}

/*
 * A random tower height: 1 + the number of trailing zero bit pairs of one
 * random word, so P(level > k) = 0.25^k (Redis's ZSKIPLIST_P), capped at
 * KV_SKIP_MAXLEVEL.
 */
int
KvSkipRandomLevel(void)
{
	uint64		r = pg_prng_uint64(&pg_global_prng_state);
	int			level;

	if (r == 0)
		return KV_SKIP_MAXLEVEL;
	level = 1 + pg_rightmost_one_pos64(r) / 2;
	return Min(level, KV_SKIP_MAXLEVEL);
}

/*
 * Fill in a node chunk of at least KV_SKIP_NODE_SIZE(mlen, nlevel) bytes.
 * Its links are set when it is inserted.
 */
void
KvSkipNodeInit(KvSkipNode *node, double score, const char *member,
			   uint32 mlen, int nlevel)
{
	Assert(nlevel >= 1 && nlevel <= KV_SKIP_MAXLEVEL);
	node->score = score;
	node->backward = NULL;
	node->hnext = NULL;
	node->mlen = mlen;
	node->nlevel = (uint8) nlevel;
	memcpy(KV_SKIP_MEMBER(node), member, mlen);
}

/*
 * Link node x into its place.  x's (score, member) must not be in the list
 * already.  O(log n).
 */
void
KvSkipInsert(KvSkipList *sl, KvSkipNode *x)
{
	KvSkipNode *head = KV_SKIP_HEAD(sl);
	KvSkipNode *update[KV_SKIP_MAXLEVEL];
	uint64		rank[KV_SKIP_MAXLEVEL];
	const char *m = KV_SKIP_MEMBER(x);
	KvSkipNode *p = head;
	int			level = x->nlevel;
	int			i;

	/* find the last node before x at each level, and its rank */
	for (i = sl->level - 1; i >= 0; i--)
	{
		rank[i] = (i == sl->level - 1) ? 0 : rank[i + 1];
		while (p->level[i].forward &&
			   kv_skip_before(p->level[i].forward, x->score, m, x->mlen))
		{
			rank[i] += p->level[i].span;
			p = p->level[i].forward;
		}
		update[i] = p;
	}

	/* levels new to the list start at the header with a NULL link */
	if (level > sl->level)
	{
		for (i = sl->level; i < level; i++)
		{
			rank[i] = 0;
			update[i] = head;
			head->level[i].span = sl->length;
		}
		sl->level = level;
	}

	/* rank[0] + 1 is x's rank: split the links x goes under */
	for (i = 0; i < level; i++)
	{
		x->level[i].forward = update[i]->level[i].forward;
		update[i]->level[i].forward = x;
		x->level[i].span = update[i]->level[i].span - (rank[0] - rank[i]);
		update[i]->level[i].span = (rank[0] - rank[i]) + 1;
	}
	/* links that pass over x now jump one more node */
	for (i = level; i < sl->level; i++)
		update[i]->level[i].span++;

	x->backward = (update[0] == head) ? NULL : update[0];
	if (x->level[0].forward)
		x->level[0].forward->backward = x;
	else
		sl->tail = x;
	sl->length++;
}

/*
 * Unlink x given update[i], the last node before x at each level.  update
 * stays valid for unlinking x's successor, which range deletes rely on.
 */
static void
kv_skip_unlink(KvSkipList *sl, KvSkipNode *x, KvSkipNode **update)
{
	KvSkipNode *head = KV_SKIP_HEAD(sl);
	int			i;

	for (i = 0; i < sl->level; i++)
	{
		if (update[i]->level[i].forward == x)
		{
			update[i]->level[i].span += x->level[i].span - 1;
			update[i]->level[i].forward = x->level[i].forward;
		}
		else
			update[i]->level[i].span--;
	}
	if (x->level[0].forward)
		x->level[0].forward->backward = x->backward;
	else
		sl->tail = x->backward;
	while (sl->level > 1 && head->level[sl->level - 1].forward == NULL)
	{
		/* a level nobody uses any more: back to the empty state */
		head->level[sl->level - 1].span = 0;
		sl->level--;
	}
	sl->length--;
}

/* Fill update[] with the last node before x at each level */
static void
kv_skip_find_update(KvSkipList *sl, KvSkipNode *x, KvSkipNode **update)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	const char *m = KV_SKIP_MEMBER(x);
	int			i;

	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward &&
			   kv_skip_before(p->level[i].forward, x->score, m, x->mlen))
			p = p->level[i].forward;
		update[i] = p;
	}
	Assert(update[0]->level[0].forward == x);
}

/* Unlink node x, which must be in the list; the caller frees it.  O(log n) */
void
KvSkipDelete(KvSkipList *sl, KvSkipNode *x)
{
	KvSkipNode *update[KV_SKIP_MAXLEVEL];

	kv_skip_find_update(sl, x, update);
	kv_skip_unlink(sl, x, update);
}

/*
 * Change the score of node x.  In place when x stays between its
 * neighbours (O(1)), else unlink and relink the same node (O(log n)).
 */
void
KvSkipUpdateScore(KvSkipList *sl, KvSkipNode *x, double score)
{
	if ((x->backward == NULL || x->backward->score < score) &&
		(x->level[0].forward == NULL || x->level[0].forward->score > score))
	{
		x->score = score;
		return;
	}
	KvSkipDelete(sl, x);
	x->score = score;
	KvSkipInsert(sl, x);
}

/* 1-based rank of node x, which must be in the list.  O(log n) */
uint64
KvSkipRank(KvSkipList *sl, KvSkipNode *x)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	const char *m = KV_SKIP_MEMBER(x);
	uint64		rank = 0;
	int			i;

	/* advance over every node that sorts before x or is x */
	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward &&
			   (p->level[i].forward == x ||
				kv_skip_before(p->level[i].forward, x->score, m, x->mlen)))
		{
			rank += p->level[i].span;
			p = p->level[i].forward;
		}
		if (p == x)
			return rank;
	}
	elog(ERROR, "kvcache: sorted set node not found in its skiplist");
	return 0;					/* keep compiler quiet */
}

/* Node of 1-based rank, or NULL if rank is 0 or past the end.  O(log n) */
KvSkipNode *
KvSkipByRank(KvSkipList *sl, uint64 rank)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		traversed = 0;
	int			i;

	if (rank == 0 || rank > sl->length)
		return NULL;
	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward && traversed + p->level[i].span <= rank)
		{
			traversed += p->level[i].span;
			p = p->level[i].forward;
		}
		if (traversed == rank)
			return p;
	}
	return NULL;
}

/* Is range empty whatever the list holds (min above max, or a point excluded)? */
bool
KvSkipRangeEmpty(const KvScoreRange *range)
{
	return range->min > range->max ||
		(range->min == range->max && (range->minex || range->maxex));
}

/* Can any node of the list be in range?  Checks the two ends only */
static bool
kv_skip_may_hold(KvSkipList *sl, const KvScoreRange *range)
{
	if (KvSkipRangeEmpty(range) || sl->tail == NULL)
		return false;
	return kv_skip_gte_min(sl->tail->score, range) &&
		kv_skip_lte_max(KV_SKIP_FIRST(sl)->score, range);
}

/*
 * First node with a score in range, and its 1-based rank; NULL if none.
 * O(log n)
 */
KvSkipNode *
KvSkipFirstInRange(KvSkipList *sl, const KvScoreRange *range, uint64 *rank)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		traversed = 0;
	int			i;

	if (!kv_skip_may_hold(sl, range))
		return NULL;
	/* advance over every node below the range */
	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward &&
			   !kv_skip_gte_min(p->level[i].forward->score, range))
		{
			traversed += p->level[i].span;
			p = p->level[i].forward;
		}
	}
	/* the tail is above min, so there is a next node */
	p = p->level[0].forward;
	Assert(p != NULL);
	if (!kv_skip_lte_max(p->score, range))
		return NULL;
	*rank = traversed + 1;
	return p;
}

/*
 * Last node with a score in range, and its 1-based rank; NULL if none.
 * O(log n)
 */
KvSkipNode *
KvSkipLastInRange(KvSkipList *sl, const KvScoreRange *range, uint64 *rank)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		traversed = 0;
	int			i;

	if (!kv_skip_may_hold(sl, range))
		return NULL;
	/* advance over every node not above the range */
	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward &&
			   kv_skip_lte_max(p->level[i].forward->score, range))
		{
			traversed += p->level[i].span;
			p = p->level[i].forward;
		}
	}
	/* the first node is below max, so p is not the header */
	Assert(p != KV_SKIP_HEAD(sl));
	if (!kv_skip_gte_min(p->score, range))
		return NULL;
	*rank = traversed;
	return p;
}

/*
 * Unlink the nodes of 1-based ranks start..end (inclusive, within the
 * list), passing each to fn.  Returns how many.  O(log n + m)
 */
uint64
KvSkipDeleteRangeByRank(KvSkipList *sl, uint64 start, uint64 end,
						KvSkipUnlinkFn fn, void *arg)
{
	KvSkipNode *update[KV_SKIP_MAXLEVEL];
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		traversed = 0;
	uint64		removed = 0;
	int			i;

	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward && traversed + p->level[i].span < start)
		{
			traversed += p->level[i].span;
			p = p->level[i].forward;
		}
		update[i] = p;
	}
	traversed++;
	p = p->level[0].forward;
	while (p && traversed <= end)
	{
		KvSkipNode *next = p->level[0].forward;

		kv_skip_unlink(sl, p, update);
		fn(p, arg);
		removed++;
		traversed++;
		p = next;
	}
	return removed;
}

/*
 * Unlink the nodes with a score in range, passing each to fn.  Returns how
 * many.  O(log n + m)
 */
uint64
KvSkipDeleteRangeByScore(KvSkipList *sl, const KvScoreRange *range,
						 KvSkipUnlinkFn fn, void *arg)
{
	KvSkipNode *update[KV_SKIP_MAXLEVEL];
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		removed = 0;
	int			i;

	if (KvSkipRangeEmpty(range))
		return 0;
	for (i = sl->level - 1; i >= 0; i--)
	{
		while (p->level[i].forward &&
			   !kv_skip_gte_min(p->level[i].forward->score, range))
			p = p->level[i].forward;
		update[i] = p;
	}
	p = p->level[0].forward;
	while (p && kv_skip_lte_max(p->score, range))
	{
		KvSkipNode *next = p->level[0].forward;

		kv_skip_unlink(sl, p, update);
		fn(p, arg);
		removed++;
		p = next;
	}
	return removed;
}

/*
 * Prepare to append nodes at the end of the list: record the last node at
 * every level and its rank.  O(log n)
 */
void
KvSkipAppendBegin(KvSkipList *sl, KvSkipAppender *app)
{
	KvSkipNode *p = KV_SKIP_HEAD(sl);
	uint64		rank = 0;
	int			i;

	for (i = KV_SKIP_MAXLEVEL - 1; i >= 0; i--)
	{
		if (i < sl->level)
		{
			while (p->level[i].forward)
			{
				rank += p->level[i].span;
				p = p->level[i].forward;
			}
		}
		app->update[i] = p;
		app->rank[i] = rank;
	}
}

/*
 * Append node x after the current tail; x must sort after it.  Amortised
 * O(1): the bulk load of a new set sorts its members and appends them.
 */
void
KvSkipAppend(KvSkipList *sl, KvSkipAppender *app, KvSkipNode *x)
{
	KvSkipNode *head = KV_SKIP_HEAD(sl);
	uint64		r = sl->length + 1;
	int			level = x->nlevel;
	int			i;

	Assert(sl->tail == NULL ||
		   KvSkipCompare(sl->tail->score, KV_SKIP_MEMBER(sl->tail), sl->tail->mlen,
						 x->score, KV_SKIP_MEMBER(x), x->mlen) < 0);
	if (level > sl->level)
	{
		for (i = sl->level; i < level; i++)
		{
			app->update[i] = head;
			app->rank[i] = 0;
			head->level[i].span = sl->length;
		}
		sl->level = level;
	}
	for (i = 0; i < level; i++)
	{
		app->update[i]->level[i].forward = x;
		app->update[i]->level[i].span = r - app->rank[i];
		x->level[i].forward = NULL;
		x->level[i].span = 0;
		app->update[i] = x;
		app->rank[i] = r;
	}
	/* NULL links above x now have one more node after them */
	for (i = level; i < sl->level; i++)
		app->update[i]->level[i].span++;
	x->backward = sl->tail;
	sl->tail = x;
	sl->length++;
}
