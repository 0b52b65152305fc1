"""The shared helpers of conftest.py behave as the other files rely on: `poll` returns the first truthy
value and fails at its deadline, `wait_for_state` follows an instance on every clock, and a server's
stderr can be read while it runs."""

import time

import botocore.exceptions
import pytest

from conftest import advance, fails, instance_state, launch_ids, poll, wait_for_state


def test_poll_returns_the_first_truthy_value():
    calls = []

    def third_time():
        calls.append(1)
        return len(calls) if len(calls) >= 3 else 0

    assert poll(third_time, timeout=30, interval=0) == 3
    assert len(calls) == 3


def test_poll_fails_at_its_deadline_and_names_what_it_waited_for():
    t0 = time.monotonic()
    with pytest.raises(pytest.fail.Exception) as e:
        poll(lambda: None, timeout=0.2, interval=0.01, what="nothing at all")
    assert time.monotonic() - t0 >= 0.2
    assert "nothing at all" in str(e.value)


def test_poll_treats_only_the_listed_exceptions_as_not_yet():
    seen = []

    def flaky():
        seen.append(1)
        if len(seen) < 2:
            raise KeyError("not yet")
        return "done"

    assert poll(flaky, timeout=30, interval=0, ignore=KeyError) == "done"
    with pytest.raises(ValueError):
        poll(lambda: int("x"), timeout=30, ignore=KeyError)


def test_wait_for_state_on_the_instant_clock(ec2):
    [iid] = launch_ids(ec2)
    ec2.stop_instances(InstanceIds=[iid])
    inst = wait_for_state(ec2, iid, "stopped")
    assert inst["InstanceId"] == iid and inst["State"]["Name"] == "stopped"


def test_wait_for_state_advances_a_virtual_clock(vserver):
    c = vserver.client()
    [iid] = launch_ids(c)
    assert instance_state(c, iid) == "pending"
    before = vserver.now()
    inst = wait_for_state(c, iid, "running", server=vserver, step=2)
    assert inst["State"]["Name"] == "running"
    waited = (vserver.now() - before).total_seconds()
    assert 8 <= waited <= 10, "launch takes 8 s on the virtual clock; steps of 2 s overshoot by less than one"
    # Already there: no further advance.
    again = vserver.now()
    wait_for_state(c, iid, "running", server=vserver, step=2)
    assert vserver.now() == again


def test_wait_for_state_gives_up_when_the_state_never_comes(vserver):
    c = vserver.client()
    [iid] = launch_ids(c)
    with pytest.raises(pytest.fail.Exception):
        wait_for_state(c, iid, "running", timeout=0.3)  # nobody advances the virtual clock


def test_advance_returns_the_new_time(vserver):
    start = vserver.now()
    assert advance(vserver, 90)["now"].startswith("2026-01-01T00:01:30")
    assert (vserver.now() - start).total_seconds() == 90


def test_stderr_is_readable_while_the_server_runs(make_server):
    s = make_server("--ephemeral")
    assert poll(lambda: "credentials-file" in s.stderr(), what="the startup line")
    assert s.proc.poll() is None, "still running"


def test_fails_returns_code_message_and_status(ec2):
    code, message, status = fails(ec2.describe_instances, InstanceIds=["i-0123456789abcdef0"])
    assert (code, status) == ("InvalidInstanceID.NotFound", 400)
    assert "i-0123456789abcdef0" in message
    with pytest.raises(botocore.exceptions.ClientError):
        ec2.describe_instances(InstanceIds=["i-0123456789abcdef0"])
