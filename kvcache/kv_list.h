/*-------------------------------------------------------------------------
 *
 * kv_list.h
 *	  Lists: the chunked deque (kv_quicklist.c), the list commands
 *	  (kv_list.c) and blocking pops (kv_blocking.c).
 *
 * kvcache/kv_list.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef KV_LIST_H
#define KV_LIST_H

#include "kvcache.h"

/*
 * One node of a list: up to a few kB of packed elements.  See
 * kv_quicklist.c for the element encoding and the invariants.
 */
typedef struct KvListNode
{
	struct KvListNode *prev;
	struct KvListNode *next;
	uint32		count;			/* elements in this node, never 0 */
	uint32		cap;			/* bytes of data[] */
	uint32		start;			/* offset of the first element's first byte */
	uint32		end;			/* offset just past the last element */
	char		data[FLEXIBLE_ARRAY_MEMBER];
} KvListNode;

/* The payload of a KV_TYPE_LIST entry */
typedef struct KvListHeader
{
	KvListNode *head;
	KvListNode *tail;
	int64		length;			/* elements, never 0 in a linked entry */
	int64		nnodes;
} KvListHeader;

#define KV_LIST_HEADER(e)	((KvListHeader *) KV_ENTRY_VALUE(e))

/*
 * A position in a list, for walking it.  Forward iterators point at the
 * start of the next element to return, backward ones just past it.  After
 * each step elem_node/elem_off locate the element just returned.
 */
typedef struct KvListIter
{
	KvListNode *node;
	uint32		off;
	KvListNode *elem_node;
	uint32		elem_off;
} KvListIter;

/* kv_quicklist.c: the structure; caller holds the key's partition lock */
extern void KvQlInit(KvListHeader *h);
extern void KvQlFree(KvListHeader *h);
extern bool KvQlPush(KvListHeader *h, bool left, int n,
					 const char *const *vals, const uint32 *lens,
					 KvKey *key, KvEntry *entry, Size *failed);
extern void KvQlIterHead(KvListHeader *h, KvListIter *it);
extern void KvQlIterTail(KvListHeader *h, KvListIter *it);
extern void KvQlSeek(KvListHeader *h, int64 index, KvListIter *it);
extern bool KvQlNext(KvListIter *it, const char **data, uint32 *len);
extern bool KvQlPrev(KvListIter *it, const char **data, uint32 *len);
extern void KvQlTrimEnd(KvListHeader *h, bool left, int64 n);
extern bool KvQlSplice(KvListHeader *h, KvListNode *node, uint32 off,
					   bool replace, const char *val, uint32 len,
					   KvKey *key, KvEntry *entry, Size *failed);
extern int64 KvQlRemoveMatching(KvListHeader *h, bool from_head, uint64 limit,
								const char *val, uint32 len);
extern uint32 KvQlElemSize(uint32 len);

/* kv_list.c: list commands */
extern void KvListFreeContents(KvEntry *entry);
extern bool KvListCopyContents(KvEntry *dst, KvEntry *src, KvKey *key);
extern int64 KvListPush(KvKey *key, bool left, int n,
						const char *const *vals, const uint32 *lens);
extern int64 KvListPop(KvKey *key, bool left, int64 count, text ***out);
extern bool KvListPopOne(KvKey *key, bool left, bool wrongtype_error, text **out);
extern void KvListCheckType(KvKey *key);
extern int64 KvListLen(KvKey *key);
extern int64 KvListRange(KvKey *key, int64 start, int64 stop, text ***out);
extern text *KvListIndex(KvKey *key, int64 index);
extern void KvListSet(KvKey *key, int64 index, const char *val, uint32 len);
extern void KvListTrim(KvKey *key, int64 start, int64 stop);
extern int64 KvListRem(KvKey *key, int64 count, const char *val, uint32 len);
extern int64 KvListInsert(KvKey *key, bool before, const char *pivot,
						  uint32 pivotlen, const char *val, uint32 len);

/* kv_blocking.c: the waiter table and BLPOP/BRPOP */
#define KV_BLOCK_MAX_KEYS	32	/* keys one blocking pop may wait on */

extern void KvBlockShmemRequest(void);
extern void KvBlockShmemInit(void);
extern void KvBlockNotify(KvKey *key);
extern int	KvBlockingPop(KvKey *keys, int nkeys, bool left, double timeout,
						  text **out);

#endif							/* KV_LIST_H */
