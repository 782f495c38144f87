#include <netinet/in.h>
#include <libiptc/libip6tc.h>
