import { Notification } from '@jupyterlab/apputils';
import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type { Contents } from '@jupyterlab/services';

import { makeCopyWithOrigin } from '../merge/api';
import { errorMessage } from '../handler';

/**
 * "Make a copy": a copy that records its origin (POST /cs3lab/api/copies, so
 * it can be merged back with "Merge into original"), in the server's default
 * copy folder (beside the original unless configured), with the reader's
 * unsaved changes when there are any (after a lost lock), then opened.
 */
export async function makeCopy(
  context: DocumentRegistry.Context,
  contents: Contents.IManager,
  open: (path: string) => Promise<unknown>
): Promise<void> {
  const path = context.path;
  try {
    const copy = await makeCopyWithOrigin(path);
    if (context.isReady && context.model.dirty) {
      const notebook = path.endsWith('.ipynb');
      let content: any = context.model.toString();
      if (notebook) {
        // Keep the origin the server wrote into the copy's metadata.
        const stored = await contents.get(copy.path, { content: true });
        content = context.model.toJSON();
        content.metadata = {
          ...(content.metadata ?? {}),
          cs3lab: stored.content?.metadata?.cs3lab
        };
      }
      await contents.save(copy.path, {
        type: notebook ? 'notebook' : 'file',
        format: notebook ? 'json' : 'text',
        content
      });
    }
    await open(copy.path);
    Notification.success(
      `Copied to ${copy.path}: it is yours to edit, then "Merge into original".`,
      { autoClose: 5000 }
    );
  } catch (error) {
    Notification.error(`Could not copy ${path}: ${errorMessage(error)}`, {
      autoClose: 10000
    });
  }
}
