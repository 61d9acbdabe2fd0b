/*-------------------------------------------------------------------------
 *
 * wc_keyscan.h
 *	  State of a widecol keyscan, shared by its two files: wc_keyscan.c
 *	  (the plan node: conditions, groups, the key index entry stream and
 *	  the merge) and wc_ks_runs.c (the cold runs it merges: the scan's
 *	  cache of decoded blocks, opening and validating runs).  Not for any
 *	  other file.
 *
 * widecol/wc_keyscan.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef WC_KEYSCAN_H
#define WC_KEYSCAN_H

#include "access/relscan.h"
#include "nodes/execnodes.h"

#include "wc_cold.h"

#define WC_KS_CACHE_SIZE	8
#define WC_KS_PREFETCH		2	/* blocks of run entries read ahead (cold) */
#define WC_KS_PREFETCHED	8	/* pages read ahead that the scan remembers */
#define WC_KS_AHEAD			16	/* entries looked at for a straddling run */

/* A decoded block of the scan's cache, its buffer pinned */
typedef struct WcKsBlock
{
	ItemPointerData btid;		/* physical TID of the block tuple */
	Oid			blockid;		/* InvalidOid: empty slot */
	Buffer		buf;
	HeapTupleData btup;
	WcDecodedBlock *blk;
	MemoryContext cxt;
	int			refs;			/* runs of the merge using it */
	uint64		used;			/* LRU clock */
	bool		hidden_ready;	/* hidden[] holds the tombstones */
	bool	   *hidden;			/* WC_MAX_BLOCK_ROWS, allocated when needed */
	TransactionId *deleters;	/* the same: WcHiddenRows, SSI */
} WcKsBlock;

/* A run in the merge: pending (known by its entry) or open */
typedef struct WcKsRun
{
	ItemPointerData btid;		/* block tuple the entry names */
	int			hint;			/* run number the entry names (a hint) */
	bool		closing;		/* named by its closing entry (look-ahead) */
	WcKsBlock  *b;				/* NULL while pending */
	int			runno;
	int			pos;			/* next row */
	int			stop;			/* row after the last (in scan order) */
	Datum		key[INDEX_MAX_KEYS];	/* entry key, then current row key */
	bool		null[INDEX_MAX_KEYS];
} WcKsRun;

/* A key index entry read ahead at the start of a group (wc_ks_look_ahead) */
typedef struct WcKsEntry
{
	ItemPointerData tid;
	bool		done;			/* a run entry the look-ahead handled */
	Datum	   *key;			/* key index columns (in groupcxt) */
	bool	   *null;
} WcKsEntry;

/* A run opened in the current group (duplicate entries are skipped) */
typedef struct WcKsOpened
{
	ItemPointerData btid;
	int			run;
} WcKsOpened;

/* An = ANY(array) key expanded by the executor */
typedef struct WcKsArray
{
	int			key;			/* index into keys[] */
	int			n;
	int			cur;
	Datum	   *elems;
} WcKsArray;

/* Executor state of one keyscan */
typedef struct WcKeyScanState
{
	CustomScanState css;
	Relation	index;			/* the key index */
	WcKeyInfo  *ki;				/* key comparators (index column order) */
	ScanDirection direction;	/* planned direction */
	int			npk;			/* partition key columns */
	ScanKey		keys;			/* every key index condition */
	int			nkeys;
	IndexRuntimeKeyInfo *runtime_keys;
	int			nruntime_keys;
	bool		runtime_keys_ready;
	ExprContext *runtime_cxt;	/* for runtime key evaluation */
	ExprState  *recheck;		/* index conditions on table rows */
	bool		recheck_ready;	/* recheck compiled (wc_ks_recheck_expr) */

	/* keys given to btree (see file header) */
	int		   *sel;
	int			nsel;
	int			lead;			/* leading-side key on the first sort column */
	int			lead_sel;		/* its position in sel (btkeys), or -1 */
	int		   *trail;			/* trailing-side keys on it (last in sel) */
	int			ntrail;
	bool		look_ahead;		/* the lead is an inequality: wc_ks_look_ahead */
	RegProcedure neg_proc;		/* the lead key's negated operator */
	StrategyNumber neg_strategy;
	ScanKey		btkeys;			/* nsel scalar keys of the current group */
	ScanKey		scankeys;		/* the same, trailing ones replaced by the lead */
	ScanKey		probekeys;		/* partition keys + negated lead */
	int			nprobe;
	WcKsArray  *arrays;
	int			narrays;

	/* scan state */
	bool		started;		/* keys evaluated, first group begun */
	bool		no_rows;		/* an array is NULL or empty */
	bool		in_group;
	ScanDirection dir;			/* of the current group */
	IndexScanDesc scan;			/* NULL until first executed */
	IndexScanDesc probe;
	bool		have_entry;
	bool		stream_done;
	bool		open_ended;		/* group's btree scan lacks the trailing keys */
	WcKsEntry  *ahead;			/* WC_KS_AHEAD entries read ahead */
	int			nahead;
	int			nextahead;		/* next of them for the merge */
	bool		ahead_end;		/* btree had no more entries after them */
	bool		from_ahead;		/* the current entry came from ahead[] */
	ItemPointerData etid;
	Datum		ekey[INDEX_MAX_KEYS];
	bool		enull[INDEX_MAX_KEYS];
	WcKsRun    *runs;
	int			nruns;
	int			maxruns;
	List	   *opened;			/* WcKsOpened: runs opened this group */
	List	   *hinted;			/* block ids named by a hint */
	MemoryContext groupcxt;		/* pending keys, opened list */
	MemoryContext arraycxt;		/* expanded arrays of this (re)scan */
	bool		storage_open;
	WcStorage	st;
	WcKsBlock	cache[WC_KS_CACHE_SIZE];
	uint64		clock;
	Oid			cur_blockid;	/* for the error context */
	BlockNumber prefetched[WC_KS_PREFETCHED];	/* InvalidBlockNumber: unused */
	int			nextprefetch;

	uint64		delta_rows;
	uint64		cold_rows;
	uint64		blocks_read;
	uint64		groups_decoded;	/* row groups of blocks left the cache */
	uint64		groups_cached;	/* of those, copied from the group cache */
	uint64		blocks_skipped;
	BlockNumber readahead;		/* key index pages this scan read ahead */
} WcKeyScanState;

/*
 * Does scan key key (on a key index column) hold for value d?  A NULL
 * gives ifnull.
 */
static inline bool
wc_ks_datum_holds(ScanKey key, Datum d, bool isnull, bool ifnull)
{
	if (isnull)
		return ifnull;
	return DatumGetBool(FunctionCall2Coll(&key->sk_func, key->sk_collation,
										  d, key->sk_argument));
}

/* wc_ks_runs.c */
extern int	wc_key_cmp(WcKeyScanState *ks, Datum *a, bool *an, Datum *b, bool *bn);
extern void wc_row_key(WcKeyScanState *ks, HeapTuple row, Datum *key, bool *null);
extern void wc_ks_open_storage(WcKeyScanState *ks);
extern WcKsBlock *wc_ks_get_block(WcKeyScanState *ks, ItemPointer btid);
extern bool wc_ks_key_holds(WcKeyScanState *ks, ScanKey key, HeapTuple row,
							bool ifnull);
extern void wc_ks_copy_key(WcKeyScanState *ks, Datum *key, bool *null,
						   Datum *dst, bool *dstnull);
extern void wc_ks_add_run(WcKeyScanState *ks, ItemPointer tid, Datum *key,
						  bool *null, bool closing);
extern void wc_ks_drop_run(WcKeyScanState *ks, int i);
extern int	wc_ks_find_run(WcKeyScanState *ks, WcKsBlock *b, WcKsRun *run);
extern bool wc_ks_open_run(WcKeyScanState *ks, int i);
extern int	wc_ks_best_run(WcKeyScanState *ks);
extern bool wc_ks_past_end(WcKeyScanState *ks, HeapTuple row);
extern bool wc_ks_row_in_group(WcKeyScanState *ks, HeapTuple row);

#endif							/* WC_KEYSCAN_H */
