/** The project's root URLconf (Django's project/urls.py): each app's URLs are included here. */
import { path, include } from '@tango/core';

export const urlpatterns = [
  path('', include('./apps/demo/urls')),
];
