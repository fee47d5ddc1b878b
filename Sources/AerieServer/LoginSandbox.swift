import CSeccomp

#if canImport(Glibc)
    import Glibc
#endif

/// The login worker's seccomp filter (issue 11): after chroot and the privilege drop, every thread may make only the
/// system calls serving TLS and pre-login connections needs. The list was taken from strace of the worker under the
/// login-process tests, plus glibc's and the Swift runtime's usual calls; anything else fails with EPERM (so a call
/// nobody foresaw degrades instead of killing every connection), and a few that only an attacker would make (exec,
/// ptrace, reading other processes' memory) kill the process.
enum LoginSandbox {
    static let allowed = [
        // I/O on descriptors it holds: sockets, the relay pairs, epoll, timers, eventfd.
        "read", "readv", "write", "writev", "pread64", "pwrite64", "lseek", "close", "fcntl", "ioctl", "dup", "dup3",
        "accept", "accept4", "recvfrom", "recvmsg", "recvmmsg", "sendto", "sendmsg", "sendmmsg", "shutdown",
        "getsockname", "getpeername", "getsockopt", "setsockopt", "socketpair", "connect", "listen",
        "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait", "epoll_pwait", "poll", "ppoll", "select",
        "pselect6", "eventfd2", "pipe2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
        // Files: the chroot is empty, so these find nothing, but the runtime tries /proc and friends.
        "openat", "newfstatat", "fstat", "statx", "statfs", "fstatfs", "readlink", "readlinkat", "access",
        "faccessat", "faccessat2", "getcwd", "listxattr", "chdir",
        // Memory, threads, time, signals.
        "mmap", "munmap", "mprotect", "mremap", "madvise", "brk", "futex", "futex_waitv", "set_robust_list",
        "get_robust_list", "rseq", "clone", "clone3", "exit", "exit_group", "sched_yield", "sched_getaffinity",
        "sched_setaffinity", "set_tid_address", "gettid", "getpid", "getppid", "tgkill", "membarrier",
        "nanosleep", "clock_nanosleep", "clock_gettime", "clock_getres", "gettimeofday", "time",
        "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigtimedwait", "rt_sigsuspend", "sigaltstack",
        "restart_syscall",
        // Identity and limits it reads; thread names and the parent-death signal (prctl).
        "getuid", "geteuid", "getgid", "getegid", "getresuid", "getresgid", "getgroups", "prlimit64", "getrlimit",
        "uname", "sysinfo", "getrandom", "prctl", "arch_prctl", "setpriority", "getpriority", "capget",
    ]

    /// Never needed after start: an attacker's calls. The process dies on them.
    static let killed = ["execve", "execveat", "ptrace", "process_vm_readv", "process_vm_writev"]

    /// Loads the filter for every thread of the process (TSYNC); throws when the kernel refuses it.
    static func apply() throws {
        guard let filter = seccomp_init(aerie_scmp_act_errno(UInt16(EPERM))) else {
            throw ServerStartError("seccomp_init failed")
        }
        defer { seccomp_release(filter) }
        guard seccomp_attr_set(filter, SCMP_FLTATR_CTL_TSYNC, 1) == 0 else {
            throw ServerStartError("seccomp: the kernel cannot apply a filter to every thread (TSYNC)")
        }
        for name in allowed + killed {
            let number = seccomp_syscall_resolve_name(name)
            guard number != __NR_SCMP_ERROR else { continue }  // not on this architecture
            let action = killed.contains(name) ? SCMP_ACT_KILL_PROCESS : SCMP_ACT_ALLOW
            guard seccomp_rule_add_array(filter, action, number, 0, nil) == 0 else {
                throw ServerStartError("seccomp: cannot add a rule for \(name)")
            }
        }
        // New sockets only for unix-domain pairs and lookups, never a raw, netlink or packet socket.
        let socket = seccomp_syscall_resolve_name("socket")
        var unixOnly = scmp_arg_cmp(arg: 0, op: SCMP_CMP_EQ, datum_a: UInt64(AF_UNIX), datum_b: 0)
        guard seccomp_rule_add_array(filter, SCMP_ACT_ALLOW, socket, 1, &unixOnly) == 0 else {
            throw ServerStartError("seccomp: cannot add the socket rule")
        }
        let loaded = seccomp_load(filter)
        guard loaded == 0 else { throw ServerStartError("seccomp_load failed: \(String(cString: strerror(-loaded)))") }
    }
}
