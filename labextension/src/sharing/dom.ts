/** Tiny DOM helpers for the sharing widgets. */

type Attrs = Record<string, string | boolean | undefined>;
type Child = Node | string | null | undefined | false;

/** Make an element: `el('button', {class: 'x', title: 'y'}, 'Label')`. */
export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === undefined || value === false) {
      continue;
    }
    if (name === 'class') {
      node.className = value as string;
    } else {
      node.setAttribute(name, value === true ? '' : value);
    }
  }
  for (const child of children) {
    if (child !== null && child !== undefined && child !== false) {
      node.append(child);
    }
  }
  return node;
}

/** A JupyterLab-styled button. */
export function button(
  label: string,
  onClick: () => unknown,
  opts: { accept?: boolean; warn?: boolean; title?: string; cls?: string } = {}
): HTMLButtonElement {
  const kind = opts.accept
    ? 'jp-mod-accept'
    : opts.warn
      ? 'jp-mod-warn'
      : 'jp-mod-reject';
  const node = el(
    'button',
    {
      class: `jp-Dialog-button jp-mod-styled ${kind} cs3lab-Share-button ${opts.cls ?? ''}`,
      type: 'button',
      title: opts.title
    },
    el('span', { class: 'jp-Dialog-buttonLabel' }, label)
  );
  node.addEventListener('click', event => {
    event.preventDefault();
    event.stopPropagation();
    void onClick();
  });
  return node;
}

/** A <select> of roles. */
export function roleSelect(
  roles: string[],
  labels: Record<string, string>,
  value: string,
  label: string
): HTMLSelectElement {
  const select = el('select', {
    class: 'jp-mod-styled cs3lab-Share-role',
    'aria-label': label
  });
  const all = roles.includes(value) || !value ? roles : [...roles, value];
  for (const role of all) {
    select.append(el('option', { value: role }, labels[role] ?? role));
  }
  select.value = value || roles[0];
  return select;
}

/** Copy text to the clipboard; resolves whether it worked. */
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    return false;
  }
}

/** The initials shown in a round avatar. */
export function avatar(name: string, group = false): HTMLElement {
  const letters = name
    .split(/\s+/)
    .filter(Boolean)
    .slice(0, 2)
    .map(w => w[0]!.toUpperCase())
    .join('');
  return el(
    'span',
    { class: `cs3lab-Share-avatar${group ? ' cs3lab-mod-group' : ''}` },
    letters || '?'
  );
}

/** A list's "nothing here" line. */
export function empty(text: string): HTMLElement {
  return el('li', { class: 'cs3lab-mod-empty' }, text);
}

/** A name with a detail line under it. */
export function who(name: string, detail: string): HTMLElement {
  return el(
    'span',
    { class: 'cs3lab-Share-who' },
    el('span', { class: 'cs3lab-Share-name' }, name),
    el('span', { class: 'cs3lab-Share-detail' }, detail)
  );
}
