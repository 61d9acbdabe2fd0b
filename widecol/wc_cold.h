/*-------------------------------------------------------------------------
 *
 * wc_cold.h
 *	  The compressed cold tier of widecol: TIDs, block format, storage,
 *	  visibility, and the modules that use them.
 *
 * Cold rows live in the table's own TOAST relation (DESIGN.md section 2.2)
 * as "block tuples" (chunk_id = Xb, chunk_seq = -1) holding up to 291
 * rows, compressed chunk by chunk (section 3.1).  A cold row is addressed
 * by the TID (Xb, 292 + row): offsets above MaxHeapTuplesPerPage tell cold
 * TIDs from delta (heap) TIDs.  DELETE/UPDATE of a cold row writes a
 * tombstone (Xb, -(3 + row)), a row lock a lock tombstone (Xb, -(294 +
 * row)); both are ordinary heap tuples, so their visibility is MVCC.
 *
 * widecol/wc_cold.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef WC_COLD_H
#define WC_COLD_H

#include "access/genam.h"
#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/relscan.h"
#include "access/tableam.h"
#include "nodes/parsenodes.h"
#include "storage/itemptr.h"
#include "utils/sortsupport.h"
#include "utils/queryenvironment.h"
#include "utils/tuplestore.h"
#include "wc_compat.h"

/* ----------------------------------------------------------------
 * Cold TIDs (DESIGN.md 2.3)
 * ----------------------------------------------------------------
 */
#define WC_MAX_BLOCK_ROWS		MaxHeapTuplesPerPage	/* 291 */
#define WC_COLD_OFFSET_BASE		(MaxHeapTuplesPerPage + 1)	/* 292 */

/* True if tid addresses a cold row */
static inline bool
WcTidIsCold(ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	return off >= WC_COLD_OFFSET_BASE &&
		off < WC_COLD_OFFSET_BASE + WC_MAX_BLOCK_ROWS;
}

/* The cold TID of row `row` of block blockid */
static inline void
WcTidMake(ItemPointer tid, Oid blockid, int row)
{
	ItemPointerSet(tid, (BlockNumber) blockid, (OffsetNumber) (WC_COLD_OFFSET_BASE + row));
}

/* Block id (Xb) of a cold TID */
static inline Oid
WcTidBlock(ItemPointer tid)
{
	return (Oid) ItemPointerGetBlockNumberNoCheck(tid);
}

/* Row number inside its block of a cold TID */
static inline int
WcTidRow(ItemPointer tid)
{
	return ItemPointerGetOffsetNumberNoCheck(tid) - WC_COLD_OFFSET_BASE;
}

/*
 * Key index run entries (DESIGN.md 2.7): the TID of a START or END entry is
 * the physical TID of the block tuple in the TOAST relation, its offset
 * tagged: WC_RUN_SLOT * (1 + run) + line pointer for START, plus
 * WC_RUN_END_TAG for END, where run is the run's number in its block (a
 * hint that spares the reader a search; WC_RUN_NO_HINT when above
 * WC_RUN_MAX_HINT or written before format 4, which read as run 0: run 0
 * gives the format 3 tags, START 1024 + lp and END 1536 + lp).  Tombstone
 * hints in the key index are cold TIDs.
 */
#define WC_RUN_SLOT				1024
#define WC_RUN_END_TAG			512
#define WC_RUN_MAX_HINT			62	/* 1024 * 63 + 512 + 291 < 65536 */
#define WC_RUN_NO_HINT			0

/* True if tid addresses a delta (heap) tuple */
static inline bool
WcTidIsDelta(ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	return off >= FirstOffsetNumber && off <= MaxHeapTuplesPerPage;
}

/* 1 if tid is a START run entry, 2 if an END run entry, else 0 */
static inline int
WcTidRunKind(ItemPointer tid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);
	int			rem = off % WC_RUN_SLOT;

	if (off < WC_RUN_SLOT)
		return 0;
	if (rem > 0 && rem <= MaxHeapTuplesPerPage)
		return 1;
	if (rem > WC_RUN_END_TAG && rem <= WC_RUN_END_TAG + MaxHeapTuplesPerPage)
		return 2;
	return 0;
}
#define WC_RUN_START			1
#define WC_RUN_END				2

/*
 * The run entry TID of kind (WC_RUN_START/END) for run number run of the
 * block tuple at blocktid
 */
static inline void
WcTidMakeRun(ItemPointer tid, ItemPointer blocktid, int kind, int run)
{
	int			hint = run <= WC_RUN_MAX_HINT ? run : WC_RUN_NO_HINT;

	ItemPointerSet(tid, ItemPointerGetBlockNumber(blocktid),
				   (OffsetNumber) (WC_RUN_SLOT * (1 + hint) +
								   (kind == WC_RUN_START ? 0 : WC_RUN_END_TAG) +
								   ItemPointerGetOffsetNumber(blocktid)));
}

/* The physical TOAST TID of the block tuple a run entry points at */
static inline void
WcTidRunBlockTid(ItemPointer tid, ItemPointer blocktid)
{
	OffsetNumber off = ItemPointerGetOffsetNumberNoCheck(tid);

	ItemPointerSet(blocktid, ItemPointerGetBlockNumberNoCheck(tid),
				   (OffsetNumber) (off % WC_RUN_END_TAG));
}

/* The run number a run entry names (a hint, see above) */
static inline int
WcTidRunHint(ItemPointer tid)
{
	return ItemPointerGetOffsetNumberNoCheck(tid) / WC_RUN_SLOT - 1;
}

/* chunk_seq values of widecol tuples in the TOAST relation */
#define WC_SEQ_BLOCK			(-1)
#define WC_SEQ_FORWARD			(-2)	/* forward map of a merged block */
#define WC_SEQ_TOMB(row)		(-(3 + (row)))
#define WC_SEQ_LOCK(row)		(-(294 + (row)))
#define WC_SEQ_TOMB_FIRST		WC_SEQ_TOMB(0)	/* -3 */
#define WC_SEQ_TOMB_LAST		WC_SEQ_TOMB(WC_MAX_BLOCK_ROWS - 1)	/* -293 */
#define WC_SEQ_LOCK_LAST		WC_SEQ_LOCK(WC_MAX_BLOCK_ROWS - 1)	/* -584 */

/* ----------------------------------------------------------------
 * Block format (DESIGN.md 3.1)
 * ----------------------------------------------------------------
 */
#define WC_BLOCK_MAGIC			0x57434231	/* 'WCB1' */
#define WC_BLOCK_VERSION		4	/* row groups, each a framed PAX image */
#define WC_BLOCK_VERSION_3		3	/* one frame holding a PAX image (read only) */
#define WC_BLOCK_VERSION_1		1	/* chunks of heap tuple images (read only) */
#define WC_CODEC_NONE			0
#define WC_CODEC_ZSTD			1
#define WC_CODEC_MASK			0x0003
/* header flag: rows born in the block's transaction (COPY), not moved */
#define WC_BLOCK_LOADED			0x0004

typedef struct WcBlockHeader
{
	uint32		magic;
	uint16		version;
	uint16		flags;			/* bits 0-1: codec (WC_CODEC_MASK); WC_BLOCK_LOADED */
	uint32		crc;			/* CRC32C of every byte after this field */
	Oid			relid;			/* table OID when written */
	Oid			blockid;		/* Xb */
	uint16		nrows;
	uint16		nruns;
	uint16		nchunks;		/* frames: row groups (4), chunks (1); 1 in 3 */
	uint16		natts;			/* descriptor natts when written */
	uint32		raw_size;		/* sum of raw frame sizes */
	uint32		comp_size;		/* sum of stored frame sizes */
	int64		written_at;		/* TimestampTz the block was written */
} WcBlockHeader;

typedef struct WcRunEntry
{
	uint16		first_row;
	uint16		nrows;
} WcRunEntry;

/*
 * Formats 4 and 1: a directory entry after the runs for each frame (a row
 * group of format 4, a chunk of format 1).  A frame is stored raw when
 * comp_len == raw_len, else compressed.
 */
typedef struct WcChunkEntry
{
	uint16		first_row;
	uint16		nrows;
	uint32		raw_len;
	uint32		comp_off;		/* from the start of the frame area */
	uint32		comp_len;
} WcChunkEntry;

/* Largest payload of a block tuple that heap stores without toasting */
#define WC_MAX_BLOCK_PAYLOAD \
	(MaxHeapTupleSize - MAXALIGN(SizeofHeapTupleHeader) - 12)
/*
 * Largest payload of a block tuple when m of them share a TOAST page (the
 * tuple: header, chunk_id, chunk_seq, varlena header; m = 1 gives
 * WC_MAX_BLOCK_PAYLOAD)
 */
#define WC_BLOCK_PAYLOAD_SHARED(m) \
	(TYPEALIGN_DOWN(MAXIMUM_ALIGNOF, \
					(BLCKSZ - SizeOfPageHeaderData) / (m) - sizeof(ItemIdData)) - \
	 MAXALIGN(SizeofHeapTupleHeader) - 12)
/* Block tuples per page the builder considers */
#define WC_MAX_BLOCKS_PER_PAGE	4
/* Rows larger than this (or with out-of-line values) stay in the delta */
#define WC_MAX_COLD_ROW			4000
/* Largest raw chunk of a format 1 block (less its directory padding) */
#define WC_CHUNK_MAX_V1			6144
/* Largest PAX image of a format 2 block: every row at most WC_MAX_COLD_ROW */
#define WC_MAX_BLOCK_RAW \
	(WC_MAX_BLOCK_ROWS * (WC_MAX_COLD_ROW + 8) + \
	 2 * MaxTupleAttributeNumber * sizeof(uint32) + 8)
/* Compression ratio the builder assumes before its first block, and at most */
#define WC_RATIO_GUESS			3.0
#define WC_RATIO_MAX			64.0

/* Keys of a table: partition key columns first, then sort key columns */
typedef struct WcKeyInfo
{
	int			nkeys;
	int			npk;			/* leading partition key columns */
	AttrNumber *attnums;
	SortSupportData *ssup;
	Oid		   *sortops;		/* the "<" of each column (for tuplesorts) */
	Oid		   *collations;
	bool	   *nullsfirst;		/* all false: NULLS LAST */
} WcKeyInfo;

/*
 * Name of a row group in the group cache (wc_groupcache.c): the table's
 * storage, the block (Xb, write time), a CRC of the block's header (its
 * stored CRC of the whole payload included) and directories as this read
 * found them (so a directory damaged since its groups were cached misses,
 * and the full CRC check of the miss reports it), and the group.  It has
 * no padding: it is hashed and compared bytewise.
 */
typedef struct WcGroupKey
{
	WcFileNode	node;
	Oid			blockid;
	TimestampTz written_at;
	uint32		dircrc;			/* CRC of the header and directories as read */
	uint32		group;
} WcGroupKey;

/*
 * A decoded block: every row as a heap tuple with patched header.  A block
 * decoded lazily (WcBlockDecodeLazy) fills in rows when they are first
 * asked for (WcBlockRow): a row group decompressed, or the rows of one run
 * of it copied from the group cache; rows not yet filled in have t_data
 * NULL.
 */
/* How a lazily decoded block's group has been read (group_state) */
#define WC_GROUP_UNREAD			0
#define WC_GROUP_FROM_CACHE		1	/* only runs copied from the group cache */
#define WC_GROUP_DECODED		2	/* decompressed and rebuilt whole */

typedef struct WcDecodedBlock
{
	Oid			blockid;
	int			nrows;
	int			nruns;
	WcRunEntry *runs;
	HeapTupleData *rows;		/* t_data points into this block's memory */
	uint32		raw_size;
	uint32		comp_size;
	TimestampTz written_at;
	int			groups_decoded;	/* row groups read so far (once each) */
	int			groups_cached;	/* of those, read only from the group cache */
	uint64		image_decoded;	/* WcBlockDecodeColumns: bytes of the groups' */
	uint64		image_size;		/* images decoded, of all their bytes */

	/* lazy decoding: what decoding a group needs (payload stays pinned) */
	int			ngroups;		/* 0: every row is decoded */
	const WcChunkEntry *groups;	/* directory in the payload */
	const char *frames;			/* frame area of the payload */
	Relation	rel;
	TupleDesc	desc;
	MemoryContext cxt;
	const char *payload;		/* the whole payload, its CRC not yet checked */
	Size		payload_len;
	bool		use_cache;		/* groups go through the group cache */
	uint8	   *group_state;	/* with use_cache: WC_GROUP_* per group */
	WcGroupKey	cachekey;		/* the block's key (group set per lookup) */
	TransactionId xmin;			/* patched into every row */
	uint16		xminbits;
	CommandId	cid;
} WcDecodedBlock;

/* Summary of a block tuple read without decompressing */
typedef struct WcBlockSummary
{
	int			nrows;
	uint16		flags;			/* header flags (WC_BLOCK_LOADED) */
	uint32		raw_size;
	uint32		comp_size;
	TimestampTz written_at;
} WcBlockSummary;

/* Tombstone payload (chunk_data of (Xb, -(3+r)) and (Xb, -(294+r))) */
#define WC_TOMB_DELETE			1
#define WC_TOMB_UPDATE			2
#define WC_TOMB_LOCK			3

typedef struct WcTombstone
{
	uint8		kind;
	uint8		mode;			/* LockTupleMode of a lock tombstone */
	uint8		moved_partitions;	/* delete of a cross-partition update */
	uint8		pad;
	ItemPointerData successor;	/* new version of an update */
} WcTombstone;

/* Block builder state (wc_block.c); the flush callback stores a block */
typedef struct WcBlockBuilder WcBlockBuilder;
typedef void (*WcBlockFlushFn) (void *arg, WcBlockBuilder *b, int nrows,
								HeapTuple *rows, ItemPointer srctids);

/* Open TOAST relation of a widecol table and its indexes (wc_storage.c) */
typedef struct WcStorage
{
	Relation	rel;
	Relation	toastrel;
	Relation   *toastidxs;
	int			ntoastidxs;
	int			validIndex;
	LOCKMODE	lockmode;
	BulkInsertState bistate;	/* bulk writers (mover, COPY): extend in bulk */
	BlockNumber nblocks;		/* TOAST blocks known to exist (grows only) */
} WcStorage;

/* The columns a scan reads (wc_columnscan.c); none: it only counts rows */
typedef struct WcColumns
{
	int			maxatt;			/* the highest attribute number read */
	bool	   *needed;			/* [maxatt]: needed[n - 1] for attribute n */
} WcColumns;

/* wc_compression.c */

/* A row group's image, decompressed only as far as its reader needs */
typedef struct WcImageReader
{
	const char *img;			/* the image: its first avail bytes are valid */
	Size		avail;
	Size		rawlen;			/* its full length */
	char	   *buf;			/* where it is decoded (NULL: stored raw) */
	const char *src;			/* the frame */
	Size		srclen;
	Size		srcpos;			/* frame bytes consumed */
} WcImageReader;

extern Size WcCompress(const char *src, Size len, char *dst, Size cap, int level,
					   const uint32 *cuts, int ncuts);
extern void WcImageBegin(WcImageReader *r, const char *src, Size clen,
						 char *dst, Size rawlen);
extern bool WcImageNeed(WcImageReader *r, Size upto);
extern bool WcDecompress(const char *src, Size clen, char *dst, Size rawlen);

/* wc_groupcache.c */
extern bool WcGroupCacheEnabled(void);
extern bool WcGroupCacheGet(const WcGroupKey *key, int nrows, int first,
							int count, HeapTupleData *rows);
extern void WcGroupCachePut(const WcGroupKey *key, int nrows, HeapTupleData *rows);
extern void WcGroupCacheShmemRequest(void);
extern void WcGroupCacheShmemStartup(void);

/* wc_pax.c */
#define WC_PAX_MAX_CUTS			8
extern void WcPaxEncode(TupleDesc desc, HeapTuple *rows, int nrows,
						StringInfo out, uint32 *cuts, int *ncuts);
extern void WcPaxDecode(Relation rel, TupleDesc desc, Oid blockid,
						const char *img, Size len, int nrows,
						HeapTupleData *rows);
extern void WcPaxDecodeColumns(Relation rel, TupleDesc desc, Oid blockid,
							   WcImageReader *r, int nrows, HeapTupleData *rows,
							   const WcColumns *cols);

/* wc_block.c */
extern WcBlockBuilder *WcBuilderBegin(Relation rel, WcKeyInfo *keys, bool zstd,
									  int level, WcBlockFlushFn flush, void *arg);
extern void WcBuilderSetWrittenAt(WcBlockBuilder *b, TimestampTz written_at);
extern void WcBuilderAdd(WcBlockBuilder *b, HeapTuple tuple, ItemPointer srctid);
extern void WcBuilderFinish(WcBlockBuilder *b);
extern bytea *WcBuildPayloadForBlock(WcBlockBuilder *b, Oid blockid);
extern void WcBlockSummarize(Relation rel, Oid blockid, const char *data,
							 Size len, WcBlockSummary *sum);
extern WcDecodedBlock *WcBlockDecode(Relation rel, Oid blockid, const char *data,
									 Size len, HeapTupleHeader blocktup,
									 MemoryContext cxt);
extern WcDecodedBlock *WcBlockDecodeAs(Relation rel, TupleDesc desc, Oid blockid,
									   const char *data, Size len,
									   HeapTupleHeader blocktup,
									   MemoryContext cxt);
extern WcDecodedBlock *WcBlockDecodeColumns(Relation rel, TupleDesc desc,
											Oid blockid, const char *data,
											Size len, HeapTupleHeader blocktup,
											MemoryContext cxt,
											const WcColumns *cols);
extern WcDecodedBlock *WcBlockDecodeLazy(Relation rel, Oid blockid,
										 const char *data, Size len,
										 HeapTupleHeader blocktup,
										 MemoryContext cxt);
extern void WcBlockDecodeGroupOf(WcDecodedBlock *blk, int row);
extern void WcCorrupted(Relation rel, Oid blockid, const char *fmt,...) pg_attribute_printf(3, 4);
extern WcKeyInfo *WcKeyInfoBuild(Relation rel);
extern WcKeyInfo *WcKeyInfoCached(Relation rel);
extern int	WcKeyCompare(WcKeyInfo *keys, HeapTuple a, HeapTuple b,
						 TupleDesc desc, int nkeys);

/* Row row of a decoded block, decoding its row group if needed */
static inline HeapTuple
WcBlockRow(WcDecodedBlock *blk, int row)
{
	if (unlikely(blk->rows[row].t_data == NULL))
		WcBlockDecodeGroupOf(blk, row);
	return &blk->rows[row];
}

/* Point tup at the normal line pointer off of rel's page blkno */
static inline void
WcPageTuple(Relation rel, Page page, BlockNumber blkno, OffsetNumber off,
			HeapTuple tup)
{
	ItemId		lp = PageGetItemId(page, off);

	Assert(ItemIdIsNormal(lp));
	tup->t_data = (HeapTupleHeader) PageGetItem(page, lp);
	tup->t_len = ItemIdGetLength(lp);
	tup->t_tableOid = RelationGetRelid(rel);
	ItemPointerSet(&tup->t_self, blkno, off);
}

/* wc_storage.c */
extern void WcStorageOpen(WcStorage *st, Relation rel, LOCKMODE lockmode);
extern void WcStorageOpenLazy(WcStorage *st, Relation rel, LOCKMODE lockmode);
extern void WcStorageClose(WcStorage *st);
extern Relation WcStorageIndex(WcStorage *st);
extern Oid	WcStorageNewBlockId(WcStorage *st);
extern void WcStorageInsert(WcStorage *st, Oid blockid, int32 seq,
							const void *data, Size len, ItemPointer newtid);
extern SysScanDesc WcStorageScanSeq(WcStorage *st, Oid blockid, int32 seq,
									ScanKeyData *keys);
extern bool WcStorageGetBlock(WcStorage *st, Oid blockid, Buffer *buf,
							  HeapTupleData *tuple);
extern bool WcStoragePageExists(WcStorage *st, BlockNumber blkno);
extern bool WcStorageFetchAt(WcStorage *st, ItemPointer blocktid, Buffer *buf,
							 HeapTupleData *tuple, Oid *blockid);
extern TableScanDesc WcToastScanBegin(Relation toastrel);
extern bool WcToastScanNext(TableScanDesc scan, HeapTuple *tup, Buffer *buf,
							Oid *chunk_id, int32 *seq, const char **data,
							Size *len);
extern void WcStorageGetChunk(HeapTuple tuple, TupleDesc desc, Oid *chunk_id,
							  int32 *seq, const char **data, Size *len);
extern void WcStoragePushContext(ErrorContextCallback *cb, Relation rel,
								 Oid *blockid);
extern void WcStoragePopContext(ErrorContextCallback *cb);
extern bool WcStorageExists(Relation rel);
extern BlockNumber WcToastBlocks(Relation rel);

/* wc_cold.c: visibility and the tombstone protocol */
extern bool WcBlockTupleVisible(HeapTuple blocktup, Snapshot snapshot,
								Buffer buf);
extern bool WcDirtyVisible(HeapTuple tup, Buffer buf, SnapshotData *dirty);
extern SysScanDesc WcTombScanBegin(WcStorage *st, Oid blockid, bool with_locks,
								   ScanKeyData *keys);
extern void WcHiddenRows(WcStorage *st, Oid blockid, Snapshot snapshot,
						 bool *hidden, TransactionId *deleters);
extern int	WcTombstonedBlocks(WcStorage *st, Oid **blocks);
extern bool WcBlockTombstoned(const Oid *blocks, int n, Oid blockid);
extern bool WcColdFetch(Relation rel, ItemPointer tid, Snapshot snapshot,
						TupleTableSlot *slot);
extern TM_Result WcColdDelete(Relation rel, ItemPointer tid, CommandId cid,
							  Snapshot crosscheck, bool wait,
							  TM_FailureData *tmfd, bool changingPart);
extern TM_Result WcColdUpdate(Relation rel, ItemPointer otid,
							  TupleTableSlot *slot, CommandId cid,
							  Snapshot crosscheck, bool wait,
							  TM_FailureData *tmfd, LockTupleMode *lockmode,
							  bool *update_indexes);
extern TM_Result WcColdLock(Relation rel, ItemPointer tid, Snapshot snapshot,
							TupleTableSlot *slot, CommandId cid,
							LockTupleMode mode, LockWaitPolicy wait_policy,
							TM_FailureData *tmfd);
extern void WcStoreColdRow(TupleTableSlot *slot, HeapTuple row, Relation rel);
#define WC_ROW_LIVE		0
#define WC_ROW_DELETED	1
#define WC_ROW_DEAD		2
extern void WcTombStates(WcStorage *st, Oid blockid, TransactionId OldestXmin,
						 uint8 *state);
extern bool WcRowHidden(WcStorage *st, Oid blockid, int row,
						Snapshot snapshot, TransactionId *deleter);
extern bool WcColdRowVisible(Relation rel, ItemPointer tid, Snapshot snapshot);
extern bool WcColdSuccessor(Relation rel, ItemPointer tid,
							ItemPointer successor, TransactionId *xmin);

/* wc_serializable.c: SERIALIZABLE conflicts out of cold rows */
extern void WcBlockConflictOut(Relation rel, bool visible, HeapTuple blocktup,
							   Buffer buf, Snapshot snapshot);
extern TransactionId WcTombDeleter(HeapTuple tomb, Buffer buf);
extern void WcDeltaMovedLock(Relation rel, HeapTuple tup, Snapshot snapshot);
extern void WcRowConflictOut(Relation rel, HeapTuple row, bool visible,
							 TransactionId deleter, Snapshot snapshot);
extern void WcBlockRowsConflictOut(Relation rel, WcDecodedBlock *blk,
								   const bool *hidden,
								   const TransactionId *deleters,
								   Snapshot snapshot);

/* wc_delta.c: physical-size mode and heap delegation */
extern int	wc_physical_depth;
#define WC_PHYSICAL_BEGIN()		(wc_physical_depth++)
#define WC_PHYSICAL_END()		(wc_physical_depth--)
extern void WcDeltaInitCallbacks(void);
extern TM_Result WcTupleLock(Relation rel, ItemPointer tid, Snapshot snapshot,
							 TupleTableSlot *slot, CommandId cid,
							 LockTupleMode mode, LockWaitPolicy wait_policy,
							 uint8 flags, TM_FailureData *tmfd);
extern TM_Result WcTupleDelete(Relation rel, ItemPointer tid, CommandId cid,
							   Snapshot snapshot, Snapshot crosscheck,
							   bool wait, TM_FailureData *tmfd,
							   bool changingPart);
extern TM_Result WcTupleUpdate(Relation rel, ItemPointer otid,
							   TupleTableSlot *slot, CommandId cid,
							   Snapshot snapshot, Snapshot crosscheck,
							   bool wait, TM_FailureData *tmfd,
							   LockTupleMode *lockmode, bool *update_indexes);
extern void WcGetLatestTid(TableScanDesc scan, ItemPointer tid);

/* wc_scan.c */
extern void WcScanInitRoutine(TableAmRoutine *routine);
extern void WcScanColumns(TableScanDesc sscan, const WcColumns *cols);
extern void WcScanColumnStats(TableScanDesc sscan, uint64 *decoded,
							  uint64 *size);

/* wc_fetch.c */
extern void WcFetchInitRoutine(TableAmRoutine *routine);

/* wc_indexes.c */
extern double WcIndexBuildCold(Relation rel, Relation index,
							   struct IndexInfo *ii, bool concurrent,
							   IndexBuildCallback callback, void *state);
extern bool WcIsRunIndex(Relation table, Relation index);
extern void WcIndexInsertHint(Relation table, HeapTuple row);
extern void WcIndexValidateHints(Relation table, Relation index);
typedef struct WcIndexInserter WcIndexInserter;
extern WcIndexInserter *WcIndexInserterBegin(Relation rel);
extern void WcIndexInserterAddRuns(WcIndexInserter *ins, ItemPointer blocktid,
								   HeapTuple *rows, const WcRunEntry *runs,
								   int nruns);
extern void WcIndexInserterAdd(WcIndexInserter *ins, HeapTuple tuple,
							   ItemPointer tid);
extern void WcIndexInserterEnd(WcIndexInserter *ins);
extern Oid	WcStoreBlock(WcStorage *st, WcIndexInserter *ins, WcBlockBuilder *b,
						 HeapTuple *rows, int nrows, uint16 flags,
						 uint32 *raw_size, Size *stored_size);

/* wc_merge.c */
#define WC_MERGE_MAX_ROWS		64	/* most new rows of a partition merged */
#define WC_DEFER_ROWS			32	/* fewer new rows of a partition may wait */
extern int	wc_tail_merge_factor;
extern int	WcMergeBlockRows(WcStorage *st, ItemPointer blocktid, Oid blockid);
extern WcDecodedBlock *WcMergeTake(WcStorage *st, ItemPointer blocktid,
								   Oid blockid, TransactionId horizon,
								   int newrows, MemoryContext cxt);
extern void WcMergeNoteMove(struct HTAB **maps, ItemPointer oldtid,
							ItemPointer newtid);
extern void WcMergeWriteMaps(WcStorage *st, struct HTAB *maps);
extern bool WcMergeForward(WcStorage *st, Oid blockid, int row,
						   TransactionId mover, ItemPointer newtid);
extern void WcMoveCheckSnapshot(Relation rel, TransactionId mover);
/* wc_mover.c */

/* A block tuple a tail merge deleted, until its run entries go (wc_keyclean.c) */
typedef struct WcReplacedBlock
{
	ItemPointerData tid;		/* its TOAST TID: first, for the TID order */
	uint16		nruns;			/* its runs: a START and an END entry each */
} WcReplacedBlock;

typedef struct WcMoveResult
{
	int64		moved_rows;
	int64		blocks_written;
	int64		raw_bytes;
	int64		compressed_bytes;
	/* live delta rows the move left behind, by reason */
	int64		left_recent;	/* not yet visible to every transaction */
	int64		left_busy;		/* being deleted, updated or locked */
	int64		left_toasted;	/* with out-of-line values */
	int64		left_large;		/* over WC_MAX_COLD_ROW */
	int64		left_order;		/* below their partition's last cold key */
	int64		left_deferred;	/* kept for their partition's next move */
	int64		merged_blocks;	/* tail blocks rewritten with new rows */
	int64		dead_items;		/* LP_DEAD items of the delta seen */
	bool		key_cleaned;	/* their key index entries were removed */
	int64		key_entries_removed;
	int64		replaced_cleaned;	/* replaced blocks whose run entries went */
	TransactionId horizon;		/* rows older than this were candidates */
	/* replaced block tuples to look at next time (palloc'd) */
	WcReplacedBlock *replaced;
	int			nreplaced;
	int			maxreplaced;
} WcMoveResult;

/*
 * Most replaced block tuples the background mover remembers, over all
 * tables and per table (wc_keyclean.c)
 */
#define WC_MOVER_MAX_REPLACED	16384
#define WC_MOVER_MAX_REPLACED_TABLE	(WC_MOVER_MAX_REPLACED / 2)

/* What the background mover knows of a table (NULL for other callers) */
typedef struct WcMoveParams
{
	TransactionId defer_from;	/* rows since then may wait, or invalid */
	int64		dead_cleaned;	/* LP_DEAD items the last key index cleanup saw */
	const WcReplacedBlock *replaced;	/* block tuples earlier moves replaced */
	int			nreplaced;
} WcMoveParams;
extern void WcMove(Relation rel, const WcMoveParams *params, WcMoveResult *result);
extern void WcMoveAsOwner(Relation rel, const WcMoveParams *params,
						  WcMoveResult *result);

/* wc_keyclean.c */
typedef struct WcKeyClean
{
	Relation	rel;			/* the table */
	Relation	keyidx;			/* its key index */
	Relation	toastrel;		/* its TOAST relation */
	ItemPointerData *dead;		/* LP_DEAD items of the delta, in TID order */
	int64		ndead;
	int64		deadcap;		/* room in dead[] */
	int64		maxdead;		/* most items remembered */
	WcReplacedBlock *blocks;	/* dead replaced block tuples, in TID order */
	bool	   *matched;		/* blocks[i] had entries in the index */
	int			nblocks;
	int64		nblockentries;	/* their run entries (2 per run) */
} WcKeyClean;
extern void WcKeyCleanInit(WcKeyClean *kc, Relation rel, Relation keyidx,
						   Relation toastrel);
extern void WcKeyCleanNoteDead(WcKeyClean *kc, BlockNumber blkno,
							   OffsetNumber off);
extern void WcKeyCleanNoteReplaced(WcMoveResult *result,
								   const WcReplacedBlock *blk);
extern void WcKeyCleanRun(WcKeyClean *kc, const WcMoveParams *params,
						  TransactionId horizon, WcMoveResult *result);

/* wc_sql.c */
extern bool WcTableIsPublished(Relation rel);

/* wc_vacuum.c */
extern void WcVacuumInitRoutine(TableAmRoutine *routine);
extern char *WcSizePretty(int64 n);

/* wc_vacuum_move.c */
extern bool wc_vacuum_move;
extern void WcVacuumMove(VacuumStmt *stmt, bool isTopLevel);

/* wc_verify.c */
extern void WcVerify(Relation rel, Tuplestorestate *store, TupleDesc desc);

/* wc_plan.c */
extern void WcPlanInit(void);

/* wc_copy.c */
extern bool wc_copy_direct;
extern bool WcCopyFrom(const CopyStmt *stmt, const char *queryString,
					   QueryEnvironment *queryEnv, uint64 *processed);

/* wc_keyindex.c: the cold tail of a partition (disjointness, DESIGN.md 2.7) */
extern bool WcLastColdKey(Relation rel, Relation keyidx, WcStorage *st,
						  WcKeyInfo *ki, TransactionId horizon, HeapTuple row,
						  Datum *vals, bool *nulls, MemoryContext cxt,
						  ItemPointer tailtid, Oid *tailblock);
extern int	WcRowVsKey(WcKeyInfo *ki, TupleDesc desc, HeapTuple row,
					   Datum *vals, bool *nulls);

#endif							/* WC_COLD_H */
