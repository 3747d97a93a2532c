import { register_check, type CheckMessage } from '@tango/core/checks';
import { settings } from '@tango/core';

/** Session-specific system checks (Django's security.W010–W015 and the cache-engine warning the tutorial teaches). */
register_check((): CheckMessage[] => {
  const out: CheckMessage[] = [];
  const engine = settings.SESSION_ENGINE;
  if (/backends\/(cache|cached_db)$/.test(engine)) {
    const cache = settings.CACHES[settings.SESSION_CACHE_ALIAS];
    if (!cache) {
      out.push({ level: 'ERROR', id: 'sessions.E002', msg: `SESSION_CACHE_ALIAS '${settings.SESSION_CACHE_ALIAS}' is not in CACHES.` });
    } else if (/locmem$/i.test(cache.BACKEND) && engine.endsWith('/cache')) {
      out.push({
        level: 'WARNING', id: 'sessions.W001',
        msg: "SESSION_ENGINE 'cache' uses the 'locmem' cache: sessions live in one process's memory and are lost on restart and invisible to other processes.",
        hint: "Use a 'redis' or 'memcached' cache (CACHES), or the 'cached_db' engine.",
      });
    }
  }
  if (!settings.SESSION_COOKIE_SECURE) {
    out.push({ level: 'INFO', id: 'security.W010', msg: 'SESSION_COOKIE_SECURE is false: the session cookie is also sent over plain HTTP.', hint: 'Set it to true when the site is served over HTTPS.' });
  }
  if (!settings.SESSION_COOKIE_HTTPONLY) {
    out.push({ level: 'WARNING', id: 'security.W013', msg: 'SESSION_COOKIE_HTTPONLY is false: scripts in the page can read the session cookie.' });
  }
  return out;
});
