import type { IChangedArgs } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { INotebookModel } from '@jupyterlab/notebook';
import type { Contents } from '@jupyterlab/services';

import { applyInPlace } from './follow';

/**
 * Keeps a read-only document in line with the stored file: shows the
 * holder's saves (in place when it can, reloading otherwise), keeps the
 * reader's own unsaved edits from before the lock was lost until asked, and
 * puts back what a reader changed all the same.
 */
export class StoredVersion {
  constructor(private _options: StoredVersion.IOptions) {
    const model = this._context.model;
    model.stateChanged.connect(this._onModelState, this);
    (model as Partial<INotebookModel>).cells?.changed.connect(
      this._onCellsChanged,
      this
    );
  }

  /** The holder saved a version not shown because the reader has local changes. */
  get newerVersion(): boolean {
    return this._newerVersion;
  }

  /** The document has loaded: remember which version it shows. */
  loaded(): void {
    this._lastModified = this._context.contentsModel?.last_modified ?? null;
  }

  /** Going read-only keeps the unsaved edits made before; editing forgets that. */
  setReadOnly(readOnly: boolean): void {
    if (!readOnly) {
      this._newerVersion = false;
    }
    this._keepLocal =
      readOnly && this._context.isReady && this._context.model.dirty;
  }

  /** A poll's model of the stored file (no content): follow it if it is newer. */
  async check(stored: Contents.IModel): Promise<void> {
    const loaded = this._context.isReady && this._lastModified !== null;
    if (loaded && stored.last_modified !== this._lastModified) {
      await this.follow(false);
    }
  }

  /** Show the stored version: automatically unless the reader has local changes. */
  async follow(force: boolean): Promise<void> {
    if (!force && this._keepLocal) {
      this._newerVersion = true;
      this._options.changed();
      return;
    }
    if (!(await this._updateInPlace())) {
      await this.reload();
    }
    this._newerVersion = false;
    this._options.changed();
  }

  /** Load the stored version again, the whole document. */
  async reload(): Promise<void> {
    this._reverting = true;
    this._options.reloading('before');
    try {
      await this._context.revert();
      this._context.model.dirty = false;
    } catch {
      // context.revert shows its own error dialog.
    } finally {
      this._reverting = false;
      this.loaded();
      this._options.reloading('after');
    }
  }

  dispose(): void {
    this._isDisposed = true;
    clearTimeout(this._revertTimer);
  }

  private get _context(): DocumentRegistry.Context {
    return this._options.context;
  }

  private get _follows(): boolean {
    return this._options.readOnly() && !this._keepLocal && !this._isDisposed;
  }

  /** Follow a save without reloading the view (see follow.ts); false if it cannot. */
  private async _updateInPlace(): Promise<boolean> {
    const context = this._context;
    const type = context.contentsModel?.type;
    if (!context.isReady || (type !== 'notebook' && type !== 'file')) {
      return false;
    }
    let stored: Contents.IModel;
    try {
      stored = await this._options.contents.get(this._options.path(), {
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
    const updatable = context as unknown as {
      _updateContentsModel?: (model: Contents.IModel) => void;
    };
    if (typeof updatable._updateContentsModel !== 'function') {
      return false;
    }
    this._reverting = true;
    try {
      if (!applyInPlace(context.model, stored.content, stored.format)) {
        return false;
      }
      updatable._updateContentsModel(stored);
      context.model.dirty = false;
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

  /**
   * A read-only document is never dirty: the kernel's `language_info` (or any
   * other change that got through) is not the reader's work, and a dirty
   * document would ask to be saved on close. Unless those are the reader's own
   * unsaved edits from before the lock was lost.
   */
  private _onModelState(_: unknown, change: IChangedArgs<any>): void {
    if (change.name === 'dirty' && change.newValue === true && this._follows) {
      queueMicrotask(() => {
        if (this._follows) {
          this._context.model.dirty = false;
        }
      });
    }
  }

  /**
   * Cells were added, removed or moved in a read-only notebook all the same
   * (a menu command, a drop): put the stored version back.
   */
  private _onCellsChanged(): void {
    if (!this._follows || this._reverting || !this._context.isReady) {
      return; // not read-only, our own reload, or the initial load
    }
    clearTimeout(this._revertTimer);
    this._revertTimer = window.setTimeout(() => {
      if (this._follows && !this._reverting) {
        void this.reload();
      }
    }, 300);
  }

  private _lastModified: string | null = null;
  private _newerVersion = false;
  private _reverting = false;
  private _keepLocal = false;
  private _revertTimer = 0;
  private _isDisposed = false;
}

export namespace StoredVersion {
  export interface IOptions {
    context: DocumentRegistry.Context;
    /** The contents manager (the stored file's model). */
    contents: Contents.IManager;
    /** The document's path now (it follows renames). */
    path: () => string;
    /** Whether the document is read-only (someone else holds the lock). */
    readOnly: () => boolean;
    /** Emitted when `newerVersion` may have changed. */
    changed: () => void;
    /** Around a whole reload, so that views keep their scroll position. */
    reloading: (phase: 'before' | 'after') => void;
  }
}
