import { Dialog, showDialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { errorMessage } from '../handler';
import { button, el } from '../sharing/dom';
import { formatSize, IConflict, IDeleted, recycleAPI } from './api';
import { trans } from '../i18n';

/** What the panel needs from JupyterLab. */
export interface IRecyclePanelOptions {
  /** Show a restored file or folder in the file browser. */
  reveal: (path: string) => Promise<unknown>;
  /** Something changed what the file browser shows. */
  changed: () => void;
}

/**
 * The recycle bin: what was deleted (name, where it was, size, when), with
 * "Restore" and "Delete permanently" per item and "Empty recycle bin".
 */
export class RecyclePanel extends Widget {
  constructor(private _options: IRecyclePanelOptions) {
    super();
    this.addClass('cs3lab-Recycle');
    this.id = 'cs3lab-recycle-bin';
    this.title.label = trans.__('Recycle Bin');
    this.title.caption = trans.__(
      'Deleted files and folders of your CS3 storage'
    );
    this.title.closable = true;
    this._status = el('div', {
      class: 'cs3lab-Recycle-status',
      role: 'status'
    });
    this._error = el('div', { class: 'cs3lab-Share-error', role: 'alert' });
    this._error.hidden = true;
    this._list = el('table', { class: 'cs3lab-Recycle-table' });
    this._empty = button('Empty recycle bin', () => this._purgeAll(), {
      warn: true,
      title: trans.__('Delete every item of the recycle bin permanently'),
      cls: 'cs3lab-Recycle-emptyAll'
    });
    const refresh = button('Refresh', () => this.refresh(), {
      cls: 'cs3lab-Recycle-refresh'
    });
    this.node.append(
      el(
        'div',
        { class: 'cs3lab-Recycle-header' },
        el(
          'p',
          { class: 'cs3lab-Recycle-intro' },
          'What you deleted in JupyterLab (and in other apps of your storage) stays here until you delete it permanently or the storage clears it.'
        ),
        el('div', { class: 'cs3lab-Recycle-toolbar' }, refresh, this._empty)
      ),
      this._error,
      this._status,
      this._list
    );
  }

  protected onAfterAttach(): void {
    void this.refresh();
  }

  protected onActivateRequest(): void {
    void this.refresh();
  }

  /** Read the recycle bin again. */
  async refresh(): Promise<void> {
    this._error.hidden = true;
    this._status.textContent = trans.__('Loading…');
    try {
      this._items = await recycleAPI.list();
    } catch (error) {
      this._items = [];
      this._showError(errorMessage(error));
    }
    this._render();
  }

  private _render(): void {
    const items = this._items;
    this._status.textContent = items.length
      ? `${items.length} deleted item${items.length === 1 ? '' : 's'}`
      : trans.__('The recycle bin is empty.');
    this._empty.disabled = items.length === 0;
    this._list.replaceChildren(
      el(
        'thead',
        {},
        el(
          'tr',
          {},
          el('th', {}, 'Name'),
          el('th', {}, 'Was in'),
          el('th', {}, 'Size'),
          el('th', {}, 'Deleted'),
          el('th', {}, '')
        )
      ),
      el('tbody', {}, ...items.map(item => this._row(item)))
    );
    this._list.hidden = items.length === 0;
  }

  private _row(item: IDeleted): HTMLElement {
    const folder = item.path.includes('/')
      ? item.path.slice(0, item.path.lastIndexOf('/'))
      : '';
    return el(
      'tr',
      { class: 'cs3lab-Recycle-item', 'data-path': item.path },
      el(
        'td',
        { class: 'cs3lab-Recycle-name', title: item.path },
        item.type === 'directory' ? `${item.name}/` : item.name
      ),
      el('td', { class: 'cs3lab-Recycle-folder' }, folder ? `/${folder}` : '/'),
      el('td', { class: 'cs3lab-Recycle-size' }, formatSize(item.size)),
      el(
        'td',
        { class: 'cs3lab-Recycle-date' },
        new Date(item.deleted).toLocaleString()
      ),
      el(
        'td',
        { class: 'cs3lab-Recycle-actions' },
        button('Restore', () => this._restore(item), {
          accept: true,
          title: `Restore ${item.name} to /${item.path}`,
          cls: 'cs3lab-Recycle-restore'
        }),
        button('Delete permanently', () => this._purge(item), {
          warn: true,
          title: `Delete ${item.name} permanently`,
          cls: 'cs3lab-Recycle-purge'
        })
      )
    );
  }

  private async _restore(item: IDeleted, path?: string): Promise<void> {
    this._error.hidden = true;
    try {
      const result = await recycleAPI.restore(item.key, path);
      if (result.conflict) {
        const choice = await this._askWhere(item, result.conflict);
        if (choice) {
          await this._restore(item, choice);
        }
        return;
      }
      this._options.changed();
      await this.refresh();
      this._status.textContent = `Restored ${item.name} to /${result.restored.path}`;
      await this._options.reveal(result.restored.path);
    } catch (error) {
      this._showError(errorMessage(error));
    }
  }

  /** The place is taken: restore under the suggested name, or a chosen one. */
  private async _askWhere(
    item: IDeleted,
    conflict: IConflict
  ): Promise<string | undefined> {
    const input = el('input', {
      class: 'jp-mod-styled cs3lab-Recycle-target',
      type: 'text',
      value: conflict.suggestion,
      'aria-label': trans.__('Restore as')
    }) as HTMLInputElement;
    const body = new Widget({
      node: el(
        'div',
        { class: 'cs3lab-Recycle-conflict' },
        el('p', {}, conflict.message),
        el('label', {}, 'Restore as ', input)
      )
    });
    const result = await showDialog({
      title: `Restore ${item.name}`,
      body,
      buttons: [
        Dialog.cancelButton(),
        Dialog.okButton({ label: trans.__('Restore here') })
      ],
      focusNodeSelector: 'input'
    });
    const target = input.value.trim().replace(/^\/+/, '');
    return result.button.accept && target ? target : undefined;
  }

  private async _purge(item: IDeleted): Promise<void> {
    const result = await showDialog({
      title: trans.__('Delete permanently'),
      body: `Delete ${item.name} permanently? It cannot be restored afterwards.`,
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Delete permanently') })
      ],
      defaultButton: 0
    });
    if (!result.button.accept) {
      return;
    }
    try {
      await recycleAPI.purge(item.key);
      await this.refresh();
    } catch (error) {
      this._showError(errorMessage(error));
    }
  }

  private async _purgeAll(): Promise<void> {
    const count = this._items.length;
    const result = await showDialog({
      title: trans.__('Empty recycle bin'),
      body: `Delete all ${count} item${count === 1 ? '' : 's'} of the recycle bin permanently? They cannot be restored afterwards.`,
      buttons: [
        Dialog.cancelButton(),
        Dialog.warnButton({ label: trans.__('Empty recycle bin') })
      ],
      defaultButton: 0
    });
    if (!result.button.accept) {
      return;
    }
    let failure = '';
    try {
      await recycleAPI.purgeAll();
    } catch (error) {
      failure = errorMessage(error);
    }
    await this.refresh();
    if (failure) {
      this._showError(failure);
    }
  }

  private _showError(message: string): void {
    this._error.textContent = message;
    this._error.hidden = false;
  }

  private _items: IDeleted[] = [];
  private _status: HTMLElement;
  private _error: HTMLElement;
  private _list: HTMLTableElement;
  private _empty: HTMLButtonElement;
}
