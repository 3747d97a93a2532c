/**
 * Tango inside an existing Fastify app (docs/fastify.md):
 *
 *   await app.register(tango, { settings });
 *
 * The plugin validates and installs the settings, mounts the URLconf and
 * MIDDLEWARE in its own encapsulated context (the same mount() that
 * runserver and serve use), and closes Tango's pools and cache clients when
 * the app closes. Tango takes whatever no route of the host app matches, so
 * Fastify's routes win where they match and Tango's 404 (and APPEND_SLASH)
 * answers everything else under its prefix.
 */
import type { FastifyInstance, FastifyPluginAsync } from 'fastify';
import {
  configure, is_configured, load_settings, settings as active_settings, validate_settings,
  type Settings, type SettingsInput,
} from './conf';
import { ImproperlyConfigured } from './errors';
import { mount, type MountOptions } from './server';
import { limit_connections, server_options as limits_as_server_options } from './server_limits';
import { shutdown } from './shutdown';
import { get_script_prefix, set_script_prefix } from './urls/resolvers';

export interface TangoPluginOptions extends MountOptions {
  /**
   * The settings: an object (validated and frozen as a settings module is),
   * or the path of a settings module (as `--settings` takes). Without it,
   * settings already configured in this process, else TANGO_SETTINGS_MODULE
   * or ./settings.
   */
  settings?: SettingsInput | Settings | Record<string, unknown> | string;
  /** BASE_DIR for settings given as an object (ROOT_URLCONF './urls' is found from it); default: the process's cwd. */
  base_dir?: string;
}

function install_settings(options: TangoPluginOptions): Settings {
  const given = options.settings;
  if (given === undefined) return is_configured() ? active_settings : load_settings();
  if (typeof given === 'string') return load_settings(given);
  // The active settings themselves (`settings` from @tango/core): nothing to validate again.
  if (given === active_settings && options.base_dir === undefined) return active_settings;
  if (given === null || typeof given !== 'object') {
    throw new ImproperlyConfigured(`The tango plugin's settings option must be a settings object or a module path, not ${given === null ? 'null' : typeof given}.`);
  }
  const base_dir = options.base_dir ?? (typeof given.BASE_DIR === 'string' ? given.BASE_DIR : undefined);
  return configure(given, base_dir);
}

/**
 * The Fastify factory options that carry Tango's slow-client limits
 * (REQUEST_HEADERS_TIMEOUT, REQUEST_TIMEOUT, KEEP_ALIVE_TIMEOUT): they belong
 * to the server, which the host app creates, so the plugin cannot set them.
 * `Fastify({ ...server_options(settings) })`.
 */
export function server_options(settings: SettingsInput | Settings = active_settings): ReturnType<typeof limits_as_server_options> {
  return limits_as_server_options(validate_settings(settings, typeof settings.BASE_DIR === 'string' ? settings.BASE_DIR : undefined));
}

const tango: FastifyPluginAsync<TangoPluginOptions> = async (app: FastifyInstance, options: TangoPluginOptions) => {
  const settings = install_settings(options);
  // MAX_CONNECTIONS is the process's, not a route's; a host that chose its own keeps it.
  if (app.server.maxConnections === undefined) limit_connections(app, settings);
  mount(app, { urlpatterns: options.urlpatterns, middleware: options.middleware, access_log: options.access_log, routing: 'catch_all' });
  const script_prefix = get_script_prefix();
  app.addHook('onClose', async () => {
    // reverse() outside any request (a script, the next app) no longer builds URLs under this app's prefix.
    if (get_script_prefix() === script_prefix) set_script_prefix('');
    await shutdown();
  });
};

export default tango;
export { tango };
