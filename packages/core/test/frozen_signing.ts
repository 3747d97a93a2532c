/**
 * The setting the signing tests share: SECRET_KEY configured and the clock
 * frozen at the reference's instant around every test, and `at()` to run a
 * piece of a test at another instant.
 */
import { freeze_time } from '../clock';
import { configure } from '../conf';

/** Tue, 14 Nov 2023 22:13:20 GMT: the time the reference's vectors were made at. */
export const T = 1700000000;
export const SECRET_KEY = 'django-insecure-example-secret';

export function freeze_signing_each_test(): void {
  let unfreeze: () => void;
  beforeEach(() => {
    configure({ SECRET_KEY });
    unfreeze = freeze_time(T * 1000);
  });
  afterEach(() => unfreeze());
}

/** Runs `fn` with the clock at `seconds` (Unix time), then puts it back. */
export function at(seconds: number, fn: () => void): void {
  const restore = freeze_time(seconds * 1000);
  try {
    fn();
  } finally {
    restore();
  }
}
