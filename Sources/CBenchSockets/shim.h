#ifndef CBENCHSOCKETS_SHIM_H
#define CBENCHSOCKETS_SHIM_H

// Non-blocking sockets and epoll for the benchmark tool's stream opener (RawStreamOpener). Swift's Glibc module does
// not export epoll, and `struct epoll_event` is packed on x86_64, so the few calls the opener needs are wrapped here.

#include <errno.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

/// A new epoll instance (close-on-exec), or -1.
static inline int bench_epoll_create(void) { return epoll_create1(EPOLL_CLOEXEC); }

/// Adds `fd` (when `add` is non-zero) or changes what it is watched for: readable, and writable too when `writable`.
/// `tag` comes back with its readiness. Returns 0, or -1 with errno.
static inline int bench_epoll_watch(int epfd, int fd, uint64_t tag, int writable, int add) {
    struct epoll_event event;
    event.events = EPOLLIN | EPOLLRDHUP | (writable ? EPOLLOUT : 0);
    event.data.u64 = tag;
    return epoll_ctl(epfd, add ? EPOLL_CTL_ADD : EPOLL_CTL_MOD, fd, &event);
}

/// Waits up to `timeout_ms` for ready descriptors; writes up to `capacity` (at most 256) tags, and for each whether
/// it is writable (a connect has completed, or failed: the opener then reads SO_ERROR). Returns how many, or -1 with
/// errno (EINTR included).
static inline int bench_epoll_wait(int epfd, uint64_t *tags, int *writable, int capacity, int timeout_ms) {
    struct epoll_event events[256];
    if (capacity > 256) capacity = 256;
    int count = epoll_wait(epfd, events, capacity, timeout_ms);
    for (int index = 0; index < count; index++) {
        tags[index] = events[index].data.u64;
        writable[index] = (events[index].events & EPOLLOUT) != 0;
    }
    return count;
}

/// A non-blocking TCP socket connecting to `address`: the descriptor (the connection completes when it turns
/// writable), or -1 with errno.
static inline int bench_connect(const struct sockaddr *address, socklen_t length) {
    int fd = socket(address->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0) return -1;
    if (connect(fd, address, length) == 0 || errno == EINPROGRESS) return fd;
    int saved = errno;
    close(fd);
    errno = saved;
    return -1;
}

/// The error a non-blocking connect ended with (0: connected).
static inline int bench_socket_error(int fd) {
    int error = 0;
    socklen_t length = sizeof(error);
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length) != 0) return errno;
    return error;
}

/// An eventfd (close-on-exec, non-blocking) to wake the opener's thread, or -1.
static inline int bench_eventfd(void) { return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK); }

#endif
