// Controls shared by the report views: the period picker and the filter chips. Both only change the URL
// (state.js); the views re-render from it.
import { h } from './dom.js';
import { dimensionLabel, valueLabel } from './format.js';
import { PERIODS, navigate } from './state.js';

const OPERATOR_WORDS = { is: 'is', is_not: 'is not', contains: 'contains', not_contains: 'does not contain' };

function today() {
  const d = new Date();
  return `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, '0')}-${String(d.getDate()).padStart(2, '0')}`;
}

export function periodPicker(state) {
  const select = h(
    'select',
    { id: 'period', class: 'select' },
    PERIODS.map((p) => h('option', { value: p.id, selected: p.id === state.period }, p.label)),
  );
  const from = h('input', { type: 'date', id: 'period-from', value: state.from || '', max: today(), required: true });
  const to = h('input', { type: 'date', id: 'period-to', value: state.to || today(), max: today(), required: true });
  const message = h('span', { class: 'field-error', role: 'alert' });
  const custom = h(
    'form',
    {
      class: 'custom-range',
      hidden: state.period !== 'custom',
      on: {
        submit: (event) => {
          event.preventDefault();
          if (!from.value || !to.value || from.value > to.value) {
            message.textContent = 'Choose a start date on or before the end date.';
            return;
          }
          navigate({ period: 'custom', from: from.value, to: to.value, offset: 0 });
        },
      },
    },
    h('label', { for: 'period-from' }, 'From'),
    from,
    h('label', { for: 'period-to' }, 'to'),
    to,
    h('button', { type: 'submit', class: 'button small' }, 'Apply'),
    message,
  );
  select.addEventListener('change', () => {
    if (select.value === 'custom') {
      custom.hidden = false;
      from.focus();
    } else {
      navigate({ period: select.value, from: null, to: null, offset: 0 });
    }
  });
  return h('div', { class: 'period' }, h('label', { for: 'period', class: 'visually-hidden' }, 'Period'), select, custom);
}

export function filterChips(state) {
  if (!state.filters.length) return null;
  const chips = state.filters.map((filter, index) => {
    const [op, dimension, values] = filter;
    const text = `${dimensionLabel(dimension)} ${OPERATOR_WORDS[op] || op} ${values
      .map((v) => valueLabel(dimension, v))
      .join(' or ')}`;
    return h(
      'li',
      { class: 'chip' },
      h('span', { class: 'chip-text', title: text }, text),
      h(
        'button',
        {
          type: 'button',
          class: 'chip-remove',
          'aria-label': `Remove filter: ${text}`,
          on: { click: () => navigate({ filters: state.filters.filter((_, i) => i !== index), offset: 0 }) },
        },
        '×',
      ),
    );
  });
  return h(
    'div',
    { class: 'filters' },
    h('ul', { class: 'chips', 'aria-label': 'Filters' }, chips),
    h(
      'button',
      { type: 'button', class: 'link-button', on: { click: () => navigate({ filters: [], offset: 0 }) } },
      'Clear all',
    ),
  );
}

/** The row of controls above a report. */
export function reportControls(state, { period = true } = {}) {
  return h('div', { class: 'controls' }, period ? periodPicker(state) : null, filterChips(state));
}
