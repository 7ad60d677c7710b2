"""The hub's per-stream inbox: delivery order, idle wake-ups, ending, falling behind."""

import threading

from portal.live.inbox import IDLE, INBOX_SIZE, Subscription


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


def test_one_ticker_marks_heartbeats_due_per_stream(app, people):
    from portal.live.hub import Hub

    hub = Hub(app.config["REDIS_URL"], "unit.", heartbeat=lambda: 15)
    early = hub.open(people["client"].id)
    late = hub.open(people["staff"].id)
    try:
        late.next_beat = early.next_beat + 10
        hub.send_heartbeats(early.next_beat)
        assert early.beat_due and not late.beat_due
        assert early.get() == IDLE and not early.beat_due
        hub.send_heartbeats(early.next_beat - 1)  # the next one is 15 s later
        assert not early.beat_due
        hub.send_heartbeats(late.next_beat)
        assert late.get() == IDLE
    finally:
        hub.stop()


def test_events_come_before_a_due_heartbeat():
    inbox = Subscription(7)
    inbox.beat()
    inbox.deliver("a")
    assert [inbox.get(), inbox.get()] == ["a", IDLE]
