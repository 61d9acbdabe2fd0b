/*-------------------------------------------------------------------------
 *
 * wc_readahead.c
 *	  Key index read-ahead: a table's first key scan since server start
 *	  asks the kernel to read the whole key index into the OS page cache.
 *
 * The key index is a widecol table's block directory: every cold key scan
 * reads one of its leaf pages before it reads the block.  It is small next
 * to the data (a START and an END entry per run of a block, against
 * one entry per row in a btree over heap: 5.5 MB against 210 MB for the
 * 5M-row bench table after loading), which is what lets a wide-column store keep its partition
 * index in memory while the data is larger than memory: Cassandra keeps its
 * partition summary in memory, RocksDB reads an SST's index block when it
 * opens the file.  PostgreSQL cannot pin pages, but the OS page cache is
 * there: the first key scan of a key index after server start issues
 * posix_fadvise(WILLNEED) over the index's first segment file, when the
 * index is at most widecol.key_index_readahead (default 16 MB; 0 turns it
 * off).  The request is asynchronous: the scan waits only for
 * the pages it reads itself, and later scans find the directory cached, so
 * a cold query makes one read (its block) instead of two.  Linux caps one
 * WILLNEED request at the device's read-ahead window (128 kB by default),
 * so the file is requested in chunks of that size.
 *
 * The limit is what the read-ahead costs: the kernel reads the whole file
 * at once, and on a device with a bandwidth budget (a cloud disk) the
 * first queries wait behind it.  It pays for itself when the file takes
 * less time to read than the leaf reads it saves the queries that follow:
 * on the bench VM (about 0.9 GB/s, 60 us per random read) a 5.5 MB index
 * read ahead made 300 cold queries 12% faster, a 30 MB one (the index as
 * rows keep arriving) 10% to 15% slower, so the default is 16 MB.
 *
 * Shared state: a hash of the relation files read ahead since server start,
 * under its own LWLock.  It holds WC_RA_MAX_FILES; when it is full (files
 * of dropped or truncated relations stay in it) an arbitrary entry makes
 * room, and a backend that has not seen that file reads it ahead again,
 * which for a cached file costs a few system calls per MB.  Each
 * backend remembers the files it has checked, with the limit it checked
 * them against, so that a later scan costs one local hash lookup and no
 * lock.  It is tied to the relation file: a new file (TRUNCATE, REINDEX,
 * VACUUM FULL) is read ahead again, and a file first scanned while it was
 * small is not read ahead again as it grows.  Temporary tables are left
 * alone: their files were written by this session.
 *
 * widecol/wc_readahead.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <fcntl.h>
#include <unistd.h>

#include "miscadmin.h"
#include "storage/fd.h"
#include "storage/ipc.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/wait_event.h"

#include "widecol.h"
#include "wc_compat.h"

#define WC_RA_MAX_FILES	4096	/* files remembered in shared memory */
#define WC_RA_CHUNK		(128 * 1024)	/* bytes per WILLNEED request */

/* widecol.key_index_readahead, in kB: largest key index read ahead */
int			wc_key_index_readahead = 16 * 1024;

/* A relation file read ahead since server start (shared hash entry) */
typedef struct WcReadAheadFile
{
	WcFileNode	node;			/* hash key */
} WcReadAheadFile;

/* A relation file this backend has checked (local hash entry) */
typedef struct WcReadAheadSeen
{
	WcFileNode	node;			/* hash key */
	int			limit;			/* widecol.key_index_readahead then */
} WcReadAheadSeen;

static LWLock *wc_ra_lock = NULL;
static HTAB *wc_ra_files = NULL;
static HTAB *wc_ra_seen = NULL;

/*
 * Reserve the shared hash of files and its lock (wc_init.c's
 * shmem_request_hook)
 */
void
WcReadAheadShmemRequest(void)
{
	RequestAddinShmemSpace(hash_estimate_size(WC_RA_MAX_FILES,
											  sizeof(WcReadAheadFile)));
	RequestNamedLWLockTranche("widecol read-ahead", 1);
}

/*
 * Create or attach to the shared hash of files (wc_init.c's
 * shmem_startup_hook, under AddinShmemInitLock)
 */
void
WcReadAheadShmemStartup(void)
{
	HASHCTL		info;

	wc_ra_lock = &(GetNamedLWLockTranche("widecol read-ahead"))->lock;
	memset(&info, 0, sizeof(info));
	info.keysize = sizeof(WcFileNode);
	info.entrysize = sizeof(WcReadAheadFile);
	wc_ra_files = ShmemInitHash("widecol key index read-ahead",
								WC_RA_MAX_FILES, WC_RA_MAX_FILES,
								&info, HASH_ELEM | HASH_BLOBS);
}

/*
 * Has this backend checked file node against the current limit?  Remember
 * that it has now.
 */
static bool
wc_ra_checked(const WcFileNode *node)
{
	WcReadAheadSeen *seen;
	bool		found;

	if (wc_ra_seen == NULL)
	{
		HASHCTL		info;

		memset(&info, 0, sizeof(info));
		info.keysize = sizeof(WcFileNode);
		info.entrysize = sizeof(WcReadAheadSeen);
		info.hcxt = TopMemoryContext;
		wc_ra_seen = hash_create("widecol key index read-ahead (backend)", 64,
								 &info, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	seen = hash_search(wc_ra_seen, node, HASH_ENTER, &found);
	if (found && seen->limit == wc_key_index_readahead)
		return true;
	seen->limit = wc_key_index_readahead;
	return false;
}

/* Claim file node for read-ahead: false if it was read ahead since start */
static bool
wc_ra_claim(const WcFileNode *node)
{
	bool		found;

	LWLockAcquire(wc_ra_lock, LW_EXCLUSIVE);
	found = hash_search(wc_ra_files, node, HASH_FIND, NULL) != NULL;
	if (!found)
	{
		/* full: forget one file, whose element the new entry then reuses */
		if (hash_get_num_entries(wc_ra_files) >= WC_RA_MAX_FILES)
		{
			HASH_SEQ_STATUS seq;
			WcReadAheadFile *victim;

			hash_seq_init(&seq, wc_ra_files);
			victim = hash_seq_search(&seq);
			hash_seq_term(&seq);
			(void) hash_search(wc_ra_files, &victim->node, HASH_REMOVE, NULL);
		}
		(void) hash_search(wc_ra_files, node, HASH_ENTER, NULL);
	}
	LWLockRelease(wc_ra_lock);
	return !found;
}

/*
 * Ask the kernel to read key index `index` ahead if this is its first key
 * scan since server start and it is small enough.  Returns the number of
 * pages the kernel accepted requests for (0: none).  Never raises for the
 * file itself: the request is a hint, and a file that cannot be opened is
 * simply not read ahead.
 */
BlockNumber
WcKeyIndexReadAhead(Relation index)
{
	WcFileNode	node = WcRelationFileNode(index);
	BlockNumber nblocks;
	BlockNumber requested = 0;
	char	   *path;
	int			fd;
	off_t		bytes;
	off_t		off;

	if (wc_key_index_readahead == 0 || wc_ra_files == NULL ||
		RelationUsesLocalBuffers(index) || wc_ra_checked(&node))
		return 0;

	nblocks = RelationGetNumberOfBlocks(index);
	if (nblocks == 0 ||
		(uint64) nblocks * (BLCKSZ / 1024) > (uint64) wc_key_index_readahead ||
		!wc_ra_claim(&node))
		return 0;

	/* a limit above 1 GB could reach past the first segment file */
	nblocks = Min(nblocks, (BlockNumber) RELSEG_SIZE);
	path = relpathbackend(node, index->rd_backend, MAIN_FORKNUM);
	/* a transient file is closed at abort, should an interrupt come */
	fd = OpenTransientFile(path, O_RDONLY | PG_BINARY);
	pfree(path);
	if (fd < 0)
		return 0;
	bytes = (off_t) nblocks * BLCKSZ;
	pgstat_report_wait_start(WAIT_EVENT_DATA_FILE_PREFETCH);
	for (off = 0; off < bytes; off += WC_RA_CHUNK)
	{
		off_t		len = Min(bytes - off, WC_RA_CHUNK);

		CHECK_FOR_INTERRUPTS();
#if defined(USE_POSIX_FADVISE) && defined(POSIX_FADV_WILLNEED)
		if (posix_fadvise(fd, off, len, POSIX_FADV_WILLNEED) == 0)
			requested += len / BLCKSZ;
#endif
	}
	pgstat_report_wait_end();
	CloseTransientFile(fd);
	return requested;
}
