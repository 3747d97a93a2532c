/**
 * The bench urlconf: the demo's cookie and session views (S1–S4) plus the
 * bench-only S5 view. The baseline (bench/baseline.ts) serves the same paths (config.ts PATHS).
 */
import { path } from '@tango/core';
import * as demo from '../apps/demo/views';
import * as views from './views';

export const urlpatterns = [
  path('get_cookie/', demo.get_cookie, { name: 'get_cookie' }),
  path('add_cookie/', demo.add_cookie, { name: 'add_cookie' }),
  path('get_session/', demo.get_session, { name: 'get_session' }),
  path('add_session/', demo.add_session, { name: 'add_session' }),
  path('update_session/', views.update_session, { name: 'update_session' }),
];
