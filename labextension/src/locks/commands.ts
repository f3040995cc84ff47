import type { JupyterFrontEnd } from '@jupyterlab/application';
import type { INotebookTracker, NotebookPanel } from '@jupyterlab/notebook';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import type { IDisposable } from '@lumino/disposable';

type Commands = JupyterFrontEnd['commands'];

/**
 * The notebook commands that leave the document as it is: kernels, consoles,
 * export, selection, copying, and showing or hiding parts (a read-only view
 * keeps that to itself: see `cell.syncCollapse` in readonly.ts). Every other
 * `notebook:` command may change cells, outputs or metadata.
 */
const VIEW_ONLY_NOTEBOOK_COMMANDS = new Set(
  [
    'create-new',
    'interrupt-kernel',
    'restart-kernel',
    'reconnect-to-kernel',
    'get-kernel',
    'shutdown-kernel',
    'close-and-shutdown',
    'create-console',
    'create-subshell-console',
    'create-output-view',
    'run-in-console',
    'render-all-markdown',
    'export-to-format',
    'show-export-guidance',
    'copy-cell',
    'copy-to-clipboard',
    'copy-selected-text',
    'move-cursor-up',
    'move-cursor-down',
    'extend-marked-cells-above',
    'extend-marked-cells-top',
    'extend-marked-cells-below',
    'extend-marked-cells-bottom',
    'select-all',
    'deselect-all',
    'select-last-run-cell',
    'select-last-modified-cell',
    'select-next-modified-cell',
    'enter-command-mode',
    'enter-edit-mode',
    'toggle-all-cell-line-numbers',
    'toggle-autoclosing-brackets',
    'toggle-virtual-scrollbar',
    'set-side-by-side-ratio',
    'hide-cell-code',
    'show-cell-code',
    'hide-all-cell-code',
    'show-all-cell-code',
    'hide-cell-outputs',
    'show-cell-outputs',
    'toggle-cell-outputs',
    'hide-all-cell-outputs',
    'show-all-cell-outputs'
  ].map(name => `notebook:${name}`)
);

/** Commands outside `notebook:` that change the current notebook's cells. */
const EDITING_COMMANDS = new Set([
  'toc:run-cells',
  'completer:invoke-notebook',
  'completer:select-notebook'
]);

/** Whether command `id` may change the notebook it acts on. */
export function changesNotebook(id: string): boolean {
  if (id.startsWith('notebook:')) {
    return !VIEW_ONLY_NOTEBOOK_COMMANDS.has(id);
  }
  return EDITING_COMMANDS.has(id) || id.startsWith('inline-completer:');
}

/**
 * Disables the commands that would change a read-only notebook, wherever they
 * are called from: the main menu, the command palette, context menus, the
 * notebook's and the cells' toolbars, keyboard shortcuts, other extensions.
 *
 * A notebook is read-only when its document model says so
 * (`context.model.readOnly`, which the lock session sets). JupyterLab 4.6's
 * notebook actions and commands do not check that flag, and a command's
 * `isEnabled` cannot be replaced once registered. All of those ways go
 * through the one command registry's `isEnabled` and `execute`, so this wraps
 * both on the application's registry: a command that changes the notebook it
 * acts on is disabled (menus grey it out, the palette and key bindings skip
 * it) and refuses to run when called directly. The notebook a command acts on
 * is the one JupyterLab's own commands pick: the widget named in its
 * arguments (cell toolbars and the main menu's semantic commands name it),
 * else the notebook tracker's current one.
 */
export class ReadOnlyCommandGuard implements IDisposable {
  constructor(
    private _commands: Commands,
    private _tracker: INotebookTracker
  ) {
    const commands = this._commands;
    this._isEnabled = commands.isEnabled;
    this._execute = commands.execute;
    const isEnabled = this._isEnabled;
    const execute = this._execute;
    commands.isEnabled = (id, args = {}) =>
      !this.blocks(id, args) && isEnabled.call(commands, id, args);
    commands.execute = (id, args = {}) =>
      this.blocks(id, args)
        ? Promise.reject(
            new Error(`${id}: the notebook is read-only, someone else edits it`)
          )
        : execute.call(commands, id, args);
    _tracker.widgetAdded.connect(this._onWidgetAdded, this);
    _tracker.forEach(panel => this._onWidgetAdded(_tracker, panel));
  }

  get isDisposed(): boolean {
    return this._isDisposed;
  }

  dispose(): void {
    if (this._isDisposed) {
      return;
    }
    this._isDisposed = true;
    this._commands.isEnabled = this._isEnabled;
    this._commands.execute = this._execute;
    this._tracker.widgetAdded.disconnect(this._onWidgetAdded, this);
  }

  /** Whether command `id` with `args` would change a read-only notebook. */
  blocks(id: string, args: ReadonlyPartialJSONObject): boolean {
    if (!changesNotebook(id)) {
      return false;
    }
    return this._target(id, args)?.context.model.readOnly ?? false;
  }

  private _target(
    id: string,
    args: ReadonlyPartialJSONObject
  ): NotebookPanel | null {
    const named = args['widgetId'] ?? args['semanticWidget'];
    if (typeof named === 'string') {
      return this._tracker.find(panel => panel.id === named) ?? null;
    }
    if (id.includes('completer:')) {
      // Completers act on the focused widget.
      const current = this._tracker.currentWidget;
      return current && current.node.contains(document.activeElement)
        ? current
        : null;
    }
    return this._tracker.currentWidget;
  }

  private _onWidgetAdded(_: INotebookTracker, panel: NotebookPanel): void {
    panel.context.model.stateChanged.connect((_, change) => {
      if (change.name === 'readOnly') {
        this._notify();
      }
    }, this);
  }

  /** Menus read `isEnabled` when opened; toolbar buttons need to be told. */
  private _notify(): void {
    for (const id of this._commands.listCommands()) {
      if (changesNotebook(id)) {
        this._commands.notifyCommandChanged(id);
      }
    }
  }

  private _isEnabled: Commands['isEnabled'];
  private _execute: Commands['execute'];
  private _isDisposed = false;
}
