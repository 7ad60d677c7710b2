"""Users, their sessions, passwords, invitations, emailed links, admin edits and throttling."""
