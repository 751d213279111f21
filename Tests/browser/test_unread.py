"""Unread counts in the web app are the server's numbers: the badge follows `unreadCount` as the server computes it,
also when the user reads part of a conversation on another device — a change no local counting follows."""
from conftest import dev_login, js_errors, tid, uniq, wait, wait_tid
from test_web import badge


def test_unread_badge_follows_the_servers_count(server, browsers):
    me, peer = uniq('unread'), uniq('unreadpeer')
    mt = server.login(me)['token']
    pt = server.login(peer)['token']
    conv = server.start_conversation(pt, me)
    d = browsers()
    dev_login(d, server, me)
    wait_tid(d, 'sidebar', 20)
    wait(d, lambda dd: tid(dd, 'connection-status').get_attribute('data-state') == 'open', 20, 'stream not open')

    def server_count():
        _, c = server.call('GET', f'/api/conversations/{conv["id"]}', token=mt, expect=200)
        return c['unreadCount']

    # Three live messages while the conversation is not open.
    sent = [server.send(pt, conv['id'], f'unread {i}') for i in range(3)]
    wait(d, lambda dd: badge(dd, conv['id']) == '3', 15, 'no unread badge of 3')

    # Read up to the first one on another device: the `read` event brings the server's count (2), not zero and not 3.
    server.call('POST', f'/api/conversations/{conv["id"]}/read_messages', {'upTo': sent[0]['id']}, token=mt, expect=204)
    assert server_count() == 2
    wait(d, lambda dd: badge(dd, conv['id']) == '2', 10, 'the badge did not follow the server count (2) after reading one elsewhere')
    wait(d, lambda dd: dd.title.startswith('(2)'), 5, 'title count')
    assert not js_errors(d), js_errors(d)
