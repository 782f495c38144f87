#include "CTCPCopyShims.h"

#include <errno.h>
#include <string.h>
#include <sys/socket.h>

int CTCPCopyShims_enable_drop_count(int fd) {
    int on = 1;
    return setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &on, sizeof(on));
}
