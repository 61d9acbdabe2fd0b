/*-------------------------------------------------------------------------
 *
 * wc_block.c
 *	  Cold block format: building block payloads from sorted rows, and
 *	  checking and decoding them.
 *
 * Layout of a block payload (chunk_data of the block tuple (Xb, -1)):
 *
 *	  WcBlockHeader						magic, version, CRC32C, ids, counts
 *	  WcRunEntry[nruns]					partition runs, in key order
 *	  WcChunkEntry[nchunks]				one per independently stored frame
 *	  frames							concatenated, each zstd or raw
 *
 * A raw chunk is uint16 off[n], uint16 len[n], padded to MAXALIGN, then n
 * row images: heap tuple headers with zeroed MVCC fields, null bitmap and
 * data, each MAXALIGNed.  The reader patches xmin (the block tuple's
 * xmin), hint bits and ctid into the decoded image, so a decoded row is an
 * ordinary heap tuple whose natts may be below the current descriptor's
 * (ADD COLUMN), which heap_deform_tuple handles.
 *
 * Sizes: a chunk closes before its raw image exceeds WC_CHUNK_MAX, so even
 * an incompressible chunk fits an empty block with the largest directory;
 * a block closes at 291 rows, WC_BLOCK_TARGET raw bytes, or when the next
 * chunk would not fit WC_MAX_BLOCK_PAYLOAD.  Frames are independent, so a
 * chunk that does not fit moves to the next block without recompression.
 *
 * Checks before any decoded byte is used (all ERRCODE_DATA_CORRUPTED,
 * naming the table): magic, version, CRC, block id, directory bounds and
 * continuity, frame sizes, row offsets and lengths, t_hoff and natts.
 *
 * No locks: the caller holds the buffer pin of the block tuple.
 *
 * widecol/wc_block.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "port/pg_crc32c.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/timestamp.h"
#include "utils/typcache.h"

#include "widecol.h"
#include "wc_cold.h"

struct WcBlockBuilder
{
	Relation	rel;
	WcKeyInfo  *keys;
	bool		zstd;
	int			level;
	WcBlockFlushFn flush;
	void	   *arg;

	/* rows of the open block; rows [cstart, n) form the open chunk */
	HeapTuple	rows[WC_MAX_BLOCK_ROWS];
	ItemPointerData tids[WC_MAX_BLOCK_ROWS];
	bool		newrun[WC_MAX_BLOCK_ROWS];
	int			n;
	int			cstart;
	Size		craw;			/* row bytes of the open chunk */
	HeapTuple	last;			/* last row added (run detection) */

	/* closed chunks of the open block */
	int			nchunks;
	WcChunkEntry chunks[WC_MAX_BLOCK_ROWS];
	StringInfoData frames;
	uint32		raw_size;
	bool		any_zstd;

	char	   *rawbuf;			/* scratch: raw chunk image */
	char	   *compbuf;		/* scratch: compressed chunk */
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
	foreach(lc, names)
	{
		AttrNumber	attnum = get_attnum(RelationGetRelid(rel), lfirst(lc));
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
		ki->ssup[i].ssup_cxt = CurrentMemoryContext;
		ki->ssup[i].ssup_collation = att->attcollation;
		ki->ssup[i].ssup_nulls_first = false;
		PrepareSortSupportFromOrderingOp(tce->lt_opr, &ki->ssup[i]);
		i++;
	}
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
	initStringInfo(&b->frames);
	b->rawbuf = palloc(WC_CHUNK_MAX + 64);
	b->compbuf = palloc(WC_CHUNK_MAX + 64);
	return b;
}

/* Size of the directory of a block with nruns runs and nchunks chunks */
static Size
wc_dir_size(int nruns, int nchunks)
{
	return sizeof(WcBlockHeader) + nruns * sizeof(WcRunEntry) +
		nchunks * sizeof(WcChunkEntry);
}

/* Runs among the first nrows rows of the open block */
static int
wc_count_runs(WcBlockBuilder *b, int nrows)
{
	int			nruns = 0;
	int			i;

	for (i = 0; i < nrows; i++)
		if (i == 0 || b->newrun[i])
			nruns++;
	return nruns;
}

/* Assemble the payload of the closed chunks (rows [0, cstart)) as blockid */
bytea *
WcBuildPayloadForBlock(WcBlockBuilder *b, Oid blockid)
{
	int			nrows = b->cstart;
	int			nruns = wc_count_runs(b, nrows);
	Size		dir = wc_dir_size(nruns, b->nchunks);
	Size		len = dir + b->frames.len;
	bytea	   *payload = palloc0(VARHDRSZ + len);
	char	   *p = VARDATA(payload);
	WcBlockHeader *hdr = (WcBlockHeader *) p;
	WcRunEntry *runs = (WcRunEntry *) (p + sizeof(WcBlockHeader));
	int			r = -1;
	int			i;
	pg_crc32c	crc;

	SET_VARSIZE(payload, VARHDRSZ + len);
	hdr->magic = WC_BLOCK_MAGIC;
	hdr->version = WC_BLOCK_VERSION;
	hdr->flags = b->any_zstd ? WC_CODEC_ZSTD : WC_CODEC_NONE;
	hdr->relid = RelationGetRelid(b->rel);
	hdr->blockid = blockid;
	hdr->nrows = nrows;
	hdr->nruns = nruns;
	hdr->nchunks = b->nchunks;
	hdr->natts = RelationGetDescr(b->rel)->natts;
	hdr->raw_size = b->raw_size;
	hdr->comp_size = b->frames.len;
	hdr->written_at = GetCurrentTimestamp();
	for (i = 0; i < nrows; i++)
	{
		if (i == 0 || b->newrun[i])
		{
			r++;
			runs[r].first_row = i;
			runs[r].nrows = 0;
		}
		runs[r].nrows++;
	}
	memcpy(p + sizeof(WcBlockHeader) + nruns * sizeof(WcRunEntry),
		   b->chunks, b->nchunks * sizeof(WcChunkEntry));
	memcpy(p + dir, b->frames.data, b->frames.len);

	INIT_CRC32C(crc);
	COMP_CRC32C(crc, p + offsetof(WcBlockHeader, crc) + sizeof(uint32),
				len - offsetof(WcBlockHeader, crc) - sizeof(uint32));
	FIN_CRC32C(crc);
	hdr->crc = crc;
	return payload;
}

/* Hand the closed chunks to the flush callback as one block; keep the rest */
static void
wc_flush_block(WcBlockBuilder *b)
{
	int			nflush = b->cstart;
	int			rest = b->n - nflush;

	if (b->nchunks == 0)
		return;
	b->flush(b->arg, b, nflush, b->rows, b->tids);

	/* the open chunk's rows move to the front of the next block */
	memmove(b->rows, b->rows + nflush, rest * sizeof(HeapTuple));
	memmove(b->tids, b->tids + nflush, rest * sizeof(ItemPointerData));
	memmove(b->newrun, b->newrun + nflush, rest * sizeof(bool));
	if (rest > 0)
		b->newrun[0] = true;
	b->n = rest;
	b->cstart = 0;
	b->nchunks = 0;
	b->raw_size = 0;
	b->any_zstd = false;
	resetStringInfo(&b->frames);
}

/* Close the open chunk: build its raw image, compress, append to the block */
static void
wc_close_chunk(WcBlockBuilder *b)
{
	int			nrows = b->n - b->cstart;
	uint16	   *offs = (uint16 *) b->rawbuf;
	uint16	   *lens = offs + nrows;
	Size		pos = MAXALIGN(2 * sizeof(uint16) * nrows);
	Size		complen = 0;
	const char *stored;
	Size		storedlen;
	int			i;

	if (nrows == 0)
		return;
	memset(b->rawbuf, 0, WC_CHUNK_MAX + 64);
	for (i = 0; i < nrows; i++)
	{
		HeapTuple	tup = b->rows[b->cstart + i];
		HeapTupleHeader h = (HeapTupleHeader) (b->rawbuf + pos);

		memcpy(h, tup->t_data, tup->t_len);
		memset(&h->t_choice, 0, sizeof(h->t_choice));
		ItemPointerSetInvalid(&h->t_ctid);
		h->t_infomask &= (HEAP_HASNULL | HEAP_HASVARWIDTH | HEAP_HASEXTERNAL);
		h->t_infomask2 &= HEAP_NATTS_MASK;
		offs[i] = pos;
		lens[i] = tup->t_len;
		pos += MAXALIGN(tup->t_len);
	}
	Assert(pos <= WC_CHUNK_MAX + 64);

	if (b->zstd)
		complen = WcCompress(b->rawbuf, pos, b->compbuf, pos, b->level);
	stored = complen > 0 ? b->compbuf : b->rawbuf;
	storedlen = complen > 0 ? complen : pos;

	/* a chunk that does not fit the open block goes to the next one */
	if (b->nchunks > 0 &&
		wc_dir_size(wc_count_runs(b, b->n), b->nchunks + 1) +
		b->frames.len + storedlen > WC_MAX_BLOCK_PAYLOAD)
	{
		wc_flush_block(b);
		nrows = b->n;
	}

	b->chunks[b->nchunks].first_row = b->cstart;
	b->chunks[b->nchunks].nrows = nrows;
	b->chunks[b->nchunks].raw_len = pos;
	b->chunks[b->nchunks].comp_off = b->frames.len;
	b->chunks[b->nchunks].comp_len = storedlen;
	b->nchunks++;
	appendBinaryStringInfo(&b->frames, stored, storedlen);
	b->raw_size += pos;
	b->any_zstd |= complen > 0;
	b->cstart = b->n;
	b->craw = 0;
}

/*
 * Add a row (in key order) to the block being built.  tuple stays owned by
 * the caller and must live until the flush callback has seen it.
 */
void
WcBuilderAdd(WcBlockBuilder *b, HeapTuple tuple, ItemPointer srctid)
{
	Size		rowsize = MAXALIGN(tuple->t_len);
	int			nchunk = b->n - b->cstart;

	Assert(tuple->t_len <= WC_MAX_COLD_ROW);
	if (nchunk > 0 &&
		MAXALIGN(2 * sizeof(uint16) * (nchunk + 1)) + b->craw + rowsize > WC_CHUNK_MAX)
		wc_close_chunk(b);
	if (b->n == WC_MAX_BLOCK_ROWS)
	{
		wc_close_chunk(b);
		wc_flush_block(b);
	}

	b->rows[b->n] = tuple;
	b->tids[b->n] = *srctid;
	b->newrun[b->n] = b->n > 0 && b->last != NULL &&
		WcKeyCompare(b->keys, b->last, tuple, RelationGetDescr(b->rel),
					 b->keys->npk) != 0;
	b->last = tuple;
	b->n++;
	b->craw += rowsize;

	if (b->raw_size + b->craw >= WC_BLOCK_TARGET)
	{
		wc_close_chunk(b);
		wc_flush_block(b);
	}
}

/* Flush whatever is left */
void
WcBuilderFinish(WcBlockBuilder *b)
{
	wc_close_chunk(b);
	wc_flush_block(b);
}

/* Check the header and directories of a payload; returns the header */
static const WcBlockHeader *
wc_check_payload(Relation rel, Oid blockid, const char *data, Size len,
				 bool check_crc)
{
	const WcBlockHeader *hdr = (const WcBlockHeader *) data;
	const WcRunEntry *runs;
	const WcChunkEntry *chunks;
	Size		dir;
	int			i;
	int			next;

	if (len < sizeof(WcBlockHeader))
		WcCorrupted(rel, blockid, "payload of %zu bytes is too short", len);
	if (hdr->magic != WC_BLOCK_MAGIC)
		WcCorrupted(rel, blockid, "bad magic number 0x%08X", hdr->magic);
	if (hdr->version != WC_BLOCK_VERSION)
		WcCorrupted(rel, blockid, "unsupported format version %u", hdr->version);
	if (check_crc)
	{
		pg_crc32c	crc;

		INIT_CRC32C(crc);
		COMP_CRC32C(crc, data + offsetof(WcBlockHeader, crc) + sizeof(uint32),
					len - offsetof(WcBlockHeader, crc) - sizeof(uint32));
		FIN_CRC32C(crc);
		if (crc != hdr->crc)
			WcCorrupted(rel, blockid, "checksum mismatch (stored %08X, computed %08X)",
						hdr->crc, crc);
	}
	if (hdr->blockid != blockid)
		WcCorrupted(rel, blockid, "header names block %u", hdr->blockid);
	if (hdr->nrows < 1 || hdr->nrows > WC_MAX_BLOCK_ROWS ||
		hdr->nruns < 1 || hdr->nruns > hdr->nrows ||
		hdr->nchunks < 1 || hdr->nchunks > hdr->nrows)
		WcCorrupted(rel, blockid, "bad counts (%u rows, %u runs, %u chunks)",
					hdr->nrows, hdr->nruns, hdr->nchunks);
	dir = wc_dir_size(hdr->nruns, hdr->nchunks);
	if (dir > len || len - dir != hdr->comp_size)
		WcCorrupted(rel, blockid, "directory does not match the payload size");

	runs = (const WcRunEntry *) (data + sizeof(WcBlockHeader));
	for (i = 0, next = 0; i < hdr->nruns; i++)
	{
		if (runs[i].first_row != next || runs[i].nrows == 0)
			WcCorrupted(rel, blockid, "run %d is not contiguous", i);
		next += runs[i].nrows;
	}
	if (next != hdr->nrows)
		WcCorrupted(rel, blockid, "runs cover %d of %u rows", next, hdr->nrows);

	chunks = (const WcChunkEntry *) (runs + hdr->nruns);
	for (i = 0, next = 0; i < hdr->nchunks; i++)
	{
		if (chunks[i].first_row != next || chunks[i].nrows == 0 ||
			chunks[i].raw_len > WC_CHUNK_MAX + 64 ||
			chunks[i].comp_len > chunks[i].raw_len ||
			(Size) chunks[i].comp_off + chunks[i].comp_len > hdr->comp_size)
			WcCorrupted(rel, blockid, "chunk %d has a bad directory entry", i);
		next += chunks[i].nrows;
	}
	if (next != hdr->nrows)
		WcCorrupted(rel, blockid, "chunks cover %d of %u rows", next, hdr->nrows);
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
 * Check and decode a block payload into cxt.  blocktup (the block tuple's
 * header, may be NULL) supplies the xmin, command id and hint bits patched
 * into every row.  Raises XX001 on any inconsistency.
 */
WcDecodedBlock *
WcBlockDecode(Relation rel, Oid blockid, const char *data, Size len,
			  HeapTupleHeader blocktup, MemoryContext cxt)
{
	const WcBlockHeader *hdr = wc_check_payload(rel, blockid, data, len, true);
	const WcRunEntry *runs = (const WcRunEntry *) (data + sizeof(WcBlockHeader));
	const WcChunkEntry *chunks = (const WcChunkEntry *) (runs + hdr->nruns);
	const char *frames = data + wc_dir_size(hdr->nruns, hdr->nchunks);
	int			natts = RelationGetDescr(rel)->natts;
	MemoryContext old = MemoryContextSwitchTo(cxt);
	WcDecodedBlock *blk = palloc0(sizeof(WcDecodedBlock));
	TransactionId xmin = blocktup ? HeapTupleHeaderGetRawXmin(blocktup) : FrozenTransactionId;
	uint16		xminbits = blocktup ? (blocktup->t_infomask & HEAP_XMIN_FROZEN) : HEAP_XMIN_FROZEN;
	CommandId	cid = blocktup ? HeapTupleHeaderGetRawCommandId(blocktup) : FirstCommandId;
	int			c;

	blk->blockid = blockid;
	blk->nrows = hdr->nrows;
	blk->nruns = hdr->nruns;
	blk->runs = palloc(sizeof(WcRunEntry) * hdr->nruns);
	memcpy(blk->runs, runs, sizeof(WcRunEntry) * hdr->nruns);
	blk->rows = palloc0(sizeof(HeapTupleData) * hdr->nrows);
	blk->raw_size = hdr->raw_size;
	blk->comp_size = hdr->comp_size;
	blk->written_at = hdr->written_at;

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
			HeapTupleData *t = &blk->rows[row];
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

			HeapTupleHeaderSetXmin(h, xmin);
			HeapTupleHeaderSetXmax(h, InvalidTransactionId);
			h->t_choice.t_heap.t_field3.t_cid = cid;
			h->t_infomask |= xminbits | HEAP_XMAX_INVALID;
			WcTidMake(&h->t_ctid, blockid, row);
			t->t_len = lens[i];
			t->t_self = h->t_ctid;
			t->t_tableOid = RelationGetRelid(rel);
			t->t_data = h;
		}
	}
	MemoryContextSwitchTo(old);
	return blk;
}
