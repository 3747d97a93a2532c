/** Tango's command line, as Django's manage.py: `npx ts-node manage.ts <command>`, or `node dist/manage.js <command>` after `npm run build`. */
import * as path from 'node:path';
import { execute_from_command_line } from '@tango/core/management';

// As manage.py's DJANGO_SETTINGS_MODULE default: the settings beside this file,
// from whatever directory it runs (dist/ once compiled). --settings still wins.
process.env.TANGO_SETTINGS_MODULE ??= path.join(__dirname, 'settings');

// A command's promise settles when it is done (runserver's never does), then
// the process ends with its status even if a pool still holds sockets open.
execute_from_command_line(process.argv.slice(2)).then((status) => process.exit(status));
