"""Fixtures for the browser tests: a real messenger server (with its embedded PostgreSQL) and headless Chromium."""
import glob
import json
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
import uuid

import pytest
from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import WebDriverWait

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), '..', '..'))
ARTIFACTS = os.path.join(REPO, 'artifacts')
SCREENSHOTS = os.path.join(ARTIFACTS, 'screenshots')


def free_port():
    with socket.socket() as s:
        s.bind(('127.0.0.1', 0))
        return s.getsockname()[1]


class Server:
    """The messenger binary serving web/ with dev login, on a fixed port and data dir (kept across restarts)."""

    def __init__(self):
        self.bin = os.environ.get('MESSENGER_BIN') or os.path.join(REPO, '.build', 'debug', 'messenger')
        if not os.path.isabs(self.bin):
            self.bin = os.path.join(REPO, self.bin)
        self.port = free_port()
        self.base = f'http://127.0.0.1:{self.port}'
        # World-traversable: when run as root the server runs PostgreSQL as the `postgres` user.
        self.data_dir = tempfile.mkdtemp(prefix='messenger-web-', dir='/tmp')
        os.chmod(self.data_dir, 0o755)
        os.makedirs(ARTIFACTS, exist_ok=True)
        self.log_path = os.path.join(ARTIFACTS, 'browser-server.log')
        self.log = open(self.log_path, 'wb')
        self.proc = None

    def start(self, timeout=90):
        if not os.path.exists(self.bin):
            pytest.fail(f'server binary not found: {self.bin} (build it, or set MESSENGER_BIN)')
        cmd = [self.bin, 'serve', '--host', '127.0.0.1', '--port', str(self.port), '--data-dir', self.data_dir,
               '--dev-login', '--web-dir', os.path.join(REPO, 'web'),
               # Presence tests wait for someone to go offline: a short grace period keeps them quick.
               '--presence-grace-seconds', '2']
        env = dict(os.environ)
        env.pop('DATABASE_URL', None)
        self.log.write(f'\n=== start {time.strftime("%H:%M:%S")}: {" ".join(cmd)}\n'.encode())
        self.log.flush()
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=subprocess.STDOUT, env=env, cwd=REPO)
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                pytest.fail(f'server exited with {self.proc.returncode}; see {self.log_path}')
            try:
                with urllib.request.urlopen(self.base + '/readyz', timeout=2) as r:
                    if r.status == 200:
                        return
            except Exception:
                pass
            time.sleep(0.25)
        pytest.fail(f'server not ready after {timeout}s; see {self.log_path}')

    def stop(self, timeout=30):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def restart(self):
        self.stop()
        self.start()

    # --- REST helpers (python urllib) ---
    def call(self, method, path, body=None, token=None, expect=None):
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(self.base + path, data=data, method=method)
        req.add_header('Accept', 'application/json')
        if data is not None:
            req.add_header('Content-Type', 'application/json')
        if token:
            req.add_header('Authorization', f'Bearer {token}')
        try:
            with urllib.request.urlopen(req, timeout=10) as r:
                status, raw = r.status, r.read()
        except urllib.error.HTTPError as e:
            status, raw = e.code, e.read()
        out = json.loads(raw) if raw else None
        if expect is not None:
            ok = status in expect if isinstance(expect, (tuple, list, set)) else status == expect
            assert ok, f'{method} {path} -> {status} {raw[:300]!r}'
        return status, out

    def login(self, username):
        _, out = self.call('POST', '/api/login', {'username': username}, expect=200)
        return out  # {authUser, token, expiresAt}

    def send(self, token, conversation_id, content, client_id=None):
        body = {'content': content}
        if client_id:
            body['clientId'] = client_id
        _, m = self.call('POST', f'/api/conversations/{conversation_id}/messages', body, token=token, expect=(200, 201))
        return m

    def start_conversation(self, token, username):
        _, c = self.call('POST', '/api/conversations', {'username': username}, token=token, expect=(200, 201))
        return c

    def create_group(self, token, title, usernames):
        _, c = self.call('POST', '/api/conversations', {'title': title, 'usernames': usernames}, token=token, expect=201)
        return c


    def cleanup(self):
        """Best effort: an embedded PostgreSQL left running (server killed hard) is stopped, the data dir removed."""
        pgdata = os.path.join(self.data_dir, 'pgdata')
        if os.path.exists(os.path.join(pgdata, 'postmaster.pid')):
            pg_ctl = next((p for p in sorted(glob.glob('/usr/lib/postgresql/*/bin/pg_ctl'), reverse=True)), None)
            if pg_ctl:
                cmd = [pg_ctl, 'stop', '-m', 'fast', '-w', '-D', pgdata]
                if os.geteuid() == 0:
                    cmd = ['/usr/sbin/runuser', '-u', 'postgres', '--'] + cmd
                subprocess.run(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, timeout=30, check=False)
        shutil.rmtree(self.data_dir, ignore_errors=True)


@pytest.fixture(scope='session')
def server():
    s = Server()
    try:
        s.start()
        yield s
    finally:
        s.stop()
        s.cleanup()


def _chrome(width, height, dark=False):
    opts = Options()
    for path in ('/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'):
        if os.path.exists(path):
            opts.binary_location = path
            break
    opts.add_argument('--headless=new')
    opts.add_argument('--no-sandbox')
    opts.add_argument('--disable-dev-shm-usage')
    opts.add_argument('--disable-gpu')
    opts.add_argument('--no-first-run')
    opts.add_argument('--disable-background-timer-throttling')
    opts.add_argument('--disable-renderer-backgrounding')
    opts.add_argument('--disable-backgrounding-occluded-windows')
    opts.add_argument(f'--window-size={width},{height}')
    opts.add_argument('--lang=en-US')
    opts.add_argument('--force-device-scale-factor=1')
    # The performance log (DevTools protocol Network events) lets tests count the EventSource requests a page makes.
    opts.set_capability('goog:loggingPrefs', {'browser': 'ALL', 'performance': 'ALL'})
    opts.add_experimental_option('perfLoggingPrefs', {'enableNetwork': True, 'enablePage': False})
    driver_path = shutil.which('chromedriver') or '/usr/bin/chromedriver'
    d = webdriver.Chrome(service=Service(driver_path), options=opts)
    d.set_window_size(width, height)
    # Headless window size includes no browser chrome; make the viewport exactly width x height.
    try:
        d.execute_cdp_cmd('Emulation.setDeviceMetricsOverride', {
            'width': width, 'height': height, 'deviceScaleFactor': 1 if width > 500 else 2, 'mobile': width <= 500})
        if dark:
            d.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': [{'name': 'prefers-color-scheme', 'value': 'dark'}]})
        else:
            d.execute_cdp_cmd('Emulation.setEmulatedMedia', {'features': [{'name': 'prefers-color-scheme', 'value': 'light'}]})
    except Exception:
        pass
    return d


@pytest.fixture
def browsers():
    """Factory: browsers(width=1280, height=800) -> a new headless Chromium; all are closed after the test."""
    made = []

    def make(width=1280, height=800, dark=False):
        d = _chrome(width, height, dark)
        made.append(d)
        return d

    yield make
    for d in made:
        try:
            d.quit()
        except Exception:
            pass


def uniq(prefix):
    return f'{prefix}_{uuid.uuid4().hex[:6]}'


# ---------- page helpers ----------

def wait(driver, cond, timeout=10, msg=''):
    return WebDriverWait(driver, timeout, poll_frequency=0.1,
                         ignored_exceptions=(StaleElementReferenceException, NoSuchElementException)).until(lambda d: cond(d), message=msg)


def click_suggestion(driver, username, timeout=10):
    """Click the suggestion for username (suggestions re-render as results arrive, so retry on staleness)."""
    def go(d):
        for s in d.find_elements(By.CSS_SELECTOR, '[data-testid="suggestion"]'):
            if s.get_attribute('data-username') == username:
                s.click()
                return True
        return False
    wait(driver, go, timeout, f'no suggestion {username}')


def tid(driver, testid, within=None):
    return (within or driver).find_element(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def tids(driver, testid, within=None):
    return (within or driver).find_elements(By.CSS_SELECTOR, f'[data-testid="{testid}"]')


def wait_tid(driver, testid, timeout=10):
    return wait(driver, lambda d: (lambda els: els[0] if els and els[0].is_displayed() else None)(tids(d, testid)), timeout, f'no visible {testid}')


def dev_login(driver, server, username):
    driver.get(server.base + '/')
    box = wait_tid(driver, 'dev-username', 20)
    box.clear()
    box.send_keys(username)
    tid(driver, 'dev-login-submit').click()
    wait_tid(driver, 'sidebar', 15)
    wait(driver, lambda d: d.find_element(By.CSS_SELECTOR, '[data-testid="connection-status"]').get_attribute('data-state') == 'open', 15, 'stream did not open')


def conv_item(driver, conversation_id):
    els = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"]')
    return els[0] if els else None


def messages(driver):
    """[(message id or None, content, status)] of the open conversation, in display order."""
    return driver.execute_script("""
      return Array.from(document.querySelectorAll('[data-testid="message"]')).map(li => [
        li.dataset.messageId || null,
        li.querySelector('[data-testid="message-content"]').textContent,
        li.dataset.status]);
    """)


def js_errors(driver):
    try:
        # Script errors only: failed requests (a 401 on purpose, a 502 during a restart) are the app's business.
        return [e for e in driver.get_log('browser') if e.get('level') == 'SEVERE' and e.get('source') != 'network']
    except Exception:
        return []


_event_sources = {}  # id(driver) -> [EventSource request seen in the network log]


def event_source_requests(driver):
    """Every EventSource request (`/api/messages`) this browser's tabs have made so far, oldest first, as
    `{'tab': window handle, 'url': ...}`, read from Chromium's network log (DevTools protocol, all tabs). Browser
    reconnects (Last-Event-ID) count as requests too, with the same URL; a stream the app opens itself is a new URL."""
    seen = _event_sources.setdefault(id(driver), [])
    for e in driver.get_log('performance'):
        try:
            m = json.loads(e['message'])
        except ValueError:
            continue
        msg = m.get('message') or {}
        params = msg.get('params') or {}
        if msg.get('method') == 'Network.requestWillBeSent' and params.get('type') == 'EventSource' \
                and '/api/messages' in params.get('request', {}).get('url', ''):
            seen.append({'tab': m.get('webview'), 'url': params['request']['url']})
    return list(seen)


def screenshot(driver, name):
    os.makedirs(SCREENSHOTS, exist_ok=True)
    path = os.path.join(SCREENSHOTS, f'{name}.png')
    driver.save_screenshot(path)
    return path
