import { MessageLoop } from '@lumino/messaging';
import { Widget } from '@lumino/widgets';

import { formatTime, holderLabel } from './api';
import type { LockSession } from './session';
import { trans } from '../i18n';

export const BANNER_CLASS = 'cs3lab-LockBanner';

/**
 * A button of the banner.
 */
interface IBannerAction {
  label: string;
  title: string;
  /** A stable name for tests and styles (`data-cs3lab-action`). */
  name: string;
  primary?: boolean;
  run: () => Promise<void> | void;
}

/**
 * The banner over a read-only document (in its DocumentWidget's
 * `contentHeader`): who edits it and since when, and what the reader can do:
 * make a copy, request edit (then withdraw), edit now when the lock is free,
 * take over a lock of their own from another session.
 */
export class LockBanner extends Widget {
  constructor(options: LockBanner.IOptions) {
    super();
    this._session = options.session;
    this._makeCopy = options.makeCopy;
    this.addClass(BANNER_CLASS);
    this.node.setAttribute('role', 'status');
    const icon = document.createElement('span');
    icon.className = `${BANNER_CLASS}-icon`;
    icon.setAttribute('aria-hidden', 'true');
    this._text = document.createElement('span');
    this._text.className = `${BANNER_CLASS}-text`;
    this._buttons = document.createElement('span');
    this._buttons.className = `${BANNER_CLASS}-buttons`;
    this.node.append(icon, this._text, this._buttons);
    this._session.changed.connect(this.render, this);
    this.render();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    this._session.changed.disconnect(this.render, this);
    super.dispose();
  }

  /** Show what the session says now; hidden unless the document is read-only. */
  render(): void {
    const session = this._session;
    const state = session.state;
    const visible = session.mode === 'readonly';
    this.setHidden(!visible);
    if (!visible) {
      return;
    }
    const copy: IBannerAction = {
      name: 'copy',
      label: trans.__('Make a copy'),
      title: trans.__(
        'Save a copy next to this file and open it, to edit on your own'
      ),
      run: this._makeCopy
    };
    const actions: IBannerAction[] = [];
    let text: string;
    let kind: string;
    const lock = state?.lock ?? null;
    const request = state?.my_request ?? null;
    if (!state || !state.locked || !lock) {
      kind = 'free';
      text = 'Nobody is editing this file now.';
      actions.push({
        name: 'edit-now',
        label: trans.__('Edit now'),
        title: trans.__('Take the lock, load the latest version and edit it'),
        primary: true,
        run: () => session.editNow()
      });
    } else if (state.mine && lock.holder.app === 'cs3lab') {
      kind = 'mine';
      text = `You are editing this in another session (since ${formatTime(lock.since)}).`;
      actions.push({
        name: 'take-over',
        label: trans.__('Take over'),
        title: trans.__('Edit it here; the other session becomes read-only'),
        primary: true,
        run: () => session.editNow(true)
      });
    } else {
      kind = 'other';
      const app =
        lock.holder.app && lock.holder.app !== 'cs3lab'
          ? ` in ${lock.holder.app}`
          : '';
      text = `${holderLabel(lock.holder)} is editing this${app} since ${formatTime(lock.since)}.`;
      if (request?.state === 'pending') {
        kind = 'requested';
        text += ' Your request to edit is pending.';
        actions.push({
          name: 'withdraw',
          label: trans.__('Withdraw'),
          title: trans.__('Withdraw your request to edit'),
          run: () => session.withdraw()
        });
      } else {
        if (request?.state === 'declined') {
          kind = 'declined';
          text += ` ${holderLabel(request.answered_by)} declined your request.`;
        }
        actions.push({
          name: 'request',
          label:
            request?.state === 'declined'
              ? trans.__('Request again')
              : trans.__('Request edit'),
          title: `Ask ${holderLabel(lock.holder)} to hand the lock over to you`,
          primary: true,
          run: () => session.requestEdit()
        });
      }
    }
    const stale = state?.stale_markers ?? [];
    if (stale.length) {
      text += ' A stale or malformed lock marker was found and is ignored.';
      actions.push({
        name: 'clear-stale',
        label: trans.__('Clear stale lock'),
        title: `Remove what cs3lab ignores: ${stale
          .map(m => `${m.marker} (${m.problem})`)
          .join(', ')}`,
        run: () => session.clearStale()
      });
    }
    if (session.newerVersion) {
      text += ' A newer version was saved (you have changes here).';
      actions.push({
        name: 'show-latest',
        label: trans.__('Show latest'),
        title: trans.__(
          'Load the latest saved version; your changes here are dropped'
        ),
        run: () => session.showLatest()
      });
    }
    actions.push(copy);
    this.node.dataset.cs3labLock = kind;
    this._text.textContent = text;
    this._text.title = lock
      ? `Locked by ${holderLabel(lock.holder)} since ${lock.since ?? '?'}` +
        (lock.expires ? `, expires ${lock.expires} unless refreshed` : '')
      : '';
    this._buttons.replaceChildren(
      ...actions.map(action => this._button(action, session.busy))
    );
    this._fitHeight();
  }

  protected onResize(msg: Widget.ResizeMessage): void {
    super.onResize(msg);
    this._fitHeight();
  }

  protected onAfterShow(): void {
    this._fitHeight();
  }

  /**
   * The content header is a BoxPanel: it gives a child its CSS min-height,
   * not its content's height. Set min-height to what the (maybe wrapped)
   * content needs, and ask the panel to lay out again when it changed.
   */
  private _fitHeight(): void {
    if (!this.isVisible) {
      return;
    }
    const style = getComputedStyle(this.node);
    const top = this.node.getBoundingClientRect().top;
    let bottom = top;
    for (const child of [this._text, this._buttons]) {
      bottom = Math.max(bottom, child.getBoundingClientRect().bottom);
    }
    const height = Math.ceil(
      bottom -
        top +
        parseFloat(style.paddingBottom) +
        parseFloat(style.borderBottomWidth)
    );
    if (height !== this._height) {
      this._height = height;
      this.node.style.minHeight = `${height}px`;
      if (this.parent) {
        MessageLoop.postMessage(this.parent, Widget.Msg.FitRequest);
      }
    }
  }

  private _button(action: IBannerAction, busy: boolean): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className =
      'jp-Button jp-mod-styled ' +
      (action.primary ? 'jp-mod-accept' : 'jp-mod-reject');
    button.classList.add(`${BANNER_CLASS}-button`);
    button.dataset.cs3labAction = action.name;
    button.textContent = action.label;
    button.title = action.title;
    button.disabled = busy;
    button.addEventListener('click', () => void action.run());
    return button;
  }

  private _session: LockSession;
  private _makeCopy: () => Promise<void>;
  private _text: HTMLSpanElement;
  private _buttons: HTMLSpanElement;
  private _height = 0;
}

export namespace LockBanner {
  export interface IOptions {
    session: LockSession;
    /** "Make a copy": copy next to the file and open it. */
    makeCopy: () => Promise<void>;
  }
}
