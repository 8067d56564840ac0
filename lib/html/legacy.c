/* The WHATWG Encoding standard's decoders for legacy encodings (https://encoding.spec.whatwg.org/
 * #legacy-single-byte-encodings and the CJK sections), step for step: how many bytes a bad
 * sequence takes, when an ASCII byte after a lead byte is read again, gb18030's 0x80 (U+20AC)
 * and four-byte ranges, Shift_JIS's 0x80 (U+0080) and user-defined area, Big5's four pointers
 * that are two code points, ISO-2022-JP's states and its rule that two escape sequences in a
 * row give U+FFFD.
 *
 * The tables (the standard's "indexes") are glibc's: each pointer is written as the bytes that
 * name it and converted once with iconv (CP932 for jis0208, EUC-JP's 0x8F for jis0212, CP949,
 * BIG5-HKSCS, GB18030), on first use, under pthread_once. Where glibc's table differs from
 * the standard's index, the entry is corrected below (fixes[], with why);
 * tests/unit/test_encoding_index.py checks every byte and pair of every decoder against the
 * index files themselves, so a correction that is missing or wrong fails there.
 *
 * Why not iconv over the whole page, as before: iconv stops at the first sequence it rejects
 * and leaves it to the caller to guess how many bytes the browser would have taken; glibc also
 * decodes bytes the standard rejects (EUC-JP and Big5 pass 0x80-0x8D through as C1 controls)
 * and lacks its ISO-2022-JP rules. The standard's algorithms are short; only the data is large,
 * and that stays glibc's.
 */
#include "legacy.h"

#include <errno.h>
#include <iconv.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "loopfetch.h"

#define FFFD 0xfffdu

/* ---- tables from iconv ---- */

/* The code point iconv gives for the bytes b[0..n) alone, or 0 when it gives none or more than
 * one. */
static uint32_t iconv_one(iconv_t cd, const unsigned char *b, size_t n) {
  char *in = (char *)b, *o;
  unsigned char out[16];
  size_t left = n, room = sizeof out;
  o = (char *)out;
  iconv(cd, NULL, NULL, NULL, NULL);
  if (iconv(cd, &in, &left, &o, &room) == (size_t)-1 || left) return 0;
  if (iconv(cd, NULL, NULL, &o, &room) == (size_t)-1) return 0; /* flush what it held back */
  if (sizeof out - room != 4) return 0;
  return (uint32_t)out[0] | (uint32_t)out[1] << 8 | (uint32_t)out[2] << 16 | (uint32_t)out[3] << 24;
}

typedef struct {
  uint32_t pointer, cp;
} fix_t;

typedef struct {
  const char *iconv;
  size_t n;                                      /* pointers */
  size_t (*bytes)(size_t p, unsigned char b[4]); /* the bytes that name pointer p */
  const fix_t *fixes;
  size_t nfixes;
  pthread_once_t once;
  uint32_t *cp; /* n code points, 0 for none; NULL when it could not be built */
  int err;
} table_t;

static size_t bytes_jis0208(size_t p, unsigned char b[4]) { /* as Shift_JIS (CP932) */
  size_t lead = p / 188, trail = p % 188;
  b[0] = (unsigned char)(lead + (lead < 0x1f ? 0x81 : 0xc1));
  b[1] = (unsigned char)(trail + (trail < 0x3f ? 0x40 : 0x41));
  return 2;
}
static size_t bytes_jis0212(size_t p, unsigned char b[4]) { /* as EUC-JP's 0x8F sequences */
  b[0] = 0x8f;
  b[1] = (unsigned char)(p / 94 + 0xa1);
  b[2] = (unsigned char)(p % 94 + 0xa1);
  return 3;
}
static size_t bytes_euc_kr(size_t p, unsigned char b[4]) {
  b[0] = (unsigned char)(p / 190 + 0x81);
  b[1] = (unsigned char)(p % 190 + 0x41);
  return 2;
}
static size_t bytes_big5(size_t p, unsigned char b[4]) {
  size_t t = p % 157;
  b[0] = (unsigned char)(p / 157 + 0x81);
  b[1] = (unsigned char)(t + (t < 0x3f ? 0x40 : 0x62));
  return 2;
}
static size_t bytes_gb18030(size_t p, unsigned char b[4]) {
  size_t t = p % 190;
  b[0] = (unsigned char)(p / 190 + 0x81);
  b[1] = (unsigned char)(t + (t < 0x3f ? 0x40 : 0x41));
  return 2;
}

/* Where glibc 2.36's tables differ from the standard's indexes (found by
 * tests/unit/test_encoding_index.py). */
static const fix_t fix_gb18030[] = {
    /* glibc follows GB18030-2005's move of these from the private use area to Unicode
     * characters (and maps 0xA3A0 into it); the standard's index, as browsers, does not. */
    {6555, 0x3000},  {23767, 0xe816}, {23768, 0xe817}, {23769, 0xe818},
    {23794, 0xe831}, {23804, 0xe83b}, {23830, 0xe855},
};
/* glibc's BIG5-HKSCS leaves 131 of the standard's Big5 pointers undefined (HKSCS characters
 * it lacks or maps elsewhere) and maps 11 otherwise (0xA145 is U+2027 here, U+2022 there,
 * 0xA1C2 U+00AF, not U+203E, ...): the index's values, generated from it. */
static const fix_t fix_big5[] = {
    {2082, 0x7bb8},  {2088, 0x7c06},  {2103, 0x7cce},  {2114, 0x7dd2},  {2123, 0x7e1d},
    {2148, 0x8005},  {2151, 0x8028},  {2221, 0x83c1},  {2239, 0x84a8},  {2244, 0x840f},
    {2303, 0x89a6},  {2304, 0x89a9},  {2354, 0x8d77},  {2400, 0x90fd},  {2413, 0x92b9},
    {2477, 0x975c},  {2498, 0x97ff},  {2605, 0x9f16},  {2673, 0x8503},  {2746, 0x5159},
    {2747, 0x515b},  {2748, 0x515d},  {2749, 0x515e},  {2771, 0x936e},  {2780, 0x7479},
    {2990, 0x6d67},  {3087, 0x799b},  {3259, 0x9097},  {3301, 0x975d},  {3436, 0x701e},
    {3451, 0x5b28},  {4136, 0x7201},  {4138, 0x77d7},  {4141, 0x7e87},  {4182, 0x99d6},
    {4206, 0x91d4},  {4220, 0x60de},  {4230, 0x6fb6},  {4241, 0x8f36},  {4258, 0x4fbb},
    {4273, 0x71df},  {4279, 0x9104},  {4282, 0x9df0},  {4294, 0x83cf},  {4329, 0x5c10},
    {4330, 0x79e3},  {4349, 0x5a67},  {4419, 0x8f0b},  {4422, 0x7b51},  {4494, 0x62d0},
    {4624, 0x6062},  {4694, 0x75f9},  {4708, 0x6c4a},  {4742, 0x9b2e},  {4748, 0x9f17},
    {4815, 0x50ed},  {4828, 0x5f0c},  {4902, 0x880f},  {4922, 0x62ce},  {4982, 0x7468},
    {4992, 0x7162},  {4997, 0x7250},  {5029, 0x2027},  {5038, 0xfe51},  {5050, 0x2574},
    {5120, 0x00af},  {5121, 0xffe3},  {5123, 0x02cd},  {5153, 0xff5e},  {5168, 0x2295},
    {5169, 0x2299},  {5180, 0xff0f},  {5181, 0xff3c},  {5182, 0x2215},  {5183, 0xfe68},
    {5185, 0xffe5},  {5187, 0xffe0},  {5188, 0xffe1},  {5287, 0x5341},  {5289, 0x5345},
    {5432, 0x2400},  {5433, 0x2401},  {5434, 0x2402},  {5435, 0x2403},  {5436, 0x2404},
    {5437, 0x2405},  {5438, 0x2406},  {5439, 0x2407},  {5440, 0x2408},  {5441, 0x2409},
    {5442, 0x240a},  {5443, 0x240b},  {5444, 0x240c},  {5445, 0x240d},  {5446, 0x240e},
    {5447, 0x240f},  {5448, 0x2410},  {5449, 0x2411},  {5450, 0x2412},  {5451, 0x2413},
    {5452, 0x2414},  {5453, 0x2415},  {5454, 0x2416},  {5455, 0x2417},  {5456, 0x2418},
    {5457, 0x2419},  {5458, 0x241a},  {5459, 0x241b},  {5460, 0x241c},  {5461, 0x241d},
    {5462, 0x241e},  {5463, 0x241f},  {5464, 0x2421},  {5465, 0x20ac},  {10942, 0x5ef4},
    {10946, 0x65e0}, {10948, 0x7676}, {10950, 0x96b6}, {10957, 0x3003}, {10958, 0x4edd},
    {19028, 0x5029}, {19035, 0x507d}, {19088, 0x5305}, {19096, 0x5344}, {19112, 0x537f},
    {19162, 0x5605}, {19240, 0x5a77}, {19299, 0x5e75}, {19305, 0x5ed0}, {19326, 0x5f58},
    {19355, 0x60a4}, {19398, 0x6490}, {19439, 0x6674}, {19454, 0x675e}, {19553, 0x6c9c},
    {19554, 0x6e1d}, {19557, 0x6e2f}, {19611, 0x716e}, {19643, 0x732a}, {19672, 0x745c},
    {19697, 0x74e9}, {19748, 0x7809},
};

#define TABLE(name, conv, count, fixes_, nfixes_)                                                  \
  static table_t t_##name = {conv, count, bytes_##name, fixes_, nfixes_, PTHREAD_ONCE_INIT,        \
                             NULL, 0};                                                             \
  static void build_##name(void) {                                                                 \
    build(&t_##name);                                                                              \
  }

static void build(table_t *t) {
  iconv_t cd = iconv_open("UTF-32LE", t->iconv);
  if (cd == (iconv_t)-1) {
    t->err = errno == ENOMEM ? LF_ENOMEM : LF_EINVAL;
    return;
  }
  uint32_t *cp = malloc(t->n * sizeof(*cp));
  if (cp) {
    for (size_t p = 0; p < t->n; p++) {
      unsigned char b[4];
      cp[p] = iconv_one(cd, b, t->bytes(p, b));
    }
    for (size_t i = 0; i < t->nfixes; i++)
      cp[t->fixes[i].pointer] = t->fixes[i].cp;
  }
  iconv_close(cd);
  t->cp = cp;
  t->err = cp ? 0 : LF_ENOMEM;
}

TABLE(jis0208, "CP932", 11280, NULL, 0)
TABLE(jis0212, "EUC-JP", 8836, NULL, 0)
TABLE(euc_kr, "CP949", 23940, NULL, 0)
TABLE(big5, "BIG5-HKSCS", 19782, fix_big5, sizeof fix_big5 / sizeof *fix_big5)
TABLE(gb18030, "GB18030", 23940, fix_gb18030, sizeof fix_gb18030 / sizeof *fix_gb18030)

static const uint32_t *table(table_t *t, void (*init)(void), int *err) {
  if (pthread_once(&t->once, init)) {
    *err = LF_ENOMEM;
    return NULL;
  }
  *err = t->err;
  return t->cp;
}
#define TABLE_OF(name, err) table(&t_##name, build_##name, err)

static uint32_t at(const uint32_t *cp, size_t n, size_t p) {
  return p < n ? cp[p] : 0;
}

/* ---- output ---- */

typedef struct {
  const unsigned char *s;
  size_t n, i; /* the input, its length, the next byte */
  lf__buf_t *o;
  int err;
} dec_t;

/* A code point from a table or an algorithm; 0 (a table's "none") is an error: U+FFFD. */
static void emit(dec_t *d, uint32_t cp) {
  if (!d->err) d->err = lf__buf_push_utf8(d->o, cp ? cp : FFFD);
}

static void emit_ascii(dec_t *d, unsigned b) {
  char c = (char)b;
  if (!d->err) d->err = lf__buf_push(d->o, &c, 1);
}

/* ---- single-byte ---- */

/* glibc's tables against the standard's indexes, where they differ. */
static const struct {
  const char *enc;
  unsigned char byte;
  uint16_t cp;
} single_fixes[] = {
    /* glibc's KOI8-U is RFC 2319's (box drawing); the standard's is KOI8-RU's (Belarusian) */
    {"KOI8-U", 0xae, 0x045e},
    {"KOI8-U", 0xbe, 0x040e},
    /* Apple's later mapping of macintosh: INCREMENT, and the Apple logo in the private area */
    {"macintosh", 0xc6, 0x2206},
    {"macintosh", 0xf0, 0xf8ff},
    {"windows-1255", 0xca, 0x05ba},   /* HEBREW POINT HOLAM HASER FOR VAV, unassigned in glibc */
    {"x-mac-cyrillic", 0xff, 0x20ac}, /* the euro sign of Mac OS 8.5 on, where glibc has ¤ */
};

static int single_byte(const lf__encoding_t *enc, dec_t *d) {
  uint32_t cp[128];
  iconv_t cd = iconv_open("UTF-32LE", enc->iconv);
  if (cd == (iconv_t)-1) return errno == ENOMEM ? LF_ENOMEM : LF_EINVAL;
  for (unsigned b = 0x80; b < 0x100; b++) {
    unsigned char c = (unsigned char)b;
    cp[b - 0x80] = iconv_one(cd, &c, 1);
    /* windows-874 and windows-125x: the bytes glibc leaves undefined in 0x80-0x9F are the C1
     * control of the same number in the standard's indexes */
    if (!cp[b - 0x80] && enc->kind == LF__ENC_WINDOWS && b <= 0x9f) cp[b - 0x80] = b;
  }
  iconv_close(cd);
  for (size_t i = 0; i < sizeof single_fixes / sizeof *single_fixes; i++)
    if (!strcmp(single_fixes[i].enc, enc->name))
      cp[single_fixes[i].byte - 0x80] = single_fixes[i].cp;
  /* at most three bytes of UTF-8 a byte (every code point here is in the BMP) */
  int rc = d->n <= SIZE_MAX / 3 ? lf__buf_reserve(d->o, d->n * 3) : LF_ENOMEM;
  for (size_t i = 0; i < d->n && !rc; i++) {
    unsigned char b = d->s[i];
    if (b < 0x80) {
      d->o->data[d->o->len++] = (char)b;
      d->o->data[d->o->len] = '\0';
    } else {
      rc = lf__buf_push_utf8(d->o, cp[b - 0x80] ? cp[b - 0x80] : FFFD);
    }
  }
  return rc;
}

/* ---- gb18030 (and GBK) ---- */

/* The standard's index gb18030 ranges (pointer, code point of the range's first pointer): the
 * four-byte forms are arithmetic over these 207 ranges. Not glibc's converter: its GB18030 is
 * the 2005 edition, which refuses the four-byte forms of the characters that gained two-byte
 * codes (82 35 90 37 is U+9FB4 for the standard and browsers). */
static const fix_t gb_ranges_index[] = {
    {0, 0x0080},     {36, 0x00a5},      {38, 0x00a9},    {45, 0x00b2},    {50, 0x00b8},
    {81, 0x00d8},    {89, 0x00e2},      {95, 0x00eb},    {96, 0x00ee},    {100, 0x00f4},
    {103, 0x00f8},   {104, 0x00fb},     {105, 0x00fd},   {109, 0x0102},   {126, 0x0114},
    {133, 0x011c},   {148, 0x012c},     {172, 0x0145},   {175, 0x0149},   {179, 0x014e},
    {208, 0x016c},   {306, 0x01cf},     {307, 0x01d1},   {308, 0x01d3},   {309, 0x01d5},
    {310, 0x01d7},   {311, 0x01d9},     {312, 0x01db},   {313, 0x01dd},   {341, 0x01fa},
    {428, 0x0252},   {443, 0x0262},     {544, 0x02c8},   {545, 0x02cc},   {558, 0x02da},
    {741, 0x03a2},   {742, 0x03aa},     {749, 0x03c2},   {750, 0x03ca},   {805, 0x0402},
    {819, 0x0450},   {820, 0x0452},     {7922, 0x2011},  {7924, 0x2017},  {7925, 0x201a},
    {7927, 0x201e},  {7934, 0x2027},    {7943, 0x2031},  {7944, 0x2034},  {7945, 0x2036},
    {7950, 0x203c},  {8062, 0x20ad},    {8148, 0x2104},  {8149, 0x2106},  {8152, 0x210a},
    {8164, 0x2117},  {8174, 0x2122},    {8236, 0x216c},  {8240, 0x217a},  {8262, 0x2194},
    {8264, 0x219a},  {8374, 0x2209},    {8380, 0x2210},  {8381, 0x2212},  {8384, 0x2216},
    {8388, 0x221b},  {8390, 0x2221},    {8392, 0x2224},  {8393, 0x2226},  {8394, 0x222c},
    {8396, 0x222f},  {8401, 0x2238},    {8406, 0x223e},  {8416, 0x2249},  {8419, 0x224d},
    {8424, 0x2253},  {8437, 0x2262},    {8439, 0x2268},  {8445, 0x2270},  {8482, 0x2296},
    {8485, 0x229a},  {8496, 0x22a6},    {8521, 0x22c0},  {8603, 0x2313},  {8936, 0x246a},
    {8946, 0x249c},  {9046, 0x254c},    {9050, 0x2574},  {9063, 0x2590},  {9066, 0x2596},
    {9076, 0x25a2},  {9092, 0x25b4},    {9100, 0x25be},  {9108, 0x25c8},  {9111, 0x25cc},
    {9113, 0x25d0},  {9131, 0x25e6},    {9162, 0x2607},  {9164, 0x260a},  {9218, 0x2641},
    {9219, 0x2643},  {11329, 0x2e82},   {11331, 0x2e85}, {11334, 0x2e89}, {11336, 0x2e8d},
    {11346, 0x2e98}, {11361, 0x2ea8},   {11363, 0x2eab}, {11366, 0x2eaf}, {11370, 0x2eb4},
    {11372, 0x2eb8}, {11375, 0x2ebc},   {11389, 0x2ecb}, {11682, 0x2ffc}, {11686, 0x3004},
    {11687, 0x3018}, {11692, 0x301f},   {11694, 0x302a}, {11714, 0x303f}, {11716, 0x3094},
    {11723, 0x309f}, {11725, 0x30f7},   {11730, 0x30ff}, {11736, 0x312a}, {11982, 0x322a},
    {11989, 0x3232}, {12102, 0x32a4},   {12336, 0x3390}, {12348, 0x339f}, {12350, 0x33a2},
    {12384, 0x33c5}, {12393, 0x33cf},   {12395, 0x33d3}, {12397, 0x33d6}, {12510, 0x3448},
    {12553, 0x3474}, {12851, 0x359f},   {12962, 0x360f}, {12973, 0x361b}, {13738, 0x3919},
    {13823, 0x396f}, {13919, 0x39d1},   {13933, 0x39e0}, {14080, 0x3a74}, {14298, 0x3b4f},
    {14585, 0x3c6f}, {14698, 0x3ce1},   {15583, 0x4057}, {15847, 0x4160}, {16318, 0x4338},
    {16434, 0x43ad}, {16438, 0x43b2},   {16481, 0x43de}, {16729, 0x44d7}, {17102, 0x464d},
    {17122, 0x4662}, {17315, 0x4724},   {17320, 0x472a}, {17402, 0x477d}, {17418, 0x478e},
    {17859, 0x4948}, {17909, 0x497b},   {17911, 0x497e}, {17915, 0x4984}, {17916, 0x4987},
    {17936, 0x499c}, {17939, 0x49a0},   {17961, 0x49b8}, {18664, 0x4c78}, {18703, 0x4ca4},
    {18814, 0x4d1a}, {18962, 0x4daf},   {19043, 0x9fa6}, {33469, 0xe76c}, {33470, 0xe7c8},
    {33471, 0xe7e7}, {33484, 0xe815},   {33485, 0xe819}, {33490, 0xe81f}, {33497, 0xe827},
    {33501, 0xe82d}, {33505, 0xe833},   {33513, 0xe83c}, {33520, 0xe844}, {33536, 0xe856},
    {33550, 0xe865}, {37845, 0xf92d},   {37921, 0xf97a}, {37948, 0xf996}, {38029, 0xf9e8},
    {38038, 0xf9f2}, {38064, 0xfa10},   {38065, 0xfa12}, {38066, 0xfa15}, {38069, 0xfa19},
    {38075, 0xfa22}, {38076, 0xfa25},   {38078, 0xfa2a}, {39108, 0xfe32}, {39109, 0xfe45},
    {39113, 0xfe53}, {39114, 0xfe58},   {39115, 0xfe67}, {39116, 0xfe6c}, {39265, 0xff5f},
    {39394, 0xffe6}, {189000, 0x10000},
};

static uint32_t gb_ranges(uint32_t p) {
  if ((p > 39419 && p < 189000) || p > 1237575) return 0;
  if (p == 7457) return 0xe7c7;
  size_t lo = 0, hi = sizeof gb_ranges_index / sizeof *gb_ranges_index; /* last start <= p */
  while (hi - lo > 1) {
    size_t mid = (lo + hi) / 2;
    if (gb_ranges_index[mid].pointer <= p)
      lo = mid;
    else
      hi = mid;
  }
  return gb_ranges_index[lo].cp + (p - gb_ranges_index[lo].pointer);
}

static int gb18030(dec_t *d) {
  int err;
  const uint32_t *idx = TABLE_OF(gb18030, &err);
  if (!idx) return err;
  unsigned f = 0, s = 0, t = 0;
  while (!d->err) {
    if (d->i == d->n) {
      if (f) emit(d, 0);
      break;
    }
    unsigned b = d->s[d->i++];
    if (t) {
      if (b < 0x30 || b > 0x39) {
        d->i -= 3; /* prepend second, third and this byte */
        emit(d, 0);
      } else {
        emit(d, gb_ranges(((f - 0x81) * 10 + s - 0x30) * 1260 + (t - 0x81) * 10 + b - 0x30));
      }
      f = s = t = 0;
    } else if (s) {
      if (b >= 0x81 && b <= 0xfe) {
        t = b;
        continue;
      }
      d->i -= 2; /* prepend second and this byte */
      f = s = 0;
      emit(d, 0);
    } else if (f) {
      if (b >= 0x30 && b <= 0x39) {
        s = b;
        continue;
      }
      unsigned off = b < 0x7f ? 0x40 : 0x41;
      uint32_t cp = (b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfe)
                        ? at(idx, 23940, (f - 0x81) * 190 + (b - off))
                        : 0;
      f = 0;
      if (!cp && b < 0x80) d->i--;
      emit(d, cp);
    } else if (b < 0x80) {
      emit_ascii(d, b);
    } else if (b == 0x80) {
      emit(d, 0x20ac);
    } else if (b == 0xff) {
      emit(d, 0);
    } else {
      f = b;
    }
  }
  return d->err;
}

/* ---- Big5, EUC-KR, Shift_JIS: a lead byte and a trail byte ---- */

/* A double-byte decoder's pair: emits what lead and trail b decode to and returns 1, or 0
 * when they decode to nothing (without emitting). */
typedef int (*pair_fn)(dec_t *d, const uint32_t *idx, unsigned lead, unsigned b);

/* The lead-byte machine that Big5 and EUC-KR share (WHATWG Encoding): ASCII as it is, a lead
 * 0x81-0xFE waits for its trail, any other byte and a lead cut off by the end are U+FFFD, and a
 * pair that decodes to nothing is U+FFFD with an ASCII trail read again as itself. */
static int double_byte(dec_t *d, const uint32_t *idx, pair_fn pair) {
  unsigned lead = 0;
  while (!d->err) {
    if (d->i == d->n) {
      if (lead) emit(d, 0);
      break;
    }
    unsigned b = d->s[d->i++];
    if (lead) {
      unsigned l = lead;
      lead = 0;
      if (pair(d, idx, l, b)) continue;
      if (b < 0x80) d->i--;
      emit(d, 0);
    } else if (b < 0x80) {
      emit_ascii(d, b);
    } else if (b >= 0x81 && b <= 0xfe) {
      lead = b;
    } else {
      emit(d, 0);
    }
  }
  return d->err;
}

static int big5_pair(dec_t *d, const uint32_t *idx, unsigned lead, unsigned b) {
  if (!((b >= 0x40 && b <= 0x7e) || (b >= 0xa1 && b <= 0xfe))) return 0;
  uint32_t p = (lead - 0x81) * 157 + (b - (b < 0x7f ? 0x40 : 0x62));
  if (p == 1133 || p == 1135 || p == 1164 || p == 1166) {
    emit(d, p < 1164 ? 0xca : 0xea); /* two code points: Ê or ê and a combining mark */
    emit(d, p == 1133 || p == 1164 ? 0x304 : 0x30c);
    return 1;
  }
  uint32_t cp = at(idx, 19782, p);
  if (cp) emit(d, cp);
  return cp != 0;
}

static int big5(dec_t *d) {
  int err;
  const uint32_t *idx = TABLE_OF(big5, &err);
  return idx ? double_byte(d, idx, big5_pair) : err;
}

static int euc_kr_pair(dec_t *d, const uint32_t *idx, unsigned lead, unsigned b) {
  uint32_t cp = b >= 0x41 && b <= 0xfe ? at(idx, 23940, (lead - 0x81) * 190 + (b - 0x41)) : 0;
  if (cp) emit(d, cp);
  return cp != 0;
}

static int euc_kr(dec_t *d) {
  int err;
  const uint32_t *idx = TABLE_OF(euc_kr, &err);
  return idx ? double_byte(d, idx, euc_kr_pair) : err;
}

static int shift_jis(dec_t *d) {
  int err;
  const uint32_t *idx = TABLE_OF(jis0208, &err);
  if (!idx) return err;
  unsigned lead = 0;
  while (!d->err) {
    if (d->i == d->n) {
      if (lead) emit(d, 0);
      break;
    }
    unsigned b = d->s[d->i++];
    if (lead) {
      unsigned off = b < 0x7f ? 0x40 : 0x41, lead_off = lead < 0xa0 ? 0x81 : 0xc1;
      int ok = (b >= 0x40 && b <= 0x7e) || (b >= 0x80 && b <= 0xfc);
      uint32_t p = (lead - lead_off) * 188 + b - off, cp = 0;
      lead = 0;
      if (ok && p >= 8836 && p <= 10715)
        cp = 0xe000 - 8836 + p; /* the user-defined area */
      else if (ok)
        cp = at(idx, 11280, p);
      if (!cp && b < 0x80) d->i--;
      emit(d, cp);
    } else if (b < 0x80) {
      emit_ascii(d, b);
    } else if (b == 0x80) {
      emit(d, 0x80); /* U+0080 */
    } else if (b >= 0xa1 && b <= 0xdf) {
      emit(d, 0xff61 - 0xa1 + b);
    } else if ((b >= 0x81 && b <= 0x9f) || (b >= 0xe0 && b <= 0xfc)) {
      lead = b;
    } else {
      emit(d, 0);
    }
  }
  return d->err;
}

/* ---- EUC-JP ---- */

static int euc_jp(dec_t *d) {
  int err;
  const uint32_t *j208 = TABLE_OF(jis0208, &err), *j212 = j208 ? TABLE_OF(jis0212, &err) : NULL;
  if (!j212) return err;
  unsigned lead = 0;
  int is212 = 0;
  while (!d->err) {
    if (d->i == d->n) {
      if (lead) emit(d, 0);
      break;
    }
    unsigned b = d->s[d->i++];
    if (lead == 0x8e && b >= 0xa1 && b <= 0xdf) {
      lead = 0;
      emit(d, 0xff61 - 0xa1 + b);
    } else if (lead == 0x8f && b >= 0xa1 && b <= 0xfe) {
      is212 = 1;
      lead = b;
    } else if (lead) {
      uint32_t cp = 0;
      if (lead >= 0xa1 && lead <= 0xfe && b >= 0xa1 && b <= 0xfe)
        cp = at(is212 ? j212 : j208, is212 ? 8836 : 11280, (lead - 0xa1) * 94 + b - 0xa1);
      lead = 0;
      is212 = 0;
      if (!cp && b < 0x80) d->i--;
      emit(d, cp);
    } else if (b < 0x80) {
      emit_ascii(d, b);
    } else if (b == 0x8e || b == 0x8f || (b >= 0xa1 && b <= 0xfe)) {
      lead = b;
    } else {
      emit(d, 0);
    }
  }
  return d->err;
}

/* ---- ISO-2022-JP ---- */

enum { J_ASCII, J_ROMAN, J_KATAKANA, J_LEAD, J_TRAIL, J_ESC_START, J_ESC };

/* The escape state: ESC ( B, ESC ( J, ESC ( I, ESC $ @, ESC $ B; else the bytes go back. */
static int escape_to(unsigned lead, unsigned b) {
  if (lead == 0x28) return b == 0x42 ? J_ASCII : b == 0x4a ? J_ROMAN : b == 0x49 ? J_KATAKANA : -1;
  return lead == 0x24 && (b == 0x40 || b == 0x42) ? J_LEAD : -1;
}

static int iso2022jp(dec_t *d) {
  int err;
  const uint32_t *idx = TABLE_OF(jis0208, &err);
  if (!idx) return err;
  int state = J_ASCII, out_state = J_ASCII, output = 0;
  unsigned lead = 0;
  while (!d->err) {
    int eof = d->i == d->n;
    unsigned b = eof ? 0 : d->s[d->i++];
    switch (state) {
    case J_ASCII:
    case J_ROMAN:
    case J_KATAKANA:
    case J_LEAD:
      if (eof) return d->err;
      if (b == 0x1b) {
        state = J_ESC_START;
        break;
      }
      output = 0;
      if (state == J_KATAKANA)
        emit(d, b >= 0x21 && b <= 0x5f ? 0xff61 - 0x21 + b : 0);
      else if (state == J_LEAD && b >= 0x21 && b <= 0x7e) {
        lead = b;
        state = J_TRAIL;
      } else if (state == J_LEAD || b >= 0x80 || b == 0x0e || b == 0x0f)
        emit(d, 0);
      else if (state == J_ROMAN && (b == 0x5c || b == 0x7e))
        emit(d, b == 0x5c ? 0xa5 : 0x203e);
      else
        emit_ascii(d, b);
      break;
    case J_TRAIL:
      state = J_LEAD;
      if (!eof && b == 0x1b)
        state = J_ESC_START;
      else if (!eof && b >= 0x21 && b <= 0x7e) {
        emit(d, at(idx, 11280, (lead - 0x21) * 94 + b - 0x21));
        break;
      }
      emit(d, 0);
      break;
    case J_ESC_START:
      if (!eof && (b == 0x24 || b == 0x28)) {
        lead = b;
        state = J_ESC;
        break;
      }
      if (!eof) d->i--;
      output = 0;
      state = out_state;
      emit(d, 0);
      break;
    case J_ESC: {
      int to = eof ? -1 : escape_to(lead, b);
      if (to >= 0) {
        state = out_state = to;
        if (output) emit(d, 0); /* two escape sequences in a row */
        output = 1;
        break;
      }
      d->i -= eof ? 1 : 2; /* prepend lead (and this byte) */
      output = 0;
      state = out_state;
      emit(d, 0);
      break;
    }
    }
  }
  return d->err;
}

int lf__legacy_decode(const lf__encoding_t *enc, const unsigned char *in, size_t len,
                      lf__buf_t *o) {
  dec_t d = {in, len, 0, o, 0};
  switch (enc->decoder) {
  case LF__DEC_SINGLE:
    return single_byte(enc, &d);
  case LF__DEC_GB18030:
    return gb18030(&d);
  case LF__DEC_BIG5:
    return big5(&d);
  case LF__DEC_EUC_JP:
    return euc_jp(&d);
  case LF__DEC_ISO2022JP:
    return iso2022jp(&d);
  case LF__DEC_SJIS:
    return shift_jis(&d);
  case LF__DEC_EUC_KR:
    return euc_kr(&d);
  case LF__DEC_ICONV:
    break;
  }
  return LF_EINVAL;
}
