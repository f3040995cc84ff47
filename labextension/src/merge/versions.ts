import {
  Dialog,
  MainAreaWidget,
  Notification,
  showDialog
} from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import { Widget } from '@lumino/widgets';

import { formatDate, formatSize, listVersions, restoreVersion } from './api';
import { errorMessage } from '../handler';
import type { IVersion, IVersions } from './api';
import { trans } from '../i18n';

export const VERSIONS_CLASS = 'cs3lab-Versions';

/**
 * The versions of one file kept by the storage: every version with its date
 * and size, "Show changes" (that version against the current file) and
 * "Restore" (after a confirmation; the current content is kept as a version
 * first, so nothing is lost).
 */
export class VersionsPanel extends Widget {
  constructor(options: VersionsPanel.IOptions) {
    super();
    this.addClass(VERSIONS_CLASS);
    this._path = options.path;
    this._showChanges = options.showChanges;
    this._restored = options.restored;
    const header = document.createElement('div');
    header.className = `${VERSIONS_CLASS}-header`;
    const title = document.createElement('span');
    title.className = `${VERSIONS_CLASS}-title`;
    title.textContent = `Versions of ${options.path}`;
    const refresh = document.createElement('button');
    refresh.type = 'button';
    refresh.className = 'jp-Button jp-mod-styled jp-mod-reject';
    refresh.textContent = trans.__('Refresh');
    refresh.addEventListener('click', () => void this.refresh());
    header.append(title, refresh);
    this._status = document.createElement('div');
    this._status.className = `${VERSIONS_CLASS}-status`;
    this._table = document.createElement('table');
    this._table.className = `${VERSIONS_CLASS}-table`;
    this.node.append(header, this._status, this._table);
    this.ready = this.refresh();
  }

  readonly ready: Promise<void>;

  get path(): string {
    return this._path;
  }

  /** Load the list again. */
  async refresh(): Promise<void> {
    this._status.textContent = trans.__('Loading the versions…');
    let data: IVersions;
    try {
      data = await listVersions(this._path);
    } catch (error) {
      this._status.textContent = `Could not list the versions: ${errorMessage(error)}`;
      this._table.replaceChildren();
      return;
    }
    this._render(data);
  }

  private _render(data: IVersions): void {
    const n = data.versions.length;
    this._status.textContent = n
      ? `${n} earlier version${n === 1 ? '' : 's'} kept by the storage, newest first.`
      : trans.__('The storage keeps no earlier version of this file yet.');
    const head = document.createElement('tr');
    for (const label of ['Version', 'Saved', 'Size', '']) {
      const th = document.createElement('th');
      th.textContent = label;
      head.append(th);
    }
    const rows: HTMLTableRowElement[] = [head];
    const current = this._row(
      'Current',
      data.current.last_modified,
      data.current.size
    );
    current.classList.add(`${VERSIONS_CLASS}-current`);
    rows.push(current);
    data.versions.forEach((version, index) => {
      const row = this._row(
        `#${n - index}`,
        version.last_modified,
        version.size
      );
      row.dataset.cs3labVersion = version.id;
      const actions = row.lastElementChild as HTMLTableCellElement;
      actions.append(
        this._button(
          'Show changes',
          'diff',
          'Compare this version with the current file',
          () => this._showChanges(version)
        ),
        this._button(
          'Restore',
          'restore',
          'Make this version the current content again',
          () => this._restore(version)
        )
      );
      rows.push(row);
    });
    this._table.replaceChildren(...rows);
  }

  private _row(label: string, date: string, size: number): HTMLTableRowElement {
    const row = document.createElement('tr');
    for (const text of [label, formatDate(date), formatSize(size), '']) {
      const td = document.createElement('td');
      td.textContent = text;
      row.append(td);
    }
    (row.children[1] as HTMLElement).title = date;
    return row;
  }

  private _button(
    label: string,
    name: string,
    title: string,
    run: () => unknown
  ): HTMLButtonElement {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'jp-Button jp-mod-styled jp-mod-reject';
    button.textContent = label;
    button.title = title;
    button.dataset.cs3labAction = name;
    button.addEventListener('click', () => void run());
    return button;
  }

  private async _restore(version: IVersion): Promise<void> {
    const result = await showDialog({
      title: trans.__('Restore this version?'),
      body:
        `${PathExt.basename(this._path)} gets the content it had on ` +
        `${formatDate(version.last_modified)} (${formatSize(version.size)}). ` +
        'The current content is kept as a version first, so nothing is lost.',
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Restore') })
      ]
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await restoreVersion(this._path, version.id);
    } catch (error) {
      Notification.error(
        `Could not restore ${this._path}: ${errorMessage(error)}`,
        { autoClose: false }
      );
      return;
    }
    Notification.success(
      `Restored the version of ${formatDate(version.last_modified)} of ${this._path}.`,
      { autoClose: 6000 }
    );
    await this._restored(this._path);
    await this.refresh();
  }

  private _path: string;
  private _showChanges: (version: IVersion) => unknown;
  private _restored: (path: string) => Promise<void> | void;
  private _status: HTMLDivElement;
  private _table: HTMLTableElement;
}

export namespace VersionsPanel {
  export interface IOptions {
    path: string;
    showChanges: (version: IVersion) => unknown;
    restored: (path: string) => Promise<void> | void;
  }
}

/** A main-area tab with the versions panel of `path`. */
export function versionsTab(
  options: VersionsPanel.IOptions
): MainAreaWidget<VersionsPanel> {
  const content = new VersionsPanel(options);
  const widget = new MainAreaWidget({ content });
  widget.addClass(`${VERSIONS_CLASS}-tab`);
  widget.title.label = `Versions: ${PathExt.basename(options.path)}`;
  widget.title.caption = `Versions of ${options.path}`;
  return widget;
}
