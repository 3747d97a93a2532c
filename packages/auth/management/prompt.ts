/**
 * Line input for createsuperuser and changepassword: Python's input() and
 * getpass() over any stream. On a terminal a hidden answer is read with echo
 * off (raw mode, so the terminal shows nothing); from a pipe, answers are
 * read line by line, so scripts and tests can drive the prompts.
 */
import { CommandError } from '@tango/core/errors';

export type Input = NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (raw: boolean) => unknown };

const CANCELLED = 'Operation cancelled.';

export class Prompter {
  #buffer = '';
  #ended = false;
  #raw = false;
  #wake: (() => void) | undefined;
  readonly #on_data = (chunk: Buffer | string) => {
    this.#buffer += String(chunk);
    this.#wake?.();
  };
  readonly #on_end = () => {
    this.#ended = true;
    this.#wake?.();
  };

  readonly #input: Input;
  readonly #output: NodeJS.WritableStream;

  constructor(input: Input, output: NodeJS.WritableStream) {
    this.#input = input;
    this.#output = output;
    if (typeof input.setEncoding === 'function') input.setEncoding('utf8');
    input.on('data', this.#on_data);
    input.on('end', this.#on_end);
  }

  /** input(question): the answer without its line ending. */
  ask(question: string): Promise<string> {
    this.#output.write(question);
    return this.#line();
  }

  /** getpass(question): nothing is echoed on a terminal. */
  async ask_hidden(question: string): Promise<string> {
    const tty = Boolean(this.#input.isTTY && this.#input.setRawMode);
    // Echo goes off before the prompt shows: an answer typed (or pasted) as soon as it appears is never echoed.
    if (tty) {
      this.#input.setRawMode!(true);
      this.#raw = true;
    }
    this.#output.write(question);
    try {
      return await this.#line();
    } finally {
      if (tty) {
        this.#input.setRawMode!(false);
        this.#raw = false;
        this.#output.write('\n');
      }
    }
  }

  /** Stops reading, so the process can end. */
  close(): void {
    this.#input.removeListener('data', this.#on_data);
    this.#input.removeListener('end', this.#on_end);
    this.#input.pause();
  }

  async #line(): Promise<string> {
    for (;;) {
      const line = this.#take_line();
      if (line !== undefined) return line;
      if (this.#ended) throw new CommandError(CANCELLED);
      await new Promise<void>((resolve) => {
        this.#wake = resolve;
      });
      this.#wake = undefined;
    }
  }

  #take_line(): string | undefined {
    if (this.#raw) {
      // Raw mode hands over keystrokes: Enter is '\r', Ctrl-C and Ctrl-D cancel, DEL erases.
      let typed = '';
      for (let i = 0; i < this.#buffer.length; i++) {
        const c = this.#buffer[i];
        if (c === '\r' || c === '\n') {
          this.#buffer = this.#buffer.slice(i + 1);
          return typed;
        }
        if (c === '\x03' || c === '\x04') throw new CommandError(CANCELLED);
        if (c === '\x7f' || c === '\b') typed = typed.slice(0, -1);
        else typed += c;
      }
      return undefined;
    }
    const nl = this.#buffer.indexOf('\n');
    if (nl < 0) {
      if (this.#ended && this.#buffer !== '') {
        const last = this.#buffer;
        this.#buffer = '';
        return last;
      }
      return undefined;
    }
    const line = this.#buffer.slice(0, nl).replace(/\r$/, '');
    this.#buffer = this.#buffer.slice(nl + 1);
    return line;
  }
}
