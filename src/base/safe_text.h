/* What the program shows of text that came from outside (input lines, URLs, server errors):
 * credentials in URLs hidden, control characters escaped, so that a line on the terminal or
 * in the manifest can neither leak a password nor drive the terminal. */
#ifndef LF_SAFE_TEXT_H
#define LF_SAFE_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* The "user:password@" part of url's authority: its offset and length (with the '@'), or 0
 * when there is none. */
size_t lf__url_userinfo(const char *url, size_t *offset);
/* url with its userinfo shown as "***@" (what messages and the manifest show). Calls out once
 * or twice with consecutive pieces. */
void lf__url_redacted(const char *url, void (*out)(void *arg, const char *s, size_t n), void *arg);
/* A stable 64-bit hash of the redacted url (FNV-1a), and of a plain string. */
uint64_t lf__url_key(const char *url);
uint64_t lf__text_key(const char *s);
/* For a message: url (or any text when is_url is 0) redacted, control characters and bytes
 * that are not valid UTF-8 written as \xNN. A new string (free it), or NULL when out of
 * memory. */
char *lf__display(const char *text, int is_url);

#endif
