"""Issue 19: the search box — results while typing, grouped, keyboard navigable; a message hit opens its
conversation at that message, highlighted, with history loading both ways (see conftest.py for the fixtures)."""
from selenium.webdriver.common.keys import Keys

from conftest import dev_login, js_errors, messages, tid, tids, uniq, wait, wait_tid
from test_web import open_conversation, open_conversation_id, send_via_ui, wait_message

ACTIVE = "const a = document.querySelector('.search-option.active'); return a ? [a.dataset.testid, a.textContent] : null;"


def focused_ids(d):
    return d.execute_script("return Array.from(document.querySelectorAll('li.msg[data-focused=\"true\"]')).map(li => li.dataset.messageId);")


def in_view(d, message_id):
    return d.execute_script("""
      const list = document.querySelector('[data-testid=message-list]').getBoundingClientRect();
      const li = Array.from(document.querySelectorAll('li.msg')).find(x => x.dataset.messageId === arguments[0]);
      if (!li) return false;
      const r = li.getBoundingClientRect();
      return r.top >= list.top - 1 && r.bottom <= list.bottom + 1;""", message_id)


def titles(d, testid):
    return d.execute_script(
        "return Array.from(document.querySelectorAll(`[data-testid=${arguments[0]}] .search-title`)).map(e => e.textContent);", testid)


def scroll_until(d, script, message_id):
    """Scrolls (script) until message_id is loaded, waiting for each page to arrive."""
    for _ in range(30):
        shown = [m[0] for m in messages(d)]
        if message_id in shown:
            return
        d.execute_script(script)
        wait(d, lambda dd: len(messages(dd)) > len(shown), 10, f'no page loaded (have {len(shown)})')
    raise AssertionError(f'{message_id} never loaded')


def test_search_box_finds_and_opens_a_message_in_context(server, browsers):
    me, peer = uniq('srch'), uniq('srchpeer')
    mt = server.login(me)['token']
    pt = server.login(peer)['token']
    word = uniq('pangolin').replace('_', '')  # one word, unique to this test
    person = server.login(word + 'fan')['authUser']['username']
    group = server.create_group(mt, f'{word.capitalize()} club', [peer])
    conv = server.start_conversation(mt, peer)
    ids = []
    for i in range(120):
        content = f'ctx {i:03d}'
        if i == 40:
            content = f'the {word} rendezvous is at noon'
        if i == 70:
            content = f'<img src=x onerror="window.__xss=1"> {word} markup stays text'
        ids.append(server.send(pt if i % 2 else mt, conv['id'], content)['id'])
    server.call('POST', f'/api/conversations/{conv["id"]}/read_messages', {}, token=mt, expect=204)
    target = ids[40]

    d = browsers(1280, 800)
    dev_login(d, server, me)
    box = wait_tid(d, 'search-input')
    # Typed a character at a time: the last word is a prefix, results come while typing (debounced).
    for ch in word[:6]:
        box.send_keys(ch)
    wait(d, lambda dd: len(tids(dd, 'search-message')) == 2, 10, 'message hits did not appear')
    wait(d, lambda dd: titles(dd, 'search-person') == [person], 10, 'people group')
    assert titles(d, 'search-conversation') == [f'{word.capitalize()} club']
    # Grouped in this order, each with its heading.
    order = d.execute_script("return Array.from(document.querySelectorAll('.search-group')).map(g => g.dataset.testid);")
    assert order == ['search-people', 'search-conversations', 'search-messages']
    # Snippets: the match marked, markup in a message shown as text and never run.
    marks = d.execute_script("return Array.from(document.querySelectorAll('[data-testid=search-snippet] mark')).map(m => m.textContent);")
    assert marks and all(m.lower() == word for m in marks), marks
    assert d.execute_script("return document.querySelector('[data-testid=search-panel] img') === null && window.__xss === undefined;")
    assert any('<img src=x' in e.get_attribute('textContent') for e in tids(d, 'search-snippet'))

    # Keyboard: down through people and chats to the older hit ("rendezvous"), Enter opens it.
    for _ in range(10):
        box.send_keys(Keys.ARROW_DOWN)
        active = d.execute_script(ACTIVE)
        if active and active[0] == 'search-message' and 'rendezvous' in active[1]:
            break
    else:
        raise AssertionError(f'keyboard never reached the hit: {d.execute_script(ACTIVE)}')
    assert box.get_attribute('aria-activedescendant')
    box.send_keys(Keys.ENTER)

    wait(d, lambda dd: open_conversation_id(dd) == conv['id'], 10, 'the conversation did not open')
    wait(d, lambda dd: target in focused_ids(dd), 10, 'the message was not highlighted')
    wait(d, lambda dd: in_view(dd, target), 5, 'the message is not in view')
    assert tid(d, 'search-panel').is_displayed() is False
    shown = [m[0] for m in messages(d)]
    assert target in shown and ids[119] not in shown and ids[0] not in shown, 'expected a page around the hit only'
    # Highlighted for a moment only.
    wait(d, lambda dd: focused_ids(dd) == [], 6, 'the highlight did not go away')

    # History loads both ways from there, without gaps or duplicates.
    scroll_until(d, "const s = document.querySelector('[data-testid=message-list]'); s.scrollTop = s.scrollHeight;", ids[119])
    scroll_until(d, "document.querySelector('[data-testid=message-list]').scrollTop = 0;", ids[0])
    assert [m[0] for m in messages(d)] == ids

    # Sending from there works as usual, at the bottom.
    send_via_ui(d, 'after the search')
    wait_message(d, 'after the search')
    assert js_errors(d) == []


def test_search_hit_in_the_open_conversation_and_jump_to_latest(server, browsers):
    me, peer = uniq('srch2'), uniq('srch2peer')
    mt = server.login(me)['token']
    pt = server.login(peer)['token']
    conv = server.start_conversation(mt, peer)
    word = uniq('okapi').replace('_', '')
    ids = [server.send(pt if i % 2 else mt, conv['id'], f'{word} {i:03d}' if i == 5 else f'filler {i:03d}')['id'] for i in range(80)]
    d = browsers(1280, 800)
    dev_login(d, server, me)
    open_conversation(d, conv['id'])
    wait_message(d, 'filler 079')
    box = tid(d, 'search-input')
    box.send_keys(word)
    wait(d, lambda dd: len(tids(dd, 'search-message')) == 1, 10, 'no hit')
    # Nothing else matches the word: the first option is the hit, and Enter takes the first option.
    box.send_keys(Keys.ENTER)
    wait(d, lambda dd: ids[5] in focused_ids(dd), 10, 'the hit in the open conversation was not shown')
    assert 'filler 079' not in [m[1] for m in messages(d)]
    # A message arriving meanwhile waits for the newest page; "Latest" goes there.
    server.send(pt, conv['id'], 'arrived while reading old ones')
    jump = wait_tid(d, 'jump-to-newest')
    jump.click()
    wait_message(d, 'arrived while reading old ones')
    wait_message(d, 'filler 079')
    shown = [m[0] for m in messages(d)]
    assert len(shown) == len(set(shown))
    # Escape clears the box.
    box.send_keys('x')
    box.send_keys(Keys.ESCAPE)
    assert box.get_attribute('value') == ''
    assert js_errors(d) == []
