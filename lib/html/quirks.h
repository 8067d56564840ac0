/* Whether a parsed document is in quirks mode (quirks.c). */
#ifndef LF_QUIRKS_H
#define LF_QUIRKS_H

#include <gumbo.h>

/* 1 when the document node doc is in quirks mode as the HTML standard decides it: no doctype,
 * a name other than html, or a quirky public or system identifier. */
int lf__quirks_mode(const GumboNode *doc);

#endif
