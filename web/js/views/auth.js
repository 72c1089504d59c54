// Sign-in screens: first run (create the first account), sign in, and signing in with an API key for
// operators who have one but no account yet.
import * as api from '../api.js';
import { clear, errorBox, h } from '../dom.js';

function credentialsForm({ title, lead, submitLabel, newPassword, onSubmit, email: known }) {
  const email = h('input', { id: 'auth-email', type: 'email', name: 'email', required: true, autocomplete: 'username', value: known || undefined });
  const password = h('input', {
    id: 'auth-password',
    type: 'password',
    name: 'password',
    required: true,
    autocomplete: newPassword ? 'new-password' : 'current-password',
  });
  const message = h('div', { role: 'alert' });
  const submit = h('button', { type: 'submit', class: 'button primary wide' }, submitLabel);
  const form = h(
    'form',
    {
      class: 'form',
      on: {
        submit: async (event) => {
          event.preventDefault();
          submit.disabled = true;
          clear(message);
          try {
            await onSubmit(email.value.trim(), password.value);
          } catch (error) {
            clear(message, errorBox(error));
            submit.disabled = false;
            password.focus();
          }
        },
      },
    },
    h('h1', { class: 'view-title' }, title),
    lead ? h('p', { class: 'lead' }, lead) : null,
    h('div', { class: 'field' }, h('label', { for: 'auth-email' }, 'Email'), email),
    h(
      'div',
      { class: 'field' },
      h('label', { for: 'auth-password' }, 'Password'),
      password,
    ),
    message,
    submit,
  );
  return { form, focus: () => (known ? password : email).focus() };
}

function apiKeyForm(onDone) {
  const key = h('input', { id: 'auth-key', type: 'password', required: true, autocomplete: 'off', spellcheck: false });
  const site = h('input', { id: 'auth-site', type: 'text', autocomplete: 'off', spellcheck: false, placeholder: 'my-site' });
  const message = h('div', { role: 'alert' });
  const form = h(
    'form',
    {
      class: 'form',
      on: {
        submit: (event) => {
          event.preventDefault();
          if (!/^\S{8,256}$/.test(key.value.trim())) {
            clear(message, errorBox('That does not look like an API key.'));
            return;
          }
          api.useApiKey(key.value.trim());
          onDone(site.value.trim() || null);
        },
      },
    },
    h('div', { class: 'field' }, h('label', { for: 'auth-key' }, 'API key'), key, h('p', { class: 'hint' }, 'stats:read to read reports, sites:write to change a site’s settings too. Kept in this browser tab only, until you close it or sign out.')),
    h('div', { class: 'field' }, h('label', { for: 'auth-site' }, 'Site id (optional)'), site),
    message,
    h('button', { type: 'submit', class: 'button wide' }, 'Use this key'),
  );
  return h('details', { class: 'alt-auth' }, h('summary', {}, 'Use an API key instead'), form);
}

/** First run: no account exists yet. */
export function renderSetup(root, { onSignedIn }) {
  const { form, focus } = credentialsForm({
    title: 'Welcome to Footfall',
    lead: 'Create the first account to manage your sites. Your analytics stay on this server.',
    submitLabel: 'Create account',
    newPassword: true,
    onSubmit: async (email, password) => {
      await api.setup(email, password);
      onSignedIn();
    },
  });
  clear(root, h('div', { class: 'auth-card panel' }, form));
  focus();
}

/** The sign-in form; `notice`: why it is shown (an ended session, as an error), `message`: a neutral note. */
export function renderLogin(root, { onSignedIn, onApiKey, notice, message, email }) {
  const { form, focus } = credentialsForm({
    email,
    title: 'Sign in',
    submitLabel: 'Sign in',
    onSubmit: async (email, password) => {
      await api.login(email, password);
      onSignedIn();
    },
  });
  const note = message ? h('p', { class: 'ok-text', role: 'status' }, message) : null;
  clear(root, h('div', { class: 'auth-card panel' }, notice ? errorBox(notice) : null, note, form, apiKeyForm(onApiKey)));
  focus();
}
