import { Notification } from '@jupyterlab/apputils';
import { PathExt } from '@jupyterlab/coreutils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { Contents } from '@jupyterlab/services';

import { errorMessage } from './api';

/**
 * "Make a copy": a plain copy next to the file (the server picks a free name,
 * e.g. `analysis-Copy1.ipynb`), with the reader's unsaved changes when there
 * are any (after a lost lock), then opened.
 */
export async function makeCopy(
  context: DocumentRegistry.Context,
  contents: Contents.IManager,
  open: (path: string) => Promise<unknown>
): Promise<void> {
  const path = context.path;
  try {
    const copy = await contents.copy(path, PathExt.dirname(path));
    if (context.isReady && context.model.dirty) {
      const notebook = copy.type === 'notebook';
      await contents.save(copy.path, {
        type: copy.type,
        format: notebook ? 'json' : 'text',
        content: notebook ? context.model.toJSON() : context.model.toString()
      });
    }
    await open(copy.path);
    Notification.success(`Copied to ${copy.path}: it is yours to edit.`, {
      autoClose: 5000
    });
  } catch (error) {
    Notification.error(`Could not copy ${path}: ${errorMessage(error)}`, {
      autoClose: 10000
    });
  }
}
