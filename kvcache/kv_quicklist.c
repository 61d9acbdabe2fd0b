/*-------------------------------------------------------------------------
 *
 * kv_quicklist.c
 *	  The list structure: a doubly linked deque of nodes, each holding a
 *	  few kB of packed elements (Redis's quicklist of listpacks).
 *
 * Structure.  A list is a KvListHeader (the entry's payload: head, tail,
 * length, node count) and a doubly linked chain of KvListNode arena
 * chunks.  A node's data[] holds its elements back to back in
 * [start, end); the free bytes are split between the front [0, start) and
 * the back [end, cap), so pushes at either end of the list usually just
 * write into the end node.
 *
 * Element encoding.  Each element is its length, its bytes, then its
 * length again, so a node can be walked in both directions:
 *
 *	  len < 128:	[len:1][bytes][len:1]
 *	  otherwise:	[0x80][len:4][bytes][len:4][0x80]
 *
 * (the 4-byte lengths are stored unaligned, in native byte order).
 *
 * Node sizes.  Chunks are powers of two from KV_QL_NODE_MIN to
 * KV_QL_NODE_MAX (4 kB) bytes, header included, so they match the arena's
 * size classes.  A new list starts with the smallest node that fits, and
 * the end node grows by reallocation (doubling) while it is below the
 * maximum, the way a Redis listpack grows; once the end node is full, new
 * elements go into a new full-size node.  An element too big for a full
 * node gets a node of its own of exactly its size.
 *
 * Invariants (at every lock release):
 *	  - no node is empty; the sum of node counts is the list length;
 *	  - head->prev and tail->next are NULL; nnodes counts the chain;
 *	  - every node's [start, end) is a whole number of encoded elements.
 *
 * Complexity.  Push and pop at either end are O(1) amortized (growing a
 * node copies at most KV_QL_NODE_MAX bytes, once per doubling).  Access by
 * index skips whole nodes from the nearer end: O(n / elements per node)
 * plus a walk of one node.  Changes in the middle (LSET, LINSERT, LREM)
 * rewrite at most one node, splitting it into at most three; adjacent
 * nodes that fit into one are merged after LREM and splits (merging needs
 * no allocation, so it cannot fail).
 *
 * Memory and errors.  Every function that may need memory allocates all
 * of it first and returns false (with nothing changed and everything it
 * allocated given back) when the arena cannot provide it; the caller
 * raises the error.  Nothing here calls ereport.
 *
 * Locking.  The caller holds the partition lock of the list's key:
 * exclusive for every function that changes the list, at least shared for
 * the iterators.
 *
 * kvcache/kv_quicklist.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "port/pg_bitutils.h"

#include "kv_list.h"

#define KV_QL_NODE_MIN		64	/* smallest node chunk, header included */
#define KV_QL_NODE_MAX		4096	/* full node chunk, header included */
#define KV_QL_HDR			offsetof(KvListNode, data)
#define KV_QL_FULL_CAP		(KV_QL_NODE_MAX - KV_QL_HDR)
#define KV_QL_SHORT			128 /* elements shorter than this: 1-byte lengths */
#define KV_QL_LONG_MARK		0x80

/* Bytes an encoded element of len bytes takes */
uint32
KvQlElemSize(uint32 len)
{
	return len < KV_QL_SHORT ? len + 2 : len + 10;
}

/* Read the element starting at p: returns its length, sets *data */
static inline uint32
kv_elem_read(const char *p, const char **data)
{
	uint8		b = (uint8) p[0];
	uint32		len;

	if (b < KV_QL_LONG_MARK)
	{
		*data = p + 1;
		return b;
	}
	memcpy(&len, p + 1, sizeof(uint32));
	*data = p + 5;
	return len;
}

/* Read the element ending just before q: returns its length, sets *data */
static inline uint32
kv_elem_read_back(const char *q, const char **data)
{
	uint8		b = (uint8) q[-1];
	uint32		len;

	if (b < KV_QL_LONG_MARK)
	{
		*data = q - 1 - b;
		return b;
	}
	memcpy(&len, q - 5, sizeof(uint32));
	*data = q - 5 - len;
	return len;
}

/* Encode an element at p; returns the byte after it */
static inline char *
kv_elem_write(char *p, const char *val, uint32 len)
{
	if (len < KV_QL_SHORT)
	{
		*p++ = (char) len;
		memcpy(p, val, len);
		p += len;
		*p++ = (char) len;
	}
	else
	{
		*p++ = (char) KV_QL_LONG_MARK;
		memcpy(p, &len, sizeof(uint32));
		p += sizeof(uint32);
		memcpy(p, val, len);
		p += len;
		memcpy(p, &len, sizeof(uint32));
		p += sizeof(uint32);
		*p++ = (char) KV_QL_LONG_MARK;
	}
	return p;
}

/* Size of the element starting at p */
static inline uint32
kv_elem_size_at(const char *p)
{
	const char *data;

	return KvQlElemSize(kv_elem_read(p, &data));
}

/* Bytes of elements in a node */
static inline uint32
kv_node_used(const KvListNode *n)
{
	return n->end - n->start;
}

/*
 * Chunk size for a node holding 'bytes' of elements: the smallest power of
 * two in [KV_QL_NODE_MIN, KV_QL_NODE_MAX] that fits, or the exact size for
 * a single element too big for a full node.
 */
static Size
kv_node_chunk_size(uint64 bytes)
{
	uint64		need = KV_QL_HDR + bytes;

	if (need > KV_QL_NODE_MAX)
		return (Size) need;
	if (need < KV_QL_NODE_MIN)
		return KV_QL_NODE_MIN;
	return (Size) pg_nextpower2_32((uint32) need);
}

/* Allocate an empty, unlinked node of chunk bytes; NULL if no memory */
static KvListNode *
kv_node_alloc(Size chunk, KvKey *key, KvEntry *entry)
{
	KvListNode *n = KvAlloc(chunk, key, entry);

	if (n == NULL)
		return NULL;
	n->prev = n->next = NULL;
	n->count = 0;
	n->cap = (uint32) (chunk - KV_QL_HDR);
	n->start = n->end = 0;
	return n;
}

/* Link n into the chain after 'after' (NULL: at the head) */
static void
kv_node_link_after(KvListHeader *h, KvListNode *after, KvListNode *n)
{
	n->prev = after;
	n->next = after ? after->next : h->head;
	if (n->next)
		n->next->prev = n;
	else
		h->tail = n;
	if (after)
		after->next = n;
	else
		h->head = n;
	h->nnodes++;
}

/* Unlink n from the chain (does not free it) */
static void
kv_node_unlink(KvListHeader *h, KvListNode *n)
{
	if (n->prev)
		n->prev->next = n->next;
	else
		h->head = n->next;
	if (n->next)
		n->next->prev = n->prev;
	else
		h->tail = n->prev;
	h->nnodes--;
}

/* Put new in old's place in the chain and free old */
static void
kv_node_replace(KvListHeader *h, KvListNode *old, KvListNode *new)
{
	new->prev = old->prev;
	new->next = old->next;
	if (new->prev)
		new->prev->next = new;
	else
		h->head = new;
	if (new->next)
		new->next->prev = new;
	else
		h->tail = new;
	KvFree(old);
}

/* Copy src's elements into the empty node dst at offset 'at' */
static void
kv_node_copy(KvListNode *dst, const KvListNode *src, uint32 at)
{
	uint32		used = kv_node_used(src);

	memcpy(dst->data + at, src->data + src->start, used);
	dst->start = at;
	dst->end = at + used;
	dst->count = src->count;
}

/*
 * Add one element at the left or right end of node n.  The caller has made
 * sure the node has room for it in total; if the room is on the other
 * side, the elements are moved so the free space is split evenly around
 * them (which keeps alternating pushes from moving them every time).
 */
static void
kv_node_put(KvListNode *n, bool left, const char *val, uint32 len)
{
	uint32		sz = KvQlElemSize(len);
	uint32		used = kv_node_used(n);
	uint32		freeb = n->cap - used;

	Assert(freeb >= sz);
	if (left ? n->start < sz : n->cap - n->end < sz)
	{
		uint32		newstart = left ? sz + (freeb - sz) / 2 : (freeb - sz) / 2;

		memmove(n->data + newstart, n->data + n->start, used);
		n->start = newstart;
		n->end = newstart + used;
	}
	if (left)
	{
		n->start -= sz;
		kv_elem_write(n->data + n->start, val, len);
	}
	else
		n->end = kv_elem_write(n->data + n->end, val, len) - n->data;
	n->count++;
}

/* Initialise an empty list header */
void
KvQlInit(KvListHeader *h)
{
	h->head = h->tail = NULL;
	h->length = 0;
	h->nnodes = 0;
}

/* Free every node of a list (the header stays, emptied) */
void
KvQlFree(KvListHeader *h)
{
	KvListNode *n = h->head;

	while (n)
	{
		KvListNode *next = n->next;

		KvFree(n);
		n = next;
	}
	KvQlInit(h);
}

/*
 * Push n values at the left (head) or right (tail) end, in order, as
 * LPUSH/RPUSH do (so LPUSH a b c leaves c first).  All memory is
 * allocated first: on shortage nothing changes, *failed is set to the
 * size that could not be found and false is returned.
 *
 * Plan: the first k values go into the end node, grown to a bigger chunk
 * first if it is below the full size; the rest are packed into new nodes.
 */
bool
KvQlPush(KvListHeader *h, bool left, int n, const char *const *vals,
		 const uint32 *lens, KvKey *key, KvEntry *entry, Size *failed)
{
	KvListNode *end = left ? h->head : h->tail;
	KvListNode *grown = NULL;
	KvListNode **fresh;
	int		   *fresh_first;
	int			nfresh = 0;
	uint64		total = 0;
	uint64		room = 0;
	uint64		sum;
	int			k = 0;
	int			i;
	bool		was_empty = (h->length == 0);

	for (i = 0; i < n; i++)
		total += KvQlElemSize(lens[i]);

	/* arrays for the new nodes, allocated before any arena memory */
	fresh = palloc(sizeof(KvListNode *) * n);
	fresh_first = palloc(sizeof(int) * (n + 1));

	/* how many values go into the end node, growing it if it is small */
	if (end != NULL)
	{
		room = end->cap - kv_node_used(end);
		if (room < total && end->cap < KV_QL_FULL_CAP &&
			kv_node_used(end) + KvQlElemSize(lens[0]) <= KV_QL_FULL_CAP)
		{
			uint64		want = Min(kv_node_used(end) + total, (uint64) KV_QL_FULL_CAP);
			Size		chunk = kv_node_chunk_size(want);

			grown = kv_node_alloc(chunk, key, entry);
			if (grown == NULL)
			{
				pfree(fresh);
				pfree(fresh_first);
				*failed = chunk;
				return false;
			}
			room = grown->cap - kv_node_used(end);
		}
		for (sum = 0; k < n && sum + KvQlElemSize(lens[k]) <= room; k++)
			sum += KvQlElemSize(lens[k]);
	}

	/* pack the other values into new nodes, greedily, in push order */
	i = k;
	while (i < n)
	{
		int			j = i;
		Size		chunk;

		sum = 0;
		if (KvQlElemSize(lens[i]) > KV_QL_FULL_CAP)
			sum = KvQlElemSize(lens[j++]);
		else
		{
			while (j < n && KvQlElemSize(lens[j]) <= KV_QL_FULL_CAP &&
				   sum + KvQlElemSize(lens[j]) <= KV_QL_FULL_CAP)
				sum += KvQlElemSize(lens[j++]);
		}

		/*
		 * Inner nodes and the first node of a new list fit their contents;
		 * the new end node of a list that already had a full end node is
		 * full-size, since more pushes are likely to follow.
		 */
		if (j == n && !was_empty && sum <= KV_QL_FULL_CAP)
			chunk = KV_QL_NODE_MAX;
		else
			chunk = kv_node_chunk_size(sum);
		fresh[nfresh] = kv_node_alloc(chunk, key, entry);
		if (fresh[nfresh] == NULL)
		{
			int			f;

			for (f = 0; f < nfresh; f++)
				KvFree(fresh[f]);
			if (grown)
				KvFree(grown);
			pfree(fresh);
			pfree(fresh_first);
			*failed = chunk;
			return false;
		}
		fresh_first[nfresh++] = i;
		i = j;
	}
	fresh_first[nfresh] = n;

	/* everything is allocated: now change the list */
	if (grown)
	{
		/* leave the new room on the side being pushed to */
		kv_node_copy(grown, end,
					 left ? grown->cap - kv_node_used(end) : 0);
		kv_node_replace(h, end, grown);
		end = grown;
	}
	for (i = 0; i < k; i++)
		kv_node_put(end, left, vals[i], lens[i]);
	for (i = 0; i < nfresh; i++)
	{
		KvListNode *f = fresh[i];
		int			v;

		f->start = f->end = left ? f->cap : 0;
		for (v = fresh_first[i]; v < fresh_first[i + 1]; v++)
			kv_node_put(f, left, vals[v], lens[v]);
		kv_node_link_after(h, left ? NULL : h->tail, f);
	}
	h->length += n;
	pfree(fresh);
	pfree(fresh_first);
	return true;
}

/* Forward iterator at the head */
void
KvQlIterHead(KvListHeader *h, KvListIter *it)
{
	it->node = h->head;
	it->off = h->head ? h->head->start : 0;
	it->elem_node = NULL;
	it->elem_off = 0;
}

/* Backward iterator at the tail */
void
KvQlIterTail(KvListHeader *h, KvListIter *it)
{
	it->node = h->tail;
	it->off = h->tail ? h->tail->end : 0;
	it->elem_node = NULL;
	it->elem_off = 0;
}

/*
 * Forward iterator at element index (0 <= index < length): skips whole
 * nodes from the nearer end of the list, then walks one node from its
 * nearer end.
 */
void
KvQlSeek(KvListHeader *h, int64 index, KvListIter *it)
{
	KvListNode *n;
	uint32		off;
	uint32		i;

	Assert(index >= 0 && index < h->length);
	if (index < h->length / 2)
	{
		for (n = h->head; index >= n->count; n = n->next)
			index -= n->count;
	}
	else
	{
		int64		back = h->length - 1 - index;

		for (n = h->tail; back >= n->count; n = n->prev)
			back -= n->count;
		index = n->count - 1 - back;
	}

	if (index < n->count / 2)
	{
		off = n->start;
		for (i = 0; i < index; i++)
			off += kv_elem_size_at(n->data + off);
	}
	else
	{
		off = n->end;
		for (i = n->count; i > index; i--)
		{
			const char *data;
			uint32		len = kv_elem_read_back(n->data + off, &data);

			off -= KvQlElemSize(len);
		}
	}
	it->node = n;
	it->off = off;
	it->elem_node = NULL;
	it->elem_off = 0;
}

/* Next element of a forward iterator; false at the end of the list */
bool
KvQlNext(KvListIter *it, const char **data, uint32 *len)
{
	if (it->node && it->off >= it->node->end)
	{
		it->node = it->node->next;
		if (it->node)
			it->off = it->node->start;
	}
	if (it->node == NULL)
		return false;
	it->elem_node = it->node;
	it->elem_off = it->off;
	*len = kv_elem_read(it->node->data + it->off, data);
	it->off += KvQlElemSize(*len);
	return true;
}

/* Next element of a backward iterator; false at the start of the list */
bool
KvQlPrev(KvListIter *it, const char **data, uint32 *len)
{
	if (it->node && it->off <= it->node->start)
	{
		it->node = it->node->prev;
		if (it->node)
			it->off = it->node->end;
	}
	if (it->node == NULL)
		return false;
	*len = kv_elem_read_back(it->node->data + it->off, data);
	it->off -= KvQlElemSize(*len);
	it->elem_node = it->node;
	it->elem_off = it->off;
	return true;
}

/*
 * Remove n elements (n <= length) from the left or right end; whole nodes
 * are freed without looking at their elements.  The caller deletes the key
 * if the list is now empty.
 */
void
KvQlTrimEnd(KvListHeader *h, bool left, int64 n)
{
	Assert(n >= 0 && n <= h->length);
	while (n > 0)
	{
		KvListNode *node = left ? h->head : h->tail;

		if (node->count <= n)
		{
			n -= node->count;
			h->length -= node->count;
			kv_node_unlink(h, node);
			KvFree(node);
			continue;
		}
		for (; n > 0; n--)
		{
			if (left)
				node->start += kv_elem_size_at(node->data + node->start);
			else
			{
				const char *data;
				uint32		len = kv_elem_read_back(node->data + node->end, &data);

				node->end -= KvQlElemSize(len);
			}
			node->count--;
			h->length--;
		}
	}
}

/*
 * Merge adjacent nodes a and b (b == a->next) into whichever has room for
 * both, freeing the other.  Returns false (changing nothing) if neither
 * has room.  Needs no memory, so it cannot fail half-way.
 */
static bool
kv_node_merge(KvListHeader *h, KvListNode *a, KvListNode *b)
{
	uint32		ua = kv_node_used(a);
	uint32		ub = kv_node_used(b);

	Assert(a->next == b);
	if ((uint64) ua + ub <= a->cap)
	{
		if (a->cap - a->end < ub)
		{
			memmove(a->data, a->data + a->start, ua);
			a->start = 0;
			a->end = ua;
		}
		memcpy(a->data + a->end, b->data + b->start, ub);
		a->end += ub;
		a->count += b->count;
		kv_node_unlink(h, b);
		KvFree(b);
		return true;
	}
	if ((uint64) ua + ub <= b->cap)
	{
		if (b->start < ua)
		{
			memmove(b->data + b->cap - ub, b->data + b->start, ub);
			b->start = b->cap - ub;
			b->end = b->cap;
		}
		memcpy(b->data + b->start - ua, a->data + a->start, ua);
		b->start -= ua;
		b->count += a->count;
		kv_node_unlink(h, a);
		KvFree(a);
		return true;
	}
	return false;
}

/* Try to merge n with its previous, else its next neighbour */
static void
kv_node_merge_around(KvListHeader *h, KvListNode *n)
{
	if (n->prev && kv_node_merge(h, n->prev, n))
		return;
	if (n->next)
		(void) kv_node_merge(h, n, n->next);
}

/* Count the elements in [from, to) of a node */
static uint32
kv_node_count_range(const KvListNode *n, uint32 from, uint32 to)
{
	uint32		count = 0;

	while (from < to)
	{
		from += kv_elem_size_at(n->data + from);
		count++;
	}
	return count;
}

/*
 * Replace bytes [off, off + remove) of node n by the element val (an
 * insertion unless replace), when the node's capacity allows it.  Moves
 * whichever part of the node is cheapest to move.
 */
static void
kv_node_splice_inplace(KvListHeader *h, KvListNode *n, uint32 off,
					   uint32 remove, bool replace, const char *val, uint32 len)
{
	uint32		sz = KvQlElemSize(len);
	uint32		tail = n->end - (off + remove);

	if (sz <= remove || n->cap - n->end >= sz - remove)
	{
		/* shrinking, or room behind: shift the part after the element */
		memmove(n->data + off + sz, n->data + off + remove, tail);
		n->end = n->end - remove + sz;
	}
	else if (n->start >= sz - remove)
	{
		/* room in front: shift the part before the element */
		uint32		delta = sz - remove;

		memmove(n->data + n->start - delta, n->data + n->start, off - n->start);
		n->start -= delta;
		off -= delta;
	}
	else
	{
		/* room only in total: pack the front part at 0, shift the back */
		uint32		headlen = off - n->start;

		memmove(n->data, n->data + n->start, headlen);
		memmove(n->data + headlen + sz, n->data + off + remove, tail);
		n->start = 0;
		off = headlen;
		n->end = headlen + sz + tail;
	}
	kv_elem_write(n->data + off, val, len);
	if (!replace)
	{
		n->count++;
		h->length++;
	}
}

/* Fill the empty node dst with node src's bytes [from, to) and count */
static void
kv_node_fill(KvListNode *dst, const KvListNode *src, uint32 from, uint32 to,
			 uint32 count)
{
	memcpy(dst->data + dst->end, src->data + from, to - from);
	dst->end += to - from;
	dst->count += count;
}

/* Append one element to a node that has room behind its elements */
static void
kv_node_append(KvListNode *dst, const char *val, uint32 len)
{
	dst->end = kv_elem_write(dst->data + dst->end, val, len) - dst->data;
	dst->count++;
}

/*
 * Insert val at byte offset off of node (an element boundary), or, with
 * replace, overwrite the element that starts there (LINSERT, LSET).
 *
 * If the node has room the change is made in place.  Otherwise, if
 * everything fits in one full node, the node is rewritten into a bigger
 * chunk; if not, it is split: the node keeps the elements before off (or,
 * if there are none, those after), and the new element, with the elements
 * after it if they fit together, goes into new nodes.  Memory is
 * allocated first; on shortage nothing changes, *failed is set and false
 * is returned.
 */
bool
KvQlSplice(KvListHeader *h, KvListNode *node, uint32 off, bool replace,
		   const char *val, uint32 len, KvKey *key, KvEntry *entry,
		   Size *failed)
{
	uint32		sz = KvQlElemSize(len);
	uint32		remove = replace ? kv_elem_size_at(node->data + off) : 0;
	uint32		after = off + remove;	/* start of the elements after */
	uint64		newused = (uint64) kv_node_used(node) - remove + sz;
	uint32		count_before;
	uint32		count_after;
	KvListNode *x;
	KvListNode *b = NULL;

	/* an oversized node (one big element) that could shrink is rewritten */
	if (newused <= node->cap &&
		!(node->cap > KV_QL_FULL_CAP && newused <= KV_QL_FULL_CAP))
	{
		kv_node_splice_inplace(h, node, off, remove, replace, val, len);
		return true;
	}

	count_before = kv_node_count_range(node, node->start, off);
	count_after = node->count - count_before - (replace ? 1 : 0);

	if (newused <= KV_QL_FULL_CAP)
	{
		/* rewrite the node into a chunk that fits, free space split around */
		Size		chunk = kv_node_chunk_size(newused);

		x = kv_node_alloc(chunk, key, entry);
		if (x == NULL)
		{
			/* an oversized node can still take the change in place */
			if (newused <= node->cap)
			{
				kv_node_splice_inplace(h, node, off, remove, replace, val, len);
				return true;
			}
			*failed = chunk;
			return false;
		}
		x->start = x->end = (uint32) ((x->cap - newused) / 2);
		kv_node_fill(x, node, node->start, off, count_before);
		kv_node_append(x, val, len);
		kv_node_fill(x, node, after, node->end, count_after);
		kv_node_replace(h, node, x);
		h->length += replace ? 0 : 1;
		kv_node_merge_around(h, x);
		return true;
	}

	/* split: allocate the new node(s) first */
	if (off > node->start && after < node->end &&
		(uint64) sz + (node->end - after) > KV_QL_FULL_CAP)
	{
		Size		chunk = kv_node_chunk_size(node->end - after);

		b = kv_node_alloc(chunk, key, entry);
		if (b == NULL)
		{
			*failed = chunk;
			return false;
		}
	}
	{
		uint64		xbytes = sz;
		Size		chunk;

		if (off > node->start && after < node->end && b == NULL)
			xbytes += node->end - after;
		chunk = kv_node_chunk_size(xbytes);
		x = kv_node_alloc(chunk, key, entry);
		if (x == NULL)
		{
			if (b)
				KvFree(b);
			*failed = chunk;
			return false;
		}
	}

	kv_node_append(x, val, len);
	if (off > node->start)
	{
		/* node keeps the elements before; x (and b) take the rest */
		if (after < node->end)
		{
			if (b)
			{
				kv_node_fill(b, node, after, node->end, count_after);
				kv_node_link_after(h, node, b);
			}
			else
				kv_node_fill(x, node, after, node->end, count_after);
		}
		node->end = off;
		node->count = count_before;
		kv_node_link_after(h, node, x);
	}
	else if (after < node->end)
	{
		/* nothing before: node keeps the elements after, x goes in front */
		node->start = after;
		node->count = count_after;
		kv_node_link_after(h, node->prev, x);
	}
	else
	{
		/* the node held only the replaced element */
		kv_node_replace(h, node, x);
	}
	h->length += replace ? 0 : 1;
	kv_node_merge_around(h, x);
	return true;
}

/*
 * Remove elements equal to val from node n, walking forward or backward,
 * at most limit of them (0: no limit).  Compacts the node in one pass.
 * Returns the number removed.
 */
static uint32
kv_node_remove_matching(KvListNode *n, bool forward, uint64 limit,
						const char *val, uint32 len)
{
	uint32		removed = 0;
	uint32		r;
	uint32		w;

	if (forward)
	{
		r = w = n->start;
		while (r < n->end)
		{
			const char *data;
			uint32		l = kv_elem_read(n->data + r, &data);
			uint32		sz = KvQlElemSize(l);

			if ((limit == 0 || removed < limit) && l == len &&
				memcmp(data, val, len) == 0)
				removed++;
			else
			{
				if (w != r)
					memmove(n->data + w, n->data + r, sz);
				w += sz;
			}
			r += sz;
		}
		n->end = w;
	}
	else
	{
		r = w = n->end;
		while (r > n->start)
		{
			const char *data;
			uint32		l = kv_elem_read_back(n->data + r, &data);
			uint32		sz = KvQlElemSize(l);

			if ((limit == 0 || removed < limit) && l == len &&
				memcmp(data, val, len) == 0)
				removed++;
			else
			{
				if (w != r)
					memmove(n->data + w - sz, n->data + r - sz, sz);
				w -= sz;
			}
			r -= sz;
		}
		n->start = w;
	}
	n->count -= removed;
	return removed;
}

/*
 * LREM: remove up to limit elements equal to val (0: all), scanning from
 * the head or from the tail.  Emptied nodes are freed and a shrunken node
 * is merged into its already scanned neighbour when they fit in one.
 * Returns the number removed; the caller deletes the key if the list is
 * now empty.
 */
int64
KvQlRemoveMatching(KvListHeader *h, bool from_head, uint64 limit,
				   const char *val, uint32 len)
{
	int64		removed = 0;
	KvListNode *n = from_head ? h->head : h->tail;

	while (n && (limit == 0 || (uint64) removed < limit))
	{
		KvListNode *next = from_head ? n->next : n->prev;
		uint32		nrem;

		nrem = kv_node_remove_matching(n, from_head,
									   limit ? limit - removed : 0, val, len);
		if (nrem > 0)
		{
			removed += nrem;
			h->length -= nrem;
			if (n->count == 0)
			{
				kv_node_unlink(h, n);
				KvFree(n);
			}
			else if (from_head && n->prev)
				(void) kv_node_merge(h, n->prev, n);
			else if (!from_head && n->next)
				(void) kv_node_merge(h, n, n->next);
		}
		n = next;
	}
	return removed;
}
