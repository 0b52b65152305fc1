"""The instance lifecycle end to end: RunInstances, DescribeInstances, DescribeInstanceStatus and the
Start/Stop/Terminate/Reboot actions, in every clock mode, through boto3 (waiters and paginators
included). Error answers live in test_instance_errors.py."""

import datetime
import ipaddress
import re
import time

import botocore.exceptions
import pytest

from conftest import AL2023, CODES, FAST, Ticker, advance, error_of, launch, st

# AL2023 (Amazon Linux 2023 x86_64, EBS root) is hibernation-capable; hibernation needs an encrypted
# root volume large enough for the instance's memory.
HIB = {"HibernationOptions": {"Configured": True},
       "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": {"Encrypted": True}}]}
DEBIAN = "ami-0dd3b9c3a3c8c3435"  # Debian 12 x86_64, EBS root
WINDOWS_EBS = "ami-0a8378a372bc15589"  # Windows Server 2022, EBS root

USER_INITIATED = re.compile(r"^User initiated \(\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2} GMT\)$")
SHUTDOWN_REASON = {
    "Code": "Client.UserInitiatedShutdown",
    "Message": "Client.UserInitiatedShutdown: User initiated shutdown",
}
HIBERNATE_REASON = {
    "Code": "Client.UserInitiatedHibernate",
    "Message": "Client.UserInitiatedHibernate: User initiated hibernate",
}
# How long each transition takes (wall-clock seconds) in the realistic-clock tests.
REALISTIC = 3
# The virtual clock's default durations (seconds).
LAUNCH, START, STOP, HIBERNATE, FORCE_STOP, TERMINATE, STATUS_CHECKS, VISIBLE = 8, 8, 15, 25, 3, 8, 60, 3600


def ids_of(reservation):
    return [i["InstanceId"] for i in reservation["Instances"]]


def describe(c, iid):
    res = c.describe_instances(InstanceIds=[iid])["Reservations"]
    assert len(res) == 1 and len(res[0]["Instances"]) == 1
    return res[0]["Instances"][0]


def state(c, iid):
    return describe(c, iid)["State"]["Name"]


def all_instance_ids(c, **kw):
    return sorted(i["InstanceId"] for r in c.describe_instances(**kw)["Reservations"] for i in r["Instances"])


def statuses(c, iid, **kw):
    return c.describe_instance_status(InstanceIds=[iid], **kw)["InstanceStatuses"]


# ---------------------------------------------------------------------------------------------
# Waiters in every clock mode


def test_waiters_with_the_instant_clock(ec2):
    res = launch(ec2)
    iid = ids_of(res)[0]
    assert res["Instances"][0]["State"] == st("pending"), "the response shows the intermediate state"
    assert state(ec2, iid) == "running", "the next read sees the end state"
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    ec2.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert statuses(ec2, iid)[0]["InstanceStatus"]["Status"] == "ok"

    change = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (change["PreviousState"], change["CurrentState"]) == (st("running"), st("stopping"))
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert state(ec2, iid) == "stopped"

    change = ec2.start_instances(InstanceIds=[iid])["StartingInstances"][0]
    assert (change["PreviousState"], change["CurrentState"]) == (st("stopped"), st("pending"))
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    change = ec2.terminate_instances(InstanceIds=[iid])["TerminatingInstances"][0]
    assert (change["PreviousState"], change["CurrentState"]) == (st("running"), st("shutting-down"))
    ec2.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert state(ec2, iid) == "terminated"


def test_waiters_with_the_realistic_clock(make_server):
    # Each transition lasts REALISTIC seconds of wall time: the checks of an intermediate state right
    # after an action need that long a window, so it is generous enough for a loaded machine.
    s = make_server(
        "--ephemeral",
        "--clock",
        "realistic",
        "--transition-seconds",
        f"launch={REALISTIC},start={REALISTIC},stop={REALISTIC},hibernate={REALISTIC},force-stop=0.5,"
        f"terminate={REALISTIC},status-checks={REALISTIC}",
    )
    c = s.client()
    t0 = time.monotonic()
    iid = ids_of(launch(c))[0]
    assert state(c, iid) == "pending", "a launch takes a few seconds in this server"
    c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert time.monotonic() - t0 >= 0.9
    assert state(c, iid) == "running"
    assert statuses(c, iid)[0]["InstanceStatus"]["Status"] == "initializing"
    c.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig=FAST)
    status = statuses(c, iid)[0]
    assert status["InstanceStatus"] == {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    assert status["SystemStatus"]["Status"] == "ok"

    t0 = time.monotonic()
    c.stop_instances(InstanceIds=[iid])
    assert state(c, iid) == "stopping"
    c.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert time.monotonic() - t0 >= 0.9

    c.start_instances(InstanceIds=[iid])
    assert state(c, iid) == "pending"
    c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)

    t0 = time.monotonic()
    c.terminate_instances(InstanceIds=[iid])
    assert state(c, iid) == "shutting-down"
    c.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert time.monotonic() - t0 >= 0.9
    assert state(c, iid) == "terminated"


def test_force_stop_is_quicker_than_a_stop_with_the_realistic_clock(make_server):
    # A forced stop takes 1.5 s, a plain one a minute: the check of "stopping" right after the call
    # has 1.5 s, and the waiter 1.5 s of slack under the 3 s bound.
    s = make_server("--ephemeral", "--clock", "realistic", "--transition-seconds", "launch=0.2,stop=60,force-stop=1.5")
    c = s.client()
    iid = ids_of(launch(c))[0]
    c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    t0 = time.monotonic()
    c.stop_instances(InstanceIds=[iid], Force=True)
    assert state(c, iid) == "stopping"
    c.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 0.1, "MaxAttempts": 40})
    assert 0.4 <= time.monotonic() - t0 < 3


def test_waiters_with_the_virtual_clock_advanced_by_a_thread(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    with Ticker(vserver):
        c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        c.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig=FAST)
        c.stop_instances(InstanceIds=[iid])
        c.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
        c.start_instances(InstanceIds=[iid])
        c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
        c.terminate_instances(InstanceIds=[iid])
        c.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)
    assert state(c, iid) == "terminated"


def test_waiters_with_the_virtual_clock_advanced_before_waiting(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    with pytest.raises(botocore.exceptions.WaiterError):
        c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig={"Delay": 0.1, "MaxAttempts": 3})
    assert state(c, iid) == "pending", "virtual time stands still while nobody advances it"
    advance(vserver, LAUNCH)
    c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    advance(vserver, STATUS_CHECKS)
    c.get_waiter("instance_status_ok").wait(InstanceIds=[iid], WaiterConfig=FAST)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, STOP)
    c.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    c.start_instances(InstanceIds=[iid])
    advance(vserver, START)
    c.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    c.terminate_instances(InstanceIds=[iid])
    advance(vserver, TERMINATE)
    c.get_waiter("instance_terminated").wait(InstanceIds=[iid], WaiterConfig=FAST)


# ---------------------------------------------------------------------------------------------
# Transitions under the virtual clock


def test_virtual_clock_pending_to_running_and_status_checks(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    assert state(c, iid) == "pending"
    assert statuses(c, iid) == [], "only running instances without IncludeAllInstances"
    assert statuses(c, iid, IncludeAllInstances=True)[0]["InstanceStatus"]["Status"] == "not-applicable"
    advance(vserver, LAUNCH - 1)
    assert state(c, iid) == "pending"
    advance(vserver, 1)
    inst = describe(c, iid)
    assert inst["State"] == st("running")
    assert "StateReason" not in inst
    assert inst["PublicIpAddress"]

    status = statuses(c, iid)[0]
    assert status["InstanceState"] == st("running")
    assert status["InstanceStatus"] == {
        "Status": "initializing",
        "Details": [{"Name": "reachability", "Status": "initializing"}],
    }
    assert status["SystemStatus"]["Status"] == "initializing"
    advance(vserver, STATUS_CHECKS - 1)
    assert statuses(c, iid)[0]["InstanceStatus"]["Status"] == "initializing"
    advance(vserver, 1)
    status = statuses(c, iid)[0]
    assert status["InstanceStatus"] == {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    assert status["SystemStatus"] == {"Status": "ok", "Details": [{"Name": "reachability", "Status": "passed"}]}
    assert status["AvailabilityZone"] == inst["Placement"]["AvailabilityZone"]


def test_virtual_clock_stopping_to_stopped(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    running = describe(c, iid)
    change = c.stop_instances(InstanceIds=[iid])["StoppingInstances"]
    assert change == [{"InstanceId": iid, "CurrentState": st("stopping"), "PreviousState": st("running")}]
    inst = describe(c, iid)
    assert inst["State"] == st("stopping")
    assert inst["StateReason"] == SHUTDOWN_REASON
    # The stop happened at 2026-01-01T00:00:08Z on the virtual clock.
    assert inst["StateTransitionReason"] == "User initiated (2026-01-01 00:00:08 GMT)"
    assert statuses(c, iid) == [], "a stopping instance has no status without IncludeAllInstances"
    advance(vserver, STOP - 1)
    assert state(c, iid) == "stopping"
    advance(vserver, 1)
    inst = describe(c, iid)
    assert inst["State"] == st("stopped")
    assert inst["PrivateIpAddress"] == running["PrivateIpAddress"], "a stop keeps the private address"
    assert inst["BlockDeviceMappings"] == running["BlockDeviceMappings"], "and the EBS volumes"
    assert "PublicIpAddress" not in inst, "a stop releases the public address"
    assert inst["PublicDnsName"] == ""
    assert inst["StateTransitionReason"] == "User initiated (2026-01-01 00:00:08 GMT)"
    assert inst["StateReason"] == SHUTDOWN_REASON


def test_virtual_clock_start_after_stop(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    first_ip = describe(c, iid)["PublicIpAddress"]
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, STOP)
    change = c.start_instances(InstanceIds=[iid])["StartingInstances"]
    assert change == [{"InstanceId": iid, "CurrentState": st("pending"), "PreviousState": st("stopped")}]
    advance(vserver, START - 1)
    assert state(c, iid) == "pending"
    advance(vserver, 1)
    inst = describe(c, iid)
    assert inst["State"] == st("running")
    assert inst["StateTransitionReason"] == ""
    assert "StateReason" not in inst
    assert inst["PublicIpAddress"] and inst["PublicIpAddress"] != first_ip, "a start gets a new public address"
    assert statuses(c, iid)[0]["InstanceStatus"]["Status"] == "initializing"


def test_virtual_clock_hibernate_and_force_stop_durations(vserver):
    c = vserver.client()
    hib, plain = ids_of(launch(c, **HIB)) + ids_of(launch(c))
    advance(vserver, LAUNCH)
    c.stop_instances(InstanceIds=[hib], Hibernate=True)
    c.stop_instances(InstanceIds=[plain], Force=True)
    assert describe(c, hib)["StateReason"] == HIBERNATE_REASON
    assert describe(c, plain)["StateReason"] == SHUTDOWN_REASON
    advance(vserver, FORCE_STOP - 1)
    assert (state(c, hib), state(c, plain)) == ("stopping", "stopping")
    advance(vserver, 1)
    assert (state(c, hib), state(c, plain)) == ("stopping", "stopped")
    advance(vserver, HIBERNATE - FORCE_STOP - 1)
    assert state(c, hib) == "stopping"
    advance(vserver, 1)
    inst = describe(c, hib)
    assert inst["State"] == st("stopped")
    assert inst["StateReason"] == HIBERNATE_REASON
    assert USER_INITIATED.match(inst["StateTransitionReason"])


def test_virtual_clock_terminate_and_disappear(vserver):
    c = vserver.client()
    iid, other = ids_of(launch(c, count=2))
    advance(vserver, LAUNCH)
    change = c.terminate_instances(InstanceIds=[iid])["TerminatingInstances"]
    assert change == [{"InstanceId": iid, "CurrentState": st("shutting-down"), "PreviousState": st("running")}]
    inst = describe(c, iid)
    assert inst["State"] == st("shutting-down")
    assert inst["StateReason"] == SHUTDOWN_REASON
    assert inst["StateTransitionReason"] == "User initiated (2026-01-01 00:00:08 GMT)"
    advance(vserver, TERMINATE - 1)
    assert state(c, iid) == "shutting-down"
    advance(vserver, 1)
    inst = describe(c, iid)
    assert inst["State"] == st("terminated")
    assert inst["BlockDeviceMappings"] == [], "the root volume is deleted on termination"
    assert "PublicIpAddress" not in inst
    assert all_instance_ids(c) == sorted([iid, other])
    advance(vserver, VISIBLE - 1)
    assert state(c, iid) == "terminated", "terminated instances stay visible for an hour"
    advance(vserver, 1)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.describe_instances(InstanceIds=[iid])
    assert error_of(e) == ("InvalidInstanceID.NotFound", f"The instance ID '{iid}' does not exist", 400)
    assert all_instance_ids(c) == [other]
    assert c.describe_instance_status(IncludeAllInstances=True)["InstanceStatuses"][0]["InstanceId"] == other


def test_virtual_clock_launch_time_and_status_of_many(vserver):
    c = vserver.client()
    advance(vserver, 100)
    res = launch(c, count=2)
    for inst in res["Instances"]:
        assert inst["LaunchTime"] == datetime.datetime(2026, 1, 1, 0, 1, 40, tzinfo=datetime.timezone.utc)
    advance(vserver, LAUNCH)
    found = c.describe_instance_status()["InstanceStatuses"]
    assert sorted(s["InstanceId"] for s in found) == sorted(ids_of(res))
    by_filter = c.describe_instance_status(Filters=[{"Name": "instance-status.status", "Values": ["initializing"]}])
    assert len(by_filter["InstanceStatuses"]) == 2
    advance(vserver, STATUS_CHECKS)
    by_filter = c.describe_instance_status(Filters=[{"Name": "instance-status.status", "Values": ["initializing"]}])
    assert by_filter["InstanceStatuses"] == []
    by_filter = c.describe_instance_status(Filters=[{"Name": "instance-status.status", "Values": ["ok"]}])
    assert len(by_filter["InstanceStatuses"]) == 2


# ---------------------------------------------------------------------------------------------
# Every (state, action) pair through the server


NEVER_RAN = "Instance '{}' cannot be stopped as it has never reached the 'running' state."
CANNOT_STOP = "This instance '{}' is not in a state from which it can be stopped."
CANNOT_START = "The instance '{}' is not in a state from which it can be started."
CANNOT_REBOOT = "The instance '{}' is not in a state from which it can be rebooted."

# state -> action -> the state AWS answers with, or the IncorrectInstanceState message.
EXPECTED = {
    "pending": {
        "stop": NEVER_RAN,
        "force-stop": NEVER_RAN,
        "hibernate": NEVER_RAN,
        "start": "pending",
        "terminate": "shutting-down",
        "reboot": CANNOT_REBOOT,
    },
    "running": {
        "stop": "stopping",
        "force-stop": "stopping",
        "hibernate": "stopping",
        "start": "running",
        "terminate": "shutting-down",
        "reboot": "running",
    },
    "stopping": {
        "stop": "stopping",
        "force-stop": "stopping",
        "hibernate": "stopping",
        "start": CANNOT_START,
        "terminate": "shutting-down",
        "reboot": CANNOT_REBOOT,
    },
    "stopped": {
        "stop": "stopped",
        "force-stop": "stopped",
        "hibernate": "stopped",
        "start": "pending",
        "terminate": "shutting-down",
        "reboot": CANNOT_REBOOT,
    },
    "shutting-down": {
        "stop": CANNOT_STOP,
        "force-stop": CANNOT_STOP,
        "hibernate": CANNOT_STOP,
        "start": CANNOT_START,
        "terminate": "shutting-down",
        "reboot": CANNOT_REBOOT,
    },
    "terminated": {
        "stop": CANNOT_STOP,
        "force-stop": CANNOT_STOP,
        "hibernate": CANNOT_STOP,
        "start": CANNOT_START,
        "terminate": "terminated",
        "reboot": "terminated",
    },
}

ACTIONS = {
    "stop": lambda c, i: c.stop_instances(InstanceIds=[i])["StoppingInstances"],
    "force-stop": lambda c, i: c.stop_instances(InstanceIds=[i], Force=True)["StoppingInstances"],
    "hibernate": lambda c, i: c.stop_instances(InstanceIds=[i], Hibernate=True)["StoppingInstances"],
    "start": lambda c, i: c.start_instances(InstanceIds=[i])["StartingInstances"],
    "terminate": lambda c, i: c.terminate_instances(InstanceIds=[i])["TerminatingInstances"],
    "reboot": lambda c, i: c.reboot_instances(InstanceIds=[i]),
}


def instances_in_every_state(server):
    """One hibernation-enabled instance in each of the six states, held there by the virtual clock."""
    c = server.client()
    hib = HIB
    running, stopping, stopped, terminated, shutting_down = ids_of(launch(c, count=5, **hib))
    advance(server, LAUNCH)
    c.stop_instances(InstanceIds=[stopped])
    c.terminate_instances(InstanceIds=[terminated])
    advance(server, max(STOP, TERMINATE))
    c.stop_instances(InstanceIds=[stopping])
    c.terminate_instances(InstanceIds=[shutting_down])
    pending = ids_of(launch(c, **hib))[0]
    held = {
        "pending": pending,
        "running": running,
        "stopping": stopping,
        "stopped": stopped,
        "shutting-down": shutting_down,
        "terminated": terminated,
    }
    for name, iid in held.items():
        assert state(c, iid) == name
    return c, held


@pytest.mark.parametrize("action", list(ACTIONS))
def test_every_state_action_pair(vserver, action):
    c, held = instances_in_every_state(vserver)
    for from_state, iid in held.items():
        want = EXPECTED[from_state][action]
        if want in CODES:
            out = ACTIONS[action](c, iid)
            if action != "reboot":
                assert out == [{"InstanceId": iid, "CurrentState": st(want), "PreviousState": st(from_state)}], (
                    from_state,
                    action,
                )
            assert state(c, iid) == want, (from_state, action)
        else:
            with pytest.raises(botocore.exceptions.ClientError) as e:
                ACTIONS[action](c, iid)
            assert error_of(e) == ("IncorrectInstanceState", want.format(iid), 400), (from_state, action)
            assert state(c, iid) == from_state, f"a refused {action} changes nothing"


def test_stopping_a_stop_in_progress_keeps_its_schedule_and_force_shortens_it(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, 5)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, STOP - 5)
    assert state(c, iid) == "stopped", "a second stop does not restart the transition"

    c.start_instances(InstanceIds=[iid])
    advance(vserver, START)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, 1)
    c.stop_instances(InstanceIds=[iid], Force=True)
    advance(vserver, FORCE_STOP)
    assert state(c, iid) == "stopped", "a forced stop finishes a slow stop within the force-stop duration"


def test_a_start_in_progress_can_be_stopped(vserver):
    """`pending` after a start (the instance has run before) can be stopped, unlike a fresh launch."""
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, STOP)
    c.start_instances(InstanceIds=[iid])
    assert state(c, iid) == "pending"
    change = c.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (change["PreviousState"], change["CurrentState"]) == (st("pending"), st("stopping"))
    advance(vserver, STOP)
    assert state(c, iid) == "stopped"


# ---------------------------------------------------------------------------------------------
# The stuck host: hold-stopping / release-stopping


def test_a_held_stop_waits_for_force_in_the_instant_clock(ec2, server):
    iid = ids_of(launch(ec2))[0]
    assert server.control("POST", f"instances/{iid}/hold-stopping") == {
        "instanceId": iid,
        "state": "running",
        "held": True,
    }
    ec2.stop_instances(InstanceIds=[iid])
    assert state(ec2, iid) == "stopping"
    with pytest.raises(botocore.exceptions.WaiterError):
        ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig={"Delay": 0.1, "MaxAttempts": 3})
    again = ec2.stop_instances(InstanceIds=[iid])["StoppingInstances"][0]
    assert (again["PreviousState"], again["CurrentState"]) == (st("stopping"), st("stopping"))
    assert state(ec2, iid) == "stopping", "a plain stop does not unstick the host"
    forced = ec2.stop_instances(InstanceIds=[iid], Force=True)["StoppingInstances"][0]
    assert (forced["PreviousState"], forced["CurrentState"]) == (st("stopping"), st("stopping"))
    ec2.get_waiter("instance_stopped").wait(InstanceIds=[iid], WaiterConfig=FAST)
    # A forced stop clears the hold: the next stop after a start completes normally.
    ec2.start_instances(InstanceIds=[iid])
    ec2.stop_instances(InstanceIds=[iid])
    assert state(ec2, iid) == "stopped"


def test_a_held_stop_in_the_virtual_clock(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, 5)
    vserver.control("POST", f"instances/{iid}/hold-stopping")
    advance(vserver, 86400)
    assert state(c, iid) == "stopping", "a stuck host never finishes the stop"
    c.stop_instances(InstanceIds=[iid], Force=True)
    advance(vserver, FORCE_STOP - 1)
    assert state(c, iid) == "stopping"
    advance(vserver, 1)
    assert state(c, iid) == "stopped"


def test_release_stopping_lets_the_stop_finish(vserver):
    c = vserver.client()
    iid = ids_of(launch(c))[0]
    advance(vserver, LAUNCH)
    vserver.control("POST", f"instances/{iid}/hold-stopping")
    c.stop_instances(InstanceIds=[iid])
    advance(vserver, 1000)
    assert state(c, iid) == "stopping"
    assert vserver.control("POST", f"instances/{iid}/release-stopping")["held"] is False
    advance(vserver, STOP - 1)
    assert state(c, iid) == "stopping"
    advance(vserver, 1)
    assert state(c, iid) == "stopped"


def test_hold_stopping_of_an_unknown_instance_is_404(ec2, server):
    body = server.control("POST", "instances/i-0123456789abcdef0/hold-stopping", expect=404)
    assert "i-0123456789abcdef0" in body["error"]


# ---------------------------------------------------------------------------------------------
# RunInstances


def test_run_instances_fields(ec2):
    res = launch(ec2, **HIB)
    assert re.fullmatch(r"r-[0-9a-f]{17}", res["ReservationId"])
    assert res["OwnerId"] == "000000000000"
    assert res["Groups"] == []
    inst = res["Instances"][0]
    iid = inst["InstanceId"]
    assert re.fullmatch(r"i-[0-9a-f]{17}", iid)
    assert inst["ImageId"] == AL2023
    assert inst["InstanceType"] == "t3.micro"
    assert inst["State"] == st("pending")
    assert inst["StateReason"] == {"Code": "pending", "Message": "pending"}
    assert inst["StateTransitionReason"] == ""
    assert inst["AmiLaunchIndex"] == 0
    assert inst["Architecture"] == "x86_64"
    assert "Platform" not in inst
    assert inst["PlatformDetails"] == "Linux/UNIX"
    assert inst["HibernationOptions"] == {"Configured": True}
    assert inst["RootDeviceType"] == "ebs"
    assert inst["RootDeviceName"] == "/dev/xvda"
    assert inst["VirtualizationType"] == "hvm"
    assert inst["ProductCodes"] == []
    assert inst["PublicDnsName"] == ""
    assert "PublicIpAddress" not in inst, "no public address until running"
    assert inst["Monitoring"] == {"State": "disabled"}
    assert inst["ClientToken"]
    assert inst["CapacityReservationSpecification"] == {"CapacityReservationPreference": "open"}
    now = datetime.datetime.now(datetime.timezone.utc)
    assert abs((now - inst["LaunchTime"]).total_seconds()) < 60

    placement = inst["Placement"]
    assert placement["AvailabilityZone"].startswith("us-east-1")
    assert placement["Tenancy"] == "default" and placement["GroupName"] == ""
    subnet = ec2.describe_subnets(SubnetIds=[inst["SubnetId"]])["Subnets"][0]
    assert subnet["AvailabilityZone"] == placement["AvailabilityZone"]
    assert subnet["VpcId"] == inst["VpcId"]
    ip = inst["PrivateIpAddress"]
    assert ipaddress.ip_address(ip) in ipaddress.ip_network(subnet["CidrBlock"])
    assert inst["PrivateDnsName"] == f"ip-{ip.replace('.', '-')}.ec2.internal"

    vpc = ec2.describe_vpcs()["Vpcs"][0]
    group = ec2.describe_security_groups()["SecurityGroups"][0]
    assert inst["VpcId"] == vpc["VpcId"]
    assert inst["SecurityGroups"] == [{"GroupId": group["GroupId"], "GroupName": "default"}]

    [nic] = inst["NetworkInterfaces"]
    assert re.fullmatch(r"eni-[0-9a-f]{17}", nic["NetworkInterfaceId"])
    assert nic["PrivateIpAddress"] == ip
    assert nic["SubnetId"] == inst["SubnetId"] and nic["VpcId"] == inst["VpcId"]
    assert nic["Attachment"]["DeviceIndex"] == 0 and nic["Attachment"]["Status"] == "attached"
    assert nic["Status"] == "in-use"

    [bdm] = inst["BlockDeviceMappings"]
    assert bdm["DeviceName"] == "/dev/xvda"
    assert re.fullmatch(r"vol-[0-9a-f]{17}", bdm["Ebs"]["VolumeId"])
    assert bdm["Ebs"]["DeleteOnTermination"] is True and bdm["Ebs"]["Status"] == "attached"

    running = describe(ec2, iid)
    assert running["State"] == st("running")
    assert "StateReason" not in running
    pub = running["PublicIpAddress"]
    assert ipaddress.ip_address(pub)
    assert running["PublicDnsName"] == f"ec2-{pub.replace('.', '-')}.compute-1.amazonaws.com"
    assert running["NetworkInterfaces"][0]["Association"]["PublicIp"] == pub
    assert running["LaunchTime"] == inst["LaunchTime"]
    assert running["PrivateIpAddress"] == ip


def test_windows_image_sets_platform(ec2):
    inst = launch(ec2, ImageId=WINDOWS_EBS, InstanceType="t3.micro")["Instances"][0]
    assert inst["Platform"] == "windows"
    assert inst["PlatformDetails"] == "Windows"
    assert inst["RootDeviceName"] == "/dev/sda1"
    found = ec2.describe_instances(Filters=[{"Name": "platform", "Values": ["windows"]}])["Reservations"]
    assert [i["InstanceId"] for r in found for i in r["Instances"]] == [inst["InstanceId"]]


def test_stop_and_hibernate_reasons_and_start_clears_them(ec2):
    plain, hib = ids_of(launch(ec2)) + ids_of(launch(ec2, **HIB))
    ec2.stop_instances(InstanceIds=[plain])
    ec2.stop_instances(InstanceIds=[hib], Hibernate=True)
    before = datetime.datetime.now(datetime.timezone.utc).replace(microsecond=0)
    for iid, reason in [(plain, SHUTDOWN_REASON), (hib, HIBERNATE_REASON)]:
        inst = describe(ec2, iid)
        assert inst["State"] == st("stopped")
        assert inst["StateReason"] == reason
        m = USER_INITIATED.match(inst["StateTransitionReason"])
        assert m, inst["StateTransitionReason"]
        stamp = datetime.datetime.strptime(inst["StateTransitionReason"][16:35], "%Y-%m-%d %H:%M:%S")
        stamp = stamp.replace(tzinfo=datetime.timezone.utc)
        assert abs((before - stamp).total_seconds()) < 60, "the time is UTC"
    ec2.start_instances(InstanceIds=[plain, hib])
    for iid in (plain, hib):
        inst = describe(ec2, iid)
        assert inst["State"] == st("running")
        assert inst["StateTransitionReason"] == ""
        assert "StateReason" not in inst


def test_max_count_launches_several_in_one_reservation(ec2):
    res = launch(ec2, count=3)
    assert [i["AmiLaunchIndex"] for i in res["Instances"]] == [0, 1, 2]
    assert len(set(ids_of(res))) == 3
    assert len({i["PrivateIpAddress"] for i in res["Instances"]}) == 3
    found = ec2.describe_instances(InstanceIds=ids_of(res))["Reservations"]
    assert [r["ReservationId"] for r in found] == [res["ReservationId"]]
    assert sorted(i["InstanceId"] for i in found[0]["Instances"]) == sorted(ids_of(res))
    more = ec2.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=4)
    assert len(more["Instances"]) == 4, "between MinCount and MaxCount, EC2 launches as many as it can"
    assert more["ReservationId"] != res["ReservationId"]
    assert len(all_instance_ids(ec2)) == 7


def test_client_token_makes_run_instances_idempotent(ec2):
    kw = dict(ImageId=AL2023, InstanceType="t3.micro", MinCount=2, MaxCount=2, ClientToken="launch-once-42")
    first = ec2.run_instances(**kw)
    second = ec2.run_instances(**kw)
    assert second["ReservationId"] == first["ReservationId"]
    assert ids_of(second) == ids_of(first)
    assert [i["ClientToken"] for i in first["Instances"]] == ["launch-once-42"] * 2
    assert second["Instances"][0]["State"] == st("running"), "the replay shows the current state"
    assert all_instance_ids(ec2) == sorted(ids_of(first)), "no new instances"
    by_token = ec2.describe_instances(Filters=[{"Name": "client-token", "Values": ["launch-once-42"]}])
    assert sorted(i["InstanceId"] for r in by_token["Reservations"] for i in r["Instances"]) == sorted(ids_of(first))
    other = ec2.run_instances(**{**kw, "ClientToken": "launch-once-43"})
    assert other["ReservationId"] != first["ReservationId"]
    assert len(all_instance_ids(ec2)) == 4


def test_client_token_is_zonal_when_a_zone_is_given(ec2):
    """With an explicit zone the token's scope is the zone: the same token launches once per zone."""
    kw = dict(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, ClientToken="per-zone")
    in_a = ec2.run_instances(**kw, Placement={"AvailabilityZone": "us-east-1a"})
    in_b = ec2.run_instances(**kw, Placement={"AvailabilityZone": "us-east-1b"})
    again_a = ec2.run_instances(**kw, Placement={"AvailabilityZone": "us-east-1a"})
    assert in_a["ReservationId"] != in_b["ReservationId"]
    assert again_a["ReservationId"] == in_a["ReservationId"] and ids_of(again_a) == ids_of(in_a)
    assert in_b["Instances"][0]["Placement"]["AvailabilityZone"] == "us-east-1b"
    assert len(all_instance_ids(ec2)) == 2


def test_client_token_after_termination(vserver):
    c = vserver.client()
    kw = dict(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1, ClientToken="short-lived")
    first = c.run_instances(**kw)
    iid = ids_of(first)[0]
    advance(vserver, LAUNCH)
    c.terminate_instances(InstanceIds=[iid])
    advance(vserver, TERMINATE)
    replay = c.run_instances(**kw)
    assert replay["ReservationId"] == first["ReservationId"]
    assert replay["Instances"][0]["State"] == st("terminated"), "the original result, with the current state"
    advance(vserver, VISIBLE)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        c.run_instances(**kw)
    assert error_of(e)[0] == "IdempotentInstanceTerminated"
    assert all_instance_ids(c) == []


def test_tag_specifications_tag_the_instances(ec2):
    res = launch(
        ec2,
        count=2,
        TagSpecifications=[
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": "web"}, {"Key": "team", "Value": "blue"}]},
            {"ResourceType": "volume", "Tags": [{"Key": "disk", "Value": "root"}]},
        ],
    )
    want = [{"Key": "Name", "Value": "web"}, {"Key": "team", "Value": "blue"}]
    for inst in res["Instances"]:
        assert sorted(inst["Tags"], key=lambda t: t["Key"]) == want
        assert sorted(describe(ec2, inst["InstanceId"])["Tags"], key=lambda t: t["Key"]) == want
    tags = ec2.describe_tags(Filters=[{"Name": "resource-type", "Values": ["instance"]}])["Tags"]
    got = sorted((t["ResourceId"], t["Key"], t["Value"], t["ResourceType"]) for t in tags)
    assert got == sorted((iid, k, v, "instance") for iid in ids_of(res) for k, v in [("Name", "web"), ("team", "blue")])
    untagged = launch(ec2)["Instances"][0]
    assert "Tags" not in describe(ec2, untagged["InstanceId"])


def test_placement_availability_zone_is_honoured(ec2):
    inst = launch(ec2, Placement={"AvailabilityZone": "us-east-1c"})["Instances"][0]
    assert inst["Placement"]["AvailabilityZone"] == "us-east-1c"
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1c"]}])["Subnets"][0]
    assert inst["SubnetId"] == subnet["SubnetId"]
    assert inst["Placement"]["AvailabilityZoneId"] == subnet["AvailabilityZoneId"]
    assert ipaddress.ip_address(inst["PrivateIpAddress"]) in ipaddress.ip_network(subnet["CidrBlock"])


def test_subnet_id_is_honoured(ec2):
    subnet = ec2.describe_subnets(Filters=[{"Name": "availability-zone", "Values": ["us-east-1d"]}])["Subnets"][0]
    res = launch(ec2, count=2, SubnetId=subnet["SubnetId"])
    for inst in res["Instances"]:
        assert inst["SubnetId"] == subnet["SubnetId"]
        assert inst["Placement"]["AvailabilityZone"] == "us-east-1d"
        assert ipaddress.ip_address(inst["PrivateIpAddress"]) in ipaddress.ip_network(subnet["CidrBlock"])
        assert inst["NetworkInterfaces"][0]["SubnetId"] == subnet["SubnetId"]
    after = ec2.describe_subnets(SubnetIds=[subnet["SubnetId"]])["Subnets"][0]
    assert after["AvailableIpAddressCount"] == subnet["AvailableIpAddressCount"] - 2


def test_dns_names_outside_us_east_1(server):
    server.control("POST", "reset")
    c = server.client(region="eu-west-1")
    inst = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]
    assert inst["Placement"]["AvailabilityZone"].startswith("eu-west-1")
    ip = inst["PrivateIpAddress"]
    assert inst["PrivateDnsName"] == f"ip-{ip.replace('.', '-')}.eu-west-1.compute.internal"
    running = describe(c, inst["InstanceId"])
    pub = running["PublicIpAddress"]
    assert running["PublicDnsName"] == f"ec2-{pub.replace('.', '-')}.eu-west-1.compute.amazonaws.com"
    assert server.client().describe_instances()["Reservations"] == [], "regions do not share instances"


def test_reboot_keeps_a_running_instance_running(ec2):
    iid = ids_of(launch(ec2))[0]
    ec2.get_waiter("instance_running").wait(InstanceIds=[iid], WaiterConfig=FAST)
    out = ec2.reboot_instances(InstanceIds=[iid])
    assert out["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert state(ec2, iid) == "running"


def test_batch_actions_answer_in_request_order(ec2):
    a, b, c3 = ids_of(launch(ec2, count=3))
    ec2.stop_instances(InstanceIds=[b])
    out = ec2.stop_instances(InstanceIds=[c3, b, a])["StoppingInstances"]
    assert out == [
        {"InstanceId": c3, "CurrentState": st("stopping"), "PreviousState": st("running")},
        {"InstanceId": b, "CurrentState": st("stopped"), "PreviousState": st("stopped")},
        {"InstanceId": a, "CurrentState": st("stopping"), "PreviousState": st("running")},
    ]
    out = ec2.terminate_instances(InstanceIds=[a, c3])["TerminatingInstances"]
    assert out == [
        {"InstanceId": a, "CurrentState": st("shutting-down"), "PreviousState": st("stopped")},
        {"InstanceId": c3, "CurrentState": st("shutting-down"), "PreviousState": st("stopped")},
    ]
    out = ec2.terminate_instances(InstanceIds=[a])["TerminatingInstances"]
    assert out == [{"InstanceId": a, "CurrentState": st("terminated"), "PreviousState": st("terminated")}]


# ---------------------------------------------------------------------------------------------
# DescribeInstances: filters and pagination


@pytest.fixture
def fleet(ec2):
    """A: t3.micro AL2023 in 1a, running; B: t3.small AL2023 in 1b, stopped; C: t3.micro Debian in 1c."""
    tags = lambda **kv: [{"ResourceType": "instance", "Tags": [{"Key": k, "Value": v} for k, v in kv.items()]}]
    a = launch(ec2, Placement={"AvailabilityZone": "us-east-1a"}, TagSpecifications=tags(Name="web-1", env="prod"))
    b = launch(
        ec2,
        InstanceType="t3.small",
        Placement={"AvailabilityZone": "us-east-1b"},
        TagSpecifications=tags(Name="web-2", env="dev"),
    )
    c = launch(ec2, ImageId=DEBIAN, Placement={"AvailabilityZone": "us-east-1c"}, TagSpecifications=tags(Name="db-1"))
    ids = {"A": ids_of(a)[0], "B": ids_of(b)[0], "C": ids_of(c)[0]}
    ec2.stop_instances(InstanceIds=[ids["B"]])
    ips = {k: describe(ec2, v)["PrivateIpAddress"] for k, v in ids.items()}
    return ec2, ids, ips


def matching(c, ids, *filters):
    found = set(all_instance_ids(c, Filters=[{"Name": n, "Values": v} for n, v in filters]))
    names = {k for k, v in ids.items() if v in found}
    assert len(names) == len(found), "only the fleet's instances exist"
    return names


def test_describe_instances_filters(fleet):
    c, ids, ips = fleet
    assert matching(c, ids) == {"A", "B", "C"}
    assert matching(c, ids, ("instance-id", [ids["A"]])) == {"A"}
    assert matching(c, ids, ("instance-id", [ids["A"], ids["C"]])) == {"A", "C"}
    assert matching(c, ids, ("instance-state-name", ["running"])) == {"A", "C"}
    assert matching(c, ids, ("instance-state-name", ["stopped"])) == {"B"}
    assert matching(c, ids, ("instance-state-name", ["running", "stopped"])) == {"A", "B", "C"}
    assert matching(c, ids, ("instance-state-name", ["terminated"])) == set()
    assert matching(c, ids, ("instance-state-code", ["16"])) == {"A", "C"}
    assert matching(c, ids, ("instance-state-code", ["272"])) == {"A", "C"}, "only the low byte counts"
    assert matching(c, ids, ("instance-state-code", ["80"])) == {"B"}
    assert matching(c, ids, ("instance-type", ["t3.small"])) == {"B"}
    assert matching(c, ids, ("instance-type", ["t3.*"])) == {"A", "B", "C"}
    assert matching(c, ids, ("instance-type", ["t3.?icro"])) == {"A", "C"}
    assert matching(c, ids, ("availability-zone", ["us-east-1b"])) == {"B"}
    assert matching(c, ids, ("availability-zone", ["us-east-1a", "us-east-1c"])) == {"A", "C"}
    assert matching(c, ids, ("image-id", [DEBIAN])) == {"C"}
    assert matching(c, ids, ("image-id", [AL2023])) == {"A", "B"}
    assert matching(c, ids, ("private-ip-address", [ips["B"]])) == {"B"}
    assert matching(c, ids, ("private-ip-address", ["172.31.0.*"])) == {"A"}
    assert matching(c, ids, ("tag:Name", ["web-1"])) == {"A"}
    assert matching(c, ids, ("tag:Name", ["web-*"])) == {"A", "B"}
    assert matching(c, ids, ("tag:Name", ["???-1"])) == {"A"}
    assert matching(c, ids, ("tag:Name", ["WEB-*"])) == set(), "values are case-sensitive"
    assert matching(c, ids, ("tag:env", ["prod", "dev"])) == {"A", "B"}
    assert matching(c, ids, ("tag:Env", ["prod"])) == set(), "tag keys are case-sensitive"
    assert matching(c, ids, ("tag-key", ["env"])) == {"A", "B"}
    assert matching(c, ids, ("tag-key", ["Name"])) == {"A", "B", "C"}
    assert matching(c, ids, ("tag-value", ["dev"])) == {"B"}
    assert matching(c, ids, ("tag-value", ["*-1"])) == {"A", "C"}
    # AND across filters.
    assert matching(c, ids, ("tag:Name", ["web-*"]), ("instance-state-name", ["running"])) == {"A"}
    assert matching(c, ids, ("instance-type", ["t3.micro"]), ("image-id", [AL2023])) == {"A"}
    assert matching(c, ids, ("tag-key", ["env"]), ("availability-zone", ["us-east-1c"])) == set()
    # Filters combine with InstanceIds.
    found = all_instance_ids(
        c, InstanceIds=[ids["A"], ids["B"]], Filters=[{"Name": "instance-state-name", "Values": ["running"]}]
    )
    assert found == [ids["A"]]


def test_describe_instances_with_no_match_has_empty_reservations(ec2):
    launch(ec2)
    out = ec2.describe_instances(Filters=[{"Name": "instance-type", "Values": ["m5.large"]}])
    assert out["Reservations"] == []
    assert "NextToken" not in out


def test_describe_instances_pagination(ec2):
    reservations = [launch(ec2, count=4) for _ in range(3)]
    everything = sorted(i for r in reservations for i in ids_of(r))
    pages, token = [], None
    while True:
        kw = {"MaxResults": 5}
        if token:
            kw["NextToken"] = token
        out = ec2.describe_instances(**kw)
        pages.append([i["InstanceId"] for r in out["Reservations"] for i in r["Instances"]])
        token = out.get("NextToken")
        if not token:
            break
        assert len(pages) < 10
    assert [len(p) for p in pages] == [5, 5, 2]
    flat = [i for p in pages for i in p]
    assert len(flat) == len(set(flat)) == 12, "no duplicates"
    assert sorted(flat) == everything, "nothing missing"
    # A reservation split across pages appears on each page with the instances there.
    out = ec2.describe_instances(MaxResults=5)
    assert [len(r["Instances"]) for r in out["Reservations"]] == [4, 1]
    assert all(r["ReservationId"] and r["OwnerId"] == "000000000000" for r in out["Reservations"])

    pages = list(ec2.get_paginator("describe_instances").paginate(PaginationConfig={"PageSize": 5}))
    assert len(pages) == 3
    flat = [i["InstanceId"] for p in pages for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(flat) == everything and len(flat) == 12
    first = ec2.describe_instances(MaxResults=6)
    second = ec2.describe_instances(MaxResults=6, NextToken=first["NextToken"])
    assert "NextToken" not in second, "no empty last page when the count divides evenly"
    halves = [i["InstanceId"] for out in (first, second) for r in out["Reservations"] for i in r["Instances"]]
    assert sorted(halves) == everything
    all_at_once = ec2.describe_instances(MaxResults=5000)
    assert "NextToken" not in all_at_once, "MaxResults above 1000 is capped, not refused"
    assert len([i for r in all_at_once["Reservations"] for i in r["Instances"]]) == 12
    filtered = list(
        ec2.get_paginator("describe_instances").paginate(
            Filters=[{"Name": "launch-index", "Values": ["0", "3"]}], PaginationConfig={"PageSize": 5}
        )
    )
    flat = [i for p in filtered for r in p["Reservations"] for i in r["Instances"]]
    assert sorted(i["AmiLaunchIndex"] for i in flat) == [0, 0, 0, 3, 3, 3]


def test_describe_instance_status_include_all_and_filters(ec2):
    a, b = ids_of(launch(ec2, count=2))
    ec2.stop_instances(InstanceIds=[b])
    running = ec2.describe_instance_status()["InstanceStatuses"]
    assert [s["InstanceId"] for s in running] == [a]
    assert statuses(ec2, b) == [], "a named stopped instance is absent without IncludeAllInstances"
    everything = ec2.describe_instance_status(IncludeAllInstances=True)["InstanceStatuses"]
    by_id = {s["InstanceId"]: s for s in everything}
    assert set(by_id) == {a, b}
    assert by_id[b]["InstanceState"] == st("stopped")
    assert by_id[b]["InstanceStatus"] == {"Status": "not-applicable", "Details": []}
    assert by_id[a]["InstanceStatus"]["Status"] == "ok"
    stopped = ec2.describe_instance_status(
        IncludeAllInstances=True, Filters=[{"Name": "instance-state-name", "Values": ["stopped"]}]
    )["InstanceStatuses"]
    assert [s["InstanceId"] for s in stopped] == [b]
    by_code = ec2.describe_instance_status(
        IncludeAllInstances=True, Filters=[{"Name": "instance-state-code", "Values": ["16"]}]
    )["InstanceStatuses"]
    assert [s["InstanceId"] for s in by_code] == [a]
