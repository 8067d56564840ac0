/* The WHATWG Encoding standard's decoders for the legacy single-byte and CJK encodings
 * (legacy.c): the standard's algorithms, over tables glibc's iconv fills in. */
#ifndef LF_LEGACY_H
#define LF_LEGACY_H

#include <stddef.h>

#include "buf.h"
#include "encoding.h"

/* Decodes len bytes in enc (enc->decoder is not LF__DEC_ICONV), appending UTF-8 to o. Bytes
 * that do not decode become U+FFFD where the standard says so. Returns 0, LF_ENOMEM, or
 * LF_EINVAL when iconv lacks the converter the tables come from. */
int lf__legacy_decode(const lf__encoding_t *enc, const unsigned char *in, size_t len,
                      lf__buf_t *o);

#endif
