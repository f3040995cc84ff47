import { errorMessage } from '../handler';
import { el } from './dom';

/** What the dialog shares: a file or folder of the file browser. */
export interface IShareTarget {
  path: string;
  name: string;
  isFolder: boolean;
}

/** What a section of the "Share…" dialog gets from the dialog around it. */
export interface ISectionHost {
  readonly target: IShareTarget;
  /** The roles the target can be shared with (folders have "uploader"). */
  readonly roles: string[];
  /** What Enter (and Escape, returning true when it used it) does in a field. */
  onKeys(
    field: HTMLElement,
    handler: (key: 'Enter' | 'Escape') => unknown
  ): void;
  /** Load who has access and the links again. */
  refresh(): Promise<void>;
  /** Something was shared or unshared: the file browser's badges follow. */
  changed(): void;
}

/**
 * One section of the "Share…" dialog with its own error and info lines; a
 * change in one section never hides what another one said.
 */
export abstract class ShareSection {
  constructor(protected readonly host: ISectionHost) {}

  /** The section's element, made once. */
  abstract readonly node: HTMLElement;

  readonly error = el('div', { class: 'cs3lab-Share-error', role: 'alert' });
  readonly info = el('div', { class: 'cs3lab-Share-info' });

  /** Say what was done, and that nothing is wrong any more. */
  protected done(text: string): void {
    show(this.error, '');
    show(this.info, text);
  }

  /** Say what went wrong (the server's message for a failed request). */
  fail(problem: unknown): void {
    show(
      this.error,
      typeof problem === 'string' ? problem : errorMessage(problem)
    );
  }

  /** Forget a past error. */
  clearError(): void {
    show(this.error, '');
  }

  /** Say something without touching the error line. */
  protected tell(text: string): void {
    show(this.info, text);
  }
}

function show(node: HTMLElement, text: string): void {
  node.textContent = text;
  node.hidden = !text;
}
