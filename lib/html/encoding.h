/* Character encodings of HTML pages: which one a page uses (encoding.c: the WHATWG labels and
 * the HTML standard's sniffing), and conversion to and from UTF-8 with glibc's iconv
 * (transcode.c). */
#ifndef LF_ENCODING_H
#define LF_ENCODING_H

#include <stddef.h>

typedef enum {
  LF__ENC_UTF8,        /* no conversion: gumbo reads UTF-8 and replaces invalid bytes itself */
  LF__ENC_ICONV,       /* converted by iconv from/to the name in iconv */
  LF__ENC_UTF16,       /* iconv, in units of two bytes */
  LF__ENC_WINDOWS,     /* iconv; a byte 0x80-0x9F iconv rejects is that C1 control (WHATWG) */
  LF__ENC_REPLACEMENT, /* ISO-2022-KR and friends: the whole page is one U+FFFD (WHATWG) */
  LF__ENC_USER,        /* x-user-defined: 0x80-0xFF are U+F780-U+F7FF */
} lf__enc_kind_t;

/* Which of the WHATWG Encoding standard's decoders decodes a page (legacy.c): the standard's
 * algorithm, over tables glibc's iconv fills in once (corrected where glibc's differ). */
typedef enum {
  LF__DEC_ICONV,     /* by kind, with iconv (UTF-16) or none (UTF-8, replacement, user) */
  LF__DEC_SINGLE,    /* single-byte: 128 code points */
  LF__DEC_GB18030,   /* GBK and gb18030 */
  LF__DEC_BIG5,      /* Big5 */
  LF__DEC_EUC_JP,    /* EUC-JP */
  LF__DEC_ISO2022JP, /* ISO-2022-JP */
  LF__DEC_SJIS,      /* Shift_JIS */
  LF__DEC_EUC_KR,    /* EUC-KR */
} lf__dec_t;

typedef struct {
  const char *name;      /* the WHATWG name, e.g. "windows-1252" */
  const char *iconv;     /* glibc's name for decoding (and the decoders' tables) */
  const char *iconv_out; /* glibc's name for encoding a URL query (NULL: same as iconv) */
  lf__enc_kind_t kind;
  lf__dec_t decoder;
} lf__encoding_t;

/* The encoding a label names (WHATWG Encoding standard: surrounding ASCII whitespace ignored,
 * ASCII case-insensitive), or NULL for an unknown label. */
const lf__encoding_t *lf__encoding_for_label(const char *label, size_t len);

/* The encoding of a page as the HTML standard sniffs it: a BOM (its length in *bom_len), else
 * the charset parameter of content_type (may be NULL), else a <meta> in the first 1024 bytes,
 * else UTF-8 if the page has non-ASCII bytes and all are valid UTF-8, else windows-1252.
 * Never NULL. */
const lf__encoding_t *lf__encoding_sniff(const char *bytes, size_t len, const char *content_type,
                                         size_t *bom_len);

/* lf__encoding_sniff, also telling whether the answer is tentative (from a <meta> in the
 * prescan or the fallback): then a <meta> the parser meets later may change it (the HTML
 * standard's "change the encoding"; see lf__encoding_for_meta). */
const lf__encoding_t *lf__encoding_sniff_page(const char *bytes, size_t len,
                                              const char *content_type, size_t *bom_len,
                                              int *tentative);

/* The encoding a <meta> element of the parsed page names, as the HTML standard's tree builder
 * reads it: its charset attribute, else charset=... in the content of an http-equiv
 * content-type; UTF-16 means UTF-8 and x-user-defined windows-1252. NULL: none (attributes
 * may be NULL when absent). */
const lf__encoding_t *lf__encoding_for_meta(const char *charset, const char *http_equiv,
                                            const char *content);

/* The encoding URL queries are written in for a page in enc: UTF-8 for UTF-16 and replacement
 * pages (WHATWG URL standard, "get an output encoding"), else enc. */
const lf__encoding_t *lf__encoding_for_urls(const lf__encoding_t *enc);

/* Decodes len bytes in enc to UTF-8 (a BOM already skipped by the caller) into *out (malloc'd,
 * NUL-terminated, *out_len bytes). Bytes that do not decode become U+FFFD, as in a browser.
 * Returns 0, LF_ENOMEM, or LF_EINVAL when iconv does not know the encoding. */
int lf__decode(const lf__encoding_t *enc, const char *in, size_t len, char **out, size_t *out_len);

/* Encodes the UTF-8 text in (len bytes) to enc for a URL query into *out (malloc'd,
 * NUL-terminated): characters enc cannot encode become "%26%23N%3B" ("&#N;" percent-encoded,
 * N in decimal), as the WHATWG URL standard says. Other bytes are left for the caller to
 * percent-encode. UTF-16 and replacement pages use UTF-8 (lf__encoding_for_urls). */
int lf__encode_query(const lf__encoding_t *enc, const char *in, size_t len, char **out,
                     size_t *out_len);

#endif
