/*-------------------------------------------------------------------------
 *
 * wc_block.c
 *	  Cold block format: building block payloads from sorted rows, and
 *	  checking and decoding them.
 *
 * Layout of a block payload (chunk_data of the block tuple (Xb, -1)),
 * format 4:
 *
 *	  WcBlockHeader						magic, version, CRC32C, ids, counts
 *	  WcRunEntry[nruns]					runs, in key order
 *	  WcChunkEntry[nchunks]				row groups: rows, raw and stored
 *										size, offset of the frame
 *	  frames							per row group the PAX image of its
 *										rows (wc_pax.c), one zstd frame or raw
 *
 * Row groups.  The rows are cut into groups of about WC_GROUP_RAW bytes
 * of image, each its own zstd frame, so that a reader that needs a few
 * rows decompresses and rebuilds one group instead of the block ("one day
 * of a user" is a handful of rows).  zstd costs about 2 us per frame plus
 * 0.35 us per kB here (level 1), so an 8 kB group takes 5.8 us against
 * 8.9 us for a whole 19 kB block, and rebuilding half the rows halves the
 * PAX work.  Smaller groups cost space: each frame starts without history
 * and carries its own entropy tables, and blocks get smaller, so pages
 * hold less.  Measured on the event workload (5M rows after COPY), as
 * storage against heap + btree: one group per block 0.129, 8 kB 0.150,
 * 4 kB 0.183.  Compressing the later groups with the first group's
 * image as a dictionary saved a little space (8 kB: 0.144) but made
 * every read of a later group decompress two frames, so it was dropped.
 *
 * Runs.  A run is a stretch of rows of one partition inside one row group:
 * a partition's rows are cut where its partition starts and ends and where
 * a group starts.  The key index has a START and an END entry per run, so
 * a keyscan lands on the group that holds its first row, and the entry's
 * TID carries the run's number (WcTidMakeRun), so the reader checks that
 * run first, decoding only its group.  Only the first WC_RUN_MAX_HINT + 1
 * runs have numbers that fit an entry; once a block has that many runs it
 * cuts runs only where partitions change (wc_cut_runs), so that no two
 * entries repeat a key and a TID: runs 0..61 never cross a group, run 62
 * and later may, and runs 63 and later are whole partitions.
 *
 * A frame is stored raw (comp_len == raw_len) when compression is off or
 * does not make it smaller; the header's codec is zstd when any frame is
 * compressed.  Decoding rebuilds each row as a heap tuple; the reader
 * patches xmin (the block tuple's xmin), hint bits and ctid into it, so a
 * decoded row is an ordinary heap tuple whose natts may be below the
 * current descriptor's (ADD COLUMN), which heap_deform_tuple handles.
 *
 * Sizes: a block holds at most 291 rows, and its payload must fit one heap
 * tuple (WC_MAX_BLOCK_PAYLOAD).  When rows compress so well that 291 of
 * them leave much of a page empty, blocks are made to share pages instead
 * (2 to 4 per page, wc_next_limit), which puts more rows on a page.  The
 * builder closes a block when its rows, compressed at the ratio of the
 * previous block, would about fill its limit; if the compressed block is
 * too large it retries with proportionally fewer rows (a single row
 * always fits a page) and the rest start the next block.
 *
 * Format 3 (read only): the same without row groups: after the runs one
 * frame holding the PAX image of all rows, and runs only cut where
 * partitions change.  Format 2 (a PAX image without delta coding) only ever
 * existed on a development branch; it is rejected as an unsupported
 * version.
 *
 * Format 1 (read only, written before the PAX image): the layout of format
 * 4, with frames of at most 6 kB of raw heap tuple images (uint16 off[n],
 * uint16 len[n], MAXALIGNed tuples with zeroed MVCC fields).  Blocks of
 * formats 1 and 3 stay valid until the mover or VACUUM FULL rewrites
 * them, so all three formats are decoded.
 *
 * Checks before any decoded byte is used (all ERRCODE_DATA_CORRUPTED,
 * naming the table): magic, version, CRC, block id, counts, directory
 * bounds and continuity, frame sizes, and the row image checks of
 * wc_pax.c (formats 4 and 3) or row offsets, lengths, t_hoff and natts (1).
 * A lazily decoded block has its header and directories checked when it is
 * opened, its CRC before its first frame is decompressed, and each group's
 * image when the group is decoded (WcBlockDecodeLazy).
 *
 * No locks: the caller holds the buffer pin of the block tuple, and keeps
 * it while a lazily decoded block may still decode groups.
 *
 * widecol/wc_block.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "port/pg_crc32c.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "widecol.h"
#include "wc_cold.h"

/*
 * The last block of a partition holds at least this many of its rows (when
 * it has that many): the newest rows, which "latest N" reads, then sit in
 * one block.  The builder looks this many rows past a full block to see
 * where the partition it is cutting ends.
 */
#define WC_TAIL_ROWS			64
#define WC_BUILDER_ROWS			(WC_MAX_BLOCK_ROWS + WC_TAIL_ROWS)

/*
 * Image bytes a row group is cut at (estimated from the rows' sizes): a
 * full block of the event workload (about 150 rows of 120 bytes) makes
 * two groups.  See "Row groups" above for why not smaller.
 */
#define WC_GROUP_RAW			8192

struct WcBlockBuilder
{
	Relation	rel;
	WcKeyInfo  *keys;
	bool		zstd;
	int			level;
	WcBlockFlushFn flush;
	void	   *arg;
	TimestampTz written_at;		/* stamp of its blocks; 0: the current time */

	/* rows of the open block, and up to WC_TAIL_ROWS rows of lookahead */
	HeapTuple	rows[WC_BUILDER_ROWS];
	ItemPointerData tids[WC_BUILDER_ROWS];
	bool		newrun[WC_BUILDER_ROWS];	/* row starts another partition */
	int			n;
	int			full_at;		/* rows when the block became full; 0: not */
	bool		finishing;		/* no rows follow the open ones */
	Size		raw_est;		/* estimated image bytes of the open rows */
	double		ratio;			/* image / stored bytes of the last block */
	Size		limit;			/* payload limit of the open block */
	HeapTuple	last;			/* last row added (run detection) */

	/* the closed block handed to the flush callback: rows [0, nflush) */
	int			nflush;
	StringInfoData image;		/* PAX image of one group (scratch) */
	StringInfoData frame;		/* the groups' frames as stored */
	Size		raw_total;		/* image bytes of all groups */
	bool		compressed;		/* any frame is compressed */
	int			ngroups;
	WcChunkEntry groups[WC_MAX_BLOCK_ROWS];
};

/* Raise the corruption error for block blockid of rel */
void
WcCorrupted(Relation rel, Oid blockid, const char *fmt,...)
{
	char		what[256];
	va_list		ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	ereport(ERROR,
			(errcode(ERRCODE_DATA_CORRUPTED),
			 errmsg("widecol table \"%s\" has a corrupted cold block",
					RelationGetRelationName(rel)),
			 errdetail("Block %u: %s.", blockid, what)));
}

/*
 * Attribute number of the column named name in desc, or InvalidAttrNumber
 * (the relation's descriptor: no catalog lookup, which a cold backend
 * would read from disk)
 */
static AttrNumber
wc_attnum(TupleDesc desc, const char *name)
{
	int			i;

	for (i = 0; i < desc->natts; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (!att->attisdropped && strcmp(NameStr(att->attname), name) == 0)
			return att->attnum;
	}
	return InvalidAttrNumber;
}

/* Key columns and comparators of rel, from its stored options */
WcKeyInfo *
WcKeyInfoBuild(Relation rel)
{
	WcKeys		keys;
	WcKeyInfo  *ki = palloc0(sizeof(WcKeyInfo));
	List	   *names;
	ListCell   *lc;
	int			i = 0;

	WcReadStoredKeys(RelationGetRelid(rel), &keys);
	names = list_concat_copy(keys.partition_key, keys.sort_key);
	ki->nkeys = list_length(names);
	ki->npk = list_length(keys.partition_key);
	ki->attnums = palloc0(sizeof(AttrNumber) * Max(ki->nkeys, 1));
	ki->ssup = palloc0(sizeof(SortSupportData) * Max(ki->nkeys, 1));
	ki->sortops = palloc0(sizeof(Oid) * Max(ki->nkeys, 1));
	ki->collations = palloc0(sizeof(Oid) * Max(ki->nkeys, 1));
	ki->nullsfirst = palloc0(sizeof(bool) * Max(ki->nkeys, 1));
	foreach(lc, names)
	{
		AttrNumber	attnum = wc_attnum(RelationGetDescr(rel), lfirst(lc));
		Form_pg_attribute att;
		TypeCacheEntry *tce;

		if (attnum <= 0)
			elog(ERROR, "key column \"%s\" of widecol table \"%s\" not found",
				 (char *) lfirst(lc), RelationGetRelationName(rel));
		att = TupleDescAttr(RelationGetDescr(rel), attnum - 1);
		tce = lookup_type_cache(att->atttypid, TYPECACHE_LT_OPR);
		if (!OidIsValid(tce->lt_opr))
			elog(ERROR, "no ordering operator for key column \"%s\"",
				 NameStr(att->attname));
		ki->attnums[i] = attnum;
		ki->sortops[i] = tce->lt_opr;
		ki->collations[i] = att->attcollation;
		ki->ssup[i].ssup_cxt = CurrentMemoryContext;
		ki->ssup[i].ssup_collation = att->attcollation;
		ki->ssup[i].ssup_nulls_first = false;
		PrepareSortSupportFromOrderingOp(tce->lt_opr, &ki->ssup[i]);
		i++;
	}
	return ki;
}

/* A table's WcKeyInfo kept across statements (WcKeyInfoCached) */
typedef struct WcKeyInfoEntry
{
	Oid			relid;			/* hash key */
	uint64		generation;		/* of the WcKeyIndexInfo it was built under */
	MemoryContext cxt;
	WcKeyInfo  *ki;
} WcKeyInfoEntry;

static HTAB *wc_keyinfo_cache = NULL;

/*
 * WcKeyInfoBuild(rel), built once per relcache entry of rel: an entry is
 * rebuilt when rel's key information (rd_amcache, flushed by every
 * relcache invalidation) was rebuilt since.  Callers must not change it.
 * It is built in a child of the current context, which an error frees,
 * and moved under CacheMemoryContext once it is complete.  A replaced
 * entry's memory goes to the current transaction, which frees it when it
 * ends, because a scan of this statement may still use it.
 */
WcKeyInfo *
WcKeyInfoCached(Relation rel)
{
	uint64		generation = WcGetKeyIndexInfo(rel)->generation;
	Oid			relid = RelationGetRelid(rel);
	WcKeyInfoEntry *entry;
	MemoryContext cxt;
	MemoryContext old;
	WcKeyInfo  *ki;
	bool		found;

	if (wc_keyinfo_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(WcKeyInfoEntry);
		ctl.hcxt = CacheMemoryContext;
		wc_keyinfo_cache = hash_create("widecol key info", 16, &ctl,
									   HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	entry = hash_search(wc_keyinfo_cache, &relid, HASH_FIND, NULL);
	if (entry != NULL && entry->generation == generation)
		return entry->ki;

	cxt = AllocSetContextCreate(CurrentMemoryContext, "widecol key info",
								ALLOCSET_SMALL_SIZES);
	old = MemoryContextSwitchTo(cxt);
	ki = WcKeyInfoBuild(rel);
	MemoryContextSwitchTo(old);

	entry = hash_search(wc_keyinfo_cache, &relid, HASH_ENTER, &found);
	if (found)
		MemoryContextSetParent(entry->cxt, TopTransactionContext);
	MemoryContextSetParent(cxt, CacheMemoryContext);
	entry->cxt = cxt;
	entry->ki = ki;
	entry->generation = generation;
	return ki;
}

/* Compare the first nkeys key columns of two rows */
int
WcKeyCompare(WcKeyInfo *keys, HeapTuple a, HeapTuple b, TupleDesc desc,
			 int nkeys)
{
	int			i;

	for (i = 0; i < nkeys; i++)
	{
		bool		na;
		bool		nb;
		Datum		da = heap_getattr(a, keys->attnums[i], desc, &na);
		Datum		db = heap_getattr(b, keys->attnums[i], desc, &nb);
		int			c = ApplySortComparator(da, na, db, nb, &keys->ssup[i]);

		if (c != 0)
			return c;
	}
	return 0;
}

/* Start building blocks of rel; flush is called once per finished block */
WcBlockBuilder *
WcBuilderBegin(Relation rel, WcKeyInfo *keys, bool zstd, int level,
			   WcBlockFlushFn flush, void *arg)
{
	WcBlockBuilder *b = palloc0(sizeof(WcBlockBuilder));

	b->rel = rel;
	b->keys = keys;
	b->zstd = zstd;
	b->level = level;
	b->flush = flush;
	b->arg = arg;
	b->ratio = zstd ? WC_RATIO_GUESS : 1.0;
	b->limit = WC_MAX_BLOCK_PAYLOAD;
	initStringInfo(&b->image);
	initStringInfo(&b->frame);
	return b;
}

/*
 * Stamp the blocks b writes with written_at instead of the current time
 * (VACUUM FULL re-forming a block keeps the time it was written).
 */
void
WcBuilderSetWrittenAt(WcBlockBuilder *b, TimestampTz written_at)
{
	b->written_at = written_at;
}

/* Size of the directory of a format 3 block with nruns runs */
static Size
wc_dir_size(int nruns)
{
	return sizeof(WcBlockHeader) + nruns * sizeof(WcRunEntry);
}

/* Size of the directory of a block with a frame directory (formats 4, 1) */
static Size
wc_dir_size_chunked(int nruns, int nchunks)
{
	return wc_dir_size(nruns) + nchunks * sizeof(WcChunkEntry);
}

/*
 * Cut the first nrows encoded rows into runs, into runs[] unless it is
 * NULL, and return their number: a run starts at the first row, where a
 * partition starts, and where a row group starts while run numbers still
 * fit the hint of a key index entry (WC_RUN_MAX_HINT).  Later runs are
 * whole partitions, so their keys differ: entries of runs that all carry
 * the hint 0 never repeat a key and TID, which btree does not allow.
 */
static int
wc_cut_runs(WcBlockBuilder *b, int nrows, WcRunEntry *runs)
{
	int			nruns = 0;
	int			g = 0;
	int			i;

	for (i = 0; i < nrows; i++)
	{
		bool		gstart = g < b->ngroups && b->groups[g].first_row == i;

		if (gstart)
			g++;
		if (i == 0 || b->newrun[i] || (gstart && nruns <= WC_RUN_MAX_HINT))
		{
			if (runs != NULL)
			{
				runs[nruns].first_row = i;
				runs[nruns].nrows = 0;
			}
			nruns++;
		}
		if (runs != NULL)
			runs[nruns - 1].nrows++;
	}
	return nruns;
}

/* Image bytes a row is expected to take (its data and a few header bytes) */
static inline Size
wc_row_estimate(HeapTuple tuple)
{
	return tuple->t_len - SizeofHeapTupleHeader + 5;
}

/* Assemble the payload of the closed block (rows [0, nflush)) as blockid */
bytea *
WcBuildPayloadForBlock(WcBlockBuilder *b, Oid blockid)
{
	int			nrows = b->nflush;
	int			nruns = wc_cut_runs(b, nrows, NULL);
	Size		dir = wc_dir_size_chunked(nruns, b->ngroups);
	Size		len = dir + b->frame.len;
	bytea	   *payload = palloc0(VARHDRSZ + len);
	char	   *p = VARDATA(payload);
	WcBlockHeader *hdr = (WcBlockHeader *) p;
	WcRunEntry *runs = (WcRunEntry *) (p + sizeof(WcBlockHeader));
	pg_crc32c	crc;

	Assert(nrows > 0);
	SET_VARSIZE(payload, VARHDRSZ + len);
	hdr->magic = WC_BLOCK_MAGIC;
	hdr->version = WC_BLOCK_VERSION;
	hdr->flags = b->compressed ? WC_CODEC_ZSTD : WC_CODEC_NONE;
	hdr->relid = RelationGetRelid(b->rel);
	hdr->blockid = blockid;
	hdr->nrows = nrows;
	hdr->nruns = nruns;
	hdr->nchunks = b->ngroups;
	hdr->natts = RelationGetDescr(b->rel)->natts;
	hdr->raw_size = b->raw_total;
	hdr->comp_size = b->frame.len;
	hdr->written_at = b->written_at != 0 ? b->written_at : GetCurrentTimestamp();
	(void) wc_cut_runs(b, nrows, runs);
	memcpy(runs + nruns, b->groups, b->ngroups * sizeof(WcChunkEntry));
	memcpy(p + dir, b->frame.data, b->frame.len);

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p + offsetof(WcBlockHeader, crc) + sizeof(uint32),
				len - offsetof(WcBlockHeader, crc) - sizeof(uint32));
	FIN_CRC32C(crc);
	hdr->crc = crc;
	return payload;
}

/*
 * Encode and compress the first k open rows as row groups into b->frame
 * (and b->groups); returns the payload size the block would
 * have.  A group closes once its rows' estimated image reaches
 * WC_GROUP_RAW, unless the rows after it would make a group of less than
 * half that, which it then takes too.
 */
static Size
wc_encode_rows(WcBlockBuilder *b, int k)
{
	Size		left = 0;
	int			i;

	resetStringInfo(&b->frame);
	b->raw_total = 0;
	b->compressed = false;
	b->ngroups = 0;
	for (i = 0; i < k; i++)
		left += wc_row_estimate(b->rows[i]);
	for (i = 0; i < k;)
	{
		WcChunkEntry *g = &b->groups[b->ngroups++];
		Size		est = 0;
		Size		complen = 0;
		int			j = i;
		StringInfo	image = &b->image;
		uint32		cuts[WC_PAX_MAX_CUTS];
		int			ncuts;

		while (j < k && (est < WC_GROUP_RAW || left - est < WC_GROUP_RAW / 2))
			est += wc_row_estimate(b->rows[j++]);
		left -= est;
		resetStringInfo(image);
		WcPaxEncode(RelationGetDescr(b->rel), b->rows + i, j - i, image,
					cuts, &ncuts);
		if (b->zstd)
		{
			enlargeStringInfo(&b->frame, image->len);
			complen = WcCompress(image->data, image->len,
								 b->frame.data + b->frame.len, image->len,
								 b->level, cuts, ncuts);
		}
		g->first_row = i;
		g->nrows = j - i;
		g->raw_len = image->len;
		g->comp_off = b->frame.len;
		if (complen > 0)
		{
			b->frame.len += complen;
			b->frame.data[b->frame.len] = '\0';
			b->compressed = true;
		}
		else
			appendBinaryStringInfo(&b->frame, image->data, image->len);
		g->comp_len = b->frame.len - g->comp_off;
		b->raw_total += image->len;
		i = j;
	}
	return wc_dir_size_chunked(wc_cut_runs(b, k, NULL), b->ngroups) + b->frame.len;
}

/*
 * Payload limit for the next block, given that the block just closed
 * stored k rows in size bytes: the largest payload of m block tuples per
 * TOAST page, for the m (1 .. WC_MAX_BLOCKS_PER_PAGE) that puts the most
 * rows on a page.  When rows compress well, 291 rows (the TID limit) take
 * less than a page, and two smaller blocks per page hold more rows than
 * one block of 291.
 */
static Size
wc_next_limit(int k, Size size, Size dir)
{
	double		per_row = (size - dir) / (double) k;
	Size		best_limit = WC_MAX_BLOCK_PAYLOAD;
	double		best_rows = 0;
	int			m;

	for (m = 1; m <= WC_MAX_BLOCKS_PER_PAGE; m++)
	{
		Size		limit = WC_BLOCK_PAYLOAD_SHARED(m);
		double		rows = limit > dir ? (limit - dir) / per_row : 0;

		rows = m * Min(rows, WC_MAX_BLOCK_ROWS);
		if (rows > best_rows)
		{
			best_rows = rows;
			best_limit = limit;
		}
	}
	return best_limit;
}

/*
 * Close a block from the open rows: the rows up to the one that made it
 * full (at most WC_MAX_BLOCK_ROWS), but if that would end the block inside
 * a partition that ends, in the lookahead, fewer than WC_TAIL_ROWS (at most
 * half the block's) rows later, fewer, so that the partition's last block
 * gets that many of its rows (or all of them, when the cut moves back to
 * where the partition starts; the block stays at least half full).  Then
 * compress, and while the result is too large for the block's payload
 * limit, retry with proportionally fewer rows.  A single row that does not
 * fit a shared-page limit gets a whole page.  The block goes to the flush
 * callback; the rows left over start the next block.
 */
static void
wc_close_block(WcBlockBuilder *b)
{
	int			k = Min(b->full_at > 0 ? b->full_at : b->n, WC_MAX_BLOCK_ROWS);
	int			rest;
	int			i;
	Size		size;

	if (b->n == 0)
		return;
	if (k < b->n && !b->newrun[k])
	{
		int			start = k - 1;	/* where the partition starts in the block */
		int			after = 1;	/* its rows from row k on */
		int			tail = Min(WC_TAIL_ROWS, k / 2);	/* the block stays half full */

		while (start > 0 && !b->newrun[start])
			start--;
		while (k + after < b->n && !b->newrun[k + after])
			after++;
		if ((k + after < b->n || b->finishing) && after < tail)
			k = Max(start, k - (tail - after));
	}
	for (;;)
	{
		int			fewer;

		size = wc_encode_rows(b, k);
		/* each group's image has its own stream directory */
		if (size <= b->limit && b->raw_total <= WC_MAX_BLOCK_RAW)
			break;
		if (k == 1)
		{
			/* a single row (at most WC_MAX_COLD_ROW bytes) fits a page */
			if (b->limit == WC_MAX_BLOCK_PAYLOAD)
				elog(ERROR, "row of %u bytes does not fit a cold block",
					 b->rows[0]->t_len);
			b->limit = WC_MAX_BLOCK_PAYLOAD;
			continue;
		}
		fewer = (int) (k * (b->limit / (double) size) * 0.98);
		k = Max(1, Min(k - 1, fewer));
	}
	b->ratio = Min(Max(b->raw_total / (double) b->frame.len, 1.0), WC_RATIO_MAX);
	b->nflush = k;
	b->flush(b->arg, b, k, b->rows, b->tids);
	b->limit = wc_next_limit(k, size, size - b->frame.len);

	/* the rows that did not fit move to the front of the next block */
	rest = b->n - k;
	memmove(b->rows, b->rows + k, rest * sizeof(HeapTuple));
	memmove(b->tids, b->tids + k, rest * sizeof(ItemPointerData));
	memmove(b->newrun, b->newrun + k, rest * sizeof(bool));
	if (rest > 0)
		b->newrun[0] = true;
	b->n = rest;
	b->nflush = 0;
	b->full_at = 0;
	b->raw_est = 0;
	for (i = 0; i < rest; i++)
		b->raw_est += wc_row_estimate(b->rows[i]);
}

/*
 * Add a row (in key order) to the block being built.  tuple stays owned by
 * the caller and must live until the flush callback has seen it.  A block
 * is full at WC_MAX_BLOCK_ROWS rows or when its rows, compressed as well as
 * the previous block's, would about fill the block's payload limit; it
 * closes when the partition it is in has ended or WC_TAIL_ROWS more rows
 * have come (see wc_close_block).
 */
void
WcBuilderAdd(WcBlockBuilder *b, HeapTuple tuple, ItemPointer srctid)
{
	Assert(tuple->t_len <= WC_MAX_COLD_ROW);
	if (b->n == WC_BUILDER_ROWS)
		wc_close_block(b);

	b->rows[b->n] = tuple;
	b->tids[b->n] = *srctid;
	b->newrun[b->n] = b->n > 0 && b->last != NULL &&
		WcKeyCompare(b->keys, b->last, tuple, RelationGetDescr(b->rel),
					 b->keys->npk) != 0;
	b->last = tuple;
	b->n++;
	b->raw_est += wc_row_estimate(tuple);

	if (b->full_at == 0)
	{
		if (b->n >= WC_MAX_BLOCK_ROWS || b->raw_est / b->ratio >= b->limit * 0.98)
			b->full_at = b->n;
	}
	else if (b->newrun[b->n - 1] || b->n - b->full_at >= WC_TAIL_ROWS)
		wc_close_block(b);
}

/* Flush whatever is left and free the builder's buffers (not b itself) */
void
WcBuilderFinish(WcBlockBuilder *b)
{
	b->finishing = true;
	while (b->n > 0)
		wc_close_block(b);
	b->finishing = false;
	pfree(b->image.data);
	pfree(b->frame.data);
	b->image.data = NULL;
	b->frame.data = NULL;
}

/* Check the CRC of a payload whose length is at least a header's */
static void
wc_check_crc(Relation rel, Oid blockid, const char *data, Size len)
{
	const WcBlockHeader *hdr = (const WcBlockHeader *) data;
	pg_crc32c	crc;

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, data + offsetof(WcBlockHeader, crc) + sizeof(uint32),
				len - offsetof(WcBlockHeader, crc) - sizeof(uint32));
	FIN_CRC32C(crc);
	if (crc != hdr->crc)
		WcCorrupted(rel, blockid, "checksum mismatch (stored %08X, computed %08X)",
					hdr->crc, crc);
}

/* Check the header and directories of a payload; returns the header */
static const WcBlockHeader *
wc_check_payload(Relation rel, Oid blockid, const char *data, Size len,
				 bool check_crc)
{
	const WcBlockHeader *hdr = (const WcBlockHeader *) data;
	const WcRunEntry *runs;
	Size		dir;
	int			i;
	int			next;

	if (len < sizeof(WcBlockHeader))
		WcCorrupted(rel, blockid, "payload of %zu bytes is too short", len);
	if (hdr->magic != WC_BLOCK_MAGIC)
		WcCorrupted(rel, blockid, "bad magic number 0x%08X", hdr->magic);
	if (hdr->version != WC_BLOCK_VERSION && hdr->version != WC_BLOCK_VERSION_3 &&
		hdr->version != WC_BLOCK_VERSION_1)
		WcCorrupted(rel, blockid, "unsupported format version %u", hdr->version);
	if (check_crc)
		wc_check_crc(rel, blockid, data, len);
	if (hdr->blockid != blockid)
		WcCorrupted(rel, blockid, "header names block %u", hdr->blockid);
	if ((hdr->flags & ~(WC_CODEC_MASK | WC_BLOCK_LOADED)) != 0 ||
		(hdr->flags & WC_CODEC_MASK) > WC_CODEC_ZSTD)
		WcCorrupted(rel, blockid, "unknown header flags 0x%04X", hdr->flags);
	if (hdr->nrows < 1 || hdr->nrows > WC_MAX_BLOCK_ROWS ||
		hdr->nruns < 1 || hdr->nruns > hdr->nrows ||
		hdr->nchunks < 1 || hdr->nchunks > hdr->nrows ||
		(hdr->version == WC_BLOCK_VERSION_3 && hdr->nchunks != 1))
		WcCorrupted(rel, blockid, "bad counts (%u rows, %u runs, %u chunks)",
					hdr->nrows, hdr->nruns, hdr->nchunks);
	dir = hdr->version == WC_BLOCK_VERSION_3 ?
		wc_dir_size(hdr->nruns) : wc_dir_size_chunked(hdr->nruns, hdr->nchunks);
	if (dir > len || len - dir != hdr->comp_size)
		WcCorrupted(rel, blockid, "directory does not match the payload size");
	if (hdr->version != WC_BLOCK_VERSION_1 &&
		(hdr->comp_size > hdr->raw_size || hdr->raw_size > WC_MAX_BLOCK_RAW ||
		 (hdr->version == WC_BLOCK_VERSION_3 &&
		  (hdr->comp_size == hdr->raw_size) !=
		  ((hdr->flags & WC_CODEC_MASK) == WC_CODEC_NONE))))
		WcCorrupted(rel, blockid, "bad sizes (%u raw, %u stored bytes, codec %u)",
					hdr->raw_size, hdr->comp_size, hdr->flags & WC_CODEC_MASK);

	runs = (const WcRunEntry *) (data + sizeof(WcBlockHeader));
	for (i = 0, next = 0; i < hdr->nruns; i++)
	{
		if (runs[i].first_row != next || runs[i].nrows == 0)
			WcCorrupted(rel, blockid, "run %d is not contiguous", i);
		next += runs[i].nrows;
	}
	if (next != hdr->nrows)
		WcCorrupted(rel, blockid, "runs cover %d of %u rows", next, hdr->nrows);

	if (hdr->version != WC_BLOCK_VERSION_3)
	{
		const WcChunkEntry *chunks = (const WcChunkEntry *) (runs + hdr->nruns);
		Size		maxraw = hdr->version == WC_BLOCK_VERSION_1 ?
			WC_CHUNK_MAX_V1 + 64 : WC_MAX_BLOCK_RAW;
		Size		raw = 0;
		int			r = 0;

		for (i = 0, next = 0; i < hdr->nchunks; i++)
		{
			if (chunks[i].first_row != next || chunks[i].nrows == 0 ||
				chunks[i].raw_len > maxraw ||
				chunks[i].comp_len > chunks[i].raw_len ||
				(Size) chunks[i].comp_off + chunks[i].comp_len > hdr->comp_size)
				WcCorrupted(rel, blockid, "chunk %d has a bad directory entry", i);
			next += chunks[i].nrows;
			raw += chunks[i].raw_len;
			if (hdr->version == WC_BLOCK_VERSION_1)
				continue;
			if ((hdr->flags & WC_CODEC_MASK) == WC_CODEC_NONE &&
				chunks[i].comp_len != chunks[i].raw_len)
				WcCorrupted(rel, blockid, "row group %d is compressed in a block without codec", i);
			/* format 4: a group starts a run unless 63 runs precede it */
			while (r < hdr->nruns && runs[r].first_row < chunks[i].first_row)
				r++;
			if ((r == hdr->nruns || runs[r].first_row != chunks[i].first_row) &&
				r <= WC_RUN_MAX_HINT)
				WcCorrupted(rel, blockid, "row group %d does not start a run", i);
		}
		if (next != hdr->nrows)
			WcCorrupted(rel, blockid, "chunks cover %d of %u rows", next, hdr->nrows);
		if (hdr->version == WC_BLOCK_VERSION && raw != hdr->raw_size)
			WcCorrupted(rel, blockid, "row groups hold %zu of %u raw bytes", raw,
						hdr->raw_size);
	}
	return hdr;
}

/* Counts and sizes of a block, checking its header but not its frames */
void
WcBlockSummarize(Relation rel, Oid blockid, const char *data, Size len,
				 WcBlockSummary *sum)
{
	const WcBlockHeader *hdr = wc_check_payload(rel, blockid, data, len, false);

	sum->nrows = hdr->nrows;
	sum->flags = hdr->flags;
	sum->raw_size = hdr->raw_size;
	sum->comp_size = hdr->comp_size;
	sum->written_at = hdr->written_at;
}

/*
 * Decode the rows of a format 1 block (independent chunks of heap tuple
 * images) into blk->rows.  The images keep their stored headers, checked
 * here; the caller patches the MVCC fields.
 */
static void
wc_decode_v1(Relation rel, TupleDesc desc, Oid blockid,
			 const WcBlockHeader *hdr, const char *data, WcDecodedBlock *blk)
{
	const WcRunEntry *runs = (const WcRunEntry *) (data + sizeof(WcBlockHeader));
	const WcChunkEntry *chunks = (const WcChunkEntry *) (runs + hdr->nruns);
	const char *frames = data + wc_dir_size_chunked(hdr->nruns, hdr->nchunks);
	int			natts = desc->natts;
	int			c;

	for (c = 0; c < hdr->nchunks; c++)
	{
		const WcChunkEntry *ce = &chunks[c];
		char	   *raw = palloc(ce->raw_len);
		const uint16 *offs = (const uint16 *) raw;
		const uint16 *lens = offs + ce->nrows;
		int			i;

		if (ce->comp_len == ce->raw_len)
			memcpy(raw, frames + ce->comp_off, ce->raw_len);
		else if (!WcDecompress(frames + ce->comp_off, ce->comp_len, raw, ce->raw_len))
			WcCorrupted(rel, blockid, "chunk %d does not decompress", c);
		if (MAXALIGN(2 * sizeof(uint16) * ce->nrows) > ce->raw_len)
			WcCorrupted(rel, blockid, "chunk %d is too short", c);

		for (i = 0; i < ce->nrows; i++)
		{
			int			row = ce->first_row + i;
			HeapTupleHeader h;

			if (offs[i] != MAXALIGN(offs[i]) ||
				offs[i] < MAXALIGN(2 * sizeof(uint16) * ce->nrows) ||
				lens[i] < SizeofHeapTupleHeader ||
				(Size) offs[i] + lens[i] > ce->raw_len)
				WcCorrupted(rel, blockid, "row %d lies outside its chunk", row);
			h = (HeapTupleHeader) (raw + offs[i]);
			if (h->t_hoff < SizeofHeapTupleHeader || h->t_hoff > lens[i] ||
				HeapTupleHeaderGetNatts(h) > natts ||
				((h->t_infomask & HEAP_HASNULL) &&
				 SizeofHeapTupleHeader + BITMAPLEN(HeapTupleHeaderGetNatts(h)) > h->t_hoff))
				WcCorrupted(rel, blockid, "row %d has a bad header", row);
			blk->rows[row].t_len = lens[i];
			blk->rows[row].t_data = h;
		}
	}
}

/* Patch the MVCC fields of rows [first, first + n) of blk (see below) */
static void
wc_patch_rows(WcDecodedBlock *blk, int first, int n)
{
	int			i;

	for (i = first; i < first + n; i++)
	{
		HeapTupleData *t = &blk->rows[i];
		HeapTupleHeader h = t->t_data;

		HeapTupleHeaderSetXmin(h, blk->xmin);
		HeapTupleHeaderSetXmax(h, InvalidTransactionId);
		h->t_choice.t_heap.t_field3.t_cid = blk->cid;
		h->t_infomask |= blk->xminbits | HEAP_XMAX_INVALID;
		WcTidMake(&h->t_ctid, blk->blockid, i);
		t->t_self = h->t_ctid;
		t->t_tableOid = RelationGetRelid(blk->rel);
	}
}

/*
 * Rebuild the rows of row group g of a format 4 (or 3) block into blk (in
 * blk->cxt), headers not yet patched
 */
static void
wc_decode_group(WcDecodedBlock *blk, int g)
{
	const WcChunkEntry *ge = &blk->groups[g];
	const char *frame = blk->frames + ge->comp_off;
	MemoryContext old = MemoryContextSwitchTo(blk->cxt);

	if (ge->comp_len == ge->raw_len)
		WcPaxDecode(blk->rel, blk->desc, blk->blockid, frame, ge->raw_len,
					ge->nrows, blk->rows + ge->first_row);
	else
	{
		char	   *image = palloc(ge->raw_len);

		if (!WcDecompress(frame, ge->comp_len, image, ge->raw_len))
			WcCorrupted(blk->rel, blk->blockid, "row group %d does not decompress", g);
		WcPaxDecode(blk->rel, blk->desc, blk->blockid, image, ge->raw_len,
					ge->nrows, blk->rows + ge->first_row);
		pfree(image);
	}
	MemoryContextSwitchTo(old);
}

/*
 * Rebuild the rows of row group g of a format 4 (or 3) block into blk (in
 * blk->cxt) with only the columns cols, decoding the group's image only as
 * far as their streams reach; headers not yet patched
 */
static void
wc_decode_group_columns(WcDecodedBlock *blk, int g, const WcColumns *cols)
{
	const WcChunkEntry *ge = &blk->groups[g];
	MemoryContext old = MemoryContextSwitchTo(blk->cxt);
	char	   *image = ge->comp_len == ge->raw_len ? NULL : palloc(ge->raw_len);
	WcImageReader r;

	WcImageBegin(&r, blk->frames + ge->comp_off, ge->comp_len, image,
				 ge->raw_len);
	WcPaxDecodeColumns(blk->rel, blk->desc, blk->blockid, &r, ge->nrows,
					   blk->rows + ge->first_row, cols);
	blk->image_decoded += r.avail;
	blk->image_size += ge->raw_len;
	if (image != NULL)
		pfree(image);
	MemoryContextSwitchTo(old);
}

/*
 * The rows of group ge that a read of row row copies from the group cache:
 * those of the run holding row (a key scan reads rows of the runs it
 * opened, in order), as [*first, *first + *count) of the group
 */
static void
wc_cache_window(WcDecodedBlock *blk, const WcChunkEntry *ge, int row,
				int *first, int *count)
{
	int			lo = 0;
	int			hi = blk->nruns - 1;
	int			start = ge->first_row;
	int			end = ge->first_row + ge->nrows;

	/* the last run whose first row is at most row */
	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (blk->runs[mid].first_row <= row)
			lo = mid;
		else
			hi = mid - 1;
	}
	/* wc_check_payload saw the runs cover the rows; the test is cheap */
	if (blk->nruns > 0 && blk->runs[lo].first_row <= row &&
		row < blk->runs[lo].first_row + blk->runs[lo].nrows)
	{
		start = Max(start, blk->runs[lo].first_row);
		end = Min(end, blk->runs[lo].first_row + blk->runs[lo].nrows);
	}
	*first = start - ge->first_row;
	*count = end - start;
}

/*
 * Decode the row group of a lazily decoded block that holds row row: copy
 * the rows of its run in the group from the group cache, or decompress the
 * group (the payload's CRC checked before the first one) and cache it;
 * then patch the new rows' headers.  A group counts as decoded once, when
 * its first rows are read.
 */
void
WcBlockDecodeGroupOf(WcDecodedBlock *blk, int row)
{
	const WcChunkEntry *ge;
	ErrorContextCallback errcb;
	int			lo = 0;
	int			hi = blk->ngroups - 1;
	bool		first_read = true;

	Assert(row >= 0 && row < blk->nrows && blk->ngroups > 0);
	/* the last group whose first row is at most row */
	while (lo < hi)
	{
		int			mid = (lo + hi + 1) / 2;

		if (blk->groups[mid].first_row <= row)
			lo = mid;
		else
			hi = mid - 1;
	}
	ge = &blk->groups[lo];
	if (blk->use_cache)
	{
		MemoryContext old = MemoryContextSwitchTo(blk->cxt);
		int			first;
		int			count;
		bool		hit;

		first_read = blk->group_state[lo] == WC_GROUP_UNREAD;
		wc_cache_window(blk, ge, row, &first, &count);
		blk->cachekey.group = lo;
		hit = WcGroupCacheGet(&blk->cachekey, ge->nrows, first, count,
							  blk->rows + ge->first_row);
		MemoryContextSwitchTo(old);
		if (hit)
		{
			wc_patch_rows(blk, ge->first_row + first, count);
			if (first_read)
			{
				blk->group_state[lo] = WC_GROUP_FROM_CACHE;
				blk->groups_decoded++;
				blk->groups_cached++;
			}
			return;
		}
		/* evicted since a run of it was copied: it is decompressed after all */
		if (blk->group_state[lo] == WC_GROUP_FROM_CACHE)
			blk->groups_cached--;
		blk->group_state[lo] = WC_GROUP_DECODED;
	}
	/*
	 * Every row of the group is rebuilt, also those an earlier read copied
	 * from the cache: they get an equal copy, and the old one stays valid
	 * in blk->cxt for whoever points into it.  Errors name the block, as
	 * the lazy reader's open did (wc_storage.c).
	 */
	WcStoragePushContext(&errcb, blk->rel, &blk->blockid);
	if (blk->payload != NULL)
	{
		wc_check_crc(blk->rel, blk->blockid, blk->payload, blk->payload_len);
		blk->payload = NULL;
	}
	wc_decode_group(blk, lo);
	WcStoragePopContext(&errcb);
	if (first_read)
		blk->groups_decoded++;
	if (blk->use_cache)
		WcGroupCachePut(&blk->cachekey, ge->nrows, blk->rows + ge->first_row);
	wc_patch_rows(blk, ge->first_row, ge->nrows);
}

/*
 * Check a block payload of rel and decode it, or (lazy) only its
 * directory, into cxt.  blocktup (the block tuple's header, may be NULL)
 * supplies the xmin, command id and hint bits patched into every row.
 * Raises XX001 on any inconsistency.
 */
static WcDecodedBlock *
wc_block_decode(Relation rel, TupleDesc desc, Oid blockid, const char *data,
				Size len, HeapTupleHeader blocktup, MemoryContext cxt,
				bool lazy, const WcColumns *cols)
{
	const WcBlockHeader *hdr = wc_check_payload(rel, blockid, data, len, !lazy);
	const WcRunEntry *runs = (const WcRunEntry *) (data + sizeof(WcBlockHeader));
	MemoryContext old = MemoryContextSwitchTo(cxt);
	WcDecodedBlock *blk = palloc0(sizeof(WcDecodedBlock));
	int			g;

	blk->blockid = blockid;
	blk->nrows = hdr->nrows;
	blk->nruns = hdr->nruns;
	blk->runs = palloc(sizeof(WcRunEntry) * hdr->nruns);
	memcpy(blk->runs, runs, sizeof(WcRunEntry) * hdr->nruns);
	blk->rows = palloc0(sizeof(HeapTupleData) * hdr->nrows);
	blk->raw_size = hdr->raw_size;
	blk->comp_size = hdr->comp_size;
	blk->written_at = hdr->written_at;
	blk->rel = rel;
	blk->desc = desc;
	blk->cxt = cxt;
	blk->xmin = blocktup ? HeapTupleHeaderGetRawXmin(blocktup) : FrozenTransactionId;
	blk->xminbits = blocktup ? (blocktup->t_infomask & HEAP_XMIN_FROZEN) : HEAP_XMIN_FROZEN;
	blk->cid = blocktup ? HeapTupleHeaderGetRawCommandId(blocktup) : FirstCommandId;

	if (hdr->version == WC_BLOCK_VERSION_1)
	{
		if (lazy)
			wc_check_crc(rel, blockid, data, len);
		wc_decode_v1(rel, desc, blockid, hdr, data, blk);
		/* every row becomes an ordinary heap tuple inserted with the block */
		wc_patch_rows(blk, 0, blk->nrows);
		blk->groups_decoded = 1;
	}
	else
	{
		if (hdr->version == WC_BLOCK_VERSION)
		{
			blk->groups = (const WcChunkEntry *) (runs + hdr->nruns);
			blk->frames = data + wc_dir_size_chunked(hdr->nruns, hdr->nchunks);
			blk->ngroups = hdr->nchunks;
		}
		else
		{
			/* format 3: its frame is one row group of all rows */
			WcChunkEntry *one = palloc(sizeof(WcChunkEntry));

			one->first_row = 0;
			one->nrows = hdr->nrows;
			one->raw_len = hdr->raw_size;
			one->comp_off = 0;
			one->comp_len = hdr->comp_size;
			blk->groups = one;
			blk->frames = data + wc_dir_size(hdr->nruns);
			blk->ngroups = 1;
		}
		if (lazy)
		{
			/* checksummed before a frame is first decoded (see above) */
			blk->payload = data;
			blk->payload_len = len;
			if (WcGroupCacheEnabled())
			{
				pg_crc32c	dircrc;

				blk->use_cache = true;
				blk->group_state = palloc0(sizeof(uint8) * blk->ngroups);
				blk->cachekey.node = WcRelationFileNode(rel);
				blk->cachekey.blockid = blockid;
				blk->cachekey.written_at = hdr->written_at;
				/* what a hit relies on without the full CRC: see WcGroupKey */
				INIT_CRC32C(dircrc);
				COMP_CRC32C(dircrc, data, (const char *) blk->frames - data);
				FIN_CRC32C(dircrc);
				blk->cachekey.dircrc = dircrc;
			}
		}
		else
		{
			for (g = 0; g < blk->ngroups; g++)
			{
				if (cols != NULL)
					wc_decode_group_columns(blk, g, cols);
				else
					wc_decode_group(blk, g);
				blk->groups_decoded++;
				wc_patch_rows(blk, blk->groups[g].first_row, blk->groups[g].nrows);
			}
			/* the payload need not outlive this call */
			blk->ngroups = 0;
			blk->groups = NULL;
			blk->frames = NULL;
		}
	}
	MemoryContextSwitchTo(old);
	return blk;
}

/*
 * Check and decode a block payload of rel into cxt.  blocktup (the block
 * tuple's header, may be NULL) supplies the xmin, command id and hint bits
 * patched into every row.  Raises XX001 on any inconsistency.
 */
WcDecodedBlock *
WcBlockDecode(Relation rel, Oid blockid, const char *data, Size len,
			  HeapTupleHeader blocktup, MemoryContext cxt)
{
	return wc_block_decode(rel, RelationGetDescr(rel), blockid, data, len,
						   blocktup, cxt, false, NULL);
}

/*
 * WcBlockDecode with the rows laid out by desc instead of rel's descriptor:
 * a rewriting ALTER TABLE scans the table with the descriptor the rows were
 * written with while the relation already has the new one.
 */
WcDecodedBlock *
WcBlockDecodeAs(Relation rel, TupleDesc desc, Oid blockid, const char *data,
				Size len, HeapTupleHeader blocktup, MemoryContext cxt)
{
	return wc_block_decode(rel, desc, blockid, data, len, blocktup, cxt, false,
						   NULL);
}

/*
 * WcBlockDecodeAs for a scan that reads only the columns cols: rows hold
 * those attributes alone (WcPaxDecodeColumns), and a row group is
 * decompressed only as far as their streams reach.  Rows of format 1
 * blocks are decoded whole.
 */
WcDecodedBlock *
WcBlockDecodeColumns(Relation rel, TupleDesc desc, Oid blockid,
					 const char *data, Size len, HeapTupleHeader blocktup,
					 MemoryContext cxt, const WcColumns *cols)
{
	return wc_block_decode(rel, desc, blockid, data, len, blocktup, cxt, false,
						   cols);
}

/*
 * WcBlockDecode that checks the header and directories but fills in rows
 * only when WcBlockRow first asks for one of them (format 3 is one group;
 * format 1 is decoded at once): the rows of the asked row's run in its
 * group come from the group cache if the group is there, else the group
 * is decompressed (the payload's CRC checked before the first one),
 * rebuilt whole and put there.  So a block read only from the
 * cache is not checksummed again: its groups were checked when cached,
 * and its header and directories must be the bytes checked then (their
 * CRC is part of the cache key, WcGroupKey).
 * data must stay valid (its buffer pinned) as long as the block is used,
 * and rows must be read through WcBlockRow.
 */
WcDecodedBlock *
WcBlockDecodeLazy(Relation rel, Oid blockid, const char *data, Size len,
				  HeapTupleHeader blocktup, MemoryContext cxt)
{
	return wc_block_decode(rel, RelationGetDescr(rel), blockid, data, len,
						   blocktup, cxt, true, NULL);
}
