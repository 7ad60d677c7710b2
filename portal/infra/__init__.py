"""The ground floor: Redis and the job queue, database wiring, work off the loop, limits."""
