"""Password hashing runs off the gevent loop in a bounded pool, and costs the same for all."""

import os
import subprocess
import sys
import textwrap

import pytest

from portal.models import users as user_model

GEVENT_SCRIPT = textwrap.dedent(
    """
    from gevent import monkey
    monkey.patch_all()
    import gevent
    from gevent.monkey import get_original
    from portal.models import users
    from portal.infra import offload

    real_ident = get_original("_thread", "get_ident")
    loop_thread = real_ident()
    threads, original = set(), users.check_password_hash

    def spy(stored, password):
        threads.add(real_ident())
        return original(stored, password)

    users.check_password_hash = spy
    user = users.User(email="x@example.test")
    user.set_password("a long enough password")
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.001)) for _ in range(10_000)])
    jobs = [gevent.spawn(user.check_password, "wrong guess %d" % i) for i in range(6)]
    gevent.joinall(jobs)
    ticker.kill()
    pool = offload._pools[(__import__("os").getpid(), "passwords")]
    assert loop_thread not in threads, "hashed on the event loop"
    assert 1 <= len(threads) <= pool.maxsize == 2, (threads, pool.maxsize)
    assert ticks, "the loop was blocked while hashing"
    print("ok", len(threads), len(ticks))
    """
)


def test_hashing_runs_in_the_bounded_pool_not_on_the_loop():
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    result = subprocess.run(
        [sys.executable, "-c", GEVENT_SCRIPT],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok")


@pytest.fixture
def hash_calls(monkeypatch):
    calls = []
    original = user_model.check_password_hash

    def counting(stored, password):
        calls.append(stored)
        return original(stored, password)

    monkeypatch.setattr(user_model, "check_password_hash", counting)
    return calls


@pytest.mark.parametrize(
    "email,password",
    [
        ("nobody@example.test", "whatever password"),
        ("invited@example.test", "whatever password"),
        ("deactivated@example.test", "correct horse battery"),
        ("staff@example.test", "wrong password!!"),
        ("staff@example.test", "correct horse battery"),
    ],
)
def test_every_login_attempt_costs_exactly_one_hash(client, people, hash_calls, email, password):
    """Unknown, invited, deactivated, wrong and right: one scrypt each, so timing is flat."""
    client.csrf_token()
    hash_calls.clear()
    client.login(email, password)
    assert len(hash_calls) == 1
