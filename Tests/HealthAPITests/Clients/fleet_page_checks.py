"""Drives the fleet page in headless Chromium over the DevTools protocol (--remote-debugging-pipe, no extra package):
renders it, checks the DOM, filters, takes desktop and phone screenshots, writes READY, then waits for a status
change pushed over server-sent events to show without a reload. Prints one JSON document of what it saw.

usage: fleet_page_checks.py ENDPOINT OUTDIR IMPAIRED_ID CHANGING_ID NODE ZONE
"""
import base64
import json
import os
import subprocess
import sys
import time

endpoint, outdir, impaired_id, changing_id, node, zone = sys.argv[1:7]
to_chrome_read, to_chrome_write = os.pipe()
from_chrome_read, from_chrome_write = os.pipe()
profile = os.path.join(outdir, "chromium-profile")
command = (
    "exec chromium --headless --no-sandbox --disable-gpu --disable-dev-shm-usage --no-first-run "
    f"--user-data-dir={profile} --remote-debugging-pipe about:blank "
    f"3<&{to_chrome_read} 4>&{from_chrome_write} 2>{os.path.join(outdir, 'chromium.log')}")
chrome = subprocess.Popen(["/bin/sh", "-c", command], pass_fds=(to_chrome_read, from_chrome_write))
os.close(to_chrome_read)
os.close(from_chrome_write)
buffer = b""
next_id = 0
deadline_all = time.monotonic() + 150


def call(method, params=None, session=None):
    global buffer, next_id
    next_id += 1
    message = {"id": next_id, "method": method, "params": params or {}}
    if session:
        message["sessionId"] = session
    os.write(to_chrome_write, json.dumps(message).encode() + b"\0")
    while time.monotonic() < deadline_all:
        while b"\0" in buffer:
            raw, buffer = buffer.split(b"\0", 1)
            reply = json.loads(raw)
            if reply.get("id") == next_id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply.get("result", {})
        chunk = os.read(from_chrome_read, 1 << 20)
        if not chunk:
            raise RuntimeError("chromium closed the pipe")
        buffer += chunk
    raise RuntimeError("out of time")


def evaluate(session, expression):
    result = call("Runtime.evaluate", {"expression": expression, "returnByValue": True, "awaitPromise": True}, session)
    return result.get("result", {}).get("value")


def wait_for(session, expression, seconds=40):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if evaluate(session, expression):
            return True
        time.sleep(0.1)
    return False


def screenshot(session, name, width, height, mobile):
    call("Emulation.setDeviceMetricsOverride",
         {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": mobile}, session)
    time.sleep(0.3)
    data = call("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": False}, session)["data"]
    with open(os.path.join(outdir, name), "wb") as out:
        out.write(base64.b64decode(data))
    return evaluate(session, "document.documentElement.scrollWidth <= window.innerWidth + 1")


seen = {}
try:
    target = call("Target.createTarget", {"url": endpoint + "/"})["targetId"]
    session = call("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
    call("Runtime.enable", session=session)
    seen["rendered"] = wait_for(session, "document.querySelectorAll('article.instance').length > 0")
    seen["live"] = wait_for(session, "document.getElementById('live').textContent === 'live'")
    evaluate(session, "window.__marker = 42")
    seen["instances"] = evaluate(session, "document.querySelectorAll('article.instance').length")
    seen["groups"] = evaluate(session, "[...document.querySelectorAll('.group')].map(g => g.dataset.group)")
    seen["impaired_status"] = evaluate(
        session, f"document.querySelector('[data-id=\"{impaired_id}\"]').dataset.status")
    seen["impaired_text"] = evaluate(session, f"document.querySelector('[data-id=\"{impaired_id}\"]').innerText")
    seen["external"] = evaluate(
        session, "[...document.querySelectorAll('link[href],script[src],img[src]')].length")
    def filtered(select, value):
        return evaluate(session, f"""(() => {{
            const s = document.getElementById('{select}'); s.value = '{value}';
            s.dispatchEvent(new Event('input'));
            const ids = [...document.querySelectorAll('article.instance')].map(a => a.dataset.id);
            s.value = ''; s.dispatchEvent(new Event('input')); return ids; }})()""")
    seen["status_filter"] = filtered("status", "impaired")
    seen["node_filter"] = filtered("node", node)
    seen["zone_filter"] = filtered("zone", zone)
    seen["search"] = filtered("search", changing_id)
    seen["desktop_fits"] = screenshot(session, "fleet-desktop.png", 1280, 900, False)
    seen["phone_fits"] = screenshot(session, "fleet-phone.png", 390, 844, True)
    call("Emulation.clearDeviceMetricsOverride", session=session)
    seen["before_change"] = evaluate(
        session, f"document.querySelector('[data-id=\"{changing_id}\"]').dataset.status")
    open(os.path.join(outdir, "READY"), "w").close()
    seen["changed"] = wait_for(
        session, f"document.querySelector('[data-id=\"{changing_id}\"]')?.dataset.status === 'ok'")
    seen["transition_listed"] = evaluate(
        session, f"[...document.querySelectorAll('#transition-list li')].some(li => li.dataset.instance === "
        f"'{changing_id}')")
    seen["no_reload"] = evaluate(session, "window.__marker === 42")
    seen["after_phone_fits"] = screenshot(session, "fleet-phone-after.png", 390, 844, True)
    screenshot(session, "fleet-desktop-after.png", 1280, 900, False)
finally:
    try:
        call("Browser.close")
    except Exception:
        chrome.kill()
    chrome.wait(timeout=30)
print(json.dumps(seen, sort_keys=True))
