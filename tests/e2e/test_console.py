"""The web console (/_ec2d/console) in a real headless browser: Debian's chromium driven by selenium
through Debian's chromedriver (nothing is downloaded at run time). After a scripted scenario (launch,
stop, Spot interruption, reservation cancel, bundle cancel) the tests read the lists, a timeline and
the pool picture, click the clock forward and watch states move. Screenshots are kept in
$EC2D_CONSOLE_SCREENSHOTS (default: /tmp/ec2d-console-screenshots)."""

import json
import os
import shutil
import urllib.error
import urllib.request

import pytest

from conftest import AL2023, PATIENCE, advance

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from test_bundle_tasks import WINDOWS_STORE, storage

SHOTS = os.environ.get("EC2D_CONSOLE_SCREENSHOTS", "/tmp/ec2d-console-screenshots")
SCOPE = "000000000000/us-east-1"


def chromedriver():
    path = shutil.which("chromedriver") or "/usr/bin/chromedriver"
    assert os.path.exists(path), "chromedriver missing: run scripts/chromium.sh (apt-get install chromium-driver)"
    return path


@pytest.fixture
def browser():
    opts = Options()
    for arg in ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1500,1100"]:
        opts.add_argument(arg)
    chromium = shutil.which("chromium")
    if chromium:
        opts.binary_location = chromium
    driver = webdriver.Chrome(service=Service(chromedriver()), options=opts)
    driver.set_page_load_timeout(PATIENCE)
    os.makedirs(SHOTS, exist_ok=True)
    yield driver
    driver.quit()


def shot(driver, name):
    driver.save_screenshot(os.path.join(SHOTS, f"{name}.png"))


def wait(driver, cond, what):
    return WebDriverWait(driver, PATIENCE, poll_frequency=0.1).until(lambda d: cond(d), message=what)


def row_state(driver, rid):
    """The state a list row shows (read in one script call: the rows are redrawn while polling)."""
    return driver.execute_script(
        "const r = document.querySelector(`#resources tr[data-id=\"${arguments[0]}\"]`);"
        "return r ? r.dataset.state : null;", rid)


def timeline_states(driver):
    """The states drawn on the timeline, in order."""
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#timeline-svg rect.transition')).map(r => r.dataset.state);")


def click(driver, css):
    """A real click on the element `css` selects; the page redraws while polling, so an element found
    a moment ago may have been replaced: find it again then."""

    def attempt(d):
        try:
            d.find_element(By.CSS_SELECTOR, css).click()
            return True
        except (StaleElementReferenceException, NoSuchElementException):
            return False

    wait(driver, attempt, f"a click on {css}")


def click_row(driver, rid):
    click(driver, f'#resources tr[data-id="{rid}"]')


def row_text(driver, rid):
    return driver.execute_script(
        "const r = document.querySelector(`#resources tr[data-id=\"${arguments[0]}\"]`);"
        "return r ? r.textContent : '';", rid)


def api(server, path):
    with urllib.request.urlopen(f"{server.url}/_ec2d/console/api/{path}", timeout=PATIENCE) as r:
        return json.load(r), r.headers


def scenario(server):
    """Launch, stop, a Spot interruption, a reservation cancel and a bundle cancel, on the virtual clock."""
    c = server.client()
    keys = c.create_key_pair(KeyName="console-key")
    inst = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    win = c.run_instances(ImageId=WINDOWS_STORE, InstanceType="m1.small", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    sid = c.request_spot_instances(LaunchSpecification={"ImageId": AL2023, "InstanceType": "t3.micro"})[
        "SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    crid = c.create_capacity_reservation(
        InstanceType="m5.large", InstancePlatform="Linux/UNIX", AvailabilityZone="us-east-1a", InstanceCount=2
    )["CapacityReservation"]["CapacityReservationId"]
    advance(server, 120)
    bid = c.bundle_instance(InstanceId=win, Storage=storage())["BundleTask"]["BundleId"]
    advance(server, 30)
    c.stop_instances(InstanceIds=[inst])
    spot_iid = c.describe_spot_instance_requests(SpotInstanceRequestIds=[sid])["SpotInstanceRequests"][0]["InstanceId"]
    server.control("POST", f"spot/interrupt?instance-id={spot_iid}")
    c.cancel_capacity_reservation(CapacityReservationId=crid)
    c.cancel_bundle_task(BundleId=bid)
    return {"instance": inst, "windows": win, "spot": sid, "spot_instance": spot_iid, "reservation": crid,
            "bundle": bid, "key": keys["KeyPairId"]}


def test_console_lists_the_scenario_draws_a_timeline_and_follows_the_clock(vs, browser):
    ids = scenario(vs)
    browser.get(f"{vs.url}/_ec2d/console#{SCOPE}")
    wait(browser, lambda d: row_state(d, ids["instance"]) is not None, "the instance listed")
    # Every kind is listed, in the state EC2 shows.
    assert row_state(browser, ids["instance"]) == "stopping"
    assert row_state(browser, ids["reservation"]) == "cancelled"
    assert row_state(browser, ids["bundle"]) == "cancelling"
    assert row_state(browser, ids["key"]) == "available"
    assert row_state(browser, ids["spot"]) == "active"
    assert "marked-for-termination" in row_text(browser, ids["spot"])
    shot(browser, "01-lists")

    # Filters and search.
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("bundle_task")
    wait(browser, lambda d: row_state(d, ids["instance"]) is None, "the kind filter hides instances")
    assert row_state(browser, ids["bundle"]) == "cancelling"
    Select(browser.find_element(By.ID, "kind-filter")).select_by_value("")
    browser.find_element(By.ID, "search").send_keys(ids["reservation"][-6:])
    wait(browser, lambda d: len(d.find_elements(By.CSS_SELECTOR, "#resources tbody tr")) == 1, "search narrows to one")
    browser.find_element(By.ID, "search").clear()
    browser.find_element(By.ID, "search").send_keys(" ")  # `input` event with an empty query
    browser.find_element(By.ID, "state-filter").send_keys("stopp")
    wait(browser, lambda d: row_state(d, ids["instance"]) == "stopping" and row_state(d, ids["reservation"]) is None,
         "the state filter")
    browser.find_element(By.ID, "state-filter").clear()
    browser.find_element(By.ID, "state-filter").send_keys(" ")

    # The pool picture: the cancelled reservation gave its units back; the instances hold theirs.
    pools = browser.execute_script(
        "return Array.from(document.querySelectorAll('#pools-svg g.pool')).map(g => [g.dataset.zone, g.dataset.type,"
        " ...['used', 'reserved', 'free'].map(p => Number(g.querySelector('rect.' + p).dataset.count))]);")
    by_pool = {(z, t): (used, reserved, free) for z, t, used, reserved, free in pools}
    # The Windows instance holds one m1.small unit; the cancelled m5.large reservation gave its two back.
    assert by_pool[("us-east-1a", "m1.small")][:2] == (1, 0)
    assert by_pool[("us-east-1a", "m5.large")][:2] == (0, 0)

    # The instance's page: attributes, and a drawn timeline of its transitions.
    click_row(browser, ids["instance"])
    wait(browser, lambda d: timeline_states(d), "a timeline")
    assert timeline_states(browser) == ["pending", "running", "stopping"]
    times = browser.execute_script(
        "return Array.from(document.querySelectorAll('#events tbody tr')).map(r => r.cells[0].textContent);")
    assert times[0] == "2026-01-01T00:00:00.000Z" and times[1] > times[0]
    assert '"instance_type": "t3.micro"' in browser.find_element(By.ID, "attributes").text
    shot(browser, "02-instance-timeline")

    # Click the clock forward: the stop completes, without reloading the page.
    browser.find_element(By.ID, "advance-secs").clear()
    browser.find_element(By.ID, "advance-secs").send_keys("120")
    browser.find_element(By.ID, "advance-btn").click()
    wait(browser, lambda d: row_state(d, ids["instance"]) == "stopped", "the instance stopped after the clock moved")
    wait(browser, lambda d: timeline_states(d) == ["pending", "running", "stopping", "stopped"],
         "the timeline gained `stopped`")
    assert row_state(browser, ids["bundle"]) == "failed"
    shot(browser, "03-after-advance")

    # The Spot request's timeline shows its status codes, including the interruption.
    click_row(browser, ids["spot"])
    wait(browser, lambda d: any("marked-for-termination" in s for s in timeline_states(d)),
         "the Spot interruption on the timeline")
    # The bundle task's timeline: its phases, the cancel, and the end.
    click_row(browser, ids["bundle"])
    wait(browser, lambda d: timeline_states(d)[-2:] == ["cancelling", "failed"], "the bundle timeline")
    shot(browser, "04-bundle-timeline")


def test_console_controls_hold_stopping_fail_a_bundle_and_interrupt(vs, browser):
    c = vs.client()
    iid = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    win = c.run_instances(ImageId=WINDOWS_STORE, InstanceType="m1.small", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    sid = c.request_spot_instances(LaunchSpecification={"ImageId": AL2023, "InstanceType": "t3.micro"})[
        "SpotInstanceRequests"][0]["SpotInstanceRequestId"]
    advance(vs, 120)
    browser.get(f"{vs.url}/_ec2d/console#{SCOPE}|{iid}")
    wait(browser, lambda d: d.find_elements(By.ID, "act-hold"), "the instance's actions")
    click(browser, "#act-hold")
    wait(browser, lambda d: "hold-stopping: done" in d.find_element(By.ID, "status").text, "held")
    c.stop_instances(InstanceIds=[iid])
    advance(vs, 600)
    assert c.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "stopping"
    click(browser, "#act-release")
    wait(browser, lambda d: "release-stopping: done" in d.find_element(By.ID, "status").text, "released")
    advance(vs, 120)
    wait(browser, lambda d: row_state(d, iid) == "stopped", "stopped once released")

    bid = c.bundle_instance(InstanceId=win, Storage=storage())["BundleTask"]["BundleId"]
    wait(browser, lambda d: row_state(d, bid) == "pending", "the new bundle task listed")

    click_row(browser, bid)
    wait(browser, lambda d: d.find_elements(By.ID, "act-fail"), "the bundle's actions")
    click(browser, "#act-fail")
    wait(browser, lambda d: row_state(d, bid) == "failed", "the bundle failed from the page")
    assert c.describe_bundle_tasks(BundleIds=[bid])["BundleTasks"][0]["BundleTaskError"]["Code"] == "Client.BundlingFailed"

    click_row(browser, sid)
    wait(browser, lambda d: d.find_elements(By.ID, "act-interrupt"), "the Spot request's actions")
    click(browser, "#act-interrupt")
    wait(browser, lambda d: "marked-for-termination" in row_text(d, sid),
         "the interruption notice")
    shot(browser, "05-controls")

    # Reset from the page (the confirmation dialog accepted).
    browser.execute_script("window.confirm = () => true;")
    browser.find_element(By.ID, "reset-btn").click()
    wait(browser, lambda d: not d.find_elements(By.CSS_SELECTOR, "#resources tbody tr"), "everything gone after reset")


def test_console_api_etags_and_errors(vs):
    c = vs.client()
    iid = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    body, headers = api(vs, f"resources?scope={SCOPE}")
    assert [r["id"] for r in body["resources"] if r["kind"] == "instance"] == [iid]
    etag = headers["ETag"]
    req = urllib.request.Request(f"{vs.url}/_ec2d/console/api/resources?scope={SCOPE}", headers={"If-None-Match": etag})
    with pytest.raises(urllib.error.HTTPError) as e:
        urllib.request.urlopen(req, timeout=PATIENCE)
    assert e.value.code == 304
    advance(vs, 60)  # the instance runs: the list changes, and so does its ETag
    body, headers = api(vs, f"resources?scope={SCOPE}")
    assert headers["ETag"] != etag and body["resources"][0]["state"] == "running"
    scopes, _ = api(vs, "scopes")
    assert SCOPE in scopes["scopes"]
    for path, code in [("resources", 400), (f"resource?scope={SCOPE}&id=i-0000000000000000f", 404), ("nothing", 404)]:
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(f"{vs.url}/_ec2d/console/api/{path}", timeout=PATIENCE)
        assert e.value.code == code and "error" in json.load(e.value)
    with urllib.request.urlopen(f"{vs.url}/_ec2d/console", timeout=PATIENCE) as r:
        assert r.headers["Content-Type"].startswith("text/html") and b"app.js" in r.read()


def test_timelines_survive_a_restart(make_server, tmp_path):
    s = make_server("--data-dir", str(tmp_path), "--clock", "virtual")
    c = s.client()
    iid = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    advance(s, 60)
    c.terminate_instances(InstanceIds=[iid])
    before, _ = api(s, f"resource?scope={SCOPE}&id={iid}")
    s.stop()
    s.start()
    after, _ = api(s, f"resource?scope={SCOPE}&id={iid}")
    assert [e["state"] for e in after["timeline"]][:3] == ["pending", "running", "shutting-down"]
    assert after["timeline"][:3] == before["timeline"][:3]


def test_a_long_timeline_keeps_its_newest_transitions_in_order_across_a_restart(make_server, tmp_path):
    # Enough stops and starts to fill the per-resource retention (64) several times over; the
    # transitions settled lazily by the next request are recorded at their due times.
    s = make_server("--data-dir", str(tmp_path), "--clock", "virtual")
    c = s.client()
    iid = c.run_instances(ImageId=AL2023, InstanceType="t3.micro", MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    rounds = 37
    for _ in range(rounds):
        advance(s, 60)
        c.stop_instances(InstanceIds=[iid])
        advance(s, 60)
        c.start_instances(InstanceIds=[iid])
    advance(s, 60)
    assert c.describe_instances(InstanceIds=[iid])["Reservations"][0]["Instances"][0]["State"]["Name"] == "running"
    expected = (["pending", "running"] + ["stopping", "stopped", "pending", "running"] * rounds)[-64:]
    before, _ = api(s, f"resource?scope={SCOPE}&id={iid}")
    assert [e["state"] for e in before["timeline"]] == expected
    times = [e["atMillis"] for e in before["timeline"]]
    assert times == sorted(times) and len(set(times)) == len(times)
    s.stop()
    s.start()
    after, _ = api(s, f"resource?scope={SCOPE}&id={iid}")
    assert after["timeline"] == before["timeline"]
    # And it goes on from there.
    advance(s, 60)
    c = s.client()
    c.stop_instances(InstanceIds=[iid])
    later, _ = api(s, f"resource?scope={SCOPE}&id={iid}")
    assert [e["state"] for e in later["timeline"]] == (expected + ["stopping"])[-64:]
