/** Tango's command line, as Django's manage.py: `npx ts-node manage.ts <command>`. */
import { execute_from_command_line } from '@tango/core/management';

// A command's promise settles when it is done (runserver's never does), then
// the process ends with its status even if a pool still holds sockets open.
execute_from_command_line(process.argv.slice(2)).then((status) => process.exit(status));
