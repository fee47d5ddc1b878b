/// POP3 session (issue 4).
