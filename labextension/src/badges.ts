import type { JupyterFrontEndPlugin } from '@jupyterlab/application';
import {
  DirListing,
  IDefaultFileBrowserRenderer
} from '@jupyterlab/filebrowser';
import type { Contents } from '@jupyterlab/services';

/**
 * Draws one kind of badge (lock, share, ...) on a file browser entry from
 * the entry's listing model; removes it when the model says nothing.
 */
export type BadgeProvider = (node: HTMLElement, model: Contents.IModel) => void;

/**
 * The one file browser renderer (IDefaultFileBrowserRenderer) of cs3lab: it
 * runs every badge provider on each entry it updates.
 */
export class BadgeRenderer extends DirListing.Renderer {
  constructor(private _providers: BadgeProvider[]) {
    super();
  }

  updateItemNode(
    ...args: Parameters<DirListing.Renderer['updateItemNode']>
  ): void {
    super.updateItemNode(...args);
    const [node, model] = args;
    for (const provider of this._providers) {
      provider(node, model);
    }
  }
}

/**
 * Badges in the default file browser (IDefaultFileBrowserRenderer, new in
 * JupyterLab 4.6): each provider draws its badge from the listing's models.
 */
export function badgesPlugin(
  providers: BadgeProvider[]
): JupyterFrontEndPlugin<IDefaultFileBrowserRenderer> {
  return {
    id: 'cs3lab:badges',
    description:
      'Shows lock and share badges on the entries of the file browser.',
    autoStart: true,
    provides: IDefaultFileBrowserRenderer,
    activate: (): IDefaultFileBrowserRenderer => new BadgeRenderer(providers)
  };
}
