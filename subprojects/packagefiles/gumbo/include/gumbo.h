/* Part of loopfetch's meson build of gumbo-parser (not an upstream file):
 * consumers get only this directory on their include path, so gumbo's private
 * headers (error.h, util.h, vector.h, ...) cannot shadow theirs. */
#include "../src/gumbo.h"
