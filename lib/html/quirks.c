/* Quirks mode, decided from the doctype as the HTML standard's "initial" insertion mode does
 * (https://html.spec.whatwg.org/#the-initial-insertion-mode). gumbo 0.10 reports quirks mode
 * for a page without a doctype, but not for the quirky doctypes (it answers "no quirks" for
 * `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.0 Transitional//EN">`), so the identifiers it
 * keeps are checked here against the standard's lists. Limited-quirks mode changes nothing a
 * selector sees, so it is "no". */
#include "quirks.h"

#include <string.h>

#include "ascii.h"

static const char *const quirky_prefixes[] = {
    "+//silmaril//dtd html pro v0r11 19970101//",
    "-//as//dtd html 3.0 aswedit + extensions//",
    "-//advasoft ltd//dtd html 3.0 aswedit + extensions//",
    "-//ietf//dtd html 2.0 level 1//",
    "-//ietf//dtd html 2.0 level 2//",
    "-//ietf//dtd html 2.0 strict level 1//",
    "-//ietf//dtd html 2.0 strict level 2//",
    "-//ietf//dtd html 2.0 strict//",
    "-//ietf//dtd html 2.0//",
    "-//ietf//dtd html 2.1e//",
    "-//ietf//dtd html 3.0//",
    "-//ietf//dtd html 3.2 final//",
    "-//ietf//dtd html 3.2//",
    "-//ietf//dtd html 3//",
    "-//ietf//dtd html level 0//",
    "-//ietf//dtd html level 1//",
    "-//ietf//dtd html level 2//",
    "-//ietf//dtd html level 3//",
    "-//ietf//dtd html strict level 0//",
    "-//ietf//dtd html strict level 1//",
    "-//ietf//dtd html strict level 2//",
    "-//ietf//dtd html strict level 3//",
    "-//ietf//dtd html strict//",
    "-//ietf//dtd html//",
    "-//metrius//dtd metrius presentational//",
    "-//microsoft//dtd internet explorer 2.0 html strict//",
    "-//microsoft//dtd internet explorer 2.0 html//",
    "-//microsoft//dtd internet explorer 2.0 tables//",
    "-//microsoft//dtd internet explorer 3.0 html strict//",
    "-//microsoft//dtd internet explorer 3.0 html//",
    "-//microsoft//dtd internet explorer 3.0 tables//",
    "-//netscape comm. corp.//dtd html//",
    "-//netscape comm. corp.//dtd strict html//",
    "-//o'reilly and associates//dtd html 2.0//",
    "-//o'reilly and associates//dtd html extended 1.0//",
    "-//o'reilly and associates//dtd html extended relaxed 1.0//",
    "-//sq//dtd html 2.0 hotmetal + extensions//",
    "-//softquad software//dtd hotmetal pro 6.0::19990601::extensions to html 4.0//",
    "-//softquad//dtd hotmetal pro 4.0::19971010::extensions to html 4.0//",
    "-//spyglass//dtd html 2.0 extended//",
    "-//sun microsystems corp.//dtd hotjava html//",
    "-//sun microsystems corp.//dtd hotjava strict html//",
    "-//w3c//dtd html 3 1995-03-24//",
    "-//w3c//dtd html 3.2 draft//",
    "-//w3c//dtd html 3.2 final//",
    "-//w3c//dtd html 3.2//",
    "-//w3c//dtd html 3.2s draft//",
    "-//w3c//dtd html 4.0 frameset//",
    "-//w3c//dtd html 4.0 transitional//",
    "-//w3c//dtd html experimental 19960712//",
    "-//w3c//dtd html experimental 970421//",
    "-//w3c//dtd w3 html//",
    "-//w3o//dtd w3 html 3.0//",
    "-//webtechs//dtd mozilla html 2.0//",
    "-//webtechs//dtd mozilla html//",
};

static int starts(const char *s, const char *prefix) {
  size_t n = strlen(prefix);
  return strlen(s) >= n && lf__ascii_caseeq_n(s, prefix, n);
}

static int equals(const char *s, const char *t) {
  return strlen(s) == strlen(t) && lf__ascii_caseeq_n(s, t, strlen(t));
}

int lf__quirks_mode(const GumboNode *doc) {
  if (!doc || doc->type != GUMBO_NODE_DOCUMENT) return 0;
  const GumboDocument *d = &doc->v.document;
  if (d->doc_type_quirks_mode == GUMBO_DOCTYPE_QUIRKS || !d->has_doctype) return 1;
  const char *pub = d->public_identifier ? d->public_identifier : "",
             *sys = d->system_identifier ? d->system_identifier : "";
  if (!d->name || strcmp(d->name, "html") != 0) return 1; /* gumbo lowercases the name */
  if (equals(pub, "-//W3O//DTD W3 HTML Strict 3.0//EN//") ||
      equals(pub, "-/W3C/DTD HTML 4.0 Transitional/EN") || equals(pub, "HTML") ||
      equals(sys, "http://www.ibm.com/data/dtd/v11/ibmxhtml1-transitional.dtd"))
    return 1;
  for (size_t i = 0; i < sizeof quirky_prefixes / sizeof *quirky_prefixes; i++)
    if (starts(pub, quirky_prefixes[i])) return 1;
  /* gumbo keeps no "missing" apart from "empty": an empty system identifier counts as missing */
  return !*sys && (starts(pub, "-//W3C//DTD HTML 4.01 Frameset//") ||
                   starts(pub, "-//W3C//DTD HTML 4.01 Transitional//"));
}
