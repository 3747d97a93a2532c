/**
 * django.contrib.auth.signals: user_logged_in, user_logged_out and
 * user_login_failed. Receivers may be async; send() awaits them in order.
 */
import { clock } from '@tango/core/clock';
import type { HttpRequest } from '@tango/core/http/request';
import type { AnyUser, User } from './models';

type Receiver<A> = (args: A) => void | Promise<void>;

export class Signal<A> {
  readonly #receivers = new Set<Receiver<A>>();

  connect(receiver: Receiver<A>): () => void {
    this.#receivers.add(receiver);
    return () => this.disconnect(receiver);
  }

  disconnect(receiver: Receiver<A>): boolean {
    return this.#receivers.delete(receiver);
  }

  async send(args: A): Promise<void> {
    for (const r of [...this.#receivers]) await r(args);
  }
}

export const user_logged_in = new Signal<{ request: HttpRequest; user: User }>();
export const user_logged_out = new Signal<{ request: HttpRequest; user: AnyUser | null }>();
/** `credentials` with anything that looks like a secret replaced by '********************' (Django's cleanse). */
export const user_login_failed = new Signal<{ request: HttpRequest | null; credentials: Record<string, unknown> }>();

/** django.contrib.auth.models.update_last_login, connected to user_logged_in as Django connects it. */
export async function update_last_login({ user }: { user: User }): Promise<void> {
  user.last_login = new Date(clock.now());
  await user.save({ update_fields: ['last_login'] });
}

user_logged_in.connect(update_last_login);
