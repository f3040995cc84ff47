import { Dialog } from '@jupyterlab/apputils';
import { Widget } from '@lumino/widgets';

import { trans } from '../i18n';
import { sharingAPI } from './api';
import { LinksSection } from './links';
import { OcmSection } from './ocm';
import { PeopleSection } from './people';
import { ISectionHost, IShareTarget } from './section';

export type { IShareTarget } from './section';

type KeyHandler = (key: 'Enter' | 'Escape') => unknown;

/**
 * The body of the "Share…" dialog: people and groups with roles, public
 * links, other institutions (OCM). Every change goes to the server at once.
 */
export class ShareWidget extends Widget implements ISectionHost {
  constructor(
    readonly target: IShareTarget,
    private _onChange: () => void = () => undefined
  ) {
    super();
    this.addClass('cs3lab-Share');
    this.roles = target.isFolder
      ? ['viewer', 'editor', 'uploader']
      : ['viewer', 'editor'];
    this._people = new PeopleSection(this);
    this._links = new LinksSection(this);
    this.node.append(
      this._people.node,
      this._links.node,
      new OcmSection(this).node
    );
    void this.refresh();
  }

  readonly roles: string[];

  /** Load who has access and the links again. */
  async refresh(): Promise<void> {
    try {
      const access = await sharingAPI.access(this.target.path);
      this._people.render(access.shares, access.shares_available !== false);
      this._links.render(access.links, access.links_available !== false);
      this._people.clearError();
    } catch (error) {
      this._people.fail(error);
    }
  }

  changed(): void {
    this._onChange();
  }

  onKeys(field: HTMLElement, handler: KeyHandler): void {
    this._keys.set(field, handler);
  }

  /**
   * Enter and Escape in the dialog's fields act on their own section (share, create a
   * link, accept an invitation) instead of closing the dialog: JupyterLab's Dialog takes
   * them in its capture phase, so they are routed here first, from the window's.
   */
  protected onAfterAttach(): void {
    window.addEventListener('keydown', this._routeKey, true);
  }

  protected onBeforeDetach(): void {
    window.removeEventListener('keydown', this._routeKey, true);
  }

  private _routeKey = (event: KeyboardEvent): void => {
    const target = event.target as HTMLElement | null;
    if (
      !target ||
      !this.node.contains(target) ||
      !(
        target instanceof HTMLInputElement ||
        target instanceof HTMLSelectElement
      )
    ) {
      return;
    }
    const handler = this._keys.get(target);
    if (event.key === 'Enter') {
      event.preventDefault();
      event.stopPropagation();
      void handler?.('Enter');
    } else if (event.key === 'Escape' && handler?.('Escape') === true) {
      event.preventDefault();
      event.stopPropagation();
    }
  };

  private _people: PeopleSection;
  private _links: LinksSection;
  private _keys = new Map<HTMLElement, KeyHandler>();
}

/** Open the "Share…" dialog of a file or folder. */
export async function openShareDialog(
  target: IShareTarget,
  onChange: () => void
): Promise<void> {
  const body = new ShareWidget(target, onChange);
  const dialog = new Dialog({
    title: trans.__('Share “%1”', target.name),
    body,
    buttons: [Dialog.okButton({ label: trans.__('Done') })],
    hasClose: true
  });
  dialog.addClass('cs3lab-ShareDialog');
  await dialog.launch();
}
