import {
  JupyterFrontEnd,
  JupyterFrontEndPlugin
} from '@jupyterlab/application';
import { ICommandPalette } from '@jupyterlab/apputils';
import { IEditorServices } from '@jupyterlab/codeeditor';
import { IDocumentManager } from '@jupyterlab/docmanager';
import { IDefaultFileBrowser } from '@jupyterlab/filebrowser';
import { IRenderMimeRegistry } from '@jupyterlab/rendermime';
import { ITranslator } from '@jupyterlab/translation';
import { useTranslator } from '../i18n';

/**
 * Clone, compare, merge back: "Make a copy" (with its origin), "Show
 * changes" (nbdime's diff view), "Merge into original" (nbdime's merge view
 * for conflicts) and the versions panel.
 */
export const mergePlugin: JupyterFrontEndPlugin<void> = {
  id: 'cs3lab:merge',
  description:
    'Copies that remember their origin, nbdime diffs and merges back into the original, file versions.',
  autoStart: true,
  requires: [IRenderMimeRegistry, IEditorServices, IDocumentManager],
  optional: [IDefaultFileBrowser, ICommandPalette, ITranslator],
  activate: async (
    app: JupyterFrontEnd,
    rendermime: IRenderMimeRegistry,
    editorServices: IEditorServices,
    docManager: IDocumentManager,
    browser: IDefaultFileBrowser | null,
    palette: ICommandPalette | null,
    translator: ITranslator | null
  ): Promise<void> => {
    useTranslator(translator);
    const { addCommands } = await import('./commands');
    addCommands({
      app,
      rendermime,
      editorServices,
      docManager,
      browser,
      palette
    });
  }
};
