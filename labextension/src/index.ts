import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { IStatusBar } from '@jupyterlab/statusbar';
import { ITranslator } from '@jupyterlab/translation';

// The status item is shown as soon as the application starts.
// eslint-disable-next-line jupyter/prefer-lazy-imports
import { SessionStatusItem } from './statusItem';
import { badgesPlugin } from './badges';
import { lockBadge } from './locks/badge';
import { locksPlugin } from './locks/plugin';
import { shareBadge, sharingPlugin } from './sharing/plugin';
import { mergePlugin } from './merge/plugin';
import { placeBadge } from './places';
import { recyclePlugin } from './recycle/plugin';
import { useTranslator } from './i18n';

/**
 * Shows in the status bar which CS3 user and site the session is connected to.
 */
const sessionStatus: JupyterFrontEndPlugin<void> = {
  id: 'cs3lab:session-status',
  description:
    'Shows the CS3 user and site this server is connected to in the status bar.',
  autoStart: true,
  requires: [IStatusBar],
  optional: [ITranslator],
  activate: (
    app: JupyterFrontEnd,
    statusBar: IStatusBar,
    translator: ITranslator | null
  ): void => {
    useTranslator(translator);
    const item = new SessionStatusItem({
      serverSettings: app.serviceManager.serverSettings
    });
    item.id = 'cs3lab-session-status';
    statusBar.registerStatusItem('cs3lab:session-status', {
      item,
      align: 'left',
      rank: 0
    });
    // Usage changes with every save, upload and delete: show it soon after.
    let pending = 0;
    app.serviceManager.contents.fileChanged.connect(() => {
      window.clearTimeout(pending);
      pending = window.setTimeout(() => void item.check(), 1000);
    });
  }
};

export default [
  sessionStatus,
  locksPlugin,
  mergePlugin,
  // ONE file browser renderer draws every badge: add providers to its list.
  badgesPlugin([lockBadge, shareBadge, placeBadge]),
  sharingPlugin,
  recyclePlugin
];
