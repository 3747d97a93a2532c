/**
 * The User API over auth_user, on SQLite and PostgreSQL: migrate makes the
 * tables, users round-trip every field, passwords are hashed, checked and
 * upgraded as Django does, and the session auth hash is Django's.
 */
import { createHmac, createHash } from 'node:crypto';
import { configure } from '../../core/conf';
import { get_connection, is_integrity_error } from '../../core/db';
import { AnonymousUser, SESSION_AUTH_HASH_SALT, User, normalize_email, validate_username } from '../models';
import { databases, migrate, with_database, TEST_SECRET_KEY } from './helpers';

const DJANGO_32 = 'pbkdf2_sha256$260000$seasaltseasaltseasalt$FprOV/vtnnmlQNNgOxUfY1uCybYHDo/knRDXbnJINu4=';

describe.each(databases())('User on %s', (_name, make) => {
  with_database(make);

  it('migrate made every table of Django’s auth app, and a second migrate does nothing', async () => {
    const knex = get_connection();
    for (const t of ['auth_user', 'auth_group', 'auth_permission', 'auth_group_permissions', 'auth_user_groups', 'auth_user_user_permissions']) {
      expect(await knex.schema.hasTable(t)).toBe(true);
    }
    expect(await migrate()).toContain('No migrations to apply.');
  });

  it('create_user saves every field; get_by_id and get_by_natural_key read them back', async () => {
    const joined = new Date('2026-12-01T10:20:30.123Z');
    const made = await User.create_user('zhiliao', 'Zhi@Example.COM', 's3cret', { first_name: 'Zhi', last_name: 'Liao', date_joined: joined });
    expect(made.id).toEqual(expect.any(Number));
    expect(made.email).toBe('Zhi@example.com');
    const by_id = await User.get_by_id(made.id as number);
    const by_name = await User.get_by_natural_key('zhiliao');
    for (const u of [by_id, by_name]) {
      expect(u).toMatchObject({
        id: made.id, username: 'zhiliao', email: 'Zhi@example.com', first_name: 'Zhi', last_name: 'Liao',
        is_active: true, is_staff: false, is_superuser: false, last_login: null, date_joined: joined,
      });
      expect(u?.is_authenticated).toBe(true);
    }
    expect(await User.get_by_natural_key('ZHILIAO')).toBeNull();
    expect(await User.get_by_id(made.id as number + 1)).toBeNull();
    expect(await User.get_by_id(Number.NaN)).toBeNull();
  });

  it('create_superuser sets is_staff and is_superuser, and refuses to clear them', async () => {
    const admin = await User.create_superuser('admin', 'admin@example.com', 'pw');
    expect(await User.get_by_id(admin.id as number)).toMatchObject({ is_staff: true, is_superuser: true, is_active: true });
    await expect(User.create_superuser('x', '', 'pw', { is_staff: false })).rejects.toThrow('Superuser must have is_staff=True.');
  });

  it('a username is unique', async () => {
    await User.create_user('dup', '', 'a');
    // Not rejects.toThrow(): better-sqlite3's error class may come from another test file's realm.
    const err = await User.create_user('dup', '', 'b').then(() => null, (e: unknown) => e);
    expect(is_integrity_error(err)).toBe(true);
  });

  it('save() writes changes; update_fields writes only those', async () => {
    const u = await User.create_user('bob', '', 'pw');
    u.is_active = false;
    u.last_login = new Date('2026-12-06T01:02:03.456Z');
    await u.save();
    expect(await User.get_by_id(u.id as number)).toMatchObject({ is_active: false, last_login: new Date('2026-12-06T01:02:03.456Z') });
    u.first_name = 'not saved';
    u.is_staff = true;
    await u.save({ update_fields: ['is_staff'] });
    expect(await User.get_by_id(u.id as number)).toMatchObject({ first_name: '', is_staff: true });
  });

  it('check_password upgrades a Django 3.2 hash to the preferred hasher and saves it', async () => {
    const u = await User.create_user('old', '', null);
    u.password = DJANGO_32;
    await u.save();
    expect(await u.check_password('wrong')).toBe(false);
    expect((await User.get_by_id(u.id as number))?.password).toBe(DJANGO_32);
    expect(await u.check_password('hunter2 ✓')).toBe(true);
    const stored = (await User.get_by_id(u.id as number))?.password;
    expect(stored).toMatch(/^pbkdf2_sha256\$1000\$[A-Za-z0-9]{22}\$/);
    expect(await (await User.get_by_id(u.id as number))?.check_password('hunter2 ✓')).toBe(true);
  });

  it('a user created without a password has an unusable one', async () => {
    const u = await User.create_user('nopw');
    expect(u.has_usable_password()).toBe(false);
    expect(await u.check_password('')).toBe(false);
  });
});

describe('the session auth hash', () => {
  it('is salted_hmac(key_salt, password, SECRET_KEY, sha256) in hex, as Django computes it', () => {
    configure({ SECRET_KEY: TEST_SECRET_KEY, SECRET_KEY_FALLBACKS: ['old-key'] });
    const u = new User({ password: DJANGO_32 });
    const expected = (secret: string) => {
      const key = createHash('sha256').update(SESSION_AUTH_HASH_SALT + secret).digest();
      return createHmac('sha256', key).update(DJANGO_32).digest('hex');
    };
    expect(u.get_session_auth_hash()).toBe(expected(TEST_SECRET_KEY));
    expect(u.get_session_auth_fallback_hash()).toEqual([expected('old-key')]);
  });
});

describe('helpers', () => {
  it('validate_username accepts what UnicodeUsernameValidator accepts', () => {
    expect(validate_username('zhi.liao+1@x-y_z')).toBeNull();
    expect(validate_username('清風')).toBeNull();
    expect(validate_username('has space')).toMatch(/^Enter a valid username/);
    expect(validate_username('a'.repeat(151))).toMatch(/at most 150/);
  });

  it('normalize_email lowercases the domain only', () => {
    expect(normalize_email(' Zhi@Example.COM ')).toBe('Zhi@example.com');
    expect(normalize_email(null)).toBe('');
  });

  it('AnonymousUser is not authenticated', () => {
    const a = new AnonymousUser();
    expect([a.is_authenticated, a.is_anonymous, a.id, a.get_username()]).toEqual([false, true, null, '']);
  });
});
