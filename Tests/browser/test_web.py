"""The web app in a real headless Chromium against a real messenger server (see conftest.py)."""
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import (click_suggestion, conv_item, dev_login, event_source_requests, js_errors, messages, screenshot, tid, tids, uniq, wait, wait_tid)


def open_conversation(driver, conversation_id):
    item = wait(driver, lambda d: conv_item(d, conversation_id), 15, f'conversation {conversation_id} not in list')
    item.click()
    wait(driver, lambda d: d.find_elements(By.CSS_SELECTOR, f'[data-testid="conversation-view"][data-conversation-id="{conversation_id}"]'), 10)
    wait(driver, lambda d: tid(d, 'composer-input').is_displayed(), 10)


def send_via_ui(driver, text):
    box = tid(driver, 'composer-input')
    box.send_keys(text)
    box.send_keys(Keys.ENTER)


def wait_message(driver, content, timeout=10, status='sent'):
    def ok(d):
        return any(c == content and (status is None or s == status) for _, c, s in messages(d))
    wait(driver, ok, timeout, f'message {content!r} not shown (have {messages(driver)!r})')


def open_conversation_id(driver):
    els = driver.find_elements(By.CSS_SELECTOR, '[data-testid="conversation-view"]')
    return els[0].get_attribute('data-conversation-id') if els else None


def badge(driver, conversation_id):
    item = conv_item(driver, conversation_id)
    if not item:
        return None
    b = item.find_elements(By.CSS_SELECTOR, '[data-testid="unread-badge"]')
    return b[0].text if b else ''


def assert_unique(driver):
    ms = messages(driver)
    ids = [i for i, _, _ in ms if i]
    assert len(ids) == len(set(ids)), f'duplicate messages: {ms!r}'
    return ms


# 1 ---------------------------------------------------------------------------------------------------

def test_two_users_live_conversation(server, browsers):
    alice, bob = uniq('alice'), uniq('bob')
    a = browsers()
    b = browsers()
    dev_login(b, server, bob)
    dev_login(a, server, alice)

    # Alice starts a conversation from the username search (suggestions as she types).
    tid(a, 'new-chat-button').click()
    box = wait_tid(a, 'new-chat-username')
    box.send_keys(bob[:5])
    click_suggestion(a, bob)
    wait(a, lambda d: open_conversation_id(d), 10, 'conversation did not open')
    cid = open_conversation_id(a)
    assert tid(a, 'conversation-title').text == bob

    send_via_ui(a, 'Hello Bob! https://example.com/path?q=1')
    # Optimistic copy at once, then reconciled with the server's copy (not doubled by the stream's copy).
    wait_message(a, 'Hello Bob! https://example.com/path?q=1')
    link = a.find_element(By.CSS_SELECTOR, '[data-testid="message-content"] a')
    assert link.get_attribute('href') == 'https://example.com/path?q=1'

    # Bob sees it live, with an unread badge and the count in the tab title.
    wait(b, lambda d: badge(d, cid) == '1', 15, 'no unread badge for bob')
    item = conv_item(b, cid)
    assert alice in item.text and 'Hello Bob!' in item.text
    wait(b, lambda d: d.title.startswith('(1)'), 5, f'title has no unread count: {b.title!r}')
    open_conversation(b, cid)
    wait_message(b, 'Hello Bob! https://example.com/path?q=1')
    wait(b, lambda d: badge(d, cid) == '', 10, 'badge not cleared after reading')
    wait(b, lambda d: not d.title.startswith('('), 5, 'title still counts unread')

    # Alice sees "Seen" once Bob has read it.
    wait(a, lambda d: any(e.is_displayed() and 'Seen' in e.text for e in tids(d, 'seen-indicator')), 15, 'no Seen for alice')

    # Bob replies with Enter; Shift+Enter makes a new line.
    boxb = tid(b, 'composer-input')
    boxb.send_keys('Hi Alice')
    boxb.send_keys(Keys.SHIFT, Keys.ENTER)
    boxb.send_keys('second line')
    boxb.send_keys(Keys.ENTER)
    wait_message(b, 'Hi Alice\nsecond line')
    wait_message(a, 'Hi Alice\nsecond line', 15)
    wait(b, lambda d: any('Seen' in e.text for e in tids(d, 'seen-indicator')), 15, 'no Seen for bob')
    # Alice's list preview follows; Bob's shows "You: ".
    wait(a, lambda d: 'Hi Alice' in conv_item(d, cid).text, 10)
    wait(b, lambda d: 'You: Hi Alice' in conv_item(d, cid).text, 10)

    # Alice leaves the conversation screen; Bob's next message gives her a badge.
    a.execute_script("history.pushState(null, '', '/'); dispatchEvent(new PopStateEvent('popstate'))")
    wait(a, lambda d: not open_conversation_id(d), 5)
    send_via_ui(b, 'Are you there?')
    wait(a, lambda d: badge(d, cid) == '1', 15, 'no unread badge for alice')
    wait(a, lambda d: d.title.startswith('(1)'), 5)

    for d in (a, b):
        ms = assert_unique(d) if open_conversation_id(d) else None
    assert [c for _, c, _ in messages(b)] == ['Hello Bob! https://example.com/path?q=1', 'Hi Alice\nsecond line', 'Are you there?']
    # Exactly one EventSource request per page (Chromium's network log).
    for d in (a, b):
        assert len(event_source_requests(d)) == 1, event_source_requests(d)
        assert not js_errors(d), js_errors(d)


# 2 ---------------------------------------------------------------------------------------------------

def test_group_of_three(server, browsers):
    names = [uniq('ana'), uniq('ben'), uniq('cat')]
    drivers = [browsers(), browsers(), browsers()]
    for d, n in zip(drivers, names):
        dev_login(d, server, n)
    a, b, c = drivers

    # Ana creates the group through the dialog.
    tid(a, 'new-group-button').click()
    wait_tid(a, 'group-title').send_keys('Weekend plans')
    member = tid(a, 'group-member-input')
    member.send_keys(names[1][:6])
    click_suggestion(a, names[1])
    member.send_keys(names[2])
    member.send_keys(Keys.ENTER)  # Enter adds the typed name
    wait(a, lambda d: len(tids(d, 'group-member-chip')) == 2, 5)
    tid(a, 'group-create-submit').click()
    wait(a, lambda d: open_conversation_id(d), 10)
    gid = open_conversation_id(a)
    assert tid(a, 'conversation-title').text == 'Weekend plans'
    wait(a, lambda d: '3 members' in tid(d, 'conversation-subtitle').text, 10)

    # The others get it live (event: conversation) and open it.
    for d in (b, c):
        open_conversation(d, gid)
        assert tid(d, 'conversation-title').text == 'Weekend plans'

    send_via_ui(a, 'Who is in?')
    send_via_ui(b, 'Me!')
    send_via_ui(c, 'Count me in too')
    for d in drivers:
        for text in ('Who is in?', 'Me!', 'Count me in too'):
            wait_message(d, text, 15)
        assert [x for _, x, _ in messages(d)] == ['Who is in?', 'Me!', 'Count me in too']
        assert_unique(d)
    # Sender names are shown for other people's messages in a group.
    senders = [e.text for e in tids(a, 'message-sender')]
    assert names[1] in senders and names[2] in senders and names[0] not in senders
    wait(a, lambda d: any('Seen by' in e.text for e in tids(d, 'seen-indicator')), 15)

    # Ana adds a fourth member; Cat leaves the group.
    dan = uniq('dan')
    server.login(dan)
    tid(a, 'members-button').click()
    wait_tid(a, 'members-dialog')
    tid(a, 'add-member-input').send_keys(dan)
    tid(a, 'add-member-submit').click()
    wait(a, lambda d: any(e.get_attribute('data-username') == dan for e in tids(d, 'member-item')), 10)
    tid(a, 'dialog-close').click()
    wait(a, lambda d: '4 members' in tid(d, 'conversation-subtitle').text, 10)

    tid(c, 'members-button').click()
    wait_tid(c, 'leave-group-button').click()
    wait_tid(c, 'leave-group-confirm').click()
    wait(c, lambda d: conv_item(d, gid) is None and not open_conversation_id(d), 10, 'group still shown after leaving')
    wait(a, lambda d: '3 members' in tid(d, 'conversation-subtitle').text, 15)
    for d in drivers:
        assert not js_errors(d), js_errors(d)


# 3 ---------------------------------------------------------------------------------------------------

HOSTILE = [
    '<img src=x onerror=window.__xss=1>',
    '<script>window.__xss=2</script>',
    'javascript:alert(1)',
    '[click](javascript:window.__xss=3)',
    'http://a/%E0%A4%A',
    'see https://example.com/%E0%A4%A?x=%ZZ&y="><img src=x onerror=window.__xss=4>',
    '<a href="javascript:window.__xss=5">x</a>',
    '"><svg onload=window.__xss=6>',
]


def test_hostile_content_is_inert(server, browsers):
    mal, vic = uniq('mal'), uniq('vic')
    m_auth = server.login(mal)
    server.login(vic)
    title = '<img src=x onerror=window.__xss=7> "><b>bold</b>'
    g = server.create_group(m_auth['token'], title, [vic])
    dm = server.start_conversation(m_auth['token'], vic)
    for text in HOSTILE:
        server.send(m_auth['token'], g['id'], text)
        server.send(m_auth['token'], dm['id'], text)
    # Hostile usernames are refused by the server, never reach the page.
    status, _ = server.call('POST', '/api/login', {'username': '<img src=x onerror=window.__xss=8>'})
    assert status in (400, 422)

    d = browsers()
    dev_login(d, server, vic)
    wait(d, lambda dd: conv_item(dd, g['id']) and conv_item(dd, dm['id']), 10)
    assert title in conv_item(d, g['id']).text
    for cid in (g['id'], dm['id']):
        open_conversation(d, cid)
        for text in HOSTILE:
            wait_message(d, text, 10)
        if cid == g['id']:
            assert tid(d, 'conversation-title').text == title
    # A malformed escape in the address bar does not break the app either.
    d.get(server.base + '/c/%E0%A4%A')
    wait_tid(d, 'sidebar', 10)
    open_conversation(d, g['id'])
    wait_message(d, HOSTILE[0], 10)
    time.sleep(0.5)

    assert d.execute_script('return typeof window.__xss') == 'undefined'
    assert d.execute_script('return document.querySelectorAll("img[src=\'x\'], img[src$=\'/x\'], script:not([src]), svg[onload], b").length') == 0
    hrefs = d.execute_script('return Array.from(document.querySelectorAll("a[href]")).map(a => a.getAttribute("href"))')
    assert not [h for h in hrefs if not h.startswith(('http://', 'https://', '/c/'))], hrefs
    links = d.execute_script('return Array.from(document.querySelectorAll("[data-testid=message-link]")).map(a => [a.textContent, a.href])')
    assert ['http://a/%E0%A4%A', 'http://a/%E0%A4%A'] in links, links
    assert all(href.startswith(('http://', 'https://')) for _, href in links)
    assert not any('javascript' in href for _, href in links)
    # No element carries an inline event handler.
    handlers = d.execute_script("""
      return Array.from(document.querySelectorAll('*')).filter(el =>
        Array.from(el.attributes).some(a => a.name.startsWith('on'))).map(el => el.outerHTML.slice(0, 80));""")
    assert handlers == [], handlers
    assert not js_errors(d), js_errors(d)


# 4 ---------------------------------------------------------------------------------------------------

def test_restart_server_nothing_missing_nothing_doubled(server, browsers):
    reader, writer = uniq('reader'), uniq('writer')
    server.login(reader)
    w = server.login(writer)
    conv = server.start_conversation(w['token'], reader)
    server.send(w['token'], conv['id'], 'before restart')

    d = browsers()
    dev_login(d, server, reader)
    open_conversation(d, conv['id'])
    wait_message(d, 'before restart')

    server.stop()
    status = tid(d, 'connection-status')
    wait(d, lambda dd: status.get_attribute('data-state') == 'down' and status.is_displayed(), 15, 'no outage shown')
    assert 'reconnect' in status.text.lower()
    time.sleep(0.4)
    screenshot(d, 'desktop-reconnecting')
    # Sending from the page while the server is down fails visibly, with a retry.
    send_via_ui(d, 'typed while offline')
    err = wait(d, lambda dd: (lambda e: e[0] if e else None)(tids(dd, 'message-error')), 15, 'no send error shown')
    assert 'Not sent' in err.text

    server.start()
    # Sent while the browser's stream is still down (its retry has not fired yet) and right after.
    w = server.login(writer)
    sent = []
    for i in range(5):
        sent.append(server.send(w['token'], conv['id'], f'during outage {i}'))
    wait(d, lambda dd: status.get_attribute('data-state') == 'open', 30, 'stream did not come back')
    for i in range(5, 8):
        sent.append(server.send(w['token'], conv['id'], f'after reconnect {i}'))
    # A retried send with the same clientId is not doubled.
    dup1 = server.send(w['token'], conv['id'], 'idempotent', client_id='c-test-1')
    dup2 = server.send(w['token'], conv['id'], 'idempotent', client_id='c-test-1')
    assert dup1['id'] == dup2['id']

    # The send that failed offline goes out again by itself once the stream is back (no Retry click), so it lands
    # somewhere among the writer's messages.
    expected = ['before restart'] + [f'during outage {i}' for i in range(5)] + [f'after reconnect {i}' for i in range(5, 8)] + ['idempotent']
    wait(d, lambda dd: [c for _, c, s in messages(dd) if s == 'sent' and c != 'typed while offline'] == expected
         and [c for _, c, s in messages(dd) if s == 'sent'].count('typed while offline') == 1, 20, f'messages after restart: {messages(d)!r}')
    assert not tids(d, 'message-error')
    ms = assert_unique(d)
    assert {m['id'] for m in sent} <= {i for i, _, _ in ms}
    # The page stays on the same (single) stream object or a replacement; never two at once.
    wait(d, lambda dd: not status.is_displayed() or 'visible' not in status.get_attribute('class'), 5)
    # Read positions still work after the restart: the writer sees the reader's position.
    def read_pos():
        _, ps = server.call('GET', f'/api/conversations/{conv["id"]}/participants', token=w['token'], expect=200)
        return next(p['lastReadMessageId'] for p in ps if p['username'] == reader)
    wait(d, lambda dd: read_pos() == dup1['id'] or int(read_pos() or 0) > int(dup1['id']), 10, 'read position not updated')
    # The browser's own reconnect (Last-Event-ID) did it: every stream request in the network log is the first one
    # again (the app's own replacement would carry `?lastEventId=`).
    reqs = event_source_requests(d)
    assert reqs and {r['url'] for r in reqs} == {reqs[0]['url']} and 'lastEventId=' not in reqs[0]['url'], reqs


# 4b --------------------------------------------------------------------------------------------------

def test_paging_history_and_limits(server, browsers):
    me = uniq('pager')
    token = server.login(me)['token']
    conv_ids = []
    for i in range(30):
        peer = uniq(f'peer{i:02d}')
        server.login(peer)
        conv_ids.append(server.start_conversation(token, peer)['id'])
    long_id = conv_ids[0]
    for i in range(70):
        server.send(token, long_id, f'history {i:02d}')

    d = browsers()
    dev_login(d, server, me)
    wait(d, lambda dd: len(tids(dd, 'conversation-item')) >= 25, 10)
    # More conversations load on scroll (the cursor of the last one is passed as `before`).
    d.execute_script('document.querySelector(".sidebar-scroll").scrollTop = 1e6')
    wait(d, lambda dd: len(tids(dd, 'conversation-item')) == 30, 10, 'list did not page')
    ids = [e.get_attribute('data-conversation-id') for e in tids(d, 'conversation-item')]
    assert len(set(ids)) == 30 and ids[0] == long_id

    open_conversation(d, long_id)
    wait(d, lambda dd: [c for _, c, _ in messages(dd)][-1:] == ['history 69'], 10)
    first = messages(d)[0][1]
    assert first != 'history 00'
    # Scroll up: older messages load above, and the message that was at the top stays in view.
    d.execute_script('document.querySelector("[data-testid=message-list]").scrollTop = 0')
    wait(d, lambda dd: messages(dd)[0][1] < first, 10, 'older messages did not load')
    in_view = d.execute_script('''
      const list = document.querySelector("[data-testid=message-list]").getBoundingClientRect();
      const li = Array.from(document.querySelectorAll("[data-testid=message]")).find(l => l.textContent.includes(arguments[0]));
      const r = li.getBoundingClientRect();
      return r.top >= list.top - 5 && r.top <= list.bottom;''', first)
    assert in_view, 'scroll position not kept when older messages loaded'
    for _ in range(5):
        d.execute_script('document.querySelector("[data-testid=message-list]").scrollTop = 0')
        time.sleep(0.3)
        if messages(d)[0][1] == 'history 00':
            break
    wait(d, lambda dd: [c for _, c, _ in messages(dd)] == [f'history {i:02d}' for i in range(70)], 10)
    assert_unique(d)

    # Character counter near the limit; over the limit the send button is disabled.
    box = tid(d, 'composer-input')
    d.execute_script('arguments[0].value = "y".repeat(470); arguments[0].dispatchEvent(new Event("input"))', box)
    counter = tid(d, 'char-counter')
    assert counter.is_displayed() and counter.text == '470 / 480'
    assert tid(d, 'send-button').is_enabled()
    box.send_keys('z' * 15)
    wait(d, lambda dd: counter.text == '485 / 480', 5)
    assert 'over' in counter.get_attribute('class')
    assert not tid(d, 'send-button').is_enabled()
    box.send_keys(Keys.ENTER)
    time.sleep(0.3)
    assert [c for _, c, _ in messages(d)][-1] == 'history 69'
    assert not js_errors(d), js_errors(d)


# 5 ---------------------------------------------------------------------------------------------------

def _seed_demo(server):
    """A realistic little world for the screenshots."""
    me = 'maya'
    people = {n: n for n in ('leo', 'sofia', 'daniel', 'priya', 'tom')}
    tokens = {n: server.login(u)['token'] for n, u in people.items()}
    mt = server.login(me)['token']
    leo = server.start_conversation(mt, people['leo'])
    server.send(tokens['leo'], leo['id'], 'Hey! Are we still on for Saturday?')
    server.send(mt, leo['id'], 'Yes! 10am at the trailhead 🥾')
    server.send(tokens['leo'], leo['id'], 'Perfect. I found the route we talked about: https://example.com/trails/ridge-loop')
    server.send(mt, leo['id'], 'Looks great. I\'ll bring snacks and the good coffee ☕')
    server.send(tokens['leo'], leo['id'], 'Legend. See you there!')
    sofia = server.start_conversation(mt, people['sofia'])
    server.send(mt, sofia['id'], 'Sent you the slides for Monday')
    server.send(tokens['sofia'], sofia['id'], 'Thanks, reading them now 👀')
    group = server.create_group(mt, 'Weekend trip 🏕️', [people['leo'], people['daniel'], people['priya']])
    server.send(mt, group['id'], 'Who can drive on Saturday?')
    server.send(tokens['daniel'], group['id'], 'I can take 3 people')
    server.send(tokens['priya'], group['id'], 'Me and Leo will join you 🙌')
    server.send(tokens['leo'], group['id'], 'Count me in. Should we leave at 8?')
    server.send(tokens['daniel'], group['id'], '8 works. I\'ll pick everyone up.')
    server.send(mt, group['id'], 'Great, thanks Daniel! I\'ll book the campsite tonight.')
    server.send(tokens['priya'], group['id'], 'Amazing — this is going to be so much fun')
    server.call('POST', f'/api/conversations/{group["id"]}/read_messages', {}, token=tokens['leo'])
    server.call('POST', f'/api/conversations/{group["id"]}/read_messages', {}, token=tokens['daniel'])
    tom = server.start_conversation(tokens['tom'], me)
    server.send(tokens['tom'], tom['id'], 'Can you review my PR when you get a chance?')
    server.send(tokens['tom'], tom['id'], 'No rush, tomorrow is fine')
    dan = server.start_conversation(mt, people['daniel'])
    server.send(tokens['daniel'], dan['id'], 'Did you get the tickets?')
    server.send(mt, dan['id'], 'Got them!')
    # Latest activity: the Leo chat again, so the list order is interesting.
    server.send(tokens['leo'], leo['id'], 'Oh and bring a jacket, it gets cold up there')
    return me, {'leo': leo, 'group': group, 'tom': tom}


def test_screenshots(server, browsers):
    me, convs = _seed_demo(server)
    for label, (w, h) in {'desktop': (1280, 800), 'phone': (390, 844)}.items():
        d = browsers(w, h)
        d.get(server.base + '/')
        wait_tid(d, 'dev-username', 20)
        time.sleep(0.3)
        screenshot(d, f'{label}-1-sign-in')
        dev_login(d, server, me)
        wait(d, lambda dd: len(tids(dd, 'conversation-item')) >= 5, 10)
        time.sleep(0.3)
        screenshot(d, f'{label}-2-conversation-list')
        open_conversation(d, convs['group']['id'])
        wait_message(d, 'Amazing — this is going to be so much fun')
        time.sleep(0.4)
        screenshot(d, f'{label}-3-group-conversation')
        if label == 'phone':
            tid(d, 'back-button').click()
            wait_tid(d, 'conversation-list')
        open_conversation(d, convs['leo']['id'])
        wait_message(d, 'Oh and bring a jacket, it gets cold up there')
        tid(d, 'composer-input').send_keys('Will do! ')
        time.sleep(0.4)
        screenshot(d, f'{label}-4-conversation')
        if label == 'phone':
            tid(d, 'back-button').click()
            wait_tid(d, 'conversation-list')
        tid(d, 'new-group-button').click()
        wait_tid(d, 'group-title').send_keys('Book club')
        tid(d, 'group-member-input').send_keys('s')
        wait(d, lambda dd: tids(dd, 'suggestion'), 10)
        time.sleep(0.3)
        screenshot(d, f'{label}-5-new-group')
        assert not js_errors(d), js_errors(d)
    # Dark theme.
    d = browsers(1280, 800, dark=True)
    dev_login(d, server, me)
    open_conversation(d, convs['group']['id'])
    wait_message(d, 'Amazing — this is going to be so much fun')
    time.sleep(0.4)
    screenshot(d, 'desktop-6-dark-conversation')
    d.get(server.base + '/')
    wait_tid(d, 'logout-button').click()
    wait_tid(d, 'dev-username')
    time.sleep(0.3)
    screenshot(d, 'desktop-7-dark-sign-in')


# 6 ---------------------------------------------------------------------------------------------------

def _tab_to(driver, testid, limit=25):
    from selenium.webdriver.common.action_chains import ActionChains
    for _ in range(limit):
        if driver.switch_to.active_element.get_attribute('data-testid') == testid:
            return driver.switch_to.active_element
        ActionChains(driver).send_keys(Keys.TAB).perform()
    raise AssertionError(f'could not reach {testid} with Tab')


def test_keyboard_only(server, browsers):
    from selenium.webdriver.common.action_chains import ActionChains
    me, peer = uniq('kbd'), uniq('kbdpeer')
    server.login(peer)
    d = browsers(390, 844)
    d.get(server.base + '/')
    wait_tid(d, 'dev-username', 20)
    _tab_to(d, 'dev-username').send_keys(me + Keys.ENTER)
    wait_tid(d, 'sidebar', 15)
    btn = _tab_to(d, 'new-chat-button')
    # Focus is visible.
    assert d.execute_script('return getComputedStyle(arguments[0]).boxShadow', btn) != 'none'
    btn.send_keys(Keys.ENTER)
    box = wait_tid(d, 'new-chat-username')
    assert d.switch_to.active_element == box
    box.send_keys(peer[:8])
    wait(d, lambda dd: any(s.get_attribute('data-username') == peer for s in tids(dd, 'suggestion')), 10)
    ActionChains(d).send_keys(Keys.ARROW_DOWN).perform()
    ActionChains(d).send_keys(Keys.ENTER).perform()
    wait(d, lambda dd: open_conversation_id(dd), 10)
    wait(d, lambda dd: dd.switch_to.active_element.get_attribute('data-testid') == 'composer-input', 5)
    ActionChains(d).send_keys('typed with the keyboard' + Keys.ENTER).perform()
    wait_message(d, 'typed with the keyboard')
    # Phone width: Escape (or the back button) returns to the list.
    ActionChains(d).send_keys(Keys.ESCAPE).perform()
    wait_tid(d, 'conversation-list')
    item = _tab_to(d, 'conversation-item')
    item.send_keys(Keys.ENTER)
    wait(d, lambda dd: open_conversation_id(dd), 10)
    assert not js_errors(d), js_errors(d)


# 7 ---------------------------------------------------------------------------------------------------

def _stored_auth(d):
    import json as _json
    raw = d.execute_script("return localStorage.getItem('messenger.auth')")
    return _json.loads(raw) if raw else None


def test_session_refresh_expiry_and_logout(server, browsers):
    import json as _json
    me = uniq('sess')
    d = browsers()
    dev_login(d, server, me)
    auth = _stored_auth(d)
    assert auth['user']['username'] == me and auth['token']

    # Close to expiry: the app refreshes the token (POST /api/refresh_token) on start.
    near = dict(auth, expiresAt=time.strftime('%Y-%m-%dT%H:%M:%S.000Z', time.gmtime(time.time() + 120)))
    d.execute_script("localStorage.setItem('messenger.auth', arguments[0])", _json.dumps(near))
    d.refresh()
    wait_tid(d, 'sidebar', 15)
    wait(d, lambda dd: _stored_auth(dd)['expiresAt'] != near['expiresAt'], 10, 'token not refreshed')
    fresh = _stored_auth(d)
    status, user = server.call('GET', '/api/auth_user', token=fresh['token'])
    assert status == 200 and user['username'] == me

    # A rejected token sends the user back to sign-in with a notice.
    bad = dict(fresh, token=fresh['token'][:-4] + 'AAAA')
    d.execute_script("localStorage.setItem('messenger.auth', arguments[0])", _json.dumps(bad))
    d.refresh()
    wait_tid(d, 'dev-username', 15)
    assert _stored_auth(d) is None
    assert 'sign in' in tid(d, 'auth-notice').text.lower()

    # An expired token never leaves the sign-in screen.
    expired = dict(fresh, expiresAt='2020-01-01T00:00:00.000Z')
    d.execute_script("localStorage.setItem('messenger.auth', arguments[0])", _json.dumps(expired))
    d.refresh()
    wait_tid(d, 'dev-username', 15)
    assert not tids(d, 'sidebar')

    # Sign out kills the token on the server.
    dev_login(d, server, me)
    token = _stored_auth(d)['token']
    tid(d, 'logout-button').click()
    wait_tid(d, 'dev-username', 10)
    assert _stored_auth(d) is None
    status, _ = server.call('GET', '/api/auth_user', token=token)
    assert status == 401

    # Register and sign in with a password.
    pw_user = uniq('pw')
    tid(d, 'register-tab').click()
    tid(d, 'login-username').send_keys(pw_user)
    tid(d, 'login-password').send_keys('correct horse battery')
    tid(d, 'login-submit').click()
    wait_tid(d, 'sidebar', 15)
    assert tid(d, 'current-username').text == pw_user
    wait_tid(d, 'logout-button').click()
    wait_tid(d, 'login-username', 10)
    tid(d, 'login-username').send_keys(pw_user)
    tid(d, 'login-password').send_keys('wrong password!')
    tid(d, 'login-submit').click()
    err = wait_tid(d, 'auth-error', 10)
    assert 'invalid' in err.text.lower()
    pw = tid(d, 'login-password')
    pw.clear()
    pw.send_keys('correct horse battery')
    tid(d, 'login-submit').click()
    wait_tid(d, 'sidebar', 15)
    assert not js_errors(d), js_errors(d)



def test_other_tab_switches_user_and_signs_out(server, browsers):
    """The stored session is shared by a browser's tabs: another tab switching user switches this one, and another
    tab signing out signs this one out, live (the `storage` listener the app starts at boot, web/js/api.js)."""
    import json as _json
    me, other = uniq('tab'), uniq('tabx')
    d = browsers()
    dev_login(d, server, me)
    tab1 = d.current_window_handle
    d.switch_to.new_window('tab')
    d.get(server.base + '/')
    tab2 = d.current_window_handle
    wait_tid(d, 'sidebar', 20)
    assert tid(d, 'current-username').text == me

    # Tab 1 stores another user's session (as signing in there as someone else would): tab 2 follows.
    out = server.login(other)
    d.switch_to.window(tab1)
    d.execute_script("localStorage.setItem('messenger.auth', arguments[0])",
                     _json.dumps({'token': out['token'], 'expiresAt': out['expiresAt'], 'user': out['authUser']}))
    d.switch_to.window(tab2)
    wait(d, lambda dd: tids(dd, 'current-username') and tids(dd, 'current-username')[0].text == other, 10,
         'tab 2 did not switch to the other user')

    # Sign out in tab 1: tab 2, never touched, goes to the sign-in screen.
    d.switch_to.window(tab1)
    wait_tid(d, 'logout-button').click()
    wait_tid(d, 'dev-username', 10)
    d.switch_to.window(tab2)
    wait_tid(d, 'dev-username', 10)
    assert not tids(d, 'sidebar')
    assert _stored_auth(d) is None
    assert not js_errors(d), js_errors(d)

# 8 ---------------------------------------------------------------------------------------------------

def test_read_only_while_visible(server, browsers):
    me, peer = uniq('vis'), uniq('vispeer')
    server.login(me)
    p = server.login(peer)
    conv = server.start_conversation(p['token'], me)
    first = server.send(p['token'], conv['id'], 'first')
    d = browsers()
    dev_login(d, server, me)
    open_conversation(d, conv['id'])
    wait_message(d, 'first')

    def my_read_position():
        _, ps = server.call('GET', f'/api/conversations/{conv["id"]}/participants', token=p['token'], expect=200)
        return next(x['lastReadMessageId'] for x in ps if x['username'] == me)
    wait(d, lambda dd: my_read_position() == first['id'], 10, 'open conversation not marked read')

    # The page goes to the background (simulated: headless Chromium keeps every tab visible).
    d.execute_script("""
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));""")
    second = server.send(p['token'], conv['id'], 'while hidden')
    wait_message(d, 'while hidden')
    wait(d, lambda dd: dd.title.startswith('(1)'), 5, f'no unread count in the title: {d.title!r}')
    wait(d, lambda dd: badge(dd, conv['id']) == '1', 5, 'no badge while hidden')
    time.sleep(1)
    assert my_read_position() == first['id'], 'marked read while the page was hidden'
    # Back to the foreground: read now.
    d.execute_script("""
      delete document.visibilityState; delete document.hidden;
      document.dispatchEvent(new Event('visibilitychange'));""")
    wait_message(d, 'while hidden')
    wait(d, lambda dd: my_read_position() == second['id'], 10, 'not marked read once visible again')
    wait(d, lambda dd: not dd.title.startswith('('), 5)
    assert not js_errors(d), js_errors(d)
