/** @tango/core/testing: the test client, the cookie jar, service-gated suites and the clock and settings helpers. */
export { Client } from './client';
export type { ClientResponse, RequestOptions } from './client';
export { CookieJar } from './cookie_jar';
export type { StoredCookie } from './cookie_jar';
export { service_url, describe_with, describe_needing } from './services';
export { free_port } from './ports';
export type { ServiceName, Needed } from './services';
export { freeze_time, clock } from '../clock';
export { capture_logs } from '../log';
export { override_settings } from '../conf';
