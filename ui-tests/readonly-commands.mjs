// Every way to change a read-only notebook, tried in the browser: the main menu's items, the
// command palette, keyboard shortcuts, and commands run directly. Used by locks.mjs on the
// notebook bob opened while alice holds its lock.
import { check } from './lab.mjs';

/** Main menu items that change a notebook, by menu; each must be there and disabled. */
const MENU_ITEMS = {
  Run: ['runmenu:run', 'runmenu:run-all', 'runmenu:restart-and-run-all'],
  Edit: [
    'editmenu:undo',
    'editmenu:redo',
    'notebook:cut-cell',
    'notebook:paste-cell-below',
    'notebook:delete-cell',
    'notebook:move-cell-up',
    'notebook:move-cell-down',
    'editmenu:clear-current',
    'editmenu:clear-all'
  ]
};

/** What bob types into the command palette, and the command each one must find disabled. */
const PALETTE = [
  ['Run All Cells', 'notebook:run-all-cells'],
  ['Change to Markdown Cell Type', 'notebook:change-cell-to-markdown'],
  ['Clear Output', 'notebook:clear-cell-output'],
  ['Delete Cell', 'notebook:delete-cell']
];

/** Command-mode shortcuts: run, cut, copy and paste, delete, undo, move, cell types, merge. */
const KEYS = [
  'Shift+Enter',
  'Control+Enter',
  'Alt+Enter',
  'x',
  'c',
  'v',
  'Shift+v',
  'd',
  'd',
  'z',
  'Shift+z',
  'Control+Shift+ArrowUp',
  'Control+Shift+ArrowDown',
  'm',
  'r',
  'Shift+m',
  'Control+z'
];

/** Commands run directly, as another extension would: each must be refused. */
const DIRECT = [
  'notebook:run-cell',
  'notebook:run-all-cells',
  'notebook:delete-cell',
  'notebook:cut-cell',
  'notebook:paste-cell-below',
  'notebook:move-cell-down',
  'notebook:undo-cell-action',
  'notebook:change-cell-to-markdown',
  'notebook:clear-all-cell-outputs',
  'notebook:insert-cell-below'
];

/** The main menu's commands that delegate to the notebook's: disabled, doing nothing. */
const SEMANTIC = ['runmenu:run', 'runmenu:run-all', 'editmenu:undo', 'editmenu:clear-all'];

/** The current notebook's cells as its in-browser model has them (outputs included). */
export function cellsJSON(page) {
  return page.evaluate(() =>
    JSON.stringify(window.jupyterapp.shell.currentWidget.content.model.toJSON().cells)
  );
}

/** Makes cell `index` of the current notebook the active one, in command mode, focused. */
async function selectCell(page, index) {
  await page.evaluate(async index => {
    const panel = window.jupyterapp.shell.currentWidget;
    const notebook = panel.content;
    notebook.activeCellIndex = index;
    notebook.deselectAll();
    notebook.mode = 'command';
    await notebook.scrollToItem(index, 'center');
    notebook.node.focus();
  }, index);
}

/** Which of `ids` are enabled now, as JupyterLab's registry says (menus and palette ask it). */
export function enabledCommands(page, ids) {
  return page.evaluate(ids => ids.filter(id => window.jupyterapp.commands.isEnabled(id)), ids);
}

/**
 * Tries every way in the lists above on the current (read-only) notebook of `page`, with
 * cell `index` active; screenshots the open Run menu as `<prefix>run-menu`. Fails if a menu
 * item or palette entry is enabled or missing, or a direct command runs. The caller checks
 * that the notebook is unchanged.
 */
export async function tryEveryWayToEdit(page, { index, shot, prefix, log, timeout }) {
  await selectCell(page, index);
  for (const [menu, ids] of Object.entries(MENU_ITEMS)) {
    log(`bob opens the ${menu} menu`);
    await page.locator('.lm-MenuBar-item', { hasText: new RegExp(`^${menu}$`) }).click({ timeout });
    const open = page.locator('.lm-Menu').last();
    await open.waitFor({ state: 'visible', timeout });
    if (menu === 'Run') await shot(page, `${prefix}run-menu`);
    for (const id of ids) {
      const item = open.locator(`.lm-Menu-item[data-command="${id}"]`);
      check((await item.count()) === 1, `the ${menu} menu has no item ${id}`);
      const label = (await item.innerText()).split(/[\t\n]/)[0];
      check(
        (await item.getAttribute('class')).includes('lm-mod-disabled'),
        `${menu} > ${label} (${id}) is enabled in a read-only notebook`
      );
      await item.click({ force: true, timeout });
    }
    await page.keyboard.press('Escape');
    await open.waitFor({ state: 'hidden', timeout }).catch(() => page.keyboard.press('Escape'));
  }
  await selectCell(page, index);
  for (const [query, id] of PALETTE) {
    log(`bob looks for "${query}" in the command palette`);
    await page.keyboard.press('Control+Shift+c');
    const input = page.locator('.lm-CommandPalette-input:visible');
    await input.waitFor({ state: 'visible', timeout });
    await input.fill('');
    await input.pressSequentially(query);
    // JupyterLab's palette keeps disabled items in its list, hidden.
    const item = page.locator(
      `.lm-CommandPalette:visible .lm-CommandPalette-item[data-command="${id}"]`
    );
    await item
      .first()
      .waitFor({ state: 'attached', timeout: 10_000 })
      .catch(async () => {
        const palette = await page
          .locator('.lm-CommandPalette:visible')
          .evaluate(node => node.innerHTML.slice(0, 3000));
        check(false, `the palette has no ${id} for "${query}": ${palette}`);
      });
    check(
      (await item.first().getAttribute('class')).includes('lm-mod-disabled'),
      `the palette's "${query}" (${id}) is enabled in a read-only notebook`
    );
    if (id === 'notebook:run-all-cells') await shot(page, `${prefix}palette`);
    if (await item.first().isVisible()) await item.first().click({ force: true, timeout });
    if (await input.isVisible()) await page.keyboard.press('Escape');
    await selectCell(page, index);
  }
  log(`bob presses ${KEYS.join(', ')}`);
  for (const key of KEYS) {
    await page.keyboard.press(key);
  }
  log('commands run directly (as an extension would)');
  const ran = await page.evaluate(async ids => {
    const ran = [];
    for (const id of ids) {
      try {
        await window.jupyterapp.commands.execute(id);
        ran.push(id);
      } catch {
        // refused: what a read-only notebook must do
      }
    }
    return ran;
  }, DIRECT);
  check(ran.length === 0, `commands ran in a read-only notebook: ${ran.join(', ')}`);
  for (const id of SEMANTIC) {
    await page.evaluate(id => window.jupyterapp.commands.execute(id).catch(() => {}), id);
  }
  const enabled = await enabledCommands(page, [...DIRECT, ...SEMANTIC]);
  check(enabled.length === 0, `enabled in a read-only notebook: ${enabled.join(', ')}`);
  await page.waitForTimeout(1000); // a kernel's answer, had anything run
}

/** Commands that must be enabled again once bob holds the lock. */
export const EDITING_COMMANDS = [
  'notebook:run-all-cells',
  'notebook:delete-cell',
  'notebook:cut-cell',
  'notebook:insert-cell-below',
  'notebook:change-cell-to-markdown'
];
