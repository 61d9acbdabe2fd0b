/*-------------------------------------------------------------------------
 *
 * wc_compat.h
 *	  PostgreSQL version differences, kept in one place.
 *
 * widecol targets PostgreSQL 15.  Anything that differs in 16+ goes here
 * behind PG_VERSION_NUM so that the rest of the code has one spelling.
 * Phase 1 only touches APIs that are the same in 15 to 17 (ProcessUtility
 * and object access hooks, the index build callbacks of TableAmRoutine,
 * reloptions helpers), so for now this header holds the version floor and
 * the one spelling of heap's routine that the other files use.
 *
 * widecol/wc_compat.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef WC_COMPAT_H
#define WC_COMPAT_H

#if PG_VERSION_NUM < 150000
#error "widecol requires PostgreSQL 15 or later"
#endif

/* Heap's TableAmRoutine: the callbacks a widecol table delegates to */
#include "access/tableam.h"
#define WcHeapRoutine()		GetHeapamTableAmRoutine()

/* Live-row estimate of a table's statistics entry (renamed in 16) */
#if PG_VERSION_NUM >= 160000
#define WcStatLiveTuples(entry)	((entry)->live_tuples)
#else
#define WcStatLiveTuples(entry)	((entry)->n_live_tuples)
#endif

/* True if roleid owns database dboid (object_ownercheck in 16) */
#if PG_VERSION_NUM >= 160000
#include "catalog/pg_database.h"
#include "utils/acl.h"
#define WcDatabaseOwnerCheck(dboid, roleid) \
	object_ownercheck(DatabaseRelationId, (dboid), (roleid))
#else
#include "utils/acl.h"
#define WcDatabaseOwnerCheck(dboid, roleid) \
	pg_database_ownercheck((dboid), (roleid))
#endif

/*
 * True if page blkno of fork `fork` of rel is in shared buffers: a lookup
 * in the buffer mapping table, as PrefetchBuffer does, without its system
 * call for pages that are not (relations with shared buffers only).
 */
#include "storage/buf_internals.h"
#include "utils/rel.h"
static inline bool
WcPageIsBuffered(Relation rel, ForkNumber fork, BlockNumber blkno)
{
	BufferTag	tag;
	uint32		hash;
	LWLock	   *lock;
	int			id;

#if PG_VERSION_NUM >= 160000
	InitBufferTag(&tag, &RelationGetSmgr(rel)->smgr_rlocator.locator, fork, blkno);
#else
	INIT_BUFFERTAG(tag, RelationGetSmgr(rel)->smgr_rnode.node, fork, blkno);
#endif
	hash = BufTableHashCode(&tag);
	lock = BufMappingPartitionLock(hash);
	LWLockAcquire(lock, LW_SHARED);
	id = BufTableLookup(&tag, hash);
	LWLockRelease(lock);
	return id >= 0;
}

/* A relation's physical file identity (RelFileLocator in 16) */
#include "common/relpath.h"
#if PG_VERSION_NUM >= 160000
typedef RelFileLocator WcFileNode;
#define WcRelationFileNode(rel)		((rel)->rd_locator)
#define WcFileNodeEquals(a, b)		RelFileLocatorEquals((a), (b))
#else
typedef RelFileNode WcFileNode;
#define WcRelationFileNode(rel)		((rel)->rd_node)
#define WcFileNodeEquals(a, b)		RelFileNodeEquals((a), (b))
#endif

/* IndexVacuumInfo names the table from 16 on (btree needs it) */
#if PG_VERSION_NUM >= 160000
#define WcIndexVacuumInfoSetHeap(info, rel)	((info)->heaprel = (rel))
#else
#define WcIndexVacuumInfoSetHeap(info, rel)	((void) (rel))
#endif

/*
 * Prune a heap page whose cleanup lock the caller holds, as VACUUM's first
 * pass does (wc_keyclean.c).  15.8 and 16.4 added an oldest_xmin argument
 * (InvalidTransactionId: decide by vistest, as on-access pruning does), a
 * change of the function's ABI within a major version: the extension must
 * be built against the headers of the server's minor release (as the
 * Makefile does, from the installed postgresql-server-dev package);
 * 17 replaced the function, and there the opportunistic pruning, which
 * skips pages that are not nearly full, is what is left.
 */
#if PG_VERSION_NUM >= 170000
#define WcHeapPagePrune(rel, buf) \
	do { \
		LockBuffer((buf), BUFFER_LOCK_UNLOCK); \
		heap_page_prune_opt((rel), (buf)); \
		LockBuffer((buf), BUFFER_LOCK_SHARE); \
	} while (0)
#else
#if (PG_VERSION_NUM >= 150008 && PG_VERSION_NUM < 160000) || PG_VERSION_NUM >= 160004
#define WC_PRUNE_OLDEST_XMIN	InvalidTransactionId,
#else
#define WC_PRUNE_OLDEST_XMIN
#endif
#define WcHeapPagePrune(rel, buf) \
	do { \
		int			wc_nnewlpdead_; \
		(void) heap_page_prune((rel), (buf), WC_PRUNE_OLDEST_XMIN \
							   GlobalVisTestFor(rel), InvalidTransactionId, 0, \
							   &wc_nnewlpdead_, NULL); \
	} while (0)
#endif

#endif							/* WC_COMPAT_H */
