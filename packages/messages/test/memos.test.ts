/**
 * What the messages package keeps between requests (the level tags, the
 * MESSAGE_STORAGE class) is in the registry of packages/core/memos.ts:
 * forget_all() starts it cold, and the next use computes it again.
 */
import * as path from 'node:path';
import { configure } from '@tango/core/conf';
import { ImproperlyConfigured } from '@tango/core/errors';
import { forget_all, memo_names } from '@tango/core/memos';
import { get_storage_class } from '../storage';
import { get_level_tags } from '../utils';
import { SECRET_KEY } from './helpers';

beforeEach(() => configure({ SECRET_KEY }));

describe('the messages memos', () => {
  it('are registered', () => {
    expect(memo_names()).toEqual(expect.arrayContaining(['messages.level_tags', 'messages.storage_class']));
  });

  it('forget_all() forgets the level tags', () => {
    const tags = get_level_tags();
    expect(get_level_tags()).toBe(tags);
    forget_all();
    const again = get_level_tags();
    expect(again).not.toBe(tags);
    expect(again).toEqual(tags);
  });

  it('forget_all() forgets the MESSAGE_STORAGE class: the next call looks its module up again', () => {
    const spec = `${path.join(__dirname, '..', 'storage', 'session')}.SessionStorage`;
    const first = get_storage_class(spec);
    // A fresh module registry: looked up again, the module is a new copy, whose class
    // extends a new copy of BaseStorage, and so is refused here.
    jest.resetModules();
    expect(get_storage_class(spec)).toBe(first);
    forget_all();
    expect(() => get_storage_class(spec)).toThrow(ImproperlyConfigured);
  });
});
