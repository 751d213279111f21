"""Presence and typing in two real browsers (see conftest.py; the server's grace period is 2 s here)."""
from selenium.webdriver.common.by import By

from conftest import dev_login, screenshot, uniq, wait
from test_web import open_conversation, send_via_ui, wait_message


def avatar_online(driver, conversation_id):
    """The list item's avatar: 'true', 'false', or None while unknown."""
    els = driver.find_elements(
        By.CSS_SELECTOR, f'[data-testid="conversation-item"][data-conversation-id="{conversation_id}"] [data-testid="avatar"]')
    return els[0].get_attribute('data-online') if els else None


def subtitle(driver):
    return driver.find_element(By.CSS_SELECTOR, '[data-testid="conversation-subtitle"]').text


def typing_text(driver):
    return driver.find_element(By.CSS_SELECTOR, '[data-testid="typing-indicator"]').text


def test_online_dot_last_seen_and_typing(server, browsers):
    alice_name, bob_name = uniq('alice'), uniq('bob')
    alice_token = server.login(alice_name)['token']
    server.login(bob_name)
    conversation = server.start_conversation(alice_token, bob_name)['id']

    a = browsers()
    dev_login(a, server, alice_name)
    open_conversation(a, conversation)
    # Bob is not connected: no dot, no "Online".
    wait(a, lambda d: avatar_online(d, conversation) == 'false', 10, 'bob should show offline first')
    assert a.find_elements(By.CSS_SELECTOR, '[data-testid="presence-dot"]') == []

    b = browsers()
    dev_login(b, server, bob_name)
    wait(a, lambda d: avatar_online(d, conversation) == 'true', 10, 'alice never saw bob come online')
    wait(a, lambda d: subtitle(d) == 'Online', 10, f'header says {subtitle(a)!r}')
    assert a.find_elements(By.CSS_SELECTOR, '[data-testid="presence-dot"]')

    # Bob types: Alice sees it; when he sends, the indicator goes and the message is there.
    open_conversation(b, conversation)
    b.find_element(By.CSS_SELECTOR, '[data-testid="composer-input"]').send_keys('typing a long thought')
    wait(a, lambda d: typing_text(d) == f'{bob_name} is typing…', 10, f'typing shows {typing_text(a)!r}')
    assert typing_text(b) == '', 'nobody sees their own typing'
    screenshot(a, 'desktop-8-online-and-typing')
    send_via_ui(b, ' and sent')
    wait_message(a, 'typing a long thought and sent')
    wait(a, lambda d: typing_text(d) == '', 5, 'the indicator stayed after the message')

    # Bob closes his browser: after the grace period Alice sees him offline, with a last-seen time.
    b.quit()
    wait(a, lambda d: avatar_online(d, conversation) == 'false', 20, 'bob never went offline')
    wait(a, lambda d: subtitle(d).startswith('Last seen'), 10, f'header says {subtitle(a)!r}')
