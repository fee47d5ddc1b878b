/// MIME parsing lives here (issue 3).
