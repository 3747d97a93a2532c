"""
Drives real Django (3.2, Debian's python3-django) for Tango's interop tests.

    python3 driver.py batch '<json>'     (or '-' to read the JSON from stdin)
    python3 driver.py serve              one batch per stdin line, one reply per stdout line
    python3 driver.py version

A batch is {"ops": [op, ...]}; the reply is {"results": [result, ...]}, one
result per op, in order. Python and Django start-up cost 0.3 s to over a
second on a busy machine, so the tests keep one `serve` process per set of
settings and send it batch after batch. Settings come from the DJANGO_*
environment variables (interop_site/settings.py), fixed for the process.

Every op is a dict with "op" (its name) and optionally "now" (Unix seconds,
may be fractional): while the op runs, time.time() and
django.utils.timezone.now() return that instant, which pins signing
timestamps, cookie expiry dates and session expiry the same way Tango's
freeze_time() does on the other side. A result is {"ok": true, ...} or
{"ok": false, "error": "<exception class name>", "message": "<str(exc)>"}: a
failure is data the test compares, not a crash.
"""
import contextlib
import datetime
import importlib
import io
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'interop_site.settings')

import django  # noqa: E402

django.setup()

from django.conf import settings  # noqa: E402
from django.core import signing  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.http import HttpRequest, HttpResponse  # noqa: E402
from django.http.cookie import parse_cookie  # noqa: E402
from django.utils import timezone  # noqa: E402

_real_time = time.time
_real_now = timezone.now


def _frozen_now(ts):
    """timezone.now() at `ts`: aware UTC under USE_TZ, naive local (TIME_ZONE) otherwise, as 3.2's now()."""
    if settings.USE_TZ:
        return datetime.datetime.fromtimestamp(ts, tz=datetime.timezone.utc)
    # Django has set the process TZ to TIME_ZONE, so fromtimestamp() is local wall time.
    return datetime.datetime.fromtimestamp(ts)


@contextlib.contextmanager
def frozen(ts):
    if ts is None:
        yield
        return
    ts = float(ts)  # time.time() is a float: SignatureExpired says "age 11.0", not "11"
    time.time = lambda: ts
    timezone.now = lambda: _frozen_now(ts)
    try:
        yield
    finally:
        time.time = _real_time
        timezone.now = _real_now


def _frozen_datetime_class(ts):
    """
    3.2's set_cookie computes max_age from `expires - expires.utcnow()`, a
    classmethod of the value's own class, which monkeypatching time.time
    cannot reach. An `expires` built from this subclass answers utcnow() with
    the pinned instant instead.
    """
    class FrozenDatetime(datetime.datetime):
        @classmethod
        def utcnow(cls):
            real = datetime.datetime.utcnow() if ts is None else datetime.datetime.utcfromtimestamp(ts)
            return cls(*real.timetuple()[:6], real.microsecond)

    return FrozenDatetime


def _epoch(dt):
    """Unix seconds of a datetime Django produced (naive = local TIME_ZONE wall time)."""
    return dt.timestamp()


def _parse_instant(iso):
    """An aware ISO string from the test, as the kind of datetime the current USE_TZ expects."""
    dt = datetime.datetime.fromisoformat(iso)
    if dt.tzinfo is None:
        raise ValueError('instants passed to the driver must carry an offset: %r' % iso)
    return dt if settings.USE_TZ else timezone.make_naive(dt)


def _py_json(obj):
    """The exact text Django's JSONSerializer writes for obj (compact, ensure_ascii)."""
    return json.dumps(obj, separators=(',', ':'))


def _store_class(op):
    engine = op.get('engine') or settings.SESSION_ENGINE.rsplit('.', 1)[-1]
    return importlib.import_module('django.contrib.sessions.backends.' + engine).SessionStore


def _session_state(store):
    data = dict(store.items())  # triggers the load
    state = {
        'session_key': store.session_key,
        'data': data,
        'data_json': _py_json(data),
        'expire_at_browser_close': store.get_expire_at_browser_close(),
    }
    try:
        state['expiry_age'] = store.get_expiry_age()
    except Exception as exc:  # reported, not raised: the test decides whether it matters
        state['expiry_age_error'] = '%s: %s' % (type(exc).__name__, exc)
    return state


# --- signing -----------------------------------------------------------------

def _obj(op):
    # obj_json carries Python-only JSON (1.0, 1e+16) that JSON.stringify cannot write.
    return json.loads(op['obj_json']) if 'obj_json' in op else op['obj']


def op_dumps(op):
    value = signing.dumps(_obj(op), key=op.get('key'), salt=op.get('salt', 'django.core.signing'),
                          compress=op.get('compress', False))
    return {'value': value}


def op_loads(op):
    obj = signing.loads(op['value'], key=op.get('key'), salt=op.get('salt', 'django.core.signing'),
                        max_age=op.get('max_age'))
    return {'obj': obj, 'json': _py_json(obj)}


def _signer(op):
    cls = signing.TimestampSigner if op.get('timestamp') else signing.Signer
    return cls(key=op.get('key'), salt=op.get('salt'))


def op_sign(op):
    return {'value': _signer(op).sign(op['value'])}


def op_unsign(op):
    signer = _signer(op)
    if op.get('timestamp'):
        return {'value': signer.unsign(op['value'], max_age=op.get('max_age'))}
    return {'value': signer.unsign(op['value'])}


def op_cookie_signer_sign(op):
    """get_cookie_signer(salt) with an explicit salt: the key is b'django.http.cookies' + SECRET_KEY."""
    return {'value': signing.get_cookie_signer(salt=op['salt']).sign(op['value'])}


def op_cookie_signer_unsign(op):
    return {'value': signing.get_cookie_signer(salt=op['salt']).unsign(op['value'], max_age=op.get('max_age'))}


# --- cookies -----------------------------------------------------------------

def _cookie_kwargs(call, now):
    kwargs = dict(call.get('kwargs', {}))
    exp = kwargs.get('expires')
    if isinstance(exp, dict):
        # {"datetime": "2030-01-01T00:00:00"} (naive = UTC, as set_cookie reads it) or with an offset.
        dt = datetime.datetime.fromisoformat(exp['datetime'])
        kwargs['expires'] = _frozen_datetime_class(now)(*dt.timetuple()[:6], dt.microsecond, tzinfo=dt.tzinfo)
    return kwargs


def op_response_cookies(op):
    """
    Runs set_cookie / delete_cookie / set_signed_cookie calls on one
    HttpResponse and returns each cookie's Set-Cookie value as the WSGI
    handler sends it (Morsel.output(header='') without the leading space).
    """
    response = HttpResponse()
    for call in op['calls']:
        method = getattr(response, call['method'])
        method(*call.get('args', []), **_cookie_kwargs(call, op.get('now')))
    return {'cookies': {name: morsel.output(header='').strip() for name, morsel in response.cookies.items()}}


def op_get_signed_cookie(op):
    request = HttpRequest()
    request.COOKIES = parse_cookie(op['cookie_header'])
    kwargs = {'salt': op.get('salt', ''), 'max_age': op.get('max_age')}
    if 'default' in op:
        kwargs['default'] = op['default']
    return {'value': request.get_signed_cookie(op['key'], **kwargs)}


# --- sessions ----------------------------------------------------------------

def op_session_create(op):
    """A new session holding `data` (set_expiry(expiry) first when given), saved."""
    store = _store_class(op)()
    store.update(op.get('data', {}))
    if 'expiry' in op:
        store.set_expiry(op['expiry'])
    store.save()
    return {'session_key': store.session_key}


def op_session_load(op):
    store = _store_class(op)(op['session_key'])
    return _session_state(store)


def op_session_modify(op):
    """Loads, applies set/delete/expiry, saves (or flushes); the resulting state."""
    store = _store_class(op)(op['session_key'])
    store.items()
    for k in op.get('delete', []):
        del store[k]
    for k, v in op.get('set', {}).items():
        store[k] = v
    if 'expiry' in op:
        store.set_expiry(op['expiry'])
    if op.get('flush'):
        store.flush()
        return {'session_key': store.session_key}
    store.save()
    return {'session_key': store.session_key}


def op_middleware(op):
    """
    One request through Django's SessionMiddleware, carrying `cookie_header`,
    to a view that applies delete/set/expiry/flush to request.session and
    reads it. Returns what the view saw and the response's Set-Cookie and Vary.
    """
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory

    seen = {}

    def view(request):
        for k in op.get('delete', []):
            del request.session[k]
        for k, v in op.get('set', {}).items():
            request.session[k] = v
        if 'expiry' in op:
            request.session.set_expiry(op['expiry'])
        if op.get('flush'):
            request.session.flush()
        seen['data'] = dict(request.session.items())
        return HttpResponse('ok')

    request = RequestFactory().get('/', HTTP_COOKIE=op.get('cookie_header', ''))
    response = SessionMiddleware(view)(request)
    return {
        'seen_json': _py_json(seen['data']),
        'set_cookie': {name: m.output(header='').strip() for name, m in response.cookies.items()},
        'vary': response.get('Vary'),
    }


def op_session_exists(op):
    return {'exists': _store_class(op)().exists(op['session_key'])}


def op_session_rows(op):
    """Every django_session row as Django's ORM reads it."""
    from django.contrib.sessions.models import Session
    rows = []
    for s in Session.objects.order_by('session_key'):
        rows.append({
            'session_key': s.session_key,
            'session_data': s.session_data,
            'expire_date': s.expire_date.isoformat(),
            'expire_ts': _epoch(s.expire_date),
            'decoded_json': _py_json(s.get_decoded()),
        })
    return {'rows': rows}


def op_session_raw_save(op):
    """Session.objects.save(key, data, expire_date): a row with an exact expiry (to microseconds)."""
    from django.contrib.sessions.models import Session
    Session.objects.save(op['session_key'], op['data'], _parse_instant(op['expire']))
    return {}


def op_clearsessions(op):
    out = io.StringIO()
    call_command('clearsessions', stdout=out)
    return {'stdout': out.getvalue()}


def op_migrate(op):
    out = io.StringIO()
    call_command('migrate', 'sessions', fake_initial=op.get('fake_initial', False),
                 interactive=False, verbosity=1, stdout=out, no_color=True)
    return {'stdout': out.getvalue()}


# --- auth -------------------------------------------------------------------

def op_migrate_all(op):
    """migrate every app (contenttypes, auth, sessions), optionally --fake-initial."""
    out = io.StringIO()
    call_command('migrate', fake_initial=op.get('fake_initial', False),
                 interactive=False, verbosity=1, stdout=out, no_color=True)
    return {'stdout': out.getvalue()}


def _user_state(user):
    return {
        'id': user.pk,
        'username': user.username,
        'password': user.password,
        'email': user.email,
        'is_staff': user.is_staff,
        'is_superuser': user.is_superuser,
        'is_active': user.is_active,
        'last_login': user.last_login.isoformat() if user.last_login else None,
    }


def op_auth_create_user(op):
    from django.contrib.auth.models import User
    user = User.objects.create_user(op['username'], op.get('email', ''), op.get('password'))
    return _user_state(user)


def op_auth_get_user(op):
    from django.contrib.auth.models import User
    return _user_state(User.objects.get(username=op['username']))


def op_auth_set_password(op):
    from django.contrib.auth.models import User
    user = User.objects.get(username=op['username'])
    user.set_password(op['password'])
    user.save()
    return _user_state(user)


def op_auth_check_password(op):
    """User.check_password, which rehashes (and saves) an out-of-date hash as Django does."""
    from django.contrib.auth.models import User
    user = User.objects.get(username=op['username'])
    return {'correct': user.check_password(op['password']), 'password': user.password}


def _auth_request(op, view):
    """A request carrying cookie_header through SessionMiddleware and AuthenticationMiddleware to `view`."""
    from django.contrib.auth.middleware import AuthenticationMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory

    request = RequestFactory().get('/', HTTP_COOKIE=op.get('cookie_header', ''))
    response = SessionMiddleware(AuthenticationMiddleware(view))(request)
    return request, response


def _cookies(response):
    return {name: m.output(header='').strip() for name, m in response.cookies.items()}


def op_auth_login(op):
    """authenticate(username, password) then login(), as a login view does."""
    from django.contrib.auth import authenticate, login
    seen = {}

    def view(request):
        user = authenticate(request, username=op['username'], password=op['password'])
        seen['authenticated'] = user is not None
        if user is not None:
            login(request, user)
            seen['session'] = dict(request.session.items())
        return HttpResponse('ok')

    _, response = _auth_request(op, view)
    return {'authenticated': seen['authenticated'], 'session': seen.get('session'), 'set_cookie': _cookies(response)}


def op_auth_whoami(op):
    """What request.user is for a request carrying cookie_header."""
    seen = {}

    def view(request):
        user = request.user
        seen['user'] = {'authenticated': user.is_authenticated, 'username': user.get_username(), 'id': user.pk}
        return HttpResponse('ok')

    _, response = _auth_request(op, view)
    return {'user': seen['user'], 'set_cookie': _cookies(response)}


def op_auth_logout(op):
    from django.contrib.auth import logout

    def view(request):
        logout(request)
        return HttpResponse('ok')

    _, response = _auth_request(op, view)
    return {'set_cookie': _cookies(response)}


def op_auth_table_sql(op):
    """sqlite_master rows (SQLite) of the auth tables, for comparing DDL."""
    from django.db import connection
    with connection.cursor() as c:
        c.execute("SELECT type, name, sql FROM sqlite_master WHERE tbl_name LIKE 'auth%' ORDER BY name")
        return {'rows': [list(r) for r in c.fetchall()]}


# --- CSRF --------------------------------------------------------------------

def op_csrf_request(op):
    """
    One request through Django's CsrfViewMiddleware (process_request,
    process_view, the view, process_response, as the handler runs them).
    The request: method, cookie_header, post (form fields), meta (extra META
    such as HTTP_X_CSRFTOKEN, HTTP_ORIGIN, HTTP_REFERER), secure. The view
    calls rotate_token when "rotate", get_token when "get_token". Returns the
    status, Django's reason when refused, the token, and the Set-Cookie lines.
    """
    from django.http import HttpResponseForbidden
    from django.middleware.csrf import CsrfViewMiddleware, get_token, rotate_token
    from django.test import RequestFactory, override_settings

    seen = {}

    def view(request):
        if op.get('rotate'):
            rotate_token(request)
        if op.get('get_token'):
            seen['token'] = get_token(request)
        return HttpResponse('ok')

    def failure(request, reason=''):
        seen['reason'] = reason
        return HttpResponseForbidden(reason)

    factory = RequestFactory()
    extra = dict(op.get('meta', {}))
    if op.get('cookie_header'):
        extra['HTTP_COOKIE'] = op['cookie_header']
    method = op.get('method', 'GET').lower()
    secure = op.get('secure', False)
    if method == 'post':
        request = factory.post('/', data=op.get('post', {}), secure=secure, **extra)
    else:
        request = getattr(factory, method)('/', secure=secure, **extra)
    with override_settings(CSRF_FAILURE_VIEW=failure):
        middleware = CsrfViewMiddleware(view)
        middleware.process_request(request)
        response = middleware.process_view(request, view, (), {}) or view(request)
        response = middleware.process_response(request, response)
    return {
        'status': response.status_code,
        'reason': seen.get('reason'),
        'token': seen.get('token'),
        'set_cookie': {name: m.output(header='').strip() for name, m in response.cookies.items()},
    }


# --- messages ----------------------------------------------------------------

MESSAGE_STORAGES = {
    'cookie': 'django.contrib.messages.storage.cookie.CookieStorage',
    'session': 'django.contrib.messages.storage.session.SessionStorage',
    'fallback': 'django.contrib.messages.storage.fallback.FallbackStorage',
}


def op_messages_request(op):
    """
    One request through SessionMiddleware and MessageMiddleware (storage:
    cookie, session or fallback), carrying `cookie_header`. The view adds
    `add` ([level, text, extra_tags, safe] each) and, when "read", iterates
    the messages. Returns what it read ([level, text, extra_tags, tags,
    safe] each), the Set-Cookie lines and the session's `_messages` value.
    """
    from django.contrib import messages
    from django.contrib.messages.middleware import MessageMiddleware
    from django.contrib.sessions.middleware import SessionMiddleware
    from django.test import RequestFactory, override_settings
    from django.utils.safestring import SafeData, mark_safe

    seen = {}

    def view(request):
        for level, text, extra_tags, safe in op.get('add', []):
            messages.add_message(request, level, mark_safe(text) if safe else text, extra_tags=extra_tags)
        if op.get('read'):
            seen['messages'] = [
                [m.level, str(m.message), m.extra_tags, m.tags, isinstance(m.message, SafeData)]
                for m in messages.get_messages(request)
            ]
        return HttpResponse('ok')

    request = RequestFactory().get('/', HTTP_COOKIE=op.get('cookie_header', ''))
    with override_settings(MESSAGE_STORAGE=MESSAGE_STORAGES[op.get('storage', 'fallback')]):
        response = SessionMiddleware(MessageMiddleware(view))(request)
    return {
        'read': seen.get('messages'),
        'session_messages': request.session.get('_messages'),
        'set_cookie': {name: m.output(header='').strip() for name, m in response.cookies.items()},
    }


OPS = {name[3:]: fn for name, fn in globals().items() if name.startswith('op_')}


def run(op):
    fn = OPS.get(op.get('op'))
    if fn is None:
        return {'ok': False, 'error': 'UnknownOp', 'message': 'unknown op %r' % op.get('op')}
    try:
        with frozen(op.get('now')):
            result = fn(op)
    except Exception as exc:  # the test compares failures, so they are data
        return {'ok': False, 'error': type(exc).__name__, 'message': str(exc)}
    result['ok'] = True
    return result


def batch(raw):
    ops = json.loads(raw)['ops']
    return json.dumps({'results': [run(op) for op in ops]}, default=str)


def main(argv):
    command = argv[1] if len(argv) > 1 else 'version'
    if command == 'version':
        print(json.dumps({'django': django.get_version()}))
        return 0
    if command == 'batch':
        print(batch(sys.stdin.read() if len(argv) < 3 or argv[2] == '-' else argv[2]))
        return 0
    if command == 'serve':
        # Until stdin closes. Every reply is one line: json.dumps escapes newlines.
        for line in sys.stdin:
            if line.strip():
                sys.stdout.write(batch(line) + '\n')
                sys.stdout.flush()
        return 0
    print('usage: driver.py batch <json|->  |  driver.py serve  |  driver.py version', file=sys.stderr)
    return 2


if __name__ == '__main__':
    sys.exit(main(sys.argv))
