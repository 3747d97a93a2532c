"""
Settings of the throw-away Django 3.2 project the interop tests drive.

Everything that decides the wire format comes from the environment, so each
test can point Django at the same SECRET_KEY, time zone and database as the
Tango side it is compared with (interop/django.ts sets these variables):

  DJANGO_SECRET_KEY       required
  DJANGO_USE_TZ           "1"/"0" (Django 3.2's default is False)
  DJANGO_TIME_ZONE        IANA name, default "UTC"
  DJANGO_DB_ENGINE        "sqlite3" (default) or "postgresql"
  DJANGO_DB_NAME          SQLite file path
  DJANGO_DB_URL           postgres://user:pass@host:port/name
  DJANGO_DB_SEARCH_PATH   PostgreSQL schema (one per test file, as on the Tango side)
  DJANGO_SESSION_ENGINE   short name: db, signed_cookies, file, cached_db, cache
  DJANGO_SESSION_COOKIE_AGE  seconds, default Django's 1209600
  DJANGO_SESSION_FILE_PATH   directory for the file engine

SECRET_KEY_FALLBACKS does not exist in 3.2 (it arrived in 4.1); key rotation
is exercised by signing with one key here and verifying with a fallback on
the Tango side.
"""
import os
from urllib.parse import unquote, urlparse

SECRET_KEY = os.environ['DJANGO_SECRET_KEY']
USE_TZ = os.environ.get('DJANGO_USE_TZ', '0') == '1'
TIME_ZONE = os.environ.get('DJANGO_TIME_ZONE', 'UTC')
DEBUG = False
ALLOWED_HOSTS = ['*']

# sessions, and auth (with the contenttypes app it depends on) for the auth suites.
INSTALLED_APPS = ['django.contrib.contenttypes', 'django.contrib.auth', 'django.contrib.sessions']
MIDDLEWARE = ['django.contrib.sessions.middleware.SessionMiddleware']
ROOT_URLCONF = 'interop_site.urls'


def _database():
    engine = os.environ.get('DJANGO_DB_ENGINE', 'sqlite3')
    if engine == 'sqlite3':
        return {
            'ENGINE': 'django.db.backends.sqlite3',
            'NAME': os.environ.get('DJANGO_DB_NAME', ':memory:'),
        }
    if engine == 'postgresql':
        url = urlparse(os.environ['DJANGO_DB_URL'])
        options = {}
        schema = os.environ.get('DJANGO_DB_SEARCH_PATH')
        if schema:
            # The same schema Tango's knex connection uses via searchPath.
            options['options'] = '-c search_path=%s' % schema
        return {
            'ENGINE': 'django.db.backends.postgresql',
            'NAME': url.path.lstrip('/'),
            'USER': unquote(url.username or ''),
            'PASSWORD': unquote(url.password or ''),
            'HOST': url.hostname or '',
            'PORT': str(url.port or ''),
            'OPTIONS': options,
        }
    raise ValueError('DJANGO_DB_ENGINE must be sqlite3 or postgresql, not %r' % engine)


DATABASES = {'default': _database()}

SESSION_ENGINE = 'django.contrib.sessions.backends.' + os.environ.get('DJANGO_SESSION_ENGINE', 'db')
SESSION_COOKIE_AGE = int(os.environ.get('DJANGO_SESSION_COOKIE_AGE', '1209600'))
SESSION_FILE_PATH = os.environ.get('DJANGO_SESSION_FILE_PATH') or None
