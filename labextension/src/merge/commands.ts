import type { JupyterFrontEnd } from '@jupyterlab/application';
import { Dialog, Notification, showDialog } from '@jupyterlab/apputils';
import type { ICommandPalette } from '@jupyterlab/apputils';
import type { IEditorServices } from '@jupyterlab/codeeditor';
import { PathExt } from '@jupyterlab/coreutils';
import type { IDocumentManager } from '@jupyterlab/docmanager';
import type { Contents } from '@jupyterlab/services';
import type { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import type { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import type { ReadonlyPartialJSONObject } from '@lumino/coreutils';
import { Widget } from '@lumino/widgets';

import { getCopyInfo, makeCopyWithOrigin } from './api';
import { errorMessage, errorStatus } from '../handler';
import { diffTab } from './diffview';
import { mergeIntoOriginal, notifyError } from './mergeview';
import type { IMergeContext } from './mergeview';
import { versionsTab } from './versions';
import { trans } from '../i18n';

export namespace CommandIDs {
  export const makeCopy = 'cs3lab:make-copy';
  export const showChanges = 'cs3lab:show-changes';
  export const merge = 'cs3lab:merge-into-original';
  export const versions = 'cs3lab:versions';
}

export interface ICommandsOptions {
  app: JupyterFrontEnd;
  rendermime: IRenderMimeRegistry;
  editorServices: IEditorServices;
  docManager: IDocumentManager;
  browser: IDefaultFileBrowser | null;
  palette: ICommandPalette | null;
}

const CATEGORY = 'CS3';

const PATH = {
  type: 'string',
  description: 'The file (default: the selection or the current document)'
} as const;
const SOURCE = {
  type: 'string',
  description: "'browser' when run from the file browser's context menu"
} as const;

/** The file browser's context menu entries of files. */
const FILE_SELECTOR = '.jp-DirListing-item[data-isdir="false"]';

/**
 * The clone-and-merge commands: "Make a copy", "Show changes", "Merge into
 * original" and "Versions…", in the file browser's context menu and the
 * command palette. Each takes `path` (or `base` and `remote` for "Show
 * changes"); without it, the file browser's selection (from its context menu)
 * or the current document.
 */
export function addCommands(options: ICommandsOptions): void {
  const { app, rendermime, docManager, browser, palette } = options;
  const { commands, shell } = app;

  const selected = (): string[] =>
    browser
      ? Array.from(browser.selectedItems())
          .filter(item => item.type !== 'directory')
          .map(item => item.path)
      : [];

  const currentDocument = (): string | null => {
    const widget = shell.currentWidget;
    return widget ? (docManager.contextForWidget(widget)?.path ?? null) : null;
  };

  /** The file a command acts on. */
  const target = (args: ReadonlyPartialJSONObject): string | null => {
    if (typeof args.path === 'string' && args.path) {
      return args.path;
    }
    if (args.source === 'browser') {
      return selected()[0] ?? null;
    }
    return currentDocument() ?? selected()[0] ?? null;
  };

  const addTab = (widget: Widget): void => {
    shell.add(widget, 'main');
    shell.activateById(widget.id);
  };

  /** Reload the shown documents of `path` that have no unsaved changes. */
  const reload = async (path: string): Promise<void> => {
    await browser?.model.refresh();
    const widget = docManager.findWidget(path);
    const context = widget ? docManager.contextForWidget(widget) : undefined;
    if (context && !context.model.dirty) {
      await context.revert();
    }
  };

  const mergeContext: IMergeContext = {
    rendermime,
    editorServices: options.editorServices,
    addTab,
    merged: reload
  };

  const noFile = (what: string): void => {
    Notification.warning(`${what}: select a file in the file browser first.`, {
      autoClose: 5000
    });
  };

  commands.addCommand(CommandIDs.makeCopy, {
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: PATH,
          folder: {
            type: 'string',
            description: "Folder of the copy ('' = the server default)"
          },
          source: SOURCE
        }
      }
    },
    label: trans.__('Make a copy'),
    caption: trans.__(
      'Copy the file to a folder you choose, remembering its origin, to merge it back later'
    ),
    execute: async args => {
      const path = target(args);
      if (!path) {
        return noFile('Make a copy');
      }
      const folder =
        typeof args.folder === 'string'
          ? args.folder
          : await askFolder(path, docManager.services.contents);
      if (folder === null) {
        return;
      }
      try {
        const copy = await copyTo(path, folder);
        await browser?.model.refresh();
        await commands.execute('docmanager:open', { path: copy });
        Notification.success(
          `Copied ${path} to ${copy}: edit it, then "Merge into original".`,
          { autoClose: 6000 }
        );
        return copy;
      } catch (error) {
        notifyError(`Could not copy ${path}`, error);
      }
    }
  });

  commands.addCommand(CommandIDs.showChanges, {
    describedBy: {
      args: {
        type: 'object',
        properties: {
          path: PATH,
          base: { type: 'string', description: 'First file to compare' },
          remote: { type: 'string', description: 'Second file to compare' },
          source: SOURCE
        }
      }
    },
    label: args =>
      args.source === 'browser' && selected().length === 2
        ? trans.__('Show changes between the two')
        : trans.__('Show changes'),
    caption: trans.__(
      'Compare a copy with its original, or the two files selected in the file browser'
    ),
    execute: async args => {
      let base = typeof args.base === 'string' ? args.base : '';
      let remote = typeof args.remote === 'string' ? args.remote : '';
      if (!base && !args.path) {
        const files = selected();
        if (files.length === 2 && args.source !== 'palette-current') {
          [base, remote] = files;
        }
      }
      if (base && remote) {
        const tab = diffTab({
          request: { base, remote },
          sides: { base, remote },
          rendermime
        });
        addTab(tab);
        return tab.id;
      }
      const path = target(args);
      if (!path) {
        return noFile('Show changes');
      }
      let original: string;
      try {
        original = (await getCopyInfo(path)).original.path;
      } catch (error) {
        if (errorStatus(error) === 400) {
          Notification.warning(
            `${path} is not a copy made with "Make a copy", so it has no original ` +
              'to compare with: select two files in the file browser to compare them.',
            { autoClose: 8000 }
          );
        } else {
          notifyError(`Could not show the changes of ${path}`, error);
        }
        return;
      }
      const tab = diffTab({
        request: { copy: path },
        sides: { base: `${original} (original)`, remote: `${path} (copy)` },
        rendermime,
        label: `Changes: ${PathExt.basename(path)}`
      });
      addTab(tab);
      return tab.id;
    }
  });

  commands.addCommand(CommandIDs.merge, {
    describedBy: {
      args: { type: 'object', properties: { path: PATH, source: SOURCE } }
    },
    label: trans.__('Merge into original'),
    caption: trans.__(
      'Merge this copy into the file it was copied from (conflicts open the merge view)'
    ),
    execute: async args => {
      const path = target(args);
      if (!path) {
        return noFile('Merge into original');
      }
      const widget = docManager.findWidget(path);
      const context = widget ? docManager.contextForWidget(widget) : undefined;
      if (context?.model.dirty) {
        await context.save();
      }
      const answer = await mergeIntoOriginal(path, mergeContext);
      return answer?.status ?? null;
    }
  });

  commands.addCommand(CommandIDs.versions, {
    describedBy: {
      args: { type: 'object', properties: { path: PATH, source: SOURCE } }
    },
    label: trans.__('Versions…'),
    caption: trans.__(
      'The versions the storage keeps of this file: compare or restore them'
    ),
    execute: args => {
      const path = target(args);
      if (!path) {
        return noFile('Versions');
      }
      const tab = versionsTab({
        path,
        showChanges: version =>
          addTab(
            diffTab({
              request: { path, version: version.id },
              sides: {
                base: `${path} (${new Date(version.last_modified).toLocaleString()})`,
                remote: `${path} (current)`
              },
              rendermime,
              label: `Changes: ${PathExt.basename(path)} since version`
            })
          ),
        restored: reload
      });
      addTab(tab);
      return tab.id;
    }
  });

  const ids = [
    CommandIDs.makeCopy,
    CommandIDs.showChanges,
    CommandIDs.merge,
    CommandIDs.versions
  ];
  ids.forEach((command, i) => {
    app.contextMenu.addItem({
      command,
      selector: FILE_SELECTOR,
      args: { source: 'browser' },
      rank: 60 + i
    });
    palette?.addItem({ command, category: CATEGORY });
  });
}

/**
 * Ask for the folder of a copy; '' = the server's default; null = cancelled. Beside the
 * original where that folder takes new files; else (a file shared by another site, a
 * read-only share) the server's default copy folder, in the user's own files.
 */
async function askFolder(
  path: string,
  contents: Contents.IManager
): Promise<string | null> {
  const folder = PathExt.dirname(path);
  const writable = await contents
    .get(folder, { content: false })
    .then(model => model.writable !== false)
    .catch(() => true);
  const body = new Widget();
  const label = document.createElement('label');
  label.textContent = trans.__('Folder for the copy');
  const input = document.createElement('input');
  input.className = 'jp-mod-styled cs3lab-CopyDialog-folder';
  input.value = writable ? folder || '/' : '';
  input.placeholder = trans.__('empty: the default copy folder');
  const hint = document.createElement('div');
  hint.className = 'cs3lab-CopyDialog-hint';
  hint.textContent = writable
    ? 'Beside the original by default; "/" is your home folder. Leave it empty ' +
      "to use the server's default copy folder."
    : `${folder} takes no new files: the copy goes to your default copy folder ` +
      'unless you name another ("/" is your home folder).';
  label.append(input);
  body.node.append(label, hint);
  body.addClass('cs3lab-CopyDialog');
  const result = await showDialog({
    title: `Make a copy of ${PathExt.basename(path)}`,
    body,
    focusNodeSelector: 'input',
    buttons: [
      Dialog.cancelButton(),
      Dialog.okButton({ label: trans.__('Copy') })
    ]
  });
  return result.button.accept ? input.value.trim() : null;
}

/**
 * Copy `path` with its origin into `folder` ('' = the server's default), as
 * `<name>-copy<ext>` or the first free `<name>-copyN<ext>`; the copy's path.
 */
async function copyTo(path: string, folder: string): Promise<string> {
  if (!folder) {
    return (await makeCopyWithOrigin(path)).path;
  }
  const dir = folder.replace(/^\/+|\/+$/g, '');
  const ext = PathExt.extname(path);
  const stem = PathExt.basename(path, ext);
  let lastError: unknown = null;
  for (let n = 1; n < 10; n++) {
    const name = `${stem}-copy${n === 1 ? '' : n}${ext}`;
    const destination = dir ? `${dir}/${name}` : name;
    try {
      return (await makeCopyWithOrigin(path, destination)).path;
    } catch (error) {
      if (
        errorStatus(error) !== 409 ||
        !/already exists/.test(errorMessage(error))
      ) {
        throw error;
      }
      lastError = error;
    }
  }
  throw lastError;
}
