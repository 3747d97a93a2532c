/** The demo project's settings (Django's settings.py). Every key is documented in docs/settings.md. */
import { defineSettings } from '@tango/core';

export default defineSettings({
  // Development fallback: `manage.ts check` warns about it. Set SECRET_KEY in production.
  SECRET_KEY: process.env.SECRET_KEY ?? 'django-insecure-tango-demo-key-change-me',
  DEBUG: process.env.DEBUG !== 'false',
  ALLOWED_HOSTS: ['127.0.0.1', 'localhost'],
  INSTALLED_APPS: ['@tango/sessions', '@tango/auth', 'apps/demo'],
  // In Django's order: CsrfViewMiddleware after SessionMiddleware (CSRF_USE_SESSIONS needs the
  // session), AuthenticationMiddleware after SessionMiddleware (it reads the session), and
  // MessageMiddleware last (the session is saved after it writes messages there).
  MIDDLEWARE: [
    '@tango/sessions/middleware',
    '@tango/core/middleware/csrf',
    '@tango/auth/middleware',
    '@tango/messages/middleware',
  ],
  ROOT_URLCONF: './urls',
  DATABASES: {
    default: process.env.DATABASE_URL
      ? { ENGINE: 'postgresql', URL: process.env.DATABASE_URL }
      : { ENGINE: 'sqlite3', NAME: 'db.sqlite3' },
  },
  CACHES: {
    default: process.env.REDIS_URL ? { BACKEND: 'redis', LOCATION: process.env.REDIS_URL } : { BACKEND: 'locmem' },
  },
  // As the tutorial: China Standard Time, naive local datetimes in the database.
  TIME_ZONE: 'Asia/Shanghai',
  USE_TZ: false,
  SESSION_ENGINE: process.env.SESSION_ENGINE ?? 'db',
  // The demo's login page, and where login and logout send the browser.
  LOGIN_URL: '/login/',
  LOGIN_REDIRECT_URL: '/whoami/',
  LOGOUT_REDIRECT_URL: '/',
});
