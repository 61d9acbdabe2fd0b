/*-------------------------------------------------------------------------
 *
 * kv_worker.c
 *	  Background worker: advances the LRU clock and reclaims expired keys
 *	  so that memory comes back without reads (Redis's active expiry).
 *
 * Every kvcache.expire_interval the worker visits each partition that has
 * keys with a TTL and examines KV_EXPIRE_BUCKETS buckets from that
 * partition's expiry cursor, deleting expired entries.  A partition that
 * yielded more expired entries than a quarter of the buckets examined is
 * visited again, within a time budget of a quarter of the interval, like
 * Redis's adaptive cycle.  Each step takes one partition lock for a bounded
 * amount of work.  The worker also shrinks bucket arrays of partitions that
 * have become mostly empty, so their memory comes back after deletes.
 *
 * The worker needs shared memory only (no database connection), so it
 * runs on primaries and hot standbys alike, and is restarted after a crash
 * together with the rest of the server.
 *
 * kvcache/kv_worker.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "kvcache.h"

#define KV_EXPIRE_BUCKETS	64

PGDLLEXPORT void KvWorkerMain(Datum arg);

/* Register the worker; called from _PG_init */
void
KvBgWorkerRegister(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS;
	worker.bgw_start_time = BgWorkerStart_PostmasterStart;
	worker.bgw_restart_time = 1;
	strlcpy(worker.bgw_library_name, "kvcache", BGW_MAXLEN);
	strlcpy(worker.bgw_function_name, "KvWorkerMain", BGW_MAXLEN);
	strlcpy(worker.bgw_name, "kvcache expiry worker", BGW_MAXLEN);
	strlcpy(worker.bgw_type, "kvcache expiry worker", BGW_MAXLEN);
	RegisterBackgroundWorker(&worker);
}

/* One expiry cycle over all partitions, within a time budget */
static void
kv_expire_cycle(void)
{
	TimestampTz start = GetCurrentTimestamp();
	long		budget_us = (long) kv_expire_interval_ms * 1000 / 4;
	bool		busy[KV_NUM_PARTITIONS];
	bool		again = true;
	int			p;

	for (p = 0; p < KV_NUM_PARTITIONS; p++)
		busy[p] = true;
	while (again)
	{
		again = false;
		for (p = 0; p < KV_NUM_PARTITIONS; p++)
		{
			uint64		reclaimed;

			if (!busy[p])
				continue;
			reclaimed = KvExpireCycleStep(p, KV_EXPIRE_BUCKETS, KvNowMs());
			busy[p] = reclaimed > KV_EXPIRE_BUCKETS / 4;
			again |= busy[p];
		}
		if (ShutdownRequestPending ||
			GetCurrentTimestamp() - start > budget_us)
			break;
	}
}

/* Shrink the bucket arrays of mostly empty partitions */
static void
kv_shrink_cycle(void)
{
	int			p;

	for (p = 0; p < KV_NUM_PARTITIONS && !ShutdownRequestPending; p++)
	{
		KvPartition *part = &KvShared->partitions[p];

		/* unlocked peek; KvPartitionShrink re-checks under the lock */
		if (part->nbuckets > KV_INITIAL_BUCKETS && part->nentries < part->nbuckets / 8)
			KvPartitionShrink(p);
	}
}

/* Worker entry point: latch loop until shutdown */
void
KvWorkerMain(Datum arg)
{
	pqsignal(SIGTERM, SignalHandlerForShutdownRequest);
	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	BackgroundWorkerUnblockSignals();

	while (!ShutdownRequestPending)
	{
		(void) WaitLatch(MyLatch,
						 WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 kv_expire_interval_ms,
						 PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		KvClockAdvance();
		kv_expire_cycle();
		kv_shrink_cycle();
	}
	proc_exit(0);
}
