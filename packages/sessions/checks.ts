import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { register_check, type CheckMessage } from '@tango/core/checks';
import { settings } from '@tango/core';
import { cache_backend_kind } from '@tango/core/conf/schema';

/** Session-specific system checks (Django's security.W010–W015 and the cache-engine warning the tutorial teaches). */
register_check(({ deploy }): CheckMessage[] => {
  const out: CheckMessage[] = [];
  const engine = settings.SESSION_ENGINE;
  if (/backends\/(cache|cached_db)$/.test(engine)) {
    const cache = settings.CACHES[settings.SESSION_CACHE_ALIAS];
    if (!cache) {
      out.push({ level: 'ERROR', id: 'sessions.E002', msg: `SESSION_CACHE_ALIAS '${settings.SESSION_CACHE_ALIAS}' is not in CACHES.` });
    } else if (cache_backend_kind(cache.BACKEND) === 'locmem' && engine.endsWith('/cache')) {
      out.push({
        level: 'WARNING', id: 'sessions.W001',
        msg: "SESSION_ENGINE 'cache' uses the 'locmem' cache: sessions live in one process's memory and are lost on restart and invisible to other processes.",
        hint: "Use a 'redis' or 'memcached' cache (CACHES), or the 'db' engine.",
      });
    } else if (cache_backend_kind(cache.BACKEND) === 'locmem') {
      out.push({
        level: 'WARNING', id: 'sessions.W002',
        msg: "SESSION_ENGINE 'cached_db' uses the 'locmem' cache: with several processes, one keeps serving a session another has logged out until its copy expires.",
        hint: "Use a 'redis' or 'memcached' cache shared by every process, or the 'db' engine.",
      });
    }
  }
  if (engine.endsWith('/file')) {
    const dir = settings.SESSION_FILE_PATH ? path.resolve(settings.BASE_DIR, settings.SESSION_FILE_PATH) : os.tmpdir();
    let ok = false;
    try {
      ok = fs.statSync(dir).isDirectory();
    } catch {
      ok = false;
    }
    if (!ok) out.push({ level: 'ERROR', id: 'sessions.E003', msg: `SESSION_FILE_PATH '${dir}' is not an existing directory: every request with a session would fail.` });
  }
  if (deploy && !settings.SESSION_COOKIE_SECURE) {
    out.push({ level: 'WARNING', id: 'security.W010', msg: 'SESSION_COOKIE_SECURE is false: the session cookie is also sent over plain HTTP.', hint: 'Set it to true when the site is served over HTTPS.' });
  }
  if (deploy && !settings.SESSION_COOKIE_HTTPONLY) {
    out.push({ level: 'WARNING', id: 'security.W013', msg: 'SESSION_COOKIE_HTTPONLY is false: scripts in the page can read the session cookie.' });
  }
  return out;
});
