#!/usr/bin/env python3
"""A small in-process stand-in for the messenger server, for developing the web app when the Swift
server is not built yet. It follows docs/API.md closely enough for the browser tests; it is NOT the
product and the CI runs the browser tests against the real binary. Usage (same CLI as the server):

    Tests/browser/mock_server.py serve --host 127.0.0.1 --port 8080 --data-dir /tmp/x --dev-login --web-dir web
    MESSENGER_BIN=Tests/browser/mock_server.py Tests/browser/run.sh
"""
import argparse, base64, hashlib, hmac, json, os, queue, re, secrets, threading, time, signal, sys
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer, BaseHTTPRequestHandler
from urllib.parse import urlparse, parse_qs

KEY = b'mock-key'
LOCK = threading.RLock()
DB = {'users': [], 'convs': [], 'parts': [], 'msgs': [], 'events': [], 'seq': {'u': 0, 'c': 0, 'm': 0, 'e': 0}, 'dead': []}
SUBS = []  # (user_id, queue)
DATA = None
WEB = None
DEV = False


def now():
    return datetime.now(timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def save():
    with open(os.path.join(DATA, 'mock.json'), 'w') as f:
        json.dump(DB, f)


def nid(k):
    DB['seq'][k] += 1
    return str(DB['seq'][k])


def b64(b):
    return base64.urlsafe_b64encode(b).rstrip(b'=').decode()


def make_token(uid):
    sid = secrets.token_hex(8)
    iat = int(time.time()); exp = iat + 14 * 86400
    h = b64(json.dumps({'alg': 'HS256', 'typ': 'JWT'}).encode())
    p = b64(json.dumps({'sub': uid, 'sid': sid, 'iat': iat, 'exp': exp}).encode())
    s = b64(hmac.new(KEY, f'{h}.{p}'.encode(), hashlib.sha256).digest())
    return f'{h}.{p}.{s}', datetime.fromtimestamp(exp, timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.%fZ')


def check_token(tok):
    try:
        h, p, s = tok.split('.')
        if not hmac.compare_digest(b64(hmac.new(KEY, f'{h}.{p}'.encode(), hashlib.sha256).digest()), s):
            return None
        claims = json.loads(base64.urlsafe_b64decode(p + '=='))
        if claims['exp'] < time.time() or claims['sid'] in DB['dead']:
            return None
        return claims
    except Exception:
        return None


def user(uid):
    for u in DB['users']:
        if u['id'] == uid:
            return {'id': u['id'], 'username': u['username'], 'avatarURL': u.get('avatarURL')}


def user_by_name(name):
    for u in DB['users']:
        if u['username'].lower() == name.lower():
            return u


def part(cid, uid):
    for p in DB['parts']:
        if p['c'] == cid and p['u'] == uid:
            return p


def members(cid):
    return [p for p in DB['parts'] if p['c'] == cid]


def msg_out(m, me):
    o = {'id': m['id'], 'content': m['content'], 'conversationId': m['c'], 'createdAt': m['at'], 'mine': m['u'] == me, 'user': user(m['u'])}
    if m.get('clientId'):
        o['clientId'] = m['clientId']
    return o


def conv_out(c, me):
    ms = [m for m in DB['msgs'] if m['c'] == c['id']]
    last = ms[-1] if ms else None
    p = part(c['id'], me)
    lr = p.get('read') if p else None
    unread = sum(1 for m in ms if m['u'] != me and (lr is None or int(m['id']) > int(lr)))
    other = None
    if not c['group']:
        for q in members(c['id']):
            if q['u'] != me:
                other = user(q['u'])
    act = last['at'] if last else c['at']
    return {'id': c['id'], 'title': c.get('title'), 'isGroup': c['group'], 'otherParticipant': other,
            'participantCount': len(members(c['id'])), 'lastMessage': msg_out(last, me) if last else None,
            'hasUnreadMessages': unread > 0, 'unreadCount': unread, 'createdAt': c['at'],
            'cursor': f"{act}|{c['id']}"}


def emit(kind, cid, payload_fn, users=None):
    eid = nid('e')
    uids = users if users is not None else [p['u'] for p in members(cid)]
    ev = {'id': eid, 'kind': kind, 'users': uids, 'payload': payload_fn}
    DB['events'].append({'id': eid, 'kind': kind, 'users': uids, 'data': {u: payload_fn(u) for u in uids}})
    save()
    for uid, q in list(SUBS):
        if uid in uids:
            q.put(eid)


class H(BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, *a):
        pass

    def send_json(self, status, obj=None, headers=None):
        body = b'' if obj is None else json.dumps(obj).encode()
        self.send_response(status)
        if obj is not None:
            self.send_header('Content-Type', 'application/json')
        for k, v in (headers or {}).items():
            self.send_header(k, v)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def err(self, status, msg, extra=None):
        o = {'error': msg}
        o.update(extra or {})
        self.send_json(status, o, {'WWW-Authenticate': 'Bearer'} if status == 401 else None)

    def body(self):
        n = int(self.headers.get('Content-Length') or 0)
        raw = self.rfile.read(n) if n else b''
        try:
            return json.loads(raw) if raw else {}
        except Exception:
            return {}

    def auth(self, q):
        a = self.headers.get('Authorization', '')
        tok = a[7:] if a.startswith('Bearer ') else (q.get('token', [None])[0])
        c = check_token(tok) if tok else None
        return c

    def do_DELETE(self):
        self.handle_api('DELETE')

    def do_POST(self):
        self.handle_api('POST')

    def do_GET(self):
        u = urlparse(self.path)
        if u.path.startswith('/api/') or u.path in ('/healthz', '/readyz'):
            return self.handle_api('GET')
        path = u.path
        f = os.path.normpath(os.path.join(WEB, path.lstrip('/')))
        if not f.startswith(os.path.abspath(WEB)) or not os.path.isfile(f):
            f = os.path.join(WEB, 'index.html')
        ctype = {'.js': 'text/javascript', '.css': 'text/css', '.html': 'text/html', '.svg': 'image/svg+xml'}.get(os.path.splitext(f)[1], 'application/octet-stream')
        data = open(f, 'rb').read()
        self.send_response(200)
        self.send_header('Content-Type', ctype + '; charset=utf-8')
        self.send_header('Content-Length', str(len(data)))
        self.send_header('Cache-Control', 'no-cache')
        self.end_headers()
        self.wfile.write(data)

    def handle_api(self, method):
        u = urlparse(self.path)
        q = parse_qs(u.query)
        p = u.path
        with LOCK:
            if p in ('/healthz', '/readyz'):
                return self.send_json(200, {'status': 'ok'})
            if p == '/api/config':
                return self.send_json(200, {'devLogin': DEV, 'maxMessageLength': 480, 'maxGroupSize': 1000})
            if method == 'POST' and p in ('/api/login', '/api/register'):
                b = self.body()
                name = str(b.get('username') or '')
                if not re.fullmatch(r'[A-Za-z0-9_.\-]{1,32}', name):
                    return self.err(422, 'invalid input', {'errors': {'username': 'invalid username'}})
                ex = user_by_name(name)
                if p == '/api/register':
                    if ex:
                        return self.err(409, 'username taken')
                    ex = {'id': nid('u'), 'username': name, 'pw': b.get('password'), 'avatarURL': None}
                    DB['users'].append(ex)
                    save()
                    tok, exp = make_token(ex['id'])
                    return self.send_json(201, {'authUser': user(ex['id']), 'token': tok, 'expiresAt': exp})
                if 'password' not in b:
                    if not DEV:
                        return self.err(404, 'not found')
                    if ex and ex.get('pw'):
                        return self.err(401, 'invalid username or password')
                    if not ex:
                        ex = {'id': nid('u'), 'username': name, 'pw': None, 'avatarURL': None}
                        DB['users'].append(ex)
                        save()
                elif not ex or ex.get('pw') != b.get('password'):
                    return self.err(401, 'invalid username or password')
                tok, exp = make_token(ex['id'])
                return self.send_json(200, {'authUser': user(ex['id']), 'token': tok, 'expiresAt': exp})
            claims = self.auth(q)
            if p.startswith('/api/') and claims is None:
                if p in ('/api/auth_user', '/api/refresh_token', '/api/logout', '/api/usernames', '/api/messages') or p.startswith('/api/conversations'):
                    return self.err(401, 'unauthorized')
                return self.err(404, 'not found')
            me = claims['sub']
            if p == '/api/auth_user':
                return self.send_json(200, user(me))
            if p == '/api/refresh_token' and method == 'POST':
                tok, exp = make_token(me)
                return self.send_json(200, {'token': tok, 'expiresAt': exp})
            if p == '/api/logout' and method == 'POST':
                DB['dead'].append(claims['sid'])
                save()
                return self.send_json(204)
            if p == '/api/usernames':
                s = (q.get('search') or [''])[0].lower()
                first = int((q.get('first') or ['5'])[0])
                names = sorted(u['username'] for u in DB['users'] if u['username'].lower().startswith(s) and u['id'] != me)
                return self.send_json(200, names[:first])
            if p == '/api/messages':
                break_out = True
            else:
                break_out = False
            if not break_out:
                return self.conversations(method, p, q, me)
        return self.stream(me, q)

    def conversations(self, method, p, q, me):
        m = re.fullmatch(r'/api/conversations(?:/(\d+)(/.*)?)?', p)
        if not m:
            return self.err(404, 'not found')
        cid, rest = m.group(1), m.group(2) or ''
        if cid is None:
            if method == 'POST':
                b = self.body()
                if 'usernames' in b or 'title' in b:
                    title = str(b.get('title') or '').strip()
                    names = b.get('usernames') or []
                    if not title or not names:
                        return self.err(422, 'invalid input', {'errors': {'title': 'required'}})
                    unknown = [n for n in names if not user_by_name(n)]
                    if unknown:
                        return self.err(404, 'unknown users', {'usernames': unknown})
                    c = {'id': nid('c'), 'title': title, 'group': True, 'at': now()}
                    DB['convs'].append(c)
                    uids = [me] + [user_by_name(n)['id'] for n in names]
                    for uid in dict.fromkeys(uids):
                        DB['parts'].append({'c': c['id'], 'u': uid, 'read': None})
                    emit('conversation', c['id'], lambda u: {'type': 'created', 'conversationId': c['id'], 'user': user(me)})
                    return self.send_json(201, conv_out(c, me))
                name = b.get('username')
                if not name:
                    return self.err(422, 'invalid input', {'errors': {'username': 'required'}})
                other = user_by_name(name)
                if not other:
                    return self.err(404, 'user not found')
                if other['id'] == me:
                    return self.err(403, 'cannot start a conversation with yourself')
                for c in DB['convs']:
                    if not c['group'] and part(c['id'], me) and part(c['id'], other['id']):
                        return self.send_json(200, conv_out(c, me))
                c = {'id': nid('c'), 'title': None, 'group': False, 'at': now()}
                DB['convs'].append(c)
                DB['parts'] += [{'c': c['id'], 'u': me, 'read': None}, {'c': c['id'], 'u': other['id'], 'read': None}]
                emit('conversation', c['id'], lambda u: {'type': 'created', 'conversationId': c['id'], 'user': user(me)})
                return self.send_json(201, conv_out(c, me))
            convs = [conv_out(c, me) for c in DB['convs'] if part(c['id'], me)]
            convs.sort(key=lambda c: (c['cursor'].split('|')[0], int(c['id'])), reverse=True)
            before = (q.get('before') or [None])[0]
            if before:
                bt, bi = before.split('|')
                convs = [c for c in convs if (c['cursor'].split('|')[0], int(c['id'])) < (bt, int(bi))]
            first = int((q.get('first') or ['25'])[0])
            return self.send_json(200, convs[:first])
        c = next((c for c in DB['convs'] if c['id'] == cid), None)
        if not c or not part(cid, me):
            return self.err(404, 'not found')
        if rest == '':
            return self.send_json(200, conv_out(c, me))
        if rest == '/participants' and method == 'GET':
            return self.send_json(200, [dict(user(x['u']), lastReadMessageId=x['read']) for x in members(cid)])
        if rest == '/participants' and method == 'POST':
            if not c['group']:
                return self.err(422, 'not a group')
            o = user_by_name(self.body().get('username') or '')
            if not o:
                return self.err(404, 'user not found')
            if part(cid, o['id']):
                return self.err(409, 'already a member')
            DB['parts'].append({'c': cid, 'u': o['id'], 'read': None})
            emit('conversation', cid, lambda u: {'type': 'joined', 'conversationId': cid, 'user': user(o['id'])})
            return self.send_json(201, dict(user(o['id']), lastReadMessageId=None))
        if rest == '/participants/me' and method == 'DELETE':
            if not c['group']:
                return self.err(422, 'not a group')
            uids = [x['u'] for x in members(cid)]
            DB['parts'].remove(part(cid, me))
            emit('conversation', cid, lambda u: {'type': 'left', 'conversationId': cid, 'user': user(me)}, users=uids)
            return self.send_json(204)
        if rest == '/messages' and method == 'POST':
            b = self.body()
            content = '\n'.join(l for l in (re.sub(r'[ \t]+', ' ', l).strip() for l in str(b.get('content') or '').split('\n')) if l)
            if not content or len(content) > 480:
                return self.err(422, 'invalid input', {'errors': {'content': 'must be 1…480 characters'}})
            cl = b.get('clientId')
            if cl:
                for x in DB['msgs']:
                    if x['c'] == cid and x['u'] == me and x.get('clientId') == cl:
                        return self.send_json(200, msg_out(x, me))
            msg = {'id': nid('m'), 'c': cid, 'u': me, 'content': content, 'at': now(), 'clientId': cl}
            DB['msgs'].append(msg)
            part(cid, me)['read'] = msg['id']
            emit('message', cid, lambda u: msg_out(msg, u))
            return self.send_json(201, msg_out(msg, me))
        if rest == '/messages':
            ms = [x for x in DB['msgs'] if x['c'] == cid]
            before = (q.get('before') or [None])[0]
            after = (q.get('after') or [None])[0]
            if after:
                ms = [x for x in ms if int(x['id']) > int(after)][: int((q.get('first') or ['25'])[0])]
                return self.send_json(200, [msg_out(x, me) for x in ms])
            if before:
                ms = [x for x in ms if int(x['id']) < int(before)]
            ms = ms[-int((q.get('last') or ['25'])[0]):]
            return self.send_json(200, [msg_out(x, me) for x in reversed(ms)])
        if rest == '/read_messages' and method == 'POST':
            b = self.body()
            ms = [x for x in DB['msgs'] if x['c'] == cid]
            upto = b.get('upTo') or (ms[-1]['id'] if ms else None)
            pp = part(cid, me)
            if upto and (pp['read'] is None or int(upto) > int(pp['read'])):
                pp['read'] = upto
                emit('read', cid, lambda u: {'conversationId': cid, 'userId': me, 'lastReadMessageId': upto})
            return self.send_json(204)
        return self.err(404, 'not found')

    def stream(self, me, q):
        if 'text/event-stream' not in (self.headers.get('Accept') or ''):
            return self.err(406, 'not acceptable')
        last = self.headers.get('Last-Event-ID') or (q.get('lastEventId') or [None])[0]
        qq = queue.Queue()
        with LOCK:
            SUBS.append((me, qq))
            pending = [e for e in DB['events'] if last and int(e['id']) > int(last) and me in e['users']]
            cur = DB['seq']['e']
        self.send_response(200)
        self.send_header('Content-Type', 'text/event-stream')
        self.send_header('Cache-Control', 'no-cache')
        self.end_headers()
        sent = int(last) if last else cur
        try:
            self.wfile.write(b': hi\n\nretry: 1000\n\n')
            if not last:
                self.wfile.write(f'id: {cur}\n\n'.encode())
            self.wfile.flush()
            def out(e):
                name = '' if e['kind'] == 'message' else f"event: {e['kind']}\n"
                self.wfile.write(f"id: {e['id']}\n{name}data: {json.dumps(e['data'][me])}\n\n".encode())
                self.wfile.flush()
            for e in pending:
                out(e); sent = int(e['id'])
            while True:
                try:
                    eid = qq.get(timeout=15)
                except queue.Empty:
                    self.wfile.write(b': ping\n\n'); self.wfile.flush(); continue
                if eid is None:
                    break
                with LOCK:
                    evs = [e for e in DB['events'] if int(e['id']) > sent and me in e['users']]
                for e in evs:
                    out(e); sent = int(e['id'])
        except Exception:
            pass
        finally:
            with LOCK:
                if (me, qq) in SUBS:
                    SUBS.remove((me, qq))
            self.close_connection = True


def main():
    global DATA, WEB, DEV, DB
    ap = argparse.ArgumentParser()
    ap.add_argument('cmd')
    ap.add_argument('--host', default='127.0.0.1')
    ap.add_argument('--port', type=int, default=8080)
    ap.add_argument('--data-dir', required=True)
    ap.add_argument('--dev-login', action='store_true')
    ap.add_argument('--web-dir', default='web')
    a = ap.parse_args()
    DATA, WEB, DEV = a.data_dir, os.path.abspath(a.web_dir), a.dev_login
    f = os.path.join(DATA, 'mock.json')
    if os.path.exists(f):
        DB = json.load(open(f))
    srv = ThreadingHTTPServer((a.host, a.port), H)
    srv.daemon_threads = True
    def stop(*_):
        threading.Thread(target=srv.shutdown).start()
    signal.signal(signal.SIGTERM, stop)
    srv.serve_forever()


if __name__ == '__main__':
    main()
