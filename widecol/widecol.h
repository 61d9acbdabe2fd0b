/*-------------------------------------------------------------------------
 *
 * widecol.h
 *	  Internal API of widecol, a wide-column table access method.
 *
 * A widecol table groups its rows by a partition key and orders them by a
 * sort key.  Fresh rows (the delta) live in the table's own main fork in
 * heap format, written and read by heapam (design decision D1), so that
 * every SQL feature behaves as on heap; the keys are declared, validated,
 * stored in pg_class.reloptions and protected against DDL that would
 * invalidate them.  widecol.compact() moves committed rows into the
 * compressed cold tier in the table's TOAST relation; its modules share
 * wc_cold.h (wc_block, wc_cold, wc_compression, wc_fetch, wc_indexes,
 * wc_mover, wc_plan, wc_scan, wc_sql, wc_storage, wc_vacuum, wc_verify).
 *
 * Module map of the delta and DDL side (one file per concern):
 *	  wc_init.c		_PG_init, the shared_preload_libraries requirement, the
 *					ddl_command_start guard used when it is not met
 *	  wc_tableam.c	the TableAmRoutine and its handler
 *	  wc_delta.c	heap delegation: heap callbacks that need rd_tableam to
 *					be heap's during the call
 *	  wc_options.c	partition_key / sort_key: parsing, canonical text,
 *					reloptions, resolution against the table's columns
 *	  wc_utility.c	ProcessUtility hook: statement frames, CREATE TABLE
 *					(AS) options, ALTER TABLE SET/RESET, SET ACCESS METHOD
 *	  wc_keyindex.c	the key index: creation, protection, lookup, hiding
 *					from the planner, dump and restore
 *	  wc_customscan.c keyscan paths and plans (planner side)
 *	  wc_columnscan.c the column scan: full scans that decode only the
 *					columns read, none for count(*) (paths, plans, executor)
 *	  wc_keyscan.c	keyscan execution and EXPLAIN (executor side); its cold
 *					runs in wc_ks_runs.c, their shared state in wc_keyscan.h
 *	  wc_objaccess.c object_access_hook: new widecol tables, key column
 *					drops, type changes and renames
 *
 * Locking: widecol takes no locks of its own beyond the relation locks that
 * the DDL it intercepts would take anyway; ALTER TABLE that changes a key
 * takes AccessExclusiveLock before looking at the table's contents.
 *
 * widecol/widecol.h
 *
 *-------------------------------------------------------------------------
 */
#ifndef WIDECOL_H
#define WIDECOL_H

#include "postgres.h"

#include "nodes/extensible.h"
#include "nodes/parsenodes.h"
#include "nodes/pathnodes.h"
#include "nodes/pg_list.h"
#include "utils/memutils.h"
#include "utils/relcache.h"

#include "wc_compat.h"

/* ----------------------------------------------------------------
 * Names
 * ----------------------------------------------------------------
 */
#define WC_AM_NAME				"widecol"
#define WC_OPT_PARTITION_KEY	"partition_key"
#define WC_OPT_SORT_KEY			"sort_key"
#define WC_KEY_INDEX_LABEL		"wckey"
#define WC_KEYSCAN_NAME			"WidecolKeyScan"
#define WC_COLUMNSCAN_NAME		"WidecolColumnScan"

/* Scan direction in a keyscan plan's custom_private */
#define WC_KEYSCAN_FORWARD		0
#define WC_KEYSCAN_BACKWARD		1
#define WC_OPT_COMPRESSION		"compression"
#define WC_OPT_COMPRESSION_LEVEL "compression_level"

#define WC_MIN_COMPRESSION_LEVEL	1
#define WC_MAX_COMPRESSION_LEVEL	19
#define WC_DEFAULT_COMPRESSION_LEVEL 1

/* ----------------------------------------------------------------
 * Keys of a widecol table
 *
 * A key list is a List of palloc'd column names (char *), in key order.
 * has_partition_key / has_sort_key say whether the option is present: in
 * a statement that means "given" (with a NIL list for RESET), in stored
 * reloptions it means "stored".
 * ----------------------------------------------------------------
 */
typedef struct WcKeys
{
	bool		has_partition_key;
	bool		has_sort_key;
	List	   *partition_key;
	List	   *sort_key;
	bool		has_compression;
	bool		has_compression_level;
	char	   *compression;	/* "zstd" or "none"; NULL: reset */
	int			compression_level;	/* 1..19; 0: reset */
} WcKeys;

/*
 * What the code needs to know about the keys of an open widecol table,
 * cached in rd_amcache (wc_keyindex.c): the key index, whose columns are
 * the npk partition key columns followed by the nsk sort key columns.
 */
typedef struct WcKeyIndexInfo
{
	Oid			keyindex;		/* InvalidOid while there is none */
	int			npk;
	int			nsk;
	uint64		generation;		/* distinct for every entry built */
} WcKeyIndexInfo;

/* ----------------------------------------------------------------
 * Statement frames
 *
 * wc_utility.c opens one frame per utility statement (nested statements,
 * such as CREATE SCHEMA elements or SQL run by functions, open their own).
 * wc_objaccess.c records in the innermost frame what happened to widecol
 * tables while the statement ran; wc_utility.c acts on it when the
 * statement has finished, still inside its transaction.  Lists live in
 * the frame's memory context.
 * ----------------------------------------------------------------
 */
typedef struct WcColumnEvent
{
	Oid			relid;
	char	   *oldname;		/* key column name before the event */
	char	   *newname;		/* after a rename; NULL for a drop */
} WcColumnEvent;

typedef struct WcFrame
{
	struct WcFrame *parent;
	MemoryContext cxt;
	List	   *created;		/* OIDs of widecol tables created */
	List	   *dropped;		/* WcColumnEvent: key columns dropped */
	List	   *renamed;		/* WcColumnEvent: key columns renamed */

	/*
	 * ALTER TABLE SET/RESET hides the keys of hidden_relid from
	 * pg_class.reloptions while core runs (core re-validates the merged
	 * options); hidden_keys are the keys in force meanwhile.
	 */
	Oid			hidden_relid;
	WcKeys		hidden_keys;
} WcFrame;

/* wc_init.c */
extern bool wc_preloaded;
extern bool wc_enable_keyscan;
extern void WcCheckPreloaded(void);

/* wc_tableam.c */
extern const TableAmRoutine *WcGetRoutine(void);

/* wc_delta.c */
extern void WcDeltaInitRoutine(TableAmRoutine *routine);

/* wc_options.c */
extern bool WcIsKeyOption(const char *name);
extern bool WcExtractKeyOptions(List *options, List **rest, WcKeys *keys,
								bool reset);
extern void WcKeysFromReloptions(Datum reloptions, bool isnull, WcKeys *keys);
extern void WcKeysMerge(WcKeys *keys, const WcKeys *change);
extern void WcKeysCompression(const WcKeys *keys, bool *use_zstd, int *level);
extern void WcResolveKeys(Relation rel, WcKeys *keys);
extern bool WcKeysEqual(const WcKeys *a, const WcKeys *b);
extern bool WcKeysContain(const WcKeys *keys, const char *colname);
extern void WcKeysRename(WcKeys *keys, const char *oldname,
						 const char *newname);
extern char *WcKeyListToString(List *names);
extern bool WcReadStoredKeys(Oid relid, WcKeys *keys);
extern void WcStoreKeys(Oid relid, const WcKeys *keys);
extern bool WcAmIsWidecol(Oid amoid);
extern bool WcRelidIsWidecol(Oid relid);

/* wc_utility.c */
extern WcFrame *wc_current_frame;
extern void WcUtilityInit(void);
extern bool WcStatementUsesWidecol(Node *parsetree);
extern bool WcCurrentKeys(Oid relid, WcKeys *keys);

/* wc_keyindex.c */
extern const WcKeyIndexInfo *WcGetKeyIndexInfo(Relation rel);
extern void WcKeyIndexHide(RelOptInfo *rel, Relation relation);
extern void WcCreateKeyIndex(Relation rel, const WcKeys *keys);
extern void WcDropKeyIndex(Oid relid);
extern bool WcSkipKeyIndexStmt(IndexStmt *stmt, Oid *adopt_relid);
extern void WcAdoptKeyIndex(IndexStmt *stmt, Oid relid);
extern Oid	WcCheckRename(RenameStmt *stmt);
extern void WcRenameKeyIndex(Oid relid);
extern void WcCheckKeyIndexAttach(Node *parsetree);
extern IndexOptInfo *WcStashedKeyIndex(RelOptInfo *rel);
extern void WcKeyIndexInit(void);

/* wc_customscan.c */
extern void WcCustomScanInit(void);

/* wc_columnscan.c */
extern bool wc_enable_columnscan;
extern void WcColumnScanAddPaths(PlannerInfo *root, RelOptInfo *rel,
								 Relation relation);
extern void WcColumnScanInit(void);

/* wc_keyscan.c */
extern const CustomScanMethods wc_keyscan_scan_methods;
extern void WcKeyScanInit(void);

/* wc_objaccess.c */
extern void WcObjectAccessInit(void);

/* wc_groupcache.c */
extern int	wc_group_cache_size;

/* wc_readahead.c */
extern int	wc_key_index_readahead;
extern BlockNumber WcKeyIndexReadAhead(Relation index);
extern void WcReadAheadShmemRequest(void);
extern void WcReadAheadShmemStartup(void);

/* wc_worker.c */
extern bool wc_mover_enabled;
extern int	wc_mover_naptime;
extern int	wc_mover_min_rows;
extern void WcWorkerInit(void);
extern void WcWorkerShmemRequest(void);
extern void WcWorkerShmemStartup(void);

#endif							/* WIDECOL_H */
