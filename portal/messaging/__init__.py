"""Rooms, messages, reading and unread counts, and the files attached to messages."""
