/// Every setting Aerie knows, with its type and default. Names are Dovecot 2.4's; defaults are Aerie's secure
/// defaults where they differ from Dovecot (ssl, cipher list, first_valid_uid ... see DESIGN.md, Configuration).
enum Registry {
    static let u32 = SettingType.uint(max: UInt64(UInt32.max))

    /// Modern AEAD-only suites with forward secrecy (TLS 1.2); TLS 1.3 suites are governed by ssl_cipher_suites.
    static let modernCipherList =
        "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-CHACHA20-POLY1305:"
        + "ECDHE-RSA-CHACHA20-POLY1305:ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256"

    static let global = SettingTable([
        // Core / process
        SettingDef("dovecot_config_version", .string), SettingDef("dovecot_storage_version", .string),
        SettingDef("protocols", .list, "imap pop3"), SettingDef("listen", .list, "*, ::"),
        // Aerie's own run/state directories so it never collides with a Dovecot on the same host.
        SettingDef("base_dir", .string, "/run/aerie"), SettingDef("state_dir", .string, "/var/lib/aerie"),
        SettingDef("instance_name", .string, "aerie"), SettingDef("shutdown_clients", .bool, "yes"),
        SettingDef("verbose_proctitle", .bool, "no"), SettingDef("import_environment", .string),
        SettingDef("haproxy_trusted_networks", .list), SettingDef("haproxy_timeout", .duration, "3 secs"),
        SettingDef("default_internal_user", .string, "dovecot"), SettingDef("default_internal_group", .string, "dovecot"),
        SettingDef("default_login_user", .string, "dovenull"), SettingDef("default_process_limit", u32, "100"),
        SettingDef("default_client_limit", u32, "1000"), SettingDef("default_vsz_limit", .size, "256M"),
        SettingDef("default_idle_kill_interval", .duration, "1 min"),
        SettingDef("version_ignore", .bool, "no"), SettingDef("hostname", .string),
        // Logging
        SettingDef("log_path", .string, "syslog"), SettingDef("info_log_path", .string), SettingDef("debug_log_path", .string),
        SettingDef("log_timestamp", .string, "%b %d %H:%M:%S "), SettingDef("syslog_facility", .string, "mail"),
        SettingDef("log_debug", .string), SettingDef("log_core_filter", .string), SettingDef("mail_debug", .bool, "no"),
        SettingDef("login_log_format_elements", .string,
                   "user=<%{user}> method=%{mechanism} rip=%{remote_ip} lip=%{local_ip} mpid=%{mail_pid} %{secured} session=<%{session}>"),
        SettingDef("login_log_format", .string, "%{message}: %{elements}"), SettingDef("mail_log_prefix", .string),
        SettingDef("stats_writer_socket_path", .string, "stats-writer"),
        // Authentication
        SettingDef("auth_mechanisms", .list, "plain"), SettingDef("auth_allow_cleartext", .bool, "no"),
        SettingDef("auth_allow_weak_schemes", .bool, "no"), SettingDef("auth_failure_delay", .duration, "2 secs"),
        SettingDef("auth_internal_failure_delay", .duration, "2 secs"),
        // Aerie's own: per-IP penalties and bans (issue 14), kept by the auth process.
        SettingDef("auth_penalty_max_delay", .duration, "15 secs"), SettingDef("auth_penalty_ipv6_prefix", u32, "64"),
        SettingDef("auth_ban_failures", u32, "20"), SettingDef("auth_ban_distinct_users", u32, "10"),
        SettingDef("auth_ban_window", .duration, "10 mins"), SettingDef("auth_ban_time", .duration, "1 hour"),
        // Aerie's own: what separates the password from a TOTP code (issue 13).
        SettingDef("auth_totp_separator", .string, ":"),
        SettingDef("auth_main_password_alone", .enumeration(["unless_totp", "no"]), "unless_totp"),
        // Aerie's own: rehash weaker stored passwords after a successful login ("SCHEME [rounds=N]"; "" = off).
        SettingDef("auth_rehash_scheme", .string, ""),
        // Aerie's own: pre-login limits (issue 14), kept by the serving process.
        SettingDef("login_max_unauthenticated_per_ip", u32, "20"),
        SettingDef("login_max_connection_rate_per_ip", u32, "10"),
        SettingDef("login_tls_handshake_timeout", .duration, "10 secs"),
        SettingDef("login_ip_limits_exempt_networks", .list, "127.0.0.0/8 ::1"),
        SettingDef("auth_cache_size", .size, "0"), SettingDef("auth_cache_ttl", .duration, "1 hour"),
        SettingDef("auth_cache_negative_ttl", .duration, "1 hour"), SettingDef("auth_cache_verify_password_with_worker", .bool, "no"),
        SettingDef("auth_verbose", .bool, "no"), SettingDef("auth_verbose_passwords", .passwordLogging, "no"),
        SettingDef("auth_debug", .bool, "no", removedIn24: "Dovecot 2.4 removed it; use log_debug = category=auth"),
        SettingDef("auth_debug_passwords", .bool, "no"), SettingDef("auth_username_format", .variableString, "%{user | lower}"),
        SettingDef("auth_username_chars", .string, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@"),
        SettingDef("auth_username_translation", .string), SettingDef("auth_realms", .list), SettingDef("auth_default_domain", .string),
        SettingDef("auth_master_user_separator", .string), SettingDef("auth_anonymous_username", .string, "anonymous"),
        SettingDef("auth_worker_max_count", u32, "30",
                   removedIn24: "Dovecot 2.4 removed it; use service auth-worker { process_limit = N } (mapped there)"),
        SettingDef("auth_ssl_require_client_cert", .bool, "no"), SettingDef("auth_ssl_username_from_cert", .bool, "no"),
        SettingDef("auth_socket_path", .string, "auth-userdb"), SettingDef("auth_proxy_self", .list),
        SettingDef("auth_gssapi_hostname", .string), SettingDef("auth_krb5_keytab", .string),
        SettingDef("auth_use_winbind", .bool, "no"), SettingDef("auth_winbind_helper_path", .string, "/usr/bin/ntlm_auth"),
        SettingDef("auth_policy_server_url", .string), SettingDef("auth_policy_server_api_header", .string),
        SettingDef("auth_policy_hash_mech", .enumeration(["md4", "md5", "sha1", "sha256", "sha512"]), "sha256"),
        SettingDef("auth_policy_hash_nonce", .string), SettingDef("auth_policy_hash_truncate", u32, "12"),
        SettingDef("auth_policy_reject_on_fail", .bool, "no"), SettingDef("auth_policy_check_before_auth", .bool, "yes"),
        SettingDef("auth_policy_check_after_auth", .bool, "yes"), SettingDef("auth_policy_report_after_auth", .bool, "yes"),
        SettingDef("auth_policy_log_only", .bool, "no"), SettingDef("auth_policy_request_attributes", .string),
        // TLS
        SettingDef("ssl", .enumeration(["no", "yes", "required"]), "required"),
        SettingDef("ssl_server_cert_file", .file), SettingDef("ssl_server_key_file", .file), SettingDef("ssl_server_ca_file", .file),
        SettingDef("ssl_server_key_password", .string), SettingDef("ssl_server_dh_file", .file),
        SettingDef("ssl_server_alt_cert_file", .file), SettingDef("ssl_server_alt_key_file", .file),
        SettingDef("ssl_server_prefer_ciphers", .enumeration(["client", "server"]), "client"),
        SettingDef("ssl_server_request_client_cert", .bool, "no"), SettingDef("ssl_server_require_crl", .bool, "yes"),
        SettingDef("ssl_server_cert_username_field", .string, "commonName"),
        // `service aerie-admin { inet_listener }`: `aerie adm` over TLS with client certificates of this CA only.
        SettingDef("admin_ssl_ca_file", .file), SettingDef("admin_ssl_require_crl", .bool, "yes"),
        SettingDef("admin_allowed_subjects", .string),
        SettingDef("ssl_min_protocol", .enumeration(["ANY", "TLSv1", "TLSv1.1", "TLSv1.2", "TLSv1.3"]), "TLSv1.2"),
        SettingDef("ssl_cipher_list", .cipherList, modernCipherList), SettingDef("ssl_cipher_suites", .cipherSuites),
        SettingDef("ssl_curve_list", .string), SettingDef("ssl_options", .list), SettingDef("ssl_crypto_device", .string),
        SettingDef("ssl_client_ca_file", .file), SettingDef("ssl_client_ca_dir", .string), SettingDef("ssl_client_cert_file", .file),
        SettingDef("ssl_client_key_file", .file), SettingDef("ssl_client_require_valid_cert", .bool, "yes"),
        SettingDef("verbose_ssl", .bool, "no", removedIn24: "Dovecot 2.4 removed it; use log_debug = category=ssl"),
        // Login
        SettingDef("login_greeting", .string, "Aerie ready."), SettingDef("login_trusted_networks", .list),
        SettingDef("login_source_ips", .list), SettingDef("login_plugins", .list), SettingDef("login_plugin_dir", .string),
        SettingDef("login_proxy_max_disconnect_delay", .duration, "0"),
        // Aerie-specific (no Dovecot equivalent; Dovecot hardcodes its pre-login timeout): idle time before login.
        SettingDef("login_timeout", .duration, "1 min"),
        // Aerie-specific (Dovecot has no UNAUTHENTICATE): RFC 8437 §8 asks servers for a way to turn the command off.
        SettingDef("imap_unauthenticate", .bool, "no"),
        // Mail storage
        SettingDef("mail_driver", .string), SettingDef("mail_path", .variableString), SettingDef("mail_home", .variableString),
        SettingDef("mail_inbox_path", .variableString), SettingDef("mail_index_path", .variableString),
        SettingDef("mail_index_private_path", .variableString), SettingDef("mail_control_path", .variableString),
        SettingDef("mail_alt_path", .variableString), SettingDef("mail_volatile_path", .variableString),
        // Maildir++ is what a maildir mail_driver gets when no layout is named (Dovecot, and issue 3).
        SettingDef("mailbox_list_layout", .enumeration(["fs", "Maildir++", "index"]), "Maildir++"),
        SettingDef("mailbox_list_index", .bool, "yes"), SettingDef("mailbox_list_utf8", .bool, "no"),
        SettingDef("mail_uid", .string), SettingDef("mail_gid", .string), SettingDef("mail_privileged_group", .string),
        SettingDef("mail_access_groups", .list), SettingDef("mail_plugins", .boolList), SettingDef("mail_plugin_dir", .string, "/usr/lib/dovecot/modules"),
        SettingDef("mail_max_userip_connections", u32, "10"), SettingDef("first_valid_uid", u32, "500"), SettingDef("last_valid_uid", u32, "0"),
        SettingDef("first_valid_gid", u32, "1"), SettingDef("last_valid_gid", u32, "0"), SettingDef("mail_chroot", .string),
        SettingDef("valid_chroot_dirs", .list), SettingDef("mail_fsync", .enumeration(["optimized", "always", "never"]), "optimized"),
        SettingDef("mail_nfs_storage", .bool, "no"), SettingDef("mail_nfs_index", .bool, "no"), SettingDef("mmap_disable", .bool, "no"),
        SettingDef("lock_method", .enumeration(["fcntl", "flock", "dotlock"]), "fcntl"), SettingDef("mail_temp_dir", .string, "/tmp"),
        SettingDef("mail_save_crlf", .bool, "no"), SettingDef("mail_cache_fields", .list, "flags"), SettingDef("mail_always_cache_fields", .list),
        SettingDef("mail_never_cache_fields", .list, "imap.envelope"), SettingDef("mail_full_filesystem_access", .bool, "no"),
        SettingDef("mail_attachment_detection_options", .list), SettingDef("mail_ext_attachment_path", .string),
        SettingDef("mail_ext_attachment_hash", .string, "%{sha1}"), SettingDef("mail_ext_attachment_min_size", .size, "128k"),
        SettingDef("mailbox_idle_check_interval", .duration, "30 secs"), SettingDef("mail_max_keyword_length", u32, "50"),
        SettingDef("maildir_very_dirty_syncs", .bool, "no"), SettingDef("maildir_copy_with_hardlinks", .bool, "yes"),
        SettingDef("maildir_stat_dirs", .bool, "no"), SettingDef("mail_shared_explicit_inbox", .bool, "no"),
        SettingDef("mail_server_admin", .string), SettingDef("mail_server_comment", .string),
        SettingDef("mail_compress_save", .string), SettingDef("mail_compress_save_level", .string),
        SettingDef("mail_attribute_dict", .string, removedIn24: "Dovecot 2.4 uses mail_attribute { dict ... { } }"),
        // IMAP
        // Aerie's own (issue 14): a SEARCH, SORT or THREAD that runs longer ends with NO [LIMIT].
        SettingDef("imap_search_time_limit", .duration, "30 secs"), SettingDef("login_process", .bool, "yes"),
        SettingDef("imap_max_line_length", .size, "64k"), SettingDef("imap_idle_notify_interval", .duration, "2 mins"),
        SettingDef("imap_capability", .string), SettingDef("imap_client_workarounds", .list), SettingDef("imap_logout_format", .string,
                   "in=%{input} out=%{output} deleted=%{deleted} expunged=%{expunged} trashed=%{trashed} hdr_count=%{fetch_hdr_count} hdr_bytes=%{fetch_hdr_bytes} body_count=%{fetch_body_count} body_bytes=%{fetch_body_bytes}"),
        SettingDef("imap_id_send", .string, "name *"),
        SettingDef("imap_fetch_failure", .enumeration(["disconnect-immediately", "disconnect-after", "no-after"]), "disconnect-immediately"),
        SettingDef("imap_hibernate_timeout", .duration, "0"), SettingDef("imap_literal_minus", .bool, "no"),
        SettingDef("imap_metadata", .bool, "no"), SettingDef("imap_urlauth_host", .string), SettingDef("imap_acl_allow_anyone", .bool, "no"),
        // POP3
        SettingDef("pop3_uidl_format", .string, "%08Xu%08Xv"), SettingDef("pop3_no_flag_updates", .bool, "no"),
        SettingDef("pop3_enable_last", .bool, "no"), SettingDef("pop3_reuse_xuidl", .bool, "no"), SettingDef("pop3_lock_session", .bool, "no"),
        SettingDef("pop3_client_workarounds", .list), SettingDef("pop3_logout_format", .string), SettingDef("pop3_fast_size_lookups", .bool, "no"),
        SettingDef("pop3_deleted_flag", .string), SettingDef("pop3_delete_type", .enumeration(["default", "expunge", "flag"]), "default"),
        // LMTP / LDA / submission
        SettingDef("lmtp_save_to_detail_mailbox", .bool, "no"), SettingDef("lmtp_user_concurrency_limit", u32, "10"),
        SettingDef("lmtp_proxy", .bool, "no"), SettingDef("lmtp_rcpt_check_quota", .bool, "no"),
        SettingDef("lmtp_hdr_delivery_address", .enumeration(["final", "original", "none"]), "final"),
        SettingDef("lmtp_add_received_header", .bool, "yes"), SettingDef("lmtp_client_workarounds", .list),
        SettingDef("recipient_delimiter", .string, "+"), SettingDef("postmaster_address", .string),
        SettingDef("lda_mailbox_autocreate", .bool, "no"), SettingDef("lda_mailbox_autosubscribe", .bool, "no"),
        SettingDef("lda_original_recipient_header", .string), SettingDef("quota_full_tempfail", .bool, "no"),
        SettingDef("rejection_reason", .string), SettingDef("rejection_subject", .string),
        SettingDef("sendmail_path", .string, "/usr/sbin/sendmail"), SettingDef("submission_host", .string),
        SettingDef("submission_relay_host", .string),
        // Quota
        SettingDef("quota_driver", .string, "count"), SettingDef("quota_storage_size", .size, "0"),
        SettingDef("quota_storage_grace", .size, "10M"), SettingDef("quota_storage_percentage", u32, "100"),
        SettingDef("quota_storage_extra", .size, "0"), SettingDef("quota_message_count", u32, "0"),
        SettingDef("quota_message_percentage", u32, "100"),
        // Dovecot 2.4's default is unlimited (and it applies only with the quota plugin). Aerie applies it always and
        // defaults to 50M: LMTP keeps a message in memory until it is stored, so the bound is what keeps that finite.
        SettingDef("quota_mail_size", .size, "50M"),
        SettingDef("quota_exceeded_message", .string), SettingDef("quota_warning", .string),
        SettingDef("quota_rule", .string, removedIn24: "2.3 syntax; Dovecot 2.4 uses quota_storage_size / quota_message_count"),
        SettingDef("quota", .string, removedIn24: "2.3 syntax; Dovecot 2.4 uses quota NAME { } with quota_driver"),
        // ACL
        SettingDef("acl_driver", .string), SettingDef("acl_global_path", .string), SettingDef("acl_globals_only", .bool, "no"),
        SettingDef("acl_defaults_from_inbox", .bool, "no"), SettingDef("acl_cache_ttl", .duration, "30 secs"),
        SettingDef("acl_user", .string), SettingDef("acl_groups", .list),
        // Dict
        SettingDef("dict_driver", .string), SettingDef("dict_file_path", .string), SettingDef("dict_proxy_name", .string),
        SettingDef("dict_proxy_socket_path", .string, "dict"),
        // LDAP (2.4 moved these from dovecot-ldap.conf.ext into dovecot.conf)
        SettingDef("ldap_uris", .list), SettingDef("ldap_auth_dn", .string), SettingDef("ldap_auth_dn_password", .string),
        SettingDef("ldap_auth_sasl_mechanisms", .list), SettingDef("ldap_base", .string), SettingDef("ldap_starttls", .bool, "no"),
        SettingDef("ldap_scope", .enumeration(["base", "onelevel", "subtree"]), "subtree"), SettingDef("ldap_version", u32, "3"),
        SettingDef("ldap_deref", .enumeration(["never", "searching", "finding", "always"]), "never"),
        SettingDef("ldap_debug_level", u32, "0"), SettingDef("ldap_connection_group", .string),
        // OAuth2 (2.4: the oauth2 { } filter, read by the OAUTHBEARER and XOAUTH2 mechanisms)
        SettingDef("oauth2_tokeninfo_url", .string), SettingDef("oauth2_grant_url", .string),
        SettingDef("oauth2_introspection_url", .string), SettingDef("oauth2_scope", .list),
        SettingDef("oauth2_introspection_mode", .string),
        SettingDef("oauth2_username_validation_format", .string, "%{user}"),
        SettingDef("oauth2_username_attribute", .string, "email"), SettingDef("oauth2_active_attribute", .string),
        SettingDef("oauth2_active_value", .string), SettingDef("oauth2_client_id", .string),
        SettingDef("oauth2_client_secret", .string), SettingDef("oauth2_issuers", .list),
        SettingDef("oauth2_openid_configuration_url", .string),
        SettingDef("oauth2_token_expire_grace", .duration, "60 secs"),
        SettingDef("oauth2_force_introspection", .bool, "no"), SettingDef("oauth2_send_auth_headers", .bool, "no"),
        SettingDef("oauth2_use_worker_with_mech", .bool, "no"),
        // SQL (2.4: sql_driver and pgsql HOST { parameters { } } replace dovecot-sql.conf.ext's connect =)
        SettingDef("sql_driver", .string),
        // Events / metrics
        SettingDef("event_exporter_driver", .string, "log"), SettingDef("event_exporter_format", .enumeration(["json", "tab-text"]), "json"),
        SettingDef("event_exporter_time_format", .enumeration(["rfc3339", "unix"]), "rfc3339"),
        SettingDef("event_exporter_http_url", .string), SettingDef("event_exporter_unix_path", .string),
        SettingDef("metric_filter", .string), SettingDef("metric_fields", .list), SettingDef("metric_group_by", .list),
        SettingDef("metric_exporter", .string), SettingDef("metric_exporter_include", .list), SettingDef("metric_description", .string),
    ])

    static let service = SettingTable([
        SettingDef("process_limit", u32), SettingDef("process_min_avail", u32), SettingDef("client_limit", u32),
        SettingDef("restart_request_count", u32, "unlimited"), SettingDef("vsz_limit", .size), SettingDef("user", .string),
        SettingDef("group", .string), SettingDef("chroot", .string), SettingDef("idle_kill_interval", .duration),
        SettingDef("executable", .string), SettingDef("type", .string), SettingDef("protocol", .string),
        SettingDef("extra_groups", .list), SettingDef("privileged_group", .string), SettingDef("drop_priv_before_exec", .bool, "no"),
    ], prefixes: ["service_"])

    static let inetListener = SettingTable([
        SettingDef("address", .list), SettingDef("port", .port), SettingDef("ssl", .bool, "no"),
        SettingDef("haproxy", .bool, "no"), SettingDef("reuse_port", .bool, "no"), SettingDef("type", .string),
    ], prefixes: ["inet_listener_"])

    static let unixListener = SettingTable([
        SettingDef("mode", .octal, "0600"), SettingDef("user", .string), SettingDef("group", .string),
        SettingDef("path", .string), SettingDef("type", .string),
    ], prefixes: ["unix_listener_", "fifo_listener_"])

    static let resultValues = ["return-ok", "return", "return-fail", "continue", "continue-ok", "continue-fail"]

    static let passdb = SettingTable([
        SettingDef("driver", .string), SettingDef("args", .string), SettingDef("passwd_file_path", .string),
        SettingDef("default_password_scheme", .string, "CRYPT"), SettingDef("deny", .bool, "no"), SettingDef("master", .bool, "no"),
        SettingDef("pass", .bool, "no"), SettingDef("result_success", .enumeration(resultValues), "return-ok"),
        SettingDef("result_failure", .enumeration(resultValues), "continue"),
        SettingDef("result_internalfail", .enumeration(resultValues), "continue"),
        SettingDef("skip", .enumeration(["never", "authenticated", "unauthenticated"]), "never"),
        SettingDef("mechanisms", .list), SettingDef("username_filter", .string), SettingDef("use_worker", .bool, "no"),
        SettingDef("override_fields", .string), SettingDef("default_fields", .string), SettingDef("service_name", .string),
        SettingDef("ldap_bind", .bool, "no"), SettingDef("ldap_bind_userdn", .string),
        SettingDef("ldap_filter", .string), SettingDef("query", .string), SettingDef("sql_query", .string),
        SettingDef("update_query", .string), SettingDef("sql_update_query", .string),
        SettingDef("password_query", .string), SettingDef("sql_password_query", .string),
    ], prefixes: ["passdb_"])

    static let userdb = SettingTable([
        SettingDef("driver", .string), SettingDef("args", .string), SettingDef("passwd_file_path", .string),
        SettingDef("result_success", .enumeration(resultValues), "return-ok"),
        SettingDef("result_failure", .enumeration(resultValues), "continue"),
        SettingDef("result_internalfail", .enumeration(resultValues), "continue"),
        SettingDef("skip", .enumeration(["never", "found", "notfound"]), "never"), SettingDef("use_worker", .bool, "no"),
        SettingDef("static_allow_all_users", .bool, "no"),
        SettingDef("override_fields", .string), SettingDef("default_fields", .string),
        SettingDef("ldap_filter", .string), SettingDef("ldap_iterate_filter", .string),
        SettingDef("query", .string), SettingDef("iterate_query", .string), SettingDef("sql_query", .string),
        SettingDef("sql_iterate_query", .string), SettingDef("user_query", .string),
        SettingDef("sql_user_query", .string),
    ], prefixes: ["userdb_"])

    static let namespace = SettingTable([
        SettingDef("type", .enumeration(["private", "shared", "public"]), "private"), SettingDef("separator", .string),
        SettingDef("prefix", .string), SettingDef("inbox", .bool, "no"), SettingDef("hidden", .bool, "no"),
        SettingDef("list", .enumeration(["yes", "no", "children"]), "yes"), SettingDef("subscriptions", .bool, "yes"),
        SettingDef("ignore_on_failure", .bool, "no"), SettingDef("disabled", .bool, "no"), SettingDef("order", u32, "0"),
        SettingDef("alias_for", .string),
    ], prefixes: ["namespace_"])

    static let mailbox = SettingTable([
        SettingDef("special_use", .list), SettingDef("auto", .enumeration(["no", "create", "subscribe"]), "no"),
        SettingDef("autoexpunge", .duration, "0"), SettingDef("autoexpunge_max_mails", u32, "0"), SettingDef("comment", .string),
    ], prefixes: ["mailbox_"])

    /// Named filters whose keys take the filter name as prefix, e.g. `auth_policy { server_url }` = auth_policy_server_url.
    static let prefixFilters: Set<String> = [
        "auth_policy", "quota", "dict", "metric", "event_exporter", "mail_attribute", "ldap", "oauth2",
    ]
}
