/**
 * django.contrib.sessions.backends.db: one row per session in Django's own
 * table `django_session` (session_key, session_data = encode(data),
 * expire_date), so a Django site and Tango share sessions through it.
 * `expire_date` is written and compared as Django's backends do (see
 * @tango/core/db): naive text on SQLite, timestamptz on PostgreSQL.
 *
 * Saving over an existing row is Django's UPDATE with one more condition,
 * `AND session_data = <the value this request loaded>`: a compare-and-swap
 * that needs no extra column, so the table stays Django's. 0 rows updated
 * and the row still there means another request saved meanwhile (SessionBase
 * merges and retries); no row means it was deleted (UpdateError).
 */
import type { Knex } from 'knex';
import { clock } from '@tango/core/clock';
import { db_datetime, db_datetime_candidates, db_datetime_lower_bound, get_connection, is_integrity_error } from '@tango/core/db';
import { quote_name, run_statement, statement, type Statement } from '@tango/core/db_statements';
import { register_memo } from '@tango/core/memos';
import { base62_decode, object_payload } from '@tango/core/signing';
import { SessionBase, type ExpiryValue } from '../base';
import type { SessionDict } from '../session_dict';
import type { CasResult, StoredState } from '../store_io';
import { CreateError } from '../exceptions';

export interface SessionRow {
  session_key: string;
  session_data: string;
  expire_date: Date;
}

/** A row as the load statement reads it: expire_date as the driver gives it (text, Date or epoch ms). */
interface LoadedRow {
  session_data: string;
  expire_date: unknown;
}

/** How many rows clear_expired() deletes per statement, so a big purge never holds one long lock. */
const CLEAR_BATCH = 10000;

/** The signing time (seconds) inside session_data `payload:<base62 time>:signature`, or null. */
function signed_at(session_data: string): number | null {
  const m = /:([0-9A-Za-z]+):[^:]*$/.exec(session_data);
  if (!m) return null;
  try {
    return base62_decode(m[1]);
  } catch {
    return null;
  }
}

/** The statements of a request's load and save, written once per table (see @tango/core/db_statements). */
interface SessionSql {
  load: Statement;
  read: Statement;
  exists: Statement;
  insert: Statement;
  update: Statement;
  update_if: Statement;
  update_if_payload: Statement;
  delete: Statement;
  /**
   * One batch of clear_expired(), addressed by physical row id. A subquery on
   * session_key made PostgreSQL hash-join every batch against a scan of the
   * whole table; ctid / rowid lookups touch only the rows found. When a
   * concurrent save updates a picked row first, PostgreSQL re-evaluates the
   * WHERE on the saved version: the outer expire_date test keeps that live row
   * whatever the TID scan's own recheck does. Binds: the bound, twice.
   */
  clear_batch: Statement;
}

const sql_by_table = new Map<string, SessionSql>();
register_memo('sessions.db.sql_by_table', () => sql_by_table.clear());

function session_sql(table: string): SessionSql {
  let sql = sql_by_table.get(table);
  if (!sql) {
    const t = quote_name(table);
    sql = {
      // PostgreSQL hands the instant over as epoch milliseconds: pg's parsing
      // of timestamptz text into a Date (regexes, parseInt, offsets) was the
      // costliest step of reading a row.
      load: statement(
        `SELECT session_data, expire_date FROM ${t} WHERE session_key = ?`,
        `SELECT session_data, (extract(epoch FROM expire_date) * 1000)::float8 AS expire_date FROM ${t} WHERE session_key = $1`,
        { one_row: true },
      ),
      read: statement(`SELECT session_data FROM ${t} WHERE session_key = ?`, undefined, { one_row: true }),
      exists: statement(`SELECT session_key FROM ${t} WHERE session_key = ?`, undefined, { one_row: true }),
      insert: statement(`INSERT INTO ${t} (session_key, session_data, expire_date) VALUES (?, ?, ?)`),
      update: statement(`UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ?`),
      update_if: statement(`UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ? AND session_data = ?`),
      update_if_payload: statement(`UPDATE ${t} SET session_data = ?, expire_date = ? WHERE session_key = ? AND substr(session_data, 1, ?) = ?`),
      delete: statement(`DELETE FROM ${t} WHERE session_key = ?`),
      clear_batch: statement(
        `DELETE FROM ${t} WHERE rowid IN (SELECT rowid FROM ${t} WHERE expire_date < ? LIMIT ${CLEAR_BATCH}) AND expire_date < ?`,
        `DELETE FROM ${t} WHERE ctid = ANY(ARRAY(SELECT ctid FROM ${t} WHERE expire_date < $1 LIMIT ${CLEAR_BATCH})) AND expire_date < $2`,
      ),
    };
    sql_by_table.set(table, sql);
  }
  return sql;
}

export class SessionStore extends SessionBase {
  /** The DATABASES alias (Django routes the Session model; Tango uses one alias per store class). */
  static db_alias = 'default';
  static db_table = 'django_session';

  protected static connection(): Knex {
    return get_connection(this.db_alias);
  }

  protected get db(): Knex {
    return (this.constructor as typeof SessionStore).connection();
  }

  protected get table(): string {
    return (this.constructor as typeof SessionStore).db_table;
  }

  protected get sql(): SessionSql {
    return session_sql(this.table);
  }

  /** Rows of one fixed statement, under the store timeout. */
  async #rows<Row>(st: Statement, bindings: readonly unknown[], what: string): Promise<Row[]> {
    return (await this.io(run_statement<Row>(this.db, st, bindings), what)).rows;
  }

  /** Rows changed by one fixed statement, under the store timeout. */
  async #count_changed(st: Statement, bindings: readonly unknown[], what: string): Promise<number> {
    return (await this.io(run_statement(this.db, st, bindings), what)).count;
  }

  /**
   * Django's _get_session_from_db: the row if it is live (expire_date > now,
   * strictly), else null with the key dropped. Liveness is decided here rather
   * than in SQL so that a naive local expire_date in an hour that DST repeats
   * (SQLite, USE_TZ=false) is read as the instant it was written for; text
   * comparison in SQL, which Django uses, gets that hour wrong both ways.
   */
  protected async _get_session_from_db(): Promise<(SessionRow & { data: SessionDict }) | null> {
    const key = this.session_key;
    // session_key went through _validate_session_key: nothing else reaches the query.
    const row = key === null ? undefined :
      (await this.#rows<LoadedRow>(this.sql.load, [key], 'load'))[0];
    const found = row && this.#live(row, this.db);
    if (!found) {
      this._session_key = null;
      return null;
    }
    this.set_stored_state(this.#state_of(found.session_data));
    return found;
  }

  #live(row: LoadedRow, knex: Knex): (SessionRow & { data: SessionDict }) | null {
    const candidates = db_datetime_candidates(row.expire_date, knex);
    let expire_date = candidates[0];
    let data: SessionDict | undefined;
    if (candidates.length > 1) {
      // Ambiguous local time: take the reading nearest to what save() computed,
      // from the signing time inside session_data and the data's own expiry.
      data = this.decode(row.session_data);
      const expected = this.#expected_expiry(row.session_data, data);
      if (expected !== null) {
        expire_date = candidates.reduce((a, b) => (Math.abs(b.getTime() - expected) < Math.abs(a.getTime() - expected) ? b : a));
      }
    }
    if (!(expire_date.getTime() > clock.now())) return null;
    data ??= this.decode(row.session_data);
    return { session_key: this.session_key as string, session_data: row.session_data, expire_date, data };
  }

  /** get_expiry_date() as save() computed it: from the signing time in session_data (ms), or null. */
  #expected_expiry(session_data: string, data: SessionDict): number | null {
    const signed = signed_at(session_data);
    if (signed === null) return null;
    try {
      const expiry = (data._session_expiry ?? null) as ExpiryValue;
      return this.get_expiry_date({ modification: new Date(signed * 1000), expiry }).getTime();
    } catch {
      return null;
    }
  }

  async load(): Promise<SessionDict> {
    const row = await this._get_session_from_db();
    return row ? row.data : {};
  }

  /** Any row with this key, expired or not (Django's exists ignores expiry too). */
  async exists(session_key: string): Promise<boolean> {
    const key = this.key_if_valid(session_key);
    if (key === null) return false;
    return (await this.#rows(this.sql.exists, [key], 'exists')).length > 0;
  }

  /** The row save() writes (Django's create_model_instance). */
  async #row(data: SessionDict): Promise<SessionRow> {
    return this.#row_for(await this._get_or_create_session_key(), data);
  }

  /** #row once the key is known: an UPDATE has it, and takes the row without a promise turn. */
  #row_for(session_key: string, data: SessionDict): SessionRow {
    return { session_key, session_data: this.encode(data), expire_date: this.get_expiry_date() };
  }

  /** session_data is both the version the UPDATE compares and what decodes to the data. */
  #state_of(session_data: string): StoredState {
    return { version: session_data, data: async () => this.decode(session_data) };
  }

  /** must_create: INSERT; a duplicate key is CreateError (create() retries with another key). */
  protected override async insert_record(data: SessionDict): Promise<void> {
    const row = await this.#row(data);
    const knex = this.db;
    try {
      await this.#count_changed(this.sql.insert, [row.session_key, row.session_data, db_datetime(row.expire_date, knex)], 'save');
    } catch (err) {
      if (is_integrity_error(err)) throw new CreateError();
      throw err;
    }
    this.set_stored_state(this.#state_of(row.session_data));
  }

  /** The row as it is now, expired or not: an UPDATE would still find an expired row, so it is not gone. */
  protected override async read_stored_state(): Promise<StoredState | null> {
    const key = this.session_key;
    if (key === null) return null;
    const row = (await this.#rows<{ session_data: string }>(this.sql.read, [key], 'load'))[0];
    return row ? this.#state_of(row.session_data) : null;
  }

  /**
   * One UPDATE, atomic in the database (PostgreSQL re-checks the WHERE on the
   * row it waited for; SQLite serializes writers). With `expected` null, the
   * plain UPDATE Django runs.
   */
  protected override compare_and_swap(expected: StoredState | null, data: SessionDict): Promise<CasResult> {
    return expected === null
      ? this.#update(data, this.sql.update, [])
      : this.#update(data, this.sql.update_if, [expected.version as string]);
  }

  /**
   * The compare-and-swap for a session whose row value is unknown but whose
   * data is (cached_db, loaded from its cache): the row is written over only
   * if its payload, the part before the timestamp, is what `loaded` encodes
   * to, i.e. it still holds that data, whenever and by whom it was saved.
   */
  protected compare_data_and_swap(loaded: SessionDict, data: SessionDict): Promise<CasResult> {
    return this.compare_payload_and_swap(`${object_payload(loaded, { compress: true })}:`, data);
  }

  /** compare_data_and_swap with the payload already known: `prefix` is session_data up to and with its first ':'. */
  protected compare_payload_and_swap(prefix: string, data: SessionDict): Promise<CasResult> {
    return this.#update(data, this.sql.update_if_payload, [prefix.length, prefix]);
  }

  /** One UPDATE of the row to `data`, with `conditions` bound after the key; 0 rows: 'gone' or 'conflict'. */
  async #update(data: SessionDict, st: Statement, conditions: unknown[]): Promise<CasResult> {
    const key = this.session_key;
    // Only a save over a record that was read updates, and it has a key: without one there is no row to write over.
    if (key === null) return 'gone';
    const row = this.#row_for(key, data);
    const values = [row.session_data, db_datetime(row.expire_date, this.db), row.session_key, ...conditions];
    if ((await this.#count_changed(st, values, 'save')) > 0) {
      this.set_stored_state(this.#state_of(row.session_data));
      return 'ok';
    }
    if (conditions.length === 0) return 'gone';
    return (await this.exists(row.session_key)) ? 'conflict' : 'gone';
  }

  async delete_session(session_key: string | null = null): Promise<void> {
    const key = this.key_if_valid(session_key ?? this.session_key);
    if (key === null) return;
    await this.#count_changed(this.sql.delete, [key], 'delete');
  }

  /**
   * Deletes rows with expire_date < now (strictly: a row expiring exactly now is
   * neither loaded nor deleted, as in Django), in batches, and returns how many.
   * With naive local text (SQLite, USE_TZ=false) the bound is lowered before a
   * DST change that repeats an hour (see db_datetime_lower_bound): such rows go
   * on a later run instead of live ones going now.
   */
  static override async clear_expired(on_progress?: (removed: number) => void): Promise<number> {
    const knex = this.connection();
    const now = db_datetime_lower_bound(new Date(clock.now()), knex);
    const st = session_sql(this.db_table).clear_batch;
    let total = 0;
    for (;;) {
      const n = (await run_statement(knex, st, [now, now])).count;
      total += n;
      if (n < CLEAR_BATCH) return total;
      on_progress?.(total);
    }
  }

  /** How many rows clear_expired() would delete now (clearsessions --dry-run). */
  static async count_expired(): Promise<number> {
    const knex = this.connection();
    const now = db_datetime_lower_bound(new Date(clock.now()), knex);
    const row = await knex(this.db_table).where('expire_date', '<', now).count({ n: '*' }).first();
    return Number(row?.n ?? 0);
  }
}
