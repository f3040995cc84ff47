import type {
  DocumentRegistry,
  IDocumentWidget
} from '@jupyterlab/docregistry';
import type { FileEditor } from '@jupyterlab/fileeditor';
import type { NotebookPanel } from '@jupyterlab/notebook';
import type { IDisposable } from '@lumino/disposable';

/**
 * Makes one document widget read-only in the browser and back, and keeps its
 * scroll position across a reload of its content. JupyterLab's
 * `writable: false` only blocks saving (see JUPYTERLAB-NOTES.md).
 */
export interface IReadOnlyView extends IDisposable {
  /** Whether the document can be edited now. */
  readOnly: boolean;
  /** The scroll offset of the document's scroll container. */
  saveScroll(): number;
  /** Scroll back to `offset` once the reloaded content has been laid out. */
  restoreScroll(offset: number): void;
}

export const READ_ONLY_CLASS = 'cs3lab-mod-lockReadOnly';

/**
 * The read-only view of a widget: notebooks and file editors; other documents
 * get only the CSS class (and the server's refusal to save).
 */
export function readOnlyView(widget: IDocumentWidget): IReadOnlyView {
  if (isNotebookPanel(widget)) {
    return new NotebookReadOnly(widget);
  }
  if (isFileEditor(widget)) {
    return new EditorReadOnly(widget);
  }
  return new BaseReadOnly(widget);
}

function isNotebookPanel(widget: IDocumentWidget): widget is NotebookPanel {
  const content = widget.content as any;
  return (
    !!content &&
    'model' in content &&
    'widgets' in content &&
    'activeCell' in content
  );
}

function isFileEditor(
  widget: IDocumentWidget
): widget is IDocumentWidget<FileEditor> {
  const content = widget.content as any;
  return !!content && 'editor' in content && !('widgets' in content);
}

class BaseReadOnly implements IReadOnlyView {
  constructor(protected widget: IDocumentWidget) {}

  get readOnly(): boolean {
    return this._readOnly;
  }

  set readOnly(value: boolean) {
    if (value === this._readOnly || this.isDisposed) {
      return;
    }
    this._readOnly = value;
    this.widget.toggleClass(READ_ONLY_CLASS, value);
    this.apply();
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    this._isDisposed = true;
  }

  saveScroll(): number {
    return this.scroller()?.scrollTop ?? 0;
  }

  restoreScroll(offset: number): void {
    // The reloaded content is laid out over a while (notebook cells are
    // rendered lazily): set the offset until the content is tall enough and
    // the offset stays put, for up to 10 s, unless the user scrolls first.
    const node = this.scroller();
    if (!node) {
      return;
    }
    let stable = 0;
    let cancelled = false;
    const cancel = () => {
      cancelled = true;
    };
    const events = ['wheel', 'mousedown', 'keydown', 'touchstart'];
    events.forEach(type => node.addEventListener(type, cancel, { once: true }));
    const started = performance.now();
    const step = () => {
      if (cancelled || this.isDisposed || performance.now() - started > 10000) {
        events.forEach(type => node.removeEventListener(type, cancel));
        return;
      }
      const reachable = node.scrollHeight - node.clientHeight >= offset - 1;
      if (Math.abs(node.scrollTop - offset) > 1) {
        node.scrollTop = offset;
        stable = 0;
      } else if (reachable) {
        stable++;
      }
      if (stable < 20) {
        requestAnimationFrame(step);
      } else {
        events.forEach(type => node.removeEventListener(type, cancel));
      }
    };
    requestAnimationFrame(step);
  }

  protected scroller(): HTMLElement | null {
    return this.widget.content.node.querySelector('.cm-scroller');
  }

  protected apply(): void {
    // Nothing to switch beyond the CSS class.
  }

  private _readOnly = false;
  private _isDisposed = false;
}

const EDIT_EVENTS = ['beforeinput', 'paste', 'cut', 'drop', 'keydown'];

class EditorReadOnly extends BaseReadOnly {
  constructor(widget: IDocumentWidget<FileEditor>) {
    super(widget);
    // The editor's settings are applied to it after it is made (and again
    // when they change), `readOnly: false` included: re-assert it on focus,
    // and refuse input events while read-only all the same.
    for (const type of EDIT_EVENTS) {
      widget.content.node.addEventListener(type, this._onEdit, true);
    }
    widget.content.node.addEventListener('focusin', this._onFocus, true);
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    for (const type of EDIT_EVENTS) {
      this.widget.content.node.removeEventListener(type, this._onEdit, true);
    }
    this.widget.content.node.removeEventListener(
      'focusin',
      this._onFocus,
      true
    );
    super.dispose();
  }

  protected apply(): void {
    const editor = (this.widget as IDocumentWidget<FileEditor>).content.editor;
    editor.setOption('readOnly', this.readOnly);
  }

  private _onFocus = (): void => {
    if (this.readOnly) {
      this.apply();
    }
  };

  private _onEdit = (event: Event): void => {
    if (!this.readOnly) {
      return;
    }
    if (event instanceof KeyboardEvent && allowedEditorKey(event)) {
      return;
    }
    event.preventDefault();
    event.stopPropagation();
  };
}

/**
 * Keys a read-only notebook lets through: moving around, selecting, copying,
 * searching; everything else is a notebook command that may change it.
 */
const NAVIGATION_KEYS = new Set([
  'ArrowUp',
  'ArrowDown',
  'ArrowLeft',
  'ArrowRight',
  'PageUp',
  'PageDown',
  'Home',
  'End',
  'Escape',
  'Tab',
  'Shift',
  'Control',
  'Alt',
  'Meta',
  'CapsLock',
  ' ',
  'j',
  'k',
  'J',
  'K',
  'c'
]);
const BLOCKED_WITH_CTRL = new Set([
  'v',
  'x',
  'z',
  'y',
  'd',
  '-',
  '_',
  '/',
  'Backspace',
  'Delete'
]);

function allowedKey(event: KeyboardEvent): boolean {
  const key = event.key;
  if (key === 'Enter') {
    // Enter edits (read-only); with a modifier it runs cells.
    return !(event.shiftKey || event.ctrlKey || event.metaKey || event.altKey);
  }
  if (event.ctrlKey || event.metaKey) {
    return !BLOCKED_WITH_CTRL.has(key.length === 1 ? key.toLowerCase() : key);
  }
  if (event.altKey) {
    return false;
  }
  return NAVIGATION_KEYS.has(key) || /^F\d+$/.test(key);
}

/** Keys a read-only text editor lets through (typed text is refused as input). */
function allowedEditorKey(event: KeyboardEvent): boolean {
  if (['Enter', 'Tab', 'Backspace', 'Delete'].includes(event.key)) {
    return false;
  }
  if (event.ctrlKey || event.metaKey) {
    return allowedKey(event);
  }
  return !event.altKey;
}

const CLIPBOARD_EVENTS = ['paste', 'cut'];
const HEADING_BUTTONS = '.jp-collapseHeadingButton, .jp-showHiddenCellsButton';

/**
 * A notebook made read-only: cells' editors, keys, drops, clipboard events,
 * the cell context menu, heading collapsers (the toolbar's editing buttons
 * and cell type menu are hidden in style/base.css). The commands (main menu,
 * palette, key bindings) are disabled by the ReadOnlyCommandGuard in
 * commands.ts.
 */
class NotebookReadOnly extends BaseReadOnly {
  constructor(widget: NotebookPanel) {
    super(widget);
    this._panel = widget;
    const node = widget.node;
    // On the window, in the capture phase: before JupyterLab's keyboard
    // shortcuts (on the document) and before the cell editors.
    window.addEventListener('keydown', this._onKey, true);
    window.addEventListener('keypress', this._onKey, true);
    for (const type of ['lm-dragenter', 'lm-dragover', 'lm-drop', 'drop']) {
      node.addEventListener(type, this._onDrop, true);
    }
    node.addEventListener('contextmenu', this._onContextMenu, true);
    for (const type of CLIPBOARD_EVENTS) {
      node.addEventListener(type, this._onClipboard, true);
    }
    node.addEventListener('click', this._onClick, true);
    widget.content.modelChanged.connect(this._watchModel, this);
    this._watchModel();
  }

  dispose(): void {
    if (this.isDisposed) {
      return;
    }
    const node = this._panel.node;
    window.removeEventListener('keydown', this._onKey, true);
    window.removeEventListener('keypress', this._onKey, true);
    for (const type of ['lm-dragenter', 'lm-dragover', 'lm-drop', 'drop']) {
      node.removeEventListener(type, this._onDrop, true);
    }
    node.removeEventListener('contextmenu', this._onContextMenu, true);
    for (const type of CLIPBOARD_EVENTS) {
      node.removeEventListener(type, this._onClipboard, true);
    }
    node.removeEventListener('click', this._onClick, true);
    this._model?.cells.changed.disconnect(this._onCellsChanged, this);
    super.dispose();
  }

  protected scroller(): HTMLElement | null {
    return this._panel.content.outerNode ?? this._panel.content.node;
  }

  protected apply(): void {
    const notebook = this._panel.content;
    if (this.readOnly) {
      notebook.mode = 'command';
    }
    for (const cell of notebook.widgets) {
      if (this.readOnly) {
        // This order: the other one writes `editable: false` into the notebook.
        cell.syncEditable = false;
        cell.readOnly = true;
        // Hiding a cell's input or outputs stays in this view.
        cell.syncCollapse = false;
      } else if (cell.syncEditable === false) {
        cell.readOnly = false;
        cell.syncEditable = true; // reloads the cell's own `editable` metadata
        cell.syncCollapse = true; // and its own collapsed state
      }
    }
  }

  private _watchModel(): void {
    this._model?.cells.changed.disconnect(this._onCellsChanged, this);
    this._model = this._panel.content.model;
    this._model?.cells.changed.connect(this._onCellsChanged, this);
  }

  private _onCellsChanged(): void {
    if (!this.readOnly) {
      return;
    }
    // The notebook made the new cells' widgets in its own handler; re-apply
    // now and after the next frame, in case they were created later.
    this.apply();
    requestAnimationFrame(() => this.apply());
  }

  private _onKey = (event: Event): void => {
    if (!this.readOnly || !(event instanceof KeyboardEvent)) {
      return;
    }
    const target = event.target as HTMLElement | null;
    if (!target || !this._panel.node.contains(target)) {
      return;
    }
    const inCell = !!target?.closest('.jp-Cell');
    const isInput =
      !!target &&
      (target.tagName === 'INPUT' ||
        target.tagName === 'TEXTAREA' ||
        target.isContentEditable);
    if (isInput && !inCell) {
      return; // e.g. the search box
    }
    if (!allowedKey(event)) {
      event.stopPropagation();
      event.preventDefault();
    }
  };

  private _onDrop = (event: Event): void => {
    if (!this.readOnly) {
      return;
    }
    event.stopPropagation();
    event.preventDefault();
    (event as any).dropAction = 'none';
  };

  private _onClipboard = (event: Event): void => {
    // Pasted cells or attachments, cut text, dropped files.
    if (this.readOnly && (event.target as HTMLElement)?.closest('.jp-Cell')) {
      event.stopPropagation();
      event.preventDefault();
    }
  };

  private _onClick = (event: Event): void => {
    // Collapsing a heading writes `heading_collapsed` into the cell.
    const target = event.target as HTMLElement | null;
    if (this.readOnly && target?.closest(HEADING_BUTTONS)) {
      event.stopPropagation();
      event.preventDefault();
    }
  };

  private _onContextMenu = (event: Event): void => {
    // JupyterLab's context menu of cells offers cut, paste, delete, run...
    // the browser's own one (copy) is enough for a read-only notebook.
    if (this.readOnly && (event.target as HTMLElement)?.closest('.jp-Cell')) {
      event.stopPropagation();
    }
  };

  private _panel: NotebookPanel;
  private _model: NotebookPanel['model'] = null;
}

/** A context's path in the default drive, or null for other drives. */
export function defaultDrivePath(
  context: DocumentRegistry.Context,
  driveName: (path: string) => string
): string | null {
  return driveName(context.path) ? null : context.path;
}
