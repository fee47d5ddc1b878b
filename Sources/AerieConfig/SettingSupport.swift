/// What a setting does in Aerie. Not implemented means refused unless the value is the default; no effect means a
/// warning that names the reason; enforced means the server reads it (check by grepping Sources/ for its accessor).
public enum SettingSupport: Sendable, Equatable {
    case enforced
    /// Accepted, but Aerie's design makes it meaningless; the text says why.
    case noEffect(String)
    /// Refused unless set to the default; the text says what to do instead.
    case notImplemented(String)
}

/// The table of what every known setting, section, listener option, plugin, driver and mechanism does in Aerie.
/// When a setting is implemented, its entry moves to `.enforced` in the same change.
public enum Support {
    private static func table(_ groups: [(SettingSupport, [String])]) -> [String: SettingSupport] {
        var out: [String: SettingSupport] = [:]
        for (support, names) in groups {
            for name in names {
                precondition(out[name] == nil, "\(name) is classified twice")
                out[name] = support
            }
        }
        return out
    }

    static let oneProcess = "Aerie serves every connection from one process with event loops"
    static let noOutgoingTLS = "Aerie's only outgoing TLS connections are LDAP and OAuth2 ones"
    static let noQuota = "quotas other than quota_mail_size are not enforced yet; "
        + "use filesystem quotas for the mail user meanwhile"
    static let noACL = "IMAP ACLs are not implemented yet: every user sees only their own mailboxes"
    static let noLDAPSASL = "Aerie binds to LDAP with a simple bind over TLS: set ldap_auth_dn and "
        + "ldap_auth_dn_password"
    static let noEvents = "Aerie's metrics and event export are not configurable yet; the log has one line per login"
    static let noLogFormat = "Aerie writes Dovecot's default log lines; leave it unset"
    static let notYet = "leave it unset"
    static let noChroot = "Aerie does not chroot yet; confine it with the service manager (e.g. systemd RootDirectory=)"

    /// Global settings (and their `protocol { }` / section-local uses).
    public static let global: [String: SettingSupport] = table([
        (.enforced, [
            "protocols", "listen", "base_dir", "log_path", "log_timestamp", "syslog_facility", "mail_debug",
            "auth_verbose", "auth_debug", "auth_mechanisms", "auth_allow_cleartext", "auth_allow_weak_schemes",
            "auth_failure_delay", "auth_username_format", "ssl", "ssl_server_cert_file", "ssl_server_key_file",
            "ssl_server_key_password", "ssl_server_request_client_cert", "ssl_server_ca_file", "ssl_server_require_crl",
            "auth_ssl_require_client_cert", "auth_ssl_username_from_cert", "ssl_server_cert_username_field",
            "ssl_min_protocol", "ssl_cipher_list", "login_greeting",
            "login_trusted_networks", "login_timeout", "imap_unauthenticate", "mail_driver", "mail_path",
            "mail_inbox_path", "mail_index_path", "mailbox_list_layout", "mail_uid", "mail_gid", "mail_plugins",
            "default_idle_kill_interval",
            "mail_max_userip_connections", "first_valid_uid", "last_valid_uid", "first_valid_gid", "last_valid_gid",
            "imap_max_line_length", "pop3_uidl_format", "lmtp_save_to_detail_mailbox", "lmtp_user_concurrency_limit",
            "lmtp_add_received_header", "recipient_delimiter", "hostname", "quota_mail_size", "default_internal_user",
            "dovecot_config_version", "haproxy_trusted_networks", "haproxy_timeout", "auth_penalty_max_delay",
            "auth_penalty_ipv6_prefix", "auth_ban_failures", "auth_ban_distinct_users", "auth_ban_window",
            "auth_ban_time", "auth_cache_size", "auth_cache_ttl", "auth_cache_negative_ttl", "auth_username_chars",
            "auth_default_domain", "auth_master_user_separator", "auth_username_translation",
            "imap_search_time_limit", "auth_totp_separator", "auth_main_password_alone", "state_dir",
            "auth_rehash_scheme", "login_process", "default_login_user", "mail_chroot",
            "login_max_unauthenticated_per_ip", "login_max_connection_rate_per_ip", "default_process_limit",
            "default_vsz_limit", "default_client_limit",
            "login_tls_handshake_timeout", "login_ip_limits_exempt_networks",
            "ldap_uris", "ldap_auth_dn", "ldap_auth_dn_password", "ldap_base", "ldap_starttls", "ldap_scope",
            "ldap_deref", "ssl_client_ca_file", "ssl_client_require_valid_cert", "sql_driver",
            "admin_ssl_ca_file", "admin_ssl_require_crl", "admin_allowed_subjects",
            "oauth2_introspection_url", "oauth2_scope", "oauth2_introspection_mode", "oauth2_username_attribute",
            "oauth2_active_attribute", "oauth2_active_value", "oauth2_client_id", "oauth2_client_secret",
            "oauth2_issuers", "oauth2_openid_configuration_url", "oauth2_token_expire_grace",
        ]),
        (.notImplemented("Aerie checks tokens by RFC 7662 introspection (oauth2_introspection_url with "
                         + "oauth2_introspection_mode = post) or locally against the issuer's keys "
                         + "(oauth2_introspection_mode = local)"),
         ["oauth2_tokeninfo_url", "oauth2_force_introspection"]),
        (.notImplemented("Aerie does not trade passwords for tokens: clients bring their own token"),
         ["oauth2_grant_url"]),
        (.notImplemented("the token's username_attribute claim must equal the login name as given"),
         ["oauth2_username_validation_format"]),
        (.notImplemented("Aerie sends no client headers to the token endpoint"), ["oauth2_send_auth_headers"]),
        (.noEffect("tokens are checked in the auth process without blocking it; there are no auth worker processes"),
         ["oauth2_use_worker_with_mech"]),
        (.notImplemented("Aerie always says BYE to its clients when it stops"), ["shutdown_clients"]),
        (.noEffect("Aerie's Maildir and index formats are the same whatever the storage version"),
         ["dovecot_storage_version"]),
        (.noEffect("the name labels Dovecot's processes; Aerie's base_dir is its own"), ["instance_name"]),
        (.noEffect("Aerie's process title does not change per connection"), ["verbose_proctitle"]),
        (.noEffect("Aerie's child processes (the auth process) get a fixed minimal environment"),
         ["import_environment"]),
        (.noEffect("one binary: its parts cannot be of different versions"), ["version_ignore"]),
        (.noEffect("Aerie has no stats process; metrics are its own"), ["stats_writer_socket_path"]),
        (.noEffect("cached hashes are always verified on the auth process's hashing pool, never on its event loop"),
         ["auth_cache_verify_password_with_worker"]),
        (.noEffect("realms select a domain in DIGEST-MD5 and GSSAPI; Aerie's PLAIN, LOGIN and SCRAM carry none (use "
                   + "auth_default_domain)"), ["auth_realms"]),
        (.noEffect("password checks run on the auth process's bounded hashing pool; there are no auth worker "
                   + "processes"),
         ["auth_worker_max_count"]),
        (.noEffect("Aerie's TLS uses ECDHE key exchange only: there are no DH parameters to load"),
         ["ssl_server_dh_file"]),
        (.noEffect(noOutgoingTLS + ", which trust ssl_client_ca_file (or the system's CAs)"),
         ["ssl_client_ca_dir", "ssl_client_cert_file", "ssl_client_key_file"]),
        (.noEffect("Aerie does not proxy connections to other servers"),
         ["login_source_ips", "login_proxy_max_disconnect_delay"]),
        (.noEffect("plugins are built into Aerie; there is no plugin directory"),
         ["mail_plugin_dir", "login_plugin_dir"]),
        (.noEffect("Aerie's own index is kept beside the Maildir and always used"), ["mailbox_list_index"]),
        (.noEffect("Aerie reads message files with read(2), never mmap"), ["mmap_disable"]),
        (.noEffect("Aerie writes temporary files in the mailbox's own tmp/"), ["mail_temp_dir"]),
        (.noEffect("Aerie's index caches a fixed set of fields (sizes, flags, envelope, body structure)"),
         ["mail_cache_fields", "mail_always_cache_fields", "mail_never_cache_fields"]),
        (.noEffect("an idle IMAP connection costs a few kilobytes in Aerie: there is nothing to hibernate"),
         ["imap_hibernate_timeout"]),
        (.noEffect("Aerie sends no mail (no Sieve, no rejections, no quota warnings)"),
         ["sendmail_path", "submission_host", "submission_relay_host"]),
        (.notImplemented("Aerie never writes passwords to the log"),
         ["auth_verbose_passwords", "auth_debug_passwords"]),
        (.notImplemented("Aerie writes every log line to log_path"), ["info_log_path", "debug_log_path"]),
        (.notImplemented("use auth_debug = yes or mail_debug = yes"), ["log_debug", "log_core_filter", "verbose_ssl"]),
        (.notImplemented(noLogFormat), ["login_log_format_elements", "login_log_format", "mail_log_prefix",
                                        "imap_logout_format", "pop3_logout_format"]),
        (.notImplemented("the auth process runs as default_internal_user and its primary group"),
         ["default_internal_group"]),
        (.notImplemented(notYet), [
            "auth_internal_failure_delay", "auth_anonymous_username", "auth_socket_path", "auth_proxy_self",
            "auth_gssapi_hostname", "auth_krb5_keytab", "auth_use_winbind", "auth_winbind_helper_path",
            "auth_policy_server_url", "auth_policy_server_api_header", "auth_policy_hash_mech",
            "auth_policy_hash_nonce", "auth_policy_hash_truncate", "auth_policy_reject_on_fail",
            "auth_policy_check_before_auth", "auth_policy_check_after_auth", "auth_policy_report_after_auth",
            "auth_policy_log_only", "auth_policy_request_attributes",
            "ssl_server_alt_cert_file", "ssl_server_alt_key_file", "ssl_server_prefer_ciphers", "ssl_curve_list",
            "ssl_options", "ssl_crypto_device", "login_plugins",
            "mail_index_private_path", "mail_control_path", "mail_alt_path", "mail_volatile_path",
            "mailbox_list_utf8", "mail_privileged_group", "mail_access_groups", "valid_chroot_dirs", "mail_fsync",
            "mail_nfs_storage", "mail_nfs_index", "lock_method", "mail_save_crlf", "mail_full_filesystem_access",
            "mail_attachment_detection_options", "mail_ext_attachment_path", "mail_ext_attachment_hash",
            "mail_ext_attachment_min_size", "mailbox_idle_check_interval", "mail_max_keyword_length",
            "maildir_very_dirty_syncs", "maildir_copy_with_hardlinks", "maildir_stat_dirs",
            "mail_shared_explicit_inbox", "mail_server_admin", "mail_server_comment", "mail_compress_save",
            "mail_compress_save_level", "mail_attribute_dict",
            "imap_idle_notify_interval", "imap_capability", "imap_client_workarounds", "imap_id_send",
            "imap_fetch_failure", "imap_literal_minus", "imap_metadata", "imap_urlauth_host",
            "pop3_no_flag_updates", "pop3_enable_last", "pop3_reuse_xuidl", "pop3_lock_session",
            "pop3_client_workarounds", "pop3_fast_size_lookups", "pop3_deleted_flag", "pop3_delete_type",
            "lmtp_proxy", "lmtp_rcpt_check_quota", "lmtp_hdr_delivery_address", "lmtp_client_workarounds",
            "postmaster_address", "lda_mailbox_autocreate", "lda_mailbox_autosubscribe",
            "lda_original_recipient_header", "rejection_reason", "rejection_subject",
            "dict_driver", "dict_file_path", "dict_proxy_name", "dict_proxy_socket_path",
        ]),
        (.notImplemented("give the home directory in the userdb (passwd-file's home field)"), ["mail_home"]),
        (.notImplemented("NIOSSL cannot restrict TLS 1.3 suites (they are all AEAD); use ssl_min_protocol and "
                         + "ssl_cipher_list"), ["ssl_cipher_suites"]),
        (.notImplemented(noQuota), [
            "quota_driver", "quota_storage_size", "quota_storage_grace", "quota_storage_percentage",
            "quota_storage_extra", "quota_message_count", "quota_message_percentage", "quota_exceeded_message",
            "quota_warning", "quota_rule", "quota", "quota_full_tempfail",
        ]),
        (.notImplemented(noACL), ["acl_driver", "acl_global_path", "acl_globals_only", "acl_defaults_from_inbox",
                                  "acl_cache_ttl", "acl_user", "acl_groups", "imap_acl_allow_anyone"]),
        (.notImplemented(noLDAPSASL), ["ldap_auth_sasl_mechanisms"]),
        (.notImplemented("Aerie speaks LDAPv3 only"), ["ldap_version"]),
        (.noEffect("libldap's debug output is not wired to Aerie's log; auth_debug logs each LDAP lookup"),
         ["ldap_debug_level"]),
        (.noEffect("each LDAP passdb and userdb keeps its own small connection pool"), ["ldap_connection_group"]),
        (.notImplemented(noEvents), [
            "event_exporter_driver", "event_exporter_format", "event_exporter_time_format", "event_exporter_http_url",
            "event_exporter_unix_path", "metric_filter", "metric_fields", "metric_group_by", "metric_exporter",
            "metric_exporter_include", "metric_description",
        ]),
    ])

    /// `service NAME { }` settings; process-model ones have no counterpart (see `serviceSetting`).
    public static let service: [String: SettingSupport] = table([
        (.noEffect("each of Aerie's process kinds (key worker, auth, mail service) runs one process, started with the "
                   + "server and restarted when it ends, as process_min_avail = 1; it is not pre-forked or retired "
                   + "after a number of requests (a per-uid mail process is started at the first login of its uid)"),
         ["process_min_avail", "restart_request_count"]),
        (.enforced, ["client_limit", "process_limit", "vsz_limit", "idle_kill_interval"]),
        (.notImplemented("Aerie drops privileges to mail_uid (else default_internal_user) for every service"),
         ["user", "group", "extra_groups", "privileged_group", "drop_priv_before_exec"]),
        (.notImplemented(noChroot),
         ["chroot"]),
        (.notImplemented("Aerie's services are built in"), ["executable", "type", "protocol"]),
    ])

    public static let inetListener: [String: SettingSupport] = table([
        (.enforced, ["address", "port", "ssl", "haproxy"]),
        (.noEffect("\(oneProcess): each listener is bound once, so SO_REUSEPORT changes nothing"), ["reuse_port"]),
        (.notImplemented(notYet), ["type"]),
    ])

    public static let unixListener: [String: SettingSupport] = table([
        (.enforced, ["mode", "user", "group", "path"]),
        (.notImplemented(notYet), ["type"]),
    ])

    public static let passdb: [String: SettingSupport] = table([
        (.enforced, ["driver", "args", "passwd_file_path", "default_password_scheme", "deny", "master", "pass",
                     "result_success", "result_failure", "result_internalfail", "skip", "override_fields",
                     "default_fields", "mechanisms", "username_filter", "ldap_bind", "ldap_bind_userdn",
                     "ldap_filter", "query", "sql_query", "update_query", "sql_update_query"]),
        (.notImplemented("a Dovecot 2.3 name: Dovecot 2.4 calls it query (passdb sql { query = … })"),
         ["password_query", "sql_password_query"]),
        (.notImplemented(notYet), ["service_name"]),
        (.noEffect("passwd-file lookups run on Aerie's hashing pool and LDAP ones on its LDAP threads; there are no auth "
                   + "worker processes"),
         ["use_worker"]),
    ])

    public static let userdb: [String: SettingSupport] = table([
        (.enforced, ["driver", "args", "passwd_file_path", "result_success", "result_failure", "result_internalfail",
                     "skip", "override_fields", "default_fields", "static_allow_all_users", "ldap_filter", "query",
                     "sql_query", "iterate_query", "sql_iterate_query", "ldap_iterate_filter"]),
        (.notImplemented("a Dovecot 2.3 name: Dovecot 2.4 calls it query (userdb sql { query = … })"),
         ["user_query", "sql_user_query"]),
        (.noEffect("passwd-file lookups run on Aerie's hashing pool and LDAP ones on its LDAP threads; there are no auth "
                   + "worker processes"),
         ["use_worker"]),
    ])

    public static let namespace: [String: SettingSupport] = table([
        (.enforced, ["type", "separator", "inbox"]),
        (.notImplemented("set mail_driver and mail_path at the top level"), ["location"]),
        (.notImplemented("Aerie serves one private namespace without a prefix"),
         ["prefix", "hidden", "list", "subscriptions", "ignore_on_failure", "disabled", "order", "alias_for"]),
    ])

    public static let mailbox: [String: SettingSupport] = table([
        (.enforced, ["special_use", "auto"]),
        (.notImplemented(notYet), ["autoexpunge", "autoexpunge_max_mails", "comment"]),
    ])

    /// Section kinds (`name [filter] { }`).
    public static let sections: [String: SettingSupport] = table([
        (.enforced, ["service", "passdb", "userdb", "namespace", "mailbox", "protocol", "plugin", "mail_plugins",
                     "inet_listener", "unix_listener", "fifo_listener", "auth_policy", "ldap", "fields",
                     "iterate_fields", "pgsql", "oauth2"]),
        (.notImplemented("local and remote filters are not applied per connection yet; put the settings at the top "
                         + "level or in protocol { }"), ["local", "remote", "local_name"]),
        (.notImplemented(noQuota), ["quota"]),
        (.notImplemented(noACL), ["acl"]),
        (.notImplemented("Aerie reads the issuer's keys from oauth2_openid_configuration_url (its jwks_uri)"),
         ["oauth2_local_validation"]),
        (.notImplemented("the userdbs give the user's fields after a token login"), ["oauth2_fields"]),
        (.notImplemented(noEvents), ["metric", "event_exporter"]),
        (.notImplemented("Aerie uses no dict (quota, ACL and attributes are not implemented)"),
         ["dict", "mail_attribute"]),
    ])

    /// The protocols a `protocol NAME { }` filter may name.
    public static let protocols: [String: SettingSupport] = table([
        (.enforced, ["imap", "pop3", "lmtp"]),
        (.noEffect("Aerie does not serve this protocol"),
         ["lda", "submission", "sieve", "managesieve", "doveadm", "imap-urlauth"]),
    ])

    /// Enforced settings the server reads per protocol, so a `protocol NAME { }` filter may set them; any other
    /// enforced setting there would apply to every protocol or none, and is refused. (`mail_plugins` entries are
    /// checked one by one.)
    public static let perProtocol: [String: Set<String>] = [
        "imap": ["login_greeting", "auth_allow_cleartext", "auth_failure_delay", "auth_main_password_alone",
                 "imap_max_line_length",
                 "imap_unauthenticate", "quota_mail_size", "listen", "mail_plugins"],
        "pop3": ["login_greeting", "auth_allow_cleartext", "auth_failure_delay", "auth_main_password_alone",
                 "pop3_uidl_format", "listen",
                 "mail_plugins"],
        "lmtp": ["hostname", "recipient_delimiter", "lmtp_save_to_detail_mailbox", "lmtp_add_received_header",
                 "lmtp_user_concurrency_limit", "quota_mail_size", "listen", "login_trusted_networks", "mail_plugins"],
    ]

    /// `mail_plugins` entries. Quota and ACL plugins enforce nothing without their settings, which Aerie refuses.
    public static let mailPlugins: [String: SettingSupport] = table([
        (.noEffect("Aerie has no quota plugin; without quota settings (which Aerie refuses) Dovecot's enforces "
                   + "nothing either"), ["quota", "imap_quota"]),
        (.noEffect("Aerie has no ACL plugin; without acl_driver (which Aerie refuses) Dovecot's enforces nothing "
                   + "either"), ["acl", "imap_acl"]),
        (.notImplemented("mail is not encrypted at rest by Aerie; encrypt the volume, e.g. with LUKS"), ["mail_crypt"]),
        (.notImplemented("Aerie stores messages uncompressed"), ["zlib", "mail_compress", "imap_zlib"]),
        (.notImplemented(notYet), [
            "fts", "fts_solr", "fts_flatcurve", "fts_lucene", "trash", "lazy_expunge", "notify", "push_notification",
            "mail_log", "virtual", "last_login", "welcome", "listescape", "quota_clone", "expire", "stats",
            "old_stats", "replication", "pop3_migration", "imap_sieve", "mail_lua", "imap_filter_sieve",
            "fts_squat", "autocreate", "charset_alias", "var_expand_crypt", "snarf", "acl_dict",
        ]),
    ])

    /// `mail_driver` values.
    public static let mailDrivers: [String: SettingSupport] = table([
        (.enforced, ["maildir"]),
        (.notImplemented("Aerie stores mail as Maildir: use mail_driver = maildir"),
         ["sdbox", "mdbox", "mbox", "imapc", "pop3c", "obox", "raw", "shared", "fail"]),
    ])

    /// `mailbox_list_layout` values.
    public static let mailboxListLayouts: [String: SettingSupport] = table([
        (.enforced, ["fs", "Maildir++"]),
        (.notImplemented("use mailbox_list_layout = fs or Maildir++"), ["index"]),
    ])

    /// passdb and userdb drivers.
    public static let authDrivers: [String: SettingSupport] = table([
        (.enforced, ["passwd-file", "static", "prefetch", "ldap", "sql"]),
        (.notImplemented("OAuth2 tokens are checked by auth_mechanisms = oauthbearer xoauth2 with the oauth2 { } "
                         + "settings, not by a passdb"), ["oauth2"]),
        (.notImplemented("use a passwd-file, ldap or sql passdb and userdb (or a static userdb)"), [
            "pam", "passwd", "shadow", "bsdauth", "checkpassword", "lua",
            "imap", "dict", "vpopmail",
        ]),
    ])

    /// `auth_mechanisms` values; enforced ones are the SASL module's `SASLMechanism` cases.
    public static let authMechanisms: [String: SettingSupport] = table([
        (.enforced, [
            "plain", "login", "scram-sha-256", "scram-sha-256-plus", "scram-sha-1", "external", "oauthbearer", "xoauth2",
        ]),
        (.notImplemented("SCRAM-SHA-1 is weak; use scram-sha-256-plus (channel binding) or scram-sha-256"), [
            "scram-sha-1-plus",
        ]),
        (.notImplemented("Aerie offers PLAIN, LOGIN, SCRAM-SHA-256, EXTERNAL, OAUTHBEARER, XOAUTH2; use "
                         + "auth_mechanisms = plain login scram-sha-256"), [
            "cram-md5", "digest-md5", "gssapi",
            "gss-spnego", "anonymous", "otp", "ntlm", "apop", "winbind", "rpa", "skey",
        ]),
    ])

    /// Services Aerie runs; any other `service NAME { }` is another process Dovecot would run.
    public static let services: [String: SettingSupport] = table([
        (.enforced, ["imap-login", "pop3-login", "lmtp", "imap", "pop3", "auth-worker", "aerie-admin"]),
        (.noEffect("Aerie runs no such process: logging and statistics are built into its processes, the rest absent"),
         ["dict", "dict-async", "stats", "anvil", "config", "log", "indexer",
          "indexer-worker", "imap-hibernate", "aggregator", "replicator", "director"]),
        (.notImplemented("Aerie does not offer this service's sockets"),
         ["auth", "submission", "submission-login", "managesieve", "managesieve-login", "doveadm", "imap-urlauth",
          "imap-urlauth-login", "imap-urlauth-worker", "quota-status", "quota-warning", "health-check"]),
    ])

    /// A `service NAME { KEY }` setting in context. vsz_limit and process_limit apply to the process kind that runs
    /// the service (imap, pop3, lmtp: the mail service; auth-worker: the auth process);
    /// client_limit bounds imap-login's pre-login connections (IMAP and POP3 together) and, × process_limit, the
    /// sessions of imap, pop3 and lmtp.
    static func serviceSetting(_ key: String, service: String) -> SettingSupport? {
        if ["vsz_limit", "process_limit"].contains(key), ["imap-login", "pop3-login"].contains(service) {
            return .noEffect("pre-login IMAP and POP3 run in one login process (in the mail service with "
                             + "login_process = no), not one per connection, and it relays every TLS session, so a "
                             + "memory-limit restart would end them all; client_limit here bounds pre-login connections")
        }
        if key == "client_limit", !["imap-login", "imap", "pop3", "lmtp"].contains(service) {
            return .notImplemented("client_limit bounds imap-login's pre-login IMAP and POP3 connections together "
                                   + "(set it there) and the sessions of imap, pop3 and lmtp")
        }
        return Self.service[key]
    }

    /// Lookup by scope name as the builder uses it.
    static func scope(_ name: String) -> [String: SettingSupport] {
        switch name {
        case "service": return service
        case "inet_listener": return inetListener
        case "unix_listener", "fifo_listener": return unixListener
        case "passdb": return passdb
        case "userdb": return userdb
        case "namespace": return namespace
        case "mailbox": return mailbox
        default: return global
        }
    }
}

extension Support {
    static let idleKillNote = "a per-uid mail process (users not of mail_uid, `login_process = yes` as root) with no "
        + "session for this long exits, and the next login of its uid starts a new one (0: never); the other process "
        + "kinds stay long-lived (login, auth, key workers, and the mail service of mail_uid's users, which holds the "
        + "LMTP listener): started with the server, restarted when they end"

    /// What an enforced setting does where that is not obvious from its Dovecot meaning (the README's last column).
    public static let enforcedNotes: [String: String] = [
        "default_idle_kill_interval": idleKillNote,
        "idle_kill_interval": "read from `service imap` and `service pop3` (the shorter), else "
            + "default_idle_kill_interval: " + idleKillNote,
    ]

    /// The README's table: for each scope, the settings grouped by what they do in Aerie. `aerie conf settings`
    /// prints it; a unit test keeps the README's copy equal to it.
    public static func markdown() -> String {
        let scopes: [(String, [String: SettingSupport])] = [
            ("Settings", global), ("`service { }`", service), ("`service` names", services),
            ("`inet_listener { }`", inetListener), ("`unix_listener { }`", unixListener), ("`passdb { }`", passdb),
            ("`userdb { }`", userdb), ("passdb / userdb drivers", authDrivers), ("`auth_mechanisms`", authMechanisms),
            ("`namespace { }`", namespace), ("`mailbox { }`", mailbox), ("Sections", sections),
            ("`protocol` names", protocols), ("`mail_plugins`", mailPlugins), ("`mail_driver`", mailDrivers),
            ("`mailbox_list_layout`", mailboxListLayouts),
        ]
        var out = "| Scope | Names | Aerie | Why, or what to do instead |\n|---|---|---|---|\n"
        for (scope, table) in scopes {
            var groups: [(SettingSupport, [String])] = []
            var noted: [(String, String)] = []
            for name in table.keys.sorted() {
                let support = table[name]!
                if support == .enforced, let note = enforcedNotes[name] {
                    noted.append((name, note))
                } else if let i = groups.firstIndex(where: { $0.0 == support }) { groups[i].1.append(name) } else {
                    groups.append((support, [name]))
                }
            }
            func rank(_ s: SettingSupport) -> Int {
                switch s {
                case .enforced: return 0
                case .noEffect: return 1
                case .notImplemented: return 2
                }
            }
            groups.sort { rank($0.0) != rank($1.0) ? rank($0.0) < rank($1.0) : $0.1[0] < $1.1[0] }
            for (support, names) in groups {
                let list = names.map { "`\($0)`" }.joined(separator: " ")
                switch support {
                case .enforced:
                    out += "| \(scope) | \(list) | enforced | |\n"
                    for (name, note) in noted { out += "| \(scope) | `\(name)` | enforced | \(note) |\n" }
                case .noEffect(let why): out += "| \(scope) | \(list) | no effect (warning) | \(why) |\n"
                case .notImplemented(let hint):
                    out += "| \(scope) | \(list) | not yet: refused unless default | \(hint) |\n"
                }
            }
        }
        for name in perProtocol.keys.sorted() {
            let list = perProtocol[name]!.sorted().map { "`\($0)`" }.joined(separator: " ")
            out += "| `protocol \(name) { }` | \(list) | enforced for \(name) only | any other enforced setting is "
                + "refused there: Aerie would apply it to every protocol |\n"
        }
        return out
    }
}
