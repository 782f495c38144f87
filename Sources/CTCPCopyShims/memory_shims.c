#include "CTCPCopyShims.h"

#include <malloc.h>

int CTCPCopyShims_malloc_trim(void) { return malloc_trim(0); }
