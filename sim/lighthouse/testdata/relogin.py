"""Re-login rule of Opengear's Lighthouse API client.

Opengear's oglhclient (github.com/opengear/oglhclient, oglhclient.py,
decorator ensure_auth) wraps every call: when the answer's body has an
"error" list whose first entry's text contains "Invalid session ID", it
logs in again (POST /sessions) and repeats the call once. The status code
is not consulted, only the envelope. This script applies the same rule with
the standard library, starting from a token the device no longer knows,
and prints what happened as JSON for the Go test to assert on.

usage: relogin.py BASE_URL USERNAME PASSWORD STALE_TOKEN PATH
"""

import json
import ssl
import sys
import urllib.error
import urllib.request

base, username, password, token, path = sys.argv[1:6]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE  # the client passes verify=False


def call(method, p, body=None):
    headers = {"Content-type": "application/json"}
    if token:
        headers["Authorization"] = "Token " + token
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(base + p, data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, context=ctx) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def ensure_auth(method, p, body=None):
    global token
    status, result = call(method, p, body)
    out = {"first_status": status, "first": result, "relogged": False}
    if isinstance(result, dict) and "error" in result and "Invalid session ID" in result["error"][0]["text"]:
        _, login = call("POST", "/sessions", {"username": username, "password": password})
        if "error" in login:
            raise RuntimeError(login["error"][0]["text"])
        token = login["session"]
        out["relogged"] = True
        status, result = call(method, p, body)
    out.update({"status": status, "result": result, "token": token})
    return out


print(json.dumps(ensure_auth("GET", path)))
