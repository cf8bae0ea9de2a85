// libpng 1.6 (Debian: libpng-dev). libpng reports errors by longjmp, which
// Swift cannot catch, so the whole read lives here in C: each entry point
// sets its own jump buffer, and an error comes back as a return code and a
// message. Output is always 8-bit RGBA, converted the way PIL's
// Image.convert("RGB"/"RGBA") sees the file: 16-bit samples keep their high
// byte, palettes and grey expand to RGB, tRNS becomes alpha, no gamma change.
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t pos;
    char *message;
    size_t message_size;
    jmp_buf jump;
} revsd_png_state;

static void revsd_png_on_error(png_structp png, png_const_charp msg) {
    revsd_png_state *st = (revsd_png_state *)png_get_error_ptr(png);
    snprintf(st->message, st->message_size, "%s", msg);
    longjmp(st->jump, 1);
}

static void revsd_png_on_warning(png_structp png, png_const_charp msg) {
    (void)png; (void)msg;   // CRC errors in ancillary chunks etc.: the image still reads
}

static void revsd_png_read(png_structp png, png_bytep out, png_size_t n) {
    revsd_png_state *st = (revsd_png_state *)png_get_io_ptr(png);
    if (n > st->size - st->pos) {
        png_error(png, "truncated data");
    }
    memcpy(out, st->data + st->pos, n);
    st->pos += n;
}

/// Reads the header. Returns 0 and the size, or -1 and a message.
static inline int revsd_png_header(const unsigned char *data, size_t size, unsigned *width, unsigned *height,
                                   int *bit_depth, int *color_type, int *interlaced, char *message, size_t message_size) {
    revsd_png_state st = { data, size, 0, message, message_size };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, revsd_png_on_error, revsd_png_on_warning);
    if (!png) { snprintf(message, message_size, "out of memory"); return -1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); snprintf(message, message_size, "out of memory"); return -1; }
    if (setjmp(st.jump)) {
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &st, revsd_png_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);   // revsd applies its own limits
    png_read_info(png, info);
    *width = png_get_image_width(png, info);
    *height = png_get_image_height(png, info);
    *bit_depth = png_get_bit_depth(png, info);
    *color_type = png_get_color_type(png, info);
    *interlaced = png_get_interlace_type(png, info) != PNG_INTERLACE_NONE;
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}

/// Decodes to RGBA8 into `out` (width*height*4 bytes). Returns 0, or -1 and a message.
static inline int revsd_png_decode_rgba(const unsigned char *data, size_t size, unsigned char *out, size_t out_size,
                                        char *message, size_t message_size) {
    revsd_png_state st = { data, size, 0, message, message_size };
    png_bytep * volatile rows = NULL;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &st, revsd_png_on_error, revsd_png_on_warning);
    if (!png) { snprintf(message, message_size, "out of memory"); return -1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); snprintf(message, message_size, "out of memory"); return -1; }
    if (setjmp(st.jump)) {
        free(rows);
        png_destroy_read_struct(&png, &info, NULL);
        return -1;
    }
    png_set_read_fn(png, &st, revsd_png_read);
    png_set_user_limits(png, 0x7fffffff, 0x7fffffff);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    int color = png_get_color_type(png, info);
    if ((size_t)w * h * 4 != out_size) { png_error(png, "output buffer does not match the image size"); }
    if (png_get_bit_depth(png, info) == 16) png_set_strip_16(png);
    if (color == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (color == PNG_COLOR_TYPE_GRAY || color == PNG_COLOR_TYPE_GRAY_ALPHA) {
        if (png_get_bit_depth(png, info) < 8) png_set_expand_gray_1_2_4_to_8(png);
        png_set_gray_to_rgb(png);
    }
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    else if (!(color & PNG_COLOR_MASK_ALPHA)) png_set_add_alpha(png, 0xff, PNG_FILLER_AFTER);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 4) { png_error(png, "unexpected row layout"); }
    rows = (png_bytep *)malloc(sizeof(png_bytep) * h);
    if (!rows) { png_error(png, "out of memory"); }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = out + (size_t)y * w * 4;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    return 0;
}
