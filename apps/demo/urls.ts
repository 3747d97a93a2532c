import { path } from '@tango/core';
import * as views from './views';
import { index } from './home';
import { account, login, logout } from './account_views';
import { whoami } from './state_view';
import { set_under_a, show_cookies } from './path_views';

export const urlpatterns = [
  path('', index, { name: 'index' }),
  // the tutorial's views
  path('add_cookie/', views.add_cookie, { name: 'add_cookie' }),
  path('add_cookie_expires/', views.add_cookie_expires, { name: 'add_cookie_expires' }),
  path('get_cookie/', views.get_cookie, { name: 'get_cookie' }),
  path('delete_cookie/', views.delete_cookie, { name: 'delete_cookie' }),
  path('add_signed_cookie/', views.add_signed_cookie, { name: 'add_signed_cookie' }),
  path('get_signed_cookie/', views.get_signed_cookie, { name: 'get_signed_cookie' }),
  path('add_session/', views.add_session, { name: 'add_session' }),
  path('get_session/', views.get_session, { name: 'get_session' }),
  path('pop_session/', views.pop_session, { name: 'pop_session' }),
  path('session_keys/', views.session_keys, { name: 'session_keys' }),
  path('session_items/', views.session_items, { name: 'session_items' }),
  path('clear_session/', views.clear_session, { name: 'clear_session' }),
  path('flush_session/', views.flush_session, { name: 'flush_session' }),
  path('set_expiry/', views.set_expiry, { name: 'set_expiry' }),
  // the demo site around them
  path('login/', login, { name: 'login' }),
  path('logout/', logout, { name: 'logout' }),
  path('whoami/', whoami, { name: 'whoami' }),
  path('account/', account, { name: 'account' }),
  path('a/set/', set_under_a, { name: 'set_under_a' }),
  path('a/show/', show_cookies, { name: 'show_under_a' }),
  path('b/show/', show_cookies, { name: 'show_under_b' }),
];
