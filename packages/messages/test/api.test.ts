/**
 * The API of django/contrib/messages/api.py and the Message of
 * storage/base.py: levels, tags, MESSAGE_LEVEL, MESSAGE_TAGS, extra_tags,
 * fail_silently, set_level / get_level.
 */
import { configure, override_settings } from '@tango/core/conf';
import { mark_safe } from '@tango/core/html';
import { HttpRequest } from '@tango/core/http/request';
import {
  DEBUG, ERROR, INFO, Message, MessageFailure, SUCCESS, WARNING, add_message, constants, debug, error, get_level,
  get_messages, info, messages, set_level, success, warning,
} from '..';
import { CookieStorage } from '../storage/cookie';
import { SECRET_KEY, exchange } from './helpers';

beforeEach(() => configure({ SECRET_KEY }));

function read(request: HttpRequest): Array<[number, string, string]> {
  return [...get_messages(request)].map((m) => [m.level, String(m.message), m.tags]);
}

describe('levels and tags', () => {
  it('has Django\'s five levels', () => {
    expect([DEBUG, INFO, SUCCESS, WARNING, ERROR]).toEqual([10, 20, 25, 30, 40]);
    expect(constants.DEFAULT_LEVELS).toEqual({ DEBUG: 10, INFO: 20, SUCCESS: 25, WARNING: 30, ERROR: 40 });
    expect(messages.ERROR).toBe(40);
  });

  it('each shortcut adds at its level; the default MESSAGE_LEVEL (INFO) drops debug', async () => {
    await exchange((r) => {
      debug(r, 'd');
      info(r, 'i');
      success(r, 's');
      warning(r, 'w');
      error(r, 'e');
      expect(read(r)).toEqual([[20, 'i', 'info'], [25, 's', 'success'], [30, 'w', 'warning'], [40, 'e', 'error']]);
    });
  });

  it('MESSAGE_LEVEL sets the lowest recorded level', async () => {
    await override_settings({ MESSAGE_LEVEL: DEBUG }, () => exchange((r) => {
      messages.debug(r, 'd');
      expect(read(r)).toEqual([[10, 'd', 'debug']]);
    }));
    await override_settings({ MESSAGE_LEVEL: WARNING }, () => exchange((r) => {
      messages.info(r, 'i');
      messages.warning(r, 'w');
      expect(read(r)).toEqual([[30, 'w', 'warning']]);
    }));
  });

  it('MESSAGE_TAGS overlays the default tags; a level with no tag has level_tag ""', async () => {
    await override_settings({ MESSAGE_TAGS: { [ERROR]: 'danger', 35: 'notice' } }, async () => {
      expect(new Message(ERROR, 'x').level_tag).toBe('danger');
      expect(new Message(35, 'x').tags).toBe('notice');
      expect(new Message(INFO, 'x').level_tag).toBe('info');
    });
    expect(new Message(ERROR, 'x').level_tag).toBe('error');
    expect(new Message(33, 'x', 'extra').tags).toBe('extra');
    expect(new Message(33, 'x').tags).toBe('');
  });

  it('tags are extra_tags then the level tag', async () => {
    await exchange((r) => {
      messages.success(r, 'Saved.', { extra_tags: 'fade big' });
      messages.info(r, 'Positional', 'one');
      const [a, b] = [...get_messages(r)];
      expect(a.extra_tags).toBe('fade big');
      expect(a.tags).toBe('fade big success');
      expect(a.level_tag).toBe('success');
      expect(b.tags).toBe('one info');
    });
  });

  it('add_message takes any whole level, refuses one that is not a number', async () => {
    await exchange((r) => {
      add_message(r, 31, 'custom');
      expect(read(r)).toEqual([[31, 'custom', '']]);
      expect(() => add_message(r, Number.NaN, 'x')).toThrow(TypeError);
    });
  });

  it('an empty message is not added', async () => {
    await exchange((r) => {
      info(r, '');
      expect(get_messages(r).length).toBe(0);
    });
  });

  it('Message equality is level and text (as Django\'s __eq__), and its string is the text', () => {
    expect(new Message(20, 'a', 'x').equals(new Message(20, 'a', 'y'))).toBe(true);
    expect(new Message(20, 'a').equals(new Message(25, 'a'))).toBe(false);
    expect(new Message(20, mark_safe('<b>a</b>')).equals(new Message(20, '<b>a</b>'))).toBe(true);
    expect(`${new Message(20, 'text')}`).toBe('text');
  });
});

describe('without MessageMiddleware', () => {
  it('add_message throws MessageFailure, unless fail_silently', () => {
    const request = new HttpRequest();
    expect(() => info(request, 'x')).toThrow(MessageFailure);
    expect(() => info(request, 'x')).toThrow('You cannot add messages without installing @tango/messages/middleware (MessageMiddleware)');
    expect(() => info(request, 'x', { fail_silently: true })).not.toThrow();
  });

  it('a non-request is a TypeError naming its type', () => {
    expect(() => add_message({} as HttpRequest, INFO, 'x')).toThrow("add_message() argument must be an HttpRequest object, not 'Object'.");
  });

  it('get_messages is an empty list; set_level reports false', () => {
    const request = new HttpRequest();
    expect([...get_messages(request)]).toEqual([]);
    expect(set_level(request, DEBUG)).toBe(false);
  });

  it('get_level is MESSAGE_LEVEL (from a storage made for the question)', async () => {
    await override_settings({ MESSAGE_LEVEL: 30, MESSAGE_STORAGE: CookieStorage }, () => {
      expect(get_level(new HttpRequest())).toBe(30);
    });
  });
});

describe('set_level and get_level', () => {
  it('change the recording level for this request only, null goes back to MESSAGE_LEVEL', async () => {
    await exchange((r) => {
      expect(get_level(r)).toBe(INFO);
      expect(set_level(r, DEBUG)).toBe(true);
      expect(get_level(r)).toBe(DEBUG);
      debug(r, 'now recorded');
      set_level(r, null);
      expect(get_level(r)).toBe(INFO);
      debug(r, 'dropped again');
      expect(read(r)).toEqual([[10, 'now recorded', 'debug']]);
    });
    await exchange((r) => {
      expect(get_level(r)).toBe(INFO);
    });
  });
});
