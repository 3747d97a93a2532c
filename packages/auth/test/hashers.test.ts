/**
 * Password hashes as django/contrib/auth/hashers.py writes them. The vectors
 * come from Django 3.2's hashers (PBKDF2PasswordHasher().encode(...)); the
 * 1,000,000-iteration one is what Django 5.2 writes by default.
 */
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { configure } from '../../core/conf';
import { capture_logs, set_stderr_logging } from '../../core/log';
import {
  check_password, get_hasher, identify_hasher, is_password_usable, make_password, MD5PasswordHasher,
  PBKDF2PasswordHasher, PBKDF2SHA1PasswordHasher, ScryptPasswordHasher, verify_password,
} from '../hashers';

const PASSWORD = 'hunter2 ✓';
const SALT21 = 'seasaltseasaltseasalt';
const DJANGO_32 = 'pbkdf2_sha256$260000$seasaltseasaltseasalt$FprOV/vtnnmlQNNgOxUfY1uCybYHDo/knRDXbnJINu4=';
const DJANGO_52 = 'pbkdf2_sha256$1000000$seasaltseasaltseasalt$rMPvqTgAbvrSbXM/+P5y0mj7/CxbromPpWnOu8H4QZE=';
const DJANGO_SHA1 = 'pbkdf2_sha1$260000$seasaltseasaltseasalt$AoZZkiFDawEPGmS+tFhCizATLB8=';
// hashlib.scrypt(..., n=2**14, r=8, p=1, maxmem=0, dklen=64), as Django 4.0+'s ScryptPasswordHasher writes it.
const DJANGO_SCRYPT = 'scrypt$16384$seasaltseasaltseasaltx$8$1$bBHMRKKyVLXQm4BHQa8rQXi7zb9OxePpVoJ+1z3RjfaZTLxQZJ8clnDTkY4iGb5Ac0hsg7wEAbM/I1t2SRTx6A==';
const DJANGO_MD5 = 'md5$seasaltseasaltseasalt$65add4e01f51213355ac3798dbb8db35';

beforeAll(() => set_stderr_logging(false));
afterAll(() => set_stderr_logging(process.env.TANGO_LOG_SILENT !== '1'));
beforeEach(() => configure({ SECRET_KEY: 'hashers' }));

describe('PBKDF2 hashes are byte for byte Django’s', () => {
  it("writes Django 3.2's 260000-iteration hash for the same salt", async () => {
    expect(await new PBKDF2PasswordHasher().encode(PASSWORD, SALT21, 260000)).toBe(DJANGO_32);
  });

  it("writes Django 5.2's hash: 1000000 iterations by default", async () => {
    expect(new PBKDF2PasswordHasher().iterations).toBe(1_000_000);
    expect(await make_password(PASSWORD, SALT21)).toBe(DJANGO_52);
  });

  it('verifies hashes of both versions, and of pbkdf2_sha1', async () => {
    expect(await check_password(PASSWORD, DJANGO_32)).toBe(true);
    expect(await check_password(PASSWORD, DJANGO_52)).toBe(true);
    expect(await check_password(PASSWORD, DJANGO_SHA1)).toBe(true);
    expect(await check_password('hunter3 ✓', DJANGO_32)).toBe(false);
    expect(await check_password('hunter3 ✓', DJANGO_52)).toBe(false);
  });

  it('new hashes: a fresh 22-character salt each time, and no upgrade needed', async () => {
    const a = await make_password(PASSWORD);
    const b = await make_password(PASSWORD);
    expect(a).toMatch(/^pbkdf2_sha256\$1000000\$[A-Za-z0-9]{22}\$[A-Za-z0-9+/]{43}=$/);
    expect(a).not.toBe(b);
    expect(await verify_password(PASSWORD, a)).toEqual([true, false]);
  });
});

describe('scrypt hashes are Django’s (ScryptPasswordHasher)', () => {
  it('writes and verifies the hash Python’s hashlib.scrypt gives for the same salt', async () => {
    expect(await new ScryptPasswordHasher().encode(PASSWORD, 'seasaltseasaltseasaltx')).toBe(DJANGO_SCRYPT);
    expect(await check_password(PASSWORD, DJANGO_SCRYPT)).toBe(true);
    expect(await check_password('nope', DJANGO_SCRYPT)).toBe(false);
    // Not the preferred hasher: upgraded to pbkdf2_sha256 on the next correct check.
    expect(await verify_password(PASSWORD, DJANGO_SCRYPT)).toEqual([true, true]);
  });

  it('a hash with another work factor must be updated', () => {
    expect(new ScryptPasswordHasher().must_update(DJANGO_SCRYPT)).toBe(false);
    expect(new ScryptPasswordHasher().must_update(DJANGO_SCRYPT.replace('$16384$', '$32768$'))).toBe(true);
  });
});

describe('upgrading an older hash (check_password with a setter)', () => {
  it('a 3.2 hash (fewer iterations) is correct and must be updated; the setter gets the password', async () => {
    const set: string[] = [];
    expect(await check_password(PASSWORD, DJANGO_32, (p) => void set.push(p))).toBe(true);
    expect(set).toEqual([PASSWORD]);
  });

  it('a wrong password never calls the setter', async () => {
    const set: string[] = [];
    expect(await check_password('nope', DJANGO_32, (p) => void set.push(p))).toBe(false);
    expect(set).toEqual([]);
  });

  it('a salt shorter than 128 bits must be updated even at the current iteration count', () => {
    expect(new PBKDF2PasswordHasher().must_update(DJANGO_52)).toBe(true);
    expect(new PBKDF2PasswordHasher().must_update(`pbkdf2_sha256$1000000$${'a'.repeat(22)}$x`)).toBe(false);
  });

  it('a hash of another configured algorithm is correct and must be updated to the preferred one', async () => {
    expect(await verify_password(PASSWORD, DJANGO_SHA1)).toEqual([true, true]);
  });
});

describe('hashes Tango cannot use: a failed check with a logged reason, never an exception', () => {
  const bad = [
    ['an unknown algorithm', 'argon2$argon2id$v=19$m=102400,t=2,p=8$c2FsdA$aGFzaA'],
    ['no algorithm at all', 'plain text password'],
    ['a malformed pbkdf2 hash', 'pbkdf2_sha256$many$salt$hash'],
    ['an md5 hash while MD5PasswordHasher is not configured', DJANGO_MD5],
  ];
  it.each(bad)('%s', async (_what, encoded) => {
    const logs = capture_logs();
    try {
      expect(await check_password(PASSWORD, encoded)).toBe(false);
    } finally {
      logs.stop();
    }
    expect(logs.records.map((r) => `${r.name} ${r.level}`)).toEqual(['tango.auth warn']);
    expect(logs.records[0].msg).toMatch(/^Password check failed: /);
  });

  it('unusable passwords and null never match, and log nothing', async () => {
    const unusable = await make_password(null);
    expect(unusable).toMatch(/^![A-Za-z0-9]{40}$/);
    expect(is_password_usable(unusable)).toBe(false);
    expect(await check_password(PASSWORD, unusable)).toBe(false);
    expect(await check_password(null, DJANGO_52)).toBe(false);
  });
});

describe('PASSWORD_HASHERS', () => {
  it('picks the preferred hasher and the ones that may verify', async () => {
    configure({ SECRET_KEY: 'h', PASSWORD_HASHERS: ['django.contrib.auth.hashers.MD5PasswordHasher'] });
    expect(get_hasher()).toBeInstanceOf(MD5PasswordHasher);
    expect(await make_password(PASSWORD, SALT21)).toBe(DJANGO_MD5);
    expect(await check_password(PASSWORD, DJANGO_MD5)).toBe(true);
    // pbkdf2 is no longer configured, so its hashes are unknown.
    expect(() => identify_hasher(DJANGO_52)).toThrow(/Unknown password hashing algorithm 'pbkdf2_sha256'/);
  });

  it('accepts hasher classes; an unknown name stops with one line naming it', () => {
    configure({ SECRET_KEY: 'h', PASSWORD_HASHERS: [PBKDF2SHA1PasswordHasher] });
    expect(get_hasher().algorithm).toBe('pbkdf2_sha1');
    configure({ SECRET_KEY: 'h', PASSWORD_HASHERS: ['myapp.Argon2Hasher'] });
    expect(() => get_hasher()).toThrow("Invalid setting PASSWORD_HASHERS entry 'myapp.Argon2Hasher'");
  });
});

describe('hashing leaves the event loop free', () => {
  it('a listening server answers other requests while four 1,000,000-iteration hashes run', async () => {
    const server = http.createServer((_req, res) => res.end('pong'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    try {
      let hashing = true;
      const hashes = Promise.all([1, 2, 3, 4].map(() => make_password(PASSWORD))).finally(() => {
        hashing = false;
      });
      const latencies: number[] = [];
      while (hashing) {
        const t = Date.now();
        expect(await (await fetch(url)).text()).toBe('pong');
        if (hashing) latencies.push(Date.now() - t);
      }
      await hashes;
      // A hash on the event loop would hold every request for the whole hash (hundreds of ms).
      expect(latencies.length).toBeGreaterThan(5);
      expect(Math.min(...latencies)).toBeLessThan(50);
      latencies.sort((a, b) => a - b);
      expect(latencies[Math.floor(latencies.length / 2)]).toBeLessThan(100);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('timers keep firing while four 1,000,000-iteration hashes run', async () => {
    let ticks = 0;
    let longest = 0;
    let last = Date.now();
    const timer = setInterval(() => {
      const now = Date.now();
      longest = Math.max(longest, now - last);
      last = now;
      ticks++;
    }, 5);
    const started = Date.now();
    try {
      await Promise.all([1, 2, 3, 4].map(() => make_password(PASSWORD)));
    } finally {
      clearInterval(timer);
    }
    const took = Date.now() - started;
    // Hashing on the loop would starve the timer for the whole run.
    expect(took).toBeGreaterThan(50);
    expect(ticks).toBeGreaterThan(took / 5 / 4);
    expect(longest).toBeLessThan(Math.max(100, took / 2));
  });
});
