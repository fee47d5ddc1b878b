extension IMAPCommandKind {
    /// The command's name as the client sends it, upper-cased, `UID ` before the UID forms (RFC 9051 §6.4.9):
    /// the key of the session's command table. No default case: a new kind must say its name.
    public var name: String {
        switch self {
        case .capability: "CAPABILITY"
        case .noop: "NOOP"
        case .logout: "LOGOUT"
        case .starttls: "STARTTLS"
        case .login: "LOGIN"
        case .authenticate: "AUTHENTICATE"
        case .id: "ID"
        case .enable: "ENABLE"
        case .select: "SELECT"
        case .examine: "EXAMINE"
        case .create: "CREATE"
        case .delete: "DELETE"
        case .rename: "RENAME"
        case .subscribe: "SUBSCRIBE"
        case .unsubscribe: "UNSUBSCRIBE"
        case .list: "LIST"
        case .lsub: "LSUB"
        case .namespace: "NAMESPACE"
        case .status: "STATUS"
        case .append: "APPEND"
        case .idle: "IDLE"
        case .check: "CHECK"
        case .close: "CLOSE"
        case .unselect: "UNSELECT"
        case .expunge: "EXPUNGE"
        case .uidExpunge: "UID EXPUNGE"
        case .search(let search): search.uid ? "UID SEARCH" : "SEARCH"
        case .fetch(let fetch): fetch.uid ? "UID FETCH" : "FETCH"
        case .store(let store): store.uid ? "UID STORE" : "STORE"
        case .copy(let uid, _, _): uid ? "UID COPY" : "COPY"
        case .move(let uid, _, _): uid ? "UID MOVE" : "MOVE"
        case .sort(let uid, _, _, _, _): uid ? "UID SORT" : "SORT"
        case .cancelUpdate: "CANCELUPDATE"
        case .notify: "NOTIFY"
        case .thread(let uid, _, _, _): uid ? "UID THREAD" : "THREAD"
        case .compress: "COMPRESS"
        case .getQuota: "GETQUOTA"
        case .getQuotaRoot: "GETQUOTAROOT"
        case .setQuota: "SETQUOTA"
        case .unauthenticate: "UNAUTHENTICATE"
        case .other(let name): name
        }
    }
}
