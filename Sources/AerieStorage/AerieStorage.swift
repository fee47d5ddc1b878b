/// Maildir storage lives here (issue 3).
