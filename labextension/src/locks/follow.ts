import type { DocumentRegistry } from '@jupyterlab/docregistry';
import type * as nbformat from '@jupyterlab/nbformat';
import type { INotebookModel } from '@jupyterlab/notebook';

/**
 * Show a newer stored version in a read-only document in place: only what
 * changed is touched (a cell's source, outputs, counts, metadata; a text's
 * changed middle), so the view keeps its cells, its rendering and its scroll
 * position. Returns false when the change is structural (cells added,
 * removed, moved or retyped): the caller then reloads the whole document.
 */
export function applyInPlace(
  model: DocumentRegistry.IModel,
  content: unknown,
  format: string | null
): boolean {
  const cells = (model as Partial<INotebookModel>).cells;
  if (cells && format === 'json') {
    return applyNotebook(
      model as INotebookModel,
      content as nbformat.INotebookContent
    );
  }
  if (!cells && typeof content === 'string') {
    const text = content.replace(/\r\n?/g, '\n');
    const shared = model.sharedModel as unknown as {
      getSource(): string;
      updateSource(start: number, end: number, value?: string): void;
    };
    replaceChanged(shared, text);
    return true;
  }
  return false;
}

function applyNotebook(
  model: INotebookModel,
  content: nbformat.INotebookContent
): boolean {
  const stored = content?.cells;
  const shared = model.sharedModel;
  if (!Array.isArray(stored) || stored.length !== shared.cells.length) {
    return false;
  }
  for (let i = 0; i < stored.length; i++) {
    const cell = shared.cells[i];
    const next = stored[i];
    if (cell.cell_type !== next.cell_type || (next.id && next.id !== cell.id)) {
      return false;
    }
  }
  shared.transact(() => {
    if (!same(shared.getMetadata(), content.metadata)) {
      shared.setMetadata(content.metadata);
    }
    stored.forEach((next, i) => {
      const cell = shared.cells[i] as any;
      replaceChanged(cell, source(next.source));
      if (!same(cell.getMetadata(), next.metadata ?? {})) {
        cell.setMetadata(next.metadata ?? {});
      }
      if (next.cell_type === 'code') {
        const code = next as nbformat.ICodeCell;
        if (cell.execution_count !== code.execution_count) {
          cell.execution_count = code.execution_count;
        }
        if (!same(cell.getOutputs(), code.outputs ?? [])) {
          cell.setOutputs(code.outputs ?? []);
        }
      }
    });
  }, false);
  return true;
}

/** Replace only the part of the text between the common prefix and suffix. */
function replaceChanged(
  shared: {
    getSource(): string;
    updateSource(start: number, end: number, value?: string): void;
  },
  text: string
): void {
  const old = shared.getSource();
  if (old === text) {
    return;
  }
  let start = 0;
  const max = Math.min(old.length, text.length);
  while (start < max && old[start] === text[start]) {
    start++;
  }
  let end = 0;
  while (
    end < max - start &&
    old[old.length - 1 - end] === text[text.length - 1 - end]
  ) {
    end++;
  }
  shared.updateSource(
    start,
    old.length - end,
    text.slice(start, text.length - end)
  );
}

function source(value: nbformat.MultilineString): string {
  return Array.isArray(value) ? value.join('') : (value ?? '');
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
