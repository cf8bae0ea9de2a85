// Unix-socket helpers whose C API is macros (CMSG_*) or needs _GNU_SOURCE
// (struct ucred): file-descriptor passing with SCM_RIGHTS, and the peer's
// credentials with SO_PEERCRED.
#include <errno.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <unistd.h>

#define REVSD_MAX_FDS 4

/// Sends `len` bytes and, when fd >= 0, that descriptor with them (SCM_RIGHTS).
/// Returns bytes sent or -1 (errno set).
static inline ssize_t revsd_send_with_fd(int sock, const void *data, size_t len, int fd) {
    struct iovec iov = { (void *)data, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union { char buf[CMSG_SPACE(sizeof(int))]; struct cmsghdr align; } control;
    if (fd >= 0) {
        memset(&control, 0, sizeof control);
        msg.msg_control = control.buf;
        msg.msg_controllen = sizeof control.buf;
        struct cmsghdr *c = CMSG_FIRSTHDR(&msg);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(c), &fd, sizeof(int));
    }
    ssize_t n;
    do { n = sendmsg(sock, &msg, MSG_NOSIGNAL); } while (n < 0 && errno == EINTR);
    return n;
}

/// Receives up to `len` bytes and any descriptors that came with them
/// (at most REVSD_MAX_FDS; extra ones are closed). Returns bytes or -1.
static inline ssize_t revsd_recv_with_fds(int sock, void *data, size_t len, int *fds, int *nfds) {
    struct iovec iov = { data, len };
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    union { char buf[CMSG_SPACE(sizeof(int) * 16)]; struct cmsghdr align; } control;
    msg.msg_control = control.buf;
    msg.msg_controllen = sizeof control.buf;
    ssize_t n;
    do { n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC); } while (n < 0 && errno == EINTR);
    *nfds = 0;
    if (n < 0) return n;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&msg); c != NULL; c = CMSG_NXTHDR(&msg, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS) continue;
        int count = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
        for (int i = 0; i < count; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(c) + i * sizeof(int), sizeof(int));
            if (*nfds < REVSD_MAX_FDS) fds[(*nfds)++] = fd; else close(fd);
        }
    }
    return n;
}

/// The connected peer's process, user and group (SO_PEERCRED, 17 on Linux).
static inline int revsd_peer_credentials(int sock, int *pid, unsigned *uid, unsigned *gid) {
    struct { int pid; unsigned uid; unsigned gid; } cred;
    socklen_t size = sizeof cred;
    if (getsockopt(sock, SOL_SOCKET, 17, &cred, &size) != 0) return -1;
    *pid = cred.pid; *uid = cred.uid; *gid = cred.gid;
    return 0;
}
