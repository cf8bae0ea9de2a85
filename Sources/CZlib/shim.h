// zlib (Debian: zlib1g-dev): raw inflate for ZIP entries (Python wheels) and
// CRC-32. `inflateInit2` is a macro; wrap it.
#include <zlib.h>

static inline int revsd_inflate_init_raw(z_stream *strm) {
    return inflateInit2(strm, -MAX_WBITS);
}

static inline int revsd_inflate_init_auto(z_stream *strm) {
    // zlib or gzip header, detected automatically.
    return inflateInit2(strm, MAX_WBITS + 32);
}

static inline int revsd_deflate_init_raw(z_stream *strm, int level) {
    return deflateInit2(strm, level, Z_DEFLATED, -MAX_WBITS, 8, Z_DEFAULT_STRATEGY);
}
