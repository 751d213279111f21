"""Issue 18: the bugs a user hits in the web app, and the conveniences (see conftest.py for the fixtures)."""
import json
import time

from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import click_suggestion, conv_item, dev_login, event_source_requests, js_errors, messages, tid, tids, uniq, wait, wait_tid
from test_web import badge, open_conversation, open_conversation_id, send_via_ui, wait_message

NEWEST_VISIBLE = """
  const list = document.querySelector('[data-testid=message-list]').getBoundingClientRect();
  const all = document.querySelectorAll('[data-testid=message]');
  const last = all[all.length - 1].getBoundingClientRect();
  return [last.bottom <= list.bottom + 1 && last.top >= list.top - 1, Math.round(last.bottom - list.bottom)];"""

AT_BOTTOM = """
  const s = document.querySelector('[data-testid=message-list]');
  return s.scrollHeight - s.scrollTop - s.clientHeight;"""


def dm_with_history(server, n, prefix='hist'):
    me, peer = uniq(prefix), uniq(prefix + 'peer')
    mt = server.login(me)['token']
    pt = server.login(peer)['token']
    conv = server.start_conversation(mt, peer)
    for i in range(n):
        server.send(pt if i % 2 else mt, conv['id'], f'{prefix} {i:02d}')
    # Read, so no unread divider moves the start position.
    server.call('POST', f'/api/conversations/{conv["id"]}/read_messages', {}, token=mt)
    return me, mt, peer, pt, conv


def newest_in_view(d):
    return d.execute_script(NEWEST_VISIBLE)[0]


# Bug 1 -----------------------------------------------------------------------------------------------

def test_returning_to_a_conversation_shows_the_newest_messages(server, browsers):
    me, mt, peer, pt, conv = dm_with_history(server, 40, 'back')
    other = uniq('backother')
    server.login(other)
    other_conv = server.start_conversation(mt, other)
    server.send(mt, other_conv['id'], 'elsewhere')
    last = 'back 39'
    for width, height in ((1280, 800), (390, 844)):
        d = browsers(width, height)
        dev_login(d, server, me)
        open_conversation(d, conv['id'])
        wait_message(d, last)
        wait(d, lambda dd: dd.execute_script(AT_BOTTOM) < 5, 5, 'first visit not at the bottom')
        loaded = len(messages(d))
        for _ in range(2):
            if width < 500:
                tid(d, 'back-button').click()
                wait_tid(d, 'conversation-list')
            open_conversation(d, other_conv['id'])
            wait_message(d, 'elsewhere')
            if width < 500:
                tid(d, 'back-button').click()
                wait_tid(d, 'conversation-list')
            open_conversation(d, conv['id'])
            wait_message(d, last)
            time.sleep(0.5)  # a wrong scroll would load an older page by now
            assert d.execute_script(AT_BOTTOM) < 5, f'{width}px: returned {d.execute_script(AT_BOTTOM)} px above the bottom'
            assert newest_in_view(d), 'newest message not in view'
            assert len(messages(d)) == loaded, 'coming back loaded another page of older history'
        assert not js_errors(d), js_errors(d)


# Bug 2 -----------------------------------------------------------------------------------------------

def test_a_long_draft_does_not_hide_the_newest_message(server, browsers):
    me, mt, peer, pt, conv = dm_with_history(server, 35, 'draft')
    d = browsers()
    dev_login(d, server, me)
    open_conversation(d, conv['id'])
    wait_message(d, 'draft 34')
    wait(d, lambda dd: newest_in_view(dd), 5)
    box = tid(d, 'composer-input')
    for i in range(9):
        box.send_keys(f'line {i}')
        box.send_keys(Keys.SHIFT, Keys.ENTER)
        visible, off = d.execute_script(NEWEST_VISIBLE)
        assert visible, f'after {i + 1} lines the newest message is {off} px below the list'
    box.send_keys('and more text at full height')
    assert newest_in_view(d)
    # A paste of ~490 characters in one go.
    d.execute_script('arguments[0].value = ""; arguments[0].dispatchEvent(new Event("input"))', box)
    wait(d, lambda dd: newest_in_view(dd), 5)
    d.execute_script('''const b = arguments[0]; b.focus();
      document.execCommand("insertText", false, "word ".repeat(98));''', box)
    assert newest_in_view(d), d.execute_script(NEWEST_VISIBLE)
    assert not js_errors(d), js_errors(d)


# Bug 3 -----------------------------------------------------------------------------------------------

def test_seen_when_the_other_side_replies_without_a_read_call(server, browsers):
    alice, bob = uniq('seena'), uniq('seenb')
    at = server.login(alice)['token']
    bt = server.login(bob)['token']
    conv = server.start_conversation(at, bob)
    d = browsers()
    dev_login(d, server, alice)
    open_conversation(d, conv['id'])
    send_via_ui(d, 'are you there?')
    wait_message(d, 'are you there?')
    wait(d, lambda dd: tids(dd, 'sent-indicator'), 10)
    # Bob answers at once through the API without ever calling read_messages: his send moved his read position.
    server.send(bt, conv['id'], 'yes!')
    _, ps = server.call('GET', f'/api/conversations/{conv["id"]}/participants', token=at, expect=200)
    assert int(next(p for p in ps if p['username'] == bob)['lastReadMessageId']) > 0
    wait_message(d, 'yes!', 10)
    wait(d, lambda dd: any('Seen' in e.text for e in tids(dd, 'seen-indicator')), 10, 'no Seen although bob replied')
    assert not js_errors(d), js_errors(d)


# Bug 4 -----------------------------------------------------------------------------------------------

def test_eight_tabs_share_one_stream_and_survive_the_leader_closing(server, browsers):
    me, peer = uniq('tabs8'), uniq('tabs8peer')
    pt = server.login(peer)['token']
    server.login(me)
    conv = server.start_conversation(pt, me)
    d = browsers()
    dev_login(d, server, me)
    handles = [d.current_window_handle]
    for _ in range(7):
        d.switch_to.new_window('tab')
        d.get(server.base + '/')
        handles.append(d.current_window_handle)
    for hd in handles:
        d.switch_to.window(hd)
        wait_tid(d, 'sidebar', 20)
        wait(d, lambda dd: conv_item(dd, conv['id']), 20, 'a tab did not show the conversation list')
        wait(d, lambda dd: tid(dd, 'connection-status').get_attribute('data-state') == 'open', 20, 'a tab is not live')
    # One EventSource request among all eight tabs (Chromium's network log): its tab is the leader.
    opened = event_source_requests(d)
    assert len(opened) == 1 and opened[0]['tab'] in handles, opened
    leaders = [opened[0]['tab']]

    server.send(pt, conv['id'], 'hello all tabs')
    for hd in handles:
        d.switch_to.window(hd)
        wait(d, lambda dd: 'hello all tabs' in (conv_item(dd, conv['id']).text or ''), 15, 'a tab missed the live message')

    # The leader closes; another tab takes over within a few seconds and nothing is missed in between.
    d.switch_to.window(leaders[0])
    d.close()
    rest = [hd for hd in handles if hd != leaders[0]]
    server.send(pt, conv['id'], 'during the handover')
    d.switch_to.window(rest[0])
    # Another tab opens the stream within 5 s, resuming from the last position the leader passed on.
    wait(d, lambda dd: len(event_source_requests(dd)) > 1, 5, 'no tab took over the stream within 5 s')
    took_over = event_source_requests(d)[1:]
    assert len(took_over) == 1 and took_over[0]['tab'] in rest and 'lastEventId=' in took_over[0]['url'], took_over
    server.send(pt, conv['id'], 'after the handover')
    for hd in rest:
        d.switch_to.window(hd)
        wait(d, lambda dd: 'after the handover' in (conv_item(dd, conv['id']).text or ''), 15, 'a tab missed the message after the handover')
    # The message sent while no tab held the stream arrived too (replayed from the last shared position).
    d.switch_to.window(rest[0])
    open_conversation(d, conv['id'])
    wait_message(d, 'during the handover', 10)
    assert [c for _, c, _ in messages(d)] == ['hello all tabs', 'during the handover', 'after the handover']
    for hd in rest:
        d.switch_to.window(hd)
        assert not js_errors(d), js_errors(d)
    assert len(event_source_requests(d)) == 2, f'more than one stream after the handover: {event_source_requests(d)!r}'


# Bug 5 -----------------------------------------------------------------------------------------------

def test_smaller_bugs_left_group_drafts_links_times(server, browsers):
    me, peer, third = uniq('small'), uniq('smallpeer'), uniq('smallthird')
    mt = server.login(me)['token']
    pt = server.login(peer)['token']
    server.login(third)
    conv = server.start_conversation(pt, me)
    server.send(pt, conv['id'], 'visit www.example.org today')
    group = server.create_group(pt, 'Leaving soon', [me, third])
    d = browsers()
    dev_login(d, server, me)

    # www. hosts are links; times in the locale's format without a leading zero.
    open_conversation(d, conv['id'])
    wait_message(d, 'visit www.example.org today')
    links = d.execute_script('return Array.from(document.querySelectorAll("[data-testid=message-link]")).map(a => [a.textContent, a.href])')
    assert ['www.example.org', 'https://www.example.org/'] in links, links
    times = [e.text for e in d.find_elements(By.CSS_SELECTOR, '.msg-time')]
    expected = d.execute_script('''return new Date(arguments[0]).toLocaleTimeString(undefined, {hour: "numeric", minute: "2-digit"})''',
                                d.find_element(By.CSS_SELECTOR, '.msg-time').get_attribute('datetime'))
    assert times[0] == expected and not times[0].startswith('0'), times

    # Drafts survive a reload, per conversation.
    tid(d, 'composer-input').send_keys('half-written thought')
    d.refresh()
    open_conversation(d, conv['id'])
    wait(d, lambda dd: tid(dd, 'composer-input').get_attribute('value') == 'half-written thought', 5, 'draft lost on reload')

    # A group you left says so.
    open_conversation(d, group['id'])
    tid(d, 'members-button').click()
    wait_tid(d, 'leave-group-button').click()
    wait_tid(d, 'leave-group-confirm').click()
    wait(d, lambda dd: conv_item(dd, group['id']) is None, 10)
    d.get(server.base + f'/c/{group["id"]}')
    missing = wait_tid(d, 'conversation-missing', 15)
    assert 'You left this group' in missing.text and 'Leaving soon' in missing.text
    assert 'not found' not in missing.text.lower()
    assert not js_errors(d), js_errors(d)


def test_smaller_bugs_dialogs(server, browsers):
    me, peer = uniq('dlg'), uniq('dlgpeer')
    server.login(peer)
    d = browsers()
    dev_login(d, server, me)
    # The suggestion list does not cover the "Start chat" button.
    tid(d, 'new-chat-button').click()
    box = wait_tid(d, 'new-chat-username')
    box.send_keys(peer[:6])
    wait(d, lambda dd: any(s.get_attribute('data-username') == peer for s in tids(dd, 'suggestion')), 10)
    hit = d.execute_script('''const b = document.querySelector("[data-testid=new-chat-submit]").getBoundingClientRect();
      const el = document.elementFromPoint(b.left + b.width / 2, b.top + b.height / 2);
      return el && el.closest("[data-testid=new-chat-submit]") !== null;''')
    assert hit, 'the suggestions cover the Start chat button'
    tid(d, 'dialog-close').click()

    # An unknown username does not become a chip in "New group".
    tid(d, 'new-group-button').click()
    wait_tid(d, 'group-title').send_keys('Chips')
    member = tid(d, 'group-member-input')
    member.send_keys('nobody_' + uniq('x'))
    member.send_keys(Keys.ENTER)
    err = wait_tid(d, 'new-group-error', 10)
    assert 'No user called' in err.text
    assert not tids(d, 'group-member-chip')
    member.clear()
    member.send_keys(peer)
    member.send_keys(Keys.ENTER)
    wait(d, lambda dd: [c.get_attribute('data-username') for c in tids(dd, 'group-member-chip')] == [peer], 10)
    assert not js_errors(d), js_errors(d)


def test_a_message_that_failed_offline_is_sent_once_when_back(server, browsers):
    me, peer = uniq('offline'), uniq('offlinepeer')
    server.login(me)
    pt = server.login(peer)['token']
    conv = server.start_conversation(pt, me)
    server.send(pt, conv['id'], 'hi')
    d = browsers()
    dev_login(d, server, me)
    open_conversation(d, conv['id'])
    wait_message(d, 'hi')
    server.stop()
    wait(d, lambda dd: tid(dd, 'connection-status').get_attribute('data-state') == 'down', 15)
    send_via_ui(d, 'written offline')
    wait(d, lambda dd: tids(dd, 'message-error'), 15, 'no send error shown')
    server.start()
    # Nobody clicks Retry: it goes out by itself once the connection is back, exactly once.
    wait(d, lambda dd: ('written offline' in [c for _, c, s in messages(dd) if s == 'sent']), 40, f'not retried: {messages(d)!r}')
    time.sleep(1)
    _, ms = server.call('GET', f'/api/conversations/{conv["id"]}/messages?last=10', token=pt, expect=200)
    assert [m['content'] for m in ms].count('written offline') == 1
    assert not tids(d, 'message-error')


# Unread divider and the jump button ----------------------------------------------------------------------

def test_unread_divider_and_jump_to_new(server, browsers):
    me, mt, peer, pt, conv = dm_with_history(server, 30, 'unr')
    # More unread messages than fit on the screen (else the view simply starts at the bottom).
    for i in range(25):
        server.send(pt, conv['id'], f'unread {i:02d}')
    d = browsers()
    dev_login(d, server, me)
    wait(d, lambda dd: badge(dd, conv['id']) == '25', 10)
    open_conversation(d, conv['id'])
    wait_message(d, 'unread 24')
    divider = wait_tid(d, 'unread-divider')
    assert 'New messages' in divider.text
    # The divider sits right before the first unread message, and the view starts there (not at the bottom).
    nxt = d.execute_script('''const dv = document.querySelector("[data-testid=unread-divider]");
      let n = dv.nextElementSibling; while (n && n.dataset.testid !== "message") n = n.nextElementSibling;
      return n.querySelector("[data-testid=message-content]").textContent;''')
    assert nxt == 'unread 00'
    top = d.execute_script('''const l = document.querySelector("[data-testid=message-list]").getBoundingClientRect();
      const r = document.querySelector("[data-testid=unread-divider]").getBoundingClientRect(); return [r.top - l.top, l.height];''')
    assert 0 <= top[0] < 80, top
    assert d.execute_script(AT_BOTTOM) > 100
    assert not tid(d, 'jump-to-newest').is_displayed()
    # Scrolled up, new messages arrive: "↓ N new" appears and jumps down.
    d.execute_script('document.querySelector("[data-testid=message-list]").scrollTop = 200')
    server.send(pt, conv['id'], 'fresh 1')
    server.send(pt, conv['id'], 'fresh 2')
    wait_message(d, 'fresh 2')
    jump = wait_tid(d, 'jump-to-newest')
    wait(d, lambda dd: '2 new' in jump.text, 5, jump.text)
    jump.click()
    wait(d, lambda dd: dd.execute_script(AT_BOTTOM) < 5, 5)
    wait(d, lambda dd: not tid(dd, 'jump-to-newest').is_displayed(), 5)
    assert not js_errors(d), js_errors(d)


# Notifications ------------------------------------------------------------------------------------------

RECORD_NOTIFICATIONS = """
  window.__shown = [];
  const Real = window.Notification;
  class Recorded extends Real {
    constructor(title, opts) { super(title, opts); window.__shown.push(this); }
  }
  Object.defineProperty(Recorded, 'permission', { get: () => Real.permission });
  Recorded.requestPermission = (...a) => Real.requestPermission(...a);
  window.Notification = Recorded;
"""


def test_notifications(server, browsers):
    me, peer = uniq('notif'), uniq('notifpeer')
    pt = server.login(peer)['token']
    server.login(me)
    conv = server.start_conversation(pt, me)
    d = browsers()
    dev_login(d, server, me)
    # Before any gesture the browser was not asked: the control is there, the permission still "default".
    assert d.execute_script('return Notification.permission') == 'default'
    wait_tid(d, 'enable-notifications')
    d.execute_cdp_cmd('Browser.grantPermissions', {'origin': server.base, 'permissions': ['notifications']})
    tid(d, 'enable-notifications').click()
    wait(d, lambda dd: not tid(dd, 'notify-bar').is_displayed(), 5, 'the enable control stayed')
    assert d.execute_script('return Notification.permission') == 'granted'
    d.execute_script(RECORD_NOTIFICATIONS)
    # The page goes to the background.
    d.execute_script("""
      Object.defineProperty(document, 'visibilityState', { get: () => 'hidden', configurable: true });
      Object.defineProperty(document, 'hidden', { get: () => true, configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));""")
    server.send(pt, conv['id'], 'ping while hidden')
    wait(d, lambda dd: dd.execute_script('return window.__shown.length') >= 1, 10, 'no notification')
    server.send(pt, conv['id'], 'second ping')
    wait(d, lambda dd: dd.execute_script('return window.__shown.length') >= 2, 10)
    shown = d.execute_script('return window.__shown.map(n => [n.title, n.body, n.tag])')
    assert shown[0] == [peer, 'ping while hidden', f'conversation-{conv["id"]}']
    assert shown[1][2] == shown[0][2] and shown[1][1].startswith('2 new messages'), shown
    assert d.title.startswith('(2)')
    # Clicking it opens the conversation.
    d.execute_script("""
      delete document.visibilityState; delete document.hidden;
      window.__shown[1].dispatchEvent(new Event('click'));""")
    wait(d, lambda dd: open_conversation_id(dd) == conv['id'], 5, 'click did not open the conversation')
    # While that conversation is open and visible, no notification.
    n = d.execute_script('return window.__shown.length')
    server.send(pt, conv['id'], 'seen directly')
    wait_message(d, 'seen directly')
    time.sleep(0.5)
    assert d.execute_script('return window.__shown.length') == n
    # The settings dialog: notifications on, sound optional.
    tid(d, 'notifications-button').click()
    wait_tid(d, 'notifications-dialog')
    assert tid(d, 'notify-desktop').is_selected() and not tid(d, 'notify-sound').is_selected()
    tid(d, 'notify-sound').click()
    assert json.loads(d.execute_script('return localStorage.getItem("messenger.notify")'))['sound'] is True
    assert not js_errors(d), js_errors(d)


# Group history lines --------------------------------------------------------------------------------------

def test_group_history_lines(server, browsers):
    alice, bob, carol = uniq('ha'), uniq('hb'), uniq('hc')
    at = server.login(alice)['token']
    bt = server.login(bob)['token']
    ct = server.login(carol)['token']
    g = server.create_group(at, 'History', [bob])
    server.send(at, g['id'], 'first message')
    server.call('POST', f'/api/conversations/{g["id"]}/participants', {'username': carol}, token=bt, expect=201)
    server.send(ct, g['id'], 'hi, carol here')
    # The REST history, in the same id order as messages.
    _, evs = server.call('GET', f'/api/conversations/{g["id"]}/events', token=at, expect=200)
    assert [(e['type'], e['user']['username'], e['actor'] and e['actor']['username']) for e in evs] == [
        ('created', alice, None), ('joined', carol, bob)]
    status, _ = server.call('GET', f'/api/conversations/{g["id"]}/events', token=server.login(uniq('stranger'))['token'])
    assert status == 404

    d = browsers()
    dev_login(d, server, alice)
    open_conversation(d, g['id'])
    wait_message(d, 'hi, carol here')

    def lines(dd):
        return dd.execute_script('''return Array.from(document.querySelectorAll("[data-testid=system-line], [data-testid=message]"))
          .map(el => el.dataset.testid === "message" ? "msg:" + el.querySelector("[data-testid=message-content]").textContent : el.textContent)''')
    wait(d, lambda dd: lines(dd) == ['You created the group', 'msg:first message', f'{bob} added {carol}', 'msg:hi, carol here'], 10, lines(d))
    # Live: carol leaves.
    server.call('DELETE', f'/api/conversations/{g["id"]}/participants/me', token=ct, expect=204)
    wait(d, lambda dd: lines(dd)[-1] == f'{carol} left', 10, lines(d))
    assert not js_errors(d), js_errors(d)


# Accessibility ----------------------------------------------------------------------------------------

CONTRAST = """
  function parse(c) { const m = c.match(/rgba?\\(([^)]+)\\)/); if (!m) return null;
    const p = m[1].split(/[ ,/]+/).filter(Boolean).map(Number); return [p[0], p[1], p[2], p.length > 3 ? p[3] : 1]; }
  function lum([r, g, b]) { const f = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
    return 0.2126 * f(r) + 0.7152 * f(g) + 0.0722 * f(b); }
  function over(fg, bg) { const a = fg[3]; return [0, 1, 2].map((i) => fg[i] * a + bg[i] * (1 - a)).concat(1); }
  // The backgrounds behind an element: the first opaque colour, or every stop of a gradient, going up the tree.
  function backgrounds(el) {
    for (let n = el; n; n = n.parentElement) {
      const cs = getComputedStyle(n);
      const img = cs.backgroundImage;
      if (img && img.includes('gradient')) return (img.match(/rgba?\\([^)]+\\)/g) || []).map(parse);
      const c = parse(cs.backgroundColor);
      if (c && c[3] > 0) return [c];
    }
    return [[255, 255, 255, 1]];
  }
  const out = [];
  for (const sel of arguments[0]) {
    for (const el of Array.from(document.querySelectorAll(sel)).slice(0, 3)) {
      if (!el.offsetParent && getComputedStyle(el).position !== 'fixed') continue;
      const cs = getComputedStyle(el);
      let fg = parse(cs.color);
      let opacity = 1;
      for (let n = el; n; n = n.parentElement) opacity *= Number(getComputedStyle(n).opacity);
      fg = [fg[0], fg[1], fg[2], fg[3] * opacity];
      let worst = 99;
      for (const bg of backgrounds(el)) {
        const f = over(fg, bg);
        const [a, b] = [lum(f), lum(bg)].sort((x, y) => y - x);
        worst = Math.min(worst, (a + 0.05) / (b + 0.05));
      }
      out.push([sel, Math.round(worst * 100) / 100, cs.fontSize]);
    }
  }
  return out;
"""

SMALL_TEXT = ['.conv-time', '.conv-preview', '.me-name', '.msg-time', '.msg.mine .msg-time', '.msg.theirs .msg-time',
              '.chat-subtitle', '.receipt', '.day-sep span', '.older-status', '.msg-sender', '.sys-line span',
              '.badge', '.field-label', '.member-you', '.notify-bar span', '.unread-divider span']


def _seed_group_for_audit(server):
    me, a, b = uniq('axe'), uniq('axea'), uniq('axeb')
    mt = server.login(me)['token']
    at = server.login(a)['token']
    server.login(b)
    g = server.create_group(mt, 'Audit', [a, b])
    server.send(mt, g['id'], 'mine, with a time')
    server.send(at, g['id'], 'theirs, with a time')
    server.call('POST', f'/api/conversations/{g["id"]}/read_messages', {}, token=at)
    server.send(at, g['id'], 'unread one')
    return me, g


def test_contrast_of_small_text_in_both_themes(server, browsers):
    me, g = _seed_group_for_audit(server)
    for dark in (False, True):
        d = browsers(1280, 800, dark=dark)
        dev_login(d, server, me)
        wait(d, lambda dd: conv_item(dd, g['id']), 10)
        found = d.execute_script(CONTRAST, SMALL_TEXT)
        open_conversation(d, g['id'])
        wait_message(d, 'unread one')
        wait(d, lambda dd: tids(dd, 'seen-indicator'), 10)
        found += d.execute_script(CONTRAST, SMALL_TEXT)
        checked = {sel for sel, _, _ in found}
        assert {'.conv-time', '.msg.mine .msg-time', '.msg.theirs .msg-time', '.receipt', '.chat-subtitle'} <= checked, checked
        low = [f for f in found if f[1] < 4.5]
        assert not low, f'{"dark" if dark else "light"}: below 4.5:1: {low}'


def _axe(d, label):
    from axe_selenium_python import Axe
    axe = Axe(d)
    axe.inject()
    results = axe.run(options='{"resultTypes": ["violations"]}')
    bad = [(v['id'], v['impact'], [n['target'] for n in v['nodes']][:4]) for v in results['violations']
           if v['impact'] in ('serious', 'critical')]
    assert not bad, f'{label}: {bad}'
    return results['violations']


def test_axe_audit_main_screens_and_dialogs(server, browsers):
    me, g = _seed_group_for_audit(server)
    for dark in (False, True):
        theme = 'dark' if dark else 'light'
        d = browsers(1280, 800, dark=dark)
        d.get(server.base + '/')
        wait_tid(d, 'dev-username', 20)
        _axe(d, f'{theme} sign-in')
        dev_login(d, server, me)
        wait(d, lambda dd: conv_item(dd, g['id']), 10)
        _axe(d, f'{theme} list')
        open_conversation(d, g['id'])
        wait_message(d, 'unread one')
        _axe(d, f'{theme} conversation')
        for button, dialog in (('new-chat-button', 'new-chat-dialog'), ('new-group-button', 'new-group-dialog'),
                               ('members-button', 'members-dialog'), ('notifications-button', 'notifications-dialog')):
            tid(d, button).click()
            wait_tid(d, dialog)
            time.sleep(0.3)  # the opening animation
            _axe(d, f'{theme} {dialog}')
            tid(d, 'dialog-close').click()
            wait(d, lambda dd: not tids(dd, dialog), 5)
