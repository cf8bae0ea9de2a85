// libwebp and its demux library (Debian: libwebp-dev): still images through
// WebPDecodeRGBAInto, animations through WebPAnimDecoder (first frame);
// thumbnails written with WebPEncode and a WebPMemoryWriter (libwebp itself,
// which libwebpdemux's pkg-config file requires).
#include <webp/decode.h>
#include <webp/demux.h>
#include <webp/encode.h>
