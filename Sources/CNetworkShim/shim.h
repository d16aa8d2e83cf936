// What Swift's Glibc module does not expose: for the network clients setns (a GNU extension), AF_PACKET's
// sockaddr_ll and the ARP ethertype; for the QEMU process watch pidfd_open.
#ifndef HIVE_HEALTH_NETWORK_SHIM_H
#define HIVE_HEALTH_NETWORK_SHIM_H

#include <linux/if_packet.h>
#include <linux/if_ether.h>

// glibc declares setns only under _GNU_SOURCE; the prototype is the same.
int setns(int fd, int nstype);

/// Moves the calling thread into the network namespace open at `fd`.
static inline int hive_health_enter_network_namespace(int fd) {
    return setns(fd, 0x40000000 /* CLONE_NEWNET */);
}

static const unsigned short hive_health_ethertype_arp = ETH_P_ARP;

// pidfd_open(2) (Linux 5.3): a descriptor that becomes readable when the process exits. Swift cannot call the
// variadic syscall(2) itself. Returns -1 with errno set (ESRCH: no such process; ENOSYS: an older kernel).
#include <sys/syscall.h>
#include <unistd.h>
#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
static inline int hive_health_pidfd_open(int pid) {
    return (int)syscall(SYS_pidfd_open, pid, 0);
}

// eventfd(2): what wakes a loop sleeping in poll(2) (the ICMP echo loop), non-blocking and close-on-exec.
#include <sys/eventfd.h>
static inline int hive_health_eventfd(void) {
    return eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
}

#endif
