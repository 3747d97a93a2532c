/**
 * django.contrib.auth.models.User over Django's `auth_user` table: the
 * fields, the password methods, the session auth hash, and the few queries
 * login needs (by id, by username, create, save). Rows written by either
 * side read the same on the other.
 */
import { clock } from '@tango/core/clock';
import { settings } from '@tango/core/conf';
import { salted_hmac } from '@tango/core/crypto';
import { db_datetime, from_db_datetime, get_connection, vendor, type Knex } from '@tango/core/db';
import { check_password, is_password_usable, make_password } from './hashers';

export const USER_TABLE = 'auth_user';

/** django.contrib.auth.base_user.AbstractBaseUser.get_session_auth_hash's key_salt. */
export const SESSION_AUTH_HASH_SALT = 'django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash';

/** Django's field limits (auth_user's column sizes). */
export const USERNAME_MAX_LENGTH = 150;
export const EMAIL_MAX_LENGTH = 254;

export interface UserFields {
  id: number | null;
  password: string;
  last_login: Date | null;
  is_superuser: boolean;
  username: string;
  first_name: string;
  last_name: string;
  email: string;
  is_staff: boolean;
  is_active: boolean;
  date_joined: Date;
}

type UserRow = Record<keyof UserFields, unknown>;

const COLUMNS: ReadonlyArray<keyof UserFields> = [
  'id', 'password', 'last_login', 'is_superuser', 'username', 'first_name', 'last_name', 'email', 'is_staff', 'is_active', 'date_joined',
];

export interface QueryOptions {
  /** The DATABASES alias (Django's `using`); default 'default'. */
  using?: string;
}

/**
 * django.contrib.auth.validators.UnicodeUsernameValidator: letters, digits
 * and @/./+/-/_ (Python's `\w` is letters, numbers and the underscore).
 */
const USERNAME_RE = /^[\p{L}\p{N}_.@+-]+$/u;
export const USERNAME_HELP = 'Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.';

export function validate_username(username: string): string | null {
  if (!USERNAME_RE.test(username)) return USERNAME_HELP;
  if ([...username].length > USERNAME_MAX_LENGTH) return `Ensure this value has at most ${USERNAME_MAX_LENGTH} characters (it has ${[...username].length}).`;
  return null;
}

/** BaseUserManager.normalize_email: the domain part lowercased, the rest as given. */
export function normalize_email(email: string | null | undefined): string {
  const e = (email ?? '').trim();
  const at = e.lastIndexOf('@');
  return at < 0 ? e : `${e.slice(0, at)}@${e.slice(at + 1).toLowerCase()}`;
}

/** AbstractBaseUser.normalize_username: NFKC, so look-alike forms are one username. */
export function normalize_username(username: string): string {
  return username.normalize('NFKC');
}

function to_bool(v: unknown): boolean {
  return v === true || v === 1 || v === '1' || v === 't';
}

export class User implements UserFields {
  id: number | null = null;
  password = '';
  last_login: Date | null = null;
  is_superuser = false;
  username = '';
  first_name = '';
  last_name = '';
  email = '';
  is_staff = false;
  is_active = true;
  date_joined: Date = new Date(clock.now());
  /** The AUTHENTICATION_BACKENDS entry that authenticated this user (set by authenticate()). */
  backend: string | undefined = undefined;
  /** The database alias the user was read from or saved to. */
  db = 'default';

  constructor(fields: Partial<UserFields> = {}) {
    Object.assign(this, fields);
  }

  get pk(): number | null {
    return this.id;
  }

  get is_authenticated(): true {
    return true;
  }

  get is_anonymous(): false {
    return false;
  }

  get_username(): string {
    return this.username;
  }

  get_full_name(): string {
    return `${this.first_name} ${this.last_name}`.trim();
  }

  get_short_name(): string {
    return this.first_name;
  }

  toString(): string {
    return this.username;
  }

  /** Django compares model instances by class and primary key. */
  equals(other: unknown): boolean {
    return other instanceof User && this.id !== null && other.id === this.id;
  }

  async set_password(raw_password: string | null): Promise<void> {
    this.password = await make_password(raw_password);
  }

  set_unusable_password(): Promise<void> {
    return this.set_password(null);
  }

  has_usable_password(): boolean {
    return is_password_usable(this.password);
  }

  /**
   * AbstractBaseUser.check_password: a correct password whose stored hash is
   * out of date (fewer iterations, another hasher) is rehashed and saved.
   */
  check_password(raw_password: string): Promise<boolean> {
    return check_password(raw_password, this.password, async (raw) => {
      await this.set_password(raw);
      await this.save({ update_fields: ['password'] });
    });
  }

  /** HMAC of the password hash: a session stays valid only while the password is unchanged. */
  get_session_auth_hash(secret?: string): string {
    return salted_hmac(SESSION_AUTH_HASH_SALT, this.password, secret ?? settings.SECRET_KEY, 'sha256').toString('hex');
  }

  /** The same hash under each SECRET_KEY_FALLBACKS key (Django 4.1+). */
  get_session_auth_fallback_hash(): string[] {
    return settings.SECRET_KEY_FALLBACKS.map((key) => this.get_session_auth_hash(key));
  }

  /** Model.save(): inserts a new user, updates an existing one (only `update_fields` when given). */
  async save(options: QueryOptions & { update_fields?: Array<keyof UserFields> } = {}): Promise<void> {
    const using = options.using ?? this.db;
    const knex = get_connection(using);
    const row = to_row(this, knex);
    delete row.id;
    if (this.id === null) {
      const inserted = await knex(USER_TABLE).insert(row, ['id']) as Array<{ id: number } | number>;
      const first = inserted[0];
      this.id = typeof first === 'number' ? first : Number(first.id);
    } else {
      const fields = options.update_fields ?? COLUMNS.filter((c) => c !== 'id');
      const changes: Partial<UserRow> = {};
      for (const f of fields) changes[f] = row[f];
      await knex(USER_TABLE).where('id', this.id).update(changes);
    }
    this.db = using;
  }

  async delete(options: QueryOptions = {}): Promise<void> {
    if (this.id === null) return;
    await get_connection(options.using ?? this.db)(USER_TABLE).where('id', this.id).delete();
    this.id = null;
  }

  /** The user with this primary key, or null. */
  static async get_by_id(id: number, options: QueryOptions = {}): Promise<User | null> {
    // auth_user.id is a 32-bit integer: PostgreSQL would reject a larger one, so no such user (as Django 5.0+ answers).
    if (!Number.isSafeInteger(id) || id < -2147483648 || id > 2147483647) return null;
    return User.#get_where('id', id, options.using);
  }

  /** BaseUserManager.get_by_natural_key: the user with exactly this username, or null. */
  static async get_by_natural_key(username: string, options: QueryOptions = {}): Promise<User | null> {
    return User.#get_where('username', username, options.using);
  }

  static async #get_where(column: 'id' | 'username', value: number | string, using = 'default'): Promise<User | null> {
    const knex = get_connection(using);
    const row = await knex(USER_TABLE).select(COLUMNS as string[]).where(column, value).first() as UserRow | undefined;
    if (!row) return null;
    const user = from_row(row, knex);
    user.db = using;
    return user;
  }

  /** UserManager.create_user: a saved user whose password is hashed (unusable when null). */
  static async create_user(username: string, email?: string | null, password?: string | null,
    extra: Partial<UserFields> & QueryOptions = {}): Promise<User> {
    if (!username) throw new Error('The given username must be set');
    const { using, ...fields } = extra;
    const user = new User({ is_staff: false, is_superuser: false, ...fields });
    user.username = normalize_username(username);
    user.email = normalize_email(email);
    await user.set_password(password ?? null);
    await user.save({ using });
    return user;
  }

  /** UserManager.create_superuser: is_staff and is_superuser set (and must stay so). */
  static async create_superuser(username: string, email?: string | null, password?: string | null,
    extra: Partial<UserFields> & QueryOptions = {}): Promise<User> {
    if (extra.is_staff === false) throw new Error('Superuser must have is_staff=True.');
    if (extra.is_superuser === false) throw new Error('Superuser must have is_superuser=True.');
    return User.create_user(username, email, password, { ...extra, is_staff: true, is_superuser: true });
  }
}

function from_row(row: UserRow, knex: Knex): User {
  return new User({
    id: Number(row.id),
    password: String(row.password),
    last_login: row.last_login === null || row.last_login === undefined ? null : from_db_datetime(row.last_login, knex),
    is_superuser: to_bool(row.is_superuser),
    username: String(row.username),
    first_name: String(row.first_name),
    last_name: String(row.last_name),
    email: String(row.email),
    is_staff: to_bool(row.is_staff),
    is_active: to_bool(row.is_active),
    date_joined: from_db_datetime(row.date_joined, knex),
  });
}

function to_row(user: User, knex: Knex): Partial<UserRow> {
  // better-sqlite3 binds no booleans: SQLite's bool columns hold 1 and 0, as Django writes them.
  const bool = vendor(knex) === 'sqlite' ? (b: boolean) => (b ? 1 : 0) : (b: boolean) => b;
  return {
    id: user.id,
    password: user.password,
    last_login: user.last_login === null ? null : db_datetime(user.last_login, knex),
    is_superuser: bool(user.is_superuser),
    username: user.username,
    first_name: user.first_name,
    last_name: user.last_name,
    email: user.email,
    is_staff: bool(user.is_staff),
    is_active: bool(user.is_active),
    date_joined: db_datetime(user.date_joined, knex),
  };
}

/** django.contrib.auth.models.AnonymousUser: request.user when nobody is signed in. */
export class AnonymousUser {
  readonly id = null;
  readonly pk = null;
  readonly username = '';
  readonly is_staff = false;
  readonly is_active = false;
  readonly is_superuser = false;

  get is_authenticated(): false {
    return false;
  }

  get is_anonymous(): true {
    return true;
  }

  get_username(): string {
    return this.username;
  }

  toString(): string {
    return 'AnonymousUser';
  }

  equals(other: unknown): boolean {
    return other instanceof AnonymousUser;
  }
}

export type AnyUser = User | AnonymousUser;
