// cs3lab's UI has no translation domain yet: its strings are English.
/* eslint-disable jupyter/no-untranslated-string */
import { Notification } from '@jupyterlab/apputils';
import type { IChangedArgs } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { Contents } from '@jupyterlab/services';
import type { IDisposable } from '@lumino/disposable';
import { ISignal, Signal } from '@lumino/signaling';

import {
  acquireLock,
  answerRequest,
  clearStaleMarkers,
  errorMessage,
  errorStatus,
  holderLabel,
  IEditRequest,
  ILockState,
  inspectLock,
  refreshLock,
  releaseLock,
  requestEdit,
  withdrawRequest
} from './api';
import { applyInPlace } from './follow';

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
 * or polls while read-only; requests and hand-over.
 */
export class LockSession implements IDisposable {
  constructor(options: LockSession.IOptions) {
    this.context = options.context;
    this._contents = options.contents;
    this._path = options.path;
    this.context.pathChanged.connect(this._onPathChanged, this);
    this.context.disposed.connect(() => this.dispose());
    this.context.model.stateChanged.connect(this._onModelState, this);
    const cells = (this.context.model as Partial<INotebookModel>).cells;
    cells?.changed.connect(this._onCellsChanged, this);
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
    return this._newerVersion;
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
      await this._reload();
    }
    this._lastModified = this.context.contentsModel?.last_modified ?? null;
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
      await this._followToLatest(true);
    });
  }

  /** "Request edit". */
  async requestEdit(): Promise<void> {
    await this._run(async () => {
      try {
        this._setState(await requestEdit(this._path));
        this._notifiedAnswer = '';
      } catch (error) {
        this._error('Could not request edit', error);
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
        this._error('Could not withdraw the request', error);
      }
    });
  }

  /** "Clear stale lock": remove the markers the server reports as stale. */
  async clearStale(): Promise<void> {
    await this._run(async () => {
      try {
        this._setState(await clearStaleMarkers(this._path));
        Notification.emit(
          `Cleared the stale lock markers of ${this._name}.`,
          'success',
          { autoClose: 4000 }
        );
      } catch (error) {
        this._error('Could not clear the stale lock', error);
      }
    });
  }

  /** "Show latest": reload the holder's version, dropping local changes. */
  async showLatest(): Promise<void> {
    await this._run(() => this._followToLatest(true));
  }

  /** The holder hands the lock to `request`'s requester: save, pass, read-only. */
  async handOver(request: IEditRequest): Promise<void> {
    const who = holderLabel(request.requester);
    try {
      await this.context.save();
    } catch (error) {
      this._error(`Not handed over to ${who}: the save failed`, error);
      return;
    }
    try {
      const state = await answerRequest(
        this._path,
        request.requester.username,
        true
      );
      this._stopTimer();
      this._setState(state);
      this._setMode('readonly');
      this._startPolling();
      Notification.emit(`You handed ${this._name} over to ${who}.`, 'success', {
        autoClose: 4000
      });
    } catch (error) {
      this._error(`Could not hand ${this._name} over to ${who}`, error);
    }
  }

  /** The holder declines a request. */
  async decline(request: IEditRequest): Promise<void> {
    try {
      this._setState(
        await answerRequest(this._path, request.requester.username, false)
      );
    } catch (error) {
      this._error('Could not decline the request', error);
    }
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._stopTimer();
    for (const id of this._requestNotes.values()) {
      Notification.dismiss(id);
    }
    this._requestNotes.clear();
    if (this._mode === 'editing') {
      void releaseLock(this._path).catch(() => undefined);
    } else if (this._state?.my_request?.state === 'pending') {
      void withdrawRequest(this._path).catch(() => undefined);
    }
    Signal.clearData(this);
  }

  /** The page goes away: stop; the caller releases with a keepalive request. */
  detachForUnload(): void {
    this._stopTimer();
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
    this._newerVersion = false;
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
      this._error(`Could not lock ${this._name} for editing`, error);
    }
    this._setMode('unmanaged');
  }

  // -- heartbeat (holder) ------------------------------------------------------

  private _startHeartbeat(): void {
    this._stopTimer();
    const seconds = this._state?.expiry_seconds || 120;
    const interval = Math.min((seconds * 1000) / 4, MAX_HEARTBEAT_MS);
    this._schedule(() => this._heartbeat(), interval);
  }

  private async _heartbeat(): Promise<void> {
    try {
      this._setState(await refreshLock(this._path));
    } catch (error) {
      const status = errorStatus(error);
      if (status === 409 || status === 423) {
        this._lost(errorMessage(error));
      } else if (status === 404) {
        this._stopTimer(); // deleted
      }
      // Network errors and others: try again at the next beat.
    }
  }

  private _lost(message: string): void {
    this._stopTimer();
    this._setMode('readonly');
    // The server's message says why, and who holds the file now.
    Notification.warning(message, {
      autoClose: false
    });
    void this._poll();
    this._startPolling();
  }

  // -- polling (reader) --------------------------------------------------------

  private _startPolling(): void {
    this._stopTimer();
    this._schedule(() => this._poll(), POLL_MS);
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
    const answer = state.my_request;
    if (answer && answer.state !== 'pending') {
      const key = `${answer.state}:${answer.answered_at}`;
      if (key !== this._notifiedAnswer) {
        this._notifiedAnswer = key;
        const who = holderLabel(answer.answered_by);
        if (answer.state === 'granted') {
          Notification.success(`${who} handed you the lock on ${this._name}.`, {
            autoClose: 6000
          });
          await this.editNow();
          return;
        }
        Notification.info(
          `${who} declined your request to edit ${this._name}.`,
          {
            autoClose: 6000
          }
        );
      }
    }
    if (state.this_session) {
      // Another tab of this server holds it: share its hold.
      await this.editNow();
      return;
    }
    const loaded = this.context.isReady && this._lastModified !== null;
    if (loaded && model.last_modified !== this._lastModified) {
      await this._followToLatest(false);
    }
  }

  /** Show the stored version: automatically unless the reader has local changes. */
  private async _followToLatest(force: boolean): Promise<void> {
    if (!force && this._keepLocal) {
      this._newerVersion = true;
      this._changed.emit();
      return;
    }
    if (await this._updateInPlace()) {
      this._newerVersion = false;
      this._changed.emit();
      return;
    }
    await this._reload();
    this._newerVersion = false;
    this._changed.emit();
  }

  /** Follow a save without reloading the view (see follow.ts); false if it cannot. */
  private async _updateInPlace(): Promise<boolean> {
    const type = this.context.contentsModel?.type;
    if (!this.context.isReady || (type !== 'notebook' && type !== 'file')) {
      return false;
    }
    let stored: Contents.IModel;
    try {
      stored = await this._contents.get(this._path, {
        type,
        format: type === 'notebook' ? 'json' : 'text',
        content: true
      });
    } catch {
      return false;
    }
    if (this._isDisposed) {
      return true;
    }
    // The context's contents model says whether the document can be saved
    // (writable) and what was loaded (last_modified); only a reload updates
    // it publicly, and a reload re-renders every cell and loses the scroll
    // position. Without this (private) method, reload.
    const context = this.context as unknown as {
      _updateContentsModel?: (model: Contents.IModel) => void;
    };
    if (typeof context._updateContentsModel !== 'function') {
      return false;
    }
    this._reverting = true;
    try {
      if (!applyInPlace(this.context.model, stored.content, stored.format)) {
        return false;
      }
      context._updateContentsModel(stored);
      this.context.model.dirty = false;
      this._lastModified = stored.last_modified;
      return true;
    } catch (error) {
      console.warn(
        'cs3lab: could not follow the save in place, reloading',
        error
      );
      return false;
    } finally {
      this._reverting = false;
    }
  }

  private async _reload(): Promise<void> {
    this._reverting = true;
    this._reloading.emit('before');
    try {
      await this.context.revert();
      this.context.model.dirty = false;
    } catch {
      // context.revert shows its own error dialog.
    } finally {
      this._reverting = false;
      this._lastModified = this.context.contentsModel?.last_modified ?? null;
      this._reloading.emit('after');
    }
  }

  /**
   * A read-only document is never dirty: the kernel's `language_info` (or any
   * other change that got through) is not the reader's work, and a dirty
   * document would ask to be saved on close. Unless those are the reader's own
   * unsaved edits from before the lock was lost.
   */
  private _onModelState(_: unknown, change: IChangedArgs<any>): void {
    if (
      change.name === 'dirty' &&
      change.newValue === true &&
      this._mode === 'readonly' &&
      !this._keepLocal
    ) {
      queueMicrotask(() => {
        if (
          this._mode === 'readonly' &&
          !this._keepLocal &&
          !this._isDisposed
        ) {
          this.context.model.dirty = false;
        }
      });
    }
  }

  /**
   * Cells were added, removed or moved in a read-only notebook all the same
   * (a menu command, a drop): put the stored version back.
   */
  private _onCellsChanged(): void {
    if (this._mode !== 'readonly' || this._reverting || this._keepLocal) {
      return;
    }
    if (!this.context.isReady) {
      return; // the initial load
    }
    clearTimeout(this._revertTimer);
    this._revertTimer = window.setTimeout(() => {
      if (this._mode === 'readonly' && !this._reverting && !this._isDisposed) {
        void this._reload();
      }
    }, 300);
  }

  // -- requests to the holder ----------------------------------------------------

  private _showRequests(state: ILockState): void {
    const pending = new Set<string>();
    if (this._mode === 'editing') {
      for (const request of state.requests) {
        const key = `${request.requester.username}@${request.at}`;
        pending.add(key);
        if (!this._requestNotes.has(key)) {
          this._requestNotes.set(key, this._notifyRequest(request));
        }
      }
    }
    for (const [key, id] of this._requestNotes) {
      if (!pending.has(key)) {
        Notification.dismiss(id);
        this._requestNotes.delete(key);
      }
    }
  }

  private _notifyRequest(request: IEditRequest): string {
    const who = holderLabel(request.requester);
    return Notification.emit(`${who} asks to edit ${this._name}`, 'info', {
      autoClose: false,
      actions: [
        {
          label: 'Hand over',
          caption: `Save ${this._name}, then let ${who} edit it; you keep reading it`,
          displayType: 'accent',
          callback: () => void this.handOver(request)
        },
        {
          label: 'Decline',
          caption: `Keep editing; ${who} is told`,
          displayType: 'default',
          callback: () => void this.decline(request)
        }
      ]
    });
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
    if (mode === 'readonly') {
      this._keepLocal = this.context.isReady && this.context.model.dirty;
    } else {
      this._keepLocal = false;
    }
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
    this._showRequests(state);
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

  private _schedule(tick: () => Promise<void>, interval: number): void {
    const generation = ++this._generation;
    const loop = async () => {
      if (this._isDisposed || generation !== this._generation) {
        return;
      }
      await tick();
      if (!this._isDisposed && generation === this._generation) {
        this._timer = window.setTimeout(loop, interval);
      }
    };
    this._timer = window.setTimeout(loop, interval);
  }

  private _stopTimer(): void {
    this._generation++;
    clearTimeout(this._timer);
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
  private _lastModified: string | null = null;
  private _newerVersion = false;
  private _busy = false;
  private _reverting = false;
  private _keepLocal = false;
  private _revertTimer = 0;
  private _timer = 0;
  private _generation = 0;
  private _notifiedAnswer = '';
  private _requestNotes = new Map<string, string>();
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
