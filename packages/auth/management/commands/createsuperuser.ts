/**
 * `manage.ts createsuperuser` (django.contrib.auth.management.commands.createsuperuser):
 * prompts for a username, an email address and a password typed twice
 * (hidden), or with --noinput takes them from --username/--email and the
 * DJANGO_SUPERUSER_USERNAME, DJANGO_SUPERUSER_EMAIL and
 * DJANGO_SUPERUSER_PASSWORD environment variables (no password: an unusable
 * one). Messages are Django's. Unlike Django, prompts also read from a pipe
 * (Django skips creation when stdin is no terminal), so a script can answer them.
 */
import * as os from 'node:os';
import type { Command } from 'commander';
import { close_connections } from '@tango/core/db';
import { CommandError } from '@tango/core/errors';
import { BaseCommand } from '@tango/core/management/base';
import { EMAIL_MAX_LENGTH, normalize_username, User, validate_username } from '../../models';
import { Prompter, type Input } from '../prompt';

/** A practical form of Django's EmailValidator: one '@', no spaces, a dotted domain (or localhost). */
export function email_error(email: string): string | null {
  if (email === '') return null;
  if (email.length > EMAIL_MAX_LENGTH || !/^[^\s@]+@([^\s@.]+(\.[^\s@.]+)+|localhost)$/i.test(email)) return 'Enter a valid email address.';
  return null;
}

export default class CreateSuperuserCommand extends BaseCommand {
  readonly help = 'Used to create a superuser.';
  stdin: Input = process.stdin;

  override add_arguments(parser: Command): void {
    parser
      .option('--username <username>', 'Specifies the login for the superuser.')
      .option('--email <email>', 'Specifies the email for the superuser.')
      .option('--noinput', 'Tells Tango to NOT prompt the user for input of any kind. You must use --username with --noinput, along with --email. ' +
        'Without DJANGO_SUPERUSER_PASSWORD the superuser cannot log in until given a password.')
      .option('--no-input', 'The same as --noinput.')
      .option('--database <alias>', 'Specifies the database to use. Default is "default".', 'default');
  }

  async handle(_args: string[], options: Record<string, unknown>): Promise<void> {
    const using = typeof options.database === 'string' ? options.database : 'default';
    // commander turns --no-input into input: false.
    const interactive = !(options.noinput === true || options.input === false);
    try {
      const data = interactive ? await this.#ask(options, using) : await this.#from_environment(options, using);
      await User.create_superuser(data.username, data.email, data.password, { using });
      this.write('Superuser created successfully.');
    } finally {
      await close_connections();
    }
  }

  /** Django's _validate_username: taken, blank, or not a valid username. */
  async #username_error(username: string, using: string): Promise<string | null> {
    if (await User.get_by_natural_key(username, { using })) return 'Error: That username is already taken.';
    if (!username) return 'Username cannot be blank.';
    return validate_username(username);
  }

  async #from_environment(options: Record<string, unknown>, using: string): Promise<{ username: string; email: string; password: string | null }> {
    const given = typeof options.username === 'string' ? options.username : process.env.DJANGO_SUPERUSER_USERNAME;
    if (given === undefined) throw new CommandError('You must use --username with --noinput.');
    const username = normalize_username(given);
    const problem = await this.#username_error(username, using);
    if (problem) throw new CommandError(problem);
    const email = (typeof options.email === 'string' && options.email) || process.env.DJANGO_SUPERUSER_EMAIL;
    if (!email) throw new CommandError('You must use --email with --noinput.');
    const bad_email = email_error(email);
    if (bad_email) throw new CommandError(bad_email);
    return { username, email, password: process.env.DJANGO_SUPERUSER_PASSWORD ?? null };
  }

  async #ask(options: Record<string, unknown>, using: string): Promise<{ username: string; email: string; password: string }> {
    const prompt = new Prompter(this.stdin, this.stdout);
    const error = (line: string) => this.stderr.write(`${line}\n`);
    try {
      let username: string | null = null;
      if (typeof options.username === 'string') {
        username = normalize_username(options.username);
        const problem = await this.#username_error(username, using);
        if (problem) {
          error(problem);
          username = null;
        }
      }
      const fallback = username === null ? await this.#default_username(using) : '';
      while (username === null) {
        const question = fallback ? `Username (leave blank to use '${fallback}'): ` : 'Username: ';
        let answer = normalize_username(await prompt.ask(question));
        if (answer === '' && fallback) answer = fallback;
        const problem = await this.#username_error(answer, using);
        if (problem) error(problem.startsWith('Error: ') || problem.endsWith('cannot be blank.') ? problem : `Error: ${problem}`);
        else username = answer;
      }
      let email: string | null = typeof options.email === 'string' ? options.email : null;
      if (email !== null && email_error(email)) {
        error(`Error: ${email_error(email)}`);
        email = null;
      }
      while (email === null) {
        const answer = (await prompt.ask('Email address: ')).trim();
        const problem = email_error(answer);
        if (problem) error(`Error: ${problem}`);
        else email = answer;
      }
      let password: string | null = null;
      while (password === null) {
        const first = await prompt.ask_hidden('Password: ');
        const second = await prompt.ask_hidden('Password (again): ');
        if (first !== second) {
          error("Error: Your passwords didn't match.");
          continue;
        }
        if (first.trim() === '') {
          error("Error: Blank passwords aren't allowed.");
          continue;
        }
        password = first;
      }
      return { username, email, password };
    } finally {
      prompt.close();
    }
  }

  /** django.contrib.auth.management.get_default_username: the system user's name, when free and valid. */
  async #default_username(using: string): Promise<string> {
    let name: string;
    try {
      name = normalize_username(os.userInfo().username);
    } catch {
      return '';
    }
    if (validate_username(name) !== null) return '';
    return (await User.get_by_natural_key(name, { using })) ? '' : name;
  }
}
