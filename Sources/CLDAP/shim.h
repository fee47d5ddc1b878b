#include <ldap.h>

/* Macros with casts (LDAP_SCOPE_*, LDAP_OPT_ON/OFF, LDAP_SASL_SIMPLE) do not import into Swift. */
static inline int cldap_scope_base(void) { return LDAP_SCOPE_BASE; }
static inline int cldap_scope_onelevel(void) { return LDAP_SCOPE_ONELEVEL; }
static inline int cldap_scope_subtree(void) { return LDAP_SCOPE_SUBTREE; }
static inline int cldap_set_referrals_off(LDAP *ld) { return ldap_set_option(ld, LDAP_OPT_REFERRALS, LDAP_OPT_OFF); }
static inline int cldap_set_restart_on(LDAP *ld) { return ldap_set_option(ld, LDAP_OPT_RESTART, LDAP_OPT_ON); }

/* A simple bind (RFC 4513 §5.1); password points at `length` bytes. */
static inline int cldap_simple_bind(LDAP *ld, const char *dn, const char *password, unsigned long length) {
    struct berval cred;
    cred.bv_val = (char *)password;
    cred.bv_len = length;
    return ldap_sasl_bind_s(ld, dn, LDAP_SASL_SIMPLE, &cred, NULL, NULL, NULL);
}
