import {
  ILabShell,
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { ITranslator } from '@jupyterlab/translation';

// The panel's tab is there from the start; the dialog is small.
/* eslint-disable jupyter/prefer-lazy-imports */
import { openShareDialog } from './dialog';
import { SharedPanel } from './panel';
import { trans, useTranslator } from '../i18n';
/* eslint-enable jupyter/prefer-lazy-imports */

export { shareBadge } from './badge';

export const SHARE_COMMAND = 'cs3lab:share';
export const SHARED_PANEL_COMMAND = 'cs3lab:shared-with-me';

const SHARE_ICON_SVG = `<svg xmlns="http://www.w3.org/2000/svg" width="16" height="16" viewBox="0 0 24 24">
<g class="jp-icon3" fill="#616161"><circle cx="18" cy="5" r="3"/><circle cx="6" cy="12" r="3"/><circle cx="18" cy="19" r="3"/>
<path d="M8.6 13.5l6.8 4 1-1.7-6.8-4zM15.4 4.5l-6.8 4 1 1.7 6.8-4z"/></g></svg>`;

/** The panel's tab icon (a Lumino icon renderer, no icon package needed). */
const shareIcon = {
  render: (host: HTMLElement): void => {
    host.innerHTML = SHARE_ICON_SVG;
  }
};

/**
 * Sharing in JupyterLab: "Share…" on files and folders of the file browser
 * (people, groups, public links, other institutions) and the "Shared" side
 * panel (shared with me: accept, decline, open; shared by me).
 */
export const sharingPlugin: JupyterFrontEndPlugin<void> = {
  id: 'cs3lab:sharing',
  description:
    'Share files and folders with people, groups, links and other institutions; shared with me / by me.',
  autoStart: true,
  requires: [IDefaultFileBrowser],
  optional: [ILabShell, ITranslator],
  activate: (
    app: JupyterFrontEnd,
    browser: IDefaultFileBrowser,
    labShell: ILabShell | null,
    translator: ITranslator | null
  ): void => {
    useTranslator(translator);
    const refreshBrowser = (): void => void browser.model.refresh();

    app.commands.addCommand(SHARE_COMMAND, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: trans.__('Share…'),
      caption: trans.__(
        'Share with people, groups, a public link or another institution'
      ),
      icon: undefined,
      isEnabled: () => !browser.selectedItems().next().done,
      execute: async () => {
        const item = browser.selectedItems().next().value;
        if (!item || app.serviceManager.contents.driveName(item.path)) {
          return;
        }
        await openShareDialog(
          {
            path: item.path,
            name: item.name,
            isFolder: item.type === 'directory'
          },
          refreshBrowser
        );
        refreshBrowser();
      }
    });
    app.contextMenu.addItem({
      command: SHARE_COMMAND,
      selector: '.jp-DirListing-item[data-isdir]',
      rank: 9
    });

    const panel = new SharedPanel({
      open: async (path, isFolder) => {
        if (isFolder) {
          await app.commands.execute('filebrowser:go-to-path', {
            path: `/${path}`
          });
          app.shell.activateById(browser.id);
        } else {
          await app.commands.execute('docmanager:open', { path });
        }
      },
      changed: refreshBrowser
    });
    panel.title.icon = shareIcon;
    if (labShell) {
      labShell.add(panel, 'left', { rank: 150 });
    } else {
      app.shell.add(panel, 'left', { rank: 150 });
    }
    app.commands.addCommand(SHARED_PANEL_COMMAND, {
      describedBy: { args: { type: 'object', properties: {} } },
      label: trans.__('Shared with Me'),
      execute: () => app.shell.activateById(panel.id)
    });
  }
};
