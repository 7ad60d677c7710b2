"""The hub's per-stream inbox: delivery order, idle wake-ups, ending, falling behind."""

import threading

from portal.live.hub import IDLE, INBOX_SIZE, Subscription


def test_events_come_out_in_order_then_idle():
    inbox = Subscription(7)
    inbox.deliver("a")
    inbox.deliver("b")
    assert [inbox.get(0), inbox.get(0), inbox.get(0)] == ["a", "b", IDLE]


def test_an_ended_inbox_returns_none_even_with_events_waiting():
    inbox = Subscription(7)
    inbox.deliver("a")
    inbox.end()
    assert inbox.ended and inbox.get(0) is None


def test_a_stream_that_falls_behind_is_ended():
    inbox = Subscription(7)
    for n in range(INBOX_SIZE + 1):
        inbox.deliver(n)
    assert inbox.ended and inbox.get(0) is None


def test_a_waiting_reader_wakes_for_an_event_from_another_thread():
    inbox = Subscription(7)
    got = []
    reader = threading.Thread(target=lambda: got.append(inbox.get(60)))
    reader.start()
    inbox.deliver("hello")
    reader.join(60)
    assert got == ["hello"]


def test_a_waiting_reader_wakes_when_ended():
    inbox = Subscription(7)
    got = []
    reader = threading.Thread(target=lambda: got.append(inbox.get(60)))
    reader.start()
    inbox.end()
    reader.join(60)
    assert got == [None]
