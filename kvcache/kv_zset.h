/*-------------------------------------------------------------------------
 *
 * kv_zset.h
 *	  Sorted sets: the skiplist with spans (kv_skiplist.c) and the sorted
 *	  set type built on it with a member index (kv_zset.c).
 *
 * kvcache/kv_zset.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KV_ZSET_H
#define KV_ZSET_H

#include "kvcache.h"

/* ----------------------------------------------------------------
 * Skiplist (kv_skiplist.c)
 * ----------------------------------------------------------------
 */
#define KV_SKIP_MAXLEVEL		32		/* towers grow with probability 1/4 a level */

/*
 * One level of a node: the next node at this level and how many level-0
 * steps that link crosses.  A NULL link's span counts the nodes after this
 * one (as in Redis), which keeps insertion at the end uniform.
 */
typedef struct KvSkipLevel
{
	struct KvSkipNode *forward;
	uint64		span;
} KvSkipLevel;

/*
 * One member: a single arena chunk holding this header, nlevel levels,
 * then the member bytes.  hnext belongs to the member index of kv_zset.c;
 * the skiplist never reads it.
 */
typedef struct KvSkipNode
{
	double		score;
	struct KvSkipNode *backward;	/* previous node at level 0, NULL if first */
	struct KvSkipNode *hnext;	/* next node in the same member-index bucket */
	uint32		mlen;			/* member length in bytes */
	uint8		nlevel;			/* levels, 1 .. KV_SKIP_MAXLEVEL */
	KvSkipLevel level[FLEXIBLE_ARRAY_MEMBER];
} KvSkipNode;

#define KV_SKIP_NODE_SIZE(mlen, nlevel) \
	(offsetof(KvSkipNode, level) + (Size) (nlevel) * sizeof(KvSkipLevel) + (mlen))
#define KV_SKIP_MEMBER(node)	((char *) &(node)->level[(node)->nlevel])

/* Words of the header node: a node with every level and no member */
#define KV_SKIP_HEAD_WORDS \
	((offsetof(KvSkipNode, level) + KV_SKIP_MAXLEVEL * sizeof(KvSkipLevel) + \
	  sizeof(uint64) - 1) / sizeof(uint64))

/*
 * A skiplist.  It lives inside its owner (the zset header in the entry
 * payload), header node included, so creating one allocates nothing.
 */
typedef struct KvSkipList
{
	KvSkipNode *tail;			/* last node, NULL if empty */
	uint64		length;			/* nodes, header excluded */
	int			level;			/* levels in use, >= 1 */
	uint64		head[KV_SKIP_HEAD_WORDS];	/* the header node */
} KvSkipList;

#define KV_SKIP_HEAD(sl)		((KvSkipNode *) (sl)->head)
#define KV_SKIP_FIRST(sl)		(KV_SKIP_HEAD(sl)->level[0].forward)

/* A score interval; an exclusive end excludes its own value */
typedef struct KvScoreRange
{
	double		min;
	double		max;
	bool		minex;
	bool		maxex;
} KvScoreRange;

/* State for appending nodes in order: the last node at each level */
typedef struct KvSkipAppender
{
	KvSkipNode *update[KV_SKIP_MAXLEVEL];
	uint64		rank[KV_SKIP_MAXLEVEL];
} KvSkipAppender;

/* memcmp order of two members; a proper prefix sorts first */
static inline int
KvSkipMemberCompare(const char *m1, uint32 l1, const char *m2, uint32 l2)
{
	int			c = memcmp(m1, m2, Min(l1, l2));

	if (c != 0)
		return c;
	return (l1 > l2) - (l1 < l2);
}

/* The order of a sorted set: score, then member bytes */
static inline int
KvSkipCompare(double s1, const char *m1, uint32 l1,
			  double s2, const char *m2, uint32 l2)
{
	if (s1 < s2)
		return -1;
	if (s1 > s2)
		return 1;
	return KvSkipMemberCompare(m1, l1, m2, l2);
}

/* Called for each node a range delete has unlinked; it owns the node then */
typedef void (*KvSkipUnlinkFn) (KvSkipNode *node, void *arg);

extern void KvSkipInit(KvSkipList *sl);
extern int	KvSkipRandomLevel(void);
extern void KvSkipNodeInit(KvSkipNode *node, double score, const char *member,
						   uint32 mlen, int nlevel);
extern void KvSkipInsert(KvSkipList *sl, KvSkipNode *node);
extern void KvSkipDelete(KvSkipList *sl, KvSkipNode *node);
extern void KvSkipUpdateScore(KvSkipList *sl, KvSkipNode *node, double score);
extern uint64 KvSkipRank(KvSkipList *sl, KvSkipNode *node);
extern KvSkipNode *KvSkipByRank(KvSkipList *sl, uint64 rank);
extern bool KvSkipRangeEmpty(const KvScoreRange *range);
extern KvSkipNode *KvSkipFirstInRange(KvSkipList *sl, const KvScoreRange *range,
									  uint64 *rank);
extern KvSkipNode *KvSkipLastInRange(KvSkipList *sl, const KvScoreRange *range,
									 uint64 *rank);
extern uint64 KvSkipDeleteRangeByRank(KvSkipList *sl, uint64 start, uint64 end,
									  KvSkipUnlinkFn fn, void *arg);
extern uint64 KvSkipDeleteRangeByScore(KvSkipList *sl, const KvScoreRange *range,
									   KvSkipUnlinkFn fn, void *arg);
extern void KvSkipAppendBegin(KvSkipList *sl, KvSkipAppender *app);
extern void KvSkipAppend(KvSkipList *sl, KvSkipAppender *app, KvSkipNode *node);

/* ----------------------------------------------------------------
 * Sorted sets (kv_zset.c)
 * ----------------------------------------------------------------
 */

/* ZADD flags */
#define KV_ZADD_NX				0x01
#define KV_ZADD_XX				0x02
#define KV_ZADD_GT				0x04
#define KV_ZADD_LT				0x08
#define KV_ZADD_CH				0x10

/* A member given by a caller, with its score (ZADD) and index hash */
typedef struct KvZsetElem
{
	const char *member;
	uint32		len;
	uint32		hash;			/* KvZsetHash(member, len) */
	double		score;
} KvZsetElem;

/* A member returned to a caller: palloc'd text and its score */
typedef struct KvZsetRow
{
	text	   *member;
	double		score;
} KvZsetRow;

extern uint32 KvZsetHash(const char *member, uint32 len);
extern int64 KvZsetAdd(KvKey *key, KvZsetElem *elems, int n, int flags);
extern double KvZsetIncrBy(KvKey *key, KvZsetElem *elem);
extern bool KvZsetScore(KvKey *key, KvZsetElem *elem, double *score);
extern int64 KvZsetRank(KvKey *key, KvZsetElem *elem, bool reverse);
extern int64 KvZsetCard(KvKey *key);
extern int64 KvZsetCount(KvKey *key, const KvScoreRange *range);
extern int64 KvZsetRangeByRank(KvKey *key, int64 start, int64 stop, bool reverse,
							   KvZsetRow **rows);
extern int64 KvZsetRangeByScore(KvKey *key, const KvScoreRange *range, bool reverse,
								int64 offset, int64 limit, KvZsetRow **rows);
extern int64 KvZsetRem(KvKey *key, KvZsetElem *elems, int n);
extern int64 KvZsetRemRangeByRank(KvKey *key, int64 start, int64 stop);
extern int64 KvZsetRemRangeByScore(KvKey *key, const KvScoreRange *range);
extern int64 KvZsetPop(KvKey *key, int64 count, bool max, KvZsetRow **rows);
extern void KvZsetFreeContents(KvEntry *entry);
extern bool KvZsetCopyContents(KvEntry *dst, KvEntry *src, KvKey *key);

#endif							/* KV_ZSET_H */
