/*-------------------------------------------------------------------------
 *
 * wc_worker.c
 *	  The background mover: a launcher and short-lived per-database
 *	  workers that run widecol.compact()'s move on tables whose delta has
 *	  grown.
 *
 * Processes (the autovacuum pattern, built on background workers):
 *
 *	  launcher		"widecol mover launcher", registered in _PG_init when
 *					widecol is preloaded (not in pg_upgrade's binary upgrade
 *					mode), started once recovery has finished (never on a
 *					standby).  It connects to no
 *					database.  Every widecol.mover_naptime it lists the
 *					databases that accept connections (not templates, not
 *					invalid ones) and starts one dynamic worker per database,
 *					one after the other: at most one mover runs at a time.
 *					It sleeps on its latch; the postmaster sets it when a
 *					worker it started stops (bgw_notify_pid).
 *	  worker		"widecol mover", connected to one database, one pass,
 *					then exits, so it never holds a database for long.  It
 *					exits at once if the database has no widecol extension.
 *					Otherwise it lists the widecol tables (pg_class.relam;
 *					no temporary tables, partitioned parents have no rows)
 *					and moves the delta rows of each one that is due (below),
 *					in one transaction per table, through the same WcMove()
 *					as widecol.compact(), as the table's owner in a
 *					security-restricted operation (like VACUUM: the worker is
 *					a superuser, the table's index expressions are the
 *					owner's code).  Published tables are skipped
 *					(compact refuses them).  An error in one table is logged
 *					(LOG, with the table in the context) and the pass goes
 *					on with the next table.
 *
 * When a table is due: the statistics say it holds at least
 * widecol.mover_min_rows live rows (n_live_tup; after ANALYZE that counts
 * cold rows too) and at least that many rows entered the delta
 * (n_tup_ins + n_tup_upd) since the mover last visited the table.  The
 * second condition keeps a table whose delta rows cannot move (rows with
 * out-of-line values, rows a long transaction may still need) from being
 * scanned on every pass.  A visit that moved fewer rows than entered leaves
 * a backlog; a backlog of min_rows is retried once after
 * WC_MOVER_RETRY_PASSES naptimes (for rows a transaction held back), and a
 * retry that finds no new rows and moves none clears it (the rest is taken
 * to be unmovable until new rows arrive).  The last visit of each table
 * lives in a small shared hash (dboid, relid); a table without an entry
 * (never visited, or the server restarted) is due on n_live_tup alone.
 * Like autovacuum, the mover relies on the statistics, which a crash
 * discards: after one, a table is due again once min_rows new rows arrive.
 *
 * Deferral: the hash entry also keeps the move horizons of the table's last
 * WC_MOVER_DEFER_VISITS visits.  A visit for new rows passes the oldest of
 * them to WcMove, which lets rows that arrived since then wait in the
 * delta when their partition has few new rows and a last block too large
 * to rewrite with them (wc_mover.c): such a row waits for at most that
 * many visits; when no new rows come, a retry WC_MOVER_RETRY_PASSES
 * naptimes after the visit that let rows wait moves everything.
 *
 * Replaced blocks: the TOAST TIDs of the block tuples a visit's tail
 * merges deleted (and those an earlier visit found not yet dead) wait in a
 * shared array, WC_MOVER_MAX_REPLACED over all tables and at most half of
 * it per table, for the table's next visit, whose key index cleanup
 * removes their run entries once no snapshot needs them (wc_keyclean.c).
 * A visit that failed keeps the list as it was; what does not fit, or is
 * lost at a restart, is left to VACUUM.
 *
 * Locking: the worker takes ShareUpdateExclusiveLock with
 * ConditionalLockRelationOid (a table that is busy with VACUUM, ANALYZE,
 * CREATE INDEX, compact or DDL is skipped until the next pass; the mover
 * never queues behind DDL), then re-opens the table by OID to make sure it
 * still exists and is still a widecol table.  Shared memory
 * ("widecol mover", LWLock tranche "widecol", one lock) holds the running
 * worker's pid and database, the hash and the replaced blocks; the lock is
 * never held across anything that can wait or fail.
 *
 * DROP DATABASE, ALTER DATABASE RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE wait at most 5 s for other sessions in the
 * database to go away and terminate only autovacuum workers
 * (CountOtherDBBackends), so a mover in the middle of a long move would
 * make them fail.  A ProcessUtility hook therefore sends SIGTERM to the
 * mover when it is connected to the database such a statement names and
 * the role owns that database (so only a statement that can succeed does
 * it); the mover's transaction aborts (nothing is half moved, DESIGN.md
 * 7.4) and the statement proceeds.  A worker that connects between the hook and core's
 * check is not caught; its pass is short unless the tables are large.
 *
 * Signals: SIGTERM ends the launcher between rounds and the worker at its
 * next CHECK_FOR_INTERRUPTS (die); SIGHUP reloads the configuration, and
 * widecol.mover_enabled = off stops the launcher from starting workers and
 * a running worker before its next table.
 *
 * widecol/wc_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "access/xlog.h"
#include "catalog/pg_class.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/extension.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "tcop/tcopprot.h"
#include "tcop/utility.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "widecol.h"
#include "wc_cold.h"
#include "wc_compat.h"

/* Tables whose last visit the shared hash remembers */
#define WC_MOVER_MAX_TABLES		1024

/* Naptimes before a table with a backlog is visited again without new rows */
#define WC_MOVER_RETRY_PASSES	30

/* Visits a new row of a partition with few of them may wait (wc_mover.c) */
#define WC_MOVER_DEFER_VISITS	3

/* Seconds before the postmaster restarts a launcher that failed */
#define WC_LAUNCHER_RESTART		10

/* widecol.mover_enabled, widecol.mover_naptime (s), widecol.mover_min_rows */
bool		wc_mover_enabled = true;
int			wc_mover_naptime = 10;
int			wc_mover_min_rows = 10000;

typedef struct WcMoverTableKey
{
	Oid			dboid;
	Oid			relid;
} WcMoverTableKey;

/* A block tuple a move replaced, for its table's next visit (wc_keyclean.c) */
typedef struct WcMoverReplaced
{
	WcMoverTableKey key;
	WcReplacedBlock blk;
} WcMoverReplaced;

typedef struct WcMoverShared
{
	LWLock	   *lock;			/* protects the fields below and the hash */
	pid_t		mover_pid;		/* the running worker, 0 if none */
	Oid			mover_dboid;	/* its database */
	int			nreplaced;		/* entries of replaced[] in use */
	/* of all tables, WC_MOVER_MAX_REPLACED in all */
	WcMoverReplaced replaced[FLEXIBLE_ARRAY_MEMBER];
} WcMoverShared;

/* The mover's last visit of one table */
typedef struct WcMoverTableEntry
{
	WcMoverTableKey key;
	int64		changes;		/* n_tup_ins + n_tup_upd seen at the visit */
	int64		backlog;		/* rows that entered and did not move */
	TimestampTz visited_at;
	/* move horizons of the last visits, oldest first */
	TransactionId horizons[WC_MOVER_DEFER_VISITS];
	int			nhorizons;
	int64		deferred;		/* rows the last visit let wait */
	int64		dead_cleaned;	/* LP_DEAD items the last key index cleanup saw */
} WcMoverTableEntry;

/* One widecol table of the worker's database and its statistics */
typedef struct WcMoverCandidate
{
	Oid			relid;
	int64		live;			/* n_live_tup */
	int64		changes;		/* n_tup_ins + n_tup_upd */
	bool		visited;		/* the mover locked it and tried to move */
	WcMoveParams params;		/* from the table's last visits */
	WcMoveResult res;			/* of its move (horizon invalid if none ran) */
} WcMoverCandidate;

static WcMoverShared *wc_mover_shared = NULL;
static HTAB *wc_mover_tables = NULL;

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* Name of the table being moved, for the error context */
static const char *wc_mover_current_table = NULL;

PGDLLEXPORT void WcMoverLauncherMain(Datum arg);
PGDLLEXPORT void WcMoverMain(Datum arg);

/* Bytes of the mover's shared struct, with its list of replaced blocks */
static Size
wc_mover_shared_size(void)
{
	return offsetof(WcMoverShared, replaced) +
		sizeof(WcMoverReplaced) * WC_MOVER_MAX_REPLACED;
}

/* Shared memory of the mover: the struct and the hash of tables */
static Size
wc_mover_shmem_size(void)
{
	return add_size(MAXALIGN(wc_mover_shared_size()),
					hash_estimate_size(WC_MOVER_MAX_TABLES,
									   sizeof(WcMoverTableEntry)));
}

/* Reserve the shared state and its lock (wc_init.c's shmem_request_hook) */
void
WcWorkerShmemRequest(void)
{
	RequestAddinShmemSpace(wc_mover_shmem_size());
	RequestNamedLWLockTranche("widecol", 1);
}

/*
 * Create or attach to the shared state (wc_init.c's shmem_startup_hook,
 * under AddinShmemInitLock)
 */
void
WcWorkerShmemStartup(void)
{
	HASHCTL		info;
	bool		found;

	wc_mover_shared = ShmemInitStruct("widecol mover", wc_mover_shared_size(),
									  &found);
	if (!found)
	{
		wc_mover_shared->lock = &(GetNamedLWLockTranche("widecol"))->lock;
		wc_mover_shared->mover_pid = 0;
		wc_mover_shared->mover_dboid = InvalidOid;
		wc_mover_shared->nreplaced = 0;
	}
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(WcMoverTableKey);
	info.entrysize = sizeof(WcMoverTableEntry);
	wc_mover_tables = ShmemInitHash("widecol mover tables",
									WC_MOVER_MAX_TABLES, WC_MOVER_MAX_TABLES,
									&info, HASH_ELEM | HASH_BLOBS);
}

/*
 * True if key no longer names a table: with keep_dbs, its database is not
 * in it (launcher); otherwise it is of database dboid and its table is not
 * in keep_relids (worker)
 */
static bool
wc_mover_gone(WcMoverTableKey *key, List *keep_dbs, Oid dboid, List *keep_relids)
{
	if (keep_dbs != NIL)
		return !list_member_oid(keep_dbs, key->dboid);
	return key->dboid == dboid && !list_member_oid(keep_relids, key->relid);
}

/*
 * Remove the hash entries and the replaced blocks of the tables that are
 * gone (wc_mover_gone)
 */
static void
wc_mover_forget(List *keep_dbs, Oid dboid, List *keep_relids)
{
	HASH_SEQ_STATUS seq;
	WcMoverTableEntry *e;
	int			i;
	int			n = 0;

	LWLockAcquire(wc_mover_shared->lock, LW_EXCLUSIVE);
	hash_seq_init(&seq, wc_mover_tables);
	while ((e = hash_seq_search(&seq)) != NULL)
	{
		if (wc_mover_gone(&e->key, keep_dbs, dboid, keep_relids))
			hash_search(wc_mover_tables, &e->key, HASH_REMOVE, NULL);
	}
	for (i = 0; i < wc_mover_shared->nreplaced; i++)
	{
		WcMoverReplaced *r = &wc_mover_shared->replaced[i];

		if (!wc_mover_gone(&r->key, keep_dbs, dboid, keep_relids))
			wc_mover_shared->replaced[n++] = *r;
	}
	wc_mover_shared->nreplaced = n;
	LWLockRelease(wc_mover_shared->lock);
}

/* ---------------------------------------------------------------- launcher */

/* Fill in a database-connected widecol background worker running function */
static void
wc_mover_worker_init(BackgroundWorker *worker, const char *function,
					 int restart_time)
{
	memset(worker, 0, sizeof(BackgroundWorker));
	worker->bgw_flags = BGWORKER_SHMEM_ACCESS |
		BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker->bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker->bgw_restart_time = restart_time;
	strlcpy(worker->bgw_library_name, "widecol", BGW_MAXLEN);
	strlcpy(worker->bgw_function_name, function, BGW_MAXLEN);
}

/* Register the launcher; called from _PG_init when preloading */
static void
wc_mover_register_launcher(void)
{
	BackgroundWorker worker;

	wc_mover_worker_init(&worker, "WcMoverLauncherMain", WC_LAUNCHER_RESTART);
	strlcpy(worker.bgw_name, "widecol mover launcher", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "widecol mover launcher", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* OIDs of the databases a mover may visit, allocated in cxt */
static List *
wc_mover_list_databases(MemoryContext cxt)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext old;

	StartTransactionCommand();
	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);

		if (!db->datallowconn || db->datistemplate ||
			database_is_invalid_form(db))
			continue;
		old = MemoryContextSwitchTo(cxt);
		dbs = lappend_oid(dbs, db->oid);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	return dbs;
}

/* Start a worker for dboid; NULL if no background worker slot is free */
static BackgroundWorkerHandle *
wc_mover_start_worker(Oid dboid)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;

	wc_mover_worker_init(&worker, "WcMoverMain", BGW_NEVER_RESTART);
	snprintf(worker.bgw_name, BGW_MAXLEN, "widecol mover for database %u",
			 dboid);
	strlcpy(worker.bgw_type, "widecol mover", BGW_MAXLEN);
	worker.bgw_main_arg = ObjectIdGetDatum(dboid);
	worker.bgw_notify_pid = MyProcPid;
	if (!RegisterDynamicBackgroundWorker(&worker, &handle))
		return NULL;
	return handle;
}

/*
 * Launcher entry point: every naptime, one worker per database, one at a
 * time.  Exits with status 1 on SIGTERM so that the postmaster restarts a
 * launcher terminated by hand (at shutdown nothing is restarted).
 */
void
WcMoverLauncherMain(Datum arg)
{
	MemoryContext cxt;
	List	   *pending = NIL;
	BackgroundWorkerHandle *handle = NULL;
	TimestampTz next_round = 0;

	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	cxt = AllocSetContextCreate(TopMemoryContext, "widecol mover launcher",
								ALLOCSET_DEFAULT_SIZES);

	while (!ShutdownRequestPending)
	{
		TimestampTz now;
		long		timeout;
		pid_t		pid;

		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (handle != NULL &&
			GetBackgroundWorkerPid(handle, &pid) == BGWH_STOPPED)
		{
			pfree(handle);
			handle = NULL;
		}

		now = GetCurrentTimestamp();
		if (handle == NULL && wc_mover_enabled && !RecoveryInProgress())
		{
			if (pending == NIL && now >= next_round)
			{
				MemoryContextReset(cxt);
				pending = wc_mover_list_databases(cxt);
				next_round = TimestampTzPlusMilliseconds(now,
														 wc_mover_naptime * 1000L);
				if (pending != NIL)
					wc_mover_forget(pending, InvalidOid, NIL);
			}
			if (pending != NIL)
			{
				handle = wc_mover_start_worker(linitial_oid(pending));
				if (handle == NULL)
				{
					/* skip the rest of this round, try again next round */
					ereport(LOG,
							(errmsg("widecol mover launcher could not start a worker: out of background worker slots"),
							 errhint("You might need to increase \"max_worker_processes\".")));
					pending = NIL;
				}
				else
					pending = list_delete_first(pending);
			}
		}

		/* a stopping worker sets our latch; otherwise wake for the next round */
		if (handle != NULL || !wc_mover_enabled)
			timeout = wc_mover_naptime * 1000L;
		else
			timeout = Max(TimestampDifferenceMilliseconds(GetCurrentTimestamp(),
														  next_round), 1);
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 timeout, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
	proc_exit(1);
}

/* ---------------------------------------------------------------- worker */

/* before_shmem_exit callback: the worker no longer runs */
static void
wc_mover_unadvertise(int code, Datum arg)
{
	LWLockAcquire(wc_mover_shared->lock, LW_EXCLUSIVE);
	if (wc_mover_shared->mover_pid == MyProcPid)
	{
		wc_mover_shared->mover_pid = 0;
		wc_mover_shared->mover_dboid = InvalidOid;
	}
	LWLockRelease(wc_mover_shared->lock);
}

/*
 * The widecol tables of this database and their statistics, allocated in
 * the caller's memory context; NIL if the extension is not installed.
 */
static List *
wc_mover_list_tables(void)
{
	MemoryContext cxt = CurrentMemoryContext;
	List	   *tables = NIL;
	Oid			amoid;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;
	MemoryContext old;

	StartTransactionCommand();
	if (!OidIsValid(get_extension_oid("widecol", true)) ||
		!OidIsValid(amoid = get_am_oid("widecol", true)))
	{
		CommitTransactionCommand();
		MemoryContextSwitchTo(cxt);
		return NIL;
	}
	rel = table_open(RelationRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while ((tup = heap_getnext(scan, ForwardScanDirection)) != NULL)
	{
		Form_pg_class form = (Form_pg_class) GETSTRUCT(tup);
		PgStat_StatTabEntry *stat;
		WcMoverCandidate *cand;

		if (form->relam != amoid || form->relkind != RELKIND_RELATION ||
			form->relpersistence == RELPERSISTENCE_TEMP)
			continue;
		old = MemoryContextSwitchTo(cxt);
		cand = palloc0(sizeof(WcMoverCandidate));
		cand->relid = form->oid;
		tables = lappend(tables, cand);
		MemoryContextSwitchTo(old);
		stat = pgstat_fetch_stat_tabentry(form->oid);
		if (stat != NULL)
		{
			cand->live = WcStatLiveTuples(stat);
			cand->changes = stat->tuples_inserted + stat->tuples_updated;
		}
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);
	CommitTransactionCommand();
	MemoryContextSwitchTo(cxt);
	return tables;
}

/*
 * Copy the replaced blocks of table key into blks, which has room for
 * WC_MOVER_MAX_REPLACED_TABLE, and return how many there are; the caller
 * holds the lock (and allocated blks before it: an error under the lock
 * would leave the worker waiting for itself at exit)
 */
static int
wc_mover_replaced_of(WcMoverTableKey *key, WcReplacedBlock *blks)
{
	int			n = 0;
	int			i;

	for (i = 0; i < wc_mover_shared->nreplaced &&
		 n < WC_MOVER_MAX_REPLACED_TABLE; i++)
	{
		WcMoverReplaced *r = &wc_mover_shared->replaced[i];

		if (r->key.dboid == key->dboid && r->key.relid == key->relid)
			blks[n++] = r->blk;
	}
	return n;
}

/*
 * Replace the replaced blocks of table key by the n in blks (as many as
 * there is room for; the others are left to VACUUM); the caller holds the
 * lock in exclusive mode
 */
static void
wc_mover_replaced_set(WcMoverTableKey *key, const WcReplacedBlock *blks, int n)
{
	int			i;
	int			kept = 0;

	for (i = 0; i < wc_mover_shared->nreplaced; i++)
	{
		WcMoverReplaced *r = &wc_mover_shared->replaced[i];

		if (r->key.dboid != key->dboid || r->key.relid != key->relid)
			wc_mover_shared->replaced[kept++] = *r;
	}
	for (i = 0; i < n && i < WC_MOVER_MAX_REPLACED_TABLE &&
		 kept < WC_MOVER_MAX_REPLACED; i++)
	{
		wc_mover_shared->replaced[kept].key = *key;
		wc_mover_shared->replaced[kept].blk = blks[i];
		kept++;
	}
	wc_mover_shared->nreplaced = kept;
}

/* True if cand is due for a move (see the file header) */
static bool
wc_mover_due(WcMoverCandidate *cand)
{
	WcMoverTableKey key;
	WcMoverTableEntry *e;
	bool		due = true;
	WcReplacedBlock *blks;

	cand->params.defer_from = InvalidTransactionId;
	cand->params.dead_cleaned = 0;
	cand->params.replaced = NULL;
	cand->params.nreplaced = 0;
	if (cand->live < wc_mover_min_rows)
		return false;
	blks = palloc(sizeof(WcReplacedBlock) * WC_MOVER_MAX_REPLACED_TABLE);
	key.dboid = MyDatabaseId;
	key.relid = cand->relid;
	LWLockAcquire(wc_mover_shared->lock, LW_SHARED);
	e = hash_search(wc_mover_tables, &key, HASH_FIND, NULL);
	/* fewer new rows than min_rows (a reset of the statistics counts as new) */
	if (e != NULL && cand->changes >= e->changes &&
		cand->changes - e->changes < wc_mover_min_rows)
		due = (e->backlog >= wc_mover_min_rows || e->deferred > 0) &&
			GetCurrentTimestamp() >=
			TimestampTzPlusMilliseconds(e->visited_at,
										(int64) wc_mover_naptime * 1000 *
										WC_MOVER_RETRY_PASSES);
	/*
	 * A visit for new rows lets rows that arrived since the oldest
	 * remembered visit wait (wc_mover.c); a retry moves all, so rows that
	 * waited are moved at the latest WC_MOVER_RETRY_PASSES naptimes later
	 * when no new rows come.  A horizon more than 2^30 transactions old
	 * (the table was not visited meanwhile) is not compared with.
	 */
	else if (e != NULL && e->nhorizons > 0 &&
			 (uint32) (ReadNextTransactionId() - e->horizons[0]) < (1U << 30))
		cand->params.defer_from = e->horizons[0];
	if (e != NULL)
		cand->params.dead_cleaned = e->dead_cleaned;
	if (due)
		cand->params.nreplaced = wc_mover_replaced_of(&key, blks);
	LWLockRelease(wc_mover_shared->lock);
	if (cand->params.nreplaced > 0)
		cand->params.replaced = blks;
	else
		pfree(blks);
	return due;
}

/* Remember that the mover visited cand now, and what its move did */
static void
wc_mover_remember(WcMoverCandidate *cand)
{
	WcMoverTableKey key;
	WcMoverTableEntry *e;
	bool		found;
	int64		entered;

	key.dboid = MyDatabaseId;
	key.relid = cand->relid;
	LWLockAcquire(wc_mover_shared->lock, LW_EXCLUSIVE);
	/*
	 * A full hash only costs extra visits of the tables it cannot hold.  A
	 * shared hash does not stop at its size by itself: it would take the
	 * shared memory the lock tables grow into.
	 */
	e = hash_search(wc_mover_tables, &key, HASH_FIND, &found);
	if (e == NULL &&
		hash_get_num_entries(wc_mover_tables) < WC_MOVER_MAX_TABLES)
		e = hash_search(wc_mover_tables, &key, HASH_ENTER, &found);
	if (e != NULL)
	{
		if (!found)
		{
			entered = cand->live;
			e->backlog = 0;
			e->nhorizons = 0;
			e->deferred = 0;
			e->dead_cleaned = 0;
		}
		else if (cand->changes >= e->changes)
			entered = cand->changes - e->changes;
		else
			entered = cand->changes;	/* the statistics were reset */
		if (entered == 0 && cand->res.moved_rows == 0)
			e->backlog = 0;
		else
			e->backlog = Max(e->backlog + entered - cand->res.moved_rows, 0);
		e->changes = cand->changes;
		e->visited_at = GetCurrentTimestamp();
		/* a visit that failed or skipped the table keeps what was known */
		if (TransactionIdIsValid(cand->res.horizon))
		{
			e->deferred = cand->res.left_deferred;
			if (cand->res.key_cleaned)
				e->dead_cleaned = cand->res.dead_items;
			else if (cand->res.dead_items < e->dead_cleaned)
				e->dead_cleaned = 0;	/* VACUUM ran: every item is new */
			if (e->nhorizons == WC_MOVER_DEFER_VISITS)
			{
				memmove(e->horizons, e->horizons + 1,
						sizeof(TransactionId) * (WC_MOVER_DEFER_VISITS - 1));
				e->nhorizons--;
			}
			e->horizons[e->nhorizons++] = cand->res.horizon;
		}
	}
	/* only a visit that ran the move replaces the list; others keep it */
	if (TransactionIdIsValid(cand->res.horizon))
		wc_mover_replaced_set(&key, cand->res.replaced, cand->res.nreplaced);
	LWLockRelease(wc_mover_shared->lock);
}

/* Error context callback: name the table being moved */
static void
wc_mover_error_context(void *arg)
{
	if (wc_mover_current_table != NULL)
		errcontext("widecol mover moving rows of table \"%s\"",
				   wc_mover_current_table);
}

/*
 * Move the delta rows of one table in a transaction of its own, setting
 * cand->visited and cand->res.  Skips a table that is locked, gone or
 * published (a published one counts as visited); an error is logged at
 * LOG and swallowed.  Called outside a transaction, in the worker's
 * context.
 */
static void
wc_mover_table(WcMoverCandidate *cand)
{
	MemoryContext cxt = CurrentMemoryContext;
	ErrorContextCallback errcb;

	wc_mover_current_table = NULL;
	errcb.callback = wc_mover_error_context;
	errcb.arg = NULL;
	errcb.previous = error_context_stack;
	error_context_stack = &errcb;
	PG_TRY();
	{
		Relation	rel = NULL;
		WcMoveResult *res = &cand->res;

		SetCurrentStatementStartTimestamp();
		StartTransactionCommand();
		PushActiveSnapshot(GetTransactionSnapshot());
		if (ConditionalLockRelationOid(cand->relid, ShareUpdateExclusiveLock))
		{
			/* it may have been dropped, or its OID reused, meanwhile */
			rel = try_relation_open(cand->relid, NoLock);
			if (rel != NULL &&
				(rel->rd_rel->relkind != RELKIND_RELATION ||
				 rel->rd_tableam != WcGetRoutine() ||
				 RelationUsesLocalBuffers(rel)))
			{
				relation_close(rel, NoLock);
				rel = NULL;
			}
		}
		else
			ereport(DEBUG1,
					(errmsg("widecol mover skipped table with OID %u: it is locked",
							cand->relid)));
		if (rel != NULL)
		{
			wc_mover_current_table =
				MemoryContextStrdup(cxt,
									psprintf("%s.%s",
											 get_namespace_name(RelationGetNamespace(rel)),
											 RelationGetRelationName(rel)));
			pgstat_report_activity(STATE_RUNNING,
								   psprintf("widecol mover: moving rows of %s",
											wc_mover_current_table));
			cand->visited = true;
			if (WcTableIsPublished(rel))
				ereport(DEBUG1,
						(errmsg("widecol mover skipped table \"%s\": it is published",
								wc_mover_current_table)));
			else
			{
				WcMoveAsOwner(rel, &cand->params, &cand->res);
				/* the list outlives the transaction */
				if (res->nreplaced > 0)
				{
					res->replaced = memcpy(MemoryContextAlloc(cxt, sizeof(WcReplacedBlock) *
															  res->nreplaced),
										   res->replaced,
										   sizeof(WcReplacedBlock) * res->nreplaced);
					res->maxreplaced = res->nreplaced;
				}
			}
			table_close(rel, NoLock);
		}
		PopActiveSnapshot();
		CommitTransactionCommand();
		error_context_stack = errcb.previous;
		if (res->moved_rows > 0 || res->left_deferred > 0 || res->key_cleaned)
			ereport(DEBUG1,
					(errmsg("widecol mover moved %lld rows of table \"%s\" into %lld blocks, rewriting %lld tail blocks, keeping %lld rows of partitions with few new rows for a later move, removing %lld key index entries of pruned rows and of %lld replaced blocks",
							(long long) res->moved_rows, wc_mover_current_table,
							(long long) res->blocks_written,
							(long long) res->merged_blocks,
							(long long) res->left_deferred,
							(long long) res->key_entries_removed,
							(long long) res->replaced_cleaned)));
	}
	PG_CATCH();
	{
		ErrorData  *edata;

		/* report the error as LOG and go on with the next table */
		HOLD_INTERRUPTS();
		error_context_stack = errcb.previous;
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortOutOfAnyTransaction();
		/* the move was undone: nothing of it to remember */
		memset(&cand->res, 0, sizeof(cand->res));
		edata->elevel = LOG;
		ThrowErrorData(edata);
		FreeErrorData(edata);
		RESUME_INTERRUPTS();
	}
	PG_END_TRY();
	error_context_stack = errcb.previous;
	MemoryContextSwitchTo(cxt);
	if (cand->visited)
		wc_mover_remember(cand);
	if (cand->params.replaced != NULL)
		pfree((void *) cand->params.replaced);
	if (cand->res.replaced != NULL)
		pfree(cand->res.replaced);
	cand->params.replaced = cand->res.replaced = NULL;
	pgstat_report_activity(STATE_IDLE, NULL);
	if (wc_mover_current_table != NULL)
		pfree((char *) wc_mover_current_table);
	wc_mover_current_table = NULL;
}

/* One pass over the widecol tables of this database */
static void
wc_mover_pass(void)
{
	List	   *tables;
	List	   *relids = NIL;
	ListCell   *lc;

	tables = wc_mover_list_tables();
	foreach(lc, tables)
		relids = lappend_oid(relids, ((WcMoverCandidate *) lfirst(lc))->relid);
	wc_mover_forget(NIL, MyDatabaseId, relids);

	foreach(lc, tables)
	{
		WcMoverCandidate *cand = lfirst(lc);

		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!wc_mover_enabled || RecoveryInProgress())
			break;
		if (wc_mover_due(cand))
			wc_mover_table(cand);
	}
}

/* Worker entry point: one pass over the database in bgw_main_arg */
void
WcMoverMain(Datum arg)
{
	Oid			dboid = DatumGetObjectId(arg);
	MemoryContext cxt;

	pqsignal(SIGTERM, die);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();
	BackgroundWorkerInitializeConnectionByOid(dboid, InvalidOid, 0);

	/*
	 * As autovacuum: no timeouts, READ COMMITTED whatever the database's
	 * settings, and no wait for a synchronous standby (one that is down
	 * would hold the only mover at its first commit).
	 */
	SetConfigOption("statement_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("lock_timeout", "0", PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("idle_in_transaction_session_timeout", "0",
					PGC_SUSET, PGC_S_OVERRIDE);
	SetConfigOption("default_transaction_isolation", "read committed",
					PGC_SUSET, PGC_S_OVERRIDE);
	if (synchronous_commit > SYNCHRONOUS_COMMIT_LOCAL_FLUSH)
		SetConfigOption("synchronous_commit", "local",
						PGC_SUSET, PGC_S_OVERRIDE);

	/* DDL on this database finds us here (wc_worker_process_utility) */
	before_shmem_exit(wc_mover_unadvertise, (Datum) 0);
	LWLockAcquire(wc_mover_shared->lock, LW_EXCLUSIVE);
	wc_mover_shared->mover_pid = MyProcPid;
	wc_mover_shared->mover_dboid = dboid;
	LWLockRelease(wc_mover_shared->lock);

	cxt = AllocSetContextCreate(TopMemoryContext, "widecol mover",
								ALLOCSET_DEFAULT_SIZES);
	MemoryContextSwitchTo(cxt);
	if (wc_mover_enabled && !RecoveryInProgress())
		wc_mover_pass();
	proc_exit(0);
}

/* ------------------------------------------------- database-level DDL */

/*
 * The database whose other sessions parsetree waits for (core's
 * CountOtherDBBackends), or NULL if it is not such a statement.
 */
static const char *
wc_ddl_target_database(Node *parsetree)
{
	ListCell   *lc;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return ((DropdbStmt *) parsetree)->dbname;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				return ((RenameStmt *) parsetree)->subname;
			return NULL;
		case T_AlterDatabaseStmt:
			foreach(lc, ((AlterDatabaseStmt *) parsetree)->options)
			{
				if (strcmp(((DefElem *) lfirst(lc))->defname, "tablespace") == 0)
					return ((AlterDatabaseStmt *) parsetree)->dbname;
			}
			return NULL;
		case T_CreatedbStmt:
			foreach(lc, ((CreatedbStmt *) parsetree)->options)
			{
				DefElem    *def = lfirst(lc);

				if (strcmp(def->defname, "template") == 0 && def->arg != NULL)
					return defGetString(def);
			}
			return NULL;
		default:
			return NULL;
	}
}

/*
 * ProcessUtility hook: before a statement that needs a database to itself
 * runs, terminate the mover if it is connected to that database.
 */
static void
wc_worker_process_utility(PlannedStmt *pstmt, const char *queryString,
						  bool readOnlyTree, ProcessUtilityContext context,
						  ParamListInfo params, QueryEnvironment *queryEnv,
						  DestReceiver *dest, QueryCompletion *qc)
{
	const char *dbname = wc_ddl_target_database(pstmt->utilityStmt);

	if (dbname != NULL)
	{
		Oid			dboid = get_database_oid(dbname, true);

		/*
		 * Only for a role the statement can succeed for (all four need the
		 * database's owner; a template, for which CREATE DATABASE does not,
		 * is never visited), else anyone could keep the mover out of a
		 * database.  The worker cannot exit (and free its pid) while we hold
		 * the lock.
		 */
		LWLockAcquire(wc_mover_shared->lock, LW_SHARED);
		if (OidIsValid(dboid) && WcDatabaseOwnerCheck(dboid, GetUserId()) &&
			wc_mover_shared->mover_pid != 0 &&
			wc_mover_shared->mover_dboid == dboid)
			(void) kill(wc_mover_shared->mover_pid, SIGTERM);
		LWLockRelease(wc_mover_shared->lock);
	}
	if (prev_ProcessUtility)
		prev_ProcessUtility(pstmt, queryString, readOnlyTree, context,
							params, queryEnv, dest, qc);
	else
		standard_ProcessUtility(pstmt, queryString, readOnlyTree, context,
								params, queryEnv, dest, qc);
}

/* Install the DDL hook and the launcher */
void
WcWorkerInit(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = wc_worker_process_utility;
	/* pg_upgrade's servers must not change the data (as autovacuum) */
	if (!IsBinaryUpgrade)
		wc_mover_register_launcher();
}
