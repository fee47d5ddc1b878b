/// LMTP session (issue 4).
