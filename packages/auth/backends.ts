/**
 * django.contrib.auth.backends: ModelBackend authenticates a username and
 * password against auth_user. AUTHENTICATION_BACKENDS names backends by
 * Django's dotted paths (what the session's `_auth_user_backend` holds, and
 * what a Django site sharing the sessions checks), or `module.Export` /
 * `module:Export` for a custom one.
 */
import { settings } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import type { HttpRequest } from '@tango/core/http/request';
import { require_module } from '@tango/core/module_loading';
import { make_password } from './hashers';
import { User } from './models';

export type Credentials = Record<string, unknown>;

export interface AuthBackend {
  authenticate(request: HttpRequest | null, credentials: Credentials): Promise<User | null>;
  get_user(user_id: number): Promise<User | null>;
}

export class ModelBackend implements AuthBackend {
  async authenticate(_request: HttpRequest | null, credentials: Credentials): Promise<User | null> {
    const { username, password } = credentials;
    if (typeof username !== 'string' || typeof password !== 'string') return null;
    const user = await User.get_by_natural_key(username);
    if (user === null) {
      // Hash anyway, so a missing username takes as long as a wrong password (Django #20760).
      await make_password(password);
      return null;
    }
    return (await user.check_password(password)) && this.user_can_authenticate(user) ? user : null;
  }

  /** Inactive users are refused, as Django's ModelBackend refuses them. */
  user_can_authenticate(user: User): boolean {
    return user.is_active;
  }

  async get_user(user_id: number): Promise<User | null> {
    const user = await User.get_by_id(user_id);
    return user !== null && this.user_can_authenticate(user) ? user : null;
  }
}

export class AllowAllUsersModelBackend extends ModelBackend {
  override user_can_authenticate(): boolean {
    return true;
  }
}

const BUILTIN: Readonly<Record<string, new () => AuthBackend>> = {
  'django.contrib.auth.backends.ModelBackend': ModelBackend,
  'django.contrib.auth.backends.AllowAllUsersModelBackend': AllowAllUsersModelBackend,
  '@tango/auth/backends.ModelBackend': ModelBackend,
  '@tango/auth/backends.AllowAllUsersModelBackend': AllowAllUsersModelBackend,
};

const loaded = new Map<string, AuthBackend>();

/** django.contrib.auth.load_backend: one instance per path. */
export function load_backend(path: string): AuthBackend {
  let backend = loaded.get(path);
  if (backend) return backend;
  const builtin = BUILTIN[path];
  if (builtin) {
    backend = new builtin();
  } else {
    const sep = Math.max(path.lastIndexOf(':'), path.lastIndexOf('.'));
    const mod = sep > 0 ? require_module(path.slice(0, sep), settings.BASE_DIR) : undefined;
    const cls = mod?.[path.slice(sep + 1)];
    if (typeof cls !== 'function') {
      throw new ImproperlyConfigured(`Invalid setting AUTHENTICATION_BACKENDS entry '${path}': expected Django's ModelBackend name or 'module.Export' naming a backend class.`);
    }
    backend = new (cls as new () => AuthBackend)();
  }
  loaded.set(path, backend);
  return backend;
}

export function get_backends(): Array<[string, AuthBackend]> {
  return settings.AUTHENTICATION_BACKENDS.map((p) => [p, load_backend(p)]);
}
