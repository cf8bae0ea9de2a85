// libwebp and its demux library (Debian: libwebp-dev): still images through
// WebPDecodeRGBAInto, animations through WebPAnimDecoder (first frame).
#include <webp/decode.h>
#include <webp/demux.h>
