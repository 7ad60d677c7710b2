"""Live delivery: publishing events after commit and the per-process stream hub."""
