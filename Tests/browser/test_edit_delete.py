"""Editing and deleting one's own messages in real browsers: inline edit (Escape cancels, Enter saves), delete with a
confirmation, the "edited" mark and "Message deleted" placeholders, live in every open tab of every participant."""
from selenium.webdriver.common.by import By
from selenium.webdriver.common.keys import Keys

from conftest import conv_item, dev_login, js_errors, screenshot, tid, tids, uniq, wait, wait_tid
from test_web import open_conversation, wait_message


def row(driver, message_id):
    els = driver.find_elements(By.CSS_SELECTOR, f'[data-testid="message"][data-message-id="{message_id}"]')
    return els[0] if els else None


def shown(driver, message_id):
    """(text, edited mark shown, deleted placeholder) of a message row, or None when it is not shown."""
    return driver.execute_script("""
      const li = document.querySelector(`[data-testid="message"][data-message-id="${arguments[0]}"]`);
      if (!li) return null;
      const c = li.querySelector('[data-testid="message-content"]');
      return [c ? c.textContent : null, !!li.querySelector('[data-testid="message-edited"]'), c ? c.dataset.deleted === 'true' : false];
    """, message_id)


def test_edit_and_delete_live_in_every_tab(server, browsers):
    alice_name, bob_name = uniq('alice'), uniq('bob')
    alice_token = server.login(alice_name)['token']
    bob_token = server.login(bob_name)['token']
    conversation = server.start_conversation(alice_token, bob_name)['id']
    mine = server.send(alice_token, conversation, 'first draft')['id']
    other = server.send(bob_token, conversation, 'a reply from bob')['id']

    # Alice in two tabs of one browser (one holds the stream, the other follows), Bob in his own browser.
    a = browsers()
    dev_login(a, server, alice_name)
    tab1 = a.current_window_handle
    open_conversation(a, conversation)
    a.switch_to.new_window('tab')
    a.get(server.base + '/')
    tab2 = a.current_window_handle
    wait_tid(a, 'sidebar', 20)
    open_conversation(a, conversation)
    wait_message(a, 'first draft')
    b = browsers()
    dev_login(b, server, bob_name)
    open_conversation(b, conversation)
    wait_message(b, 'first draft')

    a.switch_to.window(tab1)
    wait_message(a, 'a reply from bob')
    # Only my own messages have the actions.
    assert tids(a, 'edit-message', within=row(a, mine))
    assert not tids(a, 'edit-message', within=row(a, other))
    assert not tids(a, 'delete-message', within=row(a, other))
    assert not tids(b, 'edit-message', within=row(b, mine))

    # Edit, then Escape: nothing changes.
    tid(a, 'edit-message', within=row(a, mine)).click()
    box = wait_tid(a, 'edit-input')
    assert box.get_attribute('value') == 'first draft'
    box.send_keys(' that I abandon')
    box.send_keys(Keys.ESCAPE)
    wait(a, lambda d: not tids(d, 'edit-input'), 5, 'Escape did not close the editor')
    assert shown(a, mine) == ['first draft', False, False]

    # Edit, then Enter: saved, marked "edited" here, in the other tab and in Bob's browser.
    tid(a, 'edit-message', within=row(a, mine)).click()
    box = wait_tid(a, 'edit-input')
    box.send_keys(Keys.CONTROL, 'a')
    box.send_keys('the final words')
    box.send_keys(Keys.ENTER)
    wait(a, lambda d: shown(d, mine) == ['the final words', True, False], 10, f'tab 1 shows {shown(a, mine)}')
    assert not tids(a, 'edit-input')
    wait(b, lambda d: shown(d, mine) == ['the final words', True, False], 10, f'bob sees {shown(b, mine)}')
    a.switch_to.window(tab2)
    wait(a, lambda d: shown(d, mine) == ['the final words', True, False], 10, f'tab 2 shows {shown(a, mine)}')
    screenshot(b, 'desktop-9-message-edited')

    # Delete asks first; Cancel keeps the message.
    a.switch_to.window(tab1)
    tid(a, 'delete-message', within=row(a, mine)).click()
    wait_tid(a, 'delete-confirmation')
    tid(a, 'cancel-delete').click()
    wait(a, lambda d: not tids(d, 'delete-confirmation'), 5, 'Cancel did not close the confirmation')
    assert shown(a, mine) == ['the final words', True, False]

    # Confirmed: a placeholder everywhere, the row (and its place) kept, no actions left on it.
    tid(a, 'delete-message', within=row(a, mine)).click()
    tid(a, 'confirm-delete').click()
    wait(a, lambda d: shown(d, mine) == ['Message deleted', False, True], 10, f'tab 1 shows {shown(a, mine)}')
    assert not tids(a, 'edit-message', within=row(a, mine))
    wait(b, lambda d: shown(d, mine) == ['Message deleted', False, True], 10, f'bob sees {shown(b, mine)}')
    a.switch_to.window(tab2)
    wait(a, lambda d: shown(d, mine) == ['Message deleted', False, True], 10, f'tab 2 shows {shown(a, mine)}')
    ids = [li.get_attribute('data-message-id') for li in tids(b, 'message')]
    assert ids.index(mine) < ids.index(other), ids
    screenshot(b, 'desktop-10-message-deleted')

    # Bob's message is the last one; when it goes, the conversation list says so too.
    tid(b, 'delete-message', within=row(b, other)).click()
    tid(b, 'confirm-delete').click()
    wait(a, lambda d: 'Message deleted' in (conv_item(d, conversation).text or ''), 10, 'the list still shows the deleted text')
    assert 'a reply from bob' not in conv_item(a, conversation).text

    # After a reload the server's state says the same (tombstones, content gone).
    b.refresh()
    wait_tid(b, 'sidebar', 20)
    open_conversation(b, conversation)
    wait(b, lambda d: shown(d, mine) == ['Message deleted', False, True], 10, f'after reload bob sees {shown(b, mine)}')
    wait(b, lambda d: shown(d, other) == ['Message deleted', False, True], 10, f'after reload bob sees {shown(b, other)}')
    assert not js_errors(a) and not js_errors(b)


def test_deleted_elsewhere_while_editing(server, browsers):
    """The message is deleted from another session while its editor is open: the live event ends the edit."""
    name = uniq('solo')
    token = server.login(name)['token']
    peer = uniq('peer')
    server.login(peer)
    conversation = server.start_conversation(token, peer)['id']
    message = server.send(token, conversation, 'soon gone')['id']
    d = browsers()
    dev_login(d, server, name)
    open_conversation(d, conversation)
    wait_message(d, 'soon gone')
    tid(d, 'edit-message', within=row(d, message)).click()
    wait_tid(d, 'edit-input')
    # Deleted elsewhere while the editor is open: the live event ends the edit and shows the placeholder.
    server.call('DELETE', f'/api/conversations/{conversation}/messages/{message}', token=token, expect=204)
    wait(d, lambda dd: shown(dd, message) == ['Message deleted', False, True], 10, f'shows {shown(d, message)}')
    assert not tids(d, 'edit-input')
    assert not js_errors(d)


def test_edit_offered_only_within_the_window(server, browsers):
    """The server refuses edits after its window (`editWindowSeconds` in /api/config, 48 h by default); the app does
    not offer them: seen by a client whose clock is 49 hours ahead, a message has Delete but no Edit."""
    alice_name, bob_name = uniq('alice'), uniq('bob')
    alice_token = server.login(alice_name)['token']
    server.login(bob_name)
    conversation = server.start_conversation(alice_token, bob_name)['id']
    mine = server.send(alice_token, conversation, 'sent a while ago')['id']

    now = browsers()
    dev_login(now, server, alice_name)
    open_conversation(now, conversation)
    wait_message(now, 'sent a while ago')
    assert tids(now, 'edit-message', within=row(now, mine))

    later = browsers()
    # Before any of the app's scripts run: every Date.now() in this browser is 49 hours ahead.
    later.execute_cdp_cmd('Page.addScriptToEvaluateOnNewDocument', {'source': """
      const realNow = Date.now.bind(Date);
      Date.now = () => realNow() + 49 * 3600 * 1000;
    """})
    dev_login(later, server, alice_name)
    open_conversation(later, conversation)
    wait_message(later, 'sent a while ago')
    wait(later, lambda d: tids(d, 'delete-message', within=row(d, mine)), msg='Delete offered')
    assert not tids(later, 'edit-message', within=row(later, mine))
    assert js_errors(later) == []
