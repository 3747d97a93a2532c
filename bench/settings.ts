/**
 * Settings module for `manage.ts` commands the bench runs (migrate,
 * clearsessions): TANGO_SETTINGS_MODULE=$PWD/bench/settings.ts (or ./bench/settings.ts) with
 * BENCH_ENGINE=<engine id> and optionally BENCH_PG_SCHEMA / BENCH_SESSION_DIR.
 */
import { bench_settings, is_engine } from './config';

const engine = process.env.BENCH_ENGINE ?? 'db-pg';
if (!is_engine(engine)) throw new Error(`BENCH_ENGINE '${engine}' is not a bench engine`);

export default bench_settings(engine, {
  pg_schema: process.env.BENCH_PG_SCHEMA || undefined,
  session_dir: process.env.BENCH_SESSION_DIR || undefined,
});
