import { Notification } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { Contents } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import { trans } from '../i18n';
import {
  acquireLock,
  answerRequest,
  clearStaleMarkers,
  holderLabel,
  IEditRequest,
  ILockState,
  inspectLock,
  refreshLock,
  releaseLock,
  requestEdit,
  withdrawRequest
} from './api';
import { errorMessage, errorStatus } from '../handler';
import { RequestNotices } from './requests';
import { StoredVersion } from './stored';
import { Ticker } from './ticker';

/**
 * Where this browser tab stands with one document:
 * - `acquiring`: asking for the lock (read-only meanwhile);
 * - `editing`: this tab holds the lock (with this server), heartbeating;
 * - `readonly`: someone else holds it, or nobody and we do not (yet): polling;
 * - `unmanaged`: the lock service failed; editable, the server still guards saves.
 */
export type LockMode = 'acquiring' | 'editing' | 'readonly' | 'unmanaged';

/** How often a reader asks who holds the lock and whether the file changed. */
export const POLL_MS = 5000;
/** The holder's heartbeat at most this far apart (requests show within it). */
export const MAX_HEARTBEAT_MS = 5000;

/**
 * The lock of one open document (one context, however many views of it),
 * for this browser tab: takes it on open, heartbeats, releases it on close,
 * or polls while read-only; requests and hand-over. What a reader sees of
 * the stored file is `StoredVersion`'s; the holder's request notices are
 * `RequestNotices`'.
 */
export class LockSession implements IDisposable {
  constructor(options: LockSession.IOptions) {
    this.context = options.context;
    this._contents = options.contents;
    this._path = options.path;
    this._stored = new StoredVersion({
      context: this.context,
      contents: this._contents,
      path: () => this._path,
      readOnly: () => this._mode === 'readonly',
      changed: () => this._changed.emit(),
      reloading: phase => this._reloading.emit(phase)
    });
    this._requests = new RequestNotices({
      name: () => this._name,
      handOver: request => this.handOver(request),
      decline: request => this.decline(request)
    });
    this.context.pathChanged.connect(this._onPathChanged, this);
    this.context.disposed.connect(() => this.dispose());
  }

  readonly context: DocumentRegistry.Context;

  /** The path of the document (in the default drive). */
  get path(): string {
    return this._path;
  }

  get mode(): LockMode {
    return this._mode;
  }

  /** The lock state last heard from the server. */
  get state(): ILockState | null {
    return this._state;
  }

  /** The holder saved a version not shown because the reader has local changes. */
  get newerVersion(): boolean {
    return this._stored.newerVersion;
  }

  /** An action is under way (a button's request); the banner disables itself. */
  get busy(): boolean {
    return this._busy;
  }

  /** Emitted whenever mode, state or flags change. */
  get changed(): ISignal<this, void> {
    return this._changed;
  }

  /** Emitted around a reload of the content, so that views keep their scroll position. */
  get reloading(): ISignal<this, 'before' | 'after'> {
    return this._reloading;
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  /** Take the lock as the document opens. */
  async start(): Promise<void> {
    this._setMode('acquiring');
    try {
      await this._acquire(false);
    } catch (error) {
      await this._acquireFailed(error);
    }
    await this.context.ready;
    if (
      this._mode === 'editing' &&
      this.context.contentsModel?.writable === false
    ) {
      // Loaded while someone else still held it: get the version we now own.
      await this._stored.reload();
    }
    this._stored.loaded();
    this._markReadOnly();
  }

  /** "Edit now" (lock free) or "Take over" (my own lock in another session). */
  async editNow(takeover = false): Promise<void> {
    await this._run(async () => {
      try {
        await this._acquire(takeover);
      } catch (error) {
        await this._acquireFailed(error, true);
        return;
      }
      await this._stored.follow(true);
    });
  }

  /** "Request edit". */
  async requestEdit(): Promise<void> {
    await this._run(async () => {
      try {
        this._setState(await requestEdit(this._path));
        this._notifiedAnswer = '';
      } catch (error) {
        this._error(trans.__('Could not request edit'), error);
      }
    });
  }

  /** "Withdraw" a pending request. */
  async withdraw(): Promise<void> {
    await this._run(async () => {
      try {
        await withdrawRequest(this._path);
        if (this._state) {
          this._setState({ ...this._state, my_request: null });
        }
      } catch (error) {
        this._error(trans.__('Could not withdraw the request'), error);
      }
    });
  }

  /** "Clear stale lock": remove the markers the server reports as stale. */
  async clearStale(): Promise<void> {
    await this._run(async () => {
      try {
        this._setState(await clearStaleMarkers(this._path));
        Notification.emit(
          trans.__('Cleared the stale lock markers of %1.', this._name),
          'success',
          { autoClose: 4000 }
        );
      } catch (error) {
        this._error(trans.__('Could not clear the stale lock'), error);
      }
    });
  }

  /** "Show latest": reload the holder's version, dropping local changes. */
  async showLatest(): Promise<void> {
    await this._run(() => this._stored.follow(true));
  }

  /** The holder hands the lock to `request`'s requester: save, pass, read-only. */
  async handOver(request: IEditRequest): Promise<void> {
    const who = holderLabel(request.requester);
    try {
      await this.context.save();
    } catch (error) {
      this._error(
        trans.__('Not handed over to %1: the save failed', who),
        error
      );
      return;
    }
    try {
      const state = await answerRequest(
        this._path,
        request.requester.username,
        true
      );
      this._ticker.stop();
      this._setState(state);
      this._setMode('readonly');
      this._startPolling();
      Notification.emit(
        trans.__('You handed %1 over to %2.', this._name, who),
        'success',
        { autoClose: 4000 }
      );
    } catch (error) {
      this._error(
        trans.__('Could not hand %1 over to %2', this._name, who),
        error
      );
    }
  }

  /** The holder declines a request. */
  async decline(request: IEditRequest): Promise<void> {
    try {
      this._setState(
        await answerRequest(this._path, request.requester.username, false)
      );
    } catch (error) {
      this._error(trans.__('Could not decline the request'), error);
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._ticker.stop();
    this._stored.dispose();
    this._requests.dispose();
    if (this._mode === 'editing') {
      void releaseLock(this._path).catch(() => undefined);
    } else if (this._state?.my_request?.state === 'pending') {
      void withdrawRequest(this._path).catch(() => undefined);
    }
    Signal.clearData(this);
  }

  /** The page goes away: stop; the caller releases with a keepalive request. */
  detachForUnload(): void {
    this._ticker.stop();
  }

  /** The page came back from the back-forward cache: take the lock again. */
  async resume(): Promise<void> {
    if (this._mode === 'editing') {
      this._setMode('acquiring');
      try {
        await this._acquire(false);
      } catch (error) {
        await this._acquireFailed(error);
      }
    } else {
      this._startPolling();
    }
  }

  // -- acquiring --------------------------------------------------------------

  private async _acquire(takeover: boolean): Promise<void> {
    const state = await acquireLock(this._path, takeover);
    this._setState(state);
    this._setMode('editing');
    this._startHeartbeat();
  }

  private async _acquireFailed(error: unknown, tell = false): Promise<void> {
    if (errorStatus(error) === 423) {
      this._setMode('readonly');
      if (tell) {
        Notification.warning(errorMessage(error), { autoClose: 8000 });
      }
      await this._poll();
      this._startPolling();
      return;
    }
    if (errorStatus(error) === 501) {
      // Not lockable here (a file another site shares): the server says why, and saves
      // are still checked against the stored version.
      Notification.info(errorMessage(error), { autoClose: 8000 });
    } else {
      this._error(trans.__('Could not lock %1 for editing', this._name), error);
    }
    this._setMode('unmanaged');
  }

  // -- heartbeat (holder) ------------------------------------------------------

  private _startHeartbeat(): void {
    const seconds = this._state?.expiry_seconds || 120;
    const interval = Math.min((seconds * 1000) / 4, MAX_HEARTBEAT_MS);
    this._ticker.start(() => this._heartbeat(), interval);
  }

  private async _heartbeat(): Promise<void> {
    try {
      this._setState(await refreshLock(this._path));
    } catch (error) {
      const status = errorStatus(error);
      if (status === 409 || status === 423) {
        this._lost(errorMessage(error));
      } else if (status === 404) {
        this._ticker.stop(); // deleted
      }
      // Network errors and others: try again at the next beat.
    }
  }

  private _lost(message: string): void {
    this._ticker.stop();
    this._setMode('readonly');
    // The server's message says why, and who holds the file now.
    Notification.warning(message, { autoClose: false });
    void this._poll();
    this._startPolling();
  }

  // -- polling (reader) --------------------------------------------------------

  private _startPolling(): void {
    this._ticker.start(() => this._poll(), POLL_MS);
  }

  private async _poll(): Promise<void> {
    let state: ILockState;
    let model: Contents.IModel;
    try {
      [state, model] = await Promise.all([
        inspectLock(this._path),
        this._contents.get(this._path, { content: false })
      ]);
    } catch {
      return; // try again next time
    }
    if (this._isDisposed || this._mode !== 'readonly') {
      return;
    }
    this._setState(state);
    if (await this._answered(state)) {
      return;
    }
    if (state.this_session) {
      // Another tab of this server holds it: share its hold.
      await this.editNow();
      return;
    }
    await this._stored.check(model);
  }

  /** Tell the reader the holder's answer to their request; true if it was "yes". */
  private async _answered(state: ILockState): Promise<boolean> {
    const answer = state.my_request;
    if (!answer || answer.state === 'pending') {
      return false;
    }
    const key = `${answer.state}:${answer.answered_at}`;
    if (key === this._notifiedAnswer) {
      return false;
    }
    this._notifiedAnswer = key;
    const who = holderLabel(answer.answered_by);
    if (answer.state === 'granted') {
      Notification.success(
        trans.__('%1 handed you the lock on %2.', who, this._name),
        { autoClose: 6000 }
      );
      await this.editNow();
      return true;
    }
    Notification.info(
      trans.__('%1 declined your request to edit %2.', who, this._name),
      { autoClose: 6000 }
    );
    return false;
  }

  // -- helpers -------------------------------------------------------------------

  private get _name(): string {
    return this._path.split('/').pop() || this._path;
  }

  private _setMode(mode: LockMode): void {
    if (mode === this._mode) {
      return;
    }
    this._mode = mode;
    this._stored.setReadOnly(mode === 'readonly');
    this._markReadOnly();
    this._changed.emit();
  }

  private _markReadOnly(): void {
    if (this.context.isReady) {
      this.context.model.readOnly =
        this._mode === 'readonly' || this._mode === 'acquiring';
    }
  }

  private _setState(state: ILockState): void {
    if (this._isDisposed) {
      return;
    }
    this._state = state;
    this._requests.show(this._mode === 'editing' ? state.requests : []);
    this._changed.emit();
  }

  private async _run(action: () => Promise<void>): Promise<void> {
    if (this._busy) {
      return;
    }
    this._busy = true;
    this._changed.emit();
    try {
      await action();
    } finally {
      this._busy = false;
      if (!this._isDisposed) {
        this._changed.emit();
      }
    }
  }

  private _onPathChanged(_: unknown, path: string): void {
    this._path = path;
    this._changed.emit();
  }

  private _error(title: string, error: unknown): void {
    Notification.error(`${title}: ${errorMessage(error)}`, {
      autoClose: 10000
    });
  }

  private _contents: Contents.IManager;
  private _path: string;
  private _mode: LockMode = 'acquiring';
  private _state: ILockState | null = null;
  private _busy = false;
  private _notifiedAnswer = '';
  private _stored: StoredVersion;
  private _requests: RequestNotices;
  private _ticker = new Ticker();
  private _isDisposed = false;
  private _changed = new Signal<this, void>(this);
  private _reloading = new Signal<this, 'before' | 'after'>(this);
}

export namespace LockSession {
  export interface IOptions {
    context: DocumentRegistry.Context;
    /** The contents manager (for the file's last_modified). */
    contents: Contents.IManager;
    /** The document's path in the default drive. */
    path: string;
  }
}
