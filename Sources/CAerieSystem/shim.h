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
#endif
