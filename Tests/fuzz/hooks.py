"""schemathesis hooks for the messenger API (loaded through SCHEMATHESIS_HOOKS by scripts/fuzz-api.sh).

Auth: every operation signs in through the dev login (a real token from the real server). `POST /api/logout`
revokes the token it is called with, so it gets a fresh one each time; every other operation shares one cached
token, which logout therefore never kills.
"""
import json
import os
import urllib.request

import schemathesis

BASE_URL = os.environ["MESSENGER_FUZZ_URL"]
USERNAME = os.environ.get("MESSENGER_FUZZ_USER", "alice")


def dev_login(username):
    request = urllib.request.Request(
        BASE_URL + "/api/login",
        data=json.dumps({"username": username}).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)["token"]


@schemathesis.auth(refresh_interval=None).apply_to(method="POST", path="/api/logout")
class FreshTokenForLogout:
    def get(self, case, ctx):
        return dev_login(USERNAME)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.auth(refresh_interval=600).skip_for(method="POST", path="/api/logout")
class SharedToken:
    def get(self, case, ctx):
        return dev_login(USERNAME)

    def set(self, case, data, ctx):
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"
