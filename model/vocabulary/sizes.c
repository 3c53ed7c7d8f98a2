/* Sizes that result.c reads at run time on purpose (model.h): for a size
 * it can see, gcc inlines the zeroing of an untagged response as a rep
 * stosq, twice as slow for its 416 bytes as the C library's memset (AMD
 * EPYC), and every FETCH of every reply read or replayed zeroes one. */
#include "model.h"

const size_t model_untagged_size = sizeof(model_untagged);
