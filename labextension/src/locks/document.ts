import type { DocumentWidget, IDocumentWidget } from '@jupyterlab/docregistry';
import type { IDisposable } from '@lumino/disposable';

import { LockBanner } from './banner';
import { IReadOnlyView, readOnlyView } from './readonly';
import type { LockSession } from './session';

export const HELD_CLASS = 'cs3lab-mod-lockHeld';

/**
 * One view of a locked document: read-only while the session is not editing,
 * the banner in its content header, the scroll position kept across reloads.
 */
export class DocumentLockView implements IDisposable {
  constructor(options: DocumentLockView.IOptions) {
    const { widget, session } = options;
    this._widget = widget;
    this._session = session;
    this._view = readOnlyView(widget);
    this._banner = new LockBanner({ session, makeCopy: options.makeCopy });
    (widget as DocumentWidget).contentHeader.addWidget(this._banner);
    session.changed.connect(this._update, this);
    session.reloading.connect(this._onReloading, this);
    widget.disposed.connect(() => this.dispose());
    void session.context.ready.then(() => this._update());
    this._update();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._session.changed.disconnect(this._update, this);
    this._session.reloading.disconnect(this._onReloading, this);
    this._view.dispose();
    this._banner.dispose();
  }

  private _update(): void {
    if (this._isDisposed) {
      return;
    }
    const mode = this._session.mode;
    const editable = mode === 'editing' || mode === 'unmanaged';
    if (this._session.context.isReady) {
      this._view.readOnly = !editable;
    } else {
      this._view.readOnly = true;
    }
    this._widget.toggleClass(HELD_CLASS, mode === 'editing');
    this._widget.node.dataset.cs3labLockMode = mode;
  }

  private _onReloading(_: LockSession, phase: 'before' | 'after'): void {
    if (phase === 'before') {
      this._scroll = this._view.saveScroll();
    } else {
      this._update();
      this._view.restoreScroll(this._scroll);
    }
  }

  private _widget: IDocumentWidget;
  private _session: LockSession;
  private _view: IReadOnlyView;
  private _banner: LockBanner;
  private _scroll = 0;
  private _isDisposed = false;
}

export namespace DocumentLockView {
  export interface IOptions {
    widget: IDocumentWidget;
    session: LockSession;
    makeCopy: () => Promise<void>;
  }
}
