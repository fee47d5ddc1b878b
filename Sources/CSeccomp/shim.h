#include <seccomp.h>
#include <errno.h>

/* SCMP_ACT_ERRNO is a function-like macro, which Swift does not import. */
static inline uint32_t aerie_scmp_act_errno(uint16_t code) { return SCMP_ACT_ERRNO(code); }
