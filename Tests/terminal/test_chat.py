"""The terminal client (`messenger chat`) under tmux against the real server.

Each step waits for what it expects to appear (on the screen, or through the API) with a deadline, never for a
fixed time. Prints `N passed, N failed` and exits non-zero on any failure.
"""
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINARY = os.path.join(ROOT, ".build", "debug", "messenger")
TMUX = ["tmux", "-L", f"messenger-chat-test-{os.getpid()}"]
SESSION = "chat"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, port, data_dir):
        self.port, self.data_dir, self.process = port, data_dir, None
        self.base = f"http://127.0.0.1:{port}"

    def start(self):
        log = open(os.path.join(self.data_dir, "server.log"), "a")
        self.process = subprocess.Popen(
            [BINARY, "serve", "--port", str(self.port), "--data-dir", self.data_dir, "--web-dir", os.path.join(ROOT, "web")],
            stdout=log, stderr=log, cwd=ROOT)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                with urllib.request.urlopen(self.base + "/readyz", timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            if self.process.poll() is not None:
                raise RuntimeError("server exited at start")
            time.sleep(0.1)
        raise RuntimeError("server not ready")

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            self.process.wait(timeout=20)

    def call(self, method, path, token=None, body=None):
        request = urllib.request.Request(self.base + path, method=method)
        if token:
            request.add_header("Authorization", f"Bearer {token}")
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            request.add_header("Content-Type", "application/json")
        with urllib.request.urlopen(request, data=data, timeout=10) as r:
            text = r.read()
            return json.loads(text) if text else None

    def login(self, username):
        reply = self.call("POST", "/api/login", body={"username": username})
        return reply["token"]


def tmux(*args):
    return subprocess.run(TMUX + list(args), check=True, capture_output=True, text=True).stdout


def screen():
    return tmux("capture-pane", "-p", "-t", SESSION)


def wait_screen(text, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        shown = screen()
        if text in shown:
            return shown
        time.sleep(0.05)
    raise AssertionError(f"{text!r} never appeared; the screen:\n{screen()}")


def wait_until(predicate, what, timeout=15):
    deadline = time.time() + timeout
    while time.time() < deadline:
        if predicate():
            return
        time.sleep(0.05)
    raise AssertionError(f"timed out: {what}; the screen:\n{screen()}")


def type_line(text):
    tmux("send-keys", "-t", SESSION, "-l", text)
    tmux("send-keys", "-t", SESSION, "Enter")


def main():
    if shutil.which("tmux") is None:
        print("tmux is not installed (scripts/bootstrap.sh installs it)")
        return 1
    data_dir = tempfile.mkdtemp(prefix="messenger-chat-test-")
    server = Server(free_port(), data_dir)
    results = []

    def step(name, body):
        try:
            body()
            results.append(True)
            print(f"ok   {name}")
        except Exception:
            results.append(False)
            print(f"FAIL {name}")
            traceback.print_exc()
            raise

    try:
        server.start()
        suffix = str(os.getpid())
        alice, bob, carol = f"alice{suffix}", f"bob{suffix}", f"carol{suffix}"
        alice_token = server.login(alice)
        bob_token = server.login(bob)
        carol_token = server.login(carol)
        conversation = server.call("POST", "/api/conversations", bob_token, {"username": alice})["id"]
        # More history than the first page (50) holds, so scrolling up must load an older page.
        for n in range(60):
            server.call("POST", f"/api/conversations/{conversation}/messages", bob_token, {"content": f"history {n}"})
        server.call("POST", f"/api/conversations/{conversation}/messages", bob_token, {"content": "sent before you came"})

        tmux("new-session", "-d", "-s", SESSION, "-x", "100", "-y", "30",
             f"{BINARY} chat --url {server.base} --username {alice}")

        step("the list shows the conversation with its unread count", lambda: (wait_screen("connected"), wait_screen(f"{bob} (61)")))

        def open_conversation():
            tmux("send-keys", "-t", SESSION, "Enter")
            wait_screen(f"{bob}: sent before you came")
            wait_screen(f"{bob}>")
        step("Enter opens it with its history", open_conversation)

        def scroll_history():
            def shows_first():
                return any(line.endswith(f"{bob}: history 0") for line in screen().splitlines())
            for _ in range(15):
                if shows_first():
                    break
                tmux("send-keys", "-t", SESSION, "PPage")
                try:
                    wait_until(shows_first, "history 0", timeout=1)
                except AssertionError:
                    pass
            assert shows_first(), screen()
            assert "sent before you came" not in screen()
            for _ in range(15):
                tmux("send-keys", "-t", SESSION, "NPage")
            wait_screen(f"{bob}: sent before you came")
        step("PgUp scrolls back through history, loading older pages; PgDn returns", scroll_history)

        def receive_live():
            server.call("POST", f"/api/conversations/{conversation}/messages", bob_token, {"content": "a message from the API"})
            wait_screen(f"{bob}: a message from the API")
        step("a message sent through the API appears on screen", receive_live)

        def send_typed():
            type_line("typed in tmux")
            wait_screen("me: typed in tmux")

            def arrived():
                messages = server.call("GET", f"/api/conversations/{conversation}/messages", bob_token)
                return any(m["content"] == "typed in tmux" and m["user"]["username"] == alice for m in messages)
            wait_until(arrived, "the typed message reaches the API")
        step("a message typed in the client arrives through the API", send_typed)

        def edit_and_delete():
            sent = server.call("POST", f"/api/conversations/{conversation}/messages", bob_token, {"content": "first draft"})
            wait_screen(f"{bob}: first draft")
            server.call("PATCH", f"/api/conversations/{conversation}/messages/{sent['id']}", bob_token, {"content": "second draft"})
            wait_screen(f"{bob}: second draft (edited)")
            assert "first draft" not in screen(), screen()
            server.call("DELETE", f"/api/conversations/{conversation}/messages/{sent['id']}", bob_token)
            wait_screen(f"{bob}: (message deleted)")
            assert "second draft" not in screen(), screen()
        step("an edit and a deletion made through the API show on screen live", edit_and_delete)

        def resize():
            tmux("resize-window", "-t", SESSION, "-x", "50", "-y", "12")
            wait_until(lambda: len(screen().splitlines()) <= 12 and "a message from the API" in screen(), "redrawn at 50x12")
            assert all(len(line) <= 50 for line in screen().splitlines()), screen()
            tmux("resize-window", "-t", SESSION, "-x", "100", "-y", "30")
            wait_screen("me: typed in tmux")
        step("a resize redraws the screen at the new size", resize)

        def start_one_to_one():
            tmux("send-keys", "-t", SESSION, "Escape")
            wait_screen("n new 1:1")
            tmux("send-keys", "-t", SESSION, "n")
            wait_screen("Start a conversation with")
            type_line(carol)
            wait_screen(f"{carol}>")
            type_line("hello carol")
            wait_screen("me: hello carol")

            def arrived():
                conversations = server.call("GET", "/api/conversations", carol_token)
                return any((c.get("lastMessage") or {}).get("content") == "hello carol" for c in conversations)
            wait_until(arrived, "carol has the message")
        step("n starts a 1:1 by username and sends in it", start_one_to_one)

        def restart():
            tmux("send-keys", "-t", SESSION, "Escape")
            wait_screen("n new 1:1")
            # The newest conversation (carol's) is on top and selected; bob's is below it.
            tmux("send-keys", "-t", SESSION, "Down")
            tmux("send-keys", "-t", SESSION, "Enter")
            wait_screen(f"{bob}>")
            server.stop()
            wait_screen("reconnecting")
            server.start()
            # Sent as soon as the server is back, whether or not the client has reconnected yet: it must show up
            # exactly once (replayed from the client's position, or live).
            server.call("POST", f"/api/conversations/{conversation}/messages", bob_token, {"content": "after the restart"})
            wait_screen(f"{bob}: after the restart", timeout=30)
            wait_screen("connected")
            assert screen().count("after the restart") == 1, screen()
            type_line("still here")
            wait_until(lambda: any(m["content"] == "still here" for m in server.call(
                "GET", f"/api/conversations/{conversation}/messages", bob_token)), "a send after the restart")
        step("after a server restart it reconnects, loses nothing and sends again", restart)

        def quit_client():
            tmux("send-keys", "-t", SESSION, "C-c")
            wait_until(lambda: subprocess.run(TMUX + ["has-session", "-t", SESSION], capture_output=True).returncode != 0,
                       "the client exits on Ctrl-C")
        step("Ctrl-C quits", quit_client)
    except Exception:
        aborted = True
    else:
        aborted = False
    finally:
        subprocess.run(TMUX + ["kill-server"], capture_output=True)
        server.stop()
        shutil.rmtree(data_dir, ignore_errors=True)
    passed = sum(results)
    # A step that failed stops the run: the steps after it count as one more failure.
    failed = len(results) - passed + (1 if aborted and all(results) else 0)
    print(f"{passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
