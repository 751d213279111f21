#ifndef CLIBPQ_SHIM_H
#define CLIBPQ_SHIM_H

// Debian installs libpq-fe.h under /usr/include/postgresql; pkg-config usually adds that folder,
// but fall back to the prefixed path when it does not.
#if __has_include(<libpq-fe.h>)
#include <libpq-fe.h>
#else
#include <postgresql/libpq-fe.h>
#endif

#include <errno.h>
#include <spawn.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>

// For ChildProcess: a child keeps only the descriptors it is given. glibc (2.34 and later) declares this only with
// _GNU_SOURCE, which Swift's Glibc module is not built with.
extern int posix_spawn_file_actions_addclosefrom_np(posix_spawn_file_actions_t *actions, int from);

// epoll for the pool's socket poller (PostgresSocketPoller). Swift's Glibc module does not export epoll, and
// `struct epoll_event` is packed on x86_64, so the three calls the poller needs are wrapped here.

/// A new epoll instance (close-on-exec), or -1.
static inline int clibpq_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Watches `fd` for one readiness event (readable, or also writable when `writable` is non-zero), after which it
/// stays registered but disarmed until armed again. Returns 0, or -1 with errno.
static inline int clibpq_epoll_arm_once(int epfd, int fd, int writable) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLONESHOT | (writable ? EPOLLOUT : 0);
    event.data.u64 = 0;
    event.data.fd = fd;
    if (epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &event) == 0) return 0;
    // First wait on this socket (a closed socket leaves the set by itself, so a reused number is new too).
    if (errno == ENOENT) return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
    return -1;
}

/// Watches `fd` for readability for as long as it is open (the poller's wake-up eventfd). Returns 0 or -1.
static inline int clibpq_epoll_watch(int epfd, int fd) {
    struct epoll_event event;
    event.events = EPOLLIN;
    event.data.u64 = 0;
    event.data.fd = fd;
    return epoll_ctl(epfd, EPOLL_CTL_ADD, fd, &event);
}

/// Waits (without a time limit) for ready descriptors and writes up to `capacity` (at most 64) of them to `fds`.
/// Returns how many, or -1 with errno (EINTR included).
static inline int clibpq_epoll_wait(int epfd, int *fds, int capacity) {
    struct epoll_event events[64];
    if (capacity > 64) capacity = 64;
    int count = epoll_wait(epfd, events, capacity, -1);
    for (int index = 0; index < count; index++) fds[index] = events[index].data.fd;
    return count;
}

#endif
