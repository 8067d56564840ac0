/* Conversion between a page's encoding and UTF-8 with glibc's iconv.
 *
 * iconv stops at a byte sequence it cannot convert; browsers (WHATWG Encoding standard) go on.
 * The wrapper does what the standard's decoders do in those places:
 *  - a byte that does not decode becomes U+FFFD and decoding resumes at the next byte (the
 *    next 2-byte unit in UTF-16), which is also what the multi-byte decoders do when a lead
 *    byte is followed by an ASCII byte;
 *  - windows-874 and windows-125x: glibc leaves the unassigned bytes among 0x80-0x9F undefined
 *    (CP1252 rejects 0x81, 0x8D, 0x8F, 0x90, 0x9D), while the standard's indexes map each of
 *    them to the C1 control of the same number (0x81 is U+0081); both ways;
 *  - a truncated sequence at the end becomes one U+FFFD.
 * Encoding (for URL queries) writes a character the encoding lacks as "%26%23N%3B", which is
 * "&#N;" percent-encoded: what the URL standard's "percent-encode after encoding" appends.
 */
#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "encoding.h"
#include "legacy.h"
#include "loopfetch.h"

/* Runs iconv over in, growing o; calls on_error at each sequence iconv rejects (EILSEQ) or
 * leaves unfinished at the end (EINVAL), which consumes input and writes a replacement. */
typedef int (*on_error_t)(const lf__encoding_t *enc, const char **in, size_t *left, lf__buf_t *o,
                          int truncated);

static int run(iconv_t cd, const lf__encoding_t *enc, const char *in, size_t len, lf__buf_t *o,
               on_error_t on_error) {
  int rc = lf__buf_reserve(o, len + len / 2 + 16);
  size_t left = len;
  while (!rc) {
    char *dst = o->data + o->len;
    size_t room = o->cap - o->len - 1, before = room;
    size_t r = iconv(cd, left ? (char **)&in : NULL, &left, &dst, &room);
    o->len += before - room;
    o->data[o->len] = '\0';
    if (r != (size_t)-1 && !left) {
      if (in) { /* flush: an ISO-2022-JP encoder returns to ASCII */
        in = NULL;
        continue;
      }
      return 0;
    }
    if (r != (size_t)-1) continue;
    if (errno == E2BIG)
      rc = lf__buf_reserve(o, o->cap);
    else if (errno == EILSEQ || errno == EINVAL)
      rc = on_error(enc, &in, &left, o, errno == EINVAL);
    else
      rc = LF_EINVAL;
  }
  return rc;
}

static int decode_error(const lf__encoding_t *enc, const char **in, size_t *left, lf__buf_t *o,
                        int truncated) {
  unsigned char c = (unsigned char)**in;
  size_t skip = enc->kind == LF__ENC_UTF16 && *left >= 2 ? 2 : 1;
  if (truncated) skip = *left;
  *in += skip;
  *left -= skip;
  if (enc->kind == LF__ENC_WINDOWS && c >= 0x80 && c <= 0x9f) return lf__buf_push_utf8(o, c);
  return lf__buf_push(o, "\xef\xbf\xbd", 3);
}

/* Length of the UTF-8 sequence at s (at least 1, at most left). */
static size_t utf8_len(const unsigned char *s, size_t left, unsigned long *cp) {
  size_t n = s[0] < 0xc0 ? 1 : s[0] < 0xe0 ? 2 : s[0] < 0xf0 ? 3 : 4;
  if (n > left) n = left;
  static const unsigned char mask[] = {0, 0x7f, 0x1f, 0x0f, 0x07};
  *cp = s[0] & mask[n];
  for (size_t i = 1; i < n; i++)
    *cp = (*cp << 6) | (s[i] & 0x3f);
  return n;
}

static int encode_error(const lf__encoding_t *enc, const char **in, size_t *left, lf__buf_t *o,
                        int truncated) {
  unsigned long cp;
  size_t n = utf8_len((const unsigned char *)*in, *left, &cp);
  (void)truncated;
  *in += n;
  *left -= n;
  if (enc->kind == LF__ENC_WINDOWS && cp >= 0x80 && cp <= 0x9f) {
    char b = (char)cp;
    return lf__buf_push(o, &b, 1);
  }
  char ref[32];
  int len = snprintf(ref, sizeof(ref), "%%26%%23%lu%%3B", cp);
  return lf__buf_push(o, ref, (size_t)len);
}

static int convert(const char *to, const char *from, const lf__encoding_t *enc, const char *in,
                   size_t len, lf__buf_t *o, on_error_t on_error) {
  iconv_t cd = iconv_open(to, from);
  if (cd == (iconv_t)-1) return errno == ENOMEM ? LF_ENOMEM : LF_EINVAL;
  int rc = run(cd, enc, in, len, o, on_error);
  iconv_close(cd);
  return rc;
}

/* x-user-defined is arithmetic, not a table: 0x80-0xFF are U+F780-U+F7FF. */
static int decode_user_defined(const char *in, size_t len, lf__buf_t *o) {
  int rc = lf__buf_reserve(o, len * 3);
  for (size_t i = 0; i < len && !rc; i++) {
    unsigned char c = (unsigned char)in[i];
    rc = lf__buf_push_utf8(o, c < 0x80 ? c : 0xf780u + (c - 0x80u));
  }
  return rc;
}

int lf__decode(const lf__encoding_t *enc, const char *in, size_t len, char **out, size_t *out_len) {
  lf__buf_t o = {0};
  int rc = lf__buf_reserve(&o, 1);
  if (rc) return rc;
  o.data[0] = '\0';
  if (enc->kind == LF__ENC_REPLACEMENT)
    rc = len ? lf__buf_push(&o, "\xef\xbf\xbd", 3) : 0;
  else if (enc->kind == LF__ENC_USER)
    rc = decode_user_defined(in, len, &o);
  else if (enc->kind == LF__ENC_UTF8)
    rc = lf__buf_push(&o, in, len);
  else if (enc->decoder != LF__DEC_ICONV)
    rc = lf__legacy_decode(enc, (const unsigned char *)in, len, &o);
  else
    rc = convert("UTF-8", enc->iconv, enc, in, len, &o, decode_error);
  if (rc) {
    free(o.data);
    return rc;
  }
  *out = o.data;
  *out_len = o.len;
  return 0;
}

static int encode_user_defined(const char *in, size_t len, lf__buf_t *o) {
  int rc = 0;
  for (size_t i = 0; i < len && !rc;) {
    unsigned long cp;
    size_t n = utf8_len((const unsigned char *)in + i, len - i, &cp);
    char b = (char)(cp < 0x80 ? cp : cp - 0xf780u + 0x80u);
    if (cp < 0x80 || (cp >= 0xf780 && cp <= 0xf7ff)) {
      rc = lf__buf_push(o, &b, 1);
    } else {
      char ref[32];
      int rl = snprintf(ref, sizeof(ref), "%%26%%23%lu%%3B", cp);
      rc = lf__buf_push(o, ref, (size_t)rl);
    }
    i += n;
  }
  return rc;
}

int lf__encode_query(const lf__encoding_t *enc, const char *in, size_t len, char **out,
                     size_t *out_len) {
  lf__buf_t o = {0};
  int rc = lf__buf_reserve(&o, len + 1);
  if (rc) return rc;
  o.data[0] = '\0';
  enc = lf__encoding_for_urls(enc);
  if (enc->kind == LF__ENC_UTF8)
    rc = lf__buf_push(&o, in, len);
  else if (enc->kind == LF__ENC_USER)
    rc = encode_user_defined(in, len, &o);
  else
    rc = convert(enc->iconv_out ? enc->iconv_out : enc->iconv, "UTF-8", enc, in, len, &o,
                 encode_error);
  if (rc) {
    free(o.data);
    return rc;
  }
  *out = o.data;
  *out_len = o.len;
  return 0;
}
