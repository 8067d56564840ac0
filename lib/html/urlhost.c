/* The WHATWG URL standard's host parser for special URLs (https://url.spec.whatwg.org/#host-
 * parsing), as browsers run it on every http(s) link:
 *  - "[...]" is an IPv6 address, written compressed (the first longest run of zero pieces as
 *    "::", lowercase hex, an embedded IPv4 part in hex: [::127.0.0.1] is [::7f00:1]);
 *  - anything else is percent-decoded, must be UTF-8, and goes through "domain to ASCII": UTS #46
 *    with CheckHyphens false, CheckBidi and CheckJoiners true, UseSTD3ASCIIRules false,
 *    non-transitional, no DNS length check. libidn2 does the UTS #46 part (lookup with TR46
 *    non-transitional mapping); an ASCII name with no "xn--" label is only lowercased, as the
 *    standard allows;
 *  - a forbidden domain code point (controls, space, # % / : < > ? @ [ \ ] ^ | DEL) fails;
 *  - a name whose last label is a number (decimal, 0x hex, 0 octal) is an IPv4 address:
 *    fewer than four parts fill from the right (http://999999999. is 59.154.201.255), and any
 *    part out of range fails (http://256.256.256.256).
 *
 * Where libidn2 differs from UTS #46 as the standard sets it, we adapt around it:
 *  - libidn2 always applies IDNA2008's hyphen rules (no "--" at positions 3-4, no leading or
 *    trailing '-'), which CheckHyphens=false turns off. Punycode copies the ASCII characters
 *    of a label in order and counts them, whatever their value, so the same name with each '-'
 *    written as '_' (which UseSTD3ASCIIRules=false allows and no rule treats differently)
 *    encodes to the same output with '_' for '-': on a hyphen error we ask again that way and
 *    put the hyphens back (only when the name has no '_' of its own).
 */
#include "urlhost.h"

#include <idn2.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ascii.h"
#include "loopfetch.h"
#include "utf8.h"

static int hexval(unsigned char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lf__ascii_lower(c);
  return c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

static int fail(const char **why, const char *msg) {
  *why = msg;
  return LF__HOST_FAIL;
}

/* ---- IPv6 ---- */

/* The standard's IPv6 parser over s[0..n). 0 or LF__HOST_FAIL. */
static int ipv6_parse(const char *s, size_t n, uint16_t a[8]) {
  size_t p = 0;
  int piece = 0, compress = -1;
#define C (p < n ? (unsigned char)s[p] : 0)
  memset(a, 0, 8 * sizeof(*a));
  if (C == ':') {
    if (p + 1 >= n || s[p + 1] != ':') return LF__HOST_FAIL;
    p += 2;
    compress = ++piece;
  }
  while (p < n) {
    if (piece == 8) return LF__HOST_FAIL;
    if (C == ':') {
      if (compress >= 0) return LF__HOST_FAIL;
      p++;
      compress = ++piece;
      continue;
    }
    unsigned value = 0, len = 0;
    while (len < 4 && p < n && hexval(C) >= 0) {
      value = value * 16 + (unsigned)hexval(C);
      p++;
      len++;
    }
    if (C == '.' && p < n) {
      if (len == 0 || piece > 6) return LF__HOST_FAIL;
      p -= len;
      int seen = 0;
      while (p < n) {
        int v4 = -1;
        if (seen > 0) {
          if (C != '.' || seen >= 4) return LF__HOST_FAIL;
          p++;
        }
        if (!(p < n && C >= '0' && C <= '9')) return LF__HOST_FAIL;
        while (p < n && C >= '0' && C <= '9') {
          int d = C - '0';
          if (v4 < 0)
            v4 = d;
          else if (v4 == 0)
            return LF__HOST_FAIL;
          else
            v4 = v4 * 10 + d;
          if (v4 > 255) return LF__HOST_FAIL;
          p++;
        }
        a[piece] = (uint16_t)(a[piece] * 0x100 + v4);
        seen++;
        if (seen == 2 || seen == 4) piece++;
      }
      if (seen != 4) return LF__HOST_FAIL;
      break;
    }
    if (p < n && C == ':') {
      p++;
      if (p >= n) return LF__HOST_FAIL;
    } else if (p < n) {
      return LF__HOST_FAIL;
    }
    a[piece++] = (uint16_t)value;
  }
#undef C
  if (compress >= 0) {
    int swaps = piece - compress;
    piece = 7;
    while (piece != 0 && swaps > 0) {
      uint16_t t = a[piece];
      a[piece] = a[compress + swaps - 1];
      a[compress + swaps - 1] = t;
      piece--;
      swaps--;
    }
  } else if (piece != 8) {
    return LF__HOST_FAIL;
  }
  return 0;
}

/* "[...]" with the first longest run (at least two) of zero pieces written "::". */
static char *ipv6_string(const uint16_t a[8]) {
  int best = -1, best_len = 1;
  for (int i = 0; i < 8;) {
    int j = i;
    while (j < 8 && a[j] == 0)
      j++;
    if (j - i > best_len) {
      best = i;
      best_len = j - i;
    }
    i = j > i ? j : i + 1;
  }
  char *out = malloc(2 + 8 * 5 + 2), *o = out;
  if (!out) return NULL;
  *o++ = '[';
  for (int i = 0; i < 8; i++) {
    if (i == best) {
      o += sprintf(o, i == 0 ? "::" : ":");
      i += best_len - 1;
      continue;
    }
    o += sprintf(o, i == 7 ? "%x" : "%x:", a[i]);
  }
  strcpy(o, "]");
  return out;
}

/* ---- IPv4 ---- */

/* The standard's IPv4 number parser: decimal, "0x" hex or "0" octal; values beyond 2^32 stick
 * at 2^32 + 1 (out of range whatever the part). 0, or -1 for not a number. */
static int ipv4_number(const char *s, size_t n, uint64_t *v) {
  unsigned radix = 10;
  if (n == 0) return -1;
  if (n >= 2 && s[0] == '0' && (s[1] | 0x20) == 'x') {
    s += 2;
    n -= 2;
    radix = 16;
  } else if (n >= 2 && s[0] == '0') {
    s++;
    n--;
    radix = 8;
  }
  *v = 0;
  for (size_t i = 0; i < n; i++) {
    int d = hexval((unsigned char)s[i]);
    if (d < 0 || (unsigned)d >= radix) return -1;
    *v = *v * radix + (unsigned)d;
    if (*v > 0x100000000ull) *v = 0x100000001ull;
  }
  return 0;
}

/* The last label of d, ignoring one trailing empty label. */
static void last_label(const char *d, size_t n, const char **l, size_t *ln) {
  if (n && d[n - 1] == '.') n--;
  size_t i = n;
  while (i && d[i - 1] != '.')
    i--;
  *l = d + i;
  *ln = n - i;
}

/* "Ends in a number": the last label is all digits or parses as an IPv4 number. */
static int ends_in_number(const char *d, size_t n) {
  const char *l;
  size_t ln;
  uint64_t v;
  if (n == 1 && d[0] == '.') return 0;
  last_label(d, n, &l, &ln);
  if (ln == 0) return 0;
  if (strspn(l, "0123456789") >= ln) return 1;
  return ipv4_number(l, ln, &v) == 0;
}

static int ipv4_parse(const char *d, size_t n, char **out, const char **why) {
  uint64_t nums[4];
  size_t count = 0;
  if (n && d[n - 1] == '.' && n > 1) n--; /* one trailing dot is allowed */
  for (size_t i = 0; i <= n;) {
    size_t j = i;
    while (j < n && d[j] != '.')
      j++;
    if (count == 4) return fail(why, "IPv4 address with more than four parts");
    if (ipv4_number(d + i, j - i, &nums[count++]))
      return fail(why, "IPv4 address with a part that is not a number");
    i = j + 1;
  }
  for (size_t i = 0; i + 1 < count; i++)
    if (nums[i] > 255) return fail(why, "IPv4 address part out of range");
  if (nums[count - 1] >= (1ull << (8 * (5 - count)))) return fail(why, "IPv4 address out of range");
  uint64_t v = nums[count - 1];
  for (size_t i = 0; i + 1 < count; i++)
    v += nums[i] << (8 * (3 - i));
  *out = malloc(16);
  if (!*out) return LF_ENOMEM;
  snprintf(*out, 16, "%u.%u.%u.%u", (unsigned)(v >> 24), (unsigned)(v >> 16 & 255),
           (unsigned)(v >> 8 & 255), (unsigned)(v & 255));
  return 0;
}

/* ---- domains ---- */

static int forbidden_domain(unsigned char c) {
  return c <= 0x20 || c == 0x7f || (c && strchr("#%/:<>?@[\\]^|", c));
}

/* Percent-decodes s[0..n) into a new buffer (*len bytes, NUL-terminated). */
static char *percent_decode(const char *s, size_t n, size_t *len) {
  char *o = malloc(n + 1);
  size_t k = 0;
  if (!o) return NULL;
  for (size_t i = 0; i < n; i++) {
    if (s[i] == '%' && i + 2 < n && hexval((unsigned char)s[i + 1]) >= 0 &&
        hexval((unsigned char)s[i + 2]) >= 0) {
      o[k++] = (char)(hexval((unsigned char)s[i + 1]) * 16 + hexval((unsigned char)s[i + 2]));
      i += 2;
    } else {
      o[k++] = s[i];
    }
  }
  o[k] = '\0';
  *len = k;
  return o;
}

/* Whether some label of the ASCII name d starts with "xn--" (any case). */
static int has_xn_label(const char *d) {
  for (const char *l = d; l; l = strchr(l, '.')) {
    if (*l == '.') l++;
    if (lf__ascii_caseeq_n(l, "xn--", 4)) return 1;
  }
  return 0;
}

/* UTS #46 ToASCII by libidn2 (see the top of the file for the hyphen rules). */
static int idna(char *d, char **out, const char **why) {
  uint8_t *r = NULL;
  int rc = idn2_lookup_u8((const uint8_t *)d, &r, IDN2_NONTRANSITIONAL);
  if ((rc == IDN2_2HYPHEN || rc == IDN2_HYPHEN_STARTEND) && !strchr(d, '_')) {
    for (char *p = d; *p; p++)
      if (*p == '-') *p = '_';
    rc = idn2_lookup_u8((const uint8_t *)d, &r, IDN2_NONTRANSITIONAL);
    for (uint8_t *p = r; rc == IDN2_OK && *p; p++)
      if (*p == '_') *p = '-';
  }
  if (rc == IDN2_MALLOC) return LF_ENOMEM;
  if (rc != IDN2_OK) return fail(why, idn2_strerror(rc));
  *out = strdup((char *)r);
  idn2_free(r);
  return *out ? 0 : LF_ENOMEM;
}

static int domain_to_ascii(char *d, size_t n, char **out, const char **why) {
  int ascii = 1;
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)d[i];
    if (forbidden_domain(c)) return fail(why, "forbidden character in the host");
    ascii &= c < 0x80;
    d[i] = (char)lf__ascii_lower(c);
  }
  if (!ascii) {
    for (size_t i = 0, len; i < n; i += len)
      if (!lf__utf8_decode((const unsigned char *)d + i, n - i, &len))
        return fail(why, "host is not UTF-8 after percent-decoding");
  }
  int rc = ascii && !has_xn_label(d) ? ((*out = strdup(d)) ? 0 : LF_ENOMEM) : idna(d, out, why);
  if (rc) return rc;
  for (const char *p = *out; *p; p++)
    if (forbidden_domain((unsigned char)*p)) rc = fail(why, "forbidden character in the host");
  if (!rc && !**out) rc = fail(why, "empty host");
  if (rc) {
    free(*out);
    *out = NULL;
  }
  return rc;
}

int lf__host_parse(const char *in, size_t n, char **out, const char **why) {
  *out = NULL;
  if (n && in[0] == '[') {
    uint16_t a[8];
    if (in[n - 1] != ']' || n < 2) return fail(why, "unclosed IPv6 address");
    if (ipv6_parse(in + 1, n - 2, a)) return fail(why, "invalid IPv6 address");
    return (*out = ipv6_string(a)) ? 0 : LF_ENOMEM;
  }
  size_t dn;
  char *d = percent_decode(in, n, &dn), *ascii = NULL;
  if (!d) return LF_ENOMEM;
  int rc = domain_to_ascii(d, dn, &ascii, why);
  free(d);
  if (rc) return rc;
  if (!ends_in_number(ascii, strlen(ascii))) {
    *out = ascii;
    return 0;
  }
  rc = ipv4_parse(ascii, strlen(ascii), out, why);
  free(ascii);
  return rc;
}
