"""Email: who gets what, the client notification, reminders, the send log, preferences, SMTP."""
