/* A URL's identity in the manifest when the URL holds a password.
 *
 * The manifest never holds a URL's "user:password@" (it shows "***@"), so two users' URLs
 * (http://u1:p@h/x, http://u2:q@h/x) would look alike, and `status -i LIST` could never match
 * the list's URL to its record. Such a record carries "url_id" instead: a keyed hash of the
 * whole URL, HMAC-SHA256 (OpenSSL's libcrypto) with a secret kept beside the manifests, the
 * folder's "loopfetch-key" (32 random bytes, mode 0600, created on the first such URL). Without
 * the key, the hash tells nothing about the password, even one short enough to guess; with it,
 * the program tells users apart and finds their records. */
#ifndef LF_URLKEY_H
#define LF_URLKEY_H

#include <curl/curl.h>
#include <stddef.h>
#include <stdint.h>

#define LF_URLKEY_FILE "loopfetch-key"
#define LF_URLKEY_LEN 32
#define LF_URL_ID_HEX 16 /* a url_id: the first 8 bytes of the HMAC, as hex */

typedef struct {
  unsigned char key[LF_URLKEY_LEN];
  int state; /* 0: not looked for yet; 1: loaded; -1: none in the folder (or unusable) */
} lf__urlkey_t;

/* Loads the folder's key (dirfd), creating it if create and there is none: the first of
 * several runs or workers to create it wins (linked in place whole, never half written), the
 * others read it. A symlink or anything but a regular file of the right size is never used.
 * 0 (k->state 1), or -errno with k->state -1. Once loaded or failed, does nothing. */
int lf__urlkey_load(lf__urlkey_t *k, int dirfd, int create);

/* url's id with the key (k->state 1) into out (LF_URL_ID_HEX + 1 bytes, hex), and as a number
 * (the same 8 bytes, big-endian). */
uint64_t lf__url_id(const lf__urlkey_t *k, const char *url, char *out);

/* A 64-bit hash of what u (parsed from text) names, the same for the forms of one URL: the
 * scheme's and host's case (ASCII), a default port and the fragment do not count. Used to drop
 * an input's repeated URLs and by `status` to match its list to the records. u is changed (no
 * fragment, host in lower case). */
uint64_t lf__url_identity(CURLU *u, const char *text);

/* A url_id read from a record: 1 with *id, 0 if not LF_URL_ID_HEX hex digits. */
int lf__url_id_parse(const char *hex, uint64_t *id);

#endif
