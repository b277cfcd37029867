#!/usr/bin/env python3
"""Screenshot of the admin page of a running `make run`, for docs/admin.png.

Usage (with `make run` up, alpha selected by default):
    chromedriver --port=9515 &
    python3 scripts/admin-screenshot.py docs/admin.png

Signs in with data/demo/admin-token through chromedriver (the W3C WebDriver protocol, no
Python packages needed), waits for the DSP table and alpha's curve, types a recall target of
0.97 into the control so that a preview shows beside the operating point in force, and saves
a PNG of the page. Nothing is saved in the gateway.
"""
import base64
import json
import sys
import time
import urllib.request

DRIVER = "http://127.0.0.1:9515"
PAGE = "http://127.0.0.1:8081/admin/"


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(DRIVER + path, method=method, data=data,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as res:
        return json.load(res)["value"]


def main(out):
    caps = {"capabilities": {"alwaysMatch": {"browserName": "chrome", "goog:chromeOptions": {
        "binary": "/usr/bin/chromium",
        "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--window-size=1360,1460",
                 "--hide-scrollbars"]}}}}
    session = "/session/" + call("POST", "/session", caps)["sessionId"]
    try:
        def element(css):
            return list(call("POST", session + "/element",
                             {"using": "css selector", "value": css}).values())[0]

        def js(script):
            return call("POST", session + "/execute/sync", {"script": script, "args": []})

        call("POST", session + "/url", {"url": PAGE})
        token = open("data/demo/admin-token").read().strip()
        call("POST", session + "/element/%s/value" % element("#token"), {"text": token})
        call("POST", session + "/element/%s/click" % element("#signin"), {})
        for _ in range(100):
            if js("return !!document.querySelector('#chart path.curve') && "
                  "document.querySelectorAll('#dsp-table tbody tr').length > 0"):
                break
            time.sleep(0.2)
        else:
            sys.exit("admin-screenshot: the page did not show the DSP table and a curve")
        target = element("#target-value")
        call("POST", session + "/element/%s/clear" % target, {})
        call("POST", session + "/element/%s/value" % target, {"text": "0.97"})
        time.sleep(1.5)
        png = base64.b64decode(call("GET", session + "/screenshot"))
        with open(out, "wb") as f:
            f.write(png)
        print("admin-screenshot: wrote %s (%d bytes)" % (out, len(png)))
    finally:
        call("DELETE", session)


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "docs/admin.png")
