import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import {
  Dialog,
  ICommandPalette,
  MainAreaWidget,
  WidgetTracker
} from '@jupyterlab/apputils';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ITranslator } from '@jupyterlab/translation';

// The panel is small; the copy progress listens from the start.
/* eslint-disable jupyter/prefer-lazy-imports */
import { RecyclePanel } from './panel';
import { showCopyProgress } from './progress';
import { trans, useTranslator } from '../i18n';
/* eslint-enable jupyter/prefer-lazy-imports */

export const RECYCLE_COMMAND = 'cs3lab:recycle-bin';

const DELETE_NOTE =
  'Deleted items go to the recycle bin of your CS3 storage: restore them with "Recycle Bin…" in the file browser\'s context menu.';

/**
 * The delete confirmation of the file browser says where deleted items go.
 * cs3lab's contents manager sets `delete_to_trash`, so JupyterLab's own dialog
 * already says "Move to Trash"; this adds where to get them back.
 */
function noteOnDeleteDialogs(): void {
  Dialog.tracker.widgetAdded.connect((_, dialog) => {
    const body = dialog.node.querySelector('.jp-Dialog-body');
    const text = body?.textContent ?? '';
    // The file browser's delete confirmation (DirListing.delete), nothing else.
    if (
      !body ||
      !/^Are you sure you want to (move to trash|permanently delete)/.test(text)
    ) {
      return;
    }
    const note = document.createElement('p');
    note.className = 'cs3lab-Recycle-deleteNote';
    note.textContent = DELETE_NOTE;
    body.append(note);
  });
}

/**
 * The recycle bin in JupyterLab: "Recycle Bin…" in the file browser's context
 * menu and the command palette opens a panel listing what was deleted, to
 * restore or delete permanently; the delete dialog says so; folder copies
 * show their progress.
 */
export const recyclePlugin: JupyterFrontEndPlugin<void> = {
  id: 'cs3lab:recycle',
  description:
    'The recycle bin of the CS3 storage (restore, delete permanently) and folder copy progress.',
  autoStart: true,
  requires: [IDefaultFileBrowser],
  optional: [ICommandPalette, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    browser: IDefaultFileBrowser,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): void => {
    useTranslator(translator);
    const tracker = new WidgetTracker<MainAreaWidget<RecyclePanel>>({
      namespace: 'cs3lab-recycle'
    });
    // The open panel, or a new one that the tracker owns.
    const openOrReveal = (): MainAreaWidget<RecyclePanel> => {
      const current = tracker.currentWidget;
      if (current && !current.isDisposed) {
        return current;
      }
      const content = new RecyclePanel({
        reveal: async path => {
          const folder = path.includes('/')
            ? path.slice(0, path.lastIndexOf('/'))
            : '';
          await browser.model.cd(`/${folder}`);
          await browser.selectItemByName(path.split('/').pop() ?? path);
        },
        changed: () => void browser.model.refresh()
      });
      const widget = new MainAreaWidget({ content });
      widget.id = 'cs3lab-recycle-bin-widget';
      widget.title.label = trans.__('Recycle Bin');
      widget.title.closable = true;
      void tracker.add(widget);
      return widget;
    };
    app.commands.addCommand(RECYCLE_COMMAND, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: trans.__('Recycle Bin…'),
      caption: trans.__(
        'Deleted files and folders: restore them or delete them permanently'
      ),
      execute: () => {
        const widget = openOrReveal();
        if (!widget.isAttached) {
          app.shell.add(widget, 'main');
        } else {
          void widget.content.refresh();
        }
        app.shell.activateById(widget.id);
      }
    });
    app.contextMenu.addItem({
      command: RECYCLE_COMMAND,
      selector: '.jp-DirListing-content',
      rank: 20
    });
    palette?.addItem({ command: RECYCLE_COMMAND, category: trans.__('CS3') });
    noteOnDeleteDialogs();
    showCopyProgress(app.serviceManager);
  }
};
