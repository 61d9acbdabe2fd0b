/*-------------------------------------------------------------------------
 *
 * wc_init.c
 *	  Module start-up and the shared_preload_libraries requirement.
 *
 * widecol's options and their protection live in a ProcessUtility hook and
 * an object access hook, which must be in place in every backend before
 * the first statement runs; so widecol works only when it is listed in
 * shared_preload_libraries.  Loaded any other way (by CREATE EXTENSION, by
 * opening a widecol table, by its event trigger, by LOAD), _PG_init
 * installs nothing and every entry point refuses with SQLSTATE 55000 and a
 * hint to preload:
 *
 *	  - CREATE EXTENSION runs widecol._check_preload() first;
 *	  - the table access method handler (wc_tableam.c) raises, so any use
 *		of an existing widecol table fails instead of bypassing the rules;
 *	  - widecol._ddl_guard(), an event trigger on ddl_command_start owned by
 *		the extension, catches CREATE TABLE / CREATE TABLE AS / ALTER TABLE
 *		statements that carry widecol options or name the access method.
 *		Core would otherwise reject the options first with a confusing
 *		"unrecognized parameter", before any widecol code runs.
 *
 * GUCs: widecol.enable_keyscan and widecol.enable_columnscan (USERSET,
 * default on),
 * widecol.key_index_readahead (USERSET, default 16 MB) and the background
 * mover's widecol.mover_enabled (default on), widecol.mover_naptime
 * (default 10 s) and widecol.mover_min_rows (default 10,000), all SIGHUP.
 * When preloaded it also registers the transaction callbacks of the
 * physical-size mode (wc_delta.c), the planner hooks (wc_plan.c,
 * wc_keyindex.c, wc_customscan.c) and the background mover with its
 * shared memory (wc_worker.c) and the key index read-ahead's list of files
 * (wc_readahead.c), the only shared state and locks of widecol.
 *
 * widecol/wc_init.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "commands/event_trigger.h"
#include "fmgr.h"
#include <limits.h>

#include "miscadmin.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "utils/guc.h"

#include "widecol.h"
#include "wc_cold.h"

PG_MODULE_MAGIC;

/* True when loaded through shared_preload_libraries (hooks installed) */
bool		wc_preloaded = false;

/* widecol.enable_keyscan: the planner may use WidecolKeyScan paths */
bool		wc_enable_keyscan = true;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

void		_PG_init(void);

/* shmem_request_hook: the mover's state, the read-ahead files, the group cache */
static void
wc_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	WcWorkerShmemRequest();
	WcReadAheadShmemRequest();
	WcGroupCacheShmemRequest();
}

/* shmem_startup_hook: create or attach to them, under AddinShmemInitLock */
static void
wc_shmem_startup(void)
{
	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();
	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	WcWorkerShmemStartup();
	WcReadAheadShmemStartup();
	WcGroupCacheShmemStartup();
	LWLockRelease(AddinShmemInitLock);
}

/* Module load: install the hooks, but only when preloading */
void
_PG_init(void)
{
	if (!process_shared_preload_libraries_in_progress)
		return;

	wc_preloaded = true;
	DefineCustomBoolVariable("widecol.enable_keyscan",
							 "Enables the planner's use of widecol key scans.",
							 "A key scan reads the rows of the partitions a query fixes "
							 "in sort key order through the table's key index.",
							 &wc_enable_keyscan, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("widecol.enable_columnscan",
							 "Enables the planner's use of widecol column scans.",
							 "A column scan reads a table decoding only the columns the "
							 "query reads, and counts compressed rows without decoding "
							 "them when it reads none (count(*)).",
							 &wc_enable_columnscan, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("widecol.copy_direct",
							 "Lets COPY FROM write widecol rows straight into compressed blocks.",
							 "Applies to tables without triggers, unique indexes, row-level "
							 "security or publications; other loads go through the delta.",
							 &wc_copy_direct, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("widecol.vacuum_move",
							 "Lets a plain VACUUM move delta rows before it vacuums.",
							 "VACUUM then moves the committed rows of the widecol tables "
							 "it processes into cold blocks, as widecol.compact() does.",
							 &wc_vacuum_move, true, PGC_USERSET, 0,
							 NULL, NULL, NULL);
	DefineCustomBoolVariable("widecol.mover_enabled",
							 "Starts the background mover.",
							 "The mover moves the committed rows of widecol tables "
							 "into cold blocks, as widecol.compact() does.",
							 &wc_mover_enabled, true, PGC_SIGHUP, 0,
							 NULL, NULL, NULL);
	DefineCustomIntVariable("widecol.mover_naptime",
							"Time to sleep between background mover rounds.",
							"Each round visits every database once.",
							&wc_mover_naptime, 10, 1, INT_MAX / 1000,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("widecol.mover_min_rows",
							"Minimum number of delta rows before the background mover moves a table.",
							"A table is moved when its delta holds this many live rows "
							"and this many rows were inserted or updated since the "
							"mover last visited it.",
							&wc_mover_min_rows, 10000, 1, INT_MAX,
							PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("widecol.tail_merge_factor",
							"Largest ratio of rewritten to moved rows for a tail merge.",
							"The mover rewrites a partition's last block together with "
							"the partition's newly moved rows (fewer than 64) when that "
							"block holds at most this many times as many rows, so that "
							"the newest rows share a block; 0 turns tail merges off.",
							&wc_tail_merge_factor, 16, 0, WC_MAX_BLOCK_ROWS,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("widecol.key_index_readahead",
							"Largest key index that its first key scan reads ahead.",
							"The first key scan of a table after server start asks the "
							"kernel to read the table's key index into the page cache "
							"when the index is at most this size; 0 turns it off.",
							&wc_key_index_readahead, 16 * 1024, 0, 1024 * 1024,
							PGC_USERSET, GUC_UNIT_KB, NULL, NULL, NULL);
	DefineCustomIntVariable("widecol.group_cache_size",
							"Size of the shared cache of decoded row groups.",
							"Key scans and fetches by TID keep the rows of the cold row "
							"groups they decode here, so that the next reader of a group "
							"copies them instead of decompressing it; 0 turns the cache off.",
							&wc_group_cache_size, 64 * 1024, 0, Min(MAX_KILOBYTES, 128 * 1024 * 1024),
							PGC_POSTMASTER, GUC_UNIT_KB, NULL, NULL, NULL);
	MarkGUCPrefixReserved("widecol");
	WcUtilityInit();
	WcObjectAccessInit();
	WcKeyIndexInit();
	WcCustomScanInit();
	WcKeyScanInit();
	WcColumnScanInit();
	WcDeltaInitCallbacks();
	WcPlanInit();
	WcWorkerInit();
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = wc_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = wc_shmem_startup;
}

/* Raise 55000 unless widecol was preloaded */
void
WcCheckPreloaded(void)
{
	if (!wc_preloaded)
		ereport(ERROR,
				(errcode(ERRCODE_OBJECT_NOT_IN_PREREQUISITE_STATE),
				 errmsg("widecol must be loaded via \"shared_preload_libraries\""),
				 errhint("Add widecol to the \"shared_preload_libraries\" setting and restart the server.")));
}

PG_FUNCTION_INFO_V1(widecol_check_preload);

/* widecol._check_preload(): run by CREATE EXTENSION */
Datum
widecol_check_preload(PG_FUNCTION_ARGS)
{
	WcCheckPreloaded();
	PG_RETURN_VOID();
}

PG_FUNCTION_INFO_V1(widecol_ddl_guard);

/*
 * widecol._ddl_guard(): ddl_command_start event trigger.  Without preload,
 * refuse statements that would create or change a widecol table through
 * options core does not know; with preload the hooks handle them and this
 * does nothing.
 */
Datum
widecol_ddl_guard(PG_FUNCTION_ARGS)
{
	EventTriggerData *trigdata;

	if (!CALLED_AS_EVENT_TRIGGER(fcinfo))
		ereport(ERROR,
				(errcode(ERRCODE_E_R_I_E_EVENT_TRIGGER_PROTOCOL_VIOLATED),
				 errmsg("function \"%s\" was not called by event trigger manager",
						"widecol._ddl_guard")));
	trigdata = (EventTriggerData *) fcinfo->context;

	if (!wc_preloaded && WcStatementUsesWidecol(trigdata->parsetree))
		WcCheckPreloaded();
	PG_RETURN_VOID();
}
