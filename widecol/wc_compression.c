/*-------------------------------------------------------------------------
 *
 * wc_compression.c
 *	  zstd frames for cold chunks.
 *
 * Each chunk of a cold block is one independent zstd frame, written
 * without zstd's own checksum (the block's CRC32C covers every stored
 * byte).  One compression and one decompression context per backend are
 * created on first use (zstd allocates them with malloc) and live until
 * the backend exits; the process exit frees them.
 *
 * Cuts: the writer may end a zstd block at given offsets of its input
 * (ZSTD_e_flush).  The frame stays one ordinary frame that any zstd
 * decodes whole, but WcImageNeed can then decode only its first blocks:
 * a row group's image puts its large column streams after cuts
 * (wc_pax.c), so a scan that reads only the small columns before them
 * skips decompressing the rest (zstd's buffer-less streaming API, one
 * zstd block per call; it decodes into the one output buffer, so later
 * blocks may refer back to earlier ones).  Frames without cuts (written
 * before session 13, or with no long stream) are read the same way: zstd
 * cuts a frame into blocks of at most 128 kB by itself, and the reader
 * stops after the first block that reaches far enough, which for a small
 * row group is the whole frame.
 *
 * No locks: the contexts are backend-local.
 *
 * widecol/wc_compression.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

/* buffer-less streaming decompression (ZSTD_decompressContinue) */
#define ZSTD_STATIC_LINKING_ONLY
#include <zstd.h>

#include "wc_cold.h"

static ZSTD_CCtx *wc_cctx = NULL;
static ZSTD_DCtx *wc_dctx = NULL;

/* Create the backend's decompression context on first use */
static void
wc_dctx_create(void)
{
	if (wc_dctx != NULL)
		return;
	wc_dctx = ZSTD_createDCtx();
	if (wc_dctx == NULL)
		ereport(ERROR,
				(errcode(ERRCODE_OUT_OF_MEMORY),
				 errmsg("out of memory"),
				 errdetail("Could not create a zstd decompression context.")));
}

/*
 * Compress len bytes of src into dst (cap bytes) at level, ending a zstd
 * block at each of the ncuts increasing offsets cuts[] (see above).
 * Returns the compressed size, or 0 when the result would not be smaller
 * than the input (the caller then stores the chunk raw).
 */
Size
WcCompress(const char *src, Size len, char *dst, Size cap, int level,
		   const uint32 *cuts, int ncuts)
{
	ZSTD_outBuffer out = {dst, cap, 0};
	Size		done = 0;
	size_t		n;
	int			i;

	if (wc_cctx == NULL)
	{
		wc_cctx = ZSTD_createCCtx();
		if (wc_cctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not create a zstd compression context.")));
	}
	if (ncuts == 0)
	{
		n = ZSTD_compressCCtx(wc_cctx, dst, cap, src, len, level);
		if (ZSTD_isError(n) || n >= len)
			return 0;
		return (Size) n;
	}

	/* the pledged size puts the content size in the frame header */
	ZSTD_CCtx_reset(wc_cctx, ZSTD_reset_session_and_parameters);
	if (ZSTD_isError(ZSTD_CCtx_setParameter(wc_cctx, ZSTD_c_compressionLevel, level)) ||
		ZSTD_isError(ZSTD_CCtx_setPledgedSrcSize(wc_cctx, len)))
		return 0;
	for (i = 0; i <= ncuts; i++)
	{
		Size		upto = i < ncuts ? cuts[i] : len;
		ZSTD_inBuffer in = {src + done, upto - done, 0};
		ZSTD_EndDirective mode = i < ncuts ? ZSTD_e_flush : ZSTD_e_end;

		Assert(upto >= done && upto <= len);
		/* 0 once everything given is flushed; a full dst is "not smaller" */
		do
		{
			n = ZSTD_compressStream2(wc_cctx, &out, &in, mode);
			if (ZSTD_isError(n) || (n > 0 && out.pos == out.size))
				return 0;
		} while (n > 0);
		if (in.pos != in.size)
			return 0;			/* cannot happen: a flush consumes the input */
		done = upto;
	}
	return out.pos >= len ? 0 : (Size) out.pos;
}

/*
 * Start reading the image of a row group: clen bytes at src, which decode
 * to rawlen bytes in dst (rawlen bytes of room); clen == rawlen is a group
 * stored raw, read in place.  Nothing is decoded yet.
 */
void
WcImageBegin(WcImageReader *r, const char *src, Size clen, char *dst,
			 Size rawlen)
{
	r->src = src;
	r->srclen = clen;
	r->srcpos = 0;
	r->rawlen = rawlen;
	if (clen == rawlen)
	{
		r->img = src;
		r->buf = NULL;
		r->avail = rawlen;
		return;
	}
	wc_dctx_create();
	r->img = dst;
	r->buf = dst;
	r->avail = 0;
	if (ZSTD_isError(ZSTD_decompressBegin(wc_dctx)))
		r->srcpos = clen + 1;	/* WcImageNeed fails */
}

/*
 * Make at least upto bytes of the image readable at r->img, decoding zstd
 * blocks in order.  Returns false if the frame is invalid, ends early or
 * decodes to more than rawlen bytes; the caller reports the corruption.
 * The backend's decompression context belongs to this reader until the
 * image is decoded as far as its reader needs: no other frame may be
 * decoded in between.
 */
bool
WcImageNeed(WcImageReader *r, Size upto)
{
	if (upto > r->rawlen || r->srcpos > r->srclen)
		return false;
	while (r->avail < upto)
	{
		size_t		need = ZSTD_nextSrcSizeToDecompress(wc_dctx);
		size_t		n;

		if (need == 0 || need > r->srclen - r->srcpos)
			return false;		/* the frame ended, or is cut short */
		n = ZSTD_decompressContinue(wc_dctx, r->buf + r->avail,
									r->rawlen - r->avail,
									r->src + r->srcpos, need);
		if (ZSTD_isError(n))
			return false;
		r->srcpos += need;
		r->avail += n;
	}
	return true;
}

/*
 * Decompress a frame of clen bytes into exactly rawlen bytes at dst.
 * Returns false if the frame is invalid or has another size; the caller
 * reports the corruption.
 */
bool
WcDecompress(const char *src, Size clen, char *dst, Size rawlen)
{
	size_t		n;

	wc_dctx_create();
	n = ZSTD_decompressDCtx(wc_dctx, dst, rawlen, src, clen);
	return !ZSTD_isError(n) && n == rawlen;
}
