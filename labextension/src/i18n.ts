import {
  ITranslator,
  nullTranslator,
  TranslationBundle
} from '@jupyterlab/translation';

/**
 * The cs3lab translation bundle. Widgets read it when they draw, so every
 * plugin hands JupyterLab's translator over on activation (`useTranslator`);
 * until then, and without a translator, strings are shown as written.
 */
export let trans: TranslationBundle = nullTranslator.load('cs3lab');

/** Use JupyterLab's translator for cs3lab's strings. */
export function useTranslator(
  translator: ITranslator | null
): TranslationBundle {
  trans = (translator ?? nullTranslator).load('cs3lab');
  return trans;
}
