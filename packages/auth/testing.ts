/**
 * Test helpers, as django.test.Client.force_login / logout: sign a test
 * client in as a user without going through a login view.
 */
import type { Client } from '@tango/core/testing';
import { settings } from '@tango/core/conf';
import type { User } from './models';
import { BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY } from './session_auth';

/** Puts `user` in the client's session exactly as login() would (new key, the three auth keys). */
export async function force_login(client: Client, user: User, backend: string = settings.AUTHENTICATION_BACKENDS[0]): Promise<void> {
  const session = await client.session();
  await session.cycle_key();
  session.set(SESSION_KEY, String(user.pk));
  session.set(BACKEND_SESSION_KEY, backend);
  session.set(HASH_SESSION_KEY, user.get_session_auth_hash());
  await session.save();
}

/** Ends the client's session, as logout() does. */
export async function force_logout(client: Client): Promise<void> {
  await (await client.session()).flush();
}
