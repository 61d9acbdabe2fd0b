/*-------------------------------------------------------------------------
 *
 * wc_pax.c
 *	  Column-grouped (PAX) image of the rows of a cold block (format 3).
 *
 * A block of format 3 compresses all its rows as one zstd frame.  Before
 * compression the rows are rearranged so that like bytes sit together:
 * the per-row header fields first, then for every attribute the values of
 * all rows, fixed-width values in one stream and varlena headers apart
 * from varlena bodies.  Only what heap_deform_tuple needs is kept of a
 * heap tuple header; the zeroed MVCC fields, t_hoff and the alignment
 * padding are rebuilt on decoding.
 *
 * Image layout (n = rows of the block, m = largest natts of its rows):
 *
 *	  uint16 m
 *	  uint8  flags[n]				WC_PAX_HASNULL | _HASVARWIDTH | _HASEXTERNAL
 *	  (pad to 2)
 *	  uint16 natts[n]
 *	  uint16 len[n]					t_len of the rebuilt heap tuple
 *	  null bitmaps					BITMAPLEN(natts[i]) bytes, rows with nulls
 *	  (pad to 4)
 *	  uint32 end[2 * m]				end of stream (a, header) and (a, body),
 *									from the start of the stream area
 *	  streams						a1 header, a1 body, a2 header, ...
 *
 * The header stream of a varlena attribute holds each value's header
 * bytes (1 for a short varlena, 4 for a 4-byte header, 2 for an external
 * TOAST pointer: 0x01 and the tag), its body stream the rest.  Fixed-width
 * and cstring attributes use the body stream only.  Null values and
 * attributes beyond a row's natts have no bytes anywhere.
 *
 * Pass-by-value attributes of 2, 4 or 8 bytes (integers, dates,
 * timestamps, float bit patterns) are delta-coded: each value is stored
 * as its difference, modulo 2^(8 * attlen), from the attribute's previous
 * non-null value in the block (0 before the first).  Rows are in key
 * order, so sort keys and counters become small repeated numbers that
 * zstd compresses to almost nothing (event workload: 28.2 -> 21.5 bytes
 * per row); the coding is lossless for any bit pattern.
 *
 * Cuts (session 13): the encoder reports the offsets where body streams of
 * at least WC_PAX_CUT_MIN bytes begin, and the writer ends a zstd block
 * there (wc_compression.c).  A reader that needs only the attributes
 * before such a stream then decodes the image only up to it:
 * WcPaxDecodeColumns rebuilds rows that hold only the attributes a scan
 * reads (the others null) from a prefix of the image.
 *
 * Decoding rebuilds every row as heap_fill_tuple would lay it out (4-byte
 * varlenas and fixed-width values aligned per attalign, short and
 * external varlenas unaligned, padding zero) using the table's current
 * descriptor, which keeps attlen and attalign of dropped columns.  The
 * encoder computes the rebuilt length with the same rules and stores it,
 * so the decoder can size its buffer exactly and check its result.  Every
 * read is bounded by its stream; any inconsistency raises XX001 through
 * WcCorrupted.
 *
 * No locks: pure functions over memory owned by the caller.
 *
 * widecol/wc_pax.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include "access/htup_details.h"
#include "access/tupmacs.h"
#include "utils/rel.h"

#include "wc_cold.h"

#define WC_PAX_HASNULL			0x01
#define WC_PAX_HASVARWIDTH		0x02
#define WC_PAX_HASEXTERNAL		0x04

/* a body stream at least this long starts after a cut (see above) */
#define WC_PAX_CUT_MIN			1024

/* One attribute's two output streams while encoding */
typedef struct WcPaxStreams
{
	StringInfoData hdr;
	StringInfoData body;
	uint64		prev;			/* last value of a delta-coded attribute */
} WcPaxStreams;

/* True if the values of att are stored as differences (see file header) */
static inline bool
wc_att_delta(Form_pg_attribute att)
{
	return att->attbyval &&
		(att->attlen == 8 || att->attlen == 4 || att->attlen == 2);
}

/* The len-byte (8, 4 or 2) unsigned integer at p */
static inline uint64
wc_get_uint(const char *p, int len)
{
	uint64		v8;
	uint32		v4;
	uint16		v2;

	if (len == 8)
	{
		memcpy(&v8, p, 8);
		return v8;
	}
	if (len == 4)
	{
		memcpy(&v4, p, 4);
		return v4;
	}
	memcpy(&v2, p, 2);
	return v2;
}

/* Store the low len bytes (8, 4 or 2) of v at p */
static inline void
wc_put_uint(char *p, int len, uint64 v)
{
	uint32		v4 = (uint32) v;
	uint16		v2 = (uint16) v;

	if (len == 8)
		memcpy(p, &v, 8);
	else if (len == 4)
		memcpy(p, &v4, 4);
	else
		memcpy(p, &v2, 2);
}

/* Bytes of the header of the varlena at p (1, 2 for external, or 4) */
static inline int
wc_varlena_hdrlen(const char *p)
{
	if (VARATT_IS_1B_E(p))
		return VARHDRSZ_EXTERNAL;
	if (VARATT_IS_1B(p))
		return VARHDRSZ_SHORT;
	return VARHDRSZ;
}

/* Append zero bytes to buf until its length is a multiple of align */
static void
wc_pad(StringInfo buf, int align)
{
	while (buf->len % align != 0)
		appendStringInfoChar(buf, '\0');
}

/*
 * Append the PAX image of rows[0..nrows) (valid heap tuples of a relation
 * with descriptor desc) to out, which must be empty.  The offsets where a
 * zstd block should end (before each long body stream, at most
 * WC_PAX_MAX_CUTS) go to cuts[], their number to *ncuts.
 */
void
WcPaxEncode(TupleDesc desc, HeapTuple *rows, int nrows, StringInfo out,
			uint32 *cuts, int *ncuts)
{
	int			m = 0;
	int			i;
	int			a;
	uint16		u16;
	uint32		end;
	WcPaxStreams *cols;

	for (i = 0; i < nrows; i++)
		m = Max(m, HeapTupleHeaderGetNatts(rows[i]->t_data));
	Assert(m <= desc->natts);
	cols = palloc(sizeof(WcPaxStreams) * Max(m, 1));
	for (a = 0; a < m; a++)
	{
		initStringInfo(&cols[a].hdr);
		initStringInfo(&cols[a].body);
		cols[a].prev = 0;
	}

	u16 = (uint16) m;
	appendBinaryStringInfo(out, (char *) &u16, sizeof(uint16));
	for (i = 0; i < nrows; i++)
	{
		uint16		im = rows[i]->t_data->t_infomask;
		char		f = ((im & HEAP_HASNULL) ? WC_PAX_HASNULL : 0) |
			((im & HEAP_HASVARWIDTH) ? WC_PAX_HASVARWIDTH : 0) |
			((im & HEAP_HASEXTERNAL) ? WC_PAX_HASEXTERNAL : 0);

		appendStringInfoChar(out, f);
	}
	wc_pad(out, sizeof(uint16));
	for (i = 0; i < nrows; i++)
	{
		u16 = HeapTupleHeaderGetNatts(rows[i]->t_data);
		appendBinaryStringInfo(out, (char *) &u16, sizeof(uint16));
	}

	/* rebuilt lengths (computed while splitting the values into streams) */
	for (i = 0; i < nrows; i++)
	{
		HeapTupleHeader h = rows[i]->t_data;
		int			natts = HeapTupleHeaderGetNatts(h);
		bool		hasnull = HeapTupleHasNulls(rows[i]);
		char	   *tp = (char *) h + h->t_hoff;
		Size		off = 0;	/* in the stored tuple */
		Size		noff = 0;	/* in the rebuilt tuple */
		Size		hoff = SizeofHeapTupleHeader + (hasnull ? BITMAPLEN(natts) : 0);

		for (a = 0; a < natts; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);
			const char *v;
			Size		vlen;

			if (hasnull && att_isnull(a, h->t_bits))
				continue;
			if (att->attlen > 0)
			{
				off = att_align_nominal(off, att->attalign);
				v = tp + off;
				vlen = att->attlen;
				noff = att_align_nominal(noff, att->attalign);
				if (wc_att_delta(att))
				{
					uint64		x = wc_get_uint(v, vlen);
					char		d[8];

					wc_put_uint(d, vlen, x - cols[a].prev);
					cols[a].prev = x;
					appendBinaryStringInfo(&cols[a].body, d, vlen);
				}
				else
					appendBinaryStringInfo(&cols[a].body, v, vlen);
			}
			else if (att->attlen == -1)
			{
				int			hl;

				off = att_align_pointer(off, att->attalign, -1, tp + off);
				v = tp + off;
				vlen = VARSIZE_ANY(v);
				hl = wc_varlena_hdrlen(v);
				if (hl == VARHDRSZ)
					noff = att_align_nominal(noff, att->attalign);
				appendBinaryStringInfo(&cols[a].hdr, v, hl);
				appendBinaryStringInfo(&cols[a].body, v + hl, vlen - hl);
			}
			else
			{
				off = att_align_nominal(off, att->attalign);
				v = tp + off;
				vlen = strlen(v) + 1;
				noff = att_align_nominal(noff, att->attalign);
				appendBinaryStringInfo(&cols[a].body, v, vlen);
			}
			off += vlen;
			noff += vlen;
		}
		u16 = (uint16) (MAXALIGN(hoff) + noff);
		Assert(MAXALIGN(hoff) + noff <= PG_UINT16_MAX);
		appendBinaryStringInfo(out, (char *) &u16, sizeof(uint16));
	}

	for (i = 0; i < nrows; i++)
	{
		HeapTupleHeader h = rows[i]->t_data;

		if (HeapTupleHasNulls(rows[i]))
			appendBinaryStringInfo(out, (char *) h->t_bits,
								   BITMAPLEN(HeapTupleHeaderGetNatts(h)));
	}
	wc_pad(out, sizeof(uint32));

	/* stream directory, then the streams */
	end = 0;
	for (a = 0; a < m; a++)
	{
		end += cols[a].hdr.len;
		appendBinaryStringInfo(out, (char *) &end, sizeof(uint32));
		end += cols[a].body.len;
		appendBinaryStringInfo(out, (char *) &end, sizeof(uint32));
	}
	*ncuts = 0;
	for (a = 0; a < m; a++)
	{
		appendBinaryStringInfo(out, cols[a].hdr.data, cols[a].hdr.len);
		if (cols[a].body.len >= WC_PAX_CUT_MIN && *ncuts < WC_PAX_MAX_CUTS)
			cuts[(*ncuts)++] = out->len;
		appendBinaryStringInfo(out, cols[a].body.data, cols[a].body.len);
		pfree(cols[a].hdr.data);
		pfree(cols[a].body.data);
	}
	pfree(cols);
}

/* Read cursor over one stream of the image */
typedef struct WcPaxCursor
{
	const char *p;
	const char *end;
	uint64		prev;			/* last value of a delta-coded attribute */
} WcPaxCursor;

/* Where the parts of a PAX image are (wc_pax_layout) */
typedef struct WcPaxLayout
{
	uint16		m;				/* largest natts of the rows */
	const uint8 *flags;
	const char *natts_p;
	const char *len_p;
	const char *bits;			/* the null bitmaps */
	Size		total;			/* sum of the MAXALIGNed rebuilt lengths */
	WcPaxCursor *hc;			/* [m] header streams */
	WcPaxCursor *bc;			/* [m] body streams */
} WcPaxLayout;

/* Make the first upto bytes of the image readable (r NULL: all are) */
static void
wc_pax_need(Relation rel, Oid blockid, WcImageReader *r, Size upto)
{
	if (r != NULL && !WcImageNeed(r, upto))
		WcCorrupted(rel, blockid, "row image does not decompress");
}

/*
 * Check the row headers and the stream directory of the image img of
 * nrows rows (len bytes once decoded; r, when not NULL, decodes it as far
 * as they reach) and set up lay with a cursor per stream
 */
static void
wc_pax_layout(Relation rel, TupleDesc desc, Oid blockid, const char *img,
			  Size len, int nrows, WcImageReader *r, WcPaxLayout *lay)
{
	const char *endimg = img + len;
	const char *p = img;
	const char *dir;
	const char *streams;
	uint32		prev = 0;
	int			i;
	int			a;

	/* fixed part: m, flags, natts, lengths */
	if (len < sizeof(uint16))
		WcCorrupted(rel, blockid, "row image of %zu bytes is too short", len);
	wc_pax_need(rel, blockid, r, sizeof(uint16));
	memcpy(&lay->m, p, sizeof(uint16));
	if (lay->m > desc->natts)
		WcCorrupted(rel, blockid, "rows have %u attributes, the table %d",
					lay->m, desc->natts);
	p += sizeof(uint16);
	lay->flags = (const uint8 *) p;
	p = img + TYPEALIGN(sizeof(uint16), sizeof(uint16) + nrows);
	lay->natts_p = p;
	lay->len_p = p + nrows * sizeof(uint16);
	lay->bits = lay->len_p + nrows * sizeof(uint16);
	if (lay->bits > endimg)
		WcCorrupted(rel, blockid, "row headers lie outside the row image");
	wc_pax_need(rel, blockid, r, lay->bits - img);

	/* null bitmaps: find where they end */
	p = lay->bits;
	lay->total = 0;
	for (i = 0; i < nrows; i++)
	{
		uint16		natts;
		uint16		tlen;

		memcpy(&natts, lay->natts_p + i * sizeof(uint16), sizeof(uint16));
		memcpy(&tlen, lay->len_p + i * sizeof(uint16), sizeof(uint16));
		if (natts > lay->m || tlen < SizeofHeapTupleHeader)
			WcCorrupted(rel, blockid, "row %d has a bad header", i);
		if (lay->flags[i] & WC_PAX_HASNULL)
			p += BITMAPLEN(natts);
		lay->total += MAXALIGN(tlen);
	}
	dir = img + TYPEALIGN(sizeof(uint32), p - img);
	streams = dir + 2 * lay->m * sizeof(uint32);
	if (p > endimg || streams > endimg)
		WcCorrupted(rel, blockid, "row headers lie outside the row image");
	wc_pax_need(rel, blockid, r, streams - img);

	/* stream cursors */
	lay->hc = palloc(sizeof(WcPaxCursor) * Max(lay->m, 1));
	lay->bc = palloc(sizeof(WcPaxCursor) * Max(lay->m, 1));
	for (a = 0; a < lay->m; a++)
	{
		uint32		hend;
		uint32		bend;

		memcpy(&hend, dir + (2 * a) * sizeof(uint32), sizeof(uint32));
		memcpy(&bend, dir + (2 * a + 1) * sizeof(uint32), sizeof(uint32));
		if (hend < prev || bend < hend || bend > endimg - streams)
			WcCorrupted(rel, blockid, "stream directory of attribute %d is bad",
						a + 1);
		lay->hc[a].p = streams + prev;
		lay->hc[a].end = streams + hend;
		lay->bc[a].p = streams + hend;
		lay->bc[a].end = streams + bend;
		lay->bc[a].prev = 0;
		prev = bend;
	}
	if (streams + prev != endimg)
		WcCorrupted(rel, blockid, "streams end at %u of %zu bytes",
					(uint32) (streams - img) + prev, len);
}

/*
 * Copy the value of attribute a (0-based) of row i from its streams to the
 * row data tp at offset off, aligned; returns the offset after it.  room
 * is the row's data size.
 */
static pg_attribute_always_inline Size
wc_pax_value(Relation rel, Oid blockid, Form_pg_attribute att, int i, int a,
			 WcPaxLayout *lay, char *tp, Size off, Size room)
{
	WcPaxCursor *b = &lay->bc[a];
	Size		vlen;

	if (att->attlen > 0)
	{
		off = att_align_nominal(off, att->attalign);
		vlen = att->attlen;
		if (b->end - b->p < vlen || off + vlen > room)
			WcCorrupted(rel, blockid, "row %d overruns attribute %d", i, a + 1);
		if (wc_att_delta(att))
		{
			b->prev += wc_get_uint(b->p, vlen);
			wc_put_uint(tp + off, vlen, b->prev);
		}
		else
			memcpy(tp + off, b->p, vlen);
		b->p += vlen;
	}
	else if (att->attlen == -1)
	{
		WcPaxCursor *c = &lay->hc[a];
		int			hl;

		if (c->p >= c->end)
			WcCorrupted(rel, blockid, "row %d overruns attribute %d", i, a + 1);
		hl = wc_varlena_hdrlen(c->p);
		if (c->end - c->p < hl)
			WcCorrupted(rel, blockid, "row %d overruns attribute %d", i, a + 1);
		if (hl == VARHDRSZ_EXTERNAL)
		{
			if (VARTAG_EXTERNAL(c->p) != VARTAG_ONDISK)
				WcCorrupted(rel, blockid, "row %d has a bad TOAST pointer", i);
			vlen = VARSIZE_EXTERNAL(c->p);
		}
		else if (hl == VARHDRSZ_SHORT)
			vlen = VARSIZE_1B(c->p);
		else
		{
			uint32		h4;

			memcpy(&h4, c->p, sizeof(uint32));
			vlen = VARSIZE_4B(&h4);
			off = att_align_nominal(off, att->attalign);
		}
		if (vlen < hl || b->end - b->p < vlen - hl || off + vlen > room)
			WcCorrupted(rel, blockid, "row %d overruns attribute %d", i, a + 1);
		memcpy(tp + off, c->p, hl);
		memcpy(tp + off + hl, b->p, vlen - hl);
		c->p += hl;
		b->p += vlen - hl;
	}
	else
	{
		off = att_align_nominal(off, att->attalign);
		vlen = strnlen(b->p, b->end - b->p) + 1;
		if (vlen > b->end - b->p || off + vlen > room)
			WcCorrupted(rel, blockid, "row %d overruns attribute %d", i, a + 1);
		memcpy(tp + off, b->p, vlen);
		b->p += vlen;
	}
	return off + vlen;
}

/*
 * Put a filler value for a NOT NULL attribute that a column scan does not
 * read at offset off of the row data tp (room bytes, zeroed); returns the
 * offset after it.  It cannot be left null: JIT-compiled deforming
 * (llvmjit_deform.c) trusts attnotnull, skips the null bitmap for such an
 * attribute and steps over its bytes.  Zero bytes for a fixed-width type,
 * an empty short varlena, an empty cstring: laid out as heap would lay out
 * that value, and never read.
 */
static Size
wc_pax_filler(Form_pg_attribute att, char *tp, Size off, Size room)
{
	if (att->attlen > 0)
	{
		off = att_align_nominal(off, att->attalign);
		if (off + att->attlen > room)
			elog(ERROR, "no room for attribute %d in a column scan row", att->attnum);
		return off + att->attlen;
	}
	if (att->attlen == -2)
		off = att_align_nominal(off, att->attalign);
	if (off + 1 > room)
		elog(ERROR, "no room for attribute %d in a column scan row", att->attnum);
	if (att->attlen == -1)
		SET_VARSIZE_SHORT(tp + off, VARHDRSZ_SHORT);
	else
		tp[off] = '\0';
	return off + 1;
}

/*
 * Raise XX001 unless the streams of the attributes read were read whole;
 * then free the layout's cursors
 */
static void
wc_pax_check_read(Relation rel, Oid blockid, WcPaxLayout *lay,
				  const WcColumns *cols)
{
	int			a;

	for (a = 0; a < lay->m; a++)
	{
		if (cols != NULL && (a >= cols->maxatt || !cols->needed[a]))
			continue;
		if (lay->hc[a].p != lay->hc[a].end || lay->bc[a].p != lay->bc[a].end)
			WcCorrupted(rel, blockid, "attribute %d has unread bytes", a + 1);
	}
	pfree(lay->hc);
	pfree(lay->bc);
}

/*
 * Decode the PAX image img (len bytes) of the nrows rows of block blockid
 * of rel into rows[] (t_data and t_len set; the caller patches the MVCC
 * fields and t_self), laying the columns out as desc says (rel's
 * descriptor, or the one the rows were written with while ALTER TABLE
 * rewrites the table).  The tuples live in one allocation in the current
 * memory context.  Raises XX001 if the image is inconsistent.
 */
void
WcPaxDecode(Relation rel, TupleDesc desc, Oid blockid, const char *img,
			Size len, int nrows, HeapTupleData *rows)
{
	WcPaxLayout lay;
	const char *p;
	Size		pos = 0;
	char	   *mem;
	int			i;
	int			a;

	wc_pax_layout(rel, desc, blockid, img, len, nrows, NULL, &lay);

	/* rebuild the rows */
	mem = palloc0(Max(lay.total, 1));
	p = lay.bits;
	for (i = 0; i < nrows; i++)
	{
		HeapTupleHeader h = (HeapTupleHeader) (mem + pos);
		uint16		natts;
		uint16		tlen;
		bool		hasnull = (lay.flags[i] & WC_PAX_HASNULL) != 0;
		Size		hoff;
		Size		off = 0;

		memcpy(&natts, lay.natts_p + i * sizeof(uint16), sizeof(uint16));
		memcpy(&tlen, lay.len_p + i * sizeof(uint16), sizeof(uint16));
		hoff = MAXALIGN(SizeofHeapTupleHeader + (hasnull ? BITMAPLEN(natts) : 0));
		if (hoff > tlen)
			WcCorrupted(rel, blockid, "row %d has a bad header", i);
		h->t_hoff = hoff;
		h->t_infomask = (hasnull ? HEAP_HASNULL : 0) |
			((lay.flags[i] & WC_PAX_HASVARWIDTH) ? HEAP_HASVARWIDTH : 0) |
			((lay.flags[i] & WC_PAX_HASEXTERNAL) ? HEAP_HASEXTERNAL : 0);
		HeapTupleHeaderSetNatts(h, natts);
		if (hasnull)
		{
			memcpy(h->t_bits, p, BITMAPLEN(natts));
			p += BITMAPLEN(natts);
		}

		for (a = 0; a < natts; a++)
		{
			if (hasnull && att_isnull(a, h->t_bits))
				continue;
			off = wc_pax_value(rel, blockid, TupleDescAttr(desc, a), i, a, &lay,
							   (char *) h + hoff, off, tlen - hoff);
		}
		if (off != tlen - hoff)
			WcCorrupted(rel, blockid, "row %d has %zu data bytes, expected %zu",
						i, off, (Size) (tlen - hoff));
		rows[i].t_len = tlen;
		rows[i].t_data = h;
		pos += MAXALIGN(tlen);
	}
	wc_pax_check_read(rel, blockid, &lay, NULL);
}

/*
 * WcPaxDecode for a reader of the columns cols: decode the image r reads
 * only as far as the streams of those columns reach, and rebuild each row
 * with only those attributes (the others null, or a filler value when NOT
 * NULL, and none beyond the last one read: those would read as missing).
 * The rows are for a scan that reads nothing else of them.
 */
void
WcPaxDecodeColumns(Relation rel, TupleDesc desc, Oid blockid,
				   WcImageReader *r, int nrows, HeapTupleData *rows,
				   const WcColumns *cols)
{
	WcPaxLayout lay;
	const char *p;
	Size		pos = 0;
	Size		upto = 0;
	Size		maxhoff;
	char	   *mem;
	int			i;
	int			a;

	wc_pax_layout(rel, desc, blockid, r->img, r->rawlen, nrows, r, &lay);
	for (a = 0; a < Min(cols->maxatt, lay.m); a++)
		if (cols->needed[a])
			upto = Max(upto, lay.bc[a].end - r->img);
	wc_pax_need(rel, blockid, r, upto);

	/*
	 * A rebuilt row gets a new header and bitmap (at most maxhoff bytes) and
	 * room for its stored data plus realignment of each attribute
	 */
	maxhoff = MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(lay.m));
	mem = palloc0(Max(lay.total + nrows * (maxhoff + MAXIMUM_ALIGNOF * lay.m), 1));
	p = lay.bits;
	for (i = 0; i < nrows; i++)
	{
		HeapTupleHeader h = (HeapTupleHeader) (mem + pos);
		uint16		natts;
		uint16		tlen;
		int			nat;
		bool		hasnull = (lay.flags[i] & WC_PAX_HASNULL) != 0;
		const bits8 *bits = (const bits8 *) p;
		Size		hoff;
		Size		room;
		Size		off = 0;

		memcpy(&natts, lay.natts_p + i * sizeof(uint16), sizeof(uint16));
		memcpy(&tlen, lay.len_p + i * sizeof(uint16), sizeof(uint16));
		if (hasnull)
			p += BITMAPLEN(natts);
		nat = Min(natts, cols->maxatt);
		hoff = MAXALIGN(SizeofHeapTupleHeader + BITMAPLEN(nat));
		room = MAXALIGN(tlen) + MAXIMUM_ALIGNOF * lay.m;
		h->t_hoff = hoff;
		h->t_infomask = HEAP_HASNULL |
			((lay.flags[i] & WC_PAX_HASVARWIDTH) ? HEAP_HASVARWIDTH : 0) |
			((lay.flags[i] & WC_PAX_HASEXTERNAL) ? HEAP_HASEXTERNAL : 0);
		HeapTupleHeaderSetNatts(h, nat);
		for (a = 0; a < nat; a++)
		{
			Form_pg_attribute att = TupleDescAttr(desc, a);

			if (hasnull && att_isnull(a, bits))
				continue;		/* its bit stays 0: null */
			if (!cols->needed[a] && !att->attnotnull)
				continue;		/* not read: null */
			h->t_bits[a >> 3] |= 1 << (a & 0x07);
			if (cols->needed[a])
				off = wc_pax_value(rel, blockid, att, i, a, &lay,
								   (char *) h + hoff, off, room);
			else
				off = wc_pax_filler(att, (char *) h + hoff, off, room);
		}
		rows[i].t_len = hoff + off;
		rows[i].t_data = h;
		pos += hoff + room;
	}
	wc_pax_check_read(rel, blockid, &lay, cols);
}
