/** @tango/messages/testing over a real listening server: what a view's response put in the messages cookie. */
import { configure, HttpResponse, HttpResponseRedirect, path, type HttpRequest } from '@tango/core';
import { Client } from '@tango/core/testing';
import { messages } from '..';
import { messages_in_cookie, messages_set_by } from '../testing';
import { SECRET_KEY } from './helpers';

const urlpatterns = [
  path('save/', (request: HttpRequest) => {
    messages.success(request, 'Saved.', 'profile');
    messages.warning(request, 'Check your e-mail.');
    return new HttpResponseRedirect('/show/');
  }),
  path('show/', (request: HttpRequest) => new HttpResponse([...messages.get_messages(request)].map(String).join('|'))),
];

describe('messages_set_by / messages_in_cookie', () => {
  let client: Client;
  beforeAll(() => configure({ SECRET_KEY, MIDDLEWARE: ['@tango/sessions/middleware', '@tango/messages/middleware'], SESSION_ENGINE: 'signed_cookies' }));
  beforeEach(() => {
    client = new Client({ urlpatterns });
  });
  afterEach(() => client.close());

  it('decodes what the response set, and nothing once the messages were shown', async () => {
    const saved = await client.get('/save/');
    expect(messages_set_by(saved).map((m) => [m.level, String(m.message), m.tags])).toEqual([
      [25, 'Saved.', 'profile success'],
      [30, 'Check your e-mail.', 'warning'],
    ]);
    const shown = await client.get('/show/');
    expect(shown.text).toBe('Saved.|Check your e-mail.');
    expect(messages_set_by(shown)).toEqual([]);
  });

  it('refuses a value this site did not sign', () => {
    expect(() => messages_in_cookie('forged:value')).toThrow('Not a messages cookie signed with SECRET_KEY');
  });
});
