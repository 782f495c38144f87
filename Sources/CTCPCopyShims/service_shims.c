// SIGHUP for the daemons' log files: the handler only raises a flag (an atomic store is
// async-signal-safe); the next log line sees it and reopens the file.
#include "CTCPCopyShims.h"

#include <signal.h>
#include <unistd.h>
#include <string.h>

static int reopen_requested = 0;

static void on_hangup(int signal_number) {
    (void)signal_number;
    __atomic_store_n(&reopen_requested, 1, __ATOMIC_SEQ_CST);
}

int CTCPCopyShims_install_reopen_handler(void) {
    struct sigaction action;
    memset(&action, 0, sizeof(action));
    action.sa_handler = on_hangup;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    return sigaction(SIGHUP, &action, NULL);
}

int CTCPCopyShims_take_reopen_request(void) {
    return __atomic_exchange_n(&reopen_requested, 0, __ATOMIC_SEQ_CST);
}

pid_t CTCPCopyShims_fork(void) { return fork(); }
