"""How the app runs: the launcher, embedded Redis, CLI commands, job queues, thread pool."""
