/* Every core test finishes in milliseconds; a bound turns an endless loop (a broken region
 * walk in gpmem, say) into a reported failure instead of a hung `make test`. */
#include <criterion/criterion.h>

TestSuite(core, .timeout = 10);
