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
 * No locks: the contexts are backend-local.
 *
 * widecol/wc_compression.c
 *
 *-------------------------------------------------------------------------
 */
#include "postgres.h"

#include <zstd.h>

#include "wc_cold.h"

static ZSTD_CCtx *wc_cctx = NULL;
static ZSTD_DCtx *wc_dctx = NULL;

/*
 * Compress len bytes of src into dst (cap bytes) at level.  Returns the
 * compressed size, or 0 when the result would not be smaller than the
 * input (the caller then stores the chunk raw).
 */
Size
WcCompress(const char *src, Size len, char *dst, Size cap, int level)
{
	size_t		n;

	if (wc_cctx == NULL)
	{
		wc_cctx = ZSTD_createCCtx();
		if (wc_cctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not create a zstd compression context.")));
	}
	n = ZSTD_compressCCtx(wc_cctx, dst, cap, src, len, level);
	if (ZSTD_isError(n) || n >= len)
		return 0;
	return (Size) n;
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

	if (wc_dctx == NULL)
	{
		wc_dctx = ZSTD_createDCtx();
		if (wc_dctx == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_OUT_OF_MEMORY),
					 errmsg("out of memory"),
					 errdetail("Could not create a zstd decompression context.")));
	}
	n = ZSTD_decompressDCtx(wc_dctx, dst, rawlen, src, clen);
	return !ZSTD_isError(n) && n == rawlen;
}
