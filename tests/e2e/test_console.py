"""The operator console in a real browser: Debian's Chromium driven by chromium-driver through
python3-selenium, against the real daemon on 127.0.0.1.

Waits are for what the page shows, each with a deadline (the browser runs on its own clock).
On a failure, a screenshot of the page is saved next to the daemon's log; with
TRIAGED_SCREENSHOTS=<folder>, every view is saved there (docs/console.md uses them)."""
import json
import os
import shutil
import sys
import time
import unittest

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "system"))
from harness import BASE_CONFIG, Daemon, free_port  # noqa: E402

try:
    from selenium import webdriver
    from selenium.common.exceptions import (ElementNotInteractableException,
                                            StaleElementReferenceException, TimeoutException)
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.common.keys import Keys
    from selenium.webdriver.support.ui import WebDriverWait
except ImportError:  # reported by the skip below
    webdriver = None

CHROMIUM = shutil.which("chromium")
DRIVER = shutil.which("chromedriver")
MISSING = ("python3-selenium" if webdriver is None else
           "chromium" if not CHROMIUM else "chromium-driver" if not DRIVER else None)


CONFIG = """
server:
  listen: 127.0.0.1:{port}
  io_threads: 2
state:
  directory: {state}
shutdown:
  drain_timeout: 2s
rule_files: []
inputs:
  - name: api
    type: native_json
auth:
  users:
    - name: olivia
      role: operator
      bearer_token: olivia-token
    - name: victor
      role: viewer
      bearer_token: victor-token
"""


def browser():
    o = webdriver.ChromeOptions()
    o.binary_location = CHROMIUM
    for a in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
              "--window-size=1400,900", "--no-first-run", "--disable-extensions"):
        o.add_argument(a)
    o.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(DRIVER), options=o)


@unittest.skipIf(MISSING, f"{MISSING} is not installed (scripts/install-deps.sh e2e installs it)")
class Console(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.port = free_port()
        cls.d = Daemon(CONFIG.replace("{port}", str(cls.port))).start()
        cls.b = browser()
        cls.base = f"http://127.0.0.1:{cls.port}/"
        cls.shots = os.environ.get("TRIAGED_SCREENSHOTS")

    @classmethod
    def tearDownClass(cls):
        cls.b.quit()
        cls.d.close()

    def tearDown(self):
        # A screenshot of whatever the page shows when a test fails.
        outcome = getattr(self, "_outcome", None)
        failed = outcome and any(err for _, err in getattr(outcome, "errors", []) if err) or (
            outcome and getattr(outcome, "result", None) and
            any(t is self for t, _ in outcome.result.failures + outcome.result.errors))
        if failed:
            path = os.path.join(os.environ.get("TMPDIR", "/tmp"), f"triaged-console-{self._testMethodName}.png")
            self.b.save_screenshot(path)
            print(f"screenshot of the failure: {path}")

    # ---- helpers
    def shot(self, name):
        if self.shots:
            os.makedirs(self.shots, exist_ok=True)
            self.b.save_screenshot(os.path.join(self.shots, name + ".png"))

    def wait(self, fn, timeout=10, what="the page"):
        try:
            return WebDriverWait(self.b, timeout, poll_frequency=0.05,
                                 # Live pages replace their elements: a handle may be gone, or
                                 # not yet interactable, for a moment.
                                 ignored_exceptions=(StaleElementReferenceException,
                                                     ElementNotInteractableException)).until(lambda _: fn())
        except TimeoutException:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")

    def css(self, sel):
        return self.b.find_elements(By.CSS_SELECTOR, sel)

    def login(self, token):
        self.b.get(self.base + "#/board")
        self.b.execute_script("sessionStorage.clear()")
        self.b.refresh()
        field = self.wait(lambda: self.css("#token") and self.css("#token")[0], what="the login form")
        field.send_keys(token)
        self.css("form.login button")[0].click()
        self.wait(lambda: self.css(".board") and self.b.execute_script(
            "return document.querySelector('main > *') && document.querySelector('main').dataset !== undefined"),
            what="the board")
        self.wait(lambda: "live" in self.css("#live")[0].get_attribute("class").split(), what="the live stream")

    def post(self, resource, summary="down", severity="critical", check="ping"):
        body = json.dumps({"resource": resource, "check": check, "severity": severity, "summary": summary})
        status, _, text = self.d.request("POST", "/api/v1/events", body, {"Content-Type": "application/json"})
        self.assertEqual(status, 200, text)

    def texts(self, sel):
        # Read in the page: rows and timelines are rebuilt live, so element handles go stale.
        return self.b.execute_script(
            "return [...document.querySelectorAll(arguments[0])].map(e => e.textContent)", sel)

    def row_titles(self):
        return self.texts(".layer .row .c-title")

    def api(self, method, path, token, body=None):
        status, _, text = self.d.request(method, path, json.dumps(body) if body is not None else None,
                                         {"Authorization": "Bearer " + token})
        return status, text

    # ---- tests (named in the order they run)
    def test_1_operator_sees_a_new_incident_live_and_acts_on_it(self):
        self.login("olivia-token")
        self.assertEqual(self.css("#who .user")[0].text, "olivia")
        self.post("web-1", summary="web-1 is down")
        t0 = time.monotonic()
        self.wait(lambda: any("web-1 is down" in t for t in self.row_titles()), timeout=5, what="the new incident")
        self.assertLess(time.monotonic() - t0, 1.0, "the incident took more than 1 s to appear")
        self.shot("board")
        self.post("web-1", summary="web-1 is down")  # a duplicate: counted in the shards
        # Keyboard: the grid takes focus, arrows move, Enter opens.
        grid = self.css(".viewport")[0]
        grid.click()
        grid.send_keys(Keys.HOME, Keys.ENTER)
        self.wait(lambda: self.css(".incident[data-loaded]"), what="the incident page")
        self.assertIn("1 alert(s), 2 events, 1 duplicates", self.texts("p.facts")[0])
        self.wait(lambda: self.css(".actions button.primary")[0].click() or True, what="the acknowledge button")
        self.wait(lambda: any("acknowledged" in t and "olivia" in t for t in self.texts(".timeline li")),
                  what="the acknowledgement on the timeline")
        # The page reloads what the acknowledgement changed; then the comment form is stable.
        self.wait(lambda: not self.css(".actions button.primary"), what="the acknowledged page")
        self.wait(lambda: self.css('form[aria-label="Comment"] textarea')[0].send_keys("checking the switch") or True,
                  what="the comment box")
        self.wait(lambda: self.css('form[aria-label="Comment"] button')[0].click() or True, what="the comment button")
        self.wait(lambda: any("olivia" in t and "checking the switch" in t for t in self.texts(".timeline li")),
                  what="the comment with the user's name")
        self.shot("incident")

    def test_2_alert_text_renders_as_text(self):
        self.login("olivia-token")
        payload = "<img src=x onerror=window.__pwned=1>"
        self.post("xss-1", summary=payload)
        self.wait(lambda: any(payload in t for t in self.row_titles()), what="the XSS incident")
        self.assertEqual(self.css(".layer img"), [])
        self.assertIsNone(self.b.execute_script("return window.__pwned"))
        self.b.get(self.base + "#/alerts?match=" + "resource%3D%22xss-1%22")
        self.wait(lambda: self.css(".results[data-loaded]"), what="the alerts explorer")
        self.assertIn(payload, "".join(self.texts(".results table")))
        self.assertEqual(self.css(".results img"), [])
        self.assertIsNone(self.b.execute_script("return window.__pwned"))

    def test_3_silence_from_an_alert(self):
        self.login("olivia-token")
        self.post("db-7", summary="db-7 disk", check="disk")
        self.b.get(self.base + "#/alerts?match=" + "resource%3D%22db-7%22")
        self.wait(lambda: self.css(".results[data-loaded] a.button"), what="Silence this")
        self.shot("alerts")
        self.css(".results a.button")[0].click()
        form = self.wait(lambda: self.css('form[aria-label="New silence"]') and self.css('form[aria-label="New silence"]')[0],
                         what="the silence form")
        self.wait(lambda: "Will silence 1 firing alert" in form.text, what="the live preview")
        form.find_element(By.CSS_SELECTOR, "input[required]:not([placeholder])").send_keys("maintenance of db-7")
        self.shot("silences")
        form.find_element(By.CSS_SELECTOR, "button[type=submit]").click()
        self.wait(lambda: any("maintenance of db-7" in t for t in self.texts("table.grid tr")), what="the new silence")
        self.b.get(self.base + "#/alerts?match=" + "resource%3D%22db-7%22")
        self.wait(lambda: "silenced" in self.texts(".results .badge"), what="the silenced mark")

    def test_3b_maintenance_window_extended_from_the_console(self):
        self.login("olivia-token")
        now = time.time()
        fmt = lambda t: time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(t))
        status, text = self.api("POST", "/api/v1/maintenance", "olivia-token",
                                {"name": "switch swap", "match": '{resource="sw1"}', "start": fmt(now - 60),
                                 "end": fmt(now + 1800), "comment": "rack 4"})
        self.assertEqual(status, 200, text)
        window = json.loads(text)
        self.assertEqual(window["created_by"], "olivia")
        self.b.get(self.base + "#/silences")
        self.wait(lambda: any("switch swap" in t for t in self.texts("table.grid tr")), what="the window")
        self.wait(lambda: self.b.find_element(
            By.XPATH, "//tr[td[contains(., 'switch swap')]]//button[text()='Extend 1h']").click() or True,
            what="the window's extend button")
        def extended():
            got = json.loads(self.api("GET", f"/api/v1/maintenance/{window['id']}", "olivia-token")[1])
            return got["schedule"]["end"] > window["schedule"]["end"] and got
        got = self.wait(extended, what="the later end")
        self.assertEqual(got["id"], window["id"])

    def test_4_viewer_sees_no_actions_and_the_api_refuses_them(self):
        self.login("victor-token")
        self.post("view-1")
        self.wait(lambda: self.css(".layer .row"), what="rows")
        self.b.get(self.base + "#/incident/1")
        self.wait(lambda: self.css(".incident[data-loaded]"), what="the incident page")
        self.assertEqual(self.css(".actions"), [])
        status, text = self.api("POST", "/api/v1/incidents/1/acknowledge", "victor-token", {})
        self.assertEqual(status, 403)
        self.assertIn("operator role is needed", text)
        self.b.get(self.base + "#/alerts")
        self.wait(lambda: self.css(".results[data-loaded]"), what="the alerts explorer")
        self.assertEqual(self.css(".results a.button"), [])

    def test_5_kiosk_mode(self):
        self.login("olivia-token")
        self.b.get(self.base + "#/board?kiosk=1")
        self.b.refresh()
        self.wait(lambda: self.css("body.kiosk .kiosk-head .kp"), what="the kiosk header")
        self.wait(lambda: self.css(".board.big .layer .row"), what="kiosk rows")
        self.assertFalse(self.css("#nav")[0].is_displayed())
        self.assertEqual(self.css(".filters"), [])
        self.shot("kiosk")

    def test_6_services_and_status(self):
        self.login("olivia-token")
        self.b.get(self.base + "#/services")
        self.wait(lambda: self.b.execute_script("return document.querySelector('main').dataset.loaded"), what="services")
        self.shot("services")
        self.b.get(self.base + "#/status")
        self.wait(lambda: self.css("dl.facts"), what="status")
        self.assertEqual(self.css("main button"), [])  # reload is for admins

    def test_7_forms_are_labelled(self):
        self.login("olivia-token")
        for view in ("#/board", "#/incident/1", "#/alerts", "#/silences"):
            self.b.get(self.base + view)
            self.wait(lambda: self.css("main input, main select, main textarea"), what=view)
            unlabelled = self.b.execute_script("""
              return [...document.querySelectorAll('main input, main select, main textarea')]
                .filter(e => !(e.labels && e.labels.length) && !e.getAttribute('aria-label'))
                .map(e => e.outerHTML)""")
            self.assertEqual(unlabelled, [], view)

    def test_8_stream_resumes_after_a_restart(self):
        self.login("olivia-token")
        self.d.stop()
        self.wait(lambda: "reconnecting" in self.css("#live")[0].get_attribute("class"), what="the drop")
        self.d.start()
        self.wait(lambda: "live" in self.css("#live")[0].get_attribute("class").split(), timeout=15,
                  what="the stream to come back")
        self.post("after-restart", summary="after the restart")
        self.wait(lambda: any("after the restart" in t for t in self.row_titles()), timeout=5,
                  what="an incident after the restart")


if __name__ == "__main__":
    unittest.main()
