"""How the web app behaves when the server ends its stream on purpose (see conftest.py)."""
import socket
import time
from urllib.parse import urlparse

from selenium.webdriver.common.by import By

from conftest import dev_login, uniq, wait


class RawStream:
    """An SSE stream over a plain socket: the server cannot tell it from a browser tab."""

    def __init__(self, base, token):
        url = urlparse(base)
        self.sock = socket.create_connection((url.hostname, url.port), timeout=5)
        self.sock.sendall(f'GET /api/messages?token={token} HTTP/1.1\r\nHost: {url.netloc}\r\n'
                          f'Accept: text/event-stream\r\n\r\n'.encode())
        self.data = b''
        self.ended = False
        self.read_until(b'\nid: ', 5)

    def read_until(self, marker, timeout):
        deadline = time.time() + timeout
        while marker not in self.data and not self.ended and time.time() < deadline:
            self.poll(max(0.01, deadline - time.time()))
        return marker in self.data

    def poll(self, timeout=0.05):
        self.sock.settimeout(timeout)
        try:
            chunk = self.sock.recv(65536)
            if chunk:
                self.data += chunk
            else:
                self.ended = True
        except (socket.timeout, BlockingIOError):
            pass
        except OSError:
            self.ended = True

    def close(self):
        self.sock.close()


def test_tab_evicted_by_newer_streams_stays_closed_and_says_so(server, browsers):
    """11 streams of one user: the oldest (the browser tab) is told `closed` and must not reconnect, or it would
    evict another tab, and that one another, forever."""
    name = uniq('tabs')
    d = browsers()
    dev_login(d, server, name)
    token = server.login(name)['token']
    streams = []
    try:
        for _ in range(10):
            streams.append(RawStream(server.base, token))
        # Closed, and shown (the banner fades in).
        status = wait(d, lambda drv: (lambda el: el if el.get_attribute('data-state') == 'closed' and 'too many tabs' in el.text else None)(
            drv.find_element(By.CSS_SELECTOR, '[data-testid="connection-status"]')), 10, 'the tab was not told it was closed')
        assert 'too many tabs' in status.text
        # Had the tab reconnected, the oldest raw stream would have been evicted in turn.
        time.sleep(4)
        for s in streams:
            s.poll()
        assert not any(s.ended or b'event: closed' in s.data for s in streams), 'the evicted tab reconnected'
        assert d.find_element(By.CSS_SELECTOR, '[data-testid="connection-status"]').get_attribute('data-state') == 'closed'
    finally:
        for s in streams:
            s.close()
