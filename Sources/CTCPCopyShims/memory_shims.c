#include "CTCPCopyShims.h"

#include <malloc.h>

int CTCPCopyShims_malloc_trim(void) { return malloc_trim(0); }

int CTCPCopyShims_mallopt_mmap_threshold(int bytes) { return mallopt(M_MMAP_THRESHOLD, bytes); }
