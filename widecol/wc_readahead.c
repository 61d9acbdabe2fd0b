/*-------------------------------------------------------------------------
 *
 * wc_readahead.c
 *	  Key index read-ahead: a table's first key scan since server start
 *	  asks the kernel to read the whole key index into the OS page cache.
 *
 * The key index is a widecol table's block directory: every cold key scan
 * reads one of its leaf pages before it reads the block.  It is small next
 * to the data (a START and an END entry per partition run, against one
 * entry per row in a btree over heap: 22 MB against 210 MB for the 5M-row
 * bench table), which is what lets a wide-column store keep its partition
 * index in memory while the data is larger than memory: Cassandra keeps its
 * partition summary in memory, RocksDB reads an SST's index block when it
 * opens the file.  PostgreSQL cannot pin pages, but the OS page cache is
 * there: the first key scan of a key index after server start issues
 * posix_fadvise(WILLNEED) over the index's first segment (FilePrefetch),
 * when the index is at most widecol.key_index_readahead (default 64 MB;
 * 0 turns it off).  The request is asynchronous: the scan waits only for
 * the pages it reads itself, and later scans find the directory cached, so
 * a cold query makes one read (its block) instead of two.  Linux caps one
 * WILLNEED request at the device's read-ahead window (128 kB by default),
 * so the file is requested in chunks of that size.
 *
 * Shared state: the files already read ahead since server start, a small
 * array (WC_RA_SLOTS, replaced round-robin: a forgotten file is read ahead
 * again, which costs a few system calls) under a spinlock.  Each backend
 * also remembers the last files it checked (WC_RA_LOCAL), so that a scan
 * of a table it has scanned before costs a few comparisons and no lock.
 * Temporary tables are left alone: their files were written by this
 * session.
 *
 * widecol/wc_readahead.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/shmem.h"
#include "storage/spin.h"
#include "utils/rel.h"
#include "utils/wait_event.h"

#include "widecol.h"
#include "wc_compat.h"

#define WC_RA_SLOTS		256		/* files remembered in shared memory */
#define WC_RA_LOCAL		32		/* files each backend remembers */
#define WC_RA_CHUNK		(128 * 1024)	/* bytes per WILLNEED request */

/* widecol.key_index_readahead, in kB: largest key index read ahead */
int			wc_key_index_readahead = 64 * 1024;

typedef struct WcReadAheadShared
{
	slock_t		mutex;			/* protects the fields below */
	int			next;			/* slot replaced next */
	WcFileNode	done[WC_RA_SLOTS];	/* read ahead since server start */
} WcReadAheadShared;

static WcReadAheadShared *wc_ra_shared = NULL;

/* The files this backend has checked, replaced round-robin */
static WcFileNode wc_ra_seen[WC_RA_LOCAL];
static int	wc_ra_nseen = 0;
static int	wc_ra_nextseen = 0;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* shmem_request_hook: reserve the shared list of files */
static void
wc_ra_shmem_request(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(WcReadAheadShared)));
}

/* shmem_startup_hook: create or attach to the shared list of files */
static void
wc_ra_shmem_startup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	wc_ra_shared = ShmemInitStruct("widecol key index read-ahead",
								   sizeof(WcReadAheadShared), &found);
	if (!found)
	{
		memset(wc_ra_shared, 0, sizeof(WcReadAheadShared));
		SpinLockInit(&wc_ra_shared->mutex);
	}
	LWLockRelease(AddinShmemInitLock);
}

/* Has this backend checked file node before?  Remember it if not */
static bool
wc_ra_seen_before(const WcFileNode *node)
{
	int			i;

	for (i = 0; i < wc_ra_nseen; i++)
		if (WcFileNodeEquals(wc_ra_seen[i], *node))
			return true;
	wc_ra_seen[wc_ra_nextseen] = *node;
	wc_ra_nextseen = (wc_ra_nextseen + 1) % WC_RA_LOCAL;
	wc_ra_nseen = Min(wc_ra_nseen + 1, WC_RA_LOCAL);
	return false;
}

/* Claim file node for read-ahead: false if read ahead since server start */
static bool
wc_ra_claim(const WcFileNode *node)
{
	bool		claimed = true;
	int			i;

	SpinLockAcquire(&wc_ra_shared->mutex);
	for (i = 0; i < WC_RA_SLOTS; i++)
	{
		if (WcFileNodeEquals(wc_ra_shared->done[i], *node))
		{
			claimed = false;
			break;
		}
	}
	if (claimed)
	{
		wc_ra_shared->done[wc_ra_shared->next] = *node;
		wc_ra_shared->next = (wc_ra_shared->next + 1) % WC_RA_SLOTS;
	}
	SpinLockRelease(&wc_ra_shared->mutex);
	return claimed;
}

/*
 * Ask the kernel to read key index `index` ahead if this is its first key
 * scan since server start and it is small enough.  Returns the number of
 * pages requested (0: none).  Never raises for the file itself: the
 * request is a hint, and a file that cannot be opened is simply not read
 * ahead.
 */
BlockNumber
WcKeyIndexReadAhead(Relation index)
{
	WcFileNode	node = WcRelationFileNode(index);
	BlockNumber nblocks;
	char	   *path;
	File		file;
	off_t		bytes;
	off_t		off;

	if (wc_key_index_readahead == 0 || wc_ra_shared == NULL ||
		RelationUsesLocalBuffers(index) || wc_ra_seen_before(&node))
		return 0;

	nblocks = RelationGetNumberOfBlocks(index);
	if (nblocks == 0 ||
		(uint64) nblocks * (BLCKSZ / 1024) > (uint64) wc_key_index_readahead ||
		!wc_ra_claim(&node))
		return 0;

	/* a limit above 1 GB could reach past the first segment file */
	nblocks = Min(nblocks, (BlockNumber) RELSEG_SIZE);
	path = relpathbackend(node, index->rd_backend, MAIN_FORKNUM);
	file = PathNameOpenFile(path, O_RDONLY | PG_BINARY);
	pfree(path);
	if (file < 0)
		return 0;
	bytes = (off_t) nblocks * BLCKSZ;
	for (off = 0; off < bytes; off += WC_RA_CHUNK)
		(void) FilePrefetch(file, off, (int) Min(bytes - off, WC_RA_CHUNK),
							WAIT_EVENT_DATA_FILE_PREFETCH);
	FileClose(file);
	return nblocks;
}

/* Register the shared memory hooks (from _PG_init) */
void
WcReadAheadInit(void)
{
	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = wc_ra_shmem_request;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = wc_ra_shmem_startup;
}
