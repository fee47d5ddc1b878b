#ifndef AERIE_SYSTEM_SHIM_H
#define AERIE_SYSTEM_SHIM_H
#include <sys/prctl.h>
#include <grp.h>
#include <unistd.h>
#include <syslog.h>
#include <sys/types.h>
#include <malloc.h>

// prctl is variadic, which Swift cannot call: a fixed-argument wrapper.
static inline int aerie_set_no_new_privs(void) { return prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0); }
static inline int aerie_get_no_new_privs(void) { return prctl(PR_GET_NO_NEW_PRIVS, 0, 0, 0, 0); }
static inline int aerie_set_single_group(gid_t gid) { return setgroups(1, &gid); }
// The privileged key keeper dies with the server instead of lingering as an orphaned root process.
static inline int aerie_set_parent_death_signal(int sig) { return prctl(PR_SET_PDEATHSIG, sig, 0, 0, 0); }

// syslog is variadic too; the message is always passed as data, never as a format.
static inline void aerie_syslog(int priority, const char *message) { syslog(priority, "%s", message); }

// Hands freed heap memory back to the kernel (after a burst of connections); glibc only.
static inline void aerie_malloc_trim(void) { malloc_trim(0); }

// struct ucred needs _GNU_SOURCE, which Swift's Glibc module does not define: the same layout for SO_PEERCRED.
struct aerie_ucred { pid_t pid; uid_t uid; gid_t gid; };

#include <sys/socket.h>
#include <string.h>
// One message plus at most one descriptor (SCM_RIGHTS) over a unix socket: the login process hands a client
// connection to the mail service, and serve hands the login process a connection to the auth process.
static inline ssize_t aerie_send_with_fd(int sock, const void *data, size_t length, int fd) {
    struct msghdr message;
    memset(&message, 0, sizeof message);
    struct iovec vector = { (void *)data, length };
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    char control[CMSG_SPACE(sizeof(int))];
    memset(control, 0, sizeof control);
    if (fd >= 0) {
        message.msg_control = control;
        message.msg_controllen = sizeof control;
        struct cmsghdr *header = CMSG_FIRSTHDR(&message);
        header->cmsg_level = SOL_SOCKET;
        header->cmsg_type = SCM_RIGHTS;
        header->cmsg_len = CMSG_LEN(sizeof(int));
        memcpy(CMSG_DATA(header), &fd, sizeof(int));
    }
    return sendmsg(sock, &message, MSG_NOSIGNAL);
}
// Receives one message; *fd is the descriptor it carried (close-on-exec) or -1. Extra descriptors are closed.
static inline ssize_t aerie_receive_with_fd(int sock, void *data, size_t length, int *fd) {
    struct msghdr message;
    memset(&message, 0, sizeof message);
    struct iovec vector = { data, length };
    message.msg_iov = &vector;
    message.msg_iovlen = 1;
    char control[CMSG_SPACE(sizeof(int) * 4)];
    message.msg_control = control;
    message.msg_controllen = sizeof control;
    *fd = -1;
    ssize_t got = recvmsg(sock, &message, MSG_CMSG_CLOEXEC);
    if (got < 0) return got;
    for (struct cmsghdr *header = CMSG_FIRSTHDR(&message); header; header = CMSG_NXTHDR(&message, header)) {
        if (header->cmsg_level != SOL_SOCKET || header->cmsg_type != SCM_RIGHTS) continue;
        size_t count = (header->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < count; i++) {
            int received;
            memcpy(&received, CMSG_DATA(header) + i * sizeof(int), sizeof(int));
            if (*fd < 0) *fd = received; else close(received);
        }
    }
    return got;
}

#include <sys/syscall.h>
#include <fcntl.h>
// LMTP hands a message to a delivery worker of another uid as a sealed memfd: nothing can change it after the seal.
static inline int aerie_memfd_create(const char *name) {
    return (int)syscall(SYS_memfd_create, name, 0x0001U /* MFD_CLOEXEC */ | 0x0002U /* MFD_ALLOW_SEALING */);
}
// F_ADD_SEALS with F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE.
static inline int aerie_seal_readonly(int fd) { return fcntl(fd, 1033 /* F_ADD_SEALS */, 0x1 | 0x2 | 0x4 | 0x8); }
#endif
