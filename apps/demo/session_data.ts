/**
 * What the demo keeps in its sessions. Declaring it here lets views write
 * `request.session['user_id'] = 'zhiliao'` and read the declared type back;
 * a misspelt key (`request.session['usr_id']`) does not compile.
 */
import type {} from '@tango/sessions';

declare module '@tango/sessions' {
  interface SessionData {
    /** Set by the tutorial's add_session view. */
    user_id?: string;
    /** Who logged in (account_views.ts; layout.ts's USER_KEY). */
    username?: string;
  }
}
