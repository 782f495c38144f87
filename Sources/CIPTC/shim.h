#include <netinet/in.h>
#include <libiptc/libiptc.h>
